//! Where samples go: a run's metrics, sharded so VUs on different threads rarely
//! contend, and merged into a [`Snapshot`] on demand.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use super::registry::{MetricId, MetricInfo, Registry};
use super::tags::TagSet;
use super::value::Value;

/// One sample: a value of a metric with its tags.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The metric.
    pub metric: MetricId,
    /// Its tags.
    pub tags: TagSet,
    /// The value (milliseconds for times, bytes for data, 0/1 for rates).
    pub value: f64,
}

/// A sample as recorded, with its time, for outputs that write every sample.
#[derive(Debug, Clone)]
pub struct TimedSample {
    /// The metric.
    pub metric: MetricId,
    /// Its tags.
    pub tags: TagSet,
    /// The value.
    pub value: f64,
    /// When it was recorded, since the metrics started.
    pub at: Duration,
}

type Series = HashMap<(MetricId, TagSet), Value>;

/// One shard: its series, and the samples kept for [`Metrics::drain_samples`].
#[derive(Default)]
struct Shard {
    series: Series,
    kept: Vec<TimedSample>,
}

/// The most groups, and checks, whose first use is remembered.
const FIRST_USES_KEPT: usize = 1_000;

/// The order in which a run first used its groups and checks, so the summary
/// can list them as the scenario runs them (as k6 does).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FirstUses {
    /// Group paths, such as `::book`, in order.
    pub groups: Vec<String>,
    /// (group path, check name), in order.
    pub checks: Vec<(String, String)>,
}

/// Appends `item` to `uses` unless it is there already or `uses` is full.
fn note_first_use<T: PartialEq>(uses: &mut Vec<T>, item: T) {
    if uses.len() < FIRST_USES_KEPT && !uses.contains(&item) {
        uses.push(item);
    }
}

/// All metrics of one run.
pub struct Metrics {
    registry: Registry,
    shards: Box<[Mutex<Shard>]>,
    first_uses: Mutex<FirstUses>,
    started: Instant,
    started_at: SystemTime,
    keep_samples: AtomicBool,
    run_tags: OnceLock<TagSet>,
    headline: Headline,
}

/// Totals kept in atomics for the once-a-second progress line, so drawing it
/// never touches the shards.
#[derive(Default)]
struct Headline {
    requests: AtomicU64,
    failed_requests: AtomicU64,
    iterations: AtomicU64,
    failed_iterations: AtomicU64,
    vus: AtomicU64,
    vus_max: AtomicU64,
}

/// The headline totals at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Requests sent.
    pub requests: u64,
    /// Requests that failed (no response or an unexpected status).
    pub failed_requests: u64,
    /// Iterations finished, failed or not.
    pub iterations: u64,
    /// Iterations that ended with an error, a trap or an interruption.
    pub failed_iterations: u64,
    /// VUs running an executor now.
    pub vus: u64,
    /// VUs instantiated.
    pub vus_max: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        let shards = std::thread::available_parallelism()
            .map(|n| n.get() * 4)
            .unwrap_or(8);
        Self {
            registry: Registry::default(),
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            first_uses: Mutex::default(),
            started: Instant::now(),
            started_at: SystemTime::now(),
            keep_samples: AtomicBool::new(false),
            run_tags: OnceLock::new(),
            headline: Headline::default(),
        }
    }
}

impl Metrics {
    /// New, empty metrics; the clock for rates starts now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The metric definitions.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Time since the metrics were created.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The wall-clock time the metrics were created.
    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// Records samples under one lock. `shard` spreads writers (use the VU id).
    pub fn record(&self, shard: usize, samples: &[Sample]) {
        let at = self.started.elapsed();
        let at_nanos = at.as_nanos() as u64;
        let keep = self.keep_samples.load(Ordering::Relaxed);
        let mut shard = self.shards[shard % self.shards.len()]
            .lock()
            .expect("metrics shard poisoned");
        for sample in samples {
            shard
                .series
                .entry((sample.metric, sample.tags.clone()))
                .or_insert_with(|| Value::new(self.registry.info(sample.metric).kind))
                .add(sample.value, at_nanos);
            if keep {
                shard.kept.push(TimedSample {
                    metric: sample.metric,
                    tags: sample.tags.clone(),
                    value: sample.value,
                    at,
                });
            }
        }
    }

