//! The native runner (issue 23 §2) against a real backend over real sockets: every
//! workload on every transport (native gRPC over h2c and TLS, gRPC-Web over HTTP/1.1
//! and HTTP/2, REST over a pooled HTTP/1.1 client and HTTP/2) carries the generator's
//! records; the bytes it counts at its sockets are the bytes the backend's listeners
//! counted at theirs; its percentiles are its samples'; and the page's endpoint for it
//! (`/api/v1/service-runs`) streams the run, runs one at a time, stops on request and
//! leaves nothing running when its client goes away.

use std::time::Duration;

use futures_util::StreamExt;
use lab_backend::listener::ListenerKind;
use lab_instrument::run::Phase;
use lab_instrument::run::config::{ProtocolChoice, RunConfig, WorkloadKind};
use lab_instrument::run::service_lanes::{Client, GrpcLane, Lanes, RestLane};
use lab_instrument::run::shape_choice::ShapeChoice;
use lab_instrument::run::worker_protocol::FromWorker;
use lab_instrument::transport::Protocol;
use lab_proto::contract::rest::{self, END_EVENT};
use lab_proto::v1::Shape;
use lab_runner::engine::{self, Finished, Sides};
use lab_runner::targets::Targets;

use crate::support::TestServer;

/// The four pairs that between them use every transport, each side on a listener of
/// its own (so a listener's count is one lane's).
const PAIRS: [(GrpcLane, RestLane); 4] = [
    (GrpcLane::H2c, RestLane::H2),
    (GrpcLane::Tls, RestLane::Http1),
    (GrpcLane::WebHttp1, RestLane::H2),
    (GrpcLane::WebH2, RestLane::Http1),
];

fn service(workload: WorkloadKind, lanes: (GrpcLane, RestLane)) -> RunConfig {
    RunConfig {
        protocol: ProtocolChoice::Both,
        workload,
        shape: ShapeChoice::BuiltIn(Shape::Order),
        count: 7,
        seed: 5,
        total: 6,
        concurrency: 2,
        client: Client::Service,
        lanes: Lanes {
            grpc: lanes.0,
            rest: lanes.1,
        },
        ..RunConfig::default()
    }
}

fn targets(server: &TestServer, config: &RunConfig) -> Targets {
    let listeners = server
        .state
        .listeners
        .iter()
        .filter(|l| !l.kind.is_quic())
        .map(|l| (l.kind.name(), l.url(), l.network()));
    Targets::pick(
        listeners,
        config.network,
        Some(server.certificate.cert_pem().as_bytes().to_vec()),
    )
    .expect("the test backend's listeners")
}

async fn run(server: &TestServer, config: RunConfig) -> (Finished, Sides) {
    let sides = Sides::new(&config, &targets(server, &config)).expect("lanes");
    let finished = engine::run(
        config,
        0,
        &sides,
        Duration::from_secs(60),
        std::future::pending(),
        |_| {},
    )
    .await
    .expect("a built-in shape");
    (finished, sides)
}

