//! The lab's local certificate authority: generated once in the lab's data directory,
//! it issues the TLS listeners' certificate, and `lab-backend trust` puts it where this
//! user's browsers look (see [`crate::trust_store`]). Browsers that trust it open every
//! TLS listener without a warning, and keep their HTTP/1.1 connections (Chromium
//! closes an HTTP/1.1 connection whose certificate had an error after each request).
//!
//! As mkcert does, the CA is name-constrained: it can vouch for `127.0.0.1`, `::1` and
//! `localhost` only, so a stolen key cannot impersonate any other site to a browser
//! that trusts it (Chromium and Firefox enforce the constraints on imported roots).
//!
//! The CA's name carries an id derived from its public key, so two labs' CAs (two data
//! directories, two machines' homes) never share a name: NSS wants one nickname per
//! subject name, and `untrust` removes exactly this CA.

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType, GeneralSubtree,
    IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::certificate::{CertificateError, GeneratedPem};

/// File names of the CA's certificate and key, in the TLS directory.
pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca-key.pem";

/// How long the CA is valid, and how long each certificate it issues.
const CA_YEARS: i64 = 10;
const LEAF_DAYS: i64 = 825;

/// The lab's certificate authority: its key and self-signed certificate.
#[derive(Debug)]
pub struct LocalCa {
    key: KeyPair,
    id: String,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
}

impl LocalCa {
    /// A new CA (ECDSA P-256), valid from yesterday for ten years.
    pub fn generate() -> Result<Self, CertificateError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let id = id_of(&key);
        let mut params = ca_params(&id);
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365 * CA_YEARS);
        let cert = params.self_signed(&key)?;
        Ok(Self {
            id,
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key,
        })
    }

    /// The CA saved in `dir`, or a new one saved there (the key readable by its owner
    /// only); the flag says whether it was created now.
    pub fn load_or_create(dir: &Path) -> Result<(Self, bool), CertificateError> {
        let (cert_path, key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
        if crate::certificate::pair_on_disk(&cert_path, &key_path)? {
            return Ok((Self::load(&cert_path, &key_path)?, false));
        }
        let ca = Self::generate()?;
        crate::certificate::save_pair(
            dir,
            (CA_KEY_FILE, &ca.key.serialize_pem()),
            (CA_CERT_FILE, &ca.cert_pem),
        )
        .map_err(|source| CertificateError::Save {
            dir: dir.to_owned(),
            source,
        })?;
        Ok((ca, true))
    }

    /// The CA saved as `cert_path` and `key_path`.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, CertificateError> {
        let read = |what, path| {
            crate::certificate::read(what, path)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        };
        let cert_pem = read("CA certificate", cert_path)?;
        let key_pem = read("CA key", key_path)?;
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|_| {
            CertificateError::NoPem {
                what: "CA certificate",
                path: cert_path.to_owned(),
                expected: "certificate",
            }
        })?;
        let key = KeyPair::from_pem(&key_pem).map_err(|_| CertificateError::NoPem {
            what: "CA key",
            path: key_path.to_owned(),
            expected: "private key",
        })?;
        // The key is the certificate's when its public key is in the certificate.
        if !contains(cert_der.as_ref(), key.public_key_raw()) {
            return Err(CertificateError::Mismatch {
                cert: cert_path.to_owned(),
                key: key_path.to_owned(),
            });
        }
        Ok(Self {
            id: id_of(&key),
            cert_pem,
            cert_der,
            key,
        })
    }

    /// A certificate for the lab's names (`127.0.0.1`, `::1`, `localhost`) signed by
    /// this CA; its PEM chain is the leaf, then this CA.
    pub fn issue(&self) -> Result<GeneratedPem, CertificateError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = crate::certificate::lab_names_params()?;
        params
            .distinguished_name
            .push(DnType::OrganizationName, ORGANIZATION);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(LEAF_DAYS);
        let issuer = Issuer::new(ca_params(&self.id), &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(GeneratedPem {
            cert: format!("{}{}", cert.pem(), self.cert_pem),
            key: key.serialize_pem(),
        })
    }

    /// Whether `chain` (leaf first) is one this CA issued for the lab's names that is
    /// still valid `days_ahead` days from now: a saved certificate that is not gets
    /// reissued.
    pub fn vouches_for(&self, chain: &[CertificateDer<'static>], days_ahead: u64) -> bool {
        let then = UnixTime::now().as_secs() + days_ahead * 24 * 60 * 60;
        let then = UnixTime::since_unix_epoch(std::time::Duration::from_secs(then));
        ["127.0.0.1", "localhost"]
            .iter()
            .all(|name| self.verify(chain, name, then).is_ok())
    }

    /// Verifies `chain` (leaf first) for `name` at `at` against a store holding only
    /// this CA, as a browser that trusts it does.
    fn verify(
        &self,
        chain: &[CertificateDer<'static>],
        name: &str,
        at: UnixTime,
    ) -> Result<(), rustls::Error> {
        use rustls::client::WebPkiServerVerifier;
        use rustls::client::danger::ServerCertVerifier;
        let (leaf, intermediates) = chain
            .split_first()
            .ok_or(rustls::Error::NoCertificatesPresented)?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert_der.clone())?;
        let verifier = WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            crate::certificate::provider(),
        )
        .build()
        .map_err(|err| rustls::Error::General(err.to_string()))?;
        let name = ServerName::try_from(name.to_owned())
            .map_err(|err| rustls::Error::General(err.to_string()))?;
        verifier
            .verify_server_cert(leaf, intermediates, &name, &[], at)
            .map(|_| ())
    }

    /// The CA's certificate in PEM (what a trust store imports).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA's certificate in DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The name the CA has in trust stores (NSS nickname), unique to this CA.
    pub fn nickname(&self) -> String {
        format!("{ORGANIZATION} local CA {}", self.id)
    }

    /// Where the CA is saved under the TLS directory `dir`.
    pub fn cert_path(dir: &Path) -> PathBuf {
        dir.join(CA_CERT_FILE)
    }
}

