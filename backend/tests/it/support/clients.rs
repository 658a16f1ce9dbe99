//! Real clients of the four transports, each returning plain prost values so tests can
//! compare them: native gRPC (HTTP/2: h2c, or h2 over TLS), gRPC-Web binary
//! (tonic-web's client layer over hyper), gRPC-Web text (base64 bodies, sent by hand as
//! tonic's own web tests do: no Rust client speaks it) and REST (reqwest + serde_json).
//! Each talks to an [`Endpoint`]: a plain listener's address, or a TLS listener's with
//! the certificate to trust.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::StreamExt;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lab_backend::certificate::{self, Certificate};
use lab_proto::contract::rest::ErrorBody;
use lab_proto::contract::{grpc as methods, rest};
use lab_proto::v1::lab_service_client::LabServiceClient;
use lab_proto::v1::{
    FetchRequest, FetchResponse, PingRequest, PingResponse, Record, Shape, StreamRequest,
    StreamResponse, UploadRequest, UploadResponse,
};
use prost::Message;
use rustls::RootCertStore;
use tonic_web::{GrpcWebCall, GrpcWebClientLayer, GrpcWebClientService};

pub type Connector = HttpsConnector<HttpConnector>;
pub type GrpcClient = LabServiceClient<Client<Connector, tonic::body::Body>>;
pub type GrpcWebClient =
    LabServiceClient<GrpcWebClientService<Client<Connector, GrpcWebCall<tonic::body::Body>>>>;

/// What a client offers in ALPN, as a browser does: `h2` first, then `http/1.1`.
pub const BROWSER_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Where a client connects: a listener's address and, for a TLS listener, the
/// certificate it trusts (checked by name, `127.0.0.1`, as a browser checks it).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    roots: Option<Arc<RootCertStore>>,
}

impl From<SocketAddr> for Endpoint {
    fn from(addr: SocketAddr) -> Self {
        Self { addr, roots: None }
    }
}

impl From<&Endpoint> for Endpoint {
    fn from(endpoint: &Endpoint) -> Self {
        endpoint.clone()
    }
}

impl Endpoint {
    /// A TLS listener on `addr` presenting `certificate`, trusted as the only root.
    pub fn tls(addr: SocketAddr, certificate: &Certificate) -> Self {
        let mut roots = RootCertStore::empty();
        roots.add(certificate.chain()[0].clone()).unwrap();
        Self {
            addr,
            roots: Some(Arc::new(roots)),
        }
    }

    pub fn is_tls(&self) -> bool {
        self.roots.is_some()
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    fn origin(&self) -> http::Uri {
        self.url("").parse().unwrap()
    }

    /// A client TLS configuration (ring) trusting the endpoint's certificate (none
    /// for a plain endpoint) and offering `alpn`.
    pub fn tls_config(&self, alpn: &[&[u8]]) -> rustls::ClientConfig {
        let roots = self
            .roots
            .as_deref()
            .cloned()
            .unwrap_or_else(RootCertStore::empty);
        let mut config = rustls::ClientConfig::builder_with_provider(certificate::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|id| id.to_vec()).collect();
        config
    }

    /// A connector for hyper: plain TCP, or TLS offering `h2` only (`http2`) or
    /// `h2` and `http/1.1` as a browser does.
    fn connector(&self, http2_only: bool) -> Connector {
        let builder = HttpsConnectorBuilder::new()
            .with_tls_config(self.tls_config(&[]))
            .https_or_http();
        if http2_only {
            builder.enable_http2().wrap_connector(tcp_connector())
        } else {
            builder
                .enable_all_versions()
                .wrap_connector(tcp_connector())
        }
    }

    /// A reqwest client for this endpoint: HTTP/1.1 in the clear; over TLS, whatever
    /// ALPN settles of `h2` and `http/1.1`.
    pub fn http(&self) -> reqwest::Client {
        if !self.is_tls() {
            return reqwest::Client::new();
        }
        reqwest::Client::builder()
            .use_preconfigured_tls(self.tls_config(&BROWSER_ALPN))
            .build()
            .unwrap()
    }
}

/// A plain-TCP connector with Nagle's algorithm off, as browsers and reqwest have it:
/// with it on, a request whose body leaves in a second write waits for the server's
/// delayed ACK (~40 ms on Linux).
fn tcp_connector() -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    // The TLS layer above handles `https`.
    connector.enforce_http(false);
    connector
}

