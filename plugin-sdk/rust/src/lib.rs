//! Write [Volley](https://example.invalid/volley) load-test scenarios in Rust.
//!
//! A Volley scenario is a WebAssembly component built for `wasm32-wasip2`. The
//! Volley runner instantiates it once per virtual user (VU) and calls its
//! [`Scenario::iteration`] over and over; everything the scenario does to the outside
//! world (HTTP, checks, metrics, sleeping, logging) goes through this crate so the
//! runner can time, count and limit it.
//!
//! ```no_run
//! use std::time::Duration;
//! use volley_sdk::{Scenario, check, http, sleep};
//!
//! struct Smoke;
//!
//! impl Scenario for Smoke {
//!     fn options() -> String {
//!         r#"{"vus": 5, "duration": "30s"}"#.into()
//!     }
//!
//!     fn iteration(_exec: &str) -> Result<(), String> {
//!         let url = volley_sdk::env("TARGET_URL").ok_or("set TARGET_URL")?;
//!         let response = http::get(&url).map_err(|e| e.to_string())?;
//!         check("status is 200", response.status == 200);
//!         sleep(Duration::from_millis(100));
//!         Ok(())
//!     }
//! }
//!
//! volley_sdk::export_scenario!(Smoke);
//! ```
//!
//! The crate mirrors the WIT world `volley:scenario/scenario@0.1.0`:
//!
//! | WIT interface | Rust API |
//! | --- | --- |
//! | `http` | [`http::get`], [`http::post`], [`http::Request`], [`http::batch`] |
//! | `checks` | [`check`], [`check_with_tags`] |
//! | `metrics` | [`metrics::Counter`], [`metrics::Gauge`], [`metrics::Rate`], [`metrics::Trend`] |
//! | `vu` | [`vu::id`], [`vu::iteration`], [`vu::scenario`], [`env()`], [`env_vars`], [`setup_data`], [`sleep`] |
//! | `group` | [`group()`] |
//! | `log` | [`log::debug`], [`log::info`], [`log::warn`], [`log::error`] |
//! | exports | [`Scenario`] and [`export_scenario!`] |
//!
//! # Features
//!
//! * `json` (on by default): `http::Request::json_body` and `http::Response::json`,
//!   through `serde` and `serde_json` (re-exported as `volley_sdk::serde_json`).
//!
//! # Outside Wasm
//!
//! The crate also compiles for the host target (so `cargo test` and `cargo doc` work),
//! but there every call into the runner panics: scenarios only run inside Volley.

// `bindings` and the export macro name this crate by its own name, so that the
// generated code works both here and when expanded in a user's crate.
extern crate self as volley_sdk;

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::OnceLock;
use std::time::Duration;

pub mod http;
pub mod log;
pub mod metrics;
pub mod vu;

#[cfg(feature = "json")]
#[doc(no_inline)]
pub use serde_json;

/// The raw bindings that `wit-bindgen` generates for the `scenario` world.
///
/// Not a stable API: use the wrappers in this crate instead.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "scenario",
        pub_export_macro: true,
        export_macro_name: "__export_scenario_world",
        default_bindings_module: "volley_sdk::bindings",
        runtime_path: "volley_sdk::__private::wit_bindgen::rt",
    });
}

/// Items the macros of this crate expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}

use bindings::volley::scenario as wit;

