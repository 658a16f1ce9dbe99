//! Property-based fuzzing of the server's input paths over real sockets: REST query
//! parameters, JSON upload bodies, newline-delimited JSON upload streams, gRPC-Web
//! framing, custom shapes (samples to infer a schema from, and `.proto` files) and
//! service-to-service runs' settings. Every input must get a clear
//! answer (a status the API documents, with a message) within a time limit, and the
//! server must keep serving. `LAB_FUZZ_CASES` sets the cases per target (default
//! 5,000, what the test command runs); each target prints how many inputs it sent and
//! the answers it got.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lab_backend::Config;
use lab_backend::link::LinkProfile;
use lab_proto::contract::custom::{ShapeInfo, ShapeInput};
use lab_proto::contract::grpc;
use lab_proto::contract::rest::{self, ErrorBody, query as key};
use lab_proto::dataset;
use lab_proto::v1::{FetchRequest, Shape, UploadRequest, UploadResponse};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use prost::Message;

use crate::support::TestServer;
use crate::support::clients::{self, GrpcWebMode, TRANSPORTS};

/// The longest any single answer may take: a hang is a failure.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);

fn cases() -> u32 {
    std::env::var("LAB_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000)
}

/// A server on its own runtime, and a client, for a synchronous proptest runner.
struct Target {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
    client: reqwest::Client,
    sent: AtomicUsize,
    /// How many answers of each kind, to print (and to see the inputs reach every branch).
    answers: Mutex<BTreeMap<String, usize>>,
    /// Inputs per property.
    cases: u32,
}

impl Target {
    fn start() -> Self {
        Self::on(None, cases())
    }

    /// A server whose every connection passes through a link of `profile`, sent
    /// `cases` inputs per property.
    fn over_link(profile: &str, cases: u32) -> Self {
        Self::on(Some(LinkProfile::parse(profile).unwrap().unwrap()), cases)
    }

    fn on(profile: Option<LinkProfile>, cases: u32) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = Config::new(std::env::temp_dir().join("lab-no-frontend"));
        let server = runtime.block_on(async {
            match profile {
                None => TestServer::with_config(config).await,
                Some(profile) => TestServer::with_link(config, profile).await,
            }
        });
        Self {
            runtime,
            server,
            client: reqwest::Client::new(),
            sent: AtomicUsize::new(0),
            answers: Mutex::default(),
            cases,
        }
    }

    /// Counts one answer of kind `kind`.
    fn note(&self, kind: impl Into<String>) {
        *self.answers.lock().unwrap().entry(kind.into()).or_default() += 1;
    }

    /// Runs `request` with the answer time limit.
    fn send<T>(&self, request: impl Future<Output = T>) -> Result<T, TestCaseError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.runtime
            .block_on(async { tokio::time::timeout(ANSWER_LIMIT, request).await })
            .map_err(|_| TestCaseError::fail(format!("no answer within {ANSWER_LIMIT:?}")))
    }

    fn run<S: Strategy>(
        &self,
        name: &str,
        strategy: S,
        check: impl Fn(S::Value) -> Result<(), TestCaseError>,
    ) {
        let mut runner = TestRunner::new(ProptestConfig {
            cases: self.cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let outcome = runner.run(&strategy, check);
        println!(
            "fuzz {name}: {} inputs sent, answers {:?}",
            self.sent.load(Ordering::Relaxed),
            self.answers.lock().unwrap()
        );
        if let Err(err) = outcome {
            panic!("{name}: {err}");
        }
        // The server is still there, for every transport.
        self.runtime.block_on(async {
            for transport in TRANSPORTS {
                transport.ping(self.server.addr).await.unwrap();
            }
        });
    }
}

/// A REST error body: `{"error": ..., "detail": ...}`, both non-empty.
fn check_error_body(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let error: ErrorBody = serde_json::from_slice(body).map_err(|err| {
        TestCaseError::fail(format!(
            "{status} without a JSON error body ({err}): {}",
            String::from_utf8_lossy(body)
        ))
    })?;
    prop_assert!(!error.error.is_empty() && !error.detail.is_empty());
    Ok(())
}

/// Query strings built from the parameters the API knows, values near and far from
/// valid, unknown names, and arbitrary text (percent-encoded).
fn query_strategy() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just(key::SHAPE.to_owned()),
        Just(key::COUNT.to_owned()),
        Just(key::SEED.to_owned()),
        Just(key::INTERVAL_MS.to_owned()),
        "[a-zA-Z_]{0,10}",
    ];
    let value = prop_oneof![
        Just("telemetry".to_owned()),
        Just("log".to_owned()),
        Just("order".to_owned()),
        (0u32..300).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("100001".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just(String::new()),
        any::<String>().prop_map(|text| percent_encode(&text)),
    ];
    let pair = (name, value).prop_map(|(name, value)| format!("{name}={value}"));
    // Valid queries, some with one pair added: both branches of the server get reached.
    let valid = (
        prop::sample::select(vec!["telemetry", "log", "order"]),
        1u32..300,
        any::<u64>(),
        prop::option::of(pair.clone()),
    )
        .prop_map(|(shape, count, seed, extra)| {
            let mut query = format!(
                "{}={shape}&{}={count}&{}={seed}",
                key::SHAPE,
                key::COUNT,
                key::SEED
            );
            if let Some(extra) = extra {
                query = format!("{query}&{extra}");
            }
            query
        });
    prop_oneof![
        3 => valid,
        4 => prop::collection::vec(pair, 0..6).prop_map(|pairs| pairs.join("&")),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|bytes| percent_encode_bytes(&bytes)),
        1 => "[&=%a-z0-9]{0,40}",
    ]
}

