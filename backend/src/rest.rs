//! The REST face of the lab: JSON under `/api/v1`, built from the same prost values the
//! gRPC side encodes (see `lab_proto::v1` for the JSON field naming).
//!
//! | method | path | body / query | answer |
//! |---|---|---|---|
//! | GET | `/api/v1/ping` | – | `{}` |
//! | GET | `/api/v1/records` | `shape`, `count`, `seed` | `FetchResponse` |
//! | POST | `/api/v1/uploads` | `UploadRequest` | `UploadResponse` |
//! | GET | `/api/v1/records/stream` | `shape`, `count`, `seed`, `intervalMs` | SSE of `StreamResponse`, then `event: end` |
//! | POST | `/api/v1/uploads/stream` | `Record`s as newline-delimited JSON, streamed | `UploadResponse` |
//! | GET (WebSocket) | `/api/v1/echo` | a `Record` as JSON per text message | an `EchoResponse` as JSON per message |
//! | GET | `/api/v1/status` | – | [`ServerStatus`]: live streams, requests per route, limits, listeners and their connections |
//! | POST | `/api/v1/shapes` | `ShapeInput` (a JSON sample, or a .proto and its message) | `ShapeInfo` |
//! | GET | `/api/v1/shapes/{id}` | – | `ShapeInfo` |
//! | GET | `/api/v1/shapes/{id}/descriptor` | – | the shape's `FileDescriptorSet` (protobuf) |
//!
//! A custom shape's key (`shape=custom-{id}`) goes where a built-in shape's does, and
//! on an upload's URL: its records travel as the proto3 canonical JSON of its schema
//! (`custom_workload`). The paths and query keys are `lab_proto::contract::rest`'s.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{Stream, StreamExt};
use lab_proto::contract::MAX_MESSAGE_BYTES;
use lab_proto::contract::custom::{self, ShapeInput};
use lab_proto::contract::rest::{self as paths, API_PREFIX, END_EVENT};
use lab_proto::dataset::{self, MAX_RECORDS};
use lab_proto::v1::{FetchResponse, PingResponse, Record, Shape, UploadRequest, UploadResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower::ServiceBuilder;

use crate::AppState;
use crate::api_error::ApiError;
use crate::custom_workload::{self, CustomSpec, UploadJsonError};
use crate::incoming_records::{Echoes, UploadTally};
use crate::listener::{ListenerInfo, ListenerStatus};
use crate::record_stream::LiveStreamGuard;
use crate::request_counts::{CountLayer, RequestCounts};
use crate::server_timing;
use crate::workload::{self, RecordsSpec};

/// The `/api` routes, with request bodies up to `max_body` bytes, each request counted
/// in `counts`; anything else under `/api` is a JSON 404.
pub fn routes(max_body: usize, counts: RequestCounts) -> Router<AppState> {
    // Full paths rather than `nest`: a nested router rewrites every request's URI.
    Router::new()
        .route(paths::PING, get(ping))
        .route(paths::RECORDS, get(fetch))
        .route(paths::RECORDS_STREAM, get(stream))
        .route(paths::UPLOADS, post(upload))
        .route(paths::UPLOADS_STREAM, post(upload_stream))
        .route(paths::ECHO, get(echo))
        .route(paths::STATUS, get(status))
        .route(
            paths::SERVICE_RUNS,
            post(crate::service_run::start).delete(crate::service_run::stop),
        )
        .route(paths::SHAPES, post(register_shape))
        .route(&format!("{}/{{id}}", paths::SHAPES), get(shape_info))
        .route(
            &format!("{}/{{id}}/descriptor", paths::SHAPES),
            get(shape_descriptor),
        )
        .route(
            &format!("{API_PREFIX}{{*rest}}"),
            axum::routing::any(unknown_route),
        )
        .method_not_allowed_fallback(method_not_allowed)
        // One `layer` call: each wraps every route in another boxed service.
        .layer(
            ServiceBuilder::new()
                .layer(CountLayer(counts))
                .layer(DefaultBodyLimit::max(max_body))
                .layer(server_timing::FillInLayer),
        )
}

/// Query parameters of `GET /api/v1/records` and its stream (the contract's
/// `rest::query` keys: a test below parses a URL the contract builds).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RecordsQuery {
    shape: String,
    count: u32,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    interval_ms: u32,
}

/// What a records request names: a built-in shape or a custom one.
enum Records {
    BuiltIn(RecordsSpec),
    Custom(CustomSpec),
}

