//! The run: what it does ([`config`], [`service_lanes`]), what its records look like
//! ([`shape_choice`]), what it measured ([`data`]), how the browser's timings join its
//! samples ([`timing`]), the engine that drives it ([`engine`]), what its samples say
//! once it is over ([`comparison`], [`sweep_point`], [`connection_churn`], [`claims`]),
//! sweeps and the HTTP-version matrix ([`sweep`], [`matrix`]), the runs kept in the
//! browser ([`history`]), its exports ([`run_export`]), and how its state travels
//! between the worker that runs it and the page that shows it ([`worker_protocol`],
//! [`cell_report`]). The native runner (`lab-runner`) uses the same code.

pub mod cell_report;
pub mod claims;
pub mod comparison;
pub mod config;
pub mod connection_churn;
pub mod data;
pub mod engine;
pub mod history;
pub mod matrix;
pub mod run_export;
pub mod service_lanes;
pub mod shape_choice;
pub mod sweep;
pub mod sweep_point;
pub mod timing;
pub mod worker_protocol;

pub use engine::Phase;

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
    /// `performance.now()` when the run started, in the clock of the global that
    /// holds this state (the worker's and the page's differ).
    pub start_ms: f64,
    pub end_ms: Option<f64>,
    /// Requests finished (succeeded or failed).
    pub done: u64,
    pub phase: Phase,
    /// Connections the page's listener accepted during the run, by the backend's
    /// count (`None` until the run is over and the backend has answered).
    pub connections_opened: Option<u64>,
    /// The timer of the global that timed the run (the engine's worker).
    pub timer: Option<Timer>,
}

impl RunState {
    /// A run of `config` that starts now (`start_ms`) here: in this browser, from this
    /// global's origin, timed by `timer`.
    pub fn started(config: RunConfig, start_ms: f64, timer: Option<Timer>) -> Self {
        RunState {
            config,
            browser: crate::global_scope::user_agent(),
            origin: crate::global_scope::origin(),
            start_ms,
            phase: Phase::Running,
            timer,
            ..RunState::default()
        }
    }

    /// Whether the run opened more connections than its HTTP version needs
    /// ([`connection_churn`]).
    pub fn churned(&self) -> bool {
        self.connections_opened
            .is_some_and(|n| connection_churn::churned(self.config.http, n))
    }

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
    pub fn network_entry(&mut self, url: &str, timing: NetworkTiming) {
        // Fetches from before this run (an earlier run, the status) share URLs
        // with it: they must not pair with its calls.
        if self.phase == Phase::Idle || timing.start_ms < self.start_ms {
            return;
        }
        if let Some((index, timing)) = self.matcher.entry_arrived(url, timing) {
            self.data.attach_network(index, timing);
        }
    }

    /// A call ended: its sample is at `index`; attach its Resource Timing entry if the
    /// browser has delivered it already.
    pub fn call_done(&mut self, url: &str, started_ms: f64, index: usize) {
        if let Some((index, timing)) = self.matcher.call_done(url, started_ms, index) {
            self.data.attach_network(index, timing);
        }
    }

    /// Whether every sample has its Resource Timing entry (or none will come).
    pub fn all_matched(&self) -> bool {
        self.data.stats.iter().map(|s| s.matched).sum::<u64>() >= self.data.samples.len() as u64
    }
}
