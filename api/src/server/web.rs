//! The web dashboard at `/ui/`: a page listing runs and scenarios, a form to
//! upload a scenario and start a run, and a run page with live charts fed by
//! the metrics stream. Plain HTML, CSS and JavaScript built into the binary;
//! nothing is fetched from elsewhere, so it works offline. The pages call the
//! `/v1` API from the browser, with the token the user pastes.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// The dashboard's page.
const INDEX_HTML: &str = include_str!("web/index.html");
/// The dashboard's logic: API calls, the stream reader, the pages.
const APP_JS: &str = include_str!("web/app.js");
/// What the run page and the report share: charts, thresholds, summary tables.
pub const RUNVIEW_JS: &str = include_str!("web/runview.js");
/// A small canvas line chart.
pub const CHART_JS: &str = include_str!("web/chart.js");
/// The one stylesheet, shared with the report.
pub const STYLE_CSS: &str = include_str!("web/style.css");

/// Nothing but the dashboard's own files (and data: icons) may load.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The dashboard's routes (no token needed: the page asks for it).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    const JS: &str = "text/javascript; charset=utf-8";
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/ui/") }))
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route(
            "/ui/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route("/ui/app.js", get(|| async { asset(JS, APP_JS) }))
        .route("/ui/runview.js", get(|| async { asset(JS, RUNVIEW_JS) }))
        .route("/ui/chart.js", get(|| async { asset(JS, CHART_JS) }))
        .route(
            "/ui/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
}
