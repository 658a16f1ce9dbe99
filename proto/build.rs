//! Compiles `proto/lab/v1/lab.proto` with protox (pure Rust: no protoc install) and
//! generates prost messages with serde derives plus the tonic client and/or server.

use std::env;

const PROTO: &str = "proto/lab/v1/lab.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO}");
    let fds = protox::compile([PROTO], ["proto"])?;

    let messages = "#[derive(serde::Serialize, serde::Deserialize)]\n\
                    #[serde(rename_all = \"camelCase\", default)]";
    let enums =
        "#[derive(serde::Serialize, serde::Deserialize)]\n#[serde(rename_all = \"camelCase\")]";
    tonic_prost_build::configure()
        .build_client(env::var_os("CARGO_FEATURE_CLIENT").is_some())
        .build_server(env::var_os("CARGO_FEATURE_SERVER").is_some())
        .build_transport(false)
        // REST serializes these very values with serde_json: field names in camelCase,
        // absent fields take their protobuf defaults, a record shows only its one set field.
        .message_attribute(".lab.v1", messages)
        .enum_attribute(".lab.v1", enums)
        .field_attribute(
            ".lab.v1.Record",
            "#[serde(skip_serializing_if = \"Option::is_none\")]",
        )
        .compile_fds(fds)?;
    Ok(())
}
