//! Prometheus remote write, as k6's `experimental-prometheus-rw` output does it:
//! every push interval, every series of the run under k6's names and labels
//! (`k6_http_reqs_total`, `k6_http_req_duration_seconds`, ...), counters and
//! trends cumulative since the start, so Prometheus's `rate()` and
//! `histogram_quantile()` work on them. Trends go as native histograms or as
//! one gauge per statistic; stale markers can end every series.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderName};
use http::{HeaderMap, HeaderValue, Method};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::native_histogram;
use super::prometheus::{self, Labels, Point, TrendStat, Trends};
use super::prompb::{self, Label, Sample, TimeSeries, WriteRequest};
use super::{OutputError, OutputReport};
use crate::client::{ClientConfig, ClientRequest, HttpClient};
use crate::metrics::Metrics;

/// The output's name on the command line (k6's).
pub const NAME: &str = "experimental-prometheus-rw";
/// A shorter name for it.
pub const ALIAS: &str = "prometheus-rw";
/// Where pushes go by default (a local Prometheus).
pub const DEFAULT_URL: &str = "http://localhost:9090/api/v1/write";
/// How long one push may take (k6's fixed limit).
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// Tries of the final push, which nothing later would repair.
const FINAL_PUSH_TRIES: u32 = 3;
/// Prometheus's marker for "this series ended": a NaN with these bits.
const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Settings of the remote-write output. The environment variables are k6's.
#[derive(Debug, Clone)]
pub struct RemoteWriteConfig {
    /// Where to push (`K6_PROMETHEUS_RW_SERVER_URL`).
    pub url: Url,
    /// How often (`K6_PROMETHEUS_RW_PUSH_INTERVAL`, default 5s).
    pub push_interval: Duration,
    /// Trends as native histograms (`K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM`,
    /// default false, as in k6); otherwise one gauge per statistic.
    pub trend_as_native_histogram: bool,
    /// The statistics sent for trends when they are not native histograms
    /// (`K6_PROMETHEUS_RW_TREND_STATS`, default `p(99)`).
    pub trend_stats: Vec<TrendStat>,
    /// End every series with a stale marker (`K6_PROMETHEUS_RW_STALE_MARKERS`).
    pub stale_markers: bool,
    /// The prefix of every name, `k6` by default (`VOLLEY_PROMETHEUS_RW_NAMESPACE`);
    /// empty for none.
    pub namespace: String,
    /// Accept any TLS certificate (`K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY`).
    pub insecure_skip_tls_verify: bool,
    /// Headers sent with each push: authentication (`K6_PROMETHEUS_RW_USERNAME`
    /// and `_PASSWORD`, or `_BEARER_TOKEN`) and `K6_PROMETHEUS_RW_HEADERS_<Name>`
    /// or `K6_PROMETHEUS_RW_HTTP_HEADERS=name:value,...`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        Self {
            url: Url::parse(DEFAULT_URL).expect("the default URL parses"),
            push_interval: Duration::from_secs(5),
            trend_as_native_histogram: false,
            trend_stats: vec![TrendStat::Percentile(99.0)],
            stale_markers: false,
            namespace: "k6".into(),
            insecure_skip_tls_verify: false,
            headers: Vec::new(),
        }
    }
}

const ENV_PREFIX: &str = "K6_PROMETHEUS_RW_";

