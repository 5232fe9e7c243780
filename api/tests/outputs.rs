//! Outputs (`--out`): the concert scenario runs against the demo target, and
//! what each output wrote is read back and compared with the summary and with
//! what the target counted: JSON and CSV files of every sample, and Prometheus
//! remote write into a receiver that decodes each push, and into a real
//! Prometheus server (the Debian package) queried with dashboard 18030's PromQL.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value as Json, json};
use volley_runtime::engine::VuLimits;
use volley_runtime::output::prompb::{self, WriteRequest};
use volley_runtime::output::{OutputSpec, Outputs};
use volley_runtime::run::RunReport;

use common::{demo_target, run_with_outputs, stat};

/// An empty folder for this test process.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("volley-outputs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 4 VUs booking for 3 s against `target_url`, tagged `testid`.
fn concert_options(target_url: &str, testid: &str) -> Json {
    concert_options_for(target_url, testid, "3s")
}

fn concert_options_for(target_url: &str, testid: &str, duration: &str) -> Json {
    json!({
        "scenarios": {"book": {"executor": "constant-vus", "vus": 4, "duration": duration}},
        "env": {"TARGET_URL": target_url, "THINK_TIME_MS": "5"},
        "tags": {"testid": testid},
        "thresholds": {"http_req_duration": ["p(95)<500"], "http_req_duration{name:GET /dates}": ["max<1000"]},
    })
}

fn remote_write(url: &str, settings: &[(&str, &str)]) -> OutputSpec {
    let env: BTreeMap<String, String> = settings
        .iter()
        .map(|(k, v)| (format!("K6_PROMETHEUS_RW_{k}"), v.to_string()))
        .collect();
    let names: Vec<String> = env.keys().cloned().collect();
    OutputSpec::parse(
        &format!("experimental-prometheus-rw={url}"),
        &|name| env.get(name).cloned(),
        &names,
    )
    .unwrap()
}

async fn run_concert(outputs: &[OutputSpec], testid: &str) -> (RunReport, u64) {
    run_concert_for(outputs, testid, "3s").await
}

