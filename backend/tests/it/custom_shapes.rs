//! Custom shapes (issue 22) over real sockets: registered from a sample or a .proto,
//! then fetched, uploaded and streamed over native gRPC, gRPC-Web and REST. The
//! protobuf is what a prost-generated type of the same schema encodes (the built-in
//! `Order`, registered as a custom shape, is the reference); the REST JSON is
//! prost-reflect's canonical JSON of the same records, decoded here with the test's own
//! compile of the schema; bad input is refused with its reason and the server goes on.

use lab_proto::contract::custom::{self, ShapeInfo, ShapeInput};
use lab_proto::contract::{grpc as methods, rest};
use lab_proto::v1::{FetchCustomRequest, Order, Shape, StreamCustomRequest, UploadCustomRequest};
use lab_proto::{RecordDigest, dataset};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use serde_json::Value as Json;

use crate::support::TestServer;
use crate::support::clients::{Endpoint, grpc, grpc_web};

/// What a service generated from `repeated Order records = 1` would send.
#[derive(Clone, PartialEq, prost::Message)]
struct Orders {
    #[prost(message, repeated, tag = "1")]
    records: Vec<Order>,
}

/// The contract's .proto, pasted as a person would paste theirs.
fn lab_proto_source() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../proto/proto/lab/v1/lab.proto"
    );
    std::fs::read_to_string(path).expect("the contract's .proto")
}

/// The test's own compile of the contract: `lab.v1.Order` by reflection.
fn order_descriptor() -> MessageDescriptor {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto/proto");
    let fds = protox::compile(["lab/v1/lab.proto"], [dir]).unwrap();
    DescriptorPool::from_file_descriptor_set(fds)
        .unwrap()
        .get_message_by_name("lab.v1.Order")
        .unwrap()
}

async fn register(server: &TestServer, input: &ShapeInput) -> Result<ShapeInfo, (u16, Json)> {
    let response = reqwest::Client::new()
        .post(format!("http://{}{}", server.addr, rest::SHAPES))
        .json(input)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Json = response.json().await.unwrap();
    if status == 201 {
        Ok(serde_json::from_value(body).unwrap())
    } else {
        Err((status, body))
    }
}

async fn register_order(server: &TestServer) -> ShapeInfo {
    register(
        server,
        &ShapeInput {
            proto: Some(lab_proto_source()),
            message: Some("Order".to_owned()),
            sample: None,
        },
    )
    .await
    .unwrap()
}

fn fetch_request(info: &ShapeInfo, count: u32, seed: u64) -> FetchCustomRequest {
    FetchCustomRequest {
        shape_id: info.id.clone(),
        count,
        seed,
    }
}

async fn rest_get(server: &TestServer, path: &str) -> (u16, bytes::Bytes) {
    let response = reqwest::get(format!("http://{}{path}", server.addr))
        .await
        .unwrap();
    (response.status().as_u16(), response.bytes().await.unwrap())
}

#[tokio::test]
async fn order_as_a_custom_shape_is_sent_as_a_generated_service_sends_it() {
    let server = TestServer::api().await;
    let info = register_order(&server).await;
    assert_eq!(info.message, "lab.v1.Order");
    let to = Endpoint::from(server.addr);
    let native = grpc(&to)
        .fetch_custom(fetch_request(&info, 300, 9))
        .await
        .unwrap()
        .into_inner();
    let web = grpc_web(&to)
        .fetch_custom(fetch_request(&info, 300, 9))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        native, web,
        "native gRPC and gRPC-Web carry the same records"
    );
    assert_eq!(native.records.len(), 300);
    // Each record is the bytes prost's generated `Order` encodes, and the whole body is
    // what `repeated Order records = 1` is on the wire.
    let body = native.encode_to_vec();
    let orders = Orders::decode(body.as_slice()).unwrap();
    assert_eq!(orders.encode_to_vec(), body);
    for (bytes, order) in native.records.iter().zip(&orders.records) {
        assert_eq!(&order.encode_to_vec(), bytes);
    }
    assert!(
        orders
            .records
            .iter()
            .any(|o| !o.items.is_empty() && o.shipping.is_some()),
        "nested messages and repeated ones are generated"
    );

    // REST: the canonical JSON of the same records, by the test's own reflection.
    let order = order_descriptor();
    let expected: Vec<Json> = native
        .records
        .iter()
        .map(|bytes| {
            serde_json::to_value(DynamicMessage::decode(order.clone(), bytes.as_slice()).unwrap())
                .unwrap()
        })
        .collect();
    let key = custom::key(&info.id);
    let (status, body) = rest_get(
        &server,
        &format!("{}?shape={key}&count=300&seed=9", rest::RECORDS),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let json: Json = serde_json::from_slice(&body).unwrap();
    assert_eq!(json, serde_json::json!({ "records": expected }));
    // 64-bit integers are strings in the canonical mapping (the built-in shapes' JSON
    // has them as numbers).
    assert!(
        json["records"][0]["id"].is_string(),
        "{}",
        json["records"][0]
    );
}