impl RemoteWriteConfig {
    /// The settings from k6's environment variables (read through `env`),
    /// then from `arg`, the text after `experimental-prometheus-rw=`: a URL,
    /// or `key=value` pairs separated by commas (`url`, `pushInterval`,
    /// `trendAsNativeHistogram`, `staleMarkers`, `namespace`,
    /// `insecureSkipTLSVerify`).
    pub fn from_env_and_arg(
        env: &dyn Fn(&str) -> Option<String>,
        env_names: &[String],
        arg: Option<&str>,
    ) -> Result<Self, OutputError> {
        let bad = |message: String| OutputError::Setting {
            output: NAME,
            message,
        };
        let mut config = Self::default();
        let var = |name: &str| env(&format!("{ENV_PREFIX}{name}")).filter(|v| !v.is_empty());
        let mut settings: Vec<(String, String)> = Vec::new();
        for (key, name) in [
            ("url", "SERVER_URL"),
            ("pushInterval", "PUSH_INTERVAL"),
            ("trendAsNativeHistogram", "TREND_AS_NATIVE_HISTOGRAM"),
            ("trendStats", "TREND_STATS"),
            ("staleMarkers", "STALE_MARKERS"),
            ("insecureSkipTLSVerify", "INSECURE_SKIP_TLS_VERIFY"),
        ] {
            if let Some(value) = var(name) {
                settings.push((key.into(), value));
            }
        }
        if let Some(namespace) = env("VOLLEY_PROMETHEUS_RW_NAMESPACE") {
            settings.push(("namespace".into(), namespace));
        }
        match arg.map(str::trim).filter(|a| !a.is_empty()) {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                settings.push(("url".into(), url.into()));
            }
            Some(pairs) => {
                for pair in pairs.split(',') {
                    let (key, value) = pair
                        .split_once('=')
                        .ok_or_else(|| bad(format!("expected key=value, got {pair:?}")))?;
                    if key == "trendStats" {
                        return Err(bad(
                            "set trendStats with K6_PROMETHEUS_RW_TREND_STATS (its list has commas)"
                                .into(),
                        ));
                    }
                    settings.push((key.trim().into(), value.trim().into()));
                }
            }
            None => {}
        }
        for (key, value) in settings {
            config.set(&key, &value).map_err(bad)?;
        }

        let mut headers = Vec::new();
        if let Some(user) = var("USERNAME") {
            let password = var("PASSWORD").unwrap_or_default();
            let credentials = BASE64_STANDARD.encode(format!("{user}:{password}"));
            headers.push(parse_header(
                AUTHORIZATION.as_str(),
                &format!("Basic {credentials}"),
            )?);
        } else if let Some(token) = var("BEARER_TOKEN") {
            headers.push(parse_header(
                AUTHORIZATION.as_str(),
                &format!("Bearer {token}"),
            )?);
        }
        if let Some(list) = var("HTTP_HEADERS") {
            for item in list.split(',').filter(|i| !i.trim().is_empty()) {
                let (name, value) = item.split_once(':').ok_or_else(|| {
                    bad(format!(
                        "K6_PROMETHEUS_RW_HTTP_HEADERS wants name:value pairs, got {item:?}"
                    ))
                })?;
                headers.push(parse_header(name, value)?);
            }
        }
        let header_prefix = format!("{ENV_PREFIX}HEADERS_");
        for name in env_names {
            if let Some(header_name) = name.strip_prefix(&header_prefix)
                && let Some(value) = env(name)
            {
                headers.push(parse_header(header_name, &value)?);
            }
        }
        config.headers = headers;
        Ok(config)
    }

    /// Settings given one by one (`url`, `pushInterval`, `trendAsNativeHistogram`,
    /// `trendStats`, `staleMarkers`, `namespace`, `insecureSkipTLSVerify`) over
    /// the defaults, and extra headers; the environment is not read.
    pub fn from_settings(
        settings: &[(&str, String)],
        headers: &[(String, String)],
    ) -> Result<Self, OutputError> {
        let bad = |message: String| OutputError::Setting {
            output: NAME,
            message,
        };
        let mut config = Self::default();
        for (key, value) in settings {
            config.set(key, value).map_err(bad)?;
        }
        for (name, value) in headers {
            config.headers.push(parse_header(name, value)?);
        }
        Ok(config)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let flag = |value: &str| match value.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(format!("{key} must be true or false, not {value:?}")),
        };
        match key {
            "url" => {
                let url = Url::parse(value).map_err(|e| format!("invalid url {value:?}: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!("url must be http:// or https://, not {value:?}"));
                }
                self.url = url;
            }
            "pushInterval" => {
                let interval = crate::duration::parse(value)
                    .map_err(|e| format!("invalid pushInterval: {e}"))?;
                if interval < Duration::from_millis(100) {
                    return Err(format!("pushInterval must be at least 100ms, not {value}"));
                }
                self.push_interval = interval;
            }
            "trendAsNativeHistogram" => self.trend_as_native_histogram = flag(value)?,
            "trendStats" => {
                self.trend_stats = value
                    .split(',')
                    .map(TrendStat::parse)
                    .collect::<Result<_, _>>()?;
            }
            "staleMarkers" => self.stale_markers = flag(value)?,
            "insecureSkipTLSVerify" => self.insecure_skip_tls_verify = flag(value)?,
            "namespace" => {
                if !value.is_empty() && !prometheus::valid_name(value) {
                    return Err(format!(
                        "namespace {value:?} must be letters, digits and '_', not starting with a digit"
                    ));
                }
                self.namespace = value.into();
            }
            other => {
                return Err(format!(
                    "unknown setting {other:?}: use url, pushInterval, trendAsNativeHistogram, staleMarkers, namespace or insecureSkipTLSVerify"
                ));
            }
        }
        Ok(())
    }

    /// Every series of `metrics` as this output names them.
    fn series(
        &self,
        metrics: &Metrics,
        labels: &BTreeMap<String, String>,
    ) -> BTreeMap<Labels, Point> {
        let trends = if self.trend_as_native_histogram {
            Trends::Histograms
        } else {
            Trends::Stats(&self.trend_stats)
        };
        prometheus::series(&metrics.snapshot(), &self.namespace, trends, labels)
    }

    /// One line for the run's header.
    pub fn describe(&self) -> String {
        let trends = if self.trend_as_native_histogram {
            "trends as native histograms".to_owned()
        } else {
            let stats: Vec<String> = self.trend_stats.iter().map(|s| s.suffix()).collect();
            format!("trends as {}", stats.join(", "))
        };
        format!(
            "{NAME} ({}, every {:?}, {trends})",
            self.url, self.push_interval
        )
    }
}

