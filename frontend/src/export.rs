//! Saving a run, a sweep or a matrix, offered as downloads: a run's samples and summary
//! as JSON, its samples as CSV; a sweep's points or a matrix's cells (each protocol's
//! figures with their 95% intervals, and the ratios) and its claims as JSON, its
//! points or cells as CSV.

use lab_proto::contract::custom::ShapeInfo;
use serde::Serialize;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

use crate::run::claims::{self, Claim};
use crate::run::config::RunConfig;
use crate::run::data::Summary;
use crate::run::history::SavedRun;
use crate::run::matrix::{MatrixCell, MatrixState};
use crate::run::sweep::SweepState;
use crate::run::sweep_point::PointFigures;
use crate::stats::percentiles::Distribution;
use crate::stats::ratio_interval::RatioEstimate;
use crate::stats::sample_interval::Estimate;
use crate::timer_resolution::Timer;
use crate::transport::Protocol;

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
    };
    serde_json::to_string(&export).expect("plain data serializes")
}

/// The JSON export of a sweep: its points as CSV inside it, as a run's samples are
/// (one table format for the figures, and no second serializer for them in the
/// bundle).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SweepExport<'a> {
    browser: &'a str,
    claims: Vec<Claim>,
    /// The settings and the sweep, as the URL query that reproduces it.
    config: String,
    /// The person's own shape the sweep used: its schema, message and sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_shape: Option<&'a ShapeInfo>,
    origin: &'a str,
    points_csv: String,
    variable: &'a str,
}

/// The columns of a sweep's CSV after the variable, its value and the protocol: each
/// figure with its interval, then the ratios of the point.
const SWEEP_CSV_HEADER: &str = "variable,value,protocol,requests,errors,\
p50_ms,p50_low_ms,p50_high_ms,p99_ms,p99_low_ms,p99_high_ms,\
throughput_rps,throughput_low_rps,throughput_high_rps,\
wire_bytes,wire_bytes_low,wire_bytes_high,decode_ms,decode_low_ms,decode_high_ms,\
payload_bytes,records";

fn estimate_cells(estimate: &Option<Estimate>) -> String {
    estimate.map_or(",,".to_owned(), |e| {
        format!("{},{},{}", e.value, e.low, e.high)
    })
}

fn optional_cell(value: Option<f64>) -> String {
    value.map_or(String::new(), |v| v.to_string())
}

/// Points (a sweep's, or a matrix's cells) as CSV: one line per point and protocol,
/// then the ratio columns (`ratio_<figure>`, `_low`, `_high`) of the point, then the
/// `extra` columns of the point and protocol (named by `extra_header`).
fn points_csv<'a>(
    variable: &str,
    points: impl Iterator<Item = (String, &'a PointFigures)>,
    extra_header: &str,
    extra: impl Fn(usize, Protocol) -> String,
) -> String {
    let mut csv = SWEEP_CSV_HEADER.to_owned();
    for figure in &crate::run::comparison::FIGURES {
        let key = figure.key.replace('-', "_");
        csv += &format!(",ratio_{key},ratio_{key}_low,ratio_{key}_high");
    }
    csv += extra_header;
    csv.push('\n');
    for (index, (value, point)) in points.enumerate() {
        for protocol in Protocol::ALL {
            let p = point.of(protocol);
            csv += &format!(
                "{variable},{value},{},{},{},{},{},{},{},{},{},{}",
                protocol.key(),
                p.requests,
                p.errors,
                estimate_cells(&p.p50_ms),
                estimate_cells(&p.p99_ms),
                estimate_cells(&p.throughput),
                estimate_cells(&p.wire_bytes),
                estimate_cells(&p.decode_ms),
                optional_cell(p.payload_bytes),
                optional_cell(p.records),
            );
            // A point's ratios are in the figures' order, as the header.
            for (_, ratio) in &point.ratios {
                csv += &ratio_cells(ratio);
            }
            csv += &extra(index, protocol);
            csv.push('\n');
        }
    }
    csv
}

fn ratio_cells(ratio: &Option<RatioEstimate>) -> String {
    ratio.map_or(",,,".to_owned(), |r| {
        format!(",{},{},{}", r.ratio, r.low, r.high)
    })
}

