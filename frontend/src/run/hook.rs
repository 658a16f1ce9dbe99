//! The wiring between the run and the page, in one place: the run handle and the
//! engine's worker that fills it, the settings in the URL, the history in
//! `localStorage`, the backend's listeners (one per HTTP version) and their
//! connection counts, and the commands (run, stop, export, switch HTTP version).
//! Components call [`use_lab_run`] once and only read what it returns.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::cell_frame::{self, CellMessage, Embedding};
use super::config::{HttpVersion, Network, RunConfig};
use super::data::Sample;
use super::engine_worker::{self, EngineWorker};
use super::history::{self, SavedRun, SavedSummary};
use super::matrix::{self, CellFigures, MatrixCell, MatrixPlan, MatrixState};
use super::service_lanes::Client;
use super::shape_choice::{CustomShapeId, ShapeChoice};
use super::sweep::{SweepPlan, SweepState};
use super::sweep_point::{PointFigures, measure};
use super::{LabRun, Phase, RunState};
use crate::export::{self, ExportFormat};
use crate::transport::custom_call;
use crate::transport::server_status::{self, Listener};
use crate::transport::{self, Protocol, TransportError};
use lab_proto::contract::custom::ShapeInfo;

/// How long a matrix cell's frame may take to load and start its run before the cell
/// counts as failed (a listener whose certificate the browser refuses never starts).
const CELL_START_MS: u32 = 30_000;

/// What the page shows, and so what the claims and the exports follow: the last thing
/// started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Run,
    Sweep,
    Matrix,
}

/// The page URL's query, if any.
fn url_query() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// Puts `query` in the URL (without reloading), so the link reproduces the setup.
fn query_to_url(query: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let url = format!("?{query}");
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// A sweep or a matrix as the history keeps it: its settings, and each protocol's
/// requests and errors over all its points or cells (its figures are per point or
/// cell: see the export).
fn saved_series<'a>(
    browser: &str,
    origin: &str,
    settings: String,
    points: impl Iterator<Item = &'a PointFigures> + Clone,
) -> SavedRun {
    SavedRun {
        saved_at_ms: js_sys::Date::now(),
        browser: browser.to_owned(),
        origin: origin.to_owned(),
        settings,
        summaries: Protocol::ALL
            .iter()
            .map(|p| {
                let sum = |f: fn(&super::sweep_point::ProtocolFigures) -> u64| {
                    points.clone().map(|point| f(point.of(*p))).sum()
                };
                SavedSummary {
                    protocol: p.label().to_owned(),
                    requests: sum(|f| f.requests),
                    errors: sum(|f| f.errors),
                    p50_ms: None,
                    p99_ms: None,
                    requests_per_second: 0.0,
                    wire_bytes: None,
                }
            })
            .collect(),
        connections_opened: None,
    }
}

/// The run as the history keeps it: settings and exact summaries.
fn saved(state: &RunState) -> SavedRun {
    SavedRun {
        saved_at_ms: js_sys::Date::now(),
        browser: state.browser.clone(),
        origin: state.origin.clone(),
        settings: state.config.to_query(),
        summaries: Protocol::ALL
            .iter()
            .map(|p| (&state.data.summary(*p, true)).into())
            .collect(),
        connections_opened: state.connections_opened,
    }
}

/// The file an export produces from `state` (with `custom`, the person's shape, when
/// the run used it: the schema travels with the figures).
fn export_contents(state: &RunState, format: ExportFormat, custom: Option<&ShapeInfo>) -> String {
    match format {
        ExportFormat::Json => {
            let summaries = Protocol::ALL.map(|p| state.data.summary(p, true));
            let context = export::RunContext {
                config: &state.config.to_query(),
                browser: &state.browser,
                origin: &state.origin,
                timer: state.timer,
                custom_shape: export::used_shape(&state.config, custom),
                sockets: state.data.sockets.as_ref(),
            };
            export::run_json(&context, &summaries, &state.data.to_csv())
        }
        ExportFormat::Csv => state.data.to_csv(),
    }
}

