//! `Server-Timing` on every API response, so the browser can tell server time from
//! network time in its Resource Timing entries.
//!
//! Both protocols report the same two phases, measured the same way:
//! - `handler`: from a fully received request body to the response value being ready
//!   (request decoding, validation, generating or checking records);
//! - `ser`: serializing the response (serde_json for REST, prost for gRPC).
//!
//! REST handlers time themselves ([`header_value`]). For gRPC, [`grpc_layer`] does it
//! around tonic: it buffers the request, runs the handler, then drains the lazily
//! encoded response before sending headers, as REST's `to_vec` does. Server streams
//! are passed through untouched (a header cannot wait for a stream) and marked
//! [`StreamedResponse`] so compression leaves them alone too.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};

/// The `Server-Timing` header name.
pub const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// gRPC methods that answer with a stream.
const STREAMING_METHODS: [&str; 1] = ["/lab.v1.LabService/Stream"];

/// Marks a response whose body is a live stream of messages.
#[derive(Debug, Clone, Copy)]
pub struct StreamedResponse;

/// `handler;dur=…, ser;dur=…` in milliseconds.
pub fn header_value(handler: Duration, serialize: Duration) -> HeaderValue {
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    let text = format!(
        "handler;dur={:.3}, ser;dur={:.3}",
        ms(handler),
        ms(serialize)
    );
    let mut value = HeaderValue::try_from(text).expect("digits and ASCII punctuation only");
    // A value that differs on every response: HTTP/2's HPACK would insert each one into
    // its header table (evicting useful entries) for nothing. Marked sensitive, it is
    // sent as a literal that is never indexed.
    value.set_sensitive(true);
    value
}

/// Gives every REST response a `Server-Timing`: handlers that serialize a value set
/// their own; errors and event streams get the time to the response, all `handler`.
pub async fn fill_in(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    if !response.headers().contains_key(SERVER_TIMING) {
        let value = header_value(started.elapsed(), Duration::ZERO);
        response.headers_mut().insert(SERVER_TIMING, value);
    }
    response
}

/// Middleware around the gRPC (and gRPC-Web) service; `max_body` bounds the buffered
/// request like tonic's own message limit does.
pub async fn grpc_layer(max_body: usize, request: Request, next: Next) -> Response {
    let streaming = STREAMING_METHODS.contains(&request.uri().path());
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, max_body.saturating_add(5)).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let status = tonic::Status::resource_exhausted(format!(
                "request body exceeds the {max_body}-byte limit"
            ));
            return status.into_http::<Body>().into_response();
        }
    };
    let started = Instant::now();
    let mut response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let handler = started.elapsed();

    if streaming {
        response.extensions_mut().insert(StreamedResponse);
        response
            .headers_mut()
            .insert(SERVER_TIMING, header_value(handler, Duration::ZERO));
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let ser_started = Instant::now();
    let collected = match body.collect().await {
        Ok(collected) => collected,
        Err(err) => {
            let status = tonic::Status::internal(format!("encoding the response failed: {err}"));
            return status.into_http::<Body>().into_response();
        }
    };
    let serialize = ser_started.elapsed();
    parts
        .headers
        .insert(SERVER_TIMING, header_value(handler, serialize));
    let trailers = collected.trailers().cloned();
    let bytes = collected.to_bytes();
    let body = match trailers {
        // Native gRPC: the status travels in HTTP trailers.
        Some(trailers) => {
            Body::new(Full::new(bytes).with_trailers(async move { Some(Ok(trailers)) }))
        }
        // gRPC-Web: the status is inside the body, whose length is now known.
        None => {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            Body::from(bytes)
        }
    };
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_milliseconds_with_microsecond_precision() {
        let value = header_value(Duration::from_micros(1_500), Duration::from_nanos(250_000));
        assert_eq!(value, "handler;dur=1.500, ser;dur=0.250");
    }
}