/// Native gRPC over HTTP/2: h2c by prior knowledge, or h2 over TLS.
pub fn grpc(to: impl Into<Endpoint>) -> GrpcClient {
    let to: Endpoint = to.into();
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(to.connector(true));
    LabServiceClient::with_origin(client, to.origin())
}

/// gRPC-Web (binary): HTTP/1.1 in the clear; over TLS, the version ALPN settles.
pub fn grpc_web(to: impl Into<Endpoint>) -> GrpcWebClient {
    let to: Endpoint = to.into();
    let client = Client::builder(TokioExecutor::new()).build(to.connector(false));
    let service = tower::ServiceBuilder::new()
        .layer(GrpcWebClientLayer::new())
        .service(client);
    LabServiceClient::with_origin(service, to.origin())
}

/// The transports, for tests that run the same call over each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    GrpcWeb,
    /// gRPC-Web's text mode (`application/grpc-web-text`).
    GrpcWebText,
    Rest,
}

pub const TRANSPORTS: [Transport; 4] = [
    Transport::Grpc,
    Transport::GrpcWeb,
    Transport::GrpcWebText,
    Transport::Rest,
];

/// What any transport answered when it did not succeed.
#[derive(Debug)]
pub enum CallError {
    Grpc(tonic::Status),
    Rest(reqwest::StatusCode, ErrorBody),
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

/// One text-mode call of `method` (a contract method path): every message it answered.
async fn text_call<R: Message + Default>(
    to: &Endpoint,
    method: &str,
    request: &impl Message,
) -> Result<Vec<R>, tonic::Status> {
    let body = grpc_web_frame(&request.encode_to_vec());
    let answer = grpc_web_raw(&to.http(), to, method, GrpcWebMode::Text, body)
        .await
        .unwrap_or_else(|err| panic!("{method}: malformed text-mode answer: {err}"));
    assert_eq!(answer.http_status, 200, "{method}: {answer:?}");
    // `application/grpc-web-text+proto`.
    assert!(
        answer
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with(GrpcWebMode::Text.content_type())),
        "{method}: answered in another mode: {answer:?}"
    );
    let status = answer
        .status()
        .expect("a text-mode answer has a grpc-status");
    if status.code() != tonic::Code::Ok {
        return Err(status);
    }
    Ok(answer
        .messages
        .iter()
        .map(|payload| R::decode(payload.as_slice()).expect("a well-formed message"))
        .collect())
}

/// A unary text-mode call: its one answer.
async fn text_unary<R: Message + Default>(
    to: &Endpoint,
    method: &str,
    request: &impl Message,
) -> Result<R, tonic::Status> {
    let mut messages = text_call(to, method, request).await?;
    assert_eq!(
        messages.len(),
        1,
        "{method} answered {} messages",
        messages.len()
    );
    Ok(messages.remove(0))
}

impl Transport {
    pub async fn ping(self, to: impl Into<Endpoint>) -> Result<(), CallError> {
        let to: &Endpoint = &to.into();
        match self {
            Transport::Grpc => grpc(to).ping(PingRequest {}).await.map(drop)?,
            Transport::GrpcWeb => grpc_web(to).ping(PingRequest {}).await.map(drop)?,
            Transport::GrpcWebText => {
                text_unary::<PingResponse>(to, methods::PING, &PingRequest {})
                    .await
                    .map(drop)?;
            }
            Transport::Rest => {
                let response = to.http().get(to.url(rest::PING)).send().await.unwrap();
                rest_answer::<serde_json::Value>(response).await.map(drop)?;
            }
        }
        Ok(())
    }