async fn run_concert_for(outputs: &[OutputSpec], testid: &str, duration: &str) -> (RunReport, u64) {
    let target = demo_target("none").await;
    let report = run_with_outputs(
        volley_example_artifacts::CONCERT_BOOKING,
        concert_options_for(&target.url(), testid, duration),
        VuLimits::default(),
        Outputs::open(outputs).unwrap(),
    )
    .await
    .unwrap();
    for output in &report.outputs {
        assert_eq!(output.error, None, "{output:?}");
    }
    (report, target.stats().total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_csv_files_hold_every_sample() {
    let dir = scratch_dir("files");
    let json_path = dir.join("samples.json");
    let csv_path = dir.join("samples.csv");
    let specs = [
        OutputSpec::parse_with_process_env(&format!("json={}", json_path.display())).unwrap(),
        OutputSpec::parse_with_process_env(&format!(
            "csv=fileName={},timeFormat=unix_milli",
            csv_path.display()
        ))
        .unwrap(),
    ];
    let (report, target_count) = run_concert(&specs, "files").await;
    assert_eq!(report.outputs.len(), 2);
    let requests = stat(&report, "http_reqs", "count");
    assert_eq!(requests as u64, target_count);

    // JSON: a Metric line before each metric's first Point.
    let text = std::fs::read_to_string(&json_path).unwrap();
    let mut described: BTreeMap<String, Json> = BTreeMap::new();
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for line in text.lines() {
        let object: Json = serde_json::from_str(line).unwrap();
        let metric = object["metric"].as_str().unwrap().to_owned();
        match object["type"].as_str().unwrap() {
            "Metric" => {
                assert!(described.insert(metric, object["data"].clone()).is_none());
            }
            "Point" => {
                assert!(
                    described.contains_key(&metric),
                    "{metric} before its Metric line"
                );
                let data = &object["data"];
                assert!(data["time"].as_str().unwrap().ends_with('Z'));
                assert_eq!(data["tags"]["testid"], "files", "{line}");
                *sums.entry(metric.clone()).or_default() += data["value"].as_f64().unwrap();
                *counts.entry(metric).or_default() += 1;
            }
            other => panic!("unknown line type {other}"),
        }
    }
    assert_eq!(sums["http_reqs"], requests);
    assert_eq!(counts["http_req_duration"] as f64, requests);
    assert_eq!(sums["iterations"], stat(&report, "iterations", "count"));
    assert_eq!(sums["checks"], stat(&report, "checks", "passes"));
    assert_eq!(
        counts["checks"] as f64,
        stat(&report, "checks", "passes") + stat(&report, "checks", "fails")
    );
    assert_eq!(sums["data_sent"], stat(&report, "data_sent", "count"));
    let mean = sums["http_req_duration"] / counts["http_req_duration"] as f64;
    assert!((mean - stat(&report, "http_req_duration", "avg")).abs() < 1e-6);
    let duration = &described["http_req_duration"];
    assert_eq!(duration["type"], "trend");
    assert_eq!(duration["contains"], "time");
    assert_eq!(duration["thresholds"], json!(["p(95)<500", "max<1000"]));
    assert_eq!(
        duration["submetrics"],
        json!([{"name": "http_req_duration{name:GET /dates}", "suffix": "name:GET /dates", "tags": {"name": "GET /dates"}}])
    );
    assert_eq!(described["http_reqs"]["type"], "counter");
    assert_eq!(described["checks"]["type"], "rate");
    assert_eq!(described["vus"]["type"], "gauge");

    // CSV: k6's columns, one row per sample.
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata"
    );
    let mut csv_sums: BTreeMap<String, f64> = BTreeMap::new();
    let mut rows = 0;
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 19, "{line}");
        assert!(
            fields[1].len() == 13 && fields[1].parse::<u64>().is_ok(),
            "{line}"
        );
        assert_eq!(fields[17], "testid=files", "{line}");
        *csv_sums.entry(fields[0].to_owned()).or_default() += fields[2].parse::<f64>().unwrap();
        if fields[0] == "http_reqs" {
            assert_eq!(fields[11], "book", "{line}");
            assert!(
                fields[9].starts_with("GET ") || fields[9].starts_with("POST "),
                "{line}"
            );
        }
        rows += 1;
    }
    assert_eq!(rows, counts.values().sum::<u64>());
    assert_eq!(csv_sums["http_reqs"], requests);
    assert_eq!(csv_sums["iterations"], sums["iterations"]);
    assert!((csv_sums["http_req_duration"] - sums["http_req_duration"]).abs() < 0.01);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every push a receiver got: its headers and the decoded request.
type Pushes = Arc<Mutex<Vec<(HeaderMap, WriteRequest)>>>;

/// A remote-write receiver on a free port that answers `status`.
async fn receiver(status: StatusCode) -> (String, Pushes) {
    let pushes: Pushes = Arc::default();
    let kept = pushes.clone();
    let router = axum::Router::new().route(
        "/api/v1/write",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let request = prompb::decode(&body).unwrap();
                kept.lock().unwrap().push((headers, request));
                (status, "out of cheese")
            }
        }),
    );
    let (url, _) = common::serve(router).await;
    (format!("{url}/api/v1/write"), pushes)
}

