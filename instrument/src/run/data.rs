//! Everything measured in one run: every sample, plus per-protocol aggregates that the
//! charts read. Aggregates are fixed-size (histogram bins, time buckets, sums), so a
//! chart update costs the same after 100 requests as after 100,000.

use super::timing::NetworkTiming;
use crate::stats::latency_histogram::LatencyHistogram;
use crate::stats::percentiles::Distribution;
use crate::stats::time_series::TimeSeries;
use crate::transport::{CallOutcome, Protocol};

/// Time buckets kept for the over-time charts.
const TIME_BUCKETS: usize = 120;
/// Width of a time bucket at the start of a run; it doubles as the run goes on.
const INITIAL_BUCKET_MS: f64 = 100.0;

/// One request, as measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    pub seq: u64,
    pub protocol: Protocol,
    /// Start, in ms since the run started.
    pub start_ms: f64,
    pub e2e_ms: f64,
    /// With a target rate: from the request's intended start (its place in the
    /// schedule) to its end. A client that falls behind its schedule shows here and
    /// not in `e2e_ms` (coordinated omission).
    pub scheduled_ms: Option<f64>,
    pub encode_ms: f64,
    pub decode_ms: f64,
    pub request_bytes: u64,
    pub payload_bytes: u64,
    pub records: u64,
    /// Streams: time to the first message.
    pub first_message_ms: Option<f64>,
    /// `ok`, or the failure's status (`HTTP 400`, `gRPC Unavailable`, `network`).
    pub status: String,
    pub error: Option<String>,
    /// Filled in when the browser's Resource Timing entry has been matched.
    pub network: Option<NetworkTiming>,
}

/// Running totals for one protocol.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ProtocolStats {
    pub requests: u64,
    pub errors: u64,
    pub last_error: Option<String>,
    /// End-to-end latency of successful requests.
    pub latency: LatencyHistogram,
    /// Latency and completions over run time.
    pub timeline: TimeSeries,
    pub request_bytes: u64,
    pub payload_bytes: u64,
    pub records: u64,
    pub decode_ms: f64,
    /// The checksum of the first verified response (see `CallOptions::verify`).
    pub checksum: Option<u32>,
    /// Streams that delivered a first message, and the sum of those times.
    pub first_messages: u64,
    pub first_message_ms: f64,
    /// Resource Timing entries matched to a request, and those among them that the
    /// browser reported without bodies (see [`RunData::attach_network`]).
    pub matched: u64,
    pub incomplete: u64,
    /// The HTTP versions the browser used (`nextHopProtocol`), with their counts.
    pub next_hops: Vec<(String, u64)>,
    /// Successful requests with a complete Resource Timing entry, and its sums.
    pub timed: u64,
    pub encoded_body: u64,
    pub decoded_body: u64,
    pub transfer_size: u64,
    pub ttfb_ms: f64,
    /// End to end minus the fetch's own duration, summed over `timed`.
    pub client_ms: f64,
    pub server_timed: u64,
    pub server_ms: f64,
    /// First start and last end (ms since run start), for requests/s.
    pub first_start_ms: Option<f64>,
    pub last_end_ms: f64,
}

impl Default for ProtocolStats {
    fn default() -> Self {
        Self {
            requests: 0,
            errors: 0,
            last_error: None,
            latency: LatencyHistogram::new(),
            timeline: TimeSeries::new(TIME_BUCKETS, INITIAL_BUCKET_MS),
            request_bytes: 0,
            payload_bytes: 0,
            records: 0,
            decode_ms: 0.0,
            checksum: None,
            first_messages: 0,
            first_message_ms: 0.0,
            matched: 0,
            incomplete: 0,
            next_hops: Vec::new(),
            timed: 0,
            encoded_body: 0,
            decoded_body: 0,
            transfer_size: 0,
            ttfb_ms: 0.0,
            client_ms: 0.0,
            server_timed: 0,
            server_ms: 0.0,
            first_start_ms: None,
            last_end_ms: 0.0,
        }
    }
}

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub protocol: Protocol,
    pub requests: u64,
    pub errors: u64,
    /// Latency of successful requests: exact when the run is over, from the
    /// histogram (within one bin, ~12%) while it goes on.
    pub latency: Option<Distribution>,
    /// Latency from each request's intended start, with a target rate; exact, once
    /// the run is over.
    pub scheduled: Option<Distribution>,
    pub requests_per_second: f64,
    /// Records received (fetch, stream) or acknowledged (upload) in all.
    pub records: u64,
    /// `lab_proto::checksum` of the records of the first verified response.
    pub checksum: Option<u32>,
    pub mean_request_bytes: f64,
    /// Body bytes on the wire (Resource Timing `encodedBodySize`).
    pub mean_wire_bytes: Option<f64>,
    /// Body bytes after HTTP decompression (`decodedBodySize`).
    pub mean_decoded_bytes: Option<f64>,
    /// With response headers, as the browser counts them (`transferSize`).
    pub mean_transfer_bytes: Option<f64>,
    /// The payload's own encoding, protobuf or JSON.
    pub mean_payload_bytes: f64,
    pub wire_bytes_per_record: Option<f64>,
    pub mean_decode_ms: f64,
    pub mean_ttfb_ms: Option<f64>,
    /// The client's share of a request: end to end minus the fetch's duration.
    pub mean_client_ms: Option<f64>,
    pub mean_server_ms: Option<f64>,
    /// Streams: mean time to the first message.
    pub mean_first_message_ms: Option<f64>,
    /// The HTTP versions the browser used, with their counts, most used first.
    pub next_hops: Vec<(String, u64)>,
    /// Records received or acknowledged per second over the same span as
    /// requests/s (streams: messages/s), all requests in flight together.
    pub records_per_second: Option<f64>,
}

