//! The wiring between the run and the page, in one place: the run handle, the
//! browser's Resource Timing observer, the refresh timer, the settings in the URL, the
//! history in `localStorage`, and the commands (run, stop, export). Components call
//! [`use_lab_run`] once and only read what it returns.

use std::time::Duration;

use leptos::prelude::*;

use super::config::RunConfig;
use super::engine::{self, Phase, RunControl};
use super::history::{self, SavedRun};
use super::{LabRun, RunState};
use crate::export::{self, ExportFormat};
use crate::resource_timing;
use crate::transport::Protocol;

/// How often views refresh while a run goes on.
const REFRESH: Duration = Duration::from_millis(250);

/// The settings in the page URL, if any.
fn config_from_url() -> RunConfig {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    RunConfig::from_query(&search)
}

/// Puts `config` in the URL (without reloading), so the link reproduces the setup.
fn config_to_url(config: &RunConfig) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let url = format!("?{}", config.to_query());
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// The run as the history keeps it: settings and exact summaries.
fn saved(state: &RunState) -> SavedRun {
    SavedRun {
        settings: state.config.to_query(),
        summaries: Protocol::ALL
            .iter()
            .map(|p| (&state.data.summary(*p, true)).into())
            .collect(),
    }
}

/// The file an export produces from `state`.
fn export_contents(state: &RunState, format: ExportFormat) -> String {
    match format {
        ExportFormat::Json => {
            let summaries = Protocol::ALL.map(|p| state.data.summary(p, true));
            export::run_json(&state.config.to_query(), &summaries, &state.data.to_csv())
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
    history: RwSignal<Vec<SavedRun>>,
    export_error: RwSignal<Option<String>>,
    control: StoredValue<RunControl, LocalStorage>,
}

impl LabSession {
    /// The last runs kept in this browser, newest first.
    pub fn history(self) -> Signal<Vec<SavedRun>> {
        self.history.into()
    }

    /// Why the last export failed, if it did.
    pub fn export_error(self) -> Signal<Option<String>> {
        self.export_error.into()
    }

    /// Starts a run with the current settings, which also go into the URL.
    pub fn start(self) {
        let settings = self.config.get_untracked();
        config_to_url(&settings);
        let (run, history) = (self.run, self.history);
        let ended = move || {
            run.refresh();
            if let Some(saved) = run.peek(saved) {
                history.set(history::save(saved));
            }
        };
        self.control.set_value(engine::start(settings, run, ended));
        run.refresh();
    }

    /// Stops the run: every call in flight is cancelled, what was measured stays.
    pub fn stop(self) {
        self.control.with_value(RunControl::stop);
    }

    /// Offers the run as a file; a failure is shown, not dropped.
    pub fn export(self, format: ExportFormat) {
        let outcome = self
            .run
            .peek(|state| export_contents(state, format))
            .ok_or_else(|| "the page is closing".to_owned())
            .and_then(|contents| export::download(format, &contents));
        self.export_error
            .set(outcome.err().map(|err| format!("Export failed: {err}")));
    }
}

/// Sets up the lab's run for the calling component and its children.
pub fn use_lab_run() -> LabSession {
    let run = LabRun::new();
    let control = StoredValue::new_local(RunControl::default());

    // The browser's timings of our fetches, matched to their calls as they come.
    // After a run, late entries still arrive: refresh for them, as the timer is off.
    let observer = resource_timing::observe(move |url, timing| {
        let running = run
            .update(|state| {
                state.network_entry(&url, timing);
                state.phase == Phase::Running
            })
            .unwrap_or(true);
        if !running {
            run.refresh();
        }
    });
    // Owned by the component: disconnected when it goes.
    let _ = StoredValue::new_local(observer);

    if let Ok(interval) = set_interval_with_handle(
        move || {
            if run.peek(|state| state.phase == Phase::Running) == Some(true) {
                run.refresh();
            }
        },
        REFRESH,
    ) {
        on_cleanup(move || interval.clear());
    }
    // A page that goes away takes its run with it.
    on_cleanup(move || {
        control.try_with_value(RunControl::stop);
    });

    LabSession {
        run,
        config: RwSignal::new(config_from_url()),
        phase: Memo::new(move |_| run.with(|state| state.phase)),
        history: RwSignal::new(history::load()),
        export_error: RwSignal::new(None),
        control,
    }
}
