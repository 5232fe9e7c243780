//! The live control of a `volley run` (like k6's `k6 scale`): while a run with
//! an `externally-controlled` scenario lasts, a small HTTP endpoint on a
//! loopback address reports its VUs and changes them; `volley scale` calls it.
//!
//! - `GET /v1/status`: `{"vus", "vus_max", "phase"}`;
//! - `PATCH /v1/status` with `{"vus": N, "scenario": "name"}` (`scenario` only
//!   when the run has several externally-controlled scenarios): `{"scenario",
//!   "vus"}`, or 400/409 with `{"error": message}`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use volley_runtime::run::RunHandle;

/// Where `volley run` listens for control, unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:6566";

/// A request to change the running VUs.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleRequest {
    /// VUs to run.
    pub vus: u32,
    /// The externally-controlled scenario (needed when there are several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
}

type Reply = (StatusCode, Json<serde_json::Value>);

async fn status(State(run): State<Arc<RunHandle>>) -> Json<serde_json::Value> {
    let progress = run.progress();
    Json(serde_json::json!({
        "vus": progress.vus,
        "vus_max": progress.vus_max,
        "phase": run.phase(),
    }))
}

async fn scale(State(run): State<Arc<RunHandle>>, body: Bytes) -> Reply {
    let request: ScaleRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            let message = format!("expected {{\"vus\": N, \"scenario\"?: name}}: {error}");
            return (StatusCode::BAD_REQUEST, error_body(message));
        }
    };
    match run.scale(request.scenario.as_deref(), request.vus) {
        Ok(scenario) => (
            StatusCode::OK,
            Json(serde_json::json!({"scenario": scenario, "vus": request.vus})),
        ),
        Err(error) if error.is_not_scalable() => {
            (StatusCode::CONFLICT, error_body(error.to_string()))
        }
        Err(error) => (StatusCode::BAD_REQUEST, error_body(error.to_string())),
    }
}

fn error_body(message: String) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "error": message }))
}

/// Serves the control endpoint of `run` on `addr` (a loopback address) until
/// the returned task is aborted.
pub async fn serve(addr: SocketAddr, run: Arc<RunHandle>) -> Result<(SocketAddr, JoinHandle<()>)> {
    if !addr.ip().is_loopback() {
        bail!(
            "--control-addr must be a loopback address (the control has no authentication), not {addr}"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen for control on {addr} (choose another with --control-addr)")
    })?;
    let bound = listener.local_addr()?;
    let router = axum::Router::new()
        .route("/v1/status", get(status).patch(scale))
        .with_state(run);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::warn!("the run's control endpoint stopped: {error}");
        }
    });
    Ok((bound, task))
}

/// Asks the `volley run` controlled at `addr` to run `request.vus` VUs;
/// returns the scenario changed.
pub async fn request_scale(addr: SocketAddr, request: &ScaleRequest) -> Result<String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let body = Bytes::from(serde_json::to_vec(request)?);
    let http_request = hyper::Request::patch(format!("http://{addr}/v1/status"))
        .header("content-type", "application/json")
        .body(Full::new(body))?;
    let response = client
        .request(http_request)
        .await
        .with_context(|| format!("no volley run is controlled at {addr}"))?;
    let ok = response.status().is_success();
    let bytes = response.into_body().collect().await?.to_bytes();
    let reply: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{addr} did not answer as a volley run"))?;
    if !ok {
        bail!("{}", reply["error"].as_str().unwrap_or("the run refused"));
    }
    Ok(reply["scenario"].as_str().unwrap_or_default().to_owned())
}
