//! The live progress line `volley run` draws on a terminal.

use std::io::Write;
use std::time::Duration;

use volley_runtime::run::{Phase, RunHandle};

/// Draws the progress line once a second (only when stderr is a terminal).
pub struct ProgressLine {
    last_requests: u64,
    last_at: Duration,
}

impl ProgressLine {
    /// A line with nothing drawn yet.
    pub fn new() -> Self {
        Self {
            last_requests: 0,
            last_at: Duration::ZERO,
        }
    }

    /// The line for the run's current state.
    pub fn line(&mut self, run: &RunHandle) -> String {
        let p = run.progress();
        let executing = run.executing_for();
        let interval = executing.saturating_sub(self.last_at).as_secs_f64();
        let rate = if interval > 0.0 {
            (p.requests - self.last_requests) as f64 / interval
        } else {
            0.0
        };
        self.last_requests = p.requests;
        self.last_at = executing;
        let total = volley_runtime::duration::format(run.plan().planned_duration());
        let phase = match run.phase() {
            Phase::Initializing { ready, total } => {
                return format!("initializing VUs {ready}/{total}");
            }
            Phase::Setup => return "running setup".into(),
            Phase::Teardown => return "running teardown".into(),
            Phase::Running => "running",
            Phase::Stopping => "stopping",
            Phase::Done => "done",
        };
        format!(
            "{phase} [{:>6} / {total}] {}/{} VUs  {} iterations ({} failed)  {} reqs  {:.1} req/s  {} failed reqs",
            format!("{:.0}s", executing.as_secs_f64()),
            p.vus,
            p.vus_max,
            p.iterations,
            p.failed_iterations,
            p.requests,
            rate,
            p.failed_requests,
        )
    }

    /// Redraws `line` in place on stderr.
    pub fn draw(line: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }

    /// Clears the line.
    pub fn clear() {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

impl Default for ProgressLine {
    fn default() -> Self {
        Self::new()
    }
}
