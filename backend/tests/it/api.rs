//! The backend over real sockets: parity of the transports (gRPC-Web's text mode
//! included), bad input, stream cancellation, compression, Server-Timing and the
//! request counts of `/api/v1/status`.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use futures_util::StreamExt;
use lab_backend::Config;
use lab_proto::contract::{self, grpc, rest};
use lab_proto::dataset::{self, MAX_RECORDS};
use lab_proto::v1::{Shape, StreamRequest};
use prost::Message;

use crate::support::TestServer;
use crate::support::clients::{self, CallError, GrpcWebMode, TRANSPORTS, Transport};

const SHAPES: [Shape; 3] = [Shape::Telemetry, Shape::Log, Shape::Order];

#[tokio::test]
async fn every_transport_fetches_the_generated_records() {
    let server = TestServer::api().await;
    // 3000 log lines are ~1 MiB of JSON and ~700 KiB of protobuf: many fetch chunks.
    for (shape, count) in SHAPES
        .into_iter()
        .flat_map(|s| [(s, 1), (s, 137), (s, 3_000)])
    {
        let expected = dataset::generate(shape, 42, count as usize);
        for transport in TRANSPORTS {
            let records = transport
                .fetch(server.addr, shape, count, 42)
                .await
                .unwrap();
            assert!(
                records == expected,
                "{transport:?} {shape:?} x{count} differs from the generator"
            );
        }
    }
}

/// Every transport carries the generated readings bit for bit over a sweep of seeds
/// (seed 42 at 10,000 records among them, where the generator once made `-0.0`, which
/// JSON keeps and prost leaves out): each answer's checksum, which hashes every double
/// by its bits, is the generator's, and no reading is a negative zero.
#[tokio::test]
async fn every_transport_carries_telemetry_bit_for_bit_over_a_sweep_of_seeds() {
    let server = TestServer::api().await;
    for (seed, count) in (0..24).map(|seed| (seed, 2_000)).chain([(42, 10_000)]) {
        let expected = lab_proto::checksum(&dataset::generate(Shape::Telemetry, seed, count));
        for transport in TRANSPORTS {
            let records = transport
                .fetch(server.addr, Shape::Telemetry, count as u32, seed)
                .await
                .unwrap();
            let negative_zero = records.iter().find_map(|r| {
                let t = r.telemetry.as_ref()?;
                [t.temperature_c, t.humidity_pct, t.pressure_hpa, t.battery_v]
                    .into_iter()
                    .any(|v| v == 0.0 && v.is_sign_negative())
                    .then_some(t.id)
            });
            assert_eq!(negative_zero, None, "{transport:?} seed {seed}: a -0.0");
            assert_eq!(
                lab_proto::checksum(&records),
                expected,
                "{transport:?} seed {seed} x{count}"
            );
        }
    }
}

#[tokio::test]
async fn large_responses_really_are_several_hundred_kib() {
    let server = TestServer::api().await;
    let records = Transport::Grpc
        .fetch(server.addr, Shape::Log, 3_000, 1)
        .await
        .unwrap();
    let proto_bytes: usize = records.iter().map(|r| r.encoded_len() + 2).sum();
    assert!(proto_bytes > 300 * 1024, "only {proto_bytes} bytes");
}

#[tokio::test]
async fn every_transport_uploads_with_the_same_count_and_checksum() {
    let server = TestServer::api().await;
    for shape in SHAPES {
        let records = dataset::generate(shape, 9, 2_500);
        let expected = lab_proto::checksum(&records);
        for transport in TRANSPORTS {
            let answer = transport
                .upload(server.addr, records.clone())
                .await
                .unwrap();
            assert_eq!(
                (answer.count, answer.checksum),
                (2_500, expected),
                "{transport:?} {shape:?}"
            );
        }
    }
}

#[tokio::test]
async fn every_transport_streams_the_generated_records_in_order() {
    let server = TestServer::api().await;
    for shape in SHAPES {
        let expected = dataset::generate(shape, 5, 40);
        for transport in TRANSPORTS {
            let messages = transport.stream(server.addr, shape, 40, 5).await.unwrap();
            let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
            assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "{transport:?}");
            let records: Vec<_> = messages.into_iter().map(|m| m.record.unwrap()).collect();
            assert!(
                records == expected,
                "{transport:?} {shape:?} stream differs"
            );
        }
    }
}

