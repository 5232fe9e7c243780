//! `volley:scenario/log`: leveled messages from the guest, rate-limited per VU
//! and kept with the run.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::volley::scenario::log::{Host, Level};
use crate::vu::VuState;

/// Messages a VU may log per second, with bursts up to [`LOG_BURST`].
const LOG_PER_SECOND: f64 = 10.0;
const LOG_BURST: f64 = 20.0;
/// Messages a run keeps (the newest).
const KEPT_ENTRIES: usize = 1000;

/// One logged message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    /// Time since the run started.
    #[serde(rename = "elapsed_ms")]
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
    /// "debug", "info", "warn" or "error".
    pub level: &'static str,
    /// The VU that logged it (0 for the host itself).
    pub vu: u32,
    /// The message.
    pub message: String,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// The run's log: the newest messages, and how many were dropped by rate limits.
pub struct RunLog {
    started: Instant,
    entries: Mutex<VecDeque<LogEntry>>,
    dropped: AtomicU64,
}

impl Default for RunLog {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            entries: Mutex::new(VecDeque::new()),
            dropped: AtomicU64::new(0),
        }
    }
}

impl RunLog {
    /// Keeps `message` and echoes it to the `volley::guest` tracing target.
    pub fn push(&self, level: &'static str, vu: u32, message: String) {
        match level {
            "debug" => tracing::debug!(target: "volley::guest", vu, "{message}"),
            "info" => tracing::info!(target: "volley::guest", vu, "{message}"),
            "warn" => tracing::warn!(target: "volley::guest", vu, "{message}"),
            _ => tracing::error!(target: "volley::guest", vu, "{message}"),
        }
        let mut entries = self.entries.lock().expect("run log poisoned");
        if entries.len() == KEPT_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(LogEntry {
            elapsed: self.started.elapsed(),
            level,
            vu,
            message,
        });
    }

    /// The newest messages, oldest first.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.entries
            .lock()
            .expect("run log poisoned")
            .iter()
            .cloned()
            .collect()
    }

    /// Messages dropped because a VU logged faster than the rate limit.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// A token bucket: each VU's allowance of log messages.
#[derive(Debug, Clone)]
pub(crate) struct LogBudget {
    tokens: f64,
    refilled: Instant,
}

impl Default for LogBudget {
    fn default() -> Self {
        Self {
            tokens: LOG_BURST,
            refilled: Instant::now(),
        }
    }
}

impl LogBudget {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let earned = now.duration_since(self.refilled).as_secs_f64() * LOG_PER_SECOND;
        self.tokens = (self.tokens + earned).min(LOG_BURST);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Host for VuState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        let vu = self.identity().id;
        let allowed = self.log_budget().take();
        let log = self.run().log();
        if allowed {
            log.push(level, vu, message);
        } else {
            log.count_dropped();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_allows_a_burst_then_limits() {
        let mut budget = LogBudget::default();
        let allowed = (0..100).filter(|_| budget.take()).count();
        assert!((20..=21).contains(&allowed), "allowed {allowed}");
    }
}
