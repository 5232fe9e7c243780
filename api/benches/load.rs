//! Load benchmark of the Volley runtime: prints figures, never asserts on them.
//!
//! ```text
//! cargo build --release -p volley          # the demo target binary
//! cargo bench -p volley --bench load       # every figure
//! cargo bench -p volley --bench load -- throughput memory startup   # a subset
//! ```
//!
//! Three figures, against the `volley demo-target` binary run in a separate
//! process (pinned to core 0 with `taskset` when it exists, while this process
//! pins itself to core 1):
//!
//! * `throughput`: requests/s of the `hello` scenario (one `GET /hello` per
//!   iteration) with 50 VUs for 10 s (`constant-vus`), with p50/p95/p99 of
//!   `http_req_duration` and the errors; then `wrk`, `oha` or `k6`, if one is
//!   on `PATH`, against the same target with 50 connections for 10 s.
//! * `memory`: resident memory per sleeping VU at 1,000 and 10,000 VUs: each VU
//!   sends one `GET /hello` and then sleeps 60 s; once every VU has had its
//!   answer, `(VmRSS now - VmRSS before run::start) / VUs`.
//! * `startup`: time from `run::start` until all 10,000 VUs iterate, and the
//!   time spent in the `Initializing` phase (polled every millisecond).
//!
//! Each memory/startup run happens in a fresh child process (this executable
//! started again with a hidden `__child` argument), so that a run's RSS is not
//! lowered by heap pages an earlier run freed but the allocator kept.
//!
//! The figures are printed as a table and written as JSON to
//! `<target dir>/bench-load.json`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use volley_runtime::engine::{VolleyEngine, VuLimits};
use volley_runtime::options::Options;
use volley_runtime::output::Outputs;
use volley_runtime::run::{self, Phase};
use volley_runtime::scenario::Scenario;
use volley_runtime::shape::ComponentShape;

/// The hidden first argument of a child run.
const CHILD: &str = "__child";
/// The figures that can be selected on the command line.
const FIGURES: [&str; 3] = ["throughput", "memory", "startup"];

const THROUGHPUT_VUS: u32 = 50;
const THROUGHPUT_SECS: u64 = 10;
const MEMORY_VUS: [u32; 2] = [1_000, 10_000];
const STARTUP_VUS: u32 = 10_000;
/// The longest a memory/startup child waits for every VU's first answer.
const FIRST_REQUESTS_TIMEOUT: Duration = Duration::from_secs(120);

