//! The QUIC listener (HTTP/3) with a native client (quinn + h3): every workload of both
//! protocols gives the same records and the same bytes as over the TCP listeners, bad
//! input the same errors, streams flow message by message and stop their producer when
//! dropped, the HTTP/2 listener advertises it in `Alt-Svc`, and `/api/v1/status` lists
//! and counts it. (Its link: `link.rs`.)

use std::time::{Duration, Instant};

use bytes::Bytes;
use lab_backend::{ListenerKind, http3};
use lab_proto::contract::{grpc as methods, listener, rest};
use lab_proto::dataset;
use lab_proto::v1::{FetchRequest, Shape, StreamRequest};
use prost::Message;

use crate::api::wait_until_no_live_streams;
use crate::support::TestServer;
use crate::support::clients::{CallError, GrpcWebMode, Transport, grpc_web_frame, grpc_web_raw};
use crate::support::h3_client::{H3_TRANSPORTS, H3Client, H3Transport, chunk_arrivals};

/// The same protocol over TCP (the HTTP/2 listener), for parity.
fn over_tcp(transport: H3Transport) -> Transport {
    match transport {
        H3Transport::GrpcWeb => Transport::GrpcWeb,
        H3Transport::Rest => Transport::Rest,
    }
}

#[tokio::test]
async fn every_workload_over_http3_gives_what_the_tcp_listeners_give() {
    let server = TestServer::api().await;
    let h2 = server.endpoint(ListenerKind::TlsH2);
    let mut client = H3Client::connect(server.h3_addr, &server.certificate).await;
    for transport in H3_TRANSPORTS {
        let tcp = over_tcp(transport);
        let what = format!("{transport:?} over HTTP/3");
        transport.ping(&mut client).await.unwrap();

        for (shape, count) in [
            (Shape::Telemetry, 1),
            (Shape::Log, 2_000),
            (Shape::Order, 137),
        ] {
            let records = transport.fetch(&mut client, shape, count, 7).await.unwrap();
            assert!(
                records == dataset::generate(shape, 7, count as usize),
                "{what}: fetch {shape:?} x{count} differs from the generator"
            );
            assert!(
                records == tcp.fetch(&h2, shape, count, 7).await.unwrap(),
                "{what}: fetch {shape:?} x{count} differs from HTTP/2's"
            );
        }

        // Large enough to arrive in many DATA frames (the body is streamed in).
        let records = dataset::generate(Shape::Order, 3, 1_500);
        let answer = transport
            .upload(&mut client, records.clone())
            .await
            .unwrap();
        assert_eq!(
            (answer.count, answer.checksum),
            (1_500, lab_proto::checksum(&records)),
            "{what}: upload"
        );
        assert_eq!(answer, tcp.upload(&h2, records).await.unwrap(), "{what}");

        let messages = transport
            .stream(&mut client, Shape::Log, 40, 5)
            .await
            .unwrap();
        let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "{what}: stream order");
        let tcp_messages = tcp.stream(&h2, Shape::Log, 40, 5).await.unwrap();
        let records: Vec<_> = messages.into_iter().map(|m| m.record.unwrap()).collect();
        assert!(
            records == dataset::generate(Shape::Log, 5, 40),
            "{what}: stream differs"
        );
        let tcp_records: Vec<_> = tcp_messages
            .into_iter()
            .map(|m| m.record.unwrap())
            .collect();
        assert!(
            records == tcp_records,
            "{what}: stream differs from HTTP/2's"
        );
    }
    client.close().await;
}

