//! The link emulator, over real sockets: round trips, the shared bandwidth, the
//! handshake's round trip, and nothing left behind by clients that hang up. The
//! tolerances come from the profile, not from what was measured.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lab_backend::link::{Bandwidth, Link, LinkProfile};
use lab_backend::{AppState, BoundListener, Config, ListenerKind, app, serve};
use lab_proto::contract::rest;
use lab_proto::v1::Shape;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::support::TestServer;

/// A backend (API only) whose every connection passes through `profile`; the plain
/// listener's link.
async fn server_on(profile: LinkProfile) -> (TestServer, Link) {
    let config = Config::new(std::env::temp_dir().join("lab-no-frontend"));
    let server = TestServer::with_link(config, profile).await;
    let link = server.state.listeners[0]
        .link
        .clone()
        .expect("a linked listener");
    (server, link)
}

fn profile(rtt_ms: u64, down_bits_per_second: Option<u64>) -> LinkProfile {
    LinkProfile {
        name: "test".to_owned(),
        rtt: Duration::from_millis(rtt_ms),
        down: down_bits_per_second.map(Bandwidth::bits_per_second),
        up: None,
        loss_per_million: 0,
    }
}

/// A GET of `url`, timed (the whole body read).
struct Timed {
    /// Until the whole body was read.
    took: Duration,
    /// Until the response head arrived (with the body's first bytes).
    first_byte: Duration,
    /// The body's size (uncompressed: no encoding is accepted).
    bytes: usize,
}

async fn timed_get(client: &reqwest::Client, url: &str) -> Timed {
    let start = Instant::now();
    let response = client
        .get(url)
        .header("accept-encoding", "identity")
        .send()
        .await
        .unwrap();
    let first_byte = start.elapsed();
    assert_eq!(response.status(), 200, "{url}");
    let bytes = response.bytes().await.unwrap().len();
    Timed {
        took: start.elapsed(),
        first_byte,
        bytes,
    }
}

fn assert_within(what: &str, measured: Duration, low: Duration, high: Duration) {
    assert!(
        (low..=high).contains(&measured),
        "{what}: {measured:?}, expected {low:?}..={high:?}"
    );
}

/// Five pings on `client`'s open connection to `url`, fastest first: each at least
/// `rtt`, the median within 15 ms of it (the median: the other link tests, running at
/// once, load the machine's cores).
async fn open_pings(client: &reqwest::Client, url: &str, rtt: Duration) -> Vec<Duration> {
    let mut pings = Vec::new();
    for _ in 0..5 {
        let took = timed_get(client, url).await.took;
        assert!(
            took >= rtt,
            "a ping took {took:?}, less than the round trip"
        );
        pings.push(took);
    }
    pings.sort();
    assert_within(
        "median ping on an open connection",
        pings[2],
        rtt,
        rtt + Duration::from_millis(15),
    );
    pings
}

#[tokio::test]
async fn a_request_on_an_open_connection_takes_one_round_trip_and_a_new_one_more() {
    let rtt = Duration::from_millis(100);
    let (server, _link) = server_on(profile(100, None)).await;

    // Plain HTTP/1.1: the first request pays the TCP handshake's round trip.
    let client = reqwest::Client::new();
    let plain_first = timed_get(&client, &server.url(rest::PING)).await.took;
    let plain_open = open_pings(&client, &server.url(rest::PING), rtt).await;
    // Against the emulated delays themselves, which are exact lower bounds; the open
    // pings' own processing time varies by a few ms either way.
    assert!(
        plain_first >= 2 * rtt,
        "a new connection's first response took {plain_first:?} (two round trips at least), open ones {plain_open:?}"
    );

    // TLS 1.3 over the link: TCP's round trip, then TLS's.
    let tls = server.endpoint(ListenerKind::TlsH2);
    let client = tls.http();
    let tls_first = timed_get(&client, &tls.url(rest::PING)).await.took;
    let tls_open = open_pings(&client, &tls.url(rest::PING), rtt).await;
    assert!(
        tls_first >= 3 * rtt,
        "a new TLS connection's first response took {tls_first:?} (three round trips at least), open ones {tls_open:?}"
    );
    eprintln!(
        "plain: first {plain_first:?}, open {plain_open:?}; TLS: first {tls_first:?}, open {tls_open:?}"
    );
}

/// Records enough for a body of about 1 MiB (1,048,740 bytes).
fn mebibyte_url(server: &TestServer) -> String {
    server.url(&rest::records_url(rest::RECORDS, Shape::Log, 3_560, 1))
}

/// How long `bytes` take at `bits_per_second`, and ±10%.
fn expected(bytes: usize, bits_per_second: u64) -> (Duration, Duration, Duration) {
    let seconds = bytes as f64 * 8.0 / bits_per_second as f64;
    (
        Duration::from_secs_f64(seconds),
        Duration::from_secs_f64(seconds * 0.9),
        Duration::from_secs_f64(seconds * 1.1),
    )
}

