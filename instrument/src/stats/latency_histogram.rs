//! A latency histogram with fixed, logarithmically spaced bins, for the live
//! latency-distribution chart and live percentiles.
//!
//! Recording is O(1) and rendering or reading a quantile costs O(bins), however many
//! requests a run makes, so a 100,000-request run redraws as cheaply as a 10-request
//! one. The price is resolution: a quantile is only known to within one bin, that is
//! to within `10^(1/20) - 1` ≈ 12.2 % of its value. Exact figures for the final table
//! come from [`super::percentiles`].
//!
//! Bins cover [`MIN_MS`, `MAX_MS`) with [`BINS_PER_DECADE`] bins per power of ten.
//! Values below `MIN_MS` are counted in the first bin and values at or above `MAX_MS`
//! in the last, so nothing recorded is lost, but quantiles saturate at `MAX_MS`.

use super::percentiles::nearest_rank;

pub const MIN_MS: f64 = 0.01;
pub const MAX_MS: f64 = 100_000.0;
pub const BINS_PER_DECADE: usize = 20;

/// The powers of ten from `MIN_MS` to `MAX_MS`, written out so that decade edges
/// are exactly the round numbers people expect (1 ms is an edge, not 0.9999… ms).
const DECADE_EDGES_MS: [f64; 8] = [0.01, 0.1, 1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0];
const DECADES: usize = DECADE_EDGES_MS.len() - 1;

/// How many bins a histogram has.
pub const BIN_COUNT: usize = DECADES * BINS_PER_DECADE;

/// The lower edge of bin `index`; `bin_edge_ms(BIN_COUNT)` is `MAX_MS`, the upper
/// edge of the last bin. Edges grow by a factor of `10^(1/20)` from bin to bin.
pub fn bin_edge_ms(index: usize) -> f64 {
    let index = index.min(BIN_COUNT);
    let decade_edge = DECADE_EDGES_MS[index / BINS_PER_DECADE];
    let step = index % BINS_PER_DECADE;
    if step == 0 {
        decade_edge
    } else {
        decade_edge * 10f64.powf(step as f64 / BINS_PER_DECADE as f64)
    }
}

/// The bin a (non-negative) value falls in; a value exactly on an edge belongs to
/// the bin above it.
fn bin_index(ms: f64) -> usize {
    if ms < MIN_MS {
        return 0;
    }
    if ms >= MAX_MS {
        return BIN_COUNT - 1;
    }
    let estimate = ((ms.log10() - MIN_MS.log10()) * BINS_PER_DECADE as f64) as usize;
    let mut index = estimate.min(BIN_COUNT - 1);
    // The logarithm can land a hair on the wrong side of an edge; the edges
    // themselves have the last word, so binning agrees exactly with `bins()`.
    while index > 0 && ms < bin_edge_ms(index) {
        index -= 1;
    }
    while index + 1 < BIN_COUNT && ms >= bin_edge_ms(index + 1) {
        index += 1;
    }
    index
}

/// One bin, as the chart draws it: values in [`lower_ms`, `upper_ms`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    pub lower_ms: f64,
    pub upper_ms: f64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "HistogramWire", try_from = "HistogramWire")]
pub struct LatencyHistogram {
    counts: [u64; BIN_COUNT],
    total: u64,
    /// Smallest and largest value recorded; +∞ and −∞ while empty, so that
    /// `min`/`max` need no special case when recording or merging.
    min_ms: f64,
    max_ms: f64,
}

/// A histogram as it travels from the engine's worker to the page (JSON has no ±∞).
#[derive(serde::Serialize, serde::Deserialize)]
struct HistogramWire {
    counts: Vec<u64>,
    range_ms: Option<(f64, f64)>,
}

impl From<LatencyHistogram> for HistogramWire {
    fn from(h: LatencyHistogram) -> Self {
        HistogramWire {
            counts: h.counts.to_vec(),
            range_ms: (h.total > 0).then_some((h.min_ms, h.max_ms)),
        }
    }
}

impl TryFrom<HistogramWire> for LatencyHistogram {
    type Error = String;

    fn try_from(wire: HistogramWire) -> Result<Self, String> {
        let counts: [u64; BIN_COUNT] = wire
            .counts
            .try_into()
            .map_err(|c: Vec<u64>| format!("{} histogram bins, not {BIN_COUNT}", c.len()))?;
        let (min_ms, max_ms) = wire.range_ms.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
        Ok(LatencyHistogram {
            total: counts.iter().sum(),
            counts,
            min_ms,
            max_ms,
        })
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        LatencyHistogram {
            counts: [0; BIN_COUNT],
            total: 0,
            min_ms: f64::INFINITY,
            max_ms: f64::NEG_INFINITY,
        }
    }

