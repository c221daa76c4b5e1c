//! Where the change log comes from: which server answers the binlog commands (the
//! server itself, the OceanBase Binlog Service directly, or an OceanBase tenant through
//! ODP, which forwards them), which history (lineage) it is, and how far back it goes.
//!
//! Items: `source.binlog_service`, `source.binlog_lineage`, `source.binlog_history`.
//! The facts are read by [`read`]; the verdicts are pure functions of them.

use super::items::BinaryLogsProbe;
use crate::binlog::first_event_time;
use crate::endpoint::SourceEndpoint;
use crate::metadata::flavor_from_version;
use crate::SourceFlavor;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use obsync_model::{message_codes, CheckItem, Finding};

message_codes! {
    /// A finding of the change log's origin items. `at` is "" or the file and position
    /// the server writes; `begun`/`age` are "" when the first event could not be read;
    /// `retention` is "" when binlogs are kept until purged by hand.
    pub enum OriginFinding {
        BinlogServiceDirect = "source.binlog_service.direct" { version: String, at: String },
        BinlogServiceThroughOdp = "source.binlog_service.through_odp" { version: String, at: String },
        OceanBaseWithoutBinlog = "source.binlog_service.oceanbase_without_binlog" { version: String },
        ServerItself = "source.binlog_service.itself" { flavor: String, version: String, at: String },
        ServerAnswersNoBinlog = "source.binlog_service.no_binlog" { flavor: String, version: String },
        LineageGtid = "source.binlog_lineage.gtid" { uuid: String, server_id: String, gtids: String },
        LineageMariaDb = "source.binlog_lineage.mariadb" { server_id: String, gtids: String },
        LineageNoGtid = "source.binlog_lineage.no_gtid" { uuid: String, server_id: String },
        LineageUnknown = "source.binlog_lineage.unknown" { server_id: String },
        History = "source.binlog_history.ok" { oldest: String, files: usize, begun: String, age: String, retention: String },
        HistoryShortRetention = "source.binlog_history.short_retention" { oldest: String, files: usize, begun: String, age: String, retention: String },
    }
}

impl Finding for OriginFinding {
    fn detail(&self) -> String {
        use OriginFinding::*;
        let at_text = |at: &str| {
            if at.is_empty() {
                String::new()
            } else {
                format!("; it writes {at}")
            }
        };
        match self {
            BinlogServiceDirect { version, at } => format!(
                "the OceanBase Binlog Service answers directly (version {version}){}",
                at_text(at)
            ),
            BinlogServiceThroughOdp { version, at } => format!(
                "an OceanBase tenant (version {version}) answers the binlog commands, so ODP forwards them to the tenant's Binlog Service{}",
                at_text(at)
            ),
            OceanBaseWithoutBinlog { version } => format!(
                "the server is OceanBase (version {version}) and answers no binlog command (SHOW MASTER STATUS, SHOW BINARY LOGS): OceanBase keeps no MySQL binlog itself, and this connection does not reach a Binlog Service"
            ),
            ServerItself { flavor, version, at } => format!(
                "the {flavor} server itself serves its binlog (version {version}){}",
                at_text(at)
            ),
            ServerAnswersNoBinlog { flavor, version } => {
                format!("the {flavor} server (version {version}) answers no binlog command")
            }
            LineageGtid { uuid, server_id, gtids } => format!(
                "server_uuid {uuid} (server_id {server_id}), gtid_mode=ON, executed GTIDs {gtids}: a resume by GTID is checked against this history"
            ),
            LineageMariaDb { server_id, gtids } => format!(
                "MariaDB server_id {server_id}, GTID state {gtids}: a resume is checked against this history"
            ),
            LineageNoGtid { uuid, server_id } => format!(
                "server_uuid {uuid} (server_id {server_id}) with gtid_mode off: positions are file and offset, which a binlog reset or a failover silently changes"
            ),
            LineageUnknown { server_id } => format!(
                "the server names no server_uuid (server_id {server_id}) and no GTID state: a binlog reset or another server cannot be told from this one"
            ),
            History { oldest, files, begun, age, retention }
            | HistoryShortRetention { oldest, files, begun, age, retention } => {
                let since = if begun.is_empty() {
                    " (its first event could not be read)".to_string()
                } else {
                    format!(", begun {begun} ({age} ago)")
                };
                let retention = if retention.is_empty() {
                    "binlogs are kept until purged by hand".to_string()
                } else {
                    format!("binlogs expire after {retention}")
                };
                format!("the change log goes back to {oldest}{since}; {files} file(s); {retention}")
            }
        }
    }

