//! The gRPC side of a service-to-service run: tonic's client over the lane's HTTP/2
//! connection (native gRPC, h2c or TLS), or through tonic-web's client layer (gRPC-Web,
//! HTTP/1.1 or HTTP/2), as a gateway or a server-side gRPC-Web client sends it. Calls
//! go through the instrument's [`RawCodec`]: the runner encodes and decodes with prost
//! itself, timing both apart from the network, as the browser's gRPC-Web side does.

use std::time::Instant;

use bytes::Bytes;
use http::uri::PathAndQuery;
use lab_instrument::run::service_lanes::GrpcLane;
use lab_instrument::transport::grpc_web::{FRAME_PREFIX, encode_upload};
use lab_instrument::transport::raw_codec::RawCodec;
use lab_instrument::transport::websocket_echo;
use lab_instrument::transport::{CallOptions, CallOutcome, TransportError};
use lab_proto::RecordDigest;
use lab_proto::contract::{COMPRESSION_SWITCH, MAX_MESSAGE_BYTES, grpc as api};
use lab_proto::v1::{
    EchoRequest, EchoResponse, FetchRequest, FetchResponse, PingRequest, PingResponse, Record,
    StreamRequest, StreamResponse, UploadResponse, UploadStreamRequest, UploadStreamResponse,
};
use prost::Message;
use tonic::body::Body;
use tonic::client::Grpc;
use tonic::metadata::MetadataValue;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::http_lane::{CallMeter, HttpLane};
use crate::work::{Measured, Work, ms_since, shape_of, started};

type Transport = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, Unreachable>;

/// Why a request got no response, its causes spelled out. A concrete type: with a
/// boxed error, proving that a call's future is `Send` trips over tonic's bounds.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(String);

fn unreachable(err: hyper_util::client::legacy::Error) -> Unreachable {
    Unreachable(crate::rest_side::error_chain(&err))
}

/// A gRPC lane's client.
#[derive(Clone)]
pub struct GrpcSide {
    grpc: Grpc<Transport>,
    origin: String,
}

fn status(status: tonic::Status) -> TransportError {
    TransportError::Grpc {
        code: format!("{:?}", status.code()),
        message: status.message().to_owned(),
    }
}

impl GrpcSide {
    pub fn new(lane: GrpcLane, http: HttpLane) -> Self {
        let origin = http.base.to_string().trim_end_matches('/').to_owned();
        let base = http.base.clone();
        let transport: Transport = if lane.is_web() {
            // tonic-web's client layer turns tonic's gRPC into gRPC-Web (and marks the
            // request HTTP/1.1, which hyper sends as HTTP/2 on an HTTP/2 connection).
            // A browser's Accept-Encoding (the backend compresses only then), and the
            // answer decompressed above the meter, which counts what the wire carried.
            let inner = tower::ServiceBuilder::new()
                .map_request(|request: http::Request<tonic_web::GrpcWebCall<Body>>| {
                    request.map(Body::new)
                })
                .map_response(|response: http::Response<_>| response.map(Body::new))
                .layer(tower_http::decompression::DecompressionLayer::new())
                .service(http);
            BoxCloneSyncService::new(
                tonic_web::GrpcWebClientService::new(inner)
                    .map_response(|response| response.map(Body::new))
                    .map_err(unreachable),
            )
        } else {
            BoxCloneSyncService::new(http.map_err(unreachable))
        };
        let grpc = Grpc::with_origin(transport, base).max_decoding_message_size(MAX_MESSAGE_BYTES);
        Self { grpc, origin }
    }

