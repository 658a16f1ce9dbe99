//! The lab's contract, shared by the backend and the browser app.
//!
//! - [`v1`]: the prost messages generated from `proto/lab/v1/lab.proto`, with serde
//!   derives so REST serializes the very same values as JSON (camelCase field names,
//!   a record as its one set field, 64-bit integers as JSON numbers), plus the tonic
//!   client (`client` feature) and server (`server` feature).
//! - [`contract`]: the paths, keys and limits both sides name, written once.
//! - [`dataset`]: the deterministic record generator behind every workload.
//! - [`checksum`]: the digest both sides use to prove they hold the same records.

pub mod contract;
#[cfg(feature = "reflect")]
pub mod custom_envelope;
pub mod dataset;

/// Generated code for package `lab.v1`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/lab.v1.rs"));
}

use prost::Message;

/// CRC-32 over the protobuf encodings of `records`, in order.
///
/// It identifies logical content, whatever transport carried it: a record decoded from
/// JSON re-encodes to the same bytes as the one decoded from protobuf.
pub fn checksum(records: &[v1::Record]) -> u32 {
    let mut digest = RecordDigest::default();
    for record in records {
        digest.add(record);
    }
    digest.finish()
}

/// [`checksum`] taken one record at a time, for records that arrive as a stream.
#[derive(Debug, Default)]
pub struct RecordDigest {
    hasher: crc32fast::Hasher,
    buf: Vec<u8>,
}

impl RecordDigest {
    pub fn add(&mut self, record: &v1::Record) {
        self.add_message(record);
        // prost leaves out a double equal to 0.0, −0.0 included, which JSON and other
        // protobuf implementations carry: every double also goes in by its bits, so a
        // signed zero cannot pass for the same data.
        if let Some(t) = &record.telemetry {
            for value in [t.temperature_c, t.humidity_pct, t.pressure_hpa, t.battery_v] {
                self.hasher.update(&value.to_bits().to_le_bytes());
            }
        }
    }

    /// Adds any message by its length-delimited encoding: a custom shape's records
    /// (`prost_reflect::DynamicMessage`) are digested this way.
    pub fn add_message(&mut self, message: &impl Message) {
        self.buf.clear();
        message
            .encode_length_delimited(&mut self.buf)
            .expect("a Vec grows to fit any message");
        self.hasher.update(&self.buf);
    }

    pub fn finish(self) -> u32 {
        self.hasher.finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_taken_record_by_record_is_the_checksum() {
        let records = dataset::generate(v1::Shape::Order, 9, 40);
        let mut digest = RecordDigest::default();
        records.iter().for_each(|r| digest.add(r));
        assert_eq!(digest.finish(), checksum(&records));
        assert_ne!(checksum(&records[1..]), checksum(&records));
    }

    #[test]
    fn a_negative_zero_is_not_the_same_data_as_zero() {
        let mut records = dataset::generate(v1::Shape::Telemetry, 42, 3);
        let zero = |records: &mut Vec<v1::Record>, value: f64| {
            records[1].telemetry.as_mut().unwrap().temperature_c = value;
            checksum(records)
        };
        let (positive, negative) = (zero(&mut records, 0.0), zero(&mut records, -0.0));
        assert_ne!(positive, negative);
        // prost's own encoding cannot tell them apart: that is why the digest looks at bits.
        let encode = |value: f64| {
            let mut t = records[1].telemetry.unwrap();
            t.temperature_c = value;
            t.encode_to_vec()
        };
        assert_eq!(encode(0.0), encode(-0.0));
    }
}
