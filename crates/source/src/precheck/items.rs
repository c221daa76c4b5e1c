//! Pure precheck verdicts: facts read from the server in, [`CheckItem`]s out.

use super::findings::SourceFinding as F;
use super::IncrementalStart;
use crate::binlog::{BinlogError, ProbeReport};
use crate::metadata::ServerInfo;
use crate::SourceFlavor;
use obsync_model::{CheckItem, ErrorChain, TableId};

/// Whether `c` is a Chinese character (CJK Unified or Compatibility Ideograph, any
/// extension block). Chinese punctuation does not count.
pub fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2EBEF
            | 0x2F800..=0x2FA1F | 0x30000..=0x323AF
    )
}

/// Whether `s` contains a Chinese character.
pub fn contains_chinese(s: &str) -> bool {
    s.chars().any(is_chinese_char)
}

/// Lowest OceanBase kernel major version obsync is built and tested for.
const MIN_OCEANBASE_MAJOR: u32 = 4;

/// `source.version`: reports the product and version; warns for OceanBase below 4.x
/// and when the declared flavor is not what the server is.
pub fn version_item(info: &ServerInfo, declared: SourceFlavor) -> CheckItem {
    const NAME: &str = "source.version";
    let server = info.to_string();
    if info.flavor != declared {
        return CheckItem::warned(
            NAME,
            &F::VersionFlavorMismatch {
                declared: declared.to_string(),
                server,
                flavor: info.flavor.to_string(),
            },
        );
    }
    if info.flavor == SourceFlavor::OceanBase
        && info.major().is_some_and(|m| m < MIN_OCEANBASE_MAJOR)
    {
        return CheckItem::warned(NAME, &F::VersionOldOceanBase { server });
    }
    CheckItem::passed(NAME, &F::VersionOk { server })
}

/// Binlog settings as the server reports them (`SHOW GLOBAL VARIABLES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BinlogSettings {
    pub log_bin: Option<String>,
    pub binlog_format: Option<String>,
    pub binlog_row_image: Option<String>,
}

/// What `SHOW BINARY LOGS` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinaryLogsProbe {
    /// The files the server lists, oldest first.
    Files(Vec<String>),
    /// The server does not know the statement or refuses replication (seekdb: 1064).
    Unsupported { message: String },
    /// The user lacks the privilege (1227).
    Denied { message: String },
    /// Some other failure.
    Failed { message: String },
}

fn is_on(v: &Option<String>) -> bool {
    v.as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("ON") || v == "1")
}

/// `source.binlog`: binary logging is on **and** the server really serves binlogs.
/// seekdb reports `log_bin=ON` yet has no binlog, so the variable alone is not trusted.
pub fn binlog_item(settings: &BinlogSettings, probe: &BinaryLogsProbe) -> CheckItem {
    const NAME: &str = "source.binlog";
    if !is_on(&settings.log_bin) {
        let log_bin = settings.log_bin.as_deref().unwrap_or("unset").to_string();
        return CheckItem::failed(NAME, &F::BinlogOff { log_bin });
    }
    match probe {
        BinaryLogsProbe::Files(files) if !files.is_empty() => CheckItem::passed(
            NAME,
            &F::BinlogOk {
                files: files.len(),
                oldest: files[0].clone(),
            },
        ),
        BinaryLogsProbe::Files(_) => CheckItem::failed(NAME, &F::BinlogNoFiles {}),
        BinaryLogsProbe::Unsupported { message } => CheckItem::failed(
            NAME,
            &F::BinlogRefused {
                error: message.clone(),
            },
        ),
        BinaryLogsProbe::Denied { message } => CheckItem::failed(
            NAME,
            &F::BinlogListDenied {
                error: message.clone(),
            },
        ),
        BinaryLogsProbe::Failed { message } => CheckItem::failed(
            NAME,
            &F::BinlogListFailed {
                error: message.clone(),
            },
        ),
    }
}

/// The name of the `source.binlog_dump` item.
pub const BINLOG_DUMP: &str = "source.binlog_dump";

