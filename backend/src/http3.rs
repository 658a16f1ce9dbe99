//! HTTP/3: the QUIC listener (quinn, rustls with ring, ALPN `h3`) and the bridge from
//! h3's request streams to the lab's axum [`Router`], which hyper cannot serve over
//! QUIC.
//!
//! The bridge is small and streams both ways:
//! - a request's body is an [`http_body::Body`] reading h3's DATA frames as they come
//!   (then its trailers, if any): the router sees it as it would over HTTP/2;
//! - a response's body is sent frame by frame, each as soon as the router's body
//!   yields it (a gRPC-Web stream's messages, an SSE stream's events), then its
//!   trailers (as HTTP/3 trailers; gRPC-Web carries its status in the body anyway);
//! - connection-specific headers (`connection`, `transfer-encoding`, …), which HTTP/3
//!   forbids, are dropped from responses.
//!
//! Every request runs on a task owned by its connection: when the connection goes
//! (the client left, the idle timeout, the end of the shutdown grace) the tasks are
//! dropped with it, and a stream's producer with them. A request whose client stops
//! reading (`STOP_SENDING`) fails at its next frame and ends there.
//!
//! The limits are the TCP listeners' in spirit: connections per listener (refused
//! beyond, before the handshake), the handshake deadline, the idle timeout (QUIC's
//! own, in the transport parameters), requests in flight per connection (QUIC's
//! bidirectional stream limit), the size of a request head (h3's
//! `max_field_section_size`) and the time to send it.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bytes::{Buf, Bytes};
use h3::error::{Code, StreamError};
use h3::server::{RequestResolver, RequestStream};
use http::{Request, Response, header};
use http_body::Frame;
use http_body_util::BodyExt;
use quinn::crypto::rustls::QuicServerConfig;
use quinn::{AsyncUdpSocket, EndpointConfig, IdleTimeout, Runtime, TokioRuntime, VarInt};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::certificate::Certificate;
use crate::link::Link;
use crate::listener::{ALPN_H3, ListenerInfo};
use crate::serve::ConnectionLimits;

/// How long a browser may remember that the tls-h2 listener's origin is also served
/// over HTTP/3 (`Alt-Svc`'s `ma`, seconds). An hour: long enough for a session, and a
/// backend restarted without QUIC is forgotten soon (browsers fall back to TCP when
/// QUIC fails meanwhile).
pub const ALT_SVC_MAX_AGE: u32 = 3_600;

/// The `Alt-Svc` value naming an HTTP/3 endpoint on `port` of the same host.
pub fn alt_svc(port: u16) -> http::HeaderValue {
    http::HeaderValue::try_from(format!("h3=\":{port}\"; ma={ALT_SVC_MAX_AGE}"))
        .expect("an Alt-Svc value is ASCII")
}

/// Response headers that only mean something on an HTTP/1.1 connection; HTTP/3
/// forbids them (RFC 9114, 4.2).
const CONNECTION_SPECIFIC: [header::HeaderName; 5] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HeaderName::from_static("keep-alive"),
    header::HeaderName::from_static("proxy-connection"),
];

/// A bound QUIC endpoint, not accepting yet.
pub struct QuicListener {
    endpoint: quinn::Endpoint,
    tls: Arc<rustls::ServerConfig>,
}

impl QuicListener {
    /// Binds UDP `addr` and presents `certificate` with ALPN `h3`; with a `link`,
    /// every datagram passes through it.
    pub fn bind(
        addr: SocketAddr,
        certificate: &Certificate,
        link: Option<&Link>,
    ) -> io::Result<Self> {
        let socket = std::net::UdpSocket::bind(addr)?;
        let runtime = Arc::new(TokioRuntime);
        let udp = runtime.wrap_udp_socket(socket)?;
        let udp: Arc<dyn AsyncUdpSocket> = match link {
            None => udp,
            Some(link) => link.carry_datagrams(udp),
        };
        let tls = certificate.server_config(&[ALPN_H3]);
        let config = server_config(&tls, &ConnectionLimits::default());
        let endpoint = quinn::Endpoint::new_with_abstract_socket(
            EndpointConfig::default(),
            Some(config),
            udp,
            runtime,
        )?;
        Ok(Self { endpoint, tls })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }
}

