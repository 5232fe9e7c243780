//! The HTML report of a run: one self-contained file with the run's facts,
//! per-second charts, thresholds, checks and metrics summary. The dashboard's
//! stylesheet and chart code are inlined, so it opens from disk with no
//! network. `volley run --report FILE` writes it; `GET /v1/runs/{id}/report`
//! serves it.

use serde::Serialize;
use serde_json::Value as Json;
use volley_runtime::options::Options;
use volley_runtime::run::RunReport;
use volley_runtime::scenario::Scenario;

use crate::server::models::{
    AbortReason, MetricsSnapshot, RunInfo, RunProgress, RunStatus, Timeseries, TimeseriesPoint,
};
use crate::server::now;
use crate::server::views::{SplitBy, metric_views, results_of, threshold_states};
use crate::server::web::{CHART_JS, RUNVIEW_JS, STYLE_CSS};

const TEMPLATE: &str = include_str!("server/web/report.html");

/// What a report shows; each part has the JSON shape of the API's answer.
#[derive(Debug, Serialize)]
pub struct ReportData {
    /// The run (`GET /v1/runs/{id}`).
    pub run: Json,
    /// Its results (`GET /v1/runs/{id}/results`), if it produced any.
    pub results: Option<Json>,
    /// Its per-second series (`GET /v1/runs/{id}/timeseries`).
    pub timeseries: Json,
    /// Its scenario (`GET /v1/scenarios/{id}`), for the name.
    pub scenario: Option<Json>,
    /// Its metrics with their types and units (`GET /v1/runs/{id}/metrics`).
    pub metrics: Option<Json>,
    /// When the report was made (RFC 3339).
    pub generated_at: String,
}

/// The report's HTML.
pub fn render(data: &ReportData) -> String {
    // Inside a <script>, "<" could close it ("</script>" in an error message).
    let json = serde_json::to_string(data)
        .expect("report data serializes")
        .replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    TEMPLATE
        .replacen("/*VOLLEY_STYLE_CSS*/", STYLE_CSS, 1)
        .replacen("/*VOLLEY_CHART_JS*/", CHART_JS, 1)
        .replacen("/*VOLLEY_RUNVIEW_JS*/", RUNVIEW_JS, 1)
        .replacen("/*VOLLEY_REPORT_DATA*/null", &json, 1)
}

/// What `volley run` records for its report while the run lasts.
pub struct Recorded {
    /// One point per second.
    pub points: Vec<TimeseriesPoint>,
    /// The headline figures at the end.
    pub progress: RunProgress,
}

/// A run of `volley run`, described for its report as the API describes runs.
pub struct LocalRun<'a> {
    /// The scenario run.
    pub scenario: &'a Scenario,
    /// Its name (the file's).
    pub name: &'a str,
    /// The options it ran with.
    pub options: &'a Options,
    /// When it started (RFC 3339).
    pub started_at: String,
}

impl LocalRun<'_> {
    /// The HTML report of this run, which ended with `report`.
    pub fn report(&self, report: &RunReport, recorded: Recorded) -> String {
        let thresholds = threshold_states(&report.thresholds);
        let (status, abort_reason) = if report.aborted_by_threshold {
            (RunStatus::Aborted, Some(AbortReason::Threshold))
        } else if report.stopped {
            (RunStatus::Aborted, Some(AbortReason::User))
        } else {
            (RunStatus::Finished, None)
        };
        let id = format!("local-{}", &self.scenario.sha256()[..12]);
        let seconds = recorded.progress.elapsed_seconds;
        let run = RunInfo {
            id: id.clone(),
            scenario: self.scenario.sha256().to_owned(),
            status,
            created_at: self.started_at.clone(),
            started_at: Some(self.started_at.clone()),
            ended_at: Some(now()),
            options: serde_json::to_value(self.options).unwrap_or_default(),
            progress: Some(recorded.progress),
            thresholds_passed: Some(report.thresholds_passed()),
            thresholds: thresholds.clone(),
            abort_reason,
            error: None,
            webhook: None,
            outputs: Vec::new(),
        };
        let metrics = MetricsSnapshot {
            run: id.clone(),
            status,
            elapsed_seconds: seconds,
            metrics: metric_views(&report.snapshot, seconds, SplitBy::Nothing),
        };
        render(&ReportData {
            run: to_json(&run),
            results: Some(to_json(&results_of(report, thresholds))),
            timeseries: to_json(&Timeseries {
                run: id,
                points: recorded.points,
            }),
            scenario: Some(serde_json::json!({"id": self.scenario.sha256(), "name": self.name})),
            metrics: Some(to_json(&metrics)),
            generated_at: now(),
        })
    }
}

fn to_json<T: Serialize>(value: &T) -> Json {
    serde_json::to_value(value).expect("API models serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_cannot_close_the_script() {
        let html = render(&ReportData {
            run: serde_json::json!({"id": "run_1", "error": "</script><script>alert(1)</script>"}),
            results: None,
            timeseries: serde_json::json!({"run": "run_1", "points": []}),
            scenario: None,
            metrics: None,
            generated_at: "2026-11-25T10:00:00Z".into(),
        });
        assert!(!html.contains("</script><script>alert"));
        assert!(html.contains(r"\u003c/script>\u003cscript>alert(1)"));
        for placeholder in [
            "VOLLEY_STYLE_CSS*/",
            "VOLLEY_CHART_JS*/",
            "VOLLEY_RUNVIEW_JS*/",
            "VOLLEY_REPORT_DATA*/",
        ] {
            assert!(
                !html.contains(&format!("/*{placeholder}")),
                "{placeholder} left"
            );
        }
        // The assets are inlined: nothing is loaded from elsewhere.
        assert!(!html.contains("src=\"") && !html.contains("href=\"/"));
    }
}