/// The lab's run and its commands, for the views. `Copy`: pass it anywhere.
#[derive(Clone, Copy)]
pub struct LabSession {
    /// The current (or last) run.
    pub run: LabRun,
    /// The settings being edited: the next run's.
    pub config: RwSignal<RunConfig>,
    /// Where the run stands.
    pub phase: Memo<Phase>,
    /// The backend's listeners, once it has named them.
    pub listeners: RwSignal<Vec<Listener>>,
    /// The next sweep's plan, as the form edits it.
    pub sweep_plan: RwSignal<SweepPlan>,
    /// The current (or last) sweep.
    pub sweep: RwSignal<Option<SweepState>>,
    /// Why the last sweep could not start.
    pub sweep_error: RwSignal<Option<String>>,
    /// The next matrix's plan, as its form edits it.
    pub matrix_plan: RwSignal<MatrixPlan>,
    /// The current (or last) matrix.
    pub matrix: RwSignal<Option<MatrixState>>,
    /// Why the last matrix could not start.
    pub matrix_error: RwSignal<Option<String>>,
    /// Whether the page shows a run, a sweep or a matrix: the claims and the exports
    /// follow it.
    pub showing: RwSignal<Shown>,
    /// The person's own shape, once the backend has registered it (issue 22).
    pub custom_shape: RwSignal<Option<ShapeInfo>>,
    /// Why the last shape was refused, or why the link's shape is not on this backend.
    pub custom_shape_error: RwSignal<Option<String>>,
    /// A run or a sweep goes on.
    pub busy: Memo<bool>,
    /// The run's figures per protocol and compared (ratios with their intervals), once
    /// it is over: computed once for the results table and the claims, as they need
    /// every sample, sorted.
    pub run_figures: Memo<Option<PointFigures>>,
    history: RwSignal<Vec<SavedRun>>,
    export_error: RwSignal<Option<String>>,
    /// The worker that runs the engine (`None` if the browser would not start it).
    engine: StoredValue<Option<Rc<EngineWorker>>, LocalStorage>,
    /// The worker that runs custom shapes, started once one is registered or run.
    custom_engine: StoredValue<Option<Rc<EngineWorker>>, LocalStorage>,
    /// Connections the page's listener had accepted when last asked: the count a run
    /// starts from (the page sends nothing between runs).
    accepted: StoredValue<Option<u64>>,
    /// Set when this page is a matrix cell's frame: it runs once and reports.
    embedding: StoredValue<Option<Embedding>>,
}

/// The listener serving this page (with its connection count so far), and all of them.
/// Over HTTP/3 it is the QUIC listener, which shares its origin with the HTTP/2 one.
async fn connection_count(http: HttpVersion) -> Option<(Listener, Vec<Listener>)> {
    let origin = transport::origin();
    let listeners = server_status::listeners(&origin).await.ok()?;
    let mut serving = server_status::serving(&listeners, &origin)?.clone();
    if http == HttpVersion::QuicH3 && serving.name == HttpVersion::TlsH2.key() {
        let network = Network::from_key(&serving.network.name).unwrap_or_default();
        serving = listener_of(&listeners, http, network)?.clone();
    }
    Some((serving, listeners))
}

impl LabSession {
    /// Makes a registered custom shape the next run's, its count within what fits.
    pub fn use_custom_shape(self, info: ShapeInfo) {
        if let Some(id) = CustomShapeId::parse(&info.id) {
            self.config.try_update(|c| {
                c.shape = ShapeChoice::Custom(id);
                c.count = c.count.min(info.max_count.max(1));
            });
        }
        self.custom_shape_error.try_set(None);
        self.custom_shape.try_set(Some(info));
        // Its worker loads while the person reads the schema.
        self.custom_engine();
    }

    /// A link naming a custom shape: its schema and sizes from the backend, or a clear
    /// word that this backend no longer has it.
    fn load_custom_shape(self) {
        let Some(id) = self.config.with_untracked(|c| c.shape.custom()) else {
            return;
        };
        spawn_local(async move {
            match custom_call::info(&transport::origin(), id).await {
                Ok(info) => self.use_custom_shape(info),
                Err(err) => {
                    let reason = match err {
                        TransportError::Http { detail, .. } => detail,
                        other => other.to_string(),
                    };
                    self.custom_shape_error.try_set(Some(format!(
                        "The shape in this link ({}) cannot be used: {reason}",
                        id.hex()
                    )));
                }
            }
        });
    }

    /// The last runs kept in this browser, newest first.
    pub fn history(self) -> Signal<Vec<SavedRun>> {
        self.history.into()
    }

    /// Why the last export failed, if it did.
    pub fn export_error(self) -> Signal<Option<String>> {
        self.export_error.into()
    }

