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
use crate::run::history::SavedRun;
use crate::run::matrix::{MatrixCell, MatrixState};
pub use crate::run::run_export::{RunContext, run_json};
use crate::run::sweep::SweepState;
use crate::run::sweep_point::PointFigures;
use crate::stats::ratio_interval::RatioEstimate;
use crate::stats::sample_interval::Estimate;
use crate::transport::Protocol;

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

    #[test]
    fn a_matrix_exports_a_line_per_cell_and_protocol_with_its_ratio_to_http1() {
        use crate::run::config::HttpVersion;
        use crate::run::matrix::examples::{cell, matrix};
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
