//! The HTTP client each VU owns: keep-alive connections per origin (as a real
//! user's browser and k6 keep them), HTTP/1.1 and HTTP/2 over TLS, redirects,
//! timeouts, and k6's per-phase timings of every request on the wire.

mod allow;
mod timed_io;
mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HOST, LOCATION, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use url::Url;

pub use allow::{AllowList, TargetPattern};
pub use timed_io::IoMarks;
use timed_io::TimedIo;

/// The default time limit of one request, redirects included (k6's).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default number of redirects followed (k6's).
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;
/// Requests of one batch in flight per origin at once (k6's `batchPerHost`).
pub const BATCH_PER_HOST: usize = 6;

/// Settings shared by every VU's client in a run.
#[derive(Clone)]
pub struct ClientConfig {
    tls: Arc<rustls::ClientConfig>,
    user_agent: HeaderValue,
    /// When set, the only targets requests may go to.
    allowed_targets: Option<Arc<AllowList>>,
}

impl ClientConfig {
    /// A configuration; `insecure_skip_tls_verify` accepts any server certificate.
    pub fn new(insecure_skip_tls_verify: bool, user_agent: &str) -> Self {
        Self {
            tls: tls::client_config(insecure_skip_tls_verify),
            user_agent: HeaderValue::from_str(user_agent)
                .unwrap_or_else(|_| HeaderValue::from_static("volley")),
            allowed_targets: None,
        }
    }

    /// This configuration, sending requests only to `allowed` targets (all
    /// targets when `None`).
    pub fn with_allowed_targets(mut self, allowed: Option<Arc<AllowList>>) -> Self {
        self.allowed_targets = allowed;
        self
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self::new(false, concat!("volley/", env!("CARGO_PKG_VERSION")))
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    /// The method.
    pub method: Method,
    /// An absolute http(s) URL.
    pub url: Url,
    /// Headers to send.
    pub headers: HeaderMap,
    /// The body (empty for none).
    pub body: Bytes,
    /// Time limit of the whole request, redirects included.
    pub timeout: Duration,
    /// Redirects to follow.
    pub max_redirects: u32,
    /// Read but do not keep the response body.
    pub discard_body: bool,
}

/// Where the time of one request went, as k6 defines the phases.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// DNS lookup and waiting for a connection.
    pub blocked: Duration,
    /// The TCP connect.
    pub connecting: Duration,
    /// The TLS handshake.
    pub tls_handshaking: Duration,
    /// Writing the request.
    pub sending: Duration,
    /// From the last byte written to the first byte read.
    pub waiting: Duration,
    /// From the first response byte to the last.
    pub receiving: Duration,
}

impl Timings {
    /// sending + waiting + receiving: `http_req_duration`.
    pub fn duration(&self) -> Duration {
        self.sending + self.waiting + self.receiving
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The request is malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The target is not on the runner's allow-list.
    #[error("target denied: {0}")]
    Denied(String),
    /// The host name did not resolve.
    #[error("dns lookup failed: {0}")]
    Dns(String),
    /// The TCP connection failed.
    #[error("connect failed: {0}")]
    Connect(String),
    /// The TLS handshake failed.
    #[error("tls handshake failed: {0}")]
    Tls(String),
    /// The request ran out of time.
    #[error("request timed out")]
    Timeout,
    /// The connection broke or the peer spoke invalid HTTP.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// More redirects than allowed.
    #[error("stopped after too many redirects")]
    TooManyRedirects,
}

impl ClientError {
    /// The value of the `error_code` tag for this error.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::InvalidRequest(_) => "invalid_request",
            ClientError::Denied(_) => "denied",
            ClientError::Dns(_) => "dns",
            ClientError::Connect(_) => "connect",
            ClientError::Tls(_) => "tls",
            ClientError::Timeout => "timeout",
            ClientError::Protocol(_) => "protocol",
            ClientError::TooManyRedirects => "too_many_redirects",
        }
    }
}

