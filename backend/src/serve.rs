//! Binding and serving: one listener for HTTP/1.1 and HTTP/2 (h2c), every connection
//! served by hyper with the lab's limits and timeouts ([`ConnectionLimits`]), tuned for
//! small exchanges ([`Connection`]), and drained gracefully on Ctrl-C and SIGTERM.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// What one connection may cost the server, enforced by hyper before any handler runs.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// The largest request head: request line and headers (HTTP/1.1), or the decoded
    /// header list (HTTP/2). Larger heads are answered `431 Request Header Fields Too Large`.
    pub max_head_bytes: usize,
    /// How long an HTTP/1.1 client may take to send a request head; a slower client
    /// (e.g. slowloris) is disconnected.
    pub header_read_timeout: Duration,
    /// Requests in flight on one HTTP/2 connection; more are refused by HTTP/2 itself.
    pub max_streams_per_connection: u32,
    /// After a shutdown signal, how long requests in flight may take to finish (a slow
    /// stream would otherwise hold the process up).
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_head_bytes: 32 * 1024,
            header_read_timeout: Duration::from_secs(10),
            max_streams_per_connection: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Binds `addr`, turning "address in use" into a message that says what to do.
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|err| match err.kind() {
        io::ErrorKind::AddrInUse => io::Error::new(
            err.kind(),
            format!("{addr} is already in use: pick another address with --addr 127.0.0.1:<port> (or LAB_ADDR)"),
        ),
        _ => io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}")),
    })
}

/// Serves `app` on `listener` until `shutdown` resolves, then closes idle connections
/// and gives the requests in flight (streams included) `shutdown_grace` to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let builder = hyper_builder(limits);
    let graceful = GracefulShutdown::new();
    let mut listener = LabListener(listener);
    tokio::pin!(shutdown);
    loop {
        let (io, _peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let connection = builder.serve_connection(TokioIo::new(io), service);
            if let Err(err) = watcher.watch(connection).await {
                // Clients hanging up, timeouts and protocol errors: the connection is
                // gone, the server goes on.
                tracing::debug!("connection ended: {err}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
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

/// The lab's listener: axum's TCP accept loop, with every connection tuned for small
/// request/response exchanges (see [`Connection`]).
struct LabListener(TcpListener);

impl Listener for LabListener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        let (tcp, addr) = Listener::accept(&mut self.0).await;
        // Nagle's algorithm delays small responses by tens of milliseconds: off.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {err}");
        }
        (Connection(tcp), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A TCP connection that tells hyper and h2 not to use vectored writes.
///
/// With vectored writes, h2 sends any DATA payload over 256 bytes as a separate buffer
/// and cannot queue the gRPC trailers behind it, so every native gRPC response of more
/// than 256 bytes took two `writev` calls (measured with `strace -c`: 2.0 per request
/// for a 10-record fetch, 1.0 for ping). Without them, payloads under 1 KiB are copied
/// into the frame buffer and a response leaves in one write; larger ones are chained as
/// before. HTTP/1.1 responses are copied into one buffer either way.
struct Connection(TcpStream);

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}
