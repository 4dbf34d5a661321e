//! The cluster's certificates and credentials, created on first start in the
//! data dir: a CA, a serving certificate, an admin client certificate, a
//! read-only token, and the admin kubeconfig.
//!
//! Everything lives under `<dir>/pki/` as PEM files (`ca.crt`, `ca.key`,
//! `apiserver.crt`, `apiserver.key`, `admin.crt`, `admin.key`) plus
//! `tokens.csv` in kube's static token file format; private material is
//! mode 0600. Later starts reuse what is there, re-issuing a leaf
//! certificate (never the CA) when it is missing, no longer chains to the
//! CA, expires within 30 days, or — for the serving certificate — lacks a
//! requested host.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, SanType,
    SerialNumber,
};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use serde::Serialize;
use x509_parser::asn1_rs::Tag;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use super::{ADMIN_USER, SYSTEM_MASTERS, VIEWER_USER, VIEWERS};

/// Everything the server and its first clients need to trust each other.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub ca_cert_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub admin_cert_pem: String,
    pub admin_key_pem: String,
    /// A bearer token for the admin (kubeconfigs without certificates).
    pub admin_token: String,
    /// A bearer token for the read-only identity.
    pub readonly_token: String,
    /// The P-256 key (PKCS#8 DER) signing service-account tokens.
    pub service_account_key_der: Vec<u8>,
}

/// Why the credentials could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create certificates: {0}")]
    Generate(String),
    #[error("cannot build the TLS configuration: {0}")]
    Tls(String),
}

/// The subdirectory of the data dir holding the PKI.
pub const PKI_DIR: &str = "pki";
/// The admin kubeconfig, in the data dir.
pub const KUBECONFIG_FILE: &str = "kubeconfig.yaml";
/// The read-only kubeconfig, in the data dir.
pub const READONLY_KUBECONFIG_FILE: &str = "kubeconfig-readonly.yaml";

const CA_CERT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";
const SERVER_CERT: &str = "apiserver.crt";
const SERVER_KEY: &str = "apiserver.key";
const ADMIN_CERT: &str = "admin.crt";
const ADMIN_KEY: &str = "admin.key";
const TOKENS: &str = "tokens.csv";
const SERVICE_ACCOUNT_KEY: &str = "service-account.key";

const CA_COMMON_NAME: &str = "mars-ca";
const SERVER_COMMON_NAME: &str = "mars-apiserver";
const CLUSTER_NAME: &str = "mars";

const DAY: u64 = 24 * 60 * 60;
const CA_VALIDITY: u64 = 3650 * DAY;
const LEAF_VALIDITY: u64 = 365 * DAY;
/// Leaves closer than this to expiry are re-issued on start.
const RENEW_BEFORE: u64 = 30 * DAY;
/// Certificates start an hour in the past to tolerate clock skew.
const BACKDATE: u64 = 60 * 60;

