//! The response headers every listener sends for the page's safety and for its
//! instrument, set in one place (the router's shared stack, so the plain, TLS and
//! HTTP/3 listeners all send them).
//!
//! Cross-origin isolation: `Cross-Origin-Opener-Policy: same-origin` and
//! `Cross-Origin-Embedder-Policy: require-corp` make the page `crossOriginIsolated`, and
//! only then do browsers give `performance.now()` fine steps (Chromium 5 µs instead of
//! 100 µs, Firefox 20 µs instead of 1 ms): the lab times decodes of a few microseconds.
//! `Cross-Origin-Resource-Policy: cross-origin` lets one of the lab's pages embed
//! another listener's page (a matrix cell's frame: another port, so another origin,
//! and over `http://` against `https://` another site); it grants nothing a page
//! without these headers did not already have, since CORS still guards every read.

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

/// The headers, as (name, value).
const HEADERS: [(&str, &str); 3] = [
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-embedder-policy", "require-corp"),
    ("cross-origin-resource-policy", "cross-origin"),
];

/// Adds the headers to `response`.
pub async fn add(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}
