//! `externally-controlled`: VUs loop over iterations for a duration while the
//! number that runs is changed from outside (`PATCH /v1/runs/{id}`), between 0
//! and the VUs instantiated. A VU above the new count finishes its current
//! iteration, then waits until it is wanted again.

use std::time::{Duration, Instant};

use super::{Execution, vu_loop};

pub(super) async fn run(execution: Execution, duration: Duration) {
    let end = Instant::now() + duration;
    let scale = execution
        .scale
        .expect("an externally-controlled scenario has a scale channel");
    let mut tasks = tokio::task::JoinSet::new();
    for (index, mut slot) in execution.vus.into_iter().enumerate() {
        let index = index as u32;
        let (stop, exec, mut scale) = (
            execution.stop.clone(),
            execution.exec.clone(),
            scale.clone(),
        );
        let graceful_stop = execution.graceful_stop;
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    wanted = scale.wait_for(|vus| *vus > index) => if wanted.is_err() { return },
                    _ = tokio::time::sleep_until(end.into()) => return,
                    _ = stop.cancelled() => return,
                }
                let wanted = || *scale.borrow() > index;
                if !vu_loop(&mut slot, &exec, &stop, end, graceful_stop, wanted).await {
                    return;
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a VU task panicked");
    }
}