/// Builds the push of every series at `timestamp_ms`.
fn write_request(points: BTreeMap<Labels, Point>, timestamp_ms: i64) -> WriteRequest {
    let timeseries = points
        .into_iter()
        .map(|(labels, point)| {
            let labels = labels
                .into_iter()
                .map(|(name, value)| Label { name, value })
                .collect();
            match point {
                Point::Counter(value) | Point::Gauge(value) => TimeSeries {
                    labels,
                    samples: vec![Sample {
                        value,
                        timestamp: timestamp_ms,
                    }],
                    histograms: vec![],
                },
                Point::Histogram { trend, scale } => TimeSeries {
                    labels,
                    samples: vec![],
                    histograms: vec![native_histogram::from_trend(&trend, scale, timestamp_ms)],
                },
            }
        })
        .collect();
    WriteRequest { timeseries }
}

/// The stale markers that end every series in `labels`.
fn stale_markers(labels: &[Labels], timestamp_ms: i64) -> WriteRequest {
    let timeseries = labels
        .iter()
        .map(|labels| TimeSeries {
            labels: labels
                .iter()
                .map(|(name, value)| Label {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            samples: vec![Sample {
                value: f64::from_bits(STALE_NAN_BITS),
                timestamp: timestamp_ms,
            }],
            histograms: vec![],
        })
        .collect();
    WriteRequest { timeseries }
}

/// A header to send with each push.
fn parse_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), OutputError> {
    let bad = |message: String| OutputError::Setting {
        output: NAME,
        message,
    };
    let parsed_name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| bad(format!("invalid header name {name:?}")))?;
    let parsed_value = HeaderValue::from_str(value.trim())
        .map_err(|_| bad(format!("invalid value for header {name:?}")))?;
    Ok((parsed_name, parsed_value))
}

/// Sends pushes to one remote-write URL.
struct Pusher {
    config: RemoteWriteConfig,
    client: HttpClient,
    headers: HeaderMap,
    last_timestamp_ms: i64,
    pushes: u64,
    failures: u64,
    last_error: Option<String>,
}

impl Pusher {
    fn new(config: RemoteWriteConfig) -> Self {
        let client = HttpClient::new(ClientConfig::new(
            config.insecure_skip_tls_verify,
            concat!("volley-prometheus-rw/", env!("CARGO_PKG_VERSION")),
        ));
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(
            "x-prometheus-remote-write-version",
            HeaderValue::from_static("0.1.0"),
        );
        for (name, value) in &config.headers {
            headers.insert(name.clone(), value.clone());
        }
        Self {
            config,
            client,
            headers,
            last_timestamp_ms: 0,
            pushes: 0,
            failures: 0,
            last_error: None,
        }
    }

    /// Now in milliseconds since the epoch, later than any push before.
    fn next_timestamp_ms(&mut self) -> i64 {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.last_timestamp_ms = now.max(self.last_timestamp_ms + 1);
        self.last_timestamp_ms
    }

