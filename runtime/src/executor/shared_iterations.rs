//! `shared-iterations`: VUs share a fixed number of iterations; a free VU takes
//! the next one, so faster VUs run more.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Execution;

pub(super) async fn run(execution: Execution, iterations: u64, max_duration: Duration) {
    let end = Instant::now() + max_duration;
    let left = Arc::new(AtomicU64::new(iterations));
    let claims = || {
        let left = left.clone();
        move || {
            left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        }
    };
    execution.run_vus(end, claims).await;
}
