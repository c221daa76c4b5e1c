//! Source precheck: everything a sync project needs from the source server, checked
//! before it starts. [`check_source`] never fails and never panics: every problem
//! becomes a failed [`CheckItem`] saying what is wrong and how to fix it.
//!
//! Items (stable names): `source.connect`, `source.tls`, `source.version`, `source.tables`,
//! `source.column_types`, `source.names`, `source.shard_columns`,
//! `source.privileges.select`; with incremental sync also `source.binlog`,
//! `source.binlog_service`, `source.binlog_lineage`, `source.binlog_history`
//! ([`binlog_origin`]: who serves the change log, its history, how far back it goes),
//! `source.binlog_format`, `source.binlog_row_image`, `source.privileges.replication`
//! and, for a new start with a start time, `source.binlog_retention`; last
//! `source.binlog_dump`, which opens the change log as the run will (from the
//! checkpoint when the project resumes) and reads its first event.
//!
//! The verdicts are pure functions in [`items`]; this module only gathers the facts.

pub mod binlog_origin;
pub mod findings;
pub mod items;

pub use items::{check_start_time_covered, contains_chinese};

use crate::binlog::{
    oldest_retained_time, BinlogOptions, BinlogReader, Positioning, StartFrom, TableFilter,
};
use crate::endpoint::{ConnectError, SourceEndpoint};
use crate::metadata::{read_table_meta, server_info, MetadataError};
use crate::tls::TlsMode;
use crate::SqlError;
use findings::SourceFinding as F;
use items::{BinaryLogsProbe, BinlogSettings, TableProblem};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use obsync_model::{CheckItem, ErrorChain, LogPosition, TableId, TableMeta};

/// What the project will read, as the precheck needs to know it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceCheckPlan {
    /// The selected tables; `None` when they could not be determined (the object rules
    /// could not be resolved), and then the table items say they were not checked.
    pub tables: Option<Vec<TableId>>,
    /// Shard columns chosen per table (tables without a choice are absent).
    pub shard_columns: Vec<(TableId, Vec<String>)>,
    /// Whether incremental sync is on (then the binlog items run).
    pub need_incremental: bool,
    /// The incremental start time (Unix seconds) when chosen by the user; with full
    /// sync the start is "now" and needs no retention check.
    pub start_time: Option<u32>,
    /// How the run positions its binlog dumps (`source.binlog_dump` opens it the same way).
    pub positioning: Positioning,
    /// Where the run's incremental sync starts.
    pub start: IncrementalStart,
    /// The server a resumed position was read from (the checkpoint's), when known:
    /// `source.binlog_dump` judges the source against it as the run will.
    pub source_server: Option<String>,
}

/// Where incremental sync starts, as the run will decide it from the project's
/// checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IncrementalStart {
    /// No saved position: from the start time, else the binlog's current end.
    #[default]
    New,
    /// A resume from this saved position (its GTID state, when it has one, is what a
    /// GTID-positioned dump sends); the start time no longer matters.
    Resume(LogPosition),
    /// The checkpoint could not be read; the reason is reported elsewhere.
    Unknown,
}

/// Runs every source check of `plan` against `endpoint`. When the server cannot be
/// reached the result is the single failed `source.connect` item (with `source.tls` when
/// TLS was the reason).
pub async fn check_source(endpoint: &SourceEndpoint, plan: &SourceCheckPlan) -> Vec<CheckItem> {
    let (mut conn, encrypted) = match endpoint.connect_with_tls().await {
        Ok(opened) => opened,
        Err(e) if e.is_tls() => {
            return vec![
                tls_failure(endpoint, &e),
                CheckItem::not_checked("source.connect", "the TLS connection failed"),
            ]
        }
        Err(e) => match e.sql() {
            Some(sql) => return vec![connect_failure(endpoint, sql)],
            None => return vec![tls_failure(endpoint, &e)],
        },
    };
    let mut out = vec![CheckItem::passed(
        "source.connect",
        &findings::SourceFinding::Connected {
            address: endpoint.address().to_string(),
            user: endpoint.user.to_string(),
        },
    )];
    out.push(tls_item(endpoint, &mut conn, encrypted).await);
    let mut flavor = endpoint.flavor;
    match server_info(&mut conn).await {
        Ok(info) => {
            flavor = info.flavor;
            out.push(items::version_item(&info, endpoint.flavor))
        }
        Err(e) => out.push(CheckItem::failed(
            "source.version",
            &F::VersionUnreadable {
                error: ErrorChain(&e).to_string(),
            },
        )),
    }
    out.extend(table_items(&mut conn, plan, flavor).await);
    if plan.need_incremental {
        out.extend(binlog_items(endpoint, &mut conn, plan).await);
    }
    out
}

