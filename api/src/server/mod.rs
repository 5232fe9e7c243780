//! `volley serve`: the REST API. Upload scenarios, start runs, follow them live,
//! stop or rescale them, fetch results; everything persisted so a restart
//! loses nothing finished.
//!
//! One module per idea: `error` (the JSON error every failure becomes),
//! `models` (request and response bodies), `store` (SQLite and blobs),
//! `catalog` (validated scenarios and their compiled code), `runner` (queue
//! and runs in flight), `views` (what the API shows of a run), `webhook`,
//! `request` (reading queries and bodies), and the handlers of each resource
//! (`scenarios`, `runs`).

mod catalog;
mod error;
mod exposition;
pub(crate) mod models;
mod request;
mod runner;
mod runs;
mod scenarios;
mod store;
pub(crate) mod views;
pub(crate) mod web;
mod webhook;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use volley_runtime::client::AllowList;
use volley_runtime::engine::VuLimits;
use volley_runtime::output::RemoteWriteConfig;

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use models::*;
pub use webhook::{EVENT_HEADER, RUN_HEADER, SIGNATURE_HEADER};

/// The environment variable holding the API token, when `--api-token` is not given.
pub const API_TOKEN_ENV: &str = "VOLLEY_API_TOKEN";
/// The environment variable holding the allowed targets, comma-separated.
pub const ALLOWED_TARGETS_ENV: &str = "VOLLEY_ALLOW_TARGETS";
/// The environment variable holding the webhook secret.
pub const WEBHOOK_SECRET_ENV: &str = "VOLLEY_WEBHOOK_SECRET";

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Where the database and blobs live.
    pub data_dir: PathBuf,
    /// When set, every `/v1` call needs `Authorization: Bearer <token>`.
    pub api_token: Option<String>,
    /// Runs executing at once; more wait in the queue.
    pub max_concurrent_runs: usize,
    /// The largest upload accepted, in bytes.
    pub max_upload_bytes: usize,
    /// Limits of each VU.
    pub vu_limits: VuLimits,
    /// When set, the only targets runs may send requests to; others fail
    /// with a `denied` error.
    pub allowed_targets: Option<AllowList>,
    /// When set, webhooks carry an HMAC-SHA256 signature under this secret.
    pub webhook_secret: Option<String>,
    /// Delivery attempts per webhook.
    pub webhook_attempts: u32,
    /// The pause before the second attempt (doubling after each).
    pub webhook_backoff: Duration,
    /// Time between events of the metrics stream.
    pub stream_interval: Duration,
    /// How long a shutdown waits for runs to stop gracefully.
    pub shutdown_grace: Duration,
    /// Where every run's metrics are also pushed (Prometheus remote write),
    /// each run labelled `testid=<run id>` unless its tags set a `testid`.
    pub remote_writes: Vec<RemoteWriteConfig>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 6565)),
            data_dir: PathBuf::from("volley-data"),
            api_token: None,
            max_concurrent_runs: 1,
            max_upload_bytes: 64 << 20,
            vu_limits: VuLimits::default(),
            allowed_targets: None,
            remote_writes: Vec::new(),
            webhook_secret: None,
            webhook_attempts: 5,
            webhook_backoff: Duration::from_secs(1),
            stream_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(60),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    config: Arc<ServeConfig>,
    catalog: Arc<catalog::Catalog>,
    runner: Arc<runner::Runner>,
    /// When the server started, in seconds since the Unix epoch.
    started_at: f64,
}

/// The OpenAPI document's frame; the paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Volley API",
        description = "Upload WebAssembly scenarios, start load-test runs, follow them live, stop or rescale them, and fetch their results.\n\nEvery error is JSON: `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}` with a stable `code`. When the server runs with `--api-token`, every `/v1` call needs `Authorization: Bearer <token>`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = "scenarios", description = "WebAssembly scenario components"),
        (name = "runs", description = "Load-test runs"),
        (name = "metrics", description = "Live and recorded metrics of a run"),
        (name = "server", description = "The server itself")
    ),
    components(schemas(WebhookPayload)),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

struct BearerScheme;

/// Documents the errors every operation can answer: 401 on `/v1` (when the
/// server has a token) and 500 (a broken disk, a bug). Applied once the router
/// has added the paths.
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        let unauthorized =
            error("`unauthorized`: the server needs `Authorization: Bearer <token>`.");
        let internal = error("`internal`: a fault of the server (its log has the cause).");
        for (path, item) in openapi.paths.paths.iter_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut operation.responses.responses;
                if path.starts_with("/v1/") {
                    responses.insert("401".into(), unauthorized.clone().into());
                }
                responses.insert("500".into(), internal.clone().into());
            }
        }
    }
}

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Is the server up?
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "server",
    responses((status = 200, description = "The server answers.", body = Health))
)]
async fn healthz(State(app): State<AppState>) -> Result<Json<Health>, ApiError> {
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        runs_active: app.runner.active_count(),
        runs_queued: app.runner.store().queued_count()?,
    }))
}

