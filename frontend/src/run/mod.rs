//! The run: what it does ([`config`]), what it measured ([`data`]), how the browser's
//! timings join its samples ([`timing`]), the engine that drives it ([`engine`]), the
//! last runs kept in the browser ([`history`]), and the hook that wires all of it to
//! the page ([`hook`]).
//!
//! Views hold a [`LabRun`] and read through it; they never write.

pub mod cell_frame;
pub mod cell_report;
pub mod claims;
pub mod comparison;
pub mod config;
pub mod connection_churn;
pub mod data;
pub mod engine;
pub mod history;
pub mod hook;
pub mod matrix;
pub mod sweep;
pub mod sweep_point;
pub mod timing;

use leptos::prelude::*;

pub use engine::Phase;
pub use hook::{LabSession, Shown, use_lab_run};

use self::config::RunConfig;
use self::data::RunData;
use self::timing::{NetworkTiming, TimingMatcher};
use crate::timer_resolution::Timer;
use crate::transport::now_ms;

/// Everything about the current (or last) run.
#[derive(Debug, Default)]
pub struct RunState {
    pub config: RunConfig,
    /// Where it ran: the browser (its user agent) and the page's origin, which names
    /// the listener (HTTP version and network). The same workload differs between
    /// browsers.
    pub browser: String,
    pub origin: String,
    pub data: RunData,
    matcher: TimingMatcher<usize>,
    /// `performance.now()` when the run started.
    pub start_ms: f64,
    pub end_ms: Option<f64>,
    /// Requests finished (succeeded or failed).
    pub done: u64,
    pub phase: Phase,
    /// Connections the page's listener accepted during the run, by the backend's
    /// count (`None` until the run is over and the backend has answered).
    pub connections_opened: Option<u64>,
    /// The page's timer when the run started.
    pub timer: Option<Timer>,
}

impl RunState {
    /// Whether the run opened more connections than its HTTP version needs
    /// ([`connection_churn`]).
    pub fn churned(&self) -> bool {
        self.connections_opened
            .is_some_and(|n| connection_churn::churned(self.config.http, n))
    }
}

impl RunState {
    /// Elapsed run time in ms, frozen once it is over.
    pub fn elapsed_ms(&self) -> f64 {
        if self.phase == Phase::Idle {
            return 0.0;
        }
        self.end_ms.unwrap_or_else(now_ms) - self.start_ms
    }

    /// Whether the numbers are final: exact percentiles are worth sorting for.
    pub fn is_over(&self) -> bool {
        matches!(self.phase, Phase::Finished | Phase::Stopped)
    }

    /// The browser reported a fetch: attach it to its sample if that is known yet.
    fn network_entry(&mut self, url: &str, timing: NetworkTiming) {
        // Fetches from before this run (an earlier run, the status) share URLs
        // with it: they must not pair with its calls.
        if self.phase == Phase::Idle || timing.start_ms < self.start_ms {
            return;
        }
        if let Some((index, timing)) = self.matcher.entry_arrived(url, timing) {
            self.data.attach_network(index, timing);
        }
    }
}

/// The page's handle on the run. It is `Copy`, so every view can hold one, and reading
/// through it subscribes the reader to the run's refreshes: a view cannot forget to.
///
/// The engine records samples into it between refreshes without waking anything; the
/// hook wakes the views four times a second while a run goes on, and once at its end.
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
