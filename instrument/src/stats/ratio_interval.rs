//! Is a difference between the protocols real? The ratio of two samples' typical
//! values (gRPC-Web's latencies to REST's, say) with a distribution-free confidence
//! interval: the Hodges–Lehmann estimator on logarithms. For figures whose mean is what
//! counts, [`ratio_of_means`] (delta method).
//!
//! On logs a ratio is a shift: the estimate is the median of every pairwise difference
//! `ln a_i − ln b_j`, and its interval runs between two order statistics of those
//! differences, chosen from the Mann–Whitney statistic's distribution (normal
//! approximation, as for any sample the lab collects). It assumes only that the two
//! samples differ by a factor, makes no assumption of normality, and is not swayed by
//! a few outliers, which latencies always have. An interval that includes 1 means no
//! measurable difference.
//!
//! The `m·n` differences are never stored: the k-th smallest is found by bisecting on
//! its value while counting, in one linear pass over both sorted samples, how many
//! differences lie below. Cost: sorting plus ~100 passes of `m + n`, fine for runs of
//! 100,000 samples a side.

/// A ratio with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioEstimate {
    /// The Hodges–Lehmann estimate of `a : b`.
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
}

impl RatioEstimate {
    /// Whether the interval includes 1: then the samples show no measurable difference.
    pub fn includes_one(&self) -> bool {
        self.low <= 1.0 && 1.0 <= self.high
    }
}

/// The standard normal quantile `Φ⁻¹(p)` for `0 < p < 1` (Acklam's rational
/// approximation, relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The ratio of `a`'s mean to `b`'s with its two-sided `confidence` interval, for
/// figures whose mean is what counts (mean latency, and throughput at a fixed
/// concurrency, which is its inverse by Little's law). The delta method on the log of
/// the ratio: `ln(ā/b̄) ± t·√(s_a²/(n_a·ā²) + s_b²/(n_b·b̄²))`, with the t quantile of the
/// smaller sample. `None` unless both samples have two values and positive means.
pub fn ratio_of_means(a: &[f64], b: &[f64], confidence: f64) -> Option<RatioEstimate> {
    use super::sample_interval::{mean_and_standard_error, t_quantile};
    let ((mean_a, se_a), (mean_b, se_b)) =
        (mean_and_standard_error(a)?, mean_and_standard_error(b)?);
    if mean_a <= 0.0 || mean_b <= 0.0 {
        return None;
    }
    let log_se = ((se_a / mean_a).powi(2) + (se_b / mean_b).powi(2)).sqrt();
    let t = t_quantile(0.5 + confidence / 2.0, (a.len().min(b.len()) - 1) as f64);
    let ratio = mean_a / mean_b;
    Some(RatioEstimate {
        ratio,
        low: ratio * (-t * log_se).exp(),
        high: ratio * (t * log_se).exp(),
    })
}

/// Sorted logarithms of the positive, finite values of `sample` (a zero or a failed
/// measurement has no place on a ratio scale).
fn sorted_logs(sample: &[f64]) -> Vec<f64> {
    let mut logs: Vec<f64> = sample
        .iter()
        .filter(|v| v.is_finite() && **v > 0.0)
        .map(|v| v.ln())
        .collect();
    logs.sort_by(f64::total_cmp);
    logs
}

/// Pairwise differences `x_i − y_j` of two ascending samples, counted and selected
/// without storing them.
struct Differences<'a> {
    x: &'a [f64],
    y: &'a [f64],
}