    fn fix(&self) -> String {
        use OriginFinding::*;
        match self {
            BinlogServiceDirect { .. } | BinlogServiceThroughOdp { .. } | ServerItself { .. }
            | LineageGtid { .. } | LineageMariaDb { .. } | History { .. } => String::new(),
            OceanBaseWithoutBinlog { .. } => "deploy the OceanBase Binlog Service and create the tenant's binlog (CREATE BINLOG FOR TENANT … on the Binlog Service), then connect through ODP 4.2.1+ with binlog_service_ip set (or to the Binlog Service's port, 2983 by default); seekdb has no Binlog Service: use full sync only".into(),
            ServerAnswersNoBinlog { .. } => "enable the binary log (log_bin, binlog_format=ROW) and grant the sync user REPLICATION CLIENT (MariaDB 10.5+: BINLOG MONITOR); see source.binlog".into(),
            LineageNoGtid { .. } => "turn on gtid_mode (with enforce_gtid_consistency) on the source, so a resume can tell another history from its own".into(),
            LineageUnknown { .. } => "use a source with GTIDs (MySQL gtid_mode=ON, the OceanBase Binlog Service, MariaDB)".into(),
            HistoryShortRetention { .. } => "keep binlogs for at least a day longer than the longest stop of a project (binlog_expire_logs_seconds / expire_logs_days); a stop longer than the retention loses the position".into(),
        }
    }
}

/// A retention shorter than this is worth a warning: a project stopped over a weekend,
/// or a slow snapshot, would lose its position.
const SHORT_RETENTION_SECS: u64 = 24 * 3600;

/// What the server says about its change log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginFacts {
    /// `SELECT VERSION()`.
    pub version: String,
    /// `@@version_comment`.
    pub version_comment: Option<String>,
    /// `SHOW BINARY LOGS` (shared with `source.binlog`).
    pub binary_logs: Option<BinaryLogsProbe>,
    /// `SHOW MASTER STATUS` answered with a file and position.
    pub master_status: Option<(String, u64)>,
    pub server_uuid: Option<String>,
    pub server_id: Option<String>,
    pub gtid_mode: Option<String>,
    pub gtid_executed: Option<String>,
    /// MariaDB's `@@gtid_binlog_state`.
    pub gtid_binlog_state: Option<String>,
    /// Retention: `binlog_expire_logs_seconds`, else `expire_logs_days` in seconds;
    /// `None` or 0 when binlogs are kept until purged by hand.
    pub expire_secs: Option<u64>,
    /// When the oldest binlog file was started (its first event), Unix seconds.
    pub first_event_time: Option<u32>,
}

/// Who serves the change log, as far as the server's answers tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinlogServer {
    /// A MySQL-protocol server with its own binlog (MySQL, MariaDB, others).
    Itself(SourceFlavor),
    /// The OceanBase Binlog Service, reached on its own port (its version says so).
    ObBinlogDirect,
    /// An OceanBase tenant (directly or through ODP) that answers binlog commands: ODP
    /// forwards them to the tenant's Binlog Service.
    ObThroughOdp,
    /// An OceanBase server that answers no binlog command.
    ObWithoutBinlog,
}

impl OriginFacts {
    fn binlog_answers(&self) -> bool {
        matches!(&self.binary_logs, Some(BinaryLogsProbe::Files(f)) if !f.is_empty())
            || self.master_status.is_some()
    }

