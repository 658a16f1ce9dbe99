//! Records of a custom shape, generated from its schema and its sample's profile
//! (issue 22): deterministic for a seed, as the built-in shapes are, with values like
//! the sample's (string lengths, number ranges, repeated lengths, presence of optional
//! fields, the enum values seen) so that sizes are realistic. Without a sample (a
//! pasted `.proto` alone), modest defaults. Pure: unit-tested natively.

use std::sync::Arc;

use bytes::Bytes;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use super::sample_profile::{FieldProfile, SampleProfile};

/// Message fields nested deeper than this are left unset: a recursive schema's records
/// end there.
pub const MAX_DEPTH: usize = 8;
/// Messages in one record, nested ones included: past this, message fields are left
/// unset. A schema whose messages repeat themselves several times per level would
/// otherwise grow a single record exponentially before any size limit could see it.
pub const MAX_MESSAGES_PER_RECORD: usize = 1_000;
/// Roughly the bytes of one record (each value counted by its size): past this, fields
/// are left unset. A schema with thousands of repeated fields, or a sample with long
/// lists and strings, would otherwise make records of many megabytes each.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Without a sample: strings of 4 to 16 bytes, numbers 0 to 1,000, 1 to 3 items.
const DEFAULT_LENGTH: (usize, usize) = (4, 16);
const DEFAULT_NUMBER: (f64, f64) = (0.0, 1_000.0);
const DEFAULT_ITEMS: (usize, usize) = (1, 3);
/// Characters of generated strings.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// An endless, deterministic source of records of one custom shape (owning what it
/// needs, so that a stream can keep one).
pub struct CustomGenerator {
    record: MessageDescriptor,
    profile: Arc<SampleProfile>,
    rng: ChaCha8Rng,
    /// Nested messages the current record may still have.
    messages_left: usize,
    /// Bytes (roughly) the current record may still grow by.
    bytes_left: usize,
}

impl CustomGenerator {
    pub fn new(record: MessageDescriptor, profile: Arc<SampleProfile>, seed: u64) -> Self {
        Self {
            record,
            profile,
            rng: ChaCha8Rng::seed_from_u64(seed),
            messages_left: 0,
            bytes_left: 0,
        }
    }

    /// The next record.
    pub fn next_record(&mut self) -> DynamicMessage {
        self.messages_left = MAX_MESSAGES_PER_RECORD;
        self.bytes_left = MAX_RECORD_BYTES;
        let record = self.record.clone();
        self.message(&record, 0)
    }

    /// The next `count` records.
    pub fn take(&mut self, count: usize) -> Vec<DynamicMessage> {
        (0..count).map(|_| self.next_record()).collect()
    }

    fn unit(&mut self) -> f64 {
        // 53 random bits fill an f64 mantissa exactly.
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, (low, high): (usize, usize)) -> usize {
        low + (self.rng.next_u64() % (high - low + 1) as u64) as usize
    }

    fn message(&mut self, message: &MessageDescriptor, depth: usize) -> DynamicMessage {
        let mut out = DynamicMessage::new(message.clone());
        // Borrowed from this handle, not from `self` (whose generator state changes
        // meanwhile): no copy of a field's profile per field and record.
        let profiles = Arc::clone(&self.profile);
        for field in message.fields() {
            let profile: Option<&FieldProfile> = profiles.field(&field);
            // A field the sample sometimes lacked is there as often; one it never had
            // a value for stays unset, as in the sample.
            if let Some(p) = profile
                && p.occurrences > 0
                && self.unit() >= f64::from(p.present) / f64::from(p.occurrences)
            {
                continue;
            }
            if field.is_map() {
                // Left empty: a map's encoding order is not fixed, and records must be
                // the same bytes for a seed.
                continue;
            }
            let value = if field.is_list() {
                let items = profile.and_then(|p| p.items).unwrap_or(DEFAULT_ITEMS);
                let count = self.between(items);
                let values: Vec<Value> = (0..count)
                    .filter_map(|_| self.value(&field, profile, depth))
                    .collect();
                Value::List(values)
            } else {
                match self.value(&field, profile, depth) {
                    Some(value) => value,
                    None => continue,
                }
            };
            out.set_field(&field, value);
        }
        out
    }

