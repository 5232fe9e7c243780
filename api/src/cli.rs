//! The command line: `volley run`, `volley validate`, `volley serve`,
//! `volley demo` and `volley demo-target`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use volley_runtime::client::{AllowList, TargetPattern};
use volley_runtime::engine::{VolleyEngine, VuLimits};
use volley_runtime::options::{Options, RunPlan};
use volley_runtime::output::{OutputSpec, Outputs};
use volley_runtime::run::{self, RunHandle, RunReport};
use volley_runtime::scenario::Scenario;

use crate::code_cache::CodeCache;
use crate::demo_target::{DemoConfig, DemoTarget, LatencySpec};
use crate::export::export_json;
use crate::progress::ProgressLine;
use crate::server::views::{SeriesBuilder, progress_of};
use crate::server::{ServeConfig, Server};
use crate::{control, report, summary_text};

/// Exit code when a threshold failed (k6's).
pub const EXIT_THRESHOLDS_FAILED: u8 = 99;
/// Exit code for bad input or a run that could not be carried out.
pub const EXIT_ERROR: u8 = 1;
/// Exit code when the run was stopped before its end by Ctrl-C (k6's).
pub const EXIT_STOPPED: u8 = 105;

/// Volley: load testing with WebAssembly component scenarios.
#[derive(Debug, Parser)]
#[command(name = "volley", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario and print a summary.
    Run(RunArgs),
    /// Check that a file is a valid scenario and show what it exports.
    Validate {
        /// The scenario component (.wasm).
        file: PathBuf,
    },
    /// Start the demo concert-booking target and run the built-in concert
    /// scenario against it.
    Demo(DemoArgs),
    /// Serve the demo concert-booking API (a target to practise on).
    DemoTarget(DemoTargetArgs),
    /// Serve the REST API: upload scenarios, start and follow runs.
    Serve(ServeArgs),
    /// Change the VUs of a running `volley run` (its externally-controlled
    /// scenario), like `k6 scale`.
    Scale(ScaleArgs),
}

