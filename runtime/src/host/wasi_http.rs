//! `wasi:http/outgoing-handler`, for guests that use their language's standard
//! HTTP client (JavaScript's `fetch`, Rust's `waki`): every request goes
//! through the VU's own pooled client and is timed and recorded like one sent
//! through `volley:scenario/http`, under the same metric names and the VU's
//! tags (scenario, group), named by its URL.
//!
//! wasi:http hands the host a streaming request; the client sends whole ones,
//! so the body is read to its end first (a guest finishes it before it waits
//! for the response). Redirects are not followed: in wasi:http that is the
//! guest's job. The response comes back whole, with its body.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, header};
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpHooks};

use super::http::{RequestShape, exchange_samples};
use crate::client::{ClientError, ClientRequest, ClientResponse, DEFAULT_TIMEOUT, HttpClient};
use crate::metrics::{Metrics, TagSet};

/// The wasi:http state of one VU, which holds the VU's HTTP client.
pub(crate) struct WasiHttp {
    pub(crate) ctx: WasiHttpCtx,
    pub(crate) hooks: SendThroughClient,
}

impl WasiHttp {
    /// Requests of VU `vu` sent by `client`, recorded in `metrics` with `tags`.
    pub(crate) fn new(client: HttpClient, metrics: Arc<Metrics>, vu: u32, tags: TagSet) -> Self {
        Self {
            ctx: WasiHttpCtx::new(),
            hooks: SendThroughClient {
                client,
                metrics,
                vu: vu as usize,
                tags,
            },
        }
    }
}

/// Sends wasi:http requests through Volley's client.
pub(crate) struct SendThroughClient {
    client: HttpClient,
    metrics: Arc<Metrics>,
    vu: usize,
    /// The VU's tags as of its latest wasi:http call (its open group included).
    tags: TagSet,
}

impl SendThroughClient {
    /// The VU's HTTP client.
    pub(crate) fn client(&self) -> &HttpClient {
        &self.client
    }

    /// Sets the tags the next requests are recorded with.
    pub(crate) fn set_tags(&mut self, tags: TagSet) {
        self.tags = tags;
    }
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for SendThroughClient {
    // The client adds `host` itself (and leaves it out of HTTP/2 requests).
    fn set_host_header(&mut self) -> bool {
        false
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        let client = self.client.clone();
        let metrics = self.metrics.clone();
        let (vu, tags) = (self.vu, self.tags.clone());
        Box::new(async move {
            let request = client_request(request, options).await?;
            let outcome = client.send(request).await;
            for exchange in &outcome.exchanges {
                let shape = RequestShape::new(None, exchange, None, &[]);
                let failed = shape.failed();
                let samples = exchange_samples(exchange, shape.tags(&tags), tags.clone(), failed);
                metrics.count_request(failed);
                metrics.record(vu, &samples);
            }
            let response = wasi_response(outcome.result.map_err(error_code)?)?;
            let done: Box<dyn Future<Output = Result<(), Error>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

/// The whole request, its body read to the end.
async fn client_request(
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<ClientRequest, Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let url = url::Url::parse(&parts.uri.to_string()).map_err(|_| Error::HttpRequestUriInvalid)?;
    Ok(ClientRequest {
        method: parts.method,
        url,
        headers: parts.headers,
        body,
        timeout: timeout(options),
        max_redirects: 0,
        discard_body: false,
    })
}

/// The time limit of a request: the longer of the guest's connect and
/// first-byte timeouts when it set any (the client has one limit for the
/// whole exchange), else Volley's default.
fn timeout(options: Option<RequestOptions>) -> Duration {
    let Some(options) = options else {
        return DEFAULT_TIMEOUT;
    };
    [
        options.connect_timeout,
        options.first_byte_timeout,
        options.between_bytes_timeout,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(DEFAULT_TIMEOUT)
}

fn wasi_response(response: ClientResponse) -> Result<http::Response<WasiBody>, Error> {
    let mut headers: HeaderMap = response.headers;
    // The body is handed over whole, no longer in the wire's framing.
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::CONNECTION);
    let body: Full<Bytes> = Full::new(response.body);
    let mut wasi = http::Response::new(body.map_err(|never| match never {}).boxed_unsync());
    *wasi.status_mut() =
        http::StatusCode::from_u16(response.status).map_err(|_| Error::HttpProtocolError)?;
    *wasi.headers_mut() = headers;
    Ok(wasi)
}

/// The wasi:http error code closest to why the client got no response.
fn error_code(error: ClientError) -> Error {
    match error {
        ClientError::InvalidRequest(message) => Error::InternalError(Some(message)),
        ClientError::Denied(_) => Error::HttpRequestDenied,
        ClientError::Dns(message) => Error::DnsError {
            rcode: Some(message),
            info_code: None,
        },
        ClientError::Connect(_) => Error::ConnectionRefused,
        ClientError::Tls(message) => Error::TlsAlertReceived {
            alert_id: None,
            alert_message: Some(message),
        },
        ClientError::Timeout => Error::ConnectionReadTimeout,
        ClientError::Protocol(_) => Error::HttpProtocolError,
        ClientError::TooManyRedirects => Error::LoopDetected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_guest_timeout_bounds_the_request() {
        assert_eq!(timeout(None), DEFAULT_TIMEOUT);
        assert_eq!(timeout(Some(RequestOptions::default())), DEFAULT_TIMEOUT);
        let options = RequestOptions {
            connect_timeout: Some(Duration::from_secs(2)),
            first_byte_timeout: Some(Duration::from_secs(5)),
            between_bytes_timeout: None,
        };
        assert_eq!(timeout(Some(options)), Duration::from_secs(5));
    }
}
