//! In-process demo target: a small concert-booking HTTP API with settable,
//! deterministic latency and error injection.
//!
//! The demo target is "something real to hit" for the README quick start and
//! for tests. It keeps its own exact request counters so a test can compare
//! what the load tester reports with what the server actually saw.
//!
//! # Endpoints
//!
//! | Method & path              | Result                                                        |
//! |----------------------------|---------------------------------------------------------------|
//! | `POST /queue/token`        | 200 `{"token": "<hex>"}`                                      |
//! | `GET /dates`               | 200 `[{"id": 1, "date": "2027-01-15", "venue": "..."}, ...]`  |
//! | `GET /dates/{id}/seats`    | 200 `[{"id": "A1", "available": true}, ...]`, 404 unknown date |
//! | `POST /reservations`       | 201 `{"reservation_id": "...", "expires_in": 300}`, 400/404/409 |
//! | `POST /payments`           | 200 `{"status": "paid"}`, 400/404/409                         |
//! | `GET /hello`, `GET /`      | 200 `hello` (plain text)                                      |
//! | `GET /__stats`             | [`DemoStats`] as JSON (not counted)                           |
//! | `POST /__reset`            | zeroes the counters (not counted)                             |
//! | `GET /__config`, `PUT /__config` | read / replace the [`DemoConfig`] (not counted)         |
//!
//! Every booking endpoint except `POST /queue/token` needs
//! `Authorization: Bearer <token>` with an issued token, else 401. Errors are
//! JSON: `{"error": "..."}`.
//!
//! # Counted requests, latency and errors
//!
//! Every request whose path does not start with `/__` is *counted*: it gets a
//! sequence number `n` from a global counter (starting at 0, restarted by a
//! stats reset). Request `n` is delayed by [`LatencySpec::delay_for_request`]
//! (with `tokio::time::sleep`) and then, if [`DemoConfig::error_rate`] selects
//! it, answered `500 {"error": "injected failure"}` without running the
//! handler. Both choices are deterministic functions of `n`: with
//! `"90%:5ms,10%:50ms"` every 10 consecutive counted requests contain exactly
//! 9 delayed 5 ms and 1 delayed 50 ms, and with `error_rate = 0.1` requests
//! `n = 9, 19, 29, ...` (every 10th) fail.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Parts per million: the resolution of latency percentages and error rates.
const PPM: u64 = 1_000_000;
/// Largest delay a [`LatencySpec`] may inject.
const MAX_DELAY_US: u64 = 10_000_000;

/// Error for an invalid [`LatencySpec`] string or [`DemoConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfigError(String);

impl fmt::Display for DemoConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoConfigError {}

/// A deterministic latency distribution, written as a string.
///
/// Syntax: either a single duration (`"5ms"`, `"250us"`, `"1.5s"`; `"0"` or
/// `"none"` for no delay) or a comma-separated list of
/// `<percent>%:<duration>` entries whose percentages sum to exactly 100, e.g.
/// `"90%:5ms,10%:50ms"` or `"99.9%:1ms,0.1%:2s"`. Units are `us` (or `µs`),
/// `ms` and `s`; durations must be whole microseconds and at most 10 s;
/// percentages may have up to 4 decimal places.
///
/// The distribution is applied by request sequence number, not randomly: the
/// entries are interleaved over a cycle of `W` requests (`W = 10` for
/// `"90%:5ms,10%:50ms"`), and *every* window of `W` consecutive requests
/// holds exactly the given share of each delay.
///
/// Serialized (serde) as its string form; [`fmt::Display`] gives a canonical
/// string that parses back to the same spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencySpec {
    /// `(share in ppm, delay in µs)`, shares sum to [`PPM`], in input order.
    entries: Vec<(u64, u64)>,
    /// Length of the interleaving cycle.
    cycle: u64,
    /// Multiplier coprime with `cycle` that permutes positions in the cycle.
    step: u64,
    /// Exclusive upper bound, in cycle positions, of each entry.
    bounds: Vec<u64>,
}

impl LatencySpec {
    /// No injected delay (the default).
    pub fn none() -> Self {
        Self::from_entries(vec![(PPM, 0)])
    }

    /// The same delay for every request.
    ///
    /// # Panics
    ///
    /// If `delay` is over 10 s.
    pub fn fixed(delay: Duration) -> Self {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        assert!(
            us <= MAX_DELAY_US,
            "demo target delay {delay:?} is over 10 s"
        );
        Self::from_entries(vec![(PPM, us)])
    }

    fn from_entries(entries: Vec<(u64, u64)>) -> Self {
        let g = entries.iter().fold(0, |g, &(ppm, _)| gcd(g, ppm));
        let cycle = PPM / g;
        // A step near cycle/golden-ratio that is coprime with the cycle length
        // turns `k -> k * step mod cycle` into a well-spread permutation, so
        // the entries are interleaved instead of coming in runs.
        let mut step = ((cycle as f64) * 0.618_033_988_75).round() as u64 % cycle;
        while cycle > 1 && gcd(step, cycle) != 1 {
            step = (step + 1) % cycle;
        }
        let mut acc = 0;
        let bounds = entries
            .iter()
            .map(|&(ppm, _)| {
                acc += ppm / g;
                acc
            })
            .collect();
        Self {
            entries,
            cycle,
            step,
            bounds,
        }
    }

    /// The delay injected for the counted request with sequence number `n`.
    pub fn delay_for_request(&self, n: u64) -> Duration {
        Duration::from_micros(self.delay_us_for(n))
    }

    fn delay_us_for(&self, n: u64) -> u64 {
        if self.entries.len() == 1 {
            return self.entries[0].1;
        }
        let pos = (n % self.cycle) * self.step % self.cycle;
        let idx = self.bounds.partition_point(|&b| b <= pos);
        self.entries[idx].1
    }

    /// The entries as `(fraction of requests in 0.0..=1.0, delay)`.
    pub fn entries(&self) -> Vec<(f64, Duration)> {
        self.entries
            .iter()
            .map(|&(ppm, us)| (ppm as f64 / PPM as f64, Duration::from_micros(us)))
            .collect()
    }

    /// Number of consecutive requests over which the distribution is exact
    /// (10 for `"90%:5ms,10%:50ms"`, 1 for a single duration).
    pub fn cycle_len(&self) -> u64 {
        self.cycle
    }

    /// True when no request is delayed.
    pub fn is_none(&self) -> bool {
        self.entries.iter().all(|&(_, us)| us == 0)
    }
}

impl Default for LatencySpec {
    fn default() -> Self {
        Self::none()
    }
}

impl FromStr for LatencySpec {
    type Err = DemoConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: String| {
            DemoConfigError(format!(
                "invalid latency {s:?}: {why} (expected e.g. \"5ms\" or \"90%:5ms,10%:50ms\")"
            ))
        };
        let text = s.trim();
        if text.is_empty() {
            return Err(bad("empty string".into()));
        }
        if text.eq_ignore_ascii_case("none") {
            return Ok(Self::none());
        }
        if !text.contains(':') {
            if text.contains(',') || text.contains('%') {
                return Err(bad("each entry needs the form <percent>%:<duration>".into()));
            }
            let us = parse_duration_us(text).map_err(bad)?;
            return Ok(Self::from_entries(vec![(PPM, us)]));
        }
        let mut entries = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let Some((pct, dur)) = part.split_once(':') else {
                return Err(bad(format!("entry {part:?} is not <percent>%:<duration>")));
            };
            let Some(pct) = pct.trim().strip_suffix('%') else {
                return Err(bad(format!(
                    "percentage {:?} must end with '%'",
                    pct.trim()
                )));
            };
            let ppm = parse_percent_ppm(pct.trim()).map_err(bad)?;
            if ppm == 0 {
                return Err(bad(format!("percentage {pct}% must be greater than 0")));
            }
            let us = parse_duration_us(dur.trim()).map_err(bad)?;
            entries.push((ppm, us));
        }
        let sum: u64 = entries.iter().map(|&(ppm, _)| ppm).sum();
        if sum != PPM {
            return Err(bad(format!(
                "percentages sum to {}%, not 100%",
                fmt_ppm_percent(sum)
            )));
        }
        Ok(Self::from_entries(entries))
    }
}

