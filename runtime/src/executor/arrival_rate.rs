//! What the two arrival-rate executors share (k6's open model): iterations
//! start on a schedule whatever the response times. Each goes to a free VU; a
//! VU is instantiated when none is free and `maxVUs` allows it; otherwise the
//! iteration is dropped and counted in `dropped_iterations`. An iteration's
//! duration is measured from the time it was scheduled to start, so a late
//! start (a busy scheduler, a VU being instantiated) counts against it: no
//! coordinated omission.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{Execution, VuSlot, past_graceful_stop};
use crate::metrics::{Metrics, Sample, builtin};

/// A piecewise-linear arrival rate: from a starting rate, each ramp reaches its
/// target rate (iterations per second) over its duration.
#[derive(Debug, Clone)]
pub(super) struct ArrivalSchedule {
    start_rate: f64,
    /// (duration, target rate per second) of each ramp, in order.
    ramps: Vec<(Duration, f64)>,
}

impl ArrivalSchedule {
    /// A schedule starting at `start_rate` per `time_unit`, then following
    /// `ramps` of (duration, target per `time_unit`).
    pub(super) fn new(
        start_rate: u32,
        time_unit: Duration,
        ramps: impl IntoIterator<Item = (Duration, u32)>,
    ) -> Self {
        let per_second = |rate: u32| f64::from(rate) / time_unit.as_secs_f64();
        Self {
            start_rate: per_second(start_rate),
            ramps: ramps
                .into_iter()
                .map(|(duration, target)| (duration, per_second(target)))
                .collect(),
        }
    }

    /// How long the schedule lasts.
    pub(super) fn duration(&self) -> Duration {
        self.ramps.iter().map(|(duration, _)| *duration).sum()
    }

    /// When each iteration starts, as an offset from the start: iteration `n`
    /// (from 0) starts where the integral of the rate reaches `n`, so the first
    /// starts at 0 and a constant rate `r` spaces them `1/r` apart.
    pub(super) fn starts(&self) -> impl Iterator<Item = Duration> + Send + 'static {
        let schedule = self.clone();
        let mut ramp = 0;
        let mut ramp_start = Duration::ZERO;
        let mut from = schedule.start_rate;
        // Iterations scheduled before the current ramp (a real number).
        let mut before = 0.0_f64;
        let mut next = 0_u64;
        std::iter::from_fn(move || {
            loop {
                let &(length, to) = schedule.ramps.get(ramp)?;
                let seconds = length.as_secs_f64();
                let within = (from + to) / 2.0 * seconds;
                let wanted = next as f64 - before;
                if wanted < within {
                    next += 1;
                    let offset = time_to_reach(wanted, from, to, seconds).min(seconds);
                    return Some(ramp_start + Duration::from_secs_f64(offset));
                }
                before += within;
                ramp_start += length;
                from = to;
                ramp += 1;
            }
        })
    }
}

/// The time into a ramp from `from` to `to` iterations per second over
/// `seconds` at which `count` iterations have been scheduled: the root of
/// `from·t + (to − from)·t²/(2·seconds) = count`, in a form that stays
/// accurate when the ramp is flat.
fn time_to_reach(count: f64, from: f64, to: f64, seconds: f64) -> f64 {
    if count <= 0.0 {
        return 0.0;
    }
    let acceleration = (to - from) / (2.0 * seconds);
    let root = (from * from + 4.0 * acceleration * count).max(0.0).sqrt();
    2.0 * count / (from + root)
}

/// The scenario's VUs between iterations.
struct Pool {
    /// Instantiated and free, the lowest id last.
    idle: Vec<VuSlot>,
    /// Not instantiated yet, the lowest id last.
    uninstantiated: Vec<VuSlot>,
    /// VUs taken into use so far (counted in `vus`), less those lost.
    active: i64,
    metrics: Arc<Metrics>,
}

impl Pool {
    fn new(vus: Vec<VuSlot>, metrics: Arc<Metrics>) -> Self {
        let (mut idle, mut uninstantiated): (Vec<VuSlot>, Vec<VuSlot>) =
            vus.into_iter().partition(VuSlot::is_instantiated);
        idle.reverse();
        uninstantiated.reverse();
        let active = idle.len() as i64;
        metrics.add_vus(active);
        Self {
            idle,
            uninstantiated,
            active,
            metrics,
        }
    }

    /// A free VU, or a new one while `maxVUs` allows.
    fn take(&mut self) -> Option<VuSlot> {
        if let Some(slot) = self.idle.pop() {
            return Some(slot);
        }
        let slot = self.uninstantiated.pop()?;
        self.metrics.add_vus_max(1);
        self.metrics.add_vus(1);
        self.active += 1;
        Some(slot)
    }

