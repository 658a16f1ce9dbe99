//! A person's `.proto` (pasted, or inferred and edited) compiled at run time with protox
//! (no `protoc`) into the message descriptor a custom shape is made of (issue 22).
//! Imports are limited to protobuf's well-known types; an error names the file, line
//! and column.

use miette::Diagnostic;
use prost_reflect::MessageDescriptor;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use super::inference::MAX_SAMPLE_BYTES;

/// The name the pasted source compiles under.
pub const FILE_NAME: &str = "custom.proto";
/// The largest `.proto` source accepted, in bytes (as a sample).
pub const MAX_SCHEMA_BYTES: usize = MAX_SAMPLE_BYTES;

/// Why a schema cannot be used, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("the .proto is {0} bytes; the limit is {MAX_SCHEMA_BYTES}")]
    TooLarge(usize),
    #[error("{FILE_NAME}:{line}:{column}: {message}")]
    Compile {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{FILE_NAME}: {0}")]
    Import(String),
    #[error("{FILE_NAME} has no message {wanted}; it has: {found}")]
    NoSuchMessage { wanted: String, found: String },
}

/// The source itself, and the well-known types; any other import is not found.
struct PastedFile(String);

impl FileResolver for PastedFile {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == FILE_NAME {
            File::from_source(name, &self.0)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

/// 1-based line and column of byte `offset` in `source`.
fn line_and_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Compiles `source` and returns its message `message` (a name in the file's package,
/// or fully qualified).
pub fn compile(source: &str, message: &str) -> Result<MessageDescriptor, SchemaError> {
    if source.len() > MAX_SCHEMA_BYTES {
        return Err(SchemaError::TooLarge(source.len()));
    }
    let mut resolver = ChainFileResolver::new();
    resolver.add(PastedFile(source.to_owned()));
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    if let Err(err) = compiler.open_file(FILE_NAME) {
        if err.is_file_not_found() {
            return Err(SchemaError::Import(format!(
                "{err}: only protobuf's well-known types (google/protobuf/*.proto) can be imported"
            )));
        }
        // An error at the end of the file carries no label: it is where the file ends.
        let offset = err
            .labels()
            .and_then(|mut labels| labels.next())
            .map_or_else(
                || {
                    if err.to_string().contains("end of file") {
                        source.len()
                    } else {
                        0
                    }
                },
                |label| label.offset(),
            );
        let (line, column) = line_and_column(source, offset);
        return Err(SchemaError::Compile {
            line,
            column,
            message: err.to_string(),
        });
    }
    let pool = compiler.descriptor_pool();
    let file = pool
        .get_file_by_name(FILE_NAME)
        .expect("the file just compiled");
    let qualified = match file.package_name() {
        "" => message.to_owned(),
        package if !message.starts_with(&format!("{package}.")) => format!("{package}.{message}"),
        _ => message.to_owned(),
    };
    pool.get_message_by_name(&qualified)
        .filter(|m| m.parent_file().name() == FILE_NAME)
        .ok_or_else(|| SchemaError::NoSuchMessage {
            wanted: message.to_owned(),
            found: file
                .messages()
                .map(|m| m.name().to_owned())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom_shape::inference::{RECORD, infer_proto};

    #[test]
    fn an_inferred_schema_compiles_with_its_names_and_json_names() {
        let proto = infer_proto(
            r#"[{"user_id": 7, "first-name": "a", "address": {"city": "Oslo"}, "tags": ["x"], "score": 1.5, "note": null}]"#,
        )
        .unwrap();
        let record = compile(&proto, RECORD).unwrap_or_else(|err| panic!("{err}\n{proto}"));
        let field = |name: &str| {
            record
                .get_field_by_name(name)
                .unwrap_or_else(|| panic!("{name}"))
        };
        assert_eq!(field("user_id").json_name(), "user_id");
        assert_eq!(field("first_name").json_name(), "first-name");
        assert!(field("tags").is_list());
        assert_eq!(
            field("address")
                .kind()
                .as_message()
                .map(|m| m.name().to_owned()),
            Some("Address".to_owned())
        );
        assert!(field("note").supports_presence());
    }

    #[test]
    fn the_built_in_order_compiles_as_a_custom_shape() {
        let source = include_str!("../../../proto/proto/lab/v1/lab.proto");
        let order = compile(source, "Order").expect("lab.proto compiles");
        assert_eq!(order.full_name(), "lab.v1.Order");
        assert!(compile(source, "lab.v1.Order").is_ok());
    }

    #[test]
    fn well_known_imports_work_and_others_are_refused() {
        let with_timestamp = "syntax = \"proto3\";\nimport \"google/protobuf/timestamp.proto\";\n\
                              message Event { google.protobuf.Timestamp at = 1; }\n";
        assert!(compile(with_timestamp, "Event").is_ok());
        let elsewhere = "syntax = \"proto3\";\nimport \"other.proto\";\nmessage Event {}\n";
        let err = compile(elsewhere, "Event").unwrap_err();
        assert!(matches!(err, SchemaError::Import(_)), "{err:?}");
        assert!(err.to_string().contains("well-known types"), "{err}");
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let broken = "syntax = \"proto3\";\n\nmessage Event {\n  strin name = 1;\n}\n";
        let err = compile(broken, "Event").unwrap_err();
        let SchemaError::Compile { line, column, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((*line, *column), (4, 3), "{err}");
        assert!(err.to_string().starts_with("custom.proto:4:3: "), "{err}");
        let syntax = "syntax = \"proto3\";\nmessage Event {\n  string name = ;\n}\n";
        assert!(
            compile(syntax, "Event")
                .unwrap_err()
                .to_string()
                .starts_with("custom.proto:3:"),
            "{}",
            compile(syntax, "Event").unwrap_err()
        );
    }

    #[test]
    fn an_unknown_message_lists_the_ones_there_are() {
        let source = "syntax = \"proto3\";\nmessage A {}\nmessage B {}\n";
        assert_eq!(
            compile(source, "C").unwrap_err().to_string(),
            "custom.proto has no message C; it has: A, B"
        );
        let big = "x".repeat(MAX_SCHEMA_BYTES + 1);
        assert!(matches!(compile(&big, "A"), Err(SchemaError::TooLarge(_))));
    }

    /// Any JSON value: keys from a small alphabet with punctuation and digits, so that
    /// clashes, odd keys and mixed types come up often.
    fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            (-1e9..1e9f64).prop_map(serde_json::Value::from),
            "[a-z]{0,3}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-c_1-]{0,3}", inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// The inference never panics, and every schema it infers compiles.
        #[test]
        fn every_inferred_schema_compiles(value in any_json()) {
            let sample = value.to_string();
            if let Ok(proto) = infer_proto(&sample)
                && let Err(err) = compile(&proto, RECORD)
            {
                panic!("{sample} inferred a schema that does not compile: {err}\n{proto}");
            }
        }
    }

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_and_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_and_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_and_column("ab", 99), (1, 3));
    }
}
