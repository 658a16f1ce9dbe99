//! The names both sides of the wire must agree on, written once: REST paths, query
//! keys and error body, gRPC method paths and which of them stream, the lab's own
//! request header and the message size limit. The backend routes by them, the browser
//! app calls them, the tests and the benchmark aim at them.

use serde::{Deserialize, Serialize};

/// The largest request body (REST) or gRPC message either side accepts: 64 MiB, room
/// for the maximum record count of any shape in either encoding.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The decode limit gRPC implementations (tonic, grpc-go, grpc-java) apply by default,
/// and that people meet in practice when a response grows.
pub const GRPC_DEFAULT_MAX_DECODE_BYTES: usize = 4 * 1024 * 1024;

/// The request header that asks the backend not to compress the response (`off`):
/// page code cannot change `Accept-Encoding`. gRPC clients send it as metadata.
pub const COMPRESSION_SWITCH: &str = "lab-compression";

/// REST + JSON under `/api/v1`.
pub mod rest {
    use super::{Deserialize, Serialize};
    use crate::v1::Shape;

    /// Everything under this prefix is the API (unknown paths get a JSON 404).
    pub const API_PREFIX: &str = "/api/";
    /// `GET`: `{}`, the per-request overhead.
    pub const PING: &str = "/api/v1/ping";
    /// `GET` with [`query`] `shape`, `count`, `seed`: a `FetchResponse`.
    pub const RECORDS: &str = "/api/v1/records";
    /// `GET` with [`query`] `shape`, `count`, `seed`, `intervalMs`: Server-Sent Events,
    /// one `StreamResponse` per message, closed by an [`END_EVENT`].
    pub const RECORDS_STREAM: &str = "/api/v1/records/stream";
    /// `POST` an `UploadRequest`: an `UploadResponse`.
    pub const UPLOADS: &str = "/api/v1/uploads";
    /// `POST` records as newline-delimited JSON ([`NDJSON`]), one `Record` per line, in
    /// a streamed (chunked) body: an `UploadResponse`. Client streaming, REST's way.
    pub const UPLOADS_STREAM: &str = "/api/v1/uploads/stream";
    /// `GET` with a WebSocket upgrade: each text message a `Record` as JSON, each
    /// answered by an `EchoResponse` as JSON. Bidirectional streaming, REST's way.
    pub const ECHO: &str = "/api/v1/echo";
    /// `POST` a run's settings (the page's URL form, `client=service&grpc=…&rest=…`):
    /// the backend's native runner runs them service to service, its progress and then
    /// its whole run streamed back as Server-Sent Events (the page worker's messages).
    /// One at a time. `DELETE`: stops the run under way, which then ends with what it
    /// measured.
    pub const SERVICE_RUNS: &str = "/api/v1/service-runs";
    /// The media type of [`UPLOADS_STREAM`]'s body.
    pub const NDJSON: &str = "application/x-ndjson";
    /// `GET`: the backend's live streams, request counts and limits.
    pub const STATUS: &str = "/api/v1/status";
    /// `POST` a [`custom::ShapeInput`](crate::contract::custom::ShapeInput): a
    /// [`custom::ShapeInfo`](crate::contract::custom::ShapeInfo). `GET {SHAPES}/{id}`:
    /// that shape's info again; `GET {SHAPES}/{id}/descriptor`: its descriptors (a
    /// `FileDescriptorSet`, protobuf). All three are counted under this path.
    pub const SHAPES: &str = "/api/v1/shapes";
    /// Every REST path of the API.
    pub const ROUTES: [&str; 9] = [
        PING,
        RECORDS,
        RECORDS_STREAM,
        UPLOADS,
        STATUS,
        SHAPES,
        UPLOADS_STREAM,
        ECHO,
        SERVICE_RUNS,
    ];

    /// [`STATUS`] counts requests per route under the route's path (a REST path or a
    /// gRPC method path); requests to a path under [`API_PREFIX`] or the gRPC service
    /// that names no route are counted under this key.
    pub const UNKNOWN_ROUTE: &str = "other";

    /// The name of the SSE event that ends a record stream: a reader tells a complete
    /// stream from a cut one by it, and an `EventSource` would otherwise reconnect
    /// when the server closes the stream.
    pub const END_EVENT: &str = "end";

    /// Query keys of [`RECORDS`] and [`RECORDS_STREAM`] (and [`UPLOADS`]: `shape`,
    /// for a custom shape's records).
    pub mod query {
        /// A built-in shape's key, or a custom shape's
        /// [`custom::key`](crate::contract::custom::key).
        pub const SHAPE: &str = "shape";
        pub const COUNT: &str = "count";
        pub const SEED: &str = "seed";
        /// Streams only: milliseconds between messages.
        pub const INTERVAL_MS: &str = "intervalMs";
    }

    /// `path?shape=…&count=…&seed=…` for [`RECORDS`] or [`RECORDS_STREAM`].
    pub fn records_url(path: &str, shape: Shape, count: u32, seed: u64) -> String {
        keyed_records_url(path, shape.key(), count, seed)
    }

