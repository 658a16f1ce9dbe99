//! A line chart with one line per protocol, linear axes and nice ticks.

use leptos::prelude::*;

use super::readout::Readout;

use super::{HEIGHT, MARGIN, WIDTH, mark_class};
use crate::stats::scale::{LinearScale, nice_ceiling};
use crate::transport::Protocol;

/// One protocol's points, x ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub protocol: Protocol,
    pub points: Vec<(f64, f64)>,
}

/// The distance between consecutive ticks, for labels of the right precision.
pub(super) fn step_of(ticks: &[f64]) -> f64 {
    match ticks {
        [first, second, ..] => second - first,
        _ => 0.0,
    }
}

/// Draws `series`; `format_x`/`format_y` label the ticks.
#[component]
pub fn LineChart(
    /// Title above the chart.
    title: &'static str,
    /// `data-testid` of the chart.
    testid: &'static str,
    /// The lines, recomputed on every refresh.
    series: Signal<Vec<Series>>,
    /// Tick label of an x value, given the step between ticks.
    format_x: fn(f64, f64) -> String,
    /// Tick label of a y value, given the step between ticks.
    format_y: fn(f64, f64) -> String,
) -> impl IntoView {
    let (left, right, top, bottom) = MARGIN;
    let drawing = move || {
        let series = series.get();
        let points = || series.iter().flat_map(|s| s.points.iter());
        let max_x = points().map(|p| p.0).fold(0.0, f64::max);
        let max_y = points().map(|p| p.1).fold(0.0, f64::max);
        let x = LinearScale::new((0.0, nice_ceiling(max_x)), (left, WIDTH - right));
        let y = LinearScale::new((0.0, nice_ceiling(max_y)), (HEIGHT - bottom, top));
        let (x_ticks, y_ticks) = (x.ticks(5), y.ticks(4));
        let (x_step, y_step) = (step_of(&x_ticks), step_of(&y_ticks));
        let x_ticks = x_ticks.into_iter().map(|t| {
            let at = x.apply(t);
            view! {
                <line class="grid" x1=at x2=at y1=top y2=HEIGHT - bottom />
                <text class="tick" x=at y=HEIGHT - bottom + 16.0 text-anchor="middle">{format_x(t, x_step)}</text>
            }
        });
        let y_ticks = y_ticks.into_iter().map(|t| {
            let at = y.apply(t);
            view! {
                <line class="grid" x1=left x2=WIDTH - right y1=at y2=at />
                <text class="tick" x=left - 6.0 y=at + 4.0 text-anchor="end">{format_y(t, y_step)}</text>
            }
        });
        let lines = series
            .iter()
            .map(|s| {
                let path = s
                    .points
                    .iter()
                    .map(|&(px, py)| format!("{:.1},{:.1}", x.apply(px), y.apply(py)))
                    .collect::<Vec<_>>()
                    .join(" ");
                // A mark per point; hovering it shows its values (the browser's tooltip).
                let marks = s
                    .points
                    .iter()
                    .map(|&(px, py)| {
                        let values = format!(
                            "{}: {} at {}",
                            s.protocol.label(),
                            format_y(py, y_step),
                            format_x(px, x_step)
                        );
                        view! {
                            <circle class=format!("point {}", mark_class(s.protocol))
                                cx=x.apply(px) cy=y.apply(py) r="3"><title>{values}</title></circle>
                        }
                    })
                    .collect_view();
                view! {
                    <polyline
                        points=path
                        class=format!("line {}", mark_class(s.protocol))
                        data-protocol=s.protocol.key()
                        data-points=s.points.len()
                    />
                    {marks}
                }
            })
            .collect_view();
        view! {
            {x_ticks.collect_view()}
            {y_ticks.collect_view()}
            {lines}
        }
    };
    let readout = Readout::new();
    // The chart in words, for screen readers: each protocol's latest point.
    let text = move || {
        let latest: Vec<String> = series.with(|all| {
            all.iter()
                .filter_map(|s| {
                    let &(px, py) = s.points.last()?;
                    Some(format!(
                        "{} {} at {}",
                        s.protocol.label(),
                        format_y(py, 0.0),
                        format_x(px, 0.0)
                    ))
                })
                .collect()
        });
        if latest.is_empty() {
            title.to_owned()
        } else {
            format!("{title}: latest {}", latest.join(", "))
        }
    };
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=text
                tabindex="0" on:mouseover=move |ev| readout.hover(ev) on:keydown=move |ev| readout.key(ev)>
                {drawing}
            </svg>
            <p class="readout" aria-live="polite" data-testid=format!("{testid}-readout")>
                {move || readout.text().get()}
            </p>
        </figure>
    }
}
