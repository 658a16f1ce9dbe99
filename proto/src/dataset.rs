//! Deterministic workload data: the same `(shape, seed)` yields the same records on
//! every machine and for every transport, so the lab compares like with like.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::v1::{Address, LineItem, LogLine, Order, Record, Shape, TelemetryPoint};

/// The largest `count` a single fetch, upload or stream may carry.
pub const MAX_RECORDS: u32 = 100_000;

/// 2026-01-01T00:00:00Z: generated timestamps count up from here.
const EPOCH_MS: i64 = 1_767_225_600_000;

const LEVELS: [&str; 4] = ["DEBUG", "INFO", "WARN", "ERROR"];
const SERVICES: [&str; 6] = [
    "checkout", "catalog", "auth", "search", "billing", "gateway",
];
const WORDS: [&str; 24] = [
    "request",
    "completed",
    "user",
    "session",
    "cache",
    "miss",
    "retrying",
    "upstream",
    "timeout",
    "after",
    "connection",
    "reset",
    "payload",
    "accepted",
    "queue",
    "depth",
    "exceeded",
    "threshold",
    "token",
    "refreshed",
    "shard",
    "rebalanced",
    "latency",
    "spike",
];
const CITIES: [&str; 6] = ["Lisbon", "Osaka", "Toronto", "Nairobi", "Oslo", "Santiago"];
const COUNTRIES: [&str; 6] = ["PT", "JP", "CA", "KE", "NO", "CL"];
const STREETS: [&str; 5] = [
    "Harbour Road",
    "Maple Avenue",
    "Station Street",
    "Hill Lane",
    "Market Square",
];
const CUSTOMERS: [&str; 8] = [
    "Ada Lovelace",
    "Alan Turing",
    "Grace Hopper",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Frances Allen",
    "Ken Thompson",
];

impl Record {
    /// The id of the one record this holds; `None` when it holds none.
    pub fn id(&self) -> Option<u64> {
        match (&self.telemetry, &self.log, &self.order) {
            (Some(t), _, _) => Some(t.id),
            (_, Some(l), _) => Some(l.id),
            (_, _, Some(o)) => Some(o.id),
            _ => None,
        }
    }
}

impl Shape {
    /// The stable key of this shape, as REST, URLs and exports spell it (`telemetry`, `log`, `order`).
    pub fn key(self) -> &'static str {
        match self {
            Shape::Unspecified => "unspecified",
            Shape::Telemetry => "telemetry",
            Shape::Log => "log",
            Shape::Order => "order",
        }
    }

    /// Parses a REST shape name; `None` for anything but the three real shapes.
    pub fn from_key(key: &str) -> Option<Shape> {
        [Shape::Telemetry, Shape::Log, Shape::Order]
            .into_iter()
            .find(|shape| shape.key() == key)
    }
}

/// An endless, deterministic source of records of one shape.
pub struct Generator {
    shape: Shape,
    rng: ChaCha8Rng,
    next_id: u64,
}

impl Generator {
    /// A generator for `shape` seeded with `seed`. `Shape::Unspecified` yields
    /// telemetry; callers validate the shape before they get here.
    pub fn new(shape: Shape, seed: u64) -> Self {
        Self {
            shape,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_id: 1,
        }
    }

    /// The next `count` records.
    pub fn take(&mut self, count: usize) -> Vec<Record> {
        (0..count).map(|_| self.next_record()).collect()
    }

    /// The next record.
    pub fn next_record(&mut self) -> Record {
        let id = self.next_id;
        self.next_id += 1;
        match self.shape {
            Shape::Log => Record {
                log: Some(self.log(id)),
                ..Record::default()
            },
            Shape::Order => Record {
                order: Some(self.order(id)),
                ..Record::default()
            },
            Shape::Telemetry | Shape::Unspecified => Record {
                telemetry: Some(self.telemetry(id)),
                ..Record::default()
            },
        }
    }

