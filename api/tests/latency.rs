//! Reported latency against what the target server measured. Alone in its test
//! binary, so no other test competes for the CPU while it measures.

mod common;

use common::{demo_target, run, stat};
use serde_json::json;
use volley_example_artifacts::HELLO;

#[tokio::test(flavor = "multi_thread")]
async fn latency_percentiles_match_the_server_within_a_few_percent() {
    // 90% of requests take 5 ms, 10% take 50 ms, interleaved deterministically.
    let target = demo_target("90%:5ms,10%:50ms").await;
    let report = run(
        HELLO,
        json!({"scenarios": {"p": {"executor": "per-vu-iterations", "vus": 10, "iterations": 100}},
               "env": {"TARGET_URL": format!("{}/hello", target.url())}}),
    )
    .await
    .unwrap();
    let stats = target.stats();
    assert_eq!(stats.total, 1000);
    for p in [50.0, 95.0, 99.0] {
        // The truth: how long the server itself took (its timer, not the nominal delay).
        let truth = stats.handling_percentile_ms(p);
        let key = if p == 50.0 {
            "med".to_owned()
        } else {
            format!("p({p})")
        };
        let reported = stat(&report, "http_req_duration", &key);
        let error = (reported - truth) / truth;
        assert!(
            (0.0..0.05).contains(&error) || (reported - truth).abs() < 0.25,
            "p({p}): Volley says {reported:.3} ms, the server took {truth:.3} ms ({:.1}% off)",
            error * 100.0
        );
    }
    let slow = stat(&report, "http_req_duration", "p(95)");
    assert!(slow >= 50.0, "p(95) must show the 50 ms requests: {slow}");
}
