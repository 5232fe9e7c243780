//! The smallest useful Volley scenario: each iteration sends one `GET` to the run's
//! `TARGET_URL` and checks that the answer is a 200, then sleeps `SLEEP_MS`
//! milliseconds (default 0) as think time. `TIMEOUT_MS` sets the request's
//! timeout (default: the runner's, 60 s).
//!
//! ```text
//! volley run hello.wasm --env TARGET_URL=http://127.0.0.1:8080/
//! ```

use volley_sdk::{ResultExt, Scenario, check, http};

/// The `hello` scenario.
struct Hello;

impl Scenario for Hello {
    fn options() -> String {
        r#"{"vus": 1, "duration": "10s"}"#.into()
    }

    fn iteration(_exec: &str) -> Result<(), String> {
        let url = volley_sdk::env("TARGET_URL")
            .ok_or("TARGET_URL is not set: pass --env TARGET_URL=http://host:port/")?;
        let mut request = http::Request::get(url.as_str()).discard_body();
        if let Some(ms) = volley_sdk::env("TIMEOUT_MS") {
            let ms: u64 = ms
                .parse()
                .context("TIMEOUT_MS must be a number of milliseconds")?;
            request = request.timeout(std::time::Duration::from_millis(ms));
        }
        let response = request.send().context(format!("GET {url}"))?;
        check("status is 200", response.status == 200);
        if let Some(ms) = volley_sdk::env("SLEEP_MS") {
            let ms: u64 = ms
                .parse()
                .context("SLEEP_MS must be a number of milliseconds")?;
            volley_sdk::sleep(std::time::Duration::from_millis(ms));
        }
        Ok(())
    }
}

volley_sdk::export_scenario!(Hello);