/// A load-test scenario: the code the Volley runner calls.
///
/// Only [`iteration`](Scenario::iteration) is required. Implement the trait on a type
/// of your own (usually a unit struct) and export it with [`export_scenario!`].
/// All functions are associated functions (no `self`): a scenario keeps per-VU state,
/// if it needs any, in statics (each VU is its own component instance, so statics are
/// per VU).
///
/// ```no_run
/// use volley_sdk::{Scenario, check, http};
///
/// struct Checkout;
///
/// impl Scenario for Checkout {
///     fn options() -> String {
///         r#"{"vus": 10, "duration": "1m"}"#.into()
///     }
///
///     fn setup() -> Result<Vec<u8>, String> {
///         // Runs once, before any iteration; every VU sees these bytes via setup_data().
///         Ok(b"shared".to_vec())
///     }
///
///     fn iteration(exec: &str) -> Result<(), String> {
///         let response = match exec {
///             "browse" => http::get("http://127.0.0.1:8080/items"),
///             _ => http::post("http://127.0.0.1:8080/cart", "{}"),
///         }
///         .map_err(|e| e.to_string())?;
///         check("2xx", response.is_success());
///         Ok(())
///     }
/// }
///
/// volley_sdk::export_scenario!(Checkout);
/// ```
pub trait Scenario {
    /// The scenario's default load options as k6-style JSON, used where the user
    /// gives none, such as `{"vus": 10, "duration": "30s"}`. Called once, when the
    /// scenario is loaded. The default, `"{}"`, sets no defaults.
    ///
    /// ```
    /// # use volley_sdk::Scenario;
    /// # struct S;
    /// impl Scenario for S {
    ///     fn options() -> String {
    ///         r#"{"vus": 2, "duration": "5s", "thresholds": {"checks": ["rate>0.99"]}}"#.into()
    ///     }
    ///     # fn iteration(_: &str) -> Result<(), String> { Ok(()) }
    /// }
    /// ```
    fn options() -> String {
        "{}".into()
    }

    /// Runs once per run, before any iteration, on a VU of its own. The bytes it
    /// returns reach every VU through [`setup_data`]. An `Err` aborts the run. The
    /// default returns no data.
    ///
    /// ```
    /// # use volley_sdk::Scenario;
    /// # struct S;
    /// impl Scenario for S {
    ///     fn setup() -> Result<Vec<u8>, String> {
    ///         let token = volley_sdk::env("API_TOKEN").ok_or("set API_TOKEN")?;
    ///         Ok(token.into_bytes())
    ///     }
    ///     # fn iteration(_: &str) -> Result<(), String> { Ok(()) }
    /// }
    /// ```
    fn setup() -> Result<Vec<u8>, String> {
        Ok(Vec::new())
    }

    /// One iteration of the scenario. `exec` names the entry point the run options
    /// chose (`"default"` unless set). An `Err` fails this iteration and is counted;
    /// a panic traps the VU's instance.
    ///
    /// ```
    /// # use volley_sdk::Scenario;
    /// # struct S;
    /// impl Scenario for S {
    ///     fn iteration(exec: &str) -> Result<(), String> {
    ///         match exec {
    ///             "default" => Ok(()),
    ///             other => Err(format!("unknown exec {other:?}")),
    ///         }
    ///     }
    /// }
    /// ```
    fn iteration(exec: &str) -> Result<(), String>;

    /// Runs once at the end of the run, after every iteration, on a VU of its own.
    /// The default does nothing.
    ///
    /// ```
    /// # use volley_sdk::Scenario;
    /// # struct S;
    /// impl Scenario for S {
    ///     fn teardown() -> Result<(), String> {
    ///         volley_sdk::log::info("run finished");
    ///         Ok(())
    ///     }
    ///     # fn iteration(_: &str) -> Result<(), String> { Ok(()) }
    /// }
    /// ```
    fn teardown() -> Result<(), String> {
        Ok(())
    }
}