fn percent_encode(text: &str) -> String {
    percent_encode_bytes(text.as_bytes())
}

fn percent_encode_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The record count a query asks for, decoded as the server decodes it.
fn requested_count(query: &str) -> Option<u32> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == key::COUNT)
        .and_then(|(_, count)| count.parse().ok())
}

#[test]
fn rest_query_parameters_get_records_or_a_json_400() {
    let target = Target::start();
    let addr = target.server.addr;
    target.run("REST query parameters", query_strategy(), |query| {
        let client = &target.client;
        let url = format!("http://{addr}{}?{query}", rest::RECORDS);
        let (status, body) = target.send(async {
            let response = client.get(&url).send().await.unwrap();
            (response.status().as_u16(), response.bytes().await.unwrap())
        })?;
        target.note(format!("HTTP {status}"));
        match status {
            200 => {
                let answer: lab_proto::v1::FetchResponse = serde_json::from_slice(&body)
                    .map_err(|err| TestCaseError::fail(format!("200 with bad JSON: {err}")))?;
                prop_assert_eq!(Some(answer.records.len() as u32), requested_count(&query));
            }
            400 => check_error_body(status, &body)?,
            other => prop_assert!(false, "{query:?} answered HTTP {other}"),
        }
        // The stream endpoint parses the same parameters; its first answer is enough.
        let url = format!("http://{addr}{}?{query}", rest::RECORDS_STREAM);
        let status = target.send(async {
            let response = client.get(&url).send().await.unwrap();
            let status = response.status().as_u16();
            if status != 200 {
                check_error_body(status, &response.bytes().await.unwrap())?;
            }
            Ok::<_, TestCaseError>(status)
        })??;
        prop_assert!(
            matches!(status, 200 | 400),
            "stream {query:?} answered HTTP {status}"
        );
        Ok(())
    });
}

