//! The TLS listeners with native clients: every workload agrees with the generator
//! over HTTP/1.1 and HTTP/2 behind TLS, ALPN offers what each listener promises, a
//! stock tonic channel trusts the certificate, and `/api/v1/status` counts each
//! listener's connections. (Bad certificate files and reuse across restarts: `cli.rs`;
//! idle, connection-cap and handshake limits: `limits.rs`.)

use std::sync::Arc;

use lab_backend::ListenerKind;
use lab_proto::contract::rest;
use lab_proto::dataset;
use lab_proto::v1::Shape;
use lab_proto::v1::lab_service_client::LabServiceClient;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::support::TestServer;
use crate::support::clients::{BROWSER_ALPN, CallError, Endpoint, TRANSPORTS, Transport};

/// The transports each TLS listener serves: native gRPC needs HTTP/2.
fn transports_of(kind: ListenerKind) -> Vec<Transport> {
    TRANSPORTS
        .into_iter()
        .filter(|&t| kind == ListenerKind::TlsH2 || t != Transport::Grpc)
        .collect()
}

const TLS_LISTENERS: [ListenerKind; 2] = [ListenerKind::TlsHttp1, ListenerKind::TlsH2];

/// A TLS handshake with `to` offering `alpn`: the protocol the server chose.
pub async fn handshake(to: &Endpoint, alpn: &[&[u8]]) -> std::io::Result<TlsStream<TcpStream>> {
    let connector = TlsConnector::from(Arc::new(to.tls_config(alpn)));
    let tcp = TcpStream::connect(to.addr).await?;
    let name = ServerName::IpAddress(to.addr.ip().into());
    connector.connect(name, tcp).await
}

fn negotiated(stream: &TlsStream<TcpStream>) -> Option<String> {
    stream
        .get_ref()
        .1
        .alpn_protocol()
        .map(|id| String::from_utf8_lossy(id).into_owned())
}

#[tokio::test]
async fn every_workload_agrees_with_the_generator_over_both_tls_listeners() {
    let server = TestServer::api().await;
    for kind in TLS_LISTENERS {
        let to = server.endpoint(kind);
        for transport in transports_of(kind) {
            let what = format!("{transport:?} on {}", kind.name());
            transport.ping(&to).await.unwrap();

            for (shape, count) in [
                (Shape::Telemetry, 1),
                (Shape::Log, 2_000),
                (Shape::Order, 137),
            ] {
                let records = transport.fetch(&to, shape, count, 7).await.unwrap();
                assert!(
                    records == dataset::generate(shape, 7, count as usize),
                    "{what}: fetch {shape:?} x{count} differs from the generator"
                );
            }

            let records = dataset::generate(Shape::Order, 3, 1_500);
            let answer = transport.upload(&to, records.clone()).await.unwrap();
            assert_eq!(
                (answer.count, answer.checksum),
                (1_500, lab_proto::checksum(&records)),
                "{what}: upload"
            );

            let messages = transport.stream(&to, Shape::Log, 40, 5).await.unwrap();
            let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
            assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "{what}: stream order");
            let records: Vec<_> = messages.into_iter().map(|m| m.record.unwrap()).collect();
            assert!(
                records == dataset::generate(Shape::Log, 5, 40),
                "{what}: stream differs"
            );
        }
    }
}

#[tokio::test]
async fn native_grpc_is_refused_by_the_http1_listener_for_lack_of_h2() {
    let server = TestServer::api().await;
    let to = server.endpoint(ListenerKind::TlsHttp1);
    let err = Transport::Grpc.ping(&to).await.unwrap_err();
    assert!(matches!(err, CallError::Grpc(_)), "{err:?}");
    // Refused at the handshake: the listener offers no protocol the client speaks.
    let refused = handshake(&to, &[b"h2"]).await.unwrap_err();
    assert!(
        refused.to_string().contains("NoApplicationProtocol"),
        "{refused}"
    );
}

