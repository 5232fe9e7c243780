//! Runs on the server: the queue, the runs in flight (at most a configured
//! number at once), their per-second recording, their end, and the webhook.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use volley_runtime::client::AllowList;
use volley_runtime::engine::VuLimits;
use volley_runtime::metrics::Snapshot;
use volley_runtime::options::{Options, RunPlan};
use volley_runtime::output::{OutputSpec, Outputs};
use volley_runtime::run::{self, RunHandle, RunReport};
use volley_runtime::scenario::Scenario;
use volley_runtime::thresholds;

use super::catalog::{Catalog, scenario_not_found};
use super::error::{ApiError, ApiResult};
use super::models::{
    AbortReason, MetricsSnapshot, RunInfo, RunLogs, RunProgress, RunRequest, RunResults, RunStatus,
    ScenarioInfo, WebhookPayload, WebhookState,
};
use super::store::{RunEnd, Store};
use super::views::{
    SeriesBuilder, SplitBy, logs_of, metric_views, progress_of, results_of, threshold_states,
};
use super::webhook::{self, WebhookSender};
use super::{ServeConfig, now};

/// The `testid` label of run `id`'s series: its own `testid` tag, else its id.
fn testid(id: &str, plan: &RunPlan) -> String {
    plan.tags
        .get("testid")
        .cloned()
        .unwrap_or_else(|| id.to_owned())
}

/// The most outputs a run may have of its own.
const MAX_RUN_OUTPUTS: usize = 4;

/// A run being executed.
#[derive(Default)]
struct ActiveRun {
    handle: OnceLock<Arc<RunHandle>>,
    stop_requested: AtomicBool,
}

impl ActiveRun {
    fn stop(&self) {
        self.stop_requested.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.get() {
            handle.stop();
        }
    }
}

/// Starts, tracks and records runs.
pub struct Runner {
    store: Arc<Store>,
    catalog: Arc<Catalog>,
    limits: VuLimits,
    allowed_targets: Option<Arc<AllowList>>,
    remote_writes: Vec<OutputSpec>,
    max_active: usize,
    active: Mutex<HashMap<String, Arc<ActiveRun>>>,
    schedule: Mutex<()>,
    webhooks: WebhookSender,
    /// Cancelled when the server shuts down: no run starts any more, and
    /// metric streams end.
    closing: CancellationToken,
}