    /// Asks the backend for its listeners and the page's connection count.
    fn take_connection_count(self) {
        let http = self.config.with_untracked(|c| c.http);
        spawn_local(async move {
            if let Some((serving, listeners)) = connection_count(http).await {
                self.accepted
                    .try_set_value(Some(serving.connections_accepted));
                let network = Network::from_key(&serving.network.name);
                let version = HttpVersion::from_key(&serving.name);
                self.config.try_update(|c| {
                    c.http = version.unwrap_or(c.http);
                    c.network = network.unwrap_or(c.network);
                });
                self.listeners.try_set(listeners);
            }
        });
    }

    /// Starts a run with the current settings, which also go into the URL.
    pub fn start(self) {
        let settings = self.config.get_untracked();
        let embedding = self.embedding.get_value();
        if embedding.is_none() {
            query_to_url(&settings.to_query());
        }
        self.showing.set(Shown::Run);
        let (run, history) = (self.run, self.history);
        let before = self.accepted.get_value();
        let ended = move || {
            run.refresh();
            // The run joins the history at once (a matrix cell's joins the matrix
            // instead); the connections it opened follow when the backend has counted
            // them. Until then a new run has no `before`, so it cannot count this
            // one's connections as its own.
            let Some((saved, start_ms)) = run.peek(|state| (saved(state), state.start_ms)) else {
                return;
            };
            let saved_at_ms = saved.saved_at_ms;
            if embedding.is_none() {
                history.set(history::save(saved));
            }
            // A service-to-service run's connections are the runner's: it counts them.
            if settings.client == Client::Service {
                return;
            }
            self.accepted.set_value(None);
            let embedding = embedding.clone();
            spawn_local(async move {
                let opened = async {
                    let (serving, _) = connection_count(settings.http).await?;
                    let after = serving.connections_accepted;
                    self.accepted.try_set_value(Some(after));
                    // Only into this run: a newer one may have started meanwhile.
                    if run.peek(|state| state.start_ms == start_ms) != Some(true) {
                        return None;
                    }
                    let opened = after.saturating_sub(before?);
                    run.update(|state| state.connections_opened = Some(opened));
                    run.refresh();
                    Some(opened)
                }
                .await;
                match embedding {
                    Some(embedding) => {
                        run.peek(|state| embedding.report(&state.data.samples, opened));
                    }
                    None => {
                        if let Some(opened) = opened {
                            history.set(history::set_connections(saved_at_ms, opened));
                        }
                    }
                }
            });
        };
        self.run_in_worker(settings, ended);
        if let Some(embedding) = self.embedding.get_value() {
            embedding.started();
        }
        run.refresh();
    }

    /// Stops the run (or the sweep): every call in flight is cancelled, what was
    /// measured stays (a sweep keeps its finished points).
    pub fn stop(self) {
        if self
            .sweep
            .with_untracked(|s| s.as_ref().is_some_and(|s| s.phase == Phase::Running))
        {
            self.end_sweep(Phase::Stopped);
        }
        if self
            .matrix
            .with_untracked(|m| m.as_ref().is_some_and(|m| m.phase == Phase::Running))
        {
            // Its frame goes with it, and with the frame every call it had in flight.
            self.end_matrix(Phase::Stopped);
        }
        for engine in [self.engine, self.custom_engine] {
            engine.with_value(|engine| {
                if let Some(engine) = engine {
                    engine.stop();
                }
            });
        }
    }

    /// The worker for custom shapes, started now if it is not yet.
    fn custom_engine(self) -> Option<Rc<EngineWorker>> {
        if self.custom_engine.with_value(Option::is_none) {
            let engine = EngineWorker::spawn(self.run, engine_worker::CUSTOM_WORKER_SCRIPT)
                .inspect_err(|err| web_sys::console::error_1(&err.into()))
                .ok();
            self.custom_engine.set_value(engine);
        }
        self.custom_engine.get_value()
    }

    /// Runs `settings` in the engine's worker (the custom shapes' one for a custom
    /// shape); `ended` once it has all arrived.
    fn run_in_worker(self, settings: RunConfig, ended: impl Fn() + 'static) {
        let engine = match settings.shape.custom() {
            Some(_) => self.custom_engine(),
            None => self.engine.get_value(),
        };
        match engine {
            Some(engine) => engine.start(settings, ended),
            None => self.export_error.set(Some(
                "This browser would not start the lab's worker: cannot run.".into(),
            )),
        }
    }

