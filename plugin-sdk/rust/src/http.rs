//! The HTTP client.
//!
//! The runner sends each request on this VU's own keep-alive connections (HTTP/1.1,
//! or HTTP/2 over TLS when the server offers it), follows redirects, and records
//! every request in the run's metrics (`http_reqs`, `http_req_duration` and its
//! phases, `http_req_failed`, `data_sent`, `data_received`), whether it succeeds or
//! fails.
//!
//! A response of any status is a [`Response`] (a 500 is not an [`Error`]); an
//! [`Error`] means no response arrived.
//!
//! ```no_run
//! use std::time::Duration;
//! use volley_sdk::{ResultExt, check, http};
//!
//! # fn main() -> Result<(), String> {
//! // Simple calls.
//! let home = http::get("http://127.0.0.1:8080/").context("GET /")?;
//! check("home is up", home.is_success());
//!
//! // The builder, for everything else.
//! let seat = http::Request::get("http://127.0.0.1:8080/seats/A17")
//!     .name("GET /seats/{id}")
//!     .header("Authorization", "Bearer 123")
//!     .tag("zone", "A")
//!     .timeout(Duration::from_secs(5))
//!     .send()
//!     .context("GET /seats/{id}")?;
//! check("seat found", seat.status == 200);
//!
//! // Several requests at once.
//! let results = http::batch(vec![
//!     http::Request::get("http://127.0.0.1:8080/a.css").discard_body(),
//!     http::Request::get("http://127.0.0.1:8080/b.js").discard_body(),
//! ]);
//! check("assets loaded", results.iter().all(|r| r.as_ref().is_ok_and(|r| r.is_success())));
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::wit::http as raw;

/// Sends a `GET` request to `url` and waits for its whole response.
///
/// The request's metric name is the URL; use [`Request::get`] with
/// [`Request::name`] when URLs contain ids.
///
/// # Errors
///
/// An [`Error`] when no response arrived; see [`Request::send`].
///
/// ```no_run
/// let response = volley_sdk::http::get("http://127.0.0.1:8080/health")
///     .map_err(|e| e.to_string())?;
/// assert!(response.is_success());
/// # Ok::<(), String>(())
/// ```
pub fn get(url: impl Into<String>) -> Result<Response, Error> {
    Request::get(url).send()
}

/// Sends a `POST` request with `body` to `url` and waits for its whole response.
///
/// No `content-type` is set; use [`Request::post`] with [`Request::header`] or
/// `Request::json_body` to set one.
///
/// # Errors
///
/// An [`Error`] when no response arrived; see [`Request::send`].
///
/// ```no_run
/// let response = volley_sdk::http::post("http://127.0.0.1:8080/echo", "hello")
///     .map_err(|e| e.to_string())?;
/// assert_eq!(response.text(), "hello");
/// # Ok::<(), String>(())
/// ```
pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Result<Response, Error> {
    Request::post(url).body(body).send()
}

/// Sends several requests at once and returns their results in the same order.
///
/// The runner keeps at most 6 requests in flight per host, like k6's `batchPerHost`.
///
/// ```no_run
/// use volley_sdk::http::{self, Request};
///
/// let results = http::batch(
///     (1..=3).map(|id| {
///         Request::get(format!("http://127.0.0.1:8080/dates/{id}/seats"))
///             .name("GET /dates/{id}/seats")
///     }),
/// );
/// for result in results {
///     match result {
///         Ok(response) => volley_sdk::log::debug(format!("{}", response.status)),
///         Err(error) => volley_sdk::log::warn(error.to_string()),
///     }
/// }
/// ```
pub fn batch(requests: impl IntoIterator<Item = Request>) -> Vec<Result<Response, Error>> {
    // Requests that already failed in the guest (a JSON body that did not serialize)
    // are not sent; the rest go to the runner in one batch, and the results are put
    // back in order.
    let mut results: Vec<Option<Result<Response, Error>>> = Vec::new();
    let mut to_send = Vec::new();
    for request in requests {
        match request.into_raw() {
            Ok(raw) => {
                to_send.push(raw);
                results.push(None);
            }
            Err(error) => results.push(Some(Err(error))),
        }
    }
    let mut sent = if to_send.is_empty() {
        Vec::new()
    } else {
        raw::send_batch(&to_send)
    }
    .into_iter()
    .map(|result| result.map(Response::from).map_err(Error::from));
    results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| {
                sent.next().unwrap_or_else(|| {
                    Err(Error::Protocol(
                        "the runner returned fewer results than requests were sent".into(),
                    ))
                })
            })
        })
        .collect()
}

