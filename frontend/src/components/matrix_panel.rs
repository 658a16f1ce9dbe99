//! "Compare HTTP versions": the matrix's form (networks, requests per cell, warm-up),
//! its progress, the frame of the cell under way (another listener's page, running
//! the cell same-origin there), and one table of every cell with the verdict on
//! HTTP/2 against HTTP/1.1.

use leptos::prelude::*;

use super::controls::number;
use super::markup::escaped;
use crate::run::claims::multiplexing_in_matrix;
use crate::run::config::{HttpVersion, Network};
use crate::run::matrix::{MatrixPlan, MatrixState};
use crate::run::sweep::{MAX_PER_POINT, MAX_WARMUP};
use crate::run::{LabSession, Phase};
use crate::stats::ratio_interval::RatioEstimate;
use crate::stats::sample_interval::Estimate;
use crate::stats::scale::{format_bytes, format_ms, format_ratio, format_significant};
use crate::transport::Protocol;

fn estimate(value: &Option<Estimate>, format: fn(f64) -> String) -> Option<String> {
    value.map(|e| format!("{} ({}–{})", format(e.value), format(e.low), format(e.high)))
}

fn ratio(value: &RatioEstimate) -> String {
    format!(
        "{} ({}–{})",
        format_ratio(value.ratio),
        format_significant(value.low, 3, 2),
        format_significant(value.high, 3, 2)
    )
}

fn per_second(rate: f64) -> String {
    format!("{}/s", format_significant(rate, 3, 1))
}