const ORGANIZATION: &str = "gRPC-Web vs REST lab";

/// The first 8 bytes of the SHA-256 of the key's public half, in hex.
fn id_of(key: &KeyPair) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key_raw());
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The CA's parameters for `id`: what its certificate says and what an issuer made from
/// it needs (name, key usages, key identifier method) are the same at every start.
fn ca_params(id: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(
        DnType::CommonName,
        format!("{ORGANIZATION} local CA {id} (127.0.0.1, ::1, localhost only)"),
    );
    name.push(DnType::OrganizationName, ORGANIZATION);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 1], [255; 4])),
            GeneralSubtree::IpAddress(CidrSubnet::V6(Ipv6Addr::LOCALHOST.octets(), [255; 16])),
            GeneralSubtree::DnsName("localhost".into()),
        ],
        excluded_subtrees: Vec::new(),
    });
    params
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verifies `chain` (leaf first) for `name`, now, against a store holding only `ca`.
    fn verify(ca: &LocalCa, chain: &[CertificateDer<'static>], name: &str) -> Result<(), String> {
        ca.verify(chain, name, UnixTime::now())
            .map_err(|err| err.to_string())
    }

    fn chain_of(pem: &GeneratedPem) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(pem.cert.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn an_issued_certificate_chains_to_the_ca_for_the_lab_s_names_only() {
        let ca = LocalCa::generate().unwrap();
        let chain = chain_of(&ca.issue().unwrap());
        assert_eq!(chain.len(), 2, "leaf, then the CA");
        assert_eq!(&chain[1], ca.cert_der());
        for name in ["127.0.0.1", "::1", "localhost"] {
            verify(&ca, &chain, name).unwrap_or_else(|err| panic!("{name}: {err}"));
        }
        for name in ["example.com", "10.0.0.1"] {
            assert!(verify(&ca, &chain, name).is_err(), "{name} accepted");
        }
        // Another CA's store does not trust it.
        let other = LocalCa::generate().unwrap();
        assert!(verify(&other, &chain, "127.0.0.1").is_err());
    }

    #[test]
    fn a_certificate_near_its_end_or_of_another_ca_is_not_vouched_for() {
        let ca = LocalCa::generate().unwrap();
        let chain = chain_of(&ca.issue().unwrap());
        assert!(ca.vouches_for(&chain, 30));
        // Issued for 825 days: not valid 900 days from now.
        assert!(!ca.vouches_for(&chain, 900));
        assert!(!LocalCa::generate().unwrap().vouches_for(&chain, 0));
        assert!(!ca.vouches_for(&[], 0));
    }

    #[test]
    fn the_ca_cannot_vouch_for_another_name_even_if_its_key_signs_one() {
        // A certificate for example.com signed with the CA's key: the CA's name
        // constraints make every verifier that honours them refuse it.
        let ca = LocalCa::generate().unwrap();
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(vec!["example.com".to_owned()]).unwrap();
        params.use_authority_key_identifier_extension = true;
        let issuer = Issuer::new(ca_params(&ca.id), &ca.key);
        let rogue = params.signed_by(&key, &issuer).unwrap();
        let chain = vec![rogue.der().clone(), ca.cert_der().clone()];
        let err = verify(&ca, &chain, "example.com").unwrap_err();
        assert!(err.to_lowercase().contains("name"), "{err}");
    }

    #[test]
    fn a_saved_ca_is_found_again_and_keeps_issuing_trusted_certificates() {
        let dir = std::env::temp_dir().join(format!("lab-ca-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (ca, created) = LocalCa::load_or_create(&dir).unwrap();
        assert!(created);
        let (again, created) = LocalCa::load_or_create(&dir).unwrap();
        assert!(!created);
        assert_eq!(again.cert_der(), ca.cert_der());
        assert_eq!(again.nickname(), ca.nickname());
        // A certificate issued after the reload chains to the saved CA.
        verify(&ca, &chain_of(&again.issue().unwrap()), "localhost").unwrap();
        // The key of another CA is refused.
        std::fs::write(
            dir.join(CA_KEY_FILE),
            LocalCa::generate().unwrap().key.serialize_pem(),
        )
        .unwrap();
        let err = LocalCa::load_or_create(&dir).unwrap_err();
        assert!(matches!(err, CertificateError::Mismatch { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
