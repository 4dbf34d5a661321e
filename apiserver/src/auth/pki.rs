//! The cluster's certificates and credentials, created on first start in the
//! data dir: a CA, a serving certificate, an admin client certificate, a
//! read-only token, and the admin kubeconfig.

use std::path::Path;

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

/// Loads the credentials under `dir/pki`, creating any that are missing;
/// the serving certificate names `hosts` (IPs or DNS names) and `localhost`.
pub fn load_or_create(dir: &Path, hosts: &[String]) -> Result<Credentials, PkiError> {
    let _ = (dir, hosts);
    Err(PkiError::Generate("not implemented".into()))
}

/// Writes `dir/kubeconfig.yaml` for the admin, pointing at `server_url`.
pub fn write_kubeconfig(dir: &Path, server_url: &str, creds: &Credentials) -> Result<(), PkiError> {
    let _ = (dir, server_url, creds);
    Ok(())
}

/// The TLS configuration of the API port: the serving certificate, ALPN
/// `h2` and `http/1.1`, client certificates optional but verified against
/// the cluster CA when presented.
pub fn server_tls_config(creds: &Credentials) -> Result<rustls::ServerConfig, PkiError> {
    let _ = creds;
    Err(PkiError::Tls("not implemented".into()))
}
