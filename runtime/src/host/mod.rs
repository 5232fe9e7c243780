//! The host side of the `volley:scenario` world: one file per WIT interface.
//! This is the only place host bindings are generated.

mod checks;
mod group;
mod http;
mod log;
mod metrics;
mod vu;
mod wasi_http;

pub(crate) use group::OpenGroup;
pub(crate) use http::RequestShape;
pub(crate) use log::LogBudget;
pub use log::{LogEntry, RunLog};
pub(crate) use wasi_http::WasiHttp;

/// Bindings generated from `plugin-sdk/wit` (documented there).
#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        world: "scenario",
        path: "../plugin-sdk/wit",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

pub use bindings::*;

/// Links the `volley:scenario` imports, WASI with no ambient authority (no
/// files, sockets, environment or arguments; see [`crate::vu`]), and
/// `wasi:http` sending through the VU's client, into `linker`.
pub fn add_to_linker(
    linker: &mut wasmtime::component::Linker<crate::vu::VuState>,
) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    Scenario::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |state| state)
}