/// Upload bodies: arbitrary bytes, and valid uploads cut, spliced or with a byte changed.
fn upload_body_strategy() -> impl Strategy<Value = Vec<u8>> {
    let valid = (0u64..1_000, 0usize..8, 0usize..3).prop_map(|(seed, count, shape)| {
        let shape = [Shape::Telemetry, Shape::Log, Shape::Order][shape];
        serde_json::to_vec(&UploadRequest {
            records: dataset::generate(shape, seed, count),
        })
        .unwrap()
    });
    let mutated = (
        valid.clone(),
        any::<prop::sample::Index>(),
        any::<u8>(),
        0u8..3,
    )
        .prop_map(|(body, at, byte, how)| mutate_bytes(body, at, byte, how));
    prop_oneof![
        1 => valid,
        4 => mutated,
        2 => prop::collection::vec(any::<u8>(), 0..512),
        1 => any::<String>().prop_map(String::into_bytes),
    ]
}

#[test]
fn json_upload_bodies_get_the_checksum_or_a_json_400() {
    let target = Target::start();
    let addr = target.server.addr;
    target.run("JSON upload bodies", upload_body_strategy(), |body| {
        // The oracle: serde_json on the test's side, on the same bytes.
        let expected = serde_json::from_slice::<UploadRequest>(&body).ok();
        let (status, answer) = target.send(async {
            let response = target
                .client
                .post(format!("http://{addr}{}", rest::UPLOADS))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.bytes().await.unwrap())
        })?;
        target.note(format!("HTTP {status}"));
        match (status, expected) {
            (200, Some(request)) => {
                let answer: UploadResponse = serde_json::from_slice(&answer).unwrap();
                prop_assert_eq!(answer.count, request.records.len() as u64);
                prop_assert_eq!(answer.checksum, lab_proto::checksum(&request.records));
            }
            // Valid JSON the service still refuses: an out-of-range count.
            (400, Some(request)) => {
                check_error_body(status, &answer)?;
                prop_assert!(request.records.is_empty(), "a valid upload was refused");
            }
            (400, None) => {
                check_error_body(status, &answer)?;
                let error: ErrorBody = serde_json::from_slice(&answer).unwrap();
                prop_assert_eq!(error.error.as_str(), "invalid_json");
            }
            (status, expected) => prop_assert!(
                false,
                "HTTP {status} for a body that serde_json {}",
                if expected.is_some() {
                    "accepts"
                } else {
                    "refuses"
                }
            ),
        }
        Ok(())
    });
}

/// gRPC-Web bodies: arbitrary bytes, valid frames with a changed byte, a wrong length
/// prefix or garbage after them, and arbitrary payloads in a well-formed frame.
fn grpc_web_body_strategy() -> impl Strategy<Value = (usize, Vec<u8>)> {
    let valid = (0u32..50, 0u64..100).prop_map(|(count, seed)| {
        FetchRequest {
            shape: Shape::Order.into(),
            count,
            seed,
        }
        .encode_to_vec()
    });
    let method = 0..grpc::METHODS.len();
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec(any::<u8>(), 0..256).prop_map(|p| clients::grpc_web_frame(&p)),
        valid.clone().prop_map(|p| clients::grpc_web_frame(&p)),
        (valid.clone(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(p, at, byte)| {
            let mut framed = clients::grpc_web_frame(&p);
            let at = at.index(framed.len());
            framed[at] = byte;
            framed
        }),
        (valid.clone(), any::<u32>()).prop_map(|(p, len)| {
            let mut framed = clients::grpc_web_frame(&p);
            framed[1..5].copy_from_slice(&len.to_be_bytes());
            framed
        }),
        (valid, prop::collection::vec(any::<u8>(), 1..32)).prop_map(|(p, tail)| {
            let mut framed = clients::grpc_web_frame(&p);
            framed.extend(tail);
            framed
        }),
    ];
    (method, body)
}

/// gRPC status codes the service may answer with bad input: OK (the bytes happened to
/// be valid), INVALID_ARGUMENT, RESOURCE_EXHAUSTED (a body over the limit), OUT_OF_RANGE
/// (tonic: a frame header announcing more than the limit, the body being small),
/// INTERNAL (undecodable message, broken framing), UNIMPLEMENTED (a compressed-flag
/// frame: the lab sends none), NOT_FOUND (a custom shape the backend does not have).
const EXPECTED_CODES: [tonic::Code; 7] = [
    tonic::Code::Ok,
    tonic::Code::InvalidArgument,
    tonic::Code::ResourceExhausted,
    tonic::Code::OutOfRange,
    tonic::Code::Internal,
    tonic::Code::Unimplemented,
    tonic::Code::NotFound,
];