impl fmt::Display for LatencySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [(_, us)] = self.entries[..] {
            return f.write_str(&fmt_duration_us(us));
        }
        for (i, &(ppm, us)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}%:{}", fmt_ppm_percent(ppm), fmt_duration_us(us))?;
        }
        Ok(())
    }
}

impl Serialize for LatencySpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LatencySpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Parses `digits[.digits]` into an integer scaled by `10^scale_digits`,
/// rejecting more than `scale_digits` decimals that are not all zero.
fn parse_decimal_scaled(s: &str, scale_digits: u32) -> Result<u64, String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !digits_ok(int) || !digits_ok(frac) {
        return Err(format!("{s:?} is not a number"));
    }
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > scale_digits as usize {
        return Err(format!("{s:?} has too many decimal places"));
    }
    let scale = 10u64.pow(scale_digits);
    let int_val: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| format!("{s:?} is too large"))?
    };
    let frac_val: u64 = if frac_trimmed.is_empty() {
        0
    } else {
        let v: u64 = frac_trimmed
            .parse()
            .map_err(|_| format!("{s:?} is not a number"))?;
        v * 10u64.pow(scale_digits - frac_trimmed.len() as u32)
    };
    int_val
        .checked_mul(scale)
        .and_then(|v| v.checked_add(frac_val))
        .ok_or_else(|| format!("{s:?} is too large"))
}

fn parse_percent_ppm(s: &str) -> Result<u64, String> {
    let ppm = parse_decimal_scaled(s, 4).map_err(|e| format!("percentage {e}"))?;
    if ppm > PPM {
        return Err(format!("percentage {s}% is over 100%"));
    }
    Ok(ppm)
}

fn parse_duration_us(s: &str) -> Result<u64, String> {
    if s == "0" {
        return Ok(0);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("duration {s:?} needs a unit (us, ms or s)"))?;
    let (num, unit) = s.split_at(split);
    let digits = match unit.trim() {
        "us" | "µs" => 0,
        "ms" => 3,
        "s" => 6,
        other => {
            return Err(format!(
                "duration {s:?} has unknown unit {other:?} (use us, ms or s)"
            ));
        }
    };
    let us = parse_decimal_scaled(num, digits)
        .map_err(|e| format!("duration {e} (must be whole microseconds)"))?;
    if us > MAX_DELAY_US {
        return Err(format!("duration {s:?} is over the 10s maximum"));
    }
    Ok(us)
}

fn fmt_duration_us(us: u64) -> String {
    if us.is_multiple_of(1000) {
        format!("{}ms", us / 1000)
    } else {
        format!("{us}us")
    }
}

fn fmt_ppm_percent(ppm: u64) -> String {
    let (int, frac) = (ppm / 10_000, ppm % 10_000);
    if frac == 0 {
        int.to_string()
    } else {
        format!("{int}.{}", format!("{frac:04}").trim_end_matches('0'))
    }
}

/// Behaviour of a [`DemoTarget`]: injected latency and error rate.
///
/// JSON form (used by `PUT /__config`; missing fields take their defaults,
/// unknown fields are rejected): `{"latency": "90%:5ms,10%:50ms", "error_rate": 0.1}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// Delay added to every counted request, chosen deterministically by the
    /// request's sequence number. Default: no delay.
    pub latency: LatencySpec,
    /// Fraction (`0.0..=1.0`, resolution 1e-6) of counted requests answered
    /// `500 {"error": "injected failure"}`, chosen deterministically by the
    /// request's sequence number: request `n` fails when
    /// `floor((n + 1) * rate) > floor(n * rate)`, so `0.1` fails every 10th
    /// request. Failing requests are still delayed. Default: `0.0`.
    pub error_rate: f64,
}

impl DemoConfig {
    /// Checks that the config can be applied (`error_rate` finite and within
    /// `0.0..=1.0`).
    pub fn validate(&self) -> Result<(), DemoConfigError> {
        self.error_ppm().map(|_| ())
    }

    fn error_ppm(&self) -> Result<u64, DemoConfigError> {
        let r = self.error_rate;
        if !(0.0..=1.0).contains(&r) {
            return Err(DemoConfigError(format!(
                "invalid error_rate {r}: must be between 0.0 and 1.0"
            )));
        }
        Ok((r * PPM as f64).round() as u64)
    }
}

/// A validated config, ready for the hot path.
struct Active {
    config: DemoConfig,
    error_ppm: u64,
}

impl Active {
    fn new(config: DemoConfig) -> Result<Self, DemoConfigError> {
        let error_ppm = config.error_ppm()?;
        Ok(Self { config, error_ppm })
    }

    fn fails(&self, n: u64) -> bool {
        let e = u128::from(self.error_ppm);
        let n = u128::from(n);
        (n + 1) * e / u128::from(PPM) > n * e / u128::from(PPM)
    }
}

// ---------------------------------------------------------------------------
// Histograms
// ---------------------------------------------------------------------------

/// Below this many µs, histogram buckets are 1 µs wide.
const FINE_LIMIT_US: u64 = 10_000;
/// Number of 1 ms buckets, covering `[10 ms, 10_001 ms)`.
const COARSE_BUCKETS: u64 = 9_991;
/// Index of the overflow bucket (everything at or over 10 001 ms).
const OVERFLOW_BUCKET: usize = (FINE_LIMIT_US + COARSE_BUCKETS) as usize;

fn bucket_index(us: u64) -> usize {
    if us < FINE_LIMIT_US {
        us as usize
    } else {
        let ms = (us - FINE_LIMIT_US) / 1000;
        if ms < COARSE_BUCKETS {
            (FINE_LIMIT_US + ms) as usize
        } else {
            OVERFLOW_BUCKET
        }
    }
}

fn bucket_bounds(idx: usize) -> (u64, u64) {
    let idx = idx as u64;
    if idx < FINE_LIMIT_US {
        (idx, idx + 1)
    } else if (idx as usize) < OVERFLOW_BUCKET {
        let lower = FINE_LIMIT_US + (idx - FINE_LIMIT_US) * 1000;
        (lower, lower + 1000)
    } else {
        (FINE_LIMIT_US + COARSE_BUCKETS * 1000, u64::MAX)
    }
}

/// Fixed-bucket histogram of durations with atomic counters (no locks).
struct AtomicHistogram {
    counts: Box<[AtomicU64]>,
}

impl AtomicHistogram {
    fn new() -> Self {
        Self {
            counts: (0..=OVERFLOW_BUCKET).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn record_us(&self, us: u64) {
        self.counts[bucket_index(us)].fetch_add(1, Ordering::Relaxed);
    }

    fn reset(&self) {
        for c in self.counts.iter() {
            c.store(0, Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> LatencyHistogram {
        let buckets = self
            .counts
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let count = c.load(Ordering::Relaxed);
                (count > 0).then(|| {
                    let (lower_us, upper_us) = bucket_bounds(i);
                    HistogramBucket {
                        lower_us,
                        upper_us,
                        count,
                    }
                })
            })
            .collect();
        LatencyHistogram { buckets }
    }
}

/// One non-empty histogram bucket: `count` durations in `[lower_us, upper_us)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramBucket {
    /// Inclusive lower bound in microseconds.
    pub lower_us: u64,
    /// Exclusive upper bound in microseconds (`u64::MAX` for the overflow bucket).
    pub upper_us: u64,
    /// Number of recorded durations in the bucket.
    pub count: u64,
}

/// Snapshot of a duration histogram.
///
/// Buckets are 1 µs wide below 10 ms and 1 ms wide from 10 ms to 10 s (one
/// overflow bucket above); only non-empty buckets are listed, in ascending
/// order. Injected delays (whole microseconds below 10 ms, whole milliseconds
/// above) therefore land exactly on a bucket's lower bound.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyHistogram {
    /// Non-empty buckets, ascending.
    pub buckets: Vec<HistogramBucket>,
}

impl LatencyHistogram {
    /// Number of recorded durations.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.count).sum()
    }

