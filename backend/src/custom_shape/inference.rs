//! A proto3 schema inferred from a JSON sample (issue 22): one record, or an array of a
//! few, becomes the message `Record` and a message per nested object; the person then
//! corrects it on the page (an id that is really int64, a string that is an enum).
//!
//! What each JSON value becomes: `true`/`false` → `bool`; an integer → `int32`, or
//! `int64`/`uint64` once a value does not fit; a number with a fraction or exponent
//! (or integers and such numbers mixed) → `double`; a string → `string`; an object →
//! a message named after its field; an array → `repeated` of its elements' type; a
//! `null`, or a field some records lack → `optional`. Field names are kept (a key that
//! is not a proto identifier is made one, and `json_name` keeps the sample's key), and
//! numbered in the order they first appear. Pure: no I/O, unit-tested natively.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::ordered_json::Json;

/// The largest sample accepted, in bytes.
pub const MAX_SAMPLE_BYTES: usize = 64 * 1024;
/// Objects nested deeper than this are refused.
pub const MAX_DEPTH: usize = 16;
/// Fields in all messages together.
pub const MAX_FIELDS: usize = 1_000;
/// The message a sample's record becomes.
pub const RECORD: &str = "Record";
/// The package of every inferred schema.
pub const PACKAGE: &str = "lab.custom.v1";

/// Why a sample has no schema, with where in the sample.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InferenceError {
    #[error("the sample is {0} bytes; the limit is {MAX_SAMPLE_BYTES}")]
    TooLarge(usize),
    #[error("the sample is not JSON: {message} at line {line}, column {column}")]
    NotJson {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("the sample must be a JSON object (one record) or an array of objects, not {0}")]
    NotRecords(&'static str),
    #[error("{path}: objects nested deeper than {MAX_DEPTH} levels")]
    TooDeep { path: String },
    #[error("the sample has more than {MAX_FIELDS} fields in all")]
    TooManyFields,
    #[error("{path}: {found} and {other} in the same field; proto3 needs one type per field")]
    MixedTypes {
        path: String,
        found: &'static str,
        other: &'static str,
    },
    #[error(
        "{path}: an array of arrays; proto3 has no nested repeated fields (wrap the inner \
         array in an object)"
    )]
    NestedArray { path: String },
}

/// A field's scalar or message type, as the sample shows it.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Bool,
    /// Integers, with the smallest and largest value seen.
    Integer {
        min: i128,
        max: i128,
    },
    Double,
    String,
    /// A nested object: the fields seen in any of its occurrences.
    Message(Box<Fields>),
    /// Only `null`, or only empty arrays: nothing says what it holds.
    Unknown,
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Bool => "a boolean",
            Kind::Integer { .. } => "an integer",
            Kind::Double => "a number",
            Kind::String => "a string",
            Kind::Message(_) => "an object",
            Kind::Unknown => "nothing",
        }
    }
}

/// One field: its type, whether it repeats, and in how many of its message's
/// occurrences it had a value.
#[derive(Debug, Clone, PartialEq)]
struct Field {
    key: String,
    kind: Kind,
    repeated: bool,
    present: usize,
}

/// A message's fields in the order they first appeared, and how often it occurred.
#[derive(Debug, Clone, Default, PartialEq)]
struct Fields {
    fields: Vec<Field>,
    occurrences: usize,
}

/// Everything the walk over the sample keeps.
struct Walk {
    fields: usize,
}

