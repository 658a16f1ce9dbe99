//! The command line's table: each side's figures after the warm-up, with their 95%
//! intervals, as the page's sweep computes a point's ([`sweep_point::measure`]), and
//! what only a native client can count: socket bytes per request (TLS included and
//! excluded), connections, CPU per request.

use lab_instrument::run::claims::{self, Evidence, Observation, Verdict};
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
    row("requests/s (whole run)", &|p| {
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
    // Socket bytes are the whole run's (warm-up and connection setup included).
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
    out.push_str(&claims(config, &figures));
    out
}

/// What this shows: the page's claims, checked against this run by the page's code;
/// those it measured, with their verdicts and numbers.
pub fn claims(config: &RunConfig, figures: &PointFigures) -> String {
    let evidence = Evidence {
        observations: vec![Observation {
            label: "this run".into(),
            config: *config,
            figures,
        }],
        variable: None,
        history: &[],
        timer: Some(crate::engine::TIMER),
    };
    let mut out = String::new();
    for claim in claims::check(&evidence) {
        if claim.verdict == Verdict::NotMeasured {
            continue;
        }
        out.push_str(&format!(
            "- {} [{}]: {}\n",
            claim.claim,
            claim.verdict.key(),
            claim.summary
        ));
        for line in &claim.evidence {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

/// One side's figures, for tools that read them (`--figures`).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SideFigures {
    pub side: &'static str,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Requests per second over the run (first start to last end).
    pub requests_per_second: f64,
    /// Response body bytes as received (median).
    pub wire_bytes: Option<f64>,
    pub socket_bytes_per_request: Option<f64>,
    pub plaintext_bytes_per_request: Option<f64>,
    pub connections: u64,
    pub first_message_ms: Option<f64>,
    pub messages_per_second: Option<f64>,
    pub records_per_request: Option<f64>,
}

/// A run's figures (`--figures`).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFigures {
    pub settings: String,
    pub stopped: bool,
    pub elapsed_ms: f64,
    /// This process's CPU time per request (both sides' clients, when both ran).
    pub cpu_ms_per_request: Option<f64>,
    pub sides: Vec<SideFigures>,
}

/// The figures of `finished` after `warmup` requests, as JSON.
pub fn figures_json(config: &RunConfig, finished: &Finished, warmup: u64) -> String {
    let figures = figures(config, finished, warmup);
    let sockets = finished.data.sockets.unwrap_or_default();
    let sides = Protocol::ALL
        .into_iter()
        .map(|p| {
            let f = figures.of(p);
            let summary = finished.data.summary(p, true);
            let socket = sockets[p.index()];
            SideFigures {
                side: config.side_label(p),
                requests: f.requests,
                errors: f.errors,
                p50_ms: f.p50_ms.map(|e| e.value),
                p99_ms: f.p99_ms.map(|e| e.value),
                requests_per_second: summary.requests_per_second,
                wire_bytes: f.wire_bytes.map(|e| e.value),
                socket_bytes_per_request: socket.per_request(summary.requests, true),
                plaintext_bytes_per_request: socket.per_request(summary.requests, false),
                connections: socket.connections,
                first_message_ms: f.first_message_ms.map(|e| e.value),
                messages_per_second: f.messages_per_second,
                records_per_request: f.records,
            }
        })
        .collect();
    let report = RunFigures {
        settings: config.to_query(),
        stopped: finished.phase == lab_instrument::run::Phase::Stopped,
        elapsed_ms: finished.elapsed_ms,
        cpu_ms_per_request: finished
            .cpu_ms
            .filter(|_| finished.done > 0)
            .map(|cpu| cpu / finished.done as f64),
        sides,
    };
    serde_json::to_string(&report).expect("plain data serializes")
}