#[tokio::test]
async fn every_transport_pings() {
    let server = TestServer::api().await;
    for transport in TRANSPORTS {
        transport.ping(server.addr).await.unwrap();
    }
}

/// gRPC-Web's text mode (base64 bodies) against binary gRPC-Web and REST, call by call.
#[tokio::test]
async fn grpc_web_text_mode_answers_as_binary_grpc_web_and_rest() {
    let server = TestServer::api().await;
    let a = server.addr;
    let text = Transport::GrpcWebText;
    let others = [Transport::GrpcWeb, Transport::Rest];
    text.ping(a).await.unwrap();
    for shape in SHAPES {
        let fetched = text.fetch(a, shape, 500, 11).await.unwrap();
        assert!(fetched == dataset::generate(shape, 11, 500), "{shape:?}");
        for other in others {
            let records = other.fetch(a, shape, 500, 11).await.unwrap();
            assert!(records == fetched, "{other:?} {shape:?}: fetch differs");
        }

        let records = dataset::generate(shape, 12, 700);
        let uploaded = text.upload(a, records.clone()).await.unwrap();
        assert_eq!(
            (uploaded.count, uploaded.checksum),
            (700, lab_proto::checksum(&records))
        );
        for other in others {
            let answer = other.upload(a, records.clone()).await.unwrap();
            assert_eq!(answer, uploaded, "{other:?} {shape:?}: upload differs");
        }

        let streamed = text.stream(a, shape, 30, 13).await.unwrap();
        let seqs: Vec<u64> = streamed.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
        for other in others {
            let messages = other.stream(a, shape, 30, 13).await.unwrap();
            assert!(messages == streamed, "{other:?} {shape:?}: stream differs");
        }
    }
}

/// Base64 makes a body a third longer: text mode must still take every message
/// binary mode takes.
#[tokio::test]
async fn text_mode_accepts_messages_up_to_the_same_limit_as_binary() {
    const LIMIT: usize = 256 * 1024;
    let mut config = Config::new(std::env::temp_dir());
    config.max_body_bytes = LIMIT;
    let server = TestServer::with_config(config).await;
    let records = dataset::generate(Shape::Log, 1, 950);
    let message_bytes = lab_proto::v1::UploadRequest {
        records: records.clone(),
    }
    .encoded_len();
    assert!(
        message_bytes < LIMIT && message_bytes * 4 / 3 > LIMIT,
        "{message_bytes} bytes: pick a count whose message fits and whose base64 does not"
    );
    for transport in [Transport::GrpcWeb, Transport::GrpcWebText] {
        let answer = transport
            .upload(server.addr, records.clone())
            .await
            .unwrap();
        assert_eq!(answer.count, 950, "{transport:?}");
    }
}

