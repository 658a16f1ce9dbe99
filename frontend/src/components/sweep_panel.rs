//! The sweep: its form (variable, values, requests per point, warm-up), its progress,
//! and its charts of each metric against the variable. The run's own charts above
//! show the point under way.

use leptos::prelude::*;

use super::charts::sweep_chart::SweepChart;
use super::controls::number;
use crate::run::LabSession;
use crate::run::sweep::{MAX_PER_POINT, MAX_WARMUP, SweepVariable};
use crate::stats::scale::{format_bytes, format_ms, format_per_second};

/// The sweep's form, progress and charts.
#[component]
pub fn SweepPanel(
    /// The lab's session: its settings are the sweep's starting point.
    session: LabSession,
) -> impl IntoView {
    let plan = session.sweep_plan;
    let busy = session.busy;
    // The values as typed, checked when they change.
    let values_text = RwSignal::new(plan.with_untracked(|p| p.values_text()));
    let values_error = RwSignal::new(None::<String>);
    let set_values = move |text: String| {
        let variable = plan.with_untracked(|p| p.variable);
        match variable.parse_values(&text) {
            Ok(values) => {
                values_error.set(None);
                plan.update(|p| p.values = values);
            }
            Err(reason) => values_error.set(Some(reason)),
        }
        values_text.set(text);
    };
    let progress = move || session.sweep.with(|s| s.as_ref().map(|s| s.progress()));
    let ms = |v: f64, _| format_ms(v);
    view! {
        <section class="panel sweep" data-testid="sweep">
            <h2>"Sweep a variable"</h2>
            // What a sweep does is in "How it is measured" (static, outside the bundle).
            <p class="note">"The settings above at each value, both protocols, after a warm-up; bands are 95% intervals."</p>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label for="sweep-variable">
                    "Variable"
                    <select id="sweep-variable" data-testid="sweep-variable" disabled=busy
                        on:change=move |ev| {
                            if let Some(variable) = SweepVariable::from_key(&event_target_value(&ev)) {
                                plan.update(|p| p.variable = variable);
                                set_values(variable.default_values().to_owned());
                            }
                        }>
                        {SweepVariable::ALL
                            .into_iter()
                            .map(|v| view! {
                                <option value=v.key() selected=move || plan.get().variable == v>{v.label()}</option>
                            })
                            .collect_view()}
                    </select>
                </label>
                <label for="sweep-values">
                    "Values (comma-separated)"
                    <input id="sweep-values" data-testid="sweep-values" disabled=busy
                        prop:value=move || values_text.get()
                        on:change=move |ev| set_values(event_target_value(&ev)) />
                </label>
                <label for="sweep-per">
                    "Requests per protocol and point"
                    <input type="number" id="sweep-per" data-testid="sweep-per" min=1 max=MAX_PER_POINT
                        disabled=busy prop:value=move || plan.get().per_point.to_string()
                        on:change=move |ev| plan.update(|p| {
                            p.per_point = number(event_target_value(&ev), p.per_point, 1, MAX_PER_POINT)
                        }) />
                </label>
                <label for="sweep-warmup">
                    "Warm-up per protocol and point"
                    <input type="number" id="sweep-warmup" data-testid="sweep-warmup" min=0 max=MAX_WARMUP
                        disabled=busy prop:value=move || plan.get().warmup.to_string()
                        on:change=move |ev| plan.update(|p| {
                            p.warmup = number(event_target_value(&ev), p.warmup, 0, MAX_WARMUP)
                        }) />
                </label>
            </form>
            <div class="actions">
                <button type="button" data-testid="run-sweep" on:click=move |_| session.start_sweep()
                    disabled=move || busy.get() || values_error.with(Option::is_some)>"Run sweep"</button>
            </div>
            {move || values_error.get().or_else(|| session.sweep_error.get()).map(|message| view! {
                <p class="error" role="alert" data-testid="sweep-error">{message}</p>
            })}
            <p data-testid="sweep-progress"
                data-phase=move || session.sweep.with(|s| s.as_ref().map_or("idle", |s| s.phase.key()))>
                {progress}
            </p>
            // Drawn once a sweep has run: no empty frames before.
            <Show when=move || session.sweep.with(Option::is_some)>
            <div class="charts">
                <SweepChart title="p50 latency" testid="sweep-p50" sweep=session.sweep
                    metric=|p| p.p50_ms format_y=ms />
                <SweepChart title="p99 latency" testid="sweep-p99" sweep=session.sweep
                    metric=|p| p.p99_ms format_y=ms />
                <SweepChart title="Response body on the wire (median)" testid="sweep-wire-bytes"
                    sweep=session.sweep metric=|p| p.wire_bytes format_y=|v, _| format_bytes(v) />
                <SweepChart title="Client decode (median)" testid="sweep-decode" sweep=session.sweep
                    metric=|p| p.decode_ms format_y=ms />
                <SweepChart title="Throughput at the point's concurrency (c ÷ mean latency)"
                    testid="sweep-throughput" sweep=session.sweep
                    metric=|p| p.throughput format_y=format_per_second />
            </div>
            </Show>
        </section>
    }
}
