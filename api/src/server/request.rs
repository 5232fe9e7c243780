//! Reading requests: query strings, content types and JSON bodies, each
//! failure turned into its [`ApiError`].

use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::{ApiError, ApiResult};

/// The query string, or 400 `bad_query`.
pub fn query<T>(query: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request("bad_query", e.body_text()))
}

/// Checks that the body's media type is one of `accepted`, or 415
/// `unsupported_media_type` with `advice(got)` as the message.
pub fn require_content_type(
    headers: &HeaderMap,
    accepted: &[&str],
    advice: impl FnOnce(&str) -> String,
) -> ApiResult<()> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if accepted.contains(&essence) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            advice(content_type),
        ))
    }
}

/// Parses a JSON body, naming the bad field on error.
pub fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<T> {
    require_content_type(headers, &["application/json"], |got| {
        format!("send the body as Content-Type: application/json (got {got:?})")
    })?;
    let body = body.map_err(|e| ApiError::bad_request("bad_body", e.body_text()))?;
    let mut de = serde_json::Deserializer::from_slice(&body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        };
        ApiError::bad_request(
            "malformed_json",
            format!("malformed request body: {message}"),
        )
    })
}