#[tokio::test]
async fn http3_answers_carry_the_same_bytes_as_http2_answers() {
    let server = TestServer::api().await;
    let h2 = server.endpoint(ListenerKind::TlsH2);
    let http = h2.http();
    let mut client = H3Client::connect(server.h3_addr, &server.certificate).await;

    // REST: the same JSON, byte for byte, and the same content type.
    let path = rest::records_url(rest::RECORDS, Shape::Order, 250, 11);
    let over_h3 = client.get(&path).await;
    let over_h2 = http.get(h2.url(&path)).send().await.unwrap();
    assert_eq!(over_h2.version(), reqwest::Version::HTTP_2);
    assert_eq!(over_h3.status, 200);
    assert_eq!(
        over_h3.headers.get("content-type"),
        over_h2.headers().get("content-type")
    );
    assert_eq!(over_h3.body, over_h2.bytes().await.unwrap(), "REST fetch");

    // gRPC-Web: the same frames (messages and trailer frame).
    let request = FetchRequest {
        shape: Shape::Telemetry.into(),
        count: 300,
        seed: 4,
    };
    let over_h3 = client.grpc_web(methods::FETCH, &request).await;
    let frames = grpc_web_frame(&request.encode_to_vec());
    let over_h2 = http
        .post(h2.url(methods::FETCH))
        .header("content-type", GrpcWebMode::Binary.content_type())
        .header("accept", GrpcWebMode::Binary.content_type())
        .header("x-grpc-web", "1")
        .body(frames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        over_h3.headers.get("content-type"),
        over_h2.headers().get("content-type")
    );
    assert_eq!(
        over_h3.body,
        over_h2.bytes().await.unwrap(),
        "gRPC-Web fetch"
    );
    // gRPC-Web's status is in the body: nothing needs HTTP/3 trailers.
    assert!(
        over_h3
            .trailers
            .as_ref()
            .is_none_or(|t| t.get("grpc-status").is_none()),
        "{:?}",
        over_h3.trailers
    );
    client.close().await;
}

#[tokio::test]
async fn bad_requests_get_the_same_errors_over_http3() {
    let server = TestServer::api().await;
    let h2 = server.endpoint(ListenerKind::TlsH2);
    let http = h2.http();
    let mut client = H3Client::connect(server.h3_addr, &server.certificate).await;

    // REST: the same status and the same JSON error, word for word.
    let queries = [
        format!("{}?shape=log&count=abc", rest::RECORDS),
        format!("{}?count=5", rest::RECORDS),
        format!("{}?shape=triangle&count=5", rest::RECORDS),
        format!("{}?shape=log&count=0", rest::RECORDS),
        "/api/v1/nothing-here".to_owned(),
    ];
    for path in &queries {
        let over_h3 = client.get(path).await;
        let over_h2 = http.get(h2.url(path)).send().await.unwrap();
        assert_eq!(over_h3.status, over_h2.status().as_u16(), "{path}");
        assert!(over_h3.status >= 400, "{path}: {over_h3:?}");
        assert_eq!(over_h3.body, over_h2.bytes().await.unwrap(), "{path}");
    }
    let bad_json = client
        .request(
            http::Method::POST,
            rest::UPLOADS,
            &[("content-type", "application/json")],
            Bytes::from_static(b"{\"records\": [1, 2"),
        )
        .await;
    let over_h2 = http
        .post(h2.url(rest::UPLOADS))
        .header("content-type", "application/json")
        .body("{\"records\": [1, 2")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status, over_h2.status().as_u16());
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.body, over_h2.bytes().await.unwrap());

    // gRPC-Web: the same status code and message.
    for transport in H3_TRANSPORTS {
        let over_h3 = transport.fetch(&mut client, Shape::Log, 0, 1).await;
        let over_h2 = over_tcp(transport).fetch(&h2, Shape::Log, 0, 1).await;
        match (over_h3.unwrap_err(), over_h2.unwrap_err()) {
            (CallError::Grpc(a), CallError::Grpc(b)) => {
                assert_eq!((a.code(), a.message()), (b.code(), b.message()));
                assert_eq!(a.code(), tonic::Code::InvalidArgument);
            }
            (CallError::Rest(a, x), CallError::Rest(b, y)) => {
                assert_eq!((a, x.error, x.detail), (b, y.error, y.detail));
            }
            other => panic!("{transport:?}: {other:?}"),
        }
    }
    // A gRPC-Web body that is not a message.
    let garbage = grpc_web_frame(b"\xff\xff\xff");
    let over_h3 = client
        .request(
            http::Method::POST,
            methods::FETCH,
            &[
                ("content-type", GrpcWebMode::Binary.content_type()),
                ("x-grpc-web", "1"),
            ],
            garbage.clone().into(),
        )
        .await;
    let over_h2 = grpc_web_raw(&http, &h2, methods::FETCH, GrpcWebMode::Binary, garbage)
        .await
        .unwrap();
    let mut trailers = over_h3.headers.clone();
    crate::support::clients::parse_grpc_web_frames(&over_h3.body, &mut trailers).unwrap();
    let (a, b) = (
        tonic::Status::from_header_map(&trailers).unwrap(),
        over_h2.status().unwrap(),
    );
    assert_eq!((a.code(), a.message()), (b.code(), b.message()));
    assert_ne!(a.code(), tonic::Code::Ok);

    // And the connection keeps serving.
    H3Transport::Rest.ping(&mut client).await.unwrap();
    client.close().await;
}

