//! The REST side of a service-to-service run: JSON over the lane's pooled HTTP/1.1
//! connections or its one HTTP/2 connection, as one service calls another's REST API
//! (serde_json both ways, a compressed response undone by tower-http as a browser
//! would); a server stream's `text/event-stream` read with the instrument's SSE parser,
//! a client stream as a streamed body of newline-delimited JSON, and the bidirectional
//! echo over a WebSocket (tokio-tungstenite).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request, Uri, header};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use lab_instrument::transport::sse_parser::SseParser;
use lab_instrument::transport::websocket_echo::answers;
use lab_instrument::transport::{CallOptions, CallOutcome, TransportError};
use lab_proto::RecordDigest;
use lab_proto::contract::COMPRESSION_SWITCH;
use lab_proto::contract::rest::{self as api, END_EVENT, ErrorBody};
use lab_proto::v1::{
    EchoResponse, FetchResponse, PingResponse, Record, StreamResponse, UploadResponse,
};
use tokio_tungstenite::tungstenite::Message;
use tonic::body::Body;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;
use tower_http::decompression::DecompressionLayer;

use crate::http_lane::{CallMeter, HttpLane};
use crate::wire::Connector;
use crate::work::{Measured, Work, ms_since, started};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Transport = BoxCloneSyncService<Request<Body>, http::Response<Body>, BoxError>;

/// `UploadRequest` as JSON, borrowing the run's shared records.
#[derive(serde::Serialize)]
struct UploadBody<'a> {
    records: &'a [Record],
}

/// A REST lane's client.
#[derive(Clone)]
pub struct RestSide {
    http: Transport,
    lane: HttpLane,
    /// Where a WebSocket opens (an HTTP/1.1 listener: the client speaks no WebSocket
    /// over HTTP/2), and its connector, counted with the lane's other connections.
    socket_base: Uri,
    socket_connector: Connector,
}

impl RestSide {
    pub fn new(lane: HttpLane, socket_base: Uri, socket_connector: Connector) -> Self {
        let http = BoxCloneSyncService::new(
            tower::ServiceBuilder::new()
                .layer(DecompressionLayer::new())
                .service(lane.clone())
                .map_response(|response| response.map(Body::new))
                .map_err(BoxError::from),
        );
        Self {
            http,
            lane,
            socket_base,
            socket_connector,
        }
    }

    /// One measured call of `work` (with `options.verify`, the records' checksum too).
    pub async fn call(&self, work: &Work, options: CallOptions, run_start: Instant) -> Measured {
        let CallOptions {
            compression,
            verify,
        } = options;
        let meter = CallMeter::start();
        let path = match work {
            Work::Ping => api::PING.to_owned(),
            Work::Fetch(params) => {
                api::keyed_records_url(api::RECORDS, &params.shape.key(), params.count, params.seed)
            }
            Work::Upload(_) => api::UPLOADS.to_owned(),
            Work::Stream {
                params,
                interval_ms,
            } => {
                api::keyed_stream_url(&params.shape.key(), params.count, params.seed, *interval_ms)
            }
            Work::ClientStream(_) => api::UPLOADS_STREAM.to_owned(),
            Work::Echo(_) => api::ECHO.to_owned(),
        };
        let uri = self.lane.uri(&path);
        let mut outcome = started(uri.to_string(), &meter, run_start);
        let decoded = match self
            .exchange(work, uri, verify, compression, &meter, &mut outcome)
            .await
        {
            Ok(decoded) => decoded,
            Err(err) => {
                outcome.result = Err(err);
                None
            }
        };
        Measured::finish(outcome, &meter, decoded)
    }