/// The matrix as a table (markup, as the claims are): one row per cell.
fn table(matrix: &MatrixState) -> String {
    let mut html = String::from(
        r#"<table data-testid="matrix-table"><thead><tr><th scope="col" rowspan="2">Network</th><th scope="col" rowspan="2">HTTP version (used)</th><th scope="col" rowspan="2">Connections</th><th scope="colgroup" colspan="4">gRPC-Web</th><th scope="colgroup" colspan="4">REST</th><th scope="col" rowspan="2">gRPC-Web : REST p50</th><th scope="colgroup" colspan="2">p50 : HTTP/1.1's</th></tr><tr>"#,
    );
    for _ in Protocol::ALL {
        html += r#"<th scope="col">p50</th><th scope="col">p99</th><th scope="col">Throughput</th><th scope="col">Wire bytes</th>"#;
    }
    html += r#"<th scope="col">gRPC-Web</th><th scope="col">REST</th></tr></thead><tbody>"#;
    let current = matrix.current();
    for (index, cell) in matrix.cells.iter().enumerate() {
        let state = match (&cell.outcome, current == Some(index)) {
            (Some(Ok(_)), _) => "measured",
            (Some(Err(_)), _) => "failed",
            (None, true) => "running",
            (None, false) => "pending",
        };
        let mut figures: Vec<Option<String>> = Vec::new();
        if let Some(measured) = cell.measured() {
            for protocol in Protocol::ALL {
                let p = measured.figures.of(protocol);
                figures.push(estimate(&p.p50_ms, format_ms));
                figures.push(estimate(&p.p99_ms, format_ms));
                figures.push(estimate(&p.throughput, per_second));
                figures.push(estimate(&p.wire_bytes, format_bytes));
            }
        }
        let filled = figures.len() == 8 && figures.iter().all(Option::is_some);
        html += &format!(
            r#"<tr data-testid="matrix-row" data-http="{}" data-network="{}" data-state="{state}" data-filled="{filled}"><th scope="row">{}</th><td>{}{}</td><td>{}</td>"#,
            cell.http.key(),
            cell.network.key(),
            cell.network.key(),
            cell.http.label(),
            cell.next_hop().map_or(String::new(), |h| format!(" ({h})")),
            cell.measured()
                .and_then(|m| m.connections_opened)
                .map_or("—".into(), |n| n.to_string()),
        );
        match &cell.outcome {
            Some(Ok(measured)) => {
                for figure in figures {
                    html += &format!("<td>{}</td>", figure.unwrap_or_else(|| "—".into()));
                }
                let between = measured.figures.ratio("p50");
                html += &format!("<td>{}</td>", between.map_or("—".into(), |r| ratio(&r)));
                for protocol in Protocol::ALL {
                    let versus = if cell.http == HttpVersion::TlsHttp1 {
                        "baseline".to_owned()
                    } else {
                        matrix.versus_http1(index, protocol).map_or_else(
                            |reason| format!("not comparable: {reason}"),
                            |r| ratio(&r),
                        )
                    };
                    html += &format!(
                        r#"<td data-testid="matrix-versus-{}">{}</td>"#,
                        protocol.key(),
                        escaped(&versus)
                    );
                }
            }
            Some(Err(reason)) => {
                html += &format!(r#"<td colspan="11" class="error">{}</td>"#, escaped(reason));
            }
            None => html += r#"<td colspan="11">—</td>"#,
        }
        html += "</tr>";
        if let Some(reason) = cell.measured().and(cell.not_comparable()) {
            html += &format!(
                r#"<tr class="note"><td colspan="14">{}: {}</td></tr>"#,
                escaped(&cell.label()),
                escaped(&reason)
            );
        }
    }
    html + "</tbody></table>"
}

/// The form: a checkbox per network with TLS listeners, requests and warm-up per cell.
/// Written as markup, its changes read by one handler (see [`MatrixPanel`]).
fn form(networks: &[Network], plan: &MatrixPlan, busy: bool) -> String {
    let disabled = if busy { " disabled" } else { "" };
    let mut html = String::from("<fieldset><legend>Networks</legend>");
    for network in networks {
        let key = network.key();
        html += &format!(
            r#"<label class="choice"><input type="checkbox" id="matrix-net-{key}" data-testid="matrix-net-{key}"{}{disabled}>{key}</label>"#,
            if plan.networks.contains(network) {
                " checked"
            } else {
                ""
            }
        );
    }
    html += "</fieldset>";
    for (id, label, value, min, max) in [
        (
            "matrix-per",
            "Requests per protocol and cell",
            plan.per_cell,
            1,
            MAX_PER_POINT,
        ),
        (
            "matrix-warmup",
            "Warm-up per protocol and cell",
            plan.warmup,
            0,
            MAX_WARMUP,
        ),
    ] {
        html += &format!(
            r#"<label for="{id}">{label}<input type="number" id="{id}" data-testid="{id}" min="{min}" max="{max}" value="{value}"{disabled}></label>"#
        );
    }
    html
}

/// What the matrix shows: its progress, its verdict and its table.
fn results(matrix: &MatrixState) -> String {
    let mut html = format!(
        r#"<p data-testid="matrix-progress" data-phase="{}">{}</p>"#,
        matrix.phase.key(),
        escaped(&matrix.progress())
    );
    if matrix.phase != Phase::Running {
        let claim = multiplexing_in_matrix(matrix);
        html += &format!(
            r#"<p class="verdict" data-testid="matrix-verdict" data-verdict="{}">{}: {}</p>"#,
            claim.verdict.key(),
            escaped(claim.claim),
            escaped(&claim.summary)
        );
    }
    html + r#"<div class="table-scroll">"# + &table(matrix) + "</div>"
}

/// The matrix panel. Its form, results and frame are markup from strings, as the
/// claims are: as typed views they cost the bundle several times more.
#[component]
pub fn MatrixPanel(
    /// The lab's session: its settings are each cell's, its listeners the cells.
    session: LabSession,
) -> impl IntoView {
    let plan = session.matrix_plan;
    let busy = session.busy;
    // Networks with TLS listeners, in the backend's order.
    let networks = Memo::new(move |_| {
        session.listeners.with(|listeners| {
            let mut networks: Vec<Network> = Vec::new();
            for listener in listeners {
                if listener.name == HttpVersion::TlsHttp1.key()
                    && let Some(network) = Network::from_key(&listener.network.name)
                    && !networks.contains(&network)
                {
                    networks.push(network);
                }
            }
            networks
        })
    });
    // Redrawn when the networks arrive or a run starts or ends, not on each change
    // (the inputs hold what is typed; the handler copies it into the plan).
    let form_markup = move || {
        let busy = busy.get();
        networks.with(|networks| plan.with_untracked(|plan| form(networks, plan, busy)))
    };
    let changed = move |ev: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        let (id, value) = (input.id(), input.value());
        plan.update(|p| match id.as_str() {
            "matrix-per" => p.per_cell = number(value, p.per_cell, 1, MAX_PER_POINT),
            "matrix-warmup" => p.warmup = number(value, p.warmup, 0, MAX_WARMUP),
            _ => {
                if let Some(network) = id.strip_prefix("matrix-net-").and_then(Network::from_key) {
                    p.networks.retain(|n| *n != network);
                    if input.checked() {
                        p.networks.push(network);
                    }
                }
            }
        });
    };
    // Changes only when another cell starts: the frame is not reloaded meanwhile.
    let frame = Memo::new(move |_| {
        session.matrix.with(|m| {
            let m = m.as_ref()?;
            let index = m.current()?;
            Some(format!(
                r#"<iframe class="cell-frame" data-testid="matrix-frame" allow="cross-origin-isolated" src="{}" title="Matrix cell under way: {}"></iframe>"#,
                escaped(&m.frame_url(index)?),
                escaped(&m.cells[index].label())
            ))
        })
    });
    let shown = move || {
        let error = session.matrix_error.get().map_or(String::new(), |message| {
            format!(
                r#"<p class="error" role="alert" data-testid="matrix-error">{}</p>"#,
                escaped(&message)
            )
        });
        error
            + &session
                .matrix
                .with(|m| m.as_ref().map(results).unwrap_or_default())
    };
    view! {
        <section class="panel matrix" data-testid="matrix">
            <h2>"Compare HTTP versions"</h2>
            <p class="note">
                "The settings above on every TLS listener (HTTP/1.1, HTTP/2, HTTP/3 where offered) \
                 of each network chosen, both protocols, after a warm-up; each cell runs in a frame \
                 of its own listener's origin. Intervals are 95%."
            </p>
            <form class="controls" on:submit=|ev| ev.prevent_default() on:change=changed
                inner_html=form_markup></form>
            <div class="actions">
                <button type="button" data-testid="run-matrix" on:click=move |_| session.start_matrix()
                    disabled=move || busy.get() || plan.with(|p| p.networks.is_empty())>
                    "Compare HTTP versions"
                </button>
            </div>
            <div inner_html=move || frame.get().unwrap_or_default()></div>
            <div inner_html=shown></div>
        </section>
    }
}