    /// The `p`-th percentile in milliseconds, `p` in `0.0..=100.0` (e.g.
    /// `99.0` for p99), by the nearest-rank method: the lower bound of the
    /// bucket holding the `ceil(p / 100 * count)`-th smallest value (at least
    /// the first). Returns 0.0 when the histogram is empty.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return 0.0;
        }
        let rank = ((p.clamp(0.0, 100.0) / 100.0 * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for b in &self.buckets {
            seen += b.count;
            if seen >= rank {
                return b.lower_us as f64 / 1000.0;
            }
        }
        unreachable!("rank is at most the total count")
    }

    /// Number of recorded durations whose bucket starts in `[from_ms, to_ms)`.
    pub fn count_between_ms(&self, from_ms: f64, to_ms: f64) -> u64 {
        self.buckets
            .iter()
            .filter(|b| {
                let ms = b.lower_us as f64 / 1000.0;
                ms >= from_ms && ms < to_ms
            })
            .map(|b| b.count)
            .sum()
    }

    /// Approximate mean in milliseconds (bucket lower bounds), 0.0 when empty.
    pub fn mean_ms(&self) -> f64 {
        let total = self.count();
        if total == 0 {
            return 0.0;
        }
        let sum: f64 = self
            .buckets
            .iter()
            .map(|b| b.lower_us as f64 * b.count as f64)
            .sum();
        sum / total as f64 / 1000.0
    }
}

// ---------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------

/// Route labels used in [`DemoStats::by_route`].
const ROUTES: [&str; 8] = [
    "GET /",
    "GET /hello",
    "POST /queue/token",
    "GET /dates",
    "GET /dates/{id}/seats",
    "POST /reservations",
    "POST /payments",
    "OTHER",
];
const OTHER_ROUTE: usize = ROUTES.len() - 1;
const STATUS_SLOTS: usize = 600;

/// Index into [`ROUTES`] for a method and matched route template.
fn route_index(method: &Method, matched_path: Option<&str>) -> usize {
    let Some(path) = matched_path else {
        return OTHER_ROUTE;
    };
    match (path, method.as_str()) {
        ("/", "GET") => 0,
        ("/hello", "GET") => 1,
        ("/queue/token", "POST") => 2,
        ("/dates", "GET") => 3,
        ("/dates/{id}/seats", "GET") => 4,
        ("/reservations", "POST") => 5,
        ("/payments", "POST") => 6,
        _ => OTHER_ROUTE,
    }
}

struct Counters {
    /// Counted requests that arrived; also the sequence number source.
    arrived: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    injected_errors: AtomicU64,
    bytes_received: AtomicU64,
    by_route: [AtomicU64; ROUTES.len()],
    by_status: Box<[AtomicU64]>,
    delay: AtomicHistogram,
    handling: AtomicHistogram,
}

impl Counters {
    fn new() -> Self {
        Self {
            arrived: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            injected_errors: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            by_route: std::array::from_fn(|_| AtomicU64::new(0)),
            by_status: (0..STATUS_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            delay: AtomicHistogram::new(),
            handling: AtomicHistogram::new(),
        }
    }

    fn reset(&self) {
        for c in [
            &self.arrived,
            &self.completed,
            &self.cancelled,
            &self.injected_errors,
            &self.bytes_received,
        ]
        .into_iter()
        .chain(self.by_route.iter())
        .chain(self.by_status.iter())
        {
            c.store(0, Ordering::Relaxed);
        }
        self.delay.reset();
        self.handling.reset();
    }

    fn snapshot(&self) -> DemoStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let total = load(&self.completed);
        let cancelled = load(&self.cancelled);
        DemoStats {
            total,
            in_flight: load(&self.arrived).saturating_sub(total + cancelled),
            cancelled,
            injected_errors: load(&self.injected_errors),
            bytes_received: load(&self.bytes_received),
            by_route: ROUTES
                .iter()
                .zip(self.by_route.iter())
                .filter_map(|(name, c)| {
                    let v = load(c);
                    (v > 0).then(|| (name.to_string(), v))
                })
                .collect(),
            by_status: self
                .by_status
                .iter()
                .enumerate()
                .filter_map(|(code, c)| {
                    let v = load(c);
                    (v > 0).then_some((code as u16, v))
                })
                .collect(),
            delay: self.delay.snapshot(),
            handling: self.handling.snapshot(),
        }
    }
}

/// Snapshot of a demo target's counters (also the JSON of `GET /__stats`).
///
/// Only counted requests are included (paths not starting with `/__`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DemoStats {
    /// Counted requests answered (a response was produced).
    pub total: u64,
    /// Counted requests that arrived but are not yet answered.
    pub in_flight: u64,
    /// Counted requests abandoned before a response was produced (the client
    /// went away, e.g. timed out during the injected delay).
    pub cancelled: u64,
    /// Answered requests that got the injected `500`.
    pub injected_errors: u64,
    /// Request body bytes received by counted requests.
    pub bytes_received: u64,
    /// Answered requests per route template, e.g. `"GET /dates/{id}/seats"`;
    /// unmatched paths and methods count as `"OTHER"`. Zero entries omitted.
    pub by_route: BTreeMap<String, u64>,
    /// Answered requests per HTTP status code. Zero entries omitted.
    pub by_status: BTreeMap<u16, u64>,
    /// Injected delay of every counted request (recorded on arrival, so it
    /// includes in-flight and cancelled requests).
    pub delay: LatencyHistogram,
    /// Server-side handling time of every answered request: from the start
    /// of the counting middleware to the response head being ready (includes
    /// the injected delay and reading the request body).
    pub handling: LatencyHistogram,
}

impl DemoStats {
    /// Answered requests for a route template (0 if none).
    pub fn route(&self, route: &str) -> u64 {
        self.by_route.get(route).copied().unwrap_or(0)
    }

    /// Answered requests with a status code (0 if none).
    pub fn status(&self, code: u16) -> u64 {
        self.by_status.get(&code).copied().unwrap_or(0)
    }

    /// Percentile (`p` in `0.0..=100.0`) of the injected delay in ms; see
    /// [`LatencyHistogram::percentile_ms`].
    pub fn delay_percentile_ms(&self, p: f64) -> f64 {
        self.delay.percentile_ms(p)
    }

    /// Percentile (`p` in `0.0..=100.0`) of the server-side handling time in
    /// ms; see [`LatencyHistogram::percentile_ms`].
    pub fn handling_percentile_ms(&self, p: f64) -> f64 {
        self.handling.percentile_ms(p)
    }
}

// ---------------------------------------------------------------------------
// Booking state
// ---------------------------------------------------------------------------

const SHARDS: usize = 16;
const ROWS: usize = 10;
const SEATS_PER_ROW: usize = 20;
const SEATS_PER_DATE: usize = ROWS * SEATS_PER_ROW;
/// Reservation lifetime announced in `expires_in` and enforced for payments.
const RESERVATION_TTL: Duration = Duration::from_secs(300);
/// Tokens are forgotten after this long (keeps memory bounded in long tests).
const TOKEN_TTL: Duration = Duration::from_secs(3600);
/// A shard is pruned of expired entries once it grows past this size.
const PRUNE_MIN_LEN: usize = 4096;

const DATES: [(u64, &str, &str); 5] = [
    (1, "2027-01-15", "Royal Albert Hall, London"),
    (2, "2027-02-20", "Olympia, Paris"),
    (3, "2027-03-18", "Tempodrom, Berlin"),
    (4, "2027-04-22", "Ziggo Dome, Amsterdam"),
    (5, "2027-05-27", "Palau Sant Jordi, Barcelona"),
];

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One shard of a map whose entries expire; pruned lazily on insert.
struct ExpiringShard<V> {
    map: HashMap<u128, (Instant, V)>,
    prune_at_len: usize,
}

/// A sharded map from random 128-bit ids to values with a time to live.
struct ExpiringMap<V> {
    shards: Vec<Mutex<ExpiringShard<V>>>,
    ttl: Duration,
}

impl<V> ExpiringMap<V> {
    fn new(ttl: Duration) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(ExpiringShard {
                        map: HashMap::new(),
                        prune_at_len: PRUNE_MIN_LEN,
                    })
                })
                .collect(),
            ttl,
        }
    }

    fn shard(&self, id: u128) -> &Mutex<ExpiringShard<V>> {
        &self.shards[(id % SHARDS as u128) as usize]
    }

    fn insert(&self, id: u128, value: V) {
        let now = Instant::now();
        let mut shard = lock(self.shard(id));
        if shard.map.len() >= shard.prune_at_len {
            let ttl = self.ttl;
            shard.map.retain(|_, (t, _)| now.duration_since(*t) < ttl);
            shard.prune_at_len = (shard.map.len() * 2).max(PRUNE_MIN_LEN);
        }
        shard.map.insert(id, (now, value));
    }

    /// Runs `f` on the live entry for `id`, if any.
    fn with<R>(&self, id: u128, f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let mut shard = lock(self.shard(id));
        match shard.map.get_mut(&id) {
            Some((t, v)) if t.elapsed() < self.ttl => Some(f(v)),
            _ => None,
        }
    }
}

