//! The latency distribution: each protocol's histogram over log-spaced bins.

use leptos::prelude::*;

use super::readout::Readout;
use super::{HEIGHT, MARGIN, WIDTH, mark_class};
use crate::run::LabRun;
use crate::stats::latency_histogram::{BINS_PER_DECADE, bin_edge_ms};
use crate::stats::scale::{LinearScale, format_ms, nice_ceiling};
use crate::transport::Protocol;

/// Bars per protocol over the bins either protocol occupies.
#[component]
pub fn LatencyHistogramChart(
    /// The run to draw.
    run: LabRun,
) -> impl IntoView {
    let (left, right, top, bottom) = MARGIN;
    let drawing = move || {
        run.with(|run| {
            let histograms = Protocol::ALL.map(|p| &run.data.stats[p.index()].latency);
            let occupied = histograms.iter().filter_map(|h| h.occupied());
            let (Some(first), Some(last)) =
                (occupied.clone().map(|o| o.0).min(), occupied.map(|o| o.1).max())
            else {
                return ().into_any();
            };
            // A little room either side, and at least a decade shown.
            let first = first.saturating_sub(1);
            let last = (last + 1).max(first + BINS_PER_DECADE);
            let slots = (last - first + 1) as f64;
            let slot = (WIDTH - left - right) / slots;
            let max_count = histograms.iter().map(|h| h.max_count()).max().unwrap_or(0) as f64;
            let y = LinearScale::new((0.0, nice_ceiling(max_count)), (HEIGHT - bottom, top));
            let bars = Protocol::ALL
                .into_iter()
                .enumerate()
                .flat_map(|(lane, protocol)| {
                    let histogram = histograms[protocol.index()];
                    histogram
                        .bins()
                        .enumerate()
                        .filter(|(i, bin)| bin.count > 0 && (first..=last).contains(i))
                        .map(move |(i, bin)| {
                            let x = left + (i - first) as f64 * slot + lane as f64 * slot / 2.0;
                            let top_y = y.apply(bin.count as f64);
                            // Hovering a bar shows its values (the browser's own tooltip).
                            let values = format!(
                                "{}: {} requests from {} to {}",
                                protocol.label(),
                                bin.count,
                                format_ms(bin_edge_ms(i)),
                                format_ms(bin_edge_ms(i + 1))
                            );
                            view! {
                                <rect x=x y=top_y width=(slot / 2.0).max(1.0) height=HEIGHT - bottom - top_y
                                    class=mark_class(protocol)><title>{values}</title></rect>
                            }
                        })
                        .collect::<Vec<_>>()
                })
                .collect_view();
            let x_ticks = (first..=last + 1)
                .filter(|i| i % (BINS_PER_DECADE / 2) == 0)
                .map(|i| {
                    let at = left + (i - first) as f64 * slot;
                    view! {
                        <line class="grid" x1=at x2=at y1=top y2=HEIGHT - bottom />
                        <text class="tick" x=at y=HEIGHT - bottom + 16.0 text-anchor="middle">
                            {format_ms(bin_edge_ms(i))}
                        </text>
                    }
                })
                .collect_view();
            let y_ticks = y
                .ticks(4)
                .into_iter()
                .map(|t| {
                    let at = y.apply(t);
                    view! {
                        <line class="grid" x1=left x2=WIDTH - right y1=at y2=at />
                        <text class="tick" x=left - 6.0 y=at + 4.0 text-anchor="end">{format!("{t}")}</text>
                    }
                })
                .collect_view();
            view! { {x_ticks} {y_ticks} {bars} }.into_any()
        })
    };
    let readout = Readout::new();
    // The chart's text equivalent: each protocol's requests and quartiles, from the
    // same bins (within one bin) while the run goes on.
    let described = move || {
        let parts = run.with(|run| {
            Protocol::ALL.map(|p| {
                let h = &run.data.stats[p.index()].latency;
                match (h.quantile(0.5), h.quantile(0.99)) {
                    (Some(p50), Some(p99)) => format!(
                        "{}: {} requests, median {}, 99th percentile {}",
                        p.label(),
                        h.count(),
                        format_ms(p50),
                        format_ms(p99)
                    ),
                    _ => format!("{}: no requests yet", p.label()),
                }
            })
        });
        format!("Latency distribution. {}", parts.join("; "))
    };
    view! {
        <figure class="chart" data-testid="chart-latency-histogram">
            <figcaption>"Latency distribution (requests per bin, log scale)"</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=described
                tabindex="0" on:mouseover=move |ev| readout.hover(ev) on:keydown=move |ev| readout.key(ev)>
                {drawing}
            </svg>
            <p class="readout" aria-live="polite" data-testid="chart-latency-histogram-readout">
                {move || readout.text().get()}
            </p>
        </figure>
    }
}
