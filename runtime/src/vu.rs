//! A virtual user: one wasmtime `Store` and one instance of the scenario, with
//! its own HTTP connections, memory limit and identity.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtxView, WasiHttpView};

use crate::client::{ClientConfig, HttpClient};
use crate::engine::VolleyEngine;
use crate::host::{RunLog, Scenario as Bindings, ScenarioPre};
use crate::metrics::{Metrics, Sample, TagCache, TagSet};

/// What every VU of a run shares.
pub struct RunContext {
    metrics: Arc<Metrics>,
    setup_data: OnceLock<Vec<u8>>,
    client: ClientConfig,
    log: RunLog,
}

impl RunContext {
    /// A context for a run with these client settings.
    pub fn new(metrics: Arc<Metrics>, client: ClientConfig) -> Arc<Self> {
        Arc::new(Self {
            metrics,
            setup_data: OnceLock::new(),
            client,
            log: RunLog::default(),
        })
    }

    /// The run's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The run's log.
    pub fn log(&self) -> &RunLog {
        &self.log
    }

    /// What `setup` returned (empty before it ran, or when it returned nothing).
    pub fn setup_data(&self) -> &[u8] {
        self.setup_data.get().map_or(&[], Vec::as_slice)
    }

    /// Records what `setup` returned; only the first call counts.
    pub fn set_setup_data(&self, data: Vec<u8>) {
        let _ = self.setup_data.set(data);
    }
}

/// Who a VU is.
#[derive(Debug, Clone)]
pub struct VuIdentity {
    /// 1-based, unique within the run (0 for the VU that runs setup and teardown).
    pub id: u32,
    /// The scenario (load model) the VU belongs to.
    pub scenario: Arc<str>,
    /// Iterations this VU started before the current one.
    pub iteration: u64,
    /// Tags on every sample of this VU: `scenario` plus the run's and scenario's tags.
    pub tags: TagSet,
    /// The environment variables it sees: the run's, overridden by its scenario's.
    pub env: Arc<BTreeMap<String, String>>,
}

/// What a check's tags are cached by: its group path, name and extra tags.
pub(crate) type CheckKey = (Option<Arc<str>>, String, Vec<(String, String)>);

/// The data of a VU's store: its WASI context (no authority), its client, and
/// what the host interfaces need.
pub struct VuState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    run: Arc<RunContext>,
    identity: VuIdentity,
    log_budget: crate::host::LogBudget,
    groups: Vec<crate::host::OpenGroup>,
    /// Group paths this VU has told the run's metrics about.
    groups_noted: std::collections::HashSet<Arc<str>>,
    request_tags: TagCache<crate::host::RequestShape>,
    check_tags: TagCache<CheckKey>,
    wasi_http: crate::host::WasiHttp,
    output: GuestOutput,
    deadline: Option<Instant>,
}

impl VuState {
    pub(crate) fn identity(&self) -> &VuIdentity {
        &self.identity
    }

    pub(crate) fn run(&self) -> &RunContext {
        &self.run
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.run.metrics
    }

    pub(crate) fn vu_env(&self) -> &BTreeMap<String, String> {
        &self.identity.env
    }

    /// The tags of what the VU records now: its own, with `group` while a
    /// group is open.
    pub(crate) fn tags(&self) -> TagSet {
        match self.groups.last() {
            Some(group) => group.tags.clone(),
            None => self.identity.tags.clone(),
        }
    }

    /// The path of the innermost open group.
    pub(crate) fn group_path(&self) -> Option<Arc<str>> {
        self.groups.last().map(|group| group.path.clone())
    }

    pub(crate) fn groups(&self) -> &[crate::host::OpenGroup] {
        &self.groups
    }

    pub(crate) fn groups_mut(&mut self) -> &mut Vec<crate::host::OpenGroup> {
        &mut self.groups
    }

    /// Tells the run's metrics about the group `path`, the first time this VU
    /// enters it (so the summary can list groups in the order they ran).
    pub(crate) fn note_group(&mut self, path: &Arc<str>) {
        if self.groups_noted.len() < TagCache::<()>::CAPACITY
            && self.groups_noted.insert(path.clone())
        {
            self.run.metrics.note_group(path);
        }
    }

    /// The VU's own HTTP client, which `http` and `wasi:http` share.
    pub(crate) fn client(&self) -> &HttpClient {
        self.wasi_http.hooks.client()
    }

    pub(crate) fn log_budget(&mut self) -> &mut crate::host::LogBudget {
        &mut self.log_budget
    }

    pub(crate) fn request_tags(&mut self) -> &mut TagCache<crate::host::RequestShape> {
        &mut self.request_tags
    }

    /// The tags of the check `key`, made by `make` on this VU's first use of
    /// it, which is also noted for the summary's order.
    pub(crate) fn check_tags(
        &mut self,
        key: CheckKey,
        make: impl FnOnce(&CheckKey) -> TagSet,
    ) -> TagSet {
        let metrics = &self.run.metrics;
        self.check_tags.get_or_insert_with(key, |key| {
            let (group, name, _) = key;
            metrics.note_check(group.as_deref().unwrap_or_default(), name);
            make(key)
        })
    }

    pub(crate) fn record(&self, samples: &[Sample]) {
        self.run.metrics.record(self.identity.id as usize, samples);
    }
}

impl WasiHttpView for VuState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        // Requests are recorded with the VU's tags as of now (its open group).
        let tags = self.tags();
        self.wasi_http.hooks.set_tags(tags);
        WasiHttpCtxView {
            ctx: &mut self.wasi_http.ctx,
            table: &mut self.table,
            hooks: &mut self.wasi_http.hooks,
        }
    }
}

