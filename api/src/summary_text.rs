//! The end-of-test summary as k6 prints it in a terminal.

use std::fmt::Write;
use std::time::Duration;

use volley_runtime::metrics::{
    CheckSummary, MetricKind, MetricSummary, Summary, TagSet, ValueType,
};
use volley_runtime::options::RunPlan;
use volley_runtime::run::RunReport;

/// Width of the dotted metric-name column.
const NAME_WIDTH: usize = 40;

/// The metrics a breakdown by tag shows, when they have samples.
const BREAKDOWN_METRICS: [&str; 7] = [
    "checks",
    "dropped_iterations",
    "http_req_duration",
    "http_req_failed",
    "http_reqs",
    "iteration_duration",
    "iterations",
];
/// The most values of one tag a breakdown lists.
const BREAKDOWN_VALUES: usize = 50;

/// Renders the summary of `report` for `plan`, with a breakdown of the main
/// metrics by each tag of `by` (and by scenario when the run has several).
pub fn render(plan: &RunPlan, report: &RunReport, by: &[String]) -> String {
    let mut out = String::new();
    let summary = &report.summary;
    let _ = writeln!(out);
    render_scenarios(&mut out, plan);
    if !report.thresholds.is_empty() {
        let _ = writeln!(out, "\n  THRESHOLDS");
        let mut last_metric = "";
        for t in &report.thresholds {
            if t.metric != last_metric {
                let _ = writeln!(out, "\n    {}", t.metric);
                last_metric = &t.metric;
            }
            let mark = if t.ok { "✓" } else { "✗" };
            let value = t.value.map_or_else(
                || "no samples".to_owned(),
                |v| format_for_threshold(&t.threshold, &t.metric, v, summary),
            );
            let _ = writeln!(out, "    {mark} '{}' {value}", t.threshold);
        }
    }
    if !summary.checks.is_empty() {
        render_checks(&mut out, &summary.checks);
    }
    let _ = writeln!(out);
    for (name, metric) in &summary.metrics {
        let indent = if name.contains('{') {
            "       "
        } else {
            "     "
        };
        write_metric(
            &mut out,
            indent,
            name,
            NAME_WIDTH - 1,
            metric,
            summary.duration,
        );
    }
    let mut breakdowns: Vec<&str> = by.iter().map(String::as_str).collect();
    if plan.scenarios.len() > 1 && !breakdowns.contains(&"scenario") {
        breakdowns.insert(0, "scenario");
    }
    for tag in breakdowns {
        render_breakdown(&mut out, report, tag);
    }
    if !summary.request_failures.is_empty() {
        let causes: Vec<String> = summary
            .request_failures
            .iter()
            .map(|(cause, n)| format!("{cause}: {n}"))
            .collect();
        let _ = writeln!(
            out,
            "\n     failed requests by cause: {}",
            causes.join(", ")
        );
    }
    if !summary.iteration_failures.is_empty() {
        let reasons: Vec<String> = summary
            .iteration_failures
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        let _ = writeln!(
            out,
            "     failed iterations by reason: {}",
            reasons.join(", ")
        );
    }
    if let Some(error) = &report.teardown_error {
        let _ = writeln!(out, "\n     teardown failed: {error}");
    }
    if report.log_dropped > 0 {
        let _ = writeln!(
            out,
            "     {} log messages dropped by the rate limit",
            report.log_dropped
        );
    }
    if report.aborted_by_threshold {
        let _ = writeln!(
            out,
            "\n     run aborted: a threshold with abortOnFail failed"
        );
    } else if report.stopped {
        let _ = writeln!(out, "\n     run stopped before its end");
    }
    out
}

/// Writes one metric's line: `indent`, its name dotted out to `width`
/// characters, then its statistics.
fn write_metric(
    out: &mut String,
    indent: &str,
    name: &str,
    width: usize,
    metric: &MetricSummary,
    duration: Duration,
) {
    let dots = ".".repeat(width.saturating_sub(name.chars().count()));
    let _ = writeln!(
        out,
        "{indent}{name}{dots}: {}",
        metric_line(metric, duration)
    );
}

