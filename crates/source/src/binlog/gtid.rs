//! The GTID state carried in [`LogPosition::gtid`](obsync_model::LogPosition): what the
//! server has executed up to a position, in the server's own spelling.
//!
//! - MariaDB: one `domain-server-seq` per replication domain (`gtid_slave_pos` style),
//!   e.g. `0-1-20,1-2-5`; a transaction's GTID replaces its domain's entry.
//! - MySQL / OceanBase Binlog Service: a GTID set `uuid:1-20:22,uuid2:1-3`; a
//!   transaction's GTID is added to its server uuid's intervals.

use super::mariadb_events::MariaGtid;
use obsync_model::Gtid;
use std::collections::BTreeMap;

/// GTID state after the last transaction read. `Unknown` when the reader started from a
/// plain file:pos and has not yet seen the file's GTID list (MySQL before a
/// `PREVIOUS_GTIDS` event): positions then carry no GTID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum GtidState {
    #[default]
    Unknown,
    MariaDb(BTreeMap<u32, MariaGtid>),
    /// Server uuid (with `:tag` for tagged GTIDs) → sorted, disjoint, inclusive intervals.
    MySql(BTreeMap<String, Vec<(u64, u64)>>),
}

impl GtidState {
    /// Parses MariaDB's `domain-server-seq[,…]` (an empty string is the empty state).
    pub fn parse_mariadb(s: &str) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("{part:?} is not a MariaDB GTID (domain-server-seq)");
            let mut it = part.split('-');
            let (Some(d), Some(sv), Some(n), None) = (it.next(), it.next(), it.next(), it.next())
            else {
                return Err(bad());
            };
            let g = MariaGtid {
                domain: d.parse().map_err(|_| bad())?,
                server: sv.parse().map_err(|_| bad())?,
                seq: n.parse().map_err(|_| bad())?,
            };
            map.insert(g.domain, g);
        }
        Ok(GtidState::MariaDb(map))
    }

    /// Parses a MySQL GTID set `uuid[:tag]:a-b:c[,…]`.
    pub fn parse_mysql(s: &str) -> Result<Self, String> {
        let mut state = GtidState::MySql(BTreeMap::new());
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("{part:?} is not a MySQL GTID set entry (uuid:1-5:7)");
            let mut fields = part.split(':');
            let uuid = fields.next().ok_or_else(bad)?;
            let mut key = uuid.to_ascii_lowercase();
            for f in fields {
                if f.starts_with(|c: char| c.is_ascii_digit()) {
                    let (a, b) = f.split_once('-').unwrap_or((f, f));
                    let (a, b): (u64, u64) =
                        (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                    if a > b {
                        return Err(bad());
                    }
                    state.add_mysql_range(&key, a, b);
                } else {
                    key = format!("{}:{f}", uuid.to_ascii_lowercase());
                }
            }
        }
        Ok(state)
    }

    /// Records a MariaDB transaction's GTID.
    pub fn apply_mariadb(&mut self, g: MariaGtid) {
        match self {
            GtidState::MariaDb(map) => {
                map.insert(g.domain, g);
            }
            _ => *self = GtidState::MariaDb(BTreeMap::from([(g.domain, g)])),
        }
    }

    /// Records a MySQL transaction's GTID (`key` is the uuid, or `uuid:tag`).
    pub fn add_mysql(&mut self, key: &str, gno: u64) {
        self.add_mysql_range(key, gno, gno);
    }

    fn add_mysql_range(&mut self, key: &str, a: u64, b: u64) {
        if !matches!(self, GtidState::MySql(_)) {
            *self = GtidState::MySql(BTreeMap::new());
        }
        let GtidState::MySql(map) = self else {
            unreachable!("just set to MySql")
        };
        let ivs = map.entry(key.to_string()).or_default();
        ivs.push((a, b));
        ivs.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ivs.len());
        for &(s, e) in ivs.iter() {
            match merged.last_mut() {
                Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *ivs = merged;
    }

    /// The server's spelling of this state; `None` when unknown.
    pub fn render(&self) -> Option<Gtid> {
        match self {
            GtidState::Unknown => None,
            GtidState::MariaDb(map) => Some(Gtid(
                map.values()
                    .map(|g| g.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            GtidState::MySql(map) => Some(Gtid(
                map.iter()
                    .map(|(k, ivs)| {
                        let mut s = k.clone();
                        for (a, b) in ivs {
                            if a == b {
                                s.push_str(&format!(":{a}"));
                            } else {
                                s.push_str(&format!(":{a}-{b}"));
                            }
                        }
                        s
                    })
                    .collect::<Vec<_>>()
                    .join(","),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_state_keeps_the_last_gtid_per_domain() {
        let mut s = GtidState::parse_mariadb("0-1-20,1-2-5").unwrap();
        s.apply_mariadb(MariaGtid {
            domain: 0,
            server: 3,
            seq: 21,
        });
        assert_eq!(s.render().unwrap().0, "0-3-21,1-2-5");
        assert!(GtidState::parse_mariadb("0-1").is_err());
        assert_eq!(
            GtidState::parse_mariadb("").unwrap().render().unwrap().0,
            ""
        );
    }

    #[test]
    fn mysql_set_merges_adjacent_intervals() {
        let u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let mut s = GtidState::parse_mysql(&format!("{u}:1-5:7")).unwrap();
        s.add_mysql(u, 6);
        s.add_mysql("aaaaaaaa-71ca-11e1-9e33-c80aa9429562", 1);
        assert_eq!(
            s.render().unwrap().0,
            format!("{u}:1-7,aaaaaaaa-71ca-11e1-9e33-c80aa9429562:1")
        );
        let tagged = GtidState::parse_mysql(&format!("{u}:1-2:blue:3")).unwrap();
        assert_eq!(tagged.render().unwrap().0, format!("{u}:1-2,{u}:blue:3"));
    }
}
