//! What a matrix cell's frame hands the page that started it: the samples it measured
//! (after its warm-up), packed as one array of numbers, since `postMessage` copies a
//! `Float64Array` cheaply and the page then computes every figure and interval with the
//! same code as for its own runs. Only what those figures read is packed: a sample's
//! error text and its timestamps stay in the frame.

use super::data::Sample;
use super::timing::NetworkTiming;
use crate::transport::Protocol;

/// Numbers per sample.
const FIELDS: usize = 18;
/// `nextHopProtocol` values, by their code (0: another one).
const HOPS: [&str; 3] = ["http/1.1", "h2", "h3"];

fn optional(value: Option<f64>) -> f64 {
    value.unwrap_or(f64::NAN)
}

fn present(value: f64) -> Option<f64> {
    (!value.is_nan()).then_some(value)
}

/// `samples` as numbers, [`FIELDS`] per sample.
pub fn pack(samples: &[&Sample]) -> Vec<f64> {
    let mut out = Vec::with_capacity(samples.len() * FIELDS);
    for s in samples {
        let n = s.network.as_ref();
        let hop = n.map_or(0, |n| {
            HOPS.iter()
                .position(|h| *h == n.protocol)
                .map_or(0, |i| i + 1)
        });
        out.extend_from_slice(&[
            s.protocol.index() as f64,
            s.e2e_ms,
            s.encode_ms,
            s.decode_ms,
            s.request_bytes as f64,
            s.payload_bytes as f64,
            s.records as f64,
            optional(s.first_message_ms),
            f64::from(u8::from(s.error.is_none())),
            f64::from(u8::from(n.is_some())),
            n.map_or(0.0, |n| n.ttfb_ms),
            n.map_or(0.0, |n| n.download_ms),
            n.map_or(0.0, |n| n.encoded_body as f64),
            n.map_or(0.0, |n| n.decoded_body as f64),
            n.map_or(0.0, |n| n.transfer_size as f64),
            optional(n.and_then(|n| n.server_ms)),
            hop as f64,
            n.map_or(0.0, |n| f64::from(u8::from(n.new_connection))),
        ]);
    }
    out
}

/// The samples [`pack`] packed; a trailing partial sample is dropped.
pub fn unpack(numbers: &[f64]) -> Vec<Sample> {
    numbers
        .chunks_exact(FIELDS)
        .enumerate()
        .map(|(seq, f)| {
            let ok = f[8] == 1.0;
            let protocol = if f[0] == 0.0 {
                Protocol::ALL[0]
            } else {
                Protocol::ALL[1]
            };
            Sample {
                seq: seq as u64,
                protocol,
                start_ms: 0.0,
                e2e_ms: f[1],
                scheduled_ms: None,
                encode_ms: f[2],
                decode_ms: f[3],
                request_bytes: f[4] as u64,
                payload_bytes: f[5] as u64,
                records: f[6] as u64,
                first_message_ms: present(f[7]),
                status: if ok { "ok" } else { "error" }.to_owned(),
                error: (!ok).then(|| "failed (see the cell's own page)".to_owned()),
                network: (f[9] == 1.0).then(|| NetworkTiming {
                    start_ms: 0.0,
                    ttfb_ms: f[10],
                    download_ms: f[11],
                    encoded_body: f[12] as u64,
                    decoded_body: f[13] as u64,
                    transfer_size: f[14] as u64,
                    server_ms: present(f[15]),
                    protocol: (f[16] as usize)
                        .checked_sub(1)
                        .and_then(|i| HOPS.get(i))
                        .map_or("other", |h| h)
                        .to_owned(),
                    new_connection: f[17] == 1.0,
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(protocol: Protocol, ok: bool, network: Option<NetworkTiming>) -> Sample {
        Sample {
            seq: 0,
            protocol,
            start_ms: 0.0,
            e2e_ms: 12.5,
            scheduled_ms: None,
            encode_ms: 0.25,
            decode_ms: 0.5,
            request_bytes: 17,
            payload_bytes: 1_234,
            records: 10,
            first_message_ms: Some(3.0),
            status: if ok { "ok" } else { "error" }.to_owned(),
            error: (!ok).then(|| "failed (see the cell's own page)".to_owned()),
            network,
        }
    }

    #[test]
    fn what_the_figures_read_survives_the_trip() {
        let timed = NetworkTiming {
            ttfb_ms: 4.0,
            download_ms: 1.5,
            encoded_body: 900,
            decoded_body: 1_234,
            transfer_size: 1_200,
            server_ms: Some(0.75),
            protocol: "h2".into(),
            new_connection: true,
            ..NetworkTiming::default()
        };
        let samples = [
            sample(Protocol::GrpcWeb, true, Some(timed.clone())),
            sample(Protocol::Rest, false, None),
            Sample {
                first_message_ms: None,
                network: Some(NetworkTiming {
                    server_ms: None,
                    protocol: "spdy/3".into(),
                    ..timed
                }),
                seq: 2,
                ..sample(Protocol::Rest, true, None)
            },
        ];
        let refs: Vec<&Sample> = samples.iter().collect();
        let back = unpack(&pack(&refs));
        assert_eq!(back.len(), 3);
        assert_eq!(back[0], samples[0]);
        assert_eq!(
            back[1],
            Sample {
                seq: 1,
                ..samples[1].clone()
            }
        );
        let other = back[2].network.as_ref().unwrap();
        assert_eq!(other.protocol, "other", "unknown hops are not invented");
        assert_eq!((other.server_ms, back[2].first_message_ms), (None, None));
    }

    #[test]
    fn a_cut_message_loses_only_its_partial_sample() {
        let one = sample(Protocol::Rest, true, None);
        let mut numbers = pack(&[&one, &one]);
        numbers.truncate(FIELDS + 5);
        assert_eq!(unpack(&numbers).len(), 1);
        assert!(unpack(&[]).is_empty());
    }
}
