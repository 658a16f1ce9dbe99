//! REST calls through gloo-net, encoded and decoded with serde_json; a stream's
//! event stream is read by [`super::sse`] from the same kind of fetch.

use gloo_net::http::{Request, RequestBuilder, Response};
use lab_proto::contract::COMPRESSION_SWITCH;
use lab_proto::contract::rest::{self as api, ErrorBody};
use lab_proto::v1::{FetchResponse, PingResponse, Record, UploadResponse};
use serde::Serialize;
use web_sys::{AbortController, RequestCache};

use super::custom_call::CustomWork;
use super::{Call, CallOptions, CallOutcome, Decoded, FetchParams, TransportError, now_ms};

/// `UploadRequest` as JSON, borrowing the run's shared records.
#[derive(Serialize)]
struct UploadBody<'a> {
    records: &'a [Record],
}

fn records_url(origin: &str, params: FetchParams) -> String {
    let path = api::keyed_records_url(api::RECORDS, &params.shape.key(), params.count, params.seed);
    format!("{origin}{path}")
}

/// Aborts its fetch when dropped. gloo-net's fetch runs to its end unless given a
/// signal, so without this a stopped run's requests would go on loading the backend.
/// Disarmed once the response has been read: aborting then changes nothing but still
/// costs the browser an `AbortError` with its stack trace (4% of the main thread in a
/// profile of pings at concurrency 16).
pub(super) struct AbortOnDrop(Option<AbortController>);

impl AbortOnDrop {
    pub(super) fn new() -> Self {
        Self(AbortController::new().ok())
    }

    pub(super) fn attach(&self, request: RequestBuilder) -> RequestBuilder {
        request.abort_signal(self.0.as_ref().map(|c| c.signal()).as_ref())
    }
}

impl AbortOnDrop {
    /// The fetch is over: nothing left to abort.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = &self.0 {
            controller.abort();
        }
    }
}

/// The body of `response`, or its status and the server's `detail` when not 2xx.
pub(super) async fn body_of(response: &Response) -> Result<Vec<u8>, TransportError> {
    let body = response
        .binary()
        .await
        .map_err(|err| TransportError::Network(err.to_string()))?;
    if response.ok() {
        Ok(body)
    } else {
        let detail = error_detail(&body);
        Err(TransportError::Http {
            status: response.status(),
            detail,
        })
    }
}