/// A sweep as CSV: one line per point and protocol, with the ratios of the point.
pub fn sweep_csv(sweep: &SweepState) -> String {
    let variable = sweep.plan.variable;
    let points = sweep
        .points
        .iter()
        .map(|(value, point)| (variable.value_label(*value), point));
    points_csv(variable.key(), points, "", |_, _| String::new())
}

/// A matrix as CSV: one line per measured cell (`listener`, `<http>@<network>`) and
/// protocol, as a sweep's points, then the HTTP version the browser used, the
/// connections the cell opened, and its p50 against HTTP/1.1's on the same network
/// (empty where they cannot be compared).
pub fn matrix_csv(matrix: &MatrixState) -> String {
    let measured: Vec<(usize, &MatrixCell)> = matrix
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| c.measured().is_some())
        .collect();
    let points = measured.iter().filter_map(|(_, c)| {
        let label = format!("{}@{}", c.http.key(), c.network.key());
        Some((label, &c.measured()?.figures))
    });
    let extra = |row: usize, protocol: Protocol| {
        let (index, cell) = measured[row];
        format!(
            ",{},{}{}",
            cell.next_hop().unwrap_or_default(),
            cell.measured()
                .and_then(|m| m.connections_opened)
                .map_or(String::new(), |n| n.to_string()),
            ratio_cells(&matrix.versus_http1(index, protocol).ok())
        )
    };
    points_csv(
        "listener",
        points,
        ",next_hop,connections_opened,p50_vs_http1,p50_vs_http1_low,p50_vs_http1_high",
        extra,
    )
}

/// One cell in a matrix's JSON export (its figures are in the CSV).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CellExport<'a> {
    connections_opened: Option<u64>,
    http: &'a str,
    network: &'a str,
    next_hop: Option<&'a str>,
    /// Why the cell does not stand for its HTTP version, if it does not.
    not_comparable: Option<String>,
    origin: &'a str,
}

/// The JSON export of a matrix.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MatrixExport<'a> {
    browser: &'a str,
    cells: Vec<CellExport<'a>>,
    claims: Vec<Claim>,
    config: String,
    /// The person's own shape the matrix used: its schema, message and sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_shape: Option<&'a ShapeInfo>,
    origin: &'a str,
    points_csv: String,
}

/// A matrix and the file it exports to in `format`: as JSON, where it ran, its query,
/// each cell, the claims as the page shows them, the person's shape if it used one, and
/// the CSV.
pub fn matrix_file(
    matrix: &MatrixState,
    format: ExportFormat,
    history: &[SavedRun],
    custom: Option<&ShapeInfo>,
) -> String {
    if format == ExportFormat::Csv {
        return matrix_csv(matrix);
    }
    let export = MatrixExport {
        browser: &matrix.browser,
        cells: matrix
            .cells
            .iter()
            .map(|c| CellExport {
                connections_opened: c.measured().and_then(|m| m.connections_opened),
                http: c.http.key(),
                network: c.network.key(),
                next_hop: c.next_hop(),
                not_comparable: c.not_comparable(),
                origin: &c.origin,
            })
            .collect(),
        claims: matrix.claims(history),
        config: matrix.to_query(),
        custom_shape: used_shape(&matrix.base, custom),
        origin: &matrix.origin,
        points_csv: matrix_csv(matrix),
    };
    serde_json::to_string(&export).expect("plain data serializes")
}

/// The person's shape, if `config` used it.
pub fn used_shape<'a>(config: &RunConfig, custom: Option<&'a ShapeInfo>) -> Option<&'a ShapeInfo> {
    let used = config.shape.custom()?.hex();
    custom.filter(|info| info.id == used)
}

/// A sweep as JSON: where it ran, its query, every point's figures (as in the CSV),
/// the claims as the page shows them, and the person's shape if it used one.
pub fn sweep_json(sweep: &SweepState, history: &[SavedRun], custom: Option<&ShapeInfo>) -> String {
    let export = SweepExport {
        browser: &sweep.browser,
        claims: claims::check(&sweep.evidence(history)),
        config: sweep.to_query(),
        custom_shape: used_shape(&sweep.base, custom),
        origin: &sweep.origin,
        points_csv: sweep_csv(sweep),
        variable: sweep.plan.variable.key(),
    };
    serde_json::to_string(&export).expect("plain data serializes")
}