/// Design targets the figures are compared with.
const TARGET_KIB_PER_VU: f64 = 48.0;
const TARGET_STARTUP_SECS: f64 = 1.0;
const TARGET_K6_FACTOR: f64 = 4.0;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; every other argument names a figure.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let result = if args.first().map(String::as_str) == Some(CHILD) {
        child_main(&args[1..])
    } else {
        parent_main(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench load: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------
// The parent: target process, figures, table, JSON.
// ---------------------------------------------------------------------------

fn parent_main(filters: &[String]) -> Result<()> {
    for filter in filters {
        if !FIGURES.contains(&filter.as_str()) {
            bail!("unknown figure {filter:?}: choose among {FIGURES:?} (none for all)");
        }
    }
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| f == name);

    let machine = machine();
    let nofile = raise_nofile();
    let self_pinning = pin_self_to_core(1);
    let volley = locate_volley_binary()?;
    println!("machine: {}", machine_line(&machine));
    println!("open files limit: {nofile}");
    println!("bench pinning: {self_pinning}");

    let target = TargetProcess::spawn(&volley)?;
    println!(
        "target: {} (pid {}), pinning: {}",
        target.url, target.pid, target.pinning
    );
    let hello_url = format!("{}/hello", target.url);

    let mut table: Vec<[String; 4]> = Vec::new();
    let mut out = serde_json::Map::new();
    out.insert("machine".into(), machine);
    out.insert(
        "pinning".into(),
        json!({"bench": self_pinning, "target": target.pinning}),
    );
    out.insert("open_files_limit".into(), json!(nofile));

    if wanted("throughput") {
        let volley_run = throughput(&hello_url, target.pid)?;
        let rps = volley_run["requests_per_s"].as_f64().unwrap_or(0.0);
        let peers = run_peers(&hello_url, !self_pinning.starts_with("none"));
        table.push([
            format!("throughput, {THROUGHPUT_VUS} VUs, {THROUGHPUT_SECS} s"),
            format!("{rps:.0} req/s"),
            ">= oha, >= 4x k6".into(),
            peer_verdict(rps, &peers),
        ]);
        table.push([
            "  http_req_duration p50 / p95 / p99".into(),
            format!(
                "{:.3} / {:.3} / {:.3} ms",
                num(&volley_run["p50_ms"]),
                num(&volley_run["p95_ms"]),
                num(&volley_run["p99_ms"])
            ),
            String::new(),
            String::new(),
        ]);
        table.push([
            "  CPU busy: volley / target (100% = 1 core)".into(),
            format!(
                "{:.0}% / {:.0}%",
                num(&volley_run["bench_cpu_percent"]),
                num(&volley_run["target_cpu_percent"])
            ),
            String::new(),
            String::new(),
        ]);
        table.push([
            "  errors (failed requests / iterations)".into(),
            format!(
                "{} / {}",
                volley_run["failed_requests"], volley_run["failed_iterations"]
            ),
            String::new(),
            String::new(),
        ]);
        for peer in &peers {
            let value = match peer["requests_per_s"].as_f64() {
                Some(peer_rps) => format!(
                    "{peer_rps:.0} req/s (volley/{} = {:.2})",
                    peer["tool"].as_str().unwrap_or("?"),
                    rps / peer_rps
                ),
                None => format!("failed: {}", peer["error"]),
            };
            table.push([
                format!("  peer {}", peer["tool"].as_str().unwrap_or("?")),
                value,
                String::new(),
                String::new(),
            ]);
        }
        if peers.is_empty() {
            table.push([
                "  peer (wrk, oha, k6)".into(),
                "none on PATH".into(),
                String::new(),
                String::new(),
            ]);
        }
        out.insert("throughput".into(), volley_run);
        out.insert("peers".into(), Value::Array(peers));
    }

    let mut runs: Vec<u32> = Vec::new();
    if wanted("memory") {
        runs.extend(MEMORY_VUS);
    }
    if wanted("startup") && !runs.contains(&STARTUP_VUS) {
        runs.push(STARTUP_VUS);
    }
    let mut memory = Vec::new();
    for vus in runs {
        println!("\n== {vus} sleeping VUs (child process) ==");
        let figures = child_run(vus, &hello_url, target.pid)?;
        if let Some(error) = figures["error"].as_str() {
            println!("  the run failed: {error}");
        }
        let failed = figures["error"].is_string();
        let na = || {
            if failed {
                "run failed (error above)"
            } else {
                "n/a"
            }
            .to_owned()
        };
        if wanted("memory") {
            let kib = figures["kib_per_vu"].as_f64();
            let verdict = match kib {
                Some(kib) if vus == 10_000 => verdict(kib <= TARGET_KIB_PER_VU),
                None if vus == 10_000 => verdict(false),
                _ => String::new(),
            };
            table.push([
                format!("memory per sleeping VU, {vus} VUs"),
                kib.map_or_else(na, |k| format!("{k:.1} KiB")),
                if vus == 10_000 {
                    format!("<= {TARGET_KIB_PER_VU} KiB")
                } else {
                    String::new()
                },
                verdict,
            ]);
        }
        if wanted("startup") && vus == STARTUP_VUS {
            let all_started = figures["all_started_s"].as_f64();
            table.push([
                format!("time to start {vus} VUs (all iterating)"),
                all_started.map_or_else(na, |s| {
                    format!("{s:.3} s ({:.1} us/VU)", s * 1e6 / f64::from(vus))
                }),
                format!("<= {TARGET_STARTUP_SECS} s"),
                verdict(all_started.is_some_and(|s| s <= TARGET_STARTUP_SECS)),
            ]);
            let init = figures["initializing_s"].as_f64();
            table.push([
                "  of which Initializing phase".into(),
                init.map_or_else(
                    || "n/a".into(),
                    |s| format!("{s:.3} s ({:.1} us/VU)", s * 1e6 / f64::from(vus)),
                ),
                String::new(),
                String::new(),
            ]);
            let first = figures["all_first_requests_s"].as_f64();
            table.push([
                "  until every VU had its first answer".into(),
                first.map_or_else(|| "n/a".into(), |s| format!("{s:.3} s")),
                String::new(),
                String::new(),
            ]);
            out.insert("startup".into(), figures.clone());
        }
        memory.push(figures);
    }
    if !memory.is_empty() {
        out.insert("sleeping_vu_runs".into(), Value::Array(memory));
    }
    drop(target);

    print_table(&table);
    let json_path = volley.parent().and_then(Path::parent).map_or_else(
        || PathBuf::from("bench-load.json"),
        |t| t.join("bench-load.json"),
    );
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&Value::Object(out))?,
    )
    .with_context(|| format!("writing {}", json_path.display()))?;
    println!("figures written to {}", json_path.display());
    Ok(())
}

