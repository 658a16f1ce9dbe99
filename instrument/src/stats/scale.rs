//! Axis scales and value formatting for the SVG charts and the summary table.
//!
//! A scale maps a data interval (the domain) onto a pixel interval (the range). The
//! range may run backwards, as SVG y axes do (`(height, 0.0)`: larger values higher up).
//! Degenerate domains (a single value) map to the middle of the range instead of
//! dividing by zero, so a chart of one sample still draws.

/// Maps a domain linearly onto a range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearScale {
    domain: (f64, f64),
    range: (f64, f64),
}

impl LinearScale {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        LinearScale { domain, range }
    }

    /// The position of `v`; values outside the domain extrapolate past the range.
    pub fn apply(&self, v: f64) -> f64 {
        interpolate(self.domain, self.range, v)
    }

    /// About `approx` evenly spaced ticks, every one a multiple of a "nice" step
    /// (1, 2 or 5 × 10^k) and inside the domain, in ascending order. A degenerate
    /// domain gets its single value; a non-finite one gets none.
    pub fn ticks(&self, approx: usize) -> Vec<f64> {
        let (low, high) = ascending(self.domain);
        if !(low.is_finite() && high.is_finite()) {
            return Vec::new();
        }
        if low == high {
            return vec![low];
        }
        // Capped, so a silly request cannot allocate millions of ticks.
        let approx = approx.clamp(1, 1000);
        let Some(step) = NiceStep::for_span(high - low, approx) else {
            return Vec::new();
        };
        // Round, then check against the exact tick values: dividing by the step can
        // land a hair off a whole number and drop (or add) a tick on the boundary.
        let mut first = (low / step.size()).round() as i64;
        if step.multiple(first) < low {
            first += 1;
        }
        let mut last = (high / step.size()).round() as i64;
        if step.multiple(last) > high {
            last -= 1;
        }
        (first..=last)
            .map(|multiple| step.multiple(multiple))
            .collect()
    }
}

/// Where `value` sits among a sweep's `values`, from 0 to 1: on a log scale between
/// the smallest and the largest when they are numbers spread over decades (counts,
/// concurrencies), else evenly by its place in the list. A single value sits at 0.5.
pub fn sweep_position(logarithmic: bool, values: &[u32], value: u32) -> f64 {
    if logarithmic {
        let log = |v: u32| f64::from(v.max(1)).log10();
        let low = values
            .iter()
            .copied()
            .map(log)
            .fold(f64::INFINITY, f64::min);
        let high = values
            .iter()
            .copied()
            .map(log)
            .fold(f64::NEG_INFINITY, f64::max);
        return if high > low {
            (log(value) - low) / (high - low)
        } else {
            0.5
        };
    }
    match (values.iter().position(|v| *v == value), values.len()) {
        (Some(i), n) if n > 1 => i as f64 / (n - 1) as f64,
        _ => 0.5,
    }
}

/// The smallest "nice" number (1, 2 or 5 × 10^k) that is at least `v`: a round top
/// for a y axis. Zero, negative and NaN values give 1.0; infinity stays infinity.
pub fn nice_ceiling(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 {
        return 1.0;
    }
    if v.is_infinite() {
        return v;
    }
    // Start a decade low, in case log10 rounds up at an exact power of ten.
    let mut power = v.log10().floor() as i32 - 1;
    loop {
        for multiplier in [1.0, 2.0, 5.0] {
            let candidate = scaled_power_of_ten(multiplier, power);
            if candidate >= v {
                return candidate;
            }
        }
        power += 1;
    }
}

/// Decimals that tell apart ticks `step` apart: 0 for steps of 1 and more, 1 for
/// 0.5 or 0.2, 2 for 0.05. A tick label with fewer would repeat ("0 s, 0 s, 1 s").
pub fn decimals_for_step(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    // The epsilon keeps 0.1, whose log10 may come out a hair below -1, at 1 decimal.
    (-(step.log10() + 1e-9).floor()).clamp(0.0, 12.0) as usize
}

/// A run time in ms as seconds, with the precision of the axis' tick step.
pub fn format_seconds(ms: f64, step_ms: f64) -> String {
    let decimals = decimals_for_step(step_ms / 1_000.0);
    format!("{:.*} s", decimals, ms / 1_000.0)
}

