//! The custom shapes the backend knows (issue 22): each compiled once, identified by a
//! hash of its schema, message name and sample (so a shared link names exactly that
//! shape), at most [`CAPACITY`] kept, the least recently used dropped first. A link to a
//! dropped shape gets "unknown shape" and the page says so.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use lab_proto::contract::custom::ShapeInfo;
use lab_proto::custom_envelope::Envelope;
use prost_reflect::MessageDescriptor;

use super::sample_profile::SampleProfile;
use super::schema::{self, SchemaError};

/// Shapes kept at once.
pub const CAPACITY: usize = 32;
/// Hex digits of an id: 64 bits of SHA-256.
const ID_DIGITS: usize = 16;

/// A compiled custom shape: what it was made from, its record's descriptor and what
/// its sample says about each field.
#[derive(Debug)]
pub struct CustomShape {
    pub id: String,
    pub proto: String,
    pub message: String,
    pub sample: Option<String>,
    pub record: MessageDescriptor,
    /// The envelope messages around `record`, in the same pool.
    pub envelope: Envelope,
    pub profile: Arc<SampleProfile>,
    /// What the page shows of it (sizes per record), computed once when first asked.
    pub info: OnceLock<ShapeInfo>,
}

/// The id of a shape made from these inputs: each is length-prefixed before hashing,
/// so no two different inputs run together into the same bytes.
pub fn id_of(proto: &str, message: &str, sample: Option<&str>) -> String {
    let mut bytes = Vec::new();
    for part in [Some(proto), Some(message), sample] {
        match part {
            Some(text) => {
                bytes.extend_from_slice(&(text.len() as u64 + 1).to_be_bytes());
                bytes.extend_from_slice(text.as_bytes());
            }
            None => bytes.extend_from_slice(&0u64.to_be_bytes()),
        }
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    digest.as_ref()[..ID_DIGITS / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The shapes, most recently used first.
#[derive(Debug, Default)]
pub struct ShapeRegistry {
    shapes: Mutex<VecDeque<Arc<CustomShape>>>,
}

impl ShapeRegistry {
    /// Compiles `proto`'s `message` (with `sample`'s profile) and keeps it, or finds it
    /// kept already; either way it becomes the most recently used.
    pub fn add(
        &self,
        proto: &str,
        message: &str,
        sample: Option<&str>,
    ) -> Result<Arc<CustomShape>, SchemaError> {
        let id = id_of(proto, message, sample);
        if let Some(shape) = self.get(&id) {
            return Ok(shape);
        }
        // Compiled outside the lock: other requests go on meanwhile.
        let record = schema::compile(proto, message)?;
        let profile = sample.map_or_else(SampleProfile::default, |s| SampleProfile::of(s, &record));
        let envelope = Envelope::around(&record).map_err(SchemaError::Import)?;
        let shape = Arc::new(CustomShape {
            id,
            proto: proto.to_owned(),
            message: message.to_owned(),
            sample: sample.map(str::to_owned),
            record,
            envelope,
            profile: Arc::new(profile),
            info: OnceLock::new(),
        });
        let mut shapes = self.shapes.lock().unwrap_or_else(|e| e.into_inner());
        shapes.retain(|s| s.id != shape.id);
        shapes.push_front(shape.clone());
        shapes.truncate(CAPACITY);
        Ok(shape)
    }

    /// The shape `id`, now the most recently used; `None` if it was never added or has
    /// been dropped.
    pub fn get(&self, id: &str) -> Option<Arc<CustomShape>> {
        let mut shapes = self.shapes.lock().unwrap_or_else(|e| e.into_inner());
        let index = shapes.iter().position(|s| s.id == id)?;
        let shape = shapes.remove(index)?;
        shapes.push_front(shape.clone());
        Some(shape)
    }

    /// Shapes kept now.
    pub fn len(&self) -> usize {
        self.shapes.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(n: usize) -> String {
        format!("syntax = \"proto3\";\nmessage M{n} {{ string s = 1; }}\n")
    }

    #[test]
    fn an_id_names_exactly_its_inputs() {
        let a = id_of("p", "M", Some("{}"));
        assert_eq!(a.len(), ID_DIGITS);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, id_of("p", "M", Some("{}")));
        assert_ne!(a, id_of("p", "M", None));
        assert_ne!(a, id_of("p", "M", Some("{ }")));
        // Length prefixes: moving a byte from one part to the next changes the id.
        assert_ne!(id_of("pM", "", None), id_of("p", "M", None));
    }

    #[test]
    fn a_shape_is_compiled_once_and_found_by_its_id() {
        let registry = ShapeRegistry::default();
        let shape = registry.add(&proto(1), "M1", None).unwrap();
        assert_eq!(shape.record.name(), "M1");
        let again = registry.add(&proto(1), "M1", None).unwrap();
        assert!(Arc::ptr_eq(&shape, &again));
        assert!(Arc::ptr_eq(&registry.get(&shape.id).unwrap(), &shape));
        assert_eq!(registry.len(), 1);
        assert!(registry.get("0000000000000000").is_none());
    }

    #[test]
    fn the_least_recently_used_shape_goes_first() {
        let registry = ShapeRegistry::default();
        let ids: Vec<String> = (0..CAPACITY)
            .map(|n| {
                registry
                    .add(&proto(n), &format!("M{n}"), None)
                    .unwrap()
                    .id
                    .clone()
            })
            .collect();
        // Using the oldest keeps it; the next new shape drops the second oldest.
        assert!(registry.get(&ids[0]).is_some());
        registry
            .add(&proto(CAPACITY), &format!("M{CAPACITY}"), None)
            .unwrap();
        assert_eq!(registry.len(), CAPACITY);
        assert!(registry.get(&ids[0]).is_some());
        assert!(registry.get(&ids[1]).is_none());
        assert!(registry.get(&ids[2]).is_some());
    }

    #[test]
    fn a_schema_that_does_not_compile_is_not_kept() {
        let registry = ShapeRegistry::default();
        let err = registry
            .add("syntax = \"proto3\";\nmessage {", "M", None)
            .unwrap_err();
        assert!(err.to_string().starts_with("custom.proto:2:"), "{err}");
        assert!(registry.is_empty());
    }
}