/// The names in-cluster clients use for the API server.
const IN_CLUSTER_NAMES: &[&str] = &[
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// Loads the credentials under `dir/pki`, creating any that are missing;
/// the serving certificate names `hosts` (IPs or DNS names) and `localhost`.
pub fn load_or_create(dir: &Path, hosts: &[String]) -> Result<Credentials, PkiError> {
    let pki = dir.join(PKI_DIR);
    create_private_dir(&pki)?;
    let names = serving_names(hosts)?;
    let ca = load_or_create_ca(&pki)?;
    let (server_cert_pem, server_key_pem) = load_or_issue(&pki, &ca, &Leaf::Serving(&names))?;
    let (admin_cert_pem, admin_key_pem) = load_or_issue(&pki, &ca, &Leaf::Admin)?;
    let (admin_token, readonly_token) = load_or_create_tokens(&pki)?;
    let service_account_key_der = load_or_create_service_account_key(&pki)?;
    Ok(Credentials {
        ca_cert_pem: ca.cert_pem,
        server_cert_pem,
        server_key_pem,
        admin_cert_pem,
        admin_key_pem,
        admin_token,
        readonly_token,
        service_account_key_der,
    })
}

/// The key signing service-account tokens (kube's
/// `--service-account-signing-key-file`), created once: replacing it would
/// invalidate every token issued.
fn load_or_create_service_account_key(pki: &Path) -> Result<Vec<u8>, PkiError> {
    let path = pki.join(SERVICE_ACCOUNT_KEY);
    if let Some(pem) = read_optional(&path)? {
        let key = KeyPair::from_pem(&pem)
            .map_err(|e| generate_error(format!("{}: {e}", path.display())))?;
        return Ok(key.serialize_der());
    }
    let key = KeyPair::generate().map_err(generate_error)?;
    write_file(&path, key.serialize_pem().as_bytes(), true)?;
    Ok(key.serialize_der())
}

/// Writes `dir/kubeconfig.yaml` for the admin, pointing at `server_url`,
/// and `dir/kubeconfig-readonly.yaml` for the read-only token user.
pub fn write_kubeconfig(dir: &Path, server_url: &str, creds: &Credentials) -> Result<(), PkiError> {
    let admin = Kubeconfig::new(
        server_url,
        creds,
        CLUSTER_NAME,
        ADMIN_USER,
        KubeconfigUser {
            client_certificate_data: Some(STANDARD.encode(&creds.admin_cert_pem)),
            client_key_data: Some(STANDARD.encode(&creds.admin_key_pem)),
            token: None,
        },
    );
    let viewer = Kubeconfig::new(
        server_url,
        creds,
        VIEWER_USER,
        VIEWER_USER,
        KubeconfigUser {
            client_certificate_data: None,
            client_key_data: None,
            token: Some(creds.readonly_token.clone()),
        },
    );
    for (file, config) in [(KUBECONFIG_FILE, admin), (READONLY_KUBECONFIG_FILE, viewer)] {
        let yaml = serde_yaml::to_string(&config)
            .map_err(|e| PkiError::Generate(format!("cannot render {file}: {e}")))?;
        write_file(&dir.join(file), yaml.as_bytes(), true)?;
    }
    Ok(())
}

/// The TLS configuration of the API port: the serving certificate, ALPN
/// `h2` and `http/1.1`, client certificates optional but verified against
/// the cluster CA when presented.
pub fn server_tls_config(creds: &Credentials) -> Result<ServerConfig, PkiError> {
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(
        ca_roots(&creds.ca_cert_pem)?,
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()
    .map_err(tls_error)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            cert_chain(&creds.server_cert_pem)?,
            private_key(&creds.server_key_pem)?,
        )
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The admin's client TLS configuration (CA-verified server, admin client
/// certificate, ALPN `h2` and `http/1.1`), for in-process clients and tests.
pub fn admin_client_tls_config(creds: &Credentials) -> Result<ClientConfig, PkiError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_root_certificates(ca_roots(&creds.ca_cert_pem)?)
        .with_client_auth_cert(
            cert_chain(&creds.admin_cert_pem)?,
            private_key(&creds.admin_key_pem)?,
        )
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The crypto provider of every TLS object here: ring, explicitly, so
/// nothing depends on a process-wide default being installed.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(err: impl std::fmt::Display) -> PkiError {
    PkiError::Tls(err.to_string())
}

fn generate_error(err: impl std::fmt::Display) -> PkiError {
    PkiError::Generate(err.to_string())
}

fn ca_roots(ca_cert_pem: &str) -> Result<Arc<RootCertStore>, PkiError> {
    let mut roots = RootCertStore::empty();
    for cert in cert_chain(ca_cert_pem)? {
        roots.add(cert).map_err(tls_error)?;
    }
    Ok(Arc::new(roots))
}

fn cert_chain(pem: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(tls_error)?;
    if chain.is_empty() {
        return Err(PkiError::Tls("no certificate in PEM".into()));
    }
    Ok(chain)
}

fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>, PkiError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(tls_error)
}

/// A name the serving certificate must carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Host {
    Ip(IpAddr),
    Dns(String),
}

impl Host {
    /// An IP (`10.0.0.1`, `::1`, `[::1]`) or a DNS name (`api.example.com`,
    /// `*.example.com`); `None` for a blank entry.
    fn parse(raw: &str) -> Result<Option<Self>, PkiError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let unbracketed = trimmed
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(trimmed);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(Some(Host::Ip(ip)));
        }
        let name = trimmed.trim_end_matches('.').to_ascii_lowercase();
        if !is_dns_name(&name) {
            return Err(PkiError::Generate(format!(
                "{raw:?} is neither an IP address nor a DNS name"
            )));
        }
        Ok(Some(Host::Dns(name)))
    }

    fn san(&self) -> Result<SanType, PkiError> {
        Ok(match self {
            Host::Ip(ip) => SanType::IpAddress(*ip),
            Host::Dns(name) => SanType::DnsName(name.as_str().try_into().map_err(generate_error)?),
        })
    }
}