#[tokio::test]
async fn every_workload_carries_the_generator_s_records_on_every_transport() {
    let server = TestServer::api().await;
    for lanes in PAIRS {
        for workload in WorkloadKind::ALL {
            let config = service(workload, lanes);
            let (finished, _) = run(&server, config).await;
            let what = format!("{workload:?} over {lanes:?}");
            assert_eq!(finished.phase, Phase::Finished, "{what}");
            assert_eq!(finished.data.samples.len(), 6, "{what}");
            let records = lab_proto::dataset::generate(Shape::Order, 5, 7);
            for protocol in Protocol::ALL {
                let summary = finished.data.summary(protocol, true);
                assert_eq!(
                    (summary.requests, summary.errors),
                    (3, 0),
                    "{what}, {protocol:?}: {:?}",
                    finished.data.stats[protocol.index()].last_error
                );
                let expected_records = match workload {
                    WorkloadKind::Ping => 0,
                    _ => 3 * 7,
                };
                assert_eq!(summary.records, expected_records, "{what}, {protocol:?}");
                if !matches!(workload, WorkloadKind::Ping | WorkloadKind::Echo) {
                    assert_eq!(
                        summary.checksum,
                        Some(lab_proto::checksum(&records)),
                        "{what}, {protocol:?}: the generator's records"
                    );
                }
                if matches!(workload, WorkloadKind::Stream | WorkloadKind::Echo) {
                    assert!(
                        summary.mean_first_message_ms.is_some(),
                        "{what}, {protocol:?}: each message timed"
                    );
                }
                // Every call's response was sized as it arrived, over the lane's
                // HTTP version.
                let http2 = match protocol {
                    Protocol::GrpcWeb => lanes.0.is_http2(),
                    Protocol::Rest => lanes.1.is_tls(),
                };
                if workload != WorkloadKind::Echo || protocol == Protocol::GrpcWeb {
                    let expected = if http2 { "h2" } else { "http/1.1" };
                    assert_eq!(
                        summary.next_hops,
                        vec![(expected.to_owned(), 3)],
                        "{what}, {protocol:?}"
                    );
                }
            }
            let sockets = finished.data.sockets.expect("socket counts");
            assert!(
                sockets
                    .iter()
                    .all(|s| s.socket_read > 0 && s.socket_written > 0),
                "{what}: {sockets:?}"
            );
        }
    }
}

