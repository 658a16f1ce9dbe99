//! The state of the current run, and the engine that drives it: `concurrency` workers
//! share one request counter, pace themselves to the target rate, and record each
//! call as it completes. Stop aborts the workers, which drops their in-flight calls
//! (tonic-web-wasm-client aborts its `fetch` on drop) and keeps what was measured.

use std::cell::Cell;
use std::rc::Rc;

use futures_util::future::{AbortHandle, Abortable};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::run_config::{RunConfig, WorkloadKind};
use crate::run_data::RunData;
use crate::timing_match::{NetworkTiming, TimingMatcher};
use crate::transport::{self, Call, now_ms};

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
    /// The name the page exposes (`data-phase`) for tests and styles.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Running => "running",
            Phase::Finished => "finished",
            Phase::Stopped => "stopped",
        }
    }
}

/// Everything about the current (or last) run.
#[derive(Debug, Default)]
pub struct LabRun {
    pub config: RunConfig,
    pub data: RunData,
    pub matcher: TimingMatcher<usize>,
    /// `performance.now()` when the run started.
    pub start_ms: f64,
    pub end_ms: Option<f64>,
    pub done: u64,
    pub phase: Phase,
}

impl LabRun {
    /// Elapsed run time in ms, frozen once it is over.
    pub fn elapsed_ms(&self) -> f64 {
        if self.phase == Phase::Idle {
            return 0.0;
        }
        self.end_ms.unwrap_or_else(now_ms) - self.start_ms
    }

    /// The browser reported a fetch: attach it to its sample if that is known yet.
    pub fn network_entry(&mut self, url: &str, timing: NetworkTiming) {
        // Fetches from before this run (the parity check, an earlier run) share URLs
        // with it: they must not pair with its calls.
        if self.phase == Phase::Idle || timing.start_ms < self.start_ms {
            return;
        }
        if let Some((index, timing)) = self.matcher.entry_arrived(url, timing) {
            self.data.attach_network(index, timing);
        }
    }
}

/// The run's shared state: arena-stored so async workers and views reach it alike.
pub type SharedRun = StoredValue<LabRun, LocalStorage>;

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

/// Starts `config` on `run`; `changed` is called when the run ends.
pub fn start(config: RunConfig, run: SharedRun, changed: impl Fn() + 'static) -> RunControl {
    let origin = transport::origin();
    let call = Rc::new(match config.workload {
        WorkloadKind::Ping => Call::Ping,
        WorkloadKind::Fetch | WorkloadKind::Stream => Call::Fetch(config.fetch_params()),
        WorkloadKind::Upload => Call::Upload(Rc::new(lab_proto::dataset::generate(
            config.shape,
            config.seed,
            config.count as usize,
        ))),
    });
    let call = match config.workload {
        WorkloadKind::Stream => Rc::new(Call::Stream(config.fetch_params(), config.interval_ms)),
        _ => call,
    };
    let start_ms = now_ms();
    run.set_value(LabRun {
        config,
        start_ms,
        phase: Phase::Running,
        ..LabRun::default()
    });

    let next = Rc::new(Cell::new(0u64));
    let workers = config.concurrency.min(config.total).max(1);
    let left = Rc::new(Cell::new(workers));
    let changed = Rc::new(changed);
    let mut aborts = Vec::new();
    for _ in 0..workers {
        let (abort, registration) = AbortHandle::new_pair();
        aborts.push(abort);
        let (next, left, changed, origin, call) = (
            next.clone(),
            left.clone(),
            changed.clone(),
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
                if config.rate > 0 {
                    let due = start_ms + seq as f64 * 1_000.0 / f64::from(config.rate);
                    let wait = due - now_ms();
                    if wait >= 1.0 {
                        gloo_timers::future::TimeoutFuture::new(wait as u32).await;
                    }
                }
                let protocol = config.protocol.protocol_for(seq);
                let outcome = transport::call(protocol, &origin, &call, config.compression).await;
                run.update_value(|run| {
                    let index = run.data.record(seq, protocol, &outcome, run.start_ms);
                    run.done += 1;
                    if let Some((index, timing)) =
                        run.matcher
                            .call_done(&outcome.url, outcome.started_ms, index)
                    {
                        run.data.attach_network(index, timing);
                    }
                });
            }
        };
        spawn_local(async move {
            let aborted = Abortable::new(work, registration).await.is_err();
            left.set(left.get() - 1);
            if left.get() == 0 {
                run.update_value(|run| {
                    run.end_ms = Some(now_ms());
                    run.phase = if aborted {
                        Phase::Stopped
                    } else {
                        Phase::Finished
                    };
                });
                changed();
            }
        });
    }
    RunControl {
        aborts: Rc::new(aborts),
    }
}