fn num(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

fn verdict(ok: bool) -> String {
    if ok { "met" } else { "MISSED" }.into()
}

fn peer_verdict(rps: f64, peers: &[Value]) -> String {
    let mut verdicts = Vec::new();
    for peer in peers {
        let (Some(tool), Some(peer_rps)) = (peer["tool"].as_str(), peer["requests_per_s"].as_f64())
        else {
            continue;
        };
        let factor = if tool == "k6" { TARGET_K6_FACTOR } else { 1.0 };
        if tool == "oha" || tool == "k6" {
            verdicts.push(format!("{tool}: {}", verdict(rps >= factor * peer_rps)));
        }
    }
    if verdicts.is_empty() {
        "no oha/k6 to compare".into()
    } else {
        verdicts.join(", ")
    }
}

fn print_table(rows: &[[String; 4]]) {
    let header = [
        "figure".to_owned(),
        "measured".to_owned(),
        "target".to_owned(),
        "verdict".to_owned(),
    ];
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    println!();
    let line = |row: &[String; 4]| {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("| {} |", cells.join(" | "));
    };
    line(&header);
    println!(
        "|{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        line(row);
    }
    println!();
}

/// Raises the soft limit on open files to the hard limit (children inherit
/// it); returns the limits as text.
fn raise_nofile() -> String {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    let show = |v: Option<u64>| v.map_or_else(|| "unlimited".into(), |v| v.to_string());
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => format!(
            "{} (raised from {}; hard limit {})",
            show(limit.maximum),
            show(limit.current),
            show(limit.maximum)
        ),
        Err(e) => format!("{} (could not raise: {e})", show(limit.current)),
    }
}

/// Pins this thread, and so every thread it starts later, to `core`.
fn pin_self_to_core(core: usize) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores <= core {
        return format!("none ({cores} core(s) available, no core {core})");
    }
    let mut set = rustix::thread::CpuSet::new();
    set.set(core);
    match rustix::thread::sched_setaffinity(None, &set) {
        Ok(()) => format!("core {core} (sched_setaffinity)"),
        Err(e) => format!("none (sched_setaffinity failed: {e})"),
    }
}

/// `target/release/volley`, next to the bench executable's `deps/` folder.
fn locate_volley_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("unexpected bench executable path {}", exe.display()))?;
    let volley = profile_dir.join("volley");
    if !volley.is_file() {
        bail!(
            "{} not found: build the target binary first with \
             `cargo build --release -p volley` (same CARGO_TARGET_DIR as the bench)",
            volley.display()
        );
    }
    Ok(volley)
}