/// The main metrics for each value of `tag`, under a heading per value.
fn render_breakdown(out: &mut String, report: &RunReport, tag: &str) {
    let snapshot = &report.snapshot;
    let mut values: Vec<String> = BREAKDOWN_METRICS
        .iter()
        .flat_map(|metric| snapshot.tag_values(metric, tag))
        .collect();
    values.sort();
    values.dedup();
    let _ = writeln!(out, "\n     BY {}", tag.to_uppercase());
    if values.is_empty() {
        let _ = writeln!(out, "\n       no samples are tagged {tag}");
        return;
    }
    let secs = report.summary.duration.as_secs_f64();
    for value in values.iter().take(BREAKDOWN_VALUES) {
        let _ = writeln!(out, "\n     {tag}:{value}");
        let filter = TagSet::new([(tag, value.as_str())]);
        for name in BREAKDOWN_METRICS {
            if let Some((info, series)) = snapshot.aggregate(name, &filter) {
                let metric = MetricSummary::from_value(info.kind, info.value_type, &series, secs);
                let duration = report.summary.duration;
                write_metric(out, "       ", name, NAME_WIDTH - 3, &metric, duration);
            }
        }
    }
    if values.len() > BREAKDOWN_VALUES {
        let _ = writeln!(
            out,
            "\n     ... and {} more values of {tag}",
            values.len() - BREAKDOWN_VALUES
        );
    }
}

/// The checks, under headings for the groups they ran in, as k6 shows them.
fn render_checks(out: &mut String, checks: &[CheckSummary]) {
    let _ = writeln!(out);
    let mut open: Vec<&str> = Vec::new();
    for check in checks {
        let groups: Vec<&str> = check.group.split("::").filter(|g| !g.is_empty()).collect();
        let shared = open.iter().zip(&groups).take_while(|(a, b)| a == b).count();
        for (depth, name) in groups.iter().enumerate().skip(shared) {
            let _ = writeln!(out, "\n     {}█ {name}\n", "  ".repeat(depth));
        }
        open = groups;
        let indent = "  ".repeat(open.len());
        let total = check.passes + check.fails;
        if check.fails == 0 {
            let _ = writeln!(out, "     {indent}✓ {}", check.name);
        } else {
            let _ = writeln!(
                out,
                "     {indent}✗ {}\n      {indent}↳  {:.0}% — ✓ {} / ✗ {}",
                check.name,
                check.passes as f64 * 100.0 / total as f64,
                check.passes,
                check.fails
            );
        }
    }
}

fn render_scenarios(out: &mut String, plan: &RunPlan) {
    let count = plan.scenarios.len();
    let _ = writeln!(
        out,
        "     scenarios: {count} scenario{}, {} max VUs, {} max duration (incl. graceful stop):",
        if count == 1 { "" } else { "s" },
        plan.max_vus(),
        volley_runtime::duration::format(plan.max_duration()),
    );
    for s in &plan.scenarios {
        use volley_runtime::executor::ExecutorConfig::*;
        let what = match &s.executor {
            ConstantVus { vus, duration } => format!(
                "{vus} looping VUs for {}",
                volley_runtime::duration::format(*duration)
            ),
            PerVuIterations {
                vus,
                iterations,
                max_duration,
            } => format!(
                "{iterations} iterations for each of {vus} VUs (maxDuration: {})",
                volley_runtime::duration::format(*max_duration)
            ),
            SharedIterations {
                vus,
                iterations,
                max_duration,
            } => format!(
                "{iterations} iterations shared among {vus} VUs (maxDuration: {})",
                volley_runtime::duration::format(*max_duration)
            ),
            RampingVus {
                start_vus,
                stages,
                graceful_ramp_down,
            } => format!(
                "up to {} looping VUs for {} over {} stages (startVUs: {start_vus}, gracefulRampDown: {})",
                s.executor.max_vus(),
                volley_runtime::duration::format(s.executor.max_duration()),
                stages.len(),
                volley_runtime::duration::format(*graceful_ramp_down)
            ),
            ExternallyControlled { vus, duration, .. } => format!(
                "up to {} looping VUs ({vus} at start) for {}, controlled externally",
                s.executor.max_vus(),
                volley_runtime::duration::format(*duration)
            ),
            ConstantArrivalRate {
                rate,
                time_unit,
                duration,
                ..
            } => format!(
                "{} for {} ({})",
                arrival_rate(*rate, *time_unit),
                volley_runtime::duration::format(*duration),
                vus_range(&s.executor)
            ),
            RampingArrivalRate {
                start_rate,
                time_unit,
                stages,
                ..
            } => format!(
                "up to {} for {} over {} stages (startRate: {start_rate}, {})",
                arrival_rate(
                    volley_runtime::executor::Stage::peak(*start_rate, stages),
                    *time_unit
                ),
                volley_runtime::duration::format(s.executor.max_duration()),
                stages.len(),
                vus_range(&s.executor)
            ),
        };
        let _ = writeln!(
            out,
            "              * {}: {what} (exec: {}, gracefulStop: {})",
            s.name,
            s.exec,
            volley_runtime::duration::format(s.graceful_stop)
        );
    }
    if plan.scenarios.iter().any(|s| s.executor.is_open_model()) {
        let _ = writeln!(
            out,
            "              (arrival-rate scenarios: iteration_duration counts from each iteration's scheduled start)"
        );
    }
}

