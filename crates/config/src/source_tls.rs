//! `[source.tls]`: TLS on every connection to the source (metadata, snapshot, binlog dump,
//! precheck), with the modes MySQL clients know from `--ssl-mode`.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::error::Problems;
use crate::raw::RawSourceTls;
use crate::target::ClientCertificate;

/// How a source connection uses TLS: MySQL's `--ssl-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SourceTlsMode {
    /// Never TLS.
    Disabled,
    /// TLS when the server offers it, else a plain connection; the server's certificate
    /// is not checked. The default, as for MySQL's own clients.
    #[default]
    Preferred,
    /// TLS or no connection; the server's certificate is not checked.
    Required,
    /// TLS with a server certificate signed by `ca_file` (or, without it, by a CA the
    /// system trusts); the host name is not compared.
    VerifyCa,
    /// `VerifyCa`, and the certificate must name the host obsync connects to.
    VerifyIdentity,
}

impl SourceTlsMode {
    /// Every mode, in the order of its protection.
    pub const ALL: [SourceTlsMode; 5] = [
        SourceTlsMode::Disabled,
        SourceTlsMode::Preferred,
        SourceTlsMode::Required,
        SourceTlsMode::VerifyCa,
        SourceTlsMode::VerifyIdentity,
    ];

    /// Parses a mode as MySQL clients spell it, in any case and with `-` or `_`:
    /// `verify_identity`, `VERIFY_IDENTITY` and `verify-identity` are one mode.
    pub fn parse(text: &str) -> Option<SourceTlsMode> {
        let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL.into_iter().find(|m| m.as_str() == wanted)
    }

    /// The documented spelling: `disabled`, `preferred`, `required`, `verify_ca` or
    /// `verify_identity`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceTlsMode::Disabled => "disabled",
            SourceTlsMode::Preferred => "preferred",
            SourceTlsMode::Required => "required",
            SourceTlsMode::VerifyCa => "verify_ca",
            SourceTlsMode::VerifyIdentity => "verify_identity",
        }
    }

    /// Whether the server's certificate is checked against trusted CAs.
    pub fn verifies_certificate(self) -> bool {
        matches!(
            self,
            SourceTlsMode::VerifyCa | SourceTlsMode::VerifyIdentity
        )
    }
}

impl fmt::Display for SourceTlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The validated `[source.tls]` table (the default when the table is absent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceTls {
    /// How TLS is used.
    pub mode: SourceTlsMode,
    /// The CA bundle the server's certificate must be signed by (only with
    /// `verify_ca`/`verify_identity`), resolved against the project file's directory; the
    /// file existed when the project was loaded. Without it those modes trust the system's
    /// CAs.
    pub ca_file: Option<PathBuf>,
    /// A client certificate and key, for users created `REQUIRE X509` (any mode but
    /// `disabled`).
    pub client_cert: Option<ClientCertificate>,
}

pub(crate) fn check_source_tls(
    raw: &RawSourceTls,
    base_dir: &Path,
    problems: &mut Problems<'_>,
) -> Option<SourceTls> {
    let before = problems.len();
    let mode = match &raw.mode {
        None => Some(SourceTlsMode::default()),
        Some(mode) => {
            let parsed = SourceTlsMode::parse(mode.get_ref());
            if parsed.is_none() {
                problems.report(
                    mode.span(),
                    "source.tls.mode",
                    format!("unknown TLS mode {:?}", mode.get_ref()),
                    "use \"disabled\", \"preferred\", \"required\", \"verify_ca\" or \
                     \"verify_identity\"",
                );
            }
            parsed
        }
    };
    let mut file = |name: &str, value: &Option<Spanned<String>>| -> Option<PathBuf> {
        let value = value.as_ref()?;
        let path = base_dir.join(value.get_ref());
        if !path.is_file() {
            problems.report(
                value.span(),
                format!("source.tls.{name}"),
                format!(
                    "file {:?} does not exist ({})",
                    value.get_ref(),
                    path.display()
                ),
                "check the path; a relative path is relative to the project file's directory",
            );
        }
        Some(path)
    };
    let ca_file = file("ca_file", &raw.ca_file);
    let cert_file = file("client_cert_file", &raw.client_cert_file);
    let key_file = file("client_key_file", &raw.client_key_file);
    let lone = match (&raw.client_cert_file, &raw.client_key_file) {
        (Some(cert), None) => Some((cert, "client_cert_file is set without client_key_file")),
        (None, Some(key)) => Some((key, "client_key_file is set without client_cert_file")),
        _ => None,
    };
    if let Some((value, message)) = lone {
        problems.report(
            value.span(),
            "source.tls",
            message,
            "set both for a client certificate, or neither",
        );
    }
    let mode = mode?;
    // A CA that is not checked would only look like protection.
    if let (Some(ca), false) = (&raw.ca_file, mode.verifies_certificate()) {
        problems.report(
            ca.span(),
            "source.tls.ca_file",
            format!(
                "ca_file is not used with mode {mode:?}",
                mode = mode.as_str()
            ),
            "set mode = \"verify_identity\" (or \"verify_ca\") to check the server's \
             certificate against it, or remove ca_file",
        );
    }
    if let (Some(cert), SourceTlsMode::Disabled) = (&raw.client_cert_file, mode) {
        problems.report(
            cert.span(),
            "source.tls.client_cert_file",
            "a client certificate needs TLS, which mode \"disabled\" turns off",
            "choose another mode, or remove client_cert_file and client_key_file",
        );
    }
    if problems.len() != before {
        return None;
    }
    Some(SourceTls {
        mode,
        ca_file,
        client_cert: cert_file
            .zip(key_file)
            .map(|(cert_file, key_file)| ClientCertificate {
                cert_file,
                key_file,
            }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_in_mysql_spellings() {
        assert_eq!(
            SourceTlsMode::parse("VERIFY_IDENTITY"),
            Some(SourceTlsMode::VerifyIdentity)
        );
        assert_eq!(
            SourceTlsMode::parse("verify-ca"),
            Some(SourceTlsMode::VerifyCa)
        );
        assert_eq!(
            SourceTlsMode::parse("Preferred"),
            Some(SourceTlsMode::Preferred)
        );
        assert_eq!(SourceTlsMode::parse("verify"), None);
        for mode in SourceTlsMode::ALL {
            assert_eq!(SourceTlsMode::parse(mode.as_str()), Some(mode));
        }
    }
}
