//! `per-vu-iterations`: each VU runs the same number of iterations, within
//! `maxDuration`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Execution;

pub(super) async fn run(execution: Execution, iterations: u64, max_duration: Duration) {
    let end = Instant::now() + max_duration;
    // `run_vus` clones the claim into each VU's task, so each VU gets its own count.
    let claim = PerVu {
        left: Arc::new(AtomicU64::new(iterations)),
        iterations,
    };
    execution.run_vus(end, move || claim.clone().take()).await;
}

/// One VU's remaining iterations; a clone shares nothing with the original but
/// the starting count.
struct PerVu {
    left: Arc<AtomicU64>,
    iterations: u64,
}

impl Clone for PerVu {
    fn clone(&self) -> Self {
        Self {
            left: Arc::new(AtomicU64::new(self.iterations)),
            iterations: self.iterations,
        }
    }
}

impl PerVu {
    fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}