    /// Who serves the change log.
    pub fn server(&self) -> BinlogServer {
        let comment = self.version_comment.as_deref().unwrap_or("");
        let lower = format!("{} {}", self.version, comment).to_ascii_lowercase();
        // The Binlog Service's own handshake ends in "-obs"; its comment or version may
        // name it (verify against a live service).
        if lower.contains("obbinlog")
            || lower.contains("binlog service")
            || self.version.ends_with("-obs")
        {
            return BinlogServer::ObBinlogDirect;
        }
        let flavor = flavor_from_version(&self.version);
        let oceanbase = flavor == SourceFlavor::OceanBase || lower.contains("oceanbase");
        match (oceanbase, self.binlog_answers()) {
            (true, true) => BinlogServer::ObThroughOdp,
            (true, false) => BinlogServer::ObWithoutBinlog,
            (false, _) => BinlogServer::Itself(flavor),
        }
    }
}

/// `source.binlog_service`: which server answers the binlog commands.
pub fn service_item(f: &OriginFacts) -> CheckItem {
    const NAME: &str = "source.binlog_service";
    let at = match &f.master_status {
        Some((file, pos)) => format!("{file} at {pos}"),
        None => String::new(),
    };
    let version = f.version.clone();
    match f.server() {
        BinlogServer::ObBinlogDirect => {
            CheckItem::passed(NAME, &OriginFinding::BinlogServiceDirect { version, at })
        }
        BinlogServer::ObThroughOdp => CheckItem::passed(
            NAME,
            &OriginFinding::BinlogServiceThroughOdp { version, at },
        ),
        BinlogServer::ObWithoutBinlog => {
            CheckItem::failed(NAME, &OriginFinding::OceanBaseWithoutBinlog { version })
        }
        BinlogServer::Itself(flavor) => {
            let flavor = flavor.to_string();
            if f.binlog_answers() {
                CheckItem::passed(
                    NAME,
                    &OriginFinding::ServerItself {
                        flavor,
                        version,
                        at,
                    },
                )
            } else {
                CheckItem::failed(
                    NAME,
                    &OriginFinding::ServerAnswersNoBinlog { flavor, version },
                )
            }
        }
    }
}

/// `source.binlog_lineage`: which history the change log is. GTID sets and positions
/// are valid only within it: a re-created binlog (RESET MASTER, a new OceanBase binlog
/// task) is a new lineage.
pub fn lineage_item(f: &OriginFacts) -> CheckItem {
    const NAME: &str = "source.binlog_lineage";
    let gtid_on = f
        .gtid_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("ON"));
    let server_id = f.server_id.as_deref().unwrap_or("unknown").to_string();
    match (&f.server_uuid, gtid_on, &f.gtid_binlog_state) {
        (Some(uuid), true, _) => CheckItem::passed(
            NAME,
            &OriginFinding::LineageGtid {
                uuid: uuid.clone(),
                server_id,
                gtids: f.gtid_executed.as_deref().unwrap_or("(empty)").to_string(),
            },
        ),
        (_, _, Some(state)) if flavor_from_version(&f.version) == SourceFlavor::MariaDb => {
            CheckItem::passed(
                NAME,
                &OriginFinding::LineageMariaDb {
                    server_id,
                    gtids: if state.is_empty() { "(empty)" } else { state }.to_string(),
                },
            )
        }
        (Some(uuid), false, _) => CheckItem::warned(
            NAME,
            &OriginFinding::LineageNoGtid {
                uuid: uuid.clone(),
                server_id,
            },
        ),
        (None, _, _) => CheckItem::warned(NAME, &OriginFinding::LineageUnknown { server_id }),
    }
}