/// A DNS name of letters, digits and hyphens, optionally a `*.` wildcard.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            !label.is_empty()
                && label.len() <= 63
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Every name of the serving certificate: loopback, `hosts`, and the
/// in-cluster `kubernetes*` names, without duplicates.
fn serving_names(hosts: &[String]) -> Result<Vec<Host>, PkiError> {
    let mut names = vec![
        Host::Dns("localhost".into()),
        Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ];
    for host in hosts {
        if let Some(host) = Host::parse(host)? {
            names.push(host);
        }
    }
    names.extend(IN_CLUSTER_NAMES.iter().map(|n| Host::Dns(n.to_string())));
    let mut seen = HashSet::new();
    names.retain(|name| seen.insert(name.clone()));
    Ok(names)
}

/// The hosts a certificate names in its subjectAltName extension.
fn certificate_hosts(cert: &X509Certificate<'_>) -> HashSet<Host> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return HashSet::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(Host::Dns(dns.to_ascii_lowercase())),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => <[u8; 4]>::try_from(*bytes).ok().map(|b| Host::Ip(b.into())),
                16 => <[u8; 16]>::try_from(*bytes)
                    .ok()
                    .map(|b| Host::Ip(b.into())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The cluster CA: its certificate and what signs with it.
struct Ca {
    cert_pem: String,
    roots: Arc<RootCertStore>,
    issuer: Issuer<'static, KeyPair>,
}

/// Loads `ca.crt`/`ca.key`, or creates them when there is no `ca.crt`. A
/// certificate without its key is an error rather than a silent new CA:
/// clients may already trust the old one.
fn load_or_create_ca(pki: &Path) -> Result<Ca, PkiError> {
    let cert_path = pki.join(CA_CERT);
    let key_path = pki.join(CA_KEY);
    let Some(cert_pem) = read_optional(&cert_path)? else {
        let key = KeyPair::generate().map_err(generate_error)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, CA_COMMON_NAME);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        set_validity(&mut params, CA_VALIDITY)?;
        let cert_pem = params.self_signed(&key).map_err(generate_error)?.pem();
        write_file(&key_path, key.serialize_pem().as_bytes(), true)?;
        write_file(&cert_path, cert_pem.as_bytes(), false)?;
        return Ok(Ca {
            roots: ca_roots(&cert_pem)?,
            cert_pem,
            issuer: Issuer::new(params, key),
        });
    };
    let key_pem = read_optional(&key_path)?.ok_or_else(|| {
        PkiError::Generate(format!(
            "{} exists without {}; restore the key or remove {} to create a new CA",
            cert_path.display(),
            key_path.display(),
            pki.display()
        ))
    })?;
    let key = KeyPair::from_pem(&key_pem)
        .map_err(|e| PkiError::Generate(format!("cannot parse {}: {e}", key_path.display())))?;
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| PkiError::Generate(format!("cannot parse {}: {e}", cert_path.display())))?;
    let issuer = issuer_of(&der, key)
        .map_err(|e| PkiError::Generate(format!("{}: {e}", cert_path.display())))?;
    Ok(Ca {
        roots: ca_roots(&cert_pem)?,
        cert_pem,
        issuer,
    })
}

/// An rcgen issuer for an existing CA certificate: its subject (with the
/// original string types, so issued certificates name it byte for byte)
/// and subject key identifier.
fn issuer_of(der: &[u8], key: KeyPair) -> Result<Issuer<'static, KeyPair>, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err("the CA key does not match the CA certificate".into());
    }
    let mut name = DistinguishedName::new();
    for attr in cert.subject().iter_attributes() {
        let oid: Vec<u64> = attr
            .attr_type()
            .iter()
            .ok_or("unsupported subject attribute")?
            .collect();
        let text = attr.as_str().map_err(|e| e.to_string())?;
        let value = if attr.attr_value().tag() == Tag::PrintableString {
            DnValue::PrintableString(text.try_into().map_err(|e| format!("{e}"))?)
        } else {
            DnValue::Utf8String(text.to_string())
        };
        name.push(DnType::from_oid(&oid), value);
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = name;
    if let Some(ski) = cert
        .iter_extensions()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
    {
        params.key_identifier_method = KeyIdMethod::PreSpecified(ski);
    }
    Ok(Issuer::new(params, key))
}

