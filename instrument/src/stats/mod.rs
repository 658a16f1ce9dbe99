//! Pure number-crunching behind the live charts and the summary table: exact
//! percentiles ([`percentiles`]), a fixed-size latency histogram ([`latency_histogram`]),
//! a bounded series over run time ([`time_series`]), the ratio of two samples with its
//! confidence interval ([`ratio_interval`]), a quantile's or a mean's interval
//! ([`sample_interval`]), and axis scales and value formatting for
//! the SVG charts ([`scale`]).
//!
//! Nothing here touches the browser, so all of it is unit-tested with plain `cargo test`.

pub mod latency_histogram;
pub mod percentiles;
pub mod ratio_interval;
pub mod sample_interval;
pub mod scale;
pub mod time_series;

/// Deterministic pseudo-random samples for the tests, so failures reproduce exactly.
#[cfg(test)]
mod test_support {
    /// A 64-bit linear congruential generator (Knuth's MMIX constants).
    pub struct Lcg(u64);

    impl Lcg {
        pub fn new(seed: u64) -> Self {
            Lcg(seed)
        }

        /// Uniform in [0, 1).
        pub fn next_unit(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // The top 53 bits are the best-mixed ones and fill an f64 mantissa exactly.
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Uniform in [low, high).
        pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
            low + (high - low) * self.next_unit()
        }

        /// Spread evenly over the decades between `low` and `high`, like real latencies.
        pub fn log_uniform(&mut self, low: f64, high: f64) -> f64 {
            (low.ln() + (high.ln() - low.ln()) * self.next_unit()).exp()
        }
    }
}