#[tokio::test]
async fn six_connections_share_the_link_s_bandwidth() {
    const RATE: u64 = 8_000_000;
    let (server, _link) = server_on(profile(0, Some(RATE))).await;
    let url = mebibyte_url(&server);

    // One download on an open connection. Timed from its first byte: until then the
    // server generates the body (tens of milliseconds in a debug build), which is not
    // the link's time; the first chunk (16 KiB, 1.6% of it) is left out with it.
    let client = reqwest::Client::new();
    timed_get(&client, &server.url(rest::PING)).await;
    let one = timed_get(&client, &url).await;
    assert!(
        (1_000_000..1_100_000).contains(&one.bytes),
        "{} bytes: not about 1 MiB",
        one.bytes
    );
    let (expected_one, low, high) = expected(one.bytes, RATE);
    assert_within("one download", one.took - one.first_byte, low, high);

    // Six at once, each on its own open connection: six times as long, all of them.
    let clients: Vec<_> = (0..6).map(|_| reqwest::Client::new()).collect();
    for client in &clients {
        timed_get(client, &server.url(rest::PING)).await;
    }
    let downloads = clients.iter().map(|client| timed_get(client, &url));
    let six = futures_util::future::join_all(downloads).await;
    let total: usize = six.iter().map(|timed| timed.bytes).sum();
    let (expected_six, low, high) = expected(total, RATE);
    let first_byte = six.iter().map(|timed| timed.first_byte).min().unwrap();
    let first_done = six.iter().map(|timed| timed.took).min().unwrap();
    let last_done = six.iter().map(|timed| timed.took).max().unwrap();
    assert_within("six downloads", last_done - first_byte, low, high);
    // Together: none had the link to itself (it would have finished in `expected_one`).
    assert!(
        first_done - first_byte >= expected_six.mul_f64(0.75),
        "the first of six finished after {first_done:?}, alone one takes {expected_one:?}"
    );
    eprintln!(
        "one: {} bytes in {:?} ({:?} to the first byte; expected {expected_one:?}); \
         six: {total} bytes, first byte {first_byte:?}, done {first_done:?}..{last_done:?} \
         (expected {expected_six:?})",
        one.bytes, one.took, one.first_byte
    );
}

#[tokio::test]
async fn clients_that_hang_up_mid_delay_leave_nothing_behind() {
    let (server, link) = server_on(profile(400, Some(1_000_000))).await;
    let head = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

    // Hangs up while its request is in the delay line.
    let mut early = TcpStream::connect(server.addr).await.unwrap();
    early.write_all(head(rest::PING).as_bytes()).await.unwrap();
    // Hangs up in the middle of a large response (about 1 MiB, 8 s at 1 Mbit/s).
    let mut midway = TcpStream::connect(server.addr).await.unwrap();
    let path = rest::records_url(rest::RECORDS, Shape::Log, 3_560, 1);
    midway.write_all(head(&path).as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(early);
    let mut some = [0; 1024];
    tokio::time::timeout(Duration::from_secs(5), midway.read_exact(&mut some))
        .await
        .expect("the response started")
        .unwrap();
    assert!(some.starts_with(b"HTTP/1.1 200"));
    drop(midway);

    let deadline = Instant::now() + Duration::from_secs(5);
    let open = || {
        server
            .state
            .listeners
            .iter()
            .map(|listener| listener.counts.open())
            .sum::<u64>()
    };
    while (link.connections(), open()) != (0, 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        (link.connections(), open()),
        (0, 0),
        "connections carried by the link, open on the listeners"
    );
}

/// Listeners of one backend: loopback, and two with links of the same profile.
async fn listeners_with_own_links(profile: LinkProfile) -> (Vec<SocketAddr>, oneshot::Sender<()>) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut listeners = Vec::new();
    for link in [
        None,
        Some(Link::new(profile.clone())),
        Some(Link::new(profile)),
    ] {
        listeners.push(
            BoundListener::bind(ListenerKind::Plain, any, None, link)
                .await
                .unwrap(),
        );
    }
    let addrs = listeners.iter().map(|l| l.info().addr).collect();
    let config = Config::new(std::env::temp_dir().join("lab-no-frontend"));
    let state = AppState::new(config).with_listeners(listeners.iter().map(|l| l.info().clone()));
    let (stop, stopped) = oneshot::channel();
    let limits = state.config.connection.clone();
    let router = app(state);
    tokio::spawn(async move {
        serve::serve(listeners, router, &limits, async {
            let _ = stopped.await;
        })
        .await
    });
    (addrs, stop)
}

