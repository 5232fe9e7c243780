//! The API's request and response bodies, as the OpenAPI document shows them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use utoipa::{IntoParams, ToSchema};
use volley_runtime::output::RemoteWriteConfig;

/// A stored scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScenarioInfo {
    /// The sha256 of the component's bytes, in hex: the scenario's id.
    #[schema(example = "2d7c92b98cb9828aa3d2d04beed2597c89faba4598a464a6c236a07510437147")]
    pub id: String,
    /// A name for people (the `name` query parameter of the upload, else `scenario`).
    pub name: String,
    /// The component's size in bytes.
    pub size: u64,
    /// When it was first uploaded (RFC 3339).
    pub created_at: String,
    /// The functions the component exports.
    pub exports: Vec<String>,
    /// What the component imports.
    pub imports: Vec<String>,
    /// The options the scenario's own `options()` export returns (k6's JSON shape).
    #[schema(value_type = Object)]
    pub default_options: Json,
}

/// The scenarios stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScenarioList {
    /// Newest first.
    pub scenarios: Vec<ScenarioInfo>,
}

/// A WebAssembly component's bytes (the body of an upload).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct WasmComponent(pub Vec<u8>);

/// Query of an upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// A name for people; defaults to `scenario`.
    pub name: Option<String>,
}

/// A request to start a run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "scenario": "2d7c92b98cb9828aa3d2d04beed2597c89faba4598a464a6c236a07510437147",
    "options": {
        "vus": 10,
        "duration": "30s",
        "env": {"TARGET_URL": "http://127.0.0.1:8080"},
        "thresholds": {"http_req_duration": ["p(95)<300"], "checks": ["rate>0.99"]}
    },
    "webhook": "https://ci.example.com/hooks/volley"
}))]
pub struct RunRequest {
    /// The scenario's id (its sha256).
    pub scenario: String,
    /// k6-style options laid over the scenario's own: `vus`, `duration`,
    /// `iterations`, `scenarios` (executors), `thresholds`, `env`, `tags`, ...
    #[serde(default)]
    #[schema(value_type = Option<RunOptions>)]
    pub options: Option<Json>,
    /// An `http://` or `https://` URL that receives the result (POST, JSON)
    /// when the run ends.
    #[serde(default)]
    #[schema(format = "uri")]
    pub webhook: Option<String>,
    /// Where the run's metrics also go while it runs, besides the server's
    /// own outputs (`volley serve --out`); at most 4.
    #[serde(default)]
    pub outputs: Vec<RunOutput>,
}

/// The one kind of output a run started over the API may have (files of
/// samples are for `volley run`; the server keeps every run's results).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum OutputKind {
    /// Prometheus remote write, as k6's output of that name.
    #[serde(rename = "experimental-prometheus-rw")]
    PrometheusRemoteWrite,
}

/// Prometheus remote write of one run, with the settings of `volley run --out
/// experimental-prometheus-rw` (k6's names; the server's environment is not
/// read). The run is labelled `testid=<run id>` unless its tags set a `testid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "type": "experimental-prometheus-rw",
    "url": "http://prometheus:9090/api/v1/write",
    "trendAsNativeHistogram": true
}))]
pub struct RunOutput {
    /// The output.
    #[serde(rename = "type")]
    pub kind: OutputKind,
    /// Where to push.
    #[schema(format = "uri")]
    pub url: String,
    /// How often, such as `5s` (the default).
    pub push_interval: Option<String>,
    /// Trends as native histograms (default false, as in k6); otherwise one
    /// gauge per statistic of `trendStats`.
    pub trend_as_native_histogram: Option<bool>,
    /// The statistics sent for trends that are not histograms (default `["p(99)"]`).
    pub trend_stats: Option<Vec<String>>,
    /// End every series with a stale marker when the run ends.
    pub stale_markers: Option<bool>,
    /// The prefix of every name (default `k6`).
    pub namespace: Option<String>,
    /// Accept any TLS certificate.
    #[serde(rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Headers sent with each push, such as `Authorization`. Their values are
    /// not shown back.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl RunOutput {
    /// The runtime's settings for this output.
    pub fn config(&self) -> Result<RemoteWriteConfig, String> {
        let mut settings = vec![("url", self.url.clone())];
        let mut add = |key: &'static str, value: Option<String>| {
            if let Some(value) = value {
                settings.push((key, value));
            }
        };
        add("pushInterval", self.push_interval.clone());
        add(
            "trendAsNativeHistogram",
            self.trend_as_native_histogram.map(|b| b.to_string()),
        );
        add("trendStats", self.trend_stats.as_ref().map(|s| s.join(",")));
        add("staleMarkers", self.stale_markers.map(|b| b.to_string()));
        add("namespace", self.namespace.clone());
        add(
            "insecureSkipTLSVerify",
            self.insecure_skip_tls_verify.map(|b| b.to_string()),
        );
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        RemoteWriteConfig::from_settings(&settings, &headers).map_err(|e| e.to_string())
    }

    /// This output with its header values hidden, to show.
    pub fn redacted(mut self) -> Self {
        for value in self.headers.values_mut() {
            *value = "(hidden)".into();
        }
        self
    }
}

