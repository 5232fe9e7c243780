//! The `volley` binary's library: the command line, the demo target service
//! and the terminal summary.

pub mod cli;
pub mod demo_target;
pub mod progress;
pub mod summary_text;
