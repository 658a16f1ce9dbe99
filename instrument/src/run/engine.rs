//! The engine that drives a run: `concurrency` workers share one request counter,
//! pace themselves to the target rate, and record each call as it completes. Stop
//! aborts the workers, which drops their in-flight calls (each transport aborts its
//! fetch, a stream's included, when dropped) and keeps what was measured.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures_util::future::{AbortHandle, Abortable};
use wasm_bindgen_futures::spawn_local;

use super::RunState;
use super::config::{RunConfig, WorkloadKind};
use super::shape_choice::ShapeChoice;
use crate::transport::custom_call::{self, CustomWork};
use crate::transport::{self, Call, CallOptions, CallOutcome, TransportError, now_ms};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Phase {
    #[default]
    Idle,
    Running,
    Finished,
    Stopped,
}

impl Phase {
    /// The stable key the page exposes (`data-phase`) for tests and styles.
    pub fn key(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Running => "running",
            Phase::Finished => "finished",
            Phase::Stopped => "stopped",
        }
    }
}

/// Stops a run.
#[derive(Clone, Default)]
pub struct RunControl {
    aborts: Rc<Vec<AbortHandle>>,
}

impl RunControl {
    pub fn stop(&self) {
        for abort in self.aborts.iter() {
            abort.abort();
        }
    }
}

/// The request a run of a built-in shape repeats, built once for all its requests.
fn call_of(config: &RunConfig) -> Call {
    match (config.workload, config.shape) {
        (WorkloadKind::Ping, _) => Call::Ping,
        (WorkloadKind::Fetch, _) => Call::Fetch(config.fetch_params()),
        (WorkloadKind::Upload, ShapeChoice::BuiltIn(shape)) => Call::Upload(Rc::new(
            lab_proto::dataset::generate(shape, config.seed, config.count as usize),
        )),
        (WorkloadKind::Upload, ShapeChoice::Custom(_)) => {
            unreachable!("a custom shape's call is prepared with its codec")
        }
        (WorkloadKind::Stream, _) => Call::Stream {
            params: config.fetch_params(),
            interval_ms: config.interval_ms,
        },
        // Neither protocol can send a stream from a browser: each call says why.
        (WorkloadKind::ClientStream, _) => Call::ClientStream,
        // A custom shape's records are not the contract's `Record`: the echo sends
        // telemetry then.
        (WorkloadKind::Echo, shape) => {
            let shape = match shape {
                ShapeChoice::BuiltIn(shape) => shape,
                ShapeChoice::Custom(_) => lab_proto::v1::Shape::Telemetry,
            };
            Call::Echo(Rc::new(lab_proto::dataset::generate(
                shape,
                config.seed,
                config.count as usize,
            )))
        }
    }
}

/// The request a run repeats. A custom shape's needs its descriptors from the backend
/// (and an upload, its records: generated there, from the shape's sample), fetched
/// here, before the run's clock starts.
pub async fn prepare(config: &RunConfig, origin: &str) -> Result<Call, TransportError> {
    let Some(id) = config.shape.custom() else {
        return Ok(call_of(config));
    };
    let (count, seed) = (config.count, config.seed);
    let work = match config.workload {
        WorkloadKind::Ping | WorkloadKind::Echo | WorkloadKind::ClientStream => {
            return Ok(call_of(config));
        }
        WorkloadKind::Fetch => CustomWork::Fetch { count, seed },
        WorkloadKind::Stream => CustomWork::Stream {
            count,
            seed,
            interval_ms: config.interval_ms,
        },
        WorkloadKind::Upload => CustomWork::Upload,
    };
    let custom = custom_call::prepare(origin, id, work, count, seed).await?;
    Ok(Call::Custom(Rc::new(custom)))
}