#[tokio::test]
async fn the_http2_listener_advertises_the_quic_listener_in_alt_svc() {
    let server = TestServer::api().await;
    let expected = format!(
        "h3=\":{}\"; ma={}",
        server.h3_addr.port(),
        http3::ALT_SVC_MAX_AGE
    );
    let h2 = server.endpoint(ListenerKind::TlsH2);
    for path in [rest::PING, "/healthz", "/api/v1/nothing-here"] {
        let response = h2.http().get(h2.url(path)).send().await.unwrap();
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        assert_eq!(
            response
                .headers()
                .get("alt-svc")
                .map(|v| v.to_str().unwrap()),
            Some(expected.as_str()),
            "{path}"
        );
    }
    // gRPC-Web answers too.
    let answer = grpc_web_raw(
        &h2.http(),
        &h2,
        methods::PING,
        GrpcWebMode::Binary,
        grpc_web_frame(&[]),
    )
    .await
    .unwrap();
    assert_eq!(
        answer.trailers.get("alt-svc").map(|v| v.to_str().unwrap()),
        Some(expected.as_str())
    );
    // The other listeners advertise nothing, HTTP/3 itself included.
    for kind in [ListenerKind::Plain, ListenerKind::TlsHttp1] {
        let to = server.endpoint(kind);
        let response = to.http().get(to.url(rest::PING)).send().await.unwrap();
        assert!(response.headers().get("alt-svc").is_none(), "{kind}");
    }
    let mut client = H3Client::connect(server.h3_addr, &server.certificate).await;
    assert!(
        client
            .get(rest::PING)
            .await
            .headers
            .get("alt-svc")
            .is_none()
    );
    client.close().await;
}

#[tokio::test]
async fn status_lists_the_quic_listener_and_counts_its_connections() {
    let server = TestServer::api().await;
    let status = server.listener_status(ListenerKind::QuicH3).await;
    assert_eq!(status.name, listener::QUIC_H3);
    assert_eq!(status.url, format!("https://{}", server.h3_addr));
    assert_eq!(status.alpn, ["h3"]);
    assert_eq!(status.network.name, "loopback");
    assert_eq!(
        (status.connections_accepted, status.connections_open),
        (0, 0)
    );

    let mut first = H3Client::connect(server.h3_addr, &server.certificate).await;
    let second = H3Client::connect(server.h3_addr, &server.certificate).await;
    // Several requests on one connection: one connection.
    for _ in 0..5 {
        H3Transport::Rest.ping(&mut first).await.unwrap();
    }
    let status = server.listener_status(ListenerKind::QuicH3).await;
    assert_eq!(
        (
            status.connections_accepted,
            status.connections_open,
            status.connections_refused
        ),
        (2, 2, 0)
    );
    // Asked over HTTP/3 itself, the same listeners.
    let over_h3: lab_backend::rest::ServerStatus =
        serde_json::from_slice(&first.get(rest::STATUS).await.body).unwrap();
    let names: Vec<&str> = over_h3.listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["plain", "tls-http1", "tls-h2", "quic-h3"]);

    first.close().await;
    second.close().await;
    let open = server
        .wait_until_no_open_connections(
            &[ListenerKind::QuicH3],
            &server.endpoint(ListenerKind::Plain),
        )
        .await;
    assert_eq!(
        open, 0,
        "QUIC connections still open after their clients left"
    );
}

