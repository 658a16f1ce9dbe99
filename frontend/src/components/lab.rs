//! The lab itself: settings, Run/Stop, progress, results and charts of one run. A
//! view only: the run and its wiring come from [`use_lab_run`].

use leptos::prelude::*;

use super::charts::latency_histogram_chart::LatencyHistogramChart;
use super::charts::size_comparison::SizeComparison;
use super::charts::timelines::{LatencyOverTime, ThroughputOverTime};
use super::claims_panel::ClaimsPanel;
use super::controls::Controls;
use super::matrix_panel::MatrixPanel;
use super::run_history::RunHistory;
use super::summary_table::SummaryTable;
use super::sweep_panel::SweepPanel;
use crate::export::ExportFormat;
use crate::run::config::Network;
use crate::run::hook::listener_of;
use crate::run::{LabSession, Phase, Shown, use_lab_run};
use crate::transport::Protocol;

/// The lab panel.
#[component]
pub fn Lab() -> impl IntoView {
    let session = use_lab_run();
    let (run, phase) = (session.run, session.phase);
    // A sweep's points are runs: the controls stay locked between them too.
    let busy = session.busy;
    let running = Signal::derive(move || busy.get());
    // A matrix runs in frames: the page's own run stays idle, yet there is a file.
    let idle = move || match session.showing.get() {
        Shown::Matrix => session.matrix.with(Option::is_none),
        _ => phase.get() == Phase::Idle,
    };

    let progress = move || run.with(|run| (run.done, run.config.total, run.elapsed_ms()));
    let status = move || match phase.get() {
        Phase::Idle => "Ready",
        Phase::Running => "Running…",
        Phase::Finished => "Finished",
        Phase::Stopped => "Stopped",
    };
    let export_error = session.export_error();
    let answer = move || match phase.get() {
        Phase::Idle => {
            "Press Run: the answer appears here, the charts below move as responses arrive."
                .to_owned()
        }
        Phase::Running => "Running: the deciding ratios follow when the run ends.".to_owned(),
        _ => session.run_figures.with(|f| {
            let config = session.run.with(|run| run.config);
            let sides = Protocol::ALL.map(|p| config.side_label(p));
            f.as_ref()
                .and_then(|f| f.headline("this run", sides))
                .unwrap_or_else(|| "One protocol ran: choose Both to compare them.".to_owned())
        }),
    };

    view! {
        <section class="panel lab" data-testid="lab">
            <h2>"Run a workload"</h2>
            <Controls session disabled=running />
            <div class="actions">
                <button type="button" data-testid="run" on:click=move |_| session.start()
                    disabled=move || running.get()>"Run"</button>
                <button type="button" data-testid="stop" on:click=move |_| session.stop()
                    disabled=move || !running.get()>"Stop"</button>
                <button type="button" data-testid="export-json"
                    on:click=move |_| session.export(ExportFormat::Json) disabled=idle>"Export JSON"</button>
                <button type="button" data-testid="export-csv"
                    on:click=move |_| session.export(ExportFormat::Csv) disabled=idle>"Export CSV"</button>
            </div>
            {move || export_error.get().map(|message| view! {
                <p class="error" role="alert" data-testid="export-error">{message}</p>
            })}
            <div class="progress" data-testid="progress" data-phase=move || phase.get().key()>
                <progress max=move || progress().1 value=move || progress().0></progress>
                <span data-testid="progress-text">
                    {move || {
                        let (done, total, elapsed) = progress();
                        format!("{} — {done}/{total} requests, {:.1} s", status(), elapsed / 1_000.0)
                    }}
                </span>
            </div>
            <p class="legend" data-testid="legend">
                <span class="swatch grpc-web"></span>
                {move || session.run.with(|r| r.config.side_label(Protocol::GrpcWeb))}
                <span class="swatch rest"></span>
                {move || session.run.with(|r| r.config.side_label(Protocol::Rest))}
            </p>
        </section>
        // The answer first, then the charts moving, then the evidence.
        <p class="answer" data-testid="summary-line" data-phase=move || phase.get().key()>{answer}</p>
        <section class="charts">
            <LatencyOverTime run />
            <LatencyHistogramChart run />
            <ThroughputOverTime run />
            <SizeComparison run />
        </section>
        <SummaryTable
            run
            figures=session.run_figures
            expected_http=Signal::derive(move || session.config.with(|c| c.http))
            network=Signal::derive(move || network_note(session))
        />
        <SweepPanel session />
        <MatrixPanel session />
        <ClaimsPanel session />
        <RunHistory runs=session.history() />
    }
}

/// What the run's network is, for the results: the page's listener's link.
fn network_note(session: LabSession) -> String {
    let (http, network) = session.config.with(|c| (c.http, c.network));
    if network == Network::default() {
        return "Network: loopback (no emulation: the network costs microseconds).".to_owned();
    }
    let link = session.listeners.with(|listeners| {
        listener_of(listeners, http, network).and_then(|l| l.network.link.clone())
    });
    match link {
        Some(link) => format!(
            "Network: {} ({link}), emulated by the backend under each connection.",
            network.key()
        ),
        None => format!("Network: {}, emulated by the backend.", network.key()),
    }
}
