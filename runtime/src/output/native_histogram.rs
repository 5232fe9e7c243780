//! From a trend's HDR histogram to a Prometheus native histogram, bucketed as
//! k6 buckets its trends (client_golang with a bucket factor of 1.1: schema 3,
//! 8 buckets per power of two, each about 9% wide).

use super::prompb::{BucketSpan, Count, Histogram, ZeroCount};
use crate::metrics::Trend;

/// The bucket resolution k6 uses.
pub const SCHEMA: i32 = 3;
/// client_golang's default zero threshold, 2^-128.
pub const ZERO_THRESHOLD: f64 = 2.938735877055719e-39;

/// client_golang's bucket bounds at schema 3 within one power of two: 2^(j/8 - 1).
const BOUNDS: [f64; 8] = [
    0.5,
    0.5452538663326288,
    0.5946035575013605,
    0.6484197773255048,
    0.7071067811865475,
    0.7711054127039704,
    0.8408964152537144,
    0.9170040432046711,
];

/// `value` split as `fraction * 2^exponent` with the fraction in [0.5, 1)
/// (Go's `math.Frexp`), for positive finite values.
fn frexp(value: f64) -> (f64, i32) {
    if value < f64::MIN_POSITIVE {
        // Subnormal: scale into the normal range first.
        let (fraction, exponent) = frexp(value * 2f64.powi(64));
        return (fraction, exponent - 64);
    }
    let bits = value.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1022;
    let fraction = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (fraction, exponent)
}

/// The index of the bucket that holds `value` (> 0) at schema 3: bucket `i`
/// covers (2^((i-1)/8), 2^(i/8)], computed exactly as client_golang does.
pub fn bucket_index(value: f64) -> i32 {
    let (fraction, exponent) = frexp(value);
    let j = BOUNDS.partition_point(|&bound| bound < fraction) as i32;
    j + (exponent - 1) * 8
}

/// Spans and delta-encoded counts of `buckets` (sorted by index). Gaps of up
/// to 2 empty buckets are filled with zeros rather than opening a new span,
/// as client_golang does.
fn spans_and_deltas(buckets: &[(i32, u64)]) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::with_capacity(buckets.len());
    let (mut previous, mut next_index) = (0i64, 0i32);
    for &(index, count) in buckets {
        let gap = index - next_index;
        match spans.last_mut() {
            Some(span) if gap <= 2 => {
                for _ in 0..gap {
                    span.length += 1;
                    deltas.push(-previous);
                    previous = 0;
                }
                span.length += 1;
            }
            _ => spans.push(BucketSpan {
                offset: gap,
                length: 1,
            }),
        }
        deltas.push(count as i64 - previous);
        previous = count as i64;
        next_index = index + 1;
    }
    (spans, deltas)
}

/// The cumulative native histogram of `trend`, its values multiplied by
/// `scale` (1/1000 turns milliseconds into seconds), stamped `timestamp_ms`.
pub fn from_trend(trend: &Trend, scale: f64, timestamp_ms: i64) -> Histogram {
    let mut buckets: Vec<(i32, u64)> = Vec::new();
    let (mut zero_count, mut count) = (0u64, 0u64);
    for (value, n) in trend.bins() {
        count += n;
        let value = value * scale;
        if value <= ZERO_THRESHOLD {
            zero_count += n;
            continue;
        }
        let index = bucket_index(value);
        match buckets.last_mut() {
            Some((last, total)) if *last == index => *total += n,
            _ => buckets.push((index, n)),
        }
    }
    let (positive_spans, positive_deltas) = spans_and_deltas(&buckets);
    Histogram {
        count: Some(Count::Int(count)),
        sum: trend.sum() * scale,
        schema: SCHEMA,
        zero_threshold: ZERO_THRESHOLD,
        zero_count: Some(ZeroCount::Int(zero_count)),
        positive_spans,
        positive_deltas,
        timestamp: timestamp_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_boundaries_are_powers_of_two_to_the_eighth() {
        assert_eq!(bucket_index(1.0), 0);
        assert_eq!(bucket_index(1.0001), 1);
        assert_eq!(bucket_index(2.0), 8);
        assert_eq!(bucket_index(0.5), -8);
        for i in -200..200 {
            let upper = 2f64.powf(i as f64 / 8.0);
            assert_eq!(
                bucket_index(upper * (1.0 - 1e-12)),
                i,
                "just under 2^({i}/8)"
            );
            assert_eq!(
                bucket_index(upper * (1.0 + 1e-12)),
                i + 1,
                "just over 2^({i}/8)"
            );
        }
        assert_eq!(frexp(1e-310).0, frexp(1e-310 * 2f64.powi(64)).0);
    }

    #[test]
    fn small_gaps_are_filled_and_large_ones_open_a_span() {
        let (spans, deltas) = spans_and_deltas(&[(-3, 2), (-1, 5), (10, 1)]);
        assert_eq!(
            spans,
            [
                BucketSpan {
                    offset: -3,
                    length: 3
                },
                BucketSpan {
                    offset: 10,
                    length: 1
                }
            ]
        );
        // Counts 2, 0, 5, 1.
        assert_eq!(deltas, [2, -2, 5, -4]);
    }

    #[test]
    fn a_trend_becomes_a_histogram_with_its_count_and_sum() {
        let mut trend = Trend::default();
        for ms in [0.0, 1.0, 1.0, 3.0, 900.0] {
            trend.add(ms);
        }
        let histogram = from_trend(&trend, 1e-3, 42);
        assert_eq!(histogram.count, Some(Count::Int(5)));
        assert_eq!(histogram.zero_count, Some(ZeroCount::Int(1)));
        assert!((histogram.sum - 0.905).abs() < 1e-12);
        // Expand the spans back into (index, count).
        let mut expanded = Vec::new();
        let (mut index, mut count) = (0, 0);
        let mut deltas = histogram.positive_deltas.iter();
        for span in &histogram.positive_spans {
            index += span.offset;
            for _ in 0..span.length {
                count += deltas.next().unwrap();
                if count > 0 {
                    expanded.push((index, count));
                }
                index += 1;
            }
        }
        assert_eq!(
            expanded,
            [
                (bucket_index(0.001), 2),
                (bucket_index(0.003), 1),
                (bucket_index(0.9), 1)
            ]
        );
    }
}