fn taskset_exists() -> bool {
    find_on_path("taskset").is_some()
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `volley demo-target` in a process of its own, killed on drop.
struct TargetProcess {
    child: Child,
    pid: u32,
    url: String,
    pinning: String,
}

impl TargetProcess {
    fn spawn(volley: &Path) -> Result<Self> {
        let (mut command, pinning) = if taskset_exists() {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(volley);
            (c, "core 0 (taskset -c 0)".to_owned())
        } else {
            (
                Command::new(volley),
                "none (taskset not on PATH)".to_owned(),
            )
        };
        command
            .args(["demo-target", "--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {} demo-target", volley.display()))?;
        let pid = child.id();
        // It prints "demo concert API listening on http://127.0.0.1:PORT (...)".
        let stderr = child.stderr.take().expect("piped");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        break rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                    }
                }
                _ => {
                    let _ = child.kill();
                    bail!("the demo target exited before saying where it listens");
                }
            }
        };
        // Keep draining its stderr so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let target = Self {
            child,
            pid,
            url,
            pinning,
        };
        let addr = target.url.trim_start_matches("http://").to_owned();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&addr).is_err() {
            if Instant::now() > deadline {
                bail!("the demo target at {addr} does not accept connections");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(target)
    }
}

impl Drop for TargetProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Throughput.
// ---------------------------------------------------------------------------

fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
    // Worker threads default to the cores this process may use (1 when pinned).
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn compile_hello() -> Result<Scenario> {
    let engine = VolleyEngine::new(2, VuLimits::default(), &ComponentShape::GENEROUS)
        .map_err(|e| anyhow!("building the compile engine: {e:#}"))?;
    let bytes = std::fs::read(volley_example_artifacts::HELLO)
        .with_context(|| format!("reading {}", volley_example_artifacts::HELLO))?;
    Ok(Scenario::compile(&engine, &bytes)?)
}

/// CPU time (user + system) of process `pid` (or `"self"`) so far, in seconds.
fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
}

fn throughput(url: &str, target_pid: u32) -> Result<Value> {
    println!(
        "\n== throughput: hello, {THROUGHPUT_VUS} VUs, constant-vus {THROUGHPUT_SECS} s, GET {url} =="
    );
    let scenario = compile_hello()?;
    let options = Options::from_json(
        &json!({
            "scenarios": {"default": {
                "executor": "constant-vus",
                "vus": THROUGHPUT_VUS,
                "duration": format!("{THROUGHPUT_SECS}s"),
                "gracefulStop": "5s",
            }},
            "env": {"TARGET_URL": url},
        })
        .to_string(),
    )?;
    let plan = options.plan()?;
    let runtime = tokio_runtime()?;
    let target = target_pid.to_string();
    let cpu_before = (cpu_secs("self"), cpu_secs(&target));
    let (report, progress, wall) = runtime.block_on(async {
        let started = Instant::now();
        let handle = run::start(&scenario, plan, VuLimits::default(), Outputs::none());
        let metrics = handle.metrics().clone();
        let report = handle.wait().await.expect("waited for once");
        (report, metrics.progress(), started.elapsed())
    });
    let busy = |after: Option<f64>, before: Option<f64>| {
        Some(100.0 * (after? - before?) / wall.as_secs_f64())
    };
    let bench_cpu = busy(cpu_secs("self"), cpu_before.0);
    let target_cpu = busy(cpu_secs(&target), cpu_before.1);
    let report = report.context("the throughput run failed")?;
    let summary = &report.summary;
    let count = summary.get("http_reqs", "count").unwrap_or(0.0);
    let figures = json!({
        "vus": THROUGHPUT_VUS,
        "duration_s": THROUGHPUT_SECS,
        "requests": count,
        "requests_per_s": summary.get("http_reqs", "rate").unwrap_or(0.0),
        "executed_s": summary.duration.as_secs_f64(),
        "wall_s": wall.as_secs_f64(),
        "p50_ms": summary.get("http_req_duration", "med"),
        "p95_ms": summary.get("http_req_duration", "p(95)"),
        "p99_ms": summary.get("http_req_duration", "p(99)"),
        "max_ms": summary.get("http_req_duration", "max"),
        "failed_requests": progress.failed_requests,
        "failed_iterations": progress.failed_iterations,
        "bench_cpu_percent": bench_cpu,
        "target_cpu_percent": target_cpu,
        "request_failures": summary.request_failures,
        "iteration_failures": summary.iteration_failures,
    });
    println!(
        "volley: {:.0} req/s ({count} requests in {:.2} s), p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms, \
         failed requests {}, failed iterations {}; CPU busy: volley {:.0}%, target {:.0}% \
         (100% = one core)",
        num(&figures["requests_per_s"]),
        num(&figures["executed_s"]),
        num(&figures["p50_ms"]),
        num(&figures["p95_ms"]),
        num(&figures["p99_ms"]),
        progress.failed_requests,
        progress.failed_iterations,
        bench_cpu.unwrap_or(f64::NAN),
        target_cpu.unwrap_or(f64::NAN),
    );
    Ok(figures)
}

