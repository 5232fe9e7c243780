//! `volley:scenario/http`: requests sent by the VU's own client, each exchange
//! timed and recorded under k6's metric names.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use super::volley::scenario::http::{Error, Host, Request, Response, Timings};
use crate::client::{
    ClientError, ClientRequest, ClientResponse, DEFAULT_MAX_REDIRECTS, DEFAULT_TIMEOUT, Exchange,
    Outcome,
};
use crate::metrics::{Sample, TagSet, builtin};
use crate::vu::VuState;

impl Host for VuState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, Error>> {
        let (name, tags, request) = match convert_request(request) {
            Ok(converted) => converted,
            Err(error) => return Ok(Err(self.invalid(error))),
        };
        let client = self.client().clone();
        let outcome = off_the_fiber(async move { Box::pin(client.send(request)).await }).await;
        Ok(self.finish(outcome, name.as_deref(), &tags))
    }

    async fn send_batch(
        &mut self,
        requests: Vec<Request>,
    ) -> wasmtime::Result<Vec<Result<Response, Error>>> {
        let mut results: Vec<Option<Result<Response, Error>>> = Vec::new();
        let mut pending = Vec::new();
        let mut labels = Vec::new();
        for request in requests {
            match convert_request(request) {
                Ok((name, tags, request)) => {
                    results.push(None);
                    labels.push((results.len() - 1, name, tags));
                    pending.push(request);
                }
                Err(error) => results.push(Some(Err(self.invalid(error)))),
            }
        }
        let client = self.client().clone();
        let outcomes =
            off_the_fiber(async move { Box::pin(client.send_batch(pending)).await }).await;
        for ((index, name, tags), outcome) in labels.into_iter().zip(outcomes) {
            results[index] = Some(self.finish(outcome, name.as_deref(), &tags));
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every request has a result"))
            .collect())
    }
}

/// Runs `work` as a task of its own and waits for it. Host calls run on the
/// calling VU's fiber stack, and every page they touch there stays resident
/// while the VU sleeps; so the HTTP client's large futures are built and polled
/// on a worker thread's stack instead (`work` itself must stay small: it is
/// moved on the fiber). The task is aborted if the VU's call is dropped.
async fn off_the_fiber<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for AbortOnDrop<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = AbortOnDrop(tokio::spawn(work));
    (&mut task.0).await.expect("HTTP task panicked")
}

impl VuState {
    /// Records a request that never reached the wire (a malformed one).
    fn invalid(&mut self, message: String) -> Error {
        let tags = self
            .tags()
            .with([("error_code", "invalid_request"), ("status", "0")]);
        self.metrics().count_request(true);
        self.record(&request_samples(tags, true));
        Error::InvalidRequest(message)
    }

    fn finish(
        &mut self,
        outcome: Outcome,
        name: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<Response, Error> {
        for exchange in &outcome.exchanges {
            self.record_exchange(exchange, name, tags);
        }
        outcome.result.map(convert_response).map_err(convert_error)
    }

    fn record_exchange(
        &mut self,
        exchange: &Exchange,
        name: Option<&str>,
        extra: &[(String, String)],
    ) {
        let shape = RequestShape::new(self.group_path(), exchange, name, extra);
        let failed = shape.failed();
        let base = self.tags();
        let tags = self
            .request_tags()
            .get_or_insert_with(shape, |shape| shape.tags(&base));
        self.metrics().count_request(failed);
        self.record(&exchange_samples(exchange, tags.clone(), base, failed));
    }
}

/// The samples of one request on the wire: `tags` are its request tags,
/// `base` the VU's (for `data_sent` and `data_received`).
pub(super) fn exchange_samples(
    exchange: &Exchange,
    tags: TagSet,
    base: TagSet,
    failed: bool,
) -> Vec<Sample> {
    let t = &exchange.timings;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut samples = request_samples(tags.clone(), failed).to_vec();
    samples.extend([
        Sample {
            metric: builtin::DATA_SENT,
            tags: base.clone(),
            value: exchange.bytes_sent as f64,
        },
        Sample {
            metric: builtin::DATA_RECEIVED,
            tags: base,
            value: exchange.bytes_received as f64,
        },
    ]);
    // Only requests that got a response have a duration: failures without
    // one are counted above, never mixed into the latency histograms.
    if exchange.status.is_some() && exchange.error.is_none() {
        for (metric, value) in [
            (builtin::HTTP_REQ_DURATION, t.duration()),
            (builtin::HTTP_REQ_BLOCKED, t.blocked),
            (builtin::HTTP_REQ_CONNECTING, t.connecting),
            (builtin::HTTP_REQ_TLS_HANDSHAKING, t.tls_handshaking),
            (builtin::HTTP_REQ_SENDING, t.sending),
            (builtin::HTTP_REQ_WAITING, t.waiting),
            (builtin::HTTP_REQ_RECEIVING, t.receiving),
        ] {
            samples.push(Sample {
                metric,
                tags: tags.clone(),
                value: ms(value),
            });
        }
    }
    samples
}

/// What distinguishes the tag sets of a VU's requests; each distinct shape's
/// tag set is built once and reused.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct RequestShape {
    /// The open group's path: the base tags depend on it.
    group: Option<Arc<str>>,
    name: String,
    method: Method,
    status: u16,
    protocol: Option<&'static str>,
    error: Option<&'static str>,
    extra: Vec<(String, String)>,
}