/// A service-to-service lane's bytes, counted by the native runner at its sockets
/// (a browser cannot: its runs have none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SocketBytes {
    /// At the TCP socket: TLS records included.
    pub socket_written: u64,
    pub socket_read: u64,
    /// Above TLS: what HTTP wrote and read (the socket's own bytes on a cleartext lane).
    pub plaintext_written: u64,
    pub plaintext_read: u64,
    /// Connections the lane opened.
    pub connections: u64,
}

impl SocketBytes {
    /// Both ways, per request of `requests`.
    pub fn per_request(&self, requests: u64, tls_included: bool) -> Option<f64> {
        let bytes = if tls_included {
            self.socket_written + self.socket_read
        } else {
            self.plaintext_written + self.plaintext_read
        };
        (requests > 0).then(|| bytes as f64 / requests as f64)
    }
}

/// All of a run's measurements.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunData {
    pub samples: Vec<Sample>,
    pub stats: [ProtocolStats; 2],
    /// Service to service: each lane's socket bytes, as the native runner counted them.
    #[serde(default)]
    pub sockets: Option<[SocketBytes; 2]>,
}

fn mean(sum: f64, count: u64) -> Option<f64> {
    (count > 0).then(|| sum / count as f64)
}

impl RunData {
    /// Records a finished call; `run_start_ms` is the run's `performance.now()` origin.
    /// Returns the sample's index, for [`RunData::attach_network`].
    pub fn record(
        &mut self,
        seq: u64,
        protocol: Protocol,
        outcome: &CallOutcome,
        run_start_ms: f64,
    ) -> usize {
        let start_ms = outcome.started_ms - run_start_ms;
        let end_ms = start_ms + outcome.e2e_ms;
        let stats = &mut self.stats[protocol.index()];
        stats.requests += 1;
        stats.first_start_ms = Some(stats.first_start_ms.map_or(start_ms, |s| s.min(start_ms)));
        stats.last_end_ms = stats.last_end_ms.max(end_ms);
        stats.request_bytes += outcome.request_bytes;
        let (status, error) = match &outcome.result {
            Ok(()) => {
                stats.latency.record(outcome.e2e_ms);
                stats.timeline.record(end_ms, outcome.e2e_ms);
                stats.payload_bytes += outcome.payload_bytes;
                stats.records += outcome.records;
                stats.decode_ms += outcome.decode_ms;
                if stats.checksum.is_none() {
                    stats.checksum = outcome.checksum;
                }
                if let Some(first) = outcome.first_message_ms {
                    stats.first_messages += 1;
                    stats.first_message_ms += first;
                }
                ("ok".to_owned(), None)
            }
            Err(err) => {
                stats.errors += 1;
                stats.timeline.record_error(end_ms);
                stats.last_error = Some(err.to_string());
                (err.status(), Some(err.to_string()))
            }
        };
        self.samples.push(Sample {
            seq,
            protocol,
            start_ms,
            e2e_ms: outcome.e2e_ms,
            scheduled_ms: None,
            encode_ms: outcome.encode_ms,
            decode_ms: outcome.decode_ms,
            request_bytes: outcome.request_bytes,
            payload_bytes: outcome.payload_bytes,
            records: outcome.records,
            first_message_ms: outcome.first_message_ms,
            status,
            error,
            network: None,
        });
        self.samples.len() - 1
    }

