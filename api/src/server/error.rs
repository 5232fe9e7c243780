//! The API's one error type.
//!
//! Every failure a client sees is an [`ApiError`]: an HTTP status, a stable
//! machine-readable `code` and a message a person can act on. Bad input is
//! always a 4xx naming what was wrong; a 500 means a bug or a broken disk, and
//! its cause goes to the server's log, not to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use volley_runtime::scenario::ScenarioError;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// An error's code and message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code for programs, such as `scenario_not_found`.
    #[schema(example = "invalid_options")]
    pub code: String,
    /// A message for people.
    #[schema(example = "invalid options: vus must be between 1 and 100000, not 0")]
    pub message: String,
}

/// A failed request: the status and body the client gets.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404: no such resource.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 409: the resource is not in a state that allows this.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 500: a fault of the server; the cause is logged, the client gets a
    /// generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error (details are in the server's log)",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// A component that is not a valid scenario: 422, with a code per reason.
impl From<ScenarioError> for ApiError {
    fn from(error: ScenarioError) -> Self {
        let code = match error {
            ScenarioError::NotWasm => "not_wasm",
            ScenarioError::CoreModule => "core_module",
            ScenarioError::UnknownBinary(_) => "unknown_binary",
            ScenarioError::Invalid(_) => "invalid_component",
            ScenarioError::UnsupportedImport(_) => "unsupported_import",
            ScenarioError::MemoryTooLarge { .. } => "memory_too_large",
            ScenarioError::NotAScenario(_) => "not_a_scenario",
        };
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, error.to_string())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        Self::internal(format!("database: {error}"))
    }
}

impl From<std::io::Error> for ApiError {
    fn from(error: std::io::Error) -> Self {
        Self::internal(format!("storage: {error}"))
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
