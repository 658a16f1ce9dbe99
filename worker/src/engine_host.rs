//! The worker's side of [`lab_instrument::run::worker_protocol`]: runs what the page
//! asks with the shared engine, pairs the worker's own Resource Timing entries (a
//! worker has its own performance timeline: its fetches are reported there), posts
//! the run's aggregates four times a second while it goes on, and the whole run once
//! it is over and its late entries are in.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use lab_instrument::resource_timing;
use lab_instrument::run::config::RunConfig;
use lab_instrument::run::engine::{self, RunControl};
use lab_instrument::run::service_lanes::Client;
use lab_instrument::run::worker_protocol::{self, FromWorker, ToWorker};
use lab_instrument::run::{Phase, RunState};
use lab_instrument::transport::{TransportError, service_run};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// How often the page hears of a run under way.
const PROGRESS_MS: u32 = 250;
/// How long the end of a run waits for Resource Timing entries still missing: the
/// browser delivers them after the responses.
const LATE_ENTRIES_MS: f64 = 300.0;
const LATE_ENTRIES_POLL_MS: u32 = 10;

struct Host {
    scope: DedicatedWorkerGlobalScope,
    state: Rc<RefCell<RunState>>,
    control: RefCell<RunControl>,
    /// The page's number of the run under way (or last).
    run: Cell<u32>,
    /// Stop came while the run was being prepared.
    stop_asked: Cell<bool>,
    /// A service-to-service run under way: it is the backend's to stop.
    serving: Cell<bool>,
    /// Stop reached the backend before its run had started: ask again.
    stop_pending: Cell<bool>,
}

/// Installs the message handler and tells the page it is ready (messages sent before
/// the handler existed would be lost, so the page waits for this).
pub fn serve() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let host = Rc::new(Host {
        scope: scope.clone(),
        state: Rc::default(),
        control: RefCell::default(),
        run: Cell::new(0),
        stop_asked: Cell::new(false),
        serving: Cell::new(false),
        stop_pending: Cell::new(false),
    });
    let observed = host.state.clone();
    // Lives as long as the worker.
    std::mem::forget(resource_timing::observe(move |url, timing| {
        observed.borrow_mut().network_entry(&url, timing);
    }));
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        match worker_protocol::decode::<ToWorker>(&event.data()) {
            Ok(ToWorker::Start { run, settings }) => host.start(run, &settings),
            Ok(ToWorker::Stop) => {
                host.stop_asked.set(true);
                host.control.borrow().stop();
                if host.serving.get() {
                    wasm_bindgen_futures::spawn_local(stop_service_run(host.clone()));
                }
            }
            Err(reason) => web_sys::console::error_1(&reason.into()),
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&scope, &FromWorker::Ready);
}

/// Asks the backend to stop its service-to-service run (it then ends with what it
/// measured); if it had not started yet, the next progress message asks again.
async fn stop_service_run(host: Rc<Host>) {
    let origin = lab_instrument::transport::origin();
    if let Err(err) = service_run::stop(&origin).await {
        host.stop_pending.set(true);
        web_sys::console::warn_1(&format!("Stop: {err}").into());
    }
}

fn post(scope: &DedicatedWorkerGlobalScope, message: &FromWorker) {
    if let Err(err) = scope.post_message(&worker_protocol::encode(message)) {
        web_sys::console::error_1(&err);
    }
}

impl Host {
    fn start(self: &Rc<Self>, run: u32, settings: &str) {
        self.control.borrow().stop();
        self.run.set(run);
        let host = self.clone();
        let ended = move || {
            let host = host.clone();
            wasm_bindgen_futures::spawn_local(async move { host.end(run).await });
        };
        let config = RunConfig::from_query(settings);
        self.stop_asked.set(false);
        if config.client == Client::Service {
            self.serve(run, config);
            return;
        }
        self.serving.set(false);
        let host = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // A custom shape's run first fetches its descriptors.
            let prepared = engine::prepare(&config, &lab_instrument::transport::origin()).await;
            if host.run.get() != run {
                return; // the page has started another run meanwhile
            }
            match prepared {
                Ok(call) => {
                    let control = engine::start(config, call, host.state.clone(), ended);
                    if host.stop_asked.get() {
                        control.stop();
                    }
                    *host.control.borrow_mut() = control;
                    host.report_progress(run).await;
                }
                Err(error) => {
                    engine::fail(config, &host.state, error, host.stop_asked.get());
                    ended();
                }
            }
        });
    }

    /// A service-to-service run: the backend's runner measures, this worker passes its
    /// messages on (numbered by the backend as the page's run). A refusal or a broken stream ends the
    /// run with the reason as each side's one failed request.
    fn serve(self: &Rc<Self>, run: u32, config: RunConfig) {
        self.serving.set(true);
        self.stop_pending.set(false);
        let host = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let origin = lab_instrument::transport::origin();
            let ended = Cell::new(false);
            let followed = service_run::follow(&origin, &config.to_query(), run, |json, last| {
                if host.run.get() != run {
                    return; // the page has started another run meanwhile
                }
                if last {
                    ended.set(true);
                } else if host.stop_pending.replace(false) {
                    // Stop came before the backend had the run: ask again.
                    wasm_bindgen_futures::spawn_local(stop_service_run(host.clone()));
                }
                // Already this worker's message, as JSON: passed on as it is.
                if let Err(err) = host.scope.post_message(&json.into()) {
                    web_sys::console::error_1(&err);
                }
            })
            .await;
            if host.run.get() != run || ended.get() {
                return;
            }
            let error = followed.err().unwrap_or_else(|| {
                TransportError::Network("the service run ended without its figures".into())
            });
            engine::fail(config, &host.state, error, host.stop_asked.get());
            host.end(run).await;
        });
    }

    /// Posts the run's aggregates every [`PROGRESS_MS`] while it goes on.
    async fn report_progress(&self, run: u32) {
        loop {
            TimeoutFuture::new(PROGRESS_MS).await;
            if self.run.get() != run {
                return;
            }
            let message = {
                let state = self.state.borrow();
                if state.phase != Phase::Running {
                    return;
                }
                FromWorker::Progress {
                    run,
                    elapsed_ms: state.elapsed_ms(),
                    done: state.done,
                    stats: Box::new(state.data.stats.clone()),
                    timer: state.timer,
                }
            };
            post(&self.scope, &message);
        }
    }

    /// Waits for the run's last Resource Timing entries (at most [`LATE_ENTRIES_MS`]),
    /// then hands the whole run to the page.
    async fn end(&self, run: u32) {
        let waited_from = lab_instrument::transport::now_ms();
        while !self.state.borrow().all_matched()
            && lab_instrument::transport::now_ms() - waited_from < LATE_ENTRIES_MS
        {
            TimeoutFuture::new(LATE_ENTRIES_POLL_MS).await;
        }
        if self.run.get() != run {
            return; // the page has started another run meanwhile
        }
        let message = {
            let mut state = self.state.borrow_mut();
            // Moved, not copied: the page owns the run from here, and a long run's
            // samples are the largest thing the worker holds.
            FromWorker::Ended {
                run,
                phase: state.phase,
                elapsed_ms: state.elapsed_ms(),
                done: state.done,
                data: Box::new(std::mem::take(&mut state.data)),
                timer: state.timer,
            }
        };
        post(&self.scope, &message);
    }
}
