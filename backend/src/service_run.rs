//! `POST /api/v1/service-runs`: the page's "Service to service" runs. The backend's
//! native runner (`lab-runner`) runs the settings against this backend's own listeners
//! on the run's network (so its bytes cross the same emulated link as a browser's),
//! and its progress, then its whole run, go back as Server-Sent Events whose data are
//! the page worker's own messages: the page draws them as it draws its own runs.
//!
//! Bounded like every other input: the settings are clamped as the page's are (at most
//! 64 in flight, the record limit), at most [`MAX_TOTAL`] requests, a run is stopped
//! after [`TIME_LIMIT`], and one runs at a time (another is refused with 409). `DELETE`
//! stops the run under way, which then ends with what it measured; a client that goes
//! away cancels it outright. The run holds a slot of the live-streams gauge.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use futures_util::{Stream, StreamExt};
use lab_instrument::run::config::RunConfig;
use lab_instrument::run::service_lanes::Client;
use lab_proto::contract::rest::END_EVENT;
use lab_runner::engine::{self, Sides};
use lab_runner::targets::Targets;
use tokio::sync::{mpsc, oneshot};

use crate::AppState;
use crate::api_error::ApiError;

/// The longest a service-to-service run goes on before it is stopped.
pub const TIME_LIMIT: Duration = Duration::from_secs(300);

/// The most requests a service-to-service run sends: its samples (a few hundred bytes
/// each as JSON) all come back to the page at its end.
pub const MAX_TOTAL: u32 = 100_000;

/// The most records a service-to-service run has in flight (records per request ×
/// concurrency): each request's are encoded, sent and decoded in this process.
pub const MAX_RECORDS_IN_FLIGHT: u64 = 200_000;

/// Progress messages waiting for a slow reader; more are dropped (each is a snapshot
/// of the aggregates: the next one says everything the dropped one did).
const PROGRESS_BACKLOG: usize = 8;

/// The run under way, if any: how to stop it.
#[derive(Debug, Default)]
pub struct ServiceRuns(Mutex<Current>);

/// Whether a run holds the place, which run (a generation), and its stop.
#[derive(Debug, Default)]
struct Current {
    busy: bool,
    generation: u64,
    stop: Option<oneshot::Sender<()>>,
}

/// Holds the one run's place; frees it when dropped (the run ended or was cancelled),
/// unless a later run holds it by then.
struct Claim {
    runs: Arc<ServiceRuns>,
    generation: u64,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut current = self.runs.0.lock().expect("not poisoned");
        if current.generation == self.generation {
            current.busy = false;
            current.stop = None;
        }
    }
}

impl ServiceRuns {
    fn claim(self: &Arc<Self>) -> Option<(Claim, oneshot::Receiver<()>)> {
        let mut current = self.0.lock().expect("not poisoned");
        if current.busy {
            return None;
        }
        let (stop, stopped) = oneshot::channel();
        current.busy = true;
        current.generation += 1;
        current.stop = Some(stop);
        let claim = Claim {
            runs: self.clone(),
            generation: current.generation,
        };
        Some((claim, stopped))
    }

    /// Stops the run under way; whether there was one.
    fn stop(&self) -> bool {
        let stop = self.0.lock().expect("not poisoned").stop.take();
        stop.is_some_and(|stop| stop.send(()).is_ok())
    }
}

/// Aborts the run's task when the response is dropped: the client went away.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn refused(status: StatusCode, error: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(status, error, detail)
}

/// The page's number for the run (`?run=N`): the messages carry it, so its worker
/// passes them on without decoding them.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RunNumber {
    #[serde(default)]
    run: u32,
}

/// `POST`: starts a run of the settings in the body (the page's URL form).
pub async fn start(
    State(state): State<AppState>,
    number: Result<Query<RunNumber>, QueryRejection>,
    settings: String,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let run = number?.0.run;
    let mut config = RunConfig::from_query(settings.trim());
    config.client = Client::Service;
    let listeners = state
        .listeners
        .iter()
        .filter(|l| !l.kind.is_quic())
        .map(|l| (l.kind.name(), l.url(), l.network()));
    let trust = state
        .config
        .tls_chain_pem
        .as_ref()
        .map(|pem| pem.as_bytes().to_vec());
    let targets = Targets::pick(listeners, config.network, trust)
        .map_err(|err| refused(StatusCode::BAD_REQUEST, "invalid_argument", err.to_string()))?;
    let sides = Sides::new(&config, &targets)
        .map_err(|err| refused(StatusCode::BAD_REQUEST, "invalid_argument", err.to_string()))?;
    if config.shape.custom().is_some() {
        let err = lab_runner::RunnerError::CustomShape;
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            err.to_string(),
        ));
    }
    let in_flight = u64::from(config.count) * u64::from(config.concurrency);
    if config.workload != lab_instrument::run::config::WorkloadKind::Ping
        && in_flight > MAX_RECORDS_IN_FLIGHT
    {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            format!(
                "a service-to-service run holds at most {MAX_RECORDS_IN_FLIGHT} records in \
                 flight (records per request × concurrency; the runner shares the backend's \
                 memory): lower the count or the concurrency"
            ),
        ));
    }
    if config.total > MAX_TOTAL {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            format!(
                "a service-to-service run sends at most {MAX_TOTAL} requests (its every \
                 sample comes back to the page): lower the total"
            ),
        ));
    }
    let (claim, stopped) = state.service_runs.claim().ok_or_else(|| {
        refused(
            StatusCode::CONFLICT,
            "run_under_way",
            "a service-to-service run is under way: stop it (DELETE /api/v1/service-runs) or \
             wait for it to end",
        )
    })?;
    let slot = state.live_streams.admit()?;
    let (events, receiver) = mpsc::channel::<Event>(PROGRESS_BACKLOG);
    let task = tokio::spawn(async move {
        let _held = (claim, slot);
        let progress = events.clone();
        let ran = engine::run(
            config,
            run,
            &sides,
            TIME_LIMIT,
            async {
                // A stop dropped unsent (the place freed) is no stop.
                if stopped.await.is_err() {
                    std::future::pending::<()>().await;
                }
            },
            move |message| {
                let event = Event::default()
                    .json_data(&message)
                    .expect("the lab's own types");
                let _ = progress.try_send(event);
            },
        )
        .await;
        match ran {
            Ok(finished) => {
                let event = Event::default()
                    .json_data(finished.into_message(run))
                    .expect("the lab's own types");
                let _ = events.send(event).await;
            }
            Err(err) => {
                let _ = events
                    .send(Event::default().event("error").data(err.to_string()))
                    .await;
            }
        }
        let _ = events
            .send(Event::default().event(END_EVENT).data(END_EVENT))
            .await;
    });
    let guard = AbortOnDrop(task.abort_handle());
    let stream = tokio_stream::wrappers::ReceiverStream::new(receiver).map(move |event| {
        let _ = &guard;
        Ok(event)
    });
    Ok(Sse::new(stream))
}

/// `DELETE`: stops the run under way; it ends with what it measured.
pub async fn stop(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    if state.service_runs.stop() {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(refused(
            StatusCode::NOT_FOUND,
            "no_run",
            "no service-to-service run is under way",
        ))
    }
}