/// k6-style run options, laid over the scenario's own `options()`. The
/// shortcuts `vus`/`duration`/`iterations` replace any `scenarios` below them.
/// (The server reads them with the runtime's own parser; this schema documents
/// them, and a test keeps the two in step.)
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunOptions {
    /// VUs of the shortcut load model.
    #[schema(minimum = 1, maximum = 100000)]
    pub vus: Option<u32>,
    /// How long the shortcut runs (`constant-vus`): `30s`, `1m30s`, `2h`, or
    /// a number of seconds.
    #[schema(value_type = Option<String>, example = "30s")]
    pub duration: Option<Json>,
    /// Iterations shared by the VUs (`shared-iterations`).
    #[schema(minimum = 1)]
    pub iterations: Option<u64>,
    /// Named load models, run side by side (each from its `startTime`).
    pub scenarios: Option<BTreeMap<String, ScenarioOptions>>,
    /// Pass/fail criteria per metric expression (`http_req_duration`,
    /// `http_req_duration{name:reserve}`, `checks`, ...).
    pub thresholds: Option<BTreeMap<String, Vec<ThresholdOption>>>,
    /// Environment variables the scenario reads with `vu.env`.
    pub env: Option<BTreeMap<String, String>>,
    /// Tags added to every sample of the run.
    pub tags: Option<BTreeMap<String, String>>,
    /// Accept any TLS certificate.
    #[serde(rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// The `User-Agent` of requests that set none.
    pub user_agent: Option<String>,
    /// Time limit of `setup` (default `60s`).
    #[schema(value_type = Option<String>)]
    pub setup_timeout: Option<Json>,
    /// Time limit of `teardown` (default `60s`).
    #[schema(value_type = Option<String>)]
    pub teardown_timeout: Option<Json>,
}

/// One load model of a run (k6's scenario): an executor and its settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioOptions {
    /// The load model.
    pub executor: ExecutorName,
    /// VUs (`constant-vus`, `per-vu-iterations`, `shared-iterations`), or VUs
    /// at the start (`externally-controlled`).
    pub vus: Option<u32>,
    /// VUs at the start (`ramping-vus`, default 1).
    #[serde(rename = "startVUs")]
    pub start_vus: Option<u32>,
    /// The ramps of `ramping-vus` (targets in VUs) or `ramping-arrival-rate`
    /// (targets in iterations per `timeUnit`), in order.
    pub stages: Option<Vec<StageOption>>,
    /// How long an iteration may finish once its VU is ramped down
    /// (`ramping-vus`, default `30s`).
    #[schema(value_type = Option<String>)]
    pub graceful_ramp_down: Option<Json>,
    /// Iterations started per `timeUnit` (`constant-arrival-rate`).
    pub rate: Option<u32>,
    /// Iterations started per `timeUnit` at the start (`ramping-arrival-rate`,
    /// default 0).
    pub start_rate: Option<u32>,
    /// The period the arrival rates count over (default `1s`).
    #[schema(value_type = Option<String>)]
    pub time_unit: Option<Json>,
    /// VUs instantiated before the start (the arrival-rate executors; required).
    #[serde(rename = "preAllocatedVUs")]
    pub pre_allocated_vus: Option<u32>,
    /// Most VUs (`externally-controlled`, default `vus`; the arrival-rate
    /// executors, default `preAllocatedVUs`).
    #[serde(rename = "maxVUs")]
    pub max_vus: Option<u32>,
    /// How long (`constant-vus`, `externally-controlled`, `constant-arrival-rate`).
    #[schema(value_type = Option<String>)]
    pub duration: Option<Json>,
    /// Iterations per VU (`per-vu-iterations`) or in all (`shared-iterations`).
    pub iterations: Option<u64>,
    /// Time limit of the iteration-count executors (default `10m`).
    #[schema(value_type = Option<String>)]
    pub max_duration: Option<Json>,
    /// The argument each iteration gets (default `default`).
    pub exec: Option<String>,
    /// When it starts, after the run's start.
    #[schema(value_type = Option<String>)]
    pub start_time: Option<Json>,
    /// How long in-flight iterations may finish after its end (default `30s`).
    #[schema(value_type = Option<String>)]
    pub graceful_stop: Option<Json>,
    /// Environment variables of this scenario (over the run's).
    pub env: Option<BTreeMap<String, String>>,
    /// Tags of this scenario's samples.
    pub tags: Option<BTreeMap<String, String>>,
}