/// A certificate the CA issues.
enum Leaf<'a> {
    /// The API server's serving certificate, naming these hosts.
    Serving(&'a [Host]),
    /// The admin's client certificate (`mars-admin`, `system:masters`).
    Admin,
}

impl Leaf<'_> {
    fn files(&self) -> (&'static str, &'static str) {
        match self {
            Leaf::Serving(_) => (SERVER_CERT, SERVER_KEY),
            Leaf::Admin => (ADMIN_CERT, ADMIN_KEY),
        }
    }

    /// Signs a new certificate and key, returned as PEM.
    fn issue(&self, ca: &Ca) -> Result<(String, String), PkiError> {
        let key = KeyPair::generate().map_err(generate_error)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        match self {
            Leaf::Serving(hosts) => {
                params
                    .distinguished_name
                    .push(DnType::CommonName, SERVER_COMMON_NAME);
                params.subject_alt_names = hosts.iter().map(Host::san).collect::<Result<_, _>>()?;
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            }
            Leaf::Admin => {
                params
                    .distinguished_name
                    .push(DnType::CommonName, ADMIN_USER);
                params
                    .distinguished_name
                    .push(DnType::OrganizationName, SYSTEM_MASTERS);
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            }
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params, LEAF_VALIDITY)?;
        let cert_pem = params
            .signed_by(&key, &ca.issuer)
            .map_err(generate_error)?
            .pem();
        let key_pem = key.serialize_pem();
        if !self.is_current(ca, &cert_pem, &key_pem) {
            return Err(PkiError::Generate(
                "a freshly issued certificate does not verify against the CA".into(),
            ));
        }
        Ok((cert_pem, key_pem))
    }

    /// Whether a stored certificate can be kept: its key matches, it chains
    /// to the CA for its purpose, it is not about to expire, and a serving
    /// certificate names every requested host.
    fn is_current(&self, ca: &Ca, cert_pem: &str, key_pem: &str) -> bool {
        let Ok(der) = CertificateDer::from_pem_slice(cert_pem.as_bytes()) else {
            return false;
        };
        let Ok(key) = KeyPair::from_pem(key_pem) else {
            return false;
        };
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
            return false;
        };
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return false;
        }
        let now = unix_now();
        let not_after = u64::try_from(cert.validity().not_after.timestamp()).unwrap_or(0);
        if not_after < now.saturating_add(RENEW_BEFORE) {
            return false;
        }
        let unix_time = UnixTime::since_unix_epoch(Duration::from_secs(now));
        match self {
            Leaf::Serving(hosts) => {
                let present = certificate_hosts(&cert);
                let verifier =
                    WebPkiServerVerifier::builder_with_provider(ca.roots.clone(), provider())
                        .build();
                hosts.iter().all(|h| present.contains(h))
                    && verifier.is_ok_and(|v| {
                        v.verify_server_cert(
                            &der,
                            &[],
                            &ServerName::from(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                            &[],
                            unix_time,
                        )
                        .is_ok()
                    })
            }
            Leaf::Admin => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(ca.roots.clone(), provider())
                        .build();
                verifier.is_ok_and(|v| v.verify_client_cert(&der, &[], unix_time).is_ok())
            }
        }
    }
}

/// Reuses the leaf's stored certificate and key if still good, else issues
/// and stores new ones.
fn load_or_issue(pki: &Path, ca: &Ca, leaf: &Leaf<'_>) -> Result<(String, String), PkiError> {
    let (cert_file, key_file) = leaf.files();
    let cert_path = pki.join(cert_file);
    let key_path = pki.join(key_file);
    if let (Some(cert_pem), Some(key_pem)) = (read_optional(&cert_path)?, read_optional(&key_path)?)
        && leaf.is_current(ca, &cert_pem, &key_pem)
    {
        return Ok((cert_pem, key_pem));
    }
    let (cert_pem, key_pem) = leaf.issue(ca)?;
    write_file(&key_path, key_pem.as_bytes(), true)?;
    write_file(&cert_path, cert_pem.as_bytes(), false)?;
    Ok((cert_pem, key_pem))
}

