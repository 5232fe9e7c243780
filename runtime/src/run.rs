//! A run from start to end: size an engine, instantiate every VU, run `setup`,
//! the executors (each scenario from its start time), `teardown`, then
//! summarise and judge thresholds. Stoppable at any point.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::client::ClientConfig;
use crate::engine::{VolleyEngine, VuLimits};
use crate::executor::{Execution, ExecutorConfig, VuFactory, VuSlot};
use crate::host::LogEntry;
use crate::metrics::{Metrics, Progress, Snapshot, Summary, TagSet};
use crate::options::{Options, RunPlan};
use crate::output::{OutputReport, Outputs};
use crate::scenario::{Scenario, ScenarioError};
use crate::thresholds::{self, ThresholdResult};
use crate::vu::{GuestFailure, RunContext, Vu, VuIdentity};

/// How long a scenario's `options` export may take.
pub const OPTIONS_TIMEOUT: Duration = Duration::from_secs(5);
/// How often thresholds with `abortOnFail` are checked during a run.
const THRESHOLD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Why a run could not start or could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine for the run could not be built (for example, the pool did not fit).
    #[error("could not prepare the engine for {vus} VUs: {message}")]
    Engine {
        /// VUs asked for.
        vus: u32,
        /// The cause.
        message: String,
    },
    /// The scenario did not compile for the run's engine.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A VU could not be instantiated.
    #[error("could not instantiate VU {vu}: {message}")]
    Instantiate {
        /// The VU.
        vu: u32,
        /// The cause.
        message: String,
    },
    /// `setup` failed; no iteration ran.
    #[error("setup failed: {0}")]
    Setup(GuestFailure),
    /// A bug in Volley ended the run.
    #[error("the run ended on an internal error: {0}")]
    Internal(String),
}

/// Why the running VUs could not be changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    /// No scenario of the run uses the `externally-controlled` executor.
    #[error(
        "the run has no externally-controlled scenario; only that executor's VUs can be changed during a run"
    )]
    NotScalable,
    /// Several scenarios could be meant.
    #[error("the run has several externally-controlled scenarios ({0}): name one")]
    Ambiguous(String),
    /// The named scenario is not an externally-controlled scenario of the run.
    #[error("the run has no externally-controlled scenario named {0:?}")]
    UnknownScenario(String),
    /// More VUs than the scenario instantiated.
    #[error("vus must be between 0 and the scenario's maxVUs ({max}), not {vus}")]
    OutOfRange {
        /// VUs asked for.
        vus: u32,
        /// The scenario's `maxVUs`.
        max: u32,
    },
}

impl ScaleError {
    /// Whether the run itself cannot be scaled (it has no such scenario), as
    /// opposed to a request that names a wrong scenario or VU count.
    pub fn is_not_scalable(&self) -> bool {
        matches!(self, ScaleError::NotScalable)
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "phase")]
pub enum Phase {
    /// Instantiating VUs.
    Initializing {
        /// VUs ready so far.
        ready: u32,
        /// VUs needed.
        total: u32,
    },
    /// Running `setup`.
    Setup,
    /// Executors running.
    Running,
    /// Stop requested; in-flight iterations finish within their graceful stop.
    Stopping,
    /// Running `teardown`.
    Teardown,
    /// Finished.
    Done,
}

/// How a run ended.
#[derive(Debug)]
pub struct RunReport {
    /// The summary of every metric.
    pub summary: Summary,
    /// Every series at the end, for breakdowns by tag.
    pub snapshot: Snapshot,
    /// Every threshold's verdict.
    pub thresholds: Vec<ThresholdResult>,
    /// True when a threshold with `abortOnFail` ended the run early.
    pub aborted_by_threshold: bool,
    /// True when the run was stopped by [`RunHandle::stop`].
    pub stopped: bool,
    /// Why `teardown` failed, if it did.
    pub teardown_error: Option<GuestFailure>,
    /// The newest log messages.
    pub log: Vec<LogEntry>,
    /// Log messages dropped by rate limits.
    pub log_dropped: u64,
    /// What each output (`--out`) did.
    pub outputs: Vec<OutputReport>,
}

impl RunReport {
    /// Whether every threshold held (a run aborted by one did not pass).
    pub fn thresholds_passed(&self) -> bool {
        !self.aborted_by_threshold && self.thresholds.iter().all(|t| t.ok)
    }
}

/// A run in progress.
pub struct RunHandle {
    shared: Arc<Shared>,
    task: tokio::sync::Mutex<Option<JoinHandle<Result<RunReport, RunError>>>>,
    finished: watch::Receiver<bool>,
}

struct Shared {
    context: Arc<RunContext>,
    plan: RunPlan,
    stop: CancellationToken,
    phase: Mutex<Phase>,
    started: Instant,
    executing_since: Mutex<Option<Instant>>,
    /// The wanted VU count of each externally-controlled scenario, and its maximum.
    scales: BTreeMap<String, (watch::Sender<u32>, u32)>,
}

