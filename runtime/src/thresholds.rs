//! Thresholds as k6 writes them: `{"http_req_duration{name:reserve}": ["p(95)<300",
//! {"threshold": "avg<200", "abortOnFail": true, "delayAbortEval": "10s"}]}`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value as Json;

use crate::metrics::{MetricKind, Snapshot, TagSet, Value, builtin};

/// A threshold that does not parse, naming the bad part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("threshold {key:?}: {message}")]
pub struct ThresholdError {
    /// The metric expression the threshold belongs to.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// The statistic a threshold tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    /// Mean of a trend.
    Avg,
    /// Smallest value of a trend.
    Min,
    /// Median of a trend.
    Med,
    /// Largest value of a trend.
    Max,
    /// A percentile (0 to 100) of a trend.
    Percentile(f64),
    /// A counter's total.
    Count,
    /// A counter's rate per second, or a rate's share of true samples.
    Rate,
    /// A gauge's last value.
    Value,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
    /// `==` or `===`
    Equal,
    /// `!=`
    NotEqual,
}

impl Operator {
    fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Operator::Less => left < right,
            Operator::LessOrEqual => left <= right,
            Operator::Greater => left > right,
            Operator::GreaterOrEqual => left >= right,
            Operator::Equal => left == right,
            Operator::NotEqual => left != right,
        }
    }
}

/// One threshold expression, such as `p(95)<300`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The text as written.
    pub source: String,
    /// The statistic.
    pub aggregation: Aggregation,
    /// The comparison.
    pub operator: Operator,
    /// The bound.
    pub bound: f64,
    /// End the run as soon as this fails.
    pub abort_on_fail: bool,
    /// Wait this long into the run before aborting on it.
    pub delay_abort_eval: Duration,
}

/// Every threshold on one metric expression (`metric{tag:value}`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricThresholds {
    /// The expression as written.
    pub key: String,
    /// The metric's name.
    pub metric: String,
    /// The tag filter (empty for the whole metric).
    pub filter: TagSet,
    /// The thresholds.
    pub thresholds: Vec<Threshold>,
}

/// The verdict on one threshold.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThresholdResult {
    /// The metric expression.
    pub metric: String,
    /// The threshold as written.
    pub threshold: String,
    /// Whether it held. A metric with no samples fails its thresholds only
    /// when the metric is unknown; an empty known metric passes, as in k6.
    pub ok: bool,
    /// The statistic's value, when the metric had samples.
    pub value: Option<f64>,
    /// Whether the run is stopped when this fails.
    pub abort_on_fail: bool,
    /// How long into the run an abort waits.
    #[serde(skip)]
    pub delay_abort_eval: Duration,
}

/// Parses the `thresholds` option.
pub fn parse_all(
    thresholds: Option<&BTreeMap<String, Json>>,
) -> Result<Vec<MetricThresholds>, ThresholdError> {
    let Some(thresholds) = thresholds else {
        return Ok(Vec::new());
    };
    thresholds
        .iter()
        .map(|(key, list)| parse_metric(key, list))
        .collect()
}

fn parse_metric(key: &str, list: &Json) -> Result<MetricThresholds, ThresholdError> {
    let err = |message: String| ThresholdError {
        key: key.to_owned(),
        message,
    };
    let (metric, filter) = parse_key(key).map_err(err)?;
    let items = match list {
        Json::Array(items) => items.clone(),
        Json::String(_) | Json::Object(_) => vec![list.clone()],
        _ => return Err(err("expected a list of threshold expressions".into())),
    };
    let kind = builtin_kind(&metric);
    let thresholds = items
        .iter()
        .map(|item| parse_threshold(item, kind))
        .collect::<Result<Vec<_>, String>>()
        .map_err(err)?;
    Ok(MetricThresholds {
        key: key.to_owned(),
        metric,
        filter,
        thresholds,
    })
}

fn parse_key(key: &str) -> Result<(String, TagSet), String> {
    let key = key.trim();
    let Some(open) = key.find('{') else {
        return check_metric_name(key).map(|name| (name, TagSet::empty()));
    };
    let name = check_metric_name(key[..open].trim())?;
    let inner = key[open + 1..]
        .strip_suffix('}')
        .ok_or_else(|| "the tag filter must end with '}'".to_owned())?;
    let mut pairs = Vec::new();
    for pair in inner.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair
            .split_once(':')
            .ok_or_else(|| format!("tag filter {pair:?} must be key:value"))?;
        pairs.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    if pairs.is_empty() {
        return Err("empty tag filter".into());
    }
    Ok((name, TagSet::new(pairs)))
}

fn check_metric_name(name: &str) -> Result<String, String> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!("{name:?} is not a metric name"))
    }
}

fn builtin_kind(metric: &str) -> Option<MetricKind> {
    let registry = crate::metrics::Registry::default();
    let id = registry.lookup(metric)?;
    // Only built-ins are known before the run; custom metrics are checked at the end.
    (id <= builtin::CHECKS).then(|| registry.info(id).kind)
}