    /// [`records_url`] for a shape's key (a custom shape's included).
    pub fn keyed_records_url(path: &str, shape_key: &str, count: u32, seed: u64) -> String {
        format!(
            "{path}?{}={shape_key}&{}={count}&{}={seed}",
            query::SHAPE,
            query::COUNT,
            query::SEED
        )
    }

    /// [`RECORDS_STREAM`] with its interval.
    pub fn stream_url(shape: Shape, count: u32, seed: u64, interval_ms: u32) -> String {
        keyed_stream_url(shape.key(), count, seed, interval_ms)
    }

    /// [`stream_url`] for a shape's key.
    pub fn keyed_stream_url(shape_key: &str, count: u32, seed: u64, interval_ms: u32) -> String {
        format!(
            "{}&{}={interval_ms}",
            keyed_records_url(RECORDS_STREAM, shape_key, count, seed),
            query::INTERVAL_MS
        )
    }

    /// [`UPLOADS`] for a custom shape's records.
    pub fn custom_upload_url(shape_key: &str) -> String {
        format!("{UPLOADS}?{}={shape_key}", query::SHAPE)
    }

    /// Every REST error's body, with a 4xx or 5xx status.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ErrorBody {
        /// A stable, machine-readable kind, e.g. `invalid_argument`.
        pub error: String,
        /// What went wrong and how to fix it, for people.
        pub detail: String,
    }
}

/// `lab.v1.LabService`, over native gRPC and gRPC-Web.
pub mod grpc {
    /// The service's full name: its methods are under `/{SERVICE}/`.
    pub const SERVICE: &str = "lab.v1.LabService";
    pub const PING: &str = "/lab.v1.LabService/Ping";
    pub const FETCH: &str = "/lab.v1.LabService/Fetch";
    pub const UPLOAD: &str = "/lab.v1.LabService/Upload";
    pub const STREAM: &str = "/lab.v1.LabService/Stream";
    pub const FETCH_CUSTOM: &str = "/lab.v1.LabService/FetchCustom";
    pub const UPLOAD_CUSTOM: &str = "/lab.v1.LabService/UploadCustom";
    pub const STREAM_CUSTOM: &str = "/lab.v1.LabService/StreamCustom";
    pub const UPLOAD_STREAM: &str = "/lab.v1.LabService/UploadStream";
    pub const ECHO: &str = "/lab.v1.LabService/Echo";
    /// Every method path of the service.
    pub const METHODS: [&str; 9] = [
        PING,
        FETCH,
        UPLOAD,
        STREAM,
        FETCH_CUSTOM,
        UPLOAD_CUSTOM,
        STREAM_CUSTOM,
        UPLOAD_STREAM,
        ECHO,
    ];
    /// The methods whose responses are server streams: whatever sits between client
    /// and service must pass their messages on as they come, never buffer them whole.
    /// A test checks this list against the .proto.
    pub const SERVER_STREAMING: [&str; 3] = [STREAM, STREAM_CUSTOM, ECHO];
    /// The methods whose requests are client streams (gRPC-Web cannot send them: a
    /// browser's fetch sends a request body only whole). A test checks the .proto.
    pub const CLIENT_STREAMING: [&str; 2] = [UPLOAD_STREAM, ECHO];
    /// The metadata key naming the custom shape of an `UploadCustom` call's records
    /// (its request is the records alone, as a generated service's would be).
    pub const SHAPE_METADATA: &str = "lab-shape";
}

/// A person's own payload (issue 22): a custom shape, registered at
/// [`rest::SHAPES`] from a JSON sample or a `.proto`, then named like a built-in shape.
pub mod custom {
    use super::{Deserialize, Serialize};

    /// What a custom shape's key starts with where a built-in shape's key would go
    /// (`shape=custom-0123456789abcdef`).
    pub const KEY_PREFIX: &str = "custom-";
    /// The package of the envelope messages the backend adds beside a custom schema:
    /// what a REST API or a generated service built from that schema would send.
    pub const ENVELOPE_PACKAGE: &str = "lab.custom.envelope";
    /// `{ repeated Record records = 1; }`: a fetch's response and an upload's request.
    pub const RECORDS_MESSAGE: &str = "lab.custom.envelope.Records";
    /// `{ uint64 seq = 1; Record record = 2; }`: one streamed message.
    pub const STREAM_ITEM_MESSAGE: &str = "lab.custom.envelope.StreamItem";

    /// The `shape` value naming custom shape `id`.
    pub fn key(id: &str) -> String {
        format!("{KEY_PREFIX}{id}")
    }

    /// The id in a custom shape's `shape` value, if it is one.
    pub fn id_in_key(key: &str) -> Option<&str> {
        key.strip_prefix(KEY_PREFIX)
    }