    fn value(
        &mut self,
        field: &FieldDescriptor,
        profile: Option<&FieldProfile>,
        depth: usize,
    ) -> Option<Value> {
        // Each value costs its size (a scalar 8 bytes): once the record's budget is
        // spent, the remaining fields and items stay unset.
        self.bytes_left = self.bytes_left.checked_sub(8)?;
        let (low, high) = profile.and_then(|p| p.number).unwrap_or(DEFAULT_NUMBER);
        let number = low + (high - low) * self.unit();
        let integer = number.round();
        Some(match field.kind() {
            Kind::Bool => Value::Bool(self.rng.next_u32() & 1 == 1),
            Kind::Double => Value::F64(number),
            Kind::Float => Value::F32(number as f32),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(integer as i32),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(integer as i64),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(integer.max(0.0) as u32),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(integer.max(0.0) as u64),
            Kind::String => Value::String(self.text(profile)),
            Kind::Bytes => Value::Bytes(Bytes::from(self.text(profile).into_bytes())),
            Kind::Enum(enumeration) => {
                let pick = self.rng.next_u64() as usize;
                let number = match profile.map(|p| p.enum_values.as_slice()) {
                    Some(seen) if !seen.is_empty() => seen[pick % seen.len()],
                    _ => enumeration
                        .values()
                        .nth(pick % enumeration.values().len().max(1))
                        .map_or(0, |v| v.number()),
                };
                Value::EnumNumber(number)
            }
            // `Any` needs a type URL its own pool resolves: no record can make one up.
            Kind::Message(message) if message.full_name() == "google.protobuf.Any" => return None,
            Kind::Message(message) => {
                if depth >= MAX_DEPTH || self.messages_left == 0 {
                    return None;
                }
                self.messages_left -= 1;
                Value::Message(self.message(&message, depth + 1))
            }
        })
    }