/// Waits until no connection is open on any listener of `server`.
async fn connections_closed(server: &TestServer) {
    for _ in 0..200 {
        if server.state.listeners.iter().all(|l| l.counts.open() == 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("connections still open");
}

#[tokio::test]
async fn the_runner_s_socket_bytes_are_the_bytes_the_backend_s_listeners_counted() {
    for (lanes, workload) in [
        ((GrpcLane::Tls, RestLane::Http1), WorkloadKind::Fetch),
        ((GrpcLane::H2c, RestLane::H2), WorkloadKind::Upload),
        ((GrpcLane::WebH2, RestLane::Http1), WorkloadKind::Echo),
        ((GrpcLane::H2c, RestLane::H2), WorkloadKind::Echo),
    ] {
        // A backend of its own: its listeners count this run's connections alone.
        let server = TestServer::api().await;
        let config = RunConfig {
            total: 20,
            concurrency: 4,
            ..service(workload, lanes)
        };
        let (finished, sides) = run(&server, config).await;
        assert_eq!(finished.phase, Phase::Finished);
        let counts = sides.counts.clone();
        drop(sides);
        connections_closed(&server).await;
        let listener = |kind: ListenerKind| {
            server
                .state
                .listeners
                .iter()
                .find(|l| l.kind == kind)
                .expect("listener")
        };
        let grpc = if lanes.0.is_tls() {
            ListenerKind::TlsH2
        } else {
            ListenerKind::Plain
        };
        let rest = if lanes.1.is_tls() {
            ListenerKind::TlsH2
        } else {
            ListenerKind::Plain
        };
        // REST's WebSocket over TLS goes to the HTTP/1.1 listener.
        let rest = if rest == ListenerKind::TlsH2 && workload == WorkloadKind::Echo {
            ListenerKind::TlsHttp1
        } else {
            rest
        };
        for (counts, kind) in [(&counts[0], grpc), (&counts[1], rest)] {
            let backend = listener(kind).counts.bytes.clone();
            let accepted = listener(kind).counts.accepted();
            let runner = counts.totals();
            let what = format!("{lanes:?} {workload:?} on {kind}");
            assert_eq!(
                runner.socket_written,
                backend.read(),
                "{what}: what the runner wrote, the backend read"
            );
            // What the backend wrote, the runner read; over TLS except the alert that
            // closes each connection (24 bytes in TLS 1.3), sent as the runner had
            // already hung up.
            let unread = backend.written() - runner.socket_read;
            if kind == ListenerKind::Plain {
                assert_eq!(unread, 0, "{what}: what the backend wrote, the runner read");
            } else {
                assert!(
                    unread % 24 == 0 && unread / 24 <= runner.connections,
                    "{what}: {unread} bytes the backend wrote are not the runner's reads"
                );
            }
            assert_eq!(
                runner.connections, accepted,
                "{lanes:?} {workload:?} on {kind}"
            );
            if kind == ListenerKind::Plain {
                assert_eq!(
                    (runner.plaintext_written, runner.plaintext_read),
                    (runner.socket_written, runner.socket_read)
                );
            } else {
                assert!(
                    runner.plaintext_read < runner.socket_read,
                    "TLS records cost bytes"
                );
            }
        }
    }
}

/// The nearest-rank percentile, written out apart from the instrument's.
fn nearest_rank(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

#[tokio::test]
async fn the_runner_s_percentiles_are_those_of_its_own_samples() {
    let server = TestServer::api().await;
    let config = RunConfig {
        total: 101,
        concurrency: 3,
        ..service(WorkloadKind::Fetch, (GrpcLane::H2c, RestLane::Http1))
    };
    let (finished, _) = run(&server, config).await;
    for protocol in Protocol::ALL {
        let latencies: Vec<f64> = finished
            .data
            .samples
            .iter()
            .filter(|s| s.protocol == protocol && s.error.is_none())
            .map(|s| s.e2e_ms)
            .collect();
        let latency = finished.data.summary(protocol, true).latency.unwrap();
        assert_eq!(latency.count, latencies.len());
        for (q, value) in [(0.5, latency.p50), (0.9, latency.p90), (0.99, latency.p99)] {
            assert_eq!(value, nearest_rank(&latencies, q), "{protocol:?} q={q}");
        }
        // The CSV export carries the same samples.
        let csv = finished.data.to_csv();
        let exported = csv
            .lines()
            .skip(1)
            .filter(|line| line.split(',').nth(1) == Some(protocol.key()))
            .count();
        assert_eq!(exported, latencies.len());
    }
    // The command line's table shows the same median.
    let table = lab_runner::report::table(&config, &finished, 0);
    let p50 = lab_instrument::stats::scale::format_ms(
        lab_runner::report::figures(&config, &finished, 0)
            .of(Protocol::GrpcWeb)
            .p50_ms
            .unwrap()
            .value,
    );
    assert!(table.contains(&p50), "{table}");
}

/// The service-run endpoint's events as they arrive: `(event name, data)`.
struct Events {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    parser: lab_instrument::transport::sse_parser::SseParser,
    ready: std::collections::VecDeque<(String, Vec<u8>)>,
}

impl Events {
    async fn next(&mut self) -> Option<(String, Vec<u8>)> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let chunk = self.body.next().await?.ok()?;
            for event in self.parser.feed(&chunk) {
                self.ready.push_back((event.name, event.data));
            }
        }
    }
}

async fn post_run(server: &TestServer, settings: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url(rest::SERVICE_RUNS))
        .body(settings.to_owned())
        .send()
        .await
        .unwrap()
}

fn events(response: reqwest::Response) -> Events {
    Events {
        body: response.bytes_stream().boxed(),
        parser: Default::default(),
        ready: Default::default(),
    }
}

/// Waits up to 5 s for the backend's live streams to be 0.
async fn nothing_left_running(server: &TestServer) {
    for _ in 0..100 {
        if server.state.live_streams.current() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "live streams stayed at {}",
        server.state.live_streams.current()
    );
}

