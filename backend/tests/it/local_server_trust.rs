//! A local server no other site can read or drive: a hostile `Host` (HTTP/1.1, HTTP/2
//! over TLS) or `:authority` (native gRPC, HTTP/3) (DNS rebinding) is refused on every
//! listener kind while the lab's own names pass; a
//! write from another site's page (its `Origin`) is refused on REST and gRPC-Web; both
//! are counted; and every listener sends the security headers, the page its
//! Content-Security-Policy. (No CSP violation in a real run: `browser/content_policy.rs`.)

use std::path::PathBuf;

use bytes::Bytes;
use lab_backend::{Config, ListenerKind};
use lab_proto::contract::{grpc, rest};
use lab_proto::v1::lab_service_client::LabServiceClient;
use lab_proto::v1::{PingRequest, UploadRequest};
use prost::Message;

use crate::support::TestServer;
use crate::support::clients::{Endpoint, grpc_web_frame};
use crate::support::h3_client::H3Client;

const HOSTILE: &str = "rebound.evil.example";

/// A server with a page to serve (an `index.html` with an inline script).
async fn with_page() -> (TestServer, PathBuf) {
    let dir = std::env::temp_dir().join(format!("lab-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><html><head><script type=\"module\">import('/app.js');</script></head><body></body></html>",
    )
    .unwrap();
    (TestServer::with_config(Config::new(&dir)).await, dir)
}

/// `GET /api/v1/status` on `to` naming `host`: the answer's status.
async fn status_with_host(to: &Endpoint, host: &str) -> u16 {
    to.http()
        .get(to.url(rest::STATUS))
        .header("host", host)
        .send()
        .await
        .expect("an answer")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_hostile_host_is_refused_on_every_listener_kind_and_the_lab_s_names_pass() {
    let server = TestServer::api().await;
    // HTTP/1.1 in the clear and over TLS, HTTP/2 over TLS: the Host header.
    for kind in [
        ListenerKind::Plain,
        ListenerKind::TlsHttp1,
        ListenerKind::TlsH2,
    ] {
        let to = server.endpoint(kind);
        let port = to.addr.port();
        assert_eq!(status_with_host(&to, HOSTILE).await, 421, "{kind}");
        assert_eq!(
            status_with_host(&to, &format!("{HOSTILE}:{port}")).await,
            421,
            "{kind}"
        );
        for ok in [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ] {
            assert_eq!(status_with_host(&to, &ok).await, 200, "{kind}: {ok}");
        }
        // The lab's name on a port that is not one of its listeners'.
        assert_eq!(status_with_host(&to, "localhost:1").await, 421, "{kind}");
    }
    // Native gRPC (h2c): the :authority.
    for (authority, refused) in [
        (format!("http://{HOSTILE}:{}", server.addr.port()), true),
        (format!("http://localhost:{}", server.addr.port()), false),
    ] {
        let channel = tonic::transport::Endpoint::from_shared(server.url(""))
            .unwrap()
            .origin(authority.parse().unwrap())
            .connect()
            .await
            .expect("a channel");
        let answer = LabServiceClient::new(channel).ping(PingRequest {}).await;
        match (refused, answer) {
            (true, Err(status)) => {
                assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
                assert!(status.message().contains("--allowed-host"), "{status:?}");
            }
            (false, Ok(_)) => {}
            (refused, answer) => panic!("{authority}: refused {refused}, got {answer:?}"),
        }
    }
    // HTTP/3.
    let mut h3 = H3Client::connect(server.h3_addr, &server.certificate).await;
    let hostile = format!(
        "https://{HOSTILE}:{}{}",
        server.h3_addr.port(),
        rest::STATUS
    );
    let answer = h3
        .request(http::Method::GET, &hostile, &[], Bytes::new())
        .await;
    assert_eq!(answer.status, 421);
    assert_eq!(
        h3.get(rest::STATUS).await.status,
        200,
        "the QUIC listener's own name"
    );
    h3.close().await;

    let status = server.status().await;
    assert_eq!(status.refused_hosts, 3 * 3 + 1 + 1, "every refusal counted");
    assert_eq!(status.refused_origins, 0);
}

#[tokio::test]
async fn another_site_s_page_cannot_make_the_lab_work() {
    let server = TestServer::api().await;
    let to = server.endpoint(ListenerKind::Plain);
    let upload = UploadRequest {
        records: lab_proto::dataset::generate(lab_proto::v1::Shape::Order, 1, 3),
    };
    let json = serde_json::to_vec(&upload).unwrap();
    let grpc_web_upload = |origin: &'static str| {
        to.http()
            .post(to.url(&format!("/{}/{}", grpc::SERVICE, "Upload")))
            .header("content-type", "application/grpc-web+proto")
            .header("origin", origin)
            .body(grpc_web_frame(&upload.encode_to_vec()))
    };
    let rest_upload = |origin: &'static str| {
        to.http()
            .post(to.url(rest::UPLOADS))
            .header("content-type", "application/json")
            .header("origin", origin)
            .body(json.clone())
    };
    for origin in ["https://evil.example", "null"] {
        for request in [rest_upload(origin), grpc_web_upload(origin)] {
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status().as_u16(), 403, "{origin}");
            let text = answer.text().await.unwrap();
            assert!(text.contains("may not make this lab work"), "{text}");
        }
    }
    // The lab's own pages and the dev loop's origin may.
    let own = format!("http://127.0.0.1:{}", to.addr.port());
    for origin in [own.as_str(), lab_backend::DEV_ORIGINS[0]] {
        let answer = to
            .http()
            .post(to.url(rest::UPLOADS))
            .header("content-type", "application/json")
            .header("origin", origin)
            .body(json.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200, "{origin}");
    }
    // Reads stay readable by CORS's rules alone.
    let read = to
        .http()
        .get(to.url(rest::STATUS))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 200);
    assert!(read.headers().get("access-control-allow-origin").is_none());
    assert_eq!(server.status().await.refused_origins, 4);
}

#[tokio::test]
async fn every_listener_sends_the_security_headers_and_the_page_its_policy() {
    let (server, dir) = with_page().await;
    for kind in [
        ListenerKind::Plain,
        ListenerKind::TlsHttp1,
        ListenerKind::TlsH2,
    ] {
        let to = server.endpoint(kind);
        let page = to.http().get(to.url("/")).send().await.unwrap();
        let header = |name: &str| {
            page.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_else(|| panic!("{kind}: no {name}"))
        };
        assert_eq!(header("cross-origin-opener-policy"), "same-origin");
        assert_eq!(header("cross-origin-embedder-policy"), "require-corp");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
            "{csp}"
        );
        assert!(
            csp.contains("object-src 'none'") && csp.contains("base-uri 'none'"),
            "{csp}"
        );
        let own = format!("https://127.0.0.1:{}", server.tls_h2_addr.port());
        assert!(csp.contains(&own), "the matrix's frames: {csp}");
        let api = to.http().get(to.url(rest::STATUS)).send().await.unwrap();
        assert_eq!(api.headers()["x-content-type-options"], "nosniff");
        assert!(
            api.headers().get("content-security-policy").is_none(),
            "pages only"
        );
    }
    let mut h3 = H3Client::connect(server.h3_addr, &server.certificate).await;
    let page = h3.get("/").await;
    assert!(
        page.headers.contains_key("content-security-policy"),
        "over HTTP/3 too"
    );
    h3.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
