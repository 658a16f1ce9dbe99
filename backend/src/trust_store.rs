//! `lab-backend trust` / `untrust`: puts the lab's local CA ([`crate::local_ca`]) into
//! this user's browsers' certificate databases, and takes it out again. Nothing else
//! touches any store.
//!
//! Where browsers on Linux look (as mkcert finds them): Chromium in the NSS database
//! `~/.pki/nssdb` (snap: `~/snap/chromium/current/.pki/nssdb`), Firefox in each
//! profile's own NSS database (`cert9.db`), its profiles listed in `profiles.ini` under
//! `~/.mozilla/firefox`, `~/.config/mozilla/firefox` (Firefox 147 and later) and
//! `~/snap/firefox/common/.mozilla/firefox`. Both are changed with NSS's `certutil`.
//! The system store is left alone: neither browser reads it on Linux.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::local_ca::LocalCa;

/// Why the stores could not be changed, in one line a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(
        "certutil not found: install NSS's tools (Debian, Ubuntu: apt-get install libnss3-tools; \
         Fedora: dnf install nss-tools) or point LAB_CERTUTIL at it"
    )]
    NoCertutil,
    #[error("$HOME is not set: the browsers' certificate databases are found under it")]
    NoHome,
    #[error("certutil failed on {}: {message}", db.display())]
    Certutil { db: PathBuf, message: String },
    #[error("cannot create {}: {source}", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// The certificate databases of this user's browsers, and what was skipped and why.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stores {
    /// `(browser and where, database directory)`.
    pub databases: Vec<(String, PathBuf)>,
    /// One line per place that has no usable database.
    pub skipped: Vec<String>,
}

/// Runs NSS's certutil.
#[derive(Debug, Clone)]
pub struct Certutil(PathBuf);

impl Certutil {
    /// `LAB_CERTUTIL`, else `certutil` on `PATH`.
    pub fn find() -> Result<Self, TrustError> {
        if let Some(named) = std::env::var_os("LAB_CERTUTIL") {
            let named = PathBuf::from(named);
            return if named.is_file() {
                Ok(Self(named))
            } else {
                Err(TrustError::NoCertutil)
            };
        }
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .map(|dir| dir.join("certutil"))
            .find(|candidate| candidate.is_file())
            .map(Self)
            .ok_or(TrustError::NoCertutil)
    }

    /// certutil at `path`.
    pub fn at(path: PathBuf) -> Self {
        Self(path)
    }

    fn run(&self, db: &Path, args: &[&str]) -> Result<std::process::Output, TrustError> {
        Command::new(&self.0)
            .arg("-d")
            .arg(format!("sql:{}", db.display()))
            .args(args)
            .output()
            .map_err(|err| TrustError::Certutil {
                db: db.to_owned(),
                message: format!("cannot run {}: {err}", self.0.display()),
            })
    }

