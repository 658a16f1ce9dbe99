//! Network profiles: named round-trip times and bandwidths with their sources, and
//! custom ones (`rtt=100ms,down=8mbit,up=1mbit[,loss=1%]`), parsed from `--link`.

use std::fmt;
use std::time::Duration;

use lab_proto::contract::network;

/// A link's bandwidth in one direction, in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth {
    pub bits_per_second: u64,
}

impl Bandwidth {
    pub const fn bits_per_second(bits_per_second: u64) -> Self {
        Self { bits_per_second }
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = self.bits_per_second;
        if bits >= 1_000_000 && bits.is_multiple_of(1_000) {
            write!(f, "{}mbit", bits as f64 / 1e6)
        } else {
            write!(f, "{}kbit", bits as f64 / 1e3)
        }
    }
}

/// What a link costs: a round trip, and a bandwidth per direction (`None`: not
/// limited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkProfile {
    /// The name given on the command line (a preset's, or `custom`).
    pub name: String,
    pub rtt: Duration,
    /// Server to client.
    pub down: Option<Bandwidth>,
    /// Client to server.
    pub up: Option<Bandwidth>,
    /// Datagrams dropped, per million, each way: QUIC's only (its listener's link
    /// drops them for real and QUIC recovers); a TCP connection's bytes are never
    /// lost here (the link carries a byte stream, below which the kernel's TCP has
    /// already recovered any loss). 0 in every preset.
    pub loss_per_million: u32,
}

/// A named profile and where its numbers come from.
pub struct Preset {
    pub name: &'static str,
    pub rtt_micros: u64,
    pub down_bits: u64,
    pub up_bits: u64,
    pub source: &'static str,
}

/// The named profiles (docs/network-profiles.md has the same table).
pub const PRESETS: [Preset; 5] = [
    Preset {
        name: "lighthouse-mobile",
        rtt_micros: 150_000,
        down_bits: 1_638_400,
        up_bits: 750_000,
        source: "Lighthouse's mobile throttling (simulated): rttMs 150, throughputKbps 1.6 × 1024, uploadThroughputKbps 750",
    },
    Preset {
        name: "devtools-slow-4g",
        rtt_micros: 562_500,
        down_bits: 1_440_000,
        up_bits: 675_000,
        source: "Chrome DevTools 'Slow 4G' (formerly 'Fast 3G'): latency 150 × 3.75 ms, download 1.6 Mbit/s × 0.9, upload 750 kbit/s × 0.9",
    },
    Preset {
        name: "devtools-fast-4g",
        rtt_micros: 165_000,
        down_bits: 8_100_000,
        up_bits: 1_350_000,
        source: "Chrome DevTools 'Fast 4G': latency 60 × 2.75 ms, download 9 Mbit/s × 0.9, upload 1.5 Mbit/s × 0.9",
    },
    Preset {
        name: "devtools-3g",
        rtt_micros: 2_000_000,
        down_bits: 400_000,
        up_bits: 400_000,
        source: "Chrome DevTools '3G' (formerly 'Slow 3G'): latency 400 × 5 ms, 500 kbit/s × 0.8 each way",
    },
    Preset {
        name: "intercontinental",
        rtt_micros: 250_000,
        down_bits: 50_000_000,
        up_bits: 50_000_000,
        source: "a chosen round figure for e.g. Frankfurt ↔ Sydney: light in fibre alone needs ~165 ms over the great circle, real routes are longer; a good fixed line at both ends",
    },
];

/// The name of no profile: the kernel's loopback as is.
pub const LOOPBACK: &str = network::LOOPBACK;

/// Why `--link` was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown link profile {0:?}: use loopback, {presets}, or rtt=<ms>ms,down=<n>mbit,up=<n>kbit", presets = preset_names())]
    Unknown(String),
    #[error("{0:?} is not key=value (rtt, down, up or loss)")]
    NotKeyValue(String),
    #[error("unknown link setting {0:?}: rtt, down, up or loss")]
    UnknownKey(String),
    #[error("{key} is given twice")]
    Repeated { key: String },
    #[error("rtt {0:?}: a duration such as 100ms or 0.25s")]
    Duration(String),
    #[error(
        "{key} {value:?}: a bandwidth above 0 such as 8mbit, 750kbit or 1gbit (bits per second)"
    )]
    Bandwidth { key: String, value: String },
    #[error("loss {0:?}: a percentage of datagrams from 0 to 50, such as 1% or 0.5%")]
    Loss(String),
    #[error("a custom link needs rtt=…")]
    NoRtt,
}

