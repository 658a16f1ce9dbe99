//! A custom shape's records served as the built-in shapes' are (issue 22): generated
//! from the shape's registry entry for a count and seed, encoded whole as protobuf
//! (each record's own bytes, as `FetchCustomResponse` carries them) or as the canonical JSON
//! of the `Records` envelope, and read back from an upload in either encoding. Sizes
//! are checked as they grow: a count whose encoding would pass the message limit is
//! refused with the largest count that fits.

use std::sync::Arc;

use lab_proto::RecordDigest;
use lab_proto::contract::MAX_MESSAGE_BYTES;
use lab_proto::contract::custom::{KEY_PREFIX, ShapeInfo, ShapeInput};
use lab_proto::contract::rest::SHAPES;
use lab_proto::custom_envelope::Envelope;
use lab_proto::dataset::MAX_RECORDS;
use lab_proto::v1::UploadResponse;
use prost::Message;
use prost_reflect::DynamicMessage;

use crate::custom_shape::generator::CustomGenerator;
use crate::custom_shape::inference::{MAX_SAMPLE_BYTES, RECORD, infer_proto};
use crate::custom_shape::registry::{CAPACITY, CustomShape, ShapeRegistry};
use crate::workload::{RequestError, check_count};

/// The shape `id` as the registry has it, or a message that says why not and what to do.
pub fn find(registry: &ShapeRegistry, id: &str) -> Result<Arc<CustomShape>, RequestError> {
    registry.get(id).ok_or_else(|| {
        RequestError::UnknownShape(format!(
            "this backend does not have the custom shape {id}: it keeps the {CAPACITY} most \
             recently used, and none across a restart. Register it again (POST {SHAPES}; on \
             the page: paste the sample or .proto again)"
        ))
    })
}

/// Records generated to describe a shape: its sizes per record and the count estimate.
const SIZE_PROBE: usize = 100;

/// Registers what a person pasted (`POST /api/v1/shapes`): a sample's inferred schema,
/// or a `.proto` and its message (with an optional sample guiding the values).
pub fn register(registry: &ShapeRegistry, input: &ShapeInput) -> Result<ShapeInfo, RequestError> {
    let invalid = |msg: String| RequestError::InvalidArgument(msg);
    let sample = input.sample.as_deref().filter(|s| !s.trim().is_empty());
    if let Some(sample) = sample {
        if sample.len() > MAX_SAMPLE_BYTES {
            return Err(invalid(format!(
                "the sample is {} bytes; the limit is {MAX_SAMPLE_BYTES}",
                sample.len()
            )));
        }
        serde_json::from_str::<serde::de::IgnoredAny>(sample)
            .map_err(|err| invalid(format!("the sample is not JSON: {err}")))?;
    }
    let proto_given = input.proto.as_deref().filter(|p| !p.trim().is_empty());
    let (proto, message) = match (proto_given, sample) {
        (Some(proto), _) => {
            let message = input.message.as_deref().filter(|m| !m.trim().is_empty());
            let message = message.ok_or_else(|| {
                invalid("name the message of the .proto to use (`message`)".to_owned())
            })?;
            (proto.to_owned(), message.trim().to_owned())
        }
        (None, Some(sample)) => (
            infer_proto(sample).map_err(|err| invalid(err.to_string()))?,
            RECORD.to_owned(),
        ),
        (None, None) => {
            return Err(invalid(
                "send a JSON `sample` of your records, or a `proto` and its `message`".to_owned(),
            ));
        }
    };
    let shape = registry
        .add(&proto, &message, sample)
        .map_err(|err| invalid(err.to_string()))?;
    Ok(info(&shape))
}

/// What the page shows of a shape: its schema, and its sizes per record (generated
/// once per shape: a link's every visit asks again).
pub fn info(shape: &CustomShape) -> ShapeInfo {
    shape.info.get_or_init(|| describe(shape)).clone()
}