#[tokio::test]
async fn the_built_in_orders_uploaded_as_a_custom_shape_keep_their_bytes() {
    let server = TestServer::api().await;
    let info = register_order(&server).await;
    let orders: Vec<Order> = dataset::generate(Shape::Order, 5, 60)
        .into_iter()
        .filter_map(|r| r.order)
        .collect();
    let mut digest = RecordDigest::default();
    orders.iter().for_each(|o| digest.add_message(o));
    let expected = digest.finish();
    let to = Endpoint::from(server.addr);
    let request = || {
        let mut request = tonic::Request::new(UploadCustomRequest {
            records: orders.iter().map(Message::encode_to_vec).collect(),
        });
        request
            .metadata_mut()
            .insert(methods::SHAPE_METADATA, info.id.parse().unwrap());
        request
    };
    for answer in [
        grpc(&to)
            .upload_custom(request())
            .await
            .unwrap()
            .into_inner(),
        grpc_web(&to)
            .upload_custom(request())
            .await
            .unwrap()
            .into_inner(),
    ] {
        assert_eq!((answer.count, answer.checksum), (60, expected));
    }
    // REST: the same records as canonical JSON.
    let order = order_descriptor();
    let records: Vec<Json> = orders
        .iter()
        .map(|o| {
            serde_json::to_value(
                DynamicMessage::decode(order.clone(), o.encode_to_vec().as_slice()).unwrap(),
            )
            .unwrap()
        })
        .collect();
    let answer: Json = reqwest::Client::new()
        .post(format!(
            "http://{}{}?shape={}",
            server.addr,
            rest::UPLOADS,
            custom::key(&info.id)
        ))
        .json(&serde_json::json!({ "records": records }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["count"], 60, "{answer}");
    assert_eq!(answer["checksum"], expected, "{answer}");

    // Without the metadata, the gRPC upload says what is missing.
    let status = grpc(&to)
        .upload_custom(UploadCustomRequest { records: vec![] })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains(methods::SHAPE_METADATA),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_pasted_samples_records_stream_alike_over_grpc_and_sse() {
    let server = TestServer::api().await;
    let sample = r#"[{"sku": "A-1", "qty": 3, "price": 12.5, "tags": ["new"], "dims": {"w": 2, "h": 3}},
                     {"sku": "B-22", "qty": 1, "price": 3.25, "tags": [], "dims": {"w": 5, "h": 1}}]"#;
    let info = register(
        &server,
        &ShapeInput {
            sample: Some(sample.to_owned()),
            ..ShapeInput::default()
        },
    )
    .await
    .unwrap();
    assert!(
        info.proto.contains("repeated string tags"),
        "{}",
        info.proto
    );
    assert!(info.sample_json_bytes_per_record.unwrap() > 50.0);
    let to = Endpoint::from(server.addr);
    let mut stream = grpc(&to)
        .stream_custom(StreamCustomRequest {
            shape_id: info.id.clone(),
            count: 40,
            seed: 3,
            interval_ms: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut grpc_records = Vec::new();
    while let Some(message) = stream.message().await.unwrap() {
        assert_eq!(message.seq, grpc_records.len() as u64 + 1);
        grpc_records.push(message.record.unwrap());
    }
    // The descriptors the page's worker reads are the ones the backend uses.
    let (status, descriptors) =
        rest_get(&server, &format!("{}/{}/descriptor", rest::SHAPES, info.id)).await;
    assert_eq!(status, 200);
    let envelope = lab_proto::custom_envelope::Envelope::from_descriptor_set(&descriptors).unwrap();
    let record = envelope.record();
    assert_eq!(record.full_name(), info.message);

    let url = format!(
        "http://{}{}?shape={}&count=40&seed=3&intervalMs=0",
        server.addr,
        rest::RECORDS_STREAM,
        custom::key(&info.id)
    );
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    let mut events = response.bytes_stream().eventsource();
    let mut seen = 0;
    while let Some(event) = events.next().await {
        let event = event.unwrap();
        if event.event == rest::END_EVENT {
            break;
        }
        let item: Json = serde_json::from_str(&event.data).unwrap();
        let expected = serde_json::to_value(
            DynamicMessage::decode(record.clone(), grpc_records[seen].as_slice()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            item,
            serde_json::json!({ "seq": (seen + 1).to_string(), "record": expected })
        );
        seen += 1;
    }
    assert_eq!(seen, 40);
    assert_eq!(server.status().await.live_streams, 0);
}

#[tokio::test]
async fn bad_shapes_and_unknown_ones_are_refused_precisely_and_the_server_goes_on() {
    let server = TestServer::api().await;
    let refused = |input: ShapeInput| {
        let server = &server;
        async move { register(server, &input).await.unwrap_err() }
    };
    let sample = |text: &str| ShapeInput {
        sample: Some(text.to_owned()),
        ..ShapeInput::default()
    };
    let (status, body) = refused(sample("{\"a\": 1,\n \"b\": }")).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"].as_str().unwrap().contains("line 2"),
        "{body}"
    );
    let (_, body) = refused(sample(&format!("{{\"s\": \"{}\"}}", "x".repeat(70_000)))).await;
    assert!(
        body["detail"].as_str().unwrap().contains("limit is 65536"),
        "{body}"
    );
    let (_, body) = refused(sample(r#"[{"v": 1}, {"v": "one"}]"#)).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("one type per field"),
        "{body}"
    );
    let (_, body) = refused(ShapeInput {
        proto: Some("syntax = \"proto3\";\nmessage A {\n  strin b = 1;\n}\n".to_owned()),
        message: Some("A".to_owned()),
        sample: None,
    })
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("custom.proto:3:"),
        "{body}"
    );
    let (_, body) = refused(ShapeInput {
        proto: Some("syntax = \"proto3\";\nmessage A { string b = 1; }\n".to_owned()),
        message: Some("B".to_owned()),
        sample: None,
    })
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("it has: A"),
        "{body}"
    );
    let (_, body) = refused(ShapeInput {
        proto: Some("syntax = \"proto3\";\nimport \"secret.proto\";\nmessage A {}\n".to_owned()),
        message: Some("A".to_owned()),
        sample: None,
    })
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("well-known"),
        "{body}"
    );

    // A shape the backend does not have: 404 and NOT_FOUND, with what to do.
    let (status, body) = rest_get(
        &server,
        &format!(
            "{}?shape={}&count=1",
            rest::RECORDS,
            custom::key("0123456789abcdef")
        ),
    )
    .await;
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("unknown_shape"));
    let status = grpc(Endpoint::from(server.addr))
        .fetch_custom(FetchCustomRequest {
            shape_id: "0123456789abcdef".into(),
            count: 1,
            seed: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert!(status.message().contains("Register it again"), "{status:?}");

    // A count whose records would pass the message limit: the largest that fits.
    let big = register(
        &server,
        &sample(&format!("{{\"blob\": \"{}\"}}", "y".repeat(60_000))),
    )
    .await
    .unwrap();
    assert!(big.max_count < 1_200, "{big:?}");
    let status = grpc(Endpoint::from(server.addr))
        .fetch_custom(FetchCustomRequest {
            shape_id: big.id.clone(),
            count: 5_000,
            seed: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let fits: usize = status
        .message()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1_000..1_200).contains(&fits), "{status:?}");
    let (status, body) = rest_get(
        &server,
        &format!(
            "{}?shape={}&count=5000&seed=1",
            rest::RECORDS,
            custom::key(&big.id)
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("largest count that fits"));

    // Still serving, and every shape route was counted under its path.
    assert!(
        crate::support::clients::Transport::Rest
            .ping(server.addr)
            .await
            .is_ok()
    );
    let status = server.status().await;
    assert_eq!(status.requests[rest::SHAPES], 7, "{:?}", status.requests);
    assert!(status.requests[methods::FETCH_CUSTOM] >= 2);
}

/// Every TCP listener serves the shape alike (TLS offering HTTP/1.1 only, and HTTP/2),
/// and another site's page cannot register one (it is a write: refused by origin).
#[tokio::test]
async fn every_listener_serves_a_shape_and_other_sites_cannot_register_one() {
    let server = TestServer::api().await;
    let info = register_order(&server).await;
    let plain = grpc(Endpoint::from(server.addr))
        .fetch_custom(fetch_request(&info, 20, 2))
        .await
        .unwrap()
        .into_inner();
    for addr in [server.tls_http1_addr, server.tls_h2_addr] {
        let to = Endpoint::tls(addr, &server.certificate);
        let web = grpc_web(&to)
            .fetch_custom(fetch_request(&info, 20, 2))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(web, plain, "gRPC-Web over {addr}");
        let url = to.url(&rest::keyed_records_url(
            rest::RECORDS,
            &custom::key(&info.id),
            20,
            2,
        ));
        let response = to.http().get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "REST over {addr}");
    }
    let native_h2 = grpc(Endpoint::tls(server.tls_h2_addr, &server.certificate))
        .fetch_custom(fetch_request(&info, 20, 2))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(native_h2, plain);

    let refused = reqwest::Client::new()
        .post(format!("http://{}{}", server.addr, rest::SHAPES))
        .header("origin", "https://evil.example")
        .json(&ShapeInput {
            sample: Some("{\"a\": 1}".to_owned()),
            ..ShapeInput::default()
        })
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(server.state.shapes.len(), 1, "only the Order shape is kept");
}