    /// Starts the HTTP-version × network matrix of the current settings with the
    /// matrix form's plan; both go into the URL. Its cells are the TLS listeners of
    /// the chosen networks that the backend serves.
    pub fn start_matrix(self) {
        let base = self.config.get_untracked();
        let plan = self.matrix_plan.get_untracked();
        let cells: Vec<MatrixCell> = self.listeners.with_untracked(|listeners| {
            plan.networks
                .iter()
                .flat_map(|network| {
                    matrix::VERSIONS.into_iter().filter_map(|http| {
                        listener_of(listeners, http, *network)?;
                        // HTTP/3 is reached through the HTTP/2 listener's origin, whose
                        // Alt-Svc names the QUIC one.
                        let page = match http {
                            HttpVersion::QuicH3 => HttpVersion::TlsH2,
                            other => other,
                        };
                        listener_of(listeners, page, *network).map(|l| MatrixCell {
                            http,
                            network: *network,
                            origin: l.url.trim_end_matches('/').to_owned(),
                            started: false,
                            outcome: None,
                        })
                    })
                })
                .collect()
        });
        if !cells.iter().any(|c| c.http == HttpVersion::TlsHttp1)
            || !cells.iter().any(|c| c.http != HttpVersion::TlsHttp1)
        {
            self.matrix_error.set(Some(
                "the backend serves no TLS listeners for these networks: start it with TLS \
                 (the demo does) to compare HTTP versions"
                    .into(),
            ));
            return;
        }
        self.matrix_error.set(None);
        let matrix = MatrixState {
            plan,
            base,
            cells,
            phase: Phase::Running,
            token: format!("{}", js_sys::Date::now() as u64),
            browser: transport::user_agent(),
            origin: transport::origin(),
            timer: Some(crate::timer_resolution::here()),
        };
        query_to_url(&matrix.to_query());
        self.matrix.set(Some(matrix));
        self.showing.set(Shown::Matrix);
        self.watch_cell_start();
    }

