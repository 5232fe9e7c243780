//! Executors: the load models that decide when each VU runs an iteration. One
//! file per model; this module holds what they share: the VU slot that runs
//! (and, after a trap, re-creates) a VU, and the loop with k6's graceful stop.

mod arrival_rate;
mod constant_arrival_rate;
mod constant_vus;
mod externally_controlled;
mod per_vu_iterations;
mod ramping_arrival_rate;
mod ramping_vus;
mod shared_iterations;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::duration;
use crate::engine::VolleyEngine;
use crate::metrics::{Metrics, Sample, TagSet, builtin};
use crate::scenario::Scenario;
use crate::vu::{GuestFailure, RunContext, Vu, VuIdentity};

/// How long an iteration-count executor may run when `maxDuration` is not set.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);
/// The most VUs one scenario may ask for.
pub const MAX_VUS: u32 = 100_000;
/// The highest arrival rate, in iterations started per second.
pub const MAX_ARRIVALS_PER_SECOND: f64 = 1_000_000.0;

fn one() -> u32 {
    1
}
fn one_u64() -> u64 {
    1
}
fn zero() -> u32 {
    0
}
fn default_max_duration() -> Duration {
    DEFAULT_MAX_DURATION
}
fn default_graceful_ramp_down() -> Duration {
    Duration::from_secs(30)
}
fn one_second() -> Duration {
    Duration::from_secs(1)
}

/// One stage of `ramping-vus` or `ramping-arrival-rate`: a linear ramp to
/// `target` (VUs, or iterations per `timeUnit`) over `duration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// How long the ramp takes.
    #[serde(with = "duration::serde_req")]
    pub duration: Duration,
    /// VUs, or the arrival rate, at its end.
    pub target: u32,
}

impl Stage {
    /// The highest of `start` and every stage's target: the most VUs of
    /// `ramping-vus`, the highest rate of `ramping-arrival-rate`.
    pub fn peak(start: u32, stages: &[Stage]) -> u32 {
        stages.iter().map(|s| s.target).fold(start, u32::max)
    }

    /// How long `stages` last together.
    pub fn total_duration(stages: &[Stage]) -> Duration {
        stages.iter().map(|s| s.duration).sum()
    }

    /// A stage of whole seconds.
    #[cfg(test)]
    pub(crate) fn of_secs(secs: u64, target: u32) -> Self {
        Self {
            duration: Duration::from_secs(secs),
            target,
        }
    }
}