/// Exports a type that implements [`Scenario`] as the component's scenario.
///
/// Use it exactly once, in the root of a `cdylib` crate built for `wasm32-wasip2`.
/// The type may be any path (`export_scenario!(scenarios::Checkout)`). The macro
/// refers to this crate as `volley_sdk`, so keep that name for the dependency.
///
/// ```no_run
/// struct Hello;
///
/// impl volley_sdk::Scenario for Hello {
///     fn iteration(_exec: &str) -> Result<(), String> {
///         volley_sdk::log::info("hello");
///         Ok(())
///     }
/// }
///
/// volley_sdk::export_scenario!(Hello);
/// ```
#[macro_export]
macro_rules! export_scenario {
    ($scenario:ty $(,)?) => {
        const _: () = {
            struct __VolleyScenarioExport;

            impl $crate::bindings::Guest for __VolleyScenarioExport {
                fn options() -> ::std::string::String {
                    <$scenario as $crate::Scenario>::options()
                }

                fn setup() -> ::core::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                    <$scenario as $crate::Scenario>::setup()
                }

                fn iteration(
                    exec: ::std::string::String,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    <$scenario as $crate::Scenario>::iteration(&exec)
                }

                fn teardown() -> ::core::result::Result<(), ::std::string::String> {
                    <$scenario as $crate::Scenario>::teardown()
                }
            }

            $crate::bindings::__export_scenario_world!(
                __VolleyScenarioExport with_types_in $crate::bindings
            );
        };
    };
}

/// Records whether the check called `name` passed, and returns `ok`.
///
/// Checks are named assertions counted in the run's `checks` rate metric, like k6's
/// `check`: a failed check does not fail the iteration. Use the returned value to
/// react to a failure.
///
/// ```no_run
/// # use volley_sdk::{check, http};
/// let response = http::get("http://127.0.0.1:8080/").map_err(|e| e.to_string())?;
/// if !check("status is 200", response.status == 200) {
///     return Err(format!("unexpected status {}", response.status));
/// }
/// # Ok::<(), String>(())
/// ```
pub fn check(name: &str, ok: bool) -> bool {
    wit::checks::check(name, ok, &[])
}

/// Like [`check`], with extra tags recorded with the sample.
///
/// ```no_run
/// # use volley_sdk::{check_with_tags, http};
/// let response = http::get("http://127.0.0.1:8080/health").map_err(|e| e.to_string())?;
/// check_with_tags("healthy", response.is_success(), &[("service", "api")]);
/// # Ok::<(), String>(())
/// ```
pub fn check_with_tags(name: &str, ok: bool, tags: &[(&str, &str)]) -> bool {
    wit::checks::check(name, ok, &owned_pairs(tags))
}

/// Runs `body` inside the group `name`, like k6's `group`, and returns what
/// it returns.
///
/// Everything recorded inside (requests, checks, custom metrics) is tagged
/// `group` with the group's path: `"::book"`, or `"::book::pay"` when nested.
/// The time `body` took is recorded in the `group_duration` trend. The summary
/// lists checks under their groups.
///
/// A name must not contain `"::"`, and at most 16 groups may be open at once;
/// the runner stops the VU's iteration otherwise.
///
/// ```no_run
/// # use volley_sdk::{check, group, http};
/// let seats = group("browse", || {
///     let response = http::get("http://127.0.0.1:8080/seats").map_err(|e| e.to_string())?;
///     check("seats listed", response.status == 200);
///     Ok::<_, String>(response.body)
/// })?;
/// # Ok::<(), String>(())
/// ```
pub fn group<T>(name: &str, body: impl FnOnce() -> T) -> T {
    wit::group::enter(name);
    let result = body();
    wit::group::leave();
    result
}

/// Pauses this VU for `duration` (think time); other VUs run on.
///
/// The runner sleeps in whole milliseconds: a duration with a fraction of a
/// millisecond is rounded up. Prefer this to `std::thread::sleep`, which the runner
/// cannot see.
///
/// ```no_run
/// use std::time::Duration;
/// volley_sdk::sleep(Duration::from_millis(500));
/// ```
pub fn sleep(duration: Duration) {
    wit::vu::sleep(duration_to_millis_ceil(duration));
}

/// The run's environment variable `name` (from `--env` or the run options), if set.
///
/// The runner's own process environment is never visible: `std::env::var` sees
/// nothing.
///
/// ```no_run
/// let base = volley_sdk::env("TARGET_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
/// ```
pub fn env(name: &str) -> Option<String> {
    wit::vu::env(name)
}

