//! Latency over time and throughput over time, from each protocol's time buckets.

use leptos::prelude::*;

use super::line_chart::{LineChart, Series};
use crate::run::{LabRun, RunState};
use crate::stats::scale::{format_ms, format_per_second, format_seconds};
use crate::stats::time_series::TimeSeries;
use crate::transport::Protocol;

/// One line per protocol that has points, from its time buckets via `points`.
fn timeline_series(
    run: LabRun,
    points: fn(&RunState, &TimeSeries) -> Vec<(f64, f64)>,
) -> Signal<Vec<Series>> {
    Signal::derive(move || {
        run.with(|run| {
            Protocol::ALL
                .into_iter()
                .map(|protocol| Series {
                    protocol,
                    points: points(run, &run.data.stats[protocol.index()].timeline),
                })
                .filter(|s| !s.points.is_empty())
                .collect()
        })
    })
}

/// Mean end-to-end latency per time bucket.
#[component]
pub fn LatencyOverTime(
    /// The run to draw.
    run: LabRun,
) -> impl IntoView {
    let series = timeline_series(run, |_, timeline| {
        let half = timeline.width_ms() / 2.0;
        timeline
            .buckets()
            .iter()
            .filter_map(|b| Some((b.start_ms + half, b.mean()?)))
            .collect()
    });
    view! {
        <LineChart title="Latency over time (mean per interval)" testid="chart-latency-over-time"
            series format_x=format_seconds format_y=|ms, _| format_ms(ms) />
    }
}

/// Completed requests per second, per time bucket.
#[component]
pub fn ThroughputOverTime(
    /// The run to draw.
    run: LabRun,
) -> impl IntoView {
    let series = timeline_series(run, |run, timeline| {
        let (width, elapsed) = (timeline.width_ms(), run.elapsed_ms());
        timeline
            .buckets()
            .iter()
            // The bucket still filling would read low: leave it out.
            .filter(|b| b.start_ms + width <= elapsed || run.end_ms.is_some())
            .map(|b| (b.start_ms + width / 2.0, timeline.rate_per_second(b)))
            .collect()
    });
    view! {
        <LineChart title="Throughput over time (requests/s)" testid="chart-throughput"
            series format_x=format_seconds format_y=format_per_second />
    }
}
