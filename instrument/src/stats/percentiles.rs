//! Exact percentiles of a set of samples, for the summary table.
//!
//! The definition is *nearest rank*: the q-percentile is the smallest sample value
//! such that at least a fraction `q` of all samples are `<=` it. It always returns one
//! of the samples (never an interpolation), so "p99 = 12 ms" means some request
//! really took 12 ms. q = 0 gives the minimum and q = 1 the maximum.

/// The 1-based rank, in `1..=count`, of the nearest-rank q-percentile among `count`
/// samples: `ceil(q * count)`, at least 1. `count` must be > 0; `q` is clamped to [0, 1].
///
/// `q * count` within a rounding error of a whole number counts as that number, so
/// p99 of 100 samples is the 99th sample even though `0.99 * 100.0` need not be
/// exactly 99 in floating point.
pub fn nearest_rank(count: u64, q: f64) -> u64 {
    let exact = q.clamp(0.0, 1.0) * count as f64;
    // The rounding error of `q * count` is a few ulps; 1e-12 relative is far above it
    // yet far below the gap to the next rank for any realistic count.
    let rank = (exact - exact * 1e-12).ceil() as u64;
    rank.clamp(1, count.max(1))
}

/// Nearest-rank percentile of an ascending-sorted slice; q in [0, 1] (clamped).
/// `None` if the slice is empty or `q` is NaN.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || q.is_nan() {
        return None;
    }
    let rank = nearest_rank(sorted.len() as u64, q);
    Some(sorted[rank as usize - 1])
}

