//! A run's JSON export, the page's and the native runner's alike: its settings (the
//! URL query), where it ran, each side's summary and its samples as CSV.

use lab_proto::contract::custom::ShapeInfo;
use serde::Serialize;

use super::data::{SocketBytes, Summary};
use crate::stats::percentiles::Distribution;
use crate::timer_resolution::Timer;

// The export is written from these structs rather than built as a `serde_json::Value`
// (`json!`): that spared the wasm bundle `Value`'s map, its serializer and its
// `Display`. Fields are in alphabetical order, the order `Value`'s map wrote them, so
// exported files stay byte for byte what they were (see the test).

/// The JSON export of a run.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunExport<'a> {
    browser: &'a str,
    config: &'a str,
    /// Whether the page was cross-origin isolated, and its timer's step.
    cross_origin_isolated: Option<bool>,
    /// The person's own shape the run used: its schema, message and sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_shape: Option<&'a ShapeInfo>,
    origin: &'a str,
    samples_csv: &'a str,
    summary: Vec<SummaryExport<'a>>,
    timer_step_ms: Option<f64>,
    /// Service to service: each lane's socket bytes (the native runner's count).
    #[serde(skip_serializing_if = "Option::is_none")]
    sockets: Option<&'a [SocketBytes; 2]>,
}

/// What a run was and where it ran.
pub struct RunContext<'a> {
    /// Its settings, as the URL query.
    pub config: &'a str,
    /// The browser's user agent.
    pub browser: &'a str,
    /// The page's origin: the listener (HTTP version and network).
    pub origin: &'a str,
    /// The page's timer.
    pub timer: Option<Timer>,
    /// The person's own shape, when the run used one.
    pub custom_shape: Option<&'a ShapeInfo>,
    /// Service to service: each lane's socket bytes.
    pub sockets: Option<&'a [SocketBytes; 2]>,
}

/// One protocol's summary in the export.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryExport<'a> {
    checksum: Option<String>,
    errors: u64,
    latency_ms: Option<LatencyExport>,
    mean_client_ms: Option<f64>,
    mean_decode_ms: f64,
    mean_decoded_bytes: Option<f64>,
    mean_first_message_ms: Option<f64>,
    mean_payload_bytes: f64,
    mean_request_bytes: f64,
    mean_server_ms: Option<f64>,
    mean_transfer_bytes: Option<f64>,
    mean_ttfb_ms: Option<f64>,
    mean_wire_bytes: Option<f64>,
    protocol: &'a str,
    records: u64,
    requests: u64,
    requests_per_second: f64,
    scheduled_latency_ms: Option<LatencyExport>,
    wire_bytes_per_record: Option<f64>,
}

/// Latency percentiles in the export, in ms.
#[derive(Serialize)]
struct LatencyExport {
    max: f64,
    mean: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    p999: f64,
}

impl From<&Distribution> for LatencyExport {
    fn from(l: &Distribution) -> Self {
        Self {
            max: l.max,
            mean: l.mean,
            p50: l.p50,
            p90: l.p90,
            p99: l.p99,
            p999: l.p999,
        }
    }
}

impl<'a> From<&'a Summary> for SummaryExport<'a> {
    fn from(s: &'a Summary) -> Self {
        Self {
            checksum: s.checksum.map(|c| format!("{c:08x}")),
            errors: s.errors,
            latency_ms: s.latency.as_ref().map(LatencyExport::from),
            mean_client_ms: s.mean_client_ms,
            mean_decode_ms: s.mean_decode_ms,
            mean_decoded_bytes: s.mean_decoded_bytes,
            mean_first_message_ms: s.mean_first_message_ms,
            mean_payload_bytes: s.mean_payload_bytes,
            mean_request_bytes: s.mean_request_bytes,
            mean_server_ms: s.mean_server_ms,
            mean_transfer_bytes: s.mean_transfer_bytes,
            mean_ttfb_ms: s.mean_ttfb_ms,
            mean_wire_bytes: s.mean_wire_bytes,
            protocol: s.protocol.key(),
            records: s.records,
            requests: s.requests,
            requests_per_second: s.requests_per_second,
            scheduled_latency_ms: s.scheduled.as_ref().map(LatencyExport::from),
            wire_bytes_per_record: s.wire_bytes_per_record,
        }
    }
}

