//! Why only server streaming is compared.

use leptos::prelude::*;

/// The note beside the stream workload.
#[component]
pub fn StreamingNote() -> impl IntoView {
    view! {
        <section class="panel notes" data-testid="streaming-note">
            <h2>"Streaming: gRPC-Web server stream vs REST Server-Sent Events"</h2>
            <p>
                "Pick the stream workload to compare them: time to first message and messages per second "
                "appear in the results. Both are read through fetch and measured like any request. Live "
                "streams are never HTTP-compressed, for either protocol: a compressor would hold small "
                "messages back."
            </p>
            <p>
                "Client streaming and bidirectional streaming cannot run over gRPC-Web in a browser: the "
                "fetch API sends a request body only once it is complete (streaming request bodies need "
                "HTTP/2 and are not available to gRPC-Web clients), so the browser can only receive a "
                "stream, never send one. Uploads are therefore one request carrying all records."
            </p>
            <p>
                "REST has a way: the bidirectional echo workload sends each record over a WebSocket and "
                "waits for its answer before the next, so every message is a round trip. Its gRPC-Web "
                "side stays empty and says why: that is the finding. A WebSocket's frames are not in "
                "Resource Timing, so its sizes are the messages' own. Native gRPC does both modes "
                "(UploadStream, Echo) between services: choose Client → Service to service to run "
                "the client stream and echo workloads on both sides, outside the browser."
            </p>
        </section>
    }
}