/// One stage of `ramping-vus` or `ramping-arrival-rate`: a linear ramp to
/// `target` over `duration`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageOption {
    /// How long the ramp takes, such as `30s`.
    #[schema(value_type = String)]
    pub duration: Json,
    /// VUs (`ramping-vus`) or iterations per `timeUnit`
    /// (`ramping-arrival-rate`) at its end.
    pub target: u32,
}

/// The executors (load models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutorName {
    /// `vus` VUs loop for `duration`.
    ConstantVus,
    /// Each of `vus` VUs runs `iterations` iterations.
    PerVuIterations,
    /// `vus` VUs share `iterations` iterations.
    SharedIterations,
    /// VUs ramp from `startVUs` through `stages`.
    RampingVus,
    /// VUs loop for `duration`; how many run is changed with `PATCH /v1/runs/{id}`.
    ExternallyControlled,
    /// `rate` iterations start every `timeUnit` for `duration`, however slow the
    /// target; dropped (`dropped_iterations`) when all `maxVUs` are busy.
    ConstantArrivalRate,
    /// The arrival rate ramps from `startRate` through `stages`.
    RampingArrivalRate,
}

/// A threshold: `"p(95)<300"`, or an object with `abortOnFail`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ThresholdOption {
    /// The expression alone.
    Expression(String),
    /// The expression with its options.
    WithOptions {
        /// The expression, such as `p(95)<300` or `rate<0.01`.
        threshold: String,
        /// Stop the run when it fails.
        #[serde(rename = "abortOnFail")]
        abort_on_fail: Option<bool>,
        /// How long into the run before a failure may stop it.
        #[serde(rename = "delayAbortEval")]
        #[schema(value_type = Option<String>)]
        delay_abort_eval: Option<Json>,
    },
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a free slot (the server runs a limited number at once).
    Queued,
    /// Instantiating VUs, in setup, iterating or in teardown.
    Running,
    /// A stop was asked for; in-flight iterations get their graceful stop.
    Stopping,
    /// Ran to its end (thresholds may still have failed: see `thresholds_passed`).
    Finished,
    /// Could not run: a VU failed to instantiate, `setup` failed, ...
    Failed,
    /// Stopped before its end, by a user or by a threshold with `abortOnFail`.
    Aborted,
    /// The server stopped while the run was in flight; metrics up to then are kept.
    Interrupted,
}

impl RunStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Stopping => "stopping",
            RunStatus::Finished => "finished",
            RunStatus::Failed => "failed",
            RunStatus::Aborted => "aborted",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Parses a stored status.
    pub fn parse(text: &str) -> Option<Self> {
        [
            RunStatus::Queued,
            RunStatus::Running,
            RunStatus::Stopping,
            RunStatus::Finished,
            RunStatus::Failed,
            RunStatus::Aborted,
            RunStatus::Interrupted,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether the run is over (it will not change again).
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            RunStatus::Queued | RunStatus::Running | RunStatus::Stopping
        )
    }
}

/// Why a run was aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbortReason {
    /// `POST /v1/runs/{id}/stop`.
    User,
    /// A threshold with `abortOnFail` failed.
    Threshold,
}