/// Validity from an hour ago for `lifetime`, and a random serial number.
fn set_validity(params: &mut CertificateParams, lifetime: u64) -> Result<(), PkiError> {
    let start = unix_now().saturating_sub(BACKDATE);
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + Duration::from_secs(start);
    params.not_after = epoch + Duration::from_secs(start + BACKDATE + lifetime);
    let mut serial = random_bytes::<16>()?;
    // Positive and without a leading zero byte, as RFC 5280 wants.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], PkiError> {
    let mut bytes = [0u8; N];
    provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| PkiError::Generate("no secure randomness available".into()))?;
    Ok(bytes)
}

/// A bearer token: 32 random bytes, base64url.
fn new_token() -> Result<String, PkiError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// The admin and read-only tokens from `tokens.csv` (kube's static token
/// file format, `token,user,uid,"groups"`), creating any that are missing.
fn load_or_create_tokens(pki: &Path) -> Result<(String, String), PkiError> {
    let path = pki.join(TOKENS);
    let existing = read_optional(&path)?.unwrap_or_default();
    let mut admin = None;
    let mut viewer = None;
    for line in existing.lines() {
        let mut fields = line.split(',');
        let (Some(token), Some(user)) = (fields.next(), fields.next()) else {
            continue;
        };
        let token = token.trim();
        if token.is_empty() {
            continue;
        }
        match user.trim() {
            ADMIN_USER => admin = Some(token.to_string()),
            VIEWER_USER => viewer = Some(token.to_string()),
            _ => {}
        }
    }
    if let (Some(admin), Some(viewer)) = (&admin, &viewer) {
        return Ok((admin.clone(), viewer.clone()));
    }
    let admin = admin.map_or_else(new_token, Ok)?;
    let viewer = viewer.map_or_else(new_token, Ok)?;
    let contents = format!(
        "{admin},{ADMIN_USER},{ADMIN_USER},\"{SYSTEM_MASTERS}\"\n\
         {viewer},{VIEWER_USER},{VIEWER_USER},\"{VIEWERS}\"\n"
    );
    write_file(&path, contents.as_bytes(), true)?;
    Ok((admin, viewer))
}

/// A kubeconfig with one cluster, one user and one context.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Kubeconfig {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    clusters: Vec<Named<KubeconfigCluster>>,
    users: Vec<Named<KubeconfigUserEntry>>,
    contexts: Vec<Named<KubeconfigContext>>,
    current_context: String,
}

