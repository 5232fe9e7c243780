//! The end-of-test summary, in the shape of k6's `--summary-export` JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value as Json, json};

use super::registry::{MetricKind, ValueType};
use super::sink::{FirstUses, Snapshot};
use super::tags::TagSet;
use super::value::Value;

/// Percentiles every trend reports, beside avg, min, med and max.
pub const TREND_PERCENTILES: [f64; 3] = [90.0, 95.0, 99.0];

/// One metric (or sub-metric) as the summary shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSummary {
    /// How the metric aggregates.
    pub kind: MetricKind,
    /// What its values measure.
    pub value_type: ValueType,
    /// The statistics, in k6's order and under k6's names: `count`/`rate` for
    /// counters, `avg`/`min`/`med`/`max`/`p(90)`... for trends, `passes`/`fails`/
    /// `value` for rates, `value`/`min`/`max` for gauges.
    pub values: Vec<(String, f64)>,
}

impl MetricSummary {
    /// The statistic called `stat`, if present.
    pub fn get(&self, stat: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == stat).map(|(_, v)| *v)
    }

    /// The statistics of `value` over a run of `secs` seconds.
    pub fn from_value(kind: MetricKind, value_type: ValueType, value: &Value, secs: f64) -> Self {
        let values = match value {
            Value::Counter(count) => vec![
                ("count".into(), *count),
                ("rate".into(), if secs > 0.0 { count / secs } else { 0.0 }),
            ],
            Value::Gauge { last, min, max, .. } => vec![
                ("value".into(), *last),
                ("min".into(), *min),
                ("max".into(), *max),
            ],
            Value::Rate { trues, total } => vec![
                ("passes".into(), *trues as f64),
                ("fails".into(), (total - trues) as f64),
                (
                    "value".into(),
                    if *total == 0 {
                        0.0
                    } else {
                        *trues as f64 / *total as f64
                    },
                ),
            ],
            Value::Trend(trend) => {
                let mut values = vec![
                    ("avg".into(), trend.avg()),
                    ("min".into(), trend.min()),
                    ("med".into(), trend.percentile(50.0)),
                    ("max".into(), trend.max()),
                ];
                for p in TREND_PERCENTILES {
                    values.push((format!("p({p})"), trend.percentile(p)));
                }
                values.push(("count".into(), trend.count() as f64));
                values
            }
        };
        Self {
            kind,
            value_type,
            values,
        }
    }
}

/// One named check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSummary {
    /// The path of the group it ran in (`::outer::inner`; empty outside groups).
    pub group: String,
    /// The check's name.
    pub name: String,
    /// Times it passed.
    pub passes: u64,
    /// Times it failed.
    pub fails: u64,
}

/// The end-of-test summary of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// How long the executors ran; rates are per second of this.
    pub duration: Duration,
    /// Every metric, by name, plus k6's sub-metric
    /// `http_req_duration{expected_response:true}`.
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Each check, in name order.
    pub checks: Vec<CheckSummary>,
    /// Failed requests by cause (`error_code` or HTTP status), in name order.
    pub request_failures: BTreeMap<String, u64>,
    /// Failed iterations by reason (`error`, `trap`, `interrupted`).
    pub iteration_failures: BTreeMap<String, u64>,
}

/// Orders `checks` as k6 lists them: the root group's first, then each group
/// after its parent, groups and checks in the order the run first used them
/// (those it did not note go last, by name).
fn sort_as_first_used(checks: &mut [CheckSummary], uses: &FirstUses) {
    let position = |list_len: usize, found: Option<usize>| found.unwrap_or(list_len);
    let group_key = |path: &str| -> Vec<usize> {
        let mut prefix = String::new();
        path.split("::")
            .filter(|name| !name.is_empty())
            .map(|name| {
                prefix = format!("{prefix}::{name}");
                position(
                    uses.groups.len(),
                    uses.groups.iter().position(|g| *g == prefix),
                )
            })
            .collect()
    };
    checks.sort_by_cached_key(|check| {
        let order = uses
            .checks
            .iter()
            .position(|(g, n)| *g == check.group && *n == check.name);
        (
            group_key(&check.group),
            check.group.clone(),
            position(uses.checks.len(), order),
            check.name.clone(),
        )
    });
}