/// One request/response exchange on the wire: a redirect chain has one per hop.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The method sent.
    pub method: Method,
    /// The URL requested.
    pub url: Url,
    /// The response status, when a response arrived.
    pub status: Option<u16>,
    /// The protocol used ("HTTP/1.1", "HTTP/2.0"), when connected.
    pub protocol: Option<&'static str>,
    /// Timings (zero for phases never reached).
    pub timings: Timings,
    /// Bytes written on the wire, TLS included.
    pub bytes_sent: u64,
    /// Bytes read on the wire, TLS included.
    pub bytes_received: u64,
    /// The error that ended this exchange, if any.
    pub error: Option<ClientError>,
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct ClientResponse {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body (empty when discarded).
    pub body: Bytes,
    /// The URL that answered, after redirects.
    pub url: Url,
    /// "HTTP/1.1" or "HTTP/2.0".
    pub protocol: &'static str,
    /// Timings of the final exchange.
    pub timings: Timings,
}

/// The outcome of [`HttpClient::send`]: every exchange made, and the result.
#[derive(Debug)]
pub struct Outcome {
    /// Each request on the wire, in order, for the metrics.
    pub exchanges: Vec<Exchange>,
    /// The final response, or why there was none.
    pub result: Result<ClientResponse, ClientError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

enum Connection {
    Http1 {
        sender: http1::SendRequest<Full<Bytes>>,
        marks: Arc<IoMarks>,
    },
    Http2 {
        sender: http2::SendRequest<Full<Bytes>>,
        marks: Arc<IoMarks>,
    },
}

impl Connection {
    fn is_closed(&self) -> bool {
        match self {
            Connection::Http1 { sender, .. } => sender.is_closed(),
            Connection::Http2 { sender, .. } => sender.is_closed(),
        }
    }
}

#[derive(Default)]
struct Pool {
    idle: HashMap<Origin, Vec<Connection>>,
}

/// One VU's HTTP client. Clones share the connection pool.
#[derive(Clone)]
pub struct HttpClient {
    config: ClientConfig,
    pool: Arc<Mutex<Pool>>,
}

impl HttpClient {
    /// A client with no connections yet.
    pub fn new(config: ClientConfig) -> Self {
        Self {
            config,
            pool: Arc::default(),
        }
    }

    /// Sends `request`, following redirects, within its timeout.
    pub async fn send(&self, request: ClientRequest) -> Outcome {
        let mut exchanges = Vec::new();
        let deadline = tokio::time::Instant::now() + request.timeout;
        let result = match tokio::time::timeout_at(
            deadline,
            self.send_following_redirects(request.clone(), &mut exchanges),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => {
                // The exchange in flight was cut short: record it as timed out.
                exchanges.push(Exchange {
                    method: request.method,
                    url: request.url,
                    status: None,
                    protocol: None,
                    timings: Timings::default(),
                    bytes_sent: 0,
                    bytes_received: 0,
                    error: Some(ClientError::Timeout),
                });
                Err(ClientError::Timeout)
            }
        };
        Outcome { exchanges, result }
    }

