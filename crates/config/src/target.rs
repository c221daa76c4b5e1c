//! `[target]`: the Kafka cluster, its version, compression, SASL, TLS and producer extras.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::error::Problems;
use crate::producer::{check_producer, ProducerSettings};
use crate::raw::{header_span, RawSasl, RawTarget, RawTls};
use crate::secret::{resolve_password, Environment, Secret};

/// The Kafka broker version family the project talks to.
///
/// Every rule that depends on the version is one `supports_*` function below; the config
/// checks and the Kafka client both ask these, so a new per-version rule goes here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KafkaVersion {
    /// 0.9: no CreateTopics, no idempotence, SASL only as GSSAPI (Kerberos).
    V0_9,
    /// 1.0 (and 1.1).
    V1_0,
    /// 2.x.
    V2,
    /// 3.x, 4.x and newer.
    V3Plus,
}

impl KafkaVersion {
    /// Parses `0.9`, `1.0`, `2.x`, `3.x`, `4.x`, or an exact version such as `2.8.1`
    /// (classified by its major version; `0.9.x` is 0.9).
    pub fn parse(version: &str) -> Option<KafkaVersion> {
        let version = version.trim().to_ascii_lowercase();
        let mut parts = version.split('.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor = parts.next()?;
        if minor != "x" && minor.parse::<u32>().is_err() {
            return None;
        }
        // Exact versions have up to four parts, e.g. 0.9.0.1.
        let rest: Vec<&str> = parts.collect();
        if rest.len() > 2 || rest.iter().any(|p| p.parse::<u32>().is_err()) {
            return None;
        }
        match (major, minor) {
            (0, "9") => Some(KafkaVersion::V0_9),
            (0, _) => None,
            (1, _) => Some(KafkaVersion::V1_0),
            (2, _) => Some(KafkaVersion::V2),
            _ => Some(KafkaVersion::V3Plus),
        }
    }

    /// Whether topics can be created through the protocol (CreateTopics arrived in 0.10.1).
    pub fn supports_topic_creation(self) -> bool {
        self != KafkaVersion::V0_9
    }

    /// Whether the idempotent producer can be used (Kafka 0.11 and newer; here 1.0 and up).
    pub fn supports_idempotence(self) -> bool {
        self != KafkaVersion::V0_9
    }

    /// Whether the brokers speak this SASL mechanism: GSSAPI since 0.9, PLAIN since 0.10.0
    /// and SCRAM since 0.10.2 (here: 1.0 and up).
    pub fn supports_sasl(self, mechanism: SaslMechanism) -> bool {
        mechanism == SaslMechanism::Gssapi || self != KafkaVersion::V0_9
    }

    /// Whether records can carry headers (Kafka 0.11 and newer; here 1.0 and up).
    pub fn supports_headers(self) -> bool {
        self != KafkaVersion::V0_9
    }

    /// Whether zstd compression works (Kafka 2.1 and newer).
    pub fn supports_zstd(self) -> bool {
        self >= KafkaVersion::V2
    }

    /// The version as the configuration writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            KafkaVersion::V0_9 => "0.9",
            KafkaVersion::V1_0 => "1.0",
            KafkaVersion::V2 => "2.x",
            KafkaVersion::V3Plus => "3.x+",
        }
    }
}

impl fmt::Display for KafkaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compression of produced message batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// No compression (the default).
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
    /// Zstandard (Kafka 2.1 and newer).
    Zstd,
}