impl Shared {
    fn set_phase(&self, phase: Phase) {
        *self.phase.lock().expect("phase poisoned") = phase;
    }
}

impl RunHandle {
    /// The run's live metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        self.shared.context.metrics()
    }

    /// The headline totals now.
    pub fn progress(&self) -> Progress {
        self.metrics().progress()
    }

    /// Where the run is.
    pub fn phase(&self) -> Phase {
        *self.shared.phase.lock().expect("phase poisoned")
    }

    /// Time since the executors started (zero before).
    pub fn executing_for(&self) -> Duration {
        self.shared
            .executing_since
            .lock()
            .expect("poisoned")
            .map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.shared.started.elapsed()
    }

    /// The run's newest log messages, and how many were dropped by rate limits.
    pub fn log(&self) -> (Vec<LogEntry>, u64) {
        let log = self.shared.context.log();
        (log.entries(), log.dropped())
    }

    /// The plan being run.
    pub fn plan(&self) -> &RunPlan {
        &self.shared.plan
    }

    /// Asks the run to stop: no new iterations; in-flight ones get their
    /// scenario's graceful stop; then teardown runs.
    pub fn stop(&self) {
        if !self.shared.stop.is_cancelled() {
            self.shared.stop.cancel();
            if self.phase() == Phase::Running {
                self.shared.set_phase(Phase::Stopping);
            }
        }
    }

    /// Whether the run has an `externally-controlled` scenario, whose VUs
    /// [`RunHandle::scale`] changes.
    pub fn is_scalable(&self) -> bool {
        !self.shared.scales.is_empty()
    }

    /// Sets how many VUs an `externally-controlled` scenario runs (`scenario`
    /// may be left out when the run has one such scenario). Returns its name.
    pub fn scale(&self, scenario: Option<&str>, vus: u32) -> Result<String, ScaleError> {
        let (name, (wanted, max)) = match scenario {
            Some(name) => self
                .shared
                .scales
                .get_key_value(name)
                .ok_or_else(|| ScaleError::UnknownScenario(name.to_owned()))?,
            None => {
                let mut all = self.shared.scales.iter();
                match (all.next(), all.next()) {
                    (Some(only), None) => only,
                    (None, _) => return Err(ScaleError::NotScalable),
                    (Some(_), Some(_)) => {
                        let names: Vec<&str> =
                            self.shared.scales.keys().map(String::as_str).collect();
                        return Err(ScaleError::Ambiguous(names.join(", ")));
                    }
                }
            }
        };
        if vus > *max {
            return Err(ScaleError::OutOfRange { vus, max: *max });
        }
        wanted.send_replace(vus);
        Ok(name.clone())
    }

    /// Whether the run has ended.
    pub fn is_finished(&self) -> bool {
        *self.finished.borrow()
    }

    /// Resolves when the run has ended.
    pub async fn ended(&self) {
        let mut finished = self.finished.clone();
        let _ = finished.wait_for(|done| *done).await;
    }

    /// Waits for the end of the run and returns its report. Only the first
    /// caller gets the report; later callers get `None`.
    pub async fn wait(&self) -> Option<Result<RunReport, RunError>> {
        let task = self.task.lock().await.take()?;
        Some(
            task.await
                .unwrap_or_else(|e| Err(RunError::Internal(e.to_string()))),
        )
    }
}

/// Calls the scenario's `options` export and parses what it returns.
pub async fn scenario_options(scenario: &Scenario) -> Result<Options, String> {
    let context = RunContext::new(Metrics::new(), ClientConfig::default());
    let identity = VuIdentity {
        id: 0,
        scenario: Arc::from("options"),
        iteration: 0,
        tags: TagSet::empty(),
        env: Arc::default(),
    };
    let mut vu = Vu::new(scenario.engine(), scenario.pre(), context, identity)
        .await
        .map_err(|e| format!("could not instantiate the scenario: {e:#}"))?;
    let json = vu
        .options(OPTIONS_TIMEOUT)
        .await
        .map_err(|e| format!("the scenario's options() failed: {e}"))?;
    Options::from_json(&json).map_err(|e| format!("the scenario's options() returned {e}"))
}

