//! A downsampled series over run time, for the "latency over time" and "throughput
//! over time" charts.
//!
//! The series has a fixed number of equal-width buckets starting at time 0. When a
//! sample arrives past the last bucket, the bucket width doubles and adjacent pairs
//! merge, so however long a run lasts, memory and drawing cost stay bounded by the
//! capacity while the whole run stays on screen.

/// Everything recorded in one interval of run time: [`start_ms`, `start_ms` + width).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "BucketWire", from = "BucketWire")]
pub struct Bucket {
    pub start_ms: f64,
    /// Successful samples (those with a value).
    pub count: u64,
    pub errors: u64,
    /// Sum, minimum and maximum of the values. While `count` is 0, `min` is +∞ and
    /// `max` is −∞ (the identities of min and max), so buckets merge without special cases.
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

/// A bucket as it travels from the engine's worker to the page (JSON has no ±∞):
/// start, count, errors, sum, and min and max when it holds a value.
#[derive(serde::Serialize, serde::Deserialize)]
struct BucketWire(f64, u64, u64, f64, Option<(f64, f64)>);

impl From<Bucket> for BucketWire {
    fn from(b: Bucket) -> Self {
        BucketWire(
            b.start_ms,
            b.count,
            b.errors,
            b.sum,
            (b.count > 0).then_some((b.min, b.max)),
        )
    }
}

impl From<BucketWire> for Bucket {
    fn from(BucketWire(start_ms, count, errors, sum, range): BucketWire) -> Self {
        let (min, max) = range.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
        Bucket {
            start_ms,
            count,
            errors,
            sum,
            min,
            max,
        }
    }
}

impl Bucket {
    fn empty(start_ms: f64) -> Self {
        Bucket {
            start_ms,
            count: 0,
            errors: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// The mean value, or `None` if the bucket holds no value.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    fn absorb(&mut self, other: &Bucket) {
        self.count += other.count;
        self.errors += other.errors;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimeSeries {
    capacity: usize,
    width_ms: f64,
    /// Bucket `i` covers [i·width, (i+1)·width); the vector ends at the last bucket
    /// touched, so it is never longer than `capacity`.
    buckets: Vec<Bucket>,
}

impl TimeSeries {
    /// A series of at most `capacity` buckets, each `initial_width_ms` wide to begin
    /// with. A capacity below 2 is raised to 2 (with one bucket, doubling would never
    /// make room), and a width that is not a positive finite number becomes 1 ms.
    pub fn new(capacity: usize, initial_width_ms: f64) -> Self {
        let initial_width_ms = if initial_width_ms.is_finite() && initial_width_ms > 0.0 {
            initial_width_ms
        } else {
            1.0
        };
        let capacity = capacity.max(2);
        TimeSeries {
            capacity,
            width_ms: initial_width_ms,
            buckets: Vec::with_capacity(capacity),
        }
    }

    /// Records a value (a latency, say) at `t_ms` milliseconds since the run started.
    /// A NaN value, or a `t_ms` that is not finite, is ignored; a negative `t_ms` counts as 0.
    pub fn record(&mut self, t_ms: f64, value: f64) {
        if value.is_nan() {
            return;
        }
        if let Some(bucket) = self.bucket_at(t_ms) {
            bucket.count += 1;
            bucket.sum += value;
            bucket.min = bucket.min.min(value);
            bucket.max = bucket.max.max(value);
        }
    }

    /// Counts a failed request at `t_ms`; it has no value, only a place in time.
    pub fn record_error(&mut self, t_ms: f64) {
        if let Some(bucket) = self.bucket_at(t_ms) {
            bucket.errors += 1;
        }
    }

    /// The current width of every bucket.
    pub fn width_ms(&self) -> f64 {
        self.width_ms
    }

    /// The buckets from time 0 up to the last one touched, untouched ones included
    /// (as empty buckets), in time order. The last one usually covers a stretch of
    /// time that has not fully passed yet.
    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// Requests per second (successes and errors) over a bucket's full width.
    /// For the last, still filling bucket this understates the rate.
    pub fn rate_per_second(&self, bucket: &Bucket) -> f64 {
        (bucket.count + bucket.errors) as f64 * 1000.0 / self.width_ms
    }

    /// The bucket covering `t_ms`, widening the buckets until one does.
    fn bucket_at(&mut self, t_ms: f64) -> Option<&mut Bucket> {
        if !t_ms.is_finite() {
            return None;
        }
        let t_ms = t_ms.max(0.0);
        let mut index = (t_ms / self.width_ms) as usize;
        while index >= self.capacity {
            self.double_width();
            index = (t_ms / self.width_ms) as usize;
        }
        while self.buckets.len() <= index {
            let start_ms = self.buckets.len() as f64 * self.width_ms;
            self.buckets.push(Bucket::empty(start_ms));
        }
        Some(&mut self.buckets[index])
    }

    /// Doubles the bucket width, merging buckets 2i and 2i+1 into bucket i.
    fn double_width(&mut self) {
        self.width_ms *= 2.0;
        let merged_len = self.buckets.len().div_ceil(2);
        for index in 0..merged_len {
            let mut merged = self.buckets[2 * index];
            if let Some(second) = self.buckets.get(2 * index + 1) {
                merged.absorb(second);
            }
            merged.start_ms = index as f64 * self.width_ms;
            self.buckets[index] = merged;
        }
        self.buckets.truncate(merged_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::Lcg;

    fn totals(series: &TimeSeries) -> (u64, u64, f64, f64, f64) {
        let buckets = series.buckets();
        (
            buckets.iter().map(|b| b.count).sum(),
            buckets.iter().map(|b| b.errors).sum(),
            buckets.iter().map(|b| b.sum).sum(),
            buckets.iter().map(|b| b.min).fold(f64::INFINITY, f64::min),
            buckets
                .iter()
                .map(|b| b.max)
                .fold(f64::NEG_INFINITY, f64::max),
        )
    }

    #[test]
    fn samples_land_in_the_right_bucket() {
        let mut series = TimeSeries::new(10, 100.0);
        series.record(0.0, 1.0);
        series.record(99.9, 3.0);
        series.record(100.0, 5.0); // On the boundary: the later bucket.
        series.record(350.0, 7.0);
        let buckets = series.buckets();
        assert_eq!(buckets.len(), 4);
        assert_eq!(buckets[0].count, 2);
        assert_eq!(buckets[0].mean(), Some(2.0));
        assert_eq!(buckets[1].count, 1);
        assert_eq!(buckets[1].start_ms, 100.0);
        assert_eq!(
            buckets[2].count, 0,
            "untouched buckets in between are empty"
        );
        assert_eq!(buckets[2].mean(), None);
        assert_eq!(buckets[3].count, 1);
        assert_eq!(buckets[3].start_ms, 300.0);
        assert_eq!(series.width_ms(), 100.0);
    }

    #[test]
    fn buckets_end_at_the_last_one_touched() {
        let mut series = TimeSeries::new(8, 10.0);
        assert!(series.buckets().is_empty());
        series.record(35.0, 1.0);
        assert_eq!(series.buckets().len(), 4);
        series.record(5.0, 1.0);
        assert_eq!(
            series.buckets().len(),
            4,
            "an earlier sample adds no bucket"
        );
    }

    #[test]
    fn errors_are_counted_without_a_value() {
        let mut series = TimeSeries::new(4, 10.0);
        series.record_error(12.0);
        series.record_error(13.0);
        series.record(14.0, 2.0);
        let bucket = series.buckets()[1];
        assert_eq!((bucket.count, bucket.errors), (1, 2));
        assert_eq!(bucket.mean(), Some(2.0));
        series.record_error(25.0);
        assert_eq!(series.buckets()[2].mean(), None);
    }

    #[test]
    fn running_past_the_end_doubles_the_width_and_merges_pairs() {
        let mut series = TimeSeries::new(4, 10.0);
        series.record(5.0, 1.0);
        series.record(15.0, 2.0);
        series.record_error(16.0);
        series.record(25.0, 3.0);
        series.record(35.0, 4.0);
        series.record(36.0, 6.0);
        let before = totals(&series);

        series.record(45.0, 10.0);
        assert_eq!(series.width_ms(), 20.0);
        let buckets = series.buckets();
        assert_eq!(buckets.len(), 3);
        assert_eq!(buckets[0].start_ms, 0.0);
        assert_eq!((buckets[0].count, buckets[0].errors), (2, 1));
        assert_eq!(
            (buckets[0].sum, buckets[0].min, buckets[0].max),
            (3.0, 1.0, 2.0)
        );
        assert_eq!(buckets[1].start_ms, 20.0);
        assert_eq!((buckets[1].count, buckets[1].errors), (3, 0));
        assert_eq!(
            (buckets[1].sum, buckets[1].min, buckets[1].max),
            (13.0, 3.0, 6.0)
        );
        assert_eq!(buckets[2].start_ms, 40.0);
        assert_eq!((buckets[2].count, buckets[2].sum), (1, 10.0));

        let after = totals(&series);
        assert_eq!(
            after,
            (before.0 + 1, before.1, before.2 + 10.0, before.3, 10.0)
        );
    }

    #[test]
    fn an_odd_bucket_count_merges_the_last_bucket_alone() {
        let mut series = TimeSeries::new(3, 10.0);
        series.record(5.0, 1.0);
        series.record(15.0, 2.0);
        series.record(25.0, 3.0);
        series.record(30.0, 4.0); // Past 3 × 10 ms: widths become 20 ms.
        let buckets = series.buckets();
        assert_eq!(series.width_ms(), 20.0);
        assert_eq!(buckets.len(), 2);
        assert_eq!((buckets[0].count, buckets[0].sum), (2, 3.0));
        assert_eq!((buckets[1].count, buckets[1].sum), (2, 7.0));
        assert_eq!((buckets[1].min, buckets[1].max), (3.0, 4.0));
    }

    #[test]
    fn a_far_jump_doubles_as_often_as_needed() {
        let mut series = TimeSeries::new(4, 1.0);
        series.record(0.5, 1.0);
        series.record(1_000.0, 2.0);
        // The first doubling of 1 ms at which 4 buckets reach past 1000 ms is
        // 256 ms (4 × 256 = 1024), which puts 1000 ms in the last bucket.
        assert_eq!(series.width_ms(), 256.0);
        assert_eq!(series.buckets().len(), 4);
        assert_eq!(series.buckets()[0].count, 1);
        assert_eq!(series.buckets()[3].count, 1);
    }

    #[test]
    fn many_samples_over_a_long_run_stay_within_capacity() {
        let capacity = 120;
        let mut series = TimeSeries::new(capacity, 100.0);
        let mut rng = Lcg::new(5);
        let mut expected_sum = 0.0;
        let mut expected_max = f64::NEG_INFINITY;
        // 100,000 requests over ten hours, arriving in order, about 1 % of them failing.
        for i in 0..100_000 {
            let t_ms = f64::from(i) * 360.0;
            if i % 97 == 0 {
                series.record_error(t_ms);
            } else {
                let latency = rng.log_uniform(0.5, 300.0);
                expected_sum += latency;
                expected_max = expected_max.max(latency);
                series.record(t_ms, latency);
            }
            assert!(series.buckets().len() <= capacity);
        }
        let (count, errors, sum, _, max) = totals(&series);
        assert_eq!(count + errors, 100_000);
        assert_eq!(errors, 1031);
        // Merging sums in a different order than the loop: equal up to rounding.
        assert!((sum - expected_sum).abs() <= expected_sum * 1e-9);
        assert_eq!(max, expected_max);
        assert!(series.buckets().len() <= capacity);
        // The whole run is still on screen.
        let last = series.buckets().last().unwrap();
        assert!(last.start_ms + series.width_ms() > 99_999.0 * 360.0);
    }

    #[test]
    fn rate_counts_successes_and_errors_per_second() {
        let mut series = TimeSeries::new(10, 500.0);
        for i in 0..5 {
            series.record(f64::from(i) * 10.0, 1.0);
        }
        series.record_error(60.0);
        let bucket = series.buckets()[0];
        assert_eq!(series.rate_per_second(&bucket), 12.0);
        assert_eq!(series.rate_per_second(&Bucket::empty(0.0)), 0.0);
    }

    #[test]
    fn rate_follows_the_current_width() {
        let mut series = TimeSeries::new(2, 1_000.0);
        series.record(0.0, 1.0);
        series.record(1_500.0, 1.0);
        series.record(2_500.0, 1.0); // Doubles to 2 s buckets.
        let first = series.buckets()[0];
        assert_eq!(first.count, 2);
        assert_eq!(series.rate_per_second(&first), 1.0);
    }

    #[test]
    fn invalid_times_and_values_are_ignored() {
        let mut series = TimeSeries::new(4, 10.0);
        series.record(f64::NAN, 1.0);
        series.record(f64::INFINITY, 1.0);
        series.record_error(f64::NAN);
        series.record(5.0, f64::NAN);
        assert!(series.buckets().is_empty());
        assert_eq!(series.width_ms(), 10.0);
        series.record(-3.0, 1.0);
        assert_eq!(series.buckets()[0].count, 1, "negative times count as 0");
    }

    #[test]
    fn nonsensical_parameters_are_corrected() {
        let series = TimeSeries::new(0, 0.0);
        assert_eq!(series.width_ms(), 1.0);
        assert_eq!(TimeSeries::new(5, f64::NAN).width_ms(), 1.0);
        assert_eq!(TimeSeries::new(5, -4.0).width_ms(), 1.0);
    }
}
