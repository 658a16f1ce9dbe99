//! The REST layer's one error type: an HTTP status with a JSON body
//! `{ "error": <stable kind>, "detail": <what went wrong and how to fix it> }`.

use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::workload::RequestError;

/// A REST error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    /// A stable, machine-readable kind, e.g. `invalid_argument`.
    pub error: String,
    /// A human-readable explanation.
    pub detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            error: error.to_owned(),
            detail: detail.into(),
        }
    }

    /// Malformed JSON, or JSON of the wrong shape: `detail` says where.
    pub fn invalid_json(detail: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", detail)
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        )
    }

    pub fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no API route at {path}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}

impl From<RequestError> for ApiError {
    fn from(err: RequestError) -> Self {
        match err {
            RequestError::InvalidArgument(msg) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_argument", msg)
            }
            RequestError::TooLarge(msg) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", msg)
            }
            RequestError::Busy(msg) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "too_many_streams", msg)
            }
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            rejection.body_text(),
        )
    }
}

impl ApiError {
    /// An unreadable request body; `limit` is the body size limit in force.
    pub fn unreadable_body(rejection: BytesRejection, limit: usize) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body exceeds the limit of {limit} bytes"),
            ),
            status => Self::new(status, "unreadable_body", rejection.body_text()),
        }
    }
}