#[derive(Debug, Args)]
struct ScaleArgs {
    /// VUs to run (0 to the scenario's maxVUs).
    #[arg(short = 'u', long)]
    vus: u32,
    /// The externally-controlled scenario (needed when the run has several).
    #[arg(long)]
    scenario: Option<String>,
    /// Where the run listens for control (its --control-addr).
    #[arg(long, default_value = control::DEFAULT_ADDR)]
    control_addr: SocketAddr,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6565")]
    addr: SocketAddr,
    /// Where the database, scenarios and compiled code are kept.
    #[arg(long, default_value = "./volley-data")]
    data_dir: PathBuf,
    /// Require `Authorization: Bearer <token>` on every /v1 call.
    #[arg(long, env = crate::server::API_TOKEN_ENV, hide_env_values = true)]
    api_token: Option<String>,
    /// Runs executing at once; more wait in a queue.
    #[arg(long, default_value_t = 1)]
    max_concurrent_runs: usize,
    /// Largest scenario upload accepted, in MiB.
    #[arg(long, default_value_t = 64)]
    max_upload_mib: usize,
    /// Largest linear memory one VU may use, in MiB.
    #[arg(long, default_value_t = 256)]
    vu_memory_mib: usize,
    /// Let runs send requests only to this target (repeatable): host, host:port,
    /// *.domain or an IP ([::1]:8080). Others fail with a `denied` error.
    #[arg(long = "allow-target", env = crate::server::ALLOWED_TARGETS_ENV, value_delimiter = ',')]
    allow_targets: Vec<TargetPattern>,
    /// Sign webhooks with HMAC-SHA256 under this secret (header X-Volley-Signature-256).
    #[arg(long, env = crate::server::WEBHOOK_SECRET_ENV, hide_env_values = true)]
    webhook_secret: Option<String>,
    /// Delivery attempts per webhook (the pause doubles from 1s).
    #[arg(long, default_value_t = 5)]
    webhook_attempts: u32,
    /// Push every run's metrics to Prometheus (repeatable):
    /// experimental-prometheus-rw[=URL], settings from k6's
    /// K6_PROMETHEUS_RW_* variables. Each run is labelled testid=<run id>
    /// unless its tags set one.
    #[arg(short = 'o', long = "out", value_parser = parse_output)]
    outputs: Vec<OutputSpec>,
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// Number of VUs (overrides the scenario's options).
    #[arg(short = 'u', long)]
    vus: Option<u32>,
    /// Test duration, such as 30s or 1m30s (overrides the scenario's options).
    #[arg(short = 'd', long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Total iterations shared by the VUs (overrides the scenario's options).
    #[arg(short = 'i', long)]
    iterations: Option<u64>,
    /// An environment variable for the scenario, KEY=VALUE (repeatable).
    #[arg(short = 'e', long = "env", value_parser = parse_key_value)]
    env: Vec<(String, String)>,
    /// A JSON file of k6-style options (scenarios, thresholds, ...).
    #[arg(short = 'c', long)]
    config: Option<PathBuf>,
    /// A tag on every sample of the run, KEY=VALUE (repeatable), such as
    /// testid=nightly-42 for the k6 Grafana dashboards.
    #[arg(long = "tag", value_parser = parse_key_value)]
    tags: Vec<(String, String)>,
    /// Also send the metrics to an output (repeatable): json=FILE, csv=FILE,
    /// or experimental-prometheus-rw[=URL] (settings from k6's
    /// K6_PROMETHEUS_RW_* variables).
    #[arg(short = 'o', long = "out", value_parser = parse_output)]
    outputs: Vec<OutputSpec>,
    /// Write the end-of-test summary as k6's summary-export JSON.
    #[arg(long)]
    summary_export: Option<PathBuf>,
    /// Write an HTML report of the run (charts per second, thresholds,
    /// checks, summary): one file that opens offline.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Break the summary's main metrics down by each value of this tag, such
    /// as name, status or group (repeatable; by scenario is automatic when the
    /// run has several).
    #[arg(long = "summary-by", value_name = "TAG")]
    summary_by: Vec<String>,
    /// Do not draw the progress line.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Largest linear memory one VU may use, in MiB.
    #[arg(long, default_value_t = 256)]
    vu_memory_mib: usize,
    /// Where to listen for `volley scale` (a loopback address) while a run
    /// with an externally-controlled scenario lasts [default: 127.0.0.1:6566].
    #[arg(long)]
    control_addr: Option<SocketAddr>,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The scenario component (.wasm).
    scenario: PathBuf,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Debug, Args)]
struct DemoArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Latency the demo target adds, such as "5ms" or "90%:5ms,10%:50ms".
    #[arg(long, default_value = "2ms")]
    latency: LatencySpec,
    /// Share of requests the demo target answers with a 500 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
}

#[derive(Debug, Args)]
struct DemoTargetArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Latency to add, such as "5ms" or "90%:5ms,10%:50ms".
    #[arg(long, default_value = "none")]
    latency: LatencySpec,
    /// Share of requests answered with a 500 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    volley_runtime::duration::parse(text)
}

