//! Table metadata for decoding rows events: the current table maps (by binlog table
//! id) and the information_schema metadata of the project's tables (by table name).
//! No I/O: metadata it lacks is asked for ([`MapOutcome::NeedsMetadata`]) and handed in
//! by the reader's shell ([`SchemaCache::provide`]).
//!
//! Metadata is keyed by the *name* the table map carries, never by the binlog table id:
//! after `RENAME TABLE a TO b` the server maps `b` (possibly with the same id), and `b`
//! is judged by the project's filter on its own.

use super::error::BinlogError;
use super::rows::WireColumns;
use mysql_common::binlog::events::TableMapEvent;
use mysql_common::constants::ColumnType as WireType;
use obsync_model::{BinlogCoord, ColumnType, TableId, TableMeta};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The table a binlog table id currently stands for.
pub(crate) struct MappedTable {
    /// `None` when the table is outside the project (its rows are skipped), or was
    /// dropped since (see [`SchemaCache::map_table`]).
    pub decoding: Option<(Arc<TableMeta>, WireColumns)>,
}

/// What [`SchemaCache::map_table`] did with a table map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MapOutcome {
    Mapped,
    /// The table's metadata must be read first (none cached, or the cached one does
    /// not fit the map); nothing was recorded.
    NeedsMetadata,
}

pub(crate) struct SchemaCache {
    metas: HashMap<TableId, Arc<TableMeta>>,
    maps: HashMap<u64, MappedTable>,
    /// Databases holding at least one project table seen in the binlog: database-wide
    /// DDL there is reported.
    project_dbs: HashSet<String>,
    /// Metadata just read for a table map that asked for it (`None`: the table no
    /// longer exists).
    fresh: Option<(TableId, Option<TableMeta>)>,
}

impl SchemaCache {
    /// `known`: definitions valid at the start position (see `BinlogOptions::known_tables`).
    pub fn new(known: &[Arc<TableMeta>]) -> Self {
        Self {
            metas: known.iter().map(|m| (m.id.clone(), m.clone())).collect(),
            maps: HashMap::new(),
            project_dbs: HashSet::new(),
            fresh: None,
        }
    }

    pub fn mapped(&self, table_id: u64) -> Option<&MappedTable> {
        self.maps.get(&table_id)
    }

    /// Metadata read for the table a [`MapOutcome::NeedsMetadata`] named.
    pub fn provide(&mut self, id: TableId, meta: Option<TableMeta>) {
        self.fresh = Some((id, meta));
    }

    /// Records a table map. For a project table (`in_project`), makes sure the
    /// metadata matches the map's columns: cached metadata that does not fit is read
    /// again once, and a mismatch after that is an error (never a silent
    /// mis-assignment of values).
    ///
    /// A project table that no longer exists (dropped or renamed since this binlog
    /// position was written) cannot be decoded; its rows are skipped with a warning, and
    /// the DROP/RENAME that follows in the binlog is reported as DDL.
    pub fn map_table(
        &mut self,
        table_id: u64,
        tme: TableMapEvent<'static>,
        in_project: bool,
        position: &BinlogCoord,
    ) -> Result<MapOutcome, BinlogError> {
        let id = TableId::new(tme.database_name(), tme.table_name());
        let meta = if in_project {
            match self.checked_meta(&id, &tme, position)? {
                Some(found) => found,
                None => return Ok(MapOutcome::NeedsMetadata),
            }
        } else {
            None
        };
        if in_project {
            self.project_dbs.insert(id.database.clone());
        }
        let decoding = match meta {
            Some(m) => {
                let wire =
                    WireColumns::from_table_map(&tme).map_err(|reason| BinlogError::Malformed {
                        position: position.clone(),
                        reason: format!("table map of {id}: {reason}"),
                    })?;
                Some((m, wire))
            }
            None => None,
        };
        self.maps.insert(table_id, MappedTable { decoding });
        Ok(MapOutcome::Mapped)
    }

    /// The metadata to decode `id` with (`Some(None)`: the table is gone), or `None`
    /// when it must be read first.
    fn checked_meta(
        &mut self,
        id: &TableId,
        tme: &TableMapEvent<'static>,
        position: &BinlogCoord,
    ) -> Result<Option<Option<Arc<TableMeta>>>, BinlogError> {
        let fresh = match self.fresh.take() {
            Some((fid, meta)) if fid == *id => Some(meta),
            _ => None,
        };
        let Some(read) = fresh else {
            if let Some(m) = self.metas.get(id) {
                if check_table_map(m, tme).is_ok() {
                    return Ok(Some(Some(m.clone())));
                }
                tracing::info!(table = %id, %position, "table map differs from cached metadata; re-reading it");
            }
            return Ok(None);
        };
        let Some(meta) = read else {
            tracing::warn!(table = %id, %position, "table no longer exists at the source (dropped or renamed since); skipping its rows at this position");
            self.metas.remove(id);
            return Ok(Some(None));
        };
        check_table_map(&meta, tme).map_err(|detail| BinlogError::SchemaMismatch {
            table: id.clone(),
            position: position.clone(),
            detail,
        })?;
        let meta = Arc::new(meta);
        self.metas.insert(id.clone(), meta.clone());
        Ok(Some(Some(meta)))
    }

