//! The limits that keep one client from knocking the server over, each over real
//! sockets: request head size, concurrent streams, slow request heads and slow bodies,
//! and on every listener (plain and TLS) idle connections, open connections and TLS
//! handshakes that never complete. Every refusal is followed by a request that still
//! succeeds.

use std::time::{Duration, Instant};

use lab_backend::rest::ServerStatus;
use lab_backend::{Config, ListenerKind};
use lab_proto::contract::rest;
use lab_proto::v1::{Shape, StreamRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestServer;
use crate::support::clients::{self, CallError, TRANSPORTS, Transport};

/// Sends `request` on a fresh connection; returns what came back until the server
/// closed it (or 5 s passed).
async fn raw_exchange(server: &TestServer, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn request_heads_over_the_limit_get_431_on_both_http_versions() {
    let server = TestServer::api().await;
    let limit = server.status().await.max_head_bytes;
    let big = "x".repeat(limit + 1024);

    // HTTP/1.1 (REST and gRPC-Web).
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {big}\r\nConnection: close\r\n\r\n",
        rest::PING
    );
    let answer = raw_exchange(&server, request.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "HTTP/1.1 answered: {answer:.200}"
    );

    // HTTP/2 (native gRPC): the same header on a gRPC call.
    let mut request = tonic::Request::new(lab_proto::v1::PingRequest {});
    request
        .metadata_mut()
        .insert("x-padding", big.parse().unwrap());
    let err = clients::grpc(server.addr).ping(request).await.unwrap_err();
    assert!(
        err.message().contains("HTTP status code 431"),
        "HTTP/2 answered: {err:?}"
    );

    // Just under the limit passes, and the server kept serving.
    let fits = "x".repeat(limit / 2);
    let response = reqwest::Client::new()
        .get(server.url(rest::PING))
        .header("x-padding", &fits)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for transport in TRANSPORTS {
        transport.ping(server.addr).await.unwrap();
    }
}

#[tokio::test]
async fn streams_beyond_the_limit_are_refused_by_every_transport_until_one_ends() {
    let mut config = Config::new(std::env::temp_dir());
    config.max_streams = 2;
    let server = TestServer::with_config(config).await;
    let request = StreamRequest {
        shape: Shape::Log.into(),
        count: 10_000,
        seed: 1,
        interval_ms: 20,
    };
    let mut first = clients::grpc(server.addr)
        .stream(request)
        .await
        .unwrap()
        .into_inner();
    first.message().await.unwrap().unwrap();
    let sse_url = server.url(&rest::stream_url(Shape::Log, 10_000, 0, 20));
    let second = reqwest::get(&sse_url).await.unwrap();
    assert_eq!(second.status(), 200);
    let at_limit = server.status().await;
    assert_eq!((at_limit.live_streams, at_limit.max_streams), (2, 2));

    for transport in TRANSPORTS {
        match transport.stream(server.addr, Shape::Log, 3, 1).await {
            Err(CallError::Grpc(status)) => {
                assert_eq!(
                    status.code(),
                    tonic::Code::ResourceExhausted,
                    "{transport:?}"
                );
                assert!(
                    status.message().contains("maximum of 2 streams"),
                    "{status:?}"
                );
            }
            Err(CallError::Rest(status, body)) => {
                assert_eq!(
                    (status.as_u16(), body.error.as_str()),
                    (503, "too_many_streams")
                );
                assert!(
                    body.detail.contains("maximum of 2 streams"),
                    "{}",
                    body.detail
                );
            }
            other => panic!("{transport:?}: a third stream was admitted: {other:?}"),
        }
    }
    // Unary calls are not streams: they still pass.
    for transport in TRANSPORTS {
        transport.ping(server.addr).await.unwrap();
    }

    drop((first, second));
    for _ in 0..200 {
        if server.status().await.live_streams == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for transport in TRANSPORTS {
        let messages = transport
            .stream(server.addr, Shape::Log, 3, 1)
            .await
            .unwrap();
        assert_eq!(messages.len(), 3, "{transport:?}");
    }
}

#[tokio::test]
async fn clients_that_send_their_head_slowly_are_dropped_and_block_nobody() {
    let mut config = Config::new(std::env::temp_dir());
    config.connection.header_read_timeout = Duration::from_secs(1);
    let server = TestServer::with_config(config).await;

    // 200 connections that start a request head and never finish it.
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(format!("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n", rest::PING).as_bytes())
            .await
            .unwrap();
        slow.push(tcp);
    }
    // Everybody else is served meanwhile, on every transport.
    let started = Instant::now();
    for transport in TRANSPORTS {
        transport.ping(server.addr).await.unwrap();
        let records = transport
            .fetch(server.addr, Shape::Order, 20, 3)
            .await
            .unwrap();
        assert_eq!(records.len(), 20);
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "good clients waited {:?} behind slow ones",
        started.elapsed()
    );
    // After the header timeout the server has hung up on every slow client.
    for mut tcp in slow {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut rest)).await;
        assert!(
            matches!(read, Ok(Ok(_)) | Ok(Err(_))),
            "a slow client was still connected 5 s after a 1 s header timeout"
        );
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "unexpected answer: {text:.200}"
        );
    }
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408_and_blocks_nobody() {
    let mut config = Config::new(std::env::temp_dir());
    config.request_timeout = Duration::from_secs(1);
    let server = TestServer::with_config(config).await;

    // Announces 1,000 bytes of upload and sends 10.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"records\"",
        rest::UPLOADS
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    Transport::Rest.ping(server.addr).await.unwrap();
    Transport::GrpcWeb.ping(server.addr).await.unwrap();

    let mut answer = vec![0; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer))
        .await
        .expect("no answer 5 s after a 1 s request timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:.200}");
    assert!(started.elapsed() >= Duration::from_millis(900));

    let records = Transport::Rest
        .upload(server.addr, lab_proto::dataset::generate(Shape::Log, 1, 5))
        .await
        .unwrap();
    assert_eq!(records.count, 5);
}

