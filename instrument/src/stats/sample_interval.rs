//! How sure one sample's statistic is: a confidence interval for a quantile (the p50 or
//! p99 of a sweep point's latencies) and for a mean. The sweep charts draw them as
//! bands around each point.
//!
//! - **Quantile**: distribution-free, between two order statistics of the sample. The
//!   number of values below the true q-quantile is Binomial(n, q); its normal
//!   approximation gives the ranks `nq ∓ z·√(nq(1−q))` (the upper one plus one), which
//!   are within one rank of the exact binomial interval for the sample sizes of a sweep.
//!   When the sample is too small for a bound (the p99 of 100 values has no upper
//!   bound below the maximum), the bound is the extreme value.
//! - **Mean**: Student's t interval, `mean ± t·s/√n`. Latencies are skewed, but the mean
//!   of 30 or more of them is close to normal; the sweep's points have more.

use super::ratio_interval::normal_quantile;

/// A statistic with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    /// The same estimate with `f` applied to each bound; `f` must be increasing.
    pub fn map(self, f: impl Fn(f64) -> f64) -> Self {
        Self {
            value: f(self.value),
            low: f(self.low),
            high: f(self.high),
        }
    }
}

/// Student's t quantile `t_ν(p)` for `0.5 ≤ p < 1`, from the normal one by the
/// Cornish–Fisher expansion (relative error below 2e-3 from ν = 5, 1e-5 from ν = 19).
pub fn t_quantile(p: f64, degrees_of_freedom: f64) -> f64 {
    let z = normal_quantile(p);
    let v = degrees_of_freedom;
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * v)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v * v * v)
}

/// The `q`-quantile (nearest rank) of an ascending-sorted sample with its two-sided
/// `confidence` interval. `None` for an empty sample.
pub fn quantile_interval(sorted: &[f64], q: f64, confidence: f64) -> Option<Estimate> {
    let value = super::percentiles::percentile(sorted, q)?;
    let n = sorted.len() as f64;
    let z = normal_quantile(0.5 + confidence / 2.0);
    let spread = z * (n * q * (1.0 - q)).sqrt();
    // 1-based ranks, clamped to the sample.
    let at = |rank: f64| sorted[(rank.max(1.0).min(n) as usize) - 1];
    Some(Estimate {
        value,
        low: at((n * q - spread).round()),
        high: at((n * q + spread).round() + 1.0),
    })
}

/// The mean of `values` with its two-sided `confidence` interval; `None` with fewer
/// than two values.
pub fn mean_interval(values: &[f64], confidence: f64) -> Option<Estimate> {
    let (mean, standard_error) = mean_and_standard_error(values)?;
    let t = t_quantile(0.5 + confidence / 2.0, values.len() as f64 - 1.0);
    Some(Estimate {
        value: mean,
        low: mean - t * standard_error,
        high: mean + t * standard_error,
    })
}

/// The mean and its standard error `s/√n`; `None` with fewer than two values.
pub fn mean_and_standard_error(values: &[f64]) -> Option<(f64, f64)> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((mean, (variance / n).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values spread over a decade, like latencies: `scale · (1 + (i·37 mod 101)/25)`.
    fn sample(len: usize, scale: f64) -> Vec<f64> {
        (0..len)
            .map(|i| scale * (1.0 + ((i * 37) % 101) as f64 / 25.0))
            .collect()
    }

    fn sorted(mut values: Vec<f64>) -> Vec<f64> {
        values.sort_by(f64::total_cmp);
        values
    }

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance * expected.abs()
    }

    /// Reference values from SciPy 1.17.1:
    /// `stats.t.ppf(0.975, df)` for df in (5, 19, 99, 1000).
    #[test]
    fn t_quantiles_match_scipy() {
        for (df, expected) in [
            (5.0, 2.570_581_835_636_314_6),
            (19.0, 2.093_024_054_408_308_7),
            (99.0, 1.984_216_951_586_417_4),
            (1000.0, 1.962_339_080_826_408_3),
        ] {
            let t = t_quantile(0.975, df);
            assert!(
                close(t, expected, if df < 10.0 { 2e-3 } else { 1e-5 }),
                "df {df}: {t} vs {expected}"
            );
        }
    }

    /// SciPy's exact binomial interval,
    /// `stats.quantile_test(x, p=q).confidence_interval(0.95)`, with `x = sample(n, 3.0)`:
    /// n=200, q=0.5 → (8.16, 9.84); n=40, q=0.5 → (6.96, 11.04); n=200, q=0.99 → (14.76,
    /// nan: no upper bound from 200 values). Ours must be within one rank of it.
    #[test]
    fn quantile_intervals_are_within_a_rank_of_scipys_exact_ones() {
        let within_a_rank = |values: &[f64], actual: f64, expected: f64| {
            let rank = values.iter().position(|v| *v >= expected - 1e-9).unwrap();
            let neighbours = &values[rank.saturating_sub(1)..(rank + 2).min(values.len())];
            assert!(
                neighbours.iter().any(|v| (v - actual).abs() < 1e-9),
                "{actual} is not within a rank of {expected}"
            );
        };
        let values = sorted(sample(200, 3.0));
        let median = quantile_interval(&values, 0.5, 0.95).unwrap();
        within_a_rank(&values, median.low, 8.16);
        within_a_rank(&values, median.high, 9.84);
        assert!(median.low <= median.value && median.value <= median.high);

        let small = sorted(sample(40, 3.0));
        let median = quantile_interval(&small, 0.5, 0.95).unwrap();
        within_a_rank(&small, median.low, 6.96);
        within_a_rank(&small, median.high, 11.04);

        let p99 = quantile_interval(&values, 0.99, 0.95).unwrap();
        within_a_rank(&values, p99.low, 14.76);
        assert_eq!(
            p99.high,
            *values.last().unwrap(),
            "no bound below the maximum"
        );
    }

    #[test]
    fn a_quantile_interval_narrows_as_the_sample_grows() {
        let width = |n| {
            let e = quantile_interval(&sorted(sample(n, 1.0)), 0.5, 0.95).unwrap();
            e.high - e.low
        };
        assert!(width(2_000) < width(200) / 2.0);
        assert_eq!(quantile_interval(&[], 0.5, 0.95), None);
        let one = quantile_interval(&[4.0], 0.5, 0.95).unwrap();
        assert_eq!((one.low, one.value, one.high), (4.0, 4.0, 4.0));
    }

    /// SciPy: `stats.t.interval(0.95, 49, loc=x.mean(), scale=stats.sem(x))` with
    /// `x = sample(50, 3.0)` → (7.982090951732787, 10.022709048267211).
    #[test]
    fn mean_interval_matches_scipys_t_interval() {
        let estimate = mean_interval(&sample(50, 3.0), 0.95).unwrap();
        assert!(
            close(estimate.low, 7.982_090_951_732_787, 1e-4),
            "{estimate:?}"
        );
        assert!(
            close(estimate.high, 10.022_709_048_267_211, 1e-4),
            "{estimate:?}"
        );
        assert_eq!(mean_interval(&[1.0], 0.95), None);
    }
}
