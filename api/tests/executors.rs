//! Executors against a real target on loopback: the VUs running over time
//! follow the schedule each load model promises, within a stated tolerance.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{compile, demo_target, stat};
use serde_json::json;
use volley_example_artifacts::{CONCERT_BOOKING, HELLO};
use volley_runtime::engine::VuLimits;
use volley_runtime::metrics::{TagSet, Value};
use volley_runtime::options::Options;
use volley_runtime::output::Outputs;
use volley_runtime::run;

/// Runs the scenario at `path` with `options` and samples (seconds into the
/// executors, running VUs) every 20 ms until the run ends.
async fn sample_vus(path: &str, options: serde_json::Value) -> (Vec<(f64, u64)>, run::RunReport) {
    let scenario = compile(path);
    let plan = Options::from_json(&options.to_string())
        .unwrap()
        .plan()
        .unwrap();
    let handle = run::start(&scenario, plan, VuLimits::default(), Outputs::none());
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

/// A target that records the path and arrival time of each request and,
/// while a stall is on, holds every request until the stall ends (like a
/// stop-the-world pause).
#[derive(Clone, Default)]
struct StallingTarget {
    arrivals: Arc<Mutex<Vec<(String, Instant)>>>,
    stall_until: Arc<Mutex<Option<Instant>>>,
}

impl StallingTarget {
    async fn start() -> (Self, String) {
        let target = Self::default();
        let state = target.clone();
        let router = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let state = state.clone();
            async move {
                let now = Instant::now();
                state
                    .arrivals
                    .lock()
                    .unwrap()
                    .push((uri.path().to_owned(), now));
                let until = *state.stall_until.lock().unwrap();
                if let Some(until) = until.filter(|until| now < *until) {
                    tokio::time::sleep_until(until.into()).await;
                }
                "ok"
            }
        });
        let (url, _) = common::serve(router).await;
        (target, url)
    }

    /// Holds every request arriving in the next `length`.
    fn stall_for(&self, length: Duration) {
        *self.stall_until.lock().unwrap() = Some(Instant::now() + length);
    }

    /// Arrivals in each `window` from `since`.
    fn arrivals_per(&self, since: Instant, window: Duration) -> Vec<usize> {
        let mut counts = Vec::new();
        for (_, at) in self.arrivals.lock().unwrap().iter() {
            let index = (at.duration_since(since).as_secs_f64() / window.as_secs_f64()) as usize;
            if counts.len() <= index {
                counts.resize(index + 1, 0);
            }
            counts[index] += 1;
        }
        counts
    }

    /// When the requests to `path` arrived.
    fn arrivals_at(&self, path: &str) -> Vec<Instant> {
        let arrivals = self.arrivals.lock().unwrap();
        arrivals
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, at)| *at)
            .collect()
    }

    fn total(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }
}

/// Runs hello against `url` with `scenario` (an executor's settings), calling
/// `during` once the executors run; returns the report and when they started.
async fn run_hello(
    url: &str,
    scenario: serde_json::Value,
    during: impl AsyncFnOnce(),
) -> (run::RunReport, Instant) {
    let options = json!({"scenarios": {"open": scenario}, "env": {"TARGET_URL": url}});
    run_hello_with(options, during).await
}

/// Runs hello with `options`, calling `during` once the executors run;
/// returns the report and when they started.
async fn run_hello_with(
    options: serde_json::Value,
    during: impl AsyncFnOnce(),
) -> (run::RunReport, Instant) {
    let scenario = compile(HELLO);
    let plan = Options::from_json(&options.to_string())
        .unwrap()
        .plan()
        .unwrap();
    let handle = run::start(&scenario, plan, VuLimits::default(), Outputs::none());
    while handle.executing_for().is_zero() && !handle.is_finished() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let started = Instant::now() - handle.executing_for();
    during().await;
    let report = handle.wait().await.expect("waited for once").unwrap();
    (report, started)
}

