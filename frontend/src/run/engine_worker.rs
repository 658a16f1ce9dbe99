//! The page's end of the engine's Web Worker (`lab-worker`, built by Trunk next to the
//! page). The page starts and stops runs by message and keeps a copy of the run for
//! its views: the worker's progress (aggregates only) four times a second, then the
//! whole run once it is over ([`lab_instrument::run::worker_protocol`]). Every call,
//! its timing and its recording happen in the worker, so a response never waits for
//! the page to finish drawing.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lab_instrument::run::worker_protocol::{self, FromWorker, ToWorker};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{MessageEvent, Worker};

use super::config::RunConfig;
use super::{LabRun, Phase, RunState};
use crate::transport::now_ms;

/// The worker's loader, which Trunk writes next to `index.html` (`data-loader-shim`).
pub const WORKER_SCRIPT: &str = "/lab-worker_loader.js";
/// The same engine with the custom shapes' codec (prost-reflect), loaded only once the
/// person brings their own shape: it costs more than the rest of the engine.
pub const CUSTOM_WORKER_SCRIPT: &str = "/lab-custom-worker_loader.js";

/// The page's worker and the run it is running for the page.
pub struct EngineWorker {
    worker: Worker,
    run: LabRun,
    /// The worker has said it listens; until then a request waits in `pending`.
    ready: Cell<bool>,
    pending: RefCell<Option<ToWorker>>,
    /// The number of the page's latest run, and what to call when it ends.
    current: Cell<u32>,
    ended: RefCell<Option<Box<dyn Fn()>>>,
    _on_message: Closure<dyn Fn(MessageEvent)>,
    _on_error: Closure<dyn Fn(web_sys::Event)>,
}

impl EngineWorker {
    /// Starts the worker from `script`; its runs land in `run`.
    pub fn spawn(run: LabRun, script: &str) -> Result<Rc<Self>, String> {
        let worker = Worker::new(script)
            .map_err(|err| format!("cannot start the engine's worker: {err:?}"))?;
        Ok(Rc::new_cyclic(|this: &std::rc::Weak<Self>| {
            let this_message = this.clone();
            let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
                if let Some(this) = this_message.upgrade() {
                    this.receive(&event);
                }
            });
            let this_error = this.clone();
            let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
                web_sys::console::error_2(&"the engine's worker failed:".into(), &event);
                if let Some(this) = this_error.upgrade() {
                    this.fail();
                }
            });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            EngineWorker {
                worker,
                run,
                ready: Cell::new(false),
                pending: RefCell::new(None),
                current: Cell::new(0),
                ended: RefCell::new(None),
                _on_message: on_message,
                _on_error: on_error,
            }
        }))
    }

    /// Starts `config` in the worker; `ended` is called once, when the whole run has
    /// arrived (finished or stopped).
    pub fn start(&self, config: RunConfig, ended: impl Fn() + 'static) {
        let run = self.current.get() + 1;
        self.current.set(run);
        *self.ended.borrow_mut() = Some(Box::new(ended));
        // The worker's timer arrives with its first progress.
        self.run
            .update(|state| *state = RunState::started(config, now_ms(), None));
        self.send(ToWorker::Start {
            run,
            settings: config.to_query(),
        });
    }

    /// Stops the run under way: the worker cancels every call in flight and sends
    /// what was measured.
    pub fn stop(&self) {
        self.send(ToWorker::Stop);
    }

    fn send(&self, message: ToWorker) {
        if !self.ready.get() {
            // Only the latest request matters. A Stop of a Start still waiting for the
            // worker (a large one loading) ends that run here: no worker will.
            let stops_waiting_start = message == ToWorker::Stop
                && matches!(*self.pending.borrow(), Some(ToWorker::Start { .. }));
            if stops_waiting_start {
                *self.pending.borrow_mut() = None;
                self.fail();
                return;
            }
            *self.pending.borrow_mut() = Some(message);
            return;
        }
        if let Err(err) = self.worker.post_message(&worker_protocol::encode(&message)) {
            web_sys::console::error_1(&err);
        }
    }

    fn receive(&self, event: &MessageEvent) {
        let message = match worker_protocol::decode::<FromWorker>(&event.data()) {
            Ok(message) => message,
            Err(reason) => {
                web_sys::console::error_1(&reason.into());
                return;
            }
        };
        match message {
            FromWorker::Ready => {
                self.ready.set(true);
                if let Some(message) = self.pending.borrow_mut().take() {
                    self.send(message);
                }
            }
            FromWorker::Progress {
                run,
                elapsed_ms,
                done,
                stats,
                timer,
            } if run == self.current.get() => {
                self.run.update(|state| {
                    if state.phase == Phase::Running {
                        state.start_ms = now_ms() - elapsed_ms;
                        state.done = done;
                        state.data.stats = *stats;
                        state.timer = timer;
                    }
                });
                self.run.refresh();
            }
            FromWorker::Ended {
                run,
                phase,
                elapsed_ms,
                done,
                data,
                timer,
            } if run == self.current.get() => {
                self.run.update(|state| {
                    let end_ms = now_ms();
                    state.start_ms = end_ms - elapsed_ms;
                    state.end_ms = Some(end_ms);
                    state.phase = phase;
                    state.done = done;
                    state.data = *data;
                    state.timer = timer;
                });
                self.finish();
            }
            // A run the page has since replaced.
            FromWorker::Progress { .. } | FromWorker::Ended { .. } => {}
        }
    }

    /// The worker could not load or crashed: the run under way ends where it stands.
    fn fail(&self) {
        let running = self
            .run
            .update(|state| {
                let running = state.phase == Phase::Running;
                if running {
                    state.phase = Phase::Stopped;
                    state.end_ms = Some(now_ms());
                }
                running
            })
            .unwrap_or(false);
        if running {
            self.finish();
        }
    }

    fn finish(&self) {
        self.run.refresh();
        let ended = self.ended.borrow_mut().take();
        if let Some(ended) = ended {
            ended();
        }
    }
}

impl Drop for EngineWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}
