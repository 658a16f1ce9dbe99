//! The "HTTP version" and "Network" controls: which of the backend's listeners the
//! page talks to (one per HTTP version and emulated network).
//! Browsers speak HTTP/2 only over TLS, so each version is its own listener, and so
//! its own origin: choosing one moves the page there, settings and history included.
//! Every request then stays same-origin (no CORS preflight in any latency), and "Both"
//! still sends the two protocols over the same connections.

use leptos::prelude::*;

use crate::run::LabSession;
use crate::run::config::{HttpVersion, Network};
use crate::run::hook::listener_of;

/// Radio buttons, one per HTTP version; those the backend does not serve are disabled.
#[component]
pub fn HttpVersionChoice(
    /// The lab's session: its settings say where the page is, its listeners where it
    /// can go.
    session: LabSession,
    /// True while a run goes on.
    disabled: Signal<bool>,
) -> impl IntoView {
    let options = HttpVersion::ALL
        .into_iter()
        .map(|version| {
            let served = move || {
                let network = session.config.with(|c| c.network);
                session
                    .listeners
                    .with(|listeners| listener_of(listeners, version, network).is_some())
            };
            view! {
                <label class="choice">
                    <input
                        type="radio"
                        name="http-version"
                        value=version.key()
                        data-testid=format!("http-{}", version.key())
                        disabled=move || disabled.get() || !served()
                        prop:checked=move || session.config.with(|c| c.http == version)
                        on:change=move |_| {
                            session.switch_listener(version, session.config.with_untracked(|c| c.network))
                        }
                    />
                    {version.label()}
                </label>
            }
        })
        .collect_view();
    view! {
        <fieldset role="radiogroup" aria-label="HTTP version" data-testid="http-version">
            <legend>"HTTP version"</legend>
            {options}
        </fieldset>
    }
}

/// The network the backend emulates under the page's listener: one option per
/// network it serves; choosing one moves the page to that network's listener of the
/// same HTTP version.
#[component]
pub fn NetworkChoice(
    /// The lab's session, as for [`HttpVersionChoice`].
    session: LabSession,
    /// True while a run goes on.
    disabled: Signal<bool>,
) -> impl IntoView {
    let options = move || {
        session.listeners.with(|listeners| {
            let mut seen: Vec<&str> = Vec::new();
            listeners
                .iter()
                .filter(|l| {
                    let new = !seen.contains(&l.network.name.as_str());
                    seen.push(&l.network.name);
                    new
                })
                .map(|l| {
                    let key = l.network.name.clone();
                    let label = match &l.network.link {
                        Some(link) => format!("{key} ({link})"),
                        None => key.clone(),
                    };
                    let selected = session.config.with_untracked(|c| c.network.key() == key);
                    view! { <option value=key selected=selected>{label}</option> }
                })
                .collect_view()
        })
    };
    view! {
        <label for="network">
            "Network"
            <select id="network" data-testid="network" disabled=disabled
                on:change=move |ev| {
                    if let Some(network) = Network::from_key(&event_target_value(&ev)) {
                        session.switch_listener(session.config.with_untracked(|c| c.http), network);
                    }
                }>
                {options}
            </select>
        </label>
    }
}
