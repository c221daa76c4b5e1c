//! `[source]`: the OceanBase CE MySQL tenant, MySQL or MariaDB server to read from.

use std::fmt;
use std::path::Path;

use crate::error::Problems;
use crate::raw::{header_span, RawSource};
use crate::secret::{resolve_password, Environment, Secret};
use crate::source_tls::check_source_tls;
pub use crate::source_tls::{SourceTls, SourceTlsMode};

/// The kind of database server the source is.
///
/// All three serve a MySQL-compatible row binlog, so incremental sync works with each:
/// MySQL and MariaDB natively (with `binlog_format = ROW`), OceanBase CE through its Binlog
/// Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// An OceanBase CE MySQL-mode tenant.
    OceanBase,
    /// A MySQL server.
    MySql,
    /// A MariaDB server.
    MariaDb,
}

impl SourceKind {
    /// Parses `oceanbase`, `mysql` or `mariadb` (any case).
    pub fn parse(kind: &str) -> Option<SourceKind> {
        match kind.to_ascii_lowercase().as_str() {
            "oceanbase" => Some(SourceKind::OceanBase),
            "mysql" => Some(SourceKind::MySql),
            "mariadb" => Some(SourceKind::MariaDb),
            _ => None,
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::OceanBase => "oceanbase",
            SourceKind::MySql => "mysql",
            SourceKind::MariaDb => "mariadb",
        })
    }
}

/// How the binlog dump is positioned (`binlog_positioning`), at the start and at every
/// reconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BinlogPositioning {
    /// By GTID set on a MySQL-flavoured source with `gtid_mode=ON` (MySQL, OceanBase's
    /// Binlog Service), by file and offset elsewhere.
    #[default]
    Auto,
    /// Always by GTID: for sources that serve only GTID auto-positioning.
    Gtid,
    /// Always by file and offset: for sources or proxies without GTID dumps.
    File,
}

impl BinlogPositioning {
    /// Parses `auto`, `gtid` or `file` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "gtid" => Some(Self::Gtid),
            "file" => Some(Self::File),
            _ => None,
        }
    }
}

/// The login user. For OceanBase it is written `user@tenant#cluster` (tenant and cluster
/// optional, cluster only with a tenant); for MySQL and MariaDB it is the plain user name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceUser {
    /// The user name.
    pub user: String,
    /// The OceanBase tenant, if named.
    pub tenant: Option<String>,
    /// The OceanBase cluster (for logins through OBProxy), if named.
    pub cluster: Option<String>,
}

/// Why a source user was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSourceUser {
    /// The user is empty.
    #[error("user is empty")]
    Empty,
    /// One of the parts of `user@tenant#cluster` is empty.
    #[error("user {given:?} has an empty user, tenant or cluster part")]
    EmptyPart {
        /// The user as written.
        given: String,
    },
    /// A `#cluster` without `@tenant`.
    #[error("user {given:?} names a cluster but no tenant")]
    ClusterWithoutTenant {
        /// The user as written.
        given: String,
    },
}

impl SourceUser {
    /// Parses the user as `kind` expects it.
    pub fn parse(kind: SourceKind, given: &str) -> Result<SourceUser, InvalidSourceUser> {
        if given.is_empty() {
            return Err(InvalidSourceUser::Empty);
        }
        let plain = |user: &str| SourceUser {
            user: user.to_string(),
            tenant: None,
            cluster: None,
        };
        if kind != SourceKind::OceanBase {
            return Ok(plain(given));
        }
        let empty = || InvalidSourceUser::EmptyPart {
            given: given.to_string(),
        };
        let Some((user, rest)) = given.split_once('@') else {
            if given.contains('#') {
                return Err(InvalidSourceUser::ClusterWithoutTenant {
                    given: given.to_string(),
                });
            }
            return Ok(plain(given));
        };
        let (tenant, cluster) = match rest.split_once('#') {
            Some((tenant, cluster)) => (tenant, Some(cluster)),
            None => (rest, None),
        };
        if user.is_empty() || tenant.is_empty() || cluster.is_some_and(str::is_empty) {
            return Err(empty());
        }
        Ok(SourceUser {
            user: user.to_string(),
            tenant: Some(tenant.to_string()),
            cluster: cluster.map(str::to_string),
        })
    }

    /// The name to log in with: `user`, `user@tenant` or `user@tenant#cluster`.
    pub fn login_name(&self) -> String {
        let mut name = self.user.clone();
        if let Some(tenant) = &self.tenant {
            name = format!("{name}@{tenant}");
        }
        if let Some(cluster) = &self.cluster {
            name = format!("{name}#{cluster}");
        }
        name
    }
}

impl fmt::Display for SourceUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.login_name())
    }
}

/// The validated `[source]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// Which server it is.
    pub kind: SourceKind,
    /// Host name or IP address.
    pub host: String,
    /// MySQL protocol port.
    pub port: u16,
    /// Login user (with tenant and cluster for OceanBase).
    pub user: SourceUser,
    /// The password, resolved from `password` or `password_env`.
    pub password: Secret,
    /// The replica server id used for the binlog dump; unique among the server's replicas.
    pub server_id: u32,
    /// The tenant written into message `db` fields as `tenant.database`, if any: the
    /// `tenant` field, else for OceanBase the user's tenant, else `sys` (a login without
    /// tenant lands in `sys`). MySQL and MariaDB have none unless `tenant` is set.
    pub message_tenant: Option<String>,
    /// How the binlog dump is positioned.
    pub binlog_positioning: BinlogPositioning,
    /// TLS on every connection to the source (`preferred` when `[source.tls]` is absent).
    pub tls: SourceTls,
}