/// A load model and its settings, as k6 names them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "executor", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ExecutorConfig {
    /// `vus` VUs loop over iterations for `duration`.
    #[serde(rename_all = "camelCase")]
    ConstantVus {
        /// VUs.
        #[serde(default = "one")]
        vus: u32,
        /// How long.
        #[serde(with = "duration::serde_req")]
        duration: Duration,
    },
    /// Each of `vus` VUs runs `iterations` iterations.
    #[serde(rename_all = "camelCase")]
    PerVuIterations {
        /// VUs.
        #[serde(default = "one")]
        vus: u32,
        /// Iterations per VU.
        #[serde(default = "one_u64")]
        iterations: u64,
        /// Time limit.
        #[serde(default = "default_max_duration", with = "duration::serde_req")]
        max_duration: Duration,
    },
    /// `vus` VUs share `iterations` iterations, each taking the next as it is free.
    #[serde(rename_all = "camelCase")]
    SharedIterations {
        /// VUs.
        #[serde(default = "one")]
        vus: u32,
        /// Iterations in all.
        #[serde(default = "one_u64")]
        iterations: u64,
        /// Time limit.
        #[serde(default = "default_max_duration", with = "duration::serde_req")]
        max_duration: Duration,
    },
    /// VUs loop over iterations while their number ramps from `startVUs`
    /// through `stages`; VUs no longer wanted finish their iteration within
    /// `gracefulRampDown`.
    #[serde(rename_all = "camelCase")]
    RampingVus {
        /// VUs at the start.
        #[serde(default = "one", rename = "startVUs")]
        start_vus: u32,
        /// The ramps, in order.
        stages: Vec<Stage>,
        /// How long an iteration may finish once its VU is ramped down.
        #[serde(default = "default_graceful_ramp_down", with = "duration::serde_req")]
        graceful_ramp_down: Duration,
    },
    /// `vus` VUs loop over iterations for `duration`; the number running is
    /// changed during the run (from 0 to `maxVUs`) through the API or the CLI.
    #[serde(rename_all = "camelCase")]
    ExternallyControlled {
        /// VUs running at the start.
        #[serde(default = "zero")]
        vus: u32,
        /// VUs instantiated: the most that can run (default: `vus`).
        #[serde(default, rename = "maxVUs")]
        max_vus: Option<u32>,
        /// How long.
        #[serde(with = "duration::serde_req")]
        duration: Duration,
    },
    /// `rate` iterations start every `timeUnit` for `duration`, whatever the
    /// response times; each on a free VU, or is dropped when all `maxVUs` are busy.
    #[serde(rename_all = "camelCase")]
    ConstantArrivalRate {
        /// Iterations started per `timeUnit`.
        rate: u32,
        /// The period `rate` counts over.
        #[serde(default = "one_second", with = "duration::serde_req")]
        time_unit: Duration,
        /// How long.
        #[serde(with = "duration::serde_req")]
        duration: Duration,
        /// VUs instantiated before the start.
        #[serde(rename = "preAllocatedVUs")]
        pre_allocated_vus: u32,
        /// The most VUs: more are instantiated while none is free (default:
        /// `preAllocatedVUs`).
        #[serde(default, rename = "maxVUs")]
        max_vus: Option<u32>,
    },
    /// Iterations start at a rate that ramps from `startRate` through `stages`
    /// (each target an arrival rate per `timeUnit`), whatever the response
    /// times; each on a free VU, or is dropped when all `maxVUs` are busy.
    #[serde(rename_all = "camelCase")]
    RampingArrivalRate {
        /// Iterations started per `timeUnit` at the start.
        #[serde(default)]
        start_rate: u32,
        /// The period the rates count over.
        #[serde(default = "one_second", with = "duration::serde_req")]
        time_unit: Duration,
        /// The ramps, in order.
        stages: Vec<Stage>,
        /// VUs instantiated before the start.
        #[serde(rename = "preAllocatedVUs")]
        pre_allocated_vus: u32,
        /// The most VUs: more are instantiated while none is free (default:
        /// `preAllocatedVUs`).
        #[serde(default, rename = "maxVUs")]
        max_vus: Option<u32>,
    },
}