/// JSON values of every kind, nested a few levels.
fn json_strategy() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as Json;
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Json::from),
        "[a-zA-Z0-9 é]{0,12}".prop_map(Json::from),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map("[a-zA-Z_0-9-]{1,8}", inner, 0..5)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

/// A byte of `text` changed, cut there, or one inserted (on a char boundary).
fn mutate(text: String, at: prop::sample::Index, byte: u8, how: u8) -> String {
    String::from_utf8_lossy(&mutate_bytes(text.into_bytes(), at, byte, how)).into_owned()
}

/// A byte of `bytes` changed, cut there, or one inserted.
fn mutate_bytes(mut bytes: Vec<u8>, at: prop::sample::Index, byte: u8, how: u8) -> Vec<u8> {
    if !bytes.is_empty() {
        let at = at.index(bytes.len());
        match how % 3 {
            0 => bytes.truncate(at),
            1 => bytes[at] = byte,
            _ => bytes.insert(at, byte),
        }
    }
    bytes
}
/// What a person might paste: samples (valid, mutated, of any JSON kind) and `.proto`
/// files (valid, mutated, arbitrary), with a message name.
fn shape_input_strategy() -> impl Strategy<Value = ShapeInput> {
    let proto = "syntax = \"proto3\";\npackage p;\nenum E { E_UNSPECIFIED = 0; E_A = 1; }\n\
                 message Inner { repeated string s = 1; E e = 2; }\n\
                 message Rec { int64 id = 1; Inner inner = 2; map<string, double> m = 3; \
                 optional bytes b = 4; Rec next = 5; }\n";
    let samples = prop_oneof![
        2 => json_strategy().prop_map(|v| v.to_string()),
        2 => (json_strategy(), any::<prop::sample::Index>(), any::<u8>(), any::<u8>())
            .prop_map(|(v, at, byte, how)| mutate(v.to_string(), at, byte, how)),
        1 => any::<String>(),
    ]
    .prop_map(|sample| ShapeInput {
        sample: Some(sample),
        ..ShapeInput::default()
    });
    let protos = prop_oneof![
        1 => Just(proto.to_owned()),
        3 => (any::<prop::sample::Index>(), any::<u8>(), any::<u8>())
            .prop_map(move |(at, byte, how)| mutate(proto.to_owned(), at, byte, how)),
        1 => any::<String>(),
    ];
    let protos = (
        protos,
        prop::sample::select(vec!["Rec", "p.Inner", "Nope", ""]),
    )
        .prop_map(|(proto, message)| ShapeInput {
            proto: Some(proto),
            message: Some(message.to_owned()),
            sample: None,
        });
    prop_oneof![samples, protos]
}

/// Newline-delimited JSON upload bodies: records as lines, mutated, cut into chunks.
fn ndjson_strategy() -> impl Strategy<Value = (Vec<u8>, usize)> {
    let valid = (0u64..1_000, 0usize..6, 0usize..3).prop_map(|(seed, count, shape)| {
        let shape = [Shape::Telemetry, Shape::Log, Shape::Order][shape];
        let mut body = Vec::new();
        for record in dataset::generate(shape, seed, count) {
            serde_json::to_writer(&mut body, &record).unwrap();
            body.push(b'\n');
        }
        body
    });
    let mutated = (
        valid.clone(),
        any::<prop::sample::Index>(),
        any::<u8>(),
        0u8..3,
    )
        .prop_map(|(body, at, byte, how)| mutate_bytes(body, at, byte, how));
    let body = prop_oneof![
        2 => valid,
        4 => mutated,
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ];
    (body, 1usize..64)
}

