//! The end-of-run webhook: a JSON POST of the run and its results, signed with
//! an HMAC-SHA256 of the body when the server has a secret, retried with
//! exponential backoff until a 2xx answer or the attempts run out.

use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;

/// The header carrying the signature: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-volley-signature-256";
/// The header naming the event (`run.ended`).
pub const EVENT_HEADER: &str = "x-volley-event";
/// The header carrying the run's id.
pub const RUN_HEADER: &str = "x-volley-run";
/// How long one delivery attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How webhooks are sent.
#[derive(Clone)]
pub struct WebhookSender {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    secret: Option<Vec<u8>>,
    attempts: u32,
    first_backoff: Duration,
}

impl WebhookSender {
    /// A sender signing with `secret` (if any), trying `attempts` times, the
    /// pause doubling from `first_backoff`.
    pub fn new(secret: Option<String>, attempts: u32, first_backoff: Duration) -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            secret: secret.map(String::into_bytes),
            attempts: attempts.max(1),
            first_backoff,
        }
    }

    /// `sha256=<hex>` of `body` under the secret, if there is one.
    pub fn signature(&self, body: &[u8]) -> Option<String> {
        let secret = self.secret.as_ref()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(body);
        let digest: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Some(format!("sha256={digest}"))
    }

    /// Whether a delivery that made `attempts` attempts may try again.
    pub fn may_retry(&self, attempts: u32) -> bool {
        attempts < self.attempts
    }

    /// Delivers `body` to `url`, going on after `made` earlier attempts;
    /// `progress` is told after each attempt (attempts so far, delivered, last
    /// error). Returns when delivered or out of attempts.
    pub async fn deliver(
        &self,
        url: &str,
        run_id: &str,
        body: Vec<u8>,
        made: u32,
        mut progress: impl FnMut(u32, bool, Option<String>),
    ) {
        let body = Bytes::from(body);
        let signature = self.signature(&body);
        let mut backoff = self.first_backoff;
        for attempt in made + 1..=self.attempts {
            let outcome = self
                .attempt(url, run_id, body.clone(), signature.as_deref())
                .await;
            let delivered = outcome.is_ok();
            progress(attempt, delivered, outcome.err());
            if delivered {
                return;
            }
            if attempt < self.attempts {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
    }

    async fn attempt(
        &self,
        url: &str,
        run_id: &str,
        body: Bytes,
        signature: Option<&str>,
    ) -> Result<(), String> {
        let mut request = hyper::Request::post(url)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("volley/", env!("CARGO_PKG_VERSION")),
            )
            .header(EVENT_HEADER, "run.ended")
            .header(RUN_HEADER, run_id);
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs()))?
            .map_err(|e| format!("{e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", response.status()))
        }
    }
}

/// Checks a webhook URL: absolute `http://` or `https://` (verified against
/// the Mozilla root certificates) with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed: hyper::Uri = url
        .parse()
        .map_err(|e| format!("webhook {url:?} is not a URL: {e}"))?;
    match (parsed.scheme_str(), parsed.host()) {
        (Some("http" | "https"), Some(_)) => Ok(()),
        _ => Err(format!(
            "webhook {url:?} must be an absolute http:// or https:// URL"
        )),
    }
}