    /// `POST /api/v1/shapes`: a JSON sample (its schema inferred), or a `.proto` and
    /// the message to use (with a sample, its values guide the generated ones).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct ShapeInput {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub sample: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub proto: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub message: Option<String>,
    }

    /// A registered custom shape.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ShapeInfo {
        /// 16 hex digits: a hash of the schema, the message and the sample.
        pub id: String,
        /// The schema: the one pasted, or the one inferred from the sample.
        pub proto: String,
        /// The record message's full name.
        pub message: String,
        pub sample: Option<String>,
        /// The sample's own JSON (compact) per record, in bytes: what the person's API
        /// sends today, beside what the schema's canonical JSON mapping sends.
        pub sample_json_bytes_per_record: Option<f64>,
        /// Over the first 100 generated records (seed 1): protobuf and canonical JSON
        /// bytes per record.
        pub protobuf_bytes_per_record: f64,
        pub json_bytes_per_record: f64,
        /// The largest count whose fetch (seed 1) fits the message limit in both
        /// encodings, at most the lab's maximum count.
        pub max_count: u32,
    }
}

/// The names of the backend's listeners in `GET /api/v1/status` (the page's `http=`
/// URL key spells the TCP ones): one of each per offered network.
pub mod listener {
    /// Cleartext: HTTP/1.1, and HTTP/2 by prior knowledge (h2c).
    pub const PLAIN: &str = "plain";
    /// TLS whose ALPN offers only `http/1.1`.
    pub const TLS_HTTP1: &str = "tls-http1";
    /// TLS whose ALPN offers `h2`, then `http/1.1`; its responses advertise the
    /// network's QUIC listener in `Alt-Svc`.
    pub const TLS_H2: &str = "tls-h2";
    /// QUIC (UDP), ALPN `h3`: HTTP/3, on the same port number as `tls-h2` by default,
    /// so its URL is `tls-h2`'s origin (a browser reaches it through `Alt-Svc` or
    /// Chromium's `--origin-to-force-quic-on`).
    pub const QUIC_H3: &str = "quic-h3";
}

/// The names of the emulated networks a listener may put under its connections
/// (`/api/v1/status` names each listener's, and the page's `net=` URL key spells it).
/// Their round trips and bandwidths are the backend's (`link::profile`).
pub mod network {
    /// No emulation: the kernel's loopback as is.
    pub const LOOPBACK: &str = "loopback";
    /// A profile given by its numbers (`rtt=…,down=…,up=…`).
    pub const CUSTOM: &str = "custom";
    /// The named profiles, in the order their listeners are numbered.
    pub const PRESETS: [&str; 5] = [
        "lighthouse-mobile",
        "devtools-slow-4g",
        "devtools-fast-4g",
        "devtools-3g",
        "intercontinental",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::Shape;

    /// The .proto, compiled here as the build script does, is the reference.
    fn service() -> prost_types::ServiceDescriptorProto {
        let fds = protox::compile(["lab/v1/lab.proto"], ["proto"]).expect("the .proto compiles");
        let file = fds
            .file
            .into_iter()
            .find(|f| f.package() == "lab.v1")
            .expect("package lab.v1");
        let mut services = file.service;
        assert_eq!(services.len(), 1, "the contract has one service");
        services.remove(0)
    }

    #[test]
    fn method_paths_are_the_services_methods() {
        let service = service();
        assert_eq!(format!("lab.v1.{}", service.name()), grpc::SERVICE);
        let mut from_proto: Vec<String> = service
            .method
            .iter()
            .map(|m| format!("/{}/{}", grpc::SERVICE, m.name()))
            .collect();
        let mut listed: Vec<String> = grpc::METHODS.iter().map(|m| m.to_string()).collect();
        from_proto.sort();
        listed.sort();
        assert_eq!(listed, from_proto);
    }

    #[test]
    fn every_server_streaming_method_is_listed_as_streaming() {
        let streaming: Vec<String> = service()
            .method
            .iter()
            .filter(|m| m.server_streaming())
            .map(|m| format!("/{}/{}", grpc::SERVICE, m.name()))
            .collect();
        assert_eq!(
            streaming,
            grpc::SERVER_STREAMING,
            "a server-streaming method missing from SERVER_STREAMING would be buffered whole"
        );
    }

    #[test]
    fn every_client_streaming_method_is_listed_as_such() {
        let streaming: Vec<String> = service()
            .method
            .iter()
            .filter(|m| m.client_streaming())
            .map(|m| format!("/{}/{}", grpc::SERVICE, m.name()))
            .collect();
        assert_eq!(streaming, grpc::CLIENT_STREAMING);
    }

    #[test]
    fn urls_spell_the_query_keys() {
        assert_eq!(
            rest::records_url(rest::RECORDS, Shape::Log, 10, 3),
            "/api/v1/records?shape=log&count=10&seed=3"
        );
        assert_eq!(
            rest::stream_url(Shape::Order, 5, 1, 20),
            "/api/v1/records/stream?shape=order&count=5&seed=1&intervalMs=20"
        );
    }
}
