//! The aggregate one series keeps: a counter total, a gauge, a rate, or an HDR
//! histogram for trends.

use hdrhistogram::Histogram;

use super::registry::MetricKind;

/// Trend values are kept in the histogram in thousandths of their unit
/// (microseconds for times in milliseconds), to 3 significant digits.
const TREND_SCALE: f64 = 1000.0;
const SIGNIFICANT_DIGITS: u8 = 3;

/// The aggregate of one series.
#[derive(Debug, Clone)]
pub enum Value {
    /// Sum of the samples.
    Counter(f64),
    /// Last value (by time of setting) and the extremes.
    Gauge {
        /// The value last set.
        last: f64,
        /// When it was set, in nanoseconds since the run began.
        at_nanos: u64,
        /// The smallest value set.
        min: f64,
        /// The largest value set.
        max: f64,
    },
    /// Samples that were true, out of all.
    Rate {
        /// True samples.
        trues: u64,
        /// All samples.
        total: u64,
    },
    /// A distribution.
    Trend(Box<Trend>),
}

/// A distribution of values: exact count, sum, min and max, and an HDR histogram
/// for the percentiles.
#[derive(Debug, Clone)]
pub struct Trend {
    histogram: Histogram<u64>,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for Trend {
    fn default() -> Self {
        Self {
            histogram: Histogram::new(SIGNIFICANT_DIGITS).expect("valid histogram precision"),
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Trend {
    /// Adds one value. Negative values count in avg/min/max and as 0 in percentiles.
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        let scaled = (value.max(0.0) * TREND_SCALE).round() as u64;
        // Auto-resizes; only values beyond u64 range saturate.
        if self.histogram.record(scaled).is_err() {
            self.histogram.saturating_record(scaled);
        }
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Trend) {
        if other.count == 0 {
            return;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.histogram
            .add(&other.histogram)
            .expect("auto-resizing histograms always merge");
    }

    /// The values added to this trend after `earlier` (an older copy of it) was
    /// taken: exact count and mean; percentiles, min and max from the histogram.
    pub fn since(&self, earlier: &Trend) -> Trend {
        let mut histogram = self.histogram.clone();
        if histogram.subtract(&earlier.histogram).is_err() || self.count <= earlier.count {
            return Trend::default();
        }
        let scaled = |v: u64| v as f64 / TREND_SCALE;
        Trend {
            count: self.count - earlier.count,
            sum: self.sum - earlier.sum,
            min: scaled(histogram.lowest_equivalent(histogram.min())),
            max: scaled(histogram.highest_equivalent(histogram.max())),
            histogram,
        }
    }

    /// How many values were added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of the values.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The recorded values in increasing order, as (value, how many): each
    /// value stands for the histogram bin (about 0.1% wide) it fell in.
    /// Negative values count as 0.
    pub fn bins(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.histogram.iter_recorded().map(|bin| {
            let value = self.histogram.median_equivalent(bin.value_iterated_to());
            (value as f64 / TREND_SCALE, bin.count_at_value())
        })
    }

    /// The mean, 0 when empty.
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The smallest value, 0 when empty.
    pub fn min(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.min }
    }

    /// The largest value, 0 when empty.
    pub fn max(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.max }
    }

    /// The `p`th percentile (0 to 100), within 0.1% of the true value.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let raw = self
            .histogram
            .value_at_quantile((p / 100.0).clamp(0.0, 1.0));
        let value = self.histogram.median_equivalent(raw) as f64 / TREND_SCALE;
        value.clamp(self.min(), self.max())
    }
}

impl Value {
    /// An empty aggregate for a metric of `kind`.
    pub fn new(kind: MetricKind) -> Self {
        match kind {
            MetricKind::Counter => Value::Counter(0.0),
            MetricKind::Gauge => Value::Gauge {
                last: 0.0,
                at_nanos: 0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
            },
            MetricKind::Rate => Value::Rate { trues: 0, total: 0 },
            MetricKind::Trend => Value::Trend(Box::default()),
        }
    }

    /// Adds one sample. For rates, non-zero is true; for gauges `at_nanos` orders sets.
    pub fn add(&mut self, sample: f64, at_nanos: u64) {
        match self {
            Value::Counter(total) => *total += sample,
            Value::Gauge {
                last,
                at_nanos: at,
                min,
                max,
            } => {
                if at_nanos >= *at {
                    *last = sample;
                    *at = at_nanos;
                }
                *min = min.min(sample);
                *max = max.max(sample);
            }
            Value::Rate { trues, total } => {
                *total += 1;
                if sample != 0.0 {
                    *trues += 1;
                }
            }
            Value::Trend(trend) => trend.add(sample),
        }
    }