impl Compression {
    /// Parses `none`, `gzip`, `snappy`, `lz4` or `zstd` (any case).
    pub fn parse(name: &str) -> Option<Compression> {
        match name.to_ascii_lowercase().as_str() {
            "none" => Some(Compression::None),
            "gzip" => Some(Compression::Gzip),
            "snappy" => Some(Compression::Snappy),
            "lz4" => Some(Compression::Lz4),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// The name librdkafka's `compression.type` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SASL mechanisms obsync supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaslMechanism {
    /// PLAIN (send TLS along, or the password travels in clear).
    Plain,
    /// SCRAM-SHA-256.
    ScramSha256,
    /// SCRAM-SHA-512.
    ScramSha512,
    /// GSSAPI (Kerberos): a principal and its keytab instead of a user name and password.
    Gssapi,
}

impl SaslMechanism {
    /// Parses `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `GSSAPI` (any case).
    pub fn parse(name: &str) -> Option<SaslMechanism> {
        match name.to_ascii_uppercase().as_str() {
            "PLAIN" => Some(SaslMechanism::Plain),
            "SCRAM-SHA-256" => Some(SaslMechanism::ScramSha256),
            "SCRAM-SHA-512" => Some(SaslMechanism::ScramSha512),
            "GSSAPI" => Some(SaslMechanism::Gssapi),
            _ => None,
        }
    }

    /// The name librdkafka's `sasl.mechanisms` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanism::Gssapi => "GSSAPI",
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SASL authentication with the brokers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sasl {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// The user name; for GSSAPI the Kerberos principal (`obsync@EXAMPLE.COM`).
    pub username: String,
    /// The password, resolved from `password` or `password_env`; empty for GSSAPI.
    pub password: Secret,
    /// GSSAPI's settings; present exactly when the mechanism is GSSAPI.
    pub kerberos: Option<Kerberos>,
}

/// How obsync authenticates with Kerberos: obsync runs `kinit` with the keytab (argument
/// vectors, never a shell) into a private credential cache, and renews the ticket, for the
/// principal in [`Sasl::username`]; librdkafka only reads that cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kerberos {
    /// The brokers' Kerberos service name (the first part of their principal).
    pub service_name: String,
    /// The keytab holding the principal's key; the file existed when the project was loaded.
    pub keytab: PathBuf,
}

/// Why a Kerberos setting was refused, and how to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKerberos {
    /// What is wrong, naming the value.
    pub message: String,
    /// How to write it instead.
    pub fix: &'static str,
}

/// Longest principal, keytab path or service name accepted: far above real ones, and a
/// bound on what reaches `kinit`'s arguments.
const KERBEROS_MAX_LEN: usize = 255;

/// Characters refused in a keytab path: they have no business in a file name and are the
/// tools of shell injection (the path once reached a shell through librdkafka's kinit).
const KEYTAB_REFUSED: &[char] = &[
    '"', '\'', '`', '$', ';', '&', '|', '<', '>', '\\', '(', ')', '{', '}', '*', '?', '!', '#',
    '~', '\n', '\r',
];

/// A component of a principal (name, instance or realm): letters, digits and `._-`,
/// starting with a letter or digit (so that it can never read as a command-line option).
fn is_principal_component(part: &str) -> bool {
    part.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Kerberos {
    /// Checks the shape of a principal: `name@REALM` or `name/instance@REALM`, each part
    /// letters, digits and `._-` (starting with a letter or digit), one `/` at most, one
    /// `@`. The one rule for project files, the API, the OMS shim and import.
    pub fn check_principal(principal: &str) -> Result<(), InvalidKerberos> {
        let invalid = || InvalidKerberos {
            message: format!("{principal:?} is not a Kerberos principal"),
            fix: "write it as name@REALM or name/host@REALM with letters, digits and ._- \
                  only, e.g. obsync@EXAMPLE.COM",
        };
        if principal.len() > KERBEROS_MAX_LEN {
            return Err(invalid());
        }
        let (name, realm) = principal.split_once('@').ok_or_else(invalid)?;
        let (primary, instance) = match name.split_once('/') {
            Some((primary, instance)) => (primary, Some(instance)),
            None => (name, None),
        };
        let ok = is_principal_component(primary)
            && instance.is_none_or(is_principal_component)
            && is_principal_component(realm);
        if ok {
            Ok(())
        } else {
            Err(invalid())
        }
    }

    /// Whether `principal` passes [`Kerberos::check_principal`].
    pub fn is_principal(principal: &str) -> bool {
        Self::check_principal(principal).is_ok()
    }

    /// Checks a keytab path as it will be handed to `kinit`: no control or format
    /// characters, none of `"'`$;&|<>\(){}*?!#~`, and an existing regular file. Relative
    /// paths are resolved by the caller first (against the project file's directory; the
    /// server takes absolute paths only).
    pub fn check_keytab(path: &Path) -> Result<(), InvalidKerberos> {
        let text = path.to_string_lossy();
        let bad = text.len() > KERBEROS_MAX_LEN
            || text.contains(|c: char| {
                c.is_control() || crate::names::is_format_char(c) || KEYTAB_REFUSED.contains(&c)
            });
        if bad {
            return Err(InvalidKerberos {
                message: format!("keytab path {text:?} has characters a file name should not have"),
                fix: "move the keytab to a path of letters, digits, spaces and ./_-, e.g. \
                      /etc/obsync/obsync.keytab",
            });
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => Ok(()),
            Ok(_) => Err(InvalidKerberos {
                message: format!("keytab {text:?} is not a regular file"),
                fix: "name the keytab file itself (made with kadmin's ktadd)",
            }),
            Err(_) => Err(InvalidKerberos {
                message: format!("keytab {text:?} does not exist"),
                fix: "check the path; a relative path is relative to the project file's directory",
            }),
        }
    }

    /// Checks the brokers' service name: letters, digits and `._-`, as the first part of
    /// a principal is.
    pub fn check_service_name(name: &str) -> Result<(), InvalidKerberos> {
        if name.len() <= KERBEROS_MAX_LEN && is_principal_component(name) {
            Ok(())
        } else {
            Err(InvalidKerberos {
                message: format!("{name:?} is not a service name"),
                fix: "write the first part of the brokers' principal (kafka/host@REALM -> \
                      \"kafka\"), or remove it for the default \"kafka\"",
            })
        }
    }
}

/// The brokers' service name when `kerberos_service_name` is not set (Kafka's own default).
pub const DEFAULT_KERBEROS_SERVICE_NAME: &str = "kafka";

/// TLS to the brokers. Present only when enabled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tls {
    /// CA bundle to trust instead of the system's.
    pub ca: Option<Pem>,
    /// Client certificate and key, for brokers that authenticate clients (mTLS).
    pub client_cert: Option<ClientCertificate>,
    /// Whether the broker's host name must match its certificate.
    pub verify_hostname: bool,
}

/// A PEM document: a file the client reads, or the text itself, handed to the client in
/// memory (the server's data sources: a private key never touches the disk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pem {
    /// A file, resolved against the project file's directory; it existed at load time.
    File(PathBuf),
    /// The PEM text (`ca_pem`, `cert_pem`, or the variable `key_pem_env` names).
    Inline(Secret),
}