    /// Takes back a VU whose iteration ended (`alive` false: it is gone).
    fn give_back(&mut self, joined: Result<(VuSlot, bool), tokio::task::JoinError>) {
        let (slot, alive) = joined.expect("a VU task panicked");
        if alive {
            self.idle.push(slot);
        } else {
            self.active -= 1;
            self.metrics.add_vus(-1);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.metrics.add_vus(-self.active);
    }
}

/// The least time between two wake-ups of the clock: at high rates, starts
/// this close share one (each is at most this late), which saves a thread
/// switch per iteration.
const CLOCK_GAP: Duration = Duration::from_micros(100);

/// Sends each start of `starts` (offsets from `started`) at its time. A thread
/// of its own waits between them: tokio's timers fire on a 1 ms grid, which
/// would start iterations up to 1 ms late, and that lateness would count in
/// their duration. The thread ends when the starts run out or when the
/// returned guard is dropped.
fn tick(
    started: Instant,
    starts: impl Iterator<Item = Duration> + Send + 'static,
) -> (mpsc::UnboundedReceiver<Instant>, std_mpsc::Sender<()>) {
    let (due_tx, due_rx) = mpsc::unbounded_channel();
    let (guard, dropped) = std_mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("volley-arrivals".into())
        .spawn(move || {
            let mut woke: Option<Instant> = None;
            for offset in starts {
                let due = started + offset;
                let now = Instant::now();
                if due > now {
                    // Starts closer together than the gap share a wake-up.
                    let wake = woke.map_or(due, |woke| due.max(woke + CLOCK_GAP));
                    match dropped.recv_timeout(wake - now) {
                        Err(std_mpsc::RecvTimeoutError::Timeout) => woke = Some(Instant::now()),
                        _ => return,
                    }
                }
                if due_tx.send(due).is_err() {
                    return;
                }
            }
        })
        .expect("spawning the arrival-rate clock thread");
    (due_rx, guard)
}

/// Runs `execution`'s VUs on `schedule` (offsets from now) until its end, then
/// lets the iterations in flight finish within the graceful stop.
pub(super) async fn run(execution: Execution, schedule: ArrivalSchedule) {
    let Execution {
        vus,
        exec,
        graceful_stop,
        stop,
        tags,
        metrics,
        ..
    } = execution;
    let started = Instant::now();
    let hard_end = tokio::time::Instant::from_std(started + schedule.duration() + graceful_stop);
    let dropped = [Sample {
        metric: builtin::DROPPED_ITERATIONS,
        tags,
        value: 1.0,
    }];
    let mut pool = Pool::new(vus, metrics.clone());
    let mut busy: JoinSet<(VuSlot, bool)> = JoinSet::new();
    let (mut starts, clock) = tick(started, schedule.starts());
    loop {
        let due = tokio::select! {
            due = starts.recv() => match due {
                Some(due) => due,
                None => break,
            },
            Some(joined) = busy.join_next() => {
                pool.give_back(joined);
                continue;
            }
            _ = stop.cancelled() => break,
        };
        while let Some(joined) = busy.try_join_next() {
            pool.give_back(joined);
        }
        let Some(mut slot) = pool.take() else {
            metrics.record(0, &dropped);
            continue;
        };
        let (exec, stop) = (exec.clone(), stop.clone());
        busy.spawn(async move {
            tokio::select! {
                alive = slot.iteration(&exec, due) => (slot, alive),
                _ = past_graceful_stop(&stop, graceful_stop, hard_end) => {
                    slot.interrupted();
                    (slot, true)
                }
            }
        });
    }
    // No more starts: the clock stops at once, not after the graceful stop.
    drop((clock, starts));
    while let Some(joined) = busy.join_next().await {
        pool.give_back(joined);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(offsets: impl Iterator<Item = Duration>) -> Vec<f64> {
        offsets
            .map(|d| (d.as_secs_f64() * 1e6).round() / 1e3)
            .collect()
    }

    #[test]
    fn a_flat_rate_spaces_starts_evenly_from_zero() {
        let schedule =
            ArrivalSchedule::new(4, Duration::from_secs(1), [(Duration::from_secs(1), 4)]);
        assert_eq!(millis(schedule.starts()), [0.0, 250.0, 500.0, 750.0]);
    }

    #[test]
    fn a_linear_ramp_starts_the_integral_of_its_rate() {
        // 0 to 10 per second over 2 s: 10 iterations, the n-th at sqrt(0.4·n) s.
        let schedule =
            ArrivalSchedule::new(0, Duration::from_secs(1), [(Duration::from_secs(2), 10)]);
        let starts = millis(schedule.starts());
        assert_eq!(starts.len(), 10);
        for (n, ms) in starts.iter().enumerate() {
            let expected = (0.4 * n as f64).sqrt() * 1000.0;
            assert!((ms - expected).abs() < 0.01, "{n}: {ms} vs {expected}");
        }
        // Down again: 10 to 0 over 2 s mirrors it.
        let schedule =
            ArrivalSchedule::new(10, Duration::from_secs(1), [(Duration::from_secs(2), 0)]);
        assert_eq!(schedule.starts().count(), 10);
    }

    #[test]
    fn stages_follow_each_other_and_zero_rates_start_nothing() {
        let schedule = ArrivalSchedule::new(
            0,
            Duration::from_secs(1),
            [
                (Duration::from_secs(3), 0),
                (Duration::from_secs(1), 2),
                (Duration::from_secs(1), 2),
                (Duration::from_secs(5), 0),
            ],
        );
        let starts = millis(schedule.starts());
        // None in the first 3 s, 1 in the ramp to 2/s (at its start), 2 in
        // the flat second, 5 in the ramp down.
        assert_eq!(starts.len(), 1 + 2 + 5);
        assert_eq!(starts[0], 3000.0);
        assert_eq!(&starts[1..3], [4000.0, 4500.0]);
        assert!(starts.iter().all(|ms| *ms < 10_000.0));
        assert!(starts.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn the_time_unit_scales_the_rate() {
        let schedule =
            ArrivalSchedule::new(30, Duration::from_secs(60), [(Duration::from_secs(10), 30)]);
        assert_eq!(
            millis(schedule.starts()),
            [0.0, 2000.0, 4000.0, 6000.0, 8000.0]
        );
    }
}
