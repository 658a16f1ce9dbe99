//! The frontend bundle's size budgets (docs/frontend-budget.md), one per part the
//! browser downloads: the **page** (its wasm module and JS glue: what must arrive before
//! the lab shows anything) and the **worker** that runs the engine (its module, glue and
//! loader, fetched once the page has started it), each limited raw and brotli as served,
//! i.e. the build's precompressed `.br` copies. 1 KB is 1,000 bytes here. Only the
//! arithmetic and the report text; `frontend_build` reads the sizes from `dist/`.

/// One kilobyte as the budget counts it.
pub const KB: u64 = 1_000;

/// The page's budget. The bundle was given 745 KB raw / 274 KB brotli by the end of the
/// last wave (issue 10's budget raised for sweeps, claims, streaming, HTTP/3, the frame
/// decoder, the matrix, the instrument and the layout: docs/frontend-budget.md); moving
/// the engine and both transports (tonic, gloo-net's requests, prost's messages) into
/// the worker (issue 21) took the page down to ~598 KB / ~208 KB, and the budget with it;
/// +3.4 KB brotli then for the charts' values by keyboard and their text equivalents
/// (issue 27); +9.5 KB brotli (+30 KB raw) for a person's own payload (issue 22): its
/// editor, the shape API's JSON types and the handle on the custom shapes' worker;
/// +1.4 KB raw for the echo workload and the claim on streaming both ways (issue 23),
/// +0.4 KB raw for a Stop while a worker is still loading and the editor keeping text.
pub const PAGE: Budget = Budget {
    raw: 670 * KB,
    brotli: 230 * KB,
};

/// The worker's budget: the engine, the transports and their stack (issue 21), fetched
/// after the page has started, in parallel with its first paint; cached from then on.
/// +2 KB raw for the custom shapes' calls, whose codec it does not carry (issue 22);
/// +17 KB raw / +5.2 KB brotli for REST's bidirectional stream, a WebSocket (gloo-net's,
/// issue 23).
pub const WORKER: Budget = Budget {
    raw: 382 * KB,
    brotli: 149 * KB,
};

/// The worker that runs custom shapes (issue 22): the engine again, with prost-reflect's
/// codec, which costs more than the rest of it. Loaded only once a person brings their
/// own payload, never for the built-in shapes.
pub const CUSTOM_WORKER: Budget = Budget {
    raw: CUSTOM_WORKER_RAW,
    brotli: CUSTOM_WORKER_BROTLI,
};
const CUSTOM_WORKER_RAW: u64 = 813 * KB;
const CUSTOM_WORKER_BROTLI: u64 = 273 * KB;

/// The parts of the bundle, each judged against its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Page,
    Worker,
    CustomWorker,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Page, Part::Worker, Part::CustomWorker];

    /// The part a file of `dist/` belongs to: Trunk names a worker's files after its
    /// binary (`lab-worker`, `lab-custom-worker`).
    pub fn of(name: &str) -> Part {
        if name.starts_with("lab-custom-worker") {
            Part::CustomWorker
        } else if name.starts_with("lab-worker") {
            Part::Worker
        } else {
            Part::Page
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Part::Page => "page",
            Part::Worker => "worker",
            Part::CustomWorker => "custom-shapes worker",
        }
    }

    pub fn budget(self) -> Budget {
        match self {
            Part::Page => PAGE,
            Part::Worker => WORKER,
            Part::CustomWorker => CUSTOM_WORKER,
        }
    }
}

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
    /// compressed copy, since then its served size is unknown. Take one part's files
    /// ([`Part::of`]) to size that part.
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

    /// Two lines: the `part`'s sizes, then its budget and how far each size is from
    /// its limit.
    pub fn report(&self, part: &str, sizes: &BundleSizes) -> String {
        let margin = |size: u64, limit: u64| {
            if size <= limit {
                format!("{} B under", bytes(limit - size))
            } else {
                format!("{} B OVER", bytes(size - limit))
            }
        };
        format!(
            "{part} (wasm + JS): {} B raw, {} B gzip, {} B brotli (as served)\n\
             {part} budget: {} KB raw ({}), {} KB brotli ({}); 1 KB = 1,000 B: {}",
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
    use super::{Budget, BundleSizes, CUSTOM_WORKER, PAGE, Part, WORKER, bytes};

    const DIST: [(&str, u64); 15] = [
        ("lab-frontend-1f2e_bg.wasm", 539_904),
        ("lab-frontend-1f2e_bg.wasm.gz", 252_973),
        ("lab-frontend-1f2e_bg.wasm.br", 213_000),
        ("lab-frontend-1f2e.js", 27_560),
        ("lab-frontend-1f2e.js.gz", 7_459),
        ("lab-frontend-1f2e.js.br", 6_500),
        ("lab-worker_bg.wasm", 330_000),
        ("lab-worker_bg.wasm.gz", 155_000),
        ("lab-worker_bg.wasm.br", 133_000),
        ("lab-custom-worker_bg.wasm", 700_000),
        ("lab-custom-worker_bg.wasm.gz", 300_000),
        ("lab-custom-worker_bg.wasm.br", 250_000),
        ("index.html", 900),
        ("index.html.br", 400),
        ("style-9a8b.css", 5_000),
    ];

    #[test]
    fn each_part_is_its_wasm_and_js_with_their_compressed_copies() {
        let page = DIST
            .into_iter()
            .filter(|(name, _)| Part::of(name) == Part::Page);
        assert_eq!(
            BundleSizes::from_files(page).unwrap(),
            BundleSizes {
                raw: 539_904 + 27_560,
                gzip: 252_973 + 7_459,
                brotli: 213_000 + 6_500,
            }
        );
        let worker = DIST
            .into_iter()
            .filter(|(name, _)| Part::of(name) == Part::Worker);
        assert_eq!(
            BundleSizes::from_files(worker).unwrap(),
            BundleSizes {
                raw: 330_000,
                gzip: 155_000,
                brotli: 133_000,
            }
        );
        let custom = DIST
            .into_iter()
            .filter(|(name, _)| Part::of(name) == Part::CustomWorker);
        assert_eq!(BundleSizes::from_files(custom).unwrap().brotli, 250_000);
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
        for budget in [PAGE, WORKER, CUSTOM_WORKER] {
            let at_limits = BundleSizes {
                raw: budget.raw,
                gzip: 0,
                brotli: budget.brotli,
            };
            assert!(budget.is_met_by(&at_limits));
            let raw_over = BundleSizes {
                raw: budget.raw + 1,
                ..at_limits
            };
            let brotli_over = BundleSizes {
                brotli: budget.brotli + 1,
                ..at_limits
            };
            assert!(!budget.is_met_by(&raw_over));
            assert!(!budget.is_met_by(&brotli_over));
        }
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
            budget.report("page", &sizes),
            "page (wasm + JS): 567,464 B raw, 260,432 B gzip, 230,001 B brotli (as served)\n\
             page budget: 600 KB raw (32,536 B under), 225 KB brotli (5,001 B OVER); \
             1 KB = 1,000 B: EXCEEDED"
        );
        let within = BundleSizes {
            brotli: 219_500,
            ..sizes
        };
        assert!(budget.report("worker", &within).ends_with(": met"));
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