fn parse_threshold(item: &Json, kind: Option<MetricKind>) -> Result<Threshold, String> {
    let (source, abort_on_fail, delay) = match item {
        Json::String(s) => (s.clone(), false, Duration::ZERO),
        Json::Object(o) => {
            for k in o.keys() {
                if !["threshold", "abortOnFail", "delayAbortEval"].contains(&k.as_str()) {
                    return Err(format!("unknown threshold field {k:?}"));
                }
            }
            let source = o
                .get("threshold")
                .and_then(Json::as_str)
                .ok_or("a threshold object needs a \"threshold\" string")?
                .to_owned();
            let abort = match o.get("abortOnFail") {
                None => false,
                Some(Json::Bool(b)) => *b,
                Some(_) => return Err("abortOnFail must be true or false".into()),
            };
            let delay = match o.get("delayAbortEval") {
                None => Duration::ZERO,
                Some(Json::String(s)) => crate::duration::parse(s)?,
                Some(_) => return Err("delayAbortEval must be a duration string".into()),
            };
            (source, abort, delay)
        }
        _ => return Err("each threshold is a string or an object".into()),
    };
    let (aggregation, operator, bound) = parse_expression(&source)?;
    if let Some(kind) = kind {
        check_aggregation(kind, aggregation).map_err(|m| format!("{source:?}: {m}"))?;
    }
    Ok(Threshold {
        source,
        aggregation,
        operator,
        bound,
        abort_on_fail,
        delay_abort_eval: delay,
    })
}

/// Parses `p(95) < 300` into its parts.
pub fn parse_expression(text: &str) -> Result<(Aggregation, Operator, f64), String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let ops = [
        ("===", Operator::Equal),
        ("==", Operator::Equal),
        ("!=", Operator::NotEqual),
        ("<=", Operator::LessOrEqual),
        (">=", Operator::GreaterOrEqual),
        ("<", Operator::Less),
        (">", Operator::Greater),
    ];
    let (at, op_text, operator) = ops
        .iter()
        .filter_map(|(t, op)| compact.find(t).map(|i| (i, *t, *op)))
        .min_by_key(|(i, t, _)| (*i, std::cmp::Reverse(t.len())))
        .ok_or_else(|| format!("{text:?}: no comparison (use <, <=, >, >=, == or !=)"))?;
    let left = &compact[..at];
    let right = &compact[at + op_text.len()..];
    let aggregation = match left {
        "avg" => Aggregation::Avg,
        "min" => Aggregation::Min,
        "med" => Aggregation::Med,
        "max" => Aggregation::Max,
        "count" => Aggregation::Count,
        "rate" => Aggregation::Rate,
        "value" => Aggregation::Value,
        p if p.starts_with("p(") && p.ends_with(')') => {
            let n: f64 = p[2..p.len() - 1]
                .parse()
                .map_err(|_| format!("{text:?}: bad percentile {p:?}"))?;
            if !(0.0..=100.0).contains(&n) {
                return Err(format!("{text:?}: percentile {n} is not between 0 and 100"));
            }
            Aggregation::Percentile(n)
        }
        other => {
            return Err(format!(
                "{text:?}: unknown aggregation {other:?} (use avg, min, med, max, p(N), count, rate or value)"
            ));
        }
    };
    let bound: f64 = right
        .parse()
        .map_err(|_| format!("{text:?}: {right:?} is not a number"))?;
    Ok((aggregation, operator, bound))
}

fn check_aggregation(kind: MetricKind, aggregation: Aggregation) -> Result<(), String> {
    let ok = match kind {
        MetricKind::Trend => matches!(
            aggregation,
            Aggregation::Avg
                | Aggregation::Min
                | Aggregation::Med
                | Aggregation::Max
                | Aggregation::Percentile(_)
        ),
        MetricKind::Counter => matches!(aggregation, Aggregation::Count | Aggregation::Rate),
        MetricKind::Rate => matches!(aggregation, Aggregation::Rate),
        MetricKind::Gauge => matches!(aggregation, Aggregation::Value),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{aggregation:?} does not apply to a {kind:?} metric").to_lowercase())
    }
}

/// Evaluates every threshold against `snapshot`; rates per second of `elapsed`.
pub fn evaluate(
    thresholds: &[MetricThresholds],
    snapshot: &Snapshot,
    elapsed: Duration,
) -> Vec<ThresholdResult> {
    let mut results = Vec::new();
    for metric in thresholds {
        let aggregate = snapshot.aggregate(&metric.metric, &metric.filter);
        let known = aggregate.is_some() || builtin_kind(&metric.metric).is_some();
        for threshold in &metric.thresholds {
            let value = aggregate.as_ref().and_then(|(info, value)| {
                check_aggregation(info.kind, threshold.aggregation).ok()?;
                Some(statistic(value, threshold.aggregation, elapsed))
            });
            let ok = match value {
                Some(v) => threshold.operator.holds(v, threshold.bound),
                None => known && aggregate.is_none(),
            };
            results.push(ThresholdResult {
                metric: metric.key.clone(),
                threshold: threshold.source.clone(),
                ok,
                value,
                abort_on_fail: threshold.abort_on_fail,
                delay_abort_eval: threshold.delay_abort_eval,
            });
        }
    }
    results
}

