//! The run's summary: one column per protocol and their ratio.

use leptos::prelude::*;

use crate::run::LabRun;
use crate::run::comparison;
use crate::run::config::{HttpVersion, ProtocolChoice};
use crate::run::data::Summary;
use crate::run::service_lanes::Client;
use crate::run::sweep_point::{PointFigures, ProtocolFigures};
use crate::stats::scale::{format_bytes, format_ms, format_ratio};
use crate::timer_resolution::{self, Timer};
use crate::transport::{self, Protocol};

/// A row: its label, test id, how to read it from a summary, how to show it, and,
/// for a figure compared with an interval once the run is over, the statistic that
/// interval is about (shown then in place of the live value, so the row's numbers and
/// its ratio are one estimate).
struct Row {
    label: &'static str,
    key: &'static str,
    value: fn(&Summary) -> Option<f64>,
    show: fn(f64) -> String,
    /// The final statistic, and the label's ending live / final (`mean` / `median`).
    compared: Option<(Statistic, &'static str, &'static str)>,
}

/// A protocol's final figure that a row's interval is about.
type Statistic = fn(&ProtocolFigures) -> Option<f64>;

fn count(v: f64) -> String {
    format!("{v:.0}")
}

fn rate(v: f64) -> String {
    format!("{v:.1}")
}

const ROWS: &[Row] = &[
    Row {
        label: "Requests",
        key: "requests",
        value: |s| Some(s.requests as f64),
        show: count,
        compared: None,
    },
    Row {
        label: "Errors",
        key: "errors",
        value: |s| Some(s.errors as f64),
        show: count,
        compared: None,
    },
    Row {
        label: "p50",
        key: "p50",
        value: |s| s.latency.map(|l| l.p50),
        show: format_ms,
        compared: Some((|p| p.p50_ms.map(|e| e.value), "", "")),
    },
    Row {
        label: "p50 from intended start",
        key: "scheduled-p50",
        value: |s| s.scheduled.map(|l| l.p50),
        show: format_ms,
        compared: None,
    },
    Row {
        label: "p99 from intended start",
        key: "scheduled-p99",
        value: |s| s.scheduled.map(|l| l.p99),
        show: format_ms,
        compared: None,
    },
    Row {
        label: "p90",
        key: "p90",
        value: |s| s.latency.map(|l| l.p90),
        show: format_ms,
        compared: None,
    },
    Row {
        label: "p99",
        key: "p99",
        value: |s| s.latency.map(|l| l.p99),
        show: format_ms,
        compared: None,
    },
    Row {
        label: "p99.9",
        key: "p999",
        value: |s| s.latency.map(|l| l.p999),
        show: format_ms,
        compared: None,
    },
    Row {
        label: "max",
        key: "max",
        value: |s| s.latency.map(|l| l.max),
        show: format_ms,
        compared: None,
    },
    Row {
        label: "mean",
        key: "mean",
        value: |s| s.latency.map(|l| l.mean),
        show: format_ms,
        compared: None,
    },
    Row {
        label: "Requests/s",
        key: "rps",
        value: |s| Some(s.requests_per_second),
        show: rate,
        compared: None,
    },
    Row {
        label: "Throughput at this concurrency: c ÷ mean latency",
        key: "throughput",
        value: |_| None,
        show: rate,
        compared: Some((|p| p.throughput.map(|e| e.value), "", "")),
    },
    Row {
        label: "Records (all requests)",
        key: "records",
        value: |s| Some(s.records as f64),
        show: count,
        compared: None,
    },
    Row {
        label: "Request bytes (mean)",
        key: "request-bytes",
        value: |s| Some(s.mean_request_bytes),
        show: format_bytes,
        compared: None,
    },
    Row {
        label: "Response on the wire",
        key: "wire-bytes",
        value: |s| s.mean_wire_bytes,
        show: format_bytes,
        compared: Some((|p| p.wire_bytes.map(|e| e.value), " (mean)", " (median)")),
    },
    Row {
        label: "Response decoded (mean)",
        key: "decoded-bytes",
        value: |s| s.mean_decoded_bytes,
        show: format_bytes,
        compared: None,
    },
    Row {
        label: "With headers, approx. (mean)",
        key: "transfer-bytes",
        value: |s| s.mean_transfer_bytes,
        show: format_bytes,
        compared: None,
    },
    Row {
        label: "Payload encoding (mean)",
        key: "payload-bytes",
        value: |s| Some(s.mean_payload_bytes),
        show: format_bytes,
        compared: None,
    },
    Row {
        label: "Wire bytes per record",
        key: "bytes-per-record",
        value: |s| s.wire_bytes_per_record,
        show: format_bytes,
        compared: None,
    },
    Row {
        label: "Client decode",
        key: "decode",
        value: |s| Some(s.mean_decode_ms),
        show: format_ms,
        compared: Some((|p| p.decode_ms.map(|e| e.value), " (mean)", " (median)")),
    },
    Row {
        label: "Time to first byte (mean)",
        key: "ttfb",
        value: |s| s.mean_ttfb_ms,
        show: format_ms,
        compared: None,
    },
    Row {
        label: "Client share (mean): end to end − fetch",
        key: "client",
        value: |s| s.mean_client_ms,
        show: format_ms,
        compared: None,
    },
    Row {
        label: "Server time (mean)",
        key: "server",
        value: |s| s.mean_server_ms,
        show: format_ms,
        compared: None,
    },
    Row {
        label: "Stream: first message (mean)",
        key: "first-message",
        value: |s| s.mean_first_message_ms,
        show: format_ms,
        compared: None,
    },
    Row {
        label: "Records/s (streams: messages/s)",
        key: "records-per-second",
        value: |s| s.records_per_second,
        show: rate,
        compared: None,
    },
];