fn describe(shape: &CustomShape) -> ShapeInfo {
    let mut generator = CustomGenerator::new(shape.record.clone(), shape.profile.clone(), 1);
    let (mut protobuf, mut json, mut largest) = (0, 0, 1);
    // One record at a time: each may be up to the generator's record budget.
    for _ in 0..SIZE_PROBE {
        let record = generator.next_record();
        let p = record.encoded_len();
        let j = serde_json::to_vec(&record).map_or(0, |v| v.len());
        protobuf += p;
        json += j;
        // The tag and length around each record, the comma between them.
        largest = largest.max(p.max(j) + 6);
    }
    let per = |total: usize| total as f64 / SIZE_PROBE as f64;
    ShapeInfo {
        id: shape.id.clone(),
        proto: shape.proto.clone(),
        message: shape.record.full_name().to_owned(),
        sample: shape.sample.clone(),
        sample_json_bytes_per_record: shape.sample.as_deref().and_then(sample_bytes_per_record),
        protobuf_bytes_per_record: per(protobuf),
        json_bytes_per_record: per(json),
        max_count: u32::try_from(MAX_MESSAGE_BYTES / largest)
            .unwrap_or(u32::MAX)
            .min(MAX_RECORDS),
    }
}

/// The sample's records as compact JSON, in bytes per record (whitespace the person
/// pasted is not what their API sends).
fn sample_bytes_per_record(sample: &str) -> Option<f64> {
    let value: serde_json::Value = serde_json::from_str(sample).ok()?;
    let records = match &value {
        serde_json::Value::Array(items) if !items.is_empty() => items.iter().collect(),
        serde_json::Value::Array(_) => return None,
        one => vec![one],
    };
    let bytes: usize = records
        .iter()
        .map(|r| serde_json::to_vec(r).map_or(0, |v| v.len()))
        .sum();
    Some(bytes as f64 / records.len() as f64)
}

/// A validated request for a custom shape's records.
#[derive(Debug, Clone)]
pub struct CustomSpec {
    pub shape: Arc<CustomShape>,
    pub count: u32,
    pub seed: u64,
}

impl CustomSpec {
    pub fn new(
        registry: &ShapeRegistry,
        id: &str,
        count: u32,
        seed: u64,
    ) -> Result<Self, RequestError> {
        let shape = find(registry, id)?;
        check_count(count)?;
        Ok(Self { shape, count, seed })
    }

    /// The records' source.
    pub fn generator(&self) -> CustomGenerator {
        CustomGenerator::new(
            self.shape.record.clone(),
            self.shape.profile.clone(),
            self.seed,
        )
    }

    fn too_large(&self, fits: u32, encoding: &str, limit: usize) -> RequestError {
        RequestError::InvalidArgument(format!(
            "{} records of {KEY_PREFIX}{} are more than the message limit of {limit} bytes in \
             {encoding}: the largest count that fits (seed {}) is {fits}",
            self.count, self.shape.id, self.seed
        ))
    }

    /// Each record's protobuf encoding, or an error once all of them (each with its
    /// field tag and length, as `FetchCustomResponse` sends them) pass `limit` bytes.
    pub fn protobuf(&self, limit: usize) -> Result<Vec<Vec<u8>>, RequestError> {
        let mut generator = self.generator();
        let mut records = Vec::with_capacity(self.count as usize);
        let mut total = 0;
        for done in 0..self.count {
            let bytes = generator.next_record().encode_to_vec();
            total += 1 + prost::encoding::encoded_len_varint(bytes.len() as u64) + bytes.len();
            if total > limit {
                return Err(self.too_large(done, "protobuf", limit));
            }
            records.push(bytes);
        }
        Ok(records)
    }

    /// The canonical JSON of the `Records` envelope, or an error once it passes
    /// `limit` bytes. Written record by record: the same text serde writes for the
    /// whole envelope (a test checks), without holding every record at once.
    pub fn json(&self, limit: usize) -> Result<Vec<u8>, RequestError> {
        let mut generator = self.generator();
        let mut body = Vec::from(&b"{\"records\":["[..]);
        for done in 0..self.count {
            if done > 0 {
                body.push(b',');
            }
            serde_json::to_writer(&mut body, &generator.next_record()).map_err(|err| {
                RequestError::InvalidArgument(format!(
                    "a record of {KEY_PREFIX}{} has no JSON form: {err}",
                    self.shape.id
                ))
            })?;
            if body.len() + 2 > limit {
                return Err(self.too_large(done, "JSON", limit));
            }
        }
        body.extend_from_slice(b"]}");
        Ok(body)
    }
}

