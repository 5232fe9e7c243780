//! `externally-controlled`: VUs loop over iterations for a duration while the
//! number that runs is changed from outside (`PATCH /v1/runs/{id}`), between 0
//! and the VUs instantiated. A VU above the new count finishes its current
//! iteration, then waits until it is wanted again.

use std::time::{Duration, Instant};

use super::Execution;

pub(super) async fn run(mut execution: Execution, duration: Duration) {
    let end = Instant::now() + duration;
    let scale = execution
        .scale
        .take()
        .expect("an externally-controlled scenario has a scale channel");
    execution.run_wanted(end, scale, None).await;
}