#[derive(Serialize)]
struct Named<T> {
    name: String,
    #[serde(flatten)]
    item: T,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct KubeconfigCluster {
    cluster: ClusterEntry,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterEntry {
    certificate_authority_data: String,
    server: String,
}

#[derive(Serialize)]
struct KubeconfigUserEntry {
    user: KubeconfigUser,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct KubeconfigUser {
    #[serde(skip_serializing_if = "Option::is_none")]
    client_certificate_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_key_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

#[derive(Serialize)]
struct KubeconfigContext {
    context: ContextEntry,
}

#[derive(Serialize)]
struct ContextEntry {
    cluster: String,
    user: String,
}

impl Kubeconfig {
    fn new(
        server_url: &str,
        creds: &Credentials,
        context: &str,
        user: &str,
        credentials: KubeconfigUser,
    ) -> Self {
        Self {
            api_version: "v1",
            kind: "Config",
            clusters: vec![Named {
                name: CLUSTER_NAME.into(),
                item: KubeconfigCluster {
                    cluster: ClusterEntry {
                        certificate_authority_data: STANDARD.encode(&creds.ca_cert_pem),
                        server: server_url.into(),
                    },
                },
            }],
            users: vec![Named {
                name: user.into(),
                item: KubeconfigUserEntry { user: credentials },
            }],
            contexts: vec![Named {
                name: context.into(),
                item: KubeconfigContext {
                    context: ContextEntry {
                        cluster: CLUSTER_NAME.into(),
                        user: user.into(),
                    },
                },
            }],
            current_context: context.into(),
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A file's contents, or `None` if it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>, PkiError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

fn create_private_dir(path: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(path).map_err(io_error(path))?;
    set_mode(path, 0o700)
}

/// Writes `contents` atomically (a temporary file renamed into place);
/// `private` files are readable by the owner only.
fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), PkiError> {
    let mode = if private { 0o600 } else { 0o644 };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    let mut file = options.open(&tmp).map_err(io_error(&tmp))?;
    // The temporary file may predate us with a looser mode.
    set_mode(&tmp, mode)?;
    file.write_all(contents).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    fs::rename(&tmp, path).map_err(io_error(path))
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), PkiError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_error(path))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), PkiError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::authn::{Authenticator, Credential};
    use crate::auth::{AUTHENTICATED, UserInfo};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn hosts(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn parse(pem: &str) -> (HashSet<Host>, String, Vec<String>) {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).expect("pem");
        let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("x509");
        let cn = cert
            .subject()
            .iter_common_name()
            .filter_map(|a| a.as_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let orgs = cert
            .subject()
            .iter_organization()
            .filter_map(|a| a.as_str().ok().map(str::to_string))
            .collect();
        (certificate_hosts(&cert), cn, orgs)
    }

    #[test]
    fn created_then_reloaded_unchanged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create(dir.path(), &hosts(&["10.1.2.3"])).expect("create");
        let second = load_or_create(dir.path(), &hosts(&["10.1.2.3"])).expect("reload");
        assert_eq!(first.ca_cert_pem, second.ca_cert_pem);
        assert_eq!(first.server_cert_pem, second.server_cert_pem);
        assert_eq!(first.server_key_pem, second.server_key_pem);
        assert_eq!(first.admin_cert_pem, second.admin_cert_pem);
        assert_eq!(first.admin_key_pem, second.admin_key_pem);
        assert_eq!(first.admin_token, second.admin_token);
        assert_eq!(first.readonly_token, second.readonly_token);
        assert_ne!(first.admin_token, first.readonly_token);
        for token in [&first.admin_token, &first.readonly_token] {
            let bytes = URL_SAFE_NO_PAD.decode(token).expect("base64url");
            assert!(bytes.len() >= 32);
        }
    }

    #[cfg(unix)]
    #[test]
    fn files_are_in_pki_with_private_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let creds = load_or_create(dir.path(), &[]).expect("create");
        write_kubeconfig(dir.path(), "https://127.0.0.1:6443", &creds).expect("kubeconfig");
        let mode = |path: &Path| fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
        let pki = dir.path().join(PKI_DIR);
        for file in [CA_KEY, SERVER_KEY, ADMIN_KEY, TOKENS] {
            assert_eq!(mode(&pki.join(file)), 0o600, "{file}");
        }
        for file in [CA_CERT, SERVER_CERT, ADMIN_CERT] {
            let text = fs::read_to_string(pki.join(file)).expect(file);
            assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{file}");
        }
        assert!(
            fs::read_to_string(pki.join(CA_KEY))
                .expect("key")
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        for file in [KUBECONFIG_FILE, READONLY_KUBECONFIG_FILE] {
            assert_eq!(mode(&dir.path().join(file)), 0o600, "{file}");
        }
        assert_eq!(mode(&pki), 0o700);
        let tokens = fs::read_to_string(pki.join(TOKENS)).expect("tokens");
        assert!(tokens.contains(&format!(
            "{},mars-admin,mars-admin,\"system:masters\"",
            creds.admin_token
        )));
    }

    #[test]
    fn certificates_have_the_expected_subjects_and_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let creds = load_or_create(
            dir.path(),
            &hosts(&["192.168.1.10", "Mars.Example.com", "[fd00::1]", " "]),
        )
        .expect("create");
        let (names, cn, _) = parse(&creds.server_cert_pem);
        assert_eq!(cn, "mars-apiserver");
        for expected in [
            Host::Dns("localhost".into()),
            Host::Ip("127.0.0.1".parse().expect("ip")),
            Host::Ip("::1".parse().expect("ip")),
            Host::Ip("192.168.1.10".parse().expect("ip")),
            Host::Ip("fd00::1".parse().expect("ip")),
            Host::Dns("mars.example.com".into()),
            Host::Dns("kubernetes".into()),
            Host::Dns("kubernetes.default".into()),
            Host::Dns("kubernetes.default.svc".into()),
        ] {
            assert!(names.contains(&expected), "{expected:?} in {names:?}");
        }
        let (_, cn, orgs) = parse(&creds.admin_cert_pem);
        assert_eq!(cn, "mars-admin");
        assert_eq!(orgs, vec!["system:masters".to_string()]);
        let (_, cn, _) = parse(&creds.ca_cert_pem);
        assert_eq!(cn, "mars-ca");
    }

    #[test]
    fn invalid_hosts_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        for bad in ["host:6443", "under_score.example", "-bad.example", "a..b"] {
            assert!(
                matches!(
                    load_or_create(dir.path(), &hosts(&[bad])),
                    Err(PkiError::Generate(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_new_host_reissues_only_the_serving_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create(dir.path(), &hosts(&["10.0.0.1"])).expect("create");
        let second =
            load_or_create(dir.path(), &hosts(&["10.0.0.1", "api.example.com"])).expect("reissue");
        assert_eq!(first.ca_cert_pem, second.ca_cert_pem);
        assert_eq!(first.admin_cert_pem, second.admin_cert_pem);
        assert_eq!(first.admin_token, second.admin_token);
        assert_ne!(first.server_cert_pem, second.server_cert_pem);
        let (names, _, _) = parse(&second.server_cert_pem);
        assert!(names.contains(&Host::Dns("api.example.com".into())));
        assert!(names.contains(&Host::Ip("10.0.0.1".parse().expect("ip"))));
        // Dropping a host keeps the (still sufficient) certificate.
        let third = load_or_create(dir.path(), &hosts(&["api.example.com"])).expect("reload");
        assert_eq!(second.server_cert_pem, third.server_cert_pem);
        // The re-issued certificate still chains to the same CA.
        let config = server_tls_config(&second).expect("tls config");
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn a_ca_without_its_key_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        load_or_create(dir.path(), &[]).expect("create");
        fs::remove_file(dir.path().join(PKI_DIR).join(CA_KEY)).expect("remove");
        assert!(matches!(
            load_or_create(dir.path(), &[]),
            Err(PkiError::Generate(_))
        ));
    }

    #[test]
    fn a_missing_or_foreign_leaf_is_reissued() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create(dir.path(), &[]).expect("create");
        let pki = dir.path().join(PKI_DIR);
        fs::remove_file(pki.join(ADMIN_KEY)).expect("remove");
        // A serving certificate from another CA.
        let other = tempfile::tempdir().expect("tempdir");
        let foreign = load_or_create(other.path(), &[]).expect("other");
        fs::write(pki.join(SERVER_CERT), &foreign.server_cert_pem).expect("write");
        fs::write(pki.join(SERVER_KEY), &foreign.server_key_pem).expect("write");
        let second = load_or_create(dir.path(), &[]).expect("reload");
        assert_eq!(first.ca_cert_pem, second.ca_cert_pem);
        assert_ne!(first.admin_cert_pem, second.admin_cert_pem);
        assert_ne!(second.server_cert_pem, foreign.server_cert_pem);
        server_tls_config(&second).expect("tls config");
    }

    #[test]
    fn kubeconfigs_parse_with_the_expected_fields() {
        let dir = tempfile::tempdir().expect("tempdir");
        let creds = load_or_create(dir.path(), &[]).expect("create");
        write_kubeconfig(dir.path(), "https://127.0.0.1:6443", &creds).expect("write");
        let read = |file: &str| -> serde_json::Value {
            let text = fs::read_to_string(dir.path().join(file)).expect("read");
            serde_yaml::from_str(&text).expect("yaml")
        };
        let b64 = |v: &serde_json::Value| {
            String::from_utf8(
                STANDARD
                    .decode(v.as_str().expect("string"))
                    .expect("base64"),
            )
            .expect("utf8")
        };

        let admin = read(KUBECONFIG_FILE);
        assert_eq!(admin["apiVersion"], "v1");
        assert_eq!(admin["kind"], "Config");
        assert_eq!(admin["current-context"], "mars");
        let cluster = &admin["clusters"][0];
        assert_eq!(cluster["name"], "mars");
        assert_eq!(cluster["cluster"]["server"], "https://127.0.0.1:6443");
        assert_eq!(
            b64(&cluster["cluster"]["certificate-authority-data"]),
            creds.ca_cert_pem
        );
        let user = &admin["users"][0];
        assert_eq!(user["name"], "mars-admin");
        assert_eq!(
            b64(&user["user"]["client-certificate-data"]),
            creds.admin_cert_pem
        );
        assert_eq!(b64(&user["user"]["client-key-data"]), creds.admin_key_pem);
        let context = &admin["contexts"][0];
        assert_eq!(context["name"], "mars");
        assert_eq!(context["context"]["cluster"], "mars");
        assert_eq!(context["context"]["user"], "mars-admin");

        let viewer = read(READONLY_KUBECONFIG_FILE);
        assert_eq!(viewer["users"][0]["name"], "mars-viewer");
        assert_eq!(
            viewer["users"][0]["user"]["token"],
            creds.readonly_token.as_str()
        );
        assert!(viewer["users"][0]["user"].get("client-key-data").is_none());
        let context = viewer["current-context"].as_str().expect("context");
        assert_eq!(viewer["contexts"][0]["name"], context);
        assert_eq!(viewer["contexts"][0]["context"]["user"], "mars-viewer");
        assert_eq!(viewer["clusters"], admin["clusters"]);
    }

    /// Runs one TLS handshake over an in-memory pipe and returns the client
    /// certificate the server saw, the negotiated ALPN protocol, and what
    /// the client read back.
    async fn handshake(
        server: ServerConfig,
        client: ClientConfig,
    ) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>), std::io::Error> {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let server_task = tokio::spawn(async move {
            let mut tls = acceptor.accept(server_io).await?;
            let (_, conn) = tls.get_ref();
            let cert = conn
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|c| c.to_vec());
            let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
            tls.write_all(b"ok").await?;
            tls.shutdown().await?;
            Ok::<_, std::io::Error>((cert, alpn))
        });
        let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
        let client_result = async {
            let mut tls = connector.connect(name, client_io).await?;
            let mut buf = Vec::new();
            tls.read_to_end(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        }
        .await;
        let server_result = server_task.await.map_err(std::io::Error::other)?;
        let buf = client_result?;
        assert_eq!(buf, b"ok");
        server_result
    }

    #[tokio::test]
    async fn tls_handshake_yields_the_admin_identity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let creds = load_or_create(dir.path(), &[]).expect("create");
        let (cert, alpn) = handshake(
            server_tls_config(&creds).expect("server"),
            admin_client_tls_config(&creds).expect("client"),
        )
        .await
        .expect("handshake");
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
        let cert = cert.expect("a client certificate");
        let authn = Authenticator::from_credentials(&creds);
        let user = authn
            .authenticate(Some(&cert), &http::HeaderMap::new())
            .expect("authenticated")
            .expect("a user");
        assert_eq!(
            user,
            Credential::User(UserInfo {
                username: ADMIN_USER.into(),
                groups: vec![SYSTEM_MASTERS.into(), AUTHENTICATED.into()],
                ..UserInfo::default()
            })
        );
    }

    #[tokio::test]
    async fn tls_without_a_client_certificate_is_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let creds = load_or_create(dir.path(), &[]).expect("create");
        let client = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(ca_roots(&creds.ca_cert_pem).expect("roots"))
            .with_no_client_auth();
        let (cert, alpn) = handshake(server_tls_config(&creds).expect("server"), client)
            .await
            .expect("handshake");
        assert_eq!(cert, None);
        assert_eq!(alpn, None);
    }

    #[tokio::test]
    async fn tls_refuses_a_client_certificate_from_another_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let creds = load_or_create(dir.path(), &[]).expect("create");
        let other_dir = tempfile::tempdir().expect("tempdir");
        let other = load_or_create(other_dir.path(), &[]).expect("other");
        let client = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(ca_roots(&creds.ca_cert_pem).expect("roots"))
            .with_client_auth_cert(
                cert_chain(&other.admin_cert_pem).expect("chain"),
                private_key(&other.admin_key_pem).expect("key"),
            )
            .expect("client");
        let result = handshake(server_tls_config(&creds).expect("server"), client).await;
        assert!(result.is_err());
    }
}