impl Runner {
    /// A runner storing in `store`, taking scenarios from `catalog`, running
    /// at most `config.max_concurrent_runs` runs at once with the config's VU
    /// limits and allowed targets.
    pub fn new(
        store: Arc<Store>,
        catalog: Arc<Catalog>,
        config: &ServeConfig,
        webhooks: WebhookSender,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            catalog,
            limits: config.vu_limits,
            allowed_targets: config.allowed_targets.clone().map(Arc::new),
            remote_writes: config
                .remote_writes
                .iter()
                .cloned()
                .map(OutputSpec::RemoteWrite)
                .collect(),
            max_active: config.max_concurrent_runs.max(1),
            active: Mutex::new(HashMap::new()),
            schedule: Mutex::new(()),
            webhooks,
            closing: CancellationToken::new(),
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Resolves when the server starts shutting down.
    pub async fn closing(&self) {
        self.closing.cancelled().await;
    }

    /// Whether the server is shutting down.
    pub fn is_closing(&self) -> bool {
        self.closing.is_cancelled()
    }

    /// Runs executing now.
    pub fn active_count(&self) -> usize {
        self.active.lock().expect("poisoned").len()
    }

    fn active(&self, id: &str) -> Option<Arc<ActiveRun>> {
        self.active.lock().expect("poisoned").get(id).cloned()
    }

    /// The run plan of `options` over scenario `info`'s own options.
    fn plan(info: &ScenarioInfo, options: Option<&serde_json::Value>) -> ApiResult<RunPlan> {
        let invalid = |e: volley_runtime::options::OptionsError| {
            ApiError::bad_request("invalid_options", e.to_string())
        };
        let defaults = Options::from_value(info.default_options.clone()).unwrap_or_default();
        let requested = match options {
            Some(json) if !json.is_null() => Options::from_value(json.clone()).map_err(invalid)?,
            _ => Options::default(),
        };
        defaults.merge(requested).plan().map_err(invalid)
    }

    /// Queues a run (and starts it if a slot is free).
    pub async fn submit(self: &Arc<Self>, request: RunRequest) -> ApiResult<RunInfo> {
        let info = self
            .store
            .scenario(&request.scenario)?
            .ok_or_else(|| scenario_not_found(&request.scenario))?;
        Self::plan(&info, request.options.as_ref())?;
        if let Some(url) = &request.webhook {
            webhook::check_url(url).map_err(|e| ApiError::bad_request("invalid_webhook", e))?;
        }
        if request.outputs.len() > MAX_RUN_OUTPUTS {
            return Err(ApiError::bad_request(
                "invalid_outputs",
                format!("a run has at most {MAX_RUN_OUTPUTS} outputs"),
            ));
        }
        for (index, output) in request.outputs.iter().enumerate() {
            output.config().map_err(|e| {
                ApiError::bad_request("invalid_outputs", format!("outputs[{index}]: {e}"))
            })?;
        }
        let run = RunInfo {
            id: format!("run_{:016x}", rand::random::<u64>()),
            scenario: info.id,
            status: RunStatus::Queued,
            created_at: now(),
            started_at: None,
            ended_at: None,
            options: request.options.unwrap_or_else(|| serde_json::json!({})),
            progress: None,
            thresholds_passed: None,
            thresholds: Vec::new(),
            abort_reason: None,
            error: None,
            webhook: request.webhook.map(|url| WebhookState {
                url,
                delivered: false,
                attempts: 0,
                last_error: None,
            }),
            outputs: request.outputs,
        };
        self.store.insert_run(&run)?;
        self.pump();
        Ok(self.run(&run.id)?.unwrap_or(run))
    }

    /// Starts queued runs while slots are free.
    pub fn pump(self: &Arc<Self>) {
        let _scheduling = self.schedule.lock().expect("poisoned");
        while self.active_count() < self.max_active && !self.closing.is_cancelled() {
            let next = match self.store.next_queued() {
                Ok(Some(id)) => id,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!("cannot read the queue: {e}");
                    return;
                }
            };
            let run = match self.store.run(&next) {
                Ok(Some(run)) => run,
                _ => return,
            };
            if let Err(e) = self.store.set_started(&run.id, &now()) {
                tracing::error!("cannot start run {}: {e}", run.id);
                return;
            }
            let active = Arc::new(ActiveRun::default());
            self.active
                .lock()
                .expect("poisoned")
                .insert(run.id.clone(), active.clone());
            tokio::spawn(self.clone().supervise(run, active));
        }
    }

    /// Carries one run from the queue to its end.
    async fn supervise(self: Arc<Self>, run: RunInfo, active: Arc<ActiveRun>) {
        let id = run.id.clone();
        let end = match self.prepare(&run).await {
            Err(error) => RunEnd::failed(error),
            Ok((scenario, plan)) => {
                if active.stop_requested.load(Ordering::SeqCst) {
                    RunEnd::aborted_before_start()
                } else {
                    let handle = Arc::new(run::start(
                        &scenario,
                        plan.clone(),
                        self.limits,
                        self.outputs(&id, &plan),
                    ));
                    let _ = active.handle.set(handle.clone());
                    if active.stop_requested.load(Ordering::SeqCst) {
                        handle.stop();
                    }
                    self.record(&id, &handle, &plan).await;
                    let report = handle.wait().await.expect("waited for once");
                    self.end_of(&handle, report)
                }
            }
        };
        if let Err(e) = self.store.finish_run(&id, &end) {
            tracing::error!("cannot record the end of run {id}: {e}");
        }
        self.active.lock().expect("poisoned").remove(&id);
        tracing::info!("run {id} ended: {}", end.status.as_str());
        if run.webhook.is_some() {
            self.spawn_webhook(id);
        }
        self.pump();
    }