    /// From now on, also keeps every sample recorded until
    /// [`Metrics::drain_samples`] takes it (for outputs that write each sample).
    pub fn keep_samples(&self) {
        self.keep_samples.store(true, Ordering::Relaxed);
    }

    /// Takes the samples kept since the last call, in the order they were recorded.
    pub fn drain_samples(&self) -> Vec<TimedSample> {
        let mut samples = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.lock().expect("metrics shard poisoned");
            if samples.is_empty() {
                std::mem::swap(&mut samples, &mut shard.kept);
            } else {
                samples.append(&mut shard.kept);
            }
        }
        samples.sort_by_key(|sample| sample.at);
        samples
    }

    /// Notes that the group `path` was entered (only its first use counts).
    /// Call it rarely: once per VU and group is enough.
    pub fn note_group(&self, path: &str) {
        let mut uses = self.first_uses.lock().expect("first uses poisoned");
        note_first_use(&mut uses.groups, path.to_owned());
    }

    /// Notes that the check `name` ran in the group `path` (empty at the root;
    /// only its first use counts). Call it rarely, like [`Metrics::note_group`].
    pub fn note_check(&self, path: &str, name: &str) {
        let mut uses = self.first_uses.lock().expect("first uses poisoned");
        note_first_use(&mut uses.checks, (path.to_owned(), name.to_owned()));
    }

    /// Counts one request in the headline totals.
    pub fn count_request(&self, failed: bool) {
        self.headline.requests.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.headline
                .failed_requests
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one finished iteration in the headline totals.
    pub fn count_iteration(&self, failed: bool) {
        self.headline.iterations.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.headline
                .failed_iterations
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sets the tags of the run's own samples (`vus`, `vus_max`): the run's
    /// tags. Only the first call counts.
    pub fn set_run_tags(&self, tags: TagSet) {
        let _ = self.run_tags.set(tags);
    }

    /// Sets the number of VUs running and instantiated.
    pub fn set_vus(&self, vus: u64, vus_max: u64, shard: usize) {
        self.headline.vus.store(vus, Ordering::Relaxed);
        self.headline.vus_max.store(vus_max, Ordering::Relaxed);
        let tags = self.run_tags.get().cloned().unwrap_or_else(TagSet::empty);
        self.record(
            shard,
            &[
                Sample {
                    metric: super::builtin::VUS,
                    tags: tags.clone(),
                    value: vus as f64,
                },
                Sample {
                    metric: super::builtin::VUS_MAX,
                    tags,
                    value: vus_max as f64,
                },
            ],
        );
    }

    /// Adds `delta` (which may be negative) to the running VU count.
    pub fn add_vus(&self, delta: i64) {
        let vus = if delta >= 0 {
            self.headline.vus.fetch_add(delta as u64, Ordering::Relaxed) + delta as u64
        } else {
            self.headline
                .vus
                .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed)
                - delta.unsigned_abs()
        };
        let vus_max = self.headline.vus_max.load(Ordering::Relaxed);
        self.set_vus(vus, vus_max, 0);
    }

    /// Adds `delta` VUs to the instantiated VU count.
    pub fn add_vus_max(&self, delta: u64) {
        let vus_max = self.headline.vus_max.fetch_add(delta, Ordering::Relaxed) + delta;
        let vus = self.headline.vus.load(Ordering::Relaxed);
        self.set_vus(vus, vus_max, 0);
    }

    /// The headline totals now.
    pub fn progress(&self) -> Progress {
        let h = &self.headline;
        Progress {
            requests: h.requests.load(Ordering::Relaxed),
            failed_requests: h.failed_requests.load(Ordering::Relaxed),
            iterations: h.iterations.load(Ordering::Relaxed),
            failed_iterations: h.failed_iterations.load(Ordering::Relaxed),
            vus: h.vus.load(Ordering::Relaxed),
            vus_max: h.vus_max.load(Ordering::Relaxed),
        }
    }

    /// Every series, merged across shards.
    pub fn snapshot(&self) -> Snapshot {
        let elapsed = self.elapsed();
        let mut merged: Series = HashMap::new();
        for shard in self.shards.iter() {
            let shard = shard.lock().expect("metrics shard poisoned");
            for (key, value) in shard.series.iter() {
                match merged.get_mut(key) {
                    Some(existing) => existing.merge(value),
                    None => {
                        merged.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        let mut series: Vec<SeriesSnapshot> = merged
            .into_iter()
            .map(|((metric, tags), value)| SeriesSnapshot {
                metric: self.registry.info(metric),
                tags,
                value,
            })
            .collect();
        series.sort_by(|a, b| {
            (a.metric.name.as_ref(), a.tags.to_string())
                .cmp(&(b.metric.name.as_ref(), b.tags.to_string()))
        });
        Snapshot {
            elapsed,
            progress: self.progress(),
            series,
            first_uses: self.first_uses.lock().expect("first uses poisoned").clone(),
        }
    }
}

/// One series (a metric and a tag set) at snapshot time.
#[derive(Debug, Clone)]
pub struct SeriesSnapshot {
    /// The metric.
    pub metric: MetricInfo,
    /// The series' tags.
    pub tags: TagSet,
    /// Its aggregate.
    pub value: Value,
}

/// All series of a run at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Time since the run's metrics started.
    pub elapsed: Duration,
    /// The headline totals.
    pub progress: Progress,
    /// Every series, sorted by metric name, then tags.
    pub series: Vec<SeriesSnapshot>,
    /// The order of the groups and checks.
    pub first_uses: FirstUses,
}

impl Snapshot {
    /// The names of the metrics that have samples, sorted, each once.
    pub fn metric_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.series.iter().map(|s| s.metric.name.as_ref()).collect();
        names.dedup();
        names
    }

    /// The metric `name` aggregated over every series whose tags include `filter`.
    pub fn aggregate(&self, name: &str, filter: &TagSet) -> Option<(MetricInfo, Value)> {
        let mut result: Option<(MetricInfo, Value)> = None;
        for series in self
            .series
            .iter()
            .filter(|s| s.metric.name.as_ref() == name && s.tags.matches(filter))
        {
            match &mut result {
                Some((_, value)) => value.merge(&series.value),
                None => result = Some((series.metric.clone(), series.value.clone())),
            }
        }
        result
    }

    /// The distinct values the tag `key` takes among the series of `name`.
    pub fn tag_values(&self, name: &str, key: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .series
            .iter()
            .filter(|s| s.metric.name.as_ref() == name)
            .filter_map(|s| s.tags.get(key).map(str::to_owned))
            .collect();
        values.sort();
        values.dedup();
        values
    }
}

#[cfg(test)]
mod tests {
    use super::super::builtin;
    use super::*;

    #[test]
    fn shards_merge_into_one_snapshot() {
        let metrics = Metrics::new();
        let ok = TagSet::new([("status", "200")]);
        let bad = TagSet::new([("status", "500")]);
        for vu in 0..100usize {
            let tags = if vu % 10 == 0 {
                bad.clone()
            } else {
                ok.clone()
            };
            metrics.record(
                vu,
                &[Sample {
                    metric: builtin::HTTP_REQS,
                    tags,
                    value: 1.0,
                }],
            );
        }
        let snapshot = metrics.snapshot();
        let total = snapshot.aggregate("http_reqs", &TagSet::empty()).unwrap().1;
        assert!(matches!(total, Value::Counter(n) if n == 100.0));
        let failed = snapshot.aggregate("http_reqs", &bad).unwrap().1;
        assert!(matches!(failed, Value::Counter(n) if n == 10.0));
        assert_eq!(snapshot.tag_values("http_reqs", "status"), ["200", "500"]);
    }
}
