//! `/v1/scenarios`: upload, list, show and delete scenario components.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};

use super::AppState;
use super::catalog::scenario_not_found;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::models::{ScenarioInfo, ScenarioList, UploadQuery, WasmComponent};
use super::request;

/// Content types an upload may have.
const WASM_TYPES: [&str; 2] = ["application/wasm", "application/octet-stream"];

/// Upload a scenario component.
///
/// The body is the component's bytes. It is validated as `volley validate`
/// does (a component, importing only what Volley provides, exporting the
/// scenario world, with working `options()`), stored under its sha256, and
/// compiled once. Uploading the same bytes again returns the stored scenario
/// with 200.
#[utoipa::path(
    post,
    path = "/v1/scenarios",
    tag = "scenarios",
    params(UploadQuery),
    request_body(content = WasmComponent, content_type = "application/wasm", description = "The WebAssembly component (`application/octet-stream` is accepted too)."),
    responses(
        (status = 201, description = "Stored; `Location` points to it.", body = ScenarioInfo,
            headers(("location" = String, description = "The scenario's URL"))),
        (status = 200, description = "The same bytes were stored before.", body = ScenarioInfo),
        (status = 400, description = "`bad_query` or `bad_body`.", body = ErrorBody),
        (status = 413, description = "`upload_too_large`.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/wasm`.", body = ErrorBody),
        (status = 422, description = "Not a valid scenario: `not_wasm`, `core_module`, `unknown_binary`, `invalid_component`, `unsupported_import`, `memory_too_large`, `not_a_scenario` or `invalid_options_export`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn upload_scenario(
    State(app): State<AppState>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, HeaderMap, Json<ScenarioInfo>)> {
    let query = request::query(query)?;
    request::require_content_type(&headers, &WASM_TYPES, |got| {
        format!(
            "an upload must be sent as Content-Type: application/wasm (got {got:?}); with curl: --data-binary @scenario.wasm -H 'Content-Type: application/wasm'"
        )
    })?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "upload_too_large",
                format!(
                    "the upload is larger than this server's limit of {} bytes",
                    app.config.max_upload_bytes
                ),
            )
        } else {
            ApiError::bad_request("bad_body", e.body_text())
        }
    })?;
    let name = query.name.unwrap_or_else(|| "scenario".into());
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "bad_query",
            "name must be 1 to 200 characters, without control characters",
        ));
    }
    let (info, created) = app.catalog.add(body.to_vec(), name).await?;
    let mut headers = HeaderMap::new();
    let location = format!("/v1/scenarios/{}", info.id);
    headers.insert(
        header::LOCATION,
        location.parse().expect("a hex id is a valid header"),
    );
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, headers, Json(info)))
}

/// List the stored scenarios.
#[utoipa::path(
    get,
    path = "/v1/scenarios",
    tag = "scenarios",
    responses(
        (status = 200, description = "Every scenario, newest first.", body = ScenarioList),
    ),
    security(("bearer" = []))
)]
pub async fn list_scenarios(State(app): State<AppState>) -> ApiResult<Json<ScenarioList>> {
    Ok(Json(ScenarioList {
        scenarios: app.runner.store().scenarios()?,
    }))
}

/// Show one scenario.
#[utoipa::path(
    get,
    path = "/v1/scenarios/{id}",
    tag = "scenarios",
    params(("id" = String, Path, description = "The scenario's sha256")),
    responses(
        (status = 200, description = "The scenario.", body = ScenarioInfo),
        (status = 404, description = "`scenario_not_found`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_scenario(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ScenarioInfo>> {
    app.runner
        .store()
        .scenario(&id)?
        .map(Json)
        .ok_or_else(|| scenario_not_found(&id))
}

/// Delete a scenario, its bytes, its compiled code and its ended runs.
#[utoipa::path(
    delete,
    path = "/v1/scenarios/{id}",
    tag = "scenarios",
    params(("id" = String, Path, description = "The scenario's sha256")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`scenario_not_found`.", body = ErrorBody),
        (status = 409, description = "`scenario_in_use`: a queued or running run uses it.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_scenario(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.catalog.delete(&id)?;
    Ok(StatusCode::NO_CONTENT)
}