fn statistic(value: &Value, aggregation: Aggregation, elapsed: Duration) -> f64 {
    match (value, aggregation) {
        (Value::Trend(t), Aggregation::Avg) => t.avg(),
        (Value::Trend(t), Aggregation::Min) => t.min(),
        (Value::Trend(t), Aggregation::Med) => t.percentile(50.0),
        (Value::Trend(t), Aggregation::Max) => t.max(),
        (Value::Trend(t), Aggregation::Percentile(p)) => t.percentile(p),
        (Value::Counter(n), Aggregation::Count) => *n,
        (Value::Counter(n), Aggregation::Rate) => {
            let secs = elapsed.as_secs_f64();
            if secs > 0.0 { n / secs } else { 0.0 }
        }
        (Value::Rate { trues, total }, Aggregation::Rate) => {
            if *total == 0 {
                0.0
            } else {
                *trues as f64 / *total as f64
            }
        }
        (Value::Gauge { last, .. }, Aggregation::Value) => *last,
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Metrics, Sample};
    use serde_json::json;

    fn parse(value: Json) -> Result<Vec<MetricThresholds>, ThresholdError> {
        let map: BTreeMap<String, Json> = serde_json::from_value(value).unwrap();
        parse_all(Some(&map))
    }

    #[test]
    fn good_expressions_parse() {
        for (text, agg, op, bound) in [
            (
                "p(95)<300",
                Aggregation::Percentile(95.0),
                Operator::Less,
                300.0,
            ),
            (
                "p(99.9) <= 1.5",
                Aggregation::Percentile(99.9),
                Operator::LessOrEqual,
                1.5,
            ),
            ("avg>=10", Aggregation::Avg, Operator::GreaterOrEqual, 10.0),
            ("rate<0.01", Aggregation::Rate, Operator::Less, 0.01),
            ("count === 0", Aggregation::Count, Operator::Equal, 0.0),
            ("value != 3", Aggregation::Value, Operator::NotEqual, 3.0),
            ("med > 1e2", Aggregation::Med, Operator::Greater, 100.0),
        ] {
            assert_eq!(parse_expression(text), Ok((agg, op, bound)), "{text}");
        }
    }

    #[test]
    fn bad_expressions_name_the_bad_part() {
        for (value, needle) in [
            (json!({"http_req_duration": ["p(95) 300"]}), "no comparison"),
            (
                json!({"http_req_duration": ["p95<300"]}),
                "unknown aggregation \"p95\"",
            ),
            (
                json!({"http_req_duration": ["p(101)<300"]}),
                "not between 0 and 100",
            ),
            (
                json!({"http_req_duration": ["avg<fast"]}),
                "\"fast\" is not a number",
            ),
            (
                json!({"http_req_duration": ["rate<0.1"]}),
                "does not apply to a trend",
            ),
            (
                json!({"http_reqs": ["p(95)<1"]}),
                "does not apply to a counter",
            ),
            (
                json!({"http_req_duration{name:x": ["avg<1"]}),
                "must end with '}'",
            ),
            (json!({"http_req_duration{name}": ["avg<1"]}), "key:value"),
            (json!({"bad-name": ["avg<1"]}), "not a metric name"),
            (
                json!({"checks": [{"threshold": "rate>0.9", "abortOnFail": "yes"}]}),
                "abortOnFail",
            ),
            (
                json!({"checks": [{"treshold": "rate>0.9"}]}),
                "unknown threshold field",
            ),
        ] {
            let error = parse(value.clone()).unwrap_err().to_string();
            assert!(error.contains(needle), "{value}: {error}");
        }
    }

    #[test]
    fn evaluates_against_samples_with_tag_filters() {
        let metrics = Metrics::new();
        for (name, ms) in [("fast", 10.0), ("fast", 20.0), ("slow", 500.0)] {
            metrics.record(
                0,
                &[Sample {
                    metric: builtin::HTTP_REQ_DURATION,
                    tags: TagSet::new([("name", name)]),
                    value: ms,
                }],
            );
        }
        let thresholds = parse(json!({
            "http_req_duration": ["max<100"],
            "http_req_duration{name:fast}": ["max<100", {"threshold": "avg<15", "abortOnFail": true}],
            "http_reqs": ["count>=0"],
            "no_such_metric": ["avg<1"],
        }))
        .unwrap();
        let results = evaluate(&thresholds, &metrics.snapshot(), Duration::from_secs(1));
        let verdict: Vec<(String, String, bool)> = results
            .iter()
            .map(|r| (r.metric.clone(), r.threshold.clone(), r.ok))
            .collect();
        assert_eq!(
            verdict,
            [
                ("http_req_duration".into(), "max<100".into(), false),
                (
                    "http_req_duration{name:fast}".into(),
                    "max<100".into(),
                    true
                ),
                (
                    "http_req_duration{name:fast}".into(),
                    "avg<15".into(),
                    false
                ),
                ("http_reqs".into(), "count>=0".into(), true),
                ("no_such_metric".into(), "avg<1".into(), false),
            ]
        );
        assert!(results[2].abort_on_fail);
    }
}
