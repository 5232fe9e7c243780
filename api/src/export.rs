//! The end-of-run summary as JSON, in k6's `--summary-export` shape: written by
//! `volley run --summary-export` and served as a run's results by the API.

use volley_runtime::run::RunReport;

/// The k6 summary export, with each metric's thresholds as k6 writes them
/// (`{"p(95)<300": false}`, true meaning the threshold failed).
pub fn export_json(report: &RunReport) -> serde_json::Value {
    let mut json = report.summary.to_k6_json();
    for t in &report.thresholds {
        let entry = json["metrics"]
            .as_object_mut()
            .expect("metrics is an object")
            .entry(t.metric.clone())
            .or_insert_with(|| serde_json::json!({}));
        entry["thresholds"][&t.threshold] = serde_json::Value::Bool(!t.ok);
    }
    json
}
