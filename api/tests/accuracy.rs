//! Volley's numbers against what the target server itself saw.

mod common;

use common::{demo_target, run, stat};
use serde_json::json;
use volley_example_artifacts::{CONCERT_BOOKING, HELLO};

#[tokio::test(flavor = "multi_thread")]
async fn constant_vus_requests_equal_what_the_server_counted() {
    let target = demo_target("none").await;
    let report = run(
        HELLO,
        json!({"vus": 10, "duration": "2s", "env": {"TARGET_URL": format!("{}/hello", target.url())}}),
    )
    .await
    .unwrap();
    let stats = target.stats();
    let reported = stat(&report, "http_reqs", "count");
    assert!(
        reported > 100.0,
        "too few requests to mean anything: {reported}"
    );
    assert_eq!(reported as u64, stats.total);
    assert_eq!(stats.route("GET /hello"), stats.total);
    assert_eq!(stat(&report, "http_req_failed", "passes"), 0.0);
    assert_eq!(stat(&report, "checks", "passes"), reported);
    assert_eq!(stat(&report, "iterations", "count"), reported);
    assert!(stat(&report, "data_received", "count") > reported * 17.0);
    assert!(stat(&report, "data_sent", "count") > reported * 17.0);
    assert_eq!(stat(&report, "vus_max", "value"), 10.0);
    assert_eq!(stat(&report, "vus", "max"), 10.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn per_vu_and_shared_iterations_run_exactly_their_count() {
    let target = demo_target("none").await;
    let env = json!({"TARGET_URL": format!("{}/hello", target.url())});
    let report = run(
        HELLO,
        json!({"scenarios": {"each": {"executor": "per-vu-iterations", "vus": 5, "iterations": 20}}, "env": env}),
    )
    .await
    .unwrap();
    assert_eq!(stat(&report, "iterations", "count"), 100.0);
    assert_eq!(stat(&report, "http_reqs", "count"), 100.0);
    assert_eq!(target.stats().total, 100);

    target.reset_stats();
    let report = run(HELLO, json!({"vus": 3, "iterations": 50, "env": env}))
        .await
        .unwrap();
    assert_eq!(stat(&report, "iterations", "count"), 50.0);
    assert_eq!(target.stats().total, 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn concert_booking_flow_is_counted_per_endpoint() {
    let target = demo_target("none").await;
    let report = run(
        CONCERT_BOOKING,
        json!({"scenarios": {"book": {"executor": "per-vu-iterations", "vus": 4, "iterations": 5}},
               "env": {"TARGET_URL": target.url(), "THINK_TIME_MS": "1"}}),
    )
    .await
    .unwrap();
    let stats = target.stats();
    assert_eq!(stat(&report, "http_reqs", "count") as u64, stats.total);
    assert_eq!(stats.route("POST /queue/token"), 20);
    assert_eq!(stats.route("POST /payments"), 20);
    assert_eq!(stat(&report, "bookings_completed", "count"), 20.0);
    assert_eq!(stat(&report, "booking_duration", "count"), 20.0);
    assert_eq!(stat(&report, "checks", "fails"), 0.0);
    let names: Vec<&str> = report
        .summary
        .checks
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(names.contains(&"seat reserved"), "{names:?}");
}

#[test]
fn every_example_plugin_has_a_test() {
    let tested = ["hello", "concert-booking", "faulty", "wasi-http"];
    for (name, path) in volley_example_artifacts::ALL {
        assert!(
            tested.contains(name),
            "example plugin {name} ({path}) has no test"
        );
    }
}