    /// The server's outputs and run `id`'s own, labelled with its id as
    /// `testid` unless the run has a `testid` tag of its own.
    fn outputs(&self, id: &str, plan: &RunPlan) -> Outputs {
        let mut specs = self.remote_writes.clone();
        match self.store.run_outputs(id) {
            Ok(outputs) => specs.extend(
                // Checked when the run was submitted.
                outputs
                    .iter()
                    .filter_map(|o| o.config().ok())
                    .map(OutputSpec::RemoteWrite),
            ),
            Err(e) => tracing::error!("cannot read the outputs of run {id}: {e}"),
        }
        // Remote write opens no file, so it cannot fail here.
        Outputs::open(&specs)
            .unwrap_or_default()
            .with_labels([("testid".to_owned(), testid(id, plan))].into())
    }

    async fn prepare(&self, run: &RunInfo) -> Result<(Scenario, RunPlan), String> {
        let info = self
            .store
            .scenario(&run.scenario)
            .map_err(|e| e.to_string())?
            .ok_or("the scenario was deleted")?;
        let mut plan = Self::plan(&info, Some(&run.options)).map_err(|e| e.message)?;
        plan.allowed_targets = self.allowed_targets.clone();
        let scenario = self.catalog.compiled(&run.scenario).await?;
        Ok((scenario, plan))
    }

    /// Records the run every second until it ends.
    async fn record(&self, id: &str, handle: &RunHandle, plan: &RunPlan) {
        let mut series = SeriesBuilder::default();
        let mut second = 0u32;
        let mut logged = (0, 0, 0.0);
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.tick().await;
        loop {
            let ended = tokio::select! {
                _ = ticker.tick() => false,
                _ = handle.ended() => true,
            };
            let executing = handle.executing_for();
            if !executing.is_zero() || ended {
                let snapshot = handle.metrics().snapshot();
                let seconds = executing.as_secs_f64();
                let point = series.point(&snapshot, seconds);
                let verdicts = thresholds::evaluate(&plan.thresholds, &snapshot, executing);
                let metrics = metric_views(&snapshot, seconds, SplitBy::Every);
                let result = self.store.record_second(
                    id,
                    second,
                    &point,
                    &progress_of(handle),
                    &threshold_states(&verdicts),
                    &serde_json::to_string(&metrics).expect("metrics serialize"),
                );
                if let Err(e) = result {
                    tracing::error!("cannot record run {id}: {e}");
                }
                second += 1;
            }
            let logs = logs_of(id, handle);
            let mark = (
                logs.entries.len(),
                logs.dropped,
                logs.entries.last().map_or(0.0, |e| e.elapsed_ms),
            );
            if mark != logged {
                logged = mark;
                let json = serde_json::to_string(&logs).expect("logs serialize");
                if let Err(e) = self.store.set_logs(id, &json) {
                    tracing::error!("cannot record the log of run {id}: {e}");
                }
            }
            if ended {
                return;
            }
        }
    }

    fn end_of(&self, handle: &RunHandle, report: Result<RunReport, run::RunError>) -> RunEnd {
        let report = match report {
            Ok(report) => report,
            Err(error) => return RunEnd::failed(error.to_string()),
        };
        let seconds = report.summary.duration.as_secs_f64();
        let metrics = metric_views(&report.snapshot, seconds, SplitBy::Every);
        let progress = RunProgress {
            elapsed_seconds: seconds,
            ..progress_of(handle)
        };
        let verdicts = threshold_states(&report.thresholds);
        let results = results_of(&report, verdicts.clone());
        // Runs still going when the server shuts down end as `interrupted`.
        let (status, abort_reason) = if self.closing.is_cancelled() {
            (RunStatus::Interrupted, None)
        } else if report.aborted_by_threshold {
            (RunStatus::Aborted, Some(AbortReason::Threshold))
        } else if report.stopped {
            (RunStatus::Aborted, Some(AbortReason::User))
        } else {
            (RunStatus::Finished, None)
        };
        RunEnd {
            status,
            ended_at: now(),
            progress: Some(progress),
            thresholds_passed: Some(report.thresholds_passed()),
            thresholds: verdicts,
            abort_reason,
            error: (status == RunStatus::Interrupted)
                .then(|| "the server shut down during the run; it was stopped gracefully".into()),
            metrics: Some(serde_json::to_string(&metrics).expect("metrics serialize")),
            results: Some(serde_json::to_string(&results).expect("results serialize")),
        }
    }