/// `metric`'s count in the series tagged `tag`.
fn count_tagged(report: &run::RunReport, metric: &str, tag: (&str, &str)) -> f64 {
    match report.snapshot.aggregate(metric, &TagSet::new([tag])) {
        Some((_, Value::Counter(count))) => count,
        _ => 0.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_run_side_by_side_and_in_sequence_with_their_own_env_and_tags() {
    let (target, url) = StallingTarget::start().await;
    let options = json!({
        "scenarios": {
            "browse": {"executor": "constant-vus", "vus": 2, "duration": "1s",
                       "env": {"TARGET_URL": format!("{url}/browse"), "SLEEP_MS": "10"},
                       "tags": {"flow": "browse"}},
            "rate": {"executor": "constant-arrival-rate", "rate": 20, "duration": "1s",
                     "preAllocatedVUs": 2, "env": {"TARGET_URL": format!("{url}/rate")}},
            "later": {"executor": "per-vu-iterations", "vus": 3, "iterations": 2,
                      "startTime": "1500ms", "env": {"TARGET_URL": format!("{url}/later")},
                      "tags": {"flow": "later"}}
        },
        "env": {"TARGET_URL": format!("{url}/run-wide"), "SLEEP_MS": "0"},
        "tags": {"team": "stage"}
    });
    let (report, started) = run_hello_with(options, async || {}).await;
    // Each scenario's VUs saw its own TARGET_URL over the run's.
    assert!(target.arrivals_at("/run-wide").is_empty());
    let browse = target.arrivals_at("/browse");
    let rate = target.arrivals_at("/rate");
    let later = target.arrivals_at("/later");
    assert_eq!(rate.len(), 20);
    assert_eq!(later.len(), 6);
    // browse and rate ran side by side from the start; later after 1.5 s.
    let offset = |at: &Instant| at.duration_since(started);
    assert!(
        browse
            .iter()
            .chain(&rate)
            .all(|at| offset(at) < Duration::from_millis(1200))
    );
    assert!(
        later
            .iter()
            .all(|at| offset(at) >= Duration::from_millis(1500))
    );
    assert!(
        rate.iter()
            .any(|at| offset(at) > Duration::from_millis(900))
    );
    // Volley's counts per scenario and per tag equal the target's.
    assert_eq!(
        count_tagged(&report, "http_reqs", ("scenario", "browse")),
        browse.len() as f64
    );
    assert_eq!(
        count_tagged(&report, "http_reqs", ("scenario", "rate")),
        20.0
    );
    assert_eq!(count_tagged(&report, "http_reqs", ("flow", "later")), 6.0);
    assert_eq!(
        count_tagged(&report, "http_reqs", ("team", "stage")),
        target.total() as f64
    );
    assert_eq!(count_tagged(&report, "iterations", ("flow", "later")), 6.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_arrival_rate_starts_iterations_on_schedule() {
    let (target, url) = StallingTarget::start().await;
    let (report, started) = run_hello(
        &url,
        json!({"executor": "constant-arrival-rate", "rate": 100, "timeUnit": "1s",
               "duration": "2s", "preAllocatedVUs": 5, "maxVUs": 20}),
        async || {},
    )
    .await;
    // Exactly rate × duration iterations, 25 in each quarter second (within
    // 3: an arrival 10 ms late or early crosses into the next window, and
    // other tests share the two cores).
    assert_eq!(stat(&report, "iterations", "count"), 200.0);
    assert_eq!(target.total(), 200);
    let quarters = target.arrivals_per(started, Duration::from_millis(250));
    assert!(quarters.len() <= 9, "{quarters:?}");
    for (n, count) in quarters.iter().take(8).enumerate() {
        assert!(
            (24..=26).contains(count),
            "quarter {n}: {count} ({quarters:?})"
        );
    }
    assert_eq!(stat(&report, "dropped_iterations", "count"), 0.0);
    assert_eq!(
        report.summary.get("http_reqs", "count"),
        Some(target.total() as f64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramping_arrival_rate_follows_its_stages() {
    let (target, url) = StallingTarget::start().await;
    let (report, started) = run_hello(
        &url,
        json!({"executor": "ramping-arrival-rate", "startRate": 0, "timeUnit": "1s",
               "stages": [{"duration": "2s", "target": 200}, {"duration": "1s", "target": 200},
                          {"duration": "1s", "target": 0}],
               "preAllocatedVUs": 2, "maxVUs": 50, "env": {"SLEEP_MS": "50"}}),
        async || {},
    )
    .await;
    // The integral of the rate: 50t² in the ramp up (12.5, 37.5, 62.5, 87.5
    // in each half second; the first iteration starts at 0), 100 per half
    // second at 200/s, then 75 and 25 in the ramp down.
    let halves = target.arrivals_per(started, Duration::from_millis(500));
    let expected = [13, 37, 63, 87, 100, 100, 75, 25];
    for (n, (got, want)) in halves.iter().zip(expected).enumerate() {
        assert!(
            got.abs_diff(want) <= 2,
            "half second {n}: {got} arrivals, the schedule says {want} ({halves:?})"
        );
    }
    assert_eq!(target.total(), 500);
    assert_eq!(stat(&report, "iterations", "count"), 500.0);
    assert_eq!(stat(&report, "dropped_iterations", "count"), 0.0);
    // Two VUs at first; as the rate grew to 200/s, iterations of 50 ms needed
    // about 10 at once, so more were instantiated.
    let vus_max = stat(&report, "vus_max", "max");
    assert!((8.0..=50.0).contains(&vus_max), "vus_max {vus_max}");
}

/// The coordinated-omission test: the target stalls for one second in the
/// middle of the run. An open model keeps starting iterations through the
/// stall, so a quarter of all requests wait for it and the percentiles show
/// it; a closed model (constant VUs) sends only one request per VU into the
/// stall and hides it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_open_model_percentiles() {
    let stall = async |target: &StallingTarget| {
        tokio::time::sleep(Duration::from_secs(1)).await;
        target.stall_for(Duration::from_secs(1));
    };
    let (target, url) = StallingTarget::start().await;
    let (open, _) = run_hello(
        &url,
        json!({"executor": "constant-arrival-rate", "rate": 200, "duration": "4s",
               "preAllocatedVUs": 10, "maxVUs": 400}),
        async || stall(&target).await,
    )
    .await;
    // All 800 iterations started on time, 200 of them into the stall, waiting
    // 0 to 1 s: the slowest 5% waited at least 800 ms, the slowest 10% 600 ms.
    assert_eq!(target.total(), 800);
    assert_eq!(stat(&open, "http_reqs", "count"), 800.0);
    assert_eq!(stat(&open, "dropped_iterations", "count"), 0.0);
    let p95 = stat(&open, "http_req_duration", "p(95)");
    let p90 = stat(&open, "http_req_duration", "p(90)");
    assert!(p95 > 700.0, "open model p(95) {p95} ms hides the stall");
    assert!(p90 > 500.0, "open model p(90) {p90} ms hides the stall");
    assert!(stat(&open, "vus_max", "max") > 100.0);

    let (target, url) = StallingTarget::start().await;
    let (closed, _) = run_hello(
        &url,
        json!({"executor": "constant-vus", "vus": 10, "duration": "4s"}),
        async || stall(&target).await,
    )
    .await;
    let p95 = stat(&closed, "http_req_duration", "p(95)");
    let max = stat(&closed, "http_req_duration", "max");
    assert!(
        max > 900.0,
        "the closed model's VUs waited too: max {max} ms"
    );
    assert!(p95 < 100.0, "closed model p(95) {p95} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iterations_are_dropped_when_every_vu_is_busy() {
    let (target, url) = StallingTarget::start().await;
    let (report, _) = run_hello(
        &url,
        json!({"executor": "constant-arrival-rate", "rate": 200, "duration": "3s",
               "preAllocatedVUs": 5, "maxVUs": 20}),
        async || {
            tokio::time::sleep(Duration::from_secs(1)).await;
            target.stall_for(Duration::from_secs(1));
        },
    )
    .await;
    // During the stall the 20 VUs wait; the ~180 other iterations scheduled
    // in that second are dropped. Every scheduled iteration is either run or
    // dropped.
    let iterations = stat(&report, "iterations", "count");
    let dropped = stat(&report, "dropped_iterations", "count");
    assert_eq!(iterations + dropped, 600.0);
    assert!((150.0..=200.0).contains(&dropped), "dropped {dropped}");
    assert_eq!(iterations, target.total() as f64);
    assert_eq!(stat(&report, "vus_max", "max"), 20.0);
}

/// Asserts that away from the first and last 100 ms of `length`, every sample
/// saw `vus` VUs running.
fn assert_steady(samples: &[(f64, u64)], length: f64, vus: u64) {
    let inside: Vec<u64> = samples
        .iter()
        .filter(|&&(t, _)| t > 0.1 && t < length - 0.1)
        .map(|&(_, v)| v)
        .collect();
    assert!(inside.len() > 10, "only {} samples", inside.len());
    assert!(inside.iter().all(|&v| v == vus), "{inside:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_vus_hold_their_number_for_the_duration() {
    let target = demo_target("none").await;
    let (samples, report) = sample_vus(
        HELLO,
        json!({"scenarios": {"c": {"executor": "constant-vus", "vus": 3, "duration": "1s"}},
               "env": {"TARGET_URL": target.url(), "SLEEP_MS": "20"}}),
    )
    .await;
    assert_steady(&samples, 1.0, 3);
    // 3 VUs each looping on ~20 ms iterations for 1 s: about 150 requests.
    let requests = target.stats().total;
    assert!((90..=153).contains(&requests), "{requests}");
    assert_eq!(stat(&report, "http_reqs", "count"), requests as f64);
    assert_eq!(stat(&report, "iterations", "count"), requests as f64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_vu_iterations_run_exactly_their_count_on_each_vu() {
    let target = demo_target("none").await;
    let (samples, report) = sample_vus(
        HELLO,
        json!({"scenarios": {"p": {"executor": "per-vu-iterations", "vus": 3, "iterations": 5}},
               "env": {"TARGET_URL": target.url(), "SLEEP_MS": "100"}}),
    )
    .await;
    // Every VU runs its 5 iterations of ~100 ms side by side: 3 VUs for ~0.5 s.
    assert_steady(&samples, 0.5, 3);
    assert_eq!(target.stats().total, 15);
    assert_eq!(stat(&report, "iterations", "count"), 15.0);
    let took = report.summary.duration.as_secs_f64();
    assert!((0.5..1.0).contains(&took), "{took} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_iterations_stop_at_their_total() {
    let target = demo_target("none").await;
    let (_, report) = sample_vus(
        HELLO,
        json!({"scenarios": {"s": {"executor": "shared-iterations", "vus": 4, "iterations": 30}},
               "env": {"TARGET_URL": target.url(), "SLEEP_MS": "10"}}),
    )
    .await;
    assert_eq!(target.stats().total, 30);
    assert_eq!(stat(&report, "iterations", "count"), 30.0);
    // 4 VUs share them: about 30 / 4 rounds of ~10 ms.
    let took = report.summary.duration.as_secs_f64();
    assert!(took < 0.5, "{took} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iteration_count_executor_ends_at_its_max_duration() {
    let target = demo_target("none").await;
    let (_, report) = sample_vus(
        HELLO,
        json!({"scenarios": {"s": {"executor": "shared-iterations", "vus": 2, "iterations": 1000,
                                   "maxDuration": "500ms", "gracefulStop": "0s"}},
               "env": {"TARGET_URL": target.url(), "SLEEP_MS": "100"}}),
    )
    .await;
    // 2 VUs × 5 rounds of 100 ms fit in 500 ms; the rest never start.
    let iterations = stat(&report, "iterations", "count");
    assert!((8.0..=10.0).contains(&iterations), "{iterations}");
    let took = report.summary.duration.as_secs_f64();
    assert!(took < 0.7, "{took} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_arrival_rate_run_starts_nothing_more_and_cuts_at_the_graceful_stop() {
    let (target, url) = StallingTarget::start().await;
    let options = json!({
        "scenarios": {"open": {"executor": "constant-arrival-rate", "rate": 20, "duration": "1m",
                               "preAllocatedVUs": 5, "maxVUs": 100, "gracefulStop": "300ms"}},
        "env": {"TARGET_URL": url, "SLEEP_MS": "10000"}});
    let plan = Options::from_json(&options.to_string())
        .unwrap()
        .plan()
        .unwrap();
    let handle = run::start(&compile(HELLO), plan, VuLimits::default(), Outputs::none());
    while handle.executing_for() < Duration::from_millis(500) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    handle.stop();
    let stopped = Instant::now();
    let report = handle.wait().await.expect("waited for once").unwrap();
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "{:?}",
        stopped.elapsed()
    );
    // About 10 started in the first 0.5 s, each sleeping 10 s: all were cut.
    let started = target.total();
    assert!((9..=12).contains(&started), "{started}");
    assert_eq!(
        report.summary.iteration_failures.get("interrupted"),
        Some(&(started as u64))
    );
    assert_eq!(stat(&report, "iterations", "count"), 0.0);
    assert!(report.stopped);
}