    /// Fails the cell under way if its frame has not started its run in time, and
    /// goes on to the next.
    fn watch_cell_start(self) {
        let Some(index) = self
            .matrix
            .with_untracked(|m| m.as_ref().and_then(MatrixState::current))
        else {
            self.end_matrix(Phase::Finished);
            return;
        };
        spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(CELL_START_MS).await;
            let silent = self.matrix.with_untracked(|m| {
                m.as_ref()
                    .is_some_and(|m| m.current() == Some(index) && !m.cells[index].started)
            });
            if silent {
                self.finish_cell(
                    index,
                    Err(format!(
                        "its page did not start within {} s (does the browser trust the \
                         listener's certificate? cargo xtask trust)",
                        CELL_START_MS / 1_000
                    )),
                );
            }
        });
    }

    /// Records cell `index`'s outcome and moves on to the next cell.
    fn finish_cell(self, index: usize, outcome: Result<CellFigures, String>) {
        let moved = self.matrix.try_update(|m| match m {
            Some(m) if m.current() == Some(index) => {
                m.cells[index].outcome = Some(outcome);
                true
            }
            _ => false,
        });
        if moved == Some(true) {
            self.watch_cell_start();
        }
    }

    /// A message posted to this page: taken only from the frame of the matrix cell
    /// under way (its origin and its tag).
    fn cell_message(self, event: &web_sys::MessageEvent) {
        let Some(index) = self.matrix.with_untracked(|m| {
            let m = m.as_ref()?;
            let index = m.current()?;
            (event.origin() == m.cells[index].origin).then_some(index)
        }) else {
            return;
        };
        let Some((tag, message)) = cell_frame::read(&event.data()) else {
            return;
        };
        if self
            .matrix
            .with_untracked(|m| m.as_ref().map(|m| m.frame_tag(index)))
            != Some(tag)
        {
            return;
        }
        match message {
            CellMessage::Started => self.matrix.update(|m| {
                if let Some(m) = m {
                    m.cells[index].started = true;
                }
            }),
            CellMessage::Done {
                connections_opened,
                samples,
            } => {
                let concurrency = self
                    .matrix
                    .with_untracked(|m| m.as_ref().map_or(1, |m| m.base.concurrency));
                let latencies = Protocol::ALL.map(|p| {
                    samples
                        .iter()
                        .filter(|s| s.protocol == p && s.error.is_none())
                        .map(|s| s.e2e_ms)
                        .collect()
                });
                self.finish_cell(
                    index,
                    Ok(CellFigures {
                        figures: measure(&samples, concurrency),
                        latencies,
                        connections_opened,
                    }),
                );
            }
        }
    }

    /// Ends the matrix in `phase` and keeps it in the history.
    fn end_matrix(self, phase: Phase) {
        self.matrix.update(|m| {
            if let Some(m) = m {
                m.phase = phase;
            }
        });
        let saved = self.matrix.with_untracked(|m| {
            m.as_ref().map(|m| {
                saved_series(
                    &m.browser,
                    &m.origin,
                    m.to_query(),
                    m.cells
                        .iter()
                        .filter_map(|c| c.measured())
                        .map(|c| &c.figures),
                )
            })
        });
        if let Some(saved) = saved {
            self.history.set(history::save(saved));
        }
    }

    /// Starts a sweep of the current settings with the sweep form's plan; both go into
    /// the URL. A plan that cannot run is refused with the reason.
    pub fn start_sweep(self) {
        let base = self.config.get_untracked();
        let plan = self.sweep_plan.get_untracked();
        if let Err(reason) = plan.check(&base) {
            self.sweep_error.set(Some(reason));
            return;
        }
        self.sweep_error.set(None);
        let sweep = SweepState {
            plan,
            base,
            points: Vec::new(),
            phase: Phase::Running,
            browser: transport::user_agent(),
            origin: transport::origin(),
            timer: Some(crate::timer_resolution::here()),
        };
        query_to_url(&sweep.to_query());
        self.sweep.set(Some(sweep));
        self.showing.set(Shown::Sweep);
        self.run_sweep_point();
    }

    /// Runs the sweep's next point; after the last one, ends the sweep.
    fn run_sweep_point(self) {
        let Some((plan, base, next)) = self.sweep.with_untracked(|s| {
            s.as_ref()
                .filter(|s| s.phase == Phase::Running)
                .map(|s| (s.plan.clone(), s.base, s.points.len()))
        }) else {
            return;
        };
        let Some(&value) = plan.values.get(next) else {
            self.end_sweep(Phase::Finished);
            return;
        };
        let config = plan.config_at(&base, value);
        let warmup = plan.warmup_requests();
        let run = self.run;
        let ended = move || {
            spawn_local(async move {
                let figures = run.peek(|state| {
                    let measured: Vec<Sample> = state
                        .data
                        .samples
                        .iter()
                        .filter(|s| s.seq >= warmup)
                        .cloned()
                        .collect();
                    measure(&measured, config.concurrency)
                });
                let Some(figures) = figures else { return };
                // Stopped meanwhile: the unfinished point is not one of the sweep's.
                let going_on = self.sweep.try_update(|s| match s {
                    Some(s) if s.phase == Phase::Running => {
                        s.points.push((value, figures));
                        true
                    }
                    _ => false,
                });
                if going_on == Some(true) {
                    self.run_sweep_point();
                }
            });
        };
        self.run_in_worker(config, ended);
        run.refresh();
    }

    /// Ends the sweep in `phase` and keeps it in the history.
    fn end_sweep(self, phase: Phase) {
        self.sweep.update(|s| {
            if let Some(s) = s {
                s.phase = phase;
            }
        });
        let saved = self.sweep.with_untracked(|s| {
            s.as_ref().map(|s| {
                saved_series(
                    &s.browser,
                    &s.origin,
                    s.to_query(),
                    s.points.iter().map(|(_, point)| point),
                )
            })
        });
        if let Some(saved) = saved {
            self.history.set(history::save(saved));
        }
    }

    /// Moves the page to the listener of `version` and `network`, with the same
    /// settings and the history (each listener is its own origin, with its own
    /// `localStorage`).
    pub fn switch_listener(self, version: HttpVersion, network: Network) {
        let Some(url) = self.listeners.with_untracked(|listeners| {
            listener_of(listeners, version, network).map(|l| l.url.clone())
        }) else {
            return;
        };
        let mut settings = self.config.get_untracked();
        settings.http = version;
        settings.network = network;
        let target = format!(
            "{url}/?{}{}",
            settings.to_query(),
            history::to_fragment(&self.history.get_untracked())
        );
        if let Some(window) = web_sys::window() {
            let _ = window.location().assign(&target);
        }
    }

    /// Offers the run (or the sweep the page shows) as a file; a failure is shown,
    /// not dropped.
    pub fn export(self, format: ExportFormat) {
        let history = self.history.get_untracked();
        let custom = self.custom_shape.get_untracked();
        let series = match self.showing.get_untracked() {
            Shown::Run => None,
            Shown::Sweep => self.sweep.with_untracked(|s| {
                s.as_ref()
                    .map(|s| export::sweep_file(s, format, &history, custom.as_ref()))
            }),
            Shown::Matrix => self.matrix.with_untracked(|m| {
                m.as_ref()
                    .map(|m| export::matrix_file(m, format, &history, custom.as_ref()))
            }),
        };
        let outcome = series
            .or_else(|| {
                self.run
                    .peek(|state| export_contents(state, format, custom.as_ref()))
            })
            .ok_or_else(|| "the page is closing".to_owned())
            .and_then(|contents| export::download(format, &contents));
        self.export_error
            .set(outcome.err().map(|err| format!("Export failed: {err}")));
    }
}