    /// Sends every request at once, at most [`BATCH_PER_HOST`] per origin in
    /// flight, and returns the outcomes in order.
    pub async fn send_batch(&self, requests: Vec<ClientRequest>) -> Vec<Outcome> {
        let mut limits: HashMap<Option<Origin>, Arc<tokio::sync::Semaphore>> = HashMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        for (index, request) in requests.into_iter().enumerate() {
            let limit = limits
                .entry(origin_of(&request.url).ok())
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(BATCH_PER_HOST)))
                .clone();
            let client = self.clone();
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.expect("semaphore never closed");
                (index, client.send(request).await)
            });
        }
        let mut outcomes: Vec<Option<Outcome>> = Vec::new();
        outcomes.resize_with(tasks.len(), || None);
        while let Some(joined) = tasks.join_next().await {
            let (index, outcome) = joined.expect("batch request task panicked");
            outcomes[index] = Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("every batch request finished"))
            .collect()
    }

    async fn send_following_redirects(
        &self,
        mut request: ClientRequest,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<ClientResponse, ClientError> {
        let mut redirects = 0;
        loop {
            let (exchange, response) = self.exchange(&request).await;
            let response = match response {
                Ok(response) => response,
                Err(error) => {
                    exchanges.push(exchange);
                    return Err(error);
                }
            };
            exchanges.push(exchange);
            let Some(next) = redirect_target(&request, &response) else {
                return Ok(response);
            };
            if redirects >= request.max_redirects {
                return if request.max_redirects == 0 {
                    Ok(response)
                } else {
                    Err(ClientError::TooManyRedirects)
                };
            }
            redirects += 1;
            request = next;
        }
    }

    /// One request on the wire, retried once on a fresh connection when a kept-alive
    /// one turns out to have been closed by the server before it saw the request.
    async fn exchange(
        &self,
        request: &ClientRequest,
    ) -> (Exchange, Result<ClientResponse, ClientError>) {
        let (exchange, result, retry) = self.exchange_once(request, true).await;
        if retry {
            let (exchange, result, _) = self.exchange_once(request, false).await;
            return (exchange, result);
        }
        (exchange, result)
    }

    async fn exchange_once(
        &self,
        request: &ClientRequest,
        allow_reuse: bool,
    ) -> (Exchange, Result<ClientResponse, ClientError>, bool) {
        let mut exchange = Exchange {
            method: request.method.clone(),
            url: request.url.clone(),
            status: None,
            protocol: None,
            timings: Timings::default(),
            bytes_sent: 0,
            bytes_received: 0,
            error: None,
        };
        let fail = |mut exchange: Exchange, error: ClientError| {
            exchange.error = Some(error.clone());
            (exchange, Err(error), false)
        };
        let origin = match origin_of(&request.url) {
            Ok(origin) => origin,
            Err(error) => return fail(exchange, error),
        };
        if let Some(allowed) = &self.config.allowed_targets
            && !allowed.allows(&origin.host, origin.port)
        {
            let error = ClientError::Denied(format!(
                "{}:{} is not an allowed target of this runner (allowed: {allowed})",
                origin.host, origin.port
            ));
            return fail(exchange, error);
        }
        let started = Instant::now();
        let reused = if allow_reuse {
            self.checkout(&origin)
        } else {
            None
        };
        let was_reused = reused.is_some();
        let connection = match reused {
            Some(connection) => {
                exchange.timings.blocked = started.elapsed();
                connection
            }
            // Boxed: connecting is rare and its future is large; inline, it would
            // be moved and carried by every request's future.
            None => match Box::pin(self.connect(&origin, &mut exchange.timings)).await {
                Ok(connection) => connection,
                Err(error) => return fail(exchange, error),
            },
        };
        let http_request = match build_request(request, &origin, &connection, &self.config) {
            Ok(r) => r,
            Err(error) => return fail(exchange, error),
        };

        let (marks, protocol) = match &connection {
            Connection::Http1 { marks, .. } => (marks.clone(), "HTTP/1.1"),
            Connection::Http2 { marks, .. } => (marks.clone(), "HTTP/2.0"),
        };
        exchange.protocol = Some(protocol);
        let is_http1 = matches!(connection, Connection::Http1 { .. });
        if is_http1 {
            marks.reset();
        }
        let send_started = Instant::now();
        let (response, connection) = match connection {
            Connection::Http1 { mut sender, marks } => {
                let sent = match sender.ready().await {
                    Ok(()) => sender.send_request(http_request).await,
                    Err(e) => Err(e),
                };
                (sent, Connection::Http1 { sender, marks })
            }
            Connection::Http2 { mut sender, marks } => {
                let sent = match sender.ready().await {
                    Ok(()) => sender.send_request(http_request).await,
                    Err(e) => Err(e),
                };
                (sent, Connection::Http2 { sender, marks })
            }
        };
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                let window = marks.window();
                // Nothing came back on a reused connection: the server had closed
                // it. Safe to send again when nothing reached it, or when the
                // method is idempotent.
                let retry = was_reused
                    && window.read == 0
                    && (window.written == 0 || is_idempotent(&request.method));
                let error = ClientError::Protocol(describe(&error));
                exchange.error = Some(error.clone());
                if is_http1 {
                    exchange.bytes_sent = window.written;
                }
                return (exchange, Err(error), retry);
            }
        };
        let headers_at = Instant::now();
        let (parts, mut body) = response.into_parts();
        let mut collected = Vec::new();
        let mut body_bytes = 0u64;
        let mut body_error = None;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        body_bytes += data.len() as u64;
                        if !request.discard_body {
                            collected.extend_from_slice(&data);
                        }
                    }
                }
                Err(error) => {
                    body_error = Some(ClientError::Protocol(describe(&error)));
                    break;
                }
            }
        }
        let finished = Instant::now();

        if is_http1 {
            let window = marks.window();
            let first_write = window.first_write.unwrap_or(send_started);
            let last_write = window.last_write.unwrap_or(first_write);
            let first_read = window.first_read.unwrap_or(headers_at).max(last_write);
            exchange.timings.sending = last_write.saturating_duration_since(first_write);
            exchange.timings.waiting = first_read.saturating_duration_since(last_write);
            exchange.timings.receiving = finished.saturating_duration_since(first_read);
            exchange.bytes_sent = window.written;
            exchange.bytes_received = window.read;
        } else {
            // Streams share an HTTP/2 connection, so its socket cannot tell whose
            // bytes are whose: time from the request's own events instead.
            exchange.timings.waiting = headers_at.saturating_duration_since(send_started);
            exchange.timings.receiving = finished.saturating_duration_since(headers_at);
            exchange.bytes_sent = request.body.len() as u64 + header_size(&request.headers);
            exchange.bytes_received = body_bytes + header_size(&parts.headers);
        }
        exchange.status = Some(parts.status.as_u16());
        if let Some(error) = body_error {
            exchange.error = Some(error.clone());
            return (exchange, Err(error), false);
        }
        let reusable = !connection.is_closed()
            && !parts
                .headers
                .get(http::header::CONNECTION)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        if reusable {
            self.checkin(origin, connection);
        }
        let response = ClientResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: Bytes::from(collected),
            url: request.url.clone(),
            protocol,
            timings: exchange.timings,
        };
        (exchange, Ok(response), false)
    }

    fn checkout(&self, origin: &Origin) -> Option<Connection> {
        let mut pool = self.pool.lock().expect("pool poisoned");
        let idle = pool.idle.get_mut(origin)?;
        while let Some(connection) = idle.pop() {
            if connection.is_closed() {
                continue;
            }
            if let Connection::Http2 { sender, marks } = &connection {
                // HTTP/2 multiplexes: leave a handle in the pool for others.
                idle.push(Connection::Http2 {
                    sender: sender.clone(),
                    marks: marks.clone(),
                });
            }
            return Some(connection);
        }
        None
    }

    fn checkin(&self, origin: Origin, connection: Connection) {
        let mut pool = self.pool.lock().expect("pool poisoned");
        let idle = pool.idle.entry(origin).or_default();
        if matches!(connection, Connection::Http2 { .. })
            && idle.iter().any(|c| matches!(c, Connection::Http2 { .. }))
        {
            return;
        }
        idle.push(connection);
    }

    async fn connect(
        &self,
        origin: &Origin,
        timings: &mut Timings,
    ) -> Result<Connection, ClientError> {
        let started = Instant::now();
        let addrs: Vec<SocketAddr> = match origin.host.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, origin.port)],
            Err(_) => tokio::net::lookup_host((origin.host.as_str(), origin.port))
                .await
                .map_err(|e| ClientError::Dns(format!("{}: {e}", origin.host)))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(ClientError::Dns(format!("{}: no addresses", origin.host)));
        }
        let resolved = Instant::now();
        timings.blocked = resolved - started;
        let tcp = TcpStream::connect(&addrs[..])
            .await
            .map_err(|e| ClientError::Connect(format!("{}:{}: {e}", origin.host, origin.port)))?;
        let _ = tcp.set_nodelay(true);
        let connected = Instant::now();
        timings.connecting = connected - resolved;
        let (io, marks) = TimedIo::new(tcp);
        if !origin.https {
            let (sender, connection) = http1::handshake(TokioIo::new(io))
                .await
                .map_err(|e| ClientError::Protocol(describe(&e)))?;
            tokio::spawn(connection);
            return Ok(Connection::Http1 { sender, marks });
        }
        let server_name = rustls::pki_types::ServerName::try_from(origin.host.clone())
            .map_err(|e| ClientError::InvalidRequest(format!("bad TLS server name: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(self.config.tls.clone())
            .connect(server_name, io)
            .await
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        timings.tls_handshaking = connected.elapsed();
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(tls);
        if h2 {
            let (sender, connection) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| ClientError::Protocol(describe(&e)))?;
            tokio::spawn(connection);
            Ok(Connection::Http2 { sender, marks })
        } else {
            let (sender, connection) = http1::handshake(io)
                .await
                .map_err(|e| ClientError::Protocol(describe(&e)))?;
            tokio::spawn(connection);
            Ok(Connection::Http1 { sender, marks })
        }
    }
}

