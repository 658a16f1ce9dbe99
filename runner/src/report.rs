//! The command line's table: each side's figures after the warm-up, with their 95%
//! intervals, as the page's sweep computes a point's ([`sweep_point::measure`]), and
//! what only a native client can count: socket bytes per request (TLS included and
//! excluded), connections, CPU per request.

use lab_instrument::run::config::RunConfig;
use lab_instrument::run::data::{RunData, Sample};
use lab_instrument::run::sweep_point::{self, PointFigures};
use lab_instrument::stats::sample_interval::Estimate;
use lab_instrument::stats::scale::{format_bytes, format_ms, format_significant};
use lab_instrument::transport::Protocol;

use crate::engine::Finished;

/// The samples after the first `warmup` requests.
pub fn measured(data: &RunData, warmup: u64) -> Vec<Sample> {
    data.samples
        .iter()
        .filter(|s| s.seq >= warmup)
        .cloned()
        .collect()
}

/// The figures of `finished` after `warmup` requests.
pub fn figures(config: &RunConfig, finished: &Finished, warmup: u64) -> PointFigures {
    sweep_point::measure(&measured(&finished.data, warmup), config.concurrency)
}

fn estimate(e: Option<Estimate>, format: fn(f64) -> String) -> String {
    e.map_or("–".into(), |e| {
        format!("{} ({}–{})", format(e.value), format(e.low), format(e.high))
    })
}

fn optional(v: Option<f64>, format: fn(f64) -> String) -> String {
    v.map_or("–".into(), format)
}

fn rate(v: f64) -> String {
    format_significant(v, 3, 1)
}

/// The run as a table, a column per side, then the deciding ratios.
pub fn table(config: &RunConfig, finished: &Finished, warmup: u64) -> String {
    let figures = figures(config, finished, warmup);
    let data = &finished.data;
    let sides = Protocol::ALL.map(|p| config.side_label(p));
    let mut rows: Vec<(String, [String; 2])> = Vec::new();
    let mut row = |name: &str, f: &dyn Fn(Protocol) -> String| {
        rows.push((name.to_owned(), Protocol::ALL.map(f)));
    };
    let summary = Protocol::ALL.map(|p| data.summary(p, true));
    row("requests (errors)", &|p| {
        let f = figures.of(p);
        format!("{} ({})", f.requests, f.errors)
    });
    row("p50", &|p| estimate(figures.of(p).p50_ms, format_ms));
    row("p99", &|p| estimate(figures.of(p).p99_ms, format_ms));
    row("requests/s (measured)", &|p| {
        rate(summary[p.index()].requests_per_second)
    });
    row("throughput (c ÷ mean)", &|p| {
        estimate(figures.of(p).throughput, rate)
    });
    row("response body on the wire", &|p| {
        estimate(figures.of(p).wire_bytes, format_bytes)
    });
    row("payload (protobuf / JSON)", &|p| {
        optional(figures.of(p).payload_bytes, format_bytes)
    });
    row("request body", &|p| {
        optional(figures.of(p).request_bytes, format_bytes)
    });
    let sockets = data.sockets.unwrap_or_default();
    row("socket bytes/request (TLS incl.)", &|p| {
        optional(
            sockets[p.index()].per_request(summary[p.index()].requests, true),
            format_bytes,
        )
    });
    row("socket bytes/request (TLS excl.)", &|p| {
        optional(
            sockets[p.index()].per_request(summary[p.index()].requests, false),
            format_bytes,
        )
    });
    row("connections opened", &|p| {
        sockets[p.index()].connections.to_string()
    });
    row("first message (median)", &|p| {
        estimate(figures.of(p).first_message_ms, format_ms)
    });
    row("messages/s per stream", &|p| {
        optional(figures.of(p).messages_per_second, rate)
    });
    row("client decode (median)", &|p| {
        estimate(figures.of(p).decode_ms, format_ms)
    });
    row("HTTP version", &|p| {
        figures.of(p).next_hop.clone().unwrap_or_else(|| "–".into())
    });
    let width = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    let column = |i: usize| {
        rows.iter()
            .map(|(_, c)| c[i].chars().count())
            .chain([sides[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let (a, b) = (column(0), column(1));
    let mut out = format!("{:width$}  {:a$}  {:b$}\n", "", sides[0], sides[1]);
    for (name, [g, r]) in &rows {
        out.push_str(&format!("{name:width$}  {g:a$}  {r:b$}\n"));
    }
    if let Some(cpu) = finished.cpu_ms.filter(|_| finished.done > 0) {
        out.push_str(&format!(
            "runner CPU: {} per request ({} in all, both sides' clients in one process)\n",
            format_ms(cpu / finished.done as f64),
            format_ms(cpu)
        ));
    }
    if let Some(line) = figures.headline("this run", sides) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}