/// A rate per second, with the precision of the axis' tick step.
pub fn format_per_second(rate: f64, step: f64) -> String {
    format!("{:.*}/s", decimals_for_step(step), rate)
}

/// A latency for people: about two significant digits in milliseconds ("0.042 ms",
/// "4.2 ms", "42 ms", "420 ms"), three in seconds from one second up ("4.20 s").
pub fn format_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return format_non_finite(ms, " ms");
    }
    if ms == 0.0 {
        return "0 ms".to_owned();
    }
    // Decide on the rounded value, so 999.7 ms reads "1.00 s", not "1000 ms".
    if ms.abs().round() >= 1000.0 {
        return format!("{} s", format_significant(ms / 1000.0, 3, 2));
    }
    format!("{} ms", format_significant(ms, 2, 4))
}

/// A size in bytes, with binary prefixes: "512 B", "1.5 KiB", "23.4 KiB", "2.3 MiB".
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if !bytes.is_finite() {
        return format_non_finite(bytes, " B");
    }
    if bytes.abs().round() < 1024.0 {
        return format!("{bytes:.0} B");
    }
    let mut value = bytes / 1024.0;
    for (index, unit) in UNITS.iter().enumerate() {
        // One decimal below 100 ("1.5 KiB", "23.4 KiB"), none above ("150 KiB").
        let text = format_significant(value, 3, 1);
        // Rounding may reach 1024 ("1024 KiB"): that is the next unit's "1.0".
        let rounded: f64 = text.parse().unwrap_or(value);
        if rounded.abs() < 1024.0 || index == UNITS.len() - 1 {
            return format!("{text} {unit}");
        }
        value /= 1024.0;
    }
    unreachable!("the last unit always returns")
}

/// A ratio between two measurements, to three significant digits (at most two
/// decimals): "1.00×", "0.42×", "12.3×", "150×".
pub fn format_ratio(r: f64) -> String {
    if !r.is_finite() {
        return format_non_finite(r, "×");
    }
    format!("{}×", format_significant(r, 3, 2))
}

/// "—" for NaN (no value to show), "∞" and "−∞" with the unit for infinities.
fn format_non_finite(v: f64, unit: &str) -> String {
    if v.is_nan() {
        "—".to_owned()
    } else if v > 0.0 {
        format!("∞{unit}")
    } else {
        format!("−∞{unit}")
    }
}

/// `value` with `significant` significant digits, but never more than `max_decimals`
/// decimals nor fewer than none (so 420 with two significant digits is "420").
pub fn format_significant(value: f64, significant: i32, max_decimals: usize) -> String {
    let decimals_for = |magnitude: f64| -> usize {
        if magnitude == 0.0 {
            return max_decimals;
        }
        let integer_digits = magnitude.log10().floor() as i32 + 1;
        (significant - integer_digits).clamp(0, max_decimals as i32) as usize
    };
    let decimals = decimals_for(value.abs());
    let text = format!("{value:.decimals$}");
    // Rounding can carry into a new digit (9.96 → "10.0"); count digits of the rounded
    // value, or the result would show one digit too many.
    let rounded: f64 = text.parse().unwrap_or(value);
    let rounded_decimals = decimals_for(rounded.abs());
    if rounded_decimals < decimals {
        format!("{value:.rounded_decimals$}")
    } else {
        text
    }
}

/// The linear map taking `from` onto `to`, or the middle of `to` if `from` is a
/// single point.
fn interpolate(from: (f64, f64), to: (f64, f64), v: f64) -> f64 {
    let span = from.1 - from.0;
    if span == 0.0 {
        return (to.0 + to.1) / 2.0;
    }
    to.0 + (v - from.0) / span * (to.1 - to.0)
}

fn ascending((a, b): (f64, f64)) -> (f64, f64) {
    if a <= b { (a, b) } else { (b, a) }
}

/// `multiplier × 10^power`, computed so that it equals the decimal literal (0.2, not
/// 0.20000000000000004): dividing by an exact power of ten rounds correctly.
fn scaled_power_of_ten(multiplier: f64, power: i32) -> f64 {
    if power >= 0 {
        multiplier * 10f64.powi(power)
    } else {
        multiplier / 10f64.powi(-power)
    }
}