/// Starts `plan` with `scenario` on a new engine sized for the run, feeding
/// its metrics to `outputs` from the first sample to the last.
pub fn start(scenario: &Scenario, plan: RunPlan, limits: VuLimits, outputs: Outputs) -> RunHandle {
    let metrics = Metrics::new();
    metrics.set_run_tags(TagSet::new(plan.tags.clone()));
    let outputs = outputs.attach(&metrics, &plan.thresholds);
    let client = ClientConfig::new(plan.insecure_skip_tls_verify, &plan.user_agent)
        .with_allowed_targets(plan.allowed_targets.clone());
    let context = RunContext::new(metrics, client);
    let scales = plan
        .scenarios
        .iter()
        .filter_map(|s| match s.executor {
            ExecutorConfig::ExternallyControlled { vus, .. } => Some((
                s.name.clone(),
                (watch::Sender::new(vus), s.executor.max_vus()),
            )),
            _ => None,
        })
        .collect();
    let shared = Arc::new(Shared {
        context,
        plan,
        stop: CancellationToken::new(),
        phase: Mutex::new(Phase::Initializing { ready: 0, total: 0 }),
        started: Instant::now(),
        executing_since: Mutex::new(None),
        scales,
    });
    let (finished_tx, finished) = watch::channel(false);
    let run = execute(shared.clone(), scenario.clone(), limits);
    let task = tokio::spawn(async move {
        let mut result = run.await;
        let reports = outputs.finish().await;
        match &mut result {
            Ok(report) => report.outputs = reports,
            Err(_) => {
                for problem in reports.iter().filter_map(|r| r.error.as_ref()) {
                    tracing::warn!("output: {problem}");
                }
            }
        }
        finished_tx.send_replace(true);
        result
    });
    RunHandle {
        shared,
        task: tokio::sync::Mutex::new(Some(task)),
        finished,
    }
}

async fn execute(
    shared: Arc<Shared>,
    scenario: Scenario,
    limits: VuLimits,
) -> Result<RunReport, RunError> {
    let plan = &shared.plan;
    let total_vus = plan.max_vus();
    // One extra instance for the VU that runs setup and teardown.
    let engine = VolleyEngine::new(total_vus + 1, limits, scenario.shape()).map_err(|e| {
        RunError::Engine {
            vus: total_vus,
            message: format!("{e:#}"),
        }
    })?;
    let scenario = scenario.for_engine(&engine)?;
    let context = shared.context.clone();
    let metrics = context.metrics().clone();
    let run_tags: Vec<(String, String)> = plan.tags.clone().into_iter().collect();
    let factory = VuFactory {
        engine: engine.clone(),
        scenario,
        run: context.clone(),
    };

    // Instantiate every VU before anything runs, as k6 does.
    shared.set_phase(Phase::Initializing {
        ready: 0,
        total: plan.initial_vus(),
    });
    // VUs instantiated now, and those an arrival-rate executor instantiates
    // when it needs them.
    let (mut identities, mut later) = (Vec::new(), Vec::new());
    let mut next_id = 1;
    let mut scenario_tags = Vec::new();
    for (index, scenario_plan) in plan.scenarios.iter().enumerate() {
        let tags = TagSet::new(
            run_tags
                .iter()
                .cloned()
                .chain(scenario_plan.tags.clone())
                .chain([("scenario".to_owned(), scenario_plan.name.clone())]),
        );
        let mut env = plan.env.clone();
        env.extend(scenario_plan.env.clone());
        let env = Arc::new(env);
        let initial = scenario_plan.executor.initial_vus();
        for n in 0..scenario_plan.executor.max_vus() {
            let identity = VuIdentity {
                id: next_id,
                scenario: Arc::from(scenario_plan.name.as_str()),
                iteration: 0,
                tags: tags.clone(),
                env: env.clone(),
            };
            next_id += 1;
            if n < initial {
                identities.push((index, identity));
            } else {
                later.push((index, identity));
            }
        }
        scenario_tags.push(tags);
    }
    let mut slots = instantiate_all(&shared, &factory, identities).await?;
    let instantiated = slots.iter().map(Vec::len).sum::<usize>();
    metrics.set_vus(0, instantiated as u64, 0);
    for (index, identity) in later {
        slots[index].push(VuSlot::uninstantiated(identity, factory.clone()));
    }
    let executions: Vec<_> = plan
        .scenarios
        .iter()
        .cloned()
        .zip(scenario_tags)
        .zip(slots)
        .map(|((plan, tags), vus)| (plan, tags, vus))
        .collect();

    // setup and teardown run on a VU of their own.
    let helper_identity = VuIdentity {
        id: 0,
        scenario: Arc::from("setup"),
        iteration: 0,
        tags: TagSet::new(
            run_tags
                .iter()
                .cloned()
                .chain([("scenario".to_owned(), "setup".to_owned())]),
        ),
        env: Arc::new(plan.env.clone()),
    };
    shared.set_phase(Phase::Setup);
    let mut helper =
        factory
            .instantiate(helper_identity)
            .await
            .map_err(|e| RunError::Instantiate {
                vu: 0,
                message: format!("{e:#}"),
            })?;
    let data = helper
        .setup(plan.setup_timeout)
        .await
        .map_err(RunError::Setup)?;
    context.set_setup_data(data);

    shared.set_phase(if shared.stop.is_cancelled() {
        Phase::Stopping
    } else {
        Phase::Running
    });
    let executing_since = Instant::now();
    *shared.executing_since.lock().expect("poisoned") = Some(executing_since);
    let monitor = tokio::spawn(watch_thresholds(shared.clone(), executing_since));
    let mut tasks = tokio::task::JoinSet::new();
    for (scenario_plan, tags, vus) in executions {
        let stop = shared.stop.clone();
        let metrics = metrics.clone();
        let scale = shared
            .scales
            .get(&scenario_plan.name)
            .map(|(wanted, _)| wanted.subscribe());
        tasks.spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(scenario_plan.start_time) => {}
                _ = stop.cancelled() => return,
            }
            let execution = Execution {
                vus,
                exec: Arc::from(scenario_plan.exec.as_str()),
                graceful_stop: scenario_plan.graceful_stop,
                stop,
                tags,
                metrics,
                scale,
            };
            execution.run(&scenario_plan.executor).await;
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("an executor panicked");
    }
    let executed_for = executing_since.elapsed();
    monitor.abort();
    let aborted_by_threshold = monitor.await.unwrap_or(false);

    shared.set_phase(Phase::Teardown);
    let teardown_error = helper.teardown(plan.teardown_timeout).await.err();

    let snapshot = metrics.snapshot();
    let summary = Summary::from_snapshot(&snapshot, executed_for);
    let thresholds = thresholds::evaluate(&plan.thresholds, &snapshot, executed_for);
    shared.set_phase(Phase::Done);
    Ok(RunReport {
        summary,
        snapshot,
        thresholds,
        aborted_by_threshold,
        stopped: shared.stop.is_cancelled() && !aborted_by_threshold,
        teardown_error,
        log: context.log().entries(),
        log_dropped: context.log().dropped(),
        outputs: Vec::new(),
    })
}