/// QUIC's server configuration: the certificate (TLS 1.3, ALPN `h3`) and `limits`.
fn server_config(
    tls: &Arc<rustls::ServerConfig>,
    limits: &ConnectionLimits,
) -> quinn::ServerConfig {
    let crypto = QuicServerConfig::try_from(tls.clone())
        .expect("the certificate's TLS configuration offers TLS 1.3 with AES-128-GCM (ring)");
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    // Idle: nothing received for this long (QUIC's idle timeout, the lower of both
    // ends' wins); the connection is then closed at once, as QUIC does it.
    transport.max_idle_timeout(Some(
        IdleTimeout::try_from(limits.idle_timeout).unwrap_or(IdleTimeout::from(VarInt::MAX)),
    ));
    transport.max_concurrent_bidi_streams(VarInt::from_u32(limits.max_streams_per_connection));
    config.transport_config(Arc::new(transport));
    config
}

/// Accepts QUIC connections until `shutdown`, each served on its own task that holds
/// a receiver of `stop` (closing is signalled by a send, see [`crate::serve::serve`]).
pub(crate) async fn accept_loop(
    listener: QuicListener,
    info: &ListenerInfo,
    app: &Router,
    limits: &ConnectionLimits,
    stop: &watch::Sender<()>,
    mut shutdown: impl Future<Output = ()> + Unpin,
) {
    let QuicListener { endpoint, tls } = listener;
    endpoint.set_server_config(Some(server_config(&tls, limits)));
    let name = info.kind.name();
    loop {
        let incoming = tokio::select! {
            incoming = endpoint.accept() => match incoming {
                Some(incoming) => incoming,
                None => break,
            },
            () = &mut shutdown => break,
        };
        let peer = incoming.remote_address();
        let Some(open) = info.counts.admit(limits.max_connections) else {
            tracing::warn!(
                "{name}: {} connections open, the maximum: refused the one from {peer}",
                limits.max_connections
            );
            incoming.refuse();
            continue;
        };
        let app = app.clone();
        let stop = stop.subscribe();
        let limits = limits.clone();
        tokio::spawn(async move {
            let _open = open;
            serve_connection(incoming, app, stop, &limits, name, peer).await;
        });
    }
    // No new connections; the open ones finish (serve waits for them).
    endpoint.set_server_config(None);
}

/// One QUIC connection: the handshake within its deadline, then HTTP/3 until the
/// client closes it, it is idle, or `stop` (a GOAWAY, then `shutdown_grace` for the
/// requests in flight).
async fn serve_connection(
    incoming: quinn::Incoming,
    app: Router,
    mut stop: watch::Receiver<()>,
    limits: &ConnectionLimits,
    name: &'static str,
    peer: SocketAddr,
) {
    let connecting = match incoming.accept() {
        Ok(connecting) => connecting,
        Err(err) => {
            tracing::debug!("{name}: connection from {peer} failed: {err}");
            return;
        }
    };
    let handshake = tokio::select! {
        done = tokio::time::timeout(limits.tls_handshake_timeout, connecting) => done,
        _ = stop.changed() => return,
    };
    let connection = match handshake {
        Ok(Ok(connection)) => connection,
        Ok(Err(err)) => {
            tracing::debug!("{name}: QUIC handshake with {peer} failed: {err}");
            return;
        }
        Err(_) => {
            tracing::debug!(
                "{name}: no QUIC handshake from {peer} within {:?}: dropped",
                limits.tls_handshake_timeout
            );
            return;
        }
    };
    let built = h3::server::builder()
        .max_field_section_size(limits.max_head_bytes as u64)
        .build::<_, Bytes>(h3_quinn::Connection::new(connection.clone()))
        .await;
    let mut h3 = match built {
        Ok(h3) => h3,
        Err(err) => {
            tracing::debug!("{name}: HTTP/3 with {peer} failed to start: {err}");
            return;
        }
    };
    // The requests' tasks: dropped (aborted) with the connection.
    let mut requests = JoinSet::new();
    let mut closing_deadline: Option<Instant> = None;
    loop {
        tokio::select! {
            accepted = h3.accept() => match accepted {
                Ok(Some(resolver)) => {
                    requests.spawn(serve_request(resolver, app.clone(), limits.header_read_timeout));
                }
                // After a GOAWAY, every request done.
                Ok(None) => break,
                Err(err) => {
                    if !err.is_h3_no_error() {
                        tracing::debug!("{name}: HTTP/3 connection with {peer} ended: {err}");
                    }
                    break;
                }
            },
            Some(_) = requests.join_next(), if !requests.is_empty() => {}
            _ = stop.changed(), if closing_deadline.is_none() => {
                // GOAWAY: no new requests; those in flight may finish.
                if h3.shutdown(0).await.is_err() {
                    break;
                }
                closing_deadline = Some(Instant::now() + limits.shutdown_grace);
            }
            () = tokio::time::sleep_until(closing_deadline.unwrap_or_else(Instant::now)),
                if closing_deadline.is_some() => {
                tracing::debug!("{name}: connection still busy {:?} after closing: dropped", limits.shutdown_grace);
                break;
            }
        }
    }
    requests.abort_all();
    connection.close(VarInt::from_u32(Code::H3_NO_ERROR.value() as u32), b"");
}