/// What the server must answer for an NDJSON body: the records of its non-blank lines,
/// or `None` when one of them is not a record (or there is none).
fn ndjson_oracle(body: &[u8]) -> Option<Vec<lab_proto::v1::Record>> {
    let mut records = Vec::new();
    for line in body.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: lab_proto::v1::Record = serde_json::from_slice(line).ok()?;
        record.id()?;
        records.push(record);
    }
    (!records.is_empty()).then_some(records)
}

#[test]
fn ndjson_upload_streams_get_the_checksum_or_a_json_400() {
    let target = Target::start();
    let addr = target.server.addr;
    target.run(
        "NDJSON upload streams",
        ndjson_strategy(),
        |(body, chunk)| {
            let expected = ndjson_oracle(&body);
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                body.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
            let (status, answer) = target.send(async {
                let response = target
                    .client
                    .post(format!("http://{addr}{}", rest::UPLOADS_STREAM))
                    .header("content-type", rest::NDJSON)
                    .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                        chunks,
                    )))
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.bytes().await.unwrap())
            })?;
            target.note(format!("HTTP {status}"));
            match (status, expected) {
                (200, Some(records)) => {
                    let answer: UploadResponse = serde_json::from_slice(&answer).unwrap();
                    prop_assert_eq!(answer.count, records.len() as u64);
                    prop_assert_eq!(answer.checksum, lab_proto::checksum(&records));
                }
                (400, None) => check_error_body(status, &answer)?,
                (status, expected) => prop_assert!(
                    false,
                    "HTTP {status} for a body whose lines {} records",
                    if expected.is_some() {
                        "are all"
                    } else {
                        "are not all"
                    }
                ),
            }
            Ok(())
        },
    );
}

#[test]
fn custom_shapes_get_a_shape_that_serves_or_a_json_400() {
    let target = Target::start();
    let addr = target.server.addr;
    target.run("custom shapes", shape_input_strategy(), |input| {
        let client = &target.client;
        let (status, body) = target.send(async {
            let response = client
                .post(format!("http://{addr}{}", rest::SHAPES))
                .json(&input)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.bytes().await.unwrap())
        })?;
        target.note(format!("HTTP {status}"));
        match status {
            201 => {
                let info: ShapeInfo = serde_json::from_slice(&body)
                    .map_err(|err| TestCaseError::fail(format!("201 with bad JSON: {err}")))?;
                // A shape that registers serves: a few records in either encoding.
                let key = lab_proto::contract::custom::key(&info.id);
                let url = format!("http://{addr}{}?shape={key}&count=3&seed=1", rest::RECORDS);
                let (status, body) = target.send(async {
                    let response = client.get(&url).send().await.unwrap();
                    (response.status().as_u16(), response.bytes().await.unwrap())
                })?;
                prop_assert_eq!(
                    status,
                    200,
                    "{:?}: {}",
                    input,
                    String::from_utf8_lossy(&body)
                );
            }
            400 => check_error_body(status, &body)?,
            other => prop_assert!(false, "{input:?} answered HTTP {other}"),
        }
        Ok(())
    });
}

#[test]
fn grpc_web_framing_gets_a_grpc_status_never_a_crash() {
    grpc_web_framing(&Target::start());
}

/// The same over an emulated link (a short round trip, so that the inputs still fit
/// in seconds): bytes held in the delay line change nothing in the answers.
#[test]
fn grpc_web_framing_over_an_emulated_link_gets_a_grpc_status_never_a_crash() {
    grpc_web_framing(&Target::over_link(
        "rtt=2ms,down=100mbit,up=100mbit",
        cases() / 10,
    ));
}

