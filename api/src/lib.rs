//! The `volley` binary's library: the command line, the REST server, the demo
//! target service and the terminal summary.

pub mod cli;
pub mod code_cache;
pub mod control;
pub mod demo_target;
pub mod export;
pub mod progress;
pub mod report;
pub mod server;
pub mod summary_text;
