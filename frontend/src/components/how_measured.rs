//! "How it is measured": what every number on the page means.

use leptos::prelude::*;

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
                <dt>"Both"</dt>
                <dd>"Requests alternate between the protocols one by one, sharing the same connections, concurrency and moment, so neither gets a quieter network."</dd>
                <dt>"HTTP version"</dt>
                <dd>"Over plain http:// both protocols travel over HTTP/1.1: browsers speak HTTP/2 only over TLS. Native gRPC needs HTTP/2 trailers, which is why browsers use gRPC-Web."</dd>
            </dl>
        </section>
    }
}