fn grpc_web_framing(target: &Target) {
    let addr = target.server.addr;
    target.run(
        "gRPC-Web framing",
        grpc_web_body_strategy(),
        |(method, body)| {
            let method = grpc::METHODS[method];
            let answer = target
                .send(clients::grpc_web_raw(
                    &target.client,
                    addr,
                    method,
                    GrpcWebMode::Binary,
                    body.clone(),
                ))?
                .map_err(|err| TestCaseError::fail(format!("{method}: malformed answer: {err}")))?;
            prop_assert_eq!(answer.http_status, 200, "{}: {:?}", method, answer);
            let Some(status) = answer.status() else {
                return Err(TestCaseError::fail(format!(
                    "{method}: no grpc-status ({answer:?})"
                )));
            };
            target.note(format!("grpc-status {:?}", status.code()));
            prop_assert!(
                EXPECTED_CODES.contains(&status.code()),
                "{method}: {status:?} ({answer:?})"
            );
            if status.code() != tonic::Code::Ok {
                prop_assert!(
                    !status.message().is_empty(),
                    "{method}: {status:?} without a message"
                );
            }
            Ok(())
        },
    );
}

/// A service run's settings: the page's URL form (its keys, values near and far from
/// valid, unknown names) and arbitrary text.
fn service_settings_strategy() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "protocol",
        "workload",
        "shape",
        "count",
        "seed",
        "compression",
        "total",
        "concurrency",
        "rate",
        "interval",
        "http",
        "net",
        "client",
        "grpc",
        "rest",
        "junk",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "both",
            "rest",
            "grpc-web",
            "ping",
            "fetch",
            "upload",
            "stream",
            "client-stream",
            "echo",
            "log",
            "order",
            "custom-00000000000000aa",
            "on",
            "h2c",
            "tls",
            "web-http1",
            "web-h2",
            "http1",
            "h2",
            "tls-h2",
            "intercontinental",
            "loopback",
            "service",
        ])
        .prop_map(str::to_owned),
        (0u32..40).prop_map(|n| n.to_string()),
        Just("100001".to_owned()),
        Just("100000".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<String>().prop_map(|text| percent_encode(&text)),
    ];
    let pair = (name, value).prop_map(|(name, value)| format!("{name}={value}"));
    prop_oneof![
        6 => prop::collection::vec(pair, 0..8).prop_map(|pairs| pairs.join("&")),
        1 => any::<String>(),
    ]
}

/// Each input is a service-to-service run started, stopped at once (`DELETE`) and read
/// to its end, or a JSON 400: a stream that ends with the run's last message (or the
/// runner's error) and its end event, and nothing left running before the next input.
#[test]
fn service_runs_get_a_stream_to_its_end_or_a_json_400() {
    use lab_instrument::run::worker_protocol::FromWorker;
    use lab_instrument::transport::sse_parser::SseParser;
    // Each accepted input starts a run: fewer inputs than the other targets.
    let target = Target::on(None, cases().min(150));
    let url = target.server.url(rest::SERVICE_RUNS);
    target.run("service runs", service_settings_strategy(), |settings| {
        let client = &target.client;
        let (status, body) = target.send(async {
            let response = client.post(&url).body(settings).send().await.unwrap();
            let status = response.status().as_u16();
            if status == 200 {
                let stopped = client.delete(&url).send().await.unwrap().status();
                assert!(matches!(stopped.as_u16(), 204 | 404), "DELETE: {stopped}");
            }
            (status, response.bytes().await.unwrap())
        })?;
        target.note(format!("HTTP {status}"));
        if status != 200 {
            prop_assert_eq!(status, 400);
            return check_error_body(status, &body);
        }
        let events = SseParser::default().feed(&body);
        let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
        prop_assert_eq!(names.last().copied(), Some(rest::END_EVENT), "{:?}", names);
        let last = &events[events.len() - 2];
        match last.name.as_str() {
            "error" => target.note("runner error"),
            _ => {
                let ended = serde_json::from_slice::<FromWorker>(&last.data);
                prop_assert!(
                    matches!(ended, Ok(FromWorker::Ended { .. })),
                    "the run's last message: {}",
                    String::from_utf8_lossy(&last.data)
                );
            }
        }
        // The run's place and stream slot are free before the next input.
        let live = &target.server.state.live_streams;
        target.send(async {
            while live.current() > 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })?;
        Ok(())
    });
}