    /// Sends the webhooks of ended runs that were not delivered yet: those of
    /// runs marked `interrupted` at start, and deliveries a stop cut short.
    pub fn resume_webhooks(self: &Arc<Self>) {
        let pending = match self.store.ended_runs_with_webhooks() {
            Ok(runs) => runs,
            Err(e) => {
                tracing::error!("cannot read pending webhooks: {e}");
                return;
            }
        };
        for run in pending {
            let Some(state) = &run.webhook else { continue };
            if !state.delivered && self.webhooks.may_retry(state.attempts) {
                self.spawn_webhook(run.id);
            }
        }
    }

    fn spawn_webhook(self: &Arc<Self>, id: String) {
        let runner = self.clone();
        tokio::spawn(async move { runner.send_webhook(&id).await });
    }

    async fn send_webhook(&self, id: &str) {
        let Ok(Some(run)) = self.store.run(id) else {
            return;
        };
        let Some(state) = run.webhook.clone() else {
            return;
        };
        let results = self
            .store
            .run_results(id)
            .ok()
            .flatten()
            .and_then(|json| serde_json::from_str::<RunResults>(&json).ok());
        let payload = WebhookPayload {
            event: "run.ended".into(),
            run,
            results,
        };
        let body = serde_json::to_vec(&payload).expect("payload serializes");
        let store = self.store.clone();
        self.webhooks
            .deliver(
                &state.url,
                id,
                body,
                state.attempts,
                |attempts, delivered, last_error| {
                    if let Some(error) = &last_error {
                        tracing::warn!(
                            "webhook of run {id} to {}: attempt {attempts}: {error}",
                            state.url
                        );
                    }
                    let state = WebhookState {
                        url: state.url.clone(),
                        delivered,
                        attempts,
                        last_error,
                    };
                    if let Err(e) = store.set_webhook(id, &state) {
                        tracing::error!("cannot record the webhook of run {id}: {e}");
                    }
                },
            )
            .await;
    }

    /// Every run executing now: its id, its `testid` label (its own `testid`
    /// tag, else its id) and its metrics at this moment.
    pub fn live_runs(&self) -> Vec<(String, String, Snapshot)> {
        let active: Vec<(String, Arc<ActiveRun>)> = self
            .active
            .lock()
            .expect("poisoned")
            .iter()
            .map(|(id, run)| (id.clone(), run.clone()))
            .collect();
        active
            .into_iter()
            .filter_map(|(id, run)| {
                let handle = run.handle.get()?;
                let testid = testid(&id, handle.plan());
                Some((id, testid, handle.metrics().snapshot()))
            })
            .collect()
    }

    /// The run `id`, with live figures while it executes.
    pub fn run(&self, id: &str) -> ApiResult<Option<RunInfo>> {
        Ok(self.store.run(id)?.map(|run| self.with_live_figures(run)))
    }

    /// `run` as stored, with its live figures if it executes now.
    pub fn with_live_figures(&self, mut run: RunInfo) -> RunInfo {
        if let Some(active) = self.active(&run.id) {
            if let Some(handle) = active.handle.get() {
                run.progress = Some(progress_of(handle));
            }
            if active.stop_requested.load(Ordering::SeqCst) && run.status == RunStatus::Running {
                run.status = RunStatus::Stopping;
            }
        }
        run
    }

    /// Asks run `id` to stop. A queued run is aborted at once; a running one
    /// stops gracefully.
    pub fn stop(self: &Arc<Self>, id: &str) -> ApiResult<RunInfo> {
        let run = self.run(id)?.ok_or_else(|| run_not_found(id))?;
        match run.status {
            RunStatus::Queued => {
                let _scheduling = self.schedule.lock().expect("poisoned");
                if self
                    .store
                    .transition(id, RunStatus::Queued, RunStatus::Aborted)?
                {
                    self.store.finish_run(id, &RunEnd::aborted_before_start())?;
                    if run.webhook.is_some() {
                        self.spawn_webhook(id.to_owned());
                    }
                }
            }
            RunStatus::Running | RunStatus::Stopping => {
                if let Some(active) = self.active(id) {
                    active.stop();
                    self.store
                        .transition(id, RunStatus::Running, RunStatus::Stopping)?;
                }
            }
            status => {
                return Err(ApiError::conflict(
                    "run_ended",
                    format!("run {id} has already ended ({})", status.as_str()),
                ));
            }
        }
        Ok(self.run(id)?.unwrap_or(run))
    }