/// The count and checksum of uploaded records.
fn acknowledge(records: &[DynamicMessage]) -> Result<UploadResponse, RequestError> {
    check_count(u32::try_from(records.len()).unwrap_or(u32::MAX))?;
    let mut digest = RecordDigest::default();
    records.iter().for_each(|record| digest.add_message(record));
    Ok(UploadResponse {
        count: records.len() as u64,
        checksum: digest.finish(),
    })
}

/// An upload received as protobuf (each record's bytes, from `UploadCustomRequest`):
/// decoded by the shape's schema, as a generated service would.
pub fn upload_protobuf(
    shape: &CustomShape,
    records: Vec<Vec<u8>>,
) -> Result<UploadResponse, RequestError> {
    // Counted before decoding: tiny records would otherwise be millions of messages.
    check_count(u32::try_from(records.len()).unwrap_or(u32::MAX))?;
    let decoded = records
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| {
            DynamicMessage::decode(shape.record.clone(), bytes.as_slice()).map_err(|err| {
                RequestError::InvalidArgument(format!(
                    "record {i} is not a {}: {err}",
                    shape.record.full_name()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    acknowledge(&decoded)
}

/// An upload received as the `Records` envelope's JSON. `Err(Ok(_))` is JSON that does
/// not fit the schema (with where), `Err(Err(_))` a request error.
pub fn upload_json(shape: &CustomShape, body: &[u8]) -> Result<UploadResponse, UploadJsonError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let records = DynamicMessage::deserialize(shape.envelope.records.clone(), &mut deserializer)
        .and_then(|records| deserializer.end().map(|()| records))
        .map_err(|err| UploadJsonError::Json(err.to_string()))?;
    acknowledge(&Envelope::unwrap(records)).map_err(UploadJsonError::Request)
}

/// Why a JSON upload was refused.
#[derive(Debug)]
pub enum UploadJsonError {
    /// Not JSON, or not the shape's canonical JSON (serde's message says where).
    Json(String),
    Request(RequestError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom_shape::inference::{RECORD, infer_proto};

    const SAMPLE: &str = r#"[{"id": 12345678901, "name": "lamp", "tags": ["a", "bb"], "price": 9.5},
        {"id": 2, "name": "desk", "tags": [], "price": 120.25}]"#;

    fn spec(count: u32) -> CustomSpec {
        let registry = ShapeRegistry::default();
        let proto = infer_proto(SAMPLE).unwrap();
        let shape = registry.add(&proto, RECORD, Some(SAMPLE)).unwrap();
        CustomSpec::new(&registry, &shape.id, count, 4).unwrap()
    }

    #[test]
    fn the_json_is_serdes_json_of_the_whole_envelope() {
        let spec = spec(25);
        let envelope = spec.shape.envelope.wrap(spec.generator().take(25));
        assert_eq!(
            String::from_utf8(spec.json(usize::MAX).unwrap()).unwrap(),
            serde_json::to_string(&envelope).unwrap()
        );
        // And the protobuf, record by record, is the envelope's.
        let mut wire = Vec::new();
        for bytes in spec.protobuf(usize::MAX).unwrap() {
            prost::encoding::bytes::encode(1, &bytes, &mut wire);
        }
        assert_eq!(wire, envelope.encode_to_vec());
    }

    #[test]
    fn an_upload_in_either_encoding_gets_the_same_checksum() {
        let thirty = spec(30);
        let by_protobuf =
            upload_protobuf(&thirty.shape, thirty.protobuf(usize::MAX).unwrap()).unwrap();
        let by_json = upload_json(&thirty.shape, &thirty.json(usize::MAX).unwrap()).unwrap();
        assert_eq!(by_protobuf, by_json);
        assert_eq!(by_protobuf.count, 30);
        let other = spec(29);
        assert_ne!(
            upload_protobuf(&other.shape, other.protobuf(usize::MAX).unwrap())
                .unwrap()
                .checksum,
            by_protobuf.checksum
        );
    }

    #[test]
    fn a_count_past_the_limit_is_refused_with_the_largest_that_fits() {
        let spec = spec(1_000);
        let json = spec.json(usize::MAX).unwrap();
        let limit = json.len() / 2;
        let RequestError::InvalidArgument(msg) = spec.json(limit).unwrap_err() else {
            panic!("wrong kind")
        };
        let fits: u32 = msg.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(msg.contains("in JSON"), "{msg}");
        let smaller = CustomSpec {
            count: fits,
            ..spec.clone()
        };
        assert!(smaller.json(limit).is_ok(), "{fits} should fit");
        let one_more = CustomSpec {
            count: fits + 1,
            ..spec.clone()
        };
        assert!(one_more.json(limit).is_err());
        let pb_total: usize = spec
            .protobuf(usize::MAX)
            .unwrap()
            .iter()
            .map(|b| b.len() + 2)
            .sum();
        assert!(
            spec.protobuf(pb_total / 3)
                .unwrap_err()
                .to_string()
                .contains("in protobuf")
        );
    }

    #[test]
    fn registering_infers_or_compiles_and_describes_the_sizes() {
        let registry = ShapeRegistry::default();
        let by_sample = register(
            &registry,
            &ShapeInput {
                sample: Some(SAMPLE.to_owned()),
                ..ShapeInput::default()
            },
        )
        .unwrap();
        assert!(
            by_sample.proto.contains("message Record"),
            "{}",
            by_sample.proto
        );
        assert_eq!(by_sample.message, "lab.custom.v1.Record");
        // Two records of 62 and 47 bytes, compact.
        assert_eq!(by_sample.sample_json_bytes_per_record, Some(54.5));
        assert!(by_sample.protobuf_bytes_per_record < by_sample.json_bytes_per_record);
        assert!((1..=MAX_RECORDS).contains(&by_sample.max_count));
        let by_proto = register(
            &registry,
            &ShapeInput {
                proto: Some("syntax = \"proto3\";\nmessage P { bool b = 1; }".to_owned()),
                message: Some("P".to_owned()),
                sample: None,
            },
        )
        .unwrap();
        assert_eq!(by_proto.sample_json_bytes_per_record, None);
        assert_eq!(registry.len(), 2);
        for (input, expected) in [
            (ShapeInput::default(), "send a JSON `sample`"),
            (
                ShapeInput {
                    sample: Some("{\"a\": ".to_owned()),
                    ..ShapeInput::default()
                },
                "the sample is not JSON",
            ),
            (
                ShapeInput {
                    proto: Some("message".to_owned()),
                    ..ShapeInput::default()
                },
                "name the message",
            ),
            (
                ShapeInput {
                    proto: Some("syntax = \"proto3\";\nmessage P {".to_owned()),
                    message: Some("P".to_owned()),
                    ..ShapeInput::default()
                },
                "custom.proto:2:",
            ),
        ] {
            let err = register(&registry, &input).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        assert_eq!(registry.len(), 2);
    }

    #[test]
    fn bad_uploads_and_unknown_shapes_say_what_is_wrong() {
        let spec = spec(3);
        let UploadJsonError::Json(msg) =
            upload_json(&spec.shape, br#"{"records":[{"nope":1}]}"#).unwrap_err()
        else {
            panic!("wrong kind")
        };
        assert!(msg.contains("nope"), "{msg}");
        let err = upload_protobuf(&spec.shape, vec![vec![0xff, 0xff]]).unwrap_err();
        assert!(err.to_string().starts_with("record 0 is not a"), "{err}");
        let err = find(&ShapeRegistry::default(), "00").unwrap_err();
        assert!(matches!(err, RequestError::UnknownShape(_)));
        assert!(err.to_string().contains("Register it again"), "{err}");
    }
}