/// The JSON export: the run's settings (as the URL query), browser and origin, each
/// protocol's summary and the samples as CSV.
pub fn run_json(context: &RunContext<'_>, summaries: &[Summary], samples_csv: &str) -> String {
    let export = RunExport {
        browser: context.browser,
        config: context.config,
        cross_origin_isolated: context.timer.map(|t| t.isolated),
        custom_shape: context.custom_shape,
        origin: context.origin,
        samples_csv,
        summary: summaries.iter().map(SummaryExport::from).collect(),
        timer_step_ms: context.timer.map(|t| t.step_ms),
        sockets: context.sockets,
    };
    serde_json::to_string(&export).expect("plain data serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Protocol;

    /// The export as it was built before, with `serde_json::json!`.
    fn with_json_macro(config: &str, summaries: &[Summary], samples_csv: &str) -> String {
        let summary: Vec<serde_json::Value> = summaries
            .iter()
            .map(|s| {
                serde_json::json!({
                    "protocol": s.protocol.key(),
                    "records": s.records,
                    "checksum": s.checksum.map(|c| format!("{c:08x}")),
                    "requests": s.requests,
                    "errors": s.errors,
                    "latencyMs": s.latency.map(|l| serde_json::json!({
                        "p50": l.p50, "p90": l.p90, "p99": l.p99, "p999": l.p999, "max": l.max, "mean": l.mean,
                    })),
                    "requestsPerSecond": s.requests_per_second,
                    "meanRequestBytes": s.mean_request_bytes,
                    "meanWireBytes": s.mean_wire_bytes,
                    "meanDecodedBytes": s.mean_decoded_bytes,
                    "meanTransferBytes": s.mean_transfer_bytes,
                    "meanPayloadBytes": s.mean_payload_bytes,
                    "wireBytesPerRecord": s.wire_bytes_per_record,
                    "meanDecodeMs": s.mean_decode_ms,
                    "meanTtfbMs": s.mean_ttfb_ms,
                    "meanClientMs": s.mean_client_ms,
                    "meanServerMs": s.mean_server_ms,
                    "meanFirstMessageMs": s.mean_first_message_ms,
                    "scheduledLatencyMs": s.scheduled.map(|l| serde_json::json!({
                        "p50": l.p50, "p90": l.p90, "p99": l.p99, "p999": l.p999, "max": l.max, "mean": l.mean,
                    })),
                })
            })
            .collect();
        serde_json::json!({
            "browser": "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0",
            "origin": "https://127.0.0.1:8544",
            "config": config,
            "summary": summary,
            "samplesCsv": samples_csv,
            "crossOriginIsolated": true,
            "timerStepMs": 0.005,
        })
        .to_string()
    }

    #[test]
    fn the_export_is_byte_for_byte_what_json_macro_wrote() {
        let full = Summary {
            protocol: Protocol::GrpcWeb,
            requests: 100,
            errors: 2,
            latency: Some(Distribution {
                count: 98,
                min: 0.5,
                mean: 1.25,
                p50: 1.0,
                p90: 2.5,
                p99: 3.75,
                p999: 4.0,
                max: 4.125,
            }),
            scheduled: Some(Distribution {
                count: 98,
                min: 0.5,
                mean: 2.5,
                p50: 2.0,
                p90: 5.0,
                p99: 7.5,
                p999: 8.0,
                max: 8.25,
            }),
            requests_per_second: 812.5,
            records: 9_800,
            checksum: Some(0x0badcafe),
            mean_request_bytes: 12.0,
            mean_wire_bytes: Some(345.5),
            mean_decoded_bytes: Some(1024.0),
            mean_transfer_bytes: Some(1324.25),
            mean_payload_bytes: 1019.0,
            wire_bytes_per_record: Some(3.455),
            mean_decode_ms: 0.1,
            mean_ttfb_ms: Some(0.8),
            mean_client_ms: Some(0.4),
            mean_server_ms: Some(0.3),
            mean_first_message_ms: Some(1.5),
            next_hops: vec![("h2".into(), 100)],
            records_per_second: Some(81_250.0),
        };
        let empty = Summary {
            protocol: Protocol::Rest,
            requests: 0,
            errors: 0,
            latency: None,
            scheduled: None,
            requests_per_second: f64::NAN,
            records: 0,
            checksum: None,
            mean_request_bytes: 0.0,
            mean_wire_bytes: None,
            mean_decoded_bytes: None,
            mean_transfer_bytes: None,
            mean_payload_bytes: f64::INFINITY,
            wire_bytes_per_record: None,
            mean_decode_ms: 0.0,
            mean_ttfb_ms: None,
            mean_client_ms: None,
            mean_server_ms: None,
            mean_first_message_ms: None,
            next_hops: Vec::new(),
            records_per_second: None,
        };
        let summaries = [full, empty];
        let csv = "seq,protocol\n0,\"grpc-web\"\n";
        let context = RunContext {
            config: "workload=fetch&count=10",
            browser: "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0",
            origin: "https://127.0.0.1:8544",
            timer: Some(Timer {
                step_ms: 0.005,
                isolated: true,
            }),
            custom_shape: None,
            sockets: None,
        };
        assert_eq!(
            run_json(&context, &summaries, csv),
            with_json_macro("workload=fetch&count=10", &summaries, csv)
        );
    }
}
