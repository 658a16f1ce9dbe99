//! Binding and serving: the lab's listeners ([`ListenerKind`]: plain HTTP/1.1 + h2c,
//! TLS offering `http/1.1` or `h2`, and QUIC offering `h3`), all serving the same
//! router from one accept loop each. TCP connections are served by hyper, QUIC ones by
//! [`crate::http3`], with the lab's limits and timeouts ([`ConnectionLimits`]): a cap
//! on open connections per listener, a TLS handshake deadline, an idle timeout, and a
//! graceful drain on Ctrl-C and SIGTERM. Connections are tuned for small exchanges
//! ([`Connection`]). On a listener with a link, each accepted socket (QUIC: the UDP
//! socket) first passes through it ([`crate::link`]), below TLS.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use futures_util::FutureExt as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::certificate::Certificate;
use crate::http3::{self, QuicListener};
use crate::link::Link;
use crate::listener::{ALPN_H2, ListenerInfo, ListenerKind};

/// What one connection may cost the server, enforced before any handler runs.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// The largest request head: request line and headers (HTTP/1.1), or the decoded
    /// header list (HTTP/2). Larger heads are answered `431 Request Header Fields Too Large`.
    pub max_head_bytes: usize,
    /// How long an HTTP/1.1 client may take to send a request head (this also closes
    /// idle keep-alive connections); a slower client (e.g. slowloris) is disconnected.
    pub header_read_timeout: Duration,
    /// Requests in flight on one HTTP/2 or HTTP/3 connection; more are refused by
    /// HTTP/2 itself (QUIC: the client may not open more streams).
    pub max_streams_per_connection: u32,
    /// Connections open at once on each listener; a connection beyond it is closed
    /// right after accept (counted in the listener's `connectionsRefused`).
    pub max_connections: usize,
    /// How long a client may take to complete the TLS handshake; then it is dropped.
    /// With a link, the handshake's round trips count towards it.
    pub tls_handshake_timeout: Duration,
    /// A connection (either HTTP version, any listener) that has read and written
    /// nothing for this long is closed: HTTP/2 ones with a GOAWAY. Longer than the
    /// longest stream interval (10 s), so a slow stream is never idle.
    pub idle_timeout: Duration,
    /// After a shutdown signal or the idle timeout, how long requests in flight may
    /// take to finish before the connection is dropped (a slow stream would otherwise
    /// hold it, or the process, up).
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_head_bytes: 32 * 1024,
            header_read_timeout: Duration::from_secs(10),
            max_streams_per_connection: 256,
            max_connections: 1024,
            tls_handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A bound listener: its socket (TCP with its TLS acceptor, none for the plain one;
/// or a QUIC endpoint) and what the rest of the backend sees of it.
pub struct BoundListener {
    socket: Socket,
    info: ListenerInfo,
    /// `Alt-Svc` added to every response (the tls-h2 listener's: its network's QUIC
    /// listener).
    alt_svc: Option<HeaderValue>,
}

enum Socket {
    Tcp {
        tcp: TcpListener,
        tls: Option<TlsAcceptor>,
    },
    Quic(QuicListener),
}

impl BoundListener {
    /// Binds a listener of `kind` on `addr` (UDP for QUIC, else TCP), turning
    /// "address in use" into a message that says what to do. TLS and QUIC listeners
    /// present `certificate`; with a `link`, every connection (QUIC: every datagram)
    /// passes through it, below TLS.
    ///
    /// # Panics
    /// If `kind` needs TLS and there is no certificate.
    pub async fn bind(
        kind: ListenerKind,
        addr: SocketAddr,
        certificate: Option<&Certificate>,
        link: Option<Link>,
    ) -> io::Result<Self> {
        let explain = |err: io::Error| {
            let (flag, env) = kind.addr_option();
            let protocol = if kind.is_quic() { "UDP " } else { "" };
            match err.kind() {
                io::ErrorKind::AddrInUse => io::Error::new(
                    err.kind(),
                    format!(
                        "{protocol}{addr} is already in use: pick another address with \
                         {flag} 127.0.0.1:<port> (or {env}){}",
                        match kind {
                            ListenerKind::Plain => "",
                            ListenerKind::QuicH3 => ", or pass --no-h3",
                            _ => ", or pass --no-tls",
                        }
                    ),
                ),
                _ => io::Error::new(
                    err.kind(),
                    format!("cannot listen on {protocol}{addr}: {err}"),
                ),
            }
        };
        if kind.is_quic() {
            let certificate = certificate.expect("a QUIC listener needs a certificate");
            let quic = QuicListener::bind(addr, certificate, link.as_ref()).map_err(explain)?;
            let info = ListenerInfo::new(kind, quic.local_addr()?, link);
            return Ok(Self {
                socket: Socket::Quic(quic),
                info,
                alt_svc: None,
            });
        }
        let tcp = TcpListener::bind(addr).await.map_err(explain)?;
        let tls = kind.alpn().map(|alpn| {
            let certificate = certificate.expect("a TLS listener needs a certificate");
            TlsAcceptor::from(certificate.server_config(alpn))
        });
        let info = ListenerInfo::new(kind, tcp.local_addr()?, link);
        Ok(Self {
            socket: Socket::Tcp { tcp, tls },
            info,
            alt_svc: None,
        })
    }

    pub fn info(&self) -> &ListenerInfo {
        &self.info
    }

    /// Advertises an HTTP/3 listener (on UDP `port` of the same host) in an `Alt-Svc`
    /// header on every response of this one.
    pub fn advertise_h3(&mut self, port: u16) {
        self.alt_svc = Some(http3::alt_svc(port));
    }

    /// The `Alt-Svc` this listener's responses carry, if any.
    pub fn alt_svc(&self) -> Option<&HeaderValue> {
        self.alt_svc.as_ref()
    }
}

/// The three connection builders: the plain listener detects the HTTP version from
/// the first bytes; behind TLS, ALPN has decided it.
#[derive(Clone)]
struct Builders {
    detect: auto::Builder<TokioExecutor>,
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
}

impl Builders {
    fn new(limits: &ConnectionLimits) -> Self {
        let detect = hyper_builder(limits);
        Self {
            http1: detect.clone().http1_only(),
            http2: detect.clone().http2_only(),
            detect,
        }
    }
}

/// Serves `app` on every listener until `shutdown` resolves, then closes idle
/// connections and gives the requests in flight (streams included) `shutdown_grace`
/// to finish.
pub async fn serve(
    listeners: Vec<BoundListener>,
    app: Router,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let builders = Arc::new(Builders::new(limits));
    // Every connection holds a receiver: closing is signalled by a send, and drained
    // when the last receiver is gone.
    let (stop, _) = watch::channel(());
    let shutdown = shutdown.boxed().shared();
    let loops = listeners
        .into_iter()
        .map(|listener| accept_loop(listener, &app, &builders, limits, &stop, shutdown.clone()));
    futures_util::future::join_all(loops).await;
    let _ = stop.send(());
    if tokio::time::timeout(limits.shutdown_grace, stop.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still running after {:?}: closing them",
            limits.shutdown_grace
        );
    }
    Ok(())
}