    /// Sends one push; on failure, notes why and returns whether a retry may help.
    async fn push(&mut self, request: &WriteRequest) -> Result<(), bool> {
        self.pushes += 1;
        let outcome = self
            .client
            .send(ClientRequest {
                method: Method::POST,
                url: self.config.url.clone(),
                headers: self.headers.clone(),
                body: Bytes::from(prompb::encode(request)),
                timeout: PUSH_TIMEOUT,
                max_redirects: 0,
                discard_body: false,
            })
            .await;
        let (message, retry) = match outcome.result {
            Ok(response) if (200..300).contains(&response.status) => return Ok(()),
            Ok(response) => {
                let body = String::from_utf8_lossy(&response.body);
                let body: String = body.trim().chars().take(300).collect();
                let hint = if body.contains("native histogram") {
                    " (start Prometheus with --enable-feature=native-histograms, or send trends as statistics)"
                } else {
                    ""
                };
                (
                    format!(
                        "{} answered {}: {body}{hint}",
                        self.config.url, response.status
                    ),
                    response.status >= 500 || response.status == 429,
                )
            }
            Err(error) => (format!("{}: {error}", self.config.url), true),
        };
        self.failures += 1;
        if self.last_error.as_deref() != Some(&message) {
            tracing::warn!("remote write push failed: {message}");
        }
        self.last_error = Some(message);
        Err(retry)
    }
}

