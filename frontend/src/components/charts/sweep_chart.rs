//! A metric against the sweep's variable: one line per protocol through its points,
//! each point with its 95% interval as a band. Counts and concurrencies sit on a log
//! axis; shapes and compression settings are evenly spaced. It redraws when a point
//! is added, so its cost grows with the points (at most twelve), not the samples.
//!
//! The SVG is written as markup by [`sweep_svg`] rather than as Leptos views: five of
//! these charts as typed views cost the bundle more than all the run's charts, and the
//! markup holds only numbers and the sweep's own value labels (parsed, never raw input).

use std::fmt::Write;

use leptos::prelude::*;

use super::line_chart::step_of;
use super::{HEIGHT, MARGIN, WIDTH, mark_class};
use crate::run::sweep::SweepState;
use crate::run::sweep_point::ProtocolFigures;
use crate::stats::sample_interval::Estimate;
use crate::stats::scale::{LinearScale, nice_ceiling, sweep_position};
use crate::transport::Protocol;

/// The figure a chart draws, with its interval.
pub type Metric = fn(&ProtocolFigures) -> Option<Estimate>;

/// The chart's inner SVG markup for `sweep`.
pub fn sweep_svg(sweep: &SweepState, metric: Metric, format_y: fn(f64, f64) -> String) -> String {
    let (left, right, top, bottom) = MARGIN;
    let plan = &sweep.plan;
    let x = |value: u32| {
        let unit = sweep_position(plan.variable.is_numeric(), &plan.values, value);
        left + 16.0 + unit * (WIDTH - left - right - 32.0)
    };
    let highest = sweep
        .points
        .iter()
        .flat_map(|(_, p)| p.protocols.iter().filter_map(metric))
        .map(|e| e.high)
        .fold(0.0, f64::max);
    let y = LinearScale::new((0.0, nice_ceiling(highest)), (HEIGHT - bottom, top));
    let ticks = y.ticks(4);
    let step = step_of(&ticks);
    let mut svg = String::new();
    for t in ticks {
        let at = y.apply(t);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{left}" x2="{}" y1="{at:.1}" y2="{at:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - right,
            left - 6.0,
            at + 4.0,
            format_y(t, step)
        );
    }
    for &value in &plan.values {
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x(value),
            HEIGHT - bottom + 16.0,
            plan.variable.value_label(value)
        );
    }
    for protocol in Protocol::ALL {
        let points: Vec<(u32, Estimate)> = sweep
            .points
            .iter()
            .filter_map(|(value, p)| Some((*value, metric(p.of(protocol))?)))
            .collect();
        let at = |value: u32, v: f64| format!("{:.1},{:.1} ", x(value), y.apply(v));
        let band: String = points
            .iter()
            .map(|(value, e)| at(*value, e.high))
            .chain(points.iter().rev().map(|(value, e)| at(*value, e.low)))
            .collect();
        let line: String = points
            .iter()
            .map(|(value, e)| at(*value, e.value))
            .collect();
        let class = mark_class(protocol);
        let _ = write!(
            svg,
            r#"<polygon points="{band}" class="band {class}"/><polyline points="{line}" class="line {class}"/>"#
        );
        for (value, e) in &points {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" class="{class}" data-testid="sweep-point" data-protocol="{}" data-x="{}" data-value="{}" data-low="{}" data-high="{}"><title>{}: {} ({} – {})</title></circle>"#,
                x(*value),
                y.apply(e.value),
                protocol.key(),
                plan.variable.value_label(*value),
                e.value,
                e.low,
                e.high,
                protocol.label(),
                format_y(e.value, 0.0),
                format_y(e.low, 0.0),
                format_y(e.high, 0.0)
            );
        }
    }
    svg
}

/// Draws `metric` of every point of `sweep`.
#[component]
pub fn SweepChart(
    /// Title above the chart.
    title: &'static str,
    /// `data-testid` of the chart.
    testid: &'static str,
    /// The sweep to draw.
    sweep: RwSignal<Option<SweepState>>,
    /// The figure drawn, with its interval.
    metric: Metric,
    /// Tick label of a y value, given the step between ticks.
    format_y: fn(f64, f64) -> String,
) -> impl IntoView {
    let markup = move || {
        sweep.with(|s| {
            s.as_ref()
                .map(|s| sweep_svg(s, metric, format_y))
                .unwrap_or_default()
        })
    };
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title inner_html=markup></svg>
        </figure>
    }
}
