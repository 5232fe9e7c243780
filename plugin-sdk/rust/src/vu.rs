//! The running virtual user (VU): who it is and how far it got.
//!
//! Each VU is its own instance of the scenario component, so statics in a scenario
//! are per VU. The run's environment, setup data and sleeping are at the crate root:
//! [`env`](fn@crate::env), [`env_vars`](crate::env_vars),
//! [`setup_data`](crate::setup_data) and [`sleep`](crate::sleep).

use crate::wit::vu as raw;

/// This VU's id: 1, 2, ... unique within the run.
///
/// ```no_run
/// // Spread VUs over 4 accounts.
/// let account = (volley_sdk::vu::id() - 1) % 4;
/// ```
pub fn id() -> u32 {
    raw::id()
}

/// How many iterations this VU started before the current one (0 in the first).
///
/// ```no_run
/// if volley_sdk::vu::iteration() == 0 {
///     volley_sdk::log::info("first iteration of this VU");
/// }
/// ```
pub fn iteration() -> u64 {
    raw::iteration()
}

/// The name of the scenario this VU runs.
///
/// ```no_run
/// let tag = volley_sdk::vu::scenario();
/// volley_sdk::check_with_tags("ran", true, &[("scenario", tag.as_str())]);
/// ```
pub fn scenario() -> String {
    raw::scenario()
}
