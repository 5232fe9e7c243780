//! A test scenario that misbehaves on demand, to exercise the runner's error
//! handling and resource limits.
//!
//! The `exec` argument of `iteration` (the run's `exec` option) picks what one
//! iteration does:
//!
//! | exec | behaviour |
//! | --- | --- |
//! | `ok` | nothing; succeeds |
//! | `error` | returns the error `deliberate failure` |
//! | `trap` | panics with `deliberate trap` (a Wasm trap) |
//! | `loop` | computes forever without calling the runner (needs fuel/epoch limits) |
//! | `grow` | allocates 1 MiB blocks, touching every byte, without bound (needs a memory limit) |
//! | `sleep` | sleeps 100 ms through the runner, then succeeds |
//! | `check-setup` | fails unless `setup_data()` is exactly `setup-data` |
//! | `groups` | checks at the root, in group `outer` and in `outer`'s group `inner` (which sleeps 20 ms and adds 1 to the counter `grouped`) |
//! | `bad-group` | opens a group whose name contains `::` (the runner traps) |
//! | `stray-leave` | leaves a group without opening one (the runner traps) |
//! | `unclosed-group` | in its first iteration opens group `left-open` and returns; then checks `where` |
//!
//! Any other `exec`, `default` included, fails the iteration with a message listing
//! these. `setup` fails with `setup failed on purpose` when the run's environment
//! variable `FAIL_SETUP` is `1`; otherwise it returns `setup-data`.

use std::hint::black_box;
use std::time::Duration;

use volley_sdk::bindings::volley::scenario::group as raw_group;
use volley_sdk::{Scenario, check, group};

/// The bytes `setup` hands to every VU.
const SETUP_DATA: &[u8] = b"setup-data";

/// Every `exec` value this scenario understands.
const EXECS: &str = "ok, error, trap, loop, grow, sleep, check-setup, groups, bad-group, stray-leave, unclosed-group";

/// The `faulty` scenario.
struct Faulty;

impl Scenario for Faulty {
    fn setup() -> Result<Vec<u8>, String> {
        if volley_sdk::env("FAIL_SETUP").as_deref() == Some("1") {
            return Err("setup failed on purpose".into());
        }
        Ok(SETUP_DATA.to_vec())
    }

    fn iteration(exec: &str) -> Result<(), String> {
        match exec {
            "ok" => Ok(()),
            "error" => Err("deliberate failure".into()),
            "trap" => panic!("deliberate trap"),
            "loop" => spin_forever(),
            "grow" => grow_forever(),
            "sleep" => {
                volley_sdk::sleep(Duration::from_millis(100));
                Ok(())
            }
            "check-setup" => {
                let data = volley_sdk::setup_data();
                if data == SETUP_DATA {
                    Ok(())
                } else {
                    Err(format!(
                        "setup_data() returned {:?}, expected {:?}",
                        String::from_utf8_lossy(&data),
                        String::from_utf8_lossy(SETUP_DATA),
                    ))
                }
            }
            "groups" => {
                check("root check", true);
                group("outer", || {
                    check("outer check", true);
                    group("inner", || {
                        volley_sdk::sleep(Duration::from_millis(20));
                        check("inner check", true);
                        volley_sdk::metrics::Counter::new("grouped").add(1.0);
                    });
                });
                Ok(())
            }
            "bad-group" => group("a::b", || Ok(())),
            "stray-leave" => {
                raw_group::leave();
                Ok(())
            }
            "unclosed-group" => {
                if volley_sdk::vu::iteration() == 0 {
                    raw_group::enter("left-open");
                    return Ok(());
                }
                check("where", true);
                Ok(())
            }
            other => Err(format!("unknown exec {other:?}; expected one of: {EXECS}")),
        }
    }
}

/// Computes forever without calling the runner; only fuel or epoch interruption
/// stops it.
fn spin_forever() -> ! {
    let mut state: u64 = black_box(1);
    loop {
        // A 64-bit LCG step; `black_box` keeps the optimizer from proving the loop
        // has no effect and removing it.
        state = black_box(
            state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        );
    }
}

/// Allocates and touches memory without bound; only a memory limit (a failed
/// `memory.grow`, which aborts) stops it.
fn grow_forever() -> ! {
    const BLOCK: usize = 1 << 20;
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Non-zero bytes, so every page is written and really committed.
        let block = vec![0xA5_u8; BLOCK];
        hoard.push(black_box(block));
        black_box(&hoard);
    }
}

volley_sdk::export_scenario!(Faulty);
