//! The frontend bundle's size budget (docs/frontend-budget.md): what a user downloads
//! to start the lab, the wasm module and its JS glue together, at most 745 KB raw and
//! 274 KB brotli as served, i.e. the build's precompressed `.br` copies. 1 KB is
//! 1,000 bytes here. Only the arithmetic and the report text; `frontend_build` reads
//! the sizes from `dist/`.

/// One kilobyte as the budget counts it.
pub const KB: u64 = 1_000;

/// The budget this stack was given (issue 10, "Budgets, decided"), raised once for the
/// rest of the wave (sweeps, the claims panel, streaming fetch, HTTP/3): +25 KB brotli
/// costs ~125 ms on the slowest emulated link (1.6 Mbit/s), once, then it is cached;
/// by 2 KB brotli (~10 ms there) for the gRPC-Web client's frame decoder (cut
/// responses read whole) and the connection-churn flag; by 15 KB brotli (~75 ms
/// there) for the HTTP-version × network matrix; by 3 KB for the timer's limit, the
/// one-estimate results table and its headline; and by 4 KB for the answer-first
/// layout and the charts' values on hover (docs/frontend-budget.md).
pub const BUDGET: Budget = Budget {
    raw: 745 * KB,
    brotli: 274 * KB,
};

/// The bundle's bytes in each form the build writes: the files themselves, and their
/// `.gz` and `.br` copies the backend serves by `Accept-Encoding`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BundleSizes {
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

impl BundleSizes {
    /// Sums the bundle among `files` (paths inside `dist/` with their sizes): every
    /// `.wasm` and `.js` file, with its `.gz` and `.br` copies. Other files (HTML, CSS,
    /// the build stamp) are not part of it. Fails naming a bundle file that lacks a
    /// compressed copy, since then its served size is unknown.
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, u64)>) -> Result<Self, String> {
        let files: Vec<(&str, u64)> = files.into_iter().collect();
        let size_of = |wanted: &str| {
            files
                .iter()
                .find(|(name, _)| *name == wanted)
                .map(|&(_, size)| size)
        };
        let mut sizes = Self::default();
        let mut found = false;
        for &(name, raw) in &files {
            if !(name.ends_with(".wasm") || name.ends_with(".js")) {
                continue;
            }
            found = true;
            let copy = |extension: &str| {
                size_of(&format!("{name}.{extension}")).ok_or_else(|| {
                    format!(
                        "dist/{name} has no .{extension} copy: the release build's post-build \
                         hook (frontend/post-build.mjs) writes them"
                    )
                })
            };
            sizes.raw += raw;
            sizes.gzip += copy("gz")?;
            sizes.brotli += copy("br")?;
        }
        if found {
            Ok(sizes)
        } else {
            Err("dist/ holds no .wasm or .js file: is it a frontend build?".into())
        }
    }
}

/// Upper limits for the bundle, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub raw: u64,
    pub brotli: u64,
}

impl Budget {
    /// Whether `sizes` stay within both limits.
    pub fn is_met_by(&self, sizes: &BundleSizes) -> bool {
        sizes.raw <= self.raw && sizes.brotli <= self.brotli
    }

    /// Two lines: the bundle's sizes, then the budget and how far each size is from
    /// its limit.
    pub fn report(&self, sizes: &BundleSizes) -> String {
        let margin = |size: u64, limit: u64| {
            if size <= limit {
                format!("{} B under", bytes(limit - size))
            } else {
                format!("{} B OVER", bytes(size - limit))
            }
        };
        format!(
            "bundle (wasm + JS): {} B raw, {} B gzip, {} B brotli (as served)\n\
             budget: {} KB raw ({}), {} KB brotli ({}); 1 KB = 1,000 B: {}",
            bytes(sizes.raw),
            bytes(sizes.gzip),
            bytes(sizes.brotli),
            self.raw / KB,
            margin(sizes.raw, self.raw),
            self.brotli / KB,
            margin(sizes.brotli, self.brotli),
            if self.is_met_by(sizes) {
                "met"
            } else {
                "EXCEEDED"
            },
        )
    }
}

/// `1234567` as `1,234,567`.
fn bytes(count: u64) -> String {
    let digits = count.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{BUDGET, Budget, BundleSizes, bytes};

    const DIST: [(&str, u64); 9] = [
        ("lab-frontend-1f2e_bg.wasm", 539_904),
        ("lab-frontend-1f2e_bg.wasm.gz", 252_973),
        ("lab-frontend-1f2e_bg.wasm.br", 213_000),
        ("lab-frontend-1f2e.js", 27_560),
        ("lab-frontend-1f2e.js.gz", 7_459),
        ("lab-frontend-1f2e.js.br", 6_500),
        ("index.html", 900),
        ("index.html.br", 400),
        ("style-9a8b.css", 5_000),
    ];

    #[test]
    fn the_bundle_is_the_wasm_and_js_with_their_compressed_copies() {
        let sizes = BundleSizes::from_files(DIST).unwrap();
        assert_eq!(
            sizes,
            BundleSizes {
                raw: 539_904 + 27_560,
                gzip: 252_973 + 7_459,
                brotli: 213_000 + 6_500,
            }
        );
    }

    #[test]
    fn a_bundle_file_without_its_brotli_copy_is_an_error_naming_it() {
        let without_br = DIST
            .into_iter()
            .filter(|(name, _)| *name != "lab-frontend-1f2e.js.br");
        let error = BundleSizes::from_files(without_br).unwrap_err();
        assert!(
            error.contains("dist/lab-frontend-1f2e.js has no .br copy"),
            "{error}"
        );
    }

    #[test]
    fn a_dist_without_wasm_or_js_is_an_error() {
        let error = BundleSizes::from_files([("index.html", 900)]).unwrap_err();
        assert!(error.contains("no .wasm or .js"), "{error}");
    }

    #[test]
    fn each_limit_is_inclusive_and_either_one_exceeded_fails() {
        let at_limits = BundleSizes {
            raw: BUDGET.raw,
            gzip: 0,
            brotli: BUDGET.brotli,
        };
        assert!(BUDGET.is_met_by(&at_limits));
        let raw_over = BundleSizes {
            raw: BUDGET.raw + 1,
            ..at_limits
        };
        let brotli_over = BundleSizes {
            brotli: BUDGET.brotli + 1,
            ..at_limits
        };
        assert!(!BUDGET.is_met_by(&raw_over));
        assert!(!BUDGET.is_met_by(&brotli_over));
    }

    #[test]
    fn the_report_gives_every_size_the_budget_and_the_margins() {
        let budget = Budget {
            raw: 600_000,
            brotli: 225_000,
        };
        let sizes = BundleSizes {
            raw: 567_464,
            gzip: 260_432,
            brotli: 230_001,
        };
        assert_eq!(
            budget.report(&sizes),
            "bundle (wasm + JS): 567,464 B raw, 260,432 B gzip, 230,001 B brotli (as served)\n\
             budget: 600 KB raw (32,536 B under), 225 KB brotli (5,001 B OVER); \
             1 KB = 1,000 B: EXCEEDED"
        );
        let within = BundleSizes {
            brotli: 219_500,
            ..sizes
        };
        assert!(budget.report(&within).ends_with(": met"));
    }

    #[test]
    fn byte_counts_are_grouped_by_thousands() {
        assert_eq!(bytes(0), "0");
        assert_eq!(bytes(999), "999");
        assert_eq!(bytes(1_000), "1,000");
        assert_eq!(bytes(225_000), "225,000");
        assert_eq!(bytes(1_234_567), "1,234,567");
    }
}
