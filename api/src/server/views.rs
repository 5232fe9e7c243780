//! What the API shows of a run, made from the runtime's types: its progress,
//! threshold verdicts, metrics as statistics (optionally split by a tag), one
//! second of its time series, its log and its results.

use std::collections::BTreeMap;

use volley_runtime::metrics::{MetricSummary, Progress, Snapshot, TagSet, Trend, Value};
use volley_runtime::run::{Phase, RunHandle, RunReport};
use volley_runtime::thresholds::ThresholdResult;

use super::models::{
    CheckResult, LatencyWindow, LogLine, MetricView, RunLogs, RunProgress, RunResults,
    ThresholdState, TimeseriesPoint,
};

/// Most values of one tag kept per metric when splitting by that tag (a tag
/// such as `url` can take a value per request).
const MAX_TAG_VALUES: usize = 200;

/// Which tags to split each metric by.
pub enum SplitBy<'a> {
    /// None: totals only.
    Nothing,
    /// One tag.
    Tag(&'a str),
    /// Every tag the metric has (what is stored at the end of a run).
    Every,
}

/// Statistics of every metric in `snapshot`, over `seconds` of run time.
/// With [`SplitBy::Every`], `by` maps `tag=value` to statistics.
pub fn metric_views(
    snapshot: &Snapshot,
    seconds: f64,
    split: SplitBy<'_>,
) -> BTreeMap<String, MetricView> {
    let mut views = BTreeMap::new();
    for name in snapshot.metric_names() {
        let Some((info, value)) = snapshot.aggregate(name, &TagSet::empty()) else {
            continue;
        };
        let stats = |value: &Value| -> BTreeMap<String, f64> {
            MetricSummary::from_value(info.kind, info.value_type, value, seconds)
                .values
                .into_iter()
                .filter(|(_, v)| v.is_finite())
                .collect()
        };
        let keys: Vec<String> = match split {
            SplitBy::Nothing => Vec::new(),
            SplitBy::Tag(key) => vec![key.to_owned()],
            SplitBy::Every => tag_keys(snapshot, name),
        };
        let by = (!matches!(split, SplitBy::Nothing)).then(|| {
            let mut by = BTreeMap::new();
            for key in &keys {
                for tag_value in snapshot
                    .tag_values(name, key)
                    .into_iter()
                    .take(MAX_TAG_VALUES)
                {
                    let filter = TagSet::new([(key.as_str(), tag_value.as_str())]);
                    if let Some((_, value)) = snapshot.aggregate(name, &filter) {
                        let label = match split {
                            SplitBy::Every => format!("{key}={tag_value}"),
                            _ => tag_value,
                        };
                        by.insert(label, stats(&value));
                    }
                }
            }
            by
        });
        views.insert(
            name.to_owned(),
            MetricView {
                kind: json_name(&info.kind),
                contains: json_name(&info.value_type),
                values: stats(&value),
                by,
            },
        );
    }
    views
}

/// Narrows views stored with [`SplitBy::Every`] to one tag, or to totals.
pub fn narrow(
    mut views: BTreeMap<String, MetricView>,
    by: Option<&str>,
) -> BTreeMap<String, MetricView> {
    for view in views.values_mut() {
        view.by = match (by, view.by.take()) {
            (Some(key), Some(all)) => {
                let prefix = format!("{key}=");
                Some(
                    all.into_iter()
                        .filter_map(|(label, stats)| {
                            label.strip_prefix(&prefix).map(|v| (v.to_owned(), stats))
                        })
                        .collect(),
                )
            }
            (Some(_), None) => Some(BTreeMap::new()),
            (None, _) => None,
        };
    }
    views
}