/// The table, refreshed with the charts; exact percentiles once the run is over.
#[component]
pub fn SummaryTable(
    /// The run to summarise.
    run: LabRun,
    /// Its figures compared between the protocols, once it is over.
    figures: Memo<Option<PointFigures>>,
    /// The HTTP version the run was meant to use.
    expected_http: Signal<HttpVersion>,
    /// The emulated network the run went through, in words.
    network: Signal<String>,
) -> impl IntoView {
    let summaries = Memo::new(move |_| {
        run.with(|run| Protocol::ALL.map(|p| run.data.summary(p, run.is_over())))
    });
    let side = move |p: Protocol| run.with(|r| r.config.side_label(p));
    let service = move || run.with(|r| r.config.client == Client::Service);
    let errors = move || {
        run.with(|run| {
            Protocol::ALL
                .into_iter()
                .filter_map(|p| {
                    let stats = &run.data.stats[p.index()];
                    let message = stats.last_error.clone()?;
                    // What the protocol cannot do here is the finding, not a failure.
                    let (class, text) = if message.starts_with(transport::NOT_IN_BROWSER) {
                        ("note finding", format!("{}: {message}.", p.label()))
                    } else {
                        ("error", format!("{}: {} of {} requests failed. Last error: {message}", p.label(), stats.errors, stats.requests))
                    };
                    Some(view! {
                        <p class=class role="alert" data-testid=format!("error-{}", p.key())>{text}</p>
                    })
                })
                .collect_view()
        })
    };
    let timer = timer_resolution::here();
    // Requests whose Resource Timing entry has been matched so far.
    let timed = move |protocol: Protocol| run.with(|run| run.data.stats[protocol.index()].matched);
    let incomplete = move || {
        run.with(|run| {
            Protocol::ALL
                .into_iter()
                .map(|p| (p, &run.data.stats[p.index()]))
                .filter(|(_, s)| s.incomplete > 0)
                .map(|(p, s)| {
                    format!(
                        "{}: the browser reported {} of {} fetches without body sizes; size means \
                         use the other {}.",
                        p.label(),
                        s.incomplete,
                        s.matched,
                        s.matched - s.incomplete
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    };
    let over = move || run.with(|run| run.is_over());
    let both = move || run.with(|run| run.config.protocol == ProtocolChoice::Both);
    let rows = ROWS
        .iter()
        .map(|row| {
            let interval_key = match row.key {
                "throughput" => Some("rps"),
                "p50" | "mean" | "wire-bytes" | "decode" => Some(row.key),
                _ => None,
            };
            // Once the run is over, a compared row shows the statistic its interval is
            // about; until then the live value.
            let final_value = move |protocol: Protocol| {
                let (statistic, _, _) = row.compared?;
                figures.with(|f| f.as_ref().and_then(|f| statistic(f.of(protocol))))
            };
            let shown = move |protocol: Protocol| {
                if over() && row.compared.is_some() {
                    return final_value(protocol);
                }
                summaries.with(|s| {
                    let summary = &s[protocol.index()];
                    (summary.requests > 0).then(|| (row.value)(summary)).flatten()
                })
            };
            let cell = move |protocol: Protocol| move || shown(protocol).map_or("—".to_owned(), row.show);
            let label = move || {
                let ending = row.compared.map_or("", |(_, live, done)| if over() { done } else { live });
                format!("{}{ending}", row.label)
            };
            // One estimate per row: the interval of the compared figures once the run is
            // over, else the ratio of the two values shown.
            let ratio = move || {
                if row.key == "rps" && both() && over() {
                    return "equal by construction (requests alternate): see throughput".to_owned();
                }
                if let Some(key) = interval_key
                    && over()
                {
                    return figures.with(|f| {
                        f.as_ref()
                            .and_then(|f| f.ratio(key))
                            .map_or("—".to_owned(), |r| comparison::describe(&r))
                    });
                }
                match (shown(Protocol::GrpcWeb), shown(Protocol::Rest)) {
                    (Some(a), Some(b)) if b > 0.0 => format_ratio(a / b),
                    _ => "—".to_owned(),
                }
            };
            view! {
                <tr>
                    <th scope="row"><a href=format!("#{}", definition(row.key))>{label}</a></th>
                    <td data-testid=format!("summary-grpc-web-{}", row.key)>{cell(Protocol::GrpcWeb)}</td>
                    <td data-testid=format!("summary-rest-{}", row.key)>{cell(Protocol::Rest)}</td>
                    <td data-testid=format!("summary-ratio-{}", row.key)>{ratio}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section
            class="panel summary"
            data-testid="summary"
            data-timed-grpc-web=move || timed(Protocol::GrpcWeb)
            data-timed-rest=move || timed(Protocol::Rest)
        >
            <h2>"Results"</h2>
            {errors}
            <p class="note" data-testid="incomplete-entries">{incomplete}</p>
            <p class="note" data-testid="run-network">{network}</p>
            <p class="note" data-testid="custom-decode-note"
                hidden=move || run.with(|run| run.config.shape.custom().is_none())>
                "Your own shape: both protocols decode it by reflection (prost-reflect), so \
                 their client decode times compare with each other, not with the built-in \
                 shapes' (generated code). REST carries the schema's canonical JSON."
            </p>
            <p class="note" data-testid="timer-resolution" data-isolated=timer.isolated.to_string()
                data-step-ms=timer.step_ms.to_string()>
                {move || if service() {
                    "Timer: the native runner's clock (Rust's Instant, nanoseconds); the page's \
                     timer did not time this run."
                        .to_owned()
                } else {
                    timer_note(&timer)
                }}
            </p>
            <p class="note" data-testid="measured-outside" hidden=move || !service()>
                {move || run.with(|r| format!(
                    "Measured outside the browser: the backend's native runner, {} against {}, \
                     on the {} network's listeners. Sizes below are the HTTP bodies it received; \
                     its sockets' bytes (TLS included) are under Socket bytes.",
                    r.config.side_label(Protocol::GrpcWeb),
                    r.config.side_label(Protocol::Rest),
                    r.config.network.key()
                ))}
            </p>
            <Show when=move || !service()>
                <HttpCheck summaries expected_http />
            </Show>
            <p class="note" data-testid="connections-opened"
                data-count=move || run.with(|r| r.connections_opened)
                data-churn=move || run.with(|r| r.churned()).to_string()>
                {move || run.with(|r| r.connections_opened.map(|n| format!(
                    "Connections the backend accepted for this page's listener during the run: {n} \
                     (browsers open at most 6 per origin over HTTP/1.1, one shared connection over HTTP/2).{}",
                    if r.churned() {
                        " Too many: not reused (see Connections)."
                    } else {
                        ""
                    }
                )))}
            </p>
            <div class="table-scroll"><table>
                <thead>
                    <tr>
                        <th></th>
                        <th>{move || side(Protocol::GrpcWeb)}</th>
                        <th>{move || side(Protocol::Rest)}</th>
                        <th>{move || format!("{} : {} (95% interval)", side(Protocol::GrpcWeb), side(Protocol::Rest))}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows}
                    <NextHopRow summaries />
                    <SocketRow run />
                    <ChecksumRow summaries />
                </tbody>
            </table></div>
        </section>
    }
}

/// Service to service: each lane's bytes at its sockets per request (both ways, TLS
/// and HTTP framing included, connection setup shared out), as the runner counted them.
#[component]
fn SocketRow(
    /// The run.
    run: LabRun,
) -> impl IntoView {
    let per_request = move |protocol: Protocol| {
        run.with(|r| {
            let sockets = r.data.sockets.as_ref()?;
            sockets[protocol.index()].per_request(r.data.stats[protocol.index()].requests, true)
        })
    };
    let cell = move |protocol: Protocol| {
        move || per_request(protocol).map_or("—".to_owned(), format_bytes)
    };
    let ratio = move || match (per_request(Protocol::GrpcWeb), per_request(Protocol::Rest)) {
        (Some(a), Some(b)) if b > 0.0 => format_ratio(a / b),
        _ => "—".to_owned(),
    };
    view! {
        <tr hidden=move || run.with(|r| r.data.sockets.is_none())>
            <th scope="row">"Socket bytes per request (TLS included)"</th>
            <td data-testid="summary-grpc-web-socket-bytes">{cell(Protocol::GrpcWeb)}</td>
            <td data-testid="summary-rest-socket-bytes">{cell(Protocol::Rest)}</td>
            <td data-testid="summary-ratio-socket-bytes">{ratio}</td>
        </tr>
    }
}

/// The checksum of the records each protocol's first response carried, and whether
/// they agree: the run's proof that both protocols moved the same data.
#[component]
fn ChecksumRow(
    /// The two protocols' summaries.
    summaries: Memo<[Summary; 2]>,
) -> impl IntoView {
    let checksum = move |protocol: Protocol| {
        summaries.with(|s| {
            s[protocol.index()]
                .checksum
                .map_or("—".to_owned(), |c| format!("{c:08x}"))
        })
    };
    let verdict = move || {
        summaries.with(|s| match (s[0].checksum, s[1].checksum) {
            (Some(a), Some(b)) if a == b => "same data",
            (Some(_), Some(_)) => "different data!",
            _ => "—",
        })
    };
    view! {
        <tr>
            <th scope="row">"Records checksum (first response)"</th>
            <td data-testid="summary-grpc-web-checksum">{move || checksum(Protocol::GrpcWeb)}</td>
            <td data-testid="summary-rest-checksum">{move || checksum(Protocol::Rest)}</td>
            <td data-testid="summary-ratio-checksum">{verdict}</td>
        </tr>
    }
}

/// The id of the "How it is measured" section that defines the row `key`.
fn definition(key: &str) -> &'static str {
    match key {
        "p50" | "p90" | "p99" | "p999" | "max" | "mean" => "m-latency",
        "scheduled-p50" | "scheduled-p99" => "m-latency-from-the-intended-start",
        "rps" | "throughput" => "m-throughput-ratio",
        "records" => "m-same-data",
        "decode" => "m-client-decode",
        "ttfb" => "m-time-to-first-byte-download",
        "client" => "m-client-share",
        "server" => "m-server-time",
        "first-message" => "m-streams",
        "records-per-second" => "m-records-s",
        "requests" | "errors" => "m-both",
        _ => "m-sizes",
    }
}

/// The page's timer in words.
fn timer_note(timer: &Timer) -> String {
    format!(
        "Timer: performance.now() moves in steps of {:.0} µs on this page{}",
        timer.step_ms * 1_000.0,
        if timer.isolated {
            " (cross-origin isolated)."
        } else {
            ": not cross-origin isolated, so the browser coarsens it; times within 5 steps are \
             at its limit."
        }
    )
}

/// `h2` or `http/1.1 ×1,234` for each version seen, most used first.
fn describe_next_hops(hops: &[(String, u64)]) -> String {
    match hops {
        [] => "—".to_owned(),
        [(only, _)] => shown_hop(only).to_owned(),
        many => many
            .iter()
            .map(|(hop, count)| format!("{} ×{count}", shown_hop(hop)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Resource Timing leaves `nextHopProtocol` empty when it cannot tell.
fn shown_hop(hop: &str) -> &str {
    if hop.is_empty() { "unknown" } else { hop }
}

/// The HTTP version the browser actually used for each protocol (`nextHopProtocol`).
#[component]
fn NextHopRow(
    /// The two protocols' summaries.
    summaries: Memo<[Summary; 2]>,
) -> impl IntoView {
    let hops = move |protocol: Protocol| {
        summaries.with(|s| describe_next_hops(&s[protocol.index()].next_hops))
    };
    view! {
        <tr>
            <th scope="row">"HTTP version used"</th>
            <td data-testid="summary-grpc-web-next-hop">{move || hops(Protocol::GrpcWeb)}</td>
            <td data-testid="summary-rest-next-hop">{move || hops(Protocol::Rest)}</td>
            <td></td>
        </tr>
    }
}

/// Flags a run whose requests went out over another HTTP version than chosen.
#[component]
fn HttpCheck(
    /// The two protocols' summaries.
    summaries: Memo<[Summary; 2]>,
    /// The version chosen.
    expected_http: Signal<HttpVersion>,
) -> impl IntoView {
    let mismatch = move || {
        let expected = expected_http.get().next_hop();
        summaries.with(|s| {
            let other: u64 = s
                .iter()
                .flat_map(|summary| summary.next_hops.iter())
                .filter(|(hop, _)| hop != expected)
                .map(|(_, count)| count)
                .sum();
            (other > 0).then(|| {
                // HTTP/3 is the one a browser may decline: "How it is measured" says when.
                let why = if expected == "h3" { " and How it is measured" } else { "" };
                format!(
                    "{other} requests did not use {expected}, the version chosen: see \"HTTP version used\"{why}."
                )
            })
        })
    };
    move || {
        mismatch().map(|message| {
            view! { <p class="error" role="alert" data-testid="http-mismatch">{message}</p> }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{ROWS, definition, describe_next_hops};

    /// Every row's name links to a section of "How it is measured" that exists.
    #[test]
    fn every_row_links_to_its_definition() {
        let page = include_str!("../../../index.html");
        for row in ROWS {
            let id = definition(row.key);
            assert!(page.contains(&format!("id=\"{id}\"")), "{}: #{id}", row.key);
        }
    }

    #[test]
    fn next_hops_read_as_one_version_or_a_count_of_each() {
        assert_eq!(describe_next_hops(&[]), "—");
        assert_eq!(describe_next_hops(&[("h2".into(), 9)]), "h2");
        assert_eq!(
            describe_next_hops(&[("h2".into(), 9), (String::new(), 1)]),
            "h2 ×9, unknown ×1"
        );
    }
}
