//! A scenario whose requests go through `wasi:http/outgoing-handler`, with the
//! `waki` client, as code written for any WASI host would send them. Volley
//! sends them on the VU's own connections and records them like requests of its
//! `http` interface.
//!
//! Each iteration, inside the group `wasi`, sends `POST {TARGET_URL}/queue/token`
//! (check "token issued"), then `GET {TARGET_URL}/dates` with that token
//! (check "dates listed").
//!
//! ```text
//! volley run wasi_http.wasm --env TARGET_URL=http://127.0.0.1:8080
//! ```

use serde::Deserialize;
use volley_sdk::{Scenario, check, group};

/// `POST /queue/token` answer.
#[derive(Deserialize)]
struct Token {
    token: String,
}

/// The `wasi-http` scenario.
struct WasiHttp;

impl Scenario for WasiHttp {
    fn options() -> String {
        r#"{"vus": 1, "duration": "10s"}"#.into()
    }

    fn iteration(_exec: &str) -> Result<(), String> {
        let base = volley_sdk::env("TARGET_URL")
            .ok_or("TARGET_URL is not set: pass --env TARGET_URL=http://host:port")?;
        let base = base.trim_end_matches('/');
        let client = waki::Client::new();
        group("wasi", || {
            let token = client
                .post(&format!("{base}/queue/token"))
                .send()
                .map_err(|e| format!("POST /queue/token: {e}"))?;
            let token: Option<String> = (token.status_code() == 200)
                .then(|| token.body().ok())
                .flatten()
                .and_then(|body| volley_sdk::serde_json::from_slice::<Token>(&body).ok())
                .map(|parsed| parsed.token);
            check("token issued", token.is_some());
            let token = token.ok_or("POST /queue/token: no token")?;
            let dates = client
                .get(&format!("{base}/dates"))
                .header("authorization", format!("Bearer {token}"))
                .send()
                .map_err(|e| format!("GET /dates: {e}"))?;
            let listed =
                dates.status_code() == 200 && dates.body().is_ok_and(|body| body.starts_with(b"["));
            check("dates listed", listed);
            Ok(())
        })
    }
}

volley_sdk::export_scenario!(WasiHttp);
