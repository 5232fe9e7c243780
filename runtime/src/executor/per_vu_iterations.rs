//! `per-vu-iterations`: each VU runs the same number of iterations, within
//! `maxDuration`.

use std::time::{Duration, Instant};

use super::Execution;

pub(super) async fn run(execution: Execution, iterations: u64, max_duration: Duration) {
    let end = Instant::now() + max_duration;
    let each_vu = || {
        let mut left = iterations;
        move || {
            let granted = left > 0;
            left = left.saturating_sub(1);
            granted
        }
    };
    execution.run_vus(end, each_vu).await;
}