impl RecordsQuery {
    fn spec(&self, state: &AppState) -> Result<Records, ApiError> {
        if let Some(id) = custom::id_in_key(&self.shape) {
            let spec = CustomSpec::new(&state.shapes, id, self.count, self.seed)?;
            return Ok(Records::Custom(spec));
        }
        let shape = Shape::from_key(&self.shape).ok_or_else(|| {
            ApiError::from(workload::RequestError::InvalidArgument(format!(
                "shape `{}` is unknown: use telemetry, log, order or a custom shape's \
                 `{}…` key",
                self.shape,
                custom::KEY_PREFIX
            )))
        })?;
        Ok(Records::BuiltIn(RecordsSpec::new(
            shape, self.count, self.seed,
        )?))
    }
}

/// The query of `POST /api/v1/uploads`: a custom shape's key, for its records.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    shape: Option<String>,
}

/// Serializes `value` as the JSON response, with its `Server-Timing`.
fn timed_json<T: Serialize>(value: &T, started: Instant) -> Response {
    let ser_started = Instant::now();
    let body = serde_json::to_vec(value).expect("prost values always serialize");
    json_response(body, started, ser_started)
}

/// A JSON `body` serialized from `ser_started` on, by a handler that started at
/// `started`, with its `Server-Timing`.
fn json_response(body: Vec<u8>, started: Instant, ser_started: Instant) -> Response {
    let handler = ser_started - started;
    let timing = server_timing::header_value(handler, ser_started.elapsed());
    (
        [
            (
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            ),
            (server_timing::SERVER_TIMING, timing),
        ],
        body,
    )
        .into_response()
}

/// What `GET /api/v1/status` reports: load that tests and operators can watch, and
/// the limits a client may run into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatus {
    /// Record streams (gRPC and SSE) being produced right now.
    pub live_streams: usize,
    /// Requests per route since start: each REST path and gRPC method path of the
    /// contract (native gRPC and gRPC-Web together), and `contract::rest::UNKNOWN_ROUTE`
    /// for paths that name no route. This request is counted already.
    pub requests: BTreeMap<String, u64>,
    pub max_streams: usize,
    pub max_body_bytes: usize,
    pub max_head_bytes: usize,
    /// Every listener: its URL, the HTTP versions it offers, its connections.
    pub listeners: Vec<ListenerStatus>,
    /// Requests refused for naming a host the lab does not answer to (DNS rebinding),
    /// and for coming from another site's page (`allowed_hosts`).
    #[serde(default)]
    pub refused_hosts: u64,
    #[serde(default)]
    pub refused_origins: u64,
}

async fn status(State(state): State<AppState>) -> Response {
    let config = &state.config;
    let (refused_hosts, refused_origins) = state.hosts.refused();
    let status = ServerStatus {
        live_streams: state.live_streams.current(),
        requests: state.requests.snapshot(),
        max_streams: state.live_streams.max(),
        max_body_bytes: config.max_body_bytes,
        max_head_bytes: config.connection.max_head_bytes,
        listeners: state.listeners.iter().map(ListenerInfo::status).collect(),
        refused_hosts,
        refused_origins,
    };
    timed_json(&status, Instant::now())
}

async fn ping() -> Response {
    timed_json(&PingResponse {}, Instant::now())
}

async fn fetch(
    State(state): State<AppState>,
    query: Result<Query<RecordsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    match query?.spec(&state)? {
        Records::BuiltIn(spec) => {
            let records = dataset::generate(spec.shape, spec.seed, spec.count as usize);
            Ok(timed_json(&FetchResponse { records }, started))
        }
        // Generated and serialized in one pass, record by record: all of it counts as
        // serialization.
        Records::Custom(spec) => Ok(json_response(
            spec.json(MAX_MESSAGE_BYTES)?,
            started,
            started,
        )),
    }
}

async fn upload(
    State(state): State<AppState>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    // The body is read in full before the clock starts, as for gRPC: the handler time
    // covers decoding it, not receiving it.
    let body = body.map_err(|r| ApiError::unreadable_body(r, state.config.max_body_bytes))?;
    let started = Instant::now();
    if let Some(key) = query?.0.shape {
        let id = custom::id_in_key(&key).ok_or_else(|| {
            ApiError::from(workload::RequestError::InvalidArgument(format!(
                "`shape` on an upload names a custom shape (`{}…`), not `{key}`: built-in \
                 records say their shape themselves",
                custom::KEY_PREFIX
            )))
        })?;
        let shape = custom_workload::find(&state.shapes, id)?;
        require_json(&headers)?;
        let answer = custom_workload::upload_json(&shape, &body).map_err(|err| match err {
            UploadJsonError::Json(detail) => ApiError::invalid_json(detail),
            UploadJsonError::Request(err) => err.into(),
        })?;
        return Ok(timed_json(&answer, started));
    }
    let records = parse_json::<UploadRequest>(&headers, &body)?.records;
    workload::check_count(u32::try_from(records.len()).unwrap_or(u32::MAX))?;
    let answer = UploadResponse {
        count: records.len() as u64,
        checksum: lab_proto::checksum(&records),
    };
    Ok(timed_json(&answer, started))
}

