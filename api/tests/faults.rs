//! Bad guests and bad targets: each ends in the documented way, and the run
//! (and the process) survive.

mod common;

use std::time::{Duration, Instant};

use common::{run, run_with_limits, stat};
use serde_json::json;
use volley_example_artifacts::{FAULTY, HELLO};
use volley_runtime::engine::{VolleyEngine, VuLimits};
use volley_runtime::run::RunError;
use volley_runtime::scenario::{Scenario, ScenarioError};
use volley_runtime::shape::ComponentShape;
use volley_runtime::vu::GuestFailure;

fn faulty(exec: &str, vus: u32, iterations: u64) -> serde_json::Value {
    json!({"scenarios": {"f": {"executor": "per-vu-iterations", "vus": vus,
        "iterations": iterations, "exec": exec}}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trapping_guest_loses_only_its_iteration_and_gets_a_fresh_instance() {
    let report = run(FAULTY, faulty("trap", 2, 3)).await.unwrap();
    assert_eq!(stat(&report, "iterations", "count"), 6.0);
    assert_eq!(report.summary.iteration_failures.get("trap"), Some(&6));
    let logged: Vec<&str> = report.log.iter().map(|e| e.message.as_str()).collect();
    assert!(
        logged.iter().any(|m| m.contains("deliberate trap")),
        "the panic message reaches the log: {logged:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_errors_fail_the_iteration_and_are_counted() {
    let report = run(FAULTY, faulty("error", 3, 2)).await.unwrap();
    assert_eq!(stat(&report, "iterations", "count"), 6.0);
    assert_eq!(report.summary.iteration_failures.get("error"), Some(&6));
    assert!(
        report
            .log
            .iter()
            .any(|e| e.message.contains("deliberate failure"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_looping_guest_is_interrupted_at_the_graceful_stop() {
    let started = Instant::now();
    let report = run(
        FAULTY,
        json!({"scenarios": {"spin": {"executor": "constant-vus", "vus": 2, "duration": "500ms",
            "gracefulStop": "500ms", "exec": "loop"}}}),
    )
    .await
    .unwrap();
    // Liveness, not performance: without interruption this would never end.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        report.summary.iteration_failures.get("interrupted"),
        Some(&2)
    );
    assert_eq!(stat(&report, "iterations", "count"), 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_grows_memory_without_bound_traps_at_its_limit() {
    let limits = VuLimits {
        max_memory_bytes: 64 << 20,
        ..VuLimits::default()
    };
    let report = run_with_limits(FAULTY, faulty("grow", 2, 2), limits)
        .await
        .unwrap();
    assert_eq!(report.summary.iteration_failures.get("trap"), Some(&4));
    // The VUs were replaced and the healthy scenario part still works.
    let report = run_with_limits(FAULTY, faulty("ok", 2, 2), limits)
        .await
        .unwrap();
    assert_eq!(stat(&report, "iterations", "count"), 4.0);
    assert!(report.summary.iteration_failures.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_data_reaches_every_vu_and_a_failed_setup_stops_the_run() {
    let report = run(FAULTY, faulty("check-setup", 3, 2)).await.unwrap();
    assert_eq!(stat(&report, "iterations", "count"), 6.0);
    assert!(report.summary.iteration_failures.is_empty());

    let mut options = faulty("ok", 1, 1);
    options["env"] = json!({"FAIL_SETUP": "1"});
    match run(FAULTY, options).await {
        Err(RunError::Setup(GuestFailure::Error(message))) => {
            assert!(message.contains("setup failed on purpose"), "{message}")
        }
        other => panic!("expected a setup failure, got {other:?}"),
    }
}

#[test]
fn bytes_that_are_not_a_scenario_get_distinct_errors() {
    let engine = VolleyEngine::new(2, VuLimits::default(), &ComponentShape::GENEROUS).unwrap();
    let hello = std::fs::read(HELLO).unwrap();
    type IsExpected = fn(&ScenarioError) -> bool;
    let cases: [(&[u8], IsExpected, &str); 4] = [
        (
            b"hello, world",
            |e| matches!(e, ScenarioError::NotWasm),
            "not a WebAssembly file",
        ),
        (
            b"\0asm\x01\0\0\0",
            |e| matches!(e, ScenarioError::CoreModule),
            "wasm32-wasip2",
        ),
        (
            b"\0asm\x0d\0\x01\0",
            |e| matches!(e, ScenarioError::NotAScenario(_)),
            "does not export",
        ),
        (
            &hello[..hello.len() / 2],
            |e| matches!(e, ScenarioError::Invalid(_)),
            "invalid component",
        ),
    ];
    for (bytes, is_expected, message) in cases {
        let error = Scenario::compile(&engine, bytes)
            .err()
            .expect("must be refused");
        assert!(is_expected(&error), "{error:?}");
        assert!(error.to_string().contains(message), "{error}");
    }
}

#[test]
fn imports_the_host_cannot_link_are_refused_before_compiling() {
    let engine = VolleyEngine::new(2, VuLimits::default(), &ComponentShape::GENEROUS).unwrap();
    for import in [
        "wasi:keyvalue/store@0.2.0-draft",
        // A version of our own package the host does not serve.
        "volley:scenario/http@0.2.0",
        "wasi:http/types@0.3.0",
    ] {
        // A component whose body would not even compile: a core module with
        // a function that does not type-check. Only the import is looked at.
        let text = format!(
            r#"(component
                 (import "{import}" (instance))
                 (core module (func (result i32) (i64.const 1))))"#
        );
        let bytes = wat::parse_str(&text).unwrap();
        match Scenario::compile(&engine, &bytes) {
            Err(ScenarioError::UnsupportedImport(name)) => assert_eq!(name, import),
            other => panic!(
                "{import}: expected an unsupported import, got {:?}",
                other.err()
            ),
        }
    }
}

#[test]
fn a_memory_that_starts_above_the_vu_limit_is_refused_with_the_limit_to_set() {
    let limits = VuLimits {
        max_memory_bytes: 16 << 20,
        ..VuLimits::default()
    };
    let engine = VolleyEngine::new(2, limits, &ComponentShape::GENEROUS).unwrap();
    // 300 pages: 18.75 MiB.
    let bytes = wat::parse_str("(component (core module (memory 300)))").unwrap();
    let error = Scenario::compile(&engine, &bytes).err().expect("refused");
    assert!(
        matches!(error, ScenarioError::MemoryTooLarge { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the component's memory starts at 18.8 MiB, above the limit of 16 MiB per VU: \
         raise the limit (--vu-memory-mib) to at least 19"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_resets_connections_is_counted_as_failures() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            // Reset instead of answering.
            #[allow(deprecated)] // Blocking on drop is the point: it sends a reset.
            let _ = socket.set_linger(Some(Duration::ZERO));
            drop(socket);
        }
    });
    let report = run(
        HELLO,
        json!({"scenarios": {"r": {"executor": "per-vu-iterations", "vus": 2, "iterations": 5}},
               "env": {"TARGET_URL": format!("http://{addr}/")}}),
    )
    .await
    .unwrap();
    assert_eq!(stat(&report, "http_reqs", "count"), 10.0);
    assert_eq!(stat(&report, "http_req_failed", "passes"), 10.0);
    // The reset lands either while connecting or on the first request.
    let failures = &report.summary.request_failures;
    assert!(
        failures
            .keys()
            .all(|cause| ["connect", "protocol"].contains(&cause.as_str())),
        "{failures:?}"
    );
    assert_eq!(failures.values().sum::<u64>(), 10, "{failures:?}");
    assert_eq!(report.summary.iteration_failures.get("error"), Some(&10));
    // No response, no duration: failures stay out of the latency histogram.
    assert!(!report.summary.metrics.contains_key("http_req_duration"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_is_a_connect_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let report = run(
        HELLO,
        json!({"iterations": 3, "env": {"TARGET_URL": format!("http://{addr}/")}}),
    )
    .await
    .unwrap();
    assert_eq!(report.summary.request_failures.get("connect"), Some(&3));
    assert_eq!(stat(&report, "http_req_failed", "value"), 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_target_times_out_and_the_timeout_is_counted() {
    let target = common::demo_target("300ms").await;
    let report = run(
        HELLO,
        json!({"iterations": 2,
               "env": {"TARGET_URL": format!("{}/hello", target.url()), "TIMEOUT_MS": "50"}}),
    )
    .await
    .unwrap();
    assert_eq!(stat(&report, "http_reqs", "count"), 2.0);
    assert_eq!(report.summary.request_failures.get("timeout"), Some(&2));
    assert_eq!(report.summary.iteration_failures.get("error"), Some(&2));
    // The server saw both requests and their clients leave before the answer.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(target.stats().cancelled, 2);
}

/// The series of `metric` tagged with exactly `group` (or with no group),
/// summed.
fn in_group(report: &volley_runtime::run::RunReport, metric: &str, group: Option<&str>) -> f64 {
    use volley_runtime::metrics::Value;
    report
        .snapshot
        .series
        .iter()
        .filter(|s| s.metric.name.as_ref() == metric && s.tags.get("group") == group)
        .map(|s| match &s.value {
            Value::Counter(n) => *n,
            Value::Rate { total, .. } => *total as f64,
            Value::Trend(trend) => trend.count() as f64,
            Value::Gauge { .. } => 1.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_tag_what_they_contain_and_time_themselves() {
    let report = run(FAULTY, faulty("groups", 2, 3)).await.unwrap();
    assert_eq!(stat(&report, "iterations", "count"), 6.0);
    assert!(report.summary.iteration_failures.is_empty());
    assert_eq!(in_group(&report, "checks", None), 6.0);
    assert_eq!(in_group(&report, "checks", Some("::outer")), 6.0);
    assert_eq!(in_group(&report, "checks", Some("::outer::inner")), 6.0);
    assert_eq!(in_group(&report, "grouped", Some("::outer::inner")), 6.0);
    assert_eq!(in_group(&report, "group_duration", Some("::outer")), 6.0);
    assert_eq!(
        in_group(&report, "group_duration", Some("::outer::inner")),
        6.0
    );
    // inner sleeps 20 ms; outer holds inner.
    assert!(stat(&report, "group_duration", "min") >= 20.0);
    let checks: Vec<(&str, &str)> = report
        .summary
        .checks
        .iter()
        .map(|c| (c.group.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(
        checks,
        [
            ("", "root check"),
            ("::outer", "outer check"),
            ("::outer::inner", "inner check")
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn misused_groups_trap_and_open_groups_close_with_the_iteration() {
    for (exec, message) in [
        ("bad-group", "contains \"::\""),
        ("stray-leave", "no group open"),
    ] {
        let report = run(FAULTY, faulty(exec, 1, 2)).await.unwrap();
        assert_eq!(
            report.summary.iteration_failures.get("trap"),
            Some(&2),
            "{exec}"
        );
        assert!(
            report.log.iter().any(|e| e.message.contains(message)),
            "{exec}: {:?}",
            report.log
        );
    }
    // The group left open in the first iteration does not tag the second.
    let report = run(FAULTY, faulty("unclosed-group", 1, 2)).await.unwrap();
    assert!(report.summary.iteration_failures.is_empty());
    assert_eq!(in_group(&report, "checks", None), 1.0);
    assert_eq!(
        in_group(&report, "group_duration", Some("::left-open")),
        0.0
    );
}
