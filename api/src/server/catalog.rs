//! The scenarios the server knows: validation on upload, bytes and metadata in
//! the store, and compiled code kept in memory (the most recent few) and on
//! disk (precompiled, keyed by the engine's settings), so a run does not
//! compile its scenario again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::StatusCode;
use volley_runtime::engine::VolleyEngine;
use volley_runtime::run;
use volley_runtime::scenario::{self, Scenario};

use super::error::{ApiError, ApiResult};
use super::models::ScenarioInfo;
use super::now;
use super::store::Store;

/// Compiled scenarios kept in memory; older ones are loaded from disk again.
const KEPT_IN_MEMORY: usize = 16;

/// Stored scenarios and their compiled code.
pub struct Catalog {
    store: Arc<Store>,
    /// Compiles and validates; runs' engines reuse its code (same settings).
    engine: VolleyEngine,
    compiled: Mutex<Compiled>,
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
    /// A catalog over `store`, compiling on `engine`.
    pub fn new(store: Arc<Store>, engine: VolleyEngine) -> Self {
        Self {
            store,
            engine,
            compiled: Mutex::default(),
        }
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
        let key = self.engine.compatibility_key();
        if let Some(code) = self.store.compiled(id, &key) {
            match Scenario::from_precompiled(&self.engine, &bytes, &code) {
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
        let engine = self.engine.clone();
        Ok(
            tokio::task::spawn_blocking(move || Scenario::compile(&engine, &bytes))
                .await
                .map_err(ApiError::internal)??,
        )
    }

    /// Keeps a compiled scenario in memory and its code on disk.
    fn keep(&self, scenario: &Scenario) {
        let key = self.engine.compatibility_key();
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
