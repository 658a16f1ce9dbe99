//! The certificate the TLS listeners present: issued once by the lab's local CA
//! ([`crate::local_ca`]; ECDSA P-256, valid for `127.0.0.1`, `::1` and `localhost`) and
//! saved with it in a per-user data directory, so a browser that trusts the CA (or an
//! exception for the certificate) holds across restarts; or one's own PEM files
//! (`--tls-cert`, `--tls-key`, e.g. from mkcert or a real CA for `--public`).
//!
//! Its SPKI pin (base64 of the SHA-256 of the SubjectPublicKeyInfo) is what Chromium's
//! `--ignore-certificate-errors-spki-list` takes: the browser tests trust the
//! certificate by it rather than ignoring every certificate error.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use crate::local_ca::LocalCa;

/// The application's directory under the per-user data directory.
pub const DATA_DIR_NAME: &str = "grpc-web-vs-rest-lab";
/// File names of a saved certificate and its key, in the TLS directory.
pub const CERT_FILE: &str = "cert.pem";
pub const KEY_FILE: &str = "key.pem";

/// The crypto provider of every TLS listener: ring (it builds with a C compiler only).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why a certificate could not be used; each says which file and what to do, in one line.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot save the certificate in {}: {source}", dir.display())]
    Save { dir: PathBuf, source: io::Error },
    #[error("{what} {} holds no {expected} in PEM form", path.display())]
    NoPem {
        what: &'static str,
        path: PathBuf,
        expected: &'static str,
    },
    #[error(
        "{} exists but {} does not: delete it to get a new certificate, or restore the other",
        present.display(),
        missing.display()
    )]
    HalfSaved { present: PathBuf, missing: PathBuf },
    #[error("the key {} does not belong to the certificate {}", key.display(), cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("the certificate {} or its key {} is unusable: {reason}", cert.display(), key.display())]
    Unusable {
        cert: PathBuf,
        key: PathBuf,
        reason: rustls::Error,
    },
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("no per-user data directory ($XDG_DATA_HOME and $HOME are unset): pass --tls-dir")]
    NoDataDir,
}

/// Where a certificate came from, for the startup message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// Issued now by the lab's CA and saved in this directory.
    Created(PathBuf),
    /// Issued at an earlier start, read from this directory.
    Saved(PathBuf),
    /// Issued now by the lab's CA, replacing a certificate in this directory that it
    /// had not issued (a self-signed one of an earlier version of the lab) or that
    /// expires within a month.
    Reissued(PathBuf),
    /// Given with `--tls-cert`.
    Given(PathBuf),
    /// Generated now, kept in memory only (tests).
    Ephemeral,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provenance::Created(dir) => {
                write!(f, "issued now by the lab's CA, in {}", dir.display())
            }
            Provenance::Saved(dir) => write!(f, "issued by the lab's CA, in {}", dir.display()),
            Provenance::Reissued(dir) => write!(
                f,
                "issued now by the lab's CA, replacing one it had not issued or that was \
                 expiring, in {}",
                dir.display()
            ),
            Provenance::Given(cert) => write!(f, "{}", cert.display()),
            Provenance::Ephemeral => f.write_str("generated for this process only"),
        }
    }
}

/// A certificate chain and its private key, checked to belong together.
#[derive(Debug)]
pub struct Certificate {
    key: Arc<CertifiedKey>,
    /// The chain in PEM, for clients that must trust it (tests).
    cert_pem: String,
    pin: String,
    provenance: Provenance,
}

/// A freshly generated certificate and key, in PEM.
#[derive(Debug, Clone)]
pub struct GeneratedPem {
    pub cert: String,
    pub key: String,
}

/// What a certificate for the lab's names says: `127.0.0.1`, `::1` and `localhost`,
/// for TLS servers (`serverAuth`). Self-signed by [`generate`], or issued by the lab's
/// CA ([`LocalCa::issue`]).
pub(crate) fn lab_names_params() -> Result<rcgen::CertificateParams, CertificateError> {
    use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, SanType};
    let mut params = CertificateParams::default();
    params.subject_alt_names = vec![
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        SanType::DnsName("localhost".try_into()?),
    ];
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "gRPC-Web vs REST lab (localhost)");
    params.distinguished_name = name;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params)
}

