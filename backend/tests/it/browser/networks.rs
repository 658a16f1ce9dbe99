//! The lab over an emulated network, in the browser: the "Network" control moves the
//! page to that network's listener with its settings; the browser's own Resource
//! Timing then shows the link: a ping's time to first byte holds the round trip, and a
//! large fetch's download time follows its size on the wire at the link's bandwidth.

use std::time::{Duration, Instant};

use lab_backend::ListenerKind;
use lab_backend::link::LinkProfile;

use super::PROTOCOLS;
use crate::support::TestServer;
use crate::support::browser::{Browser, BrowserKind, Setup};

in_each_browser! {
    the_network_choice_moves_the_page_to_that_network_s_listener => switch_network();
}

/// What the issue asks of Chromium alone: the link in Resource Timing.
mod in_chromium {
    use crate::support::browser::BrowserKind::Chromium;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_ping_s_time_to_first_byte_holds_the_round_trip() {
        super::ttfb_holds_the_round_trip(Chromium).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn download_times_follow_wire_sizes_at_the_link_s_bandwidth() {
        super::download_follows_wire_sizes(Chromium).await;
    }
}

fn custom(text: &str) -> LinkProfile {
    LinkProfile::parse(text).unwrap().expect("a link")
}

/// The backend with loopback listeners and `profile`'s, and a browser trusting it.
async fn open(kind: BrowserKind, profile: &str) -> Option<(TestServer, Browser)> {
    let setup = Setup::find(kind)?;
    let server = TestServer::with_network_beside(setup.dist.clone(), custom(profile)).await;
    let browser = setup
        .start_trusting(Some(server.certificate.spki_pin()))
        .await;
    Some((server, browser))
}

/// A person's path: the page on loopback, then the emulated network chosen in the
/// "Network" control: the page moves to that network's listener of the same HTTP
/// version with its settings, says which network its results come from, and runs.
async fn switch_network(kind: BrowserKind) {
    let Some((server, browser)) = open(kind, "rtt=100ms,down=20mbit,up=20mbit").await else {
        return;
    };
    let loopback = server.origin(ListenerKind::TlsH2);
    let query = "protocol=both&workload=ping&total=4&concurrency=1";
    browser
        .client
        .goto(&format!("{loopback}/?{query}"))
        .await
        .expect("open the lab");
    let note = browser.text_of("[data-testid=run-network]").await;
    assert!(note.starts_with("Network: loopback"), "{note}");
    let select = browser
        .wait_for("[data-testid=network]:not([disabled]) option[value=custom]")
        .await;
    select.click().await.expect("choose the custom network");
    let url = browser
        .wait_until_at(&server.origin_of(ListenerKind::TlsH2, "custom"))
        .await;
    let settings = url.split_once('?').map_or("", |(_, query)| query);
    assert!(
        settings.contains("workload=ping") && settings.contains("net=custom"),
        "the settings did not come along: {url}"
    );
    browser.wait_for("[data-testid=http-tls-h2]:checked").await;
    // Its numbers once the page has read the backend's status.
    let expected = "Network: custom (rtt=100ms, down=20mbit, up=20mbit)";
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let note = browser.text_of("[data-testid=run-network]").await;
        if note.starts_with(expected) {
            break;
        }
        assert!(Instant::now() < deadline, "{note}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.run_again().await;
    for protocol in PROTOCOLS {
        browser
            .assert_succeeded(protocol, 2.0, "over the emulated network")
            .await;
        // One round trip at least, whatever the browser.
        let p50 = browser.summary(protocol, "p50").await;
        assert!(p50 >= 100.0, "{}: {protocol} p50 {p50} ms", kind.name());
    }
    browser.close().await;
}

/// Pings over HTTP/2 on a 200 ms link: every sample's time to first byte (request
/// start to response start, as the browser measures it) is at least the round trip,
/// and on the open connection no more than it plus 60 ms of processing.
async fn ttfb_holds_the_round_trip(kind: BrowserKind) {
    let Some((server, browser)) = open(kind, "rtt=200ms").await else {
        return;
    };
    let origin = server.origin_of(ListenerKind::TlsH2, "custom");
    let total = 10;
    browser
        .run_lab_within(
            &format!("{origin}/?protocol=both&workload=ping&total={total}&concurrency=1"),
            Duration::from_secs(60),
        )
        .await;
    browser.wait_for_timings(total).await;
    let csv = browser.exported_csv().await;
    let mut ttfbs: Vec<f64> = (csv.column("protocol").into_iter())
        .zip(csv.numbers("ttfb_ms"))
        .map(|(protocol, ttfb)| {
            ttfb.unwrap_or_else(|| panic!("a {protocol} ping without time to first byte"))
        })
        .collect();
    assert_eq!(ttfbs.len() as u64, total);
    ttfbs.sort_by(f64::total_cmp);
    assert!(
        ttfbs[0] >= 199.0,
        "a time to first byte under the round trip: {ttfbs:?}"
    );
    let median = ttfbs[ttfbs.len() / 2];
    assert!(
        median <= 260.0,
        "median time to first byte {median} ms: {ttfbs:?}"
    );
    browser.close().await;
}

/// 1,000 orders per fetch over a 4 Mbit/s link, both protocols on one HTTP/2
/// connection, one request at a time, no compression: each response's download time
/// (response start to end) is its encoded body at 4 Mbit/s (±25%: the first chunk
/// arrives with the head), so the protocols' download times stand as their sizes do.
async fn download_follows_wire_sizes(kind: BrowserKind) {
    const BITS_PER_SECOND: f64 = 4e6;
    let Some((server, browser)) = open(kind, "rtt=20ms,down=4mbit,up=4mbit").await else {
        return;
    };
    let origin = server.origin_of(ListenerKind::TlsH2, "custom");
    // Five per protocol: a browser may leave some gRPC-Web fetches without sizes.
    let total = 10;
    browser
        .run_lab_within(
            &format!(
                "{origin}/?protocol=both&workload=fetch&shape=order&count=1000&total={total}\
                 &concurrency=1&compression=off"
            ),
            Duration::from_secs(90),
        )
        .await;
    browser.wait_for_timings(total).await;
    let csv = browser.exported_csv().await;
    let rows = (csv.column("protocol").into_iter())
        .zip(csv.numbers("download_ms"))
        .zip(csv.numbers("encoded_body"));
    let mut per_protocol: Vec<(&str, f64, f64)> = Vec::new();
    for ((protocol, download), bytes) in rows {
        let (Some(download), Some(bytes)) = (download, bytes) else {
            continue;
        };
        if bytes == 0.0 {
            // Chromium may report a gRPC-Web fetch without body sizes (the page says
            // so, and leaves it out of its size means).
            continue;
        }
        let expected_ms = bytes * 8.0 / BITS_PER_SECOND * 1e3;
        assert!(
            (0.75 * expected_ms..=1.25 * expected_ms).contains(&download),
            "{protocol}: {bytes} bytes downloaded in {download} ms, {expected_ms:.0} ms at 4 Mbit/s"
        );
        match per_protocol.iter_mut().find(|(p, _, _)| *p == protocol) {
            Some((_, sum_ms, sum_bytes)) => {
                *sum_ms += download;
                *sum_bytes += bytes;
            }
            None => per_protocol.push((protocol, download, bytes)),
        }
    }
    assert_eq!(
        per_protocol.len(),
        2,
        "samples with sizes of both protocols"
    );
    let (a, b) = (&per_protocol[0], &per_protocol[1]);
    let time_ratio = a.1 / b.1;
    let size_ratio = a.2 / b.2;
    assert!(
        (time_ratio / size_ratio - 1.0).abs() < 0.15,
        "{} : {} download time {time_ratio:.3}, wire size {size_ratio:.3}",
        a.0,
        b.0
    );
    browser.close().await;
}

/// The figures of docs/network-profiles.md: both protocols ("Both", interleaved on
/// the same connections) over HTTP/1.1 and HTTP/2 (TLS) on a mobile and an
/// intercontinental link, at concurrency 1 and 16, a small fetch, a large one, and the
/// large one with HTTP compression; p50/p99, mean time to first byte and wire bytes per
/// response, and the connections the page's listener accepted. Prints a Markdown
/// table; asserts only that every request succeeded. `cargo test -p lab-backend --test
/// it measure_networks -- --ignored --nocapture` (after `cargo xtask test` has built
/// `dist/`; about 10 minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: see docs/network-profiles.md"]
async fn measure_networks() {
    let Some(setup) = Setup::find(BrowserKind::Chromium) else {
        return;
    };
    println!(
        "| network | HTTP | workload | conc. | gRPC-Web p50 | p99 | TTFB | wire B | REST p50 | p99 | TTFB | wire B | conns |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    // (label, query, requests per protocol on the mobile link, on the other)
    let workloads = [
        (
            "10 telemetry",
            "shape=telemetry&count=10&compression=off",
            40,
            40,
        ),
        (
            "1,000 orders",
            "shape=order&count=1000&compression=off",
            12,
            40,
        ),
        (
            "1,000 orders, gzip",
            "shape=order&count=1000&compression=on",
            12,
            40,
        ),
    ];
    for profile in ["lighthouse-mobile", "intercontinental"] {
        for (kind, http) in [(ListenerKind::TlsHttp1, "1.1"), (ListenerKind::TlsH2, "2")] {
            for (workload, settings, mobile_n, other_n) in workloads {
                let per_protocol = if profile == "lighthouse-mobile" {
                    mobile_n
                } else {
                    other_n
                };
                for concurrency in [1, 16] {
                    // A server and a browser per cell: fresh links, connections from 0.
                    let server =
                        TestServer::with_network_beside(setup.dist.clone(), custom(profile)).await;
                    let browser = setup
                        .start_trusting(Some(server.certificate.spki_pin()))
                        .await;
                    let origin = server.origin_of(kind, profile);
                    let query = format!(
                        "protocol=both&workload=fetch&{settings}&total={}&concurrency={concurrency}",
                        2 * per_protocol
                    );
                    let cells = run_and_read(
                        &browser,
                        &format!("{origin}/?{query}"),
                        per_protocol,
                        &["p50", "p99", "ttfb", "wire-bytes"],
                        profile,
                    )
                    .await;
                    let accepted = server
                        .status()
                        .await
                        .listeners
                        .iter()
                        .find(|l| l.name == kind.name() && l.network.name == profile)
                        .map_or(0, |l| l.connections_accepted);
                    println!(
                        "| {profile} | {http} | {workload} | {concurrency} | {} | {accepted} |",
                        cells.join(" | ")
                    );
                    browser.close().await;
                }
            }
        }
    }
}

/// Runs the lab at `url` ("Both", `per_protocol` requests each), waits for every
/// request's timing, and reads each protocol's `rows` of the results table, gRPC-Web's
/// then REST's; `what` names the cell in a failure.
async fn run_and_read(
    browser: &Browser,
    url: &str,
    per_protocol: u64,
    rows: &[&str],
    what: &str,
) -> Vec<String> {
    browser.run_lab_within(url, Duration::from_secs(300)).await;
    browser.wait_for_timings(2 * per_protocol).await;
    let mut cells = Vec::new();
    for protocol in PROTOCOLS {
        browser
            .assert_succeeded(protocol, per_protocol as f64, what)
            .await;
        for row in rows {
            cells.push(
                browser
                    .text_of(&format!("[data-testid=summary-{protocol}-{row}]"))
                    .await,
            );
        }
    }
    cells
}

/// The figures of docs/network-profiles.md's "HTTP/1.1, HTTP/2 and HTTP/3" table: in
/// headless Chromium (QUIC forced for the HTTP/3 listener by its pin), a "Both" run per
/// cell over each transport on loopback and on the mobile profile, and over HTTP/3 on
/// the mobile profile with 2% of datagrams lost (the TCP listeners cannot drop: the
/// kernel's TCP carries the emulated link's bytes, so a loss there would stall the
/// link, not make TCP recover, and is not modelled). Prints the table; asserts only
/// that every request succeeded and went over the transport asked for.
/// `cargo test -p lab-backend --test it measure_transports -- --ignored --nocapture`
/// (after `cargo xtask build`; about 6 minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: see docs/network-profiles.md"]
async fn measure_transports() {
    let Some(setup) = Setup::find(BrowserKind::Chromium) else {
        return;
    };
    println!(
        "| network | HTTP | workload | conc. | gRPC-Web p50 | p99 | wire B | REST p50 | p99 | wire B |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mobile = "lighthouse-mobile";
    let lossy = "rtt=150ms,down=1638.4kbit,up=750kbit,loss=2%";
    // (label, settings, concurrency, requests per protocol on loopback, on the link)
    let workloads = [
        ("10 telemetry", "shape=telemetry&count=10", 1, 100, 20),
        ("10 telemetry", "shape=telemetry&count=10", 16, 200, 40),
        ("1,000 orders", "shape=order&count=1000", 16, 100, 10),
    ];
    let transports = [
        (ListenerKind::TlsHttp1, "1.1", "http/1.1"),
        (ListenerKind::TlsH2, "2", "h2"),
        (ListenerKind::QuicH3, "3", "h3"),
    ];
    for (network, profile) in [
        ("loopback", None),
        (mobile, Some(mobile)),
        ("mobile, 2% loss", Some(lossy)),
    ] {
        for (kind, http, next_hop) in transports {
            if network.contains("loss") && kind != ListenerKind::QuicH3 {
                continue; // loss is QUIC's alone (see above)
            }
            for (workload, settings, concurrency, loopback_n, link_n) in workloads {
                let per_protocol = if profile.is_some() {
                    link_n
                } else {
                    loopback_n
                };
                let server = match profile {
                    Some(profile) => {
                        TestServer::with_network_beside(setup.dist.clone(), custom(profile)).await
                    }
                    None => TestServer::start(setup.dist.clone()).await,
                };
                let link_name = profile.map_or(lab_proto::contract::network::LOOPBACK, |p| {
                    if p == mobile {
                        mobile
                    } else {
                        lab_proto::contract::network::CUSTOM
                    }
                });
                let origin = server.origin_of(kind, link_name);
                let quic = (kind == ListenerKind::QuicH3)
                    .then(|| origin.trim_start_matches("https://").to_owned());
                let browser = setup
                    .start_with(Some(server.certificate.spki_pin()), quic.as_deref())
                    .await;
                let query = format!(
                    "http={}&protocol=both&workload=fetch&{settings}&compression=off&total={}&concurrency={concurrency}",
                    kind.name(),
                    2 * per_protocol
                );
                let cells = run_and_read(
                    &browser,
                    &format!("{origin}/?{query}"),
                    per_protocol,
                    &["p50", "p99", "wire-bytes"],
                    network,
                )
                .await;
                for protocol in PROTOCOLS {
                    let hop = browser
                        .text_of(&format!("[data-testid=summary-{protocol}-next-hop]"))
                        .await;
                    assert_eq!(hop, next_hop, "{network} over HTTP/{http}");
                }
                println!(
                    "| {network} | {http} | {workload} | {concurrency} | {} |",
                    cells.join(" | ")
                );
                browser.close().await;
            }
        }
    }
}
