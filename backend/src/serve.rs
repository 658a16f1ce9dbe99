//! Binding and serving: one listener for HTTP/1.1 and HTTP/2 (h2c), connections tuned
//! for small exchanges ([`Connection`]), graceful shutdown on Ctrl-C and SIGTERM.

use std::io;
use std::net::SocketAddr;

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

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

/// Serves `app` on `listener` until `shutdown` resolves, then drains connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(LabListener(listener), app)
        .with_graceful_shutdown(shutdown)
        .await
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