async fn stream(
    State(state): State<AppState>,
    query: Result<Query<RecordsQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let query = query?.0;
    let spec = query.spec(&state)?;
    let interval = workload::stream_interval(query.interval_ms)?;
    let messages = match spec {
        Records::BuiltIn(spec) => {
            crate::record_stream::records(spec, interval, &state.live_streams)?
                .map(|message| {
                    Event::default()
                        .json_data(&message)
                        .expect("prost values always serialize")
                })
                .boxed()
        }
        Records::Custom(spec) => {
            // Each message is the canonical JSON of the envelope's `StreamItem`.
            let item = spec.shape.envelope.stream_item.clone();
            let mut generator = spec.generator();
            crate::record_stream::paced(spec.count, interval, &state.live_streams, move |seq| {
                let mut message = prost_reflect::DynamicMessage::new(item.clone());
                message.set_field_by_number(1, prost_reflect::Value::U64(seq));
                message
                    .set_field_by_number(2, prost_reflect::Value::Message(generator.next_record()));
                Event::default()
                    .json_data(&message)
                    .expect("a dynamic message always serializes")
            })?
            .boxed()
        }
    };
    // An explicit end event, so an EventSource closes instead of reconnecting (with
    // data: an event without any is never dispatched).
    let end =
        futures_util::stream::once(async { Event::default().event(END_EVENT).data(END_EVENT) });
    Ok(Sse::new(messages.chain(end).map(Ok)))
}

/// Refuses a body whose `Content-Type` is not JSON, as axum's `Json` extractor does.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
        .is_some_and(|mime| mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type())
    }
}

/// Decodes a JSON body the way axum's `Json` extractor does, inside the timed region.
fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    require_json(headers)?;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| ApiError::invalid_json(format!("{} at `{}`", err.inner(), err.path())))?;
    // Anything after the value is an error too, as for `serde_json::from_slice` (found
    // by the fuzz test: `{"records":[]}x` used to pass).
    deserializer
        .end()
        .map_err(|err| ApiError::invalid_json(err.to_string()))?;
    Ok(value)
}

/// `POST /api/v1/shapes`: compiles (off the async workers: a large schema takes a
/// while) and keeps a custom shape.
async fn register_shape(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| ApiError::unreadable_body(r, state.config.max_body_bytes))?;
    let input = parse_json::<ShapeInput>(&headers, &body)?;
    let shapes = state.shapes.clone();
    let info = tokio::task::spawn_blocking(move || custom_workload::register(&shapes, &input))
        .await
        .map_err(|err| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("registering the shape failed: {err}"),
            )
        })??;
    Ok((StatusCode::CREATED, timed_json(&info, Instant::now())).into_response())
}

async fn shape_info(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let shape = custom_workload::find(&state.shapes, &id)?;
    // Generating the sizes' records takes a while for a large shape.
    let info = tokio::task::spawn_blocking(move || custom_workload::info(&shape))
        .await
        .map_err(|err| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("describing the shape failed: {err}"),
            )
        })?;
    Ok(timed_json(&info, Instant::now()))
}

async fn shape_descriptor(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let shape = custom_workload::find(&state.shapes, &id)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/x-protobuf"),
        )],
        shape.envelope.descriptor_set(),
    )
        .into_response())
}

/// The longest line of an NDJSON upload: one record's JSON.
const MAX_NDJSON_LINE_BYTES: usize = 1024 * 1024;
/// The largest WebSocket message (and frame) of the echo: one record's JSON.
const MAX_ECHO_MESSAGE_BYTES: usize = 1024 * 1024;