/// A tick spacing of 1, 2 or 5 × 10^power.
#[derive(Debug, Clone, Copy)]
struct NiceStep {
    multiplier: f64,
    power: i32,
}

impl NiceStep {
    /// The nice step closest (on a log scale) to `span / count`.
    fn for_span(span: f64, count: usize) -> Option<NiceStep> {
        let raw = span / count as f64;
        if !(raw.is_finite() && raw > 0.0) {
            return None;
        }
        let mut power = raw.log10().floor() as i32;
        let error = raw / 10f64.powi(power);
        // Thresholds are the geometric means of neighbouring nice numbers.
        let multiplier = if error >= 50f64.sqrt() {
            power += 1;
            1.0
        } else if error >= 10f64.sqrt() {
            5.0
        } else if error >= 2f64.sqrt() {
            2.0
        } else {
            1.0
        };
        Some(NiceStep { multiplier, power })
    }

    fn size(self) -> f64 {
        scaled_power_of_ten(self.multiplier, self.power)
    }

    /// `n × step`, exact for steps below 1 too: 3 × 0.1 is 0.3, not 0.30000000000000004.
    fn multiple(self, n: i64) -> f64 {
        if self.power >= 0 {
            n as f64 * self.size()
        } else {
            n as f64 * self.multiplier / 10f64.powi(-self.power)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `v` is 1, 2 or 5 × 10^k.
    fn is_nice(v: f64) -> bool {
        let mantissa = v / 10f64.powf(v.log10().floor());
        [1.0, 2.0, 5.0, 10.0]
            .iter()
            .any(|nice| (mantissa - nice).abs() < 1e-9)
    }

    #[test]
    fn linear_maps_domain_onto_range() {
        let scale = LinearScale::new((0.0, 10.0), (0.0, 100.0));
        assert_eq!(scale.apply(0.0), 0.0);
        assert_eq!(scale.apply(5.0), 50.0);
        assert_eq!(scale.apply(10.0), 100.0);
        assert_eq!(scale.apply(20.0), 200.0, "extrapolates outside the domain");
        let offset = LinearScale::new((100.0, 200.0), (20.0, 220.0));
        assert_eq!(offset.apply(150.0), 120.0);
    }

    #[test]
    fn linear_handles_a_reversed_range() {
        // An SVG y axis: value 0 at the bottom (y = 200), the maximum at the top.
        let scale = LinearScale::new((0.0, 10.0), (200.0, 0.0));
        assert_eq!(scale.apply(0.0), 200.0);
        assert_eq!(scale.apply(10.0), 0.0);
        assert_eq!(scale.apply(2.5), 150.0);
    }

    #[test]
    fn linear_handles_a_reversed_domain() {
        let scale = LinearScale::new((10.0, 0.0), (0.0, 100.0));
        assert_eq!(scale.apply(10.0), 0.0);
        assert_eq!(scale.apply(0.0), 100.0);
        assert_eq!(scale.ticks(2), vec![0.0, 5.0, 10.0]);
    }

    #[test]
    fn linear_degenerate_domain_maps_to_the_middle() {
        let scale = LinearScale::new((5.0, 5.0), (0.0, 100.0));
        assert_eq!(scale.apply(5.0), 50.0);
        assert_eq!(scale.apply(7.0), 50.0);
        assert_eq!(scale.ticks(5), vec![5.0]);
        let flipped = LinearScale::new((0.0, 0.0), (300.0, 0.0));
        assert_eq!(flipped.apply(0.0), 150.0);
        assert_eq!(flipped.ticks(5), vec![0.0]);
    }

    #[test]
    fn linear_ticks_are_nice_numbers() {
        let scale = LinearScale::new((0.0, 100.0), (0.0, 1.0));
        assert_eq!(scale.ticks(5), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(
            scale.ticks(10),
            (0..=10).map(|i| f64::from(i) * 10.0).collect::<Vec<_>>()
        );
        assert_eq!(scale.ticks(1), vec![0.0, 100.0]);
        assert_eq!(scale.ticks(0), vec![0.0, 100.0], "zero is taken as one");
    }

    #[test]
    fn linear_ticks_below_one_are_exact_decimals() {
        let scale = LinearScale::new((0.0, 1.0), (0.0, 1.0));
        assert_eq!(scale.ticks(5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(
            scale.ticks(10),
            vec![0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        );
        let tiny = LinearScale::new((0.001, 0.0042), (0.0, 1.0));
        assert_eq!(tiny.ticks(3), vec![0.001, 0.002, 0.003, 0.004]);
    }

    #[test]
    fn linear_ticks_stay_inside_the_domain() {
        let scale = LinearScale::new((0.5, 9.5), (0.0, 1.0));
        assert_eq!(
            scale.ticks(10),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        );
        let negative = LinearScale::new((-7.0, 7.0), (0.0, 1.0));
        assert_eq!(negative.ticks(4), vec![-5.0, 0.0, 5.0]);
        for (domain, approx) in [((3.0, 1234.0), 7), ((-0.3, 0.07), 5), ((17.0, 18.0), 4)] {
            let ticks = LinearScale::new(domain, (0.0, 1.0)).ticks(approx);
            assert!(!ticks.is_empty());
            assert!(ticks.iter().all(|&t| (domain.0..=domain.1).contains(&t)));
            let step = ticks[1] - ticks[0];
            assert!(is_nice(step), "step {step} for {domain:?}");
            assert!(ticks.windows(2).all(|pair| pair[1] > pair[0]));
        }
    }

    #[test]
    fn linear_ticks_of_a_non_finite_domain_are_empty() {
        assert!(
            LinearScale::new((0.0, f64::INFINITY), (0.0, 1.0))
                .ticks(5)
                .is_empty()
        );
        assert!(
            LinearScale::new((f64::NAN, 1.0), (0.0, 1.0))
                .ticks(5)
                .is_empty()
        );
    }

    #[test]
    fn tick_labels_have_the_precision_of_their_step() {
        // A 0.9 s run: ticks every 0.2 s must not all read "0 s" or "1 s".
        let axis = LinearScale::new((0.0, 1_000.0), (0.0, 500.0));
        let ticks = axis.ticks(5);
        let step = ticks[1] - ticks[0];
        let labels: Vec<String> = ticks.iter().map(|t| format_seconds(*t, step)).collect();
        assert_eq!(
            labels,
            ["0.0 s", "0.2 s", "0.4 s", "0.6 s", "0.8 s", "1.0 s"]
        );
        assert_eq!(format_seconds(30_000.0, 10_000.0), "30 s");
        assert_eq!(format_seconds(150.0, 50.0), "0.15 s");
        assert_eq!(format_per_second(2.5, 0.5), "2.5/s");
        assert_eq!(format_per_second(400.0, 100.0), "400/s");
        assert_eq!(decimals_for_step(0.1), 1);
        assert_eq!(decimals_for_step(0.0), 0);
        assert_eq!(decimals_for_step(f64::NAN), 0);
    }

    #[test]
    fn nice_ceiling_rounds_up_to_one_two_or_five() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(-3.0), 1.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
        assert_eq!(nice_ceiling(f64::INFINITY), f64::INFINITY);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(1.01), 2.0);
        assert_eq!(nice_ceiling(2.0), 2.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(5.5), 10.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
        assert_eq!(nice_ceiling(1234.0), 2000.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
        assert_eq!(nice_ceiling(0.2), 0.2);
        assert_eq!(nice_ceiling(0.011), 0.02);
        assert_eq!(nice_ceiling(0.001), 0.001);
        assert_eq!(nice_ceiling(1e-5), 1e-5);
        assert_eq!(nice_ceiling(4.2e7), 5e7);
    }

    #[test]
    fn nice_ceiling_is_tight() {
        for i in 1..2000 {
            let v = f64::from(i) * 0.37;
            let ceiling = nice_ceiling(v);
            assert!(ceiling >= v && is_nice(ceiling), "{v} -> {ceiling}");
            assert!(ceiling <= v * 2.5, "{v} -> {ceiling} is not the smallest");
        }
    }

    #[test]
    fn format_ms_keeps_two_or_three_significant_digits() {
        assert_eq!(format_ms(0.042), "0.042 ms");
        assert_eq!(format_ms(0.42), "0.42 ms");
        assert_eq!(format_ms(4.2), "4.2 ms");
        assert_eq!(format_ms(42.0), "42 ms");
        assert_eq!(format_ms(420.0), "420 ms");
        assert_eq!(format_ms(4200.0), "4.20 s");
        assert_eq!(format_ms(42_000.0), "42.0 s");
        assert_eq!(format_ms(420_000.0), "420 s");
        assert_eq!(format_ms(1.0), "1.0 ms");
        assert_eq!(format_ms(4.24), "4.2 ms");
        assert_eq!(format_ms(42.7), "43 ms");
        assert_eq!(format_ms(123.4), "123 ms");
        assert_eq!(format_ms(0.0042), "0.0042 ms");
    }

    #[test]
    fn format_ms_edge_cases() {
        assert_eq!(format_ms(0.0), "0 ms");
        assert_eq!(format_ms(-0.0), "0 ms");
        // Rounding into the next digit does not add a digit...
        assert_eq!(format_ms(9.96), "10 ms");
        assert_eq!(format_ms(0.0996), "0.10 ms");
        // ...nor into the next unit.
        assert_eq!(format_ms(999.4), "999 ms");
        assert_eq!(format_ms(999.7), "1.00 s");
        assert_eq!(format_ms(9_999.0), "10.0 s");
        // Far below the timer's resolution: four decimals at most.
        assert_eq!(format_ms(0.000_01), "0.0000 ms");
        assert_eq!(format_ms(f64::NAN), "—");
        assert_eq!(format_ms(f64::INFINITY), "∞ ms");
    }

    #[test]
    fn format_bytes_uses_binary_prefixes() {
        assert_eq!(format_bytes(0.0), "0 B");
        assert_eq!(format_bytes(1.0), "1 B");
        assert_eq!(format_bytes(512.0), "512 B");
        assert_eq!(format_bytes(1023.0), "1023 B");
        assert_eq!(format_bytes(1024.0), "1.0 KiB");
        assert_eq!(format_bytes(1536.0), "1.5 KiB");
        assert_eq!(format_bytes(23_961.6), "23.4 KiB");
        assert_eq!(format_bytes(150.0 * 1024.0), "150 KiB");
        assert_eq!(format_bytes(2.3 * 1024.0 * 1024.0), "2.3 MiB");
        assert_eq!(format_bytes(5.0 * 1024f64.powi(3)), "5.0 GiB");
        assert_eq!(format_bytes(3.0 * 1024f64.powi(6)), "3072 PiB");
    }

    #[test]
    fn format_bytes_rounding_moves_to_the_next_unit() {
        assert_eq!(format_bytes(1023.7), "1.0 KiB");
        assert_eq!(format_bytes(1024.0 * 1024.0 - 1.0), "1.0 MiB");
        assert_eq!(format_bytes(99.97 * 1024.0), "100 KiB");
        assert_eq!(format_bytes(f64::NAN), "—");
    }

    #[test]
    fn format_ratio_has_three_significant_digits() {
        assert_eq!(format_ratio(1.0), "1.00×");
        assert_eq!(format_ratio(0.42), "0.42×");
        assert_eq!(format_ratio(12.34), "12.3×");
        assert_eq!(format_ratio(150.0), "150×");
        assert_eq!(format_ratio(0.0), "0.00×");
        assert_eq!(format_ratio(0.004), "0.00×");
        assert_eq!(format_ratio(9.999), "10.0×");
        assert_eq!(format_ratio(f64::INFINITY), "∞×");
        assert_eq!(format_ratio(f64::NAN), "—");
    }

    #[test]
    fn sweep_positions_are_logarithmic_for_numbers_and_even_for_names() {
        let counts = [1, 10, 100, 1_000];
        let at = |v| sweep_position(true, &counts, v);
        assert_eq!((at(1), at(1_000)), (0.0, 1.0));
        assert!((at(10) - 1.0 / 3.0).abs() < 1e-12);
        assert!((at(100) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(sweep_position(false, &[2, 0, 1], 0), 0.5);
        assert_eq!(sweep_position(false, &[2, 0, 1], 1), 1.0);
        assert_eq!(sweep_position(true, &[7], 7), 0.5, "one value: the middle");
        assert_eq!(sweep_position(false, &[7], 7), 0.5);
    }
}
