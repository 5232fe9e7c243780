//! `/v1/runs`: start, list, show, stop and rescale runs; their live metrics,
//! metric stream, time series and results.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::models::{
    MetricsQuery, MetricsSnapshot, RunInfo, RunList, RunListQuery, RunLogs, RunPatch, RunRequest,
    RunResults, RunStatus, StreamEvent, StreamEventName, Timeseries,
};
use super::request::{json_body, query};
use super::runner::run_not_found;
use super::{AppState, now};

/// Start a run.
///
/// The options are laid over the scenario's own `options()`, as `volley run
/// --config` does. Beyond the server's concurrency limit the run waits with
/// status `queued`.
#[utoipa::path(
    post,
    path = "/v1/runs",
    tag = "runs",
    request_body = RunRequest,
    responses(
        (status = 201, description = "Queued or started; `Location` points to it.", body = RunInfo,
            headers(("location" = String, description = "The run's URL"))),
        (status = 400, description = "`malformed_json`, `invalid_options`, `invalid_webhook` or `invalid_outputs`.", body = ErrorBody),
        (status = 404, description = "`scenario_not_found`.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_run(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, HeaderMap, Json<RunInfo>)> {
    let request: RunRequest = json_body(&headers, body)?;
    let run = app.runner.submit(request).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::LOCATION,
        format!("/v1/runs/{}", run.id)
            .parse()
            .expect("a run id is a valid header"),
    );
    Ok((StatusCode::CREATED, headers, Json(run)))
}

/// List runs, newest first.
#[utoipa::path(
    get,
    path = "/v1/runs",
    tag = "runs",
    params(RunListQuery),
    responses(
        (status = 200, description = "A page of runs.", body = RunList),
        (status = 400, description = "`bad_query`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_runs(
    State(app): State<AppState>,
    params: Result<Query<RunListQuery>, QueryRejection>,
) -> ApiResult<Json<RunList>> {
    let params = query(params)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("limit must be between 1 and 1000, not {limit}"),
        ));
    }
    let cursor = params
        .cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::bad_request("bad_query", format!("bad cursor {c:?}")))
        })
        .transpose()?;
    let (runs, next) =
        app.runner
            .store()
            .runs(params.status, params.scenario.as_deref(), limit, cursor)?;
    let runs = runs
        .into_iter()
        .map(|run| app.runner.with_live_figures(run))
        .collect();
    Ok(Json(RunList {
        runs,
        next_cursor: next.map(|n| n.to_string()),
    }))
}

/// Show a run: status, times, live progress, thresholds.
#[utoipa::path(
    get,
    path = "/v1/runs/{id}",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run.", body = RunInfo),
        (status = 404, description = "`run_not_found`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_run(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<RunInfo>> {
    app.runner
        .run(&id)?
        .map(Json)
        .ok_or_else(|| run_not_found(&id))
}