/// An HTTP request, built step by step and sent with [`Request::send`] or
/// [`batch`].
///
/// ```no_run
/// use std::time::Duration;
/// use volley_sdk::http::Request;
///
/// let response = Request::new("PUT", "http://127.0.0.1:8080/profile/7")
///     .name("PUT /profile/{id}")
///     .header("content-type", "text/plain")
///     .body("new name")
///     .timeout(Duration::from_secs(2))
///     .max_redirects(0)
///     .send()
///     .map_err(|e| e.to_string())?;
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct Request {
    raw: raw::Request,
    /// An error found while building (a JSON body that did not serialize), returned
    /// by `send` instead of sending.
    build_error: Option<Error>,
}

impl Request {
    /// A request with `method` (such as `"GET"`; any token is allowed) to `url` (an
    /// absolute `http://` or `https://` URL), with no headers and no body.
    ///
    /// ```
    /// let request = volley_sdk::http::Request::new("OPTIONS", "http://127.0.0.1:8080/");
    /// assert_eq!(request.method(), "OPTIONS");
    /// ```
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            raw: raw::Request {
                method: method.into(),
                url: url.into(),
                headers: Vec::new(),
                body: None,
                name: None,
                tags: Vec::new(),
                timeout_ms: None,
                max_redirects: None,
                discard_body: false,
            },
            build_error: None,
        }
    }

    /// A `GET` request to `url`.
    ///
    /// ```
    /// let request = volley_sdk::http::Request::get("http://127.0.0.1:8080/");
    /// assert_eq!(request.method(), "GET");
    /// ```
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request to `url`.
    ///
    /// ```
    /// let request = volley_sdk::http::Request::post("http://127.0.0.1:8080/login");
    /// assert_eq!(request.method(), "POST");
    /// ```
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// A `PUT` request to `url`.
    ///
    /// ```
    /// let request = volley_sdk::http::Request::put("http://127.0.0.1:8080/items/1");
    /// assert_eq!(request.method(), "PUT");
    /// ```
    pub fn put(url: impl Into<String>) -> Self {
        Self::new("PUT", url)
    }

    /// A `PATCH` request to `url`.
    ///
    /// ```
    /// let request = volley_sdk::http::Request::patch("http://127.0.0.1:8080/items/1");
    /// assert_eq!(request.method(), "PATCH");
    /// ```
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new("PATCH", url)
    }

    /// A `DELETE` request to `url`.
    ///
    /// ```
    /// let request = volley_sdk::http::Request::delete("http://127.0.0.1:8080/items/1");
    /// assert_eq!(request.method(), "DELETE");
    /// ```
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new("DELETE", url)
    }

    /// The request's method.
    ///
    /// ```
    /// # use volley_sdk::http::Request;
    /// assert_eq!(Request::post("http://127.0.0.1/").method(), "POST");
    /// ```
    pub fn method(&self) -> &str {
        &self.raw.method
    }

    /// The request's URL.
    ///
    /// ```
    /// # use volley_sdk::http::Request;
    /// assert_eq!(Request::get("http://127.0.0.1/a").url(), "http://127.0.0.1/a");
    /// ```
    pub fn url(&self) -> &str {
        &self.raw.url
    }

    /// Adds the header `name: value`. Repeat a name to send it several times.
    ///
    /// The runner adds `host`, `content-length` and a default `user-agent` where they
    /// are missing.
    ///
    /// ```
    /// # use volley_sdk::http::Request;
    /// let request = Request::get("http://127.0.0.1/")
    ///     .header("Accept", "application/json")
    ///     .header("Authorization", "Bearer abc");
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.raw.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the metric label of this request (its `name` tag), so that URLs that
    /// differ only by ids share one series. Defaults to the URL.
    ///
    /// ```
    /// # use volley_sdk::http::Request;
    /// let id = 17;
    /// let request = Request::get(format!("http://127.0.0.1/seats/{id}")).name("GET /seats/{id}");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.raw.name = Some(name.into());
        self
    }

    /// Adds the tag `key=value` to this request's metrics.
    ///
    /// ```
    /// # use volley_sdk::http::Request;
    /// let request = Request::get("http://127.0.0.1/").tag("step", "landing");
    /// ```
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.raw.tags.push((key.into(), value.into()));
        self
    }

    /// Limits the whole request, redirects included, to `timeout` (default 60 s).
    ///
    /// The runner counts whole milliseconds: a fraction is rounded up, and a timeout
    /// beyond `u32::MAX` milliseconds (about 49 days) is cut to that.
    ///
    /// ```
    /// # use volley_sdk::http::Request;
    /// use std::time::Duration;
    /// let request = Request::get("http://127.0.0.1/slow").timeout(Duration::from_millis(1500));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        let millis = crate::duration_to_millis_ceil(timeout);
        self.raw.timeout_ms = Some(u32::try_from(millis).unwrap_or(u32::MAX));
        self
    }

    /// Follows at most `max` redirects (default 10); with 0 the redirect response
    /// itself is returned.
    ///
    /// ```
    /// # use volley_sdk::http::Request;
    /// let request = Request::get("http://127.0.0.1/old-page").max_redirects(0);
    /// ```
    pub fn max_redirects(mut self, max: u32) -> Self {
        self.raw.max_redirects = Some(max);
        self
    }

    /// Has the runner read the body (it is still timed and counted) without copying
    /// it into the scenario: [`Response::body`] is then empty. Saves memory and time
    /// when only the status or headers matter.
    ///
    /// ```
    /// # use volley_sdk::http::Request;
    /// let request = Request::get("http://127.0.0.1/big.bin").discard_body();
    /// ```
    pub fn discard_body(mut self) -> Self {
        self.raw.discard_body = true;
        self
    }

    /// Sets the request body.
    ///
    /// ```
    /// # use volley_sdk::http::Request;
    /// let request = Request::post("http://127.0.0.1/upload")
    ///     .header("content-type", "application/octet-stream")
    ///     .body(vec![0u8; 1024]);
    /// let form = Request::post("http://127.0.0.1/login")
    ///     .header("content-type", "application/x-www-form-urlencoded")
    ///     .body("user=ann&password=secret");
    /// ```
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.raw.body = Some(body.into());
        self
    }

    /// Sets the body to `value` as JSON, and the `content-type` header to
    /// `application/json` unless one is set already.
    ///
    /// Should `value` fail to serialize, [`send`](Request::send) returns
    /// [`Error::InvalidRequest`] without sending anything (so the runner does not
    /// count it).
    ///
    /// ```no_run
    /// use volley_sdk::http::Request;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Reservation<'a> {
    ///     date_id: u64,
    ///     seat_id: &'a str,
    /// }
    ///
    /// let response = Request::post("http://127.0.0.1:8080/reservations")
    ///     .json_body(&Reservation { date_id: 1, seat_id: "A1" })
    ///     .send()
    ///     .map_err(|e| e.to_string())?;
    /// # Ok::<(), String>(())
    /// ```
    #[cfg(feature = "json")]
    pub fn json_body<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                let has_content_type = self
                    .raw
                    .headers
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
                if !has_content_type {
                    self.raw
                        .headers
                        .push(("content-type".into(), "application/json".into()));
                }
                self.raw.body = Some(body);
            }
            Err(error) => {
                self.build_error = Some(Error::InvalidRequest(format!(
                    "the JSON body did not serialize: {error}"
                )));
            }
        }
        self
    }

    /// Sends the request and waits for its whole response.
    ///
    /// # Errors
    ///
    /// An [`Error`] when no response arrived (the runner counts it in
    /// `http_req_failed`): a malformed request, a denied target, a DNS, connection,
    /// TLS or protocol failure, a timeout or too many redirects. Any HTTP status,
    /// 4xx and 5xx included, is an `Ok` response.
    ///
    /// ```no_run
    /// use volley_sdk::http::{Error, Request};
    ///
    /// match Request::get("http://127.0.0.1:8080/").send() {
    ///     Ok(response) => volley_sdk::check("status is 200", response.status == 200),
    ///     Err(Error::Timeout) => volley_sdk::check("no timeout", false),
    ///     Err(other) => return Err(other.to_string()),
    /// };
    /// # Ok::<(), String>(())
    /// ```
    pub fn send(self) -> Result<Response, Error> {
        let raw = self.into_raw()?;
        raw::send(&raw).map(Response::from).map_err(Error::from)
    }

    fn into_raw(self) -> Result<raw::Request, Error> {
        match self.build_error {
            Some(error) => Err(error),
            None => Ok(self.raw),
        }
    }
}