/// One measured call (the caller stops the end-to-end clock).
pub async fn call(origin: &str, call: &Call, options: CallOptions) -> CallOutcome {
    match call {
        Call::Echo(records) => return super::websocket_echo::call(origin, records).await,
        Call::ClientStream => {
            return super::websocket_echo::cannot(
                origin,
                api::UPLOADS_STREAM,
                super::websocket_echo::REST_CANNOT_STREAM_A_BODY,
            );
        }
        _ => {}
    }
    let started_ms = now_ms();
    let (url, body) = match call {
        Call::Ping => (format!("{origin}{}", api::PING), None),
        Call::Fetch(params) => (records_url(origin, *params), None),
        Call::Upload(records) => {
            let json = serde_json::to_string(&UploadBody { records }).expect("records serialize");
            (format!("{origin}{}", api::UPLOADS), Some(json))
        }
        Call::Stream {
            params,
            interval_ms,
        } => {
            let path =
                api::keyed_stream_url(&params.shape.key(), params.count, params.seed, *interval_ms);
            (format!("{origin}{path}"), None)
        }
        Call::Echo(_) | Call::ClientStream => unreachable!("answered above"),
        Call::Custom(custom) => {
            let key = lab_proto::contract::custom::key(&custom.id.hex());
            match custom.work {
                CustomWork::Fetch { count, seed } => {
                    let path = api::keyed_records_url(api::RECORDS, &key, count, seed);
                    (format!("{origin}{path}"), None)
                }
                CustomWork::Upload => {
                    let path = api::custom_upload_url(&key);
                    (format!("{origin}{path}"), Some(custom.codec.upload_json()))
                }
                CustomWork::Stream {
                    count,
                    seed,
                    interval_ms,
                } => {
                    let path = api::keyed_stream_url(&key, count, seed, interval_ms);
                    (format!("{origin}{path}"), None)
                }
            }
        }
    };
    let mut outcome = CallOutcome::started(url.clone(), started_ms);
    outcome.encode_ms = now_ms() - started_ms;
    outcome.request_bytes = body.as_ref().map_or(0, |b| b.len() as u64);
    let switch = if options.compression { "on" } else { "off" };
    let abort = AbortOnDrop::new();
    let sent = match body {
        // `no-store`: Chrome lets only one request per URL through its HTTP cache at a
        // time (the cache lock), which would queue identical concurrent GETs behind each
        // other. gRPC-Web's POSTs never meet that lock, so REST must not either.
        None => {
            abort
                .attach(Request::get(&url))
                .header(COMPRESSION_SWITCH, switch)
                .cache(RequestCache::NoStore)
                .send()
                .await
        }
        Some(json) => match abort
            .attach(Request::post(&url))
            .header(COMPRESSION_SWITCH, switch)
            .header("content-type", "application/json")
            .body(json)
        {
            Ok(request) => request.send().await,
            Err(err) => Err(err),
        },
    };
    let response = match sent {
        Ok(response) => response,
        Err(err) => {
            outcome.result = Err(TransportError::Network(err.to_string()));
            return outcome;
        }
    };
    if call.streams() {
        let custom = match call {
            Call::Custom(custom) => Some(custom.as_ref()),
            _ => None,
        };
        // Read while `abort` lives: dropping this future mid-stream aborts the fetch.
        outcome.result = super::sse::read(&response, &mut outcome, options.verify, custom).await;
        abort.disarm();
        return outcome;
    }
    let body = match body_of(&response).await {
        Ok(body) => body,
        Err(err) => {
            outcome.result = Err(err);
            return outcome;
        }
    };
    abort.disarm();
    outcome.payload_bytes = body.len() as u64;
    let decode_started = now_ms();
    let json = |e: serde_json::Error| e.to_string();
    let decoded = match call {
        _ if call.uploads() => serde_json::from_slice::<UploadResponse>(&body)
            .map(Decoded::Uploaded)
            .map_err(json),
        Call::Ping => serde_json::from_slice::<PingResponse>(&body)
            .map(|_| Decoded::Nothing)
            .map_err(json),
        Call::Fetch(_) => serde_json::from_slice::<FetchResponse>(&body)
            .map(Decoded::Fetched)
            .map_err(json),
        Call::Custom(custom) => custom
            .codec
            .records(&body, true)
            .map(Decoded::FetchedCustom),
        Call::Upload(_) | Call::Stream { .. } | Call::Echo(_) | Call::ClientStream => {
            unreachable!("uploads and streams are answered above")
        }
    };
    outcome.decode_ms = now_ms() - decode_started;
    outcome.settle(decoded, options.verify);
    outcome
}

/// The `detail` of the backend's JSON error body, or the start of the body itself.
///
/// Read with `from_slice` into the contract's struct rather than a `serde_json::Value`:
/// every JSON read in the app goes through serde_json's slice reader, so the wasm
/// bundle holds one copy of the parser, and none of `Value`'s deserializer.
fn error_detail(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|error| error.detail)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::error_detail;

    #[test]
    fn error_detail_prefers_the_json_detail() {
        assert_eq!(
            error_detail(br#"{"error":"invalid_argument","detail":"count too big"}"#),
            "count too big"
        );
        assert_eq!(error_detail(b"Bad Gateway"), "Bad Gateway");
        assert_eq!(error_detail(br#"{"detail":5}"#), r#"{"detail":5}"#);
        assert_eq!(error_detail(b"[1]"), "[1]");
    }
}