impl Differences<'_> {
    fn count(&self) -> u64 {
        self.x.len() as u64 * self.y.len() as u64
    }

    /// How many differences are at most `t`, and the largest of them.
    fn at_most(&self, t: f64) -> (u64, f64) {
        // `x_i − y_j ≤ t` ⟺ `y_j ≥ x_i − t`; as `x_i` grows, so does the first such j.
        let (mut first, mut count, mut largest) = (0, 0u64, f64::NEG_INFINITY);
        for &x in self.x {
            while first < self.y.len() && self.y[first] < x - t {
                first += 1;
            }
            if first < self.y.len() {
                count += (self.y.len() - first) as u64;
                largest = largest.max(x - self.y[first]);
            }
        }
        (count, largest)
    }

    /// The `k`-th smallest difference, `1 ≤ k ≤ count()`.
    fn kth(&self, k: u64) -> f64 {
        let (x, y) = (self.x, self.y);
        // Below the smallest difference no difference lies; at the largest, all do.
        let mut low = x[0] - y[y.len() - 1];
        let mut high = x[x.len() - 1] - y[0];
        if self.at_most(low).0 >= k {
            return low;
        }
        for _ in 0..200 {
            let middle = low + (high - low) / 2.0;
            if middle <= low || middle >= high {
                break; // adjacent floats: nothing lies strictly between
            }
            if self.at_most(middle).0 >= k {
                high = middle;
            } else {
                low = middle;
            }
        }
        // At least k differences are at most `high`, fewer than k at most `low`, and no
        // other lies between: the largest one at most `high` is the k-th.
        self.at_most(high).1
    }

    /// The median of all differences.
    fn median(&self) -> f64 {
        let n = self.count();
        if n % 2 == 1 {
            self.kth(n / 2 + 1)
        } else {
            (self.kth(n / 2) + self.kth(n / 2 + 1)) / 2.0
        }
    }
}