    pub async fn fetch(
        self,
        to: impl Into<Endpoint>,
        shape: Shape,
        count: u32,
        seed: u64,
    ) -> Result<Vec<Record>, CallError> {
        let to: &Endpoint = &to.into();
        let request = FetchRequest {
            shape: shape.into(),
            count,
            seed,
        };
        Ok(match self {
            Transport::Grpc => grpc(to).fetch(request).await?.into_inner().records,
            Transport::GrpcWeb => grpc_web(to).fetch(request).await?.into_inner().records,
            Transport::GrpcWebText => {
                text_unary::<FetchResponse>(to, methods::FETCH, &request)
                    .await?
                    .records
            }
            Transport::Rest => {
                let url = to.url(&rest::records_url(rest::RECORDS, shape, count, seed));
                let response = to.http().get(url).send().await.unwrap();
                rest_answer::<FetchResponse>(response).await?.records
            }
        })
    }

    pub async fn upload(
        self,
        to: impl Into<Endpoint>,
        records: Vec<Record>,
    ) -> Result<UploadResponse, CallError> {
        let to: &Endpoint = &to.into();
        let request = UploadRequest { records };
        Ok(match self {
            Transport::Grpc => grpc(to).upload(request).await?.into_inner(),
            Transport::GrpcWeb => grpc_web(to).upload(request).await?.into_inner(),
            Transport::GrpcWebText => text_unary(to, methods::UPLOAD, &request).await?,
            Transport::Rest => {
                let response = to
                    .http()
                    .post(to.url(rest::UPLOADS))
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
        to: impl Into<Endpoint>,
        shape: Shape,
        count: u32,
        seed: u64,
    ) -> Result<Vec<StreamResponse>, CallError> {
        let to: &Endpoint = &to.into();
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
            Transport::Grpc => collect(grpc(to).stream(request).await?.into_inner()).await?,
            Transport::GrpcWeb => collect(grpc_web(to).stream(request).await?.into_inner()).await?,
            Transport::GrpcWebText => text_call(to, methods::STREAM, &request).await?,
            Transport::Rest => {
                let url = to.url(&rest::stream_url(shape, count, seed, 0));
                let response = to.http().get(url).send().await.unwrap();
                if !response.status().is_success() {
                    return rest_answer(response).await;
                }
                sse_messages(response).await
            }
        })
    }
}

/// Parses an SSE body until its end event.
pub async fn sse_messages(response: reqwest::Response) -> Vec<StreamResponse> {
    sse_messages_of(response.bytes_stream()).await
}

/// Parses an SSE body, as it arrives in `chunks`, until its end event.
pub async fn sse_messages_of<E: std::error::Error>(
    chunks: impl futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
) -> Vec<StreamResponse> {
    use eventsource_stream::Eventsource;
    let mut events = chunks.eventsource();
    let mut messages = Vec::new();
    while let Some(event) = events.next().await {
        let event = event.expect("well-formed SSE");
        if event.event == rest::END_EVENT {
            return messages;
        }
        messages.push(serde_json::from_str(&event.data).expect("SSE data is a StreamResponse"));
    }
    panic!("the SSE stream ended without its end event");
}

/// gRPC-Web's two body encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrpcWebMode {
    /// Frames as they are (`application/grpc-web+proto`).
    Binary,
    /// Frames in base64 (`application/grpc-web-text`), for clients that cannot read
    /// binary response bodies as they arrive.
    Text,
}

impl GrpcWebMode {
    pub fn content_type(self) -> &'static str {
        match self {
            GrpcWebMode::Binary => "application/grpc-web+proto",
            GrpcWebMode::Text => "application/grpc-web-text",
        }
    }
}

/// What a raw gRPC-Web call answered.
#[derive(Debug)]
pub struct GrpcWebAnswer {
    pub http_status: u16,
    pub content_type: Option<String>,
    /// The headers of a trailers-only answer, or the body's trailer frame.
    pub trailers: http::HeaderMap,
    /// Payloads of the body's data frames.
    pub messages: Vec<Vec<u8>>,
}