#[tokio::test]
async fn the_quic_listener_refuses_connections_beyond_its_maximum() {
    let mut config = lab_backend::Config::new(std::env::temp_dir().join("lab-no-frontend"));
    config.connection.max_connections = 1;
    let server = TestServer::with_config(config).await;
    let mut first = H3Client::connect(server.h3_addr, &server.certificate).await;
    let refused = H3Client::try_connect(server.h3_addr, &server.certificate).await;
    assert!(refused.is_err(), "a second connection was admitted");
    H3Transport::GrpcWeb.ping(&mut first).await.unwrap();
    let status = server.listener_status(ListenerKind::QuicH3).await;
    assert_eq!(
        (status.connections_accepted, status.connections_refused),
        (1, 1)
    );
    first.close().await;
}

/// Opens a stream of `count` messages `interval_ms` apart over HTTP/3.
async fn open_stream(
    client: &mut H3Client,
    transport: H3Transport,
    count: u32,
    interval_ms: u32,
) -> h3::client::RequestStream<h3_quinn::BidiStream<Bytes>, Bytes> {
    let mut stream = match transport {
        H3Transport::Rest => {
            let path = rest::stream_url(Shape::Log, count, 1, interval_ms);
            client
                .open(http::Method::GET, &path, &[], Bytes::new())
                .await
        }
        H3Transport::GrpcWeb => {
            let request = StreamRequest {
                shape: Shape::Log.into(),
                count,
                seed: 1,
                interval_ms,
            };
            let content_type = GrpcWebMode::Binary.content_type();
            client
                .open(
                    http::Method::POST,
                    methods::STREAM,
                    &[("content-type", content_type), ("x-grpc-web", "1")],
                    grpc_web_frame(&request.encode_to_vec()).into(),
                )
                .await
        }
    };
    let response = stream.recv_response().await.unwrap();
    assert_eq!(response.status(), 200);
    stream
}

#[tokio::test]
async fn server_streams_flow_message_by_message_over_http3() {
    let server = TestServer::api().await;
    let mut client = H3Client::connect(server.h3_addr, &server.certificate).await;
    for transport in H3_TRANSPORTS {
        let start = Instant::now();
        let mut stream = open_stream(&mut client, transport, 4, 300).await;
        let arrivals = chunk_arrivals(&mut stream, start).await;
        let last = arrivals.last().unwrap().0;
        assert!(
            last >= Duration::from_millis(900),
            "{transport:?}: {arrivals:?}"
        );
        // The first message left at once, not with the last.
        let first = arrivals[0].0;
        assert!(
            first < Duration::from_millis(300),
            "{transport:?}: the first message arrived after {first:?}"
        );
        // Each message in its own DATA (one per interval at least).
        let spread = arrivals
            .windows(2)
            .filter(|pair| pair[1].0 - pair[0].0 >= Duration::from_millis(200))
            .count();
        assert!(spread >= 3, "{transport:?}: {arrivals:?}");
    }
    client.close().await;
}

#[tokio::test]
async fn a_dropped_http3_stream_stops_its_producer() {
    let server = TestServer::api().await;
    let mut client = H3Client::connect(server.h3_addr, &server.certificate).await;
    // Streams dropped, the connection kept.
    let mut streams = Vec::new();
    for transport in H3_TRANSPORTS {
        let mut stream = open_stream(&mut client, transport, 10_000, 5).await;
        stream.recv_data().await.unwrap().expect("a first message");
        streams.push(stream);
    }
    assert_eq!(server.state.live_streams.current(), 2);
    drop(streams);
    wait_until_no_live_streams(&server).await;
    H3Transport::Rest.ping(&mut client).await.unwrap();

    // A slow stream (10 s between messages) whose client leaves altogether: its
    // producer stops with the connection, not at its next message.
    let mut stream = open_stream(&mut client, H3Transport::GrpcWeb, 10, 10_000).await;
    stream.recv_data().await.unwrap().expect("a first message");
    assert_eq!(server.state.live_streams.current(), 1);
    drop(stream);
    client.close().await;
    wait_until_no_live_streams(&server).await;
}
