//! The worker's end of a service-to-service run: the settings go to the backend
//! (`POST /api/v1/service-runs?run=N`), whose native runner runs them; its progress and
//! then its whole run come back as Server-Sent Events whose data are this worker's own
//! messages ([`FromWorker`](crate::run::worker_protocol::FromWorker), numbered as the
//! page's run `N`), read from the fetch's body as they arrive and passed on as they
//! are: the worker decodes none of them (their decoder would double its size). Stop asks the
//! backend to stop (`DELETE`): the run then ends with what it measured, as a browser
//! run does. Dropping the call aborts the fetch, which cancels the run outright.

use futures_util::StreamExt;
use gloo_net::http::Request;
use js_sys::Uint8Array;
use lab_proto::contract::rest::{END_EVENT, SERVICE_RUNS};
use wasm_streams::ReadableStream;

use super::TransportError;
use super::rest::{AbortOnDrop, body_of};
use super::sse_parser::SseParser;

/// How the JSON of a `FromWorker::Ended` starts.
const ENDED: &[u8] = b"{\"Ended\"";

/// Starts `settings` (the URL form) as the page's run `run` on the backend at `origin`
/// and hands each message (its JSON) to `deliver` as it arrives, with whether it is the
/// run's last (`Ended`), until the run's end. Refusals (another run under way, lanes
/// the backend cannot serve) come back with the backend's reason.
pub async fn follow(
    origin: &str,
    settings: &str,
    run: u32,
    mut deliver: impl FnMut(String, bool),
) -> Result<(), TransportError> {
    let abort = AbortOnDrop::new();
    let network = |what: String| TransportError::Network(what);
    let request = abort
        .attach(Request::post(&format!("{origin}{SERVICE_RUNS}?run={run}")))
        .header("content-type", "text/plain")
        .body(settings.to_owned())
        .map_err(|err| network(err.to_string()))?;
    let response = request
        .send()
        .await
        .map_err(|err| network(err.to_string()))?;
    if !response.ok() {
        return body_of(&response).await.map(drop);
    }
    let body = response
        .body()
        .ok_or_else(|| network("the service run's answer has no body".into()))?;
    let mut chunks = ReadableStream::from_raw(body).into_stream();
    let mut parser = SseParser::default();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| network("the service run's stream failed".into()))?;
        for event in parser.feed(&Uint8Array::new(&chunk).to_vec()) {
            match event.name.as_str() {
                END_EVENT => return Ok(()),
                "error" => {
                    return Err(network(String::from_utf8_lossy(&event.data).into_owned()));
                }
                _ => {
                    let last = event.data.starts_with(ENDED);
                    let message = String::from_utf8(event.data)
                        .map_err(|err| TransportError::Decode(err.to_string()))?;
                    deliver(message, last);
                }
            }
        }
    }
    Err(network(
        "the service run's stream ended before the run".into(),
    ))
}

/// Asks the backend at `origin` to stop its service-to-service run.
pub async fn stop(origin: &str) -> Result<(), TransportError> {
    let response = Request::delete(&format!("{origin}{SERVICE_RUNS}"))
        .send()
        .await
        .map_err(|err| TransportError::Network(err.to_string()))?;
    body_of(&response).await.map(drop)
}