impl Summary {
    /// Summarises `snapshot`, with rates per second of `duration`.
    pub fn from_snapshot(snapshot: &Snapshot, duration: Duration) -> Self {
        let secs = duration.as_secs_f64();
        let all = TagSet::empty();
        let mut metrics = BTreeMap::new();
        for name in snapshot.metric_names() {
            if let Some((info, value)) = snapshot.aggregate(name, &all) {
                metrics.insert(
                    name.to_owned(),
                    MetricSummary::from_value(info.kind, info.value_type, &value, secs),
                );
            }
        }
        let expected = TagSet::new([("expected_response", "true")]);
        if let Some((info, value)) = snapshot.aggregate("http_req_duration", &expected) {
            metrics.insert(
                "http_req_duration{expected_response:true}".into(),
                MetricSummary::from_value(info.kind, info.value_type, &value, secs),
            );
        }

        let mut checks: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for series in snapshot
            .series
            .iter()
            .filter(|s| s.metric.name.as_ref() == "checks")
        {
            let (Value::Rate { trues, total }, Some(name)) =
                (&series.value, series.tags.get("check"))
            else {
                continue;
            };
            let group = series.tags.get("group").unwrap_or_default().to_owned();
            let counts = checks.entry((group, name.to_owned())).or_default();
            counts.0 += trues;
            counts.1 += total - trues;
        }
        let mut checks: Vec<CheckSummary> = checks
            .into_iter()
            .map(|((group, name), (passes, fails))| CheckSummary {
                group,
                name,
                passes,
                fails,
            })
            .collect();
        sort_as_first_used(&mut checks, &snapshot.first_uses);

        let mut request_failures = BTreeMap::new();
        for series in snapshot
            .series
            .iter()
            .filter(|s| s.metric.name.as_ref() == "http_req_failed")
        {
            let Value::Rate { trues, .. } = series.value else {
                continue;
            };
            if trues == 0 {
                continue;
            }
            let cause = match (series.tags.get("error_code"), series.tags.get("status")) {
                (Some(code), _) => code.to_owned(),
                (None, Some(status)) => format!("status {status}"),
                (None, None) => "unknown".to_owned(),
            };
            *request_failures.entry(cause).or_insert(0) += trues;
        }

        let mut iteration_failures = BTreeMap::new();
        for reason in snapshot.tag_values("iterations_failed", "reason") {
            let filter = TagSet::new([("reason", reason.as_str())]);
            if let Some((_, Value::Counter(n))) = snapshot.aggregate("iterations_failed", &filter) {
                iteration_failures.insert(reason, n as u64);
            }
        }

        Self {
            duration,
            metrics,
            checks,
            request_failures,
            iteration_failures,
        }
    }

    /// The metric `name`'s statistic `stat`, if both exist.
    pub fn get(&self, name: &str, stat: &str) -> Option<f64> {
        self.metrics.get(name)?.get(stat)
    }

    /// The summary as k6's `--summary-export` JSON: `{"root_group": {checks,
    /// groups: {name: {checks, groups}}},
    /// "metrics": {"http_reqs": {"count", "rate"}, "http_req_duration": {"avg",
    /// "min", "med", "max", "p(90)", "p(95)", "p(99)"}, ...}}`, times in
    /// milliseconds. Volley's extra breakdowns sit under `"volley"`.
    pub fn to_k6_json(&self) -> Json {
        let mut metrics = Map::new();
        for (name, metric) in &self.metrics {
            let mut values = Map::new();
            for (stat, value) in &metric.values {
                // k6's export has no count for trends; keep the shape exact.
                if metric.kind == MetricKind::Trend && stat == "count" {
                    continue;
                }
                values.insert(stat.clone(), json_number(*value));
            }
            metrics.insert(name.clone(), Json::Object(values));
        }
        let mut root_group = json!({"name": "", "path": "", "groups": {}, "checks": {}});
        for check in &self.checks {
            let mut group = &mut root_group;
            let mut path = String::new();
            for name in check.group.split("::").filter(|name| !name.is_empty()) {
                path = format!("{path}::{name}");
                group = group["groups"]
                    .as_object_mut()
                    .expect("groups is an object")
                    .entry(name)
                    .or_insert_with(
                        || json!({"name": name, "path": path, "groups": {}, "checks": {}}),
                    );
            }
            group["checks"][&check.name] = json!({
                "name": check.name,
                "path": format!("{}::{}", check.group, check.name),
                "passes": check.passes,
                "fails": check.fails,
            });
        }
        json!({
            "root_group": root_group,
            "metrics": metrics,
            "state": {
                "testRunDurationMs": self.duration.as_secs_f64() * 1000.0,
            },
            "volley": {
                "request_failures": self.request_failures,
                "iteration_failures": self.iteration_failures,
            },
        })
    }
}