/// All of the run's environment variables, by name.
///
/// ```no_run
/// for (name, value) in volley_sdk::env_vars() {
///     volley_sdk::log::debug(format!("{name}={value}"));
/// }
/// ```
pub fn env_vars() -> BTreeMap<String, String> {
    wit::vu::env_vars().into_iter().collect()
}

/// The bytes [`Scenario::setup`] returned (empty when it returned none).
///
/// The bytes are fetched from the runner once per instance (that is, once per VU)
/// and cached; later calls return a copy of the cache. Use [`setup_data_ref`] to
/// borrow them instead.
///
/// ```no_run
/// let token = String::from_utf8(volley_sdk::setup_data()).map_err(|e| e.to_string())?;
/// # Ok::<(), String>(())
/// ```
pub fn setup_data() -> Vec<u8> {
    setup_data_ref().to_vec()
}

/// Borrows the cached bytes [`Scenario::setup`] returned, without copying them.
///
/// ```no_run
/// if volley_sdk::setup_data_ref().is_empty() {
///     volley_sdk::log::warn("setup returned no data");
/// }
/// ```
pub fn setup_data_ref() -> &'static [u8] {
    static SETUP_DATA: OnceLock<Vec<u8>> = OnceLock::new();
    SETUP_DATA.get_or_init(wit::vu::setup_data)
}

/// Turns any error into the `String` error a [`Scenario`] returns, with context.
///
/// Implemented for every `Result` whose error implements [`Display`], such as
/// [`http::Error`] or `serde_json::Error`, so `?` works in
/// [`Scenario::iteration`]:
///
/// ```no_run
/// use volley_sdk::{ResultExt, http};
///
/// fn step() -> Result<(), String> {
///     let response = http::get("http://127.0.0.1:8080/dates").context("GET /dates")?;
///     // On failure the error reads, for example, "GET /dates: connection failed: refused".
///     let _dates: Vec<u32> = response.json().context("GET /dates: bad JSON")?;
///     Ok(())
/// }
/// ```
pub trait ResultExt<T> {
    /// Replaces the error by `"{context}: {error}"`.
    ///
    /// ```
    /// use volley_sdk::ResultExt;
    /// let parsed: Result<u64, String> = "12x".parse::<u64>().context("THINK_TIME_MS");
    /// assert_eq!(parsed.unwrap_err(), "THINK_TIME_MS: invalid digit found in string");
    /// ```
    fn context(self, context: impl Display) -> Result<T, String>;
}

impl<T, E: Display> ResultExt<T> for Result<T, E> {
    fn context(self, context: impl Display) -> Result<T, String> {
        self.map_err(|error| format!("{context}: {error}"))
    }
}

/// Copies borrowed tag or header pairs into the owned form the bindings take.
pub(crate) fn owned_pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|&(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// Whole milliseconds in `duration`, rounded up, saturating at `u64::MAX`.
pub(crate) fn duration_to_millis_ceil(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_up() {
        assert_eq!(duration_to_millis_ceil(Duration::ZERO), 0);
        assert_eq!(duration_to_millis_ceil(Duration::from_micros(1)), 1);
        assert_eq!(duration_to_millis_ceil(Duration::from_millis(500)), 500);
        assert_eq!(duration_to_millis_ceil(Duration::from_micros(1500)), 2);
        assert_eq!(duration_to_millis_ceil(Duration::MAX), u64::MAX);
    }

    #[test]
    fn context_prefixes_the_error() {
        let result: Result<(), &str> = Err("boom");
        assert_eq!(result.context("step 1"), Err("step 1: boom".to_string()));
    }

    #[test]
    fn owned_pairs_keep_order() {
        assert_eq!(
            owned_pairs(&[("b", "1"), ("a", "2")]),
            vec![("b".into(), "1".into()), ("a".into(), "2".into())]
        );
    }
}