/// `source.tls` for a connection that TLS stopped: the settings, a server without TLS, or
/// a refused certificate.
fn tls_failure(endpoint: &SourceEndpoint, e: &ConnectError) -> CheckItem {
    let mode = endpoint.tls.mode.to_string();
    let address = endpoint.address().to_string();
    let error = ErrorChain(&e.source).to_string();
    let finding = match e.sql().map(SqlError::inner) {
        None => F::TlsFilesUnreadable {
            mode,
            address,
            error,
        },
        Some(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)) => {
            F::TlsNotOffered {
                mode,
                address,
                error,
            }
        }
        Some(_) if endpoint.tls.mode.verifies_certificate() => F::TlsCertificateRefused {
            mode,
            address,
            error,
            ca_file: endpoint.tls.ca.is_some(),
            host: if endpoint.tls.mode == TlsMode::VerifyIdentity {
                endpoint.host.to_string()
            } else {
                String::new()
            },
        },
        Some(_) => F::TlsHandshakeFailed {
            mode,
            address,
            error,
        },
    };
    CheckItem::failed("source.tls", &finding)
}

/// `source.tls` for an open connection: the mode, and what the server negotiated.
async fn tls_item(endpoint: &SourceEndpoint, conn: &mut Conn, encrypted: bool) -> CheckItem {
    let mode = endpoint.tls.mode;
    if !encrypted {
        return match mode {
            TlsMode::Disabled => CheckItem::passed("source.tls", &F::TlsOff {}),
            _ => CheckItem::warned(
                "source.tls",
                &F::TlsPlainFallback {
                    mode: mode.to_string(),
                    address: endpoint.address().to_string(),
                },
            ),
        };
    }
    // Session status of the server's side of this connection; OceanBase may not have it.
    let status: Vec<(String, String)> = conn
        .query("SHOW SESSION STATUS LIKE 'Ssl_%'")
        .await
        .unwrap_or_default();
    let value = |name: &str| {
        status
            .iter()
            .find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    let negotiated = match (value("Ssl_version"), value("Ssl_cipher")) {
        (Some(version), Some(cipher)) => format!("{version} with {cipher}"),
        _ => "TLS".to_string(),
    };
    CheckItem::passed(
        "source.tls",
        &F::TlsOk {
            mode: mode.to_string(),
            negotiated,
            ca_file: endpoint.tls.ca.is_some(),
        },
    )
}

fn connect_failure(endpoint: &SourceEndpoint, e: &SqlError) -> CheckItem {
    let (flavor, address, user, error) = (
        endpoint.flavor.to_string(),
        endpoint.address().to_string(),
        endpoint.user.to_string(),
        e.to_string(),
    );
    let finding = match e.server_code() {
        // 1045 access denied, 1044 no access to the database.
        Some(1045 | 1044) => F::ConnectDenied {
            flavor,
            address,
            user,
            error,
        },
        _ => F::ConnectUnreachable {
            flavor,
            address,
            user,
            error,
        },
    };
    CheckItem::failed("source.connect", &finding)
}

/// The items about the selected tables, none of which can pass on nothing.
const TABLE_ITEMS: [&str; 4] = [
    "source.tables",
    "source.column_types",
    "source.names",
    "source.privileges.select",
];

/// Table existence, types, names, shard columns and SELECT privilege.
async fn table_items(
    conn: &mut Conn,
    plan: &SourceCheckPlan,
    flavor: crate::SourceFlavor,
) -> Vec<CheckItem> {
    let tables = match plan.tables.as_deref() {
        None => {
            return TABLE_ITEMS
                .iter()
                .map(|name| CheckItem::not_checked(*name, "the object rules could not be resolved"))
                .collect()
        }
        Some([]) => {
            return TABLE_ITEMS
                .iter()
                .map(|name| CheckItem::not_checked(*name, "no table is selected"))
                .collect()
        }
        Some(tables) => tables,
    };
    let mut metas: Vec<(TableId, TableMeta)> = Vec::new();
    // Tables that exist, whatever else is wrong with them: the SELECT probe runs on these.
    let mut existing: Vec<TableId> = Vec::new();
    let mut problems = Vec::new();
    let mut unsupported = Vec::new();
    let mut failures = Vec::new();
    for id in tables {
        match read_table_meta(conn, id, flavor).await {
            Ok(meta) => {
                existing.push(meta.id.clone());
                metas.push((id.clone(), meta));
            }
            // Reported by the SELECT probe below.
            Err(MetadataError::NoColumnsVisible { table }) => existing.push(table),
            Err(MetadataError::TableNotFound { .. }) => {
                problems.push((id.clone(), TableProblem::Missing))
            }
            Err(MetadataError::NotATable { kind, .. }) => {
                problems.push((id.clone(), TableProblem::NotATable(kind.to_string())))
            }
            Err(e @ MetadataError::UnsupportedType { .. }) => {
                existing.push(id.clone());
                unsupported.push(e.to_string());
            }
            Err(e) => {
                existing.push(id.clone());
                failures.push(format!("{id}: {}", ErrorChain(&e)));
            }
        }
    }
    let mut out = vec![items::tables_item(tables.len(), &problems)];
    if !failures.is_empty() {
        out.push(CheckItem::failed(
            "source.metadata",
            &F::MetadataFailed {
                errors: failures.join("; "),
            },
        ));
    }
    // Column items judge the tables whose columns were read; with none, they cannot.
    let no_columns = metas.is_empty() && unsupported.is_empty();
    let unread =
        "no selected table's columns could be read (see source.tables and source.metadata)";
    out.push(if no_columns {
        CheckItem::not_checked("source.column_types", unread)
    } else if unsupported.is_empty() {
        CheckItem::passed("source.column_types", &F::ColumnTypesOk {})
    } else {
        CheckItem::failed(
            "source.column_types",
            &F::ColumnTypesUnsupported {
                columns: unsupported.join("; "),
            },
        )
    });
    out.push(if no_columns {
        CheckItem::not_checked("source.names", unread)
    } else {
        items::names_item(&chinese_names(tables, &metas))
    });
    if !plan.shard_columns.is_empty() {
        out.push(if no_columns {
            CheckItem::not_checked("source.shard_columns", unread)
        } else {
            items::shard_columns_item(&missing_shard_columns(plan, &metas))
        });
    }
    out.push(if existing.is_empty() {
        CheckItem::not_checked(
            "source.privileges.select",
            "none of the selected tables exists (see source.tables)",
        )
    } else {
        select_privilege_item(conn, &existing).await
    });
    out
}

fn chinese_names(tables: &[TableId], metas: &[(TableId, TableMeta)]) -> Vec<String> {
    let mut offending: Vec<String> = tables
        .iter()
        .filter(|t| contains_chinese(&t.database) || contains_chinese(&t.table))
        .map(|t| format!("table {t}"))
        .collect();
    for (_, meta) in metas {
        offending.extend(
            meta.columns
                .iter()
                .filter(|c| contains_chinese(&c.name))
                .map(|c| format!("column {}.{}", meta.id, c.name)),
        );
    }
    offending
}

/// Shard columns that do not exist on their (existing) table. A missing table is
/// reported by `source.tables` already.
fn missing_shard_columns(
    plan: &SourceCheckPlan,
    metas: &[(TableId, TableMeta)],
) -> Vec<(TableId, String)> {
    let mut missing = Vec::new();
    for (table, columns) in &plan.shard_columns {
        let Some((_, meta)) = metas.iter().find(|(asked, _)| asked == table) else {
            continue;
        };
        for c in columns {
            if meta.column_index(c).is_none() {
                missing.push((table.clone(), c.clone()));
            }
        }
    }
    missing
}

/// `source.privileges.select`: tries `SELECT 1 FROM t LIMIT 0` on each table.
async fn select_privilege_item(conn: &mut Conn, tables: &[TableId]) -> CheckItem {
    const NAME: &str = "source.privileges.select";
    let mut denied = Vec::new();
    for table in tables {
        let sql = format!(
            "SELECT 1 FROM {} LIMIT 0",
            crate::snapshot::sql::quote_table(table)
        );
        if let Err(e) = conn.query_drop(sql).await {
            denied.push(format!("{table}: {}", SqlError::from(e)));
        }
    }
    if denied.is_empty() {
        CheckItem::passed(
            NAME,
            &F::SelectOk {
                count: tables.len(),
            },
        )
    } else {
        CheckItem::failed(
            NAME,
            &F::SelectDenied {
                tables: denied.join("; "),
            },
        )
    }
}

/// Error codes meaning "no such statement / feature here": 1064 (seekdb's parser),
/// 1235 not supported, 1381 binary logging not enabled.
const NO_BINLOG_CODES: &[u16] = &[1064, 1235, 1381];

async fn binlog_items(
    endpoint: &SourceEndpoint,
    conn: &mut Conn,
    plan: &SourceCheckPlan,
) -> Vec<CheckItem> {
    let start_time = plan.start_time;
    let settings = read_binlog_settings(conn).await;
    let probe = probe_binary_logs(conn).await;
    let grants: Vec<String> = conn.query("SHOW GRANTS").await.unwrap_or_default();
    let binlog = items::binlog_item(&settings, &probe);
    let binlog_ok = binlog.status == obsync_model::CheckStatus::Pass;
    let origin = binlog_origin::read(endpoint, conn, &probe).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0);
    let mut out = vec![binlog];
    out.extend(binlog_origin::origin_items(&origin, now));
    out.extend([
        items::binlog_format_item(&settings),
        items::binlog_row_image_item(&settings),
        items::replication_grants_item(&grants),
    ]);
    let new_start = plan.start == IncrementalStart::New;
    if let (Some(start), true, true) = (start_time, binlog_ok, new_start) {
        let oldest = match oldest_retained_time(endpoint).await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %ErrorChain(&e), "cannot read the oldest binlog's start time");
                None
            }
        };
        out.push(check_start_time_covered(oldest, start));
    }
    if binlog_ok {
        out.push(dump_item(endpoint, plan).await);
    }
    out
}

