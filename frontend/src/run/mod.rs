//! The page's side of the run: the handle views read ([`LabRun`]), the worker that
//! runs the engine for it ([`engine_worker`]), the matrix cells' frames, and the hook
//! that wires all of it to the page ([`hook`]). The run's settings, samples and
//! figures, the history, sweeps, the matrix and the claims are the instrument's
//! (re-exported here): the native runner uses them too.
//!
//! Views hold a [`LabRun`] and read through it; they never write.

pub mod cell_frame;
pub mod engine_worker;
pub mod hook;

pub use hook::{LabSession, Shown, use_lab_run};
pub use lab_instrument::run::{
    Phase, RunState, cell_report, claims, comparison, config, connection_churn, data, history,
    matrix, run_export, service_lanes, shape_choice, sweep, sweep_point, timing,
};
use leptos::prelude::*;

/// The page's handle on the run. It is `Copy`, so every view can hold one, and reading
/// through it subscribes the reader to the run's refreshes: a view cannot forget to.
///
/// It holds the page's copy of the run, which the engine's worker updates
/// ([`engine_worker`]): its aggregates four times a second while the run goes on, each
/// message one refresh of the views, and every sample once it is over.
#[derive(Debug, Clone, Copy)]
pub struct LabRun {
    state: StoredValue<RunState, LocalStorage>,
    refreshed: Trigger,
}

impl LabRun {
    fn new() -> Self {
        Self {
            state: StoredValue::new_local(RunState::default()),
            refreshed: Trigger::new(),
        }
    }

    /// Reads the run; the calling view or memo re-runs at every refresh.
    pub fn with<T>(self, read: impl FnOnce(&RunState) -> T) -> T {
        self.refreshed.track();
        self.state.with_value(read)
    }

    /// Reads the run without subscribing (the engine, event handlers).
    fn peek<T>(self, read: impl FnOnce(&RunState) -> T) -> Option<T> {
        self.state.try_with_value(read)
    }

    /// Changes the run without waking the views; `None` once the page is gone.
    fn update<T>(self, change: impl FnOnce(&mut RunState) -> T) -> Option<T> {
        self.state.try_update_value(change)
    }

    /// Wakes every view that reads the run.
    fn refresh(self) {
        self.refreshed.notify();
    }
}
