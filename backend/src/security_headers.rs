//! The response headers every listener sends for the page's safety and for its
//! instrument, set in one place (the router's shared stack, so the plain, TLS and
//! HTTP/3 listeners all send them).
//!
//! - Cross-origin isolation: `Cross-Origin-Opener-Policy: same-origin` and
//!   `Cross-Origin-Embedder-Policy: require-corp` make the page `crossOriginIsolated`,
//!   and only then do browsers give `performance.now()` fine steps (Chromium 5 µs
//!   instead of 100 µs, Firefox 20 µs instead of 1 ms): the lab times decodes of a few
//!   microseconds. `Cross-Origin-Resource-Policy: cross-origin` lets one of the lab's
//!   pages embed another listener's page (a matrix cell's frame: another port, so
//!   another origin, and over `http://` against `https://` another site); it grants
//!   nothing a page without these headers did not already have, since CORS still
//!   guards every read.
//! - A `Content-Security-Policy` on the page: only the lab's own scripts and wasm
//!   (`'self'`, `'wasm-unsafe-eval'`, the inline loader Trunk writes by its hash, read
//!   from the `index.html` being served), its own styles, no plugins, no `<base>`, no
//!   form posts; frames only from and into the lab's own origins (the matrix).
//! - `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` everywhere.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::listener::ListenerInfo;

/// Headers on every response, as (name, value).
const HEADERS: [(&str, &str); 5] = [
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-embedder-policy", "require-corp"),
    ("cross-origin-resource-policy", "cross-origin"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

/// What the headers are made of: the lab's own origins, and the page whose inline
/// scripts the policy allows by hash.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    /// The lab's origins, space-separated, for `frame-src` and `frame-ancestors`.
    origins: String,
    index: PathBuf,
    /// The policy, with the `index.html` it was made for (modified time, length).
    policy: Arc<Mutex<Option<(SystemTime, u64, HeaderValue)>>>,
}

impl SecurityHeaders {
    /// For the page in `static_dir`, served by `listeners`, also known by `names`.
    pub fn new(static_dir: &Path, listeners: &[ListenerInfo], names: &[String]) -> Self {
        let mut origins: Vec<String> = Vec::new();
        for listener in listeners {
            let scheme = listener.kind.scheme();
            let port = listener.addr.port();
            let hosts = ["127.0.0.1", "localhost"]
                .into_iter()
                .chain(names.iter().map(String::as_str));
            for host in hosts {
                let origin = format!("{scheme}://{host}:{port}");
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
        }
        Self {
            origins: origins.join(" "),
            index: static_dir.join("index.html"),
            policy: Arc::default(),
        }
    }

    /// The policy for the `index.html` on disk now (made again when it changes, as it
    /// does under `cargo xtask dev`).
    fn policy(&self) -> HeaderValue {
        let stamp = std::fs::metadata(&self.index)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut cached = self.policy.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some((modified, len)), Some((at, at_len, value))) = (stamp, cached.as_ref())
            && modified == *at
            && len == *at_len
        {
            return value.clone();
        }
        let page = std::fs::read_to_string(&self.index).unwrap_or_default();
        let value = HeaderValue::from_str(&policy(&page, &self.origins))
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
        if let Some((modified, len)) = stamp {
            *cached = Some((modified, len, value.clone()));
        }
        value
    }
}

/// The `'sha256-…'` source of each inline script of `page`.
fn inline_script_hashes(page: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let tag = &rest[..open_end];
        let body = &rest[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            let digest = ring::digest::digest(&ring::digest::SHA256, &body.as_bytes()[..close]);
            hashes.push(format!("'sha256-{}'", STANDARD.encode(digest.as_ref())));
        }
        rest = &body[close..];
    }
    hashes
}

/// The Content-Security-Policy of `page`, framing and framed only by `origins`.
fn policy(page: &str, origins: &str) -> String {
    let scripts = inline_script_hashes(page).join(" ");
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {scripts}; \
         style-src 'self'; img-src 'self'; connect-src 'self'; \
         frame-src 'self' {origins}; frame-ancestors 'self' {origins}; \
         object-src 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// Adds the headers to `response`; the policy to pages (HTML).
pub async fn add(State(security): State<SecurityHeaders>, mut response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if html {
        headers.insert(header::CONTENT_SECURITY_POLICY, security.policy());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_allowed_by_hash_and_others_are_not_hashed() {
        let page = "<html><script type=\"module\">\nimport init from '/a.js';\n</script>\
                    <script src=\"/b.js\"></script><script>alert(1)</script></html>";
        let hashes = inline_script_hashes(page);
        assert_eq!(hashes.len(), 2, "{hashes:?}");
        // `printf "\nimport init from '/a.js';\n" | openssl dgst -sha256 -binary | base64`
        let expected =
            ring::digest::digest(&ring::digest::SHA256, b"\nimport init from '/a.js';\n");
        assert_eq!(
            hashes[0],
            format!("'sha256-{}'", STANDARD.encode(expected.as_ref()))
        );
        let csp = policy(page, "http://127.0.0.1:8080");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
            "{csp}"
        );
        assert!(
            csp.contains("frame-ancestors 'self' http://127.0.0.1:8080;"),
            "{csp}"
        );
        assert!(csp.contains("object-src 'none'; base-uri 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
}
