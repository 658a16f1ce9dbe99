//! Latency over time and throughput over time, from each protocol's time buckets.

use leptos::prelude::*;

use super::line_chart::{LineChart, Series};
use crate::lab_run::SharedRun;
use crate::stats::scale::format_ms;
use crate::transport::Protocol;

fn seconds(ms: f64) -> String {
    format!("{:.0} s", ms / 1_000.0)
}

fn per_second(value: f64) -> String {
    format!("{value:.0}/s")
}

/// Mean end-to-end latency per time bucket.
#[component]
pub fn LatencyOverTime(
    /// The run to draw.
    run: SharedRun,
    /// Bumped on every refresh.
    tick: RwSignal<u64>,
) -> impl IntoView {
    let series = Signal::derive(move || {
        tick.track();
        run.with_value(|run| {
            Protocol::ALL
                .into_iter()
                .map(|protocol| {
                    let timeline = &run.data.stats[protocol.index()].timeline;
                    let half = timeline.width_ms() / 2.0;
                    let points = timeline
                        .buckets()
                        .iter()
                        .filter_map(|b| Some((b.start_ms + half, b.mean()?)))
                        .collect();
                    Series { protocol, points }
                })
                .filter(|s| !s.points.is_empty())
                .collect()
        })
    });
    view! {
        <LineChart title="Latency over time (mean per interval)" testid="chart-latency-over-time"
            series format_x=seconds format_y=format_ms />
    }
}

/// Completed requests per second, per time bucket.
#[component]
pub fn ThroughputOverTime(
    /// The run to draw.
    run: SharedRun,
    /// Bumped on every refresh.
    tick: RwSignal<u64>,
) -> impl IntoView {
    let series = Signal::derive(move || {
        tick.track();
        run.with_value(|run| {
            let elapsed = run.elapsed_ms();
            Protocol::ALL
                .into_iter()
                .map(|protocol| {
                    let timeline = &run.data.stats[protocol.index()].timeline;
                    let width = timeline.width_ms();
                    let points = timeline
                        .buckets()
                        .iter()
                        // The bucket still filling would read low: leave it out.
                        .filter(|b| b.start_ms + width <= elapsed || run.end_ms.is_some())
                        .map(|b| (b.start_ms + width / 2.0, timeline.rate_per_second(b)))
                        .collect();
                    Series { protocol, points }
                })
                .filter(|s| !s.points.is_empty())
                .collect()
        })
    });
    view! {
        <LineChart title="Throughput over time (requests/s)" testid="chart-throughput"
            series format_x=seconds format_y=per_second />
    }
}