/// Ends `config`'s run on `run` before any request: its preparation failed with
/// `error`, shown as each protocol's one failed request; `stopped` when Stop came
/// meanwhile.
pub fn fail(config: RunConfig, run: &RefCell<RunState>, error: TransportError, stopped: bool) {
    let start_ms = now_ms();
    let mut state = run.borrow_mut();
    *state = RunState::started(config, start_ms, Some(crate::timer_resolution::here()));
    let protocols = if config.protocol == super::config::ProtocolChoice::Both {
        2
    } else {
        1
    };
    for seq in 0..protocols {
        let mut outcome = CallOutcome::started(String::new(), start_ms);
        outcome.result = Err(error.clone());
        state
            .data
            .record(seq, config.protocol.protocol_for(seq), &outcome, start_ms);
        state.done += 1;
    }
    state.end_ms = Some(now_ms());
    state.phase = if stopped {
        Phase::Stopped
    } else {
        Phase::Finished
    };
}

/// Starts `config` on `run`, which it resets, repeating `call` (from [`prepare`]);
/// `ended` is called once when the run finishes or stops. Runs in whichever browser
/// global calls it (the lab's worker).
pub fn start(
    config: RunConfig,
    call: Call,
    run: Rc<RefCell<RunState>>,
    ended: impl Fn() + 'static,
) -> RunControl {
    let origin = transport::origin();
    let call = Rc::new(call);
    let start_ms = now_ms();
    *run.borrow_mut() = RunState::started(config, start_ms, Some(crate::timer_resolution::here()));

    let next = Rc::new(Cell::new(0u64));
    let workers = config.concurrency.min(config.total).max(1);
    let left = Rc::new(Cell::new(workers));
    let ended = Rc::new(ended);
    let mut aborts = Vec::new();
    for _ in 0..workers {
        let (abort, registration) = AbortHandle::new_pair();
        aborts.push(abort);
        let (next, left, ended, origin, call, run) = (
            next.clone(),
            left.clone(),
            ended.clone(),
            origin.clone(),
            call.clone(),
            run.clone(),
        );
        let recording = run.clone();
        let work = async move {
            let run = recording;
            loop {
                let seq = next.get();
                if seq >= u64::from(config.total) {
                    break;
                }
                next.set(seq + 1);
                // With a target rate, the request's place in the schedule (ms after
                // the run's start).
                let due = (config.rate > 0).then(|| seq as f64 * 1_000.0 / f64::from(config.rate));
                if let Some(due) = due {
                    let wait = start_ms + due - now_ms();
                    if wait >= 1.0 {
                        gloo_timers::future::TimeoutFuture::new(wait as u32).await;
                    }
                }
                let protocol = config.protocol.protocol_for(seq);
                // Checksums are taken until each protocol has one: the first responses.
                let verify = run.borrow().data.stats[protocol.index()].checksum.is_none();
                let options = CallOptions {
                    compression: config.compression,
                    verify,
                };
                let outcome = transport::call(protocol, &origin, &call, options).await;
                let mut state = run.borrow_mut();
                let index = state.data.record(seq, protocol, &outcome, start_ms);
                if let Some(due) = due {
                    state.data.set_intended_start(index, due);
                }
                state.done += 1;
                state.call_done(&outcome.url, outcome.started_ms, index);
            }
        };
        spawn_local(async move {
            let aborted = Abortable::new(work, registration).await.is_err();
            left.set(left.get() - 1);
            if left.get() == 0 {
                {
                    let mut state = run.borrow_mut();
                    // A run started since (after a Stop) owns the state now.
                    if state.start_ms != start_ms {
                        return;
                    }
                    state.end_ms = Some(now_ms());
                    state.phase = if aborted {
                        Phase::Stopped
                    } else {
                        Phase::Finished
                    };
                }
                ended();
            }
        });
    }
    RunControl {
        aborts: Rc::new(aborts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_workload_is_one_call_built_once() {
        let mut config = RunConfig {
            workload: WorkloadKind::Stream,
            interval_ms: 25,
            ..RunConfig::default()
        };
        assert!(matches!(
            call_of(&config),
            Call::Stream { params, interval_ms: 25 } if params == config.fetch_params()
        ));
        config.workload = WorkloadKind::Upload;
        assert!(
            matches!(call_of(&config), Call::Upload(records) if records.len() == config.count as usize)
        );
        config.workload = WorkloadKind::Ping;
        assert!(matches!(call_of(&config), Call::Ping));
    }
}
