//! The REST layer's one error type: an HTTP status with the contract's JSON body
//! ([`ErrorBody`]: a stable kind and what went wrong and how to fix it).

use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
pub use lab_proto::contract::rest::ErrorBody;

use crate::workload::RequestError;

/// A REST error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: error.to_owned(),
                detail: detail.into(),
            },
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(&self.body)).into_response()
    }
}

impl From<RequestError> for ApiError {
    fn from(err: RequestError) -> Self {
        match err {
            RequestError::InvalidArgument(msg) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_argument", msg)
            }
            RequestError::Busy(msg) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "too_many_streams", msg)
            }
            RequestError::UnknownShape(msg) => {
                Self::new(StatusCode::NOT_FOUND, "unknown_shape", msg)
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