    /// Counts one latency. NaN and negative values (no meaningful latency) are ignored.
    pub fn record(&mut self, ms: f64) {
        if ms.is_nan() || ms < 0.0 {
            return;
        }
        self.counts[bin_index(ms)] += 1;
        self.total += 1;
        self.min_ms = self.min_ms.min(ms);
        self.max_ms = self.max_ms.max(ms);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The smallest value recorded, exactly.
    pub fn min_ms(&self) -> Option<f64> {
        (self.total > 0).then_some(self.min_ms)
    }

    /// The largest value recorded, exactly.
    pub fn max_ms(&self) -> Option<f64> {
        (self.total > 0).then_some(self.max_ms)
    }

    /// The nearest-rank q-quantile (q in [0, 1], clamped), estimated as the upper
    /// edge of the bin holding that sample, but never above the largest value
    /// recorded. It never underestimates an in-range value, and overestimates it by
    /// less than one bin width. `None` if empty or `q` is NaN.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total == 0 || q.is_nan() {
            return None;
        }
        let rank = nearest_rank(self.total, q);
        let mut at_or_below = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            at_or_below += count;
            if at_or_below >= rank {
                return Some(bin_edge_ms(index + 1).min(self.max_ms));
            }
        }
        unreachable!("the bin counts add up to the total")
    }

    /// Every bin, empty ones included, from the fastest to the slowest.
    pub fn bins(&self) -> impl ExactSizeIterator<Item = Bin> + '_ {
        self.counts.iter().enumerate().map(|(index, &count)| Bin {
            lower_ms: bin_edge_ms(index),
            upper_ms: bin_edge_ms(index + 1),
            count,
        })
    }

    /// The indices of the first and last non-empty bins (into [`Self::bins`]), so a
    /// chart can zoom to the part of the axis that has data. `None` if empty.
    pub fn occupied(&self) -> Option<(usize, usize)> {
        let first = self.counts.iter().position(|&count| count > 0)?;
        let last = self.counts.iter().rposition(|&count| count > 0)?;
        Some((first, last))
    }

    /// The largest count in any one bin: the height of the chart's y axis.
    pub fn max_count(&self) -> u64 {
        self.counts.iter().copied().max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::percentiles::percentile;
    use crate::stats::test_support::Lcg;

    /// The ratio between consecutive edges, and so the worst relative error of a quantile.
    fn bin_ratio() -> f64 {
        10f64.powf(1.0 / BINS_PER_DECADE as f64)
    }

    fn histogram_of(samples: &[f64]) -> LatencyHistogram {
        let mut histogram = LatencyHistogram::new();
        for &ms in samples {
            histogram.record(ms);
        }
        histogram
    }

    fn bin_of_single(ms: f64) -> usize {
        histogram_of(&[ms]).occupied().unwrap().0
    }

    #[test]
    fn the_constants_agree() {
        assert_eq!(DECADE_EDGES_MS[0], MIN_MS);
        assert_eq!(DECADE_EDGES_MS[DECADES], MAX_MS);
        assert_eq!(BIN_COUNT, 140);
        assert_eq!(LatencyHistogram::new().bins().len(), BIN_COUNT);
    }

    #[test]
    fn edges_grow_by_the_twentieth_root_of_ten() {
        for index in 0..BIN_COUNT {
            let ratio = bin_edge_ms(index + 1) / bin_edge_ms(index);
            assert!(
                (ratio - bin_ratio()).abs() < 1e-12,
                "bin {index}: ratio {ratio}"
            );
        }
        assert_eq!(bin_edge_ms(0), MIN_MS);
        assert_eq!(bin_edge_ms(BIN_COUNT), MAX_MS);
        // Decades land on round numbers.
        assert_eq!(bin_edge_ms(40), 1.0);
        assert_eq!(bin_edge_ms(60), 10.0);
    }

    #[test]
    fn bins_are_contiguous() {
        let histogram = LatencyHistogram::new();
        let bins: Vec<Bin> = histogram.bins().collect();
        for pair in bins.windows(2) {
            assert_eq!(pair[0].upper_ms, pair[1].lower_ms);
        }
    }

    #[test]
    fn a_value_on_an_edge_goes_to_the_upper_bin() {
        for index in 0..BIN_COUNT {
            let edge = bin_edge_ms(index);
            assert_eq!(bin_of_single(edge), index, "edge {edge}");
            // The largest value below the edge stays in the bin beneath.
            if index > 0 {
                assert_eq!(bin_of_single(edge.next_down()), index - 1, "below {edge}");
            }
        }
        assert_eq!(bin_of_single(1.0), 40);
        assert_eq!(bin_of_single(0.999), 39);
    }

    #[test]
    fn bins_report_what_was_recorded() {
        let histogram = histogram_of(&[1.0, 1.05, 1.2, 50.0]);
        let bins: Vec<Bin> = histogram.bins().collect();
        assert_eq!(bins[40].count, 2, "1.0 and 1.05 share the bin [1, 1.122)");
        assert_eq!(bins[41].count, 1);
        assert_eq!(bins.iter().map(|bin| bin.count).sum::<u64>(), 4);
        assert_eq!(histogram.max_count(), 2);
        assert_eq!(histogram.occupied(), Some((40, bin_of_single(50.0))));
    }

    #[test]
    fn out_of_range_values_go_to_the_end_bins() {
        let histogram = histogram_of(&[0.0, 0.000_1, 0.009_9, MAX_MS, 1e9, f64::INFINITY]);
        assert_eq!(histogram.count(), 6);
        assert_eq!(histogram.occupied(), Some((0, BIN_COUNT - 1)));
        let bins: Vec<Bin> = histogram.bins().collect();
        assert_eq!(bins[0].count, 3);
        assert_eq!(bins[BIN_COUNT - 1].count, 3);
        // Quantiles saturate at the top of the range...
        assert_eq!(histogram.quantile(1.0), Some(MAX_MS));
        // ...while the exact extremes are kept.
        assert_eq!(histogram.min_ms(), Some(0.0));
        assert_eq!(histogram.max_ms(), Some(f64::INFINITY));
    }

    #[test]
    fn below_range_quantiles_are_clamped_to_the_largest_value() {
        let histogram = histogram_of(&[0.001, 0.002]);
        assert_eq!(histogram.quantile(0.5), Some(0.002));
    }

    #[test]
    fn nan_and_negative_values_are_ignored() {
        let histogram = histogram_of(&[f64::NAN, -1.0, f64::NEG_INFINITY]);
        assert_eq!(histogram, LatencyHistogram::new());
    }

    #[test]
    fn an_empty_histogram_has_no_quantile() {
        let histogram = LatencyHistogram::default();
        assert_eq!(histogram.count(), 0);
        assert_eq!(histogram.quantile(0.5), None);
        assert_eq!(histogram.occupied(), None);
        assert_eq!(histogram.max_count(), 0);
        assert_eq!(histogram.min_ms(), None);
        assert_eq!(histogram.max_ms(), None);
    }

    #[test]
    fn nan_q_has_no_quantile() {
        assert_eq!(histogram_of(&[1.0]).quantile(f64::NAN), None);
    }

    #[test]
    fn a_single_sample_is_every_quantile() {
        let histogram = histogram_of(&[3.3]);
        for q in [0.0, 0.5, 0.99, 1.0] {
            // The bin's upper edge is above 3.3, so the clamp gives the exact value.
            assert_eq!(histogram.quantile(q), Some(3.3));
        }
    }

    #[test]
    fn quantiles_are_within_one_bin_of_the_exact_percentile() {
        let mut rng = Lcg::new(2024);
        let sample_sets: Vec<Vec<f64>> = vec![
            (0..5_000)
                .map(|_| rng.log_uniform(0.02, 50_000.0))
                .collect(),
            (0..5_000).map(|_| rng.uniform(3.0, 40.0)).collect(),
            // A fast mode and a slow tail, like a warm server with occasional GC pauses.
            (0..5_000)
                .map(|i| {
                    if i % 50 == 0 {
                        rng.uniform(200.0, 900.0)
                    } else {
                        rng.uniform(0.5, 2.0)
                    }
                })
                .collect(),
            vec![1.0, 1.0, 1.0, 2.0, 1000.0],
        ];
        let worst_error = bin_ratio() - 1.0;
        for samples in sample_sets {
            let histogram = histogram_of(&samples);
            let mut sorted = samples.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            for q in [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0] {
                let exact = percentile(&sorted, q).unwrap();
                let estimate = histogram.quantile(q).unwrap();
                let error = (estimate - exact) / exact;
                assert!(
                    (0.0..=worst_error + 1e-12).contains(&error),
                    "q = {q}: exact {exact}, estimate {estimate}, error {error}"
                );
            }
        }
        assert!((worst_error - 0.122).abs() < 0.001);
    }

    #[test]
    fn a_large_run_costs_nothing_extra() {
        let mut rng = Lcg::new(1);
        let mut histogram = LatencyHistogram::new();
        for _ in 0..100_000 {
            histogram.record(rng.log_uniform(0.1, 500.0));
        }
        assert_eq!(histogram.count(), 100_000);
        assert_eq!(histogram.bins().len(), BIN_COUNT);
        assert_eq!(histogram.bins().map(|bin| bin.count).sum::<u64>(), 100_000);
    }
}
