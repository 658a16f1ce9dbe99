//! REST's server stream: the `text/event-stream` body of a `fetch`, read chunk by chunk
//! as it arrives and split into events by [`SseParser`], each message a
//! `StreamResponse` as JSON, closed by the server's end event.
//!
//! Read through `fetch` rather than the browser's `EventSource` so that a REST stream
//! is measured like every other request: its Resource Timing entry is a `fetch` one,
//! which the lab pairs with its sample (wire and decoded bytes, time to first byte,
//! `Server-Timing`), and [`super::rest`] aborts it when the call is dropped.

use futures_util::StreamExt;
use gloo_net::http::Response;
use js_sys::Uint8Array;
use lab_proto::RecordDigest;
use lab_proto::contract::rest::END_EVENT;
use lab_proto::v1::StreamResponse;
use wasm_streams::ReadableStream;

use super::custom_call::CustomCall;
use super::rest::body_of;
use super::sse_parser::SseParser;
use super::{CallOutcome, TransportError, now_ms};

/// Reads the event stream of `response` to its end into `outcome`; `verify` also takes
/// the records' checksum; `custom`: a custom shape's stream. A status other than 2xx
/// fails as a unary call's does.
pub(super) async fn read(
    response: &Response,
    outcome: &mut CallOutcome,
    verify: bool,
    custom: Option<&CustomCall>,
) -> Result<(), TransportError> {
    if !response.ok() {
        return body_of(response).await.map(drop);
    }
    let network = |what: &str| TransportError::Network(format!("the event stream {what}"));
    let body = response.body().ok_or_else(|| network("has no body"))?;
    let mut chunks = ReadableStream::from_raw(body).into_stream();
    let mut parser = SseParser::default();
    let mut digest = verify.then(RecordDigest::default);
    let mut ended = false;
    while let Some(chunk) = chunks.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(_) if ended => break,
            Err(_) => return Err(network("failed")),
        };
        // After the end event the body is still read to its end: a fetch dropped
        // unread may be recorded without its sizes (see vendor/tonic-web-wasm-client).
        if ended {
            continue;
        }
        for event in parser.feed(&Uint8Array::new(&chunk).to_vec()) {
            if event.name == END_EVENT {
                ended = true;
                break;
            }
            // What an `EventSource` hands to `onmessage`; other named events are not ours.
            if event.name != "message" {
                continue;
            }
            let now = now_ms();
            outcome
                .first_message_ms
                .get_or_insert(now - outcome.started_ms);
            outcome.payload_bytes += event.data.len() as u64;
            match custom {
                None => {
                    // `from_slice`, as everywhere in the app: one serde_json reader means
                    // one copy of every Deserialize impl in the wasm bundle.
                    let decoded = serde_json::from_slice::<StreamResponse>(&event.data);
                    outcome.decode_ms += now_ms() - now;
                    let message = decoded.map_err(|err| TransportError::Decode(err.to_string()))?;
                    if let (Some(digest), Some(record)) = (&mut digest, &message.record) {
                        digest.add(record);
                    }
                }
                Some(custom) => {
                    let decoded = custom.codec.item(&event.data, true);
                    outcome.decode_ms += now_ms() - now;
                    let item = decoded.map_err(TransportError::Decode)?;
                    if let Some(digest) = &mut digest {
                        item.digest(digest);
                    }
                }
            }
            outcome.records += 1;
        }
    }
    if !ended {
        return Err(network("ended before its end event"));
    }
    outcome.checksum = digest.map(RecordDigest::finish);
    Ok(())
}
