//! `GET /metrics`: the server and every run executing now, in Prometheus's
//! text exposition format, for a Prometheus that scrapes Volley. A run's
//! series carry k6's names (as remote write sends them) with `run_id` and
//! `testid` labels; trends are summaries (p50, p90, p95, p99, sum, count)
//! since the run began.

use std::collections::BTreeMap;
use std::fmt::Write;

use volley_runtime::metrics::Snapshot;
use volley_runtime::output::prometheus::{self, Labels, Point, Trends};

/// The quantiles a trend's summary shows.
const QUANTILES: [f64; 4] = [0.5, 0.9, 0.95, 0.99];

/// What the server says about itself.
pub struct ServerFigures {
    /// Runs stored, by status.
    pub runs: Vec<(String, u64)>,
    /// Runs executing now.
    pub runs_active: usize,
    /// Scenarios stored.
    pub scenarios: u64,
    /// Seconds since the Unix epoch when the server started.
    pub start_time_seconds: f64,
}

/// One metric family: its type, help and sample lines.
#[derive(Default)]
struct Family {
    kind: &'static str,
    help: String,
    lines: Vec<String>,
}

/// The exposition of `server` and of `runs` (run id, testid, metrics).
pub fn render(server: &ServerFigures, runs: &[(String, String, Snapshot)]) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut add = |name: &str, kind: &'static str, help: &str, line: String| {
        let family = families.entry(name.to_owned()).or_default();
        family.kind = kind;
        family.help = help.to_owned();
        family.lines.push(line);
    };
    add(
        "volley_build_info",
        "gauge",
        "Volley's version.",
        format!(
            "volley_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        ),
    );
    add(
        "volley_start_time_seconds",
        "gauge",
        "When the server started, in seconds since the Unix epoch.",
        format!("volley_start_time_seconds {}", server.start_time_seconds),
    );
    add(
        "volley_runs_active",
        "gauge",
        "Runs executing now.",
        format!("volley_runs_active {}", server.runs_active),
    );
    add(
        "volley_scenarios",
        "gauge",
        "Scenarios stored.",
        format!("volley_scenarios {}", server.scenarios),
    );
    for (status, count) in &server.runs {
        add(
            "volley_runs",
            "gauge",
            "Runs stored, by status.",
            format!("volley_runs{{status=\"{}\"}} {count}", escape(status)),
        );
    }
    for (run_id, testid, snapshot) in runs {
        let labels = BTreeMap::from([
            ("run_id".to_owned(), run_id.clone()),
            ("testid".to_owned(), testid.clone()),
        ]);
        for (labels, point) in prometheus::series(snapshot, "k6", Trends::Histograms, &labels) {
            let (name, labels) = split_name(labels);
            match point {
                Point::Counter(value) => add(
                    &name,
                    "counter",
                    "A k6 counter of a run, since it began.",
                    sample(&name, &labels, None, value),
                ),
                Point::Gauge(value) => add(
                    &name,
                    "gauge",
                    "A k6 gauge or rate of a run.",
                    sample(&name, &labels, None, value),
                ),
                Point::Histogram { trend, scale } => {
                    let help = "A k6 trend of a run, since it began.";
                    for q in QUANTILES {
                        let value = trend.percentile(q * 100.0) * scale;
                        add(
                            &name,
                            "summary",
                            help,
                            sample(&name, &labels, Some(q), value),
                        );
                    }
                    let sum = format!("{name}_sum");
                    add(
                        &name,
                        "summary",
                        help,
                        sample(&sum, &labels, None, trend.sum() * scale),
                    );
                    let count = format!("{name}_count");
                    add(
                        &name,
                        "summary",
                        help,
                        sample(&count, &labels, None, trend.count() as f64),
                    );
                }
            }
        }
    }
    let mut text = String::new();
    for (name, family) in families {
        let _ = writeln!(text, "# HELP {name} {}", family.help);
        let _ = writeln!(text, "# TYPE {name} {}", family.kind);
        for line in family.lines {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

/// `labels` without `__name__`, and the name.
fn split_name(labels: Labels) -> (String, Labels) {
    let mut name = String::new();
    let rest = labels
        .into_iter()
        .filter_map(|(key, value)| {
            if key == "__name__" {
                name = value;
                None
            } else {
                Some((key, value))
            }
        })
        .collect();
    (name, rest)
}

/// One sample line: `name{labels,quantile="q"} value`.
fn sample(name: &str, labels: &Labels, quantile: Option<f64>, value: f64) -> String {
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(key, value)| format!("{key}=\"{}\"", escape(value)))
        .collect();
    if let Some(q) = quantile {
        pairs.push(format!("quantile=\"{q}\""));
    }
    format!("{name}{{{}}} {}", pairs.join(","), number(value))
}

/// A value as the format writes it (`+Inf`, `NaN`).
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        value.to_string()
    }
}

/// A label value escaped: backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use volley_runtime::metrics::{Metrics, Sample, TagSet, builtin};

    #[test]
    fn runs_and_the_server_become_families() {
        let metrics = Metrics::new();
        let tags = TagSet::new([("name", "say \"hi\"\n"), ("status", "200")]);
        for value in [10.0, 20.0, 30.0] {
            metrics.record(
                0,
                &[
                    Sample {
                        metric: builtin::HTTP_REQS,
                        tags: tags.clone(),
                        value: 1.0,
                    },
                    Sample {
                        metric: builtin::HTTP_REQ_DURATION,
                        tags: tags.clone(),
                        value,
                    },
                ],
            );
        }
        let server = ServerFigures {
            runs: vec![("finished".into(), 2)],
            runs_active: 1,
            scenarios: 3,
            start_time_seconds: 1.5,
        };
        let runs = vec![("run_1".into(), "t1".into(), metrics.snapshot())];
        let text = render(&server, &runs);
        let labels = r#"name="say \"hi\"\n",run_id="run_1",status="200",testid="t1""#;
        for line in [
            "# TYPE k6_http_reqs_total counter",
            &format!("k6_http_reqs_total{{{labels}}} 3"),
            "# TYPE k6_http_req_duration_seconds summary",
            &format!("k6_http_req_duration_seconds{{{labels},quantile=\"0.99\"}} 0.03"),
            &format!("k6_http_req_duration_seconds_sum{{{labels}}} 0.06"),
            &format!("k6_http_req_duration_seconds_count{{{labels}}} 3"),
            "volley_runs{status=\"finished\"} 2",
            "volley_runs_active 1",
            "volley_scenarios 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        // Each family's TYPE comes once, before its samples.
        assert_eq!(
            text.matches("# TYPE k6_http_req_duration_seconds ").count(),
            1
        );
    }
}