/// The server and every run executing now, for Prometheus to scrape.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "server",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus's text exposition format (0.0.4): the server's own figures (`volley_*`) and each executing run's series under k6's names, labelled `run_id` and `testid` (trends as summaries since the run began). When the server has an API token, it needs it too.", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "`unauthorized`: the server needs `Authorization: Bearer <token>`.", body = ErrorBody),
    )
)]
async fn metrics(State(app): State<AppState>, headers: header::HeaderMap) -> Response {
    if !authorized(&app, &headers) {
        return unauthorized().into_response();
    }
    let store = app.runner.store();
    let figures = (|| -> rusqlite::Result<exposition::ServerFigures> {
        Ok(exposition::ServerFigures {
            runs: store.run_counts()?,
            runs_active: app.runner.active_count(),
            scenarios: store.scenario_count()?,
            start_time_seconds: app.started_at,
        })
    })();
    match figures {
        Ok(figures) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            exposition::render(&figures, &app.runner.live_runs()),
        )
            .into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// The `/v1` handlers, each registered with its OpenAPI operation.
fn v1_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            scenarios::upload_scenario,
            scenarios::list_scenarios
        ))
        .routes(routes!(scenarios::get_scenario, scenarios::delete_scenario))
        .routes(routes!(runs::create_run, runs::list_runs))
        .routes(routes!(runs::get_run, runs::patch_run))
        .routes(routes!(runs::stop_run))
        .routes(routes!(runs::run_metrics))
        .routes(routes!(runs::stream_metrics))
        .routes(routes!(runs::run_timeseries))
        .routes(routes!(runs::run_results))
        .routes(routes!(runs::run_logs))
        .routes(routes!(runs::run_report))
}

/// The handlers outside `/v1` (no token needed).
fn server_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics))
}

/// The OpenAPI document (what `GET /openapi.json` serves).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = v1_routes().merge(server_routes()).split_for_parts().1;
    utoipa::Modify::modify(&CommonErrors, &mut document);
    document
}

/// The whole application: the API, `/openapi.json`, `/docs`, JSON 404s.
fn app(state: AppState) -> Router {
    let (v1, _) = v1_routes().split_for_parts();
    let (server, _) = server_routes().split_for_parts();
    let spec = Arc::new(openapi_document());
    v1.layer(DefaultBodyLimit::max(state.config.max_upload_bytes))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        .merge(server)
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let spec = spec.clone();
                async move { Json(spec.as_ref().clone()) }
            }),
        )
        .route(
            "/docs",
            axum::routing::get(|| async { Html(include_str!("docs.html")) }),
        )
        .merge(web::routes())
        .fallback(|| async {
            ApiError::not_found("not_found", "no such endpoint; see /docs or /openapi.json")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not accept that method; see /docs",
            )
        })
        .with_state(state)
}

/// Rejects `/v1` calls without the right bearer token, when one is configured.
async fn require_token(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if authorized(&app, request.headers()) {
        next.run(request).await
    } else {
        unauthorized().into_response()
    }
}

/// Whether `headers` carry the server's API token (always, when it has none).
fn authorized(app: &AppState, headers: &header::HeaderMap) -> bool {
    let Some(expected) = app.config.api_token.as_deref() else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    given.is_some_and(|given| {
        use subtle::ConstantTimeEq;
        given.as_bytes().ct_eq(expected.as_bytes()).into()
    })
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this server needs an API token: send Authorization: Bearer <token>",
    )
}

/// The time now, as RFC 3339.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats")
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Opens the store, marks runs left in flight as `interrupted`, resumes the
    /// queue and starts listening.
    pub async fn start(config: ServeConfig) -> anyhow::Result<Self> {
        let lock = store::lock_data_dir(&config.data_dir)?;
        let (store, interrupted) = store::Store::open(&config.data_dir, &now())?;
        if interrupted > 0 {
            tracing::warn!(
                "{interrupted} run(s) were in flight when the server last stopped: marked interrupted"
            );
        }
        let webhooks = webhook::WebhookSender::new(
            config.webhook_secret.clone(),
            config.webhook_attempts,
            config.webhook_backoff,
        );
        let store = Arc::new(store);
        let catalog = Arc::new(catalog::Catalog::new(store.clone(), config.vu_limits)?);
        let runner = runner::Runner::new(store, catalog.clone(), &config, webhooks);
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        let addr = listener.local_addr()?;
        let grace = config.shutdown_grace;
        let state = AppState {
            config: Arc::new(config),
            catalog,
            runner: runner.clone(),
            started_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        };
        runner.pump();
        runner.resume_webhooks();
        let shutdown = CancellationToken::new();
        let stopping = shutdown.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app(state))
                .with_graceful_shutdown(async move {
                    stopping.cancelled().await;
                    runner.shutdown(grace).await;
                })
                .await
                .context("the server failed");
            drop(lock);
            served
        });
        Ok(Self {
            addr,
            shutdown,
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops runs gracefully (recorded as `interrupted`), then stops serving.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await.context("the server task panicked")?
    }

    /// Serves until Ctrl-C or SIGTERM, then shuts down gracefully.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutting down: stopping runs gracefully");
        self.shutdown().await
    }
}
