//! `ramping-arrival-rate`: the rate at which iterations start ramps linearly
//! from `startRate` through `stages` (targets per `timeUnit`), however long
//! each iteration takes (see `arrival_rate`).

use std::time::Duration;

use super::arrival_rate::{self, ArrivalSchedule};
use super::{Execution, Stage};

/// The schedule: from `start_rate` through each stage's target, per `time_unit`.
fn schedule(start_rate: u32, time_unit: Duration, stages: &[Stage]) -> ArrivalSchedule {
    ArrivalSchedule::new(
        start_rate,
        time_unit,
        stages.iter().map(|s| (s.duration, s.target)),
    )
}

pub(super) async fn run(
    execution: Execution,
    start_rate: u32,
    time_unit: Duration,
    stages: Vec<Stage>,
) {
    arrival_rate::run(execution, schedule(start_rate, time_unit, &stages)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Iterations starting in each whole second.
    fn per_second(starts: impl Iterator<Item = Duration>, seconds: usize) -> Vec<usize> {
        let mut counts = vec![0; seconds];
        for start in starts {
            counts[start.as_secs() as usize] += 1;
        }
        counts
    }

    #[test]
    fn the_rate_ramps_up_holds_and_ramps_down() {
        // 0 to 20/s in 2 s, 20/s for 2 s, down to 0 in 2 s.
        let stages = [
            Stage::of_secs(2, 20),
            Stage::of_secs(2, 20),
            Stage::of_secs(2, 0),
        ];
        let starts = schedule(0, Duration::from_secs(1), &stages).starts();
        assert_eq!(per_second(starts, 6), [5, 15, 20, 20, 15, 5]);
    }

    #[test]
    fn a_time_unit_of_a_minute_divides_the_rates() {
        // 60/min to 180/min over 60 s: 1/s rising to 3/s, 120 in all.
        let starts: Vec<Duration> =
            schedule(60, Duration::from_secs(60), &[Stage::of_secs(60, 180)])
                .starts()
                .collect();
        assert_eq!(starts.len(), 120);
        // The first 10 s hold 10 + 100/60 = 11.7 of them, the last 10 s 28.3.
        let first = starts.iter().filter(|s| s.as_secs() < 10).count();
        let last = starts.iter().filter(|s| s.as_secs() >= 50).count();
        assert_eq!((first, last), (12, 28));
    }
}