/// Runs every peer load generator found on `PATH` with the same connections
/// and duration, pinned like this process.
fn run_peers(url: &str, pin: bool) -> Vec<Value> {
    let mut peers = Vec::new();
    for tool in ["wrk", "oha", "k6"] {
        if find_on_path(tool).is_none() {
            continue;
        }
        println!("peer {tool}: {THROUGHPUT_VUS} connections, {THROUGHPUT_SECS} s");
        let result = run_peer(tool, url, pin);
        let value = match result {
            Ok(rps) => {
                println!("peer {tool}: {rps:.0} req/s");
                json!({"tool": tool, "requests_per_s": rps})
            }
            Err(e) => {
                println!("peer {tool} failed: {e:#}");
                json!({"tool": tool, "error": format!("{e:#}")})
            }
        };
        peers.push(value);
    }
    if peers.is_empty() {
        println!("no peer load generator (wrk, oha, k6) on PATH: no side-by-side figure");
    }
    peers
}

fn run_peer(tool: &str, url: &str, pin: bool) -> Result<f64> {
    let mut command = if pin && taskset_exists() {
        let mut c = Command::new("taskset");
        c.args(["-c", "1", tool]);
        c
    } else {
        Command::new(tool)
    };
    let conns = THROUGHPUT_VUS.to_string();
    let secs = format!("{THROUGHPUT_SECS}s");
    let dir = std::env::temp_dir().join(format!("volley-bench-{}", std::process::id()));
    match tool {
        "wrk" => {
            command.args(["-t1", "-c", &conns, "-d", &secs, url]);
        }
        "oha" => {
            command.args(["--no-tui", "-c", &conns, "-z", &secs, url]);
        }
        _ => {
            std::fs::create_dir_all(&dir)?;
            let script = dir.join("k6-hello.js");
            std::fs::write(
                &script,
                format!(
                    "import http from 'k6/http';\nexport default function () {{ http.get('{url}'); }}\n"
                ),
            )?;
            command
                .args(["run", "--quiet", "--vus", &conns, "--duration", &secs])
                .arg("--summary-export")
                .arg(dir.join("k6-summary.json"))
                .arg(&script);
        }
    }
    let output = command.stdin(Stdio::null()).output()?;
    if !output.status.success() {
        bail!(
            "{tool} exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    if tool == "k6" {
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("k6-summary.json"))?)?;
        let _ = std::fs::remove_dir_all(&dir);
        return summary["metrics"]["http_reqs"]["rate"]
            .as_f64()
            .ok_or_else(|| anyhow!("no metrics.http_reqs.rate in k6's summary"));
    }
    // wrk and oha both print "Requests/sec: <number>".
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| {
            let rest = line.trim().strip_prefix("Requests/sec:")?;
            rest.trim().parse::<f64>().ok()
        })
        .ok_or_else(|| anyhow!("no \"Requests/sec:\" line in {tool}'s output"))
}

// ---------------------------------------------------------------------------
// Memory and start-up: one child process per run.
// ---------------------------------------------------------------------------