/// `source.binlog_dump`: the binlog dump the run will open (from `start`) was accepted
/// and sent its first event. A refusal shows the server's own message and the fix for
/// how the dump was positioned.
pub fn binlog_dump_item(
    probe: &Result<ProbeReport, BinlogError>,
    start: &IncrementalStart,
) -> CheckItem {
    const NAME: &str = BINLOG_DUMP;
    // A resume names the saved position, so a refusal reads as "the checkpoint's
    // position is gone", not as a problem of the source's current binlog.
    let resume = match start {
        IncrementalStart::Resume(p) => p.to_string(),
        _ => String::new(),
    };
    match probe {
        Ok(r) => CheckItem::passed(
            NAME,
            &F::DumpOk {
                resume,
                mode: r.mode.to_string(),
                from: r.from.to_string(),
            },
        ),
        Err(BinlogError::Stream { at, fix, source }) => CheckItem::failed(
            NAME,
            &F::DumpRefused {
                resume,
                at: at.to_string(),
                error: source.to_string(),
                advice: fix.to_string(),
            },
        ),
        Err(BinlogError::Purged { from, detail }) => CheckItem::failed(
            NAME,
            &F::DumpPurged {
                resume,
                from: from.to_string(),
                error: detail.to_string(),
            },
        ),
        Err(BinlogError::LineageChanged { from, detail }) => CheckItem::failed(
            NAME,
            &F::DumpLineageChanged {
                resume,
                from: from.to_string(),
                error: detail.to_string(),
            },
        ),
        Err(BinlogError::ServerChanged { from, was, now }) => CheckItem::failed(
            NAME,
            &F::DumpServerChanged {
                resume,
                from: from.to_string(),
                was: was.to_string(),
                now: now.to_string(),
            },
        ),
        Err(e @ BinlogError::InvalidOptions { .. }) => CheckItem::failed(
            NAME,
            &F::DumpInvalidOptions {
                resume,
                error: e.to_string(),
            },
        ),
        Err(e) => CheckItem::failed(
            NAME,
            &F::DumpFailed {
                resume,
                error: ErrorChain(e).to_string(),
            },
        ),
    }
}

/// `source.binlog_format`: must be ROW.
pub fn binlog_format_item(settings: &BinlogSettings) -> CheckItem {
    const NAME: &str = "source.binlog_format";
    match settings.binlog_format.as_deref() {
        Some(f) if f.eq_ignore_ascii_case("ROW") => CheckItem::passed(NAME, &F::FormatRow {}),
        other => CheckItem::failed(
            NAME,
            &F::FormatWrong {
                value: other.unwrap_or("unset").to_string(),
            },
        ),
    }
}

/// `source.binlog_row_image`: must be FULL so updates and deletes carry every column.
pub fn binlog_row_image_item(settings: &BinlogSettings) -> CheckItem {
    const NAME: &str = "source.binlog_row_image";
    match settings.binlog_row_image.as_deref() {
        Some(f) if f.eq_ignore_ascii_case("FULL") => CheckItem::passed(NAME, &F::RowImageFull {}),
        Some(other) => CheckItem::failed(
            NAME,
            &F::RowImageWrong {
                value: other.to_string(),
            },
        ),
        None => CheckItem::warned(NAME, &F::RowImageAbsent {}),
    }
}

/// `source.privileges.replication`: `SHOW GRANTS` gives REPLICATION SLAVE (to read the
/// binlog) and REPLICATION CLIENT or BINLOG MONITOR or SUPER (to list the binlogs).
pub fn replication_grants_item(grants: &[String]) -> CheckItem {
    const NAME: &str = "source.privileges.replication";
    let global: Vec<String> = grants
        .iter()
        .map(|g| g.to_ascii_uppercase())
        .filter(|g| g.contains(" ON *.* "))
        .collect();
    let has = |p: &str| {
        global
            .iter()
            .any(|g| g.contains("ALL PRIVILEGES") || g.contains(p))
    };
    let slave = has("REPLICATION SLAVE") || has("REPLICATION REPLICA");
    let client = has("REPLICATION CLIENT") || has("BINLOG MONITOR") || has("SUPER");
    match (slave, client) {
        (true, true) => CheckItem::passed(NAME, &F::ReplicationGranted {}),
        _ => {
            let mut missing = Vec::new();
            if !slave {
                missing.push("REPLICATION SLAVE");
            }
            if !client {
                missing.push("REPLICATION CLIENT");
            }
            let roles = grants.iter().any(|g| {
                let g = g.to_ascii_uppercase();
                !g.contains(" ON ") && g.starts_with("GRANT ")
            });
            let finding = F::ReplicationMissing {
                missing: missing.join(", "),
                roles,
            };
            if roles {
                CheckItem::warned(NAME, &finding)
            } else {
                CheckItem::failed(NAME, &finding)
            }
        }
    }
}

