//! The messages between the page and the worker that runs its engine. The page sends
//! the settings of a run (their URL form) and Stop; the worker answers with the run's
//! progress four times a second — its aggregates only, so a message costs the same
//! after 100 requests as after 100,000 — and, once the run is over and the browser's
//! last Resource Timing entries are in, the whole run, every sample included.
//!
//! Each message is one JSON string: `postMessage` copies a string cheaply, and the
//! types already have their serde form.

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use super::Phase;
use super::data::{ProtocolStats, RunData};
use crate::timer_resolution::Timer;

/// What the page asks of its worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// Start run number `run` with these settings (`RunConfig::to_query`), ending
    /// the one under way, if any.
    Start { run: u32, settings: String },
    /// Stop the run under way: every call in flight is cancelled.
    Stop,
}

/// What the worker tells its page about run number `run`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker listens: messages sent before this one would have been lost.
    Ready,
    /// The run goes on: what the live views read.
    Progress {
        run: u32,
        elapsed_ms: f64,
        done: u64,
        stats: Box<[ProtocolStats; 2]>,
        timer: Option<Timer>,
    },
    /// The run is over (finished or stopped): everything it measured.
    Ended {
        run: u32,
        phase: Phase,
        elapsed_ms: f64,
        done: u64,
        data: Box<RunData>,
        timer: Option<Timer>,
    },
}

/// `message` as `postMessage` takes it.
pub fn encode(message: &impl Serialize) -> JsValue {
    // Our own types, made of numbers and strings: serialising them cannot fail.
    JsValue::from_str(&serde_json::to_string(message).unwrap_or_default())
}

/// A message [`encode`] produced; anything else is refused with the reason.
pub fn decode<T: for<'de> Deserialize<'de>>(data: &JsValue) -> Result<T, String> {
    let text = data
        .as_string()
        .ok_or_else(|| "a message that is not the lab's (not a string)".to_owned())?;
    from_text(&text)
}

fn from_text<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|err| format!("a message that is not the lab's: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::timing::NetworkTiming;
    use crate::transport::{CallOutcome, Protocol, TransportError};

    fn measured() -> RunData {
        let mut data = RunData::default();
        let ok = CallOutcome {
            e2e_ms: 3.25,
            payload_bytes: 120,
            records: 10,
            checksum: Some(7),
            ..CallOutcome::started("/a".into(), 10.0)
        };
        let index = data.record(0, Protocol::GrpcWeb, &ok, 0.0);
        data.attach_network(
            index,
            NetworkTiming {
                start_ms: 10.0,
                ttfb_ms: 1.0,
                encoded_body: 130,
                decoded_body: 130,
                protocol: "h2".into(),
                ..NetworkTiming::default()
            },
        );
        let failed = CallOutcome {
            e2e_ms: 0.5,
            result: Err(TransportError::Network("reset".into())),
            ..CallOutcome::started("/b".into(), 11.0)
        };
        data.record(1, Protocol::Rest, &failed, 0.0);
        data
    }

    fn through_json<T: Serialize + for<'de> Deserialize<'de>>(message: &T) -> T {
        from_text(&serde_json::to_string(message).expect("serialises")).expect("parses")
    }

    #[test]
    fn a_finished_run_arrives_whole() {
        let data = measured();
        let message = FromWorker::Ended {
            run: 3,
            phase: Phase::Finished,
            elapsed_ms: 12.5,
            done: 2,
            data: Box::new(data.clone()),
            timer: Some(Timer {
                step_ms: 0.005,
                isolated: true,
            }),
        };
        let FromWorker::Ended {
            run,
            phase,
            data: arrived,
            timer,
            ..
        } = through_json(&message)
        else {
            panic!("an Ended message");
        };
        assert_eq!((run, phase), (3, Phase::Finished));
        assert_eq!(arrived.samples, data.samples);
        assert_eq!(timer.map(|t| t.step_ms), Some(0.005));
        for protocol in Protocol::ALL {
            assert_eq!(
                arrived.summary(protocol, true),
                data.summary(protocol, true),
                "{protocol:?}: the page computes what the worker would"
            );
            assert_eq!(
                arrived.summary(protocol, false),
                data.summary(protocol, false),
                "{protocol:?}: live figures from the aggregates alone"
            );
        }
    }

    #[test]
    fn empty_aggregates_survive_json_which_has_no_infinities() {
        let empty = RunData::default();
        let arrived = through_json(&empty);
        assert_eq!(arrived.stats[0].latency, empty.stats[0].latency);
        assert_eq!(arrived.stats[1].timeline, empty.stats[1].timeline);
        let data = measured();
        assert_eq!(
            through_json(&data).stats[0].timeline,
            data.stats[0].timeline
        );
    }

    #[test]
    fn the_page_s_requests_round_trip_and_foreign_data_is_refused() {
        let start = ToWorker::Start {
            run: 1,
            settings: "protocol=both&total=10".into(),
        };
        assert_eq!(through_json(&start), start);
        assert_eq!(through_json(&ToWorker::Stop), ToWorker::Stop);
        assert!(from_text::<ToWorker>("{\"Launch\":1}").is_err());
        let err = from_text::<FromWorker>("[1,2]").unwrap_err();
        assert!(err.starts_with("a message that is not the lab's"), "{err}");
    }
}