/// Runs `vus` sleeping VUs in a child process and returns its figures.
fn child_run(vus: u32, url: &str, target_pid: u32) -> Result<Value> {
    let exe = std::env::current_exe()?;
    let output = Command::new(exe)
        .args([CHILD, &vus.to_string(), url, &target_pid.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).with_context(|| {
        format!(
            "the child run of {vus} VUs exited with {} without its figures: {stdout}",
            output.status
        )
    })
}

fn child_main(args: &[String]) -> Result<()> {
    let [vus, url, target_pid] = args else {
        bail!("usage: {CHILD} VUS URL TARGET_PID");
    };
    let vus: u32 = vus.parse()?;
    let target_pid: u32 = target_pid.parse()?;
    raise_nofile();
    let figures = sleeping_vus(vus, url, target_pid)?;
    println!("{figures}");
    Ok(())
}

/// Starts `vus` VUs that each send one request and sleep; measures start-up
/// times and resident memory per VU.
fn sleeping_vus(vus: u32, url: &str, target_pid: u32) -> Result<Value> {
    let scenario = compile_hello()?;
    let options = Options::from_json(
        &json!({
            "scenarios": {"default": {
                "executor": "constant-vus",
                "vus": vus,
                "duration": "120s",
                "gracefulStop": "0s",
            }},
            "env": {"TARGET_URL": url, "SLEEP_MS": "60000"},
        })
        .to_string(),
    )?;
    let plan = options.plan()?;
    let runtime = tokio_runtime()?;
    runtime.block_on(async move {
        // Let the runtime's threads settle before the baseline.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let rss_before = rss_kib("self");
        let target_rss_before = rss_kib(&target_pid.to_string());
        let t0 = Instant::now();
        let handle = run::start(&scenario, plan, VuLimits::default(), Outputs::none());
        let mut initializing = None;
        let mut all_started = None;
        let mut all_answered = None;
        let mut last_progress = handle.progress();
        while all_answered.is_none() && !handle.is_finished() {
            if t0.elapsed() > FIRST_REQUESTS_TIMEOUT {
                break;
            }
            if initializing.is_none() && !matches!(handle.phase(), Phase::Initializing { .. }) {
                initializing = Some(t0.elapsed());
            }
            last_progress = handle.progress();
            if all_started.is_none() && last_progress.vus >= u64::from(vus) {
                all_started = Some(t0.elapsed());
            }
            if last_progress.requests >= u64::from(vus) {
                all_answered = Some(t0.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        let mut figures = json!({
            "vus": vus,
            "initializing_s": secs(initializing),
            "all_started_s": secs(all_started),
            "all_first_requests_s": secs(all_answered),
            "requests": last_progress.requests,
            "failed_requests": last_progress.failed_requests,
            "rss_before_kib": rss_before,
        });
        if all_answered.is_some() {
            // Let the last answers be read and the VUs enter their sleep.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let rss_after = rss_kib("self");
            let target_rss_after = rss_kib(&target_pid.to_string());
            let per_vu = |after: Option<u64>, before: Option<u64>| {
                Some((after? as f64 - before? as f64) / f64::from(vus))
            };
            figures["rss_after_kib"] = json!(rss_after);
            figures["kib_per_vu"] = json!(per_vu(rss_after, rss_before));
            figures["target_kib_per_connection"] =
                json!(per_vu(target_rss_after, target_rss_before));
            figures["mappings"] = json!(map_count());
            figures["max_map_count"] = json!(
                std::fs::read_to_string("/proc/sys/vm/max_map_count")
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
            );
            figures["rss_by_mapping_kind"] = rss_breakdown(vus);
        }
        let stop_started = Instant::now();
        handle.stop();
        let result = handle.wait().await.expect("waited for once");
        figures["stop_s"] = json!(stop_started.elapsed().as_secs_f64());
        match result {
            Ok(_) if all_answered.is_none() => {
                figures["error"] = json!(format!(
                    "only {} of {vus} VUs had an answer within {FIRST_REQUESTS_TIMEOUT:?} \
                     ({} failed requests)",
                    last_progress.requests, last_progress.failed_requests
                ));
            }
            Ok(_) => {}
            Err(e) => figures["error"] = json!(e.to_string()),
        }
        print_sleeping(&figures);
        Ok(figures)
    })
}

fn print_sleeping(f: &Value) {
    let show = |key: &str| match f[key].as_f64() {
        Some(v) => format!("{v:.3}"),
        None => "n/a".into(),
    };
    eprintln!(
        "  Initializing {} s, all VUs iterating {} s, all first answers {} s, stop {} s",
        show("initializing_s"),
        show("all_started_s"),
        show("all_first_requests_s"),
        show("stop_s"),
    );
    eprintln!(
        "  RSS {} -> {} KiB: {} KiB per sleeping VU (target process: {} KiB per connection); \
         {} memory mappings (vm.max_map_count {})",
        f["rss_before_kib"],
        f["rss_after_kib"],
        show("kib_per_vu"),
        show("target_kib_per_connection"),
        f["mappings"],
        f["max_map_count"],
    );
    if let Some(kinds) = f["rss_by_mapping_kind"].as_array() {
        for kind in kinds {
            eprintln!(
                "    {:<44} {:>7} mappings {:>10} KiB RSS",
                kind["kind"].as_str().unwrap_or("?"),
                kind["mappings"],
                kind["rss_kib"]
            );
        }
    }
}

/// `VmRSS` of `/proc/<pid>/status`, in KiB.
fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn map_count() -> Option<usize> {
    Some(
        std::fs::read_to_string("/proc/self/maps")
            .ok()?
            .lines()
            .count(),
    )
}

/// Resident memory grouped by the kind of mapping: `[heap]`, files, and
/// anonymous mappings by permissions and size. Kinds with at least `vus / 2`
/// mappings of one size are per-VU structures (fiber stacks, instance slots).
fn rss_breakdown(vus: u32) -> Value {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return Value::Null;
    };
    // kind -> (mappings, rss KiB)
    let mut kinds: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if first.contains('-') && !first.ends_with(':') {
            let (Some(perms), _, _, _) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let name = fields.collect::<Vec<_>>().join(" ");
            let size = first
                .split_once('-')
                .and_then(|(a, b)| {
                    Some(u64::from_str_radix(b, 16).ok()? - u64::from_str_radix(a, 16).ok()?)
                })
                .unwrap_or(0);
            let kind = if name.starts_with('/') {
                "file-backed".to_owned()
            } else if !name.is_empty() {
                name
            } else {
                format!("anon {perms} {}", human_size(size))
            };
            kinds.entry(kind.clone()).or_default().0 += 1;
            current = Some(kind);
        } else if first == "Rss:" {
            let kib: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            if let Some(kind) = &current {
                kinds.entry(kind.clone()).or_default().1 += kib;
            }
        }
    }
    // Fold the rare anonymous sizes together.
    let mut folded: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (kind, (n, rss)) in kinds {
        let kind = if kind.starts_with("anon ") && n < u64::from(vus / 2) {
            "anon, other sizes".to_owned()
        } else {
            kind
        };
        let entry = folded.entry(kind).or_default();
        entry.0 += n;
        entry.1 += rss;
    }
    let mut list: Vec<_> = folded
        .into_iter()
        .filter(|(_, (_, rss))| *rss > 0)
        .collect();
    list.sort_by_key(|(_, (_, rss))| std::cmp::Reverse(*rss));
    Value::Array(
        list.into_iter()
            .map(|(kind, (n, rss))| json!({"kind": kind, "mappings": n, "rss_kib": rss}))
            .collect(),
    )
}

fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    match bytes {
        b if b >= KIB * KIB * KIB => format!("{:.1} GiB", b as f64 / (KIB * KIB * KIB) as f64),
        b if b >= KIB * KIB => format!("{:.1} MiB", b as f64 / (KIB * KIB) as f64),
        b => format!("{} KiB", b / KIB),
    }
}

// ---------------------------------------------------------------------------
// The machine.
// ---------------------------------------------------------------------------

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
    });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    json!({"cores": cores, "cpu": cpu, "kernel": kernel, "loadavg_at_start": load})
}

fn machine_line(m: &Value) -> String {
    format!(
        "{} cores, {}, kernel {}, load average {}",
        m["cores"],
        m["cpu"].as_str().unwrap_or("unknown CPU"),
        m["kernel"].as_str().unwrap_or("?"),
        m["loadavg_at_start"].as_str().unwrap_or("?")
    )
}