/// An HTTP response, of any status.
///
/// ```no_run
/// let response = volley_sdk::http::get("http://127.0.0.1:8080/").map_err(|e| e.to_string())?;
/// println!(
///     "{} {} from {} in {:?} ({} bytes, {:?})",
///     response.protocol,
///     response.status,
///     response.url,
///     response.timings.duration,
///     response.body.len(),
///     response.header("content-type"),
/// );
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Response headers in the order received, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body; empty when the request asked for [`Request::discard_body`].
    pub body: Vec<u8>,
    /// The URL that produced this response, after redirects.
    pub url: String,
    /// `"HTTP/1.1"` or `"HTTP/2.0"`.
    pub protocol: String,
    /// Where the time of the request went.
    pub timings: Timings,
}

impl Response {
    /// The body as text; invalid UTF-8 is replaced by `U+FFFD`.
    ///
    /// ```no_run
    /// let response = volley_sdk::http::get("http://127.0.0.1:8080/").map_err(|e| e.to_string())?;
    /// volley_sdk::check("says hello", response.text().contains("hello"));
    /// # Ok::<(), String>(())
    /// ```
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The value of the first header called `name` (compared case-insensitively).
    ///
    /// ```no_run
    /// let response = volley_sdk::http::get("http://127.0.0.1:8080/").map_err(|e| e.to_string())?;
    /// let is_json = response
    ///     .header("Content-Type")
    ///     .is_some_and(|value| value.starts_with("application/json"));
    /// # Ok::<(), String>(())
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The values of every header called `name` (compared case-insensitively), in
    /// order.
    ///
    /// ```no_run
    /// let response = volley_sdk::http::get("http://127.0.0.1:8080/login").map_err(|e| e.to_string())?;
    /// let cookies: Vec<&str> = response.header_all("set-cookie").collect();
    /// # Ok::<(), String>(())
    /// ```
    pub fn header_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Parses the body as JSON.
    ///
    /// # Errors
    ///
    /// A `serde_json::Error` when the body is not JSON or does not match `T`.
    ///
    /// ```no_run
    /// #[derive(serde::Deserialize)]
    /// struct Token {
    ///     token: String,
    /// }
    ///
    /// let response = volley_sdk::http::post("http://127.0.0.1:8080/queue/token", "")
    ///     .map_err(|e| e.to_string())?;
    /// let Token { token } = response.json().map_err(|e| e.to_string())?;
    /// # Ok::<(), String>(())
    /// ```
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// Whether the status is 2xx.
    ///
    /// ```no_run
    /// let response = volley_sdk::http::get("http://127.0.0.1:8080/").map_err(|e| e.to_string())?;
    /// volley_sdk::check("2xx", response.is_success());
    /// # Ok::<(), String>(())
    /// ```
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl From<raw::Response> for Response {
    fn from(raw: raw::Response) -> Self {
        Self {
            status: raw.status,
            headers: raw.headers,
            body: raw.body,
            url: raw.url,
            protocol: raw.protocol,
            timings: raw.timings.into(),
        }
    }
}

/// Where the time of one request went, as k6 defines it.
///
/// ```no_run
/// use volley_sdk::metrics::Trend;
///
/// let response = volley_sdk::http::get("http://127.0.0.1:8080/").map_err(|e| e.to_string())?;
/// let t = response.timings;
/// Trend::new_time("server_time").add_duration(t.waiting);
/// if t.connecting.is_zero() {
///     volley_sdk::log::debug("reused a kept-alive connection");
/// }
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timings {
    /// Waiting for a connection: DNS lookup, or a free connection slot.
    pub blocked: Duration,
    /// Establishing the TCP connection (zero when a kept-alive one was reused).
    pub connecting: Duration,
    /// The TLS handshake (zero for plain HTTP or a reused connection).
    pub tls_handshaking: Duration,
    /// Writing the request.
    pub sending: Duration,
    /// From the last request byte written to the first response byte read.
    pub waiting: Duration,
    /// Reading the response from its first byte to its last.
    pub receiving: Duration,
    /// sending + waiting + receiving: the value of `http_req_duration`.
    pub duration: Duration,
}

impl From<raw::Timings> for Timings {
    fn from(raw: raw::Timings) -> Self {
        Self {
            blocked: millis_to_duration(raw.blocked),
            connecting: millis_to_duration(raw.connecting),
            tls_handshaking: millis_to_duration(raw.tls_handshaking),
            sending: millis_to_duration(raw.sending),
            waiting: millis_to_duration(raw.waiting),
            receiving: millis_to_duration(raw.receiving),
            duration: millis_to_duration(raw.duration),
        }
    }
}

/// Milliseconds as a `Duration`: zero for negative or NaN, `Duration::MAX` for too
/// large.
fn millis_to_duration(millis: f64) -> Duration {
    if millis.is_nan() || millis <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(millis / 1000.0).unwrap_or(Duration::MAX)
    }
}