impl ExecutorConfig {
    /// The executor's k6 name.
    pub fn name(&self) -> &'static str {
        match self {
            ExecutorConfig::ConstantVus { .. } => "constant-vus",
            ExecutorConfig::PerVuIterations { .. } => "per-vu-iterations",
            ExecutorConfig::SharedIterations { .. } => "shared-iterations",
            ExecutorConfig::RampingVus { .. } => "ramping-vus",
            ExecutorConfig::ExternallyControlled { .. } => "externally-controlled",
            ExecutorConfig::ConstantArrivalRate { .. } => "constant-arrival-rate",
            ExecutorConfig::RampingArrivalRate { .. } => "ramping-arrival-rate",
        }
    }

    /// The VUs it needs at most.
    pub fn max_vus(&self) -> u32 {
        match self {
            ExecutorConfig::ConstantVus { vus, .. }
            | ExecutorConfig::PerVuIterations { vus, .. }
            | ExecutorConfig::SharedIterations { vus, .. } => *vus,
            ExecutorConfig::RampingVus {
                start_vus, stages, ..
            } => Stage::peak(*start_vus, stages),
            ExecutorConfig::ExternallyControlled { vus, max_vus, .. } => max_vus.unwrap_or(*vus),
            ExecutorConfig::ConstantArrivalRate {
                pre_allocated_vus,
                max_vus,
                ..
            }
            | ExecutorConfig::RampingArrivalRate {
                pre_allocated_vus,
                max_vus,
                ..
            } => max_vus.unwrap_or(*pre_allocated_vus),
        }
    }

    /// Whether iterations start on a schedule (an arrival-rate executor)
    /// rather than when a VU is free.
    pub fn is_open_model(&self) -> bool {
        matches!(
            self,
            ExecutorConfig::ConstantArrivalRate { .. } | ExecutorConfig::RampingArrivalRate { .. }
        )
    }

    /// The VUs instantiated before the run starts: all of them, except for the
    /// arrival-rate executors, which instantiate the rest when they need them.
    pub fn initial_vus(&self) -> u32 {
        match self {
            ExecutorConfig::ConstantArrivalRate {
                pre_allocated_vus, ..
            }
            | ExecutorConfig::RampingArrivalRate {
                pre_allocated_vus, ..
            } => (*pre_allocated_vus).min(self.max_vus()),
            _ => self.max_vus(),
        }
    }

    /// The longest it runs, without the graceful stop.
    pub fn max_duration(&self) -> Duration {
        match self {
            ExecutorConfig::ConstantVus { duration, .. }
            | ExecutorConfig::ExternallyControlled { duration, .. }
            | ExecutorConfig::ConstantArrivalRate { duration, .. } => *duration,
            ExecutorConfig::PerVuIterations { max_duration, .. }
            | ExecutorConfig::SharedIterations { max_duration, .. } => *max_duration,
            ExecutorConfig::RampingVus { stages, .. }
            | ExecutorConfig::RampingArrivalRate { stages, .. } => Stage::total_duration(stages),
        }
    }

    /// Checks the settings, naming the bad one.
    pub fn validate(&self) -> Result<(), String> {
        if let ExecutorConfig::RampingVus { stages, .. }
        | ExecutorConfig::RampingArrivalRate { stages, .. } = self
            && stages.is_empty()
        {
            return Err("stages must list at least one stage".into());
        }
        let vus = self.max_vus();
        if vus == 0 || vus > MAX_VUS {
            let field = match self {
                ExecutorConfig::ExternallyControlled { .. } => "maxVUs (default: vus)",
                ExecutorConfig::RampingVus { .. } => "the most VUs (startVUs or a stage's target)",
                ExecutorConfig::ConstantArrivalRate { .. }
                | ExecutorConfig::RampingArrivalRate { .. } => "maxVUs (default: preAllocatedVUs)",
                _ => "vus",
            };
            return Err(format!(
                "{field} must be between 1 and {MAX_VUS}, not {vus}"
            ));
        }
        if self.max_duration().is_zero() {
            return Err(match self {
                ExecutorConfig::ConstantVus { .. }
                | ExecutorConfig::ExternallyControlled { .. }
                | ExecutorConfig::ConstantArrivalRate { .. } => {
                    "duration must be more than 0".into()
                }
                ExecutorConfig::RampingVus { .. } | ExecutorConfig::RampingArrivalRate { .. } => {
                    "the stages must last more than 0".into()
                }
                _ => "maxDuration must be more than 0".into(),
            });
        }
        match self {
            ExecutorConfig::PerVuIterations { iterations: 0, .. }
            | ExecutorConfig::SharedIterations { iterations: 0, .. } => {
                Err("iterations must be at least 1".into())
            }
            ExecutorConfig::SharedIterations {
                vus, iterations, ..
            } if u64::from(*vus) > *iterations => Err(format!(
                "vus ({vus}) must not be more than iterations ({iterations})"
            )),
            ExecutorConfig::ExternallyControlled {
                vus,
                max_vus: Some(max_vus),
                ..
            } if vus > max_vus => Err(format!(
                "vus ({vus}) must not be more than maxVUs ({max_vus})"
            )),
            ExecutorConfig::ConstantArrivalRate {
                rate, time_unit, ..
            } => {
                if *rate == 0 {
                    return Err("rate must be at least 1".into());
                }
                self.validate_arrivals(*time_unit, *rate)
            }
            ExecutorConfig::RampingArrivalRate {
                start_rate,
                time_unit,
                stages,
                ..
            } => {
                let highest = Stage::peak(*start_rate, stages);
                if highest == 0 {
                    return Err(
                        "startRate and every stage's target are 0: no iteration would start".into(),
                    );
                }
                self.validate_arrivals(*time_unit, highest)
            }
            _ => Ok(()),
        }
    }

    /// Checks what the arrival-rate executors share: `timeUnit`, the highest
    /// rate, and `preAllocatedVUs` within `maxVUs`.
    fn validate_arrivals(&self, time_unit: Duration, highest_rate: u32) -> Result<(), String> {
        if time_unit.is_zero() {
            return Err("timeUnit must be more than 0".into());
        }
        let per_second = f64::from(highest_rate) / time_unit.as_secs_f64();
        if per_second > MAX_ARRIVALS_PER_SECOND {
            return Err(format!(
                "the arrival rate must be at most {MAX_ARRIVALS_PER_SECOND} iterations per second, not {per_second}"
            ));
        }
        if let ExecutorConfig::ConstantArrivalRate {
            pre_allocated_vus,
            max_vus: Some(max_vus),
            ..
        }
        | ExecutorConfig::RampingArrivalRate {
            pre_allocated_vus,
            max_vus: Some(max_vus),
            ..
        } = self
            && pre_allocated_vus > max_vus
        {
            return Err(format!(
                "preAllocatedVUs ({pre_allocated_vus}) must not be more than maxVUs ({max_vus})"
            ));
        }
        Ok(())
    }
}

