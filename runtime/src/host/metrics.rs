//! `volley:scenario/metrics`: custom counters, gauges, rates and trends.

use super::volley::scenario::metrics::Host;
use crate::metrics::{MetricKind, Sample, ValueType};
use crate::vu::VuState;

impl VuState {
    fn custom_sample(
        &mut self,
        name: &str,
        kind: MetricKind,
        value_type: ValueType,
        value: f64,
        tags: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        // A bad name is a bug in the scenario: trap, so the author sees it at once.
        let metric = self.metrics().registry().custom(name, kind, value_type)?;
        let tags = self.tags().with(tags);
        self.record(&[Sample {
            metric,
            tags,
            value,
        }]);
        Ok(())
    }
}

impl Host for VuState {
    async fn counter_add(
        &mut self,
        name: String,
        value: f64,
        tags: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.custom_sample(&name, MetricKind::Counter, ValueType::Default, value, tags)
    }

    async fn gauge_set(
        &mut self,
        name: String,
        value: f64,
        tags: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.custom_sample(&name, MetricKind::Gauge, ValueType::Default, value, tags)
    }

    async fn rate_add(
        &mut self,
        name: String,
        ok: bool,
        tags: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        let value = if ok { 1.0 } else { 0.0 };
        self.custom_sample(&name, MetricKind::Rate, ValueType::Default, value, tags)
    }

    async fn trend_add(
        &mut self,
        name: String,
        value: f64,
        is_time: bool,
        tags: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        let value_type = if is_time {
            ValueType::Time
        } else {
            ValueType::Default
        };
        self.custom_sample(&name, MetricKind::Trend, value_type, value, tags)
    }
}
