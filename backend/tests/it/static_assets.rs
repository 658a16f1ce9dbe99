//! The built frontend as served: the release build's precompressed copies (`.br`,
//! `.gz`) chosen by `Accept-Encoding`, never compressed a second time, with the
//! content type of the original file.

use std::io::Read;
use std::path::PathBuf;

use flate2::read::GzDecoder;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};

use crate::support::TestServer;

/// Distinct contents, so a body tells which file was sent. Each is larger than the
/// compression layer's minimum size, so it would compress them if it were to.
const WASM: &[u8] = b"\0asm\x01\0\0\0 the module itself, uncompressed, uncompressed, uncompressed";
const WASM_BR: &[u8] = b"the brotli copy written at build time (bytes as they are on disk)";
const WASM_GZ: &[u8] = b"the gzip copy written at build time (bytes as they are on disk too)";
const INDEX: &[u8] = b"<!doctype html><title>lab</title><body>the page, uncompressed</body>";
const INDEX_BR: &[u8] = b"the brotli copy of index.html, as the post-build hook writes it";
/// A file without copies, as in a build that did not precompress (the dev loop's).
const PLAIN_JS: &[u8] = b"export function start() { return 'no precompressed copy of me'; }";

/// A frontend directory holding `x.wasm` with both copies, `index.html` with its
/// brotli copy and `plain.js` without any; removed when dropped.
struct Frontend(PathBuf);

impl Frontend {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("lab-static-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in [
            ("x.wasm", WASM),
            ("x.wasm.br", WASM_BR),
            ("x.wasm.gz", WASM_GZ),
            ("index.html", INDEX),
            ("index.html.br", INDEX_BR),
            ("plain.js", PLAIN_JS),
        ] {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        Self(dir)
    }
}

impl Drop for Frontend {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a GET of `path` returned: status, `Content-Encoding`, `Content-Type`, `Vary`
/// and the body as sent (reqwest here decompresses nothing).
async fn get(
    server: &TestServer,
    path: &str,
    accept_encoding: Option<&str>,
) -> (StatusCode, Option<String>, String, String, Vec<u8>) {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some(encoding) = accept_encoding {
        request = request.header(ACCEPT_ENCODING, encoding);
    }
    let response = request.send().await.unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|value: &reqwest::header::HeaderValue| value.to_str().unwrap().to_owned())
    };
    let encoding = header(CONTENT_ENCODING);
    let content_type = header(CONTENT_TYPE).unwrap_or_default();
    let vary = header(VARY).unwrap_or_default();
    let status = response.status();
    let body = response.bytes().await.unwrap().to_vec();
    (status, encoding, content_type, vary, body)
}

#[tokio::test]
async fn the_wasm_is_sent_as_its_brotli_or_gzip_copy_by_accept_encoding() {
    let frontend = Frontend::new("wasm");
    let server = TestServer::start(frontend.0.clone()).await;
    let cases: [(Option<&str>, Option<&str>, &[u8]); 5] = [
        (Some("br"), Some("br"), WASM_BR),
        (Some("gzip"), Some("gzip"), WASM_GZ),
        // What Chromium sends: brotli wins over gzip at equal weight.
        (Some("gzip, deflate, br, zstd"), Some("br"), WASM_BR),
        (Some("br;q=0.5, gzip"), Some("gzip"), WASM_GZ),
        (None, None, WASM),
    ];
    for (accept, expected_encoding, expected_body) in cases {
        let (status, encoding, content_type, vary, body) = get(&server, "/x.wasm", accept).await;
        assert_eq!(status, StatusCode::OK, "Accept-Encoding {accept:?}");
        assert_eq!(
            encoding.as_deref(),
            expected_encoding,
            "Accept-Encoding {accept:?}"
        );
        assert_eq!(
            content_type, "application/wasm",
            "Accept-Encoding {accept:?}: browsers compile streamed wasm only with this type"
        );
        assert_eq!(
            body, expected_body,
            "Accept-Encoding {accept:?}: the file on disk, byte for byte (not compressed again)"
        );
        assert!(
            vary.to_ascii_lowercase().contains("accept-encoding"),
            "Accept-Encoding {accept:?}: Vary is {vary:?}"
        );
    }
}

#[tokio::test]
async fn the_compression_switch_gets_the_uncompressed_file() {
    let frontend = Frontend::new("switch");
    let server = TestServer::start(frontend.0.clone()).await;
    let response = reqwest::Client::new()
        .get(server.url("/x.wasm"))
        .header(ACCEPT_ENCODING, "br, gzip")
        .header(lab_backend::compression::LAB_COMPRESSION, "off")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers().get(CONTENT_ENCODING), None);
    assert_eq!(response.bytes().await.unwrap(), WASM);
}

#[tokio::test]
async fn the_fallback_page_is_sent_as_its_precompressed_copy_too() {
    let frontend = Frontend::new("index");
    let server = TestServer::start(frontend.0.clone()).await;
    // `/` is the directory's index.html; `/some/app/path` is the fallback for routes
    // the app handles itself.
    for path in ["/", "/some/app/path"] {
        let (status, encoding, content_type, _, body) = get(&server, path, Some("br")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(encoding.as_deref(), Some("br"), "{path}");
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        assert_eq!(body, INDEX_BR, "{path}");
        let (_, encoding, _, _, body) = get(&server, path, None).await;
        assert_eq!((encoding, body.as_slice()), (None, INDEX), "{path}");
    }
}

#[tokio::test]
async fn a_file_without_copies_is_compressed_on_the_fly() {
    let frontend = Frontend::new("plain");
    let server = TestServer::start(frontend.0.clone()).await;
    let (status, encoding, content_type, _, body) = get(&server, "/plain.js", Some("gzip")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert!(content_type.contains("javascript"), "{content_type}");
    let mut decoded = Vec::new();
    GzDecoder::new(body.as_slice())
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, PLAIN_JS);
}
