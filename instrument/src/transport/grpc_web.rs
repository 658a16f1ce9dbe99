//! gRPC-Web calls through tonic-web-wasm-client (binary protobuf over `fetch`).
//!
//! Measured calls go through [`RawCodec`]: the app encodes the request and decodes the
//! response with prost itself, timing both apart from the network.

use bytes::Bytes;
use http::uri::PathAndQuery;
use lab_proto::RecordDigest;
use lab_proto::contract::{COMPRESSION_SWITCH, MAX_MESSAGE_BYTES, grpc as api};
use lab_proto::v1::{
    FetchCustomRequest, FetchRequest, FetchResponse, PingRequest, PingResponse, Record, Shape,
    StreamCustomRequest, StreamRequest, StreamResponse, UploadResponse,
};
use prost::Message;
use tonic::client::Grpc;
use tonic::metadata::MetadataValue;
use tonic_web_wasm_client::Client;

use super::custom_call::{CustomCall, CustomWork, DecodedRecords};
use super::raw_codec::RawCodec;
use super::{Call, CallOptions, CallOutcome, Decoded, TransportError, now_ms};
use crate::run::shape_choice::ShapeChoice;

/// Bytes of the gRPC message prefix (flag + length) in front of every message.
pub const FRAME_PREFIX: u64 = 5;

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

/// `UploadRequest`'s encoding, without cloning the run's shared records into one (the
/// native runner's too).
pub fn encode_upload(records: &[Record]) -> Vec<u8> {
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

/// A streamed message, decoded by the generated type or by a custom shape's codec.
// One per message, on the stack and gone at once: boxing the large variant would
// allocate once more per message of every built-in stream.
#[allow(clippy::large_enum_variant)]
enum StreamMessage {
    BuiltIn(StreamResponse),
    Custom(Box<dyn DecodedRecords>),
}

impl StreamMessage {
    fn decode(bytes: Bytes, custom: Option<&CustomCall>) -> Result<Self, String> {
        match custom {
            None => StreamResponse::decode(bytes)
                .map(StreamMessage::BuiltIn)
                .map_err(|err| err.to_string()),
            Some(custom) => custom.codec.item(&bytes, false).map(StreamMessage::Custom),
        }
    }

    fn digest(&self, digest: &mut RecordDigest) {
        match self {
            StreamMessage::BuiltIn(message) => {
                if let Some(record) = &message.record {
                    digest.add(record);
                }
            }
            StreamMessage::Custom(item) => item.digest(digest),
        }
    }
}

/// Reads a server stream to its end, timing the first message and every decode;
/// `verify` also takes the records' checksum. `custom`: a custom shape's stream.
async fn read_stream(
    mut stream: tonic::Streaming<Bytes>,
    outcome: &mut CallOutcome,
    verify: bool,
    custom: Option<&CustomCall>,
) {
    let mut digest = verify.then(RecordDigest::default);
    loop {
        match stream.message().await {
            Ok(Some(bytes)) => {
                let now = now_ms();
                outcome
                    .first_message_ms
                    .get_or_insert(now - outcome.started_ms);
                outcome.payload_bytes += bytes.len() as u64;
                let decoded = StreamMessage::decode(bytes, custom);
                outcome.decode_ms += now_ms() - now;
                match decoded {
                    Ok(message) => {
                        outcome.records += 1;
                        if let Some(digest) = &mut digest {
                            message.digest(digest);
                        }
                    }
                    Err(err) => {
                        outcome.result = Err(TransportError::Decode(err));
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

/// A built-in shape's wire value (a custom shape's calls are [`Call::Custom`]).
fn built_in(shape: ShapeChoice) -> i32 {
    match shape {
        ShapeChoice::BuiltIn(shape) => shape.into(),
        ShapeChoice::Custom(_) => Shape::Unspecified.into(),
    }
}

/// A custom shape's method and request body.
fn custom_request(custom: &CustomCall) -> (&'static str, Vec<u8>) {
    let shape_id = custom.id.hex();
    match custom.work {
        CustomWork::Fetch { count, seed } => (
            api::FETCH_CUSTOM,
            FetchCustomRequest {
                shape_id,
                count,
                seed,
            }
            .encode_to_vec(),
        ),
        CustomWork::Upload => (api::UPLOAD_CUSTOM, custom.codec.upload_protobuf()),
        CustomWork::Stream {
            count,
            seed,
            interval_ms,
        } => (
            api::STREAM_CUSTOM,
            StreamCustomRequest {
                shape_id,
                count,
                seed,
                interval_ms,
            }
            .encode_to_vec(),
        ),
    }
}

/// One measured call (the caller stops the end-to-end clock).
pub async fn call(origin: &str, call: &Call, options: CallOptions) -> CallOutcome {
    match call {
        Call::Echo(_) => return super::websocket_echo::grpc_web_cannot(origin),
        Call::ClientStream => {
            return super::websocket_echo::cannot(
                origin,
                lab_proto::contract::grpc::UPLOAD_STREAM,
                super::websocket_echo::GRPC_WEB_CANNOT,
            );
        }
        _ => {}
    }
    let started_ms = now_ms();
    let (path, body) = match call {
        Call::Ping => (api::PING, PingRequest {}.encode_to_vec()),
        Call::Fetch(p) => (
            api::FETCH,
            FetchRequest {
                shape: built_in(p.shape),
                count: p.count,
                seed: p.seed,
            }
            .encode_to_vec(),
        ),
        Call::Custom(custom) => custom_request(custom),
        Call::Echo(_) | Call::ClientStream => unreachable!("answered above"),
        Call::Upload(records) => (api::UPLOAD, encode_upload(records)),
        Call::Stream {
            params: p,
            interval_ms,
        } => (
            api::STREAM,
            StreamRequest {
                shape: built_in(p.shape),
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
    let custom = match call {
        Call::Custom(custom) => Some(custom.as_ref()),
        _ => None,
    };
    if let Some(custom) = custom.filter(|c| c.work == CustomWork::Upload) {
        let id = MetadataValue::try_from(custom.id.hex()).expect("hex digits are ASCII");
        request.metadata_mut().insert(api::SHAPE_METADATA, id);
    }
    if let Err(err) = grpc.ready().await {
        outcome.result = Err(tonic::Status::unavailable(err.to_string()).into());
        return outcome;
    }
    let path = PathAndQuery::from_static(path);
    if call.streams() {
        match grpc.server_streaming(request, path, RawCodec).await {
            Ok(response) => {
                read_stream(response.into_inner(), &mut outcome, options.verify, custom).await
            }
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
        _ if call.uploads() => UploadResponse::decode(bytes)
            .map(Decoded::Uploaded)
            .map_err(|e| e.to_string()),
        Call::Ping => PingResponse::decode(bytes)
            .map(|_| Decoded::Nothing)
            .map_err(|e| e.to_string()),
        Call::Fetch(_) => FetchResponse::decode(bytes)
            .map(Decoded::Fetched)
            .map_err(|e| e.to_string()),
        Call::Custom(custom) => custom
            .codec
            .records(&bytes, false)
            .map(Decoded::FetchedCustom),
        Call::Upload(_) | Call::Stream { .. } | Call::Echo(_) | Call::ClientStream => {
            unreachable!("uploads and streams are answered above")
        }
    };
    outcome.decode_ms = now_ms() - decode_started;
    outcome.settle(decoded, options.verify);
    outcome
}