/// Generates a self-signed ECDSA P-256 certificate for the lab's names
/// ([`lab_names_params`]).
pub fn generate() -> Result<GeneratedPem, CertificateError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    // Validity: rcgen's default span (1975 to 4096), so a saved certificate never
    // expires under a browser's exception. No CA trusts it, so no CA's lifetime rules
    // apply.
    let cert = lab_names_params()?.self_signed(&key)?;
    Ok(GeneratedPem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Whether a key and certificate pair is saved at `cert_path` and `key_path`: both
/// files, or neither; one without the other is reported, never replaced.
pub(crate) fn pair_on_disk(cert_path: &Path, key_path: &Path) -> Result<bool, CertificateError> {
    match (cert_path.exists(), key_path.exists()) {
        (both, other) if both == other => Ok(both),
        (true, false) => Err(CertificateError::HalfSaved {
            present: cert_path.to_owned(),
            missing: key_path.to_owned(),
        }),
        _ => Err(CertificateError::HalfSaved {
            present: key_path.to_owned(),
            missing: cert_path.to_owned(),
        }),
    }
}

/// base64 of the SHA-256 of a SubjectPublicKeyInfo (DER): the form of Chromium's
/// `--ignore-certificate-errors-spki-list` (and of HPKP's `pin-sha256`).
pub fn spki_pin(spki_der: &[u8]) -> String {
    BASE64.encode(ring::digest::digest(&ring::digest::SHA256, spki_der))
}

/// The per-user data directory of the lab: `$XDG_DATA_HOME/grpc-web-vs-rest-lab`, or
/// `$HOME/.local/share/grpc-web-vs-rest-lab` (the XDG default); empty values count as
/// unset, as the XDG specification says.
pub fn data_dir(xdg_data_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let nonempty = |value: Option<OsString>| value.filter(|v| !v.is_empty()).map(PathBuf::from);
    // The specification also says a relative $XDG_DATA_HOME is to be ignored.
    let base = nonempty(xdg_data_home)
        .filter(|dir| dir.is_absolute())
        .or_else(|| nonempty(home).map(|home| home.join(".local/share")))?;
    Some(base.join(DATA_DIR_NAME))
}

/// [`data_dir`] from this process's environment.
pub fn default_dir() -> Result<PathBuf, CertificateError> {
    data_dir(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
        .ok_or(CertificateError::NoDataDir)
}

impl Certificate {
    /// Parses a PEM chain and key and checks that the key is the certificate's.
    /// `cert_path`/`key_path` only name them in errors.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        cert_path: &Path,
        key_path: &Path,
        provenance: Provenance,
    ) -> Result<Self, CertificateError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .ok()
            .filter(|chain| !chain.is_empty())
            .ok_or_else(|| CertificateError::NoPem {
                what: "certificate",
                path: cert_path.to_owned(),
                expected: "certificate",
            })?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| CertificateError::NoPem {
            what: "key",
            path: key_path.to_owned(),
            expected: "private key",
        })?;
        let unusable = |reason| CertificateError::Unusable {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
            reason,
        };
        let key = CertifiedKey::from_der(chain, key, &provider()).map_err(|err| match err {
            rustls::Error::InconsistentKeys(_) => CertificateError::Mismatch {
                cert: cert_path.to_owned(),
                key: key_path.to_owned(),
            },
            other => unusable(other),
        })?;
        // `from_der` checked that the key's SPKI is the certificate's, so the pin of
        // one is the pin of the other.
        let spki = key.key.public_key().ok_or_else(|| {
            unusable(rustls::Error::General(
                "the key's public half cannot be derived".into(),
            ))
        })?;
        let pin = spki_pin(spki.as_ref());
        Ok(Self {
            key: Arc::new(key),
            cert_pem: String::from_utf8_lossy(cert_pem).into_owned(),
            pin,
            provenance,
        })
    }

    /// Reads one's own certificate chain and key (PEM files).
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, CertificateError> {
        Self::read(cert_path, key_path, Provenance::Given(cert_path.to_owned()))
    }

    /// The certificate saved in `dir`, or a new one issued by the lab's CA (itself
    /// found in `dir`, or created there) and saved there; a saved certificate the CA
    /// did not issue is replaced. Keys are readable by their owner only.
    pub fn load_or_create(dir: &Path) -> Result<Self, CertificateError> {
        let (ca, _) = LocalCa::load_or_create(dir)?;
        let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        let provenance = if pair_on_disk(&cert_path, &key_path)? {
            let saved = Self::read(&cert_path, &key_path, Provenance::Saved(dir.to_owned()))?;
            // Reissued a month before it expires, so it never lapses under a running lab.
            if ca.vouches_for(saved.chain(), 30) {
                return Ok(saved);
            }
            Provenance::Reissued(dir.to_owned())
        } else {
            Provenance::Created(dir.to_owned())
        };
        let pem = ca.issue()?;
        save_pair(dir, (KEY_FILE, &pem.key), (CERT_FILE, &pem.cert)).map_err(|source| {
            CertificateError::Save {
                dir: dir.to_owned(),
                source,
            }
        })?;
        Self::from_generated(&pem, &cert_path, &key_path, provenance)
    }

    /// A certificate issued by `ca`, held in memory only (test servers whose browsers
    /// trust `ca`).
    pub fn issued_by(ca: &LocalCa) -> Result<Self, CertificateError> {
        let unsaved = Path::new("<generated>");
        Self::from_generated(&ca.issue()?, unsaved, unsaved, Provenance::Ephemeral)
    }

    /// A new certificate held in memory only (test servers).
    pub fn ephemeral() -> Result<Self, CertificateError> {
        let unsaved = Path::new("<generated>");
        Self::from_generated(&generate()?, unsaved, unsaved, Provenance::Ephemeral)
    }

    fn read(
        cert_path: &Path,
        key_path: &Path,
        provenance: Provenance,
    ) -> Result<Self, CertificateError> {
        let cert = read("certificate", cert_path)?;
        let key = read("key", key_path)?;
        Self::from_pem(&cert, &key, cert_path, key_path, provenance)
    }

    fn from_generated(
        pem: &GeneratedPem,
        cert_path: &Path,
        key_path: &Path,
        provenance: Provenance,
    ) -> Result<Self, CertificateError> {
        Self::from_pem(
            pem.cert.as_bytes(),
            pem.key.as_bytes(),
            cert_path,
            key_path,
            provenance,
        )
    }

    /// The SPKI pin (see the function [`spki_pin`]).
    pub fn spki_pin(&self) -> &str {
        &self.pin
    }

    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The chain in PEM, as read or generated.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.key.cert
    }

    /// A TLS server configuration presenting this certificate and offering `alpn`
    /// (most preferred first).
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<ServerConfig> {
        let resolver = rustls::sign::SingleCertAndKey::from(self.key.clone());
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = alpn.iter().map(|id| id.to_vec()).collect();
        Arc::new(config)
    }
}

