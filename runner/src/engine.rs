//! The runner's engine, as the page's: `concurrency` workers share one request
//! counter, pace themselves to the target rate (latency then also counted from each
//! request's intended start), alternate the two sides request by request under
//! "Both", and record every call into the instrument's [`RunData`]. Progress is the
//! page's worker's message (aggregates only), four times a second; the end, the whole
//! run with each lane's socket bytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lab_instrument::run::Phase;
use lab_instrument::run::config::{RunConfig, WorkloadKind};
use lab_instrument::run::data::{ProtocolStats, RunData};
use lab_instrument::run::service_lanes::{GrpcLane, RestLane};
use lab_instrument::run::worker_protocol::FromWorker;
use lab_instrument::timer_resolution::Timer;
use lab_instrument::transport::{CallOptions, Protocol};
use lab_proto::contract::listener;
use tokio::task::JoinSet;

use crate::RunnerError;
use crate::grpc_side::GrpcSide;
use crate::http_lane::HttpLane;
use crate::rest_side::RestSide;
use crate::targets::Targets;
use crate::wire::{Connector, WireCounts, tls_config};
use crate::work::Work;

/// How often progress is reported, as the page's worker does.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// The runner's clock: `Instant`, nanoseconds (no browser coarsening).
pub const TIMER: Timer = Timer {
    step_ms: 0.000_001,
    isolated: true,
};

/// Both sides' clients, each on connections of its own.
#[derive(Clone)]
pub struct Sides {
    grpc: GrpcSide,
    rest: RestSide,
    /// Each lane's counted bytes, gRPC's then REST's (the protocols' order).
    pub counts: [Arc<WireCounts>; 2],
}

const ALPN_H2: &[&[u8]] = &[b"h2"];
const ALPN_HTTP1: &[&[u8]] = &[b"http/1.1"];

impl Sides {
    /// Clients for `config`'s lanes on `targets`. Nothing connects before the first
    /// call.
    pub fn new(config: &RunConfig, targets: &Targets) -> Result<Self, RunnerError> {
        let pool = config.concurrency.max(1) as usize;
        let tls = |name: &'static str, alpn: &[&[u8]]| -> Result<_, RunnerError> {
            let (uri, ca) = targets.tls(name)?;
            Ok((
                uri.clone(),
                Some(tls_config(ca, alpn).map_err(RunnerError::Tls)?),
            ))
        };
        let grpc_counts = Arc::new(WireCounts::default());
        let lane = config.lanes.grpc;
        let (base, tls_config) = match lane {
            GrpcLane::H2c | GrpcLane::WebHttp1 => (targets.plain.clone(), None),
            GrpcLane::Tls | GrpcLane::WebH2 => tls(listener::TLS_H2, ALPN_H2)?,
        };
        let connector = Connector::new(tls_config, grpc_counts.clone());
        let http = HttpLane::new(base, connector, grpc_counts.clone(), lane.is_http2(), pool);
        let grpc = GrpcSide::new(lane, http);

        let rest_counts = Arc::new(WireCounts::default());
        let (base, tls_config, socket_base, socket_tls) = match config.lanes.rest {
            RestLane::Http1 => (targets.plain.clone(), None, targets.plain.clone(), None),
            RestLane::H2 => {
                let (base, h2) = tls(listener::TLS_H2, ALPN_H2)?;
                // A WebSocket needs HTTP/1.1: the echo alone goes to that listener.
                let (socket_base, http1) = if config.workload == WorkloadKind::Echo {
                    tls(listener::TLS_HTTP1, ALPN_HTTP1)?
                } else {
                    (base.clone(), h2.clone())
                };
                (base, h2, socket_base, http1)
            }
        };
        let http2 = config.lanes.rest.is_tls();
        let connector = Connector::new(tls_config, rest_counts.clone());
        let lane = HttpLane::new(base, connector, rest_counts.clone(), http2, pool);
        let socket_connector = Connector::new(socket_tls, rest_counts.clone());
        let rest = RestSide::new(lane, socket_base, socket_connector);
        Ok(Self {
            grpc,
            rest,
            counts: [grpc_counts, rest_counts],
        })
    }
}

/// A run as it goes: what the workers record into.
#[derive(Default)]
struct Live {
    data: Mutex<RunData>,
    done: AtomicU64,
}