/// A TLS client certificate: the certificate and its private key, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// PEM client certificate.
    pub cert: Pem,
    /// PEM private key of `cert`.
    pub key: Pem,
}

/// One `host:port` of the bootstrap list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerAddress {
    /// Host name, IPv4 address, or IPv6 address in brackets.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl BrokerAddress {
    /// Parses `host:port` (IPv6 as `[addr]:port`).
    pub fn parse(text: &str) -> Option<BrokerAddress> {
        let (host, port) = text.rsplit_once(':')?;
        let port: u16 = port.parse().ok().filter(|&p| p > 0)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let bracketed = host.starts_with('[') && host.ends_with(']');
        if bare.is_empty()
            || host.contains(char::is_whitespace)
            || host.contains('/')
            || (bare.contains(':') && !bracketed)
        {
            return None;
        }
        Some(BrokerAddress {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for BrokerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The validated `[target]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetConfig {
    /// Brokers to bootstrap from (at least one).
    pub bootstrap_servers: Vec<BrokerAddress>,
    /// The broker version family.
    pub version: KafkaVersion,
    /// Batch compression.
    pub compression: Compression,
    /// SASL authentication, if configured.
    pub sasl: Option<Sasl>,
    /// TLS, if enabled.
    pub tls: Option<Tls>,
    /// The producer numbers obsync acts on, from `[target.producer]`.
    pub producer: ProducerSettings,
    /// The other `[target.producer]` properties, passed to librdkafka as given. Never
    /// contains a property that a field controls or that obsync's guarantees rest on.
    pub producer_extra: BTreeMap<String, String>,
}

impl TargetConfig {
    /// The bootstrap list as librdkafka's `bootstrap.servers` takes it.
    pub fn bootstrap_servers_string(&self) -> String {
        self.bootstrap_servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub(crate) fn check_target(
    raw: &RawTarget,
    base_dir: &Path,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> Option<TargetConfig> {
    let before = problems.len();
    let bootstrap_servers = check_bootstrap(&raw.bootstrap_servers, problems);
    let version = KafkaVersion::parse(raw.version.get_ref());
    if version.is_none() {
        problems.report(
            raw.version.span(),
            "target.version",
            format!("unknown Kafka version {:?}", raw.version.get_ref()),
            "use \"0.9\", \"1.0\", \"2.x\", \"3.x\" or \"4.x\"",
        );
    }
    let compression = match &raw.compression {
        None => Some(Compression::None),
        Some(name) => {
            let parsed = Compression::parse(name.get_ref());
            if parsed.is_none() {
                problems.report(
                    name.span(),
                    "target.compression",
                    format!("unknown compression {:?}", name.get_ref()),
                    "use \"none\", \"gzip\", \"snappy\", \"lz4\" or \"zstd\"",
                );
            }
            if let (Some(Compression::Zstd), Some(v)) = (parsed, version) {
                if !v.supports_zstd() {
                    problems.report(
                        name.span(),
                        "target.compression",
                        format!("zstd needs Kafka 2.1 or newer, the target is {v}"),
                        "use \"lz4\" or \"gzip\"",
                    );
                }
            }
            parsed
        }
    };
    let sasl = raw
        .sasl
        .as_ref()
        .map(|sasl| check_sasl(sasl, version, base_dir, env, problems));
    let tls = raw
        .tls
        .as_ref()
        .map(|tls| check_tls(tls, base_dir, env, problems));
    let (producer, producer_extra) = check_producer(&raw.producer, env, problems);
    if problems.len() != before {
        return None;
    }
    Some(TargetConfig {
        bootstrap_servers,
        version: version?,
        compression: compression?,
        sasl: sasl.flatten(),
        tls: tls.flatten(),
        producer,
        producer_extra,
    })
}

fn check_bootstrap(raw: &Spanned<String>, problems: &mut Problems<'_>) -> Vec<BrokerAddress> {
    let mut brokers = Vec::new();
    for entry in raw.get_ref().split(',').map(str::trim) {
        match BrokerAddress::parse(entry) {
            Some(broker) => brokers.push(broker),
            None if entry.is_empty() && raw.get_ref().trim().is_empty() => {
                problems.report(
                    raw.span(),
                    "target.bootstrap_servers",
                    "no bootstrap servers are listed",
                    "write host:port pairs separated by commas, e.g. \"127.0.0.1:9092\"",
                );
                return brokers;
            }
            None => problems.report(
                raw.span(),
                "target.bootstrap_servers",
                format!("{entry:?} is not host:port"),
                "write host:port pairs separated by commas, e.g. \"kafka1:9092,kafka2:9092\"",
            ),
        }
    }
    brokers
}

fn check_sasl(
    raw: &RawSasl,
    version: Option<KafkaVersion>,
    base_dir: &Path,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> Option<Sasl> {
    let mechanism = SaslMechanism::parse(raw.mechanism.get_ref());
    match (mechanism, version) {
        (None, _) => problems.report(
            raw.mechanism.span(),
            "target.sasl.mechanism",
            format!("unknown SASL mechanism {:?}", raw.mechanism.get_ref()),
            "use \"PLAIN\", \"SCRAM-SHA-256\", \"SCRAM-SHA-512\" or \"GSSAPI\"",
        ),
        (Some(m), Some(v)) if !v.supports_sasl(m) => problems.report(
            raw.mechanism.span(),
            "target.sasl.mechanism",
            format!("Kafka {v} does not support SASL {m}"),
            "upgrade the brokers to 1.0 or newer, use GSSAPI, or remove [target.sasl]",
        ),
        _ => {}
    }
    let mechanism = mechanism?;
    if mechanism == SaslMechanism::Gssapi {
        return check_kerberos(raw, base_dir, problems);
    }
    // Kerberos settings on a password mechanism are a mistake worth naming: they would be
    // ignored silently.
    for (name, value) in [
        ("kerberos_principal", &raw.kerberos_principal),
        ("kerberos_keytab", &raw.kerberos_keytab),
        ("kerberos_service_name", &raw.kerberos_service_name),
    ] {
        if let Some(value) = value {
            problems.report(
                value.span(),
                format!("target.sasl.{name}"),
                format!("{name} is only used by GSSAPI, the mechanism is {mechanism}"),
                "remove it, or set mechanism = \"GSSAPI\"",
            );
        }
    }
    let username = match &raw.username {
        Some(name) if !name.get_ref().is_empty() => name.get_ref().clone(),
        other => {
            let span = other.as_ref().map_or(raw.mechanism.span(), |n| n.span());
            problems.report(
                span,
                "target.sasl.username",
                format!("{mechanism} needs a user name"),
                "write the SASL user name: username = \"...\"",
            );
            String::new()
        }
    };
    let anchor =
        header_span(problems.text(), "target.sasl").unwrap_or_else(|| raw.mechanism.span());
    let password = resolve_password(
        raw.password.as_ref(),
        raw.password_env.as_ref(),
        "target.sasl",
        anchor,
        env,
        problems,
    );
    Some(Sasl {
        mechanism,
        username,
        password: password?,
        kerberos: None,
    })
}

/// `[target.sasl]` with `mechanism = "GSSAPI"`: a principal and a keytab that exists; no
/// user name or password, which Kerberos does not use.
fn check_kerberos(raw: &RawSasl, base_dir: &Path, problems: &mut Problems<'_>) -> Option<Sasl> {
    for (name, value) in [
        ("username", &raw.username),
        ("password", &raw.password),
        ("password_env", &raw.password_env),
    ] {
        if let Some(value) = value {
            problems.report(
                value.span(),
                format!("target.sasl.{name}"),
                format!("GSSAPI does not use {name}: Kerberos authenticates with the keytab"),
                "remove it; name the principal in kerberos_principal and its keytab in kerberos_keytab",
            );
        }
    }
    let principal = match &raw.kerberos_principal {
        Some(p) => match Kerberos::check_principal(p.get_ref()) {
            Ok(()) => Some(p.get_ref().clone()),
            Err(e) => {
                problems.report(p.span(), "target.sasl.kerberos_principal", e.message, e.fix);
                None
            }
        },
        None => {
            problems.report(
                raw.mechanism.span(),
                "target.sasl.kerberos_principal",
                "GSSAPI needs the client's Kerberos principal",
                "add kerberos_principal = \"obsync@EXAMPLE.COM\" (the principal in your keytab)",
            );
            None
        }
    };
    let keytab = match &raw.kerberos_keytab {
        Some(k) => {
            let path = base_dir.join(k.get_ref());
            match Kerberos::check_keytab(&path) {
                Ok(()) => Some(path),
                Err(e) => {
                    problems.report(k.span(), "target.sasl.kerberos_keytab", e.message, e.fix);
                    None
                }
            }
        }
        None => {
            problems.report(
                raw.mechanism.span(),
                "target.sasl.kerberos_keytab",
                "GSSAPI needs a keytab for the principal",
                "add kerberos_keytab = \"/path/to/obsync.keytab\" (made with kadmin's ktadd)",
            );
            None
        }
    };
    let service_name = match &raw.kerberos_service_name {
        Some(n) => match Kerberos::check_service_name(n.get_ref()) {
            Ok(()) => Some(n.get_ref().clone()),
            Err(e) => {
                problems.report(
                    n.span(),
                    "target.sasl.kerberos_service_name",
                    e.message,
                    e.fix,
                );
                None
            }
        },
        None => Some(DEFAULT_KERBEROS_SERVICE_NAME.to_string()),
    };
    Some(Sasl {
        mechanism: SaslMechanism::Gssapi,
        username: principal?,
        password: Secret::new(""),
        kerberos: Some(Kerberos {
            service_name: service_name?,
            keytab: keytab?,
        }),
    })
}

fn check_tls(
    raw: &RawTls,
    base_dir: &Path,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> Option<Tls> {
    if raw.enabled == Some(false) {
        return None;
    }
    let ca = pem(
        problems,
        base_dir,
        env,
        "target.tls",
        "ca_file",
        &raw.ca_file,
        "ca_pem",
        &raw.ca_pem,
        false,
    );
    let cert = pem(
        problems,
        base_dir,
        env,
        "target.tls",
        "cert_file",
        &raw.cert_file,
        "cert_pem",
        &raw.cert_pem,
        false,
    );
    let key = pem(
        problems,
        base_dir,
        env,
        "target.tls",
        "key_file",
        &raw.key_file,
        "key_pem_env",
        &raw.key_pem_env,
        true,
    );
    let has_cert = raw.cert_file.as_ref().or(raw.cert_pem.as_ref());
    let has_key = raw.key_file.as_ref().or(raw.key_pem_env.as_ref());
    let lone = match (has_cert, has_key) {
        (Some(cert), None) => Some((cert, "a client certificate is set without its key")),
        (None, Some(key)) => Some((key, "a client key is set without its certificate")),
        _ => None,
    };
    if let Some((value, message)) = lone {
        problems.report(
            value.span(),
            "target.tls",
            message,
            "set both for a client certificate (cert_file or cert_pem, key_file or key_pem_env), or neither",
        );
        return None;
    }
    let client_cert = cert
        .zip(key)
        .map(|(cert, key)| ClientCertificate { cert, key });
    Some(Tls {
        ca,
        client_cert,
        verify_hostname: raw.verify_hostname.unwrap_or(true),
    })
}

/// One PEM of `[target.tls]` or `[source.tls]` (`section`): from a file, or inline
/// (`ca_pem`, `cert_pem`; for the key, the environment variable `key_pem_env` names, so
/// that the key stays out of the file).
#[allow(clippy::too_many_arguments)] // two spelled-out alternatives of one setting
pub(crate) fn pem(
    problems: &mut Problems<'_>,
    base_dir: &Path,
    env: &Environment,
    section: &str,
    file_name: &str,
    file: &Option<Spanned<String>>,
    inline_name: &str,
    inline: &Option<Spanned<String>>,
    inline_is_env: bool,
) -> Option<Pem> {
    match (file, inline) {
        (Some(_), Some(value)) => {
            problems.report(
                value.span(),
                format!("{section}.{inline_name}"),
                format!("{file_name} and {inline_name} are both set"),
                "keep one of them",
            );
            None
        }
        (Some(value), None) => {
            let path = base_dir.join(value.get_ref());
            if !path.is_file() {
                problems.report(
                    value.span(),
                    format!("{section}.{file_name}"),
                    format!(
                        "file {:?} does not exist ({})",
                        value.get_ref(),
                        path.display()
                    ),
                    "check the path; a relative path is relative to the project file's directory",
                );
            }
            Some(Pem::File(path))
        }
        (None, Some(value)) => {
            let text = if inline_is_env {
                match env.var(value.get_ref()) {
                    Some(text) => text,
                    None if env.unset_passwords_warn => {
                        problems.warn(
                            value.span(),
                            format!("{section}.{inline_name}"),
                            format!("environment variable {} is not set", value.get_ref()),
                            format!(
                                "export {} (the client key, PEM) before running obsync",
                                value.get_ref()
                            ),
                        );
                        return Some(Pem::Inline(Secret::new("")));
                    }
                    None => {
                        problems.report(
                            value.span(),
                            format!("{section}.{inline_name}"),
                            format!("environment variable {} is not set", value.get_ref()),
                            format!(
                                "export {} (the client key, PEM) before running obsync",
                                value.get_ref()
                            ),
                        );
                        return None;
                    }
                }
            } else {
                value.get_ref().clone()
            };
            if !text.contains("-----BEGIN ") {
                problems.report(
                    value.span(),
                    format!("{section}.{inline_name}"),
                    format!("{inline_name} is not PEM text"),
                    "give the PEM document itself, from -----BEGIN ... to -----END ...",
                );
                return None;
            }
            Some(Pem::Inline(Secret::new(text)))
        }
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_versions_parse_by_family() {
        assert_eq!(KafkaVersion::parse("0.9"), Some(KafkaVersion::V0_9));
        assert_eq!(KafkaVersion::parse("0.9.0.1"), Some(KafkaVersion::V0_9));
        assert_eq!(KafkaVersion::parse("0.9.0"), Some(KafkaVersion::V0_9));
        assert_eq!(KafkaVersion::parse("1.0"), Some(KafkaVersion::V1_0));
        assert_eq!(KafkaVersion::parse("2.x"), Some(KafkaVersion::V2));
        assert_eq!(KafkaVersion::parse("2.8.1"), Some(KafkaVersion::V2));
        assert_eq!(KafkaVersion::parse("3.x"), Some(KafkaVersion::V3Plus));
        assert_eq!(KafkaVersion::parse("4.x"), Some(KafkaVersion::V3Plus));
        assert_eq!(KafkaVersion::parse("0.10"), None);
        assert_eq!(KafkaVersion::parse("3"), None);
        assert_eq!(KafkaVersion::parse("latest"), None);
    }

    #[test]
    fn only_kafka_0_9_lacks_topic_creation_and_idempotence() {
        assert!(!KafkaVersion::V0_9.supports_topic_creation());
        assert!(!KafkaVersion::V0_9.supports_idempotence());
        for v in [KafkaVersion::V1_0, KafkaVersion::V2, KafkaVersion::V3Plus] {
            assert!(v.supports_topic_creation());
            assert!(v.supports_idempotence());
        }
    }

    #[test]
    fn principals_are_name_instance_and_realm_of_plain_characters() {
        for good in [
            "obsync@EXAMPLE.COM",
            "obsync/host-1.example.com@EXAMPLE.COM",
            "a_b@R",
        ] {
            assert!(Kerberos::is_principal(good), "{good}");
        }
        for bad in [
            "x@R;touch${IFS}FILE;#",
            "x@R`id`",
            "x@R$(id)",
            "x @R",
            "x@R\n",
            "-x@R",
            "obsync",
            "a/b/c@R",
            "a@b@R",
            "@R",
            "x@",
            "x\u{202e}@R",
        ] {
            assert!(!Kerberos::is_principal(bad), "{bad:?}");
        }
    }

    #[test]
    fn keytab_paths_refuse_shell_characters_and_need_a_regular_file() {
        let file = std::env::temp_dir().join(format!("obsync-kt-{}", std::process::id()));
        std::fs::write(&file, b"kt").unwrap();
        assert_eq!(Kerberos::check_keytab(&file), Ok(()));
        for bad in [
            "/tmp/\";touch FILE;echo \"",
            "/tmp/$(id)",
            "/tmp/`id`",
            "/tmp/a\nb",
            "/tmp/a;b",
        ] {
            let e = Kerberos::check_keytab(Path::new(bad)).unwrap_err();
            assert!(e.message.contains("characters"), "{bad:?}: {e:?}");
        }
        assert!(Kerberos::check_keytab(&std::env::temp_dir())
            .unwrap_err()
            .message
            .contains("regular file"));
        let _ = std::fs::remove_file(&file);
    }

    #[test]
    fn broker_addresses_need_host_and_port() {
        let broker = BrokerAddress::parse("kafka1:9092").unwrap();
        assert_eq!((broker.host.as_str(), broker.port), ("kafka1", 9092));
        assert!(BrokerAddress::parse("[::1]:9092").is_some());
        assert!(BrokerAddress::parse("::1:9092").is_none());
        assert!(BrokerAddress::parse("kafka1").is_none());
        assert!(BrokerAddress::parse("kafka1:0").is_none());
        assert!(BrokerAddress::parse(":9092").is_none());
    }
}
