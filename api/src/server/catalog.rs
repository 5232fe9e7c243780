//! The scenarios the server knows: validation on upload, bytes and metadata in
//! the store, and compiled code kept in memory (the most recent few) and on
//! disk (precompiled, keyed by the engine's settings), so a run does not
//! compile its scenario again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::StatusCode;
use volley_runtime::engine::{VolleyEngine, VuLimits};
use volley_runtime::run;
use volley_runtime::scenario::{self, Scenario};
use volley_runtime::shape::ComponentShape;

use super::error::{ApiError, ApiResult};
use super::models::ScenarioInfo;
use super::now;
use super::store::Store;

/// Compiled scenarios kept in memory; older ones are loaded from disk again.
const KEPT_IN_MEMORY: usize = 16;

/// Stored scenarios and their compiled code.
pub struct Catalog {
    store: Arc<Store>,
    /// Compile and validate; runs' engines reuse their code (same settings):
    /// one for components whose memories are copied into each VU, one for
    /// those whose large initial image is mapped copy-on-write.
    engines: Engines,
    compiled: Mutex<Compiled>,
}

/// The catalog's engines, one per setting that changes compiled code.
struct Engines {
    copied: VolleyEngine,
    copy_on_write: VolleyEngine,
}

impl Engines {
    /// The engine for `bytes`: the one its runs' engines will match.
    fn for_bytes(&self, bytes: &[u8]) -> &VolleyEngine {
        match ComponentShape::read(bytes) {
            Ok(shape) if shape.copy_on_write() => &self.copy_on_write,
            _ => &self.copied,
        }
    }
}

#[derive(Default)]
struct Compiled {
    by_id: HashMap<String, Scenario>,
    /// Ids, oldest first.
    order: VecDeque<String>,
}

impl Compiled {
    fn keep(&mut self, scenario: &Scenario) {
        let id = scenario.sha256().to_owned();
        if self.by_id.insert(id.clone(), scenario.clone()).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > KEPT_IN_MEMORY {
            if let Some(oldest) = self.order.pop_front() {
                self.by_id.remove(&oldest);
            }
        }
    }

    fn forget(&mut self, id: &str) {
        self.by_id.remove(id);
        self.order.retain(|kept| kept != id);
    }
}

