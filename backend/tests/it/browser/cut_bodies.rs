//! A response reads the same however the network cuts it: the lab served through a
//! pass-through proxy that delivers bodies in pieces (see
//! [`crate::support::cutting_proxy`]), fetch and stream runs under "Both" end without
//! errors and with the generator's records, as an uncut run does.

use lab_proto::v1::Shape;

use super::{PROTOCOLS, checksum_of, open_lab};
use crate::support::browser::BrowserKind;
use crate::support::cutting_proxy::{Cut, CuttingProxy};

/// Requests per run, half per protocol.
const TOTAL: u32 = 8;

/// Runs fetch and stream under "Both" through a proxy cutting as `cut` says and
/// checks both protocols' results; returns the proxy for what it counted.
async fn runs_through(kind: BrowserKind, cut: Cut) -> Option<CuttingProxy> {
    let (server, browser) = open_lab(kind).await?;
    let proxy = CuttingProxy::start(server.addr, cut).await;
    let (shape, count, seed) = (Shape::Order, 12, 26);
    for (workload, extra) in [("fetch", ""), ("stream", "&interval=2")] {
        let query = format!(
            "protocol=both&workload={workload}&shape={}&count={count}&seed={seed}\
             &total={TOTAL}&concurrency=2&compression=off{extra}",
            shape.key()
        );
        browser
            .run_lab_within(
                &proxy.url(&format!("/?{query}")),
                std::time::Duration::from_secs(60),
            )
            .await;
        for protocol in PROTOCOLS {
            let what = format!("{workload} through {cut:?}");
            browser
                .assert_succeeded(protocol, f64::from(TOTAL / 2), &what)
                .await;
            let checksum = browser
                .text_of(&format!("[data-testid=summary-{protocol}-checksum]"))
                .await;
            assert_eq!(
                checksum,
                checksum_of(shape, seed, count as usize),
                "{}: {what}: {protocol} read other records",
                kind.name()
            );
        }
    }
    browser.close().await;
    Some(proxy)
}

/// Every gRPC-Web body cut right after its trailer frame's flag byte (what failed
/// every call before the client's frame decoder waited for the whole trailer frame).
pub async fn cut_after_the_trailer_flag(kind: BrowserKind) {
    let Some(proxy) = runs_through(kind, Cut::AfterTrailerFlag).await else {
        return;
    };
    // Both runs' gRPC-Web calls, each cut where it used to fail.
    assert!(
        proxy.cut_in_trailers() >= u64::from(TOTAL),
        "{}: only {} bodies were cut inside their trailer frame",
        kind.name(),
        proxy.cut_in_trailers()
    );
}

/// Every body, the page's own files included, cut at random places.
pub async fn cut_at_random_places(kind: BrowserKind) {
    let Some(proxy) = runs_through(kind, Cut::Random { seed: 2026 }).await else {
        return;
    };
    // Random cuts leave some bodies whole; most of the runs' gRPC-Web ones are cut.
    assert!(
        proxy.cut_grpc_web() >= u64::from(TOTAL / 2),
        "{}: only {} gRPC-Web bodies were cut",
        kind.name(),
        proxy.cut_grpc_web()
    );
}
