//! What a run's records look like: one of the built-in shapes, or a custom shape the
//! backend registered from a person's sample or `.proto` (issue 22), named by its id.
//! Its key is what URLs, the REST query and exports spell (`order`,
//! `custom-0123456789abcdef`).

use lab_proto::contract::custom;
use lab_proto::v1::Shape;

/// A custom shape's id: 64 bits, 16 hex digits in every text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomShapeId(pub u64);

impl CustomShapeId {
    /// The id's 16 hex digits, as the backend names it.
    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }

    /// Parses exactly 16 hex digits.
    pub fn parse(hex: &str) -> Option<Self> {
        (hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(hex, 16).ok().map(Self))
            .flatten()
    }
}

/// The shape of a run's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeChoice {
    BuiltIn(Shape),
    Custom(CustomShapeId),
}

impl Default for ShapeChoice {
    fn default() -> Self {
        ShapeChoice::BuiltIn(Shape::Telemetry)
    }
}

impl From<Shape> for ShapeChoice {
    fn from(shape: Shape) -> Self {
        ShapeChoice::BuiltIn(shape)
    }
}

impl ShapeChoice {
    /// The built-in shapes, in the order the page offers them.
    pub const BUILT_IN: [Shape; 3] = [Shape::Telemetry, Shape::Log, Shape::Order];

    /// The key URLs and the REST query spell.
    pub fn key(self) -> String {
        match self {
            ShapeChoice::BuiltIn(shape) => shape.key().to_owned(),
            ShapeChoice::Custom(id) => custom::key(&id.hex()),
        }
    }

    /// Parses a key; `None` for anything but a built-in shape or a well-formed custom id.
    pub fn from_key(key: &str) -> Option<Self> {
        match custom::id_in_key(key) {
            Some(hex) => CustomShapeId::parse(hex).map(ShapeChoice::Custom),
            None => Shape::from_key(key).map(ShapeChoice::BuiltIn),
        }
    }

    /// The name people read: a built-in key, or "your shape" with its id's first digits.
    pub fn label(self) -> String {
        match self {
            ShapeChoice::BuiltIn(shape) => shape.key().to_owned(),
            ShapeChoice::Custom(id) => format!("your shape {}", &id.hex()[..6]),
        }
    }

    pub fn custom(self) -> Option<CustomShapeId> {
        match self {
            ShapeChoice::Custom(id) => Some(id),
            ShapeChoice::BuiltIn(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_bad_ids_are_refused() {
        let id = CustomShapeId(0x00ab_cdef_0123_4567);
        for choice in [ShapeChoice::BuiltIn(Shape::Log), ShapeChoice::Custom(id)] {
            assert_eq!(ShapeChoice::from_key(&choice.key()), Some(choice));
        }
        assert_eq!(ShapeChoice::Custom(id).key(), "custom-00abcdef01234567");
        assert_eq!(ShapeChoice::Custom(id).label(), "your shape 00abcd");
        for bad in [
            "custom-",
            "custom-xyz",
            "custom-00abcdef0123456",
            "custom-+0abcdef01234567",
            "nope",
        ] {
            assert_eq!(ShapeChoice::from_key(bad), None, "{bad}");
        }
    }
}