/// `source.binlog_history`: the oldest binlog file the server keeps and when it began,
/// and the retention that decides how long a project may stop.
pub fn history_item(f: &OriginFacts, now: u32) -> CheckItem {
    const NAME: &str = "source.binlog_history";
    let files = match &f.binary_logs {
        Some(BinaryLogsProbe::Files(files)) if !files.is_empty() => files,
        _ => {
            return CheckItem::not_checked(
                NAME,
                "the server lists no binlog files (see source.binlog)",
            )
        }
    };
    let (begun, age) = match f.first_event_time {
        Some(t) => (utc(t), ago(now.saturating_sub(t) as u64)),
        None => (String::new(), String::new()),
    };
    let expire = f.expire_secs.filter(|s| *s > 0);
    let (oldest, files, retention) = (
        files[0].clone(),
        files.len(),
        expire.map(ago).unwrap_or_default(),
    );
    match expire {
        Some(s) if s < SHORT_RETENTION_SECS => CheckItem::warned(
            NAME,
            &OriginFinding::HistoryShortRetention {
                oldest,
                files,
                begun,
                age,
                retention,
            },
        ),
        _ => CheckItem::passed(
            NAME,
            &OriginFinding::History {
                oldest,
                files,
                begun,
                age,
                retention,
            },
        ),
    }
}