/// Instantiates every VU, spread over one task per core; returns each
/// scenario's VUs in id order.
async fn instantiate_all(
    shared: &Arc<Shared>,
    factory: &VuFactory,
    identities: Vec<(usize, VuIdentity)>,
) -> Result<Vec<Vec<VuSlot>>, RunError> {
    let total = identities.len() as u32;
    let scenarios = shared.plan.scenarios.len();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = identities.len().div_ceil(workers).max(1);
    let ready = Arc::new(AtomicU32::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for part in identities.chunks(chunk) {
        let (part, factory, shared, ready) = (
            part.to_vec(),
            factory.clone(),
            shared.clone(),
            ready.clone(),
        );
        tasks.spawn(async move {
            let mut vus = Vec::with_capacity(part.len());
            for (index, identity) in part {
                if shared.stop.is_cancelled() {
                    break;
                }
                let id = identity.id;
                let vu =
                    factory
                        .instantiate(identity)
                        .await
                        .map_err(|e| RunError::Instantiate {
                            vu: id,
                            message: format!("{e:#}"),
                        })?;
                vus.push((index, VuSlot::new(vu, factory.clone())));
                let ready = ready.fetch_add(1, Ordering::Relaxed) + 1;
                shared.set_phase(Phase::Initializing { ready, total });
            }
            Ok::<_, RunError>(vus)
        });
    }
    let mut slots: Vec<Vec<VuSlot>> = (0..scenarios).map(|_| Vec::new()).collect();
    while let Some(joined) = tasks.join_next().await {
        for (index, slot) in joined.expect("an instantiation task panicked")? {
            slots[index].push(slot);
        }
    }
    for vus in &mut slots {
        vus.sort_by_key(VuSlot::id);
    }
    Ok(slots)
}

/// Checks `abortOnFail` thresholds every second; stops the run (and returns
/// true) when one fails past its `delayAbortEval`.
async fn watch_thresholds(shared: Arc<Shared>, since: Instant) -> bool {
    let watched: Vec<_> = shared
        .plan
        .thresholds
        .iter()
        .filter(|m| m.thresholds.iter().any(|t| t.abort_on_fail))
        .cloned()
        .collect();
    if watched.is_empty() {
        return false;
    }
    let mut ticker = tokio::time::interval(THRESHOLD_CHECK_INTERVAL);
    loop {
        ticker.tick().await;
        let elapsed = since.elapsed();
        let snapshot = shared.context.metrics().snapshot();
        let failed = thresholds::evaluate(&watched, &snapshot, elapsed)
            .into_iter()
            .any(|r| {
                r.abort_on_fail && !r.ok && elapsed >= r.delay_abort_eval && r.value.is_some()
            });
        if failed {
            shared.context.log().push(
                "error",
                0,
                "a threshold with abortOnFail failed: stopping the run".into(),
            );
            shared.stop.cancel();
            shared.set_phase(Phase::Stopping);
            return true;
        }
    }
}
