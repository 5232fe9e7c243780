//! The example guests written in Python, JavaScript, Go and C, built by
//! `example-plugins/build-languages.sh` (which `.ci/test` runs first): each
//! language's concert-booking scenario books seats on the demo target exactly
//! as the Rust one does, each language's template runs, and requests sent with
//! JavaScript's standard `fetch` are counted like Volley's own.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{compile, demo_target, run, stat};
use serde_json::json;
use volley_example_artifacts::CONCERT_BOOKING;
use volley_runtime::metrics::{TagSet, Value};
use volley_runtime::run::{RunReport, scenario_options};

/// The path of the built guest `name`; a missing one fails the test.
fn built(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../example-plugins/target/languages")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: build the guests of every language with \
         `bash example-plugins/build-languages.sh` (`bash .ci/test` does)",
        path.display()
    );
    path.to_str().expect("a UTF-8 path").to_owned()
}

fn count_tagged(report: &RunReport, metric: &str, tag: (&str, &str)) -> f64 {
    match report.snapshot.aggregate(metric, &TagSet::new([tag])) {
        Some((_, Value::Counter(count))) => count,
        Some((_, Value::Trend(trend))) => trend.count() as f64,
        _ => 0.0,
    }
}

/// (group, name) of every check the run recorded.
fn checks(report: &RunReport) -> BTreeSet<(String, String)> {
    report
        .summary
        .checks
        .iter()
        .map(|check| (check.group.clone(), check.name.clone()))
        .collect()
}

/// Runs the concert-booking scenario at `path` (3 VUs, 4 iterations each) and
/// checks it against the demo target's counts and against the Rust scenario.
async fn books_like_the_rust_scenario(path: &str) {
    let rust_options = scenario_options(&compile(CONCERT_BOOKING)).await.unwrap();
    let options = scenario_options(&compile(path)).await.unwrap();
    assert_eq!(
        serde_json::to_value(&options).unwrap(),
        serde_json::to_value(&rust_options).unwrap(),
        "the default options differ from the Rust scenario's"
    );

    let target = demo_target("none").await;
    let report = run(
        path,
        json!({"scenarios": {"book": {"executor": "per-vu-iterations", "vus": 3, "iterations": 4}},
               "env": {"TARGET_URL": target.url(), "THINK_TIME_MS": "1"}}),
    )
    .await
    .unwrap();
    let stats = target.stats();
    assert_eq!(stat(&report, "http_reqs", "count") as u64, stats.total);
    assert_eq!(stat(&report, "iterations", "count"), 12.0);
    for route in ["POST /queue/token", "GET /dates", "GET /dates/{id}/seats"] {
        assert_eq!(stats.route(route), 12, "{route}");
    }
    // A seat taken meanwhile (409) is retried once with another one.
    assert!(stats.route("POST /reservations") >= 12);
    assert_eq!(stats.route("POST /payments"), 12);
    assert_eq!(stat(&report, "bookings_completed", "count"), 12.0);
    assert_eq!(stat(&report, "booking_duration", "count"), 12.0);
    assert_eq!(stat(&report, "checks", "fails"), 0.0);
    assert_eq!(stat(&report, "checks", "passes"), 60.0);
    assert_eq!(
        count_tagged(&report, "group_duration", ("group", "::book")),
        12.0
    );
    assert_eq!(
        count_tagged(&report, "http_reqs", ("name", "GET /dates/{id}/seats")),
        12.0
    );

    let expected: BTreeSet<(String, String)> = [
        ("::queue", "token issued"),
        ("::browse", "dates listed"),
        ("::browse", "seats listed"),
        ("::book", "seat reserved"),
        ("::book", "payment accepted"),
    ]
    .into_iter()
    .map(|(group, name)| (group.to_owned(), name.to_owned()))
    .collect();
    assert_eq!(checks(&report), expected);
}

/// Runs the template at `path` (2 VUs, 3 iterations each): one checked GET.
async fn template_runs(path: &str) {
    let target = demo_target("none").await;
    let report = run(
        path,
        json!({"scenarios": {"t": {"executor": "per-vu-iterations", "vus": 2, "iterations": 3}},
               "env": {"TARGET_URL": target.url()}}),
    )
    .await
    .unwrap();
    assert_eq!(target.stats().total, 6);
    assert_eq!(stat(&report, "http_reqs", "count"), 6.0);
    assert_eq!(stat(&report, "checks", "passes"), 6.0);
    assert_eq!(stat(&report, "checks", "fails"), 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn python_books_like_rust() {
    books_like_the_rust_scenario(&built("concert_booking_python")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn javascript_books_like_rust() {
    books_like_the_rust_scenario(&built("concert_booking_js")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn go_books_like_rust() {
    books_like_the_rust_scenario(&built("concert_booking_go")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn c_books_like_rust() {
    books_like_the_rust_scenario(&built("concert_booking_c")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_template_runs() {
    for language in ["python", "js", "go", "c"] {
        template_runs(&built(&format!("template_{language}"))).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn javascript_fetch_is_counted_like_volleys_own_requests() {
    let target = demo_target("none").await;
    let report = run(
        &built("fetch_js"),
        json!({"scenarios": {"fetch": {"executor": "per-vu-iterations", "vus": 2, "iterations": 5}},
               "env": {"TARGET_URL": target.url()}}),
    )
    .await
    .unwrap();
    let stats = target.stats();
    assert_eq!(stats.total, 20, "two requests per iteration");
    assert_eq!(stat(&report, "http_reqs", "count"), 20.0);
    assert_eq!(stat(&report, "http_req_duration", "count"), 20.0);
    assert_eq!(
        count_tagged(&report, "http_reqs", ("scenario", "fetch")),
        20.0
    );
    assert_eq!(stat(&report, "checks", "fails"), 0.0);
    assert!(stat(&report, "checks", "passes") >= 20.0);
}