fn utc(t: u32) -> String {
    chrono::DateTime::from_timestamp(i64::from(t), 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// A duration in the largest whole unit: `3 d`, `5 h`, `12 min`, `40 s`.
fn ago(secs: u64) -> String {
    match secs {
        s if s >= 86_400 => format!("{} d", s / 86_400),
        s if s >= 3600 => format!("{} h", s / 3600),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// The three items, from the facts; lineage and history are not checked when no
/// binlog answers.
pub fn origin_items(f: &OriginFacts, now: u32) -> Vec<CheckItem> {
    let service = service_item(f);
    if service.status == obsync_model::CheckStatus::Fail {
        let why = "no binlog answers on this connection (see source.binlog_service)";
        return vec![
            service,
            CheckItem::not_checked("source.binlog_lineage", why),
            CheckItem::not_checked("source.binlog_history", why),
        ];
    }
    vec![service, lineage_item(f), history_item(f, now)]
}

/// Reads the facts; `binary_logs` is the `SHOW BINARY LOGS` answer already read.
pub async fn read(
    endpoint: &SourceEndpoint,
    conn: &mut Conn,
    binary_logs: &BinaryLogsProbe,
) -> OriginFacts {
    let mut var = async |sql: &str| -> Option<String> {
        conn.query_first::<Option<String>, _>(sql)
            .await
            .ok()
            .flatten()
            .flatten()
    };
    let version = var("SELECT VERSION()").await.unwrap_or_default();
    let version_comment = var("SELECT @@version_comment").await;
    let server_uuid = var("SELECT @@GLOBAL.server_uuid").await;
    let server_id = var("SELECT @@GLOBAL.server_id").await;
    let gtid_mode = var("SELECT @@GLOBAL.gtid_mode").await;
    let gtid_executed = var("SELECT @@GLOBAL.gtid_executed").await;
    let gtid_binlog_state = var("SELECT @@GLOBAL.gtid_binlog_state").await;
    let expire_secs = match var("SELECT @@GLOBAL.binlog_expire_logs_seconds")
        .await
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(s) if s > 0 => Some(s),
        _ => var("SELECT @@GLOBAL.expire_logs_days")
            .await
            .and_then(|d| d.parse::<f64>().ok())
            .map(|d| (d * 86_400.0) as u64),
    };
    let master_status = conn
        .query_first::<mysql_async::Row, _>("SHOW MASTER STATUS")
        .await
        .ok()
        .flatten()
        .and_then(|r| Some((r.get::<String, _>(0)?, r.get::<u64, _>(1)?)));
    let first_event_time = match binary_logs {
        BinaryLogsProbe::Files(files) if !files.is_empty() => {
            first_event_time(endpoint, &files[0]).await.ok()
        }
        _ => None,
    };
    OriginFacts {
        version,
        version_comment,
        binary_logs: Some(binary_logs.clone()),
        master_status,
        server_uuid,
        server_id,
        gtid_mode,
        gtid_executed,
        gtid_binlog_state,
        expire_secs,
        first_event_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::CheckStatus;

    fn files(names: &[&str]) -> Option<BinaryLogsProbe> {
        Some(BinaryLogsProbe::Files(
            names.iter().map(|s| s.to_string()).collect(),
        ))
    }

    fn oceanbase(version: &str, answers: bool) -> OriginFacts {
        OriginFacts {
            version: version.into(),
            binary_logs: if answers {
                files(&["mysql-bin.000007"])
            } else {
                Some(BinaryLogsProbe::Unsupported {
                    message: "ERROR 1064".into(),
                })
            },
            master_status: answers.then(|| ("mysql-bin.000007".into(), 1234)),
            ..OriginFacts::default()
        }
    }

    #[test]
    fn the_binlog_server_is_told_from_the_version_and_the_answers() {
        assert_eq!(
            oceanbase("5.7.35-obs", true).server(),
            BinlogServer::ObBinlogDirect
        );
        assert_eq!(
            oceanbase("5.7.25-OceanBase_CE-v4.2.1.0", true).server(),
            BinlogServer::ObThroughOdp
        );
        assert_eq!(
            oceanbase("5.7.25-OceanBase seekdb-v1.4.0.0", false).server(),
            BinlogServer::ObWithoutBinlog
        );
        let mysql = OriginFacts {
            version: "5.7.38".into(),
            ..oceanbase("", true)
        };
        assert_eq!(mysql.server(), BinlogServer::Itself(SourceFlavor::MySql));
        let item = service_item(&oceanbase("5.7.25-OceanBase_CE-v4.2.1.0", true));
        assert_eq!(item.status, CheckStatus::Pass);
        assert!(item.detail.contains("ODP forwards them"), "{item:?}");
        assert!(item.detail.ends_with("it writes mysql-bin.000007 at 1234"));
    }

    #[test]
    fn lineage_names_the_uuid_and_warns_without_gtids() {
        let mut f = oceanbase("5.7.35-obs", true);
        f.server_uuid = Some("a5f54d8a-a92f-4f02-9ea9-2ee361cf2dd1".into());
        f.server_id = Some("7".into());
        f.gtid_mode = Some("ON".into());
        f.gtid_executed = Some("a5f54d8a-a92f-4f02-9ea9-2ee361cf2dd1:1-20".into());
        let item = lineage_item(&f);
        assert_eq!(item.status, CheckStatus::Pass);
        assert!(item
            .detail
            .starts_with("server_uuid a5f54d8a-a92f-4f02-9ea9-2ee361cf2dd1 (server_id 7), gtid_mode=ON, executed GTIDs a5f54d8a-a92f-4f02-9ea9-2ee361cf2dd1:1-20"));
        f.gtid_mode = Some("OFF".into());
        assert_eq!(lineage_item(&f).status, CheckStatus::Warn);
        f.server_uuid = None;
        assert_eq!(lineage_item(&f).status, CheckStatus::Warn);
    }

    #[test]
    fn history_says_how_far_back_and_warns_on_a_short_retention() {
        let mut f = oceanbase("8.0.31", true);
        f.binary_logs = files(&["binlog.000003", "binlog.000004"]);
        f.first_event_time = Some(1_700_000_000);
        let item = history_item(&f, 1_700_000_000 + 3 * 3600);
        assert_eq!(item.status, CheckStatus::Pass);
        assert_eq!(
            item.detail,
            "the change log goes back to binlog.000003, begun 2023-11-14 22:13:20 UTC (3 h ago); 2 file(s); binlogs are kept until purged by hand"
        );
        f.expire_secs = Some(3600);
        let item = history_item(&f, 1_700_000_000 + 600);
        assert_eq!(item.status, CheckStatus::Warn);
        assert!(item.detail.ends_with("binlogs expire after 1 h"));
        f.binary_logs = None;
        assert_eq!(history_item(&f, 0).status, CheckStatus::NotChecked);
    }
}
