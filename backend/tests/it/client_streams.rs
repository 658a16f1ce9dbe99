//! The two streaming modes a browser cannot send (issue 23 §1) over real sockets:
//! client streaming (gRPC `UploadStream`; REST's newline-delimited JSON body, streamed)
//! and bidirectional streaming (gRPC `Echo`; REST's WebSocket). Parity (the same
//! checksum, the same ids), each message answered as it arrives, precise refusals, and
//! a client that goes away leaves nothing running.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lab_backend::Config;
use lab_proto::contract::rest;
use lab_proto::dataset;
use lab_proto::v1::{EchoRequest, Record, Shape, UploadStreamRequest};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::TestServer;
use crate::support::clients::{Endpoint, grpc};

/// `records` as NDJSON, cut into `chunk`-byte pieces (lines split across them).
fn ndjson_chunks(records: &[Record], chunk: usize) -> Vec<Vec<u8>> {
    let mut body = Vec::new();
    for record in records {
        serde_json::to_writer(&mut body, record).unwrap();
        body.push(b'\n');
    }
    body.chunks(chunk).map(<[u8]>::to_vec).collect()
}

/// POSTs `chunks` as one streamed body: the status and the JSON answer.
async fn post_ndjson(
    server: &TestServer,
    chunks: Vec<Vec<u8>>,
    content_type: &str,
) -> (u16, serde_json::Value) {
    let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    let response = reqwest::Client::new()
        .post(format!("http://{}{}", server.addr, rest::UPLOADS_STREAM))
        .header("content-type", content_type)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn websocket(
    server: &TestServer,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("ws://{}{}", server.addr, rest::ECHO);
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Waits up to 5 s for the backend's live streams to be `expected`.
async fn live_streams_become(server: &TestServer, expected: usize) {
    for _ in 0..100 {
        if server.status().await.live_streams == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "live streams stayed at {}",
        server.status().await.live_streams
    );
}

#[tokio::test]
async fn a_client_stream_carries_the_same_records_over_grpc_and_ndjson() {
    let server = TestServer::api().await;
    for shape in [Shape::Telemetry, Shape::Log, Shape::Order] {
        let records = dataset::generate(shape, 7, 400);
        let expected = (400, lab_proto::checksum(&records));
        let messages: Vec<UploadStreamRequest> = records
            .iter()
            .map(|r| UploadStreamRequest {
                record: Some(r.clone()),
            })
            .collect();
        let answer = grpc(Endpoint::from(server.addr))
            .upload_stream(futures_util::stream::iter(messages))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((answer.count, answer.checksum), expected, "gRPC {shape:?}");
        // 997-byte chunks: lines arrive cut anywhere.
        let (status, answer) =
            post_ndjson(&server, ndjson_chunks(&records, 997), rest::NDJSON).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            (
                answer["count"].as_u64().unwrap(),
                answer["checksum"].as_u64().unwrap() as u32
            ),
            expected,
            "NDJSON {shape:?}"
        );
    }
    assert_eq!(server.status().await.live_streams, 0);
}

#[tokio::test]
async fn each_echo_is_answered_before_the_next_message_is_sent() {
    let server = TestServer::api().await;
    let records = dataset::generate(Shape::Order, 3, 20);
    // gRPC: one message out, its answer back, then the next.
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    let mut answers = grpc(Endpoint::from(server.addr))
        .echo(tokio_stream_of(receiver))
        .await
        .unwrap()
        .into_inner();
    let mut grpc_ids = Vec::new();
    for record in &records {
        sender
            .send(EchoRequest {
                record: Some(record.clone()),
            })
            .await
            .unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), answers.message())
            .await
            .expect("an answer per message, as it arrives")
            .unwrap()
            .unwrap();
        assert!(answer.received_unix_us > 0);
        grpc_ids.push(answer.id);
    }
    drop(sender);
    assert!(
        answers.message().await.unwrap().is_none(),
        "the stream ends with the client's"
    );
    // The WebSocket: the same.
    let mut socket = websocket(&server).await;
    let mut ws_ids = Vec::new();
    for record in &records {
        socket
            .send(WsMessage::text(serde_json::to_string(record).unwrap()))
            .await
            .unwrap();
        let answer = socket.next().await.unwrap().unwrap();
        let answer: serde_json::Value = serde_json::from_str(answer.to_text().unwrap()).unwrap();
        assert!(answer["receivedUnixUs"].as_i64().unwrap() > 0, "{answer}");
        ws_ids.push(answer["id"].as_u64().unwrap());
    }
    let expected: Vec<u64> = records.iter().map(|r| r.id().unwrap()).collect();
    assert_eq!(grpc_ids, expected);
    assert_eq!(ws_ids, expected);
    socket.close(None).await.unwrap();
    live_streams_become(&server, 0).await;
}

/// A receiver as the stream tonic sends from.
fn tokio_stream_of<T: Send + 'static>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