/// Accepts connections on `listener` until `shutdown`, each served on its own task.
async fn accept_loop(
    listener: BoundListener,
    app: &Router,
    builders: &Arc<Builders>,
    limits: &ConnectionLimits,
    stop: &watch::Sender<()>,
    mut shutdown: impl Future<Output = ()> + Unpin,
) {
    let BoundListener {
        socket,
        info,
        alt_svc,
    } = listener;
    // This listener's router: the shared one, with its `Alt-Svc` if it has one (one
    // more service around it, built once).
    let app = match alt_svc {
        None => app.clone(),
        Some(value) => Router::new().fallback_service(
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(header::ALT_SVC, value))
                .service(app.clone()),
        ),
    };
    let (mut tcp, tls) = match socket {
        Socket::Tcp { tcp, tls } => (tcp, tls),
        Socket::Quic(quic) => {
            return http3::accept_loop(quic, &info, &app, limits, stop, shutdown).await;
        }
    };
    let name = info.kind.name();
    loop {
        // axum's accept: retries after errors such as "too many open files".
        let (tcp, peer) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut tcp) => accepted,
            () = &mut shutdown => break,
        };
        let Some(open) = info.counts.admit(limits.max_connections) else {
            // Dropping the socket closes it.
            tracing::warn!(
                "{name}: {} connections open, the maximum: closed the one from {peer}",
                limits.max_connections
            );
            continue;
        };
        // Nagle's algorithm delays small responses by tens of milliseconds: off.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {err}");
        }
        // Every byte counted at the socket, below the link and TLS.
        let tcp = lab_runner::wire::count_bytes(tcp, info.counts.bytes.clone());
        let service = TowerToHyperService::new(app.clone());
        let builders = builders.clone();
        let tls = tls.clone();
        let link = info.link.clone();
        let stop = stop.subscribe();
        let limits = limits.clone();
        let peer = Peer {
            listener: name,
            addr: peer,
        };
        tokio::spawn(async move {
            let _open = open;
            // No link: the accepted socket as is (loopback, the default).
            match link {
                None => serve_accepted(tcp, tls, &builders, service, stop, &limits, peer).await,
                Some(link) => {
                    let carried = link.carry(tcp);
                    serve_accepted(carried, tls, &builders, service, stop, &limits, peer).await;
                }
            }
        });
    }
}