impl Catalog {
    /// A catalog over `store`, compiling for VUs with `limits`.
    pub fn new(store: Arc<Store>, limits: VuLimits) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            engines: Engines {
                copied: VolleyEngine::new(2, limits, &ComponentShape::GENEROUS)
                    .map_err(|e| anyhow::anyhow!("{e:#}"))?,
                copy_on_write: VolleyEngine::new(
                    2,
                    limits,
                    &ComponentShape::generous_copy_on_write(),
                )
                .map_err(|e| anyhow::anyhow!("{e:#}"))?,
            },
            compiled: Mutex::default(),
        })
    }

    /// Validates and stores a component, as `volley validate` checks it.
    /// Returns its metadata and whether it was new.
    pub async fn add(&self, bytes: Vec<u8>, name: String) -> ApiResult<(ScenarioInfo, bool)> {
        scenario::check_header(&bytes)?;
        let id = scenario::sha256_hex(&bytes);
        if let Some(existing) = self.store.scenario(&id)? {
            return Ok((existing, false));
        }
        let bytes = Arc::new(bytes);
        let scenario = self.compile(bytes.clone()).await?;
        let options = run::scenario_options(&scenario).await.map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_options_export",
                e,
            )
        })?;
        let info = ScenarioInfo {
            id: id.clone(),
            name,
            size: bytes.len() as u64,
            created_at: now(),
            exports: scenario.exports().to_vec(),
            imports: scenario.imports().to_vec(),
            default_options: serde_json::to_value(&options).map_err(ApiError::internal)?,
        };
        self.store
            .insert_scenario(&info, &bytes)
            .map_err(ApiError::internal)?;
        self.keep(&scenario);
        // A simultaneous upload of the same bytes may have stored it first.
        let stored = self.store.scenario(&id)?.unwrap_or(info);
        Ok((stored, true))
    }

    /// Deletes scenario `id` (with its ended runs) unless a run that has not
    /// ended uses it.
    pub fn delete(&self, id: &str) -> ApiResult<()> {
        if self.store.scenario(id)?.is_none() {
            return Err(scenario_not_found(id));
        }
        if self.store.scenario_in_use(id)? {
            return Err(ApiError::conflict(
                "scenario_in_use",
                format!("scenario {id} is used by a queued or running run; stop it first"),
            ));
        }
        self.store.delete_scenario(id).map_err(ApiError::internal)?;
        self.compiled.lock().expect("poisoned").forget(id);
        Ok(())
    }

    /// The compiled scenario `id`: from memory, else from its precompiled code
    /// on disk, else compiled from its bytes again (and kept).
    pub async fn compiled(&self, id: &str) -> Result<Scenario, String> {
        if let Some(scenario) = self.compiled.lock().expect("poisoned").by_id.get(id) {
            return Ok(scenario.clone());
        }
        let bytes = self
            .store
            .scenario_bytes(id)
            .map_err(|e| format!("cannot read the scenario's bytes: {e}"))?;
        let started = Instant::now();
        let engine = self.engines.for_bytes(&bytes);
        let key = engine.compatibility_key();
        if let Some(code) = self.store.compiled(id, &key) {
            match Scenario::from_precompiled(engine, &bytes, &code) {
                Ok(scenario) => {
                    tracing::info!(
                        "scenario {id}: loaded its precompiled code in {:.1} ms",
                        started.elapsed().as_secs_f64() * 1000.0
                    );
                    self.compiled.lock().expect("poisoned").keep(&scenario);
                    return Ok(scenario);
                }
                Err(e) => tracing::warn!("precompiled code of {id} not usable ({e}); compiling"),
            }
        }
        let scenario = self.compile(Arc::new(bytes)).await.map_err(|e| e.message)?;
        tracing::info!(
            "scenario {id}: compiled in {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
        self.keep(&scenario);
        Ok(scenario)
    }

    /// Compiles `bytes` off the async threads.
    async fn compile(&self, bytes: Arc<Vec<u8>>) -> ApiResult<Scenario> {
        let engine = self.engines.for_bytes(&bytes).clone();
        Ok(
            tokio::task::spawn_blocking(move || Scenario::compile(&engine, &bytes))
                .await
                .map_err(ApiError::internal)??,
        )
    }

    /// Keeps a compiled scenario in memory and its code on disk.
    fn keep(&self, scenario: &Scenario) {
        let key = scenario.engine().compatibility_key();
        match scenario.precompiled() {
            Ok(code) => {
                if let Err(e) = self.store.put_compiled(scenario.sha256(), &key, &code) {
                    tracing::warn!("could not keep the compiled scenario: {e:#}");
                }
            }
            Err(e) => tracing::warn!("could not serialize the compiled scenario: {e}"),
        }
        self.compiled.lock().expect("poisoned").keep(scenario);
    }
}

/// 404 for an unknown scenario.
pub fn scenario_not_found(id: &str) -> ApiError {
    ApiError::not_found("scenario_not_found", format!("no scenario with id {id:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component whose memory starts from `data_bytes` bytes of data.
    fn component_with_data(data_bytes: usize) -> Vec<u8> {
        let pages = data_bytes.div_ceil(64 << 10) + 1;
        let data = "a".repeat(data_bytes);
        wat::parse_str(format!(
            r#"(component (core module (memory {pages}) (data (i32.const 0) "{data}")))"#
        ))
        .unwrap()
    }

    #[test]
    fn each_component_compiles_on_the_engine_its_runs_will_match() {
        let limits = VuLimits::default();
        let engines = Engines {
            copied: VolleyEngine::new(2, limits, &ComponentShape::GENEROUS).unwrap(),
            copy_on_write: VolleyEngine::new(2, limits, &ComponentShape::generous_copy_on_write())
                .unwrap(),
        };
        let small = component_with_data(4 << 10);
        let large = component_with_data(2 << 20);
        for (bytes, copy_on_write) in [(&small, false), (&large, true)] {
            let shape = ComponentShape::read(bytes).unwrap();
            assert_eq!(shape.copy_on_write(), copy_on_write);
            // What a run of 50 VUs builds (run.rs).
            let run_engine = VolleyEngine::new(51, limits, &shape).unwrap();
            assert_eq!(
                engines.for_bytes(bytes).compatibility_key(),
                run_engine.compatibility_key()
            );
            // And what the CLI compiles on.
            assert_eq!(
                VolleyEngine::to_compile(bytes, limits)
                    .unwrap()
                    .compatibility_key(),
                run_engine.compatibility_key()
            );
        }
        assert_ne!(
            engines.copied.compatibility_key(),
            engines.copy_on_write.compatibility_key()
        );
    }
}
