//! REST's server stream: Server-Sent Events through the browser's `EventSource`, each
//! message a `StreamResponse` as JSON, closed by the server's end event.

use futures_channel::mpsc;
use futures_util::StreamExt;
use lab_proto::RecordDigest;
use lab_proto::contract::rest::END_EVENT;
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

/// An `EventSource` with its handlers, closed when dropped. An `EventSource` that is
/// merely forgotten stays open, and reconnects by itself whenever the server ends the
/// stream: a stopped run would go on loading the backend until the tab closes.
struct OpenEventSource {
    source: EventSource,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_end: Closure<dyn FnMut(Event)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl OpenEventSource {
    /// Opens `url`; every event goes to the returned channel.
    fn open(url: &str) -> Result<(Self, mpsc::UnboundedReceiver<SseEvent>), TransportError> {
        let source =
            EventSource::new(url).map_err(|err| TransportError::Network(format!("{err:?}")))?;
        let (tx, rx) = mpsc::unbounded();
        let on_message = {
            let tx = tx.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data().as_string().unwrap_or_default();
                let _ = tx.unbounded_send(SseEvent::Message(data));
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
        let _ = source.add_event_listener_with_callback(END_EVENT, on_end.as_ref().unchecked_ref());
        let open = Self {
            source,
            _on_message: on_message,
            _on_end: on_end,
            _on_error: on_error,
        };
        Ok((open, rx))
    }
}

impl Drop for OpenEventSource {
    fn drop(&mut self) {
        // Closed before its handlers are freed, so none is called after.
        self.source.close();
        self.source.set_onmessage(None);
        self.source.set_onerror(None);
    }
}

/// Reads the stream at `url` to its end; `verify` also takes the records' checksum.
pub async fn stream(url: String, started_ms: f64, verify: bool) -> CallOutcome {
    let mut outcome = CallOutcome::started(url.clone(), started_ms);
    let (_source, mut events) = match OpenEventSource::open(&url) {
        Ok(opened) => opened,
        Err(err) => {
            outcome.result = Err(err);
            return outcome;
        }
    };
    let mut digest = verify.then(RecordDigest::default);
    while let Some(event) = events.next().await {
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
                    Ok(message) => {
                        outcome.records += 1;
                        if let (Some(digest), Some(record)) = (&mut digest, &message.record) {
                            digest.add(record);
                        }
                    }
                    Err(err) => {
                        outcome.result = Err(TransportError::Decode(err.to_string()));
                        return outcome;
                    }
                }
            }
            SseEvent::End => break,
            SseEvent::Failed => {
                outcome.result = Err(TransportError::Network("the event stream failed".into()));
                return outcome;
            }
        }
    }
    outcome.checksum = digest.map(RecordDigest::finish);
    outcome
}
