//! Volley's engine: loads WebAssembly component scenarios, runs them once per
//! virtual user under a load model, and measures what they do.
//!
//! The flow: [`scenario::Scenario::compile`] validates and compiles the bytes;
//! [`run::start`] sizes an engine for the run, instantiates every VU, runs
//! `setup`, the executors and `teardown`, and produces a
//! [`metrics::Summary`].

pub mod client;
pub mod duration;
pub mod engine;
pub mod executor;
pub mod host;
pub mod metrics;
pub mod options;
pub mod output;
pub mod run;
pub mod scenario;
pub mod shape;
pub mod thresholds;
pub mod vu;
