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

/// Progress messages waiting for a slow reader; more are dropped (each is a snapshot
/// of the aggregates: the next one says everything the dropped one did).
const PROGRESS_BACKLOG: usize = 8;

/// The run under way, if any: how to stop it.
#[derive(Debug, Default)]
pub struct ServiceRuns {
    stop: Mutex<Option<oneshot::Sender<()>>>,
    busy: Mutex<bool>,
}

/// Holds the one run's place; frees it when dropped (the run ended or was cancelled).
struct Claim(Arc<ServiceRuns>);

impl Drop for Claim {
    fn drop(&mut self) {
        *self.0.busy.lock().expect("not poisoned") = false;
        self.0.stop.lock().expect("not poisoned").take();
    }
}

impl ServiceRuns {
    fn claim(self: &Arc<Self>) -> Option<(Claim, oneshot::Receiver<()>)> {
        let mut busy = self.busy.lock().expect("not poisoned");
        if *busy {
            return None;
        }
        *busy = true;
        let (stop, stopped) = oneshot::channel();
        *self.stop.lock().expect("not poisoned") = Some(stop);
        Some((Claim(self.clone()), stopped))
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
                let _ = stopped.await;
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
    match state.service_runs.stop.lock().expect("not poisoned").take() {
        Some(stop) => {
            let _ = stop.send(());
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(refused(
            StatusCode::NOT_FOUND,
            "no_run",
            "no service-to-service run is under way",
        )),
    }
}