/// A finished (or stopped) run.
#[derive(Debug, Clone)]
pub struct Finished {
    pub phase: Phase,
    pub elapsed_ms: f64,
    pub done: u64,
    pub data: RunData,
    /// CPU time this process spent during the run (ms), when the platform says.
    pub cpu_ms: Option<f64>,
}

impl Finished {
    /// The page's worker's last message for run number `run`.
    pub fn into_message(self, run: u32) -> FromWorker {
        FromWorker::Ended {
            run,
            phase: self.phase,
            elapsed_ms: self.elapsed_ms,
            done: self.done,
            data: Box::new(self.data),
            timer: Some(TIMER),
        }
    }
}

fn cpu_now() -> Option<Duration> {
    cpu_time::ProcessTime::try_now()
        .ok()
        .map(|t| t.as_duration())
}

/// Runs `config` with `sides` as run number `number` (the page's): `progress` gets the
/// page's progress message every
/// [`PROGRESS_EVERY`]; a run still going after `time_limit`, or when `stop` resolves,
/// is stopped (its calls in flight cancelled, what was measured kept). Dropping the
/// future cancels every call.
pub async fn run(
    config: RunConfig,
    number: u32,
    sides: &Sides,
    time_limit: Duration,
    stop: impl Future<Output = ()>,
    mut progress: impl FnMut(FromWorker),
) -> Result<Finished, RunnerError> {
    let work = Arc::new(Work::of(&config)?);
    let live = Arc::new(Live::default());
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let cpu_start = cpu_now();
    let mut workers = JoinSet::new();
    for _ in 0..config.concurrency.min(config.total).max(1) {
        let (work, live, next, sides) = (work.clone(), live.clone(), next.clone(), sides.clone());
        workers.spawn(async move {
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= u64::from(config.total) {
                    break;
                }
                let due = (config.rate > 0).then(|| seq as f64 * 1_000.0 / f64::from(config.rate));
                if let Some(due) = due {
                    tokio::time::sleep_until(
                        (start + Duration::from_secs_f64(due / 1_000.0)).into(),
                    )
                    .await;
                }
                let protocol = config.protocol.protocol_for(seq);
                let verify = live.data.lock().expect("not poisoned").stats[protocol.index()]
                    .checksum
                    .is_none();
                let options = CallOptions {
                    compression: config.compression,
                    verify,
                };
                let measured = match protocol {
                    Protocol::GrpcWeb => sides.grpc.call(&work, options, start).await,
                    Protocol::Rest => sides.rest.call(&work, options, start).await,
                };
                let mut data = live.data.lock().expect("not poisoned");
                let index = data.record(seq, protocol, &measured.outcome, 0.0);
                if let Some(network) = measured.network {
                    data.attach_network(index, network);
                }
                if let Some(due) = due {
                    data.set_intended_start(index, due);
                }
                live.done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let elapsed_ms = || start.elapsed().as_secs_f64() * 1_000.0;
    let mut ticks = tokio::time::interval_at((start + PROGRESS_EVERY).into(), PROGRESS_EVERY);
    let deadline = tokio::time::sleep(time_limit);
    tokio::pin!(deadline);
    tokio::pin!(stop);
    let phase = loop {
        tokio::select! {
            joined = workers.join_next() => match joined {
                None => break Phase::Finished,
                Some(Err(err)) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Some(_) => {}
            },
            _ = ticks.tick() => progress(FromWorker::Progress {
                run: number,
                elapsed_ms: elapsed_ms(),
                done: live.done.load(Ordering::Relaxed),
                stats: Box::new(stats_of(&live)),
                timer: Some(TIMER),
            }),
            () = &mut deadline => {
                workers.abort_all();
                while workers.join_next().await.is_some() {}
                break Phase::Stopped;
            }
            () = &mut stop => {
                workers.abort_all();
                while workers.join_next().await.is_some() {}
                break Phase::Stopped;
            }
        }
    };
    let elapsed_ms = elapsed_ms();
    let cpu_ms = cpu_start
        .zip(cpu_now())
        .map(|(from, to)| (to - from).as_secs_f64() * 1_000.0);
    let mut data = std::mem::take(&mut *live.data.lock().expect("not poisoned"));
    data.sockets = Some([sides.counts[0].totals(), sides.counts[1].totals()]);
    Ok(Finished {
        phase,
        elapsed_ms,
        done: live.done.load(Ordering::Relaxed),
        data,
        cpu_ms,
    })
}

fn stats_of(live: &Live) -> [ProtocolStats; 2] {
    live.data.lock().expect("not poisoned").stats.clone()
}