#[tokio::test]
async fn the_page_s_endpoint_streams_the_run_one_at_a_time_and_stop_ends_it() {
    let server = TestServer::api().await;
    // 400 requests at 100/s: long enough to be stopped.
    let long = "workload=fetch&count=5&total=400&concurrency=2&rate=100&grpc=tls&rest=h2";
    let response = post_run(&server, long).await;
    assert_eq!(response.status(), 200);
    let mut stream = events(response);
    let (name, data) = stream.next().await.expect("progress");
    assert_eq!(name, "message");
    let FromWorker::Progress { done, .. } = serde_json::from_slice(&data).unwrap() else {
        panic!("progress first");
    };
    assert!(done < 400);
    assert_eq!(
        server.state.live_streams.current(),
        1,
        "the run holds a slot"
    );

    let busy = post_run(&server, "workload=ping").await;
    assert_eq!(busy.status(), 409);
    let body: serde_json::Value = busy.json().await.unwrap();
    assert_eq!(body["error"], "run_under_way", "{body}");

    let client = reqwest::Client::new();
    let stopped = client
        .delete(server.url(rest::SERVICE_RUNS))
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 204);
    let ended = loop {
        let (name, data) = stream.next().await.expect("the run's end");
        if name == "message"
            && let FromWorker::Ended { phase, data, .. } = serde_json::from_slice(&data).unwrap()
        {
            break (phase, data);
        }
    };
    assert_eq!(ended.0, Phase::Stopped);
    assert!(ended.1.samples.len() < 400, "stopped before its end");
    assert!(ended.1.sockets.is_some());
    assert_eq!(stream.next().await.map(|e| e.0), Some(END_EVENT.to_owned()));
    nothing_left_running(&server).await;
    let none = client
        .delete(server.url(rest::SERVICE_RUNS))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);

    // A short run goes to its end.
    let mut stream = events(post_run(&server, "workload=stream&count=3&total=4").await);
    let mut last = None;
    while let Some((name, data)) = stream.next().await {
        if name == END_EVENT {
            break;
        }
        last = Some(serde_json::from_slice::<FromWorker>(&data).unwrap());
    }
    let Some(FromWorker::Ended { phase, done, .. }) = last else {
        panic!("the run's end last");
    };
    assert_eq!((phase, done), (Phase::Finished, 4));
}

#[tokio::test]
async fn a_service_run_whose_client_goes_away_leaves_nothing_running() {
    let server = TestServer::api().await;
    let response = post_run(
        &server,
        "workload=stream&count=50&interval=20&total=40&concurrency=4",
    )
    .await;
    let mut stream = events(response);
    stream.next().await.expect("progress");
    drop(stream);
    nothing_left_running(&server).await;
    // Its place is free again.
    let again = post_run(&server, "workload=ping&total=2").await;
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn the_service_run_endpoint_refuses_what_it_cannot_run() {
    let server = TestServer::api().await;
    for (settings, status, words) in [
        (
            "shape=custom-00000000000000aa&workload=fetch",
            400,
            "built-in shapes only",
        ),
        ("net=intercontinental", 400, "no plain listener"),
        ("workload=ping&total=100001", 400, "at most 100000 requests"),
        (
            "workload=upload&count=100000&concurrency=4",
            400,
            "at most 200000 records in flight",
        ),
    ] {
        let response = post_run(&server, settings).await;
        assert_eq!(response.status(), status, "{settings}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains(words),
            "{settings}: {body}"
        );
    }
    // Another site's page cannot start one.
    let foreign = reqwest::Client::new()
        .post(server.url(rest::SERVICE_RUNS))
        .header("origin", "https://evil.example")
        .body("workload=ping")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    assert_eq!(server.state.live_streams.current(), 0);
    // Still serving.
    assert_eq!(
        post_run(&server, "workload=ping&total=2").await.status(),
        200
    );
}

#[tokio::test]
async fn with_compression_both_sides_arrive_compressed_as_in_a_browser() {
    let server = TestServer::api().await;
    for lanes in [
        (GrpcLane::WebHttp1, RestLane::Http1),
        (GrpcLane::WebH2, RestLane::H2),
    ] {
        let config = RunConfig {
            compression: true,
            count: 200,
            ..service(WorkloadKind::Fetch, lanes)
        };
        let (finished, _) = run(&server, config).await;
        for sample in &finished.data.samples {
            let network = sample.network.as_ref().expect("a response");
            assert!(
                network.encoded_body * 2 < sample.payload_bytes,
                "{lanes:?} {:?}: {} B on the wire for a {} B payload",
                sample.protocol,
                network.encoded_body,
                sample.payload_bytes
            );
        }
    }
}