    /// Returns the response body's size once decompressed.
    async fn exchange(
        &self,
        work: &Work,
        uri: Uri,
        verify: bool,
        compression: bool,
        meter: &Arc<CallMeter>,
        outcome: &mut CallOutcome,
    ) -> Result<Option<u64>, TransportError> {
        let encode_started = Instant::now();
        let (method, content_type, body) = match work {
            Work::Upload(records) => {
                let json = serde_json::to_vec(&UploadBody { records }).expect("records serialize");
                outcome.request_bytes = json.len() as u64;
                (
                    Method::POST,
                    Some("application/json"),
                    Body::new(Full::new(Bytes::from(json))),
                )
            }
            Work::ClientStream(records) => {
                let lines: Vec<Bytes> = records
                    .iter()
                    .map(|record| {
                        let mut line = serde_json::to_vec(record).expect("records serialize");
                        line.push(b'\n');
                        Bytes::from(line)
                    })
                    .collect();
                outcome.request_bytes = lines.iter().map(|l| l.len() as u64).sum();
                // One frame per record: a chunk each over HTTP/1.1, a DATA frame each
                // over HTTP/2, sent as the connection takes them.
                let frames = tokio_stream::iter(
                    lines
                        .into_iter()
                        .map(|line| Ok::<_, Infallible>(Frame::data(line))),
                );
                (
                    Method::POST,
                    Some(api::NDJSON),
                    Body::new(StreamBody::new(frames)),
                )
            }
            Work::Echo(records) => {
                outcome.encode_ms = 0.0;
                return self.echo(records, meter, outcome).await.map(|()| None);
            }
            _ => (Method::GET, None, Body::empty()),
        };
        outcome.encode_ms = ms_since(encode_started);
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(COMPRESSION_SWITCH, if compression { "on" } else { "off" });
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let mut request = request.body(body).expect("a valid request");
        request.extensions_mut().insert(meter.clone());
        let response = self
            .http
            .clone()
            .oneshot(request)
            .await
            .map_err(|err| TransportError::Network(error_chain(&*err)))?;
        let status = response.status();
        if status.is_success() && matches!(work, Work::Stream { .. }) {
            read_events(response.into_body(), outcome, verify, meter).await?;
            return Ok(None);
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|err| TransportError::Network(err.to_string()))?
            .to_bytes();
        if !status.is_success() {
            let detail = serde_json::from_slice::<ErrorBody>(&body)
                .map(|error| error.detail)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(200).collect());
            return Err(TransportError::Http {
                status: status.as_u16(),
                detail,
            });
        }
        outcome.payload_bytes = body.len() as u64;
        let decode_started = Instant::now();
        let decode = |err: serde_json::Error| TransportError::Decode(err.to_string());
        match work {
            Work::Ping => {
                serde_json::from_slice::<PingResponse>(&body).map_err(decode)?;
            }
            Work::Fetch(_) => {
                let response = serde_json::from_slice::<FetchResponse>(&body).map_err(decode)?;
                outcome.records = response.records.len() as u64;
                if verify {
                    outcome.checksum = Some(lab_proto::checksum(&response.records));
                }
            }
            _ => {
                let response = serde_json::from_slice::<UploadResponse>(&body).map_err(decode)?;
                outcome.records = response.count;
                outcome.checksum = verify.then_some(response.checksum);
            }
        }
        outcome.decode_ms = ms_since(decode_started);
        // The body as decoded: its size once compression (if any) is undone.
        Ok(Some(body.len() as u64))
    }

    /// Sends `records` one at a time over a new WebSocket, each after the previous
    /// one's answer.
    async fn echo(
        &self,
        records: &[Record],
        meter: &CallMeter,
        outcome: &mut CallOutcome,
    ) -> Result<(), TransportError> {
        let network = |err: &dyn std::fmt::Display| TransportError::Network(err.to_string());
        let stream = self
            .socket_connector
            .open(&self.socket_base)
            .await
            .map_err(|e| network(&e))?;
        let scheme = if self.socket_base.scheme_str() == Some("https") {
            "wss"
        } else {
            "ws"
        };
        let authority = self.socket_base.authority().map_or("", |a| a.as_str());
        let url = format!("{scheme}://{authority}{}", api::ECHO);
        let (mut socket, response) = tokio_tungstenite::client_async(url, stream)
            .await
            .map_err(|e| network(&e))?;
        let _ = response;
        for record in records {
            let encode_started = Instant::now();
            let text = serde_json::to_string(record).expect("records serialize");
            outcome.encode_ms += ms_since(encode_started);
            outcome.request_bytes += text.len() as u64;
            socket
                .send(Message::text(text))
                .await
                .map_err(|e| network(&e))?;
            let reply = loop {
                match socket.next().await {
                    Some(Ok(Message::Text(reply))) => break reply,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(frame))) => {
                        return Err(TransportError::Network(match frame {
                            Some(frame) => format!(
                                "the WebSocket closed with code {}: {}",
                                u16::from(frame.code),
                                frame.reason
                            ),
                            None => "the WebSocket closed".into(),
                        }));
                    }
                    Some(Ok(_)) => return Err(TransportError::Decode("a binary answer".into())),
                    Some(Err(err)) => return Err(network(&err)),
                    None => return Err(TransportError::Network("the socket closed".into())),
                }
            };
            let now = Instant::now();
            outcome.payload_bytes += reply.len() as u64;
            let answer = serde_json::from_slice::<EchoResponse>(reply.as_bytes());
            outcome.decode_ms += ms_since(now);
            let answer = answer.map_err(|err| TransportError::Decode(err.to_string()))?;
            answers(&answer, record)?;
            outcome.records += 1;
            outcome.first_message_ms.get_or_insert(meter.ms_at(now));
        }
        // A clean close, answered by the server's, before the connection goes.
        let _ = socket.close(None).await;
        while let Some(Ok(_)) = socket.next().await {}
        Ok(())
    }
}

/// Reads an event stream to its end event, timing the first message and every decode.
async fn read_events(
    body: Body,
    outcome: &mut CallOutcome,
    verify: bool,
    meter: &CallMeter,
) -> Result<(), TransportError> {
    let mut body = body.into_data_stream();
    let mut parser = SseParser::default();
    let mut digest = verify.then(RecordDigest::default);
    let mut ended = false;
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|err| TransportError::Network(format!("the event stream failed: {err}")))?;
        if ended {
            continue;
        }
        for event in parser.feed(&chunk) {
            if event.name == END_EVENT {
                ended = true;
                break;
            }
            if event.name != "message" {
                continue;
            }
            let now = Instant::now();
            outcome.first_message_ms.get_or_insert(meter.ms_at(now));
            outcome.payload_bytes += event.data.len() as u64;
            let decoded = serde_json::from_slice::<StreamResponse>(&event.data);
            outcome.decode_ms += ms_since(now);
            let message = decoded.map_err(|err| TransportError::Decode(err.to_string()))?;
            if let (Some(digest), Some(record)) = (&mut digest, &message.record) {
                digest.add(record);
            }
            outcome.records += 1;
        }
    }
    if !ended {
        return Err(TransportError::Network(
            "the event stream ended before its end event".into(),
        ));
    }
    outcome.checksum = digest.map(RecordDigest::finish);
    Ok(())
}

/// An error with its causes, which say what went wrong (hyper's own is "client error").
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
