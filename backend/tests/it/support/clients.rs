//! Real clients of the three transports, each returning plain prost values so tests
//! can compare them: native gRPC (HTTP/2 prior knowledge), gRPC-Web (tonic-web's
//! client layer over HTTP/1.1) and REST (reqwest + serde_json).

use std::net::SocketAddr;

use futures_util::StreamExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lab_proto::v1::lab_service_client::LabServiceClient;
use lab_proto::v1::{
    FetchRequest, PingRequest, Record, Shape, StreamRequest, StreamResponse, UploadRequest,
    UploadResponse,
};
use tonic_web::{GrpcWebCall, GrpcWebClientLayer, GrpcWebClientService};

pub type GrpcClient = LabServiceClient<Client<HttpConnector, tonic::body::Body>>;
pub type GrpcWebClient =
    LabServiceClient<GrpcWebClientService<Client<HttpConnector, GrpcWebCall<tonic::body::Body>>>>;

fn origin(addr: SocketAddr) -> http::Uri {
    format!("http://{addr}").parse().unwrap()
}

/// A plain-TCP connector with Nagle's algorithm off, as browsers and reqwest have it:
/// with it on, a request whose body leaves in a second write waits for the server's
/// delayed ACK (~40 ms on Linux).
fn connector() -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector
}

/// Native gRPC over h2c.
pub fn grpc(addr: SocketAddr) -> GrpcClient {
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(connector());
    LabServiceClient::with_origin(client, origin(addr))
}

/// gRPC-Web (binary) over HTTP/1.1.
pub fn grpc_web(addr: SocketAddr) -> GrpcWebClient {
    let client = Client::builder(TokioExecutor::new()).build(connector());
    let service = tower::ServiceBuilder::new()
        .layer(GrpcWebClientLayer::new())
        .service(client);
    LabServiceClient::with_origin(service, origin(addr))
}

/// The three transports, for tests that run the same call over each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    GrpcWeb,
    Rest,
}

pub const TRANSPORTS: [Transport; 3] = [Transport::Grpc, Transport::GrpcWeb, Transport::Rest];

/// A REST error as the backend sends it.
#[derive(Debug, serde::Deserialize)]
pub struct RestError {
    pub error: String,
    pub detail: String,
}

/// What any transport answered when it did not succeed.
#[derive(Debug)]
pub enum CallError {
    Grpc(tonic::Status),
    Rest(reqwest::StatusCode, RestError),
}

impl From<tonic::Status> for CallError {
    fn from(status: tonic::Status) -> Self {
        CallError::Grpc(status)
    }
}

async fn rest_answer<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, CallError> {
    let status = response.status();
    let body = response.bytes().await.expect("read REST body");
    if status.is_success() {
        Ok(serde_json::from_slice(&body).expect("REST answered valid JSON"))
    } else {
        Err(CallError::Rest(
            status,
            serde_json::from_slice(&body).expect("REST errors are JSON"),
        ))
    }
}

fn records_query(shape: Shape, count: u32, seed: u64) -> String {
    format!("shape={}&count={count}&seed={seed}", shape.key())
}

impl Transport {
    pub async fn ping(self, addr: SocketAddr) -> Result<(), CallError> {
        match self {
            Transport::Grpc => grpc(addr).ping(PingRequest {}).await.map(drop)?,
            Transport::GrpcWeb => grpc_web(addr).ping(PingRequest {}).await.map(drop)?,
            Transport::Rest => {
                let response = reqwest::get(format!("http://{addr}/api/v1/ping"))
                    .await
                    .unwrap();
                rest_answer::<serde_json::Value>(response).await.map(drop)?;
            }
        }
        Ok(())
    }

    pub async fn fetch(
        self,
        addr: SocketAddr,
        shape: Shape,
        count: u32,
        seed: u64,
    ) -> Result<Vec<Record>, CallError> {
        let request = FetchRequest {
            shape: shape.into(),
            count,
            seed,
        };
        Ok(match self {
            Transport::Grpc => grpc(addr).fetch(request).await?.into_inner().records,
            Transport::GrpcWeb => grpc_web(addr).fetch(request).await?.into_inner().records,
            Transport::Rest => {
                let url = format!(
                    "http://{addr}/api/v1/records?{}",
                    records_query(shape, count, seed)
                );
                let response = reqwest::get(url).await.unwrap();
                rest_answer::<lab_proto::v1::FetchResponse>(response)
                    .await?
                    .records
            }
        })
    }