/// The summary of one run's latencies, as the table shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distribution {
    pub count: usize,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Distribution {
    /// Summarises `samples` (any order; NaN ignored). Sorts a copy, so this costs
    /// O(n log n): meant for the table at the end of a run, not for every frame.
    /// `None` if there is no sample left.
    pub fn from_samples(samples: &[f64]) -> Option<Distribution> {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| !v.is_nan()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_unstable_by(f64::total_cmp);
        let at = |q| percentile(&sorted, q).expect("not empty");
        Some(Distribution {
            count: sorted.len(),
            min: sorted[0],
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            p999: at(0.999),
            max: sorted[sorted.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::Lcg;

    /// The definition taken literally, in exact integer arithmetic and without
    /// sorting: the smallest sample `v` with `count(x <= v) / n >= numerator / denominator`.
    fn reference_percentile(samples: &[f64], numerator: u64, denominator: u64) -> f64 {
        let n = samples.len() as u64;
        samples
            .iter()
            .copied()
            .filter(|&v| {
                let at_or_below = samples.iter().filter(|&&x| x <= v).count() as u64;
                at_or_below * denominator >= numerator * n
            })
            .fold(f64::INFINITY, f64::min)
    }

    fn sorted_copy(samples: &[f64]) -> Vec<f64> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        sorted
    }

    /// Percentiles as fractions, including awkward ones (1/3 is inexact in binary).
    const QUANTILES: [(u64, u64); 12] = [
        (0, 1),
        (1, 1000),
        (1, 100),
        (1, 4),
        (1, 3),
        (1, 2),
        (2, 3),
        (3, 4),
        (9, 10),
        (99, 100),
        (999, 1000),
        (1, 1),
    ];

    fn sample_sets() -> Vec<Vec<f64>> {
        let mut rng = Lcg::new(42);
        let mut sets = vec![
            vec![3.0, 1.0, 2.0],
            vec![10.0, 20.0],
            vec![5.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0],
        ];
        for len in [1, 2, 7, 100, 300, 1000, 1001] {
            sets.push((0..len).map(|_| rng.uniform(0.0, 1000.0)).collect());
            sets.push((0..len).map(|_| rng.log_uniform(0.05, 5000.0)).collect());
            // Many ties: the definition must pick the right copy of a repeated value.
            sets.push((0..len).map(|_| (rng.next_unit() * 10.0).floor()).collect());
        }
        sets
    }

    #[test]
    fn matches_the_reference_on_many_sample_sets() {
        for samples in sample_sets() {
            let sorted = sorted_copy(&samples);
            for (numerator, denominator) in QUANTILES {
                let q = numerator as f64 / denominator as f64;
                assert_eq!(
                    percentile(&sorted, q),
                    Some(reference_percentile(&samples, numerator, denominator)),
                    "q = {numerator}/{denominator}, n = {}",
                    samples.len()
                );
            }
        }
    }

    #[test]
    fn empty_input_has_no_percentile() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[], 0.0), None);
        assert_eq!(Distribution::from_samples(&[]), None);
        assert_eq!(Distribution::from_samples(&[f64::NAN, f64::NAN]), None);
    }

    #[test]
    fn nan_q_has_no_percentile() {
        assert_eq!(percentile(&[1.0, 2.0], f64::NAN), None);
    }

    #[test]
    fn a_single_sample_is_every_percentile() {
        for q in [0.0, 0.001, 0.5, 0.99, 1.0] {
            assert_eq!(percentile(&[7.5], q), Some(7.5));
        }
    }

    #[test]
    fn all_equal_samples_give_that_value() {
        let samples = [4.25; 50];
        for q in [0.0, 0.1, 0.5, 0.999, 1.0] {
            assert_eq!(percentile(&samples, q), Some(4.25));
        }
    }

    #[test]
    fn q_zero_is_the_minimum_and_q_one_the_maximum() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&sorted, 0.0), Some(1.0));
        assert_eq!(percentile(&sorted, 1.0), Some(4.0));
    }

    #[test]
    fn q_outside_zero_to_one_is_clamped() {
        let sorted = [1.0, 2.0, 3.0];
        assert_eq!(percentile(&sorted, -0.5), Some(1.0));
        assert_eq!(percentile(&sorted, 7.0), Some(3.0));
    }

    #[test]
    fn nearest_rank_is_exact_at_whole_numbers() {
        assert_eq!(nearest_rank(100, 0.99), 99);
        assert_eq!(nearest_rank(1000, 0.999), 999);
        assert_eq!(nearest_rank(10, 0.9), 9);
        assert_eq!(nearest_rank(300, 1.0 / 3.0), 100);
        assert_eq!(nearest_rank(4, 0.5), 2);
        // Just past a whole number the rank moves up.
        assert_eq!(nearest_rank(4, 0.51), 3);
        assert_eq!(nearest_rank(5, 0.0), 1);
        assert_eq!(nearest_rank(5, 1.0), 5);
    }

    #[test]
    fn distribution_summarises_unsorted_samples() {
        // 1..=1000 shuffled deterministically.
        let mut samples: Vec<f64> = (1..=1000).map(f64::from).collect();
        let mut rng = Lcg::new(7);
        for i in (1..samples.len()).rev() {
            let j = (rng.next_unit() * (i + 1) as f64) as usize;
            samples.swap(i, j);
        }
        let summary = Distribution::from_samples(&samples).unwrap();
        assert_eq!(
            summary,
            Distribution {
                count: 1000,
                min: 1.0,
                mean: 500.5,
                p50: 500.0,
                p90: 900.0,
                p99: 990.0,
                p999: 999.0,
                max: 1000.0,
            }
        );
    }

    #[test]
    fn distribution_ignores_nan_and_keeps_the_input_untouched() {
        let samples = [3.0, f64::NAN, 1.0, 2.0];
        let summary = Distribution::from_samples(&samples).unwrap();
        assert_eq!(summary.count, 3);
        assert_eq!((summary.min, summary.mean, summary.max), (1.0, 2.0, 3.0));
        assert_eq!(summary.p50, 2.0);
        assert_eq!(samples[0], 3.0);
    }

    #[test]
    fn distribution_of_one_sample() {
        let summary = Distribution::from_samples(&[0.25]).unwrap();
        assert_eq!(summary.count, 1);
        for value in [
            summary.min,
            summary.mean,
            summary.p50,
            summary.p90,
            summary.p99,
            summary.p999,
            summary.max,
        ] {
            assert_eq!(value, 0.25);
        }
    }
}
