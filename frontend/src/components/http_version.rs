//! The "HTTP version" control: which of the backend's listeners the page talks to.
//! Browsers speak HTTP/2 only over TLS, so each version is its own listener, and so
//! its own origin: choosing one moves the page there, settings and history included.
//! Every request then stays same-origin (no CORS preflight in any latency), and "Both"
//! still sends the two protocols over the same connections.

use leptos::prelude::*;

use crate::run::LabSession;
use crate::run::config::HttpVersion;

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
                session
                    .listeners
                    .with(|listeners| listeners.iter().any(|l| l.name == version.key()))
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
                        on:change=move |_| session.switch_http(version)
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