fn json_type(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

impl Walk {
    /// The kind of a non-array, non-null value.
    fn kind_of(&mut self, value: &Json, path: &str, depth: usize) -> Result<Kind, InferenceError> {
        Ok(match value {
            Json::Bool(_) => Kind::Bool,
            Json::Number(n) => match n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)) {
                Some(i) => Kind::Integer { min: i, max: i },
                None => Kind::Double,
            },
            Json::String(_) => Kind::String,
            Json::Object(object) => {
                let mut fields = Fields::default();
                self.add_object(&mut fields, object, path, depth + 1)?;
                Kind::Message(Box::new(fields))
            }
            Json::Null | Json::Array(_) => Kind::Unknown,
        })
    }

    /// Adds one occurrence of a message, `object`, to `into`.
    fn add_object(
        &mut self,
        into: &mut Fields,
        object: &[(String, Json)],
        path: &str,
        depth: usize,
    ) -> Result<(), InferenceError> {
        if depth > MAX_DEPTH {
            return Err(InferenceError::TooDeep {
                path: path.to_owned(),
            });
        }
        into.occurrences += 1;
        for (key, value) in object {
            let field_path = format!("{path}.{key}");
            let (kind, repeated, has_value) = match value {
                Json::Null => (Kind::Unknown, false, false),
                Json::Array(items) => {
                    let mut kind = Kind::Unknown;
                    for item in items {
                        let item_kind = match item {
                            Json::Array(_) => {
                                return Err(InferenceError::NestedArray { path: field_path });
                            }
                            Json::Null => continue,
                            other => self.kind_of(other, &field_path, depth)?,
                        };
                        kind = merge(kind, item_kind, &field_path)?;
                    }
                    (kind, true, true)
                }
                other => (self.kind_of(other, &field_path, depth)?, false, true),
            };
            match into.fields.iter_mut().find(|f| f.key == *key) {
                Some(field) => {
                    if field.repeated != repeated
                        && !matches!(value, Json::Null)
                        && field.present > 0
                    {
                        return Err(InferenceError::MixedTypes {
                            path: field_path,
                            found: if repeated {
                                "an array"
                            } else {
                                json_type(value)
                            },
                            other: if field.repeated {
                                "an array"
                            } else {
                                field.kind.name()
                            },
                        });
                    }
                    field.repeated |= repeated;
                    field.kind = merge(
                        std::mem::replace(&mut field.kind, Kind::Unknown),
                        kind,
                        &field_path,
                    )?;
                    field.present += usize::from(has_value);
                }
                None => {
                    self.fields += 1;
                    if self.fields > MAX_FIELDS {
                        return Err(InferenceError::TooManyFields);
                    }
                    into.fields.push(Field {
                        key: key.clone(),
                        kind,
                        repeated,
                        present: usize::from(has_value),
                    });
                }
            }
        }
        Ok(())
    }
}

/// One type for two sightings of a field: integers widen to a larger range or to
/// double, messages take the union of their fields; other mixes are refused.
fn merge(a: Kind, b: Kind, path: &str) -> Result<Kind, InferenceError> {
    Ok(match (a, b) {
        (Kind::Unknown, other) | (other, Kind::Unknown) => other,
        (Kind::Integer { min, max }, Kind::Integer { min: m, max: n }) => Kind::Integer {
            min: min.min(m),
            max: max.max(n),
        },
        (Kind::Integer { .. } | Kind::Double, Kind::Integer { .. } | Kind::Double) => Kind::Double,
        (Kind::Message(mut a), Kind::Message(b)) => {
            a.occurrences += b.occurrences;
            for field in b.fields {
                match a.fields.iter_mut().find(|f| f.key == field.key) {
                    Some(existing) => {
                        let kind = std::mem::replace(&mut existing.kind, Kind::Unknown);
                        existing.kind = merge(kind, field.kind, &format!("{path}.{}", field.key))?;
                        existing.present += field.present;
                        existing.repeated |= field.repeated;
                    }
                    None => a.fields.push(field),
                }
            }
            Kind::Message(a)
        }
        (a, b) if a == b => a,
        (a, b) => {
            return Err(InferenceError::MixedTypes {
                path: path.to_owned(),
                found: b.name(),
                other: a.name(),
            });
        }
    })
}

