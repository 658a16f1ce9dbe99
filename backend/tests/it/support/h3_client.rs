//! A native HTTP/3 client (quinn + h3, rustls with ring) trusting the test certificate,
//! and the lab's workloads over it in both protocols: REST (JSON, SSE) and gRPC-Web
//! (binary). They return what [`super::clients::Transport`] returns over TCP, so tests
//! compare the two.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use h3::client::{RequestStream, SendRequest};
use lab_backend::certificate::Certificate;
use lab_proto::contract::{grpc as methods, rest};
use lab_proto::v1::{
    FetchRequest, FetchResponse, PingRequest, PingResponse, Record, Shape, StreamRequest,
    StreamResponse, UploadRequest, UploadResponse,
};
use prost::Message;
use quinn::crypto::rustls::QuicClientConfig;

use super::clients::{
    CallError, Endpoint, GrpcWebMode, grpc_web_frame, parse_grpc_web_frames, sse_messages_of,
};

/// One HTTP/3 connection to a QUIC listener.
pub struct H3Client {
    pub addr: SocketAddr,
    send: SendRequest<h3_quinn::OpenStreams, Bytes>,
    pub connection: quinn::Connection,
    /// Kept so the endpoint (its socket) lives as long as the client.
    _endpoint: quinn::Endpoint,
    driver: tokio::task::JoinHandle<()>,
}

/// A whole answer.
#[derive(Debug)]
pub struct H3Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub trailers: Option<http::HeaderMap>,
}

impl H3Answer {
    /// The REST error body, when the answer is not a success.
    fn rest<T: serde::de::DeserializeOwned>(self) -> Result<T, CallError> {
        if (200..300).contains(&self.status) {
            Ok(serde_json::from_slice(&self.body).expect("REST answered valid JSON"))
        } else {
            Err(CallError::Rest(
                reqwest::StatusCode::from_u16(self.status).unwrap(),
                serde_json::from_slice(&self.body).expect("REST errors are JSON"),
            ))
        }
    }

    /// The gRPC-Web messages, or the status it ended with when not OK.
    fn grpc_web<R: Message + Default>(self) -> Result<Vec<R>, CallError> {
        assert_eq!(self.status, 200, "{self:?}");
        let mut trailers = self.headers.clone();
        let messages = parse_grpc_web_frames(&self.body, &mut trailers)
            .unwrap_or_else(|err| panic!("malformed gRPC-Web body: {err}"));
        let status = tonic::Status::from_header_map(&trailers).expect("a grpc-status");
        if status.code() != tonic::Code::Ok {
            return Err(CallError::Grpc(status));
        }
        Ok(messages
            .iter()
            .map(|payload| R::decode(payload.as_slice()).expect("a well-formed message"))
            .collect())
    }
}

impl H3Client {
    /// Connects to the QUIC listener on `addr`, trusting `certificate` (checked by the
    /// name `127.0.0.1`, as a browser checks it), ALPN `h3`.
    pub async fn connect(addr: SocketAddr, certificate: &Certificate) -> Self {
        Self::try_connect(addr, certificate)
            .await
            .unwrap_or_else(|err| panic!("HTTP/3 to {addr}: {err}"))
    }

