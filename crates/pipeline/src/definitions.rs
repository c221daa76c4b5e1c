//! The table definitions in force at the incremental stream's position, kept with each
//! checkpoint so a restart decodes rows logged before a later DDL with the definition
//! they were written with (see `ProjectState::definitions`).
//!
//! Rows carry the definition they were decoded with, and a transaction never spans a
//! DDL, so the definitions of the rows delivered so far are the ones in force at the
//! last commit. A DDL makes its database's entries unknown until their next row.

use obsync_model::{TableId, TableMeta};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Definitions {
    by_table: BTreeMap<TableId, Arc<TableMeta>>,
    /// The definition of the previous row: most rows repeat it, and a pointer compare
    /// is cheaper than a map lookup on the hot path.
    last: Option<Arc<TableMeta>>,
    changed: bool,
}

impl Definitions {
    /// Starts from the definitions known at the start position. They count as changed:
    /// the first checkpoint of a run saves them, whether they came from the last
    /// checkpoint or were read just now.
    pub fn new(known: impl IntoIterator<Item = Arc<TableMeta>>) -> Self {
        Self {
            by_table: known.into_iter().map(|m| (m.id.clone(), m)).collect(),
            last: None,
            changed: true,
        }
    }

    /// Notes the definition a row was decoded with.
    pub fn saw(&mut self, meta: &Arc<TableMeta>) {
        if self.last.as_ref().is_some_and(|l| Arc::ptr_eq(l, meta)) {
            return;
        }
        self.last = Some(meta.clone());
        match self.by_table.get(&meta.id) {
            Some(m) if Arc::ptr_eq(m, meta) || **m == **meta => {}
            _ => {
                self.by_table.insert(meta.id.clone(), meta.clone());
                self.changed = true;
            }
        }
    }

    /// Forgets the definitions of `database`'s tables after DDL there. A DDL statement
    /// may name several tables and the change log reports one, hence the database.
    pub fn ddl(&mut self, database: &str) {
        let before = self.by_table.len();
        self.by_table.retain(|id, _| id.database != database);
        self.last = None;
        self.changed |= self.by_table.len() != before;
    }

    /// The definitions to save with the next checkpoint, if they changed since the last
    /// call.
    pub fn take_changed(&mut self) -> Option<Vec<TableMeta>> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        Some(self.by_table.values().map(|m| (**m).clone()).collect())
    }

    /// The definitions in force now, for a reader opened at the last commit.
    pub fn current(&self) -> Vec<Arc<TableMeta>> {
        self.by_table.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::{Column, ColumnType, KeySource};

    fn meta(db: &str, table: &str, cols: &[&str]) -> Arc<TableMeta> {
        let columns: Vec<Column> = cols
            .iter()
            .map(|c| Column::new(*c, ColumnType::Int))
            .collect();
        Arc::new(TableMeta {
            id: TableId::new(db, table),
            columns,
            key: vec![0],
            key_source: KeySource::PrimaryKey,
            primary_key: vec![0],
            unique_keys: vec![],
            estimated_rows: 0,
        })
    }

    #[test]
    fn a_new_definition_is_saved_once() {
        let v1 = meta("d", "t", &["id", "a"]);
        let mut d = Definitions::new([v1.clone()]);
        assert_eq!(
            d.take_changed(),
            Some(vec![(*v1).clone()]),
            "saved once per run"
        );
        d.saw(&v1);
        assert_eq!(
            d.take_changed(),
            None,
            "the known definition is not a change"
        );
        let v2 = meta("d", "t", &["id", "a", "b"]);
        d.saw(&v2);
        d.saw(&v2);
        assert_eq!(d.take_changed(), Some(vec![(*v2).clone()]));
        assert_eq!(d.take_changed(), None);
        // An equal definition read again (a new Arc) is no change either.
        d.saw(&meta("d", "t", &["id", "a", "b"]));
        assert_eq!(d.take_changed(), None);
    }

    #[test]
    fn ddl_forgets_the_database_only() {
        let (a, b, c) = (
            meta("d", "a", &["id"]),
            meta("d", "b", &["id"]),
            meta("e", "c", &["id"]),
        );
        let mut d = Definitions::new([a.clone(), b, c.clone()]);
        d.take_changed();
        d.ddl("d");
        assert_eq!(d.take_changed(), Some(vec![(*c).clone()]));
        assert_eq!(d.current(), vec![c]);
        // The next row of `a` brings its definition back, even the same Arc as before.
        d.saw(&a);
        assert!(d.take_changed().is_some());
        d.ddl("x");
        assert_eq!(d.take_changed(), None, "DDL elsewhere changes nothing");
    }
}