#[tokio::test]
async fn bad_streams_are_refused_with_where_and_why() {
    let server = TestServer::with_config(Config {
        max_body_bytes: 64 * 1024,
        ..Config::new(std::env::temp_dir().join("lab-no-frontend"))
    })
    .await;
    let records = dataset::generate(Shape::Log, 1, 3);
    let mut lines = ndjson_chunks(&records, usize::MAX).concat();
    lines.extend_from_slice(b"{\"log\": {\"id\": \"x\"}}\n");
    let (status, answer) = post_ndjson(&server, vec![lines], rest::NDJSON).await;
    assert_eq!(status, 400);
    assert!(
        answer["detail"].as_str().unwrap().starts_with("line 4:"),
        "{answer}"
    );
    let (status, answer) = post_ndjson(&server, vec![b"{}".to_vec()], "application/json").await;
    assert_eq!(status, 415, "{answer}");
    let (status, answer) = post_ndjson(&server, vec![b"\n\n".to_vec()], rest::NDJSON).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains("count must be between 1"),
        "{answer}"
    );
    let big = ndjson_chunks(&dataset::generate(Shape::Log, 1, 2_000), 4_096);
    let (status, answer) = post_ndjson(&server, big, rest::NDJSON).await;
    assert_eq!(status, 413, "{answer}");

    // gRPC: a message without a record.
    let messages = vec![
        UploadStreamRequest {
            record: Some(records[0].clone()),
        },
        UploadStreamRequest { record: None },
    ];
    let status = grpc(Endpoint::from(server.addr))
        .upload_stream(futures_util::stream::iter(messages))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(status.message(), "message 2 carries no record");

    // The WebSocket closes with a code and the reason.
    for (message, code, reason) in [
        (
            WsMessage::text("{\"log\": 5}"),
            CloseCode::Invalid,
            "message 1 is not a Record",
        ),
        (
            WsMessage::text("{}"),
            CloseCode::Invalid,
            "message 1 carries no record",
        ),
        (
            WsMessage::binary(vec![1, 2, 3]),
            CloseCode::Unsupported,
            "send each Record as JSON",
        ),
    ] {
        let mut socket = websocket(&server).await;
        socket.send(message).await.unwrap();
        let Some(Ok(WsMessage::Close(Some(frame)))) = socket.next().await else {
            panic!("no close frame for {reason}")
        };
        assert_eq!(frame.code, code, "{}", frame.reason);
        assert!(frame.reason.starts_with(reason), "{}", frame.reason);
    }
    // Not a WebSocket: a JSON error saying how to open it.
    let response = reqwest::get(format!("http://{}{}", server.addr, rest::ECHO))
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("websocket_required")
    );
    // Another site's page may not open one.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{}{}",
            server.addr,
            rest::ECHO
        ))
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(refused.to_string().contains("403"), "{refused}");
    live_streams_become(&server, 0).await;
}

#[tokio::test]
async fn a_client_that_goes_away_leaves_nothing_running() {
    let server = TestServer::api().await;
    let record = dataset::generate(Shape::Telemetry, 2, 1).remove(0);
    // A client stream left open, then dropped.
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let to = Endpoint::from(server.addr);
    let upload =
        tokio::spawn(async move { grpc(&to).upload_stream(tokio_stream_of(receiver)).await });
    sender
        .send(UploadStreamRequest {
            record: Some(record.clone()),
        })
        .await
        .unwrap();
    live_streams_become(&server, 1).await;
    upload.abort();
    drop(sender);
    live_streams_become(&server, 0).await;
    // A bidirectional one, both transports.
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let mut answers = grpc(Endpoint::from(server.addr))
        .echo(tokio_stream_of(receiver))
        .await
        .unwrap()
        .into_inner();
    sender
        .send(EchoRequest {
            record: Some(record.clone()),
        })
        .await
        .unwrap();
    answers.message().await.unwrap().unwrap();
    let mut socket = websocket(&server).await;
    socket
        .send(WsMessage::text(serde_json::to_string(&record).unwrap()))
        .await
        .unwrap();
    socket.next().await.unwrap().unwrap();
    live_streams_become(&server, 2).await;
    drop(answers);
    drop(sender);
    drop(socket);
    live_streams_become(&server, 0).await;
    // A streamed NDJSON body cut off: its handler ends.
    let (body_sender, body) = hand_fed_body();
    let url = format!("http://{}{}", server.addr, rest::UPLOADS_STREAM);
    let post = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .header("content-type", rest::NDJSON)
            .body(body)
            .send()
            .await
    });
    body_sender
        .send(Ok(serde_json::to_vec(&record).unwrap()))
        .await
        .unwrap();
    live_streams_become(&server, 1).await;
    post.abort();
    drop(body_sender);
    live_streams_become(&server, 0).await;
}

type BodySender = tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>;

/// A request body fed by hand.
fn hand_fed_body() -> (BodySender, reqwest::Body) {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    (
        sender,
        reqwest::Body::wrap_stream(tokio_stream_of(receiver)),
    )
}

#[tokio::test]
async fn an_overlong_line_or_message_is_refused_and_nothing_stays_buffered() {
    let server = TestServer::api().await;
    // A line of 1.1 MiB with no end, sent in small chunks.
    let line = vec![b'x'; 1_100_000];
    let chunks = line.chunks(4_096).map(<[u8]>::to_vec).collect();
    let (status, answer) = post_ndjson(&server, chunks, rest::NDJSON).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .starts_with("line 1: longer than 1048576 bytes"),
        "{answer}"
    );
    let mut socket = websocket(&server).await;
    let big = format!(
        "{{\"log\": {{\"message\": \"{}\"}}}}",
        "z".repeat(1_100_000)
    );
    socket.send(WsMessage::text(big)).await.unwrap();
    let Some(Ok(WsMessage::Close(Some(frame)))) = socket.next().await else {
        panic!("no close frame for a message over the limit")
    };
    assert_eq!(frame.code, CloseCode::Size, "{}", frame.reason);
    live_streams_become(&server, 0).await;
}
