//! Scenario bytes -> a validated, compiled component ready to instantiate
//! once per VU.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, types::ComponentItem};

use crate::engine::VolleyEngine;
use crate::host::{self, ScenarioPre};
use crate::shape::ComponentShape;
use crate::vu::VuState;

/// The WIT package every scenario targets.
pub const WORLD: &str = "volley:scenario@0.1.0";

/// Why bytes are not a runnable scenario. Each message tells the user what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// The bytes are not WebAssembly at all.
    #[error(
        "not a WebAssembly file: it does not start with the \\0asm magic bytes (is this the right file?)"
    )]
    NotWasm,
    /// A core module, not a component.
    #[error(
        "this is a core WebAssembly module, not a component: build for the wasm32-wasip2 target, or wrap the module with `wasm-tools component new`"
    )]
    CoreModule,
    /// A WebAssembly binary of a version or layer Volley does not know.
    #[error("unsupported WebAssembly binary (version/layer bytes {0:02x?})")]
    UnknownBinary([u8; 4]),
    /// The component failed to parse or compile.
    #[error("invalid component: {0}")]
    Invalid(String),
    /// The component imports something the host does not provide.
    #[error(
        "the component imports something Volley does not provide: {0} (scenarios may import only volley:scenario@0.1.0 and WASI 0.2's clocks, random, io, cli, filesystem, sockets and http interfaces; there are no files or sockets behind them, and http requests go through Volley's client)"
    )]
    UnsupportedImport(String),
    /// A memory of the component starts larger than a VU may grow.
    #[error(
        "the component's memory starts at {:.1} MiB, above the limit of {limit_mib} MiB per VU: raise the limit (--vu-memory-mib) to at least {}",
        *needs_bytes as f64 / (1 << 20) as f64,
        needs_bytes.div_ceil(1 << 20)
    )]
    MemoryTooLarge {
        /// The initial size of its largest memory, in bytes.
        needs_bytes: u64,
        /// The per-VU limit, in MiB.
        limit_mib: u64,
    },
    /// The component does not export the scenario world.
    #[error(
        "the component does not export the volley:scenario@0.1.0 world: {0} (export `options`, `setup`, `iteration` and `teardown`, e.g. with volley_sdk::export_scenario!)"
    )]
    NotAScenario(String),
}

/// A compiled scenario, ready to instantiate.
#[derive(Clone)]
pub struct Scenario {
    inner: Arc<Inner>,
}

struct Inner {
    sha256: String,
    bytes: Arc<[u8]>,
    engine: VolleyEngine,
    component: Component,
    shape: ComponentShape,
    pre: ScenarioPre<VuState>,
    exports: Vec<String>,
}

/// Checks the binary header: a component, not a core module or something else.
pub fn check_header(bytes: &[u8]) -> Result<(), ScenarioError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(ScenarioError::NotWasm);
    }
    match [bytes[4], bytes[5], bytes[6], bytes[7]] {
        [1, 0, 0, 0] => Err(ScenarioError::CoreModule),
        [_, _, 1, 0] => Ok(()),
        other => Err(ScenarioError::UnknownBinary(other)),
    }
}

/// The hex sha256 of `bytes`: a scenario's id.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The packages whose interfaces the host links, each with the versions it
/// serves: `volley:scenario` 0.1.x and WASI 0.2.x.
const LINKED_PACKAGES: &[(&str, &str)] = &[
    ("volley:scenario", "0.1."),
    ("wasi:cli", "0.2."),
    ("wasi:clocks", "0.2."),
    ("wasi:filesystem", "0.2."),
    ("wasi:http", "0.2."),
    ("wasi:io", "0.2."),
    ("wasi:random", "0.2."),
    ("wasi:sockets", "0.2."),
];

/// Whether the host links the import `name` (`namespace:package/interface@version`).
fn is_linked(name: &str) -> bool {
    let Some((path, version)) = name.split_once('@') else {
        return false;
    };
    let Some((package, _interface)) = path.split_once('/') else {
        return false;
    };
    LINKED_PACKAGES
        .iter()
        .any(|(linked, versions)| package == *linked && version.starts_with(versions))
}

/// Reads the shape of `bytes` and refuses an import the host cannot link, or
/// a memory larger than `engine`'s limit, before anything is compiled.
fn inspect(engine: &VolleyEngine, bytes: &[u8]) -> Result<ComponentShape, ScenarioError> {
    check_header(bytes)?;
    let shape =
        ComponentShape::read(bytes).map_err(|e| ScenarioError::Invalid(format!("{e:#}")))?;
    if let Some(import) = shape.imports.iter().find(|name| !is_linked(name)) {
        return Err(ScenarioError::UnsupportedImport(import.clone()));
    }
    let limit = engine.limits().max_memory_bytes as u64;
    if shape.initial_memory_bytes > limit {
        return Err(ScenarioError::MemoryTooLarge {
            needs_bytes: shape.initial_memory_bytes,
            limit_mib: limit >> 20,
        });
    }
    Ok(shape)
}