/// Why a request got no response.
///
/// Each is counted in `http_req_failed` and in `http_reqs` with the tag `error_code`
/// (see [`Error::code`]).
///
/// ```no_run
/// use volley_sdk::http::{self, Error};
///
/// match http::get("http://127.0.0.1:9/") {
///     Ok(_) => {}
///     Err(Error::Connect(detail)) => volley_sdk::log::warn(format!("refused: {detail}")),
///     Err(error) => return Err(error.to_string()),
/// }
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The request itself is malformed (bad URL, method or header, or a JSON body
    /// that did not serialize).
    InvalidRequest(String),
    /// The target is not allowed by the runner's configuration.
    Denied(String),
    /// The host name could not be resolved.
    Dns(String),
    /// The TCP connection could not be made (refused, unreachable).
    Connect(String),
    /// The TLS handshake failed.
    Tls(String),
    /// The request did not finish within its timeout.
    Timeout,
    /// The connection broke or the peer spoke invalid HTTP.
    Protocol(String),
    /// More redirects than [`Request::max_redirects`] allows.
    TooManyRedirects,
}

impl Error {
    /// The error's kind as in the WIT contract, such as `"connect"` or `"timeout"`.
    ///
    /// ```
    /// use volley_sdk::http::Error;
    /// assert_eq!(Error::Timeout.code(), "timeout");
    /// assert_eq!(Error::InvalidRequest("bad URL".into()).code(), "invalid-request");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidRequest(_) => "invalid-request",
            Error::Denied(_) => "denied",
            Error::Dns(_) => "dns",
            Error::Connect(_) => "connect",
            Error::Tls(_) => "tls",
            Error::Timeout => "timeout",
            Error::Protocol(_) => "protocol",
            Error::TooManyRedirects => "too-many-redirects",
        }
    }
}