    /// One measured call of `work` (with `options.verify`, the records' checksum too).
    /// Boxed: the `Send` proof of the engine's workers does not see through tonic's
    /// generic bounds otherwise.
    pub fn call<'a>(
        &'a self,
        work: &'a Work,
        options: CallOptions,
        run_start: Instant,
    ) -> futures_util::future::BoxFuture<'a, Measured> {
        Box::pin(self.measured(work, options, run_start))
    }

    async fn measured(&self, work: &Work, options: CallOptions, run_start: Instant) -> Measured {
        let CallOptions {
            compression,
            verify,
        } = options;
        let meter = CallMeter::start();
        let path = match work {
            Work::Ping => api::PING,
            Work::Fetch(_) => api::FETCH,
            Work::Upload(_) => api::UPLOAD,
            Work::Stream { .. } => api::STREAM,
            Work::ClientStream(_) => api::UPLOAD_STREAM,
            Work::Echo(_) => api::ECHO,
        };
        let mut outcome = started(format!("{}{path}", self.origin), &meter, run_start);
        let result = self
            .exchange(work, path, verify, compression, &meter, &mut outcome)
            .await;
        if let Err(err) = result {
            outcome.result = Err(err);
        }
        Measured::finish(outcome, &meter, None)
    }

    fn request<T>(
        message: T,
        meter: &std::sync::Arc<CallMeter>,
        compression: bool,
    ) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.extensions_mut().insert(meter.clone());
        if !compression {
            request
                .metadata_mut()
                .insert(COMPRESSION_SWITCH, MetadataValue::from_static("off"));
        }
        request
    }

    async fn exchange(
        &self,
        work: &Work,
        path: &'static str,
        verify: bool,
        compression: bool,
        meter: &std::sync::Arc<CallMeter>,
        outcome: &mut CallOutcome,
    ) -> Result<(), TransportError> {
        let mut grpc = self.grpc.clone();
        grpc.ready()
            .await
            .map_err(|err| TransportError::Network(err.to_string()))?;
        let path = PathAndQuery::from_static(path);
        let encode_started = Instant::now();
        match work {
            Work::Stream {
                params,
                interval_ms,
            } => {
                let body = StreamRequest {
                    shape: shape_of(*params),
                    count: params.count,
                    seed: params.seed,
                    interval_ms: *interval_ms,
                }
                .encode_to_vec();
                outcome.encode_ms = ms_since(encode_started);
                outcome.request_bytes = body.len() as u64 + FRAME_PREFIX;
                let request = Self::request(Bytes::from(body), meter, compression);
                let stream = grpc
                    .server_streaming(request, path, RawCodec)
                    .await
                    .map_err(status)?;
                read_stream(stream.into_inner(), outcome, verify, meter).await
            }
            Work::ClientStream(records) => {
                let messages: Vec<Bytes> = records
                    .iter()
                    .map(|record| Bytes::from(message_of(record, true)))
                    .collect();
                outcome.encode_ms = ms_since(encode_started);
                outcome.request_bytes =
                    messages.iter().map(|m| m.len() as u64 + FRAME_PREFIX).sum();
                let request = Self::request(tokio_stream::iter(messages), meter, compression);
                let answer = grpc
                    .client_streaming(request, path, RawCodec)
                    .await
                    .map_err(status)?;
                let bytes = answer.into_inner();
                outcome.payload_bytes = bytes.len() as u64;
                let decode_started = Instant::now();
                let answer = UploadStreamResponse::decode(bytes);
                outcome.decode_ms = ms_since(decode_started);
                let answer = answer.map_err(|err| TransportError::Decode(err.to_string()))?;
                outcome.records = answer.count;
                outcome.checksum = verify.then_some(answer.checksum);
                Ok(())
            }
            Work::Echo(records) => {
                echo(&mut grpc, path, records, meter, compression, outcome).await
            }
            unary => {
                let body = match unary {
                    Work::Ping => PingRequest {}.encode_to_vec(),
                    Work::Fetch(params) => FetchRequest {
                        shape: shape_of(*params),
                        count: params.count,
                        seed: params.seed,
                    }
                    .encode_to_vec(),
                    Work::Upload(records) => encode_upload(records),
                    _ => unreachable!("streams are above"),
                };
                outcome.encode_ms = ms_since(encode_started);
                outcome.request_bytes = body.len() as u64 + FRAME_PREFIX;
                let request = Self::request(Bytes::from(body), meter, compression);
                let bytes = grpc
                    .unary(request, path, RawCodec)
                    .await
                    .map_err(status)?
                    .into_inner();
                outcome.payload_bytes = bytes.len() as u64;
                let decode_started = Instant::now();
                let decode = |err: prost::DecodeError| TransportError::Decode(err.to_string());
                match unary {
                    Work::Ping => {
                        PingResponse::decode(bytes).map_err(decode)?;
                        outcome.decode_ms = ms_since(decode_started);
                    }
                    Work::Fetch(_) => {
                        let response = FetchResponse::decode(bytes).map_err(decode)?;
                        outcome.decode_ms = ms_since(decode_started);
                        outcome.records = response.records.len() as u64;
                        if verify {
                            outcome.checksum = Some(lab_proto::checksum(&response.records));
                        }
                    }
                    _ => {
                        let response = UploadResponse::decode(bytes).map_err(decode)?;
                        outcome.decode_ms = ms_since(decode_started);
                        outcome.records = response.count;
                        outcome.checksum = verify.then_some(response.checksum);
                    }
                }
                Ok(())
            }
        }
    }
}