fn label<'a>(series: &'a prompb::TimeSeries, name: &str) -> Option<&'a str> {
    series
        .labels
        .iter()
        .find(|l| l.name == name)
        .map(|l| l.value.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_pushes_cumulative_series_under_k6_names() {
    let (url, pushes) = receiver(StatusCode::NO_CONTENT).await;
    let spec = remote_write(
        &url,
        &[
            ("PUSH_INTERVAL", "500ms"),
            ("TREND_AS_NATIVE_HISTOGRAM", "true"),
            ("STALE_MARKERS", "true"),
            ("BEARER_TOKEN", "t0ken"),
        ],
    );
    let (report, target_count) = run_concert(&[spec], "rw").await;
    let pushes = pushes.lock().unwrap();
    assert!(pushes.len() >= 5, "{} pushes", pushes.len());
    for (headers, _) in pushes.iter() {
        assert_eq!(headers["content-encoding"], "snappy");
        assert_eq!(headers["content-type"], "application/x-protobuf");
        assert_eq!(headers["x-prometheus-remote-write-version"], "0.1.0");
        assert_eq!(headers["authorization"], "Bearer t0ken");
    }
    // Timestamps rise from push to push; labels are sorted.
    let stamps: Vec<i64> = pushes
        .iter()
        .map(|(_, r)| {
            let s = &r.timeseries[0];
            s.samples
                .first()
                .map_or_else(|| s.histograms[0].timestamp, |x| x.timestamp)
        })
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");

    // The last push before the stale markers holds the final totals.
    let (stale, last) = (&pushes[pushes.len() - 1].1, &pushes[pushes.len() - 2].1);
    assert!(stale.timeseries.iter().all(|s| s.samples[0].value.is_nan()));
    assert_eq!(stale.timeseries.len(), last.timeseries.len());
    let mut requests = 0.0;
    let mut duration_count = 0;
    for series in &last.timeseries {
        let mut names: Vec<&str> = series.labels.iter().map(|l| l.name.as_str()).collect();
        assert!(names.is_sorted(), "{names:?}");
        names.dedup();
        assert_eq!(names.len(), series.labels.len());
        assert_eq!(label(series, "testid"), Some("rw"));
        match label(series, "__name__").unwrap() {
            "k6_http_reqs_total" => {
                for tag in ["name", "method", "status", "scenario", "expected_response"] {
                    assert!(label(series, tag).is_some(), "{tag} missing");
                }
                requests += series.samples[0].value;
            }
            "k6_http_req_duration_seconds" => {
                let Some(prompb::Count::Int(n)) = series.histograms[0].count else {
                    panic!("no count")
                };
                duration_count += n;
                assert_eq!(series.histograms[0].schema, 3);
            }
            "k6_vus_max" => assert_eq!(series.samples[0].value, 4.0),
            _ => {}
        }
    }
    assert_eq!(requests, stat(&report, "http_reqs", "count"));
    assert_eq!(requests as u64, target_count);
    assert_eq!(duration_count as f64, requests);
    assert!(report.outputs[0].summary.contains(" pushes of "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_push_is_reported_and_the_run_goes_on() {
    let (url, pushes) = receiver(StatusCode::BAD_REQUEST).await;
    let spec = remote_write(&url, &[("PUSH_INTERVAL", "500ms")]);
    let target = demo_target("none").await;
    let report = run_with_outputs(
        volley_example_artifacts::CONCERT_BOOKING,
        concert_options(&target.url(), "refused"),
        VuLimits::default(),
        Outputs::open(&[spec]).unwrap(),
    )
    .await
    .unwrap();
    let error = report.outputs[0].error.as_deref().unwrap();
    assert!(error.contains("answered 400: out of cheese"), "{error}");
    let pushed = pushes.lock().unwrap().len();
    // A 400 is not retried, even at the end.
    assert!(
        error.starts_with(&format!("{pushed} of {pushed} pushes failed")),
        "{error}"
    );
    assert_eq!(
        stat(&report, "http_reqs", "count") as u64,
        target.stats().total
    );

    // Nobody listening: the run still ends, with the error.
    let spec = remote_write(
        "http://127.0.0.1:9/api/v1/write",
        &[("PUSH_INTERVAL", "5s")],
    );
    let target = demo_target("none").await;
    let report = run_with_outputs(
        volley_example_artifacts::CONCERT_BOOKING,
        concert_options(&target.url(), "unreachable"),
        VuLimits::default(),
        Outputs::open(&[spec]).unwrap(),
    )
    .await
    .unwrap();
    let error = report.outputs[0].error.as_deref().unwrap();
    assert!(error.contains("connect"), "{error}");
}

/// A Prometheus server (the Debian package's binary) with the remote-write
/// receiver and native histograms, on a free loopback port.
struct Prometheus {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Prometheus {
    async fn start() -> Self {
        let binary = std::env::var("VOLLEY_PROMETHEUS").unwrap_or_else(|_| "prometheus".into());
        let dir = scratch_dir(&format!("prometheus-{}", now()));
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 15s\n").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .arg("--enable-feature=native-histograms")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {binary} ({e}): install it with `bash .ci/test` (apt-get install prometheus)"
                )
            });
        let url = format!("http://127.0.0.1:{port}");
        let mut prometheus = Prometheus { child, url, dir };
        for _ in 0..100 {
            if let Ok(response) = reqwest_get(&format!("{}/-/ready", prometheus.url)).await
                && response.0 == 200
            {
                return prometheus;
            }
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                panic!("prometheus exited: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("prometheus did not become ready");
    }

    /// The value of the instant query `promql` at `time` (Unix seconds).
    async fn query(&self, promql: &str, time: f64) -> Vec<(BTreeMap<String, String>, f64)> {
        let url = format!(
            "{}/api/v1/query?query={}&time={time}",
            self.url,
            url_encode(promql)
        );
        let (status, body) = reqwest_get(&url).await.unwrap();
        let answer: Json = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 200, "{promql}: {body}");
        answer["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let labels = serde_json::from_value(r["metric"].clone()).unwrap();
                let value = r["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }

    async fn scalar(&self, promql: &str, time: f64) -> f64 {
        let result = self.query(promql, time).await;
        assert_eq!(result.len(), 1, "{promql}: {result:?}");
        result[0].1
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET `url`: (status, body).
async fn reqwest_get(url: &str) -> Result<(u16, String), String> {
    use volley_runtime::client::{ClientConfig, ClientRequest, HttpClient};
    let outcome = HttpClient::new(ClientConfig::default())
        .send(ClientRequest {
            method: axum::http::Method::GET,
            url: url.parse().map_err(|e| format!("{e}"))?,
            headers: Default::default(),
            body: Default::default(),
            timeout: Duration::from_secs(10),
            max_redirects: 0,
            discard_body: false,
        })
        .await;
    let response = outcome.result.map_err(|e| e.to_string())?;
    Ok((
        response.status,
        String::from_utf8_lossy(&response.body).into_owned(),
    ))
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_answers_dashboard_18030_queries_like_the_summary() {
    let prometheus = Prometheus::start().await;
    let write_url = format!("{}/api/v1/write", prometheus.url);
    let spec = remote_write(
        &write_url,
        &[
            ("PUSH_INTERVAL", "1s"),
            ("TREND_AS_NATIVE_HISTOGRAM", "true"),
        ],
    );
    let started = now();
    let (report, target_count) = run_concert_for(&[spec], "prom", "6s").await;
    let at = now() + 0.5;
    let middle = (started + at) / 2.0;
    let filter = r#"{testid="prom"}"#;

    let requests = stat(&report, "http_reqs", "count");
    assert_eq!(requests as u64, target_count);
    let pushed = prometheus
        .scalar(&format!("sum(k6_http_reqs_total{filter})"), at)
        .await;
    assert_eq!(pushed, requests);
    let count = prometheus
        .scalar(
            &format!("histogram_count(sum(k6_http_req_duration_seconds{filter}))"),
            at,
        )
        .await;
    assert_eq!(count, requests);
    let sum = prometheus
        .scalar(
            &format!("histogram_sum(sum(k6_http_req_duration_seconds{filter}))"),
            at,
        )
        .await;
    let volley_sum = stat(&report, "http_req_duration", "avg") * requests / 1000.0;
    assert!(
        (sum - volley_sum).abs() < 1e-6 * volley_sum.max(1.0),
        "{sum} vs {volley_sum}"
    );
    assert_eq!(
        prometheus
            .scalar(&format!("sum(k6_iterations_total{filter})"), at)
            .await,
        stat(&report, "iterations", "count")
    );
    assert_eq!(
        prometheus.scalar(&format!("k6_vus_max{filter}"), at).await,
        4.0
    );

    // The dashboard's own queries: quantiles of the rate over a window, and
    // requests per second. Native buckets are about 9% wide.
    for (q, stat_name) in [(0.5, "med"), (0.95, "p(95)"), (0.99, "p(99)")] {
        let quantile = prometheus
            .scalar(
                &format!(
                    "histogram_quantile({q}, sum by (le) (rate(k6_http_req_duration_seconds{filter}[1m])))"
                ),
                at,
            )
            .await;
        let volley = stat(&report, "http_req_duration", stat_name) / 1000.0;
        assert!(
            (quantile - volley).abs() / volley < 0.15,
            "p{q}: prometheus {quantile}, volley {volley}"
        );
    }
    // Requests per second in the middle of the run, as the dashboard's
    // "HTTP requests" panel asks for them.
    let rate = prometheus
        .scalar(
            &format!("sum(irate(k6_http_reqs_total{filter}[3s]))"),
            middle,
        )
        .await;
    let volley_rate = stat(&report, "http_reqs", "rate");
    assert!(
        (rate - volley_rate).abs() / volley_rate < 0.35,
        "rate: prometheus {rate}, volley {volley_rate}"
    );
    let checks = prometheus
        .query(&format!("k6_checks_rate{filter}"), at)
        .await;
    assert_eq!(checks.len(), 5, "one series per check: {checks:?}");
    assert!(
        checks
            .iter()
            .all(|(labels, value)| *value == 1.0 && labels.contains_key("check"))
    );
    // A request failed when its status was not expected: every 2xx series
    // is at 0, every other (409, seat taken) at 1.
    let failed = prometheus
        .query(&format!("k6_http_req_failed_rate{filter}"), at)
        .await;
    for (labels, value) in &failed {
        let ok = labels["status"].starts_with('2');
        assert_eq!(*value, if ok { 0.0 } else { 1.0 }, "{labels:?}");
    }
    let by_name = prometheus
        .query(
            &format!(
                "histogram_quantile(0.95, sum by(le, name, method, status) (rate(k6_http_req_duration_seconds{filter}[1m])))"
            ),
            at,
        )
        .await;
    assert!(by_name.len() >= 5, "{by_name:?}");
    assert!(by_name.iter().all(|(labels, _)| labels.contains_key("name")
        && labels.contains_key("method")
        && labels.contains_key("status")));

    // Every panel of Volley's own Grafana dashboard (deploy/) shows the run,
    // but those about dropped or failed iterations and transport errors: it
    // had none.
    let dashboard = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/grafana/dashboards/volley.json"
    );
    let dashboard: Json =
        serde_json::from_str(&std::fs::read_to_string(dashboard).unwrap()).unwrap();
    let queries = panel_queries(&dashboard);
    assert!(queries.len() > 30, "{} queries", queries.len());
    for (title, expr) in queries {
        let promql = expr
            .replace("$__rate_interval", "1m")
            .replace("$__range", "1m")
            .replace("$testid", "prom")
            .replace("$scenario", ".*")
            .replace("$name", ".*");
        assert!(
            !promql.contains('$'),
            "{title}: a variable is left in {promql}"
        );
        let result = prometheus.query(&promql, at).await;
        let none_happened = ["dropped_iterations", "iterations_failed", "error_code"];
        if !none_happened.iter().any(|metric| expr.contains(metric)) {
            assert!(!result.is_empty(), "{title}: no data for {promql}");
        }
    }
}

/// (panel title, expression) of every query of a Grafana dashboard's panels.
fn panel_queries(dashboard: &Json) -> Vec<(String, String)> {
    fn walk(panels: &Json, out: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or_default();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((title.to_owned(), expr.to_owned()));
                }
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_markers_end_every_series_in_prometheus() {
    let prometheus = Prometheus::start().await;
    let spec = remote_write(
        &format!("{}/api/v1/write", prometheus.url),
        &[("PUSH_INTERVAL", "1s"), ("STALE_MARKERS", "true")],
    );
    let (report, _) = run_concert(&[spec], "stale").await;
    let at = now() + 0.5;
    assert!(
        prometheus
            .query(r#"k6_vus{testid="stale"}"#, at)
            .await
            .is_empty()
    );
    assert!(
        prometheus
            .query(r#"k6_http_reqs_total{testid="stale"}"#, at)
            .await
            .is_empty()
    );
    // The values are still there, up to the marker.
    let total = prometheus
        .scalar(
            r#"sum(max_over_time(k6_http_reqs_total{testid="stale"}[1m]))"#,
            at,
        )
        .await;
    assert_eq!(total, stat(&report, "http_reqs", "count"));
    // Without native histograms, trends go as k6's default p(99) gauge.
    let p99 = prometheus
        .query(
            r#"max_over_time(k6_http_req_duration_p99{testid="stale"}[1m])"#,
            at,
        )
        .await;
    assert!(
        !p99.is_empty() && p99.iter().all(|(_, v)| *v > 0.0),
        "{p99:?}"
    );
}

/// The sum of the samples of `name` in an exposition `text` whose labels
/// include `run_id="<run>"`.
fn exposed(text: &str, name: &str, run: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .filter(|line| line.contains(&format!("run_id=\"{run}\"")))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_pushes_every_run_and_serves_metrics_while_it_runs() {
    use common::api_client::{Api, LONG, config};
    let (write_url, pushes) = receiver(StatusCode::NO_CONTENT).await;
    let OutputSpec::RemoteWrite(remote_write) = remote_write(
        &write_url,
        &[
            ("PUSH_INTERVAL", "500ms"),
            ("TREND_AS_NATIVE_HISTOGRAM", "true"),
        ],
    ) else {
        unreachable!()
    };
    let server = volley::server::Server::start(volley::server::ServeConfig {
        remote_writes: vec![remote_write],
        api_token: Some("s3cret".into()),
        ..config("outputs")
    })
    .await
    .unwrap();
    let api = Api::new(server.url(), Some("s3cret"));
    let target = demo_target("none").await;
    let scenario = api
        .upload_file(volley_example_artifacts::CONCERT_BOOKING, "concert")
        .await;
    let run = api
        .start_run(json!({
            "scenario": scenario,
            "options": {"vus": 4, "duration": "3s", "env": {"TARGET_URL": target.url()}},
        }))
        .await;

    // While it runs, /metrics shows its series under k6's names.
    let mut live = String::new();
    for _ in 0..100 {
        let reply = api.get("/metrics").await;
        assert_eq!(reply.status, 200);
        assert!(
            reply.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        live = String::from_utf8(reply.body).unwrap();
        if exposed(&live, "k6_http_reqs_total", &run) > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(exposed(&live, "k6_http_reqs_total", &run) > 0.0, "{live}");
    assert!(
        exposed(&live, "k6_http_req_duration_seconds_count", &run) > 0.0,
        "{live}"
    );
    assert!(live.contains("# TYPE k6_http_req_duration_seconds summary"));
    assert!(live.lines().any(|l| l == "volley_runs_active 1"), "{live}");
    let unauthorized = Api::new(server.url(), None).get("/metrics").await;
    assert_eq!(unauthorized.status, 401);

    api.wait_for_status(&run, "finished", LONG).await;
    let results = api.get(&format!("/v1/runs/{run}/results")).await.json();
    let requests = results["metrics"]["http_reqs"]["count"].as_f64().unwrap();
    assert_eq!(requests as u64, target.stats().total);
    let after = String::from_utf8(api.get("/metrics").await.body).unwrap();
    assert!(
        after
            .lines()
            .any(|l| l == "volley_runs{status=\"finished\"} 1"),
        "{after}"
    );
    assert_eq!(
        exposed(&after, "k6_http_reqs_total", &run),
        0.0,
        "only runs in flight"
    );

    // Remote write got the whole run, labelled with its id.
    let last = pushes.lock().unwrap().last().unwrap().1.clone();
    let mut pushed = 0.0;
    for series in &last.timeseries {
        assert_eq!(label(series, "testid"), Some(run.as_str()));
        if label(series, "__name__") == Some("k6_http_reqs_total") {
            pushed += series.samples[0].value;
        }
    }
    assert_eq!(pushed, requests);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_the_api_has_outputs_of_its_own() {
    use common::api_client::{Api, LONG, config};
    let (write_url, pushes) = receiver(StatusCode::NO_CONTENT).await;
    let server = volley::server::Server::start(config("run-outputs"))
        .await
        .unwrap();
    let api = Api::new(server.url(), None);
    let target = demo_target("none").await;
    let scenario = api
        .upload_file(volley_example_artifacts::CONCERT_BOOKING, "concert")
        .await;
    let output = json!({
        "type": "experimental-prometheus-rw", "url": write_url, "pushInterval": "500ms",
        "trendAsNativeHistogram": true, "headers": {"Authorization": "Bearer s3cret"},
    });
    let options = json!({"vus": 2, "duration": "2s", "env": {"TARGET_URL": target.url()}, "tags": {"testid": "mine"}});

    // Bad outputs are refused with the reason, and no run is created.
    for (outputs, message) in [
        (json!([{"type": "json", "url": "x"}]), "unknown variant"),
        (
            json!([{"type": "experimental-prometheus-rw", "url": "ftp://x"}]),
            "outputs[0]: experimental-prometheus-rw: url must be http:// or https://",
        ),
        (
            json!([{"type": "experimental-prometheus-rw", "url": write_url, "pushInterval": "soon"}]),
            "invalid pushInterval",
        ),
        (
            json!([output, output, output, output, output]),
            "at most 4 outputs",
        ),
    ] {
        let reply = api
            .post_json(
                "/v1/runs",
                &json!({"scenario": scenario, "options": options, "outputs": outputs}),
            )
            .await;
        assert_eq!(reply.status, 400, "{outputs}");
        let body = reply.json();
        assert!(
            body["error"]["message"].as_str().unwrap().contains(message),
            "{body}"
        );
    }
    assert_eq!(
        api.get("/v1/runs").await.json()["runs"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let run = api
        .start_run(json!({"scenario": scenario, "options": options, "outputs": [output]}))
        .await;
    let shown = api.run(&run).await;
    assert_eq!(shown["outputs"][0]["headers"]["Authorization"], "(hidden)");
    assert_eq!(shown["outputs"][0]["url"], write_url.as_str());
    api.wait_for_status(&run, "finished", LONG).await;
    let results = api.get(&format!("/v1/runs/{run}/results")).await.json();
    let requests = results["metrics"]["http_reqs"]["count"].as_f64().unwrap();

    let pushes = pushes.lock().unwrap().clone();
    assert!(
        pushes
            .iter()
            .all(|(headers, _)| headers["authorization"] == "Bearer s3cret")
    );
    let last = &pushes.last().unwrap().1;
    let pushed: f64 = last
        .timeseries
        .iter()
        .filter(|s| label(s, "__name__") == Some("k6_http_reqs_total"))
        .inspect(|s| assert_eq!(label(s, "testid"), Some("mine")))
        .map(|s| s.samples[0].value)
        .sum();
    assert_eq!(pushed, requests);
    server.shutdown().await.unwrap();
}