/// `source.binlog_retention`: the incremental start time is still covered by the
/// binlogs the server keeps. `oldest_log_time` is the start of the oldest retained
/// binlog (`None` when it could not be read); times are Unix seconds.
pub fn check_start_time_covered(oldest_log_time: Option<u32>, start: u32) -> CheckItem {
    const NAME: &str = "source.binlog_retention";
    match oldest_log_time {
        None => CheckItem::warned(NAME, &F::RetentionUnknown { start }),
        Some(oldest) if oldest <= start => {
            CheckItem::passed(NAME, &F::RetentionOk { oldest, start })
        }
        Some(oldest) => CheckItem::failed(NAME, &F::RetentionPurged { oldest, start }),
    }
}

/// One problem found with a selected table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableProblem {
    Missing,
    NotATable(String),
}

/// `source.tables`: every selected table exists and is a physical table.
pub fn tables_item(selected: usize, problems: &[(TableId, TableProblem)]) -> CheckItem {
    const NAME: &str = "source.tables";
    if problems.is_empty() {
        return CheckItem::passed(NAME, &F::TablesOk { count: selected });
    }
    let missing: Vec<String> = problems
        .iter()
        .filter(|(_, p)| *p == TableProblem::Missing)
        .map(|(t, _)| t.to_string())
        .collect();
    let other: Vec<String> = problems
        .iter()
        .filter_map(|(t, p)| match p {
            TableProblem::NotATable(kind) => Some(format!("{t} is a {kind}")),
            TableProblem::Missing => None,
        })
        .collect();
    CheckItem::failed(
        NAME,
        &F::TablesProblems {
            missing: missing.join(", "),
            not_tables: other.join(", "),
        },
    )
}

/// `source.names`: no Chinese characters in table or column names.
pub fn names_item(offending: &[String]) -> CheckItem {
    const NAME: &str = "source.names";
    if offending.is_empty() {
        return CheckItem::passed(NAME, &F::NamesOk {});
    }
    CheckItem::failed(
        NAME,
        &F::NamesChinese {
            names: offending.join(", "),
        },
    )
}