/// Makes VUs for one scenario of a run.
#[derive(Clone)]
pub struct VuFactory {
    /// The engine sized for the run.
    pub engine: VolleyEngine,
    /// The scenario compiled for that engine.
    pub scenario: Scenario,
    /// The run's shared context.
    pub run: Arc<RunContext>,
}

impl VuFactory {
    /// Instantiates a VU.
    pub async fn instantiate(&self, identity: VuIdentity) -> wasmtime::Result<Vu> {
        Vu::new(
            &self.engine,
            self.scenario.pre(),
            self.run.clone(),
            identity,
        )
        .await
    }
}

/// A VU's place in an executor: the live instance (if any) and what is needed
/// to replace it after a trap.
pub struct VuSlot {
    vu: Option<Vu>,
    /// Who the VU is; its iteration count is current only while `vu` is `None`
    /// (the live instance keeps its own).
    identity: VuIdentity,
    factory: VuFactory,
    log_budget: u32,
}

/// How many guest error messages one VU writes to the run log.
const ERRORS_LOGGED_PER_VU: u32 = 3;

impl VuSlot {
    /// A slot holding an instantiated VU.
    pub fn new(vu: Vu, factory: VuFactory) -> Self {
        Self {
            identity: vu.identity().clone(),
            vu: Some(vu),
            factory,
            log_budget: ERRORS_LOGGED_PER_VU,
        }
    }

    /// A slot whose VU is instantiated by its first iteration.
    pub fn uninstantiated(identity: VuIdentity, factory: VuFactory) -> Self {
        Self {
            vu: None,
            identity,
            factory,
            log_budget: ERRORS_LOGGED_PER_VU,
        }
    }

    /// The VU's id.
    pub fn id(&self) -> u32 {
        self.identity.id
    }

    /// Whether the VU has a live instance.
    fn is_instantiated(&self) -> bool {
        self.vu.is_some()
    }

    /// Runs one iteration and records it, its duration measured from `started`
    /// (now, or earlier: when it was scheduled to start). Instantiates the VU
    /// first when it has no instance. Returns false when the VU is gone for
    /// good (it could not be instantiated).
    async fn iteration(&mut self, exec: &str, started: Instant) -> bool {
        if self.vu.is_none() {
            match self.factory.instantiate(self.identity.clone()).await {
                Ok(vu) => self.vu = Some(vu),
                Err(error) => {
                    self.log(format!(
                        "could not instantiate VU {}: {error:#}",
                        self.identity.id
                    ));
                    return false;
                }
            }
        }
        let vu = self.vu.as_mut().expect("instantiated above");
        let result = vu.iteration(exec).await;
        let elapsed = started.elapsed();
        vu.next_iteration();
        let reason = match &result {
            Ok(()) => None,
            Err(GuestFailure::Error(_)) => Some("error"),
            Err(GuestFailure::Trap(_)) => Some("trap"),
            Err(GuestFailure::Timeout(_)) => Some("timeout"),
        };
        let tags = &self.identity.tags;
        let mut samples = vec![
            Sample {
                metric: builtin::ITERATIONS,
                tags: tags.clone(),
                value: 1.0,
            },
            Sample {
                metric: builtin::ITERATION_DURATION,
                tags: tags.clone(),
                value: elapsed.as_secs_f64() * 1000.0,
            },
        ];
        if let Some(reason) = reason {
            samples.push(Sample {
                metric: builtin::ITERATIONS_FAILED,
                tags: tags.with([("reason", reason)]),
                value: 1.0,
            });
        }
        let metrics = self.factory.run.metrics();
        metrics.record(self.identity.id as usize, &samples);
        metrics.count_iteration(reason.is_some());
        if let Err(failure) = result {
            if matches!(failure, GuestFailure::Trap(_)) {
                // The instance is unusable: the next iteration gets a fresh one.
                self.drop_vu();
            }
            self.log(format!("iteration failed: {failure}"));
        }
        true
    }

