//! REST's bidirectional stream from the browser: a WebSocket to `/api/v1/echo`, each
//! record sent as JSON and its answer awaited before the next is sent, so every message
//! is a round trip. gRPC-Web has no such call: a browser's fetch sends a request body
//! only whole ([`GRPC_WEB_CANNOT`]).
//!
//! A WebSocket's frames are not in Resource Timing: its sizes are the messages' own
//! (what was sent and received as text), without HTTP or frame overhead.

use futures_util::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use lab_proto::contract::rest::ECHO;
use lab_proto::v1::{EchoResponse, Record};

use super::{CallOutcome, TransportError, now_ms};

/// Why gRPC-Web's side of a bidirectional (or client) stream is empty.
pub const GRPC_WEB_CANNOT: &str = "gRPC-Web cannot send a stream from a browser: fetch sends a \
     request body only once it is whole, so client and bidirectional streaming are native \
     gRPC's (service to service) alone";

/// `ws://` or `wss://` for the page's `http://` or `https://` origin.
pub fn echo_url(origin: &str) -> String {
    let socket_origin = match origin.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", origin.trim_start_matches("http://")),
    };
    format!("{socket_origin}{ECHO}")
}

fn closed(err: WebSocketError) -> TransportError {
    match err {
        // 1006: the browser saw no close frame; a refused opening (another site's page,
        // the backend at its stream limit) looks the same from here.
        WebSocketError::ConnectionClose(event) if event.code == 1006 => TransportError::Network(
            "the WebSocket closed without a reason (1006): the backend refused it or went away"
                .into(),
        ),
        WebSocketError::ConnectionClose(event) if event.code != 1000 => {
            TransportError::Network(format!(
                "the WebSocket closed with code {}: {}",
                event.code, event.reason
            ))
        }
        other => TransportError::Network(other.to_string()),
    }
}

/// Sends `records` one at a time over a new WebSocket, each after the previous one's
/// answer. Dropping the future closes the socket.
pub async fn call(origin: &str, records: &[Record]) -> CallOutcome {
    let started_ms = now_ms();
    let url = echo_url(origin);
    let mut outcome = CallOutcome::started(url.clone(), started_ms);
    let mut socket = match WebSocket::open(&url) {
        Ok(socket) => socket,
        Err(err) => {
            outcome.result = Err(TransportError::Network(err.to_string()));
            return outcome;
        }
    };
    for record in records {
        let encode_started = now_ms();
        let text = serde_json::to_string(record).expect("prost values always serialize");
        outcome.encode_ms += now_ms() - encode_started;
        outcome.request_bytes += text.len() as u64;
        if let Err(err) = socket.send(Message::Text(text)).await {
            outcome.result = Err(closed(err));
            return outcome;
        }
        let reply = match socket.next().await {
            Some(Ok(Message::Text(reply))) => reply,
            Some(Ok(Message::Bytes(_))) => {
                outcome.result = Err(TransportError::Decode("a binary answer".into()));
                return outcome;
            }
            Some(Err(err)) => {
                outcome.result = Err(closed(err));
                return outcome;
            }
            None => {
                outcome.result = Err(TransportError::Network("the socket closed".into()));
                return outcome;
            }
        };
        let now = now_ms();
        outcome
            .first_message_ms
            .get_or_insert(now - outcome.started_ms);
        outcome.payload_bytes += reply.len() as u64;
        let answer = serde_json::from_slice::<EchoResponse>(reply.as_bytes());
        outcome.decode_ms += now_ms() - now;
        let answered = answer
            .map_err(|err| TransportError::Decode(err.to_string()))
            .and_then(|answer| answers(&answer, record));
        match answered {
            Ok(()) => outcome.records += 1,
            Err(err) => {
                outcome.result = Err(err);
                return outcome;
            }
        }
    }
    let _ = socket.close(Some(1000), None);
    outcome
}

/// Whether `answer` is the echo of `record` (each transport's echo checks it alike: the
/// browser's WebSocket and the native runner's gRPC and WebSocket).
pub fn answers(answer: &EchoResponse, record: &Record) -> Result<(), TransportError> {
    if Some(answer.id) == record.id() {
        return Ok(());
    }
    Err(TransportError::Decode(format!(
        "the answer names record {}, not {:?}",
        answer.id,
        record.id()
    )))
}

/// Why REST's side of a client stream is empty in a browser.
pub const REST_CANNOT_STREAM_A_BODY: &str = "a browser cannot stream a request body to \
     this lab: Firefox sends a fetch's body only whole, and Chromium streams one only over \
     HTTP/2 and half duplex; run it service to service";

/// A call the browser cannot make, to `path` of `origin`: no request, the reason instead.
pub fn cannot(origin: &str, path: &str, reason: &str) -> CallOutcome {
    let mut outcome = CallOutcome::started(format!("{origin}{path}"), now_ms());
    outcome.result = Err(TransportError::NotInBrowser(reason.into()));
    outcome
}

/// gRPC-Web's side of an echo run: no request, the reason instead.
pub fn grpc_web_cannot(origin: &str) -> CallOutcome {
    cannot(origin, lab_proto::contract::grpc::ECHO, GRPC_WEB_CANNOT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_url_follows_the_page_s_scheme() {
        assert_eq!(
            echo_url("http://127.0.0.1:8080"),
            "ws://127.0.0.1:8080/api/v1/echo"
        );
        assert_eq!(
            echo_url("https://localhost:8443"),
            "wss://localhost:8443/api/v1/echo"
        );
    }
}