    /// Adds the browser's view of sample `index`'s fetch.
    pub fn attach_network(&mut self, index: usize, timing: NetworkTiming) {
        let Some(sample) = self.samples.get_mut(index) else {
            return;
        };
        let stats = &mut self.stats[sample.protocol.index()];
        stats.matched += 1;
        match stats
            .next_hops
            .iter_mut()
            .find(|(hop, _)| *hop == timing.protocol)
        {
            Some((_, count)) => *count += 1,
            None => stats.next_hops.push((timing.protocol.clone(), 1)),
        }
        // A browser may report a fetch with empty bodies (Chromium did for gRPC-Web
        // fetches that the client dropped unread; see vendor/tonic-web-wasm-client).
        // Such an entry says nothing about sizes, so it is kept on the sample but left
        // out of the size means.
        let incomplete = sample.payload_bytes > 0 && timing.decoded_body == 0;
        if incomplete {
            stats.incomplete += 1;
        }
        if sample.error.is_none() && !incomplete {
            stats.timed += 1;
            stats.encoded_body += timing.encoded_body;
            stats.decoded_body += timing.decoded_body;
            stats.transfer_size += timing.transfer_size;
            stats.ttfb_ms += timing.ttfb_ms;
            // What the client spent beyond the fetch itself (startTime to responseEnd):
            // encoding, decoding, and the work around the call.
            stats.client_ms += (sample.e2e_ms - timing.ttfb_ms - timing.download_ms).max(0.0);
            if let Some(server) = timing.server_ms {
                stats.server_timed += 1;
                stats.server_ms += server;
            }
        }
        sample.network = Some(timing);
    }

    /// Sets the latency from the intended start of the sample at `index`, whose
    /// schedule had it start `due_ms` after the run started.
    pub fn set_intended_start(&mut self, index: usize, due_ms: f64) {
        if let Some(sample) = self.samples.get_mut(index) {
            let since_due = sample.start_ms + sample.e2e_ms - due_ms;
            // A request let go up to a millisecond early counts from its real start.
            sample.scheduled_ms = Some(since_due.max(sample.e2e_ms));
        }
    }

    /// The summary of `protocol`; `exact` sorts every latency (do it once, at the end).
    pub fn summary(&self, protocol: Protocol, exact: bool) -> Summary {
        let stats = &self.stats[protocol.index()];
        let ok = stats.requests - stats.errors;
        let successes = || {
            self.samples
                .iter()
                .filter(move |s| s.protocol == protocol && s.error.is_none())
        };
        // Only once the run is over: from every sample.
        let scheduled = exact
            .then(|| {
                let from_due: Vec<f64> = successes().filter_map(|s| s.scheduled_ms).collect();
                Distribution::from_samples(&from_due)
            })
            .flatten();
        let latency = if exact {
            let latencies: Vec<f64> = successes().map(|s| s.e2e_ms).collect();
            Distribution::from_samples(&latencies)
        } else {
            let h = &stats.latency;
            let q = |q| h.quantile(q);
            match (q(0.5), q(0.9), q(0.99), q(0.999), h.min_ms(), h.max_ms()) {
                (Some(p50), Some(p90), Some(p99), Some(p999), Some(min), Some(max)) => {
                    Some(Distribution {
                        count: h.count() as usize,
                        min,
                        mean: stats.timeline.buckets().iter().map(|b| b.sum).sum::<f64>()
                            / h.count() as f64,
                        p50,
                        p90,
                        p99,
                        p999,
                        max,
                    })
                }
                _ => None,
            }
        };
        // From the first request's start to the last one's end: with requests in
        // flight together, a rate over this span counts each moment once.
        let span_s = (stats.last_end_ms - stats.first_start_ms.unwrap_or(0.0)) / 1_000.0;
        let per_second = |count: u64| (span_s > 0.0).then(|| count as f64 / span_s);
        Summary {
            protocol,
            requests: stats.requests,
            errors: stats.errors,
            latency,
            scheduled,
            requests_per_second: per_second(stats.requests).unwrap_or(0.0),
            records: stats.records,
            checksum: stats.checksum,
            mean_request_bytes: mean(stats.request_bytes as f64, stats.requests).unwrap_or(0.0),
            mean_wire_bytes: mean(stats.encoded_body as f64, stats.timed),
            mean_decoded_bytes: mean(stats.decoded_body as f64, stats.timed),
            // None when nothing reported one (the native runner counts sockets instead).
            mean_transfer_bytes: mean(stats.transfer_size as f64, stats.timed)
                .filter(|_| stats.transfer_size > 0),
            mean_payload_bytes: mean(stats.payload_bytes as f64, ok).unwrap_or(0.0),
            wire_bytes_per_record: (stats.records > 0 && stats.timed > 0).then(|| {
                let records_timed = stats.records as f64 * stats.timed as f64 / ok.max(1) as f64;
                stats.encoded_body as f64 / records_timed
            }),
            mean_decode_ms: mean(stats.decode_ms, ok).unwrap_or(0.0),
            mean_ttfb_ms: mean(stats.ttfb_ms, stats.timed),
            mean_client_ms: mean(stats.client_ms, stats.timed),
            mean_server_ms: mean(stats.server_ms, stats.server_timed),
            mean_first_message_ms: mean(stats.first_message_ms, stats.first_messages),
            next_hops: {
                let mut hops = stats.next_hops.clone();
                hops.sort_by_key(|hop| std::cmp::Reverse(hop.1));
                hops
            },
            records_per_second: per_second(stats.records).filter(|_| stats.records > 0),
        }
    }

