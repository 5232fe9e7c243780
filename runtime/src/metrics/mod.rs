//! Metrics: samples, sharded HDR aggregation, snapshots and the summary.

mod registry;
mod sink;
mod summary;
mod tags;
mod value;

pub use registry::{MetricError, MetricId, MetricInfo, MetricKind, Registry, ValueType, builtin};
pub use sink::{FirstUses, Metrics, Progress, Sample, SeriesSnapshot, Snapshot, TimedSample};
pub use summary::{CheckSummary, MetricSummary, Summary, TREND_PERCENTILES};
pub use tags::{TagCache, TagSet};
pub use value::{Trend, Value};
