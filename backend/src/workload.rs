//! What a workload request may ask for, validated once for every transport, and the
//! single error type of the service layer: REST turns it into a JSON body with an HTTP
//! status, gRPC into a status code with the same message.

use std::time::Duration;

use lab_proto::contract::rest::query;
use lab_proto::dataset::MAX_RECORDS;
use lab_proto::v1::Shape;

/// The longest pause a stream may ask for between two messages.
pub const MAX_INTERVAL_MS: u32 = 10_000;

/// Why a request cannot be served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    /// The request is well-formed but asks for something out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// The server is at a capacity limit right now; the same request may succeed later.
    #[error("{0}")]
    Busy(String),
    /// A custom shape the backend does not have (never registered, or dropped).
    #[error("{0}")]
    UnknownShape(String),
}

/// A validated request for generated records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordsSpec {
    pub shape: Shape,
    pub count: u32,
    pub seed: u64,
}

impl RecordsSpec {
    /// Validates the parameters of a fetch or a stream.
    pub fn new(shape: Shape, count: u32, seed: u64) -> Result<Self, RequestError> {
        if shape == Shape::Unspecified {
            return Err(RequestError::InvalidArgument(
                "shape is required: one of telemetry, log, order".into(),
            ));
        }
        check_count(count)?;
        Ok(Self { shape, count, seed })
    }

    /// Validates a protobuf enum value, which may be any i32 on the wire.
    pub fn from_wire(shape: i32, count: u32, seed: u64) -> Result<Self, RequestError> {
        let shape = Shape::try_from(shape).map_err(|_| {
            RequestError::InvalidArgument(format!(
                "shape {shape} is unknown: use 1 (telemetry), 2 (log) or 3 (order)"
            ))
        })?;
        Self::new(shape, count, seed)
    }
}

/// Validates a record count against the documented maximum.
pub fn check_count(count: u32) -> Result<(), RequestError> {
    if count == 0 || count > MAX_RECORDS {
        return Err(RequestError::InvalidArgument(format!(
            "count must be between 1 and {MAX_RECORDS}, got {count}"
        )));
    }
    Ok(())
}

/// Validates the pause between two streamed messages.
pub fn stream_interval(interval_ms: u32) -> Result<Duration, RequestError> {
    if interval_ms > MAX_INTERVAL_MS {
        return Err(RequestError::InvalidArgument(format!(
            "{} must be at most {MAX_INTERVAL_MS}, got {interval_ms}",
            query::INTERVAL_MS
        )));
    }
    Ok(Duration::from_millis(interval_ms.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outside_one_to_max_are_refused_with_the_bounds() {
        assert!(check_count(1).is_ok());
        assert!(check_count(MAX_RECORDS).is_ok());
        for bad in [0, MAX_RECORDS + 1] {
            let RequestError::InvalidArgument(msg) = check_count(bad).unwrap_err() else {
                panic!("wrong kind")
            };
            assert!(msg.contains("between 1 and 100000"), "{msg}");
        }
    }

    #[test]
    fn unknown_or_missing_shapes_are_refused() {
        assert!(RecordsSpec::from_wire(0, 1, 0).is_err());
        assert!(RecordsSpec::from_wire(99, 1, 0).is_err());
        assert_eq!(RecordsSpec::from_wire(2, 5, 9).unwrap().shape, Shape::Log);
    }

    #[test]
    fn intervals_are_bounded() {
        assert_eq!(stream_interval(0).unwrap(), Duration::ZERO);
        assert!(stream_interval(MAX_INTERVAL_MS + 1).is_err());
    }
}