/// `source.binlog_dump`: the dump the run would open (from the saved position, else
/// the start time, else the current end; with the project's positioning), and its
/// first event.
async fn dump_item(endpoint: &SourceEndpoint, plan: &SourceCheckPlan) -> CheckItem {
    let start = match (&plan.start, plan.start_time) {
        (IncrementalStart::Resume(p), _) => StartFrom::Position(p.clone()),
        (IncrementalStart::New, Some(t)) => StartFrom::Timestamp(t),
        (IncrementalStart::New, None) => StartFrom::Current,
        (IncrementalStart::Unknown, _) => {
            return CheckItem::not_checked(
                items::BINLOG_DUMP,
                "the checkpoint could not be read, so where incremental sync starts is unknown (see checkpoint)",
            )
        }
    };
    let none: TableFilter = std::sync::Arc::new(|_| false);
    // The probe registers with its own throwaway replica id (see `BinlogReader::probe`).
    let mut opts = BinlogOptions::new(u32::MAX, start, none);
    opts.positioning = plan.positioning;
    if matches!(plan.start, IncrementalStart::Resume(_)) {
        opts.source_server = plan.source_server.clone();
    }
    items::binlog_dump_item(&BinlogReader::probe(endpoint, &opts).await, &plan.start)
}

async fn read_binlog_settings(conn: &mut Conn) -> BinlogSettings {
    let rows: Vec<(String, String)> = conn
        .query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN \
             ('log_bin', 'binlog_format', 'binlog_row_image')",
        )
        .await
        .unwrap_or_default();
    let get = |name: &str| {
        rows.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    BinlogSettings {
        log_bin: get("log_bin"),
        binlog_format: get("binlog_format"),
        binlog_row_image: get("binlog_row_image"),
    }
}

async fn probe_binary_logs(conn: &mut Conn) -> BinaryLogsProbe {
    match conn.query::<mysql_async::Row, _>("SHOW BINARY LOGS").await {
        Ok(rows) => BinaryLogsProbe::Files(
            rows.into_iter()
                .filter_map(|r| r.get::<String, _>(0))
                .collect(),
        ),
        Err(mysql_async::Error::Server(e)) if NO_BINLOG_CODES.contains(&e.code) => {
            BinaryLogsProbe::Unsupported {
                message: format!("ERROR {}: {}", e.code, e.message),
            }
        }
        // 1227: access denied; needs REPLICATION CLIENT / BINLOG MONITOR / SUPER.
        Err(mysql_async::Error::Server(e)) if e.code == 1227 => BinaryLogsProbe::Denied {
            message: format!("ERROR {}: {}", e.code, e.message),
        },
        Err(e) => BinaryLogsProbe::Failed {
            message: SqlError::from(e).to_string(),
        },
    }
}
