//! The protocols' colours in the light and the dark colour scheme, and the checks that
//! they hold: each stands out from the chart's background (WCAG's 3:1 for graphics) and
//! the two stay apart for readers with red-green or blue-yellow colour blindness
//! (simulated with Machado et al. 2009, full severity). `style.css` defines the same
//! colours as `--grpc-web` and `--rest` (a test checks it); the charts name them by
//! class ([`super::mark_class`]), so the scheme's colours apply.

/// A colour as `#rrggbb`.
pub type Hex = &'static str;

/// One colour scheme: its chart background and the two protocols' colours.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub background: Hex,
    pub grpc_web: Hex,
    pub rest: Hex,
}

/// On `--panel` of the light scheme.
pub const LIGHT: Palette = Palette {
    background: "#ffffff",
    grpc_web: "#2563eb",
    rest: "#d97706",
};

/// On `--panel` of the dark scheme (`prefers-color-scheme: dark`): lighter, to keep
/// their contrast.
pub const DARK: Palette = Palette {
    background: "#1a1f2a",
    grpc_web: "#7aa7ff",
    rest: "#f59e0b",
};

fn rgb(hex: Hex) -> [f64; 3] {
    let channel =
        |i: usize| f64::from(u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap_or(0));
    [channel(0), channel(1), channel(2)]
}

fn to_linear(channel: f64) -> f64 {
    let c = channel / 255.0;
    if c <= 0.040_45 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn linear(hex: Hex) -> [f64; 3] {
    rgb(hex).map(to_linear)
}

/// WCAG relative luminance of linear RGB.
fn luminance([r, g, b]: [f64; 3]) -> f64 {
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

/// WCAG contrast ratio of two colours.
pub fn contrast(a: Hex, b: Hex) -> f64 {
    let (la, lb) = (luminance(linear(a)), luminance(linear(b)));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// A colour vision deficiency, as Machado et al. (2009) simulate it at full severity
/// (matrices on linear RGB).
#[derive(Debug, Clone, Copy)]
pub enum Deficiency {
    Protanopia,
    Deuteranopia,
    Tritanopia,
}

impl Deficiency {
    pub const ALL: [Deficiency; 3] = [Self::Protanopia, Self::Deuteranopia, Self::Tritanopia];

    fn matrix(self) -> [[f64; 3]; 3] {
        match self {
            Self::Protanopia => [
                [0.152_286, 1.052_583, -0.204_868],
                [0.114_503, 0.786_281, 0.099_216],
                [-0.003_882, -0.048_116, 1.051_998],
            ],
            Self::Deuteranopia => [
                [0.367_322, 0.860_646, -0.227_968],
                [0.280_085, 0.672_501, 0.047_413],
                [-0.011_820, 0.042_940, 0.968_881],
            ],
            Self::Tritanopia => [
                [1.255_528, -0.076_749, -0.178_779],
                [-0.078_411, 0.930_809, 0.147_602],
                [0.004_733, 0.691_367, 0.303_900],
            ],
        }
    }

    /// Linear RGB as a reader with this deficiency sees it.
    fn see(self, colour: [f64; 3]) -> [f64; 3] {
        self.matrix().map(|row| {
            (row[0] * colour[0] + row[1] * colour[1] + row[2] * colour[2]).clamp(0.0, 1.0)
        })
    }
}

/// CIE L*a*b* (D65) of linear RGB.
fn lab(colour: [f64; 3]) -> [f64; 3] {
    let [r, g, b] = colour;
    let xyz = [
        (0.412_4 * r + 0.357_6 * g + 0.180_5 * b) / 0.950_47,
        0.212_6 * r + 0.715_2 * g + 0.072_2 * b,
        (0.019_3 * r + 0.119_2 * g + 0.950_5 * b) / 1.088_83,
    ];
    let f = |t: f64| {
        if t > 216.0 / 24_389.0 {
            t.cbrt()
        } else {
            (24_389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let [fx, fy, fz] = xyz.map(f);
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// How far apart two colours look (CIE76 ΔE; ~2.3 is just noticeable, over 20 is
/// unmistakable), to a reader with `deficiency` if given.
pub fn difference(a: Hex, b: Hex, deficiency: Option<Deficiency>) -> f64 {
    let seen = |hex| {
        let colour = linear(hex);
        lab(deficiency.map_or(colour, |d| d.see(colour)))
    };
    let (a, b) = (seen(a), seen(b));
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG 2.1 SC 1.4.11: graphical objects need 3:1 against their background.
    const GRAPHICS_CONTRAST: f64 = 3.0;
    /// Far past "just noticeable": two lines a reader tells apart at a glance.
    const APART: f64 = 20.0;

    #[test]
    fn the_contrast_formula_gives_wcag_s_extremes() {
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
        assert!((contrast("#777777", "#777777") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn each_protocol_stands_out_from_the_chart_in_both_schemes() {
        for palette in [LIGHT, DARK] {
            for colour in [palette.grpc_web, palette.rest] {
                let ratio = contrast(colour, palette.background);
                assert!(
                    ratio >= GRAPHICS_CONTRAST,
                    "{colour} on {}: {ratio:.2}:1",
                    palette.background
                );
            }
        }
    }

    #[test]
    fn the_two_protocols_stay_apart_for_colour_blind_readers() {
        for palette in [LIGHT, DARK] {
            let (a, b) = (palette.grpc_web, palette.rest);
            assert!(difference(a, b, None) >= APART);
            for deficiency in Deficiency::ALL {
                let seen = difference(a, b, Some(deficiency));
                assert!(
                    seen >= APART,
                    "{a} and {b} under {deficiency:?}: ΔE {seen:.1}"
                );
            }
        }
    }

    #[test]
    fn the_simulation_merges_what_it_should() {
        // Red and green of equal lightness: apart for most readers, close under
        // deuteranopia, which is what the simulation must show for the check to mean
        // anything.
        let (red, green) = ("#d62728", "#2ca02c");
        let normal = difference(red, green, None);
        let deuteranope = difference(red, green, Some(Deficiency::Deuteranopia));
        assert!(normal > 60.0, "{normal:.1}");
        assert!(
            deuteranope < normal / 2.0,
            "{deuteranope:.1} vs {normal:.1}"
        );
    }

    #[test]
    fn the_style_sheet_defines_these_colours_for_each_scheme() {
        let css = include_str!("../../../style.css");
        let (light, dark) = css
            .split_once("@media (prefers-color-scheme: dark)")
            .expect("a dark scheme in style.css");
        for (scheme, palette) in [(light, LIGHT), (dark, DARK)] {
            for (var, colour) in [("--grpc-web", palette.grpc_web), ("--rest", palette.rest)] {
                assert!(
                    scheme.contains(&format!("{var}: {colour};")),
                    "style.css sets {var}: {colour}; in its scheme"
                );
            }
        }
        assert!(light.contains(&format!("--panel: {};", "#fff")) && LIGHT.background == "#ffffff");
        assert!(dark.contains(&format!("--panel: {};", DARK.background)));
    }
}