#[tokio::test]
async fn status_reports_live_streams_and_the_limits_in_force() {
    let mut config = Config::new(std::env::temp_dir());
    config.max_body_bytes = 1234;
    config.max_streams = 7;
    let server = TestServer::with_config(config).await;
    let status = server.status().await;
    assert_eq!(
        status,
        ServerStatus {
            live_streams: 0,
            // Every route, each at 0, but this request.
            requests: status
                .requests
                .keys()
                .map(|route| (route.clone(), u64::from(route == rest::STATUS)))
                .collect(),
            max_streams: 7,
            max_body_bytes: 1234,
            max_head_bytes: lab_backend::ConnectionLimits::default().max_head_bytes,
            // Checked in `tls.rs`.
            listeners: status.listeners.clone(),
            refused_hosts: 0,
            refused_origins: 0,
        }
    );
    let routes: Vec<&str> = status.requests.keys().map(String::as_str).collect();
    for route in rest::ROUTES
        .iter()
        .chain(&lab_proto::contract::grpc::METHODS)
        .chain([&rest::UNKNOWN_ROUTE])
    {
        assert!(routes.contains(route), "{route} missing from {routes:?}");
    }
}

/// HTTP/2's connection preface and an empty SETTINGS frame: a client saying hello.
const H2_HELLO: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";
/// HTTP/2's GOAWAY frame type.
const GOAWAY: u8 = 7;

/// Reads until the peer closes (a TLS peer may close without `close_notify`: that
/// counts); `None` if it is still open after `within`.
async fn read_until_closed(
    io: &mut (impl tokio::io::AsyncRead + Unpin),
    within: Duration,
) -> Option<Vec<u8>> {
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    tokio::time::timeout(within, async {
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(answer)
}

/// What an idle connection opened at `started` received until the server closed it,
/// which must be after the test's 1 s idle timeout and within 6 s.
async fn closed_when_idle(
    io: &mut (impl tokio::io::AsyncRead + Unpin),
    started: Instant,
    what: &str,
) -> Vec<u8> {
    let answer = read_until_closed(io, Duration::from_secs(6))
        .await
        .unwrap_or_else(|| {
            panic!("an idle {what} connection was still open 6 s after a 1 s idle timeout")
        });
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{what}: closed after {:?}",
        started.elapsed()
    );
    answer
}

/// Says hello in HTTP/2 on `io`, then nothing: the server must say GOAWAY and close
/// it after the idle timeout.
async fn goaway_when_idle(
    mut io: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    started: Instant,
    what: &str,
) {
    io.write_all(H2_HELLO).await.unwrap();
    let frames = frame_types(&closed_when_idle(&mut io, started, what).await);
    assert!(frames.contains(&GOAWAY), "{what}: frames {frames:?}");
}

/// The types of the HTTP/2 frames in `bytes`, in order.
fn frame_types(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while bytes.len() >= 9 {
        let len = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]) as usize;
        types.push(bytes[3]);
        bytes = bytes.get(9 + len..).unwrap_or_default();
    }
    types
}

