//! HTTP-level response compression (gzip, brotli), applied alike to REST and gRPC-Web.
//!
//! The client asks with `Accept-Encoding` as usual. Browsers always send it and page
//! code cannot change it, so a request may also carry `lab-compression: off` to be
//! served uncompressed: that is the lab's per-request switch, for both protocols.
//!
//! Unlike tower-http's default, gRPC content types are compressed. Live streams (SSE,
//! gRPC server streams) are not: a compressor holds small messages back until it has
//! enough bytes, which would distort time-to-first-message.

use axum::extract::Request;
use axum::http::{HeaderName, header};
use lab_proto::contract::COMPRESSION_SWITCH;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};

use crate::server_timing::StreamedResponse;

/// The request header that turns compression off for one request.
pub const LAB_COMPRESSION: HeaderName = HeaderName::from_static(COMPRESSION_SWITCH);

/// The compression layer with the lab's predicate.
pub fn layer() -> CompressionLayer<impl Predicate> {
    let not_streamed = |_: _, _: _, _: &_, extensions: &http::Extensions| {
        extensions.get::<StreamedResponse>().is_none()
    };
    CompressionLayer::new()
        .gzip(true)
        .br(true)
        .no_deflate()
        .no_zstd()
        .compress_when(
            SizeAbove::default()
                .and(NotForContentType::IMAGES)
                .and(NotForContentType::SSE)
                .and(not_streamed),
        )
}

/// Drops `Accept-Encoding` from requests that carry `lab-compression: off`.
pub async fn honour_switch(mut request: Request) -> Request {
    if request
        .headers()
        .get(&LAB_COMPRESSION)
        .is_some_and(|value| value == "off")
    {
        request.headers_mut().remove(header::ACCEPT_ENCODING);
    }
    request
}