/// One request: its head within `head_timeout`, then the router's response, sent as
/// it comes.
async fn serve_request(
    resolver: RequestResolver<h3_quinn::Connection, Bytes>,
    app: Router,
    head_timeout: Duration,
) {
    let (request, stream) =
        match tokio::time::timeout(head_timeout, resolver.resolve_request()).await {
            Ok(Ok(resolved)) => resolved,
            Ok(Err(err)) => {
                tracing::debug!("HTTP/3 request failed before its head: {err}");
                return;
            }
            Err(_) => {
                tracing::debug!("HTTP/3 request head not received within {head_timeout:?}");
                return;
            }
        };
    let (mut send, recv) = stream.split();
    let (parts, ()) = request.into_parts();
    let request = Request::from_parts(parts, Body::new(RequestBody::new(recv)));
    let response = match app.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if let Err(err) = respond(&mut send, response).await {
        // Mostly the client going away (STOP_SENDING, the connection closed).
        tracing::debug!("HTTP/3 response not completed: {err}");
    }
}

/// Sends `response`: its head, then each frame of its body as the body yields it.
async fn respond(
    send: &mut RequestStream<h3_quinn::SendStream<Bytes>, Bytes>,
    response: Response<Body>,
) -> Result<(), StreamError> {
    let (mut parts, mut body) = response.into_parts();
    for name in &CONNECTION_SPECIFIC {
        parts.headers.remove(name);
    }
    send.send_response(Response::from_parts(parts, ())).await?;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(err) => {
                // As hyper does over HTTP/2: the stream is reset, the client sees it
                // cut short.
                tracing::debug!("HTTP/3 response body failed: {err}");
                send.stop_stream(Code::H3_INTERNAL_ERROR);
                return Ok(());
            }
        };
        match frame.into_data() {
            Ok(data) if data.is_empty() => {}
            Ok(data) => send.send_data(data).await?,
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    send.send_trailers(trailers).await?;
                }
            }
        }
    }
    send.finish().await
}

/// A request's body as h3 receives it: DATA frames as they arrive, then the trailers.
struct RequestBody {
    recv: RequestStream<h3_quinn::RecvStream, Bytes>,
    data_done: bool,
    done: bool,
}

impl RequestBody {
    fn new(recv: RequestStream<h3_quinn::RecvStream, Bytes>) -> Self {
        Self {
            recv,
            data_done: false,
            done: false,
        }
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = StreamError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if !this.data_done {
            match this.recv.poll_recv_data(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Some(mut data))) => {
                    let bytes = data.copy_to_bytes(data.remaining());
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Poll::Ready(Ok(None)) => this.data_done = true,
                Poll::Ready(Err(err)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
        let trailers = std::task::ready!(this.recv.poll_recv_trailers(cx));
        this.done = true;
        match trailers {
            Ok(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Ok(None) => Poll::Ready(None),
            Err(err) => Poll::Ready(Some(Err(err))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_svc_names_the_port_on_the_same_host() {
        assert_eq!(alt_svc(8444), "h3=\":8444\"; ma=3600");
    }
}