/// The listener serving `version` over `network`, if the backend has one.
pub fn listener_of(
    listeners: &[Listener],
    version: HttpVersion,
    network: Network,
) -> Option<&Listener> {
    listeners
        .iter()
        .find(|l| l.name == version.key() && l.network.name == network.key())
}

/// Takes the history another listener's page handed over in the URL's fragment, and
/// clears the fragment.
fn history_from_fragment() -> Vec<SavedRun> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let fragment = window.location().hash().unwrap_or_default();
    let history = history::adopt(&fragment);
    if !fragment.is_empty() {
        let url = format!(
            "?{}",
            window
                .location()
                .search()
                .unwrap_or_default()
                .trim_start_matches('?')
        );
        if let Ok(browser_history) = window.history() {
            let _ = browser_history.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&url),
            );
        }
    }
    history
}

/// Sets up the lab's run for the calling component and its children, and asks the
/// backend for its listeners and the page's connection count.
pub fn use_lab_run() -> LabSession {
    let run = LabRun::new();
    let engine = EngineWorker::spawn(run, engine_worker::WORKER_SCRIPT)
        .inspect_err(|err| web_sys::console::error_1(&err.into()))
        .ok();
    // Owned by the component: the worker, and every call it has in flight, end with it.
    let engine = StoredValue::new_local(engine);

    let query = url_query();
    let sweep: RwSignal<Option<SweepState>> = RwSignal::new(None);
    let matrix: RwSignal<Option<MatrixState>> = RwSignal::new(None);
    let phase = Memo::new(move |_| run.with(|state| state.phase));
    let session = LabSession {
        run,
        config: RwSignal::new(RunConfig::from_query(&query)),
        phase,
        listeners: RwSignal::new(Vec::new()),
        sweep_plan: RwSignal::new(SweepPlan::from_query(&query).unwrap_or_default()),
        sweep,
        sweep_error: RwSignal::new(None),
        matrix_plan: RwSignal::new(MatrixPlan::from_query(&query).unwrap_or_default()),
        matrix,
        matrix_error: RwSignal::new(None),
        showing: RwSignal::new(Shown::Run),
        custom_shape: RwSignal::new(None),
        custom_shape_error: RwSignal::new(None),
        run_figures: Memo::new(move |_| {
            run.with(|run| {
                run.is_over()
                    .then(|| measure(&run.data.samples, run.config.concurrency))
            })
        }),
        busy: Memo::new(move |_| {
            phase.get() == Phase::Running
                || sweep.with(|s| s.as_ref().is_some_and(|s| s.phase == Phase::Running))
                || matrix.with(|m| m.as_ref().is_some_and(|m| m.phase == Phase::Running))
        }),
        history: RwSignal::new(history_from_fragment()),
        export_error: RwSignal::new(None),
        engine,
        custom_engine: StoredValue::new_local(None),
        accepted: StoredValue::new(None),
        embedding: StoredValue::new(Embedding::of_page()),
    };
    // The frames of a matrix's cells report here.
    let messages = window_event_listener(leptos::ev::message, move |event| {
        session.cell_message(&event);
    });
    on_cleanup(move || messages.remove());
    session.take_connection_count();
    session.load_custom_shape();
    session
}