    /// Records an iteration cut short by the end of the executor's time.
    fn interrupted(&mut self) {
        // The guest was stopped mid-call; its instance cannot be trusted.
        self.drop_vu();
        let metrics = self.factory.run.metrics();
        metrics.record(
            self.identity.id as usize,
            &[Sample {
                metric: builtin::ITERATIONS_FAILED,
                tags: self.identity.tags.with([("reason", "interrupted")]),
                value: 1.0,
            }],
        );
        metrics.count_iteration(true);
    }

    /// Drops the live instance, keeping its identity (and iteration count) for
    /// the replacement.
    fn drop_vu(&mut self) {
        if let Some(vu) = self.vu.take() {
            self.identity = vu.identity().clone();
        }
    }

    fn log(&mut self, message: String) {
        if self.log_budget > 0 {
            self.log_budget -= 1;
            self.factory
                .run
                .log()
                .push("error", self.identity.id, message);
        }
    }
}

/// What an executor gets to run one scenario.
pub struct Execution {
    /// The scenario's VUs, instantiated.
    pub vus: Vec<VuSlot>,
    /// The `exec` argument of each iteration.
    pub exec: Arc<str>,
    /// How long in-flight iterations may finish after the end.
    pub graceful_stop: Duration,
    /// Cancelled to stop the run early (gracefully).
    pub stop: CancellationToken,
    /// Tags of the scenario's own samples.
    pub tags: TagSet,
    /// The run's metrics.
    pub metrics: Arc<Metrics>,
    /// How many VUs should run, for `externally-controlled` (set from outside).
    pub scale: Option<watch::Receiver<u32>>,
}

impl Execution {
    /// Runs `config`'s load model to its end.
    pub async fn run(self, config: &ExecutorConfig) {
        match *config {
            ExecutorConfig::ConstantVus { duration, .. } => constant_vus::run(self, duration).await,
            ExecutorConfig::PerVuIterations {
                iterations,
                max_duration,
                ..
            } => per_vu_iterations::run(self, iterations, max_duration).await,
            ExecutorConfig::SharedIterations {
                iterations,
                max_duration,
                ..
            } => shared_iterations::run(self, iterations, max_duration).await,
            ExecutorConfig::ExternallyControlled { duration, .. } => {
                externally_controlled::run(self, duration).await
            }
            ExecutorConfig::RampingVus {
                start_vus,
                ref stages,
                graceful_ramp_down,
            } => ramping_vus::run(self, start_vus, stages.clone(), graceful_ramp_down).await,
            ExecutorConfig::ConstantArrivalRate {
                rate,
                time_unit,
                duration,
                ..
            } => constant_arrival_rate::run(self, rate, time_unit, duration).await,
            ExecutorConfig::RampingArrivalRate {
                start_rate,
                time_unit,
                ref stages,
                ..
            } => ramping_arrival_rate::run(self, start_rate, time_unit, stages.clone()).await,
        }
    }

