//! `constant-vus`: a fixed number of VUs loop over iterations for a duration.

use std::time::{Duration, Instant};

use super::Execution;

pub(super) async fn run(execution: Execution, duration: Duration) {
    let end = Instant::now() + duration;
    execution.run_vus(end, || || true).await;
}
