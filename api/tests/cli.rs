//! The `volley` binary as a user runs it: exit codes, messages, the summary
//! export, against a demo target over loopback.

mod common;

use std::process::{Command, Output};

use common::demo_target;
use volley_example_artifacts::HELLO;

fn volley(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_volley"))
        .args(args)
        .output()
        .expect("running volley")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn validate_reports_a_valid_scenario_and_its_exports() {
    let out = volley(&["validate", HELLO]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("valid scenario"), "{stdout}");
    for export in ["options", "setup", "iteration", "teardown"] {
        assert!(stdout.contains(export), "{stdout}");
    }
    assert!(stdout.contains(r#""vus":1"#), "{stdout}");
}

#[test]
fn bad_input_exits_non_zero_with_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("volley-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_wasm = dir.join("notes.txt");
    std::fs::write(&not_wasm, "hello").unwrap();
    let core = dir.join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let bad_config = dir.join("bad.json");
    std::fs::write(&bad_config, r#"{"vus": "many"}"#).unwrap();
    let missing = dir.join("missing.wasm");
    let unwritable = format!(
        "json={}",
        dir.join("no-such-dir").join("out.json").display()
    );
    let cases: [(Vec<&str>, i32, &str); 10] = [
        (
            vec!["validate", missing.to_str().unwrap()],
            1,
            "cannot read",
        ),
        (
            vec!["validate", not_wasm.to_str().unwrap()],
            1,
            "not a WebAssembly file",
        ),
        (
            vec!["run", core.to_str().unwrap()],
            1,
            "core WebAssembly module",
        ),
        (vec!["run", HELLO, "--duration", "10x"], 2, "unknown unit"),
        (vec!["run", HELLO, "--env", "NOEQUALS"], 2, "KEY=VALUE"),
        (
            vec!["run", HELLO, "--config", bad_config.to_str().unwrap()],
            1,
            "vus",
        ),
        (
            vec!["run", HELLO, "--out", "influxdb"],
            2,
            "unknown output \"influxdb\"",
        ),
        (
            vec![
                "run",
                HELLO,
                "--out",
                "experimental-prometheus-rw=pushInterval=soon",
            ],
            2,
            "invalid pushInterval",
        ),
        (vec!["run", HELLO, "--out", &unwritable], 1, "cannot create"),
        (
            vec!["serve", "--out", "json=x.json"],
            1,
            "json and csv files are for volley run",
        ),
    ];
    for (args, code, message) in cases {
        let out = volley(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_prints_a_summary_and_exports_k6_json() {
    let target = demo_target("none").await;
    let export = std::env::temp_dir().join(format!("volley-summary-{}.json", std::process::id()));
    let url = format!("TARGET_URL={}/hello", target.url());
    let out = tokio::task::spawn_blocking({
        let export = export.clone();
        move || {
            volley(&[
                "run",
                HELLO,
                "--vus",
                "2",
                "--iterations",
                "20",
                "--env",
                &url,
                "--quiet",
                "--summary-export",
                export.to_str().unwrap(),
            ])
        }
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "http_reqs",
        "http_req_duration",
        "checks",
        "iterations",
        "✓ status is 200",
    ] {
        assert!(stdout.contains(line), "missing {line}: {stdout}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(json["metrics"]["http_reqs"]["count"], 20.0);
    assert_eq!(target.stats().total, 20);
    for stat in ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"] {
        assert!(
            json["metrics"]["http_req_duration"][stat].is_number(),
            "{stat}"
        );
    }
    assert_eq!(json["root_group"]["checks"]["status is 200"]["passes"], 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn run_writes_its_outputs_and_report() {
    let target = demo_target("none").await;
    let dir = std::env::temp_dir().join(format!("volley-cli-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, csv, report) = (
        dir.join("s.json"),
        dir.join("s.csv"),
        dir.join("report.html"),
    );
    let url = format!("TARGET_URL={}/hello", target.url());
    let args = [
        "run".to_owned(),
        HELLO.to_owned(),
        "--vus=2".into(),
        "--iterations=10".into(),
        format!("--env={url}"),
        "--quiet".into(),
        "--tag=testid=cli".into(),
        format!("--out=json={}", json.display()),
        format!("--out=csv={}", csv.display()),
        format!("--report={}", report.display()),
    ];
    let out = tokio::task::spawn_blocking(move || {
        volley(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for line in [
        format!("output: json ({})", json.display()),
        format!("output: csv ({})", csv.display()),
        format!("report: {}", report.display()),
    ] {
        assert!(stderr.contains(&line), "{line} missing: {stderr}");
    }
    // Every request is in both files, tagged with the run's tag.
    let points: Vec<serde_json::Value> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|p: &serde_json::Value| p["type"] == "Point" && p["metric"] == "http_reqs")
        .collect();
    assert_eq!(points.len(), 10);
    assert!(points.iter().all(|p| p["data"]["tags"]["testid"] == "cli"));
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        rows.lines().filter(|l| l.starts_with("http_reqs,")).count(),
        10
    );
    assert_eq!(target.stats().total, 10);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("\"http_reqs\""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_threshold_exits_99() {
    let target = demo_target("none").await;
    let dir = std::env::temp_dir();
    let config = dir.join(format!("volley-thresholds-{}.json", std::process::id()));
    std::fs::write(
        &config,
        r#"{"thresholds": {"http_reqs": ["count<5"], "http_req_failed": ["rate<0.01"]}}"#,
    )
    .unwrap();
    let url = format!("TARGET_URL={}/hello", target.url());
    let out = tokio::task::spawn_blocking(move || {
        volley(&[
            "run",
            HELLO,
            "--iterations",
            "10",
            "--env",
            &url,
            "--quiet",
            "--config",
            config.to_str().unwrap(),
        ])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(99), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("✗ 'count<5' count=10"), "{stdout}");
    assert!(stdout.contains("✓ 'rate<0.01'"), "{stdout}");
    assert!(text(&out.stderr).contains("thresholds have failed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terminal_gets_a_live_progress_line() {
    let target = demo_target("none").await;
    // `script` gives volley a pseudo-terminal, as a user's shell would.
    let command = format!(
        "{} run {HELLO} --vus 3 --duration 2500ms --env TARGET_URL={}/hello",
        env!("CARGO_BIN_EXE_volley"),
        target.url()
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .expect("running script (util-linux)")
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let screen = text(&out.stdout);
    let progress: Vec<&str> = screen
        .split(['\r', '\n'])
        .filter(|l| l.contains("running ["))
        .collect();
    assert!(!progress.is_empty(), "no progress line in: {screen}");
    assert!(
        progress.iter().all(|l| l.contains("/ 2.5s]")),
        "{progress:?}"
    );
    assert!(
        progress.iter().any(|l| l.contains("3/3 VUs")),
        "{progress:?}"
    );
    assert!(progress.iter().any(|l| l.contains("req/s")), "{progress:?}");
    assert!(
        screen.contains("http_reqs"),
        "the summary follows: {screen}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn piped_output_has_no_progress_line() {
    let target = demo_target("none").await;
    let url = format!("TARGET_URL={}/hello", target.url());
    let out = tokio::task::spawn_blocking(move || {
        volley(&["run", HELLO, "--iterations", "3", "--env", &url])
    })
    .await
    .unwrap();
    assert!(out.status.success());
    assert!(!text(&out.stderr).contains("running ["));
    assert!(!text(&out.stdout).contains("running ["));
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_gracefully_with_a_summary_and_exit_105() {
    let target = demo_target("none").await;
    let child = Command::new(env!("CARGO_BIN_EXE_volley"))
        .args([
            "run",
            HELLO,
            "--vus",
            "3",
            "--duration",
            "60s",
            "--quiet",
            "--env",
        ])
        .arg(format!("TARGET_URL={}/hello", target.url()))
        .args(["--env", "SLEEP_MS=100"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it is sending, then interrupt it as a terminal's Ctrl-C would.
    while target.stats().total < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(105), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("run stopped before its end"), "{stdout}");
    let reported: u64 = stdout
        .lines()
        .find(|l| l.contains("http_reqs...."))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("http_reqs in the summary");
    assert_eq!(reported, target.stats().total);
}

#[test]
fn the_summary_breaks_down_by_scenario_and_tag_and_nests_checks_in_groups() {
    let dir = std::env::temp_dir().join(format!("volley-cli-groups-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("options.json");
    std::fs::write(
        &config,
        r#"{"scenarios": {
            "grouped": {"executor": "per-vu-iterations", "vus": 2, "iterations": 3, "exec": "groups"},
            "open": {"executor": "constant-arrival-rate", "rate": 20, "duration": "500ms",
                     "preAllocatedVUs": 1, "maxVUs": 2, "exec": "ok"}}}"#,
    )
    .unwrap();
    let export = dir.join("summary.json");
    let out = volley(&[
        "run",
        volley_example_artifacts::FAULTY,
        "--config",
        config.to_str().unwrap(),
        "--summary-by",
        "group",
        "--summary-export",
        export.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in [
        "* open: 20.00 iterations/s for 500ms (maxVUs: 1-2)",
        "iteration_duration counts from each iteration's scheduled start",
        "     ✓ root check\n",
        "     █ outer\n",
        "       ✓ outer check\n",
        "       █ inner\n",
        "         ✓ inner check\n",
        "group_duration",
        "BY SCENARIO",
        "scenario:grouped",
        "scenario:open",
        "BY GROUP",
        "group:::outer::inner",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }
    // The open scenario ran its 10 iterations, the grouped one 6.
    let open = stdout.split("scenario:open").nth(1).unwrap();
    assert!(
        open.lines()
            .any(|l| l.contains("iterations...") && l.contains(": 10 ")),
        "{open}"
    );
    // k6's export nests the checks in their groups.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let root = &json["root_group"];
    assert_eq!(root["checks"]["root check"]["passes"], 6);
    let inner = &root["groups"]["outer"]["groups"]["inner"];
    assert_eq!(inner["path"], "::outer::inner");
    assert_eq!(
        inner["checks"]["inner check"]["path"],
        "::outer::inner::inner check"
    );
    assert_eq!(inner["checks"]["inner check"]["passes"], 6);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volley_scale_changes_the_vus_of_a_running_cli_run() {
    let target = demo_target("none").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let control = format!("127.0.0.1:{port}");
    let dir = std::env::temp_dir().join(format!("volley-cli-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("options.json");
    std::fs::write(
        &config,
        r#"{"scenarios": {"live": {"executor": "externally-controlled", "vus": 1, "maxVUs": 4, "duration": "3s"}}}"#,
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_volley"))
        .args(["run", HELLO, "--config", config.to_str().unwrap()])
        .args(["--env", &format!("TARGET_URL={}", target.url())])
        .args(["--env", "SLEEP_MS=10", "--control-addr", &control])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The run listens once its VUs are instantiated; try until it answers.
    let scale = |vus: &str| volley(&["scale", "--vus", vus, "--control-addr", &control]);
    let mut scaled = scale("3");
    for _ in 0..100 {
        if scaled.status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        scaled = scale("3");
    }
    assert!(scaled.status.success(), "{}", text(&scaled.stderr));
    assert_eq!(text(&scaled.stdout).trim(), "scenario live: 3 VUs");
    let too_many = scale("5");
    assert_eq!(too_many.status.code(), Some(1));
    assert!(
        text(&too_many.stderr).contains("between 0 and the scenario's maxVUs (4), not 5"),
        "{}",
        text(&too_many.stderr)
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let vus_line = stdout.lines().find(|l| l.contains("vus....")).unwrap();
    assert!(vus_line.contains("max=3"), "{vus_line}");
    assert!(text(&out.stderr).contains("volley scale --vus N --control-addr"));
    // After the run, nobody answers.
    let gone = scale("2");
    assert_eq!(gone.status.code(), Some(1));
    assert!(
        text(&gone.stderr).contains("no volley run is controlled at"),
        "{}",
        text(&gone.stderr)
    );
    target.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_control_address_off_loopback_is_refused() {
    let config =
        std::env::temp_dir().join(format!("volley-cli-control-{}.json", std::process::id()));
    std::fs::write(
        &config,
        r#"{"scenarios": {"live": {"executor": "externally-controlled", "vus": 1, "duration": "1s"}}}"#,
    )
    .unwrap();
    let out = volley(&[
        "run",
        HELLO,
        "--config",
        config.to_str().unwrap(),
        "--control-addr",
        "0.0.0.0:0",
    ]);
    let _ = std::fs::remove_file(config);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("must be a loopback address"),
        "{}",
        text(&out.stderr)
    );
}