fn preset_names() -> String {
    PRESETS.map(|preset| preset.name).join(", ")
}

impl LinkProfile {
    /// Parses `--link`: `loopback` (no link: `None`), a preset's name, or custom
    /// `rtt=…[,down=…][,up=…][,loss=…%]` (a direction left out is not limited; no
    /// loss unless given).
    pub fn parse(text: &str) -> Result<Option<Self>, ProfileError> {
        let text = text.trim();
        if text == LOOPBACK {
            return Ok(None);
        }
        if let Some(preset) = PRESETS.iter().find(|preset| preset.name == text) {
            return Ok(Some(Self {
                name: preset.name.to_owned(),
                rtt: Duration::from_micros(preset.rtt_micros),
                down: Some(Bandwidth::bits_per_second(preset.down_bits)),
                up: Some(Bandwidth::bits_per_second(preset.up_bits)),
                loss_per_million: 0,
            }));
        }
        if !text.contains('=') {
            return Err(ProfileError::Unknown(text.to_owned()));
        }
        let (mut rtt, mut down, mut up, mut loss) = (None, None, None, None);
        for setting in text.split(',') {
            let (key, value) = setting
                .split_once('=')
                .ok_or_else(|| ProfileError::NotKeyValue(setting.to_owned()))?;
            let (key, value) = (key.trim(), value.trim());
            let repeated = || ProfileError::Repeated {
                key: key.to_owned(),
            };
            match key {
                "rtt" => {
                    let parsed = parse_duration(value)
                        .ok_or_else(|| ProfileError::Duration(value.to_owned()))?;
                    rtt.replace(parsed).map_or(Ok(()), |_| Err(repeated()))?;
                }
                "down" | "up" => {
                    let parsed = parse_bandwidth(value).ok_or_else(|| ProfileError::Bandwidth {
                        key: key.to_owned(),
                        value: value.to_owned(),
                    })?;
                    let slot = if key == "down" { &mut down } else { &mut up };
                    slot.replace(parsed).map_or(Ok(()), |_| Err(repeated()))?;
                }
                "loss" => {
                    let parsed =
                        parse_loss(value).ok_or_else(|| ProfileError::Loss(value.to_owned()))?;
                    loss.replace(parsed).map_or(Ok(()), |_| Err(repeated()))?;
                }
                _ => return Err(ProfileError::UnknownKey(key.to_owned())),
            }
        }
        Ok(Some(Self {
            name: network::CUSTOM.to_owned(),
            rtt: rtt.ok_or(ProfileError::NoRtt)?,
            down,
            up,
            loss_per_million: loss.unwrap_or(0),
        }))
    }
}

impl LinkProfile {
    /// Its numbers, as `--link` takes them: `rtt=150ms, down=1638.4kbit, up=750kbit`.
    pub fn numbers(&self) -> String {
        let unlimited = |bandwidth: Option<Bandwidth>| {
            bandwidth.map_or_else(|| "unlimited".to_owned(), |b| b.to_string())
        };
        let loss = match self.loss_per_million {
            0 => String::new(),
            per_million => format!(", loss={}%", f64::from(per_million) / 1e4),
        };
        format!(
            "rtt={}ms, down={}, up={}{loss}",
            self.rtt.as_secs_f64() * 1e3,
            unlimited(self.down),
            unlimited(self.up)
        )
    }
}

impl fmt::Display for LinkProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.numbers())
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        return None;
    };
    let seconds = number.trim().parse::<f64>().ok()? * scale;
    // At most a minute: beyond that every timeout of the lab fires first.
    (seconds.is_finite() && (0.0..=60.0).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}

/// A loss percentage (`1%`, `0.5`), as datagrams per million; at most 50%.
fn parse_loss(text: &str) -> Option<u32> {
    let percent = text
        .strip_suffix('%')
        .unwrap_or(text)
        .trim()
        .parse::<f64>()
        .ok()?;
    (percent.is_finite() && (0.0..=50.0).contains(&percent)).then(|| (percent * 1e4).round() as u32)
}

