//! The GTID state carried in [`LogPosition::gtid`](obsync_model::LogPosition): what the
//! server has executed up to a position, in the server's own spelling.
//!
//! - MariaDB: one `domain-server-seq` per replication domain (`gtid_slave_pos` style),
//!   e.g. `0-1-20,1-2-5`; a transaction's GTID replaces its domain's entry.
//! - MySQL / OceanBase Binlog Service: a GTID set `uuid:1-20:22,uuid2:1-3`. The set only
//!   grows: a transaction's GTID and a file's `PREVIOUS_GTIDS` are *added* to it (a
//!   union), never put in its place, and gaps (`uuid:1-5:11-13`) are kept as they are.

use super::mariadb_events::MariaGtid;
use mysql_common::packets::{GnoInterval, Sid, Tag};
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
    MySql(GtidSet),
}

/// A MySQL GTID set: per source (server uuid and optional tag), sorted, disjoint,
/// non-adjacent inclusive intervals of transaction numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct GtidSet(BTreeMap<SourceId, Vec<(u64, u64)>>);

/// A server uuid, with the tag of tagged GTIDs (MySQL 8.4). Ordered as MySQL prints
/// sets: by uuid, the untagged entry first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SourceId {
    pub uuid: [u8; 16],
    pub tag: Option<String>,
}