    /// Changes the VUs of run `id`'s externally-controlled scenario.
    pub fn scale(&self, id: &str, vus: u32, scenario: Option<&str>) -> ApiResult<RunInfo> {
        let run = self.run(id)?.ok_or_else(|| run_not_found(id))?;
        let not_live = || {
            ApiError::conflict(
                "run_not_running",
                format!(
                    "run {id} is {}: only a running run can be rescaled",
                    run.status.as_str()
                ),
            )
        };
        if run.status != RunStatus::Running {
            return Err(not_live());
        }
        let active = self.active(id).ok_or_else(not_live)?;
        let handle = active.handle.get().ok_or_else(|| {
            ApiError::conflict(
                "run_not_ready",
                format!("run {id} is still compiling its scenario; try again in a moment"),
            )
        })?;
        handle.scale(scenario, vus).map_err(|e| {
            if e.is_not_scalable() {
                ApiError::conflict("not_scalable", e.to_string())
            } else {
                ApiError::bad_request("invalid_scale", e.to_string())
            }
        })?;
        Ok(self.run(id)?.unwrap_or(run))
    }

    /// Metrics of run `id` now: live while it executes, as last recorded after.
    pub fn metrics(&self, id: &str, by: Option<&str>) -> ApiResult<MetricsSnapshot> {
        let run = self.run(id)?.ok_or_else(|| run_not_found(id))?;
        let live = self.active(id).and_then(|a| a.handle.get().cloned());
        let (elapsed_seconds, metrics) = match live {
            Some(handle) => {
                let snapshot = handle.metrics().snapshot();
                let seconds = handle.executing_for().as_secs_f64();
                let split = by.map_or(SplitBy::Nothing, SplitBy::Tag);
                (seconds, metric_views(&snapshot, seconds, split))
            }
            None => {
                let stored = match self.store.run_metrics(id)? {
                    Some(json) => serde_json::from_str(&json).map_err(ApiError::internal)?,
                    None => Default::default(),
                };
                let seconds = run.progress.as_ref().map_or(0.0, |p| p.elapsed_seconds);
                (seconds, super::views::narrow(stored, by))
            }
        };
        Ok(MetricsSnapshot {
            run: id.to_owned(),
            status: run.status,
            elapsed_seconds,
            metrics,
        })
    }

    /// The log of run `id`: live while it executes, as recorded after.
    pub fn logs(&self, id: &str) -> ApiResult<RunLogs> {
        self.run(id)?.ok_or_else(|| run_not_found(id))?;
        if let Some(handle) = self.active(id).and_then(|a| a.handle.get().cloned()) {
            return Ok(logs_of(id, &handle));
        }
        match self.store.run_logs(id)? {
            Some(json) => serde_json::from_str(&json).map_err(ApiError::internal),
            None => Ok(RunLogs {
                run: id.to_owned(),
                ..RunLogs::default()
            }),
        }
    }

    /// Stops every run for a server shutdown and waits up to `grace` for them
    /// to end (they are then recorded as `interrupted`, with their results).
    pub async fn shutdown(&self, grace: Duration) {
        self.closing.cancel();
        let active: Vec<_> = self
            .active
            .lock()
            .expect("poisoned")
            .values()
            .cloned()
            .collect();
        for run in &active {
            run.stop();
        }
        let deadline = tokio::time::Instant::now() + grace;
        while self.active_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// 404 for an unknown run.
pub fn run_not_found(id: &str) -> ApiError {
    ApiError::not_found("run_not_found", format!("no run with id {id:?}"))
}

impl RunEnd {
    fn failed(error: String) -> Self {
        RunEnd {
            status: RunStatus::Failed,
            ended_at: now(),
            progress: None,
            thresholds_passed: None,
            thresholds: Vec::new(),
            abort_reason: None,
            error: Some(error),
            metrics: None,
            results: None,
        }
    }

    fn aborted_before_start() -> Self {
        RunEnd {
            status: RunStatus::Aborted,
            abort_reason: Some(AbortReason::User),
            error: None,
            ..Self::failed(String::new())
        }
    }
}
