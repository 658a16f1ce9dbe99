//! "How it is measured": what every number on the page means.

use lab_proto::contract::{GRPC_DEFAULT_MAX_DECODE_BYTES, MAX_MESSAGE_BYTES};
use leptos::prelude::*;

use crate::stats::scale::format_bytes;

/// The limit note, from the limits in force.
fn size_limit_note() -> String {
    format!(
        "gRPC clients and servers usually refuse a message over {} unless told otherwise \
         (tonic, grpc-go and grpc-java all default to it), which people meet as soon as a \
         response grows. This lab raises it to {} on both sides, so every record count it \
         offers works over both protocols; a real deployment must raise it too.",
        format_bytes(GRPC_DEFAULT_MAX_DECODE_BYTES as f64),
        format_bytes(MAX_MESSAGE_BYTES as f64)
    )
}

/// Static explanation of the measurements.
#[component]
pub fn HowMeasured() -> impl IntoView {
    view! {
        <section class="panel notes" data-testid="how-measured">
            <h2>"How it is measured"</h2>
            <dl>
                <dt>"Latency (end to end)"</dt>
                <dd>"performance.now() in the WASM client, from before the request is encoded to after the response is decoded. Percentiles are exact once a run ends; while it runs they come from log-spaced bins (within ~12%)."</dd>
                <dt>"Time to first byte, download"</dt>
                <dd>"From the browser's Resource Timing entry of the same fetch (responseStart − startTime, responseEnd − responseStart), read through a PerformanceObserver that empties the browser's entry buffer as it goes."</dd>
                <dt>"Server time"</dt>
                <dd>"The backend's Server-Timing header: handler (decode, validate, generate) plus serialization (prost or serde_json). The rest of the latency is network, browser and client work."</dd>
                <dt>"Client decode"</dt>
                <dd>"prost decoding (gRPC-Web) or serde_json parsing (REST) of the response body, timed apart from the network."</dd>
                <dt>"Sizes"</dt>
                <dd>"Request body as sent; the response payload's own encoding (protobuf message or JSON text); the body on the wire (encodedBodySize, after gzip/br when compression is on) and decoded (decodedBodySize); and transferSize, which adds response headers by the browser's own approximate count."</dd>
                <dt>"Message size limit"</dt>
                <dd data-testid="message-size-limit">{size_limit_note()}</dd>
                <dt>"Same data"</dt>
                <dd>"Each protocol's first successful response is checked: the CRC-32 of its records (re-encoded as protobuf, so JSON and protobuf compare alike), or for uploads the checksum the server computed of what it received. Equal checksums mean both protocols moved the same records."</dd>
                <dt>"Records/s"</dt>
                <dd>"Records received (or acknowledged) over the span from the first request's start to the last one's end, as requests/s is: with requests in flight together, each moment counts once."</dd>
                <dt>"Both"</dt>
                <dd>"Requests alternate between the protocols one by one, sharing the same connections, concurrency and moment, so neither gets a quieter network."</dd>
                <dt>"HTTP version"</dt>
                <dd>"Browsers speak HTTP/2 only over TLS, so the backend serves the same API on three listeners: HTTP/1.1 over plain http://, HTTP/1.1 over TLS, and HTTP/2 over TLS; choosing one moves the page there, with its settings and history, so every request stays same-origin (no CORS preflight). Over HTTP/1.1 a browser opens at most six connections per origin and queues the rest; over HTTP/2 all requests share one connection. \"HTTP version used\" is each request's nextHopProtocol; the connection count is the backend's. Native gRPC needs HTTP/2 trailers, which is why browsers use gRPC-Web."</dd>
                <dt>"Network"</dt>
                <dd>"Loopback costs microseconds, so the backend can put an emulated link under a listener's connections: each direction's bytes wait half the round trip and cross a bandwidth that all of that listener's connections share, and a new connection waits one round trip for its TCP handshake (TLS pays its own round trips). Each network has its own listeners, so another tab's run on another network cannot slow this one. Packet loss and TCP slow start are not modelled."</dd>
            </dl>
        </section>
    }
}