impl GtidSet {
    /// Parses MySQL's `uuid[:tag]:a-b:c[,…]` (an empty string is the empty set). One
    /// entry may switch tags midway (`uuid:1-2:blue:3`), as MySQL 8.4 prints them.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut set = GtidSet::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = |why: &dyn std::fmt::Display| {
                format!("{part:?} is not a MySQL GTID set entry (uuid:1-5:7): {why}")
            };
            let (uuid, rest) = part.split_once(':').ok_or_else(|| bad(&"no ':'"))?;
            // mysql_common parses one `uuid[:tag]:intervals` group; a tag change starts
            // the next group.
            let mut groups: Vec<String> = Vec::new();
            for field in rest.split(':') {
                if field.starts_with(|c: char| c.is_ascii_digit()) {
                    match groups.last_mut() {
                        Some(g) => {
                            g.push(':');
                            g.push_str(field);
                        }
                        None => groups.push(format!("{uuid}:{field}")),
                    }
                } else {
                    groups.push(format!("{uuid}:{field}"));
                }
            }
            for g in groups {
                let sid: Sid<'static> = g.parse().map_err(|e| bad(&e))?;
                set.add_sid(&sid);
            }
        }
        Ok(set)
    }

    /// Adds every transaction of `sid` (a union).
    pub fn add_sid(&mut self, sid: &Sid<'_>) {
        let id = SourceId::new(sid.uuid(), sid.tag().map(|t| t.as_str()));
        self.add_intervals(&id, sid.intervals());
    }

    /// Adds mysql_common's (half-open) intervals of one source.
    pub fn add_intervals(&mut self, id: &SourceId, intervals: &[GnoInterval]) {
        for iv in intervals {
            if iv.end() > iv.start() {
                self.add_range(id, iv.start(), iv.end() - 1);
            }
        }
    }

    /// Adds one transaction.
    pub fn add(&mut self, id: &SourceId, gno: u64) {
        self.add_range(id, gno, gno);
    }

    /// Adds every transaction of `other`.
    pub fn union(&mut self, other: &GtidSet) {
        for (id, ivs) in &other.0 {
            for &(a, b) in ivs {
                self.add_range(id, a, b);
            }
        }
    }

    /// True when every transaction of the set is in `other`.
    pub fn is_subset_of(&self, other: &GtidSet) -> bool {
        let mut union = other.clone();
        union.union(self);
        union == *other
    }

    /// True when the set holds transaction `gno` of `id`.
    pub fn contains(&self, id: &SourceId, gno: u64) -> bool {
        self.0
            .get(id)
            .is_some_and(|ivs| ivs.iter().any(|&(a, b)| a <= gno && gno <= b))
    }

    fn add_range(&mut self, id: &SourceId, a: u64, b: u64) {
        let ivs = self.0.entry(id.clone()).or_default();
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

    /// The set as `COM_BINLOG_DUMP_GTID` sends it.
    pub fn to_sids(&self) -> Vec<Sid<'static>> {
        self.0
            .iter()
            .map(|(id, ivs)| {
                let mut sid = Sid::new(id.uuid).with_intervals(
                    ivs.iter()
                        .map(|&(a, b)| GnoInterval::new(a, b.saturating_add(1)))
                        .collect(),
                );
                if let Some(tag) = id.tag.as_ref().and_then(|t| Tag::new(t.clone()).ok()) {
                    sid = sid.with_tag(tag);
                }
                sid
            })
            .collect()
    }

    /// MySQL's spelling, e.g. `3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:11-13`.
    pub fn render(&self) -> String {
        self.to_sids()
            .iter()
            .map(Sid::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl SourceId {
    /// The source of a `GTID_LOG_EVENT` / `GTID_TAGGED_LOG_EVENT`.
    pub fn new(uuid: [u8; 16], tag: Option<&str>) -> Self {
        Self {
            uuid,
            tag: tag.map(str::to_string),
        }
    }
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A Sid without intervals prints as `uuid[:tag]`.
        let mut sid = Sid::new(self.uuid);
        if let Some(tag) = self.tag.as_ref().and_then(|t| Tag::new(t.clone()).ok()) {
            sid = sid.with_tag(tag);
        }
        write!(f, "{sid}")
    }
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

    /// Parses a MySQL GTID set.
    pub fn parse_mysql(s: &str) -> Result<Self, String> {
        GtidSet::parse(s).map(GtidState::MySql)
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

    /// Adds a MariaDB file's `GTID_LIST`: per domain the later of what the reader knew
    /// and the list (a GTID dump re-sends the list of the file it starts in, which may
    /// predate the position).
    pub fn add_mariadb_list(&mut self, list: &[MariaGtid]) {
        if !matches!(self, GtidState::MariaDb(_)) {
            *self = GtidState::MariaDb(BTreeMap::new());
        }
        let GtidState::MariaDb(map) = self else {
            unreachable!("just made MariaDB")
        };
        for g in list {
            if map.get(&g.domain).is_none_or(|known| known.seq < g.seq) {
                map.insert(g.domain, *g);
            }
        }
    }

    /// Adds a file's `PREVIOUS_GTIDS` set: what the server executed before the file is
    /// executed; what the reader already knew stays executed.
    pub fn add_previous(&mut self, previous: &GtidSet) {
        match self {
            GtidState::MySql(set) => set.union(previous),
            _ => *self = GtidState::MySql(previous.clone()),
        }
    }

    /// Records a MySQL transaction's GTID. Before the file's previous-GTIDs event the
    /// executed set is unknown, and one GTID alone would claim a wrong set: ignored then.
    pub fn add_mysql(&mut self, id: &SourceId, gno: u64) {
        if let GtidState::MySql(set) = self {
            set.add(id, gno);
        }
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
            GtidState::MySql(set) => Some(Gtid(set.render())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

    fn uuid(s: &str) -> [u8; 16] {
        let sid: Sid<'static> = format!("{s}:1").parse().unwrap();
        sid.uuid()
    }

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
    fn a_mariadb_gtid_list_never_moves_a_domain_back() {
        let mut s = GtidState::parse_mariadb("0-1-20,1-2-5").unwrap();
        let g = |domain, seq| MariaGtid {
            domain,
            server: 1,
            seq,
        };
        s.add_mariadb_list(&[g(0, 12), g(1, 9), g(2, 3)]);
        assert_eq!(s.render().unwrap().0, "0-1-20,1-1-9,2-1-3");
        let mut unknown = GtidState::Unknown;
        unknown.add_mariadb_list(&[g(0, 7)]);
        assert_eq!(unknown.render().unwrap().0, "0-1-7");
    }

    #[test]
    fn mysql_set_merges_adjacent_intervals() {
        let mut s = GtidState::parse_mysql(&format!("{U}:1-5:7")).unwrap();
        s.add_mysql(&SourceId::new(uuid(U), None), 6);
        let other = "aaaaaaaa-71ca-11e1-9e33-c80aa9429562";
        s.add_mysql(&SourceId::new(uuid(other), None), 1);
        assert_eq!(s.render().unwrap().0, format!("{U}:1-7,{other}:1"));
        let tagged = GtidState::parse_mysql(&format!("{U}:1-2:blue:3")).unwrap();
        assert_eq!(tagged.render().unwrap().0, format!("{U}:1-2,{U}:blue:3"));
        assert!(GtidState::parse_mysql("nope:1").is_err());
        assert!(GtidState::parse_mysql(&format!("{U}:5-3")).is_err());
    }

    #[test]
    fn previous_gtids_are_added_to_what_the_reader_knew_never_put_in_its_place() {
        // Resumed from 1-5; the file's PREVIOUS_GTIDS is empty (all in this file).
        let mut s = GtidState::parse_mysql(&format!("{U}:1-5")).unwrap();
        s.add_previous(&GtidSet::default());
        for gno in 6..=10 {
            s.add_mysql(&SourceId::new(uuid(U), None), gno);
        }
        assert_eq!(s.render().unwrap().0, format!("{U}:1-10"));
        // A later file's list adds what this one had not seen.
        s.add_previous(&GtidSet::parse(&format!("{U}:1-12")).unwrap());
        assert_eq!(s.render().unwrap().0, format!("{U}:1-12"));
    }

    #[test]
    fn gaps_are_kept_exactly() {
        let mut s = GtidState::parse_mysql(&format!("{U}:1-5:11-13")).unwrap();
        assert_eq!(s.render().unwrap().0, format!("{U}:1-5:11-13"));
        s.add_previous(&GtidSet::parse(&format!("{U}:2-3")).unwrap());
        assert_eq!(s.render().unwrap().0, format!("{U}:1-5:11-13"));
        s.add_mysql(&SourceId::new(uuid(U), None), 7);
        assert_eq!(s.render().unwrap().0, format!("{U}:1-5:7:11-13"));
        let GtidState::MySql(set) = &s else {
            unreachable!()
        };
        let id = SourceId::new(uuid(U), None);
        assert!(set.contains(&id, 12) && !set.contains(&id, 8));
        // The dump request carries the same gaps.
        let sids = set.to_sids();
        assert_eq!(sids[0].to_string(), format!("{U}:1-5:7:11-13"));
    }

    #[test]
    fn an_unknown_state_is_not_guessed_from_one_transaction() {
        let mut s = GtidState::Unknown;
        s.add_mysql(&SourceId::new(uuid(U), None), 9);
        assert_eq!(s.render(), None);
    }
}