/// The server id used when `server_id` is not set: a stable hash of the project name in
/// 1_000_000_000..=4_294_967_294, far from the small ids servers are usually given, and
/// different for different projects reading the same server.
pub fn derived_server_id(project_name: &str) -> u32 {
    // FNV-1a: stable across Rust versions, unlike std's hasher.
    let hash = project_name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    1_000_000_000 + hash % 3_294_967_295
}

pub(crate) fn check_source(
    raw: &RawSource,
    project_name: &str,
    base_dir: &Path,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> Option<SourceConfig> {
    let before = problems.len();
    let kind = SourceKind::parse(raw.kind.get_ref());
    if kind.is_none() {
        problems.report(
            raw.kind.span(),
            "source.kind",
            format!("unknown source kind {:?}", raw.kind.get_ref()),
            "use \"oceanbase\", \"mysql\" or \"mariadb\"",
        );
    }
    let host = raw.host.get_ref();
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('/') {
        problems.report(
            raw.host.span(),
            "source.host",
            format!("host {host:?} is not a host name or IP address"),
            "write only the host, e.g. \"127.0.0.1\"; the port goes in source.port",
        );
    }
    let port = problems.int_in::<u16>(&raw.port, 1..=65535, "source.port", "port");
    let user = kind.and_then(|kind| match SourceUser::parse(kind, raw.user.get_ref()) {
        Ok(user) => Some(user),
        Err(error) => {
            let fix = match kind {
                SourceKind::OceanBase => "write user, user@tenant or user@tenant#cluster",
                SourceKind::MySql | SourceKind::MariaDb => "write the user name",
            };
            problems.report(raw.user.span(), "source.user", error.to_string(), fix);
            None
        }
    });
    let anchor = header_span(problems.text(), "source").unwrap_or_else(|| raw.kind.span());
    let password = resolve_password(
        raw.password.as_ref(),
        raw.password_env.as_ref(),
        "source",
        anchor,
        env,
        problems,
    );
    let server_id = match &raw.server_id {
        Some(id) => problems.int_in::<u32>(id, 1..=4_294_967_295, "source.server_id", "server_id"),
        None => Some(derived_server_id(project_name)),
    };
    if let Some(tenant) = &raw.tenant {
        let name = tenant.get_ref();
        if name.is_empty() || name.contains(['.', '@', '#']) || name.contains(char::is_whitespace) {
            problems.report(
                tenant.span(),
                "source.tenant",
                format!("tenant {name:?} is not a tenant name"),
                "write the bare tenant name, e.g. \"t1\" (no . @ # or spaces)",
            );
        }
    }
    let binlog_positioning = match &raw.binlog_positioning {
        None => Some(BinlogPositioning::Auto),
        Some(p) => {
            let parsed = BinlogPositioning::parse(p.get_ref());
            if parsed.is_none() {
                problems.report(
                    p.span(),
                    "source.binlog_positioning",
                    format!("unknown binlog positioning {:?}", p.get_ref()),
                    "use \"auto\" (GTID where the source has gtid_mode=ON), \"gtid\" or \"file\"",
                );
            }
            parsed
        }
    };
    let tls = match &raw.tls {
        None => Some(SourceTls::default()),
        Some(tls) => check_source_tls(tls, base_dir, env, problems),
    };
    if problems.len() != before {
        return None;
    }
    let (kind, user) = (kind?, user?);
    let message_tenant = match (&raw.tenant, kind) {
        (Some(tenant), _) => Some(tenant.get_ref().clone()),
        (None, SourceKind::OceanBase) => Some(user.tenant.clone().unwrap_or_else(|| "sys".into())),
        (None, _) => None,
    };
    Some(SourceConfig {
        kind,
        host: host.clone(),
        port: port?,
        user,
        password: password?,
        server_id: server_id?,
        message_tenant,
        binlog_positioning: binlog_positioning?,
        tls: tls?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oceanbase_user_splits_into_user_tenant_and_cluster() {
        let user = SourceUser::parse(SourceKind::OceanBase, "root@t1#obcluster").unwrap();
        assert_eq!(
            user,
            SourceUser {
                user: "root".into(),
                tenant: Some("t1".into()),
                cluster: Some("obcluster".into())
            }
        );
        assert_eq!(user.login_name(), "root@t1#obcluster");
        let plain = SourceUser::parse(SourceKind::OceanBase, "root").unwrap();
        assert_eq!(plain.tenant, None);
    }

    #[test]
    fn oceanbase_user_with_empty_part_or_cluster_only_is_rejected() {
        assert!(matches!(
            SourceUser::parse(SourceKind::OceanBase, "root@"),
            Err(InvalidSourceUser::EmptyPart { .. })
        ));
        assert!(matches!(
            SourceUser::parse(SourceKind::OceanBase, "root@t1#"),
            Err(InvalidSourceUser::EmptyPart { .. })
        ));
        assert!(matches!(
            SourceUser::parse(SourceKind::OceanBase, "root#c"),
            Err(InvalidSourceUser::ClusterWithoutTenant { .. })
        ));
    }

    #[test]
    fn mysql_user_is_taken_as_written() {
        let user = SourceUser::parse(SourceKind::MySql, "repl@x").unwrap();
        assert_eq!(user.user, "repl@x");
        assert_eq!(user.tenant, None);
    }

    #[test]
    fn derived_server_id_is_stable_and_in_range() {
        let id = derived_server_id("订单同步01");
        assert_eq!(id, derived_server_id("订单同步01"));
        assert_ne!(id, derived_server_id("订单同步02"));
        assert!((1_000_000_000..=4_294_967_294).contains(&id));
    }
}