#[tokio::test]
async fn alpn_settles_on_h2_only_where_it_is_offered() {
    let server = TestServer::api().await;
    let http1 = server.endpoint(ListenerKind::TlsHttp1);
    let h2 = server.endpoint(ListenerKind::TlsH2);
    // (listener, ALPN offered, ALPN negotiated)
    type Case<'a> = (&'a Endpoint, &'a [&'a [u8]], Option<&'a str>);
    let cases: [Case; 5] = [
        // What a browser offers.
        (&http1, &BROWSER_ALPN, Some("http/1.1")),
        (&h2, &BROWSER_ALPN, Some("h2")),
        (&h2, &[b"http/1.1"], Some("http/1.1")),
        // Clients that offer nothing get HTTP/1.1, as RFC 7301 has it.
        (&http1, &[], None),
        (&h2, &[], None),
    ];
    for (to, offered, expected) in cases {
        let stream = handshake(to, offered).await.unwrap();
        assert_eq!(
            negotiated(&stream).as_deref(),
            expected,
            "{} offered {offered:?}",
            to.url("")
        );
    }

    // And the HTTP version that answers is the negotiated one.
    for (to, version) in [
        (&http1, reqwest::Version::HTTP_11),
        (&h2, reqwest::Version::HTTP_2),
    ] {
        let response = to.http().get(to.url(rest::PING)).send().await.unwrap();
        assert_eq!(
            (response.status().as_u16(), response.version()),
            (200, version)
        );
        // Never HSTS: the lab's certificate is one a browser was told to accept once.
        assert!(
            response
                .headers()
                .get("strict-transport-security")
                .is_none(),
            "{:?}",
            response.headers()
        );
    }
}

#[tokio::test]
async fn a_stock_tonic_channel_trusts_the_certificate_by_name_and_refuses_without_it() {
    use tonic::transport::{Certificate, Channel, ClientTlsConfig};
    let server = TestServer::api().await;
    let url = format!("https://{}", server.tls_h2_addr);
    // `localhost`, the certificate's DNS name (the other clients check its IP name).
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(server.certificate.cert_pem()))
        .domain_name("localhost");
    let channel = Channel::from_shared(url.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = LabServiceClient::new(channel);
    client.ping(lab_proto::v1::PingRequest {}).await.unwrap();
    let fetched = client
        .fetch(lab_proto::v1::FetchRequest {
            shape: Shape::Telemetry.into(),
            count: 25,
            seed: 2,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(fetched.records == dataset::generate(Shape::Telemetry, 2, 25));

    // Without the certificate among its roots, the channel does not connect.
    let untrusting = Channel::from_shared(url)
        .unwrap()
        .tls_config(ClientTlsConfig::new().domain_name("localhost"))
        .unwrap()
        .connect()
        .await;
    assert!(
        untrusting.is_err(),
        "connected without trusting the certificate"
    );
}

#[tokio::test]
async fn status_counts_the_connections_of_each_listener() {
    let server = TestServer::api().await;
    let before = server.status().await.listeners;
    let names: Vec<&str> = before.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["plain", "tls-http1", "tls-h2", "quic-h3"]);
    let urls: Vec<String> = before.iter().map(|l| l.url.clone()).collect();
    assert_eq!(
        urls,
        [
            format!("http://{}", server.addr),
            format!("https://{}", server.tls_http1_addr),
            format!("https://{}", server.tls_h2_addr),
            format!("https://{}", server.h3_addr),
        ]
    );
    let alpn: Vec<Vec<String>> = before.iter().map(|l| l.alpn.clone()).collect();
    assert_eq!(
        alpn,
        [
            vec!["http/1.1".to_owned(), "h2c".to_owned()],
            vec!["http/1.1".to_owned()],
            vec!["h2".to_owned(), "http/1.1".to_owned()],
            vec!["h3".to_owned()],
        ]
    );
    for listener in &before[1..] {
        assert_eq!(
            (listener.connections_accepted, listener.connections_open),
            (0, 0),
            "{listener:?}"
        );
    }

    // HTTP/2: ten calls on one client share one connection.
    let h2 = server.endpoint(ListenerKind::TlsH2);
    let mut grpc = crate::support::clients::grpc(&h2);
    for _ in 0..10 {
        grpc.ping(lab_proto::v1::PingRequest {}).await.unwrap();
    }
    // HTTP/1.1: three clients, three connections.
    let http1 = server.endpoint(ListenerKind::TlsHttp1);
    let clients: Vec<reqwest::Client> = (0..3).map(|_| http1.http()).collect();
    for client in &clients {
        let response = client.get(http1.url(rest::PING)).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }

    let h2_status = server.listener_status(ListenerKind::TlsH2).await;
    assert_eq!(
        (h2_status.connections_accepted, h2_status.connections_open),
        (1, 1)
    );
    let http1_status = server.listener_status(ListenerKind::TlsHttp1).await;
    assert_eq!(
        (
            http1_status.connections_accepted,
            http1_status.connections_open
        ),
        (3, 3)
    );
    assert_eq!(http1_status.connections_refused, 0);

    // Closed connections leave the open count (the server notices the hang-up).
    drop((grpc, clients));
    let open = server
        .wait_until_no_open_connections(&TLS_LISTENERS, &server.endpoint(ListenerKind::Plain))
        .await;
    assert_eq!(
        open, 0,
        "TLS connections still open after their clients left"
    );
}
