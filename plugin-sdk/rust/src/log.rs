//! Log messages, kept with the run.
//!
//! The runner rate-limits messages per VU, so do not log on every request of a
//! busy scenario. Each function takes anything string-like:
//!
//! ```no_run
//! use volley_sdk::log;
//! log::info("starting");
//! log::warn(format!("slow response: {} ms", 1234));
//! ```

use crate::wit::log as raw;

/// How important a log message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Detail for debugging a scenario.
    Debug,
    /// Normal progress.
    Info,
    /// Something unexpected that the scenario survives.
    Warn,
    /// Something failed.
    Error,
}

impl From<Level> for raw::Level {
    fn from(level: Level) -> Self {
        match level {
            Level::Debug => raw::Level::Debug,
            Level::Info => raw::Level::Info,
            Level::Warn => raw::Level::Warn,
            Level::Error => raw::Level::Error,
        }
    }
}

/// Records `message` at `level`.
///
/// ```no_run
/// use volley_sdk::log::{self, Level};
/// let level = if volley_sdk::vu::id() == 1 { Level::Info } else { Level::Debug };
/// log::log(level, "VU started");
/// ```
pub fn log(level: Level, message: impl AsRef<str>) {
    raw::log(level.into(), message.as_ref());
}

/// Records `message` at debug level.
///
/// ```no_run
/// volley_sdk::log::debug("picked seat A1");
/// ```
pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message);
}

/// Records `message` at info level.
///
/// ```no_run
/// volley_sdk::log::info(format!("VU {} ready", volley_sdk::vu::id()));
/// ```
pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message);
}

/// Records `message` at warn level.
///
/// ```no_run
/// volley_sdk::log::warn("seat taken, retrying");
/// ```
pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message);
}

/// Records `message` at error level.
///
/// ```no_run
/// volley_sdk::log::error("payment rejected");
/// ```
pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message);
}
