//! `Server-Timing` on every API response, so the browser can tell server time from
//! network time in its Resource Timing entries.
//!
//! Both protocols report the same two phases, measured the same way:
//! - `handler`: from a fully received request body to the response value being ready
//!   (request decoding, validation, generating or checking records);
//! - `ser`: serializing the response (serde_json for REST, prost for gRPC).
//!
//! REST handlers time themselves ([`header_value`]); [`FillInLayer`] gives the rest
//! (errors, event streams) one. For gRPC, [`GrpcTimingLayer`] does it around tonic: it
//! buffers the request (a client stream's is passed on as it comes), runs the handler, then drains the lazily encoded response
//! before sending headers, as REST's `to_vec` does. Server streams are passed through
//! untouched (a header cannot wait for a stream) and marked [`StreamedResponse`] so
//! compression leaves them alone too.
//!
//! Both are plain tower layers rather than `axum::middleware::from_fn`, which boxes a
//! copy of the inner service on every request: this sits on every API call the
//! benchmark compares with a bare route.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use lab_proto::contract::grpc::{CLIENT_STREAMING, SERVER_STREAMING};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// The `Server-Timing` header name.
pub const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// Marks a response whose body is a live stream of messages.
#[derive(Debug, Clone, Copy)]
pub struct StreamedResponse;

/// `handler;dur=…, ser;dur=…` in milliseconds, to the microsecond.
pub fn header_value(handler: Duration, serialize: Duration) -> HeaderValue {
    // Integer formatting: `{:.3}` on an f64 costs more than the rest of a ping.
    let (h, s) = (handler.as_micros(), serialize.as_micros());
    let mut text = String::with_capacity(40);
    let _ = write!(
        text,
        "handler;dur={}.{:03}, ser;dur={}.{:03}",
        h / 1_000,
        h % 1_000,
        s / 1_000,
        s % 1_000
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
#[derive(Debug, Clone, Copy, Default)]
pub struct FillInLayer;

impl<S> Layer<S> for FillInLayer {
    type Service = FillIn<S>;

    fn layer(&self, inner: S) -> FillIn<S> {
        FillIn { inner }
    }
}

/// The service of [`FillInLayer`].
#[derive(Debug, Clone)]
pub struct FillIn<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for FillIn<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = FillInFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        FillInFuture {
            started: Instant::now(),
            inner: self.inner.call(request),
        }
    }
}

pin_project! {
    /// The response future of [`FillIn`].
    pub struct FillInFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
    }
}

impl<F, R, E> Future for FillInFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if !response.headers().contains_key(SERVER_TIMING) {
            let value = header_value(this.started.elapsed(), Duration::ZERO);
            response.headers_mut().insert(SERVER_TIMING, value);
        }
        Poll::Ready(Ok(response))
    }
}

/// Times the gRPC (and gRPC-Web) service; `max_body` bounds the buffered request like
/// tonic's own message limit does.
#[derive(Debug, Clone, Copy)]
pub struct GrpcTimingLayer {
    pub max_body: usize,
}

impl<S> Layer<S> for GrpcTimingLayer {
    type Service = GrpcTiming<S>;

    fn layer(&self, inner: S) -> GrpcTiming<S> {
        GrpcTiming {
            inner,
            max_body: self.max_body,
        }
    }
}

/// The service of [`GrpcTimingLayer`].
#[derive(Debug, Clone)]
pub struct GrpcTiming<S> {
    inner: S,
    max_body: usize,
}

impl<S, B> Service<Request> for GrpcTiming<S>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone is not polled ready: keep the one that was (tower's usual swap).
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        Box::pin(timed_grpc(ready, self.max_body, request))
    }
}

/// The most bytes a gRPC request body may have for a message of `max_body` bytes: the
/// message and its 5-byte frame header, in base64 for gRPC-Web's text mode (4 characters
/// for every 3 bytes), so that both modes accept the same messages.
fn buffered_body_limit(headers: &http::HeaderMap, max_body: usize) -> usize {
    let framed = max_body.saturating_add(5);
    let text_mode = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc-web-text"));
    if text_mode {
        framed.div_ceil(3).saturating_mul(4)
    } else {
        framed
    }
}