/// `source.shard_columns`: every shard column exists on its table.
pub fn shard_columns_item(missing: &[(TableId, String)]) -> CheckItem {
    const NAME: &str = "source.shard_columns";
    if missing.is_empty() {
        return CheckItem::passed(NAME, &F::ShardColumnsOk {});
    }
    let list: Vec<String> = missing.iter().map(|(t, c)| format!("{t}.{c}")).collect();
    CheckItem::failed(
        NAME,
        &F::ShardColumnsMissing {
            columns: list.join(", "),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::CheckStatus;

    #[test]
    fn chinese_ideographs_are_detected_but_not_other_scripts() {
        assert!(contains_chinese("订单"));
        assert!(contains_chinese("t_表"));
        assert!(contains_chinese("\u{20000}"));
        assert!(!contains_chinese("orders_2024"));
        assert!(!contains_chinese("ｔａｂｌｅ，。"));
        assert!(!contains_chinese("テーブル"));
        assert!(!contains_chinese("😀"));
    }

    #[test]
    fn log_bin_on_without_binary_logs_fails_with_the_binlog_service_hint() {
        let on = BinlogSettings {
            log_bin: Some("ON".into()),
            binlog_format: Some("ROW".into()),
            binlog_row_image: Some("FULL".into()),
        };
        let item = binlog_item(
            &on,
            &BinaryLogsProbe::Unsupported {
                message: "ERROR 1064".into(),
            },
        );
        assert_eq!(item.status, CheckStatus::Fail);
        assert!(item.detail.starts_with(
            "the server reports log_bin=ON but refuses SHOW BINARY LOGS: it has no binlog"
        ));
        assert_eq!(
            item.fix.as_deref(),
            Some("for OceanBase CE enable the Binlog Service, or turn off incremental sync")
        );
        let ok = binlog_item(&on, &BinaryLogsProbe::Files(vec!["b.000001".into()]));
        assert_eq!(ok.status, CheckStatus::Pass);
        let off = BinlogSettings {
            log_bin: Some("OFF".into()),
            ..on
        };
        assert_eq!(
            binlog_item(&off, &BinaryLogsProbe::Files(vec![])).status,
            CheckStatus::Fail
        );
    }

    #[test]
    fn replication_privileges_come_from_global_grants() {
        let all = vec!["GRANT ALL PRIVILEGES ON *.* TO `u`@`%`".to_string()];
        assert_eq!(replication_grants_item(&all).status, CheckStatus::Pass);
        let repl = vec![
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%`".to_string(),
            "GRANT SELECT ON `db`.* TO `u`@`%`".to_string(),
        ];
        assert_eq!(replication_grants_item(&repl).status, CheckStatus::Pass);
        let select_only = vec!["GRANT SELECT ON *.* TO `u`@`%`".to_string()];
        let item = replication_grants_item(&select_only);
        assert_eq!(item.status, CheckStatus::Fail);
        assert!(item
            .detail
            .contains("REPLICATION SLAVE and REPLICATION CLIENT"));
        let db_level_all = vec!["GRANT ALL PRIVILEGES ON `db`.* TO `u`@`%`".to_string()];
        assert_eq!(
            replication_grants_item(&db_level_all).status,
            CheckStatus::Fail
        );
        let via_role = vec![
            "GRANT USAGE ON *.* TO `u`@`%`".to_string(),
            "GRANT `cdc` TO `u`@`%`".to_string(),
        ];
        assert_eq!(replication_grants_item(&via_role).status, CheckStatus::Warn);
    }

    #[test]
    fn start_time_must_not_precede_the_oldest_binlog() {
        assert_eq!(
            check_start_time_covered(Some(100), 100).status,
            CheckStatus::Pass
        );
        let item = check_start_time_covered(Some(100), 99);
        assert_eq!(item.status, CheckStatus::Fail);
        assert!(item.fix.unwrap().contains("at or after 100"));
        assert_eq!(check_start_time_covered(None, 5).status, CheckStatus::Warn);
    }

    #[test]
    fn binlog_format_and_row_image_must_be_row_and_full() {
        let s = BinlogSettings {
            log_bin: Some("ON".into()),
            binlog_format: Some("MIXED".into()),
            binlog_row_image: Some("MINIMAL".into()),
        };
        assert_eq!(binlog_format_item(&s).status, CheckStatus::Fail);
        assert_eq!(binlog_row_image_item(&s).status, CheckStatus::Fail);
    }

    #[test]
    fn version_warns_on_a_flavor_mismatch() {
        let info = ServerInfo {
            version: "5.7.25-OceanBase seekdb-v1.4.0.0".into(),
            flavor: SourceFlavor::OceanBase,
            ob_version: Some("4.3.5.3".into()),
            gtid_mode: false,
            time_zone: None,
        };
        assert_eq!(
            version_item(&info, SourceFlavor::OceanBase).status,
            CheckStatus::Pass
        );
        assert_eq!(
            version_item(&info, SourceFlavor::MySql).status,
            CheckStatus::Warn
        );
        let old = ServerInfo {
            ob_version: Some("3.1.4".into()),
            ..info
        };
        assert_eq!(
            version_item(&old, SourceFlavor::OceanBase).status,
            CheckStatus::Warn
        );
    }

    #[test]
    fn a_refused_dump_names_the_server_message_and_the_positioning_fix() {
        use crate::binlog::refusal_for_test as refusal;
        let server = |code, message: &str| {
            mysql_async::Error::Server(mysql_async::ServerError {
                code,
                message: message.into(),
                state: "HY000".into(),
            })
        };
        let by_file = binlog_dump_item(
            &Err(refusal(false, server(1105, "unhandled packet"))),
            &IncrementalStart::New,
        );
        assert_eq!(by_file.status, CheckStatus::Fail);
        assert!(by_file.detail.contains("unhandled packet"), "{by_file:#?}");
        assert!(
            by_file
                .fix
                .as_deref()
                .unwrap()
                .contains("binlog_positioning = \"gtid\""),
            "{by_file:#?}"
        );
        let by_gtid = binlog_dump_item(
            &Err(refusal(true, server(1236, "purged"))),
            &IncrementalStart::New,
        );
        assert!(by_gtid.detail.contains("GTID set"), "{by_gtid:#?}");
        assert!(by_gtid.fix.as_deref().unwrap().contains("snapshot"));
        let ok = binlog_dump_item(
            &Ok(ProbeReport {
                mode: "GTID auto-positioning".into(),
                from: "GTID set \"u:1-5\"".into(),
            }),
            &IncrementalStart::New,
        );
        assert_eq!(ok.status, CheckStatus::Pass);
    }
}
