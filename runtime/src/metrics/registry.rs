//! Metric definitions: k6's built-in metrics and the custom ones a scenario adds.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// How a metric aggregates its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// A running total, reported as count and rate per second.
    Counter,
    /// The last value set, with min and max.
    Gauge,
    /// The share of samples that were true.
    Rate,
    /// The distribution of values: avg, min, med, max, percentiles.
    Trend,
}

/// What a metric's values measure, which decides how they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// Plain numbers.
    Default,
    /// Durations in milliseconds.
    Time,
    /// Sizes in bytes.
    Data,
}

/// One metric's definition.
#[derive(Debug, Clone)]
pub struct MetricInfo {
    /// The metric's name, such as `http_req_duration`.
    pub name: Arc<str>,
    /// How it aggregates.
    pub kind: MetricKind,
    /// What its values measure.
    pub value_type: ValueType,
    /// Whether Volley defines it (as opposed to a scenario).
    pub builtin: bool,
}

/// A metric's index in its [`Registry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId(pub(crate) u32);

macro_rules! builtins {
    ($($id:ident = $name:literal, $kind:ident, $vt:ident;)*) => {
        /// The built-in metrics, as k6 names them.
        pub mod builtin {
            use super::MetricId;
            builtins!(@consts 0u32, $($id,)*);
        }
        const BUILTINS: &[(&str, MetricKind, ValueType)] = &[$(($name, MetricKind::$kind, ValueType::$vt),)*];
    };
    (@consts $n:expr, $id:ident, $($rest:ident,)*) => {
        #[allow(missing_docs)]
        pub const $id: MetricId = MetricId($n);
        builtins!(@consts $n + 1u32, $($rest,)*);
    };
    (@consts $n:expr,) => {};
}

builtins! {
    HTTP_REQS = "http_reqs", Counter, Default;
    HTTP_REQ_DURATION = "http_req_duration", Trend, Time;
    HTTP_REQ_BLOCKED = "http_req_blocked", Trend, Time;
    HTTP_REQ_CONNECTING = "http_req_connecting", Trend, Time;
    HTTP_REQ_TLS_HANDSHAKING = "http_req_tls_handshaking", Trend, Time;
    HTTP_REQ_SENDING = "http_req_sending", Trend, Time;
    HTTP_REQ_WAITING = "http_req_waiting", Trend, Time;
    HTTP_REQ_RECEIVING = "http_req_receiving", Trend, Time;
    HTTP_REQ_FAILED = "http_req_failed", Rate, Default;
    ITERATIONS = "iterations", Counter, Default;
    ITERATION_DURATION = "iteration_duration", Trend, Time;
    ITERATIONS_FAILED = "iterations_failed", Counter, Default;
    DROPPED_ITERATIONS = "dropped_iterations", Counter, Default;
    VUS = "vus", Gauge, Default;
    VUS_MAX = "vus_max", Gauge, Default;
    DATA_SENT = "data_sent", Counter, Data;
    DATA_RECEIVED = "data_received", Counter, Data;
    CHECKS = "checks", Rate, Default;
    GROUP_DURATION = "group_duration", Trend, Time;
}

/// Why a custom metric was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetricError {
    /// The name breaks k6's rule `[a-zA-Z_][a-zA-Z0-9_]{0,127}`.
    #[error(
        "invalid metric name {0:?}: use letters, digits and '_', not starting with a digit, at most 128 characters"
    )]
    InvalidName(String),
    /// The name belongs to a built-in metric.
    #[error("metric name {0:?} is a built-in metric")]
    Builtin(String),
    /// The name was already used with another kind or value type.
    #[error("metric {name:?} is already a {existing:?}, cannot use it as a {requested:?}")]
    KindMismatch {
        /// The metric's name.
        name: String,
        /// Its kind so far.
        existing: MetricKind,
        /// The kind asked for now.
        requested: MetricKind,
    },
}

/// Every metric of a run, built-in and custom, by name and by id.
pub struct Registry {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    by_name: HashMap<Arc<str>, MetricId>,
    infos: Vec<MetricInfo>,
}

impl Default for Registry {
    fn default() -> Self {
        let mut inner = Inner::default();
        for (name, kind, value_type) in BUILTINS {
            let id = MetricId(inner.infos.len() as u32);
            let name: Arc<str> = Arc::from(*name);
            inner.by_name.insert(name.clone(), id);
            inner.infos.push(MetricInfo {
                name,
                kind: *kind,
                value_type: *value_type,
                builtin: true,
            });
        }
        Self {
            inner: RwLock::new(inner),
        }
    }
}

impl Registry {
    /// The id of a custom metric, defining it on first use.
    pub fn custom(
        &self,
        name: &str,
        kind: MetricKind,
        value_type: ValueType,
    ) -> Result<MetricId, MetricError> {
        if let Some(id) = self.lookup(name) {
            let info = self.info(id);
            if info.builtin {
                return Err(MetricError::Builtin(name.into()));
            }
            if info.kind != kind {
                return Err(MetricError::KindMismatch {
                    name: name.into(),
                    existing: info.kind,
                    requested: kind,
                });
            }
            return Ok(id);
        }
        if !valid_name(name) {
            return Err(MetricError::InvalidName(name.into()));
        }
        let mut inner = self.inner.write().expect("metric registry poisoned");
        if let Some(id) = inner.by_name.get(name) {
            return Ok(*id);
        }
        let id = MetricId(inner.infos.len() as u32);
        let name: Arc<str> = Arc::from(name);
        inner.by_name.insert(name.clone(), id);
        inner.infos.push(MetricInfo {
            name,
            kind,
            value_type,
            builtin: false,
        });
        Ok(id)
    }

    /// The id of the metric called `name`, if any.
    pub fn lookup(&self, name: &str) -> Option<MetricId> {
        let inner = self.inner.read().expect("metric registry poisoned");
        inner.by_name.get(name).copied()
    }

    /// The definition of `id`.
    pub fn info(&self, id: MetricId) -> MetricInfo {
        let inner = self.inner.read().expect("metric registry poisoned");
        inner.infos[id.0 as usize].clone()
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_metrics_are_checked() {
        let registry = Registry::default();
        let id = registry
            .custom("booking_duration", MetricKind::Trend, ValueType::Time)
            .unwrap();
        assert_eq!(
            registry.custom("booking_duration", MetricKind::Trend, ValueType::Time),
            Ok(id)
        );
        assert!(matches!(
            registry.custom("booking_duration", MetricKind::Counter, ValueType::Default),
            Err(MetricError::KindMismatch { .. })
        ));
        assert_eq!(
            registry.custom("http_reqs", MetricKind::Counter, ValueType::Default),
            Err(MetricError::Builtin("http_reqs".into()))
        );
        for bad in ["", "1abc", "a-b", "a b", &"x".repeat(129)] {
            assert!(matches!(
                registry.custom(bad, MetricKind::Counter, ValueType::Default),
                Err(MetricError::InvalidName(_))
            ));
        }
        assert_eq!(registry.info(builtin::CHECKS).name.as_ref(), "checks");
    }
}