    pub async fn upload(
        self,
        addr: SocketAddr,
        records: Vec<Record>,
    ) -> Result<UploadResponse, CallError> {
        let request = UploadRequest { records };
        Ok(match self {
            Transport::Grpc => grpc(addr).upload(request).await?.into_inner(),
            Transport::GrpcWeb => grpc_web(addr).upload(request).await?.into_inner(),
            Transport::Rest => {
                let response = reqwest::Client::new()
                    .post(format!("http://{addr}/api/v1/uploads"))
                    .json(&request)
                    .send()
                    .await
                    .unwrap();
                rest_answer(response).await?
            }
        })
    }

    /// The whole stream, collected.
    pub async fn stream(
        self,
        addr: SocketAddr,
        shape: Shape,
        count: u32,
        seed: u64,
    ) -> Result<Vec<StreamResponse>, CallError> {
        let request = StreamRequest {
            shape: shape.into(),
            count,
            seed,
            interval_ms: 0,
        };
        let collect = |mut stream: tonic::Streaming<StreamResponse>| async move {
            let mut messages = Vec::new();
            while let Some(message) = stream.message().await? {
                messages.push(message);
            }
            Ok::<_, tonic::Status>(messages)
        };
        Ok(match self {
            Transport::Grpc => collect(grpc(addr).stream(request).await?.into_inner()).await?,
            Transport::GrpcWeb => {
                collect(grpc_web(addr).stream(request).await?.into_inner()).await?
            }
            Transport::Rest => {
                let url = format!(
                    "http://{addr}/api/v1/records/stream?{}",
                    records_query(shape, count, seed)
                );
                let response = reqwest::get(url).await.unwrap();
                if !response.status().is_success() {
                    return rest_answer(response).await;
                }
                sse_messages(response).await
            }
        })
    }
}

/// Parses an SSE body until its `end` event.
pub async fn sse_messages(response: reqwest::Response) -> Vec<StreamResponse> {
    use eventsource_stream::Eventsource;
    let mut events = response.bytes_stream().eventsource();
    let mut messages = Vec::new();
    while let Some(event) = events.next().await {
        let event = event.expect("well-formed SSE");
        if event.event == "end" {
            return messages;
        }
        messages.push(serde_json::from_str(&event.data).expect("SSE data is a StreamResponse"));
    }
    panic!("the SSE stream ended without its `end` event");
}

/// What a raw gRPC-Web call answered.
#[derive(Debug)]
pub struct GrpcWebAnswer {
    pub http_status: u16,
    /// From the headers (trailers-only answer) or the body's trailer frame.
    pub grpc_status: Option<String>,
    pub grpc_message: String,
    /// Payloads of the body's data frames.
    pub messages: Vec<Vec<u8>>,
}

/// A gRPC-Web data frame: flag 0, big-endian length, payload.
pub fn grpc_web_frame(payload: &[u8]) -> Vec<u8> {
    let mut framed = vec![0];
    framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

/// POSTs `body` as binary gRPC-Web to `method`, to send what no well-behaved client
/// would; parses the answer's frames. `Err` says what was malformed in the answer.
pub async fn grpc_web_raw(
    client: &reqwest::Client,
    addr: SocketAddr,
    method: &str,
    body: Vec<u8>,
) -> Result<GrpcWebAnswer, String> {
    let response = client
        .post(format!("http://{addr}/lab.v1.LabService/{method}"))
        .header("content-type", "application/grpc-web+proto")
        .body(body)
        .send()
        .await
        .map_err(|err| format!("request failed: {err}"))?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("<not text>").to_owned())
    };
    let mut answer = GrpcWebAnswer {
        http_status: response.status().as_u16(),
        grpc_status: header("grpc-status"),
        grpc_message: header("grpc-message").unwrap_or_default(),
        messages: Vec::new(),
    };
    let body = response
        .bytes()
        .await
        .map_err(|err| format!("body failed: {err}"))?;
    let mut rest = &body[..];
    while !rest.is_empty() {
        if rest.len() < 5 {
            return Err(format!("{} bytes after the last whole frame", rest.len()));
        }
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        let payload = rest
            .get(5..5 + len)
            .ok_or_else(|| format!("a frame of {len} bytes is cut short"))?;
        if rest[0] & 0x80 == 0 {
            answer.messages.push(payload.to_vec());
        } else {
            for line in String::from_utf8_lossy(payload).split("\r\n") {
                if let Some(value) = line.strip_prefix("grpc-status:") {
                    answer.grpc_status = Some(value.trim().to_owned());
                }
                if let Some(value) = line.strip_prefix("grpc-message:") {
                    answer.grpc_message = value.trim().to_owned();
                }
            }
        }
        rest = &rest[5 + len..];
    }
    Ok(answer)
}