    /// Samples as CSV, one line per request (for export).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "seq,protocol,start_ms,e2e_ms,scheduled_ms,encode_ms,decode_ms,request_bytes,payload_bytes,records,status,\
             ttfb_ms,download_ms,encoded_body,decoded_body,transfer_size,server_ms,next_hop,new_connection,error\n",
        );
        for s in &self.samples {
            let n = s.network.as_ref();
            let opt = |v: Option<String>| v.unwrap_or_default();
            out.push_str(&format!(
                "{},{},{:.3},{:.3},{},{:.3},{:.3},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\"\n",
                s.seq,
                s.protocol.key(),
                s.start_ms,
                s.e2e_ms,
                opt(s.scheduled_ms.map(|v| format!("{v:.3}"))),
                s.encode_ms,
                s.decode_ms,
                s.request_bytes,
                s.payload_bytes,
                s.records,
                s.status,
                opt(n.map(|n| format!("{:.3}", n.ttfb_ms))),
                opt(n.map(|n| format!("{:.3}", n.download_ms))),
                opt(n.map(|n| n.encoded_body.to_string())),
                opt(n.map(|n| n.decoded_body.to_string())),
                opt(n.map(|n| n.transfer_size.to_string())),
                opt(n.and_then(|n| n.server_ms).map(|v| format!("{v:.3}"))),
                opt(n.map(|n| n.protocol.clone())),
                opt(n.map(|n| u8::from(n.new_connection).to_string())),
                s.error.as_deref().unwrap_or("").replace('"', "'"),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::TransportError;

    fn outcome(started_ms: f64, e2e_ms: f64, ok: bool) -> CallOutcome {
        CallOutcome {
            url: "/api/v1/ping".into(),
            started_ms,
            e2e_ms,
            encode_ms: 0.1,
            decode_ms: 0.2,
            request_bytes: 10,
            payload_bytes: 100,
            records: 4,
            first_message_ms: None,
            checksum: None,
            result: if ok {
                Ok(())
            } else {
                Err(TransportError::Network("down".into()))
            },
        }
    }

    #[test]
    fn a_client_behind_its_schedule_shows_in_the_latency_from_the_intended_start() {
        // 100 requests/s: due at 0, 10, 20 ms; the third started 30 ms late.
        let mut run = RunData::default();
        for (seq, started, e2e) in [(0u64, 0.0, 5.0), (1, 10.0, 5.0), (2, 50.0, 5.0)] {
            let index = run.record(seq, Protocol::Rest, &outcome(started, e2e, true), 0.0);
            run.set_intended_start(index, seq as f64 * 10.0);
        }
        let summary = run.summary(Protocol::Rest, true);
        assert_eq!(
            summary.latency.unwrap().max,
            5.0,
            "each request itself took 5 ms"
        );
        let scheduled = summary.scheduled.unwrap();
        assert_eq!((scheduled.p50, scheduled.max), (5.0, 35.0));
        assert!(run.to_csv().contains(",5.000,35.000,"), "{}", run.to_csv());
        // Without a schedule there is no such figure, and not before the run is over.
        assert!(run.summary(Protocol::Rest, false).scheduled.is_none());
        let mut unscheduled = RunData::default();
        unscheduled.record(0, Protocol::Rest, &outcome(0.0, 5.0, true), 0.0);
        assert!(
            unscheduled
                .summary(Protocol::Rest, true)
                .scheduled
                .is_none()
        );
    }

    #[test]
    fn counts_errors_apart_and_summarises_successes_only() {
        let mut run = RunData::default();
        run.record(0, Protocol::Rest, &outcome(1_000.0, 5.0, true), 1_000.0);
        run.record(1, Protocol::Rest, &outcome(1_010.0, 15.0, true), 1_000.0);
        run.record(2, Protocol::Rest, &outcome(1_020.0, 1.0, false), 1_000.0);
        let summary = run.summary(Protocol::Rest, true);
        assert_eq!((summary.requests, summary.errors), (3, 1));
        let latency = summary.latency.unwrap();
        assert_eq!((latency.count, latency.max, latency.mean), (2, 15.0, 10.0));
        assert_eq!(summary.mean_payload_bytes, 100.0);
        // 3 requests between 0 ms and 25 ms, 8 records from the two that succeeded.
        assert!((summary.requests_per_second - 120.0).abs() < 1e-9);
        assert_eq!(summary.records, 8);
        assert!((summary.records_per_second.unwrap() - 320.0).abs() < 1e-9);
        assert_eq!(
            run.stats[Protocol::Rest.index()].last_error.as_deref(),
            Some("network error: down")
        );
        assert_eq!(run.summary(Protocol::GrpcWeb, true).latency, None);
    }

    #[test]
    fn rates_count_concurrent_requests_once_and_the_first_checksum_stays() {
        let mut run = RunData::default();
        // Four requests in flight together for the same 100 ms, 4 records each.
        for seq in 0..4 {
            let mut call = outcome(0.0, 100.0, true);
            call.checksum = (seq > 0).then_some(0xabc0 + seq as u32);
            run.record(seq, Protocol::Rest, &call, 0.0);
        }
        let summary = run.summary(Protocol::Rest, true);
        assert!((summary.requests_per_second - 40.0).abs() < 1e-9);
        assert!((summary.records_per_second.unwrap() - 160.0).abs() < 1e-9);
        assert_eq!(summary.checksum, Some(0xabc1));
    }

    #[test]
    fn live_summary_is_within_a_histogram_bin_of_the_exact_one() {
        let mut run = RunData::default();
        for i in 0..1_000 {
            run.record(
                i,
                Protocol::GrpcWeb,
                &outcome(i as f64, 1.0 + (i % 50) as f64, true),
                0.0,
            );
        }
        let exact = run.summary(Protocol::GrpcWeb, true).latency.unwrap();
        let live = run.summary(Protocol::GrpcWeb, false).latency.unwrap();
        assert!(
            (live.p99 / exact.p99 - 1.0).abs() < 0.13,
            "{live:?} vs {exact:?}"
        );
        assert!((live.mean - exact.mean).abs() < 1e-6);
    }

    #[test]
    fn network_timings_feed_the_size_columns() {
        let mut run = RunData::default();
        let index = run.record(0, Protocol::GrpcWeb, &outcome(0.0, 2.0, true), 0.0);
        assert_eq!(run.summary(Protocol::GrpcWeb, true).mean_wire_bytes, None);
        run.attach_network(
            index,
            NetworkTiming {
                start_ms: 0.0,
                ttfb_ms: 1.0,
                download_ms: 0.2,
                encoded_body: 60,
                decoded_body: 120,
                transfer_size: 300,
                server_ms: Some(0.5),
                protocol: "http/1.1".into(),
                new_connection: false,
            },
        );
        let summary = run.summary(Protocol::GrpcWeb, true);
        assert_eq!(summary.mean_wire_bytes, Some(60.0));
        assert_eq!(summary.wire_bytes_per_record, Some(15.0));
        assert_eq!(summary.mean_server_ms, Some(0.5));
        // 2 ms end to end, of which the fetch took 1.2 ms: the client's share is 0.8 ms.
        let client = summary.mean_client_ms.unwrap();
        assert!((client - 0.8).abs() < 1e-9, "{client}");
        assert_eq!(summary.next_hops, [("http/1.1".to_owned(), 1)]);
        assert!(
            run.to_csv()
                .lines()
                .nth(1)
                .unwrap()
                .contains(",60,120,300,0.500,http/1.1,")
        );
    }

    #[test]
    fn entries_without_bodies_do_not_count_as_sizes() {
        let mut run = RunData::default();
        let index = run.record(0, Protocol::GrpcWeb, &outcome(0.0, 2.0, true), 0.0);
        let empty = NetworkTiming {
            start_ms: 0.0,
            ttfb_ms: 1.0,
            download_ms: 0.0,
            encoded_body: 0,
            decoded_body: 0,
            transfer_size: 0,
            server_ms: None,
            protocol: String::new(),
            new_connection: false,
        };
        run.attach_network(index, empty);
        let stats = &run.stats[Protocol::GrpcWeb.index()];
        assert_eq!((stats.matched, stats.incomplete, stats.timed), (1, 1, 0));
        assert_eq!(run.summary(Protocol::GrpcWeb, true).mean_wire_bytes, None);
    }
}
