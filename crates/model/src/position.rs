//! Source positions: where a change came from and where streaming resumes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A binlog file and byte offset, e.g. `mysql-bin.000003:4521`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BinlogCoord {
    pub file: String,
    pub pos: u64,
}

impl BinlogCoord {
    pub fn new(file: impl Into<String>, pos: u64) -> Self {
        Self {
            file: file.into(),
            pos,
        }
    }
}

impl fmt::Display for BinlogCoord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("binlog position {input:?} is invalid: write it as FILE:OFFSET, e.g. mysql-bin.000003:4")]
pub struct ParsePositionError {
    pub input: String,
}

impl FromStr for BinlogCoord {
    type Err = ParsePositionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParsePositionError {
            input: s.to_string(),
        };
        let (file, pos) = s.rsplit_once(':').ok_or_else(err)?;
        if file.is_empty() {
            return Err(err());
        }
        Ok(Self {
            file: file.to_string(),
            pos: pos.parse().map_err(|_| err())?,
        })
    }
}

/// A GTID or GTID set as the server spells it: MariaDB `0-1-20`, MySQL `uuid:1-20`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Gtid(pub String);

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resumable change-log position: the coordinate right after a committed
/// transaction, plus the GTID state there when the server has GTIDs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogPosition {
    pub coord: BinlogCoord,
    /// MariaDB: the `gtid_slave_pos`-style state (`domain-server-seq[,…]`) after the
    /// transaction. MySQL: the executed GTID set. `None` when GTIDs are not in use.
    pub gtid: Option<Gtid>,
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.gtid {
            Some(g) => write!(f, "{} (gtid {g})", self.coord),
            None => write!(f, "{}", self.coord),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binlog_coord_parses_file_and_offset() {
        let c: BinlogCoord = "mysql-bin.000003:4521".parse().unwrap();
        assert_eq!(c, BinlogCoord::new("mysql-bin.000003", 4521));
        assert_eq!(c.to_string(), "mysql-bin.000003:4521");
        assert!("nofile".parse::<BinlogCoord>().is_err());
        assert!(":4".parse::<BinlogCoord>().is_err());
        assert!("f:x".parse::<BinlogCoord>().is_err());
    }
}