/// Change the VUs of a running `externally-controlled` scenario.
#[utoipa::path(
    patch,
    path = "/v1/runs/{id}",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    request_body = RunPatch,
    responses(
        (status = 200, description = "Changed; VUs follow within a moment.", body = RunInfo),
        (status = 400, description = "`malformed_json` or `invalid_scale` (out of 0..maxVUs, unknown scenario, ambiguous).", body = ErrorBody),
        (status = 404, description = "`run_not_found`.", body = ErrorBody),
        (status = 409, description = "`run_not_running`, `run_not_ready` or `not_scalable` (no externally-controlled scenario).", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn patch_run(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<RunInfo>> {
    if app.runner.run(&id)?.is_none() {
        return Err(run_not_found(&id));
    }
    let patch: RunPatch = json_body(&headers, body)?;
    Ok(Json(app.runner.scale(
        &id,
        patch.vus,
        patch.scenario.as_deref(),
    )?))
}

/// Stop a run gracefully.
///
/// A queued run is aborted at once. A running one starts no new iterations;
/// in-flight ones get their `gracefulStop`, then `teardown` runs and the
/// results are recorded (status `aborted`, `abort_reason` `user`).
#[utoipa::path(
    post,
    path = "/v1/runs/{id}/stop",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    responses(
        (status = 202, description = "Stopping (or aborted, if it was queued).", body = RunInfo),
        (status = 404, description = "`run_not_found`.", body = ErrorBody),
        (status = 409, description = "`run_ended`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn stop_run(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<RunInfo>)> {
    Ok((StatusCode::ACCEPTED, Json(app.runner.stop(&id)?)))
}

/// A run's metrics now.
///
/// Live while the run executes; after it, the final figures (or, for an
/// `interrupted` run, the last recorded ones).
#[utoipa::path(
    get,
    path = "/v1/runs/{id}/metrics",
    tag = "metrics",
    params(("id" = String, Path, description = "The run's id"), MetricsQuery),
    responses(
        (status = 200, description = "Per metric, its statistics.", body = MetricsSnapshot),
        (status = 400, description = "`bad_query`.", body = ErrorBody),
        (status = 404, description = "`run_not_found`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn run_metrics(
    State(app): State<AppState>,
    Path(id): Path<String>,
    params: Result<Query<MetricsQuery>, QueryRejection>,
) -> ApiResult<Json<MetricsSnapshot>> {
    let params = query(params)?;
    Ok(Json(app.runner.metrics(&id, params.by.as_deref())?))
}

/// A run's metrics as Server-Sent Events.
///
/// One `snapshot` event per second (data: the same JSON as
/// `GET /v1/runs/{id}/metrics`) until the run ends, then an `end` event
/// (data: the run, as `GET /v1/runs/{id}` shows it) and the stream closes.
/// A server shutting down closes the stream without an `end` event.
#[utoipa::path(
    get,
    path = "/v1/runs/{id}/metrics/stream",
    tag = "metrics",
    params(("id" = String, Path, description = "The run's id"), MetricsQuery),
    responses(
        (status = 200, description = "`text/event-stream` of `snapshot` events (MetricsSnapshot), then one `end` event (RunInfo).",
            content_type = "text/event-stream", body = StreamEvent),
        (status = 400, description = "`bad_query`.", body = ErrorBody),
        (status = 404, description = "`run_not_found`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn stream_metrics(
    State(app): State<AppState>,
    Path(id): Path<String>,
    params: Result<Query<MetricsQuery>, QueryRejection>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let by = query(params)?.by;
    if app.runner.run(&id)?.is_none() {
        return Err(run_not_found(&id));
    }
    let interval = app.config.stream_interval;
    // State: whether to wait before the next events; `None` once ended.
    let steps = futures_util::stream::unfold(Some(false), move |wait| {
        let (app, id, by) = (app.clone(), id.clone(), by.clone());
        async move {
            if wait? {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = app.runner.closing() => {}
                }
            }
            if app.runner.is_closing() {
                return None;
            }
            let run = app.runner.run(&id).ok()??;
            let snapshot = app.runner.metrics(&id, by.as_deref()).ok()?;
            let mut events = vec![event(StreamEventName::Snapshot, &snapshot)];
            if run.status.is_final() {
                events.push(event(StreamEventName::End, &run));
                return Some((events, None));
            }
            Some((events, Some(true)))
        }
    });
    let stream = futures_util::StreamExt::flat_map(steps, |events| {
        futures_util::stream::iter(events.into_iter().map(Ok))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn event<T: serde::Serialize>(name: StreamEventName, data: &T) -> Event {
    let name = match name {
        StreamEventName::Snapshot => "snapshot",
        StreamEventName::End => "end",
    };
    Event::default()
        .event(name)
        .data(serde_json::to_string(data).expect("API types serialize"))
}

/// A run's per-second series, for plots.
#[utoipa::path(
    get,
    path = "/v1/runs/{id}/timeseries",
    tag = "metrics",
    params(("id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, description = "One point per second.", body = Timeseries),
        (status = 404, description = "`run_not_found`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn run_timeseries(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Timeseries>> {
    if app.runner.store().run(&id)?.is_none() {
        return Err(run_not_found(&id));
    }
    Ok(Json(Timeseries {
        points: app.runner.store().timeseries(&id)?,
        run: id,
    }))
}

/// A run's log: the scenario's `log` messages and Volley's notes (failed
/// iterations, replaced VUs, an `abortOnFail` stop), newest 1,000.
#[utoipa::path(
    get,
    path = "/v1/runs/{id}/logs",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The log, oldest first.", body = RunLogs),
        (status = 404, description = "`run_not_found`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn run_logs(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<RunLogs>> {
    Ok(Json(app.runner.logs(&id)?))
}

/// A run's results: k6's summary export plus threshold verdicts and checks.
#[utoipa::path(
    get,
    path = "/v1/runs/{id}/results",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The results.", body = RunResults),
        (status = 404, description = "`run_not_found`.", body = ErrorBody),
        (status = 409, description = "`run_not_finished` (queued, running or stopping) or `no_results` (the run failed, or was aborted or interrupted before it produced a summary; see `GET /v1/runs/{id}/metrics` for partial figures).", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn run_results(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<RunResults>> {
    let run = ended_run(&app, &id, "results exist")?;
    let results = app.runner.store().run_results(&id)?.ok_or_else(|| {
        ApiError::conflict(
            "no_results",
            format!(
                "run {id} ended as {} without a summary{}",
                run.status.as_str(),
                run.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        )
    })?;
    Ok(Json(
        serde_json::from_str(&results).map_err(ApiError::internal)?,
    ))
}

/// A finished run's HTML report: one self-contained page (charts, thresholds,
/// checks, metrics summary) that opens offline, the same as `volley run
/// --report` writes.
#[utoipa::path(
    get,
    path = "/v1/runs/{id}/report",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The report, as one HTML file.", body = String, content_type = "text/html"),
        (status = 404, description = "`run_not_found`.", body = ErrorBody),
        (status = 409, description = "`run_not_finished`: the run is queued, running or stopping.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn run_report(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    let run = ended_run(&app, &id, "its report exists")?;
    let store = app.runner.store();
    let parse = |text: Option<String>| -> ApiResult<Option<serde_json::Value>> {
        text.map(|t| serde_json::from_str(&t).map_err(ApiError::internal))
            .transpose()
    };
    let data = crate::report::ReportData {
        results: parse(store.run_results(&id)?)?,
        metrics: Some(
            serde_json::to_value(app.runner.metrics(&id, None)?).map_err(ApiError::internal)?,
        ),
        timeseries: serde_json::to_value(Timeseries {
            points: store.timeseries(&id)?,
            run: id.clone(),
        })
        .map_err(ApiError::internal)?,
        scenario: store
            .scenario(&run.scenario)?
            .map(|s| serde_json::to_value(s).map_err(ApiError::internal))
            .transpose()?,
        run: serde_json::to_value(&run).map_err(ApiError::internal)?,
        generated_at: now(),
    };
    let disposition = format!("inline; filename=\"volley-report-{id}.html\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        crate::report::render(&data),
    )
        .into_response())
}

/// Run `id`, if it has ended; otherwise `run_not_finished`, saying that
/// `what` once it ends.
fn ended_run(app: &AppState, id: &str, what: &str) -> ApiResult<RunInfo> {
    let run = app.runner.run(id)?.ok_or_else(|| run_not_found(id))?;
    if matches!(
        run.status,
        RunStatus::Queued | RunStatus::Running | RunStatus::Stopping
    ) {
        return Err(ApiError::conflict(
            "run_not_finished",
            format!("run {id} is {}; {what} once it ends", run.status.as_str()),
        ));
    }
    Ok(run)
}
