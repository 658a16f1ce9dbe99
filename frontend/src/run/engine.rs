//! The engine that drives a run: `concurrency` workers share one request counter,
//! pace themselves to the target rate, and record each call as it completes. Stop
//! aborts the workers, which drops their in-flight calls (each transport aborts its
//! fetch, a stream's included, when dropped) and keeps what was measured.

use std::cell::Cell;
use std::rc::Rc;

use futures_util::future::{AbortHandle, Abortable};
use leptos::task::spawn_local;

use super::config::{RunConfig, WorkloadKind};
use super::{LabRun, RunState};
use crate::transport::{self, Call, CallOptions, now_ms};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

/// The request a run repeats, built once for all its requests.
fn call_of(config: &RunConfig) -> Call {
    match config.workload {
        WorkloadKind::Ping => Call::Ping,
        WorkloadKind::Fetch => Call::Fetch(config.fetch_params()),
        WorkloadKind::Upload => Call::Upload(Rc::new(lab_proto::dataset::generate(
            config.shape,
            config.seed,
            config.count as usize,
        ))),
        WorkloadKind::Stream => Call::Stream {
            params: config.fetch_params(),
            interval_ms: config.interval_ms,
        },
    }
}

/// Starts `config` on `run`; `ended` is called once when the run finishes or stops.
pub fn start(config: RunConfig, run: LabRun, ended: impl Fn() + 'static) -> RunControl {
    let origin = transport::origin();
    let call = Rc::new(call_of(&config));
    let start_ms = now_ms();
    run.update(|state| {
        *state = RunState {
            config,
            browser: transport::user_agent(),
            origin: origin.clone(),
            start_ms,
            phase: Phase::Running,
            timer: Some(crate::timer_resolution::of_page()),
            ..RunState::default()
        }
    });

    let next = Rc::new(Cell::new(0u64));
    let workers = config.concurrency.min(config.total).max(1);
    let left = Rc::new(Cell::new(workers));
    let ended = Rc::new(ended);
    let mut aborts = Vec::new();
    for _ in 0..workers {
        let (abort, registration) = AbortHandle::new_pair();
        aborts.push(abort);
        let (next, left, ended, origin, call) = (
            next.clone(),
            left.clone(),
            ended.clone(),
            origin.clone(),
            call.clone(),
        );
        let work = async move {
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
                let verify = run
                    .peek(|state| state.data.stats[protocol.index()].checksum.is_none())
                    .unwrap_or(false);
                let options = CallOptions {
                    compression: config.compression,
                    verify,
                };
                let outcome = transport::call(protocol, &origin, &call, options).await;
                let recorded = run.update(|state| {
                    let index = state.data.record(seq, protocol, &outcome, state.start_ms);
                    if let Some(due) = due {
                        state.data.set_intended_start(index, due);
                    }
                    state.done += 1;
                    if let Some((index, timing)) =
                        state
                            .matcher
                            .call_done(&outcome.url, outcome.started_ms, index)
                    {
                        state.data.attach_network(index, timing);
                    }
                });
                if recorded.is_none() {
                    break; // the page is gone
                }
            }
        };
        spawn_local(async move {
            let aborted = Abortable::new(work, registration).await.is_err();
            left.set(left.get() - 1);
            if left.get() == 0 {
                run.update(|state| {
                    state.end_ms = Some(now_ms());
                    state.phase = if aborted {
                        Phase::Stopped
                    } else {
                        Phase::Finished
                    };
                });
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
