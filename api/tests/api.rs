//! The REST API over a real socket: upload the example scenarios, run them
//! against the demo target, follow them live, stop and rescale them, queue
//! them, and compare what Volley reports with what the target counted.

mod common;

use common::api_client::{Api, LONG, config};
use common::demo_target;
use serde_json::json;
use volley::server::{ServeConfig, Server};
use volley_example_artifacts::{CONCERT_BOOKING, FAULTY, HELLO};

async fn start(config: ServeConfig) -> (Server, Api) {
    let server = Server::start(config).await.expect("the server starts");
    let api = Api::new(server.url(), None);
    (server, api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_the_api_reports_what_the_target_counted() {
    let target = demo_target("1ms").await;
    let (server, api) = start(config("flow")).await;

    let upload = api
        .upload(&std::fs::read(CONCERT_BOOKING).unwrap(), "concert")
        .await;
    assert_eq!(upload.status, 201, "{upload:?}");
    let scenario = upload.json();
    let id = scenario["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 64);
    assert_eq!(upload.headers["location"], format!("/v1/scenarios/{id}"));
    assert_eq!(scenario["name"], "concert");
    assert!(
        scenario["exports"]
            .as_array()
            .unwrap()
            .contains(&json!("iteration"))
    );
    assert!(scenario["default_options"].is_object());

    // The same bytes again: the stored scenario, not a second one.
    let again = api
        .upload(&std::fs::read(CONCERT_BOOKING).unwrap(), "other-name")
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json(), scenario);
    let list = api.get("/v1/scenarios").await.json();
    assert_eq!(list["scenarios"].as_array().unwrap().len(), 1);
    assert_eq!(
        api.get(&format!("/v1/scenarios/{id}")).await.json(),
        scenario
    );

    let reply = api
        .post_json(
            "/v1/runs",
            &json!({
                "scenario": id,
                "options": {
                    "scenarios": {"book": {"executor": "per-vu-iterations", "vus": 4, "iterations": 5}},
                    "env": {"TARGET_URL": target.url(), "THINK_TIME_MS": "0"},
                    "thresholds": {"http_req_duration": ["p(95)<5000"], "checks": ["rate>0.9"]},
                },
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let run_id = reply.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.headers["location"], format!("/v1/runs/{run_id}"));

    // The stream yields snapshots until the run ends, then the run itself.
    let events = api
        .events(&format!("/v1/runs/{run_id}/metrics/stream"))
        .await;
    let (last_name, last) = events.last().unwrap();
    assert_eq!(last_name, "end");
    assert_eq!(last["status"], "finished");
    let snapshots: Vec<_> = events.iter().filter(|(e, _)| e == "snapshot").collect();
    assert!(!snapshots.is_empty());
    assert_eq!(snapshots.last().unwrap().1["status"], "finished");

    let run = api.run(&run_id).await;
    assert_eq!(run["status"], "finished", "{run:#}");
    assert_eq!(run["thresholds_passed"], true);
    assert!(run["started_at"].is_string() && run["ended_at"].is_string());

    // What the target counted is what Volley reports, per endpoint too.
    let stats = target.stats();
    let results = api.get(&format!("/v1/runs/{run_id}/results")).await;
    assert_eq!(results.status, 200);
    let results = results.json();
    assert_eq!(results["metrics"]["http_reqs"]["count"], stats.total as f64);
    assert_eq!(results["metrics"]["iterations"]["count"], 20.0);
    assert_eq!(results["thresholds_passed"], true);
    assert_eq!(results["thresholds"].as_array().unwrap().len(), 2);
    assert_eq!(
        results["metrics"]["http_req_duration"]["thresholds"]["p(95)<5000"],
        false
    );
    assert!(!results["checks"].as_array().unwrap().is_empty());
    assert!(results["root_group"]["checks"].is_object());

    let metrics = api
        .get(&format!("/v1/runs/{run_id}/metrics?by=name"))
        .await
        .json();
    assert_eq!(
        metrics["metrics"]["http_reqs"]["values"]["count"],
        stats.total as f64
    );
    let by_name = metrics["metrics"]["http_reqs"]["by"].as_object().unwrap();
    for (route, count) in &stats.by_route {
        assert_eq!(by_name[route.as_str()]["count"], *count as f64, "{route}");
    }
    for stat in ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"] {
        assert!(
            metrics["metrics"]["http_req_duration"]["values"][stat].is_number(),
            "{stat}"
        );
    }

    let series = api
        .get(&format!("/v1/runs/{run_id}/timeseries"))
        .await
        .json();
    let points = series["points"].as_array().unwrap();
    assert!(!points.is_empty());
    let seen: u64 = points.iter().map(|p| p["requests"].as_u64().unwrap()).sum();
    assert_eq!(
        seen, stats.total,
        "the series adds up to what the target counted"
    );
    for pair in points.windows(2) {
        assert!(pair[0]["t"].as_f64() < pair[1]["t"].as_f64());
    }
    assert!(
        points
            .iter()
            .any(|p| p["http_req_duration"]["count"].as_u64() > Some(0))
    );

    // Deleting works once nothing uses the scenario.
    assert_eq!(api.delete(&format!("/v1/scenarios/{id}")).await.status, 204);
    assert_eq!(api.get(&format!("/v1/scenarios/{id}")).await.status, 404);
    assert_eq!(api.get(&format!("/v1/runs/{run_id}")).await.status, 404);

    server.shutdown().await.unwrap();
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_stop_and_rescale_live() {
    let target = demo_target("1ms").await;
    let (server, api) = start(config("scale")).await;
    let id = api.upload_file(HELLO, "hello").await;
    let env = json!({"TARGET_URL": target.url(), "SLEEP_MS": "20"});

    let run_id = api
        .start_run(json!({
            "scenario": id,
            "options": {
                "scenarios": {"live": {"executor": "externally-controlled", "vus": 1, "maxVUs": 6, "duration": "1m"}},
                "env": env,
            },
        }))
        .await;
    api.wait_for(&run_id, LONG, |r| r["progress"]["vus"] == 1)
        .await;
    let reply = api
        .patch_json(&format!("/v1/runs/{run_id}"), &json!({"vus": 5}))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    api.wait_for(&run_id, LONG, |r| r["progress"]["vus"] == 5)
        .await;
    let reply = api
        .patch_json(&format!("/v1/runs/{run_id}"), &json!({"vus": 2}))
        .await;
    assert_eq!(reply.status, 200);
    api.wait_for(&run_id, LONG, |r| r["progress"]["vus"] == 2)
        .await;
    for (patch, status, code) in [
        (json!({"vus": 7}), 400, "invalid_scale"),
        (json!({"vus": 1, "scenario": "nope"}), 400, "invalid_scale"),
        (json!({"vus": -1}), 400, "malformed_json"),
        (json!({"users": 3}), 400, "malformed_json"),
    ] {
        let reply = api.patch_json(&format!("/v1/runs/{run_id}"), &patch).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (status, code),
            "{patch}"
        );
    }

    let stop = api
        .post_json(&format!("/v1/runs/{run_id}/stop"), &json!({}))
        .await;
    assert_eq!(stop.status, 202);
    assert!(matches!(
        stop.json()["status"].as_str(),
        Some("stopping" | "aborted")
    ));
    let run = api.wait_for_status(&run_id, "aborted", LONG).await;
    assert_eq!(run["abort_reason"], "user");
    let results = api.get(&format!("/v1/runs/{run_id}/results")).await.json();
    assert_eq!(
        results["metrics"]["http_reqs"]["count"],
        target.stats().total as f64
    );
    let again = api
        .post_json(&format!("/v1/runs/{run_id}/stop"), &json!({}))
        .await;
    assert_eq!((again.status, again.code().as_str()), (409, "run_ended"));
    let patch = api
        .patch_json(&format!("/v1/runs/{run_id}"), &json!({"vus": 1}))
        .await;
    assert_eq!(
        (patch.status, patch.code().as_str()),
        (409, "run_not_running")
    );

    // A constant-vus run cannot be rescaled.
    let run_id = api
        .start_run(json!({"scenario": id, "options": {"vus": 1, "duration": "1m", "env": env}}))
        .await;
    api.wait_for(&run_id, LONG, |r| r["progress"]["vus"] == 1)
        .await;
    let patch = api
        .patch_json(&format!("/v1/runs/{run_id}"), &json!({"vus": 3}))
        .await;
    assert_eq!((patch.status, patch.code().as_str()), (409, "not_scalable"));
    api.post_json(&format!("/v1/runs/{run_id}/stop"), &json!({}))
        .await;
    api.wait_for_status(&run_id, "aborted", LONG).await;

    server.shutdown().await.unwrap();
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_beyond_the_limit_wait_in_the_queue() {
    let target = demo_target("none").await;
    let (server, api) = start(ServeConfig {
        max_concurrent_runs: 1,
        ..config("queue")
    })
    .await;
    let id = api.upload_file(HELLO, "hello").await;
    let options =
        json!({"vus": 1, "duration": "1s", "env": {"TARGET_URL": target.url(), "SLEEP_MS": "10"}});
    let first = api
        .start_run(json!({"scenario": id, "options": options}))
        .await;
    let second = api
        .start_run(json!({"scenario": id, "options": options}))
        .await;
    let third = api
        .start_run(json!({"scenario": id, "options": options}))
        .await;
    assert_eq!(api.run(&first).await["status"], "running");
    assert_eq!(api.run(&second).await["status"], "queued");
    assert_eq!(api.run(&third).await["status"], "queued");
    let health = api.get("/healthz").await.json();
    assert_eq!(
        (
            health["runs_active"].as_u64(),
            health["runs_queued"].as_u64()
        ),
        (Some(1), Some(2))
    );
    let queued = api.get("/v1/runs?status=queued").await.json();
    assert_eq!(queued["runs"].as_array().unwrap().len(), 2);
    let not_yet = api.get(&format!("/v1/runs/{second}/results")).await;
    assert_eq!(
        (not_yet.status, not_yet.code().as_str()),
        (409, "run_not_finished")
    );
    let in_use = api.delete(&format!("/v1/scenarios/{id}")).await;
    assert_eq!(
        (in_use.status, in_use.code().as_str()),
        (409, "scenario_in_use")
    );

    // Stopping a queued run aborts it without running it.
    let stop = api
        .post_json(&format!("/v1/runs/{third}/stop"), &json!({}))
        .await;
    assert_eq!(stop.json()["status"], "aborted");
    let no_results = api.get(&format!("/v1/runs/{third}/results")).await;
    assert_eq!(
        (no_results.status, no_results.code().as_str()),
        (409, "no_results")
    );

    let first_run = api.wait_for_status(&first, "finished", LONG).await;
    let second_run = api.wait_for_status(&second, "finished", LONG).await;
    assert!(second_run["started_at"].as_str() >= first_run["ended_at"].as_str());
    assert_eq!(api.run(&third).await["started_at"], serde_json::Value::Null);

    // Paging: newest first, one per page.
    let page = api.get("/v1/runs?limit=2").await.json();
    let ids: Vec<_> = page["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, [json!(third), json!(second)]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = api
        .get(&format!("/v1/runs?limit=2&cursor={cursor}"))
        .await
        .json();
    assert_eq!(rest["runs"][0]["id"], json!(first));
    assert!(rest["next_cursor"].is_null());

    server.shutdown().await.unwrap();
    target.shutdown().await;
}

/// The `sh` block between the walkthrough markers of the README.
fn readme_walkthrough() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme.find("<!-- api-walkthrough:start -->").unwrap();
    let end = readme.find("<!-- api-walkthrough:end -->").unwrap();
    let block = &readme[start..end];
    let code = block.split("```sh\n").nth(1).unwrap();
    code.split("```").next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_curl_walkthrough_runs_as_written() {
    for tool in ["curl", "jq"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .status()
            .unwrap()
            .success();
        assert!(found, "{tool} is needed (.ci/test installs it)");
    }
    let target = demo_target("1ms").await;
    let (server, api) = start(config("readme")).await;
    let script = readme_walkthrough();
    let (url, target_url) = (server.url(), target.url());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env("VOLLEY", url)
            .env("TARGET", target_url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the walkthrough failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("event: end"), "{stdout}");
    assert!(stdout.contains("\"thresholds_passed\": true"), "{stdout}");
    assert!(stdout.contains("\"stopping\""), "{stdout}");

    // Both runs' requests, as Volley reports them, are what the target counted.
    let runs = api.get("/v1/runs").await.json();
    let mut reported = 0.0;
    for run in runs["runs"].as_array().unwrap() {
        let id = run["id"].as_str().unwrap();
        api.wait_for(id, LONG, |r| {
            matches!(r["status"].as_str(), Some("finished" | "aborted"))
        })
        .await;
        let results = api.get(&format!("/v1/runs/{id}/results")).await.json();
        reported += results["metrics"]["http_reqs"]["count"].as_f64().unwrap();
    }
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2);
    assert_eq!(reported, target.stats().total as f64);

    server.shutdown().await.unwrap();
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_judge_runs_live_and_at_the_end() {
    let target = demo_target("none").await;
    let (server, api) = start(ServeConfig {
        max_concurrent_runs: 2,
        ..config("thresholds")
    })
    .await;
    let id = api.upload_file(HELLO, "hello").await;
    let env = json!({"TARGET_URL": target.url(), "SLEEP_MS": "10"});

    // A failed threshold: the run finishes, and says it did not pass.
    let failing = api
        .start_run(
            json!({"scenario": id, "options": {"iterations": 5, "env": env,
            "thresholds": {"http_reqs": ["count>1000"], "http_req_duration": ["p(99)<10000"]}}}),
        )
        .await;
    let run = api.wait_for_status(&failing, "finished", LONG).await;
    assert_eq!(run["thresholds_passed"], false);
    let verdicts = run["thresholds"].as_array().unwrap();
    let by_metric = |m: &str| verdicts.iter().find(|t| t["metric"] == m).unwrap().clone();
    assert_eq!(by_metric("http_reqs")["ok"], false);
    assert_eq!(by_metric("http_reqs")["value"], 5.0);
    assert_eq!(by_metric("http_req_duration")["ok"], true);
    let results = api.get(&format!("/v1/runs/{failing}/results")).await.json();
    assert_eq!(results["thresholds_passed"], false);
    assert_eq!(
        results["metrics"]["http_reqs"]["thresholds"]["count>1000"],
        true
    );

    // abortOnFail: a failing threshold stops the run early; live verdicts show it.
    let aborting = api
        .start_run(
            json!({"scenario": id, "options": {"vus": 2, "duration": "5m", "env": env,
            "thresholds": {"iterations": [{"threshold": "count<20", "abortOnFail": true}]}}}),
        )
        .await;
    let run = api.wait_for_status(&aborting, "aborted", LONG).await;
    assert_eq!(run["abort_reason"], "threshold");
    assert_eq!(run["thresholds_passed"], false);
    assert_eq!(run["thresholds"][0]["abort_on_fail"], true);
    let logs = api.get(&format!("/v1/runs/{aborting}/logs")).await.json();
    assert!(
        logs["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("abortOnFail")),
        "{logs:#}"
    );
    server.shutdown().await.unwrap();
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_log_keeps_what_the_scenario_and_volley_said() {
    let (server, api) = start(config("logs")).await;
    let id = api.upload_file(FAULTY, "faulty").await;
    let run = api
        .start_run(json!({"scenario": id, "options": {"scenarios": {"t": {
            "executor": "per-vu-iterations", "vus": 1, "iterations": 2, "exec": "trap"}}}}))
        .await;
    api.wait_for_status(&run, "finished", LONG).await;
    let logs = api.get(&format!("/v1/runs/{run}/logs")).await.json();
    let messages: Vec<&str> = logs["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("deliberate trap")),
        "{messages:?}"
    );
    let results = api.get(&format!("/v1/runs/{run}/results")).await.json();
    assert_eq!(results["volley"]["iteration_failures"]["trap"], 2);
    let missing = api.get("/v1/runs/run_0/logs").await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "run_not_found")
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_arrival_rate_run_over_the_api_reports_dropped_iterations() {
    let target = demo_target("none").await;
    let (server, api) = start(config("arrival")).await;
    let id = api.upload_file(HELLO, "hello").await;
    // 40 iterations in 1 s, each sleeping 200 ms, on at most 2 VUs: at most
    // 2 run in each 200 ms, so most are dropped.
    let run = api
        .start_run(json!({"scenario": id, "options": {
            "scenarios": {"open": {"executor": "constant-arrival-rate", "rate": 40,
                "duration": "1s", "preAllocatedVUs": 1, "maxVUs": 2}},
            "env": {"TARGET_URL": target.url(), "SLEEP_MS": "200"}}}))
        .await;
    api.wait_for_status(&run, "finished", LONG).await;
    let results = api.get(&format!("/v1/runs/{run}/results")).await.json();
    let iterations = results["metrics"]["iterations"]["count"].as_f64().unwrap();
    let dropped = results["metrics"]["dropped_iterations"]["count"]
        .as_f64()
        .unwrap();
    assert_eq!(iterations + dropped, 40.0);
    assert!((6.0..=12.0).contains(&iterations), "{iterations}");
    assert_eq!(iterations, target.stats().total as f64);
    let by_scenario = api
        .get(&format!("/v1/runs/{run}/metrics?by=scenario"))
        .await
        .json();
    assert_eq!(
        by_scenario["metrics"]["dropped_iterations"]["by"]["open"]["count"],
        dropped
    );
    server.shutdown().await.unwrap();
    target.shutdown().await;
}