/// One streamed request message holding `record` (`UploadStreamRequest` or
/// `EchoRequest`: both are `Record record = 1`).
fn message_of(record: &Record, upload: bool) -> Vec<u8> {
    // Built as the generated types would be, without cloning into one for each.
    let mut buf = Vec::with_capacity(prost::encoding::message::encoded_len(1, record));
    prost::encoding::message::encode(1, record, &mut buf);
    debug_assert_eq!(
        buf,
        if upload {
            UploadStreamRequest {
                record: Some(record.clone()),
            }
            .encode_to_vec()
        } else {
            EchoRequest {
                record: Some(record.clone()),
            }
            .encode_to_vec()
        }
    );
    buf
}

/// Reads a server stream to its end, timing the first message and every decode.
async fn read_stream(
    mut stream: tonic::Streaming<Bytes>,
    outcome: &mut CallOutcome,
    verify: bool,
    meter: &CallMeter,
) -> Result<(), TransportError> {
    let mut digest = verify.then(RecordDigest::default);
    while let Some(bytes) = stream.message().await.map_err(status)? {
        let now = Instant::now();
        outcome.payload_bytes += bytes.len() as u64;
        let decoded = StreamResponse::decode(bytes);
        outcome.decode_ms += ms_since(now);
        let message = decoded.map_err(|err| TransportError::Decode(err.to_string()))?;
        outcome.records += 1;
        if let (Some(digest), Some(record)) = (&mut digest, &message.record) {
            digest.add(record);
        }
        outcome.first_message_ms.get_or_insert(meter.ms_at(now));
    }
    outcome.checksum = digest.map(RecordDigest::finish);
    Ok(())
}

/// Each record sent once the previous one's answer is in.
async fn echo(
    grpc: &mut Grpc<Transport>,
    path: PathAndQuery,
    records: &[Record],
    meter: &std::sync::Arc<CallMeter>,
    compression: bool,
    outcome: &mut CallOutcome,
) -> Result<(), TransportError> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(1);
    let mut records = records.iter();
    // The first message goes with the call: the answer's head may wait for it.
    let mut next = records.next();
    let send = |record: &Record, outcome: &mut CallOutcome| {
        let encode_started = Instant::now();
        let message = Bytes::from(message_of(record, false));
        outcome.encode_ms += ms_since(encode_started);
        outcome.request_bytes += message.len() as u64 + FRAME_PREFIX;
        sender
            .try_send(message)
            .map_err(|_| TransportError::Network("the stream closed".into()))
    };
    if let Some(record) = next {
        send(record, outcome)?;
    }
    let request = GrpcSide::request(
        tokio_stream::wrappers::ReceiverStream::new(receiver),
        meter,
        compression,
    );
    let mut answers = grpc
        .streaming(request, path, RawCodec)
        .await
        .map_err(status)?
        .into_inner();
    while let Some(record) = next {
        let bytes =
            answers.message().await.map_err(status)?.ok_or_else(|| {
                TransportError::Network("the stream ended before its answer".into())
            })?;
        let now = Instant::now();
        outcome.payload_bytes += bytes.len() as u64;
        let answer = EchoResponse::decode(bytes);
        outcome.decode_ms += ms_since(now);
        let answer = answer.map_err(|err| TransportError::Decode(err.to_string()))?;
        websocket_echo::answers(&answer, record)?;
        outcome.records += 1;
        outcome.first_message_ms.get_or_insert(meter.ms_at(now));
        next = records.next();
        if let Some(record) = next {
            send(record, outcome)?;
        }
    }
    drop(sender);
    // The request stream ends: the server ends its own, with its status.
    while answers.message().await.map_err(status)?.is_some() {}
    Ok(())
}