#[derive(Default)]
struct DateSeats {
    taken: Vec<bool>,
    taken_count: usize,
}

struct Booking {
    tokens: ExpiringMap<()>,
    reservations: ExpiringMap<bool>,
    dates: Vec<Mutex<DateSeats>>,
    dates_json: Bytes,
}

impl Booking {
    fn new() -> Self {
        #[derive(Serialize)]
        struct DateOut {
            id: u64,
            date: &'static str,
            venue: &'static str,
        }
        let list: Vec<DateOut> = DATES
            .iter()
            .map(|&(id, date, venue)| DateOut { id, date, venue })
            .collect();
        Self {
            tokens: ExpiringMap::new(TOKEN_TTL),
            reservations: ExpiringMap::new(RESERVATION_TTL),
            dates: DATES
                .iter()
                .map(|_| {
                    Mutex::new(DateSeats {
                        taken: vec![false; SEATS_PER_DATE],
                        taken_count: 0,
                    })
                })
                .collect(),
            dates_json: Bytes::from(serde_json::to_vec(&list).expect("static JSON")),
        }
    }

    fn date(&self, id: u64) -> Option<&Mutex<DateSeats>> {
        let idx = DATES.iter().position(|&(d, _, _)| d == id)?;
        Some(&self.dates[idx])
    }
}

fn seat_name(idx: usize) -> String {
    format!(
        "{}{}",
        char::from(b'A' + (idx / SEATS_PER_ROW) as u8),
        idx % SEATS_PER_ROW + 1
    )
}

fn seat_index(name: &str) -> Option<usize> {
    let mut chars = name.chars();
    let row = chars.next()?.to_ascii_uppercase();
    let row = (row as usize).checked_sub('A' as usize)?;
    let num = chars.as_str();
    if row >= ROWS || num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num: usize = num.parse().ok()?;
    (1..=SEATS_PER_ROW)
        .contains(&num)
        .then(|| row * SEATS_PER_ROW + num - 1)
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

/// Shared state of a demo target.
struct Shared {
    config: RwLock<Arc<Active>>,
    counters: Counters,
    booking: Booking,
}

impl Shared {
    fn active(&self) -> Arc<Active> {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_active(&self, active: Active) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(active);
    }
}

type AppState = Arc<Shared>;

/// Largest request body accepted (the same as axum's default limit).
const MAX_BODY: usize = 2 * 1024 * 1024;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(ErrorBody { error: message })).into_response()
}

/// A JSON error answer, small enough to return in a `Result`.
struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.status, &self.message)
    }
}

type ApiResult = Result<Response, ApiError>;

fn build_router(state: AppState) -> Router {
    Router::new()
        .route("/", get(hello))
        .route("/hello", get(hello))
        .route("/queue/token", post(issue_token))
        .route("/dates", get(list_dates))
        .route("/dates/{id}/seats", get(list_seats))
        .route("/reservations", post(reserve))
        .route("/payments", post(pay))
        .route("/__stats", get(get_stats))
        .route("/__reset", post(reset_stats))
        .route("/__config", get(get_config).put(put_config))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

/// Marks a counted request cancelled if its future is dropped before it is
/// answered.
struct CancelGuard<'a> {
    counters: &'a Counters,
    answered: bool,
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.counters.cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Counting, latency and error injection middleware.
async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/__") {
        return next.run(req).await;
    }
    let start = Instant::now();
    let counters = &state.counters;
    let n = counters.arrived.fetch_add(1, Ordering::Relaxed);
    let mut guard = CancelGuard {
        counters,
        answered: false,
    };
    let route = route_index(
        req.method(),
        req.extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let (delay_us, fail) = {
        let active = state.active();
        (active.config.latency.delay_us_for(n), active.fails(n))
    };
    counters.delay.record_us(delay_us);

    let (parts, body) = req.into_parts();
    let body = if body.is_end_stream() {
        Ok(Body::empty())
    } else {
        match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(bytes) => {
                counters
                    .bytes_received
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                Ok(Body::from(bytes))
            }
            Err(_) => Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body unreadable or over 2 MiB",
            )),
        }
    };
    if delay_us > 0 {
        tokio::time::sleep(Duration::from_micros(delay_us)).await;
    }
    let response = match body {
        Err(response) => response,
        Ok(_) if fail => {
            counters.injected_errors.fetch_add(1, Ordering::Relaxed);
            error(StatusCode::INTERNAL_SERVER_ERROR, "injected failure")
        }
        Ok(body) => next.run(Request::from_parts(parts, body)).await,
    };

    let elapsed_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    counters.handling.record_us(elapsed_us);
    counters.by_route[route].fetch_add(1, Ordering::Relaxed);
    let status = usize::from(response.status().as_u16());
    if let Some(c) = counters.by_status.get(status) {
        c.fetch_add(1, Ordering::Relaxed);
    }
    counters.completed.fetch_add(1, Ordering::Relaxed);
    guard.answered = true;
    response
}

async fn hello() -> &'static str {
    "hello"
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

fn authorize(state: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let unauthorized = |msg: &'static str| ApiError::new(StatusCode::UNAUTHORIZED, msg);
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        unauthorized("missing Authorization header (get a token from POST /queue/token)")
    })?;
    let id = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|(_, t)| parse_id(t.trim()))
        .ok_or_else(|| {
            unauthorized(
                "Authorization must be \"Bearer <token>\" with a token from POST /queue/token",
            )
        })?;
    state
        .booking
        .tokens
        .with(id, |_| ())
        .ok_or_else(|| unauthorized("unknown or expired token"))
}

fn new_id() -> u128 {
    rand::random()
}

fn fmt_id(id: u128) -> String {
    format!("{id:032x}")
}

fn parse_id(s: &str) -> Option<u128> {
    if s.len() != 32 {
        return None;
    }
    u128::from_str_radix(s, 16).ok()
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

async fn issue_token(State(state): State<AppState>) -> Response {
    #[derive(Serialize)]
    struct TokenOut {
        token: String,
    }
    let id = new_id();
    state.booking.tokens.insert(id, ());
    Json(TokenOut { token: fmt_id(id) }).into_response()
}

async fn list_dates(State(state): State<AppState>, headers: HeaderMap) -> ApiResult {
    authorize(&state, &headers)?;
    Ok(json_response(
        StatusCode::OK,
        state.booking.dates_json.clone(),
    ))
}

async fn list_seats(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    #[derive(Serialize)]
    struct SeatOut {
        id: String,
        available: bool,
    }
    authorize(&state, &headers)?;
    let Some(date) = id.parse().ok().and_then(|id| state.booking.date(id)) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown date"));
    };
    let taken = lock(date).taken.clone();
    let seats: Vec<SeatOut> = taken
        .iter()
        .enumerate()
        .map(|(i, &t)| SeatOut {
            id: seat_name(i),
            available: !t,
        })
        .collect();
    Ok(Json(seats).into_response())
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("malformed request body: {e}"),
        )
    })
}

async fn reserve(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult {
    #[derive(Deserialize)]
    struct ReserveIn {
        date_id: u64,
        seat_id: String,
    }
    #[derive(Serialize)]
    struct ReserveOut {
        reservation_id: String,
        expires_in: u64,
    }
    authorize(&state, &headers)?;
    let req: ReserveIn = parse_body(&body)?;
    let Some(date) = state.booking.date(req.date_id) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown date"));
    };
    let Some(seat) = seat_index(&req.seat_id) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown seat"));
    };
    {
        let mut seats = lock(date);
        if seats.taken[seat] {
            return Err(ApiError::new(StatusCode::CONFLICT, "seat already taken"));
        }
        seats.taken[seat] = true;
        seats.taken_count += 1;
        if seats.taken_count == SEATS_PER_DATE {
            // Sold out: free every seat so long load tests never run dry.
            seats.taken.fill(false);
            seats.taken_count = 0;
        }
    }
    let id = new_id();
    state.booking.reservations.insert(id, false);
    Ok((
        StatusCode::CREATED,
        Json(ReserveOut {
            reservation_id: fmt_id(id),
            expires_in: RESERVATION_TTL.as_secs(),
        }),
    )
        .into_response())
}

