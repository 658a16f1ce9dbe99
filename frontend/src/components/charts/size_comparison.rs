//! Mean sizes per request, side by side: what was sent, the payload's own encoding,
//! what crossed the wire (after HTTP compression) and what it decoded to.

use leptos::prelude::*;

use super::{MARGIN, WIDTH, mark_class};
use crate::run::LabRun;
use crate::run::data::Summary;
use crate::stats::scale::{LinearScale, format_bytes, nice_ceiling};
use crate::transport::Protocol;

const ROW: f64 = 34.0;
const LABEL_WIDTH: f64 = 150.0;

/// A protocol's mean bytes per request of `measure`, once it has requests.
fn mean_bytes(summary: &Summary, measure: &str) -> Option<f64> {
    if summary.requests == 0 {
        return None;
    }
    match measure {
        "request" => Some(summary.mean_request_bytes),
        "payload" => Some(summary.mean_payload_bytes),
        "wire" => summary.mean_wire_bytes,
        "decoded" => summary.mean_decoded_bytes,
        _ => summary.mean_transfer_bytes,
    }
}

/// Grouped horizontal bars, one group per size measure.
#[component]
pub fn SizeComparison(
    /// The run to draw.
    run: LabRun,
) -> impl IntoView {
    let measures: [(&str, &str); 5] = [
        ("request", "Request body"),
        ("payload", "Response payload"),
        ("wire", "Response on the wire"),
        ("decoded", "Response decoded"),
        ("transfer", "With headers (approx.)"),
    ];
    let height = measures.len() as f64 * ROW + MARGIN.2 + 8.0;
    let drawing = move || {
        let summaries = run.with(|run| Protocol::ALL.map(|p| run.data.summary(p, false)));
        let value =
            |protocol: Protocol, measure: &str| mean_bytes(&summaries[protocol.index()], measure);
        let max = measures
            .iter()
            .flat_map(|(m, _)| Protocol::ALL.map(|p| value(p, m).unwrap_or(0.0)))
            .fold(0.0, f64::max);
        let x = LinearScale::new(
            (0.0, nice_ceiling(max)),
            (LABEL_WIDTH, WIDTH - MARGIN.1 - 70.0),
        );
        measures
            .iter()
            .enumerate()
            .map(|(row, (measure, label))| {
                let y0 = MARGIN.2 + row as f64 * ROW;
                let bars = Protocol::ALL
                    .into_iter()
                    .filter_map(|protocol| {
                        let bytes = value(protocol, measure)?;
                        let y = y0 + protocol.index() as f64 * (ROW / 2.0 - 2.0);
                        let end = x.apply(bytes);
                        Some(view! {
                            <rect x=LABEL_WIDTH y=y width=(end - LABEL_WIDTH).max(1.0) height=ROW / 2.0 - 4.0
                                class=mark_class(protocol)
                                data-testid=format!("size-{}-{measure}", protocol.key())
                                data-bytes=format!("{bytes:.1}") />
                            <text class="tick" x=end + 4.0 y=y + ROW / 2.0 - 8.0>{format_bytes(bytes)}</text>
                        })
                    })
                    .collect_view();
                view! {
                    <text class="label" x=LABEL_WIDTH - 8.0 y=y0 + ROW / 2.0 text-anchor="end">{*label}</text>
                    {bars}
                }
            })
            .collect_view()
    };
    // The chart's text equivalent: every bar's value, measure by measure.
    let described = move || {
        let summaries = run.with(|run| Protocol::ALL.map(|p| run.data.summary(p, false)));
        let parts: Vec<String> = measures
            .iter()
            .filter_map(|(measure, label)| {
                let values: Vec<String> = Protocol::ALL
                    .into_iter()
                    .filter_map(|p| {
                        let bytes = mean_bytes(&summaries[p.index()], measure)?;
                        Some(format!("{} {}", p.label(), format_bytes(bytes)))
                    })
                    .collect();
                (!values.is_empty()).then(|| format!("{label}: {}", values.join(", ")))
            })
            .collect();
        format!("Bytes per request, mean. {}", parts.join("; "))
    };
    view! {
        <figure class="chart" data-testid="chart-sizes">
            <figcaption>"Bytes per request (mean)"</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label=described>
                {drawing}
            </svg>
        </figure>
    }
}