#[tokio::test]
async fn each_listener_has_a_link_of_its_own_and_loopback_stays_loopback() {
    // Two tabs on two networks (or on one network's two HTTP versions) must not slow
    // each other down: a download that fills one link's bandwidth leaves the other
    // link, and loopback, as they are.
    let rtt = Duration::from_millis(200);
    let (addrs, _stop) = listeners_with_own_links(profile(200, Some(1_000_000))).await;
    let url = |addr: SocketAddr, path: &str| format!("http://{addr}{path}");
    let busy = url(
        addrs[1],
        &rest::records_url(rest::RECORDS, Shape::Log, 3_560, 1),
    );
    let download = tokio::spawn(async move {
        // About 8 s at 1 Mbit/s: still running when the pings below are done.
        let _ = timed_get(&reqwest::Client::new(), &busy).await;
    });
    tokio::time::sleep(Duration::from_millis(1_000)).await;

    let loopback = timed_get(&reqwest::Client::new(), &url(addrs[0], rest::PING))
        .await
        .took;
    assert!(
        loopback < rtt / 2,
        "a ping on the loopback listener took {loopback:?}: it passed through a link"
    );
    // A new connection: two round trips; behind the other link's queue (256 KiB and
    // more at 1 Mbit/s) it would take seconds.
    let other = timed_get(&reqwest::Client::new(), &url(addrs[2], rest::PING))
        .await
        .took;
    assert_within(
        "a new connection's ping on the idle link",
        other,
        2 * rtt,
        2 * rtt + Duration::from_millis(100),
    );
    assert!(
        !download.is_finished(),
        "the download was to fill its link meanwhile"
    );
    download.abort();
}

/// HTTP/3: the QUIC listener's datagrams cross the link too. A new connection pays
/// QUIC's handshake (one round trip) before its first response's, and a request on the
/// open connection one round trip.
#[tokio::test]
async fn an_http3_request_over_an_emulated_network_takes_its_round_trips() {
    use crate::support::h3_client::{H3Client, H3Transport};
    let rtt = Duration::from_millis(100);
    let (server, _link) = server_on(profile(100, None)).await;
    let start = Instant::now();
    let mut client = H3Client::connect(server.h3_addr, &server.certificate).await;
    H3Transport::Rest.ping(&mut client).await.unwrap();
    let first = start.elapsed();
    assert!(
        first >= 2 * rtt,
        "a new QUIC connection's first response took {first:?} (two round trips at least)"
    );
    let mut open = Vec::new();
    for transport in [H3Transport::Rest, H3Transport::GrpcWeb] {
        for _ in 0..3 {
            let start = Instant::now();
            transport.ping(&mut client).await.unwrap();
            open.push(start.elapsed());
        }
    }
    open.sort();
    assert!(
        open[0] >= rtt,
        "an HTTP/3 ping took {:?}, less than the round trip",
        open[0]
    );
    assert_within(
        "median HTTP/3 ping on an open connection",
        open[open.len() / 2],
        rtt,
        rtt + Duration::from_millis(15),
    );
    eprintln!("HTTP/3: first {first:?}, open {open:?}");
    client.close().await;
}

/// The link's bandwidth limits QUIC as it limits TCP: 1 MiB at 8 Mbit/s takes its
/// transmission time at least, and QUIC's congestion control settles near the link's
/// rate (a full queue drops datagrams: QUIC recovers).
#[tokio::test]
async fn http3_downloads_take_the_links_bandwidth() {
    use crate::support::h3_client::H3Client;
    let bits = 8_000_000;
    let (server, _link) = server_on(profile(40, Some(bits))).await;
    let mut client = H3Client::connect(server.h3_addr, &server.certificate).await;
    let start = Instant::now();
    let answer = client
        .get(&rest::records_url(rest::RECORDS, Shape::Log, 3_560, 1))
        .await;
    let took = start.elapsed();
    assert_eq!(answer.status, 200);
    let (time, _, _) = expected(answer.body.len(), bits);
    assert!(
        took >= time,
        "1 MiB over HTTP/3 took {took:?}, under {time:?} at 8 Mbit/s"
    );
    assert!(
        took <= 3 * time,
        "1 MiB over HTTP/3 took {took:?}, over 3 × {time:?}"
    );
    eprintln!(
        "HTTP/3: {} bytes in {took:?} (the link's time {time:?})",
        answer.body.len()
    );
    client.close().await;
}

/// With loss, datagrams are really dropped and QUIC recovers: every workload still
/// gives exactly the generator's records.
#[tokio::test]
async fn http3_recovers_from_a_lossy_link() {
    use crate::support::h3_client::{H3_TRANSPORTS, H3Client};
    let mut lossy = LinkProfile::parse("rtt=20ms,loss=5%").unwrap().unwrap();
    lossy.name = "test".to_owned();
    let (server, _link) = server_on(lossy).await;
    let mut client = H3Client::connect(server.h3_addr, &server.certificate).await;
    for transport in H3_TRANSPORTS {
        let records = transport
            .fetch(&mut client, Shape::Log, 2_000, 3)
            .await
            .unwrap();
        assert!(
            records == lab_proto::dataset::generate(Shape::Log, 3, 2_000),
            "{transport:?}"
        );
        let messages = transport
            .stream(&mut client, Shape::Order, 100, 9)
            .await
            .unwrap();
        assert_eq!(messages.len(), 100, "{transport:?}");
    }
    client.close().await;
}