    fn text(&mut self, profile: Option<&FieldProfile>) -> String {
        let length = self
            .between(profile.and_then(|p| p.length).unwrap_or(DEFAULT_LENGTH))
            .min(self.bytes_left);
        self.bytes_left -= length;
        (0..length)
            .map(|_| char::from(ALPHABET[self.rng.next_u32() as usize % ALPHABET.len()]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::custom_shape::inference::{RECORD, infer_proto};
    use crate::custom_shape::schema::compile;

    const SAMPLE: &str = r#"[
        {"id": 5, "name": "ab", "score": 0.25, "tags": ["x", "yyy"], "geo": {"lat": -3.5}},
        {"id": 900, "name": "abcdef", "score": 0.75, "tags": [], "note": "n"}
    ]"#;

    fn records(seed: u64, count: usize) -> Vec<DynamicMessage> {
        let record = compile(&infer_proto(SAMPLE).unwrap(), RECORD).unwrap();
        let profile = Arc::new(SampleProfile::of(SAMPLE, &record));
        CustomGenerator::new(record, profile, seed).take(count)
    }

    fn bytes(records: &[DynamicMessage]) -> Vec<Vec<u8>> {
        records.iter().map(Message::encode_to_vec).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_others() {
        assert_eq!(bytes(&records(7, 50)), bytes(&records(7, 50)));
        assert_ne!(bytes(&records(7, 50)), bytes(&records(8, 50)));
    }

    #[test]
    fn values_stay_within_what_the_sample_shows() {
        for record in records(1, 500) {
            let id = record.get_field_by_name("id").unwrap().as_i32().unwrap();
            assert!((5..=900).contains(&id), "{id}");
            let name = record.get_field_by_name("name").unwrap();
            assert!((2..=6).contains(&name.as_str().unwrap().len()), "{name:?}");
            let score = record.get_field_by_name("score").unwrap().as_f64().unwrap();
            assert!((0.25..=0.75).contains(&score), "{score}");
            let tags = record.get_field_by_name("tags").unwrap();
            assert!(tags.as_list().unwrap().len() <= 2, "{tags:?}");
        }
    }

    #[test]
    fn optional_fields_appear_about_as_often_as_in_the_sample() {
        let count = 2_000;
        let with_note = records(3, count)
            .iter()
            .filter(|r| r.has_field_by_name("note"))
            .count();
        // Half the sample's records had a note.
        assert!((800..=1_200).contains(&with_note), "{with_note} of {count}");
    }

    #[test]
    fn a_recursive_schema_ends_at_the_depth_limit() {
        let proto = "syntax = \"proto3\";\nmessage Node { string name = 1; Node child = 2; }\n";
        let node = compile(proto, "Node").unwrap();
        let record = CustomGenerator::new(node, Arc::default(), 1).next_record();
        let mut depth = 0;
        let mut current = record;
        while let Some(child) = current
            .get_field_by_name("child")
            .and_then(|c| c.as_message().cloned())
            .filter(|_| current.has_field_by_name("child"))
        {
            depth += 1;
            current = child;
        }
        assert_eq!(depth, MAX_DEPTH);
    }

    #[test]
    fn a_schema_that_fans_out_stays_within_its_message_budget() {
        let proto = "syntax = \"proto3\";\nmessage N { repeated N a = 1; repeated N b = 2; \
                     repeated N c = 3; repeated N d = 4; string s = 5; }\n";
        let node = compile(proto, "N").unwrap();
        fn count(message: &DynamicMessage) -> usize {
            1 + message
                .fields()
                .filter_map(|(_, value)| value.as_list())
                .flatten()
                .filter_map(Value::as_message)
                .map(count)
                .sum::<usize>()
        }
        let mut generator = CustomGenerator::new(node, Arc::default(), 5);
        for _ in 0..3 {
            let messages = count(&generator.next_record());
            assert!(
                (100..=MAX_MESSAGES_PER_RECORD + 1).contains(&messages),
                "{messages}"
            );
        }
    }

    #[test]
    fn a_record_stays_within_its_byte_budget_and_any_stays_unset() {
        // The sample's list of 60 strings of 20,000 bytes would make 1.2 MB records.
        let proto = "syntax = \"proto3\";\nmessage W { repeated string s = 1; }\n";
        let wide = compile(proto, "W").unwrap();
        let strings = vec![format!("\"{}\"", "y".repeat(20_000)); 60].join(",");
        let profile = Arc::new(SampleProfile::of(
            &format!(r#"{{"s": [{strings}]}}"#),
            &wide,
        ));
        let mut generator = CustomGenerator::new(wide, profile, 9);
        let bytes = generator.next_record().encoded_len();
        assert!(
            (MAX_RECORD_BYTES * 9 / 10..=MAX_RECORD_BYTES + 1_000).contains(&bytes),
            "{bytes}"
        );
        let any = "syntax = \"proto3\";\nimport \"google/protobuf/any.proto\";\n\
                   message A { google.protobuf.Any a = 1; string s = 2; }\n";
        let record =
            CustomGenerator::new(compile(any, "A").unwrap(), Arc::default(), 1).next_record();
        assert!(!record.has_field_by_name("a"), "an Any stays unset");
        assert!(serde_json::to_string(&record).is_ok());
    }

    #[test]
    fn enums_use_the_values_seen_and_a_proto_alone_gets_defaults() {
        let proto = "syntax = \"proto3\";\nenum Level { LEVEL_UNSPECIFIED = 0; INFO = 1; WARN = 2; }\n\
                     message Entry { Level level = 1; string text = 2; repeated int64 ids = 3; }\n";
        let entry = compile(proto, "Entry").unwrap();
        let profile = Arc::new(SampleProfile::of(
            r#"[{"level": "WARN"}, {"level": "INFO"}]"#,
            &entry,
        ));
        for record in CustomGenerator::new(entry.clone(), profile, 2).take(200) {
            let level = record
                .get_field_by_name("level")
                .unwrap()
                .as_enum_number()
                .unwrap();
            assert!([1, 2].contains(&level), "{level}");
        }
        for record in CustomGenerator::new(entry, Arc::default(), 2).take(200) {
            let text = record.get_field_by_name("text").unwrap();
            assert!((4..=16).contains(&text.as_str().unwrap().len()));
            let ids = record.get_field_by_name("ids").unwrap();
            assert!((1..=3).contains(&ids.as_list().unwrap().len()));
        }
    }
}
