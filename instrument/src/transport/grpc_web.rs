//! gRPC-Web calls through tonic-web-wasm-client (binary protobuf over `fetch`).
//!
//! Measured calls go through [`RawCodec`]: the app encodes the request and decodes the
//! response with prost itself, timing both apart from the network.

use bytes::Bytes;
use http::uri::PathAndQuery;
use lab_proto::RecordDigest;
use lab_proto::contract::{COMPRESSION_SWITCH, MAX_MESSAGE_BYTES, grpc as api};
use lab_proto::v1::{
    FetchRequest, FetchResponse, PingRequest, PingResponse, Record, StreamRequest, StreamResponse,
    UploadResponse,
};
use prost::Message;
use tonic::client::Grpc;
use tonic::metadata::MetadataValue;
use tonic_web_wasm_client::Client;

use super::raw_codec::RawCodec;
use super::{Call, CallOptions, CallOutcome, Decoded, TransportError, now_ms};

/// Bytes of the gRPC message prefix (flag + length) in front of every message.
const FRAME_PREFIX: u64 = 5;

impl From<tonic::Status> for TransportError {
    fn from(status: tonic::Status) -> Self {
        TransportError::Grpc {
            code: format!("{:?}", status.code()),
            message: status.message().to_owned(),
        }
    }
}

/// A gRPC client for `origin` that accepts responses as large as the server sends.
///
/// tonic's client and the gRPC-Web transport's frame decoder both keep gRPC's usual
/// 4 MiB limit by default, so a fetch of the documented maximum count would fail over
/// gRPC-Web alone while REST returned it.
fn client(origin: &str) -> Grpc<Client> {
    Grpc::new(Client::new(origin.to_owned()).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
}

fn encode_upload(records: &[Record]) -> Vec<u8> {
    // UploadRequest's encoding, without cloning the run's shared records into one.
    let len: usize = records
        .iter()
        .map(|r| prost::encoding::message::encoded_len(1, r))
        .sum();
    let mut buf = Vec::with_capacity(len);
    for record in records {
        prost::encoding::message::encode(1, record, &mut buf);
    }
    buf
}

/// Reads a server stream to its end, timing the first message and every decode;
/// `verify` also takes the records' checksum.
async fn read_stream(mut stream: tonic::Streaming<Bytes>, outcome: &mut CallOutcome, verify: bool) {
    let mut digest = verify.then(RecordDigest::default);
    loop {
        match stream.message().await {
            Ok(Some(bytes)) => {
                let now = now_ms();
                outcome
                    .first_message_ms
                    .get_or_insert(now - outcome.started_ms);
                outcome.payload_bytes += bytes.len() as u64;
                let decoded = StreamResponse::decode(bytes);
                outcome.decode_ms += now_ms() - now;
                match decoded {
                    Ok(message) => {
                        outcome.records += 1;
                        if let (Some(digest), Some(record)) = (&mut digest, &message.record) {
                            digest.add(record);
                        }
                    }
                    Err(err) => {
                        outcome.result = Err(TransportError::Decode(err.to_string()));
                        return;
                    }
                }
            }
            Ok(None) => {
                outcome.checksum = digest.map(RecordDigest::finish);
                return;
            }
            Err(status) => {
                outcome.result = Err(status.into());
                return;
            }
        }
    }
}

/// One measured call (the caller stops the end-to-end clock).
pub async fn call(origin: &str, call: &Call, options: CallOptions) -> CallOutcome {
    let started_ms = now_ms();
    let (path, body) = match call {
        Call::Ping => (api::PING, PingRequest {}.encode_to_vec()),
        Call::Fetch(p) => (
            api::FETCH,
            FetchRequest {
                shape: p.shape.into(),
                count: p.count,
                seed: p.seed,
            }
            .encode_to_vec(),
        ),
        Call::Upload(records) => (api::UPLOAD, encode_upload(records)),
        Call::Stream {
            params: p,
            interval_ms,
        } => (
            api::STREAM,
            StreamRequest {
                shape: p.shape.into(),
                count: p.count,
                seed: p.seed,
                interval_ms: *interval_ms,
            }
            .encode_to_vec(),
        ),
    };
    let mut outcome = CallOutcome::started(format!("{origin}{path}"), started_ms);
    outcome.encode_ms = now_ms() - started_ms;
    outcome.request_bytes = body.len() as u64 + FRAME_PREFIX;

    // Dropping this future drops the client's response body, whose guard aborts the
    // fetch: a stopped run leaves no gRPC-Web call behind.
    let mut grpc = client(origin);
    let mut request = tonic::Request::new(Bytes::from(body));
    if !options.compression {
        request
            .metadata_mut()
            .insert(COMPRESSION_SWITCH, MetadataValue::from_static("off"));
    }
    if let Err(err) = grpc.ready().await {
        outcome.result = Err(tonic::Status::unavailable(err.to_string()).into());
        return outcome;
    }
    let path = PathAndQuery::from_static(path);
    if let Call::Stream { .. } = call {
        match grpc.server_streaming(request, path, RawCodec).await {
            Ok(response) => read_stream(response.into_inner(), &mut outcome, options.verify).await,
            Err(status) => outcome.result = Err(status.into()),
        }
        return outcome;
    }
    let bytes = match grpc.unary(request, path, RawCodec).await {
        Ok(response) => response.into_inner(),
        Err(status) => {
            outcome.result = Err(status.into());
            return outcome;
        }
    };
    outcome.payload_bytes = bytes.len() as u64;
    let decode_started = now_ms();
    let decoded = match call {
        Call::Ping => PingResponse::decode(bytes).map(|_| Decoded::Nothing),
        Call::Fetch(_) => FetchResponse::decode(bytes).map(Decoded::Fetched),
        Call::Upload(_) => UploadResponse::decode(bytes).map(Decoded::Uploaded),
        Call::Stream { .. } => unreachable!("streams are read above"),
    };
    outcome.decode_ms = now_ms() - decode_started;
    outcome.settle(decoded, options.verify);
    outcome
}
