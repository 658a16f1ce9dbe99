//! A lane's HTTP client: hyper-util's pooled client over the lane's counted
//! connections ([`crate::wire`]), HTTP/1.1 or HTTP/2 only, and the meter each call
//! carries in its request's extensions: when the response's head arrived, its HTTP
//! version, and its body's bytes as they arrived (HTTP/2 and chunked framing apart,
//! compression not undone), whether the call is REST's or tonic's.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response, Uri, Version};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tonic::body::Body;

use crate::wire::{Connector, WireCounts};

/// How long an idle pooled connection is kept: less than the backend's idle limit
/// (30 s), so no request goes out on a connection the server is closing.
const IDLE_POOL: Duration = Duration::from_secs(20);

/// What one call's response looked like on its way in.
#[derive(Debug)]
pub struct CallMeter {
    started: Instant,
    /// When the request went to the connection (after encoding), as a fetch starts.
    sent: OnceLock<Instant>,
    head: OnceLock<(Instant, Version)>,
    body_bytes: AtomicU64,
    /// When the last body frame arrived, in ns after `started` (0: none yet).
    last_frame_ns: AtomicU64,
}

impl CallMeter {
    pub fn start() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            sent: OnceLock::new(),
            head: OnceLock::new(),
            body_bytes: AtomicU64::new(0),
            last_frame_ns: AtomicU64::new(0),
        })
    }

    /// Time from the request's sending to the response's head, ms (Resource Timing's
    /// `responseStart − startTime`).
    pub fn ttfb_ms(&self) -> Option<f64> {
        let sent = *self.sent.get().unwrap_or(&self.started);
        self.head
            .get()
            .map(|(at, _)| at.saturating_duration_since(sent).as_secs_f64() * 1_000.0)
    }

    /// From the response's head to its last body frame, ms.
    pub fn download_ms(&self) -> f64 {
        let (Some((head, _)), last) = (self.head.get(), self.last_frame_ns.load(Ordering::Relaxed))
        else {
            return 0.0;
        };
        let head_ns = head.duration_since(self.started).as_nanos() as u64;
        last.saturating_sub(head_ns) as f64 / 1e6
    }

    /// The response's HTTP version, as Resource Timing names it.
    pub fn protocol(&self) -> &'static str {
        match self.head.get().map(|(_, v)| *v) {
            Some(Version::HTTP_2) => "h2",
            Some(Version::HTTP_10) => "http/1.0",
            Some(_) => "http/1.1",
            None => "",
        }
    }

    /// Response body bytes received so far.
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes.load(Ordering::Relaxed)
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// `at`, in ms since the call started.
    pub fn ms_at(&self, at: Instant) -> f64 {
        at.duration_since(self.started).as_secs_f64() * 1_000.0
    }
}

/// A lane's pooled HTTP client.
#[derive(Clone)]
pub struct HttpLane {
    client: Client<Connector, Body>,
    /// The listener's origin (`http://127.0.0.1:8080`).
    pub base: Uri,
    pub counts: Arc<WireCounts>,
}

impl HttpLane {
    /// A client for `base` over `connector`'s connections: HTTP/2 only (one connection,
    /// multiplexed) or HTTP/1.1 with a pool of up to `pool` idle connections (one per
    /// request in flight: hyper opens another whenever none is idle).
    pub fn new(
        base: Uri,
        connector: Connector,
        counts: Arc<WireCounts>,
        http2: bool,
        pool: usize,
    ) -> Self {
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_idle_timeout(IDLE_POOL)
            .pool_max_idle_per_host(pool)
            .http2_only(http2);
        Self {
            client: builder.build(connector),
            base,
            counts,
        }
    }

    /// `path_and_query` on this lane's listener.
    pub fn uri(&self, path_and_query: &str) -> Uri {
        let mut parts = self.base.clone().into_parts();
        parts.path_and_query = Some(path_and_query.parse().expect("the lab's own paths"));
        Uri::from_parts(parts).expect("a base URI and a path")
    }

    /// Sends `request`, metered by the [`CallMeter`] in its extensions, if any.
    pub fn send(
        &self,
        request: Request<Body>,
    ) -> impl Future<Output = Result<Response<Body>, hyper_util::client::legacy::Error>> + Send + 'static
    {
        let meter = request.extensions().get::<Arc<CallMeter>>().cloned();
        if let Some(meter) = &meter {
            let _ = meter.sent.set(Instant::now());
        }
        let sent = self.client.request(request);
        async move {
            let response = sent.await?;
            let Some(meter) = meter else {
                return Ok(response.map(Body::new));
            };
            let _ = meter.head.set((Instant::now(), response.version()));
            Ok(response.map(move |body| {
                Body::new(body.map_frame(move |frame| {
                    if let Some(data) = frame.data_ref() {
                        meter
                            .body_bytes
                            .fetch_add(data.len() as u64, Ordering::Relaxed);
                        let at = meter.started.elapsed().as_nanos() as u64;
                        meter.last_frame_ns.store(at, Ordering::Relaxed);
                    }
                    frame
                }))
            }))
        }
    }
}

impl tower::Service<Request<Body>> for HttpLane {
    type Response = Response<Body>;
    type Error = hyper_util::client::legacy::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        Box::pin(self.send(request))
    }
}
