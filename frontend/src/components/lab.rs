//! The lab itself: settings, Run/Stop, progress, results and charts of one run.

use std::time::Duration;

use leptos::prelude::*;

use super::charts::latency_histogram_chart::LatencyHistogramChart;
use super::charts::size_comparison::SizeComparison;
use super::charts::timelines::{LatencyOverTime, ThroughputOverTime};
use super::controls::Controls;
use super::run_history::{self, RunHistory};
use super::summary_table::SummaryTable;
use crate::lab_run::{self, LabRun, Phase, RunControl, SharedRun};
use crate::run_config::RunConfig;
use crate::transport::Protocol;
use crate::{export, resource_timing};

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

/// The lab panel.
#[component]
pub fn Lab(
    /// False while the page's own start-up requests (the parity check) are in flight:
    /// they share URLs with the lab's and would be mistaken for its first samples.
    ready: Signal<bool>,
) -> impl IntoView {
    let config = RwSignal::new(config_from_url());
    let run: SharedRun = StoredValue::new_local(LabRun::default());
    let control = StoredValue::new_local(RunControl::default());
    let tick = RwSignal::new(0u64);
    let refresh = move || tick.update(|t| *t += 1);
    let history = RwSignal::new(run_history::load());
    // Called when a run ends: one last refresh, and the run joins the history.
    let finished = move || {
        refresh();
        let saved = run.with_value(|run| crate::run_history::SavedRun {
            settings: run.config.to_query(),
            summaries: Protocol::ALL
                .iter()
                .map(|p| (&run.data.summary(*p, true)).into())
                .collect(),
        });
        history.set(run_history::save(saved));
    };

    // The browser's timings of our fetches, matched to their calls as they come.
    // After a run, late entries still arrive: refresh for them, as the timer is off.
    let observer = resource_timing::observe(move |url, timing| {
        let running = run
            .try_update_value(|run| {
                run.network_entry(&url, timing);
                run.phase == Phase::Running
            })
            .unwrap_or(true);
        if !running {
            refresh();
        }
    });
    let _observer = StoredValue::new_local(observer);

    let phase = Memo::new(move |_| {
        tick.track();
        run.with_value(|run| run.phase)
    });
    let running = Signal::derive(move || phase.get() == Phase::Running);
    if let Ok(interval) = set_interval_with_handle(
        move || {
            if running.get_untracked() {
                refresh();
            }
        },
        REFRESH,
    ) {
        on_cleanup(move || interval.clear());
    }

    let on_run = move |_| {
        let settings = config.get_untracked();
        config_to_url(&settings);
        control.set_value(lab_run::start(settings, run, finished));
        refresh();
    };
    let on_stop = move |_| control.with_value(RunControl::stop);

    let progress = move || {
        tick.track();
        run.with_value(|run| (run.done, run.config.total, run.elapsed_ms()))
    };
    let status = move || match phase.get() {
        Phase::Idle => "Ready",
        Phase::Running => "Running…",
        Phase::Finished => "Finished",
        Phase::Stopped => "Stopped",
    };

    let export_json = move |_| {
        let json = run.with_value(|run| {
            let summaries = Protocol::ALL.map(|p| run.data.summary(p, true));
            export::run_json(&run.config.to_query(), &summaries, &run.data.to_csv())
        });
        let _ = export::download("lab-run.json", "application/json", &json);
    };
    let export_csv = move |_| {
        let csv = run.with_value(|run| run.data.to_csv());
        let _ = export::download("lab-run.csv", "text/csv", &csv);
    };

    view! {
        <section class="panel lab" data-testid="lab">
            <h2>"Run a workload"</h2>
            <Controls config disabled=running />
            <div class="actions">
                <button type="button" data-testid="run" on:click=on_run
                    disabled=move || running.get() || !ready.get()>"Run"</button>
                <button type="button" data-testid="stop" on:click=on_stop disabled=move || !running.get()>"Stop"</button>
                <button type="button" data-testid="export-json" on:click=export_json
                    disabled=move || phase.get() == Phase::Idle>"Export JSON"</button>
                <button type="button" data-testid="export-csv" on:click=export_csv
                    disabled=move || phase.get() == Phase::Idle>"Export CSV"</button>
            </div>
            <div class="progress" data-testid="progress" data-phase=move || phase.get().as_str()>
                <progress max=move || progress().1 value=move || progress().0></progress>
                <span data-testid="progress-text">
                    {move || {
                        let (done, total, elapsed) = progress();
                        format!("{} — {done}/{total} requests, {:.1} s", status(), elapsed / 1_000.0)
                    }}
                </span>
            </div>
            <p class="legend">
                <span class="swatch grpc-web"></span>"gRPC-Web"
                <span class="swatch rest"></span>"REST"
            </p>
        </section>
        <SummaryTable run tick />
        <section class="charts">
            <LatencyOverTime run tick />
            <LatencyHistogramChart run tick />
            <ThroughputOverTime run tick />
            <SizeComparison run tick />
        </section>
        <RunHistory runs=history />
    }
}