impl WasiView for VuState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The last bytes a guest wrote to stdout or stderr (a Rust panic message ends
/// up here), kept to explain a trap.
#[derive(Clone, Default)]
struct GuestOutput(Arc<Mutex<Vec<u8>>>);

const OUTPUT_TAIL: usize = 4096;

impl GuestOutput {
    /// What the guest last said that explains a failure: a Rust panic's
    /// "panicked at ..." line and message, else its last line.
    fn explanation(&self) -> Option<String> {
        let bytes = self.0.lock().expect("guest output poisoned");
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        let start = lines
            .iter()
            .rposition(|l| l.contains("panicked at"))
            .unwrap_or(lines.len().saturating_sub(1));
        let said = lines
            .get(start..)?
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        (!said.is_empty()).then_some(said)
    }

    fn clear(&self) {
        self.0.lock().expect("guest output poisoned").clear();
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let mut tail = self.0.lock().expect("guest output poisoned");
        tail.extend_from_slice(buf);
        if tail.len() > OUTPUT_TAIL {
            let excess = tail.len() - OUTPUT_TAIL;
            tail.drain(..excess);
        }
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl wasmtime_wasi::cli::IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// How a guest call ended, when it did not return normally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestFailure {
    /// The guest returned `err(message)`.
    #[error("{0}")]
    Error(String),
    /// The guest trapped (a panic, an out-of-bounds access, out of memory...). The
    /// instance is unusable afterwards.
    #[error("trap: {0}")]
    Trap(String),
    /// The call ran past its deadline and was stopped.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// One virtual user: a store and a live instance of the scenario.
pub struct Vu {
    store: Store<VuState>,
    bindings: Bindings,
}

impl Vu {
    /// Instantiates the scenario for a new VU.
    pub async fn new(
        engine: &VolleyEngine,
        pre: &ScenarioPre<VuState>,
        run: Arc<RunContext>,
        identity: VuIdentity,
    ) -> wasmtime::Result<Self> {
        let output = GuestOutput::default();
        // No preopened directories, environment, arguments or network: the
        // guest reaches the world only through the volley imports.
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(engine.limits().max_memory_bytes)
            .table_elements(engine.limits().max_table_elements)
            .trap_on_grow_failure(true)
            .build();
        let wasi_http = crate::host::WasiHttp::new(
            HttpClient::new(run.client.clone()),
            run.metrics().clone(),
            identity.id,
            identity.tags.clone(),
        );
        let state = VuState {
            wasi,
            table: ResourceTable::new(),
            limits,
            run,
            identity,
            log_budget: Default::default(),
            groups: Vec::new(),
            groups_noted: Default::default(),
            request_tags: TagCache::default(),
            check_tags: TagCache::default(),
            wasi_http,
            output,
            deadline: None,
        };
        let mut store = Store::new(engine.engine(), state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| match ctx.data().deadline {
            Some(deadline) if Instant::now() >= deadline => Ok(UpdateDeadline::Interrupt),
            _ => Ok(UpdateDeadline::Yield(1)),
        });
        let bindings = pre.instantiate_async(&mut store).await?;
        Ok(Self { store, bindings })
    }

    /// This VU's identity.
    pub fn identity(&self) -> &VuIdentity {
        &self.store.data().identity
    }

    /// Advances the iteration counter (call after each iteration).
    pub fn next_iteration(&mut self) {
        self.store.data_mut().identity.iteration += 1;
    }

    /// Calls the guest's `options` export, within `timeout`.
    pub async fn options(&mut self, timeout: Duration) -> Result<String, GuestFailure> {
        self.with_deadline(timeout);
        let result = self
            .bindings
            .call_options(&mut self.store)
            .await
            .map_err(|trap| self.trap(trap, timeout));
        self.store.data_mut().deadline = None;
        result
    }

    /// Calls the guest's `setup` export, within `timeout`.
    pub async fn setup(&mut self, timeout: Duration) -> Result<Vec<u8>, GuestFailure> {
        self.with_deadline(timeout);
        let result = match self.bindings.call_setup(&mut self.store).await {
            Ok(Ok(data)) => Ok(data),
            Ok(Err(message)) => Err(GuestFailure::Error(message)),
            Err(trap) => Err(self.trap(trap, timeout)),
        };
        self.store.data_mut().deadline = None;
        result
    }

    /// Calls the guest's `teardown` export, within `timeout`.
    pub async fn teardown(&mut self, timeout: Duration) -> Result<(), GuestFailure> {
        self.with_deadline(timeout);
        let result = match self.bindings.call_teardown(&mut self.store).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(GuestFailure::Error(message)),
            Err(trap) => Err(self.trap(trap, timeout)),
        };
        self.store.data_mut().deadline = None;
        result
    }

    /// Runs one iteration of `exec`. No deadline: executors stop a VU by
    /// dropping this future (the guest yields at every epoch tick).
    pub async fn iteration(&mut self, exec: &str) -> Result<(), GuestFailure> {
        self.store.data().output.clear();
        self.store.data_mut().groups.clear();
        match self.bindings.call_iteration(&mut self.store, exec).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(GuestFailure::Error(message)),
            Err(trap) => Err(self.trap(trap, Duration::ZERO)),
        }
    }

    fn with_deadline(&mut self, timeout: Duration) {
        self.store.data_mut().deadline = Some(Instant::now() + timeout);
    }

    fn trap(&self, error: wasmtime::Error, timeout: Duration) -> GuestFailure {
        if matches!(
            error.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::Interrupt)
        ) {
            return GuestFailure::Timeout(timeout);
        }
        let mut message = match error.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            None => format!("{error:#}"),
        };
        if let Some(said) = self.store.data().output.explanation() {
            message = format!("{message} (guest said: {said})");
        }
        GuestFailure::Trap(message)
    }
}
