//! The example and test scenarios of `example-plugins/`, built to Wasm components.
//!
//! The build script builds the `example-plugins` workspace for `wasm32-wasip2`
//! (installing that target with rustup if it is missing) and copies every guest's
//! component into this crate's `OUT_DIR`; the constants below are the absolute
//! paths of those copies. Host tests load them; the `volley` binary embeds
//! [`CONCERT_BOOKING_WASM`] as its demo scenario.
//!
//! ```no_run
//! let bytes = std::fs::read(volley_example_artifacts::HELLO).unwrap();
//! assert!(bytes.starts_with(b"\0asm"));
//! ```

/// The constants the build script generates: one per guest, and [`ALL`].
mod generated {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// Path of the `hello` guest: one `GET` of the run's `TARGET_URL` per iteration,
/// checked for a 200 (`options`: 1 VU for 10 s).
pub const HELLO: &str = generated::HELLO;

/// Path of the `concert-booking` guest: the demo scenario that books a seat
/// against the demo concert API at `TARGET_URL` (queue token, dates, seats,
/// reservation, payment), with think time from `THINK_TIME_MS`.
pub const CONCERT_BOOKING: &str = generated::CONCERT_BOOKING;

/// Path of the `faulty` guest, which misbehaves as its `exec` argument says: `ok`,
/// `error`, `trap`, `loop` (endless computation), `grow` (endless allocation),
/// `sleep` (100 ms) or `check-setup`; its `setup` fails when `FAIL_SETUP=1`.
pub const FAULTY: &str = generated::FAULTY;

/// Path of the `wasi-http` guest, which sends its requests with a standard
/// `wasi:http` client (`waki`): `POST {TARGET_URL}/queue/token`, then
/// `GET {TARGET_URL}/dates` with the token, in the group `wasi`.
pub const WASI_HTTP: &str = generated::WASI_HTTP;

/// The bytes of the `concert-booking` component, embedded in the binary that uses
/// them (the `volley` binary's built-in demo scenario).
pub const CONCERT_BOOKING_WASM: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/concert_booking.wasm"));

/// `(package name, component path)` of every guest in the `example-plugins`
/// workspace, in its `members` order, so that a test can check that every example
/// has a test.
///
/// ```
/// let names: Vec<&str> = volley_example_artifacts::ALL.iter().map(|(name, _)| *name).collect();
/// assert!(names.contains(&"hello"));
/// ```
pub const ALL: &[(&str, &str)] = generated::ALL;

#[cfg(test)]
mod tests {
    use super::*;

    /// The preamble of a binary component (a core module has version 1, layer 0).
    const COMPONENT_PREAMBLE: &[u8] = b"\0asm\x0d\x00\x01\x00";

    #[test]
    fn every_guest_is_a_built_component() {
        assert!(!ALL.is_empty());
        for (name, path) in ALL {
            let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {path}: {e}"));
            assert!(
                bytes.starts_with(COMPONENT_PREAMBLE),
                "{name}: {path} is not a Wasm component"
            );
        }
    }

    #[test]
    fn named_constants_are_listed_in_all() {
        for (name, path) in [
            ("hello", HELLO),
            ("concert-booking", CONCERT_BOOKING),
            ("faulty", FAULTY),
        ] {
            assert!(ALL.contains(&(name, path)), "{name} missing from ALL");
        }
    }

    #[test]
    fn embedded_bytes_match_the_file() {
        assert_eq!(
            CONCERT_BOOKING_WASM,
            std::fs::read(CONCERT_BOOKING).unwrap().as_slice()
        );
    }
}
