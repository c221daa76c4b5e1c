//! Whether the source still has the change log a dump asks for, decided from its sets
//! and its binlog index *before* dumping, and what its error 1236 texts mean.
//!
//! MySQL and MariaDB answer many different things with error 1236 (purged logs, a
//! replica ahead of the source, a dump opened while a commit is in flight). Which of
//! them is final is decided here: a purged position or a different history fails at
//! once with advice; a refusal after these checks passed is passing, and the reader
//! retries it for a bounded time.

use super::error::BinlogError;
use super::gtid::GtidState;
use super::mariadb_events::MariaGtid;
use super::stream::DumpFrom;
use crate::SqlError;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

/// Checks that the source still has what a dump from `from` needs; `Ok` when it does
/// (or when the server gives no way to tell). `state`: the GTID state the dump resumes
/// after; a dump by file and offset checks it too when it is known, so a server whose
/// history lacks the checkpoint's transactions (restored, re-created, another server)
/// is told apart even where the file names match.
pub(crate) async fn check(
    conn: &mut Conn,
    from: &DumpFrom,
    state: &GtidState,
) -> Result<(), BinlogError> {
    match from {
        DumpFrom::Coord(c) => {
            let files = binary_logs(conn).await?;
            coord_verdict(&files, &c.file, c.pos).map_err(|e| e.into_error(from))?;
            match state {
                GtidState::MySql(set) if !set.render().is_empty() => {
                    mysql_sets(conn, &set.render(), from, false).await
                }
                GtidState::MariaDb(_) => {
                    mariadb_state(conn, &state.render().map(|g| g.0).unwrap_or_default(), from)
                        .await
                }
                _ => Ok(()),
            }
        }
        DumpFrom::MySqlGtid(set) => mysql_sets(conn, &set.render(), from, true).await,
        DumpFrom::MariaGtid(state) => mariadb_state(conn, state, from).await,
    }
}

/// MySQL: the server's executed set holds `wanted` (else another history) and, for a
/// dump by GTID (`check_purged`), it purged nothing outside it; a dump by file leaves
/// retention to the binlog index.
async fn mysql_sets(
    conn: &mut Conn,
    wanted: &str,
    from: &DumpFrom,
    check_purged: bool,
) -> Result<(), BinlogError> {
    let row: Option<GtidFacts> = conn
        .exec_first(
            "SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed), GTID_SUBSET(@@GLOBAL.gtid_purged, ?), @@GLOBAL.gtid_executed, @@GLOBAL.gtid_purged",
            (wanted, wanted),
        )
        .await
        .map_err(|source| BinlogError::Query {
            what: "SELECT GTID_SUBSET(…, @@GLOBAL.gtid_executed)".into(),
            source: source.into(),
        })?;
    let Some((executed_has_it, purged_read, executed, purged)) = row else {
        return Ok(());
    };
    if executed_has_it == Some(0) {
        return Err(Verdict::Lineage(format!(
            "its executed GTID set {:?} lacks transactions of the checkpoint's {wanted:?}",
            executed.unwrap_or_default()
        ))
        .into_error(from));
    }
    if check_purged && purged_read == Some(0) {
        return Err(Verdict::Purged(format!(
            "it purged GTIDs {:?}, some not read by this project",
            purged.unwrap_or_default()
        ))
        .into_error(from));
    }
    Ok(())
}

/// MariaDB: the server's binlog holds every domain of `state` at or past its sequence.
async fn mariadb_state(conn: &mut Conn, state: &str, from: &DumpFrom) -> Result<(), BinlogError> {
    let binlog_state: Option<String> = conn
        .query_first("SELECT @@GLOBAL.gtid_binlog_state")
        .await
        .map_err(|source| BinlogError::Query {
            what: "SELECT @@GLOBAL.gtid_binlog_state".into(),
            source: source.into(),
        })?;
    let (Ok(GtidState::MariaDb(wanted)), Ok(GtidState::MariaDb(has))) = (
        GtidState::parse_mariadb(state),
        GtidState::parse_mariadb(binlog_state.as_deref().unwrap_or("")),
    ) else {
        return Ok(());
    };
    mariadb_verdict(wanted.values(), |domain| has.get(&domain).copied())
        .map_err(|e| e.into_error(from))
}

/// `GTID_SUBSET(checkpoint, executed)`, `GTID_SUBSET(purged, checkpoint)`, the executed
/// and the purged set.
type GtidFacts = (Option<i64>, Option<i64>, Option<String>, Option<String>);

/// What a failed check found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Purged(String),
    Lineage(String),
}

impl Verdict {
    fn into_error(self, from: &DumpFrom) -> BinlogError {
        match self {
            Verdict::Purged(detail) => BinlogError::Purged {
                from: from.to_string(),
                detail,
            },
            Verdict::Lineage(detail) => BinlogError::LineageChanged {
                from: from.to_string(),
                detail,
            },
        }
    }
}

/// The binlog files the server has, oldest first, with their sizes.
async fn binary_logs(conn: &mut Conn) -> Result<Vec<(String, u64)>, BinlogError> {
    let rows: Vec<Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(|source| match &source {
            // 1381: "You are not using binary logging".
            mysql_async::Error::Server(s) if s.code == 1381 => BinlogError::NoBinlog,
            _ => BinlogError::Query {
                what: "SHOW BINARY LOGS".into(),
                source: source.into(),
            },
        })?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let name: Option<String> = r.get(0);
            let size: Option<u64> = r.get(1);
            Some((name?, size.unwrap_or(0)))
        })
        .collect())
}