impl fmt::Display for Error {
    /// ```
    /// use volley_sdk::http::Error;
    /// assert_eq!(Error::Connect("refused".into()).to_string(), "connection failed: refused");
    /// assert_eq!(Error::Timeout.to_string(), "request timed out");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidRequest(detail) => write!(f, "invalid request: {detail}"),
            Error::Denied(detail) => write!(f, "request denied by the runner: {detail}"),
            Error::Dns(detail) => write!(f, "DNS lookup failed: {detail}"),
            Error::Connect(detail) => write!(f, "connection failed: {detail}"),
            Error::Tls(detail) => write!(f, "TLS handshake failed: {detail}"),
            Error::Timeout => f.write_str("request timed out"),
            Error::Protocol(detail) => write!(f, "protocol error: {detail}"),
            Error::TooManyRedirects => f.write_str("too many redirects"),
        }
    }
}

impl std::error::Error for Error {}

impl From<raw::Error> for Error {
    fn from(raw: raw::Error) -> Self {
        match raw {
            raw::Error::InvalidRequest(detail) => Error::InvalidRequest(detail),
            raw::Error::Denied(detail) => Error::Denied(detail),
            raw::Error::Dns(detail) => Error::Dns(detail),
            raw::Error::Connect(detail) => Error::Connect(detail),
            raw::Error::Tls(detail) => Error::Tls(detail),
            raw::Error::Timeout => Error::Timeout,
            raw::Error::Protocol(detail) => Error::Protocol(detail),
            raw::Error::TooManyRedirects => Error::TooManyRedirects,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)], body: &[u8]) -> Response {
        Response {
            status: 200,
            headers: crate::owned_pairs(headers),
            body: body.to_vec(),
            url: "http://127.0.0.1/".into(),
            protocol: "HTTP/1.1".into(),
            timings: Timings::default(),
        }
    }

    #[test]
    fn header_lookup_ignores_case() {
        let r = response(
            &[("content-type", "text/plain"), ("set-cookie", "a=1")],
            b"",
        );
        assert_eq!(r.header("Content-Type"), Some("text/plain"));
        assert_eq!(r.header("x-missing"), None);
        let r = response(&[("set-cookie", "a=1"), ("set-cookie", "b=2")], b"");
        assert_eq!(
            r.header_all("SET-COOKIE").collect::<Vec<_>>(),
            ["a=1", "b=2"]
        );
    }

    #[test]
    fn text_is_lossy() {
        assert_eq!(response(&[], b"hi \xff").text(), "hi \u{fffd}");
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_round_trip() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Token {
            token: String,
        }
        let r = response(&[], br#"{"token":"t1"}"#);
        assert_eq!(r.json::<Token>().unwrap(), Token { token: "t1".into() });
        assert!(response(&[], b"nope").json::<Token>().is_err());
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_body_sets_content_type_once() {
        let request = Request::post("http://127.0.0.1/").json_body(&[1, 2]);
        assert_eq!(request.raw.body.as_deref(), Some(&b"[1,2]"[..]));
        assert_eq!(
            request.raw.headers,
            vec![("content-type".to_string(), "application/json".to_string())]
        );
        let request = Request::post("http://127.0.0.1/")
            .header("Content-Type", "application/vnd.api+json")
            .json_body(&"x");
        assert_eq!(request.raw.headers.len(), 1);
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_body_error_is_returned_by_send() {
        use std::collections::HashMap;
        // Maps with non-string keys do not serialize to JSON.
        let bad: HashMap<Vec<u8>, u8> = HashMap::from([(vec![1], 1)]);
        let error = Request::post("http://127.0.0.1/")
            .json_body(&bad)
            .send()
            .unwrap_err();
        assert_eq!(error.code(), "invalid-request");
        // And a batch of only bad requests never reaches the runner.
        let results = batch(vec![Request::post("http://127.0.0.1/").json_body(&bad)]);
        assert!(matches!(
            results.as_slice(),
            [Err(Error::InvalidRequest(_))]
        ));
    }

    #[test]
    fn builder_fills_the_request() {
        let request = Request::get("http://127.0.0.1/seats/1")
            .name("GET /seats/{id}")
            .tag("zone", "A")
            .header("accept", "*/*")
            .timeout(Duration::from_micros(1500))
            .max_redirects(2)
            .discard_body();
        assert_eq!(request.raw.name.as_deref(), Some("GET /seats/{id}"));
        assert_eq!(request.raw.tags, vec![("zone".into(), "A".into())]);
        assert_eq!(request.raw.timeout_ms, Some(2));
        assert_eq!(request.raw.max_redirects, Some(2));
        assert!(request.raw.discard_body);
        let long = Request::get("http://127.0.0.1/").timeout(Duration::from_secs(u64::MAX));
        assert_eq!(long.raw.timeout_ms, Some(u32::MAX));
    }

    #[test]
    fn timings_convert_from_millis() {
        assert_eq!(millis_to_duration(1.5), Duration::from_micros(1500));
        assert_eq!(millis_to_duration(-3.0), Duration::ZERO);
        assert_eq!(millis_to_duration(f64::NAN), Duration::ZERO);
        assert_eq!(millis_to_duration(f64::INFINITY), Duration::MAX);
    }

    #[test]
    fn errors_display_and_code() {
        let error: Error = raw::Error::Dns("no such host".into()).into();
        assert_eq!(error.to_string(), "DNS lookup failed: no such host");
        assert_eq!(error.code(), "dns");
        assert_eq!(Error::TooManyRedirects.to_string(), "too many redirects");
    }
}