/// Who a connection came from, for the logs.
struct Peer {
    listener: &'static str,
    addr: SocketAddr,
}

/// Serves one accepted connection: through the TLS handshake first on a TLS listener.
async fn serve_accepted<I>(
    io: I,
    tls: Option<TlsAcceptor>,
    builders: &Builders,
    service: TowerToHyperService<Router>,
    mut stop: watch::Receiver<()>,
    limits: &ConnectionLimits,
    peer: Peer,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Peer {
        listener: name,
        addr: peer,
    } = peer;
    let Some(acceptor) = tls else {
        return drive(&builders.detect, io, service, stop, limits).await;
    };
    let handshake = tokio::select! {
        done = tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(io)) => done,
        _ = stop.changed() => return,
    };
    match handshake {
        Ok(Ok(stream)) => {
            let builder = if stream.get_ref().1.alpn_protocol() == Some(ALPN_H2) {
                &builders.http2
            } else {
                &builders.http1
            };
            drive(builder, stream, service, stop, limits).await;
        }
        Ok(Err(err)) => tracing::debug!("{name}: TLS handshake with {peer} failed: {err}"),
        Err(_) => tracing::debug!(
            "{name}: no TLS handshake from {peer} within {:?}: dropped",
            limits.tls_handshake_timeout
        ),
    }
}

/// Serves one connection until it ends; closes it gracefully (GOAWAY for HTTP/2) on
/// `stop` or when it has been idle for `idle_timeout`, and drops it if it is still
/// busy `shutdown_grace` later.
async fn drive<I>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    service: TowerToHyperService<Router>,
    mut stop: watch::Receiver<()>,
    limits: &ConnectionLimits,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = Connection {
        inner: io,
        activity: activity.clone(),
    };
    // With upgrades: REST's bidirectional stream is a WebSocket (its connection then
    // belongs to the socket's task, which keeps its own idle limit: `rest::echo`).
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    let mut closing_deadline: Option<Instant> = None;
    loop {
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(err) = ended {
                    // Clients hanging up, timeouts and protocol errors: the connection
                    // is gone, the server goes on.
                    tracing::debug!("connection ended: {err}");
                }
                return;
            }
            _ = stop.changed(), if closing_deadline.is_none() => {
                connection.as_mut().graceful_shutdown();
                closing_deadline = Some(Instant::now() + limits.shutdown_grace);
            }
            () = activity.idle_for(limits.idle_timeout), if closing_deadline.is_none() => {
                tracing::debug!("connection idle for {:?}: closing it", limits.idle_timeout);
                connection.as_mut().graceful_shutdown();
                closing_deadline = Some(Instant::now() + limits.shutdown_grace);
            }
            () = tokio::time::sleep_until(closing_deadline.unwrap_or_else(Instant::now)),
                if closing_deadline.is_some() => {
                tracing::debug!("connection still busy {:?} after closing: dropped", limits.shutdown_grace);
                return;
            }
        }
    }
}

fn hyper_builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // The read buffer bounds the request head (hyper answers 431 when a head does
        // not fit); bodies are read through it in chunks of at most this size.
        .max_buf_size(limits.max_head_bytes.max(8 * 1024));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_head_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(limits.max_streams_per_connection);
    builder
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c()
            .await
            .expect("install the Ctrl-C handler");
    };
    #[cfg(unix)]
    let terminate = async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler")
            .recv()
            .await;
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// When a connection last read or wrote something.
struct Activity {
    started: Instant,
    /// Milliseconds after `started`.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once nothing was read or written for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = self.started + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A connection as hyper sees it (TCP, or TLS over TCP): it records activity for the
/// idle timeout and tells hyper and h2 not to use vectored writes.
///
/// With vectored writes, h2 sends any DATA payload over 256 bytes as a separate buffer
/// and cannot queue the gRPC trailers behind it, so every native gRPC response of more
/// than 256 bytes took two `writev` calls (measured with `strace -c`: 2.0 per request
/// for a 10-record fetch, 1.0 for ping). Without them, payloads under 1 KiB are copied
/// into the frame buffer and a response leaves in one write (one TLS record behind
/// TLS); larger ones are chained as before. HTTP/1.1 responses are copied into one
/// buffer either way.
struct Connection<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Connection<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Connection<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}