fn tag_keys(snapshot: &Snapshot, name: &str) -> Vec<String> {
    let mut keys: Vec<String> = snapshot
        .series
        .iter()
        .filter(|s| s.metric.name.as_ref() == name)
        .flat_map(|s| s.tags.iter().map(|(k, _)| k.to_owned()).collect::<Vec<_>>())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn json_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Builds the time series one second at a time from successive snapshots.
#[derive(Default)]
pub struct SeriesBuilder {
    previous: Progress,
    previous_latency: Trend,
    previous_seconds: f64,
    /// Checks so far: (passed, all).
    previous_checks: (u64, u64),
}

impl SeriesBuilder {
    /// The point for the time since the previous call, from `snapshot` taken
    /// `seconds` into the run.
    pub fn point(&mut self, snapshot: &Snapshot, seconds: f64) -> TimeseriesPoint {
        let latency = match snapshot.aggregate("http_req_duration", &TagSet::empty()) {
            Some((_, Value::Trend(trend))) => *trend,
            _ => Trend::default(),
        };
        let window = latency.since(&self.previous_latency);
        let checks = match snapshot.aggregate("checks", &TagSet::empty()) {
            Some((_, Value::Rate { trues, total })) => (trues, total),
            _ => (0, 0),
        };
        let passed = checks.0.saturating_sub(self.previous_checks.0);
        let all = checks.1.saturating_sub(self.previous_checks.1);
        // A run's last window may be a fraction of a second: it counts as a
        // whole second, so a few requests do not show as a spike in rate.
        let span = (seconds - self.previous_seconds).max(1.0);
        let now = snapshot.progress;
        let per_second = |now: u64, before: u64| now.saturating_sub(before) as f64 / span;
        let point = TimeseriesPoint {
            t: seconds,
            vus: now.vus,
            requests: now.requests.saturating_sub(self.previous.requests),
            failed_requests: now
                .failed_requests
                .saturating_sub(self.previous.failed_requests),
            iterations: now.iterations.saturating_sub(self.previous.iterations),
            requests_per_second: per_second(now.requests, self.previous.requests),
            failed_requests_per_second: per_second(
                now.failed_requests,
                self.previous.failed_requests,
            ),
            iterations_per_second: per_second(now.iterations, self.previous.iterations),
            failed_iterations_per_second: per_second(
                now.failed_iterations,
                self.previous.failed_iterations,
            ),
            http_req_duration: LatencyWindow {
                count: window.count(),
                avg: window.avg(),
                p50: window.percentile(50.0),
                p90: window.percentile(90.0),
                p95: window.percentile(95.0),
                p99: window.percentile(99.0),
                max: window.max(),
            },
            checks_passed: passed,
            checks_failed: all.saturating_sub(passed),
        };
        self.previous_checks = checks;
        self.previous = now;
        self.previous_latency = latency;
        self.previous_seconds = seconds;
        point
    }
}

/// The headline figures of a run now.
pub fn progress_of(handle: &RunHandle) -> RunProgress {
    let progress = handle.progress();
    let (phase, vus_ready) = match handle.phase() {
        Phase::Initializing { ready, .. } => ("initializing", u64::from(ready)),
        Phase::Setup => ("setup", progress.vus_max),
        Phase::Running => ("running", progress.vus_max),
        Phase::Stopping => ("stopping", progress.vus_max),
        Phase::Teardown => ("teardown", progress.vus_max),
        Phase::Done => ("done", progress.vus_max),
    };
    RunProgress {
        phase: phase.into(),
        vus_ready,
        vus: progress.vus,
        vus_max: progress.vus_max,
        elapsed_seconds: handle.executing_for().as_secs_f64(),
        planned_seconds: handle.plan().planned_duration().as_secs_f64(),
        requests: progress.requests,
        failed_requests: progress.failed_requests,
        iterations: progress.iterations,
        failed_iterations: progress.failed_iterations,
    }
}

/// The run's log now.
pub fn logs_of(id: &str, handle: &RunHandle) -> RunLogs {
    let (entries, dropped) = handle.log();
    RunLogs {
        run: id.to_owned(),
        entries: entries
            .into_iter()
            .map(|e| LogLine {
                elapsed_ms: e.elapsed.as_secs_f64() * 1000.0,
                level: e.level.to_owned(),
                vu: e.vu,
                message: e.message,
            })
            .collect(),
        dropped,
    }
}

/// The threshold verdicts as the API shows them.
pub fn threshold_states(results: &[ThresholdResult]) -> Vec<ThresholdState> {
    results
        .iter()
        .map(|t| ThresholdState {
            metric: t.metric.clone(),
            threshold: t.threshold.clone(),
            ok: t.ok,
            value: t.value,
            abort_on_fail: t.abort_on_fail,
        })
        .collect()
}

/// A finished run's results: the summary export plus the verdicts and checks.
pub fn results_of(report: &RunReport, thresholds: Vec<ThresholdState>) -> RunResults {
    let mut export = crate::export::export_json(report);
    let mut take = |key: &str| {
        export
            .get_mut(key)
            .map(serde_json::Value::take)
            .unwrap_or_default()
    };
    RunResults {
        root_group: take("root_group"),
        metrics: take("metrics"),
        state: take("state"),
        volley: take("volley"),
        thresholds_passed: report.thresholds_passed(),
        thresholds,
        checks: report
            .summary
            .checks
            .iter()
            .map(|c| CheckResult {
                group: c.group.clone(),
                name: c.name.clone(),
                passes: c.passes,
                fails: c.fails,
            })
            .collect(),
    }
}
