//! What a JSON sample says about each field of a custom shape's schema, so that the
//! generated records look like the sample (issue 22): the lengths of its strings, the
//! ranges of its numbers, how many items its repeated fields hold, how often an
//! optional field is there, the enum values it uses. Read by walking the sample
//! alongside the message descriptor; a key the schema does not have is skipped (the
//! person may have edited the schema). Pure: unit-tested natively.

use std::collections::HashMap;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::Value;

/// The sample's values of one field (fields are named by their full name,
/// `package.Message.field`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldProfile {
    /// In how many of its message's occurrences the field had a value.
    pub present: u32,
    /// Its message's occurrences.
    pub occurrences: u32,
    /// Smallest and largest number seen.
    pub number: Option<(f64, f64)>,
    /// Shortest and longest string seen, in bytes.
    pub length: Option<(usize, usize)>,
    /// Fewest and most items of a repeated field.
    pub items: Option<(usize, usize)>,
    /// The enum values seen, by number, in the order first seen.
    pub enum_values: Vec<i32>,
}

fn widen<T: PartialOrd + Copy>(range: Option<(T, T)>, value: T) -> Option<(T, T)> {
    Some(match range {
        None => (value, value),
        Some((low, high)) => (
            if value < low { value } else { low },
            if value > high { value } else { high },
        ),
    })
}

/// Every field's profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleProfile {
    fields: HashMap<String, FieldProfile>,
}

impl SampleProfile {
    /// The profile of `sample` (a record or an array of records of `record`). A sample
    /// that is not JSON gives an empty profile: the generator's defaults then apply.
    pub fn of(sample: &str, record: &MessageDescriptor) -> Self {
        let mut profile = Self::default();
        match serde_json::from_str::<Value>(sample) {
            Ok(Value::Array(items)) => {
                for item in &items {
                    profile.add_message(record, item, 0);
                }
            }
            Ok(value) => profile.add_message(record, &value, 0),
            Err(_) => {}
        }
        profile
    }

    /// The sample's values of `field`, if it had any.
    pub fn field(&self, field: &FieldDescriptor) -> Option<&FieldProfile> {
        self.fields.get(field.full_name())
    }

    fn add_message(&mut self, message: &MessageDescriptor, value: &Value, depth: usize) {
        let Value::Object(object) = value else {
            return;
        };
        // As deep as the schema's inference allows; a recursive schema stops there.
        if depth > super::inference::MAX_DEPTH {
            return;
        }
        for field in message.fields() {
            let value = object
                .get(field.json_name())
                .or_else(|| object.get(field.name()));
            let entry = self.fields.entry(field.full_name().to_owned()).or_default();
            entry.occurrences += 1;
            let Some(value) = value.filter(|v| !v.is_null()) else {
                continue;
            };
            entry.present += 1;
            let items: Vec<&Value> = match value {
                Value::Array(items) if field.is_list() => {
                    entry.items = widen(entry.items, items.len());
                    items.iter().collect()
                }
                other => vec![other],
            };
            for item in items {
                self.add_value(&field, item, depth);
            }
        }
    }

    fn add_value(&mut self, field: &FieldDescriptor, value: &Value, depth: usize) {
        if let Kind::Message(message) = field.kind() {
            self.add_message(&message, value, depth + 1);
            return;
        }
        let entry = self.fields.entry(field.full_name().to_owned()).or_default();
        match (field.kind(), value) {
            (Kind::Enum(enumeration), Value::String(name)) => {
                if let Some(v) = enumeration.get_value_by_name(name)
                    && !entry.enum_values.contains(&v.number())
                {
                    entry.enum_values.push(v.number());
                }
            }
            (Kind::Enum(_), Value::Number(n)) => {
                if let Some(n) = n.as_i64().and_then(|n| i32::try_from(n).ok())
                    && !entry.enum_values.contains(&n)
                {
                    entry.enum_values.push(n);
                }
            }
            (_, Value::String(text)) => {
                entry.length = widen(entry.length, text.len());
                // int64 and friends travel as strings in JSON.
                if let Ok(number) = text.parse::<f64>() {
                    entry.number = widen(entry.number, number);
                }
            }
            (_, Value::Number(number)) => {
                if let Some(number) = number.as_f64() {
                    entry.number = widen(entry.number, number);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom_shape::inference::{RECORD, infer_proto};
    use crate::custom_shape::schema::compile;

    const SAMPLE: &str = r#"[
        {"id": 5, "name": "ab", "tags": ["x", "yyy"], "geo": {"lat": -3.5}},
        {"id": 900, "name": "abcdef", "tags": [], "note": "n"}
    ]"#;

    fn profile() -> (SampleProfile, MessageDescriptor) {
        let record = compile(&infer_proto(SAMPLE).unwrap(), RECORD).unwrap();
        (SampleProfile::of(SAMPLE, &record), record)
    }

    fn field<'a>(
        profile: &'a SampleProfile,
        message: &MessageDescriptor,
        name: &str,
    ) -> &'a FieldProfile {
        profile
            .field(&message.get_field_by_name(name).unwrap())
            .unwrap_or_else(|| panic!("{name} profiled"))
    }

    #[test]
    fn numbers_strings_and_repeated_fields_keep_their_ranges() {
        let (profile, record) = profile();
        assert_eq!(field(&profile, &record, "id").number, Some((5.0, 900.0)));
        assert_eq!(field(&profile, &record, "name").length, Some((2, 6)));
        let tags = field(&profile, &record, "tags");
        assert_eq!((tags.items, tags.length), (Some((0, 2)), Some((1, 3))));
        let note = field(&profile, &record, "note");
        assert_eq!((note.present, note.occurrences), (1, 2));
    }

    #[test]
    fn nested_messages_are_profiled_under_their_own_fields() {
        let (profile, record) = profile();
        let geo = record
            .get_field_by_name("geo")
            .and_then(|f| f.kind().as_message().cloned())
            .unwrap();
        assert_eq!(field(&profile, &geo, "lat").number, Some((-3.5, -3.5)));
    }

    #[test]
    fn enum_values_are_kept_by_number_and_unknown_keys_skipped() {
        let proto = "syntax = \"proto3\";\nenum Level { LEVEL_UNSPECIFIED = 0; INFO = 1; WARN = 2; }\n\
                     message Entry { Level level = 1; string text = 2; }\n";
        let entry = compile(proto, "Entry").unwrap();
        let profile = SampleProfile::of(
            r#"[{"level": "WARN", "text": "a", "extra": 1}, {"level": 1}, {"level": "NOPE"}]"#,
            &entry,
        );
        assert_eq!(field(&profile, &entry, "level").enum_values, vec![2, 1]);
        assert!(profile.fields.keys().all(|k| !k.contains("extra")));
        assert_eq!(
            SampleProfile::of("not json", &entry),
            SampleProfile::default()
        );
    }
}