    /// Forgets a table's metadata (after DDL on it): the next table map re-reads it.
    pub fn invalidate(&mut self, id: &TableId) {
        self.metas.remove(id);
    }

    /// Forgets the metadata of every table of `database`.
    pub fn invalidate_database(&mut self, database: &str) {
        self.metas.retain(|id, _| id.database != database);
    }

    /// True when a project table of `database` has been seen.
    pub fn is_project_database(&self, database: &str) -> bool {
        self.project_dbs.contains(database)
    }

    /// Forgets the table maps (a new connection numbers tables afresh).
    pub fn clear_maps(&mut self) {
        self.maps.clear();
    }
}

/// Checks that a table map's columns are the metadata's columns: same count, and each
/// wire type is one the declared type is written as.
pub(crate) fn check_table_map(meta: &TableMeta, tme: &TableMapEvent<'_>) -> Result<(), String> {
    let n = tme.columns_count() as usize;
    let names = || {
        meta.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if n != meta.columns.len() {
        return Err(format!(
            "the binlog row has {n} columns, the table has {} ({})",
            meta.columns.len(),
            names()
        ));
    }
    let mut wrong = Vec::new();
    for (i, col) in meta.columns.iter().enumerate() {
        match tme.get_column_type(i) {
            Ok(Some(wire)) if wire_fits(wire, col.kind) => {}
            Ok(Some(wire)) => wrong.push(format!(
                "column {} is {} but the binlog writes {wire:?}",
                col.name, col.column_type
            )),
            _ => wrong.push(format!(
                "column {} ({}) has an unknown binlog type",
                col.name, col.column_type
            )),
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

/// Whether a column declared as `kind` is written with wire type `wire`.
fn wire_fits(wire: WireType, kind: ColumnType) -> bool {
    use ColumnType as T;
    use WireType as W;
    match wire {
        W::MYSQL_TYPE_TINY => kind == T::TinyInt,
        W::MYSQL_TYPE_SHORT => kind == T::SmallInt,
        W::MYSQL_TYPE_INT24 => kind == T::MediumInt,
        W::MYSQL_TYPE_LONG => kind == T::Int,
        W::MYSQL_TYPE_LONGLONG => kind == T::BigInt,
        W::MYSQL_TYPE_FLOAT => kind == T::Float,
        W::MYSQL_TYPE_DOUBLE => kind == T::Double,
        W::MYSQL_TYPE_NEWDECIMAL | W::MYSQL_TYPE_DECIMAL => kind == T::Decimal,
        W::MYSQL_TYPE_BIT => kind == T::Bit,
        W::MYSQL_TYPE_DATE | W::MYSQL_TYPE_NEWDATE => kind == T::Date,
        W::MYSQL_TYPE_DATETIME | W::MYSQL_TYPE_DATETIME2 => kind == T::DateTime,
        W::MYSQL_TYPE_TIMESTAMP | W::MYSQL_TYPE_TIMESTAMP2 => kind == T::Timestamp,
        W::MYSQL_TYPE_TIME | W::MYSQL_TYPE_TIME2 => kind == T::Time,
        W::MYSQL_TYPE_YEAR => kind == T::Year,
        W::MYSQL_TYPE_STRING => matches!(kind, T::Char | T::Binary),
        W::MYSQL_TYPE_VARCHAR | W::MYSQL_TYPE_VAR_STRING => {
            matches!(kind, T::VarChar | T::VarBinary)
        }
        W::MYSQL_TYPE_ENUM => kind == T::Enum,
        W::MYSQL_TYPE_SET => kind == T::Set,
        // All TEXT/BLOB sizes share one wire type; MariaDB's JSON is a LONGTEXT.
        W::MYSQL_TYPE_BLOB
        | W::MYSQL_TYPE_TINY_BLOB
        | W::MYSQL_TYPE_MEDIUM_BLOB
        | W::MYSQL_TYPE_LONG_BLOB => matches!(
            kind,
            T::TinyText
                | T::Text
                | T::MediumText
                | T::LongText
                | T::TinyBlob
                | T::Blob
                | T::MediumBlob
                | T::LongBlob
                | T::Json
        ),
        W::MYSQL_TYPE_JSON => kind == T::Json,
        W::MYSQL_TYPE_GEOMETRY => kind == T::Geometry,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_types_fit_their_declared_types_only() {
        assert!(wire_fits(WireType::MYSQL_TYPE_INT24, ColumnType::MediumInt));
        assert!(!wire_fits(WireType::MYSQL_TYPE_LONG, ColumnType::BigInt));
        assert!(wire_fits(WireType::MYSQL_TYPE_BLOB, ColumnType::Json));
        assert!(wire_fits(WireType::MYSQL_TYPE_STRING, ColumnType::Binary));
        assert!(!wire_fits(WireType::MYSQL_TYPE_VARCHAR, ColumnType::Char));
    }
}