    pub async fn try_connect(addr: SocketAddr, certificate: &Certificate) -> Result<Self, String> {
        let tls = Endpoint::tls(addr, certificate).tls_config(&[b"h3"]);
        let crypto = QuicClientConfig::try_from(tls).map_err(|err| err.to_string())?;
        let config = quinn::ClientConfig::new(Arc::new(crypto));
        let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap())
            .map_err(|err| err.to_string())?;
        let connection = endpoint
            .connect_with(config, addr, &addr.ip().to_string())
            .map_err(|err| err.to_string())?
            .await
            .map_err(|err| err.to_string())?;
        let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(connection.clone()))
            .await
            .map_err(|err| err.to_string())?;
        let driver = tokio::spawn(async move {
            let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
        });
        Ok(Self {
            addr,
            send,
            connection,
            _endpoint: endpoint,
            driver,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// Sends a request with `body` and returns its stream, the response not read.
    /// `path` may be a whole `https://` URL, naming another `:authority`.
    pub async fn open(
        &mut self,
        method: http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> RequestStream<h3_quinn::BidiStream<Bytes>, Bytes> {
        let uri = if path.starts_with("https://") {
            path.to_owned()
        } else {
            self.url(path)
        };
        let mut request = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut stream = self
            .send
            .send_request(request.body(()).unwrap())
            .await
            .expect("send the request head");
        if !body.is_empty() {
            // In pieces, as a client streaming its upload would.
            for piece in body.chunks(16 * 1024) {
                stream
                    .send_data(Bytes::copy_from_slice(piece))
                    .await
                    .expect("send the body");
            }
        }
        stream.finish().await.expect("end the request");
        stream
    }

    /// A whole exchange: the answer with its body read to the end.
    pub async fn request(
        &mut self,
        method: http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> H3Answer {
        let mut stream = self.open(method, path, headers, body).await;
        let response = stream.recv_response().await.expect("a response head");
        let mut body = BytesMut::new();
        while let Some(mut chunk) = stream.recv_data().await.expect("the response body") {
            body.extend_from_slice(&chunk.copy_to_bytes(chunk.remaining()));
        }
        let trailers = stream.recv_trailers().await.expect("the trailers");
        H3Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: body.freeze(),
            trailers,
        }
    }

    pub async fn get(&mut self, path: &str) -> H3Answer {
        self.request(http::Method::GET, path, &[], Bytes::new())
            .await
    }

    /// A binary gRPC-Web call of `method` (a contract method path).
    pub async fn grpc_web(&mut self, method: &str, request: &impl Message) -> H3Answer {
        let content_type = GrpcWebMode::Binary.content_type();
        let body = grpc_web_frame(&request.encode_to_vec());
        self.request(
            http::Method::POST,
            method,
            &[
                ("content-type", content_type),
                ("accept", content_type),
                ("x-grpc-web", "1"),
            ],
            body.into(),
        )
        .await
    }

    /// Closes the connection (as a client leaving does).
    pub async fn close(self) {
        self.connection.close(0u32.into(), b"done");
        self.driver.abort();
        self._endpoint.wait_idle().await;
    }
}

/// The two protocols over HTTP/3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum H3Transport {
    GrpcWeb,
    Rest,
}

pub const H3_TRANSPORTS: [H3Transport; 2] = [H3Transport::GrpcWeb, H3Transport::Rest];

impl H3Transport {
    pub async fn ping(self, client: &mut H3Client) -> Result<(), CallError> {
        match self {
            H3Transport::GrpcWeb => {
                let messages: Vec<PingResponse> = client
                    .grpc_web(methods::PING, &PingRequest {})
                    .await
                    .grpc_web()?;
                assert_eq!(messages.len(), 1);
            }
            H3Transport::Rest => {
                client.get(rest::PING).await.rest::<serde_json::Value>()?;
            }
        }
        Ok(())
    }

    pub async fn fetch(
        self,
        client: &mut H3Client,
        shape: Shape,
        count: u32,
        seed: u64,
    ) -> Result<Vec<Record>, CallError> {
        Ok(match self {
            H3Transport::GrpcWeb => {
                let request = FetchRequest {
                    shape: shape.into(),
                    count,
                    seed,
                };
                let mut messages: Vec<FetchResponse> =
                    client.grpc_web(methods::FETCH, &request).await.grpc_web()?;
                assert_eq!(messages.len(), 1);
                messages.remove(0).records
            }
            H3Transport::Rest => {
                let path = rest::records_url(rest::RECORDS, shape, count, seed);
                client.get(&path).await.rest::<FetchResponse>()?.records
            }
        })
    }

    pub async fn upload(
        self,
        client: &mut H3Client,
        records: Vec<Record>,
    ) -> Result<UploadResponse, CallError> {
        let request = UploadRequest { records };
        Ok(match self {
            H3Transport::GrpcWeb => {
                let mut messages: Vec<UploadResponse> = client
                    .grpc_web(methods::UPLOAD, &request)
                    .await
                    .grpc_web()?;
                assert_eq!(messages.len(), 1);
                messages.remove(0)
            }
            H3Transport::Rest => {
                let body = serde_json::to_vec(&request).unwrap();
                client
                    .request(
                        http::Method::POST,
                        rest::UPLOADS,
                        &[("content-type", "application/json")],
                        body.into(),
                    )
                    .await
                    .rest()?
            }
        })
    }

    /// The whole stream, collected.
    pub async fn stream(
        self,
        client: &mut H3Client,
        shape: Shape,
        count: u32,
        seed: u64,
    ) -> Result<Vec<StreamResponse>, CallError> {
        Ok(match self {
            H3Transport::GrpcWeb => {
                let request = StreamRequest {
                    shape: shape.into(),
                    count,
                    seed,
                    interval_ms: 0,
                };
                client
                    .grpc_web(methods::STREAM, &request)
                    .await
                    .grpc_web()?
            }
            H3Transport::Rest => {
                let answer = client.get(&rest::stream_url(shape, count, seed, 0)).await;
                if answer.status != 200 {
                    return answer.rest();
                }
                let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(answer.body)]);
                sse_messages_of(chunks).await
            }
        })
    }
}

/// Reads a response body as it arrives: when each DATA chunk came, after `start`.
pub async fn chunk_arrivals(
    stream: &mut RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>,
    start: Instant,
) -> Vec<(Duration, Bytes)> {
    let mut arrivals = Vec::new();
    while let Some(mut chunk) = stream.recv_data().await.expect("the response body") {
        arrivals.push((start.elapsed(), chunk.copy_to_bytes(chunk.remaining())));
    }
    arrivals
}