    /// Folds `other` (a value of the same kind) into this one.
    pub fn merge(&mut self, other: &Value) {
        match (self, other) {
            (Value::Counter(a), Value::Counter(b)) => *a += b,
            (
                Value::Gauge {
                    last,
                    at_nanos,
                    min,
                    max,
                },
                Value::Gauge {
                    last: other_last,
                    at_nanos: other_at,
                    min: other_min,
                    max: other_max,
                },
            ) => {
                if other_at >= at_nanos {
                    *last = *other_last;
                    *at_nanos = *other_at;
                }
                *min = min.min(*other_min);
                *max = max.max(*other_max);
            }
            (Value::Rate { trues, total }, Value::Rate { trues: t, total: n }) => {
                *trues += t;
                *total += n;
            }
            (Value::Trend(a), Value::Trend(b)) => a.merge(b),
            (a, b) => unreachable!("merging {a:?} with a value of another kind {b:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trend_percentiles_are_within_a_tenth_of_a_percent() {
        let mut trend = Trend::default();
        for i in 1..=10_000 {
            trend.add(i as f64 / 10.0); // 0.1 ms .. 1000 ms
        }
        assert_eq!(trend.count(), 10_000);
        assert!((trend.avg() - 500.05).abs() < 1e-9);
        assert_eq!(trend.min(), 0.1);
        assert_eq!(trend.max(), 1000.0);
        for (p, truth) in [(50.0, 500.0), (90.0, 900.0), (95.0, 950.0), (99.0, 990.0)] {
            let got = trend.percentile(p);
            assert!(
                (got - truth).abs() / truth < 0.001,
                "p({p}) = {got}, want {truth}"
            );
        }
    }

    #[test]
    fn merged_trends_equal_one_trend_of_all_values() {
        let (mut a, mut b, mut all) = (Trend::default(), Trend::default(), Trend::default());
        for i in 0..1000 {
            let v = (i * 7 % 1000) as f64;
            if i % 2 == 0 {
                a.add(v)
            } else {
                b.add(v)
            }
            all.add(v);
        }
        a.merge(&b);
        assert_eq!(a.count(), all.count());
        assert_eq!(a.percentile(95.0), all.percentile(95.0));
        assert_eq!(a.max(), all.max());
    }

    #[test]
    fn a_trend_since_an_earlier_copy_holds_only_the_new_values() {
        let mut trend = Trend::default();
        for _ in 0..1000 {
            trend.add(1.0);
        }
        let earlier = trend.clone();
        for _ in 0..100 {
            trend.add(500.0);
        }
        let window = trend.since(&earlier);
        assert_eq!(window.count(), 100);
        assert!((window.avg() - 500.0).abs() < 1e-9);
        assert!((window.percentile(50.0) - 500.0).abs() < 0.5);
        assert!(window.min() >= 499.0 && window.max() <= 501.0);
        assert_eq!(trend.since(&trend).count(), 0);
    }

    #[test]
    fn bins_hold_every_value_in_order() {
        let mut trend = Trend::default();
        for v in [0.0, 1.5, 1.5, 250.0, -3.0] {
            trend.add(v);
        }
        let bins: Vec<(f64, u64)> = trend.bins().collect();
        assert_eq!(bins.iter().map(|b| b.1).sum::<u64>(), 5);
        assert_eq!(bins[0], (0.0, 2));
        assert_eq!(bins[1], (1.5, 2));
        assert!((bins[2].0 - 250.0).abs() < 0.25 && bins[2].1 == 1);
        assert_eq!(trend.sum(), 250.0);
    }

    #[test]
    fn gauges_keep_the_latest_value() {
        let mut a = Value::new(MetricKind::Gauge);
        a.add(5.0, 10);
        let mut b = Value::new(MetricKind::Gauge);
        b.add(7.0, 5);
        a.merge(&b);
        let Value::Gauge { last, min, max, .. } = a else {
            unreachable!()
        };
        assert_eq!((last, min, max), (5.0, 5.0, 7.0));
    }
}