/// A proto identifier for a JSON key: letters, digits and `_`, not starting with a
/// digit.
fn identifier(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// The JSON name protobuf derives from a field name (lowerCamelCase at underscores).
fn default_json_name(field: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `user_address` → `UserAddress`; a key without a letter to start with gets a prefix
/// (`2fa` → `Nested2fa`).
fn message_name(key: &str) -> String {
    let name = pascal_case(key);
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name
    } else {
        format!("Nested{name}")
    }
}

fn pascal_case(key: &str) -> String {
    identifier(key)
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<String>()
}

/// The schema inferred from `sample`, as `.proto` source: `Record` first, then each
/// nested message.
pub fn infer_proto(sample: &str) -> Result<String, InferenceError> {
    if sample.len() > MAX_SAMPLE_BYTES {
        return Err(InferenceError::TooLarge(sample.len()));
    }
    let value: Json = serde_json::from_str(sample).map_err(|err| InferenceError::NotJson {
        message: err
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned(),
        line: err.line(),
        column: err.column(),
    })?;
    let mut walk = Walk { fields: 0 };
    let mut record = Fields::default();
    match &value {
        Json::Object(object) => walk.add_object(&mut record, object, "$", 1)?,
        Json::Array(items) if !items.is_empty() => {
            for (index, item) in items.iter().enumerate() {
                let Json::Object(object) = item else {
                    return Err(InferenceError::NotRecords(
                        "an array holding something else",
                    ));
                };
                walk.add_object(&mut record, object, &format!("$[{index}]"), 1)?;
            }
        }
        Json::Array(_) => return Err(InferenceError::NotRecords("an empty array")),
        other => return Err(InferenceError::NotRecords(json_type(other))),
    }
    let mut out = format!(
        "// Inferred from a JSON sample: check each type.\nsyntax = \"proto3\";\n\npackage {PACKAGE};\n"
    );
    let mut taken = BTreeMap::new();
    taken.insert(RECORD.to_owned(), ());
    write_message(&mut out, RECORD, &record, &mut taken);
    Ok(out)
}

/// Writes `name` with `fields`, then the messages of its object fields.
fn write_message(out: &mut String, name: &str, fields: &Fields, taken: &mut BTreeMap<String, ()>) {
    let mut nested = Vec::new();
    let mut used = BTreeMap::new();
    let _ = writeln!(out, "\nmessage {name} {{");
    for (index, field) in fields.fields.iter().enumerate() {
        // protobuf refuses two fields whose camel-case names are equal (`a_b`, `aB`;
        // `_`, `__`): a clash, or a key with no letter or digit, gets a number.
        let base = identifier(&field.key);
        let base = if base.chars().any(|c| c.is_ascii_alphanumeric()) {
            base
        } else {
            format!("field{}", index + 1)
        };
        let camel = |name: &str| default_json_name(name).to_lowercase();
        let mut field_name = base.clone();
        let mut suffix = 1;
        while used.contains_key(&camel(&field_name)) {
            suffix += 1;
            field_name = format!("{base}{suffix}");
        }
        used.insert(camel(&field_name), ());
        let type_name = match &field.kind {
            Kind::Bool => "bool".to_owned(),
            Kind::Integer { min, max }
                if *min >= i128::from(i32::MIN) && *max <= i128::from(i32::MAX) =>
            {
                "int32".to_owned()
            }
            Kind::Integer { min, max }
                if *min >= i128::from(i64::MIN) && *max <= i128::from(i64::MAX) =>
            {
                "int64".to_owned()
            }
            Kind::Integer { .. } => "uint64".to_owned(),
            Kind::Double => "double".to_owned(),
            Kind::String | Kind::Unknown => "string".to_owned(),
            Kind::Message(inner) => {
                let mut message = message_name(&field.key);
                while taken.contains_key(&message) {
                    message.push('_');
                }
                taken.insert(message.clone(), ());
                nested.push((message.clone(), inner.as_ref().clone()));
                message
            }
        };
        let label = if field.repeated {
            "repeated "
        } else if field.present < fields.occurrences || field.kind == Kind::Unknown {
            "optional "
        } else {
            ""
        };
        let json_name = if default_json_name(&field_name) == field.key {
            String::new()
        } else {
            format!(
                " [json_name = \"{}\"]",
                field.key.replace('\\', "\\\\").replace('"', "\\\"")
            )
        };
        let note = if field.kind == Kind::Unknown {
            " // only null or empty in the sample: type guessed"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {label}{type_name} {field_name} = {}{json_name};{note}",
            index + 1
        );
    }
    out.push_str("}\n");
    for (message, inner) in nested {
        write_message(out, &message, &inner, taken);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(proto: &str) -> Vec<&str> {
        proto
            .lines()
            .map(str::trim)
            .filter(|l| {
                !l.is_empty()
                    && !l.starts_with("//")
                    && !l.starts_with("syntax")
                    && !l.starts_with("package")
            })
            .collect()
    }

    #[test]
    fn each_json_type_becomes_its_proto3_type() {
        let proto = infer_proto(
            r#"{"ok": true, "count": 3, "big": 5000000000, "ratio": 0.5, "name": "a", "gone": null}"#,
        )
        .unwrap();
        assert_eq!(
            body(&proto),
            [
                "message Record {",
                "bool ok = 1;",
                "int32 count = 2;",
                "int64 big = 3;",
                "double ratio = 4;",
                "string name = 5;",
                "optional string gone = 6; // only null or empty in the sample: type guessed",
                "}",
            ]
        );
    }

    #[test]
    fn nested_objects_become_messages_and_arrays_repeated_fields() {
        let proto = infer_proto(
            r#"{"id": 1, "address": {"city": "Oslo", "geo": {"lat": 59.9}}, "tags": ["x"], "items": [{"sku": "a", "qty": 2}]}"#,
        )
        .unwrap();
        assert_eq!(
            body(&proto),
            [
                "message Record {",
                "int32 id = 1;",
                "Address address = 2;",
                "repeated string tags = 3;",
                "repeated Items items = 4;",
                "}",
                "message Address {",
                "string city = 1;",
                "Geo geo = 2;",
                "}",
                "message Geo {",
                "double lat = 1;",
                "}",
                "message Items {",
                "string sku = 1;",
                "int32 qty = 2;",
                "}",
            ]
        );
    }

    #[test]
    fn records_of_an_array_merge_and_missing_fields_are_optional() {
        let proto = infer_proto(
            r#"[{"a": 1, "b": "x"}, {"a": 2.5}, {"a": 3, "c": [{"d": 1}, {"e": true}]}]"#,
        )
        .unwrap();
        assert_eq!(
            body(&proto),
            [
                "message Record {",
                "double a = 1;",
                "optional string b = 2;",
                "repeated C c = 3;",
                "}",
                "message C {",
                "optional int32 d = 1;",
                "optional bool e = 2;",
                "}",
            ]
        );
    }

    #[test]
    fn keys_that_are_not_identifiers_keep_their_json_name_and_names_do_not_clash() {
        let proto = infer_proto(
            r#"{"user_id": 1, "first-name": "a", "2fa": true, "first_name": "b", "record": {"x": 1}}"#,
        )
        .unwrap();
        assert_eq!(
            body(&proto),
            [
                "message Record {",
                "int32 user_id = 1 [json_name = \"user_id\"];",
                "string first_name = 2 [json_name = \"first-name\"];",
                // protobuf's own JSON name of `_2fa` is already `2fa`.
                "bool _2fa = 3;",
                "string first_name2 = 4 [json_name = \"first_name\"];",
                "Record_ record = 5;",
                "}",
                "message Record_ {",
                "int32 x = 1;",
                "}",
            ]
        );
    }

    #[test]
    fn mixed_types_are_refused_with_their_path() {
        let err = infer_proto(r#"[{"a": 1}, {"a": "one"}]"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "$[1].a: a string and an integer in the same field; proto3 needs one type per field"
        );
        let err = infer_proto(r#"{"m": [[1, 2]]}"#).unwrap_err();
        assert!(
            matches!(err, InferenceError::NestedArray { ref path } if path == "$.m"),
            "{err}"
        );
        let err = infer_proto(r#"{"v": [1, "x"]}"#).unwrap_err();
        assert!(err.to_string().starts_with("$.v: "), "{err}");
    }

    #[test]
    fn what_is_not_a_record_is_refused_precisely() {
        let err = infer_proto("{\n  \"a\": 1,\n  oops\n}").unwrap_err();
        assert!(
            matches!(
                err,
                InferenceError::NotJson {
                    line: 3,
                    column: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("at line 3, column 3"), "{err}");
        assert_eq!(
            infer_proto("[]").unwrap_err(),
            InferenceError::NotRecords("an empty array")
        );
        assert_eq!(
            infer_proto("42").unwrap_err(),
            InferenceError::NotRecords("a number")
        );
        assert_eq!(
            infer_proto("[1]").unwrap_err(),
            InferenceError::NotRecords("an array holding something else")
        );
    }

    #[test]
    fn limits_are_enforced() {
        let big = format!("{{\"s\": \"{}\"}}", "x".repeat(MAX_SAMPLE_BYTES));
        assert!(matches!(
            infer_proto(&big),
            Err(InferenceError::TooLarge(_))
        ));
        let deep = format!(
            "{}1{}",
            "{\"a\":".repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert!(
            matches!(infer_proto(&deep), Err(InferenceError::TooDeep { .. })),
            "{deep}"
        );
        let shallow = format!("{}1{}", "{\"a\":".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert!(infer_proto(&shallow).is_ok());
        let wide: Vec<String> = (0..=MAX_FIELDS).map(|i| format!("\"f{i}\": 1")).collect();
        assert_eq!(
            infer_proto(&format!("{{{}}}", wide.join(","))).unwrap_err(),
            InferenceError::TooManyFields
        );
    }
}
