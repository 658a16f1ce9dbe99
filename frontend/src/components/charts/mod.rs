//! Live SVG charts drawn with Leptos. Each reads fixed-size aggregates of the run
//! (time buckets, histogram bins, sums), so redrawing costs the same at any run length.

pub mod latency_histogram_chart;
pub mod line_chart;
pub mod palette;
pub mod readout;
pub mod size_comparison;
pub mod sweep_chart;
pub mod timelines;

use crate::transport::Protocol;

/// Chart size in SVG user units (the SVG scales to its box).
pub const WIDTH: f64 = 520.0;
pub const HEIGHT: f64 = 240.0;
/// Room for axis labels: left, right, top, bottom.
pub const MARGIN: (f64, f64, f64, f64) = (56.0, 12.0, 12.0, 36.0);

/// The class that gives a protocol's marks its colour, the same in every chart and in
/// the legend, and the colour scheme's ([`palette`]; `style.css` sets `fill`, or
/// `stroke` for a `line`).
pub fn mark_class(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::GrpcWeb => "p-grpc-web",
        Protocol::Rest => "p-rest",
    }
}