/// The headline figures of a run so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunProgress {
    /// What the run is doing: `initializing`, `setup`, `running`, `stopping`,
    /// `teardown` or `done`.
    pub phase: String,
    /// VUs instantiated so far (while initializing; then all of them).
    pub vus_ready: u64,
    /// VUs running an iteration loop now.
    pub vus: u64,
    /// VUs instantiated.
    pub vus_max: u64,
    /// Seconds since the executors started.
    pub elapsed_seconds: f64,
    /// Seconds the executors are planned to run (without graceful stops).
    pub planned_seconds: f64,
    /// Requests sent.
    pub requests: u64,
    /// Requests that failed.
    pub failed_requests: u64,
    /// Iterations finished.
    pub iterations: u64,
    /// Iterations that failed.
    pub failed_iterations: u64,
}

/// One threshold's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ThresholdState {
    /// The metric expression, such as `http_req_duration{name:reserve}`.
    pub metric: String,
    /// The threshold as written, such as `p(95)<300`.
    pub threshold: String,
    /// Whether it holds (so far, while the run is live).
    pub ok: bool,
    /// The statistic's value, when the metric has samples.
    pub value: Option<f64>,
    /// Whether its failure stops the run.
    pub abort_on_fail: bool,
}

/// Where the end-of-run webhook stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookState {
    /// The URL.
    pub url: String,
    /// Whether a delivery got a 2xx answer.
    pub delivered: bool,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// A run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunInfo {
    /// The run's id.
    pub id: String,
    /// The scenario's id.
    pub scenario: String,
    /// Where the run is.
    pub status: RunStatus,
    /// When it was asked for (RFC 3339).
    pub created_at: String,
    /// When it left the queue.
    pub started_at: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
    /// The options as given in the request.
    #[schema(value_type = Object)]
    pub options: Json,
    /// Headline figures: live while running, the last ones after.
    pub progress: Option<RunProgress>,
    /// Whether every threshold holds: live while running, final after; null
    /// before any evaluation.
    pub thresholds_passed: Option<bool>,
    /// Each threshold's verdict.
    pub thresholds: Vec<ThresholdState>,
    /// Why the run was aborted.
    pub abort_reason: Option<AbortReason>,
    /// Why the run failed or was interrupted.
    pub error: Option<String>,
    /// The end-of-run webhook.
    pub webhook: Option<WebhookState>,
    /// The run's own outputs (header values hidden).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<RunOutput>,
}

