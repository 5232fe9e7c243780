//! Guests that use a standard `wasi:http` client (the `wasi-http` example, with
//! `waki`): their requests go through Volley's client and are counted, timed
//! and tagged like requests of Volley's own `http` interface.

mod common;

use common::{demo_target, run, stat};
use serde_json::json;
use volley_example_artifacts::WASI_HTTP;
use volley_runtime::metrics::{TagSet, Value};

fn count_tagged(
    report: &volley_runtime::run::RunReport,
    metric: &str,
    tags: &[(&str, &str)],
) -> f64 {
    match report
        .snapshot
        .aggregate(metric, &TagSet::new(tags.iter().copied()))
    {
        Some((_, Value::Counter(count))) => count,
        _ => 0.0,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wasi_http_requests_are_counted_timed_and_tagged() {
    let target = demo_target("none").await;
    let report = run(
        WASI_HTTP,
        json!({"scenarios": {"std": {"executor": "per-vu-iterations", "vus": 3, "iterations": 4,
                                      "tags": {"client": "waki"}}},
               "env": {"TARGET_URL": target.url()}}),
    )
    .await
    .unwrap();
    let stats = target.stats();
    assert_eq!(stats.total, 24, "2 requests per iteration, 12 iterations");
    assert_eq!(stats.route("POST /queue/token"), 12);
    assert_eq!(stats.route("GET /dates"), 12);
    assert_eq!(stat(&report, "http_reqs", "count"), 24.0);
    assert_eq!(stat(&report, "http_req_duration", "count"), 24.0);
    assert_eq!(stat(&report, "http_req_failed", "passes"), 0.0);
    assert!(stat(&report, "data_received", "count") > 0.0);
    assert_eq!(stat(&report, "checks", "passes"), 24.0);
    // The VU's tags, its open group and the URL as the name, as k6 names requests.
    let dates = format!("{}/dates", target.url().trim_end_matches('/'));
    for tags in [
        &[("scenario", "std")][..],
        &[("client", "waki")],
        &[("group", "::wasi")],
        &[
            ("method", "GET"),
            ("name", dates.as_str()),
            ("status", "200"),
        ],
    ] {
        let expected = if tags.len() > 1 { 12.0 } else { 24.0 };
        assert_eq!(
            count_tagged(&report, "http_reqs", tags),
            expected,
            "{tags:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wasi_http_request_that_gets_no_response_fails_its_iteration_and_is_counted() {
    // A port nothing listens on: the connection is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let report = run(
        WASI_HTTP,
        json!({"iterations": 2, "env": {"TARGET_URL": url}}),
    )
    .await
    .unwrap();
    assert_eq!(stat(&report, "http_reqs", "count"), 2.0);
    assert_eq!(stat(&report, "http_req_failed", "passes"), 2.0);
    assert_eq!(stat(&report, "http_req_duration", "count"), 0.0);
    assert_eq!(
        count_tagged(&report, "http_reqs", &[("error_code", "connect")]),
        2.0
    );
    assert_eq!(stat(&report, "iterations", "count"), 2.0);
    let failures: Vec<String> = report
        .log
        .iter()
        .map(|entry| entry.message.clone())
        .filter(|message| message.contains("POST /queue/token"))
        .collect();
    assert_eq!(failures.len(), 2, "{:?}", report.log);
}