/// `status` as a whole (trailers-only) answer, with `content_type`: tonic speaks native
/// gRPC, and a gRPC-Web client must get its own dialect back.
fn status_answer(status: tonic::Status, content_type: HeaderValue) -> Response {
    let mut response = status.into_http::<Body>().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    response
}

/// The content type tonic-web would answer `request` with (native gRPC's otherwise):
/// gRPC-Web in text mode if the client accepts it, else binary.
fn answer_content_type(request: &http::HeaderMap) -> HeaderValue {
    let starts = |name, prefix: &[u8]| {
        request
            .get(name)
            .is_some_and(|value: &HeaderValue| value.as_bytes().starts_with(prefix))
    };
    HeaderValue::from_static(if !starts(header::CONTENT_TYPE, b"application/grpc-web") {
        "application/grpc"
    } else if starts(header::ACCEPT, b"application/grpc-web-text") {
        "application/grpc-web-text+proto"
    } else {
        "application/grpc-web+proto"
    })
}

async fn timed_grpc<S, B>(
    mut inner: S,
    max_body: usize,
    request: Request,
) -> Result<Response, Infallible>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let streaming = SERVER_STREAMING.contains(&request.uri().path());
    // A client stream is passed on as it comes: its messages are the measurement (and
    // buffering it would wait for a client that waits for answers). Its handler time
    // then includes receiving it.
    let client_streaming = CLIENT_STREAMING.contains(&request.uri().path());
    let (parts, body) = request.into_parts();
    let body = if client_streaming {
        body
    } else {
        match axum::body::to_bytes(body, buffered_body_limit(&parts.headers, max_body)).await {
            Ok(bytes) => Body::from(bytes),
            Err(_) => {
                let status = tonic::Status::resource_exhausted(format!(
                    "request body exceeds the {max_body}-byte limit"
                ));
                return Ok(status_answer(status, answer_content_type(&parts.headers)));
            }
        }
    };
    let started = Instant::now();
    let Ok(mut response) = inner.call(Request::from_parts(parts, body)).await;
    let ser_started = Instant::now();
    let handler = ser_started - started;

    if streaming {
        response.extensions_mut().insert(StreamedResponse);
        response
            .headers_mut()
            .insert(SERVER_TIMING, header_value(handler, Duration::ZERO));
        return Ok(response.map(Body::new));
    }
    let (mut parts, body) = response.into_parts();
    let collected = match body.collect().await {
        Ok(collected) => collected,
        Err(err) => {
            let err: BoxError = err.into();
            let status = tonic::Status::internal(format!("encoding the response failed: {err}"));
            // The response's content type is already the client's dialect.
            let content_type = parts.headers.get(header::CONTENT_TYPE).cloned();
            let content_type = content_type.unwrap_or(HeaderValue::from_static("application/grpc"));
            return Ok(status_answer(status, content_type));
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
    Ok(Response::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_answer_in_the_requests_dialect() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(answer_content_type(&headers), "application/grpc");
        headers.insert(
            header::CONTENT_TYPE,
            "application/grpc-web+proto".parse().unwrap(),
        );
        assert_eq!(answer_content_type(&headers), "application/grpc-web+proto");
        headers.insert(
            header::CONTENT_TYPE,
            "application/grpc-web-text".parse().unwrap(),
        );
        assert_eq!(answer_content_type(&headers), "application/grpc-web+proto");
        headers.insert(header::ACCEPT, "application/grpc-web-text".parse().unwrap());
        assert_eq!(
            answer_content_type(&headers),
            "application/grpc-web-text+proto"
        );
    }

    #[test]
    fn text_mode_bodies_may_be_as_long_as_the_base64_of_the_largest_message() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/grpc-web+proto".parse().unwrap(),
        );
        assert_eq!(buffered_body_limit(&headers, 100), 105);
        headers.insert(
            header::CONTENT_TYPE,
            "application/grpc-web-text".parse().unwrap(),
        );
        assert_eq!(buffered_body_limit(&headers, 100), 140);
    }

    #[test]
    fn formats_milliseconds_with_microsecond_precision() {
        let value = header_value(Duration::from_micros(1_500), Duration::from_nanos(250_000));
        assert_eq!(value, "handler;dur=1.500, ser;dur=0.250");
        let long = header_value(Duration::from_millis(12_345), Duration::from_micros(7));
        assert_eq!(long, "handler;dur=12345.000, ser;dur=0.007");
    }
}
