//! The messages around a custom shape's (issue 22) records, as a service or a REST API built from
//! the person's schema would declare them: `Records { repeated R records = 1; }` (a
//! fetch's response, an upload's request) and `StreamItem { uint64 seq = 1; R record =
//! 2; }` (one streamed message). They are added to the record's own descriptor pool,
//! so the backend and the page's worker encode and decode whole responses by
//! reflection, in protobuf and in the proto3 canonical JSON mapping alike.

use prost::Message;
use prost_reflect::prost_types::field_descriptor_proto::{Label, Type};
use prost_reflect::prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};

use crate::contract::custom::{ENVELOPE_PACKAGE, RECORDS_MESSAGE, STREAM_ITEM_MESSAGE};

/// The file the envelope is declared in.
const ENVELOPE_FILE: &str = "lab_custom_envelope.proto";

/// A custom record's envelope messages, in one pool with the record.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub records: MessageDescriptor,
    pub stream_item: MessageDescriptor,
}

fn field(
    name: &str,
    number: i32,
    label: Label,
    kind: Type,
    type_name: Option<String>,
) -> FieldDescriptorProto {
    FieldDescriptorProto {
        name: Some(name.to_owned()),
        json_name: Some(name.to_owned()),
        number: Some(number),
        label: Some(label as i32),
        r#type: Some(kind as i32),
        type_name,
        ..Default::default()
    }
}

impl Envelope {
    /// The envelope of `record`; an error when the record's pool cannot take it (a
    /// schema declaring the envelope's own package).
    pub fn around(record: &MessageDescriptor) -> Result<Self, String> {
        let record_type = Some(format!(".{}", record.full_name()));
        let file = FileDescriptorProto {
            name: Some(ENVELOPE_FILE.to_owned()),
            package: Some(ENVELOPE_PACKAGE.to_owned()),
            dependency: vec![record.parent_file().name().to_owned()],
            syntax: Some("proto3".to_owned()),
            message_type: vec![
                DescriptorProto {
                    name: Some("Records".to_owned()),
                    field: vec![field(
                        "records",
                        1,
                        Label::Repeated,
                        Type::Message,
                        record_type.clone(),
                    )],
                    ..Default::default()
                },
                DescriptorProto {
                    name: Some("StreamItem".to_owned()),
                    field: vec![
                        field("seq", 1, Label::Optional, Type::Uint64, None),
                        field("record", 2, Label::Optional, Type::Message, record_type),
                    ],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let mut pool = record.parent_pool().clone();
        pool.add_file_descriptor_proto(file).map_err(|err| {
            format!("the package {ENVELOPE_PACKAGE} is the lab's own ({err}): rename yours")
        })?;
        let get = |name: &str| {
            pool.get_message_by_name(name)
                .expect("the envelope file was just added")
        };
        Ok(Self {
            records: get(RECORDS_MESSAGE),
            stream_item: get(STREAM_ITEM_MESSAGE),
        })
    }

    /// Every file of the pool (the record's, its imports, the envelope) as an encoded
    /// `FileDescriptorSet`: what the page's worker decodes responses with.
    pub fn descriptor_set(&self) -> Vec<u8> {
        FileDescriptorSet {
            file: self
                .records
                .parent_pool()
                .file_descriptor_protos()
                .cloned()
                .collect(),
        }
        .encode_to_vec()
    }

    /// The record message the envelope carries.
    pub fn record(&self) -> MessageDescriptor {
        self.records
            .get_field(1)
            .and_then(|field| field.kind().as_message().cloned())
            .expect("Records.records is a message field")
    }

    /// `Records` holding `records`.
    pub fn wrap(&self, records: Vec<DynamicMessage>) -> DynamicMessage {
        let mut message = DynamicMessage::new(self.records.clone());
        message.set_field_by_number(
            1,
            Value::List(records.into_iter().map(Value::Message).collect()),
        );
        message
    }

    /// The records of a `Records` message.
    pub fn unwrap(records: DynamicMessage) -> Vec<DynamicMessage> {
        match records.get_field_by_number(1).map(|v| v.into_owned()) {
            Some(Value::List(items)) => items
                .into_iter()
                .filter_map(|item| match item {
                    Value::Message(message) => Some(message),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The envelope inside a pool decoded from [`Self::descriptor_set`].
    pub fn from_descriptor_set(bytes: &[u8]) -> Result<Self, String> {
        let pool = DescriptorPool::decode(bytes).map_err(|err| err.to_string())?;
        let get = |name: &str| {
            pool.get_message_by_name(name)
                .ok_or_else(|| format!("the descriptors have no {name}"))
        };
        Ok(Self {
            records: get(RECORDS_MESSAGE)?,
            stream_item: get(STREAM_ITEM_MESSAGE)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `source`'s message `name` (the backend compiles people's schemas the same way).
    fn compile(source: &str, name: &str) -> MessageDescriptor {
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("lab-envelope-{}-{call}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("custom.proto"), source).unwrap();
        let fds = protox::compile(["custom.proto"], [&dir]).unwrap();
        let pool = DescriptorPool::from_file_descriptor_set(fds).unwrap();
        pool.all_messages().find(|m| m.name() == name).unwrap()
    }

    const PROTO: &str =
        "syntax = \"proto3\";\npackage shop;\nmessage Item { int64 id = 1; string name = 2; }\n";

    #[test]
    fn the_envelope_encodes_as_repeated_records_of_field_one() {
        let item = compile(PROTO, "Item");
        let envelope = Envelope::around(&item).unwrap();
        let mut record = DynamicMessage::new(item.clone());
        record.set_field_by_name("id", Value::I64(7));
        let mut records = DynamicMessage::new(envelope.records.clone());
        records.set_field_by_name(
            "records",
            Value::List(vec![
                Value::Message(record.clone()),
                Value::Message(DynamicMessage::new(item)),
            ]),
        );
        // Field 1, length-delimited, the record's bytes; then the empty record, still there.
        let mut expected = vec![0x0a, record.encoded_len() as u8];
        expected.extend(record.encode_to_vec());
        expected.extend([0x0a, 0x00]);
        assert_eq!(records.encode_to_vec(), expected);
        assert_eq!(
            serde_json::to_string(&records).unwrap(),
            r#"{"records":[{"id":"7"},{}]}"#
        );
    }

    #[test]
    fn the_descriptor_set_round_trips() {
        let envelope = Envelope::around(&compile(PROTO, "Item")).unwrap();
        let again = Envelope::from_descriptor_set(&envelope.descriptor_set()).unwrap();
        assert_eq!(again.stream_item.full_name(), STREAM_ITEM_MESSAGE);
        assert_eq!(
            again
                .records
                .get_field_by_name("records")
                .unwrap()
                .kind()
                .as_message()
                .unwrap()
                .full_name(),
            "shop.Item"
        );
    }

    #[test]
    fn a_schema_in_the_envelopes_package_is_refused() {
        let proto = "syntax = \"proto3\";\npackage lab.custom.envelope;\nmessage Records { string s = 1; }\n";
        let err = Envelope::around(&compile(proto, "Records")).unwrap_err();
        assert!(err.to_string().contains("rename yours"), "{err}");
    }
}
