//! The REST API at its edges: every bad input gets its documented status and
//! code and stores nothing; auth on and off; webhooks signed and retried; a
//! server killed mid-run leaves the run `interrupted` with its data.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use common::api_client::{Api, LONG, config, data_dir};
use common::demo_target;
use hmac::{Hmac, Mac};
use hyper::Method;
use serde_json::{Value as Json, json};
use volley::server::{ServeConfig, Server};
use volley_example_artifacts::{FAULTY, HELLO};
use volley_runtime::client::AllowList;

/// A request (method, path, body with its content type) and the status and
/// error code it must get.
type BadRequest<'a> = (Method, String, Option<(&'a str, Vec<u8>)>, u16, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_its_status_and_code_and_stores_nothing() {
    let config = ServeConfig {
        max_upload_bytes: 64 << 10,
        ..config("bad")
    };
    let blobs = config.data_dir.join("blobs");
    let server = Server::start(config).await.unwrap();
    let api = Api::new(server.url(), None);
    let hello = std::fs::read(HELLO).unwrap();
    let wasm = |bytes: &[u8]| Some(("application/wasm", bytes.to_vec()));
    let json_body = |text: &str| Some(("application/json", text.as_bytes().to_vec()));
    let unknown_run = "/v1/runs/run_0000000000000000";

    let cases: Vec<BadRequest> = vec![
        (
            Method::POST,
            "/v1/scenarios".into(),
            wasm(b"hello"),
            422,
            "not_wasm",
        ),
        (
            Method::POST,
            "/v1/scenarios".into(),
            wasm(b"\0asm\x01\0\0\0"),
            422,
            "core_module",
        ),
        (
            Method::POST,
            "/v1/scenarios".into(),
            wasm(b"\0asm\x0d\0\x02\0"),
            422,
            "unknown_binary",
        ),
        (
            Method::POST,
            "/v1/scenarios".into(),
            wasm(&hello[..200]),
            422,
            "invalid_component",
        ),
        (
            Method::POST,
            "/v1/scenarios".into(),
            wasm(b"\0asm\x0d\0\x01\0"),
            422,
            "not_a_scenario",
        ),
        (
            Method::POST,
            "/v1/scenarios".into(),
            Some(("text/plain", hello.clone())),
            415,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/v1/scenarios".into(),
            None,
            415,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/v1/scenarios".into(),
            wasm(&vec![0u8; 65 << 10]),
            413,
            "upload_too_large",
        ),
        (
            Method::POST,
            "/v1/scenarios?name=".into(),
            wasm(&hello),
            400,
            "bad_query",
        ),
        (
            Method::POST,
            "/v1/runs".into(),
            json_body(r#"{"scenario": "#),
            400,
            "malformed_json",
        ),
        (
            Method::POST,
            "/v1/runs".into(),
            json_body(r#"{"scenario": "x", "vus": 3}"#),
            400,
            "malformed_json",
        ),
        (
            Method::POST,
            "/v1/runs".into(),
            json_body(r#"{"scenario": 7}"#),
            400,
            "malformed_json",
        ),
        (
            Method::POST,
            "/v1/runs".into(),
            json_body(r#"{"scenario": "nope"}"#),
            404,
            "scenario_not_found",
        ),
        (
            Method::POST,
            "/v1/runs".into(),
            Some(("text/plain", b"{}".to_vec())),
            415,
            "unsupported_media_type",
        ),
        (Method::GET, unknown_run.into(), None, 404, "run_not_found"),
        (
            Method::GET,
            format!("{unknown_run}/metrics"),
            None,
            404,
            "run_not_found",
        ),
        (
            Method::GET,
            format!("{unknown_run}/metrics/stream"),
            None,
            404,
            "run_not_found",
        ),
        (
            Method::GET,
            format!("{unknown_run}/timeseries"),
            None,
            404,
            "run_not_found",
        ),
        (
            Method::GET,
            format!("{unknown_run}/results"),
            None,
            404,
            "run_not_found",
        ),
        (
            Method::POST,
            format!("{unknown_run}/stop"),
            None,
            404,
            "run_not_found",
        ),
        (
            Method::PATCH,
            unknown_run.into(),
            json_body(r#"{"vus": 1}"#),
            404,
            "run_not_found",
        ),
        (
            Method::GET,
            "/v1/scenarios/abc".into(),
            None,
            404,
            "scenario_not_found",
        ),
        (
            Method::DELETE,
            "/v1/scenarios/abc".into(),
            None,
            404,
            "scenario_not_found",
        ),
        (
            Method::GET,
            "/v1/runs?limit=0".into(),
            None,
            400,
            "bad_query",
        ),
        (
            Method::GET,
            "/v1/runs?status=sleeping".into(),
            None,
            400,
            "bad_query",
        ),
        (
            Method::GET,
            "/v1/runs?cursor=later".into(),
            None,
            400,
            "bad_query",
        ),
        (
            Method::GET,
            "/v1/nothing-here".into(),
            None,
            404,
            "not_found",
        ),
        (
            Method::PUT,
            "/v1/runs".into(),
            None,
            405,
            "method_not_allowed",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let reply = api.call(method.clone(), &path, body).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (status, code),
            "{method} {path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(
            !reply.json()["error"]["message"]
                .as_str()
                .unwrap()
                .is_empty()
        );
        assert_eq!(reply.headers["content-type"], "application/json");
    }
    assert!(
        api.get("/v1/scenarios").await.json()["scenarios"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        std::fs::read_dir(&blobs).unwrap().count(),
        0,
        "a rejected upload left a blob"
    );

    // With a stored scenario: bad options and webhooks are refused before
    // anything is queued.
    let id = api.upload_file(HELLO, "hello").await;
    for (request, code, needle) in [
        (
            json!({"scenario": id, "options": {"vus": 0, "duration": "1s"}}),
            "invalid_options",
            "vus",
        ),
        (
            json!({"scenario": id, "options": {"duration": "soon"}}),
            "invalid_options",
            "duration",
        ),
        (
            json!({"scenario": id, "options": {"stages": []}}),
            "invalid_options",
            "stages",
        ),
        (
            json!({"scenario": id, "options": {"thresholds": {"http_req_duration": ["p(95) < banana"]}}}),
            "invalid_options",
            "banana",
        ),
        (
            json!({"scenario": id, "options": "fast"}),
            "invalid_options",
            "JSON object",
        ),
        (
            json!({"scenario": id, "options": [1, 2]}),
            "invalid_options",
            "JSON object",
        ),
        (
            json!({"scenario": id, "options": {"vus": 1e20}}),
            "invalid_options",
            "vus",
        ),
        (
            json!({"scenario": id, "options": {"scenarios": {"a": {"executor": "externally-controlled", "duration": "1s"}}}}),
            "invalid_options",
            "maxVUs",
        ),
        (
            json!({"scenario": id, "webhook": "ftp://example.test/hook"}),
            "invalid_webhook",
            "http://",
        ),
        (
            json!({"scenario": id, "webhook": "not a url"}),
            "invalid_webhook",
            "not a url",
        ),
    ] {
        let reply = api.post_json("/v1/runs", &request).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (400, code),
            "{request}"
        );
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(needle), "{request}: {message}");
    }
    assert!(
        api.get("/v1/runs").await.json()["runs"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A run whose setup fails ends `failed`, with the reason and no results.
    let faulty = api.upload_file(FAULTY, "faulty").await;
    let run = api
        .start_run(json!({"scenario": faulty, "options": {"env": {"FAIL_SETUP": "1"}}}))
        .await;
    let failed = api.wait_for_status(&run, "failed", LONG).await;
    assert!(
        failed["error"].as_str().unwrap().contains("setup"),
        "{failed:#}"
    );
    let results = api.get(&format!("/v1/runs/{run}/results")).await;
    assert_eq!(
        (results.status, results.code().as_str()),
        (409, "no_results")
    );

    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_every_v1_call_when_set() {
    let server = Server::start(ServeConfig {
        api_token: Some("s3cret-token".into()),
        ..config("auth")
    })
    .await
    .unwrap();
    for token in [None, Some("wrong"), Some("s3cret-token-and-more")] {
        let api = Api::new(server.url(), token);
        for path in ["/v1/scenarios", "/v1/runs", "/v1/runs/run_1/results"] {
            let reply = api.get(path).await;
            assert_eq!(
                (reply.status, reply.code().as_str()),
                (401, "unauthorized"),
                "{path}"
            );
            assert_eq!(reply.headers["www-authenticate"], "Bearer");
        }
        let upload = api.upload(&std::fs::read(HELLO).unwrap(), "hello").await;
        assert_eq!(upload.status, 401);
    }
    let api = Api::new(server.url(), Some("s3cret-token"));
    assert_eq!(api.get("/v1/scenarios").await.status, 200);
    assert_eq!(
        api.upload(&std::fs::read(HELLO).unwrap(), "hello")
            .await
            .status,
        201
    );
    let open = Api::new(server.url(), None);
    for path in ["/healthz", "/openapi.json", "/docs"] {
        assert_eq!(open.get(path).await.status, 200, "{path}");
    }
    server.shutdown().await.unwrap();

    // Without a token, /v1 is open.
    let server = Server::start(config("noauth")).await.unwrap();
    assert_eq!(
        Api::new(server.url(), None).get("/v1/runs").await.status,
        200
    );
    server.shutdown().await.unwrap();
}

/// A webhook receiver that answers 500 to the first `failures` deliveries.
async fn webhook_receiver(failures: usize) -> (String, Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push((headers, body.to_vec()));
                if log.len() <= failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let (url, _) = common::serve(router).await;
    (format!("{url}/hook"), received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_is_signed_and_retried_until_delivered() {
    let target = demo_target("none").await;
    let secret = "hook-secret";
    let server = Server::start(ServeConfig {
        webhook_secret: Some(secret.into()),
        webhook_attempts: 3,
        ..config("webhook")
    })
    .await
    .unwrap();
    let api = Api::new(server.url(), None);
    let id = api.upload_file(HELLO, "hello").await;
    let (hook, received) = webhook_receiver(1).await;
    let run = api
        .start_run(json!({
            "scenario": id,
            "options": {"iterations": 3, "env": {"TARGET_URL": target.url()}},
            "webhook": hook,
        }))
        .await;
    let done = api
        .wait_for(&run, LONG, |r| r["webhook"]["delivered"] == true)
        .await;
    assert_eq!(done["webhook"]["attempts"], 2);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "one failure, then the delivery");
    for (headers, body) in &received {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            headers["x-volley-signature-256"].to_str().unwrap(),
            format!("sha256={expected}")
        );
        assert_eq!(headers["x-volley-event"], "run.ended");
        assert_eq!(headers["x-volley-run"].to_str().unwrap(), run);
        let payload: Json = serde_json::from_slice(body).unwrap();
        assert_eq!(payload["event"], "run.ended");
        assert_eq!(payload["run"]["status"], "finished");
        assert_eq!(payload["results"]["metrics"]["http_reqs"]["count"], 3.0);
        assert_eq!(target.stats().total, 3);
    }

    // A receiver that never answers: every attempt is made and recorded.
    let run = api
        .start_run(json!({
            "scenario": id,
            "options": {"iterations": 1, "env": {"TARGET_URL": target.url()}},
            "webhook": "http://127.0.0.1:9/hook",
        }))
        .await;
    let failed = api
        .wait_for(&run, LONG, |r| r["webhook"]["attempts"] == 3)
        .await;
    assert_eq!(failed["webhook"]["delivered"], false);
    assert!(failed["webhook"]["last_error"].is_string());

    // An https webhook is sent over TLS: the receiver sees a TLS handshake.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let first_byte = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut byte = [0u8; 1];
        tokio::io::AsyncReadExt::read_exact(&mut socket, &mut byte)
            .await
            .unwrap();
        byte[0]
    });
    let run = api
        .start_run(json!({
            "scenario": id,
            "options": {"iterations": 1, "env": {"TARGET_URL": target.url()}},
            "webhook": format!("https://127.0.0.1:{port}/hook"),
        }))
        .await;
    assert_eq!(first_byte.await.unwrap(), 0x16, "a TLS handshake record");
    let failed = api
        .wait_for(&run, LONG, |r| r["webhook"]["attempts"] == 3)
        .await;
    assert_eq!(failed["webhook"]["delivered"], false);

    // A queued run that is stopped never runs, and its webhook says so.
    let busy = api
        .start_run(
            json!({"scenario": id, "options": {"vus": 1, "duration": "5m",
            "env": {"TARGET_URL": target.url(), "SLEEP_MS": "20"}}}),
        )
        .await;
    let (hook, received) = webhook_receiver(0).await;
    let queued = api
        .start_run(json!({"scenario": id, "options": {"iterations": 1}, "webhook": hook}))
        .await;
    assert_eq!(api.run(&queued).await["status"], "queued");
    api.post_json(&format!("/v1/runs/{queued}/stop"), &json!({}))
        .await;
    api.wait_for(&queued, LONG, |r| r["webhook"]["delivered"] == true)
        .await;
    let payload: Json = serde_json::from_slice(&received.lock().unwrap()[0].1).unwrap();
    assert_eq!(payload["run"]["status"], "aborted");
    assert_eq!(payload["run"]["abort_reason"], "user");
    api.post_json(&format!("/v1/runs/{busy}/stop"), &json!({}))
        .await;

    server.shutdown().await.unwrap();
    target.shutdown().await;
}

/// What a server process wrote to stderr.
type ServerLog = Arc<Mutex<Vec<String>>>;

/// `volley serve` as a process; returns it, its base URL and its log.
fn spawn_server(data_dir: &Path) -> (Child, String, ServerLog) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_volley"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting volley serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("volley serve printed its address")
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    let log = ServerLog::default();
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    (child, url, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_leaves_its_run_interrupted_with_its_data() {
    let target = demo_target("none").await;
    let dir = data_dir("restart");
    let (mut child, url, _) = spawn_server(&dir);
    let api = Api::new(url, None);
    let id = api.upload_file(HELLO, "hello").await;
    let compiled: Vec<_> = std::fs::read_dir(dir.join("compiled"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(compiled.len(), 1, "{compiled:?}");
    assert!(compiled[0].starts_with(&format!("{id}-")), "{compiled:?}");
    let env = json!({"TARGET_URL": target.url(), "SLEEP_MS": "5"});
    let finished = api
        .start_run(json!({"scenario": id, "options": {"iterations": 5, "env": env}}))
        .await;
    api.wait_for_status(&finished, "finished", LONG).await;
    let finished_results = api
        .get(&format!("/v1/runs/{finished}/results"))
        .await
        .json();

    let (hook, received) = webhook_receiver(0).await;
    let long = api
        .start_run(
            json!({"scenario": id, "options": {"vus": 2, "duration": "5m", "env": env},
            "webhook": hook}),
        )
        .await;
    let queued = api
        .start_run(json!({"scenario": id, "options": {"iterations": 4, "env": env}}))
        .await;
    assert_eq!(api.run(&queued).await["status"], "queued");
    loop {
        let series = api.get(&format!("/v1/runs/{long}/timeseries")).await.json();
        if series["points"].as_array().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, url, log) = spawn_server(&dir);
    let api = Api::new(url, None);
    let run = api
        .wait_for(&long, LONG, |r| r["webhook"]["delivered"] == true)
        .await;
    assert_eq!(run["status"], "interrupted", "{run:#}");
    // The webhook tells whoever waits that the run ended, interrupted.
    let deliveries = received.lock().unwrap().clone();
    assert_eq!(deliveries.len(), 1);
    let payload: Json = serde_json::from_slice(&deliveries[0].1).unwrap();
    assert_eq!(payload["run"]["status"], "interrupted");
    assert!(payload["results"].is_null());
    assert!(run["error"].as_str().unwrap().contains("in flight"));
    assert!(run["ended_at"].is_string());
    let requests = run["progress"]["requests"].as_u64().unwrap();
    assert!(requests > 0, "{run:#}");
    let metrics = api.get(&format!("/v1/runs/{long}/metrics")).await.json();
    assert_eq!(metrics["status"], "interrupted");
    assert!(
        metrics["metrics"]["http_reqs"]["values"]["count"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let series = api.get(&format!("/v1/runs/{long}/timeseries")).await.json();
    assert!(series["points"].as_array().unwrap().len() >= 2);
    let results = api.get(&format!("/v1/runs/{long}/results")).await;
    assert_eq!(
        (results.status, results.code().as_str()),
        (409, "no_results")
    );

    // Finished results are untouched; the queued run runs after the restart.
    assert_eq!(api.run(&finished).await["status"], "finished");
    assert_eq!(
        api.get(&format!("/v1/runs/{finished}/results"))
            .await
            .json(),
        finished_results
    );
    let resumed = api.wait_for_status(&queued, "finished", LONG).await;
    assert!(resumed["started_at"].is_string());
    let interrupted = api.get("/v1/runs?status=interrupted").await.json();
    assert_eq!(interrupted["runs"].as_array().unwrap().len(), 1);
    // The restarted server ran the scenario from its precompiled code.
    let log = log.lock().unwrap().join("\n");
    assert!(log.contains("loaded its precompiled code"), "{log}");
    assert!(!log.contains("compiled in"), "{log}");

    child.kill().unwrap();
    child.wait().unwrap();

    // Damaged precompiled code is refused and the scenario compiled again.
    for entry in std::fs::read_dir(dir.join("compiled")).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let (mut child, url, log) = spawn_server(&dir);
    let api = Api::new(url, None);
    let run = api
        .start_run(json!({"scenario": id, "options": {"iterations": 2, "env": env}}))
        .await;
    api.wait_for_status(&run, "finished", LONG).await;
    let log = log.lock().unwrap().join("\n");
    assert!(log.contains("not usable"), "{log}");
    assert!(log.contains("compiled in"), "{log}");
    child.kill().unwrap();
    child.wait().unwrap();
    target.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_stops_runs_and_keeps_their_results() {
    let target = demo_target("none").await;
    let config = config("shutdown");
    let dir = config.data_dir.clone();
    let server = Server::start(config.clone()).await.unwrap();
    let api = Api::new(server.url(), None);
    let id = api.upload_file(HELLO, "hello").await;
    let run = api
        .start_run(
            json!({"scenario": id, "options": {"vus": 2, "duration": "5m",
            "env": {"TARGET_URL": target.url(), "SLEEP_MS": "5"}}}),
        )
        .await;
    api.wait_for(&run, LONG, |r| {
        r["progress"]["requests"].as_u64() > Some(10)
    })
    .await;
    let queued = api
        .start_run(json!({"scenario": id, "options": {"iterations": 3,
            "env": {"TARGET_URL": target.url()}}}))
        .await;
    assert_eq!(api.run(&queued).await["status"], "queued");
    // A second server on the same data directory is refused.
    let second = Server::start(config.clone()).await.err().unwrap();
    assert!(second.to_string().contains("in use"), "{second}");

    // Shutting down ends open metric streams and starts nothing from the queue.
    let (watcher, path) = (api.clone(), format!("/v1/runs/{queued}/metrics/stream"));
    let stream = tokio::spawn(async move { watcher.events(&path).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::time::timeout(LONG, server.shutdown())
        .await
        .expect("the shutdown ends")
        .unwrap();
    let events = stream.await.unwrap();
    assert!(
        events.iter().all(|(name, _)| name == "snapshot"),
        "{events:?}"
    );
    let counted = target.stats().total;

    let server = Server::start(config).await.unwrap();
    let api = Api::new(server.url(), None);
    let stopped = api.run(&run).await;
    assert_eq!(stopped["status"], "interrupted", "{stopped:#}");
    let results = api.get(&format!("/v1/runs/{run}/results")).await.json();
    assert_eq!(results["metrics"]["http_reqs"]["count"], counted as f64);
    // The queued run waited through the restart, and runs now.
    api.wait_for_status(&queued, "finished", LONG).await;
    assert_eq!(target.stats().total, counted + 3);
    server.shutdown().await.unwrap();
    target.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_reach_only_the_allowed_targets() {
    let target = demo_target("none").await;
    let port = target.addr().port();
    let server = Server::start(ServeConfig {
        allowed_targets: Some(AllowList::new(vec![
            format!("127.0.0.1:{port}").parse().unwrap(),
        ])),
        ..config("allow")
    })
    .await
    .unwrap();
    let api = Api::new(server.url(), None);
    let id = api.upload_file(HELLO, "hello").await;

    // The same service by another name, or on another port: denied.
    for url in [
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
    ] {
        let run = api
            .start_run(
                json!({"scenario": id, "options": {"iterations": 3, "env": {"TARGET_URL": url}}}),
            )
            .await;
        api.wait_for_status(&run, "finished", LONG).await;
        let results = api.get(&format!("/v1/runs/{run}/results")).await.json();
        assert_eq!(
            results["metrics"]["http_req_failed"]["passes"], 3.0,
            "{url}"
        );
        assert_eq!(
            results["volley"]["request_failures"]["denied"], 3,
            "{url}: {results:#}"
        );
    }
    assert_eq!(
        target.stats().total,
        0,
        "a denied request never reaches the target"
    );

    let run = api
        .start_run(json!({"scenario": id, "options": {"iterations": 3,
            "env": {"TARGET_URL": format!("http://127.0.0.1:{port}")}}}))
        .await;
    api.wait_for_status(&run, "finished", LONG).await;
    let results = api.get(&format!("/v1/runs/{run}/results")).await.json();
    assert_eq!(results["metrics"]["http_req_failed"]["passes"], 0.0);
    assert_eq!(target.stats().total, 3);
    server.shutdown().await.unwrap();
    target.shutdown().await;
}
