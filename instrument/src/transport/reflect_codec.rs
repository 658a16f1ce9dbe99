//! The custom shapes' codec by reflection (feature `custom-shapes`): the shape's
//! descriptors from the backend, with the envelope messages a service or REST API built
//! from the schema would send (`lab_proto::custom_envelope`), decoded and encoded as
//! `DynamicMessage`s — protobuf with prost, JSON with prost-reflect's canonical serde.

use lab_proto::RecordDigest;
use lab_proto::custom_envelope::Envelope;
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor, Value};

use super::TransportError;
use super::custom_call::{self, CustomCodec, CustomWork, DecodedRecords};
use crate::run::shape_choice::CustomShapeId;

/// A custom shape's envelope, and the run's records when it uploads.
pub struct ReflectCodec {
    envelope: Envelope,
    upload: Option<DynamicMessage>,
}

impl ReflectCodec {
    /// Loads the shape `id`'s descriptors (and, for an upload, `count` records of `seed`).
    pub async fn load(
        origin: &str,
        id: CustomShapeId,
        work: CustomWork,
        count: u32,
        seed: u64,
    ) -> Result<Self, TransportError> {
        let bytes = custom_call::descriptors(origin, id).await?;
        let envelope = Envelope::from_descriptor_set(&bytes).map_err(TransportError::Decode)?;
        let mut codec = Self {
            envelope,
            upload: None,
        };
        if work == CustomWork::Upload {
            let json = custom_call::records_json(origin, id, count, seed).await?;
            let records =
                from_json(&codec.envelope.records, &json).map_err(TransportError::Decode)?;
            codec.upload = Some(records);
        }
        Ok(codec)
    }

    /// A codec for `envelope` (tests).
    pub fn new(envelope: Envelope, upload: Option<DynamicMessage>) -> Self {
        Self { envelope, upload }
    }
}

fn from_json(descriptor: &MessageDescriptor, bytes: &[u8]) -> Result<DynamicMessage, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let message = DynamicMessage::deserialize(descriptor.clone(), &mut deserializer)
        .map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(message)
}

fn decode(
    descriptor: &MessageDescriptor,
    bytes: &[u8],
    json: bool,
) -> Result<DynamicMessage, String> {
    if json {
        from_json(descriptor, bytes)
    } else {
        DynamicMessage::decode(descriptor.clone(), bytes).map_err(|e| e.to_string())
    }
}

/// A `Records` message.
struct Records(DynamicMessage);

impl DecodedRecords for Records {
    fn count(&self) -> u64 {
        self.0
            .get_field_by_number(1)
            .as_deref()
            .and_then(Value::as_list)
            .map_or(0, |list| list.len() as u64)
    }

    fn digest(&self, digest: &mut RecordDigest) {
        let value = self.0.get_field_by_number(1);
        for record in value.as_deref().and_then(Value::as_list).unwrap_or(&[]) {
            if let Some(record) = record.as_message() {
                digest.add_message(record);
            }
        }
    }
}

/// A `StreamItem` message.
struct Item(DynamicMessage);

impl DecodedRecords for Item {
    fn count(&self) -> u64 {
        1
    }

    fn digest(&self, digest: &mut RecordDigest) {
        if let Some(record) = self
            .0
            .get_field_by_number(2)
            .as_deref()
            .and_then(Value::as_message)
        {
            digest.add_message(record);
        }
    }
}

impl CustomCodec for ReflectCodec {
    fn records(&self, bytes: &[u8], json: bool) -> Result<Box<dyn DecodedRecords>, String> {
        Ok(Box::new(Records(decode(
            &self.envelope.records,
            bytes,
            json,
        )?)))
    }

    fn item(&self, bytes: &[u8], json: bool) -> Result<Box<dyn DecodedRecords>, String> {
        Ok(Box::new(Item(decode(
            &self.envelope.stream_item,
            bytes,
            json,
        )?)))
    }

    fn upload_protobuf(&self) -> Vec<u8> {
        self.upload
            .as_ref()
            .map(Message::encode_to_vec)
            .unwrap_or_default()
    }

    fn upload_json(&self) -> String {
        self.upload
            .as_ref()
            .and_then(|records| serde_json::to_string(records).ok())
            .unwrap_or_else(|| "{}".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use prost_reflect::DescriptorPool;

    use super::*;

    const PROTO: &str = "syntax = \"proto3\";\npackage shop;\nmessage Item { int64 id = 1; string name = 2; repeated uint32 tags = 3; }\n";

    fn codec() -> ReflectCodec {
        let dir = std::env::temp_dir().join(format!("lab-codec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("custom.proto"), PROTO).unwrap();
        let fds = protox::compile(["custom.proto"], [&dir]).unwrap();
        let item = DescriptorPool::from_file_descriptor_set(fds)
            .unwrap()
            .get_message_by_name("shop.Item")
            .unwrap();
        // Through the bytes the backend serves, as the worker gets them.
        let envelope =
            Envelope::from_descriptor_set(&Envelope::around(&item).unwrap().descriptor_set())
                .unwrap();
        let mut records = Vec::new();
        for id in [7_i64, 1 << 40] {
            let mut record = DynamicMessage::new(envelope.record());
            record.set_field_by_name("id", Value::I64(id));
            record.set_field_by_name("name", Value::String(format!("n{id}")));
            record.set_field_by_name("tags", Value::List(vec![Value::U32(1), Value::U32(2)]));
            records.push(record);
        }
        let upload = envelope.wrap(records);
        ReflectCodec::new(envelope, Some(upload))
    }

    fn checksum(records: &dyn DecodedRecords) -> u32 {
        let mut digest = RecordDigest::default();
        records.digest(&mut digest);
        digest.finish()
    }

    #[test]
    fn both_encodings_decode_to_the_same_records() {
        let codec = codec();
        let protobuf = codec.records(&codec.upload_protobuf(), false).unwrap();
        let json = codec.records(codec.upload_json().as_bytes(), true).unwrap();
        assert_eq!((protobuf.count(), json.count()), (2, 2));
        assert_eq!(checksum(protobuf.as_ref()), checksum(json.as_ref()));
        assert!(
            codec.upload_json().contains(r#""id":"1099511627776""#),
            "{}",
            codec.upload_json()
        );
    }

    #[test]
    fn a_streamed_item_is_one_record_and_bad_input_says_why() {
        let codec = codec();
        let item = codec
            .item(br#"{"seq":"1","record":{"id":"3","name":"x"}}"#, true)
            .unwrap();
        assert_eq!(item.count(), 1);
        assert_ne!(checksum(item.as_ref()), RecordDigest::default().finish());
        let err = codec
            .records(br#"{"records":[{"nope":1}]}"#, true)
            .err()
            .unwrap();
        assert!(err.contains("nope"), "{err}");
        assert!(codec.records(&[0xff, 0xff, 0xff], false).is_err());
    }
}