fn parse_output(text: &str) -> Result<OutputSpec, String> {
    OutputSpec::parse_with_process_env(text).map_err(|e| e.to_string())
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    if key.is_empty() {
        return Err(format!("empty variable name in {text:?}"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

async fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Run(args) => {
            let bytes = std::fs::read(&args.scenario)
                .with_context(|| format!("cannot read {}", args.scenario.display()))?;
            let name = args.scenario.file_name().map_or_else(
                || args.scenario.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            run_scenario(&bytes, &name, &args.load, BTreeMap::new()).await
        }
        Command::Validate { file } => validate(&file).await,
        Command::Scale(args) => {
            let request = control::ScaleRequest {
                vus: args.vus,
                scenario: args.scenario,
            };
            let scenario = control::request_scale(args.control_addr, &request).await?;
            println!("scenario {scenario}: {} VUs", args.vus);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => demo(args).await,
        Command::DemoTarget(args) => demo_target(args).await,
        Command::Serve(args) => serve(args).await,
    }
}

/// Compiles `bytes` on a small engine (enough to read its options), or loads
/// the code an earlier run cached.
fn compile(bytes: &[u8], limits: VuLimits) -> Result<Scenario> {
    let engine = VolleyEngine::to_compile(bytes, limits).map_err(|e| anyhow!("{e:#}"))?;
    Ok(match CodeCache::from_env() {
        Some(cache) => cache.compile(&engine, bytes)?,
        None => Scenario::compile(&engine, bytes)?,
    })
}

async fn validate(file: &Path) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let scenario = compile(&bytes, VuLimits::default())
        .with_context(|| format!("{} is not a valid scenario", file.display()))?;
    let options = run::scenario_options(&scenario)
        .await
        .map_err(|e| anyhow!("{} is not a valid scenario: {e}", file.display()))?;
    println!(
        "{}: valid scenario ({})",
        file.display(),
        volley_runtime::scenario::WORLD
    );
    println!("  sha256:  {}", scenario.sha256());
    println!("  size:    {} bytes", scenario.size());
    println!("  exports: {}", scenario.exports().join(", "));
    println!("  imports: {}", scenario.imports().join(", "));
    println!("  default options: {}", serde_json::to_string(&options)?);
    Ok(ExitCode::SUCCESS)
}

async fn run_scenario(
    bytes: &[u8],
    name: &str,
    load: &LoadArgs,
    extra_env: BTreeMap<String, String>,
) -> Result<ExitCode> {
    let limits = VuLimits {
        max_memory_bytes: load.vu_memory_mib << 20,
        ..VuLimits::default()
    };
    let scenario = compile(bytes, limits)?;
    let defaults = run::scenario_options(&scenario)
        .await
        .map_err(|e| anyhow!(e))?;
    let file_options = match &load.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Options::from_json(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => Options::default(),
    };
    let mut env = extra_env;
    env.extend(load.env.iter().cloned());
    let flags = Options {
        vus: load.vus,
        duration: load.duration,
        iterations: load.iterations,
        env,
        tags: load.tags.iter().cloned().collect(),
        ..Options::default()
    };
    let options = defaults.merge(file_options).merge(flags);
    let plan = options.clone().plan()?;
    let started_at = crate::server::now();
    let (report, recorded) = execute(&scenario, plan.clone(), limits, load).await?;
    println!("{}", summary_text::render(&plan, &report, &load.summary_by));
    if let Some(path) = &load.report {
        let run = report::LocalRun {
            scenario: &scenario,
            name,
            options: &options,
            started_at,
        };
        std::fs::write(path, run.report(&report, recorded))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("report: {}", path.display());
    }
    if let Some(path) = &load.summary_export {
        let json = export_json(&report);
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !report.thresholds_passed() {
        eprintln!("error: some thresholds have failed");
        return Ok(ExitCode::from(EXIT_THRESHOLDS_FAILED));
    }
    if report.stopped {
        return Ok(ExitCode::from(EXIT_STOPPED));
    }
    Ok(ExitCode::SUCCESS)
}

async fn execute(
    scenario: &Scenario,
    plan: RunPlan,
    limits: VuLimits,
    load: &LoadArgs,
) -> Result<(RunReport, report::Recorded)> {
    let outputs = Outputs::open(&load.outputs)?;
    for output in &load.outputs {
        eprintln!("output: {}", output.describe());
    }
    let handle = Arc::new(run::start(scenario, plan, limits, outputs));
    let control = if handle.is_scalable() {
        let addr = match load.control_addr {
            Some(addr) => addr,
            None => control::DEFAULT_ADDR.parse()?,
        };
        let served = control::serve(addr, handle.clone()).await;
        if served.is_err() {
            handle.stop();
            handle.wait().await;
        }
        let (bound, task) = served?;
        eprintln!("control: change the VUs with `volley scale --vus N --control-addr {bound}`");
        Some(task)
    } else {
        None
    };
    let draw = !load.quiet && std::io::stderr().is_terminal();
    let mut progress = ProgressLine::new();
    let mut series = SeriesBuilder::default();
    let mut points = Vec::new();
    let mut record = |handle: &RunHandle| {
        let executing = handle.executing_for();
        if load.report.is_some() && !executing.is_zero() {
            points.push(series.point(&handle.metrics().snapshot(), executing.as_secs_f64()));
        }
    };
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut interrupts = 0;
    while !handle.is_finished() {
        tokio::select! {
            _ = ticker.tick() => {
                if draw {
                    ProgressLine::draw(&progress.line(&handle));
                }
                record(&handle);
            }
            _ = interrupt.recv() => {
                interrupts += 1;
                if interrupts > 1 {
                    bail!("interrupted twice: aborting without a summary");
                }
                eprintln!("\nstopping: in-flight iterations get their graceful stop (Ctrl-C again to abort)");
                handle.stop();
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    if draw {
        ProgressLine::clear();
    }
    if let Some(control) = control {
        control.abort();
    }
    record(&handle);
    let recorded = report::Recorded {
        points,
        progress: progress_of(&handle),
    };
    let report = handle.wait().await.expect("waited for once")?;
    for output in &report.outputs {
        if let Some(error) = &output.error {
            eprintln!("warning: output {}: {error}", output.output);
        }
    }
    Ok((report, recorded))
}

async fn demo(args: DemoArgs) -> Result<ExitCode> {
    let config = DemoConfig {
        latency: args.latency,
        error_rate: args.error_rate,
    };
    let target = DemoTarget::start("127.0.0.1:0".parse()?, config).await?;
    eprintln!("demo target listening on {}", target.url());
    let env = BTreeMap::from([("TARGET_URL".to_owned(), target.url())]);
    let mut load = args.load;
    let load_given = load.vus.is_some() || load.duration.is_some() || load.iterations.is_some();
    if !load_given && load.config.is_none() {
        load.vus = Some(20);
        load.duration = Some(Duration::from_secs(15));
    }
    let code = run_scenario(
        volley_example_artifacts::CONCERT_BOOKING_WASM,
        "concert-booking (built in)",
        &load,
        env,
    )
    .await?;
    let stats = target.stats();
    println!(
        "     demo target counted {} requests ({} answered 2xx)",
        stats.total,
        stats
            .by_status
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum::<u64>()
    );
    target.shutdown().await;
    Ok(code)
}

async fn demo_target(args: DemoTargetArgs) -> Result<ExitCode> {
    let config = DemoConfig {
        latency: args.latency,
        error_rate: args.error_rate,
    };
    let target = DemoTarget::start(args.addr, config).await?;
    eprintln!(
        "demo concert API listening on {} (Ctrl-C to stop)",
        target.url()
    );
    tokio::signal::ctrl_c().await?;
    target.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let config = ServeConfig {
        addr: args.addr,
        data_dir: args.data_dir,
        api_token: args.api_token.filter(|t| !t.is_empty()),
        max_concurrent_runs: args.max_concurrent_runs,
        max_upload_bytes: args.max_upload_mib << 20,
        vu_limits: VuLimits {
            max_memory_bytes: args.vu_memory_mib << 20,
            ..VuLimits::default()
        },
        allowed_targets: (!args.allow_targets.is_empty())
            .then(|| AllowList::new(args.allow_targets)),
        webhook_secret: args.webhook_secret.filter(|s| !s.is_empty()),
        webhook_attempts: args.webhook_attempts,
        remote_writes: args
            .outputs
            .into_iter()
            .map(|output| match output {
                OutputSpec::RemoteWrite(config) => Ok(config),
                OutputSpec::File { .. } => Err(anyhow!(
                    "volley serve sends runs only to experimental-prometheus-rw; json and csv files are for volley run (the server keeps each run's results at /v1/runs/{{id}}/results)"
                )),
            })
            .collect::<Result<_>>()?,
        ..ServeConfig::default()
    };
    let auth = if config.api_token.is_some() {
        "bearer token required"
    } else {
        "no auth"
    };
    let targets = match &config.allowed_targets {
        Some(list) => format!("targets: {list}"),
        None => "any target".into(),
    };
    let data_dir = config.data_dir.display().to_string();
    for output in &config.remote_writes {
        eprintln!("output of every run: {}", output.describe());
    }
    let server = Server::start(config).await?;
    eprintln!(
        "volley API listening on {} ({auth}; {targets}; data in {data_dir}); docs at {}/docs",
        server.url(),
        server.url()
    );
    server.run_until_signal().await?;
    Ok(ExitCode::SUCCESS)
}