impl GrpcWebAnswer {
    /// The gRPC status the answer carries, if any.
    pub fn status(&self) -> Option<tonic::Status> {
        tonic::Status::from_header_map(&self.trailers)
    }
}

/// A gRPC-Web data frame: flag 0, big-endian length, payload.
pub fn grpc_web_frame(payload: &[u8]) -> Vec<u8> {
    let mut framed = vec![0];
    framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

/// POSTs `body` (frames, base64-encoded here in text mode) as gRPC-Web to `method` (a
/// method path), also to send what no well-behaved client would; parses the answer's
/// frames. `Err` says what was malformed in the answer.
pub async fn grpc_web_raw(
    client: &reqwest::Client,
    to: impl Into<Endpoint>,
    method: &str,
    mode: GrpcWebMode,
    body: Vec<u8>,
) -> Result<GrpcWebAnswer, String> {
    let body = match mode {
        GrpcWebMode::Binary => body,
        GrpcWebMode::Text => BASE64.encode(body).into_bytes(),
    };
    let response = client
        .post(Endpoint::url(&to.into(), method))
        .header(http::header::CONTENT_TYPE, mode.content_type())
        .header(http::header::ACCEPT, mode.content_type())
        .header("x-grpc-web", "1")
        .body(body)
        .send()
        .await
        .map_err(|err| format!("request failed: {err}"))?;
    let mut answer = GrpcWebAnswer {
        http_status: response.status().as_u16(),
        content_type: response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("<not text>").to_owned()),
        trailers: response.headers().clone(),
        messages: Vec::new(),
    };
    let body = response
        .bytes()
        .await
        .map_err(|err| format!("body failed: {err}"))?;
    let body = match mode {
        GrpcWebMode::Binary => body,
        GrpcWebMode::Text => decode_text_body(&body)?,
    };
    answer.messages = parse_grpc_web_frames(&body, &mut answer.trailers)?;
    Ok(answer)
}

/// A binary gRPC-Web body's frames: the payloads of its data frames, in order; its
/// trailer frame's lines go into `trailers`. `Err` says what is malformed.
pub fn parse_grpc_web_frames(
    body: &[u8],
    trailers: &mut http::HeaderMap,
) -> Result<Vec<Vec<u8>>, String> {
    let mut messages = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        if rest.len() < 5 {
            return Err(format!("{} bytes after the last whole frame", rest.len()));
        }
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        let payload = rest
            .get(5..5 + len)
            .ok_or_else(|| format!("a frame of {len} bytes is cut short"))?;
        if rest[0] & 0x80 == 0 {
            messages.push(payload.to_vec());
        } else {
            parse_trailer_frame(payload, trailers)?;
        }
        rest = &rest[5 + len..];
    }
    Ok(messages)
}

/// `name: value` lines, separated by CRLF, into `trailers`.
fn parse_trailer_frame(payload: &[u8], trailers: &mut http::HeaderMap) -> Result<(), String> {
    for line in String::from_utf8_lossy(payload).split("\r\n") {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("a trailer line without a colon: {line:?}"))?;
        let name = http::HeaderName::try_from(name.trim())
            .map_err(|err| format!("trailer name {name:?}: {err}"))?;
        let value = http::HeaderValue::try_from(value.trim())
            .map_err(|err| format!("trailer value {value:?}: {err}"))?;
        trailers.insert(name, value);
    }
    Ok(())
}

/// A text-mode body: base64 pieces one after the other, each padded (the server
/// encodes every frame on its own), so a piece ends with the first padded quantum.
fn decode_text_body(text: &[u8]) -> Result<Bytes, String> {
    let mut decoded = Vec::with_capacity(text.len() / 4 * 3);
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest
            .chunks(4)
            .position(|quantum| quantum.contains(&b'='))
            .map_or(rest.len(), |i| ((i + 1) * 4).min(rest.len()));
        BASE64
            .decode_vec(&rest[..end], &mut decoded)
            .map_err(|err| format!("a text-mode body that is not base64: {err}"))?;
        rest = &rest[end..];
    }
    Ok(decoded.into())
}