/// The file a sweep exports to in `format`.
pub fn sweep_file(
    sweep: &SweepState,
    format: ExportFormat,
    history: &[SavedRun],
    custom: Option<&ShapeInfo>,
) -> String {
    match format {
        ExportFormat::Json => sweep_json(sweep, history, custom),
        ExportFormat::Csv => sweep_csv(sweep),
    }
}

/// The two files a run exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Settings, per-protocol summary and the samples as CSV, in one JSON document.
    Json,
    /// One row per request.
    Csv,
}

impl ExportFormat {
    fn file_name(self) -> &'static str {
        match self {
            ExportFormat::Json => "lab-run.json",
            ExportFormat::Csv => "lab-run.csv",
        }
    }

    fn mime(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Csv => "text/csv",
        }
    }
}

/// Offers `contents` as a download in `format`.
pub fn download(format: ExportFormat, contents: &str) -> Result<(), String> {
    let (name, mime) = (format.file_name(), format.mime());
    let parts = js_sys::Array::of1(&contents.into());
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        Blob::new_with_str_sequence_and_options(&parts, &options).map_err(|e| format!("{e:?}"))?;
    let url = Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let anchor: HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    Url::revoke_object_url(&url).map_err(|e| format!("{e:?}"))
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
        };
        assert_eq!(
            run_json(&context, &summaries, csv),
            with_json_macro("workload=fetch&count=10", &summaries, csv)
        );
    }

    #[test]
    fn a_matrix_exports_a_line_per_cell_and_protocol_with_its_ratio_to_http1() {
        use crate::run::config::HttpVersion;
        use crate::run::matrix::tests::{cell, matrix};
        let m = matrix(vec![
            cell(HttpVersion::TlsHttp1, "http/1.1", 6, 100.0),
            cell(HttpVersion::TlsH2, "h2", 1, 50.0),
            cell(HttpVersion::QuicH3, "h2", 0, 50.0),
        ]);
        let csv = matrix_csv(&m);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 3 * 2);
        assert!(lines[0].ends_with(
            ",next_hop,connections_opened,p50_vs_http1,p50_vs_http1_low,p50_vs_http1_high"
        ));
        assert!(lines[3].starts_with("listener,tls-h2@loopback,grpc-web,"));
        let ratio = |line: &str| line.rsplit(',').nth(2).unwrap().to_owned();
        assert!(lines[3].contains(",h2,1,"), "{}", lines[3]);
        let r: f64 = ratio(lines[3]).parse().unwrap();
        assert!((0.45..0.6).contains(&r), "{r}");
        assert_eq!(ratio(lines[5]), "", "HTTP/3 fell back: no ratio");
        let json = matrix_file(&m, ExportFormat::Json, &[], None);
        assert!(
            json.contains(r#""notComparable":"the browser used h2, not h3"#),
            "{json}"
        );
        assert!(!json.contains("customShape"), "{json}");
    }

    #[test]
    fn a_series_carries_the_person_s_shape_only_if_it_used_it() {
        use crate::run::shape_choice::{CustomShapeId, ShapeChoice};
        let info = ShapeInfo {
            id: "00000000000000ff".to_owned(),
            proto: "message R {}".to_owned(),
            message: "R".to_owned(),
            sample: None,
            sample_json_bytes_per_record: None,
            protobuf_bytes_per_record: 1.0,
            json_bytes_per_record: 2.0,
            max_count: 10,
        };
        let mut config = RunConfig::default();
        assert!(used_shape(&config, Some(&info)).is_none());
        config.shape = ShapeChoice::Custom(CustomShapeId(0xff));
        assert_eq!(used_shape(&config, Some(&info)), Some(&info));
        config.shape = ShapeChoice::Custom(CustomShapeId(0xfe));
        assert!(used_shape(&config, Some(&info)).is_none(), "another shape");
    }
}