fn parse_bandwidth(text: &str) -> Option<Bandwidth> {
    let lower = text.to_ascii_lowercase();
    let (number, scale) = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)]
        .into_iter()
        .find_map(|(unit, scale)| lower.strip_suffix(unit).map(|number| (number, scale)))?;
    let bits = number.trim().parse::<f64>().ok()? * scale;
    // Below 1 kbit/s a single request head takes longer than any timeout.
    (bits.is_finite() && (1e3..=1e12).contains(&bits))
        .then(|| Bandwidth::bits_per_second(bits.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(text: &str) -> LinkProfile {
        LinkProfile::parse(text).unwrap().unwrap()
    }

    #[test]
    fn loopback_is_no_link() {
        assert_eq!(LinkProfile::parse("loopback"), Ok(None));
    }

    #[test]
    fn every_preset_parses_to_its_numbers() {
        for preset in &PRESETS {
            let profile = custom(preset.name);
            assert_eq!(profile.name, preset.name);
            assert_eq!(profile.rtt, Duration::from_micros(preset.rtt_micros));
            assert_eq!(profile.down.unwrap().bits_per_second, preset.down_bits);
            assert_eq!(profile.up.unwrap().bits_per_second, preset.up_bits);
        }
        let names: Vec<&str> = PRESETS.iter().map(|preset| preset.name).collect();
        assert_eq!(
            names,
            network::PRESETS,
            "the contract names the same presets"
        );
        let mobile = custom("lighthouse-mobile");
        assert_eq!(mobile.rtt, Duration::from_millis(150));
    }

    #[test]
    fn custom_profiles_take_units() {
        let profile = custom("rtt=100ms,down=8mbit,up=750kbit");
        assert_eq!(profile.name, "custom");
        assert_eq!(profile.rtt, Duration::from_millis(100));
        assert_eq!(profile.down, Some(Bandwidth::bits_per_second(8_000_000)));
        assert_eq!(profile.up, Some(Bandwidth::bits_per_second(750_000)));
        let profile = custom(" rtt = 0.25s , down=1.5Gbit ");
        assert_eq!(profile.rtt, Duration::from_millis(250));
        assert_eq!(
            profile.down,
            Some(Bandwidth::bits_per_second(1_500_000_000))
        );
        assert_eq!(profile.up, None, "a direction left out is not limited");
        assert_eq!(profile.loss_per_million, 0, "no loss unless given");
        assert_eq!(
            profile.to_string(),
            "custom: rtt=250ms, down=1500mbit, up=unlimited"
        );
    }

    #[test]
    fn loss_is_a_percentage_of_datagrams() {
        let profile = custom("rtt=100ms,loss=1.5%");
        assert_eq!(profile.loss_per_million, 15_000);
        assert_eq!(
            profile.numbers(),
            "rtt=100ms, down=unlimited, up=unlimited, loss=1.5%"
        );
        assert_eq!(custom("rtt=100ms,loss=2").loss_per_million, 20_000);
        assert_eq!(custom("lighthouse-mobile").loss_per_million, 0);
    }

    #[test]
    fn bad_profiles_say_what_is_wrong() {
        let err = |text: &str| LinkProfile::parse(text).unwrap_err().to_string();
        assert!(
            err("5g").starts_with("unknown link profile \"5g\": use loopback, lighthouse-mobile")
        );
        assert_eq!(
            err("rtt=100"),
            "rtt \"100\": a duration such as 100ms or 0.25s"
        );
        assert_eq!(
            err("rtt=-1ms"),
            "rtt \"-1ms\": a duration such as 100ms or 0.25s"
        );
        assert_eq!(
            err("rtt=2min"),
            "rtt \"2min\": a duration such as 100ms or 0.25s"
        );
        assert_eq!(
            err("rtt=1ms,down=8mb"),
            "down \"8mb\": a bandwidth above 0 such as 8mbit, 750kbit or 1gbit (bits per second)"
        );
        assert!(err("rtt=1ms,up=0kbit").starts_with("up \"0kbit\""));
        assert_eq!(err("down=8mbit"), "a custom link needs rtt=…");
        assert_eq!(err("rtt=1ms,rtt=2ms"), "rtt is given twice");
        assert_eq!(
            err("rtt=1ms,jitter=1ms"),
            "unknown link setting \"jitter\": rtt, down, up or loss"
        );
        assert_eq!(
            err("rtt=1ms,loss=60%"),
            "loss \"60%\": a percentage of datagrams from 0 to 50, such as 1% or 0.5%"
        );
        assert_eq!(err("rtt=1ms,loss=1%,loss=2%"), "loss is given twice");
        assert_eq!(
            err("rtt=1ms,,"),
            "\"\" is not key=value (rtt, down, up or loss)"
        );
    }
}
