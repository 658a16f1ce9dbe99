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
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = Vec::new();
    for record in records {
        buf.clear();
        record
            .encode_length_delimited(&mut buf)
            .expect("a Vec grows to fit any message");
        hasher.update(&buf);
    }
    hasher.finalize()
}