fn json_number(value: f64) -> Json {
    serde_json::Number::from_f64(value)
        .map(Json::Number)
        .unwrap_or(Json::Null)
}

#[cfg(test)]
mod tests {
    use super::super::builtin;
    use super::super::sink::{Metrics, Sample};
    use super::*;

    #[test]
    fn checks_are_listed_as_the_run_first_used_them_root_first() {
        let metrics = Metrics::new();
        let uses = [
            ("::queue", "token issued"),
            ("::book", "seat reserved"),
            ("", "late root check"),
            ("::book::pay", "paid"),
            ("::book", "payment accepted"),
        ];
        for (group, _) in uses {
            if !group.is_empty() {
                metrics.note_group(group);
            }
        }
        for (group, name) in uses.iter().rev() {
            let mut tags = vec![("check", *name)];
            if !group.is_empty() {
                tags.push(("group", *group));
            }
            metrics.record(
                0,
                &[Sample {
                    metric: builtin::CHECKS,
                    tags: TagSet::new(tags),
                    value: 1.0,
                }],
            );
        }
        for (group, name) in uses {
            metrics.note_check(group, name);
        }
        // A check the run never noted goes last in its group.
        metrics.record(
            0,
            &[Sample {
                metric: builtin::CHECKS,
                tags: TagSet::new([("check", "a stray"), ("group", "::queue")]),
                value: 0.0,
            }],
        );
        let summary = Summary::from_snapshot(&metrics.snapshot(), Duration::from_secs(1));
        let listed: Vec<(&str, &str)> = summary
            .checks
            .iter()
            .map(|c| (c.group.as_str(), c.name.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("", "late root check"),
                ("::queue", "token issued"),
                ("::queue", "a stray"),
                ("::book", "seat reserved"),
                ("::book", "payment accepted"),
                ("::book::pay", "paid"),
            ]
        );
    }

    #[test]
    fn exports_k6_shape() {
        let metrics = Metrics::new();
        let ok = TagSet::new([("expected_response", "true"), ("status", "200")]);
        let failed = TagSet::new([("expected_response", "false"), ("status", "503")]);
        for (tags, ms) in [(&ok, 10.0), (&ok, 20.0), (&failed, 30.0)] {
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
                        value: ms,
                    },
                    Sample {
                        metric: builtin::HTTP_REQ_FAILED,
                        tags: tags.clone(),
                        value: if tags == &failed { 1.0 } else { 0.0 },
                    },
                ],
            );
        }
        metrics.record(
            1,
            &[Sample {
                metric: builtin::CHECKS,
                tags: TagSet::new([("check", "status is 200")]),
                value: 1.0,
            }],
        );
        let summary = Summary::from_snapshot(&metrics.snapshot(), Duration::from_secs(2));
        let json = summary.to_k6_json();
        assert_eq!(json["metrics"]["http_reqs"]["count"], 3.0);
        assert_eq!(json["metrics"]["http_reqs"]["rate"], 1.5);
        assert_eq!(json["metrics"]["http_req_duration"]["max"], 30.0);
        assert_eq!(json["metrics"]["http_req_duration"]["avg"], 20.0);
        assert!(json["metrics"]["http_req_duration"].get("p(99)").is_some());
        assert!(json["metrics"]["http_req_duration"].get("count").is_none());
        assert_eq!(
            json["metrics"]["http_req_duration{expected_response:true}"]["max"],
            20.0
        );
        assert_eq!(json["metrics"]["http_req_failed"]["passes"], 1.0);
        assert_eq!(json["metrics"]["http_req_failed"]["fails"], 2.0);
        assert_eq!(json["root_group"]["checks"]["status is 200"]["passes"], 1);
        assert_eq!(summary.request_failures.get("status 503"), Some(&1));
    }
}
