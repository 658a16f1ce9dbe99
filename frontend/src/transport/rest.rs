//! REST calls through gloo-net, encoded and decoded with serde_json.

use gloo_net::http::{Request, Response};
use lab_proto::v1::{FetchResponse, PingResponse, Record, UploadResponse};
use serde::{Deserialize, Serialize};
use web_sys::RequestCache;

use super::{COMPRESSION_SWITCH, Call, CallOutcome, FetchParams, TransportError, now_ms};

/// `UploadRequest` as JSON, borrowing the run's shared records.
#[derive(Serialize)]
struct UploadBody<'a> {
    records: &'a [Record],
}

fn records_url(origin: &str, params: FetchParams) -> String {
    format!(
        "{origin}/api/v1/records?shape={}&count={}&seed={}",
        params.shape.key(),
        params.count,
        params.seed
    )
}

async fn body_of(response: &Response) -> Result<Vec<u8>, TransportError> {
    let body = response
        .binary()
        .await
        .map_err(|err| TransportError::Network(err.to_string()))?;
    if response.ok() {
        Ok(body)
    } else {
        let detail = error_detail(&String::from_utf8_lossy(&body));
        Err(TransportError::Http {
            status: response.status(),
            detail,
        })
    }
}

/// `GET /api/v1/records` (the parity check).
pub async fn fetch(origin: &str, params: FetchParams) -> Result<Vec<Record>, TransportError> {
    let response = Request::get(&records_url(origin, params))
        .send()
        .await
        .map_err(|err| TransportError::Network(err.to_string()))?;
    let body = body_of(&response).await?;
    let decoded: FetchResponse =
        serde_json::from_slice(&body).map_err(|err| TransportError::Decode(err.to_string()))?;
    Ok(decoded.records)
}

/// One measured call.
pub async fn call(origin: &str, call: &Call, compression: bool) -> CallOutcome {
    let started_ms = now_ms();
    if let Call::Stream(params, interval_ms) = call {
        let url = format!("{}&intervalMs={interval_ms}", records_url(origin, *params))
            .replace("/records?", "/records/stream?");
        return super::sse::stream(url, started_ms).await;
    }
    let (url, body) = match call {
        Call::Ping => (format!("{origin}/api/v1/ping"), None),
        Call::Fetch(params) => (records_url(origin, *params), None),
        Call::Upload(records) => {
            let json = serde_json::to_string(&UploadBody { records }).expect("records serialize");
            (format!("{origin}/api/v1/uploads"), Some(json))
        }
        Call::Stream(..) => unreachable!("streams are handled above"),
    };
    let mut outcome = CallOutcome {
        url: url.clone(),
        started_ms,
        e2e_ms: 0.0,
        encode_ms: now_ms() - started_ms,
        decode_ms: 0.0,
        request_bytes: body.as_ref().map_or(0, |b| b.len() as u64),
        payload_bytes: 0,
        records: 0,
        first_message_ms: None,
        result: Ok(()),
    };
    let switch = if compression { "on" } else { "off" };
    let sent = match body {
        // `no-store`: Chrome lets only one request per URL through its HTTP cache at a
        // time (the cache lock), which would queue identical concurrent GETs behind each
        // other. gRPC-Web's POSTs never meet that lock, so REST must not either.
        None => {
            Request::get(&url)
                .header(COMPRESSION_SWITCH, switch)
                .cache(RequestCache::NoStore)
                .send()
                .await
        }
        Some(json) => match Request::post(&url)
            .header(COMPRESSION_SWITCH, switch)
            .header("content-type", "application/json")
            .body(json)
        {
            Ok(request) => request.send().await,
            Err(err) => Err(err),
        },
    };
    let body = match sent {
        Ok(response) => body_of(&response).await,
        Err(err) => Err(TransportError::Network(err.to_string())),
    };
    match body {
        Ok(body) => {
            outcome.payload_bytes = body.len() as u64;
            let decode_started = now_ms();
            let decoded = match call {
                Call::Ping => serde_json::from_slice::<PingResponse>(&body).map(|_| 0),
                Call::Fetch(_) => {
                    serde_json::from_slice::<FetchResponse>(&body).map(|r| r.records.len() as u64)
                }
                Call::Upload(_) => serde_json::from_slice::<UploadResponse>(&body).map(|r| r.count),
                Call::Stream(..) => unreachable!("streams are handled above"),
            };
            outcome.decode_ms = now_ms() - decode_started;
            match decoded {
                Ok(records) => outcome.records = records,
                Err(err) => outcome.result = Err(TransportError::Decode(err.to_string())),
            }
        }
        Err(err) => outcome.result = Err(err),
    }
    outcome.e2e_ms = now_ms() - started_ms;
    outcome
}

/// The part of the backend's JSON error body the page shows.
#[derive(Deserialize)]
struct ErrorBody {
    detail: String,
}

/// The `detail` of the backend's JSON error body, or the body itself.
///
/// Read with `from_slice` into a small struct rather than a `serde_json::Value`: every
/// JSON read in the app goes through serde_json's slice reader, so the wasm bundle holds
/// one copy of the parser, and none of `Value`'s deserializer.
fn error_detail(body: &str) -> String {
    serde_json::from_slice::<ErrorBody>(body.as_bytes())
        .map(|error| error.detail)
        .unwrap_or_else(|_| body.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::error_detail;

    #[test]
    fn error_detail_prefers_the_json_detail() {
        assert_eq!(
            error_detail(r#"{"error":"invalid_argument","detail":"count too big"}"#),
            "count too big"
        );
        assert_eq!(error_detail("Bad Gateway"), "Bad Gateway");
        assert_eq!(error_detail(r#"{"detail":5}"#), r#"{"detail":5}"#);
        assert_eq!(error_detail("[1]"), "[1]");
    }
}