/// `base.000042` → (`base`, 42).
fn split_index(file: &str) -> Option<(&str, u64)> {
    let (base, n) = file.rsplit_once('.')?;
    Some((base, n.parse().ok()?))
}

/// Whether a dump from `file:pos` can work with the server's binlog index `files`.
pub(crate) fn coord_verdict(files: &[(String, u64)], file: &str, pos: u64) -> Result<(), Verdict> {
    let (Some((first, _)), Some((last, _))) = (files.first(), files.last()) else {
        return Ok(());
    };
    if let Some((_, size)) = files.iter().find(|(f, _)| f == file) {
        // The last file may still grow; any file ends at its size.
        return if pos > *size {
            Err(Verdict::Lineage(format!(
                "{file} is only {size} bytes long, shorter than the checkpoint's offset {pos}"
            )))
        } else {
            Ok(())
        };
    }
    match (split_index(file), split_index(first), split_index(last)) {
        (Some((base, n)), Some((first_base, first_n)), Some((_, last_n))) if base == first_base => {
            if n < first_n {
                Err(Verdict::Purged(format!(
                    "{file} was purged; its oldest binlog is {first}"
                )))
            } else if n > last_n {
                Err(Verdict::Lineage(format!(
                    "{file} is later than its newest binlog {last}"
                )))
            } else {
                Err(Verdict::Purged(format!(
                    "{file} is missing from its binlog index ({first} … {last})"
                )))
            }
        }
        _ => Err(Verdict::Lineage(format!(
            "it has no {file}; its binlogs are {first} … {last}"
        ))),
    }
}

/// Whether MariaDB, whose binlog holds GTID state `has` (last GTID per domain), holds
/// every transaction of the checkpoint's state `wanted`.
pub(crate) fn mariadb_verdict<'a>(
    wanted: impl Iterator<Item = &'a MariaGtid>,
    has: impl Fn(u32) -> Option<MariaGtid>,
) -> Result<(), Verdict> {
    for w in wanted {
        match has(w.domain) {
            Some(h) if h.seq >= w.seq => {}
            Some(h) => {
                return Err(Verdict::Lineage(format!(
                "its binlog ends at GTID {}-{}-{} in domain {}, before the checkpoint's {}-{}-{}",
                h.domain, h.server, h.seq, w.domain, w.domain, w.server, w.seq
            )))
            }
            None => {
                return Err(Verdict::Lineage(format!(
                    "its binlog has no GTID of domain {}, and the checkpoint is at {}-{}-{}",
                    w.domain, w.domain, w.server, w.seq
                )))
            }
        }
    }
    Ok(())
}

/// What an error 1236 text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The source purged what the dump needs.
    Purged,
    /// The dump asks for history the source does not have.
    Lineage,
    /// The dump's file or offset is not in the log.
    Missing,
    /// Anything else, e.g. a dump opened while a commit is in flight: worth retrying.
    Passing,
}

/// Reads an error 1236 (`None` for other errors).
pub(crate) fn refusal_kind(e: &SqlError) -> Option<Refusal> {
    classify(e.server_code()?, &e.to_string())
}

/// Reads a server error by its code and message (`None` unless 1236).
pub(crate) fn classify(code: u16, message: &str) -> Option<Refusal> {
    if code != 1236 {
        return None;
    }
    let text = message.to_ascii_lowercase();
    Some(if text.contains("purged") {
        Refusal::Purged
    } else if text.contains("more gtids than")
        || text.contains("not in the master's binlog")
        || text.contains("not in the source's binlog")
    {
        Refusal::Lineage
    } else if text.contains("could not find first log file")
        || text.contains("impossible position")
        || text.contains("max_allowed_packet")
    {
        Refusal::Missing
    } else {
        Refusal::Passing
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<(String, u64)> {
        vec![
            ("mysql-bin.000003".into(), 5000),
            ("mysql-bin.000004".into(), 800),
        ]
    }

    #[test]
    fn a_file_before_the_oldest_was_purged() {
        assert!(matches!(
            coord_verdict(&files(), "mysql-bin.000002", 4),
            Err(Verdict::Purged(_))
        ));
    }

    #[test]
    fn a_file_after_the_newest_or_an_offset_past_its_end_is_another_history() {
        assert!(matches!(
            coord_verdict(&files(), "mysql-bin.000009", 4),
            Err(Verdict::Lineage(_))
        ));
        assert!(matches!(
            coord_verdict(&files(), "mysql-bin.000004", 900),
            Err(Verdict::Lineage(_))
        ));
        assert!(matches!(
            coord_verdict(&files(), "other.000004", 4),
            Err(Verdict::Lineage(_))
        ));
        assert_eq!(coord_verdict(&files(), "mysql-bin.000004", 800), Ok(()));
        assert_eq!(coord_verdict(&files(), "mysql-bin.000003", 4000), Ok(()));
    }

    #[test]
    fn a_mariadb_checkpoint_ahead_of_the_binlog_is_another_history() {
        let g = |domain, seq| MariaGtid {
            domain,
            server: 1,
            seq,
        };
        let wanted = [g(0, 10)];
        assert_eq!(mariadb_verdict(wanted.iter(), |_| Some(g(0, 12))), Ok(()));
        assert!(matches!(
            mariadb_verdict(wanted.iter(), |_| Some(g(0, 3))),
            Err(Verdict::Lineage(_))
        ));
        assert!(matches!(
            mariadb_verdict(wanted.iter(), |_| None),
            Err(Verdict::Lineage(_))
        ));
    }
}
