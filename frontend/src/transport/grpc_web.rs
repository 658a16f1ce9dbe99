//! gRPC-Web calls through tonic-web-wasm-client (binary protobuf over `fetch`).
//!
//! Measured calls go through [`RawCodec`]: the app encodes the request and decodes the
//! response with prost itself, timing both apart from the network.

use bytes::Bytes;
use http::uri::PathAndQuery;
use lab_proto::v1::{
    FetchRequest, FetchResponse, PingRequest, PingResponse, Record, StreamRequest, StreamResponse,
    UploadResponse,
};
use prost::Message;
use tonic::client::Grpc;
use tonic::metadata::MetadataValue;
use tonic_web_wasm_client::Client;

use super::raw_codec::RawCodec;
use super::{COMPRESSION_SWITCH, Call, CallOutcome, FetchParams, TransportError, now_ms};

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

/// `LabService/Fetch` (the parity check): the same raw path as measured calls, so the
/// bundle carries one gRPC client, not two.
pub async fn fetch(origin: &str, params: FetchParams) -> Result<Vec<Record>, TransportError> {
    let request = FetchRequest {
        shape: params.shape.into(),
        count: params.count,
        seed: params.seed,
    };
    let mut grpc = Grpc::new(Client::new(origin.to_owned()));
    grpc.ready()
        .await
        .map_err(|err| tonic::Status::unavailable(err.to_string()))?;
    let path = PathAndQuery::from_static("/lab.v1.LabService/Fetch");
    let bytes = grpc
        .unary(
            tonic::Request::new(Bytes::from(request.encode_to_vec())),
            path,
            RawCodec,
        )
        .await?
        .into_inner();
    let response =
        FetchResponse::decode(bytes).map_err(|err| TransportError::Decode(err.to_string()))?;
    Ok(response.records)
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

/// Reads a server stream to its end, timing the first message and every decode.
async fn read_stream(mut stream: tonic::Streaming<Bytes>, outcome: &mut CallOutcome) {
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
                    Ok(_) => outcome.records += 1,
                    Err(err) => {
                        outcome.result = Err(TransportError::Decode(err.to_string()));
                        return;
                    }
                }
            }
            Ok(None) => return,
            Err(status) => {
                outcome.result = Err(status.into());
                return;
            }
        }
    }
}

/// One measured call.
pub async fn call(origin: &str, call: &Call, compression: bool) -> CallOutcome {
    let started_ms = now_ms();
    let (path, body) = match call {
        Call::Ping => ("/lab.v1.LabService/Ping", PingRequest {}.encode_to_vec()),
        Call::Fetch(p) => (
            "/lab.v1.LabService/Fetch",
            FetchRequest {
                shape: p.shape.into(),
                count: p.count,
                seed: p.seed,
            }
            .encode_to_vec(),
        ),
        Call::Upload(records) => ("/lab.v1.LabService/Upload", encode_upload(records)),
        Call::Stream(p, interval_ms) => (
            "/lab.v1.LabService/Stream",
            StreamRequest {
                shape: p.shape.into(),
                count: p.count,
                seed: p.seed,
                interval_ms: *interval_ms,
            }
            .encode_to_vec(),
        ),
    };
    let encode_ms = now_ms() - started_ms;
    let mut outcome = CallOutcome {
        url: format!("{origin}{path}"),
        started_ms,
        e2e_ms: 0.0,
        encode_ms,
        decode_ms: 0.0,
        request_bytes: body.len() as u64 + FRAME_PREFIX,
        payload_bytes: 0,
        records: 0,
        first_message_ms: None,
        result: Ok(()),
    };

    let mut grpc = Grpc::new(Client::new(origin.to_owned()));
    let mut request = tonic::Request::new(Bytes::from(body));
    if !compression {
        request
            .metadata_mut()
            .insert(COMPRESSION_SWITCH, MetadataValue::from_static("off"));
    }
    if let Err(err) = grpc.ready().await {
        outcome.result = Err(tonic::Status::unavailable(err.to_string()).into());
        outcome.e2e_ms = now_ms() - started_ms;
        return outcome;
    }
    let path = PathAndQuery::from_static(path);
    if let Call::Stream(..) = call {
        match grpc.server_streaming(request, path, RawCodec).await {
            Ok(response) => read_stream(response.into_inner(), &mut outcome).await,
            Err(status) => outcome.result = Err(status.into()),
        }
        outcome.e2e_ms = now_ms() - started_ms;
        return outcome;
    }
    match grpc.unary(request, path, RawCodec).await {
        Ok(response) => {
            let bytes = response.into_inner();
            outcome.payload_bytes = bytes.len() as u64;
            let decode_started = now_ms();
            let decoded = match call {
                Call::Ping => PingResponse::decode(bytes).map(|_| 0),
                Call::Fetch(_) => FetchResponse::decode(bytes).map(|r| r.records.len() as u64),
                Call::Upload(_) => UploadResponse::decode(bytes).map(|r| r.count),
                Call::Stream(..) => unreachable!("streams are read above"),
            };
            outcome.decode_ms = now_ms() - decode_started;
            match decoded {
                Ok(records) => outcome.records = records,
                Err(err) => outcome.result = Err(TransportError::Decode(err.to_string())),
            }
        }
        Err(status) => outcome.result = Err(status.into()),
    }
    outcome.e2e_ms = now_ms() - started_ms;
    outcome
}
