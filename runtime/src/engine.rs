//! The wasmtime engine every scenario runs on, configured for many small,
//! long-lived instances: one per virtual user.

use std::sync::{Arc, Weak};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::shape::ComponentShape;

/// How often the engine's epoch advances. A running guest yields to the
/// scheduler (and has its deadline checked) at least this often.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per-VU resource limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VuLimits {
    /// Largest linear memory one VU's instance may grow to, in bytes.
    pub max_memory_bytes: usize,
    /// Largest table (elements) one VU's instance may use.
    pub max_table_elements: usize,
}

impl Default for VuLimits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 256 << 20,
            max_table_elements: 20_000,
        }
    }
}

/// A wasmtime engine with the epoch ticker that drives deadlines.
///
/// Cloning is cheap; the ticker thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct VolleyEngine {
    engine: Engine,
    limits: VuLimits,
    _ticker: Arc<Ticker>,
}

struct Ticker;

impl VolleyEngine {
    /// Builds an engine whose instance pool holds `instances` instances of
    /// components of `shape` (one per VU, plus the one setup and teardown use).
    /// A component whose tables start larger than `limits` allows gets room
    /// for them.
    pub fn new(instances: u32, limits: VuLimits, shape: &ComponentShape) -> wasmtime::Result<Self> {
        let limits = VuLimits {
            max_table_elements: usize::try_from(shape.table_elements)
                .unwrap_or(usize::MAX)
                .max(limits.max_table_elements),
            ..limits
        };
        let engine = Engine::new(&config(instances, limits, shape))?;
        let ticker = Arc::new(Ticker);
        spawn_epoch_ticker(engine.weak(), Arc::downgrade(&ticker));
        Ok(Self {
            engine,
            limits,
            _ticker: ticker,
        })
    }

    /// A small engine (two instances: enough to validate `bytes` and read its
    /// options) whose code settings match those of the engines that runs of
    /// `bytes` get, so that they reuse the code it compiles.
    pub fn to_compile(bytes: &[u8], limits: VuLimits) -> wasmtime::Result<Self> {
        // Bytes that are not a component get an engine that lets the compile
        // say what is wrong with them.
        let shape = ComponentShape::read(bytes).unwrap_or(ComponentShape::GENEROUS);
        Self::new(2, limits, &shape)
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The per-VU limits this engine enforces.
    pub fn limits(&self) -> VuLimits {
        self.limits
    }

    /// A key that differs between engines whose compiled code cannot be
    /// shared (wasmtime hashes its version, target and code settings): part of
    /// the name of a precompiled-component cache entry.
    pub fn compatibility_key(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }
}

/// Guard pages after each linear memory. Memories are reserved at their limit
/// (not wasmtime's 4 GiB default, which caps a process near 5,000 VUs), so
/// bounds are checked explicitly and a small guard is enough.
const MEMORY_GUARD: u64 = 64 << 10;

fn config(instances: u32, limits: VuLimits, shape: &ComponentShape) -> Config {
    let instances = instances.max(1);
    let per_instance = |count: u32| count.max(1);
    let total = |count: u32| instances.saturating_mul(per_instance(count));
    let mut pool = PoolingAllocationConfig::new();
    // Size the pool to the run and to the component: the defaults (1,000 of
    // everything) would cap a run at fewer VUs than users ask for, and a
    // constant per component would reject guests that bundle a runtime.
    pool.total_component_instances(instances)
        .total_core_instances(total(shape.core_instances))
        .total_memories(total(shape.memories))
        .total_tables(total(shape.tables))
        .total_stacks(instances)
        .max_core_instances_per_component(per_instance(shape.core_instances))
        .max_memories_per_component(per_instance(shape.memories))
        .max_memories_per_module(per_instance(shape.memories_per_module))
        .max_tables_per_component(per_instance(shape.tables))
        .max_tables_per_module(per_instance(shape.tables_per_module))
        .table_elements(limits.max_table_elements)
        .max_memory_size(limits.max_memory_bytes)
        // Keep freed slots' pages resident only up to a point, so a run that
        // replaces trapped VUs does not grow without bound.
        .max_unused_warm_slots(64);

    let mut config = Config::new();
    config
        // Instances come from a pre-reserved pool: about 10 us each instead of
        // an mmap per memory, table and stack.
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        // Guests yield every epoch tick, so a busy guest cannot starve the
        // other VUs sharing a thread, and a deadline can stop a looping one.
        .epoch_interruption(true)
        // A VU sleeping inside a host call keeps its fiber stack: keep it small.
        .max_wasm_stack(512 << 10)
        .async_stack_size(1 << 20)
        // Copy-on-write images and component-model concurrency each cost extra
        // memory mappings per instance; without them a process holds far more
        // VUs below the kernel's `vm.max_map_count`. Components with a large
        // initial image (an interpreter's heap) share it copy-on-write.
        .memory_init_cow(shape.copy_on_write())
        .concurrency_support(false)
        .memory_reservation(limits.max_memory_bytes as u64)
        .memory_guard_size(MEMORY_GUARD)
        .memory_reservation_for_growth(0);
    config
}

fn spawn_epoch_ticker(engine: wasmtime::EngineWeak, alive: Weak<Ticker>) {
    std::thread::Builder::new()
        .name("volley-epoch".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(EPOCH_TICK);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .expect("spawning the epoch thread");
}
