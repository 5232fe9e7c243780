//! `ramping-vus`: the number of looping VUs follows `stages`, each a linear
//! ramp from the previous target (or `startVUs`) to its own over its duration.
//! A VU ramped down finishes its iteration within `gracefulRampDown`, or the
//! iteration is interrupted.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{Execution, Stage};

/// How often the wanted VU count is brought up to date.
const TICK: Duration = Duration::from_millis(10);

/// The VUs wanted `elapsed` into the stages (rounded to the nearest VU; the
/// last stage's target after the end).
pub(crate) fn vus_at(start_vus: u32, stages: &[Stage], elapsed: Duration) -> u32 {
    let mut from = start_vus;
    let mut stage_start = Duration::ZERO;
    for stage in stages {
        let stage_end = stage_start + stage.duration;
        if elapsed < stage_end {
            let progress = (elapsed - stage_start).as_secs_f64() / stage.duration.as_secs_f64();
            let vus = f64::from(from) + (f64::from(stage.target) - f64::from(from)) * progress;
            return vus.round() as u32;
        }
        from = stage.target;
        stage_start = stage_end;
    }
    from
}

pub(super) async fn run(
    execution: Execution,
    start_vus: u32,
    stages: Vec<Stage>,
    graceful_ramp_down: Duration,
) {
    let started = Instant::now();
    let end = started + Stage::total_duration(&stages);
    let (wanted_tx, wanted) = watch::channel(start_vus);
    let stop = execution.stop.clone();
    let controller = async move {
        while Instant::now() < end && !stop.is_cancelled() {
            let vus = vus_at(start_vus, &stages, started.elapsed());
            wanted_tx.send_if_modified(|wanted| std::mem::replace(wanted, vus) != vus);
            tokio::time::sleep(TICK).await;
        }
        // Keeps the channel open until the VUs are done.
        wanted_tx
    };
    let vus = execution.run_wanted(end, wanted, Some(graceful_ramp_down));
    let (wanted_tx, ()) = tokio::join!(controller, vus);
    drop(wanted_tx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_ramps_linearly_through_the_stages() {
        let stages = [
            Stage::of_secs(10, 10),
            Stage::of_secs(10, 10),
            Stage::of_secs(5, 0),
        ];
        for (ms, vus) in [
            (0, 0),
            (1_000, 1),
            (4_900, 5),
            (9_999, 10),
            (10_000, 10),
            (19_000, 10),
            (20_000, 10),
            (22_500, 5),
            (24_999, 0),
            (30_000, 0),
        ] {
            assert_eq!(
                vus_at(0, &stages, Duration::from_millis(ms)),
                vus,
                "{ms} ms"
            );
        }
        assert_eq!(
            vus_at(4, &[Stage::of_secs(4, 0)], Duration::from_secs(1)),
            3
        );
        assert_eq!(vus_at(4, &[Stage::of_secs(4, 8)], Duration::ZERO), 4);
    }
}
