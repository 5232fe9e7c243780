//! What the integration tests share: running a scenario in-process and reading
//! the numbers back.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub mod api_client;
pub mod browser;

use volley::demo_target::{DemoConfig, DemoTarget, LatencySpec};
use volley_runtime::engine::{VolleyEngine, VuLimits};
use volley_runtime::options::Options;
use volley_runtime::output::Outputs;
use volley_runtime::run::{self, RunError, RunReport};
use volley_runtime::scenario::Scenario;

/// Compiles the guest at `path`.
pub fn compile(path: &str) -> Scenario {
    let bytes = std::fs::read(path).expect("reading a built guest");
    let engine = VolleyEngine::to_compile(&bytes, VuLimits::default()).unwrap();
    Scenario::compile(&engine, &bytes).expect("the guest is a valid scenario")
}

/// Runs the guest at `path` with k6-style `options` and returns the report.
pub async fn run(path: &str, options: serde_json::Value) -> Result<RunReport, RunError> {
    run_with_limits(path, options, VuLimits::default()).await
}

/// Like [`run`], with per-VU limits.
pub async fn run_with_limits(
    path: &str,
    options: serde_json::Value,
    limits: VuLimits,
) -> Result<RunReport, RunError> {
    run_with_outputs(path, options, limits, Outputs::none()).await
}

/// Like [`run_with_limits`], feeding `outputs`.
pub async fn run_with_outputs(
    path: &str,
    options: serde_json::Value,
    limits: VuLimits,
    outputs: Outputs,
) -> Result<RunReport, RunError> {
    let scenario = compile(path);
    let plan = Options::from_json(&options.to_string())
        .unwrap()
        .plan()
        .unwrap();
    run::start(&scenario, plan, limits, outputs)
        .wait()
        .await
        .expect("waited for once")
}

/// A statistic of the report's summary, or 0 when the metric has no samples.
pub fn stat(report: &RunReport, metric: &str, stat: &str) -> f64 {
    report.summary.get(metric, stat).unwrap_or(0.0)
}

/// A demo target on a free loopback port with `latency` added to each request.
pub async fn demo_target(latency: &str) -> DemoTarget {
    let config = DemoConfig {
        latency: latency.parse::<LatencySpec>().unwrap(),
        error_rate: 0.0,
    };
    DemoTarget::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

/// A plain HTTP server on a free loopback port that serves `router` and counts
/// the requests it answered.
pub async fn serve(router: axum::Router) -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    let router = router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                next.run(request).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, count)
}