pub(crate) fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, CertificateError> {
    std::fs::read(path).map_err(|source| CertificateError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Writes a key (owner-only) and then its certificate into `dir`, each `(file name,
/// PEM)`, replacing earlier ones: the key first and the certificate last, so an
/// interrupted save leaves a half pair that the next start reports instead of a
/// certificate without its key.
pub(crate) fn save_pair(dir: &Path, key: (&str, &str), cert: (&str, &str)) -> io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    for name in [cert.0, key.0] {
        match std::fs::remove_file(dir.join(name)) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(dir.join(key.0))?.write_all(key.1.as_bytes())?;
    std::fs::write(dir.join(cert.0), cert.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pem: &GeneratedPem) -> Result<Certificate, CertificateError> {
        Certificate::from_pem(
            pem.cert.as_bytes(),
            pem.key.as_bytes(),
            Path::new("c.pem"),
            Path::new("k.pem"),
            Provenance::Ephemeral,
        )
    }

    #[test]
    fn the_data_dir_follows_xdg_then_home() {
        let some = |s: &str| Some(OsString::from(s));
        assert_eq!(
            data_dir(some("/x/data"), some("/home/u")),
            Some(PathBuf::from("/x/data/grpc-web-vs-rest-lab"))
        );
        // Empty or relative $XDG_DATA_HOME: the default under $HOME.
        for xdg in [some(""), some("relative"), None] {
            assert_eq!(
                data_dir(xdg, some("/home/u")),
                Some(PathBuf::from("/home/u/.local/share/grpc-web-vs-rest-lab"))
            );
        }
        assert_eq!(data_dir(None, some("")), None);
        assert_eq!(data_dir(None, None), None);
    }

    #[test]
    fn the_pin_is_base64_of_the_sha256_of_the_spki() {
        // SHA-256 of the empty input (`printf "" | openssl dgst -sha256 -binary | base64`).
        assert_eq!(
            spki_pin(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn a_generated_certificate_parses_with_a_pin_of_its_key() {
        let pem = generate().unwrap();
        assert!(pem.cert.starts_with("-----BEGIN CERTIFICATE-----"));
        let cert = parse(&pem).unwrap();
        assert_eq!(cert.chain().len(), 1);
        assert_eq!(cert.spki_pin().len(), 44, "{}", cert.spki_pin());
        // Another key, another pin.
        let other = parse(&generate().unwrap()).unwrap();
        assert_ne!(cert.spki_pin(), other.spki_pin());
    }

    #[test]
    fn a_key_of_another_certificate_is_a_mismatch() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        let crossed = GeneratedPem {
            cert: a.cert,
            key: b.key,
        };
        let err = parse(&crossed).unwrap_err();
        assert!(matches!(err, CertificateError::Mismatch { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the key k.pem does not belong to the certificate c.pem"
        );
    }

    #[test]
    fn files_without_pem_say_which_one() {
        let good = generate().unwrap();
        let no_cert = GeneratedPem {
            cert: "not a certificate".into(),
            key: good.key.clone(),
        };
        assert_eq!(
            parse(&no_cert).unwrap_err().to_string(),
            "certificate c.pem holds no certificate in PEM form"
        );
        // A certificate where the key should be.
        let no_key = GeneratedPem {
            cert: good.cert.clone(),
            key: good.cert,
        };
        assert_eq!(
            parse(&no_key).unwrap_err().to_string(),
            "key k.pem holds no private key in PEM form"
        );
    }

    #[test]
    fn servers_offer_the_alpn_they_are_given() {
        let cert = Certificate::ephemeral().unwrap();
        let config = cert.server_config(&[b"h2", b"http/1.1"]);
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(cert.server_config(&[b"http/1.1"]).alpn_protocols == [b"http/1.1".to_vec()]);
    }
}
