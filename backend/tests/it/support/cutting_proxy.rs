//! A pass-through HTTP/1.1 proxy on 127.0.0.1 that delivers response bodies in pieces,
//! for testing that the page reads a response the same however the network cuts it.
//!
//! It forwards every request unchanged (its `Host` and `Origin` set to the backend's) and every
//! response's status, headers and bytes unchanged; only the timing of the body
//! changes: it goes out in pieces with a pause between them, so the browser receives
//! each piece in a read of its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, StatusCode, header};
use tokio::sync::oneshot;

/// Where a body is cut.
#[derive(Debug, Clone, Copy)]
pub enum Cut {
    /// gRPC-Web bodies in two pieces 60 ms apart, right after the trailer frame's flag
    /// byte (other bodies pass whole).
    AfterTrailerFlag,
    /// Every body, piece by piece as the backend sends it, each piece cut again at up
    /// to three random places (seeded), 5 ms between pieces.
    Random { seed: u64 },
}

/// The proxy, serving until dropped.
pub struct CuttingProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

struct Shared {
    upstream: SocketAddr,
    cut: Cut,
    client: reqwest::Client,
    /// gRPC-Web bodies cut inside their trailer frame.
    cut_in_trailers: AtomicU64,
    /// gRPC-Web bodies delivered in more than one piece.
    cut_grpc_web: AtomicU64,
    /// Responses forwarded.
    responses: AtomicU64,
}

impl CuttingProxy {
    /// A proxy in front of the backend's plain listener `upstream`.
    pub async fn start(upstream: SocketAddr, cut: Cut) -> Self {
        let shared = Arc::new(Shared {
            upstream,
            cut,
            // No automatic decompression or redirects: bytes pass as they are.
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            cut_in_trailers: AtomicU64::new(0),
            cut_grpc_web: AtomicU64::new(0),
            responses: AtomicU64::new(0),
        });
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            // Each piece leaves at once: Nagle's algorithm would merge them again.
            let listener =
                axum::serve::ListenerExt::tap_io(listener, |tcp| drop(tcp.set_nodelay(true)));
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .expect("the cutting proxy failed");
        });
        Self {
            addr,
            shared,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// gRPC-Web response bodies it delivered in more than one piece.
    pub fn cut_grpc_web(&self) -> u64 {
        self.shared.cut_grpc_web.load(Ordering::Relaxed)
    }

    /// gRPC-Web response bodies it cut inside their trailer frame.
    pub fn cut_in_trailers(&self) -> u64 {
        self.shared.cut_in_trailers.load(Ordering::Relaxed)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    match forward_to_backend(&shared, request).await {
        Ok(response) => response,
        Err(err) => (StatusCode::BAD_GATEWAY, format!("cutting proxy: {err}")).into_response(),
    }
}

async fn forward_to_backend(
    shared: &Arc<Shared>,
    request: Request,
) -> Result<Response, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    // The page is the proxy's origin; the lab sees it as its own, as it sees the Host
    // (a proxy in front of the lab would be named with --cors-origin instead).
    if headers.contains_key(header::ORIGIN) {
        let origin = format!("http://{}", shared.upstream);
        headers.insert(header::ORIGIN, origin.parse().expect("an origin"));
    }
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let upstream = shared
        .client
        .request(parts.method, format!("http://{}{path}", shared.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await?;
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::CONTENT_LENGTH);
    let grpc_web = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc-web"));
    let body = match shared.cut {
        Cut::AfterTrailerFlag if grpc_web => {
            let bytes = upstream.bytes().await?;
            let pieces = match trailer_flag_end(&bytes) {
                Some(at) => {
                    shared.cut_grpc_web.fetch_add(1, Ordering::Relaxed);
                    shared.cut_in_trailers.fetch_add(1, Ordering::Relaxed);
                    vec![bytes.slice(..at), bytes.slice(at..)]
                }
                None => vec![bytes],
            };
            paced(pieces, Duration::from_millis(60))
        }
        Cut::AfterTrailerFlag => Body::from_stream(upstream.bytes_stream()),
        Cut::Random { seed } => {
            // Seeded per response, so a failure can be replayed.
            let n = shared.responses.fetch_add(1, Ordering::Relaxed);
            let rng = fastrand::Rng::with_seed(seed.wrapping_add(n));
            random_pieces(shared.clone(), upstream, rng, grpc_web)
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// Where a gRPC-Web body's trailer frame starts, plus one: just past its flag byte.
fn trailer_flag_end(body: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at + 5 <= body.len() {
        if body[at] & 0x80 != 0 {
            return Some(at + 1);
        }
        let length = u32::from_be_bytes(body[at + 1..at + 5].try_into().unwrap()) as usize;
        at += 5 + length;
    }
    None
}

/// The backend's body piece by piece as it comes, each piece cut again at up to three
/// random places, 5 ms between the pieces sent.
fn random_pieces(
    shared: Arc<Shared>,
    upstream: reqwest::Response,
    mut rng: fastrand::Rng,
    grpc_web: bool,
) -> Body {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::spawn(async move {
        let mut stream = upstream.bytes_stream();
        let mut counted = false;
        while let Some(chunk) = stream.next().await {
            // An upstream failure aborts the response, as it would without the proxy.
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(err) => {
                    let _ = tx.send(Err(std::io::Error::other(err))).await;
                    return;
                }
            };
            let cuts = rng.usize(0..=3.min(chunk.len().saturating_sub(1)));
            let mut at: Vec<usize> = (0..cuts).map(|_| rng.usize(1..chunk.len())).collect();
            at.sort_unstable();
            at.dedup();
            if grpc_web && !at.is_empty() && !counted {
                counted = true;
                shared.cut_grpc_web.fetch_add(1, Ordering::Relaxed);
            }
            let mut start = 0;
            for end in at.into_iter().chain([chunk.len()]) {
                if tx.send(Ok(chunk.slice(start..end))).await.is_err() {
                    return;
                }
                start = end;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    let pieces = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Body::from_stream(pieces)
}

/// A body that sends `pieces` with `pause` between them.
fn paced(pieces: Vec<Bytes>, pause: Duration) -> Body {
    let stream = futures_util::stream::iter(pieces.into_iter().enumerate()).then(
        move |(n, piece)| async move {
            if n > 0 {
                tokio::time::sleep(pause).await;
            }
            Ok::<_, std::io::Error>(piece)
        },
    );
    Body::from_stream(stream)
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::TE,
        header::TRAILER,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}
