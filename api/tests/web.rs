//! The web dashboard and the HTML report in headless Chromium (the Debian
//! package), against a real `volley serve` and the demo target: a scenario is
//! uploaded and a run started from the page, its charts draw points while it
//! runs, the stop button stops it, and its report opens from disk with no
//! network. Screenshots are kept in the target folder's `tmp/` as artifacts.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value as Json, json};
use volley::server::{ServeConfig, Server};

use common::api_client::{Api, LONG, config};
use common::browser::Browser;
use common::demo_target;

const CHARTS: [&str; 5] = ["rps", "vus", "latency", "errors", "checks"];
const WAIT: Duration = Duration::from_secs(30);

/// Where a screenshot is kept.
fn artifact(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    println!("screenshot: {}", path.display());
    path
}

/// How many points each chart draws now.
async fn chart_points(page: &Browser) -> Vec<u64> {
    let mut points = Vec::new();
    for chart in CHARTS {
        let value = page
            .eval(&format!(
                "+document.getElementById('chart-{chart}').getAttribute('data-points')"
            ))
            .await;
        points.push(value.as_u64().unwrap_or(0));
    }
    points
}

/// Chooses `path` in the file input `selector` (a person would pick it).
async fn choose_file(page: &Browser, selector: &str, path: &str) {
    let document = page.send("DOM.getDocument", json!({})).await.unwrap();
    let root = document["root"]["nodeId"].clone();
    let node = page
        .send(
            "DOM.querySelector",
            json!({"nodeId": root, "selector": selector}),
        )
        .await
        .unwrap();
    page.send(
        "DOM.setFileInputFiles",
        json!({"nodeId": node["nodeId"], "files": [path]}),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_starts_a_run_draws_it_live_and_stops_it() {
    let server = Server::start(ServeConfig {
        api_token: Some("t0k3n".into()),
        ..config("web")
    })
    .await
    .unwrap();
    let api = Api::new(server.url(), Some("t0k3n"));
    let target = demo_target("2ms").await;
    let page = Browser::launch().await;

    // The page loads without the token, then asks for it.
    page.goto(&format!("{}/", server.url())).await;
    page.wait_for("location.pathname === '/ui/'", WAIT).await;
    page.wait_for("document.querySelector('#api-token')", WAIT)
        .await;
    page.eval(
        "(() => { const t = document.querySelector('#api-token'); t.value = 't0k3n'; \
         t.dispatchEvent(new Event('change')); t.dispatchEvent(new Event('input')); })()",
    )
    .await;
    page.goto(&format!("{}/ui/#/", server.url())).await;

    // Upload the concert scenario from the page.
    page.wait_for("document.querySelector('#scenario-file')", WAIT)
        .await;
    choose_file(
        &page,
        "#scenario-file",
        volley_example_artifacts::CONCERT_BOOKING,
    )
    .await;
    page.eval("document.querySelector('#scenario-name').value = 'concert'")
        .await;
    page.eval("document.querySelector('#upload-scenario').click()")
        .await;
    page.wait_for(
        "[...document.querySelectorAll('#run-scenario option')].some(o => o.value && o.textContent.includes('concert'))",
        WAIT,
    )
    .await;
    let scenarios = api.get("/v1/scenarios").await.json();
    assert_eq!(scenarios["scenarios"].as_array().unwrap().len(), 1);

    // Start a run from the form: 3 VUs for up to a minute, two thresholds.
    let options = json!({
        "vus": 3, "duration": "60s", "env": {"TARGET_URL": target.url()},
        "thresholds": {"http_req_duration": ["p(95)<1000"], "checks": ["rate>0.99"]},
    });
    page.eval(&format!(
        "(() => {{ const t = document.querySelector('#run-options'); t.value = {}; \
         t.dispatchEvent(new Event('input')); document.querySelector('#start-run').click(); }})()",
        Json::String(options.to_string())
    ))
    .await;
    let hash = page
        .wait_for("location.hash.startsWith('#/runs/') && location.hash", WAIT)
        .await;
    let run = hash
        .as_str()
        .unwrap()
        .trim_start_matches("#/runs/")
        .to_owned();
    page.wait_for(
        "document.querySelector('#run-status') && document.querySelector('#run-status').textContent === 'running'",
        WAIT,
    )
    .await;

    // Every chart draws points while the run is live.
    let first = chart_points(&page).await;
    page.wait_for(
        &format!(
            "{CHARTS:?}.every(k => +document.getElementById('chart-' + k).getAttribute('data-points') >= 3)"
        ),
        WAIT,
    )
    .await;
    let later = chart_points(&page).await;
    for ((chart, before), after) in CHARTS.iter().zip(&first).zip(&later) {
        assert!(after > before, "chart-{chart}: {before} -> {after} points");
    }
    assert_eq!(api.run(&run).await["status"], "running");
    let thresholds = page
        .eval("document.querySelectorAll('li.threshold.pass').length")
        .await;
    assert_eq!(thresholds, 2);
    page.screenshot(&artifact("dashboard-live-run.png")).await;

    // The stop button stops it.
    page.eval("document.querySelector('#stop-run').click()")
        .await;
    let status = page
        .wait_for(
            "['aborted', 'finished'].includes(document.querySelector('#run-status').textContent) \
             && document.querySelector('#run-status').textContent",
            LONG,
        )
        .await;
    assert_eq!(status, "aborted");
    let stored = api.run(&run).await;
    assert_eq!(stored["status"], "aborted");
    assert_eq!(stored["abort_reason"], "user");
    assert!(stored["progress"]["elapsed_seconds"].as_f64().unwrap() < 30.0);
    page.wait_for("document.querySelector('table.summary')", WAIT)
        .await;
    assert_eq!(
        page.eval("document.querySelector('#stop-run').disabled")
            .await,
        true
    );
    // Its report can be saved from the page (fetched with the token).
    assert_eq!(
        page.eval("document.querySelector('#download-report').hidden")
            .await,
        false
    );
    let fetched = page
        .eval(&format!(
            "fetch('/v1/runs/{run}/report', {{headers: {{Authorization: 'Bearer t0k3n'}}}}).then(r => r.status)"
        ))
        .await;
    assert_eq!(fetched, 200);
    let results = api.get(&format!("/v1/runs/{run}/results")).await.json();
    assert_eq!(
        results["metrics"]["http_reqs"]["count"].as_f64().unwrap() as u64,
        target.stats().total
    );
    page.screenshot(&artifact("dashboard-stopped-run.png"))
        .await;
    assert_eq!(page.console_errors(), Vec::<String>::new());

    // The run's report, saved to disk, opens with no server at all.
    let report = api.get(&format!("/v1/runs/{run}/report")).await;
    assert_eq!(report.status, 200);
    assert!(
        report.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = String::from_utf8(report.body).unwrap();
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{run}.html"));
    std::fs::write(&file, &html).unwrap();
    server.shutdown().await.unwrap();
    let report_page = Browser::launch().await;
    report_page
        .goto(&format!("file://{}", file.display()))
        .await;
    report_page
        .wait_for(
            "document.querySelectorAll('table.summary tr[data-metric]').length > 5",
            WAIT,
        )
        .await;
    let verdict = report_page
        .eval("document.querySelector('#report-verdict').textContent")
        .await;
    assert_eq!(verdict, "thresholds passed (2/2)");
    let points = chart_points(&report_page).await;
    assert!(points.iter().all(|p| *p >= 3), "report charts: {points:?}");
    let requests = report_page
        .eval("performance.getEntriesByType('resource').length")
        .await;
    assert_eq!(requests, 0, "the report loads nothing");
    report_page.screenshot(&artifact("report.png")).await;
    assert_eq!(report_page.console_errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_needs_a_finished_run() {
    let server = Server::start(config("web-report")).await.unwrap();
    let api = Api::new(server.url(), None);
    assert_eq!(
        api.get("/v1/runs/run_nope/report").await.code(),
        "run_not_found"
    );
    let target = demo_target("none").await;
    let scenario = api
        .upload_file(volley_example_artifacts::CONCERT_BOOKING, "concert")
        .await;
    let run = api
        .start_run(json!({"scenario": scenario, "options": {"vus": 1, "duration": "30s", "env": {"TARGET_URL": target.url()}}}))
        .await;
    api.wait_for_status(&run, "running", LONG).await;
    let early = api.get(&format!("/v1/runs/{run}/report")).await;
    assert_eq!(
        (early.status, early.code()),
        (409, "run_not_finished".into())
    );
    api.post_json(&format!("/v1/runs/{run}/stop"), &json!({}))
        .await;
    api.wait_for_status(&run, "aborted", LONG).await;
    let report = api.get(&format!("/v1/runs/{run}/report")).await;
    assert_eq!(report.status, 200);
    let html = String::from_utf8(report.body).unwrap();
    assert!(html.contains(&run) && !html.contains("/*VOLLEY_REPORT_DATA*/"));
    server.shutdown().await.unwrap();
}
