//! REST's server stream: Server-Sent Events through the browser's `EventSource`, each
//! message a `StreamResponse` as JSON, closed by the server's `end` event.

use futures_channel::mpsc;
use futures_util::StreamExt;
use lab_proto::v1::StreamResponse;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Event, EventSource, MessageEvent};

use super::{CallOutcome, TransportError, now_ms};

enum SseEvent {
    Message(String),
    End,
    Failed,
}

/// Reads the stream at `url` to its end.
pub async fn stream(url: String, started_ms: f64) -> CallOutcome {
    let mut outcome = CallOutcome {
        url: url.clone(),
        started_ms,
        e2e_ms: 0.0,
        encode_ms: 0.0,
        decode_ms: 0.0,
        request_bytes: 0,
        payload_bytes: 0,
        records: 0,
        first_message_ms: None,
        result: Ok(()),
    };
    let source = match EventSource::new(&url) {
        Ok(source) => source,
        Err(err) => {
            outcome.result = Err(TransportError::Network(format!("{err:?}")));
            return outcome;
        }
    };
    let (tx, mut rx) = mpsc::unbounded();
    let on_message = {
        let tx = tx.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let _ = tx.unbounded_send(SseEvent::Message(
                event.data().as_string().unwrap_or_default(),
            ));
        })
    };
    let on_end = {
        let tx = tx.clone();
        Closure::<dyn FnMut(Event)>::new(move |_| {
            let _ = tx.unbounded_send(SseEvent::End);
        })
    };
    // EventSource reports both a refused connection and a dropped one as `error`.
    let on_error = Closure::<dyn FnMut(Event)>::new(move |_| {
        let _ = tx.unbounded_send(SseEvent::Failed);
    });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let _ = source.add_event_listener_with_callback("end", on_end.as_ref().unchecked_ref());

    while let Some(event) = rx.next().await {
        match event {
            SseEvent::Message(data) => {
                let now = now_ms();
                outcome.first_message_ms.get_or_insert(now - started_ms);
                outcome.payload_bytes += data.len() as u64;
                // `from_slice`, as everywhere in the app: one serde_json reader means
                // one copy of every Deserialize impl in the wasm bundle.
                let decoded = serde_json::from_slice::<StreamResponse>(data.as_bytes());
                outcome.decode_ms += now_ms() - now;
                match decoded {
                    Ok(_) => outcome.records += 1,
                    Err(err) => {
                        outcome.result = Err(TransportError::Decode(err.to_string()));
                        break;
                    }
                }
            }
            SseEvent::End => break,
            SseEvent::Failed => {
                outcome.result = Err(TransportError::Network("the event stream failed".into()));
                break;
            }
        }
    }
    // Closing here also stops EventSource's automatic reconnection.
    source.close();
    outcome.e2e_ms = now_ms() - started_ms;
    outcome
}