/// `POST /api/v1/uploads/stream`: records as newline-delimited JSON, read line by line
/// as the body arrives (never whole), each refused with its line number if it is not a
/// `Record`; the body limit counts every byte.
async fn upload_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let is_ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(paths::NDJSON));
    if !is_ndjson {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "send the records as newline-delimited JSON with `Content-Type: {}`",
                paths::NDJSON
            ),
        ));
    }
    let _slot = state.live_streams.admit()?;
    let limit = state.config.max_body_bytes;
    let mut chunks = body.into_data_stream();
    let mut tally = UploadTally::default();
    let (mut pending, mut received, mut line) = (Vec::new(), 0, 0);
    let take = |text: &[u8], line: usize, tally: &mut UploadTally| -> Result<(), ApiError> {
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let record: Record = serde_json::from_slice(text)
            .map_err(|err| ApiError::invalid_json(format!("line {line}: {err}")))?;
        tally.add(Some(&record)).map_err(|err| {
            ApiError::from(workload::RequestError::InvalidArgument(format!(
                "line {line}: {err}"
            )))
        })
    };
    // A refused line is answered once the body has arrived (up to the limit): a client
    // still sending would otherwise see its connection reset, not the reason.
    let mut refusal = None;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|err| {
            ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", err.to_string())
        })?;
        received += chunk.len();
        if received > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body exceeds the limit of {limit} bytes"),
            ));
        }
        if refusal.is_some() {
            continue;
        }
        // Only the new bytes are searched for line ends: a long line is not rescanned
        // with every chunk.
        let mut scanned = pending.len();
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = pending[scanned..].iter().position(|b| *b == b'\n') {
            let end = scanned + end;
            line += 1;
            if let Err(err) = take(&pending[start..end], line, &mut tally) {
                refusal = Some(err);
                break;
            }
            start = end + 1;
            scanned = start;
        }
        pending.drain(..start);
        if refusal.is_none() && pending.len() > MAX_NDJSON_LINE_BYTES {
            refusal = Some(ApiError::invalid_json(format!(
                "line {}: longer than {MAX_NDJSON_LINE_BYTES} bytes (one record per line)",
                line + 1
            )));
            pending.clear();
        }
    }
    if let Some(err) = refusal {
        return Err(err);
    }
    take(&pending, line + 1, &mut tally)?;
    Ok(timed_json(&tally.finish()?, started))
}

/// `GET /api/v1/echo`, a WebSocket: each text message a `Record` as JSON, answered at
/// once with an `EchoResponse` as JSON. Bad input closes the socket with a close code
/// and the reason (1007 not a record, 1003 a binary message, 1009 a message over 1 MiB,
/// 1008 more than the maximum count, 1001 idle for the connections' idle limit).
async fn echo(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            "websocket_required",
            format!(
                "open {} as a WebSocket: {}",
                paths::ECHO,
                rejection.body_text()
            ),
        )
    })?;
    // Refused before the upgrade, with a status a client can read.
    let slot = state.live_streams.admit()?;
    let idle = state.config.connection.idle_timeout;
    Ok(upgrade
        .max_message_size(MAX_ECHO_MESSAGE_BYTES)
        .max_frame_size(MAX_ECHO_MESSAGE_BYTES)
        .on_upgrade(move |socket| echo_socket(socket, slot, idle)))
}

/// A close frame with `reason` cut to what a close frame may carry (123 bytes).
fn close(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}

async fn echo_socket(mut socket: WebSocket, _slot: LiveStreamGuard, idle: Duration) {
    let mut echoes = Echoes::default();
    let mut number = 0u64;
    loop {
        let Ok(received) = tokio::time::timeout(idle, socket.recv()).await else {
            let reason = format!("no message for {} s", idle.as_secs());
            let _ = socket.send(close(close_code::AWAY, &reason)).await;
            return;
        };
        let message = match received {
            Some(Ok(message)) => message,
            // Too large a message (or a broken frame): say so before closing.
            Some(Err(err)) => {
                let text = err.to_string();
                let code = if text.contains("too long") {
                    close_code::SIZE
                } else {
                    close_code::PROTOCOL
                };
                let _ = socket.send(close(code, &text)).await;
                return;
            }
            None => return,
        };
        let reply = match message {
            Message::Text(text) => {
                number += 1;
                match serde_json::from_str::<Record>(text.as_str()) {
                    Ok(record) => match echoes.answer(Some(&record)) {
                        Ok(answer) => Message::Text(
                            serde_json::to_string(&answer)
                                .expect("prost values always serialize")
                                .into(),
                        ),
                        // Past the maximum count: a policy; otherwise the data.
                        Err(err) if number > u64::from(MAX_RECORDS) => {
                            close(close_code::POLICY, &err.to_string())
                        }
                        Err(err) => close(close_code::INVALID, &err.to_string()),
                    },
                    Err(err) => close(
                        close_code::INVALID,
                        &format!("message {number} is not a Record as JSON: {err}"),
                    ),
                }
            }
            Message::Binary(_) => close(
                close_code::UNSUPPORTED,
                "send each Record as JSON in a text message",
            ),
            Message::Close(_) => return,
            // Pings are answered by axum; pongs need nothing.
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let closing = matches!(reply, Message::Close(_));
        if socket.send(reply).await.is_err() || closing {
            return;
        }
    }
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not supported on {}", uri.path()),
    )
}

async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::not_found(uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_keys_are_the_contracts() {
        let url: Uri = paths::stream_url(Shape::Order, 7, 3, 20).parse().unwrap();
        let Query(query) = Query::<RecordsQuery>::try_from_uri(&url).unwrap();
        assert_eq!(
            (
                query.shape.as_str(),
                query.count,
                query.seed,
                query.interval_ms
            ),
            (Shape::Order.key(), 7, 3, 20)
        );
    }
}