/// The Hodges–Lehmann estimate of the ratio of `a`'s typical value to `b`'s, with its
/// two-sided `confidence` interval (e.g. 0.95). `None` when either sample has no
/// positive finite value.
pub fn hodges_lehmann_ratio(a: &[f64], b: &[f64], confidence: f64) -> Option<RatioEstimate> {
    let (x, y) = (sorted_logs(a), sorted_logs(b));
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let differences = Differences { x: &x, y: &y };
    let (m, n) = (x.len() as f64, y.len() as f64);
    let z = normal_quantile(0.5 + confidence / 2.0);
    // The rank of the lower bound among the m·n ordered differences (1-based): the
    // Mann–Whitney statistic's α/2 quantile, from its mean mn/2 and variance
    // mn(m+n+1)/12.
    let count = differences.count();
    let rank = (m * n / 2.0 - z * (m * n * (m + n + 1.0) / 12.0).sqrt()).round();
    let rank = (rank.max(1.0) as u64).min(count);
    Some(RatioEstimate {
        ratio: differences.median().exp(),
        low: differences.kth(rank).exp(),
        high: differences.kth(count + 1 - rank).exp(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance * expected.abs()
    }

    /// A sample whose values spread over a decade, like latencies: `scale` times
    /// `1 + (i·37 mod 101)/25` for i in 0..len.
    fn sample(len: usize, scale: f64) -> Vec<f64> {
        (0..len)
            .map(|i| scale * (1.0 + ((i * 37) % 101) as f64 / 25.0))
            .collect()
    }

    #[test]
    fn normal_quantiles_match_scipy() {
        // python3 -c "from scipy.stats import norm; print([repr(float(norm.ppf(p)))
        //   for p in (0.975, 0.995, 0.01, 0.9)])"   (SciPy 1.17.1)
        let reference = [
            (0.975, 1.959963984540054),
            (0.995, 2.5758293035489004),
            (0.01, -2.3263478740408408),
            (0.9, 1.2815515655446004),
        ];
        for (p, expected) in reference {
            assert!(close(normal_quantile(p), expected, 2e-9), "Φ⁻¹({p})");
        }
        assert!(normal_quantile(0.5).abs() < 1e-12);
        assert!(normal_quantile(0.0).is_nan() && normal_quantile(1.0).is_nan());
    }

    #[test]
    fn matches_a_brute_force_reference_computed_with_numpy_and_scipy() {
        // The reference sorts all m·n differences (NumPy 2.4.6, SciPy 1.17.1):
        //   import numpy as np; from scipy.stats import norm
        //   a = 1.3 * (1 + (np.arange(40) * 37 % 101) / 25)
        //   b = 1.0 * (1 + (np.arange(55) * 53 % 97) / 20)
        //   d = np.sort((np.log(a)[:, None] - np.log(b)[None, :]).ravel())
        //   m, n = len(a), len(b); z = norm.ppf(0.975)
        //   k = int(round(m*n/2 - z*np.sqrt(m*n*(m+n+1)/12)))   # 839.98 -> 840
        //   print(np.exp(np.median(d)), np.exp(d[k-1]), np.exp(d[m*n-k]))
        let (ratio, low, high) = (1.1700000000000002, 0.9750000000000002, 1.4181818181818184);
        let a = sample(40, 1.3);
        let b: Vec<f64> = (0..55)
            .map(|i| 1.0 + ((i * 53) % 97) as f64 / 20.0)
            .collect();
        let estimate = hodges_lehmann_ratio(&a, &b, 0.95).unwrap();
        assert!(close(estimate.ratio, ratio, 1e-12), "{estimate:?}");
        assert!(close(estimate.low, low, 1e-12), "{estimate:?}");
        assert!(close(estimate.high, high, 1e-12), "{estimate:?}");
        assert!(estimate.includes_one());
    }

    #[test]
    fn identical_samples_show_no_difference_and_a_factor_is_found_exactly() {
        let same = hodges_lehmann_ratio(&sample(200, 5.0), &sample(200, 5.0), 0.95).unwrap();
        assert!(close(same.ratio, 1.0, 1e-12));
        assert!(same.includes_one());
        assert!(same.low < 1.0 && same.high > 1.0);

        let doubled = hodges_lehmann_ratio(&sample(300, 2.0), &sample(300, 1.0), 0.95).unwrap();
        assert!(close(doubled.ratio, 2.0, 1e-12));
        assert!(doubled.low <= 2.0 && 2.0 <= doubled.high);
        // More samples, a narrower interval.
        let more = hodges_lehmann_ratio(&sample(3_000, 2.0), &sample(3_000, 1.0), 0.95).unwrap();
        assert!(more.high - more.low < doubled.high - doubled.low);
    }

    /// SciPy 1.17.1's bootstrap (BCa, 20,000 resamples, `random_state=1`) of the ratio of
    /// means, with `a = sample(300, 8.0)` and `b = sample(250, 10.0)` reversed and times
    /// `1 + (i mod 7)/70`: 0.76833 (0.71983–0.82083). The delta method must agree within 1%.
    #[test]
    fn ratio_of_means_agrees_with_scipys_bootstrap() {
        let a = sample(300, 8.0);
        let b: Vec<f64> = sample(250, 10.0)
            .iter()
            .rev()
            .enumerate()
            .map(|(i, v)| v * (1.0 + (i % 7) as f64 / 70.0))
            .collect();
        let estimate = ratio_of_means(&a, &b, 0.95).unwrap();
        assert!(
            close(estimate.ratio, 0.768_334_323_820_020_2, 1e-12),
            "{estimate:?}"
        );
        assert!(
            close(estimate.low, 0.719_830_519_134_344_6, 0.01),
            "{estimate:?}"
        );
        assert!(
            close(estimate.high, 0.820_832_630_091_470_7, 0.01),
            "{estimate:?}"
        );
        assert!(!estimate.includes_one());
        assert_eq!(ratio_of_means(&[1.0], &b, 0.95), None);
    }

    #[test]
    fn outliers_barely_move_the_estimate() {
        let mut a = sample(99, 1.0);
        a.push(1e6);
        let b = sample(100, 1.0);
        let estimate = hodges_lehmann_ratio(&a, &b, 0.95).unwrap();
        assert!(close(estimate.ratio, 1.0, 0.05), "{estimate:?}");
        assert!(estimate.includes_one());
    }

    #[test]
    fn empty_or_unusable_samples_have_no_estimate() {
        assert_eq!(hodges_lehmann_ratio(&[], &[1.0], 0.95), None);
        assert_eq!(
            hodges_lehmann_ratio(&[0.0, -1.0, f64::NAN], &[1.0], 0.95),
            None
        );
        let one_each = hodges_lehmann_ratio(&[3.0], &[1.5], 0.95).unwrap();
        assert!(close(one_each.ratio, 2.0, 1e-12));
        assert_eq!(
            (one_each.low, one_each.high),
            (one_each.ratio, one_each.ratio)
        );
    }

    #[test]
    fn large_runs_are_handled_without_storing_every_difference() {
        // 100,000 a side would be 10^10 differences: selection keeps it linear.
        let estimate =
            hodges_lehmann_ratio(&sample(100_000, 3.0), &sample(100_000, 1.0), 0.95).unwrap();
        assert!(close(estimate.ratio, 3.0, 1e-9));
        assert!(estimate.low <= 3.0 && 3.0 <= estimate.high);
    }
}