/// An arrival rate as k6 shows it: iterations per second.
fn arrival_rate(rate: u32, time_unit: Duration) -> String {
    format!(
        "{:.2} iterations/s",
        f64::from(rate) / time_unit.as_secs_f64()
    )
}

/// The VUs an arrival-rate scenario instantiates at first and at most.
fn vus_range(executor: &volley_runtime::executor::ExecutorConfig) -> String {
    let (first, most) = (executor.initial_vus(), executor.max_vus());
    if first == most {
        format!("maxVUs: {most}")
    } else {
        format!("maxVUs: {first}-{most}")
    }
}

fn metric_line(metric: &MetricSummary, duration: Duration) -> String {
    let get = |k: &str| metric.get(k).unwrap_or(0.0);
    match metric.kind {
        MetricKind::Counter => {
            let count = get("count");
            let rate = if duration.is_zero() {
                0.0
            } else {
                count / duration.as_secs_f64()
            };
            match metric.value_type {
                ValueType::Data => format!("{:<10} {}/s", format_bytes(count), format_bytes(rate)),
                _ => format!("{:<10} {:.2}/s", format_number(count), rate),
            }
        }
        MetricKind::Gauge => format!(
            "{:<10} min={:<10} max={}",
            format_number(get("value")),
            format_number(get("min")),
            format_number(get("max"))
        ),
        MetricKind::Rate => {
            let (passes, fails) = (get("passes"), get("fails"));
            format!(
                "{:.2}%  {:>8} out of {}",
                get("value") * 100.0,
                format_number(passes),
                format_number(passes + fails)
            )
        }
        MetricKind::Trend => {
            let show = |v: f64| format_value(v, metric.value_type);
            let mut line = format!(
                "avg={:<9} min={:<9} med={:<9} max={:<9}",
                show(get("avg")),
                show(get("min")),
                show(get("med")),
                show(get("max"))
            );
            for p in volley_runtime::metrics::TREND_PERCENTILES {
                let key = format!("p({p})");
                let _ = write!(line, " {key}={:<9}", show(get(&key)));
            }
            line.trim_end().to_owned()
        }
    }
}

fn format_for_threshold(threshold: &str, metric: &str, value: f64, summary: &Summary) -> String {
    let stat = threshold
        .split(|c| "<>=!".contains(c))
        .next()
        .unwrap_or("")
        .trim();
    let base = metric.split('{').next().unwrap_or(metric);
    let is_time = summary
        .metrics
        .get(base)
        .is_some_and(|m| m.value_type == ValueType::Time);
    let shown = if is_time && stat != "count" && stat != "rate" {
        format_duration_ms(value)
    } else if stat == "rate"
        && summary
            .metrics
            .get(base)
            .is_some_and(|m| m.kind == MetricKind::Rate)
    {
        format!("{:.2}%", value * 100.0)
    } else {
        format_number(value)
    };
    format!("{stat}={shown}")
}

fn format_value(value: f64, value_type: ValueType) -> String {
    match value_type {
        ValueType::Time => format_duration_ms(value),
        ValueType::Data => format_bytes(value),
        ValueType::Default => format_number(value),
    }
}

/// A duration in milliseconds as k6 shows it: `812µs`, `12.34ms`, `1.2s`, `1m3s`.
pub fn format_duration_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.2}ms")
    } else if ms < 60_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        let secs = (ms / 1000.0).round() as u64;
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

/// Bytes with SI units, as k6 shows them: `123 B`, `4.5 kB`, `1.2 MB`.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_k6() {
        assert_eq!(format_duration_ms(0.8123), "812µs");
        assert_eq!(format_duration_ms(12.3456), "12.35ms");
        assert_eq!(format_duration_ms(1234.0), "1.23s");
        assert_eq!(format_duration_ms(63_000.0), "1m3s");
        assert_eq!(format_bytes(123.0), "123 B");
        assert_eq!(format_bytes(4567.0), "4.6 kB");
        assert_eq!(format_bytes(1_234_567.0), "1.2 MB");
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(12.5), "12.50");
    }
}