    fn check(&self, db: &Path, args: &[&str]) -> Result<(), TrustError> {
        let output = self.run(db, args)?;
        if output.status.success() {
            Ok(())
        } else {
            Err(TrustError::Certutil {
                db: db.to_owned(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }

    /// Makes an empty database (no password) in `db`.
    pub fn create(&self, db: &Path) -> Result<(), TrustError> {
        std::fs::create_dir_all(db).map_err(|source| TrustError::CreateDir {
            dir: db.to_owned(),
            source,
        })?;
        self.check(db, &["-N", "--empty-password"])
    }

    /// Whether `db` holds a certificate named `nickname`.
    pub fn holds(&self, db: &Path, nickname: &str) -> Result<bool, TrustError> {
        Ok(self.run(db, &["-L", "-n", nickname])?.status.success())
    }

    /// Adds the CA certificate in `ca_pem` (a file) as `nickname`, trusted to issue
    /// server certificates.
    pub fn add(&self, db: &Path, nickname: &str, ca_pem: &Path) -> Result<(), TrustError> {
        let file = ca_pem.to_string_lossy();
        self.check(db, &["-A", "-t", "C,,", "-n", nickname, "-i", &file])
    }

    /// The nicknames of the certificates in `db` (`certutil -L`: a nickname, then its
    /// trust attributes, per line after a header).
    pub fn nicknames(&self, db: &Path) -> Result<Vec<String>, TrustError> {
        let output = self.run(db, &["-L"])?;
        if !output.status.success() {
            return Err(TrustError::Certutil {
                db: db.to_owned(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(nicknames_in(&String::from_utf8_lossy(&output.stdout)))
    }

    /// Removes the certificate named `nickname`.
    pub fn remove(&self, db: &Path, nickname: &str) -> Result<(), TrustError> {
        self.check(db, &["-D", "-n", nickname])
    }
}

/// The nicknames in `certutil -L`'s listing: each line's text before its trust
/// attributes (`C,,`, `CT,C,C`, …), header lines left out.
fn nicknames_in(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|line| {
            let (name, trust) = line.trim_end().rsplit_once(char::is_whitespace)?;
            let is_trust = trust.split(',').count() == 3
                && trust.chars().all(|c| c == ',' || c.is_ascii_alphabetic());
            (is_trust && !name.trim().is_empty()).then(|| name.trim().to_owned())
        })
        .collect()
}

/// Chromium's NSS databases under `home`: the default one (even where it does not exist
/// yet: Chromium reads it once it does) and the snap's, where present.
fn chromium_databases(home: &Path) -> Vec<(String, PathBuf)> {
    let mut found = vec![("Chromium".to_owned(), home.join(".pki/nssdb"))];
    let snap = home.join("snap/chromium/current/.pki/nssdb");
    if snap.join("cert9.db").is_file() {
        found.push(("Chromium (snap)".to_owned(), snap));
    }
    found
}

/// The places Firefox keeps its `profiles.ini` under `home`.
fn firefox_roots(home: &Path) -> [PathBuf; 3] {
    [
        home.join(".mozilla/firefox"),
        home.join(".config/mozilla/firefox"),
        home.join("snap/firefox/common/.mozilla/firefox"),
    ]
}

/// The profile directories a `profiles.ini` in `root` lists (`Path=`, relative to
/// `root` where `IsRelative=1`, its default).
pub fn profiles_in(root: &Path, ini: &str) -> Vec<PathBuf> {
    let mut profiles = Vec::new();
    let mut section: Option<(Option<String>, bool)> = None;
    let mut flush = |section: &mut Option<(Option<String>, bool)>| {
        if let Some((Some(path), relative)) = section.take() {
            profiles.push(if relative {
                root.join(path)
            } else {
                PathBuf::from(path)
            });
        }
    };
    for line in ini.lines().map(str::trim) {
        if line.starts_with('[') {
            flush(&mut section);
            section = line.starts_with("[Profile").then_some((None, true));
        } else if let Some((path, relative)) = section.as_mut() {
            if let Some(value) = line.strip_prefix("Path=") {
                *path = Some(value.to_owned());
            } else if let Some(value) = line.strip_prefix("IsRelative=") {
                *relative = value != "0";
            }
        }
    }
    flush(&mut section);
    profiles
}

/// Every certificate database of this user's browsers under `home`.
pub fn find_stores(home: &Path) -> Stores {
    let mut stores = Stores {
        databases: chromium_databases(home),
        skipped: Vec::new(),
    };
    let mut any_ini = false;
    for root in firefox_roots(home) {
        let Ok(ini) = std::fs::read_to_string(root.join("profiles.ini")) else {
            continue;
        };
        any_ini = true;
        for profile in profiles_in(&root, &ini) {
            if profile.join("cert9.db").is_file() {
                stores
                    .databases
                    .push((format!("Firefox profile {}", profile.display()), profile));
            } else {
                stores.skipped.push(format!(
                    "Firefox profile {} has no certificate database yet: start Firefox once \
                     with it, then run this again",
                    profile.display()
                ));
            }
        }
    }
    if !any_ini {
        stores.skipped.push(format!(
            "Firefox: no profile found (no profiles.ini under {}, {} or {}): start Firefox \
             once, then run this again",
            firefox_roots(home)[0].display(),
            firefox_roots(home)[1].display(),
            firefox_roots(home)[2].display()
        ));
    }
    stores
}

/// What `trust` changes, said before it does.
pub fn trust_preamble(ca: &LocalCa) -> String {
    format!(
        "trust: adding the lab's local certificate authority \"{}\" to this user's browser \
         certificate databases. It can vouch for 127.0.0.1, ::1 and localhost only (name \
         constraints), and its key stays in the lab's data directory. Undo with `untrust`.",
        ca.nickname()
    )
}

/// What happened to one database (or why one was skipped), or why it failed.
pub type Outcome = Result<String, TrustError>;

/// Adds `ca` (saved as `ca_pem`) to every browser database under `home`, creating
/// Chromium's where there is none yet: one outcome per database or place skipped. A
/// database that fails does not stop the others.
pub fn trust(certutil: &Certutil, ca: &LocalCa, ca_pem: &Path, home: &Path) -> Vec<Outcome> {
    let stores = find_stores(home);
    let nickname = ca.nickname();
    let mut outcomes: Vec<Outcome> = stores
        .databases
        .iter()
        .map(|(browser, db)| {
            let mut created = String::new();
            if !db.join("cert9.db").is_file() {
                certutil.create(db)?;
                created = format!(
                    "{browser}: created the empty certificate database {} (Chromium reads \
                     it; there was none yet)\n",
                    db.display()
                );
            }
            if certutil.holds(db, &nickname)? {
                return Ok(format!(
                    "{created}{browser}: already trusts it ({})",
                    db.display()
                ));
            }
            certutil.add(db, &nickname, ca_pem)?;
            Ok(format!("{created}{browser}: added to {}", db.display()))
        })
        .collect();
    outcomes.extend(stores.skipped.into_iter().map(Ok));
    outcomes.push(Ok(
        "Restart the browsers for it to take effect. Chromium speaks HTTP/3 (QUIC) to the lab \
         only with its QUIC flags even so (it refuses QUIC to certificates of a local CA); \
         Firefox turns HTTP/3 off while a locally added CA is present, unless \
         network.http.http3.disable_when_third_party_roots_found is false (about:config)."
            .to_owned(),
    ));
    outcomes
}

/// The start of every lab CA's nickname ([`LocalCa::nickname`]).
const NICKNAME_PREFIX: &str = "gRPC-Web vs REST lab local CA ";

/// Removes every lab CA (this one and those of other data directories) from every
/// browser database under `home` that holds one: one outcome per removal (or one
/// saying none held any).
pub fn untrust(certutil: &Certutil, home: &Path) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for (browser, db) in find_stores(home).databases {
        if !db.join("cert9.db").is_file() {
            continue;
        }
        let names = match certutil.nicknames(&db) {
            Ok(names) => names,
            Err(err) => {
                outcomes.push(Err(err));
                continue;
            }
        };
        for name in names.iter().filter(|n| n.starts_with(NICKNAME_PREFIX)) {
            outcomes.push(
                certutil
                    .remove(&db, name)
                    .map(|()| format!("{browser}: removed \"{name}\" from {}", db.display())),
            );
        }
    }
    if outcomes.is_empty() {
        outcomes.push(Ok(
            "untrust: no browser database of this user holds a lab CA; nothing changed".to_owned(),
        ));
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_ini_lists_relative_and_absolute_profiles() {
        let root = Path::new("/home/u/.mozilla/firefox");
        let ini = "[Install4F96D1932A9F858E]\nDefault=abc.default-release\n\n\
                   [Profile1]\nName=default\nIsRelative=1\nPath=xyz.default\n\n\
                   [Profile0]\nName=other\nIsRelative=0\nPath=/srv/ff/other\nDefault=1\n\n\
                   [General]\nStartWithLastProfile=1\nVersion=2\n";
        assert_eq!(
            profiles_in(root, ini),
            vec![root.join("xyz.default"), PathBuf::from("/srv/ff/other")]
        );
        assert!(profiles_in(root, "[General]\nVersion=2\n").is_empty());
    }

    #[test]
    fn certutil_s_listing_gives_the_nicknames() {
        let listing = "\nCertificate Nickname                                         Trust Attributes\n\
                       SSL,S/MIME,JAR/XPI\n\n\
                       gRPC-Web vs REST lab local CA 0123abcd                       C,,\n\
                       Some Corp Root                                               CT,C,C\n";
        assert_eq!(
            nicknames_in(listing),
            ["gRPC-Web vs REST lab local CA 0123abcd", "Some Corp Root"]
        );
    }

    #[test]
    fn a_home_without_firefox_says_so_and_still_offers_chromium_s_database() {
        let home = Path::new("/nonexistent-home-of-the-lab-tests");
        let stores = find_stores(home);
        assert_eq!(
            stores.databases,
            vec![("Chromium".to_owned(), home.join(".pki/nssdb"))]
        );
        assert_eq!(stores.skipped.len(), 1);
        assert!(stores.skipped[0].starts_with("Firefox: no profile found"));
    }
}