/// The counts of `/api/v1/status` rise by exactly the requests each route received,
/// refused ones included; other paths are not counted.
#[tokio::test]
async fn status_counts_the_requests_of_every_route_exactly() {
    let server = TestServer::api().await;
    let a = server.addr;
    let before = server.status().await.requests;

    for transport in TRANSPORTS {
        transport.ping(a).await.unwrap();
        transport.fetch(a, Shape::Log, 3, 1).await.unwrap();
        transport
            .upload(a, dataset::generate(Shape::Order, 1, 2))
            .await
            .unwrap();
        transport.stream(a, Shape::Telemetry, 2, 1).await.unwrap();
    }
    // Refused requests reached their route.
    Transport::Rest
        .fetch(a, Shape::Log, 0, 1)
        .await
        .unwrap_err();
    Transport::Grpc
        .fetch(a, Shape::Log, 0, 1)
        .await
        .unwrap_err();
    let http = reqwest::Client::new();
    let not_allowed = http.delete(server.url(rest::RECORDS)).send().await.unwrap();
    assert_eq!(not_allowed.status(), 405);
    // Unknown API paths and gRPC methods share one count.
    let unknown = http
        .get(server.url("/api/v2/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let (_, status, _) =
        grpc_web_raw(&server, &format!("/{}/Explode", grpc::SERVICE), frame(&[])).await;
    assert_eq!(status, tonic::Code::Unimplemented);
    // Neither the health check nor the UI is an API route.
    for path in ["/healthz", "/", "/index.html"] {
        http.get(server.url(path)).send().await.unwrap();
    }

    let after = server.status().await.requests;
    let risen: BTreeMap<&str, u64> = after
        .iter()
        .map(|(route, n)| (route.as_str(), n - before.get(route).copied().unwrap_or(0)))
        .collect();
    let binary_and_text = 3; // native gRPC, gRPC-Web binary and text
    let expected = BTreeMap::from([
        (rest::PING, 1),
        (rest::RECORDS, 3),
        (rest::RECORDS_STREAM, 1),
        (rest::UPLOADS, 1),
        (rest::STATUS, 1),
        (grpc::PING, binary_and_text),
        (grpc::FETCH, binary_and_text + 1),
        (grpc::UPLOAD, binary_and_text),
        (grpc::STREAM, binary_and_text),
        (rest::SHAPES, 0),
        (grpc::FETCH_CUSTOM, 0),
        (grpc::UPLOAD_CUSTOM, 0),
        (grpc::STREAM_CUSTOM, 0),
        (rest::UPLOADS_STREAM, 0),
        (rest::ECHO, 0),
        (rest::SERVICE_RUNS, 0),
        (grpc::UPLOAD_STREAM, 0),
        (grpc::ECHO, 0),
        (rest::UNKNOWN_ROUTE, 2),
    ]);
    assert_eq!(risen, expected);
}

fn assert_invalid(result: Result<impl std::fmt::Debug, CallError>, fragment: &str) {
    match result.expect_err("the request must be refused") {
        CallError::Grpc(status) => {
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
            assert!(
                status.message().contains(fragment),
                "{:?} lacks {fragment:?}",
                status.message()
            );
        }
        CallError::Rest(code, body) => {
            assert_eq!(code, 400);
            assert_eq!(body.error, "invalid_argument");
            assert!(
                body.detail.contains(fragment),
                "{:?} lacks {fragment:?}",
                body.detail
            );
        }
    }
}

#[tokio::test]
async fn out_of_range_requests_are_refused_by_every_transport_which_keeps_serving() {
    let server = TestServer::api().await;
    let a = server.addr;
    for transport in TRANSPORTS {
        assert_invalid(
            transport.fetch(a, Shape::Log, 0, 1).await,
            "between 1 and 100000, got 0",
        );
        assert_invalid(
            transport.fetch(a, Shape::Log, MAX_RECORDS + 1, 1).await,
            "got 100001",
        );
        assert_invalid(
            transport.stream(a, Shape::Order, MAX_RECORDS + 1, 1).await,
            "got 100001",
        );
        assert_invalid(transport.fetch(a, Shape::Unspecified, 5, 1).await, "shape");
        assert_invalid(transport.upload(a, Vec::new()).await, "got 0");
        assert_eq!(
            transport.fetch(a, Shape::Log, 3, 1).await.unwrap().len(),
            3,
            "{transport:?}"
        );
    }
    let status = clients::grpc(a)
        .fetch(lab_proto::v1::FetchRequest {
            shape: 99,
            count: 1,
            seed: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("shape 99 is unknown"),
        "{}",
        status.message()
    );
    let status = clients::grpc(a)
        .stream(StreamRequest {
            shape: 1,
            count: 1,
            seed: 0,
            interval_ms: 60_000,
        })
        .await
        .unwrap_err();
    assert!(
        status.message().contains("intervalMs must be at most"),
        "{}",
        status.message()
    );
}

async fn rest_error(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response.headers()[http::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json", "errors are JSON");
    let body: rest::ErrorBody = response.json().await.unwrap();
    (status, body.error, body.detail)
}

#[tokio::test]
async fn malformed_rest_input_gets_a_json_error_saying_what_is_wrong() {
    let server = TestServer::api().await;
    let http = reqwest::Client::new();
    let get = |query: &str| {
        http.get(server.url(&format!("{}?{query}", rest::RECORDS)))
            .send()
    };

    let (status, kind, detail) = rest_error(get("shape=log&count=abc").await.unwrap()).await;
    assert_eq!((status, kind.as_str()), (400, "invalid_query"));
    assert!(detail.contains("count"), "{detail}");
    let (status, _, detail) = rest_error(get("count=5").await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(detail.contains("missing field `shape`"), "{detail}");
    let (status, kind, detail) = rest_error(get("shape=triangle&count=5").await.unwrap()).await;
    assert_eq!((status, kind.as_str()), (400, "invalid_argument"));
    assert!(detail.contains("`triangle` is unknown"), "{detail}");
    let (status, _, detail) = rest_error(get("shape=log&count=5&colour=red").await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(detail.contains("colour"), "{detail}");

    let upload = |body: &'static str, content_type: &'static str| {
        http.post(server.url(rest::UPLOADS))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let (status, kind, detail) = rest_error(
        upload(r#"{"records": [{"log": {"id": 1,}}]}"#, "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, kind.as_str()), (400, "invalid_json"));
    assert!(detail.contains("line 1 column"), "{detail}");
    let (status, _, detail) = rest_error(
        upload(
            r#"{"records": [{"log": {"id": "one"}}]}"#,
            "application/json",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(detail.contains("records[0].log.id"), "{detail}");
    let (status, kind, _) = rest_error(upload("{}", "text/plain").await.unwrap()).await;
    assert_eq!((status, kind.as_str()), (415, "unsupported_media_type"));
    // Trailing input after a valid value (found by the fuzz test).
    let (status, kind, detail) = rest_error(
        upload(r#"{"records": []} x"#, "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, kind.as_str()), (400, "invalid_json"), "{detail}");
    assert!(detail.contains("trailing characters"), "{detail}");

    let (status, kind, detail) = rest_error(
        http.get(server.url("/api/v2/nothing"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, kind.as_str()), (404, "not_found"));
    assert!(detail.contains("/api/v2/nothing"));
    let (status, _, _) =
        rest_error(http.delete(server.url(rest::RECORDS)).send().await.unwrap()).await;
    assert_eq!(status, 405);

    assert_eq!(
        Transport::Rest
            .fetch(server.addr, Shape::Order, 2, 1)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn grpc_web_raw(
    server: &TestServer,
    method: &str,
    body: Vec<u8>,
) -> (u16, tonic::Code, String) {
    let http = reqwest::Client::new();
    let answer = clients::grpc_web_raw(&http, server.addr, method, GrpcWebMode::Binary, body)
        .await
        .unwrap();
    let status = answer.status().expect("a grpc-status");
    (
        answer.http_status,
        status.code(),
        status.message().to_owned(),
    )
}

fn frame(payload: &[u8]) -> Vec<u8> {
    clients::grpc_web_frame(payload)
}

#[tokio::test]
async fn malformed_grpc_web_input_gets_a_grpc_status_not_a_crash() {
    let server = TestServer::api().await;
    // Field 2 (count) as a length-delimited field claiming 100 bytes it does not have.
    let (http, status, message) =
        grpc_web_raw(&server, grpc::FETCH, frame(&[0x12, 100, 1, 2])).await;
    assert_eq!((http, status), (200, tonic::Code::Internal), "{message}");
    assert!(message.contains("decode"), "{message}");
    // A frame header announcing 1000 bytes, followed by 3.
    let (_, status, message) =
        grpc_web_raw(&server, grpc::FETCH, vec![0, 0, 0, 3, 232, 1, 2, 3]).await;
    assert_ne!(
        status,
        tonic::Code::Ok,
        "a truncated frame must fail: {message}"
    );
    // An unknown method.
    let unknown = format!("/{}/Explode", grpc::SERVICE);
    let (_, status, _) = grpc_web_raw(&server, &unknown, frame(&[])).await;
    assert_eq!(status, tonic::Code::Unimplemented);
    // The server is still there.
    let (_, status, _) = grpc_web_raw(&server, grpc::PING, frame(&[])).await;
    assert_eq!(status, tonic::Code::Ok);
    Transport::Grpc.ping(server.addr).await.unwrap();
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413_and_resource_exhausted() {
    let mut config = Config::new(std::env::temp_dir());
    config.max_body_bytes = 256 * 1024;
    let server = TestServer::with_config(config).await;
    let too_many = dataset::generate(Shape::Log, 1, 3_000); // ~700 KiB
    match Transport::Rest
        .upload(server.addr, too_many.clone())
        .await
        .unwrap_err()
    {
        CallError::Rest(status, body) => {
            assert_eq!(
                (status.as_u16(), body.error.as_str()),
                (413, "payload_too_large")
            );
            assert!(
                body.detail.contains("limit of 262144 bytes"),
                "{}",
                body.detail
            );
        }
        other => panic!("{other:?}"),
    }
    for transport in [Transport::Grpc, Transport::GrpcWeb, Transport::GrpcWebText] {
        match transport
            .upload(server.addr, too_many.clone())
            .await
            .unwrap_err()
        {
            CallError::Grpc(status) => {
                assert_eq!(
                    status.code(),
                    tonic::Code::ResourceExhausted,
                    "{transport:?}: {status:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    let few = dataset::generate(Shape::Log, 1, 10);
    for transport in TRANSPORTS {
        assert_eq!(
            transport
                .upload(server.addr, few.clone())
                .await
                .unwrap()
                .count,
            10
        );
    }
}

#[tokio::test]
async fn non_api_paths_fall_back_to_the_ui() {
    let dir = std::env::temp_dir().join(format!("lab-ui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<title>lab ui</title>").unwrap();
    let server = TestServer::start(dir.clone()).await;
    for path in ["/", "/runs/42", "/index.html"] {
        let body = reqwest::get(server.url(path))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "<title>lab ui</title>", "{path}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

pub async fn wait_until_no_live_streams(server: &TestServer) {
    for _ in 0..200 {
        if server.state.live_streams.current() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} stream producer(s) still running 2 s after their clients left",
        server.state.live_streams.current()
    );
}

#[tokio::test]
async fn a_dropped_stream_stops_its_producer() {
    let server = TestServer::api().await;
    let request = StreamRequest {
        shape: Shape::Log.into(),
        count: 10_000,
        seed: 1,
        interval_ms: 5,
    };

    let mut grpc = clients::grpc(server.addr)
        .stream(request)
        .await
        .unwrap()
        .into_inner();
    grpc.message().await.unwrap().unwrap();
    let mut web = clients::grpc_web(server.addr)
        .stream(request)
        .await
        .unwrap()
        .into_inner();
    web.message().await.unwrap().unwrap();
    let sse = reqwest::get(server.url(&rest::stream_url(Shape::Log, 10_000, 0, 5)))
        .await
        .unwrap();
    let mut sse = sse.bytes_stream();
    sse.next().await.unwrap().unwrap();
    assert_eq!(server.state.live_streams.current(), 3);

    drop((grpc, web, sse));
    wait_until_no_live_streams(&server).await;
    Transport::Grpc.ping(server.addr).await.unwrap();
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// (content-encoding, body as sent) for a REST fetch or a gRPC-Web fetch.
async fn fetch_raw(
    server: &TestServer,
    grpc_web: bool,
    encoding: &str,
    switch: Option<&str>,
) -> (Option<String>, Vec<u8>) {
    let http = reqwest::Client::new();
    let mut request = if grpc_web {
        let payload = lab_proto::v1::FetchRequest {
            shape: Shape::Log.into(),
            count: 500,
            seed: 3,
        }
        .encode_to_vec();
        http.post(server.url(grpc::FETCH))
            .header("content-type", "application/grpc-web+proto")
            .body(frame(&payload))
    } else {
        http.get(server.url(&rest::records_url(rest::RECORDS, Shape::Log, 500, 3)))
    };
    request = request.header("accept-encoding", encoding);
    if let Some(switch) = switch {
        request = request.header(contract::COMPRESSION_SWITCH, switch);
    }
    let response = request.send().await.unwrap();
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    (encoding, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn both_protocols_compress_on_request_and_not_when_switched_off() {
    let server = TestServer::api().await;
    for grpc_web in [false, true] {
        let (encoding, plain) = fetch_raw(&server, grpc_web, "identity", None).await;
        assert_eq!(encoding, None);
        let (encoding, gzipped) = fetch_raw(&server, grpc_web, "gzip", None).await;
        assert_eq!(encoding.as_deref(), Some("gzip"), "grpc_web={grpc_web}");
        assert!(
            gzipped.len() * 2 < plain.len(),
            "{} vs {}",
            gzipped.len(),
            plain.len()
        );
        assert_eq!(gunzip(&gzipped), plain, "same bytes once decompressed");
        let (encoding, brotli) = fetch_raw(&server, grpc_web, "br", None).await;
        assert_eq!(encoding.as_deref(), Some("br"));
        assert!(brotli.len() < plain.len());
        let (encoding, switched_off) = fetch_raw(&server, grpc_web, "gzip, br", Some("off")).await;
        assert_eq!(encoding, None, "lab-compression: off wins");
        assert_eq!(switched_off, plain);
    }
}

#[tokio::test]
async fn live_streams_are_not_compressed() {
    let server = TestServer::api().await;
    let response = reqwest::Client::new()
        .get(server.url(&rest::stream_url(Shape::Log, 20, 0, 0)))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers().get("content-encoding"), None);
}

fn parse_server_timing(value: &str) -> Vec<(String, f64)> {
    value
        .split(',')
        .map(|metric| {
            let (name, dur) = metric.trim().split_once(";dur=").expect("name;dur=ms");
            (name.to_owned(), dur.parse().expect("a number"))
        })
        .collect()
}

#[tokio::test]
async fn every_api_response_carries_server_timing() {
    let server = TestServer::api().await;
    let rest = reqwest::get(server.url(&rest::records_url(rest::RECORDS, Shape::Order, 2000, 0)))
        .await
        .unwrap();
    let web_payload = frame(
        &lab_proto::v1::FetchRequest {
            shape: 3,
            count: 2000,
            seed: 0,
        }
        .encode_to_vec(),
    );
    let web = reqwest::Client::new()
        .post(server.url(grpc::FETCH))
        .header("content-type", "application/grpc-web+proto")
        .body(web_payload)
        .send()
        .await
        .unwrap();
    for response in [rest, web] {
        let value = response.headers()["server-timing"].to_str().unwrap();
        let metrics = parse_server_timing(value);
        let names: Vec<&str> = metrics.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["handler", "ser"], "{value}");
        // 2000 orders take measurable time to generate and to encode.
        assert!(metrics.iter().all(|(_, ms)| *ms > 0.0), "{value}");
        assert_eq!(response.headers()["timing-allow-origin"], "*");
    }
    // Errors and event streams too.
    for path in [
        format!("{}?shape=nope&count=1", rest::RECORDS),
        rest::stream_url(Shape::Log, 1, 0, 0),
        "/api/v9".to_owned(),
    ] {
        let response = reqwest::get(server.url(&path)).await.unwrap();
        let value = response.headers()["server-timing"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(value.starts_with("handler;dur="), "{path}: {value}");
    }
    let grpc = clients::grpc(server.addr)
        .ping(lab_proto::v1::PingRequest {})
        .await
        .unwrap();
    assert!(
        grpc.metadata().get("server-timing").is_some(),
        "native gRPC too"
    );
}

#[tokio::test]
async fn cors_lets_another_origin_read_statuses_and_timings() {
    let server = TestServer::api().await;
    let response = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, server.url(grpc::FETCH))
        .header("origin", "http://127.0.0.1:8081")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            format!("content-type,x-grpc-web,{}", contract::COMPRESSION_SWITCH),
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let response = reqwest::Client::new()
        .get(server.url(rest::PING))
        .header("origin", "http://127.0.0.1:8081")
        .send()
        .await
        .unwrap();
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for header in ["grpc-status", "grpc-message", "server-timing"] {
        assert!(exposed.contains(header), "{exposed}");
    }
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let server = TestServer::api().await;
    for (origin, allowed) in [
        ("http://127.0.0.1:8081", true),
        ("http://evil.example", false),
    ] {
        let response = reqwest::Client::new()
            .get(server.url(rest::PING))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        let granted = response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            granted.as_deref() == Some(origin),
            allowed,
            "{origin}: {granted:?}"
        );
        assert_ne!(granted.as_deref(), Some("*"));
        assert!(
            response
                .headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }
}

#[tokio::test]
async fn static_files_cannot_escape_their_directory() {
    let root = std::env::temp_dir().join(format!("lab-escape-{}", std::process::id()));
    let dist = root.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "ui").unwrap();
    std::fs::write(root.join("secret.txt"), "top secret").unwrap();
    let server = TestServer::start(dist).await;
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/a/%2e%2e/%2e%2e/secret.txt",
    ] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("top secret"),
            "{path} escaped the static directory"
        );
    }
    std::fs::remove_dir_all(root).unwrap();
}
