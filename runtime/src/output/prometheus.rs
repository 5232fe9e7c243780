//! A run's series as Prometheus names them, the way k6's remote-write output
//! does: `k6_` + the metric's name, `_total` for counters, `_rate` for rates,
//! `_seconds` (or `_bytes`) for trends sent as histograms; every non-empty tag
//! a label except `vu` and `iter`; times in seconds.

use std::collections::{BTreeMap, HashMap};

use crate::metrics::{Snapshot, Trend, Value, ValueType};

/// Tags that are per-VU details, not labels (k6 keeps them out too).
const NOT_LABELS: [&str; 2] = ["vu", "iter"];

/// A series' labels, sorted by name, `__name__` among them.
pub type Labels = Vec<(String, String)>;

/// How trends become series.
#[derive(Debug, Clone, Copy)]
pub enum Trends<'a> {
    /// One histogram per trend, named with its unit.
    Histograms,
    /// One gauge per statistic, named `<metric>_<stat>`.
    Stats(&'a [TrendStat]),
}

/// What one series holds now.
#[derive(Debug, Clone)]
pub enum Point {
    /// A total since the start.
    Counter(f64),
    /// A value now (gauges, and rates as the share of true samples so far).
    Gauge(f64),
    /// Every value of a trend since the start.
    Histogram {
        /// The trend.
        trend: Trend,
        /// What turns its values into the series' unit (1/1000: ms to s).
        scale: f64,
    },
}

/// A statistic of a trend, sent as a gauge of its own when trends are not
/// sent as native histograms (k6's `K6_PROMETHEUS_RW_TREND_STATS`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrendStat {
    /// The mean.
    Avg,
    /// The smallest value.
    Min,
    /// The median.
    Med,
    /// The largest value.
    Max,
    /// How many values.
    Count,
    /// Their sum.
    Sum,
    /// A percentile, 0 to 100.
    Percentile(f64),
}

impl TrendStat {
    /// Parses `avg`, `min`, `med`, `max`, `count`, `sum` or `p(N)`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(match text.trim() {
            "avg" => TrendStat::Avg,
            "min" => TrendStat::Min,
            "med" => TrendStat::Med,
            "max" => TrendStat::Max,
            "count" => TrendStat::Count,
            "sum" => TrendStat::Sum,
            other => {
                let p = other
                    .strip_prefix("p(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .and_then(|n| n.parse::<f64>().ok())
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| {
                        format!(
                            "unknown trend stat {other:?}: use avg, min, med, max, count, sum or p(N) with N from 0 to 100"
                        )
                    })?;
                TrendStat::Percentile(p)
            }
        })
    }

    /// The series suffix, as k6 writes it: `p(99.9)` is `p999`.
    pub fn suffix(self) -> String {
        match self {
            TrendStat::Avg => "avg".into(),
            TrendStat::Min => "min".into(),
            TrendStat::Med => "med".into(),
            TrendStat::Max => "max".into(),
            TrendStat::Count => "count".into(),
            TrendStat::Sum => "sum".into(),
            TrendStat::Percentile(p) => format!("p{}", p.to_string().replace('.', "")),
        }
    }

    fn of(self, trend: &Trend) -> f64 {
        match self {
            TrendStat::Avg => trend.avg(),
            TrendStat::Min => trend.min(),
            TrendStat::Med => trend.percentile(50.0),
            TrendStat::Max => trend.max(),
            TrendStat::Count => trend.count() as f64,
            TrendStat::Sum => trend.sum(),
            TrendStat::Percentile(p) => trend.percentile(p),
        }
    }
}

/// Whether `name` is a valid Prometheus metric or label name.
pub(super) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `name` made into a valid label name: other characters become `_`.
fn label_name(name: &str) -> String {
    let mut label: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if label.starts_with(|c: char| c.is_ascii_digit()) {
        label.insert(0, '_');
    }
    label
}

/// The series of `snapshot` as Prometheus sees them: sorted labels (with
/// `__name__`) to value. Series whose labels coincide (they differed only in
/// `vu` or `iter`, say) are merged.
pub fn series(
    snapshot: &Snapshot,
    namespace: &str,
    trends: Trends<'_>,
    extra_labels: &BTreeMap<String, String>,
) -> BTreeMap<Labels, Point> {
    let mut merged: HashMap<(String, Labels), (ValueType, Value)> = HashMap::new();
    for series in &snapshot.series {
        let mut labels: BTreeMap<String, String> = extra_labels
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (label_name(k), v.clone()))
            .collect();
        for (key, value) in series.tags.iter() {
            if !key.is_empty() && !value.is_empty() && !NOT_LABELS.contains(&key) {
                labels.insert(label_name(key), value.to_owned());
            }
        }
        let key = (
            series.metric.name.to_string(),
            labels.into_iter().collect::<Vec<_>>(),
        );
        match merged.get_mut(&key) {
            Some((_, value)) => value.merge(&series.value),
            None => {
                merged.insert(key, (series.metric.value_type, series.value.clone()));
            }
        }
    }
    let prefix = if namespace.is_empty() {
        String::new()
    } else {
        format!("{namespace}_")
    };
    let mut out = BTreeMap::new();
    let mut insert = |name: String, labels: &[(String, String)], point: Point| {
        let mut labels = labels.to_vec();
        labels.push(("__name__".into(), name));
        labels.sort();
        out.insert(labels, point);
    };
    for ((metric, labels), (value_type, value)) in merged {
        // Times are milliseconds in Volley and seconds in Prometheus.
        let scale = if value_type == ValueType::Time {
            1e-3
        } else {
            1.0
        };
        match value {
            Value::Counter(total) => insert(
                format!("{prefix}{metric}_total"),
                &labels,
                Point::Counter(total),
            ),
            Value::Gauge { last, .. } => {
                insert(format!("{prefix}{metric}"), &labels, Point::Gauge(last))
            }
            Value::Rate { trues, total } => insert(
                format!("{prefix}{metric}_rate"),
                &labels,
                Point::Gauge(if total == 0 {
                    0.0
                } else {
                    trues as f64 / total as f64
                }),
            ),
            Value::Trend(trend) if matches!(trends, Trends::Histograms) => {
                let unit = match value_type {
                    ValueType::Time => "_seconds",
                    ValueType::Data => "_bytes",
                    ValueType::Default => "",
                };
                insert(
                    format!("{prefix}{metric}{unit}"),
                    &labels,
                    Point::Histogram {
                        trend: *trend,
                        scale,
                    },
                );
            }
            Value::Trend(trend) => {
                let Trends::Stats(stats) = trends else {
                    unreachable!("histograms are handled above")
                };
                for stat in stats {
                    let stat_scale = if *stat == TrendStat::Count {
                        1.0
                    } else {
                        scale
                    };
                    insert(
                        format!("{prefix}{metric}_{}", stat.suffix()),
                        &labels,
                        Point::Gauge(stat.of(&trend) * stat_scale),
                    );
                }
            }
        }
    }
    out
}
