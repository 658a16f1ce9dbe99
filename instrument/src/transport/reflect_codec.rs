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