impl Scenario {
    /// Validates and compiles `bytes` on `engine`.
    pub fn compile(engine: &VolleyEngine, bytes: &[u8]) -> Result<Self, ScenarioError> {
        let shape = inspect(engine, bytes)?;
        let component = Component::new(engine.engine(), bytes)
            .map_err(|e| ScenarioError::Invalid(format!("{e:#}")))?;
        Self::link(
            engine,
            component,
            shape,
            Arc::from(bytes),
            sha256_hex(bytes),
        )
    }

    /// This scenario for another engine (one sized for a run): the compiled code
    /// is reused when the engines' code settings match, else it is compiled again.
    pub fn for_engine(&self, engine: &VolleyEngine) -> Result<Self, ScenarioError> {
        let reused = self
            .inner
            .component
            .serialize()
            .ok()
            .and_then(|serialized| deserialize(engine, &serialized).ok());
        let component = match reused {
            Some(component) => component,
            None => Component::new(engine.engine(), &self.inner.bytes)
                .map_err(|e| ScenarioError::Invalid(format!("{e:#}")))?,
        };
        Self::link(
            engine,
            component,
            self.inner.shape.clone(),
            self.inner.bytes.clone(),
            self.inner.sha256.clone(),
        )
    }

    /// The compiled code, to store in a cache and load with
    /// [`Scenario::from_precompiled`]: a sha256 of the code, then the code.
    pub fn precompiled(&self) -> Result<Vec<u8>, ScenarioError> {
        let code = self
            .inner
            .component
            .serialize()
            .map_err(|e| ScenarioError::Invalid(format!("{e:#}")))?;
        let mut out = Sha256::digest(&code).to_vec();
        out.extend_from_slice(&code);
        Ok(out)
    }

    /// The scenario `bytes` from code that [`Scenario::precompiled`] produced
    /// for an engine with the same [`VolleyEngine::compatibility_key`]. Code
    /// that is damaged or was made for another engine is refused (the caller
    /// then compiles the bytes again).
    pub fn from_precompiled(
        engine: &VolleyEngine,
        bytes: &[u8],
        precompiled: &[u8],
    ) -> Result<Self, ScenarioError> {
        let damaged = || ScenarioError::Invalid("damaged precompiled code".into());
        let (digest, code) = precompiled.split_at_checked(32).ok_or_else(damaged)?;
        if Sha256::digest(code).as_slice() != digest {
            return Err(damaged());
        }
        let shape = inspect(engine, bytes)?;
        let component =
            deserialize(engine, code).map_err(|e| ScenarioError::Invalid(format!("{e:#}")))?;
        Self::link(
            engine,
            component,
            shape,
            Arc::from(bytes),
            sha256_hex(bytes),
        )
    }

    fn link(
        engine: &VolleyEngine,
        component: Component,
        shape: ComponentShape,
        bytes: Arc<[u8]>,
        sha256: String,
    ) -> Result<Self, ScenarioError> {
        let mut linker = Linker::<VuState>::new(engine.engine());
        host::add_to_linker(&mut linker).expect("the host interfaces link");
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(engine.engine())
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentFunc(_)))
            .map(|(n, _)| n.to_owned())
            .collect();
        let instance_pre = linker.instantiate_pre(&component).map_err(|e| {
            let message = format!("{e:#}");
            let missing = shape
                .imports
                .iter()
                .find(|name| message.contains(name.as_str()))
                .cloned()
                .unwrap_or(message);
            ScenarioError::UnsupportedImport(missing)
        })?;
        let pre = ScenarioPre::new(instance_pre)
            .map_err(|e| ScenarioError::NotAScenario(format!("{e:#}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                sha256,
                bytes,
                engine: engine.clone(),
                component,
                shape,
                pre,
                exports,
            }),
        })
    }

    /// The hex sha256 of the component's bytes.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// The component's size in bytes.
    pub fn size(&self) -> usize {
        self.inner.bytes.len()
    }

    /// What the component imports, by name.
    pub fn imports(&self) -> &[String] {
        &self.inner.shape.imports
    }

    /// The functions the component exports, by name.
    pub fn exports(&self) -> &[String] {
        &self.inner.exports
    }

    /// What one instance of it takes from the instance pool.
    pub fn shape(&self) -> &ComponentShape {
        &self.inner.shape
    }

    /// The engine it was compiled for.
    pub fn engine(&self) -> &VolleyEngine {
        &self.inner.engine
    }

    pub(crate) fn pre(&self) -> &ScenarioPre<VuState> {
        &self.inner.pre
    }
}

#[allow(unsafe_code)]
fn deserialize(engine: &VolleyEngine, serialized: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: the bytes were produced by `Component::serialize`, from a
    // component wasmtime compiled and validated itself: in this process, or
    // (through `from_precompiled`) by Volley into its own cache, checked
    // against their sha256; wasmtime checks its version and settings itself.
    unsafe { Component::deserialize(engine.engine(), serialized) }
}