    /// Runs every VU in its own task with `vu_loop`, and waits for all of them.
    /// `claims` makes each VU's claim: a function granting it one more iteration.
    async fn run_vus<C>(self, end: Instant, claims: impl Fn() -> C)
    where
        C: FnMut() -> bool + Send + 'static,
    {
        let mut tasks = tokio::task::JoinSet::new();
        for slot in self.vus {
            let stop = self.stop.clone();
            let exec = self.exec.clone();
            let claim = claims();
            let graceful_stop = self.graceful_stop;
            tasks.spawn(async move {
                let mut slot = slot;
                let never = std::future::pending();
                vu_loop(&mut slot, &exec, &stop, end, graceful_stop, claim, never).await;
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.expect("a VU task panicked");
        }
    }
}

impl Execution {
    /// Runs VUs whose number is set by `wanted` (the first `wanted` VUs run;
    /// a VU above it finishes its iteration, then waits until wanted again)
    /// until `end`. With `ramp_down`, an iteration still running that long
    /// after its VU stopped being wanted is interrupted.
    async fn run_wanted(
        self,
        end: Instant,
        wanted: watch::Receiver<u32>,
        ramp_down: Option<Duration>,
    ) {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, mut slot) in self.vus.into_iter().enumerate() {
            let index = index as u32;
            let (stop, exec) = (self.stop.clone(), self.exec.clone());
            let (mut waiting, claiming) = (wanted.clone(), wanted.clone());
            let graceful_stop = self.graceful_stop;
            tasks.spawn(async move {
                loop {
                    tokio::select! {
                        wanted = waiting.wait_for(|vus| *vus > index) => if wanted.is_err() { return },
                        _ = tokio::time::sleep_until(end.into()) => return,
                        _ = stop.cancelled() => return,
                    }
                    let claim = || *claiming.borrow() > index;
                    let cut = ramped_down(claiming.clone(), index, ramp_down);
                    if !vu_loop(&mut slot, &exec, &stop, end, graceful_stop, claim, cut).await {
                        return;
                    }
                }
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.expect("a VU task panicked");
        }
    }
}

/// Resolves once VU `index` has been unwanted for `grace` without a break
/// (never, without a grace).
async fn ramped_down(mut wanted: watch::Receiver<u32>, index: u32, grace: Option<Duration>) {
    let Some(grace) = grace else {
        return std::future::pending().await;
    };
    loop {
        let unwanted = wanted.wait_for(|vus| *vus <= index).await.is_ok();
        if !unwanted {
            return std::future::pending().await;
        }
        let wanted_again = tokio::select! {
            _ = tokio::time::sleep(grace) => return,
            again = wanted.wait_for(|vus| *vus > index) => again.is_ok(),
        };
        if !wanted_again {
            return std::future::pending().await;
        }
    }
}

/// Resolves when an iteration still running must be cut short: at `hard_end`
/// (the executor's end plus its graceful stop), or `graceful_stop` after a
/// stop request.
async fn past_graceful_stop(
    stop: &CancellationToken,
    graceful_stop: Duration,
    hard_end: tokio::time::Instant,
) {
    let stopped_hard = async {
        stop.cancelled().await;
        tokio::time::sleep(graceful_stop).await;
    };
    tokio::select! {
        _ = tokio::time::sleep_until(hard_end) => {}
        _ = stopped_hard => {}
    }
}

/// One VU's active stretch in an executor: iterate while time is left and
/// `claim` grants another iteration; an iteration still running `graceful_stop`
/// after the end (or after a stop request), or when `cut` resolves, is
/// interrupted. Returns true when the VU was released by `claim` (it may be
/// claimed again later).
async fn vu_loop(
    slot: &mut VuSlot,
    exec: &str,
    stop: &CancellationToken,
    end: Instant,
    graceful_stop: Duration,
    mut claim: impl FnMut() -> bool,
    cut: impl Future<Output = ()>,
) -> bool {
    let metrics = slot.factory.run.metrics().clone();
    metrics.add_vus(1);
    let hard_end = tokio::time::Instant::from_std(end + graceful_stop);
    let past_stop = past_graceful_stop(stop, graceful_stop, hard_end);
    tokio::pin!(past_stop);
    tokio::pin!(cut);
    let mut released = false;
    loop {
        if Instant::now() >= end || stop.is_cancelled() {
            break;
        }
        if !claim() {
            released = true;
            break;
        }
        tokio::select! {
            alive = slot.iteration(exec, Instant::now()) => if !alive { break },
            _ = &mut past_stop => {
                slot.interrupted();
                break;
            }
            _ = &mut cut => {
                slot.interrupted();
                released = true;
                break;
            }
        }
    }
    metrics.add_vus(-1);
    released
}
