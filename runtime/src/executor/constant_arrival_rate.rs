//! `constant-arrival-rate`: `rate` iterations start every `timeUnit` for
//! `duration`, evenly spaced, however long each takes (see `arrival_rate`).

use std::time::Duration;

use super::Execution;
use super::arrival_rate::{self, ArrivalSchedule};

/// The schedule: `rate` per `time_unit`, flat for `duration`.
fn schedule(rate: u32, time_unit: Duration, duration: Duration) -> ArrivalSchedule {
    ArrivalSchedule::new(rate, time_unit, [(duration, rate)])
}

pub(super) async fn run(execution: Execution, rate: u32, time_unit: Duration, duration: Duration) {
    arrival_rate::run(execution, schedule(rate, time_unit, duration)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_evenly_spaced_at_the_rate() {
        let starts: Vec<Duration> = schedule(50, Duration::from_secs(1), Duration::from_secs(3))
            .starts()
            .collect();
        assert_eq!(starts.len(), 150);
        for (n, start) in starts.iter().enumerate() {
            let expected = Duration::from_millis(20 * n as u64);
            assert!(
                start.abs_diff(expected) < Duration::from_micros(1),
                "{n}: {start:?}"
            );
        }
        let per_minute: Vec<Duration> =
            schedule(3, Duration::from_secs(60), Duration::from_secs(60))
                .starts()
                .collect();
        assert_eq!(per_minute, [0, 20, 40].map(Duration::from_secs));
    }
}