async fn pay(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult {
    #[derive(Deserialize)]
    struct PayIn {
        reservation_id: String,
    }
    #[derive(Serialize)]
    struct PayOut {
        status: &'static str,
    }
    authorize(&state, &headers)?;
    let req: PayIn = parse_body(&body)?;
    let paid_before = parse_id(&req.reservation_id).and_then(|id| {
        state
            .booking
            .reservations
            .with(id, |paid| std::mem::replace(paid, true))
    });
    match paid_before {
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown or expired reservation",
        )),
        Some(true) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "reservation already paid",
        )),
        Some(false) => Ok(Json(PayOut { status: "paid" }).into_response()),
    }
}

async fn get_stats(State(state): State<AppState>) -> Json<DemoStats> {
    Json(state.counters.snapshot())
}

async fn reset_stats(State(state): State<AppState>) -> Response {
    state.counters.reset();
    json_response(StatusCode::OK, Bytes::from_static(br#"{"status":"reset"}"#))
}

async fn get_config(State(state): State<AppState>) -> Json<DemoConfig> {
    Json(state.active().config.clone())
}

async fn put_config(State(state): State<AppState>, body: Bytes) -> ApiResult {
    let config: DemoConfig = parse_body(&body)?;
    let active = Active::new(config.clone())
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    state.set_active(active);
    Ok(Json(config).into_response())
}

// ---------------------------------------------------------------------------
// Handle
// ---------------------------------------------------------------------------

/// How long [`DemoTarget::shutdown`] waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running demo target server. Dropping the handle stops the server
/// (without waiting); prefer [`DemoTarget::shutdown`].
pub struct DemoTarget {
    addr: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl fmt::Debug for DemoTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoTarget")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl DemoTarget {
    /// Binds `addr` (port 0 picks a free port) and serves the demo API in a
    /// spawned tokio task, with HTTP/1.1 keep-alive and `TCP_NODELAY` on
    /// every accepted connection.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] if `config` is invalid
    /// (see [`DemoConfig::validate`]), or with the bind error.
    pub async fn start(addr: SocketAddr, config: DemoConfig) -> io::Result<DemoTarget> {
        let active =
            Active::new(config).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Shared {
            config: RwLock::new(Arc::new(active)),
            counters: Counters::new(),
            booking: Booking::new(),
        });
        let app = build_router(state.clone());
        let listener = listener.tap_io(|stream| {
            // Best effort: a failure only costs latency, not correctness.
            let _ = stream.set_nodelay(true);
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // Either an explicit stop or the handle being dropped.
                    let _ = stopped.await;
                })
                .await
        });
        Ok(DemoTarget {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The bound address (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. An
    /// unspecified bind address (`0.0.0.0`, `::`) is replaced by loopback.
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Snapshot of the counters (the same data as `GET /__stats`).
    pub fn stats(&self) -> DemoStats {
        self.state.counters.snapshot()
    }

    /// Zeroes the counters, including the request sequence number that drives
    /// latency and error injection (like `POST /__reset`).
    pub fn reset_stats(&self) {
        self.state.counters.reset();
    }

    /// The current config.
    pub fn config(&self) -> DemoConfig {
        self.state.active().config.clone()
    }

    /// Replaces the config for requests arriving from now on (like
    /// `PUT /__config`). The request sequence number is not reset.
    ///
    /// # Panics
    ///
    /// If the config is invalid; use [`DemoTarget::try_set_config`] to get
    /// an error instead.
    pub fn set_config(&self, config: DemoConfig) {
        if let Err(e) = self.try_set_config(config) {
            panic!("DemoTarget::set_config: {e}");
        }
    }

    /// Replaces the config, or returns why it is invalid (leaving the current
    /// config in place).
    pub fn try_set_config(&self, config: DemoConfig) -> Result<(), DemoConfigError> {
        self.state.set_active(Active::new(config)?);
        Ok(())
    }

    /// Stops accepting connections, closes idle keep-alive connections and
    /// waits (up to 5 s) for in-flight requests to finish; the server task is
    /// aborted after that.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for DemoTarget {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    /// A response read by the raw HTTP/1.1 test client.
    #[derive(Debug)]
    struct Resp {
        status: u16,
        content_type: String,
        body: String,
    }

    impl Resp {
        fn json(&self) -> Value {
            serde_json::from_str(&self.body)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
        }
    }

    /// Minimal keep-alive HTTP/1.1 client over a tokio `TcpStream`.
    struct Client {
        conn: BufReader<TcpStream>,
        token: Option<String>,
    }

    impl Client {
        async fn connect(target: &DemoTarget) -> Client {
            let stream = TcpStream::connect(target.addr()).await.unwrap();
            stream.set_nodelay(true).unwrap();
            Client {
                conn: BufReader::new(stream),
                token: None,
            }
        }

        async fn send(&mut self, method: &str, path: &str, body: Option<&str>) -> Resp {
            let mut req = format!("{method} {path} HTTP/1.1\r\nHost: demo\r\n");
            if let Some(token) = &self.token {
                req += &format!("Authorization: Bearer {token}\r\n");
            }
            if let Some(body) = body {
                req += &format!(
                    "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            } else {
                req += "\r\n";
            }
            self.conn.get_mut().write_all(req.as_bytes()).await.unwrap();
            self.read_response().await
        }

        async fn read_line(&mut self) -> String {
            let mut line = String::new();
            let n = self.conn.read_line(&mut line).await.unwrap();
            assert!(n > 0, "connection closed by server");
            line.trim_end().to_string()
        }

        async fn read_response(&mut self) -> Resp {
            let status_line = self.read_line().await;
            let status: u16 = status_line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
            let (mut length, mut chunked, mut content_type) = (0usize, false, String::new());
            loop {
                let line = self.read_line().await;
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                let (name, value) = (name.to_ascii_lowercase(), value.trim());
                match name.as_str() {
                    "content-length" => length = value.parse().unwrap(),
                    "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                    "content-type" => content_type = value.to_string(),
                    _ => {}
                }
            }
            let mut body = Vec::new();
            if chunked {
                loop {
                    let size = usize::from_str_radix(&self.read_line().await, 16).unwrap();
                    let mut chunk = vec![0; size + 2];
                    self.conn.read_exact(&mut chunk).await.unwrap();
                    if size == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..size]);
                }
            } else {
                body.resize(length, 0);
                self.conn.read_exact(&mut body).await.unwrap();
            }
            Resp {
                status,
                content_type,
                body: String::from_utf8(body).unwrap(),
            }
        }

        async fn login(&mut self) {
            let r = self.send("POST", "/queue/token", None).await;
            assert_eq!(r.status, 200, "{r:?}");
            let token = r.json()["token"].as_str().unwrap().to_string();
            assert_eq!(token.len(), 32);
            assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
            self.token = Some(token);
        }
    }

    async fn start(config: DemoConfig) -> DemoTarget {
        DemoTarget::start("127.0.0.1:0".parse().unwrap(), config)
            .await
            .unwrap()
    }

    fn config(latency: &str, error_rate: f64) -> DemoConfig {
        DemoConfig {
            latency: latency.parse().unwrap(),
            error_rate,
        }
    }

    #[tokio::test]
    async fn booking_flow() {
        let target = start(DemoConfig::default()).await;
        assert!(target.url().starts_with("http://127.0.0.1:"));
        assert_eq!(target.url(), format!("http://{}", target.addr()));
        let mut c = Client::connect(&target).await;
        c.login().await;

        let dates = c.send("GET", "/dates", None).await;
        assert_eq!(dates.status, 200);
        assert_eq!(dates.content_type, "application/json");
        let dates = dates.json();
        let dates = dates.as_array().unwrap();
        assert_eq!(dates.len(), 5);
        assert_eq!(dates[0]["id"], 1);
        assert_eq!(dates[0]["date"], "2027-01-15");
        assert!(dates[0]["venue"].is_string());

        let seats = c.send("GET", "/dates/1/seats", None).await;
        assert_eq!(seats.status, 200);
        let seats = seats.json();
        let seats = seats.as_array().unwrap();
        assert_eq!(seats.len(), 200);
        assert_eq!(seats[0], json!({"id": "A1", "available": true}));
        assert_eq!(seats[199], json!({"id": "J20", "available": true}));

        let body = r#"{"date_id": 1, "seat_id": "A1"}"#;
        let r = c.send("POST", "/reservations", Some(body)).await;
        assert_eq!(r.status, 201, "{r:?}");
        let r = r.json();
        assert_eq!(r["expires_in"], 300);
        let reservation = r["reservation_id"].as_str().unwrap().to_string();

        let seats = c.send("GET", "/dates/1/seats", None).await.json();
        assert_eq!(seats[0], json!({"id": "A1", "available": false}));
        assert_eq!(seats[1], json!({"id": "A2", "available": true}));

        // Double booking.
        let r = c.send("POST", "/reservations", Some(body)).await;
        assert_eq!(r.status, 409);
        assert!(r.json()["error"].is_string());

        let pay = format!(r#"{{"reservation_id": "{reservation}"}}"#);
        let r = c.send("POST", "/payments", Some(&pay)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), json!({"status": "paid"}));
        let r = c.send("POST", "/payments", Some(&pay)).await;
        assert_eq!(r.status, 409);

        // Unknown things and malformed bodies.
        let unknown = format!(r#"{{"reservation_id": "{}"}}"#, "0".repeat(32));
        assert_eq!(
            c.send("POST", "/payments", Some(&unknown)).await.status,
            404
        );
        let bad_id = r#"{"reservation_id": "nope"}"#;
        assert_eq!(c.send("POST", "/payments", Some(bad_id)).await.status, 404);
        assert_eq!(c.send("GET", "/dates/9/seats", None).await.status, 404);
        assert_eq!(c.send("GET", "/dates/x/seats", None).await.status, 404);
        for body in [
            r#"{"date_id": 9, "seat_id": "A1"}"#,
            r#"{"date_id": 1, "seat_id": "K1"}"#,
            r#"{"date_id": 1, "seat_id": "A21"}"#,
            r#"{"date_id": 1, "seat_id": "A0"}"#,
        ] {
            let r = c.send("POST", "/reservations", Some(body)).await;
            assert_eq!(r.status, 404, "{body}");
            assert!(r.json()["error"].is_string());
        }
        for body in [
            "{",
            "",
            r#"{"date_id": 1}"#,
            r#"{"date_id": "1", "seat_id": "A1"}"#,
        ] {
            let r = c.send("POST", "/reservations", Some(body)).await;
            assert_eq!(r.status, 400, "{body}");
            assert!(r.json()["error"].as_str().unwrap().contains("malformed"));
        }
        assert_eq!(c.send("POST", "/payments", Some("[]")).await.status, 400);

        // Unrouted requests are counted as OTHER.
        let r = c.send("GET", "/nope", None).await;
        assert_eq!(r.status, 404);
        assert!(r.json()["error"].is_string());
        assert_eq!(c.send("GET", "/reservations", None).await.status, 405);

        let stats = target.stats();
        assert_eq!(stats.total, 23);
        assert_eq!(stats.in_flight, 0);
        assert_eq!(stats.route("POST /queue/token"), 1);
        assert_eq!(stats.route("GET /dates"), 1);
        assert_eq!(stats.route("GET /dates/{id}/seats"), 4);
        assert_eq!(stats.route("POST /reservations"), 10);
        assert_eq!(stats.route("POST /payments"), 5);
        assert_eq!(stats.route("OTHER"), 2);
        assert_eq!(stats.by_route.values().sum::<u64>(), 23);
        assert_eq!(stats.status(200), 5);
        assert_eq!(stats.status(201), 1);
        assert_eq!(stats.status(400), 5);
        assert_eq!(stats.status(404), 9);
        assert_eq!(stats.status(405), 1);
        assert_eq!(stats.status(409), 2);
        assert_eq!(stats.by_status.values().sum::<u64>(), 23);
        target.shutdown().await;
    }

    #[tokio::test]
    async fn bytes_received_are_counted() {
        let target = start(DemoConfig::default()).await;
        let mut c = Client::connect(&target).await;
        c.login().await;
        let bodies = [
            r#"{"date_id": 2, "seat_id": "B7"}"#,
            r#"{"date_id": 2, "seat_id": "B7"}"#,
            "garbage",
        ];
        for body in bodies {
            c.send("POST", "/reservations", Some(body)).await;
        }
        let expected: usize = bodies.iter().map(|b| b.len()).sum();
        assert_eq!(target.stats().bytes_received, expected as u64);
        target.shutdown().await;
    }

    #[tokio::test]
    async fn sold_out_date_resets() {
        let target = start(DemoConfig::default()).await;
        let mut c = Client::connect(&target).await;
        c.login().await;
        for i in 0..SEATS_PER_DATE - 1 {
            let body = format!(r#"{{"date_id": 3, "seat_id": "{}"}}"#, seat_name(i));
            assert_eq!(
                c.send("POST", "/reservations", Some(&body)).await.status,
                201
            );
        }
        let seats = c.send("GET", "/dates/3/seats", None).await.json();
        let free: Vec<_> = seats
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["available"] == true)
            .collect();
        assert_eq!(free, [&json!({"id": "J20", "available": true})]);
        // Other dates are unaffected.
        let seats = c.send("GET", "/dates/4/seats", None).await.json();
        assert!(
            seats
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["available"] == true)
        );

        let last = r#"{"date_id": 3, "seat_id": "J20"}"#;
        assert_eq!(
            c.send("POST", "/reservations", Some(last)).await.status,
            201
        );
        let seats = c.send("GET", "/dates/3/seats", None).await.json();
        assert!(
            seats
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["available"] == true)
        );
        let again = r#"{"date_id": 3, "seat_id": "A1"}"#;
        assert_eq!(
            c.send("POST", "/reservations", Some(again)).await.status,
            201
        );
        target.shutdown().await;
    }

    #[tokio::test]
    async fn unauthorized_without_valid_token() {
        let target = start(DemoConfig::default()).await;
        let mut c = Client::connect(&target).await;
        let body = r#"{"date_id": 1, "seat_id": "A1"}"#;
        for (method, path, body) in [
            ("GET", "/dates", None),
            ("GET", "/dates/1/seats", None),
            ("POST", "/reservations", Some(body)),
            ("POST", "/payments", Some(r#"{"reservation_id": "x"}"#)),
        ] {
            let r = c.send(method, path, body).await;
            assert_eq!(r.status, 401, "{method} {path}");
            assert_eq!(r.content_type, "application/json");
            assert!(
                r.json()["error"]
                    .as_str()
                    .unwrap()
                    .contains("Authorization")
            );
        }
        for token in ["deadbeef", &"f".repeat(32), "", "a b"] {
            c.token = Some(token.to_string());
            assert_eq!(c.send("GET", "/dates", None).await.status, 401, "{token:?}");
        }
        // The wrong scheme is rejected even with a valid token.
        c.login().await;
        let token = c.token.take().unwrap();
        let req = format!("GET /dates HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n\r\n");
        c.conn.get_mut().write_all(req.as_bytes()).await.unwrap();
        assert_eq!(c.read_response().await.status, 401);
        // Lower-case scheme is fine; /hello needs no token.
        let req =
            format!("GET /dates HTTP/1.1\r\nHost: x\r\nAuthorization: bearer {token}\r\n\r\n");
        c.conn.get_mut().write_all(req.as_bytes()).await.unwrap();
        assert_eq!(c.read_response().await.status, 200);
        let hello = c.send("GET", "/hello", None).await;
        assert_eq!((hello.status, hello.body.as_str()), (200, "hello"));
        assert!(hello.content_type.starts_with("text/plain"));
        let root = c.send("GET", "/", None).await;
        assert_eq!((root.status, root.body.as_str()), (200, "hello"));
        let stats = target.stats();
        assert_eq!(stats.status(401), 9);
        assert_eq!(stats.route("GET /hello"), 1);
        assert_eq!(stats.route("GET /"), 1);
        target.shutdown().await;
    }

    #[tokio::test]
    async fn latency_distribution_is_exact() {
        let target = start(config("90%:5ms,10%:50ms", 0.0)).await;
        let mut c = Client::connect(&target).await;
        let mut client_ms = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let r = c.send("GET", "/hello", None).await;
            client_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(r.status, 200);
        }
        let stats = target.stats();
        assert_eq!(stats.total, 20);
        assert_eq!(stats.delay.count(), 20);
        assert_eq!(stats.delay.count_between_ms(5.0, 5.001), 18);
        assert_eq!(stats.delay.count_between_ms(50.0, 50.001), 2);
        assert_eq!(stats.delay_percentile_ms(50.0), 5.0);
        assert_eq!(stats.delay_percentile_ms(90.0), 5.0);
        assert_eq!(stats.delay_percentile_ms(95.0), 50.0);
        assert_eq!(stats.delay_percentile_ms(99.0), 50.0);
        // Observed handling time includes the delay (timer granularity aside).
        assert_eq!(stats.handling.count(), 20);
        // (Upper bounds are left loose: a loaded CI machine may add latency.)
        assert_eq!(stats.handling.count_between_ms(0.0, 5.0), 0);
        assert!(stats.handling.count_between_ms(50.0, f64::INFINITY) >= 2);
        assert!(stats.handling_percentile_ms(50.0) >= 5.0);
        assert!(stats.handling_percentile_ms(99.0) >= 50.0);
        // The client saw the same thing, request by request.
        let spec = target.config().latency;
        for (n, ms) in client_ms.iter().enumerate() {
            let delay = spec.delay_for_request(n as u64).as_secs_f64() * 1000.0;
            assert!(*ms >= delay, "request {n}: {ms}ms < {delay}ms");
        }
        target.shutdown().await;
    }

    #[test]
    fn latency_is_interleaved_and_exact_in_every_window() {
        let spec: LatencySpec = "90%:5ms,10%:50ms".parse().unwrap();
        assert_eq!(spec.cycle_len(), 10);
        let delays: Vec<u64> = (0..1000).map(|n| spec.delay_us_for(n)).collect();
        for w in delays.windows(10) {
            assert_eq!(w.iter().filter(|&&d| d == 50_000).count(), 1);
            assert_eq!(w.iter().filter(|&&d| d == 5_000).count(), 9);
        }
        let spec: LatencySpec = "50%:1ms,50%:2ms".parse().unwrap();
        let seq: Vec<u64> = (0..6).map(|n| spec.delay_us_for(n)).collect();
        assert_eq!(seq, [1000, 2000, 1000, 2000, 1000, 2000]);
        let spec: LatencySpec = "70%:1ms,20%:2ms,10%:3ms".parse().unwrap();
        let seq: Vec<u64> = (0..10).map(|n| spec.delay_us_for(n) / 1000).collect();
        // No run of the majority value longer than 3.
        assert!(seq.windows(4).all(|w| w.iter().any(|&d| d != 1)), "{seq:?}");
        for w in (0..100)
            .map(|n| spec.delay_us_for(n))
            .collect::<Vec<_>>()
            .windows(10)
        {
            assert_eq!(w.iter().filter(|&&d| d == 1000).count(), 7);
            assert_eq!(w.iter().filter(|&&d| d == 2000).count(), 2);
        }
        let spec: LatencySpec = "99.9%:1ms,0.1%:2s".parse().unwrap();
        assert_eq!(spec.cycle_len(), 1000);
        let slow = (0..10_000)
            .filter(|&n| spec.delay_us_for(n) == 2_000_000)
            .count();
        assert_eq!(slow, 10);
    }

    #[tokio::test]
    async fn error_rate_is_exact() {
        let target = start(config("0", 0.1)).await;
        let mut c = Client::connect(&target).await;
        let mut failed = Vec::new();
        for i in 0..20 {
            let r = c.send("GET", "/hello", None).await;
            if r.status == 500 {
                assert_eq!(r.json(), json!({"error": "injected failure"}));
                failed.push(i);
            } else {
                assert_eq!(r.status, 200);
            }
        }
        assert_eq!(failed, [9, 19]);
        let stats = target.stats();
        assert_eq!(stats.by_status, BTreeMap::from([(200, 18), (500, 2)]));
        assert_eq!(stats.injected_errors, 2);
        assert_eq!(stats.route("GET /hello"), 20);

        // Injected failures skip the handler: no token is issued.
        target.set_config(config("0", 1.0));
        assert_eq!(c.send("POST", "/queue/token", None).await.status, 500);
        target.set_config(config("0", 0.0));
        c.token = Some("0".repeat(32));
        assert_eq!(c.send("GET", "/dates", None).await.status, 401);

        // Rates that are not 1/k are exact over any window where they are whole.
        let active = Active::new(config("0", 0.3)).unwrap();
        for start in 0..50 {
            assert_eq!((start..start + 10).filter(|&n| active.fails(n)).count(), 3);
        }
        target.shutdown().await;
    }

    #[test]
    fn latency_spec_parsing() {
        for (input, canonical, entries) in [
            ("5ms", "5ms", vec![(1.0, 5_000)]),
            (" 250us ", "250us", vec![(1.0, 250)]),
            ("250µs", "250us", vec![(1.0, 250)]),
            ("1.5s", "1500ms", vec![(1.0, 1_500_000)]),
            ("0.5ms", "500us", vec![(1.0, 500)]),
            ("0", "0ms", vec![(1.0, 0)]),
            ("none", "0ms", vec![(1.0, 0)]),
            ("10s", "10000ms", vec![(1.0, 10_000_000)]),
            ("100%:7ms", "7ms", vec![(1.0, 7_000)]),
            (
                "90%:5ms, 10%:50ms",
                "90%:5ms,10%:50ms",
                vec![(0.9, 5_000), (0.1, 50_000)],
            ),
            (
                "99.9%:1ms,0.1%:2s",
                "99.9%:1ms,0.1%:2000ms",
                vec![(0.999, 1_000), (0.001, 2_000_000)],
            ),
        ] {
            let spec: LatencySpec = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(spec.to_string(), canonical, "{input}");
            assert_eq!(canonical.parse::<LatencySpec>().unwrap(), spec);
            let got: Vec<(f64, u64)> = spec
                .entries()
                .into_iter()
                .map(|(f, d)| (f, d.as_micros() as u64))
                .collect();
            assert_eq!(got, entries, "{input}");
        }
        assert!(LatencySpec::default().is_none());
        assert_eq!(LatencySpec::default(), LatencySpec::none());
        assert_eq!(
            LatencySpec::fixed(Duration::from_millis(3)),
            "3ms".parse().unwrap()
        );

        for bad in [
            "",
            "  ",
            "5",
            "ms",
            "5m",
            "5 sec",
            "-5ms",
            "5ms5",
            "abc",
            "11s",
            "10.001s",
            "0.5us",
            "90%:5ms",
            "90%:5ms,20%:50ms",
            "90:5ms,10:50ms",
            "90%5ms,10%:50ms",
            "0%:5ms,100%:1ms",
            "101%:1ms",
            "90%:5ms,10%",
            "90%:5ms,,10%:50ms",
            "5ms,50ms",
            "50%:1ms,50%:2ms,",
            "33.33333%:1ms,66.66667%:2ms",
            "x%:1ms",
            "1..5ms",
        ] {
            let err = bad.parse::<LatencySpec>().unwrap_err().to_string();
            assert!(err.starts_with("invalid latency"), "{bad:?}: {err}");
            assert!(err.contains(&format!("{bad:?}")), "{bad:?}: {err}");
        }
        let err = "90%:5ms,20%:50ms".parse::<LatencySpec>().unwrap_err();
        assert!(err.to_string().contains("sum to 110%"), "{err}");
    }

    #[test]
    fn config_serde_and_validation() {
        let c: DemoConfig =
            serde_json::from_str(r#"{"latency": "90%:5ms,10%:50ms", "error_rate": 0.1}"#).unwrap();
        assert_eq!(c, config("90%:5ms,10%:50ms", 0.1));
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"latency": "90%:5ms,10%:50ms", "error_rate": 0.1})
        );
        let c: DemoConfig = serde_json::from_str(r#"{"error_rate": 0.5}"#).unwrap();
        assert!(c.latency.is_none());
        assert_eq!(
            serde_json::from_str::<DemoConfig>("{}").unwrap(),
            DemoConfig::default()
        );
        let err = serde_json::from_str::<DemoConfig>(r#"{"latency": "5 parsecs"}"#).unwrap_err();
        assert!(err.to_string().contains("invalid latency"), "{err}");
        assert!(serde_json::from_str::<DemoConfig>(r#"{"latncy": "5ms"}"#).is_err());
        for rate in [-0.1, 1.01, f64::NAN, f64::INFINITY] {
            assert!(config("0", rate).validate().is_err(), "{rate}");
        }
        for rate in [0.0, 0.5, 1.0] {
            assert!(config("0", rate).validate().is_ok(), "{rate}");
        }
    }

    #[tokio::test]
    async fn invalid_configs_are_rejected() {
        let err = DemoTarget::start("127.0.0.1:0".parse().unwrap(), config("0", 2.0))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("error_rate"), "{err}");

        let target = start(config("5ms", 0.0)).await;
        assert!(target.try_set_config(config("0", -1.0)).is_err());
        assert_eq!(target.config(), config("5ms", 0.0));
        let mut c = Client::connect(&target).await;
        for body in [
            r#"{"latency": "90%:5ms"}"#,
            r#"{"error_rate": 3}"#,
            r#"{"bogus": 1}"#,
            "not json",
        ] {
            let r = c.send("PUT", "/__config", Some(body)).await;
            assert_eq!(r.status, 400, "{body}");
            assert!(r.json()["error"].is_string());
        }
        let r = c
            .send("PUT", "/__config", Some(r#"{"latency": "90%:5ms"}"#))
            .await;
        assert!(
            r.json()["error"].as_str().unwrap().contains("sum to 90%"),
            "{r:?}"
        );
        assert_eq!(target.config(), config("5ms", 0.0));

        let r = c
            .send(
                "PUT",
                "/__config",
                Some(r#"{"latency": "1ms", "error_rate": 0.5}"#),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(target.config(), config("1ms", 0.5));
        let r = c.send("GET", "/__config", None).await;
        assert_eq!(r.json(), json!({"latency": "1ms", "error_rate": 0.5}));
        assert_eq!(target.stats().total, 0);
        target.shutdown().await;
    }

    #[tokio::test]
    async fn stats_and_reset_are_not_counted() {
        let target = start(config("0", 0.5)).await;
        let mut c = Client::connect(&target).await;
        for _ in 0..3 {
            c.send("GET", "/hello", None).await;
        }
        for _ in 0..5 {
            let r = c.send("GET", "/__stats", None).await;
            assert_eq!(r.status, 200);
            let stats: DemoStats = serde_json::from_str(&r.body).unwrap();
            assert_eq!(stats.total, 3);
            assert_eq!(stats.by_route, BTreeMap::from([("GET /hello".into(), 3)]));
            assert_eq!(stats.by_status, BTreeMap::from([(200, 2), (500, 1)]));
        }
        c.send("GET", "/__config", None).await;
        assert_eq!(target.stats().total, 3);
        assert_eq!(target.stats().delay.count(), 3);

        let r = c.send("POST", "/__reset", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(target.stats(), DemoStats::default());
        // The sequence restarted: with rate 0.5 request 0 succeeds, 1 fails.
        assert_eq!(c.send("GET", "/hello", None).await.status, 200);
        assert_eq!(c.send("GET", "/hello", None).await.status, 500);
        assert_eq!(target.stats().total, 2);
        target.reset_stats();
        assert_eq!(target.stats(), DemoStats::default());
        let stats: DemoStats =
            serde_json::from_str(&c.send("GET", "/__stats", None).await.body).unwrap();
        assert_eq!(stats, DemoStats::default());
        target.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_counts_are_exact() {
        let target = start(config("50%:0us,50%:1ms", 0.25)).await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let mut c = Client::connect(&target).await;
            tasks.push(tokio::spawn(async move {
                let mut statuses = BTreeMap::new();
                for _ in 0..250 {
                    let r = c.send("GET", "/hello", None).await;
                    *statuses.entry(r.status).or_insert(0u64) += 1;
                }
                statuses
            }));
        }
        let mut client = BTreeMap::new();
        for t in tasks {
            for (status, n) in t.await.unwrap() {
                *client.entry(status).or_insert(0) += n;
            }
        }
        let stats = target.stats();
        assert_eq!(client, BTreeMap::from([(200, 1500), (500, 500)]));
        assert_eq!(stats.by_status, client);
        assert_eq!(stats.total, 2000);
        assert_eq!(stats.delay.count_between_ms(0.0, 0.001), 1000);
        assert_eq!(stats.delay.count_between_ms(1.0, 1.001), 1000);
        assert_eq!(stats.delay_percentile_ms(50.0), 0.0);
        assert_eq!(stats.delay_percentile_ms(50.1), 1.0);
        target.shutdown().await;
    }

    #[tokio::test]
    async fn abandoned_requests_are_counted_as_cancelled() {
        let target = start(config("300ms", 0.0)).await;
        let mut c = Client::connect(&target).await;
        c.conn
            .get_mut()
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(2);
        while target.stats().in_flight == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(target.stats().in_flight, 1);
        drop(c);
        while target.stats().cancelled == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stats = target.stats();
        assert_eq!((stats.cancelled, stats.in_flight, stats.total), (1, 0, 0));
        target.shutdown().await;
    }

    #[tokio::test]
    async fn shutdown_is_prompt_and_closes_the_port() {
        let target = start(DemoConfig::default()).await;
        let addr = target.addr();
        let mut idle = Client::connect(&target).await;
        assert_eq!(idle.send("GET", "/hello", None).await.status, 200);
        let t = Instant::now();
        target.shutdown().await;
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(TcpStream::connect(addr).await.is_err());
        // The idle keep-alive connection was closed.
        let mut buf = [0u8; 1];
        assert_eq!(idle.conn.read(&mut buf).await.unwrap_or(0), 0);

        // Dropping the handle stops the server too.
        let target = start(DemoConfig::default()).await;
        let addr = target.addr();
        drop(target);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(TcpStream::connect(addr).await.is_err());
    }

    #[test]
    fn histogram_buckets() {
        for us in [
            0, 1, 9_999, 10_000, 10_999, 11_000, 50_000, 9_999_999, 10_000_000,
        ] {
            let (lo, hi) = bucket_bounds(bucket_index(us));
            assert!(lo <= us && us < hi, "{us}: [{lo}, {hi})");
        }
        assert_eq!(bucket_index(u64::MAX), OVERFLOW_BUCKET);
        assert_eq!(bucket_index(10_001_000), OVERFLOW_BUCKET);
        let h = AtomicHistogram::new();
        for us in [1_000, 2_000, 3_000, 4_000, 100_000] {
            h.record_us(us);
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 5);
        assert_eq!(s.percentile_ms(0.0), 1.0);
        assert_eq!(s.percentile_ms(50.0), 3.0);
        assert_eq!(s.percentile_ms(80.0), 4.0);
        assert_eq!(s.percentile_ms(81.0), 100.0);
        assert_eq!(s.percentile_ms(100.0), 100.0);
        assert_eq!(s.mean_ms(), 22.0);
        assert_eq!(LatencyHistogram::default().percentile_ms(50.0), 0.0);
    }

    #[test]
    fn route_labels_match_templates() {
        for (i, label) in ROUTES.iter().enumerate().take(OTHER_ROUTE) {
            let (method, path) = label.split_once(' ').unwrap();
            let method: Method = method.parse().unwrap();
            assert_eq!(route_index(&method, Some(path)), i, "{label}");
        }
        assert_eq!(route_index(&Method::GET, None), OTHER_ROUTE);
        assert_eq!(route_index(&Method::HEAD, Some("/hello")), OTHER_ROUTE);
    }

    #[test]
    fn seat_names_round_trip() {
        for i in 0..SEATS_PER_DATE {
            assert_eq!(seat_index(&seat_name(i)), Some(i));
        }
        assert_eq!(seat_index("a1"), Some(0));
        for bad in ["", "A", "1", "A+1", "A01x", "K1", "A21", "AA1", "é1"] {
            assert_eq!(seat_index(bad), None, "{bad}");
        }
    }
}