fn origin_of(url: &Url) -> Result<Origin, ClientError> {
    let https = match url.scheme() {
        "http" => false,
        "https" => true,
        other => {
            return Err(ClientError::InvalidRequest(format!(
                "unsupported URL scheme {other:?}: use http or https"
            )));
        }
    };
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => {
            return Err(ClientError::InvalidRequest(format!(
                "URL {url} has no host"
            )));
        }
    };
    let port = url
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    Ok(Origin { https, host, port })
}

fn build_request(
    request: &ClientRequest,
    origin: &Origin,
    connection: &Connection,
    config: &ClientConfig,
) -> Result<Request<Full<Bytes>>, ClientError> {
    let url = &request.url;
    // HTTP/1.1 sends the path with a Host header; HTTP/2 the full URI.
    let uri = match connection {
        Connection::Http1 { .. } => {
            let mut target = url.path().to_owned();
            if let Some(query) = url.query() {
                target.push('?');
                target.push_str(query);
            }
            target
        }
        Connection::Http2 { .. } => url.as_str().to_owned(),
    };
    let mut builder = Request::builder().method(request.method.clone()).uri(uri);
    if matches!(connection, Connection::Http2 { .. }) {
        builder = builder.version(Version::HTTP_2);
    }
    let mut http_request = builder
        .body(Full::new(request.body.clone()))
        .map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
    let headers = http_request.headers_mut();
    headers.extend(request.headers.clone());
    if matches!(connection, Connection::Http1 { .. }) && !headers.contains_key(HOST) {
        let default_port = if origin.https { 443 } else { 80 };
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            _ => origin.host.clone(),
        };
        let value = if origin.port == default_port {
            host
        } else {
            format!("{host}:{}", origin.port)
        };
        headers.insert(
            HOST,
            HeaderValue::from_str(&value)
                .map_err(|e| ClientError::InvalidRequest(e.to_string()))?,
        );
    }
    if !headers.contains_key(USER_AGENT) {
        headers.insert(USER_AGENT, config.user_agent.clone());
    }
    Ok(http_request)
}

fn redirect_target(request: &ClientRequest, response: &ClientResponse) -> Option<ClientRequest> {
    let status = StatusCode::from_u16(response.status).ok()?;
    if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
        return None;
    }
    let location = response.headers.get(LOCATION)?.to_str().ok()?;
    let url = request.url.join(location).ok()?;
    let mut next = request.clone();
    let keeps_method = matches!(
        status,
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
    );
    if !keeps_method && request.method != Method::HEAD {
        next.method = Method::GET;
        next.body = Bytes::new();
        next.headers.remove(http::header::CONTENT_TYPE);
        next.headers.remove(http::header::CONTENT_LENGTH);
    }
    if url.origin() != request.url.origin() {
        next.headers.remove(http::header::AUTHORIZATION);
        next.headers.remove(http::header::COOKIE);
    }
    next.headers.remove(HOST);
    next.url = url;
    Some(next)
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

fn header_size(headers: &HeaderMap) -> u64 {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().len() + v.len() + 4) as u64)
        .sum()
}

/// A hyper error with its causes, as one line.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