#[tokio::test]
async fn idle_connections_are_closed_on_every_listener_but_slow_streams_are_not_idle() {
    let mut config = Config::new(std::env::temp_dir());
    config.connection.idle_timeout = Duration::from_secs(1);
    // A silent HTTP/2 client never answers the PING of a graceful GOAWAY: it is
    // dropped this long after.
    config.connection.shutdown_grace = Duration::from_secs(1);
    let server = TestServer::with_config(config).await;

    // Plain, HTTP/2 by prior knowledge: hello, then nothing.
    let started = Instant::now();
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    goaway_when_idle(tcp, started, "h2c").await;

    // TLS with h2: the same hello behind the handshake.
    let h2 = server.endpoint(ListenerKind::TlsH2);
    let started = Instant::now();
    let tls = crate::tls::handshake(&h2, &[b"h2"]).await.unwrap();
    goaway_when_idle(tls, started, "h2 over TLS").await;

    // TLS with HTTP/1.1: a handshake, then no request.
    let http1 = server.endpoint(ListenerKind::TlsHttp1);
    let started = Instant::now();
    let mut tls = crate::tls::handshake(&http1, &[b"http/1.1"]).await.unwrap();
    let answer = closed_when_idle(&mut tls, started, "HTTP/1.1 over TLS").await;
    assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));

    // A stream whose messages come every 400 ms is never idle for 1 s: it completes,
    // native gRPC over h2 and SSE over HTTP/1.1 alike.
    let request = StreamRequest {
        shape: Shape::Telemetry.into(),
        count: 6,
        seed: 1,
        interval_ms: 400,
    };
    let mut stream = clients::grpc(&h2)
        .stream(request)
        .await
        .unwrap()
        .into_inner();
    let mut received = 0;
    while stream.message().await.unwrap().is_some() {
        received += 1;
    }
    assert_eq!(received, 6);
    let sse = http1
        .http()
        .get(http1.url(&rest::stream_url(Shape::Telemetry, 6, 1, 400)))
        .send()
        .await
        .unwrap();
    assert_eq!(clients::sse_messages(sse).await.len(), 6);
}

#[tokio::test]
async fn connections_beyond_the_maximum_are_closed_right_after_accept_per_listener() {
    let mut config = Config::new(std::env::temp_dir());
    config.connection.max_connections = 3;
    let server = TestServer::with_config(config).await;

    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // The kernel completes the connection; the server closes it without a word.
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let answer = read_until_closed(&mut extra, Duration::from_secs(5))
        .await
        .expect("a connection over the maximum was kept open");
    assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));

    // The maximum is per listener: the TLS ones serve meanwhile, and report it.
    let tls = server.endpoint(ListenerKind::TlsH2);
    let listeners = server.status_via(&tls).await.listeners;
    let plain = &listeners[0];
    assert_eq!(
        (
            plain.connections_accepted,
            plain.connections_open,
            plain.connections_refused
        ),
        (3, 3, 1)
    );

    // Once the held connections close, the plain listener admits again.
    drop(held);
    let open = server
        .wait_until_no_open_connections(&[ListenerKind::Plain], &tls)
        .await;
    assert_eq!(open, 0);
    for transport in TRANSPORTS {
        transport.ping(server.addr).await.unwrap();
    }
}

#[tokio::test]
async fn tls_handshakes_that_never_complete_are_dropped_and_block_nobody() {
    let mut config = Config::new(std::env::temp_dir());
    config.connection.tls_handshake_timeout = Duration::from_secs(1);
    let server = TestServer::with_config(config).await;
    let started = Instant::now();

    // On each TLS listener, 20 clients that connect and say nothing, and one that
    // stops in the middle of its ClientHello.
    let mut silent = Vec::new();
    for addr in [server.tls_http1_addr, server.tls_h2_addr] {
        for i in 0..21 {
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            if i == 0 {
                // A handshake record announcing 200 bytes, and 1 of them.
                tcp.write_all(&[0x16, 0x03, 0x01, 0x00, 0xc8, 0x01])
                    .await
                    .unwrap();
            }
            silent.push(tcp);
        }
    }
    // Everybody else is served meanwhile.
    for kind in [ListenerKind::TlsHttp1, ListenerKind::TlsH2] {
        let to = server.endpoint(kind);
        Transport::Rest.ping(&to).await.unwrap();
        Transport::GrpcWeb.ping(&to).await.unwrap();
    }
    Transport::Grpc
        .ping(server.endpoint(ListenerKind::TlsH2))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "good clients waited {:?} behind silent ones",
        started.elapsed()
    );
    // After the deadline every silent client is gone.
    for mut tcp in silent {
        read_until_closed(&mut tcp, Duration::from_secs(5))
            .await
            .expect("a client without a handshake was still connected 5 s after a 1 s deadline");
    }
    assert!(started.elapsed() >= Duration::from_millis(900));
    // And none is counted open any more (the good clients' connections close too).
    let tls = [ListenerKind::TlsHttp1, ListenerKind::TlsH2];
    let plain = server.endpoint(ListenerKind::Plain);
    assert_eq!(server.wait_until_no_open_connections(&tls, &plain).await, 0);
}