/// A page of runs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunList {
    /// Newest first.
    pub runs: Vec<RunInfo>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Filters and paging of `GET /v1/runs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunListQuery {
    /// Only runs with this status.
    pub status: Option<RunStatus>,
    /// Only runs of this scenario.
    pub scenario: Option<String>,
    /// Runs per page, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]*$")]
    pub cursor: Option<String>,
}

/// A change to a live run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunPatch {
    /// VUs the `externally-controlled` scenario should run (0 to its `maxVUs`).
    pub vus: u32,
    /// Which externally-controlled scenario; needed only when the run has several.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub scenario: Option<String>,
}

/// Options of `GET /v1/runs/{id}/metrics`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// Also split each metric by the values of this tag, such as `name`,
    /// `status`, `method`, `scenario` or `check`.
    pub by: Option<String>,
}

/// A metric's statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricView {
    /// `counter`, `gauge`, `rate` or `trend`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What values measure: `default`, `time` (milliseconds) or `data` (bytes).
    pub contains: String,
    /// k6's statistics: `count`/`rate` for counters; `avg`, `min`, `med`,
    /// `max`, `p(90)`, `p(95)`, `p(99)`, `count` for trends; `passes`/`fails`/
    /// `value` for rates; `value`/`min`/`max` for gauges.
    pub values: BTreeMap<String, f64>,
    /// With `?by=TAG`: the same statistics per value of that tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<BTreeMap<String, BTreeMap<String, f64>>>,
}

/// Every metric of a run at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricsSnapshot {
    /// The run.
    pub run: String,
    /// The run's status when the snapshot was taken.
    pub status: RunStatus,
    /// Seconds since the executors started.
    pub elapsed_seconds: f64,
    /// Per metric name.
    pub metrics: BTreeMap<String, MetricView>,
}

/// Latency statistics of one second, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LatencyWindow {
    /// Requests timed in the second.
    pub count: u64,
    /// Mean.
    pub avg: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// One Server-Sent Event of a metrics stream (its `event:` and `data:` lines).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StreamEvent {
    /// `snapshot`, once a second, or `end`, once, last.
    pub event: StreamEventName,
    /// JSON text: a `MetricsSnapshot` for `snapshot`, the `RunInfo` for `end`.
    #[schema(content_media_type = "application/json")]
    pub data: String,
}

/// The kinds of metrics stream events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamEventName {
    /// Data: a `MetricsSnapshot`.
    Snapshot,
    /// Data: the `RunInfo`; the stream closes after it.
    End,
}

/// One second of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimeseriesPoint {
    /// Seconds since the run started, at the end of this second.
    pub t: f64,
    /// VUs running at the end of the second.
    pub vus: u64,
    /// Requests that finished in this second.
    pub requests: u64,
    /// Requests that failed in this second.
    pub failed_requests: u64,
    /// Iterations that finished in this second.
    pub iterations: u64,
    /// Requests per second (the last, partial second of a run counts as a
    /// whole one).
    pub requests_per_second: f64,
    /// Failed requests per second.
    pub failed_requests_per_second: f64,
    /// Iterations per second.
    pub iterations_per_second: f64,
    /// Failed iterations per second.
    pub failed_iterations_per_second: f64,
    /// `http_req_duration` of the requests that finished in this second.
    pub http_req_duration: LatencyWindow,
    /// Checks that passed in this second (absent from series recorded by
    /// older versions).
    #[serde(default)]
    pub checks_passed: u64,
    /// Checks that failed in this second.
    #[serde(default)]
    pub checks_failed: u64,
}

/// A run's per-second series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Timeseries {
    /// The run.
    pub run: String,
    /// One point per second, oldest first.
    pub points: Vec<TimeseriesPoint>,
}

/// The result of a finished (or aborted) run: k6's `--summary-export` JSON
/// (`root_group`, `metrics`, `state`), the same as `volley run
/// --summary-export` writes, plus the verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunResults {
    /// k6's `root_group` (checks).
    #[schema(value_type = Object)]
    pub root_group: Json,
    /// k6's `metrics`: each metric's statistics, and each threshold under it
    /// as k6 writes it (`true` meaning failed).
    #[schema(value_type = Object)]
    pub metrics: Json,
    /// k6's `state` (`testRunDurationMs`).
    #[schema(value_type = Object)]
    pub state: Json,
    /// Volley's failure breakdowns (`request_failures`, `iteration_failures`).
    #[schema(value_type = Object)]
    pub volley: Json,
    /// Whether every threshold held.
    pub thresholds_passed: bool,
    /// Each threshold's verdict.
    pub thresholds: Vec<ThresholdState>,
    /// Each check's passes and fails.
    pub checks: Vec<CheckResult>,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckResult {
    /// The path of the group it ran in, such as `::book::pay` (empty outside
    /// groups).
    pub group: String,
    /// The check's name.
    pub name: String,
    /// Times it held.
    pub passes: u64,
    /// Times it failed.
    pub fails: u64,
}

/// One message of a run's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogLine {
    /// Milliseconds since the run started.
    pub elapsed_ms: f64,
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The VU that logged it (0 for Volley itself: failed iterations, replaced VUs, ...).
    pub vu: u32,
    /// The message.
    pub message: String,
}

/// A run's log: the scenario's `log` calls and Volley's own notes about the
/// run (the newest 1,000 messages).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunLogs {
    /// The run.
    pub run: String,
    /// Oldest first.
    pub entries: Vec<LogLine>,
    /// Messages dropped because VUs logged faster than the rate limit.
    pub dropped: u64,
}

/// What `GET /healthz` answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// Volley's version.
    pub version: String,
    /// Runs executing now.
    pub runs_active: usize,
    /// Runs waiting in the queue.
    pub runs_queued: usize,
}

/// The JSON body of the end-of-run webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookPayload {
    /// Always `run.ended`.
    pub event: String,
    /// The run as `GET /v1/runs/{id}` shows it.
    pub run: RunInfo,
    /// The results, when the run produced a summary.
    pub results: Option<RunResults>,
}