    fn below(&mut self, bound: u32) -> u32 {
        // Modulo bias is irrelevant for test data; determinism is what matters.
        self.rng.next_u32() % bound
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u32) as usize]
    }

    /// A value in `[low, high)` rounded to `decimals` places, like a real sensor reading.
    fn reading(&mut self, low: f64, high: f64, decimals: i32) -> f64 {
        let unit = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let scale = 10f64.powi(decimals);
        // `+ 0.0` turns a rounded −0.0 into +0.0: protobuf (prost) leaves out a double
        // equal to zero while JSON writes `-0.0`, so a signed zero would make the two
        // encodings of the same records differ.
        ((low + unit * (high - low)) * scale).round() / scale + 0.0
    }

    fn timestamp(&mut self, id: u64) -> i64 {
        EPOCH_MS + id as i64 * 1_000 + i64::from(self.below(1_000))
    }

    fn telemetry(&mut self, id: u64) -> TelemetryPoint {
        TelemetryPoint {
            id,
            timestamp_unix_ms: self.timestamp(id),
            sensor_id: 1 + self.below(512),
            temperature_c: self.reading(-20.0, 45.0, 2),
            humidity_pct: self.reading(0.0, 100.0, 1),
            pressure_hpa: self.reading(950.0, 1050.0, 2),
            battery_v: self.reading(3.0, 4.2, 3),
        }
    }

    fn log(&mut self, id: u64) -> LogLine {
        let words = 8 + self.below(24) as usize;
        let message = (0..words)
            .map(|_| self.pick(&WORDS))
            .collect::<Vec<_>>()
            .join(" ");
        LogLine {
            id,
            timestamp_unix_ms: self.timestamp(id),
            level: self.pick(&LEVELS).to_owned(),
            service: self.pick(&SERVICES).to_owned(),
            message,
            trace_id: format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64()),
        }
    }

    fn order(&mut self, id: u64) -> Order {
        let lines = 1 + self.below(6) as usize;
        let items: Vec<LineItem> = (0..lines)
            .map(|_| LineItem {
                sku: format!("SKU-{:05}", self.below(100_000)),
                quantity: 1 + self.below(9),
                unit_price_cents: 99 + i64::from(self.below(49_900)),
            })
            .collect();
        let total_cents = items
            .iter()
            .map(|i| i.unit_price_cents * i64::from(i.quantity))
            .sum();
        let city = self.below(CITIES.len() as u32) as usize;
        Order {
            id,
            created_unix_ms: self.timestamp(id),
            customer: self.pick(&CUSTOMERS).to_owned(),
            shipping: Some(Address {
                street: format!("{} {}", 1 + self.below(250), self.pick(&STREETS)),
                city: CITIES[city].to_owned(),
                postal_code: format!("{:05}", self.below(100_000)),
                country: COUNTRIES[city].to_owned(),
            }),
            items,
            total_cents,
        }
    }
}

/// `count` records of `shape` from `seed`: the body of a fetch, and of a stream.
pub fn generate(shape: Shape, seed: u64, count: usize) -> Vec<Record> {
    Generator::new(shape, seed).take(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum;
    use prost::Message;

    #[test]
    fn same_seed_same_records_other_seed_other_records() {
        for shape in [Shape::Telemetry, Shape::Log, Shape::Order] {
            let a = generate(shape, 7, 50);
            assert_eq!(a, generate(shape, 7, 50));
            assert_ne!(checksum(&a), checksum(&generate(shape, 8, 50)));
        }
    }

    #[test]
    fn streaming_one_by_one_equals_fetching_all() {
        let mut generator = Generator::new(Shape::Order, 3);
        let one_by_one: Vec<_> = (0..20).map(|_| generator.next_record()).collect();
        assert_eq!(one_by_one, generate(Shape::Order, 3, 20));
    }

    #[test]
    fn each_shape_has_its_character() {
        let size = |shape| {
            generate(shape, 1, 100)
                .iter()
                .map(Message::encoded_len)
                .sum::<usize>()
        };
        // Log lines carry sentences; telemetry points carry numbers only.
        assert!(size(Shape::Log) > 2 * size(Shape::Telemetry));
        for record in generate(Shape::Order, 1, 100) {
            let order = record.order.expect("an order");
            assert!(!order.items.is_empty());
            let total: i64 = order
                .items
                .iter()
                .map(|i| i.unit_price_cents * i64::from(i.quantity))
                .sum();
            assert_eq!(order.total_cents, total);
        }
    }

    #[test]
    fn json_round_trip_keeps_every_bit_and_uses_camel_case() {
        for shape in [Shape::Telemetry, Shape::Log, Shape::Order] {
            let records = generate(shape, 11, 200);
            let json = serde_json::to_string(&records).unwrap();
            let back: Vec<Record> = serde_json::from_str(&json).unwrap();
            assert_eq!(checksum(&back), checksum(&records));
            assert_eq!(back, records);
        }
        let json = serde_json::to_string(&generate(Shape::Telemetry, 1, 1)[0]).unwrap();
        assert!(
            json.starts_with(r#"{"telemetry":{"id":1,"timestampUnixMs":"#),
            "{json}"
        );
    }

    #[test]
    fn keys_round_trip_and_reject_unknown_names() {
        for shape in [Shape::Telemetry, Shape::Log, Shape::Order] {
            assert_eq!(Shape::from_key(shape.key()), Some(shape));
        }
        assert_eq!(Shape::from_key("unspecified"), None);
        assert_eq!(Shape::from_key("TELEMETRY"), None);
    }

    #[test]
    fn no_reading_is_a_negative_zero() {
        for seed in 0..500 {
            for record in generate(Shape::Telemetry, seed, 2_000) {
                let t = record.telemetry.expect("telemetry");
                for value in [t.temperature_c, t.humidity_pct, t.pressure_hpa, t.battery_v] {
                    assert!(
                        !(value == 0.0 && value.is_sign_negative()),
                        "seed {seed}, record {}: -0.0",
                        t.id
                    );
                }
            }
        }
    }
}
