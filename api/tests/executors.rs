//! Executors against a real target on loopback: the VUs running over time
//! follow the schedule each load model promises, within a stated tolerance.

mod common;

use std::time::Duration;

use common::{compile, demo_target};
use serde_json::json;
use volley_example_artifacts::{CONCERT_BOOKING, HELLO};
use volley_runtime::engine::VuLimits;
use volley_runtime::options::Options;
use volley_runtime::run;

/// Runs the scenario at `path` with `options` and samples (seconds into the
/// executors, running VUs) every 20 ms until the run ends.
async fn sample_vus(path: &str, options: serde_json::Value) -> (Vec<(f64, u64)>, run::RunReport) {
    let scenario = compile(path);
    let plan = Options::from_json(&options.to_string())
        .unwrap()
        .plan()
        .unwrap();
    let handle = run::start(&scenario, plan, VuLimits::default());
    let mut samples = Vec::new();
    while !handle.is_finished() {
        let executing = handle.executing_for();
        if !executing.is_zero() {
            samples.push((executing.as_secs_f64(), handle.progress().vus));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = handle.wait().await.expect("waited for once").unwrap();
    (samples, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramping_vus_follow_their_stages() {
    let target = demo_target("none").await;
    let (samples, report) = sample_vus(
        HELLO,
        json!({
            "scenarios": {"ramp": {"executor": "ramping-vus", "startVUs": 0,
                "stages": [{"duration": "1s", "target": 4}, {"duration": "1s", "target": 4},
                           {"duration": "1s", "target": 0}],
                "gracefulRampDown": "5s"}},
            "env": {"TARGET_URL": target.url(), "SLEEP_MS": "20"},
        }),
    )
    .await;
    // The schedule: 4t VUs in the first second, 4 in the second, 4(3 - t) in
    // the third. Allowed: one VU either way (a ramped-down VU first finishes
    // its iteration), away from the stage edges.
    let expected = |t: f64| -> f64 {
        if t < 1.0 {
            4.0 * t
        } else if t < 2.0 {
            4.0
        } else {
            (4.0 * (3.0 - t)).max(0.0)
        }
    };
    let mut checked = 0;
    for &(t, vus) in &samples {
        let near_edge = [0.0, 1.0, 2.0, 3.0]
            .iter()
            .any(|edge| (t - edge).abs() < 0.1);
        if near_edge || t > 3.0 {
            continue;
        }
        let want = expected(t);
        assert!(
            (vus as f64 - want).abs() <= 1.0 + 1e-9,
            "at {t:.2}s: {vus} VUs running, the schedule says {want:.1}"
        );
        checked += 1;
    }
    assert!(checked > 50, "only {checked} samples inside the stages");
    let most = samples.iter().map(|&(_, vus)| vus).max().unwrap();
    assert_eq!(most, 4);
    assert_eq!(samples.last().unwrap().1, 0);
    assert_eq!(report.summary.get("vus_max", "value"), Some(4.0));
    assert_eq!(
        report.summary.get("http_reqs", "count"),
        Some(target.stats().total as f64)
    );
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramped_down_vu_is_interrupted_after_its_graceful_ramp_down() {
    let target = demo_target("none").await;
    // Each iteration sleeps 3 s; the VUs are ramped down long before that.
    let (_, report) = sample_vus(
        HELLO,
        json!({
            "scenarios": {"ramp": {"executor": "ramping-vus", "startVUs": 2,
                "stages": [{"duration": "500ms", "target": 2}, {"duration": "500ms", "target": 0}],
                "gracefulRampDown": "200ms"}},
            "env": {"TARGET_URL": target.url(), "SLEEP_MS": "3000"},
        }),
    )
    .await;
    assert_eq!(
        report.summary.iteration_failures.get("interrupted"),
        Some(&2)
    );
    // Cut short, neither iteration completed.
    assert_eq!(report.summary.get("iterations", "count"), None);
    assert_eq!(target.stats().total, 2);
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concert_stress_options_ramp_in_stages_and_hold_their_thresholds() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../example-plugins/concert-booking/stress.json"
    );
    let mut options: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let plan = Options::from_json(&options.to_string())
        .unwrap()
        .plan()
        .unwrap();
    assert_eq!(plan.scenarios[0].executor.name(), "ramping-vus");
    assert_eq!(plan.max_vus(), 300);
    assert_eq!(plan.planned_duration(), Duration::from_secs(300));
    assert_eq!(plan.thresholds.len(), 4);

    // The same shape, 60 times shorter and 10 times smaller, against the demo
    // target: the stages run, and the thresholds hold.
    let stages = options["scenarios"]["stress"]["stages"]
        .as_array_mut()
        .unwrap();
    for stage in stages.iter_mut() {
        let duration =
            volley_runtime::duration::parse(stage["duration"].as_str().unwrap()).unwrap();
        stage["duration"] = json!(format!("{}ms", duration.as_millis() / 60));
        stage["target"] = json!(stage["target"].as_u64().unwrap() / 10);
    }
    options["thresholds"]["http_req_duration"][0]["delayAbortEval"] = json!("1s");
    let target = demo_target("1ms").await;
    options["env"] = json!({"TARGET_URL": target.url(), "THINK_TIME_MS": "0"});
    let (samples, report) = sample_vus(CONCERT_BOOKING, options).await;
    assert_eq!(samples.iter().map(|&(_, vus)| vus).max(), Some(30));
    assert!(report.thresholds_passed(), "{:#?}", report.thresholds);
    assert_eq!(
        report.summary.get("http_reqs", "count"),
        Some(target.stats().total as f64)
    );
    target.shutdown().await;
}
