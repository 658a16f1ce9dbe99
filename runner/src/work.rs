//! What a run repeats, prepared once for all its requests (an upload's records are
//! generated once and shared), and what one call measured: the instrument's
//! [`CallOutcome`], with what the runner saw of its response on the wire in the place
//! of a browser's Resource Timing entry.

use std::sync::Arc;
use std::time::Instant;

use lab_instrument::run::config::{RunConfig, WorkloadKind};
use lab_instrument::run::shape_choice::ShapeChoice;
use lab_instrument::run::timing::NetworkTiming;
use lab_instrument::transport::{CallOutcome, FetchParams};
use lab_proto::v1::{Record, Shape};

use crate::RunnerError;
use crate::http_lane::CallMeter;

/// The request a run repeats.
#[derive(Debug, Clone)]
pub enum Work {
    Ping,
    Fetch(FetchParams),
    Upload(Arc<Vec<Record>>),
    Stream {
        params: FetchParams,
        interval_ms: u32,
    },
    ClientStream(Arc<Vec<Record>>),
    Echo(Arc<Vec<Record>>),
}

impl Work {
    /// `config`'s request. The runner sends the built-in shapes: a person's own shape
    /// is the browser's (its records are generated and decoded by reflection there).
    pub fn of(config: &RunConfig) -> Result<Self, RunnerError> {
        let shape = match config.shape {
            ShapeChoice::BuiltIn(shape) => shape,
            ShapeChoice::Custom(_) => return Err(RunnerError::CustomShape),
        };
        let records = || {
            Arc::new(lab_proto::dataset::generate(
                shape,
                config.seed,
                config.count as usize,
            ))
        };
        Ok(match config.workload {
            WorkloadKind::Ping => Work::Ping,
            WorkloadKind::Fetch => Work::Fetch(config.fetch_params()),
            WorkloadKind::Upload => Work::Upload(records()),
            WorkloadKind::Stream => Work::Stream {
                params: config.fetch_params(),
                interval_ms: config.interval_ms,
            },
            WorkloadKind::ClientStream => Work::ClientStream(records()),
            WorkloadKind::Echo => Work::Echo(records()),
        })
    }

    /// The records an upload, client stream or echo sends.
    pub fn records(&self) -> &[Record] {
        match self {
            Work::Upload(records) | Work::ClientStream(records) | Work::Echo(records) => records,
            _ => &[],
        }
    }
}

/// A built-in shape's wire value.
pub fn shape_of(params: FetchParams) -> i32 {
    match params.shape {
        ShapeChoice::BuiltIn(shape) => shape.into(),
        ShapeChoice::Custom(_) => Shape::Unspecified.into(),
    }
}

/// Milliseconds from `since` to now.
pub fn ms_since(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1_000.0
}

/// One call as measured: the outcome, and what its meter saw.
#[derive(Debug)]
pub struct Measured {
    pub outcome: CallOutcome,
    pub network: Option<NetworkTiming>,
}

impl Measured {
    /// Ends a call that started at `meter`'s start: end to end is now. `decoded`: the
    /// response body's bytes once HTTP compression is undone, when it was compressed.
    /// A call that never got a response head has no network entry.
    pub fn finish(mut outcome: CallOutcome, meter: &CallMeter, decoded: Option<u64>) -> Self {
        outcome.e2e_ms = ms_since(meter.started());
        let network = meter.ttfb_ms().map(|ttfb_ms| {
            let body = meter.body_bytes();
            NetworkTiming {
                start_ms: outcome.started_ms,
                // The runner sees bodies, not headers: socket bytes are the lane's.
                ttfb_ms,
                download_ms: meter.download_ms(),
                encoded_body: body,
                decoded_body: decoded.unwrap_or(body),
                transfer_size: 0,
                server_ms: None,
                protocol: meter.protocol().to_owned(),
                new_connection: false,
            }
        });
        Measured { outcome, network }
    }
}

/// A call's outcome before it has measured anything: it starts now, `run_start` being
/// the run's clock origin.
pub fn started(url: String, meter: &CallMeter, run_start: Instant) -> CallOutcome {
    let started_ms = meter.started().duration_since(run_start).as_secs_f64() * 1_000.0;
    CallOutcome::started(url, started_ms)
}
