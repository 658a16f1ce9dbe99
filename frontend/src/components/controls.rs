//! The run's settings: labelled, keyboard-usable form controls bound to one
//! [`RunConfig`] signal.

use leptos::prelude::*;

use super::client_choice::ClientChoice;
use super::custom_shape_editor::{self, CustomShapeEditor, YOUR_OWN};
use super::http_version::{HttpVersionChoice, NetworkChoice};
use crate::run::LabSession;
use crate::run::config::{MAX_CONCURRENCY, MAX_TOTAL, ProtocolChoice, RunConfig, WorkloadKind};
use crate::run::shape_choice::{CustomShapeId, ShapeChoice};

/// `value` as a number clamped to `min..=max`, or `fallback` when it is not one.
pub(super) fn number(value: String, fallback: u32, min: u32, max: u32) -> u32 {
    value
        .trim()
        .parse::<u32>()
        .map_or(fallback, |n| n.clamp(min, max))
}

/// A labelled number input editing one field of the config.
#[component]
fn NumberField(
    /// Visible label.
    label: &'static str,
    /// `data-testid` and `id`.
    id: &'static str,
    config: RwSignal<RunConfig>,
    get: fn(&RunConfig) -> u32,
    set: fn(&mut RunConfig, u32),
    min: u32,
    max: u32,
    disabled: Signal<bool>,
) -> impl IntoView {
    view! {
        <label for=id>
            {label}
            <input
                type="number"
                id=id
                data-testid=id
                min=min
                max=max
                disabled=disabled
                prop:value=move || get(&config.get()).to_string()
                on:change=move |ev| {
                    config.update(|c| set(c, number(event_target_value(&ev), get(c), min, max)))
                }
            />
        </label>
    }
}

/// The settings form.
#[component]
pub fn Controls(
    /// The lab's session, whose settings the form edits.
    session: LabSession,
    /// True while a run goes on.
    disabled: Signal<bool>,
) -> impl IntoView {
    let config = session.config;
    let protocol_options = ProtocolChoice::ALL
        .into_iter()
        .map(|choice| {
            view! {
                <label class="choice">
                    <input
                        type="radio"
                        name="protocol"
                        value=choice.key()
                        data-testid=format!("protocol-{}", choice.key())
                        disabled=disabled
                        prop:checked=move || config.get().protocol == choice
                        on:change=move |_| config.update(|c| c.protocol = choice)
                    />
                    {choice.label()}
                </label>
            }
        })
        .collect_view();
    // "Your own" shows its editor; a registered shape is the run's until another is chosen.
    let your_own = RwSignal::new(config.with_untracked(|c| c.shape.custom().is_some()));
    let registered = move || {
        session
            .custom_shape
            .with_untracked(|info| info.as_ref().and_then(|i| CustomShapeId::parse(&i.id)))
    };
    view! {
        <form class="controls" on:submit=|ev| ev.prevent_default()>
            <ClientChoice session disabled />
            <fieldset role="radiogroup" aria-label="Protocol">
                <legend>"Protocol"</legend>
                {protocol_options}
            </fieldset>
            <HttpVersionChoice session disabled />
            <NetworkChoice session disabled />
            <label for="workload">
                "Workload"
                <select id="workload" data-testid="workload" disabled=disabled
                    on:change=move |ev| {
                        let key = event_target_value(&ev);
                        if let Some(w) = WorkloadKind::ALL.into_iter().find(|w| w.key() == key) {
                            config.update(|c| c.workload = w);
                        }
                    }>
                    {WorkloadKind::ALL
                        .into_iter()
                        .map(|w| view! {
                            <option value=w.key() selected=move || config.get().workload == w>{w.label()}</option>
                        })
                        .collect_view()}
                </select>
            </label>
            <label for="shape">
                "Shape"
                <select id="shape" data-testid="shape" disabled=disabled
                    on:change=move |ev| {
                        let key = event_target_value(&ev);
                        your_own.set(key == YOUR_OWN);
                        config.update(|c| c.shape = custom_shape_editor::chosen(&key, registered(), c.shape));
                    }>
                    {ShapeChoice::BUILT_IN
                        .into_iter()
                        .map(|s| view! {
                            <option value=s.key()
                                selected=move || !your_own.get() && config.get().shape == ShapeChoice::BuiltIn(s)>{s.key()}</option>
                        })
                        .collect_view()}
                    <option value=YOUR_OWN selected=move || your_own.get()>"Your own…"</option>
                </select>
            </label>
            <Show when=move || your_own.get()>
                <CustomShapeEditor session disabled />
            </Show>
            <NumberField label="Records per request" id="count" config disabled min=1
                max=lab_proto::dataset::MAX_RECORDS get=|c| c.count set=|c, v| c.count = v />
            <label class="choice" for="compression">
                <input type="checkbox" id="compression" data-testid="compression" disabled=disabled
                    prop:checked=move || config.get().compression
                    on:change=move |ev| config.update(|c| c.compression = event_target_checked(&ev)) />
                "HTTP compression (gzip/br)"
            </label>
            <NumberField label="Total requests" id="total" config disabled min=1 max=MAX_TOTAL
                get=|c| c.total set=|c, v| c.total = v />
            <NumberField label="Concurrency" id="concurrency" config disabled min=1 max=MAX_CONCURRENCY
                get=|c| c.concurrency set=|c, v| c.concurrency = v />
            // What a first run does not need, one click away (and in the URL all the same).
            <details class="more">
                <summary>"More settings"</summary>
                <NumberField label="Target rate (req/s, 0 = unlimited)" id="rate" config disabled min=0
                    max=1_000_000 get=|c| c.rate set=|c, v| c.rate = v />
                <NumberField label="Stream interval (ms)" id="interval" config disabled min=0 max=10_000
                    get=|c| c.interval_ms set=|c, v| c.interval_ms = v />
            </details>
        </form>
    }
}
