//! TLS on source connections: the mode, the certificate material and the client library's
//! options built from them, one place for every connection (metadata, snapshot, position,
//! binlog dump, precheck).
//!
//! The TLS backend is OpenSSL through `native-tls` (the same vendored OpenSSL librdkafka
//! links), not rustls: `mysql_async`'s rustls backend recognises a host-name mismatch by
//! the text "NotValidForName", which rustls 0.23 no longer writes, so `verify_ca` (a
//! checked CA without a host-name check) cannot be had with it.

use std::fmt;
use std::path::PathBuf;

use mysql_async::{ClientIdentity, SslOpts};

/// How a connection uses TLS: MySQL's `--ssl-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TlsMode {
    /// Never TLS.
    Disabled,
    /// TLS when the server offers it, else plain; the certificate is not checked.
    #[default]
    Preferred,
    /// TLS or no connection; the certificate is not checked.
    Required,
    /// TLS with a certificate signed by the CA (the system's CAs without one); any name.
    VerifyCa,
    /// `VerifyCa`, and the certificate names the host connected to.
    VerifyIdentity,
}

impl TlsMode {
    /// The spelling of the project file: `disabled`, `preferred`, `required`, `verify_ca`,
    /// `verify_identity`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Preferred => "preferred",
            TlsMode::Required => "required",
            TlsMode::VerifyCa => "verify_ca",
            TlsMode::VerifyIdentity => "verify_identity",
        }
    }

    /// Whether the server's certificate is checked.
    pub fn verifies_certificate(self) -> bool {
        matches!(self, TlsMode::VerifyCa | TlsMode::VerifyIdentity)
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// PEM text: a file, read at each connection (a renewed certificate is picked up by the
/// next one), or the text itself (the server's data sources keep it in their store).
#[derive(Clone, PartialEq, Eq)]
pub enum Pem {
    /// A PEM file.
    File(PathBuf),
    /// PEM text.
    Text(String),
}

impl fmt::Debug for Pem {
    // The text may be a private key: it never reaches logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pem::File(path) => write!(f, "File({})", path.display()),
            Pem::Text(text) => write!(f, "Text({} bytes)", text.len()),
        }
    }
}

impl Pem {
    fn read(&self, what: &'static str) -> Result<Vec<u8>, TlsSetupError> {
        match self {
            Pem::Text(text) => Ok(text.as_bytes().to_vec()),
            Pem::File(path) => std::fs::read(path).map_err(|source| TlsSetupError::Read {
                what,
                path: path.clone(),
                source,
            }),
        }
    }
}

/// A client certificate (with its chain, if any) and its private key, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The certificate, then any intermediates.
    pub cert: Pem,
    /// The certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: Pem,
}

/// TLS settings of a source endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceTls {
    /// How TLS is used.
    pub mode: TlsMode,
    /// The CA bundle the server's certificate must be signed by (verify modes only; the
    /// system's CAs without it).
    pub ca: Option<Pem>,
    /// The client certificate, for users created `REQUIRE X509`.
    pub client_cert: Option<ClientCertificate>,
}

/// The TLS material could not be used; no connection was attempted.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A file named by the settings is unreadable.
    #[error("cannot read the TLS {what} file {} (check that it exists and obsync may read it)", path.display())]
    Read {
        /// Which file (`CA`, `client certificate`, `client key`).
        what: &'static str,
        /// Its path.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The client certificate or key is not PEM, or the key does not belong to it.
    #[error("the TLS client certificate and key cannot be used (both must be PEM and the key must be the certificate's)")]
    ClientIdentity {
        #[source]
        source: openssl::error::ErrorStack,
    },
}

/// The password of the in-memory PKCS#12 archive below; it never leaves the process.
const ARCHIVE_PASSWORD: &str = "obsync";

impl SourceTls {
    /// The client library's TLS options, or `None` for `disabled`. `mysql_async` with
    /// OpenSSL takes a client identity only as a PKCS#12 archive, so the PEM certificate
    /// and key are packed into one in memory (nothing is written to disk).
    pub(crate) fn ssl_opts(&self) -> Result<Option<SslOpts>, TlsSetupError> {
        if self.mode == TlsMode::Disabled {
            return Ok(None);
        }
        let mut opts = SslOpts::default();
        if self.mode.verifies_certificate() {
            if let Some(ca) = &self.ca {
                // Only the given CA: a public CA must not vouch for a private server.
                opts = opts
                    .with_root_certs(vec![ca.read("CA")?.into()])
                    .with_disable_built_in_roots(true);
            }
            opts = opts.with_danger_skip_domain_validation(self.mode == TlsMode::VerifyCa);
        } else {
            // preferred and required encrypt but, as in MySQL's clients, check nothing.
            opts = opts.with_danger_accept_invalid_certs(true);
        }
        if let Some(client) = &self.client_cert {
            let cert = client.cert.read("client certificate")?;
            let key = client.key.read("client key")?;
            let archive =
                pkcs12(&cert, &key).map_err(|source| TlsSetupError::ClientIdentity { source })?;
            opts = opts.with_client_identity(Some(
                ClientIdentity::new(archive.into()).with_password(ARCHIVE_PASSWORD),
            ));
        }
        Ok(Some(opts))
    }
}

/// Packs a PEM certificate chain and its key into a PKCS#12 archive (DER). OpenSSL refuses
/// a key that does not belong to the certificate.
fn pkcs12(cert: &[u8], key: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    use openssl::pkcs12::Pkcs12;
    use openssl::pkey::PKey;
    use openssl::stack::Stack;
    use openssl::x509::X509;

    let mut chain = X509::stack_from_pem(cert)?.into_iter();
    let leaf = chain.next().map_or_else(|| X509::from_pem(cert), Ok)?;
    let key = PKey::private_key_from_pem(key)?;
    let mut builder = Pkcs12::builder();
    builder.name("obsync").pkey(&key).cert(&leaf);
    let mut rest = Stack::new()?;
    for intermediate in chain {
        rest.push(intermediate)?;
    }
    if !rest.is_empty() {
        builder.ca(rest);
    }
    builder.build2(ARCHIVE_PASSWORD)?.to_der()
}