impl RequestShape {
    /// The shape of `exchange`, sent inside the group `group`, named `name`
    /// (the URL when `None`) with the extra tags `extra`.
    pub(super) fn new(
        group: Option<Arc<str>>,
        exchange: &Exchange,
        name: Option<&str>,
        extra: &[(String, String)],
    ) -> Self {
        Self {
            group,
            name: name.map_or_else(|| exchange.url.to_string(), str::to_owned),
            method: exchange.method.clone(),
            status: exchange.status.unwrap_or(0),
            protocol: exchange.protocol,
            error: exchange.error.as_ref().map(ClientError::code),
            extra: extra.to_vec(),
        }
    }

    /// Failed: no response, or a status outside 200-399 (k6's default).
    pub(super) fn failed(&self) -> bool {
        self.error.is_some() || !(200..400).contains(&self.status)
    }

    pub(super) fn tags(&self, base: &TagSet) -> TagSet {
        let mut pairs: Vec<(String, String)> = vec![
            ("name".into(), self.name.clone()),
            ("method".into(), self.method.to_string()),
            ("status".into(), self.status.to_string()),
            ("expected_response".into(), (!self.failed()).to_string()),
        ];
        if let Some(protocol) = self.protocol {
            pairs.push(("proto".into(), protocol.into()));
        }
        if let Some(error) = self.error {
            pairs.push(("error_code".into(), error.into()));
        }
        pairs.extend(self.extra.iter().cloned());
        base.with(pairs)
    }
}

/// The samples every request counts in: `http_reqs` and `http_req_failed`.
fn request_samples(tags: TagSet, failed: bool) -> [Sample; 2] {
    [
        Sample {
            metric: builtin::HTTP_REQS,
            tags: tags.clone(),
            value: 1.0,
        },
        Sample {
            metric: builtin::HTTP_REQ_FAILED,
            tags,
            value: if failed { 1.0 } else { 0.0 },
        },
    ]
}

type Converted = (Option<String>, Vec<(String, String)>, ClientRequest);

fn convert_request(request: Request) -> Result<Converted, String> {
    let method = Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("invalid method {:?}", request.method))?;
    let url =
        url::Url::parse(&request.url).map_err(|e| format!("invalid URL {:?}: {e}", request.url))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "unsupported URL scheme in {:?}: use http or https",
            request.url
        ));
    }
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    for (name, value) in request.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| format!("invalid value for header {name:?}"))?;
        headers.append(header, value);
    }
    let client_request = ClientRequest {
        method,
        url,
        headers,
        body: request.body.map(Bytes::from).unwrap_or_default(),
        timeout: request
            .timeout_ms
            .map_or(DEFAULT_TIMEOUT, |ms| Duration::from_millis(ms.into())),
        max_redirects: request.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS),
        discard_body: request.discard_body,
    };
    Ok((request.name, request.tags, client_request))
}

fn convert_response(response: ClientResponse) -> Response {
    let t = response.timings;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Response {
        status: response.status,
        headers: response
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: response.body.to_vec(),
        url: response.url.to_string(),
        protocol: response.protocol.to_owned(),
        timings: Timings {
            blocked: ms(t.blocked),
            connecting: ms(t.connecting),
            tls_handshaking: ms(t.tls_handshaking),
            sending: ms(t.sending),
            waiting: ms(t.waiting),
            receiving: ms(t.receiving),
            duration: ms(t.duration()),
        },
    }
}

fn convert_error(error: ClientError) -> Error {
    match error {
        ClientError::InvalidRequest(m) => Error::InvalidRequest(m),
        ClientError::Denied(m) => Error::Denied(m),
        ClientError::Dns(m) => Error::Dns(m),
        ClientError::Connect(m) => Error::Connect(m),
        ClientError::Tls(m) => Error::Tls(m),
        ClientError::Timeout => Error::Timeout,
        ClientError::Protocol(m) => Error::Protocol(m),
        ClientError::TooManyRedirects => Error::TooManyRedirects,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str) -> Request {
        Request {
            method: method.into(),
            url: url.into(),
            headers: vec![],
            body: None,
            name: None,
            tags: vec![],
            timeout_ms: None,
            max_redirects: None,
            discard_body: false,
        }
    }

    #[test]
    fn malformed_requests_are_refused_with_a_reason() {
        for (method, url, reason) in [
            ("GET", "not a url", "invalid URL"),
            ("GET", "ftp://127.0.0.1/x", "unsupported URL scheme"),
            ("GE T", "http://127.0.0.1/", "invalid method"),
        ] {
            let error = convert_request(request(method, url)).unwrap_err();
            assert!(error.contains(reason), "{error}");
        }
        let mut bad_header = request("GET", "http://127.0.0.1/");
        bad_header.headers.push(("bad header".into(), "x".into()));
        assert!(
            convert_request(bad_header)
                .unwrap_err()
                .contains("invalid header name")
        );
    }

    #[test]
    fn defaults_follow_k6() {
        let (_, _, converted) = convert_request(request("post", "http://127.0.0.1:1/x")).unwrap();
        assert_eq!(converted.timeout, DEFAULT_TIMEOUT);
        assert_eq!(converted.max_redirects, 10);
        assert_eq!(converted.method, Method::POST);
    }
}