/// Pushes `metrics` every interval until `done`, then the final state and,
/// if asked, stale markers.
pub(super) async fn run(
    config: RemoteWriteConfig,
    metrics: Arc<Metrics>,
    labels: BTreeMap<String, String>,
    done: CancellationToken,
) -> OutputReport {
    let mut pusher = Pusher::new(config);
    let mut ticker = tokio::time::interval(pusher.config.push_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut sent: Vec<Labels> = Vec::new();
    loop {
        let last = tokio::select! {
            _ = ticker.tick() => false,
            _ = done.cancelled() => true,
        };
        let points = pusher.config.series(&metrics, &labels);
        if points.len() != sent.len() {
            sent = points.keys().cloned().collect();
        }
        let timestamp = pusher.next_timestamp_ms();
        let request = write_request(points, timestamp);
        if !last {
            let _ = pusher.push(&request).await;
            continue;
        }
        for attempt in 1..=FINAL_PUSH_TRIES {
            match pusher.push(&request).await {
                Err(true) if attempt < FINAL_PUSH_TRIES => {
                    tokio::time::sleep(Duration::from_secs(1)).await
                }
                _ => break,
            }
        }
        break;
    }
    if pusher.config.stale_markers && !sent.is_empty() {
        let timestamp = pusher.next_timestamp_ms();
        let _ = pusher.push(&stale_markers(&sent, timestamp)).await;
    }
    OutputReport {
        output: NAME.into(),
        summary: format!(
            "{} pushes of {} series to {}",
            pusher.pushes,
            sent.len(),
            pusher.config.url
        ),
        error: pusher.last_error.map(|e| {
            format!(
                "{} of {} pushes failed; the last: {e}",
                pusher.failures, pusher.pushes
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Sample as MetricSample, TagSet, builtin};
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> (impl Fn(&str) -> Option<String>, Vec<String>) {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let names = map.keys().cloned().collect();
        (move |name: &str| map.get(name).cloned(), names)
    }

    #[test]
    fn settings_come_from_k6_variables_then_the_argument() {
        let (env, names) = env_of(&[
            (
                "K6_PROMETHEUS_RW_SERVER_URL",
                "http://prom:9090/api/v1/write",
            ),
            ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "2s"),
            ("K6_PROMETHEUS_RW_TREND_STATS", "p(95),p(99.9),avg,count"),
            ("K6_PROMETHEUS_RW_USERNAME", "user"),
            ("K6_PROMETHEUS_RW_PASSWORD", "secret"),
            ("K6_PROMETHEUS_RW_HEADERS_X-Scope-OrgID", "team-a"),
            ("K6_PROMETHEUS_RW_HTTP_HEADERS", "x-one:1,x-two: 2"),
        ]);
        let config = RemoteWriteConfig::from_env_and_arg(
            &env,
            &names,
            Some("pushInterval=250ms,trendAsNativeHistogram=true,namespace=volley"),
        )
        .unwrap();
        assert_eq!(config.url.as_str(), "http://prom:9090/api/v1/write");
        assert_eq!(config.push_interval, Duration::from_millis(250));
        assert!(config.trend_as_native_histogram);
        assert_eq!(config.namespace, "volley");
        let suffixes: Vec<String> = config.trend_stats.iter().map(|s| s.suffix()).collect();
        assert_eq!(suffixes, ["p95", "p999", "avg", "count"]);
        let headers: HashMap<String, String> = config
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        assert_eq!(headers["authorization"], "Basic dXNlcjpzZWNyZXQ=");
        assert_eq!(headers["x-scope-orgid"], "team-a");
        assert_eq!(headers["x-two"], "2");

        let (empty, none) = env_of(&[]);
        let url_only =
            RemoteWriteConfig::from_env_and_arg(&empty, &none, Some("http://127.0.0.1:1/w"))
                .unwrap();
        assert_eq!(url_only.url.as_str(), "http://127.0.0.1:1/w");
        assert_eq!(url_only.namespace, "k6");
        for bad in [
            "pushInterval=fast",
            "url=ftp://x",
            "colour=blue",
            "staleMarkers=maybe",
            "namespace=9lives",
            "nonsense",
        ] {
            let error = RemoteWriteConfig::from_env_and_arg(&empty, &none, Some(bad)).unwrap_err();
            assert!(error.to_string().contains(NAME), "{error}");
        }
        let (bad_env, names) = env_of(&[("K6_PROMETHEUS_RW_TREND_STATS", "p(101)")]);
        assert!(RemoteWriteConfig::from_env_and_arg(&bad_env, &names, None).is_err());
    }

    #[test]
    fn series_get_k6_names_and_labels() {
        let metrics = Metrics::new();
        let tags = TagSet::new([
            ("name", "list"),
            ("method", "GET"),
            ("status", "200"),
            ("group", ""),
            ("vu", "3"),
            ("my-tag", "x"),
        ]);
        let record = |metric, value| {
            metrics.record(
                0,
                &[MetricSample {
                    metric,
                    tags: tags.clone(),
                    value,
                }],
            )
        };
        record(builtin::HTTP_REQS, 1.0);
        record(builtin::HTTP_REQS, 1.0);
        record(builtin::HTTP_REQ_DURATION, 12.0);
        record(builtin::HTTP_REQ_FAILED, 0.0);
        record(builtin::DATA_SENT, 300.0);
        metrics.set_vus(4, 5, 0);
        let labels = BTreeMap::from([("testid".to_owned(), "t1".to_owned())]);
        let native = RemoteWriteConfig {
            trend_as_native_histogram: true,
            ..RemoteWriteConfig::default()
        };
        let points = native.series(&metrics, &labels);
        let names: Vec<String> = points
            .keys()
            .map(|labels| labels.iter().find(|l| l.0 == "__name__").unwrap().1.clone())
            .collect();
        assert_eq!(
            names,
            [
                "k6_data_sent_total",
                "k6_http_req_duration_seconds",
                "k6_http_req_failed_rate",
                "k6_http_reqs_total",
                "k6_vus",
                "k6_vus_max"
            ]
        );
        let reqs = points
            .iter()
            .find(|(l, _)| l.contains(&("__name__".into(), "k6_http_reqs_total".into())))
            .unwrap();
        let label_names: Vec<&str> = reqs.0.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(
            label_names,
            ["__name__", "method", "my_tag", "name", "status", "testid"]
        );
        assert!(matches!(reqs.1, Point::Counter(2.0)));
        let vus = points
            .iter()
            .find(|(l, _)| l.contains(&("__name__".into(), "k6_vus".into())))
            .unwrap();
        assert!(vus.0.contains(&("testid".into(), "t1".into())));
        assert!(matches!(vus.1, Point::Gauge(4.0)));

        let stats = RemoteWriteConfig::default().series(&metrics, &labels);
        let p99 = stats
            .iter()
            .find(|(l, _)| l.contains(&("__name__".into(), "k6_http_req_duration_p99".into())))
            .unwrap();
        assert!(matches!(p99.1, Point::Gauge(v) if (v - 0.012).abs() < 1e-5));

        let request = write_request(points, 7);
        let histogram = request
            .timeseries
            .iter()
            .find(|s| !s.histograms.is_empty())
            .unwrap();
        assert_eq!(histogram.histograms[0].timestamp, 7);
        assert!((histogram.histograms[0].sum - 0.012).abs() < 1e-12);
        let stale = stale_markers(&[vec![("__name__".into(), "k6_vus".into())]], 8);
        assert_eq!(
            stale.timeseries[0].samples[0].value.to_bits(),
            STALE_NAN_BITS
        );
    }
}
