//! `volley:scenario/vu`: who and where the running VU is, the run's
//! environment, setup data, and sleep.

use std::time::Duration;

use super::volley::scenario::vu::Host;
use crate::vu::VuState;

impl Host for VuState {
    async fn id(&mut self) -> wasmtime::Result<u32> {
        Ok(self.identity().id)
    }

    async fn iteration(&mut self) -> wasmtime::Result<u64> {
        Ok(self.identity().iteration)
    }

    async fn scenario(&mut self) -> wasmtime::Result<String> {
        Ok(self.identity().scenario.to_string())
    }

    async fn env(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.vu_env().get(&name).cloned())
    }

    async fn env_vars(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .vu_env()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn setup_data(&mut self) -> wasmtime::Result<Vec<u8>> {
        Ok(self.run().setup_data().to_vec())
    }

    async fn sleep(&mut self, millis: u64) -> wasmtime::Result<()> {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        Ok(())
    }
}
