//! The last runs side by side (kept in `localStorage` by `run::history`).

use leptos::prelude::*;

use crate::run::history::SavedRun;
use crate::stats::scale::{format_bytes, format_ms};

/// A table of the last runs.
#[component]
pub fn RunHistory(
    /// The runs to show, newest first.
    runs: Signal<Vec<SavedRun>>,
) -> impl IntoView {
    let optional_ms = |v: Option<f64>| v.map_or("—".to_owned(), format_ms);
    let rows = move || {
        runs.get()
            .into_iter()
            .enumerate()
            .flat_map(|(i, run)| {
                let settings = run.settings.replace('&', " ");
                // Where it ran, on hover: the same settings differ between browsers.
                let place = format!("{} · {}", run.origin, run.browser);
                run.summaries
                    .into_iter()
                    .filter(|s| s.requests > 0)
                    .map(move |s| {
                        view! {
                            <tr data-testid=format!("history-{i}")>
                                <td>{format!("#{}", i + 1)}</td>
                                <td class="settings" title=place.clone()><a href=format!("?{}", settings.replace(' ', "&"))>{settings.clone()}</a></td>
                                <td>{s.protocol.clone()}</td>
                                <td>{format!("{} / {}", s.requests, s.errors)}</td>
                                <td>{optional_ms(s.p50_ms)}</td>
                                <td>{optional_ms(s.p99_ms)}</td>
                                <td>{format!("{:.1}", s.requests_per_second)}</td>
                                <td>{s.wire_bytes.map_or("—".to_owned(), format_bytes)}</td>
                            </tr>
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect_view()
    };
    view! {
        <section class="panel history" data-testid="history">
            <h2>"Last runs (kept in this browser)"</h2>
            <div class="table-scroll"><table>
                <thead>
                    <tr>
                        <th>"Run"</th><th>"Settings"</th><th>"Protocol"</th><th>"Requests / errors"</th>
                        <th>"p50"</th><th>"p99"</th><th>"Requests/s"</th><th>"Wire bytes"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table></div>
        </section>
    }
}
