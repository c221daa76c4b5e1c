//! Table metadata from `information_schema`: which tables exist, their columns, types
//! and keys, and what kind of server answers.
//!
//! The same queries serve OceanBase (MySQL tenant), MySQL and MariaDB. Known dialect traps
//! handled here:
//! - OceanBase returns `STATISTICS` rows unordered and leaks the table comment into the
//!   PRIMARY row's `INDEX_COMMENT`: rows are sorted here and comments are never read.
//! - OceanBase tables without a primary key have a hidden row key (`__pk_increment`) that
//!   SQL cannot read; such tables use all columns (or a NOT NULL unique key) as identity.
//! - MariaDB stores JSON as `LONGTEXT` with a `json_valid()` check constraint; the column
//!   is reported as [`ColumnType::Json`].
//! - `lower_case_table_names=1` (OceanBase's default) stores names in lower case; lookups
//!   fall back to a case-insensitive match and report the name the server stores.
//!
//! Architecture invariant: metadata is read by SQL only, never from the binlog, so the
//! binlog reader can re-read it at DDL positions through [`read_table_meta`].

use crate::endpoint::{ConnectError, SourceEndpoint, SourceFlavor};
use crate::SqlError;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Pool, Value as SqlValue};
use obsync_model::{Column, ColumnDefault, ColumnType, KeySource, TableId, TableMeta, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Schemas that hold server internals and are never offered for sync.
pub const SYSTEM_DATABASES: &[&str] = &[
    "information_schema",
    "mysql",
    "performance_schema",
    "sys",
    "oceanbase",
    "__public",
    "__recyclebin",
    "LBACSYS",
    "ORAAUDITOR",
];

/// Errors while reading metadata. Every variant names the table or query concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The source could not be reached.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A metadata query failed.
    #[error("reading {what} from the source failed")]
    Query {
        what: String,
        #[source]
        source: SqlError,
    },
    /// The table does not exist (or the user cannot see it).
    #[error("table {table} does not exist at the source, or the sync user has no privilege on it: check the name and GRANT SELECT ON {table} TO the sync user")]
    TableNotFound { table: TableId },
    /// The object exists but is not a physical table (a view, a sequence…).
    #[error("{table} is a {kind}, not a physical table: only physical tables can be synced; remove it from the selection")]
    NotATable { table: TableId, kind: TableKind },
    /// The table is listed but none of its columns are visible: the user lacks SELECT.
    #[error("no column of {table} is visible to the sync user: GRANT SELECT ON {table} TO the sync user")]
    NoColumnsVisible { table: TableId },
    /// A column has a type obsync cannot represent.
    #[error("column {column} of table {table} has type {column_type} ({data_type}), which obsync does not support yet: exclude the table, or change the column type")]
    UnsupportedType {
        table: TableId,
        column: String,
        data_type: String,
        column_type: String,
    },
    /// The server answered something this reader cannot interpret.
    #[error("unexpected metadata for {table}: {detail}")]
    Unexpected { table: TableId, detail: String },
}

/// What an entry of `information_schema.TABLES` is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TableKind {
    /// A physical table (`BASE TABLE`): the only kind obsync syncs.
    Table,
    View,
    /// Anything else (`SYSTEM VIEW`, MariaDB `SEQUENCE` or `SYSTEM VERSIONED`, …), as the
    /// server names it.
    Other(String),
}

impl TableKind {
    fn from_table_type(table_type: &str) -> Self {
        match table_type.to_ascii_uppercase().as_str() {
            "BASE TABLE" => TableKind::Table,
            "VIEW" => TableKind::View,
            _ => TableKind::Other(table_type.to_string()),
        }
    }
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableKind::Table => f.write_str("table"),
            TableKind::View => f.write_str("view"),
            TableKind::Other(s) => write!(f, "{} object", s.to_ascii_lowercase()),
        }
    }
}

/// One object of `information_schema.TABLES`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableListing {
    pub id: TableId,
    pub kind: TableKind,
}

/// The server facts every part of the source crate decides on, detected once per
/// endpoint ([`server_info`]) and passed along instead of being asked again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// `SELECT VERSION()`, e.g. `10.11.19-MariaDB-log`, `5.7.25-OceanBase_CE-v4.2.1.0`.
    pub version: String,
    /// Detected from `version`: OceanBase if it contains `OceanBase`, MariaDB if it
    /// contains `MariaDB`, else MySQL.
    pub flavor: SourceFlavor,
    /// The OceanBase kernel version (`ob_version()`), e.g. `4.3.5.3`.
    pub ob_version: Option<String>,
    /// MySQL-style GTIDs are on (`@@GLOBAL.gtid_mode = ON`): every transaction has a
    /// `uuid:n` GTID, so dumps can be positioned by GTID set. Always false on MariaDB,
    /// whose own GTIDs have no such switch.
    pub gtid_mode: bool,
    /// The server's default time zone (`@@GLOBAL.time_zone`, e.g. `SYSTEM`, `+08:00`);
    /// obsync's own sessions run in UTC whatever it is.
    pub time_zone: Option<String>,
}

impl ServerInfo {
    /// The major version number of the product: OceanBase kernel major for OceanBase,
    /// else the leading number of `version`.
    pub fn major(&self) -> Option<u32> {
        let v = self.ob_version.as_deref().unwrap_or(&self.version);
        v.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    }
}

impl fmt::Display for ServerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ob_version {
            Some(ob) => write!(f, "{} {ob} ({})", self.flavor, self.version),
            None => write!(f, "{} {}", self.flavor, self.version),
        }
    }
}

/// Detects the product from its version string.
pub fn flavor_from_version(version: &str) -> SourceFlavor {
    if version.contains("OceanBase") {
        SourceFlavor::OceanBase
    } else if version.contains("MariaDB") {
        SourceFlavor::MariaDb
    } else {
        SourceFlavor::MySql
    }
}

/// Reads the server's version and detects its flavor.
pub async fn server_info(conn: &mut Conn) -> Result<ServerInfo, MetadataError> {
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(query_err("the server version"))?;
    let version = version.unwrap_or_default();
    let flavor = flavor_from_version(&version);
    let ob_version = if flavor == SourceFlavor::OceanBase {
        conn.query_first::<String, _>("SELECT ob_version()")
            .await
            .map_err(query_err("the OceanBase version"))?
    } else {
        None
    };
    // A server without the variable (error 1193) simply does not have the feature.
    let gtid_mode = flavor != SourceFlavor::MariaDb
        && conn
            .query_first::<Option<String>, _>("SELECT @@GLOBAL.gtid_mode")
            .await
            .ok()
            .flatten()
            .flatten()
            .is_some_and(|m| m.eq_ignore_ascii_case("ON"));
    let time_zone = conn
        .query_first::<Option<String>, _>("SELECT @@GLOBAL.time_zone")
        .await
        .ok()
        .flatten()
        .flatten();
    Ok(ServerInfo {
        version,
        flavor,
        ob_version,
        gtid_mode,
        time_zone,
    })
}

/// Reads metadata through a connection pool; cheap to clone.
#[derive(Clone)]
pub struct MetadataReader {
    /// Made on first use from `endpoint` (which may need a connection to settle its TLS),
    /// or given; shared by the clones.
    pool: std::sync::Arc<tokio::sync::OnceCell<Pool>>,
    endpoint: Option<SourceEndpoint>,
    /// Detected on first use and shared by the clones (one `SELECT VERSION()` per
    /// endpoint, not one per table read).
    info: std::sync::Arc<tokio::sync::OnceCell<ServerInfo>>,
}

impl fmt::Debug for MetadataReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataReader")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

fn no_pool() -> MetadataError {
    MetadataError::Query {
        what: "a connection".into(),
        source: mysql_async::Error::Driver(mysql_async::DriverError::PoolDisconnected).into(),
    }
}

impl MetadataReader {
    /// A reader over an existing pool (sessions must run with `time_zone = '+00:00'`,
    /// as [`SourceEndpoint::pool`] sets up).
    pub fn new(pool: Pool) -> Self {
        Self {
            pool: std::sync::Arc::new(tokio::sync::OnceCell::new_with(Some(pool))),
            endpoint: None,
            info: Default::default(),
        }
    }

    /// A reader with its own pool; connection failures name the endpoint's address.
    pub fn from_endpoint(endpoint: &SourceEndpoint) -> Self {
        Self {
            pool: Default::default(),
            endpoint: Some(endpoint.clone()),
            info: Default::default(),
        }
    }

    /// A reader with its own pool for a server already identified.
    pub fn for_server(endpoint: &SourceEndpoint, info: ServerInfo) -> Self {
        let reader = Self::from_endpoint(endpoint);
        // A fresh cell always takes the value.
        let _ = reader.info.set(info);
        reader
    }

    /// Closes the reader's pool (when it opened one), so its idle connection does not
    /// stay on the source: a server running hundreds of projects keeps only the
    /// connections it uses. Clones of the reader stop working.
    pub async fn close(self) {
        if let Some(pool) = self.pool.get() {
            // A failed goodbye leaves nothing to undo: the server drops the session.
            let _ = pool.clone().disconnect().await;
        }
    }

    async fn conn(&self) -> Result<Conn, MetadataError> {
        // `new` fills the cell, so only a reader made from an endpoint gets here empty.
        let pool = match &self.endpoint {
            Some(ep) => self.pool.get_or_try_init(|| ep.pool()).await?,
            None => {
                self.pool
                    .get_or_try_init(|| async { Err(no_pool()) })
                    .await?
            }
        };
        match pool.get_conn().await {
            Ok(c) => Ok(c),
            Err(e) => Err(match &self.endpoint {
                Some(ep) => MetadataError::Connect(ep.connect_error(e)),
                None => MetadataError::Query {
                    what: "a connection".into(),
                    source: e.into(),
                },
            }),
        }
    }

    /// The server's identity, detected once per reader (and its clones).
    pub async fn server_info(&self) -> Result<ServerInfo, MetadataError> {
        self.info
            .get_or_try_init(|| async { server_info(&mut self.conn().await?).await })
            .await
            .cloned()
    }

    /// User databases, sorted, without the server's system schemas.
    pub async fn list_databases(&self) -> Result<Vec<String>, MetadataError> {
        let mut conn = self.conn().await?;
        let names: Vec<String> = conn
            .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
            .await
            .map_err(query_err("the database list"))?;
        let mut names: Vec<String> = names.into_iter().filter(|n| !is_system(n)).collect();
        names.sort();
        Ok(names)
    }

    /// Tables, views and other objects of the given databases (all user databases when
    /// `None`), sorted by database and name. Only [`TableKind::Table`] entries are
    /// syncable; the caller reports the others.
    pub async fn list_tables(
        &self,
        databases: Option<&[String]>,
    ) -> Result<Vec<TableListing>, MetadataError> {
        let mut conn = self.conn().await?;
        let mut sql = String::from(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES",
        );
        let mut params: Vec<SqlValue> = Vec::new();
        if let Some(dbs) = databases {
            if dbs.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(" WHERE TABLE_SCHEMA IN (");
            sql.push_str(&vec!["?"; dbs.len()].join(","));
            sql.push(')');
            params.extend(dbs.iter().map(|d| SqlValue::from(d.as_str())));
        }
        let rows: Vec<(String, String, String)> = conn
            .exec(sql, params)
            .await
            .map_err(query_err("the table list"))?;
        let mut out: Vec<TableListing> = rows
            .into_iter()
            .filter(|(db, _, _)| databases.is_some() || !is_system(db))
            .map(|(db, name, ty)| TableListing {
                id: TableId::new(db, name),
                kind: TableKind::from_table_type(&ty),
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The table's columns, keys and row estimate; see [`read_table_meta`].
    pub async fn table_meta(&self, id: &TableId) -> Result<TableMeta, MetadataError> {
        let flavor = self.server_info().await?.flavor;
        read_table_meta(&mut self.conn().await?, id, flavor).await
    }
}

fn is_system(db: &str) -> bool {
    SYSTEM_DATABASES.iter().any(|s| s.eq_ignore_ascii_case(db))
}

fn query_err(what: &'static str) -> impl Fn(mysql_async::Error) -> MetadataError {
    move |source| MetadataError::Query {
        what: what.to_string(),
        source: source.into(),
    }
}

fn table_query_err(what: &str, id: &TableId) -> impl Fn(mysql_async::Error) -> MetadataError {
    let what = format!("{what} of {id}");
    move |source| MetadataError::Query {
        what: what.clone(),
        source: source.into(),
    }
}

/// Reads one table's metadata on `conn`: columns in ordinal order with their types,
/// the primary key, unique keys and the chosen row identity
/// ([`TableMeta::choose_key`]), and the server's row estimate (`TABLES.TABLE_ROWS`, 0 on
/// OceanBase before statistics exist).
///
/// The returned `id` carries the names as the server stores them, which differ from
/// `id` in letter case on servers with `lower_case_table_names=1`. `flavor` is the
/// server's ([`ServerInfo::flavor`]), for its dialect traps.
pub async fn read_table_meta(
    conn: &mut Conn,
    id: &TableId,
    flavor: SourceFlavor,
) -> Result<TableMeta, MetadataError> {
    read_table_facts(conn, id, flavor).await?.into_meta(flavor)
}

/// What information_schema says about one table, as read: the rows
/// [`read_table_meta`] decides on. Kept by `obsync capture` so that a replay builds the
/// same [`TableMeta`] without the server ([`TableFacts::into_meta`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFacts {
    /// The database as the server stores it.
    pub database: String,
    /// The table as the server stores it.
    pub table: String,
    /// `TABLES.TABLE_ROWS`.
    pub estimated_rows: Option<u64>,
    /// `COLUMNS` rows in ordinal order.
    columns: Vec<ColumnRow>,
    /// `STATISTICS` rows.
    indexes: Vec<IndexRow>,
    /// MariaDB: the `LONGTEXT` columns checked by `json_valid()`.
    json_columns: Vec<String>,
}

impl TableFacts {
    /// The table's metadata as [`read_table_meta`] returns it, on a `flavor` server.
    pub fn into_meta(self, flavor: SourceFlavor) -> Result<TableMeta, MetadataError> {
        let stored = TableId::new(self.database, self.table);
        if self.columns.is_empty() {
            return Err(MetadataError::NoColumnsVisible { table: stored });
        }
        let json_columns = self.json_columns;
        let columns = self
            .columns
            .into_iter()
            .map(|c| {
                let is_json = json_columns.iter().any(|j| j.eq_ignore_ascii_case(&c.name));
                c.into_column(&stored, is_json, flavor)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let keys = unique_keys_from_index_rows(&columns, self.indexes);
        let (key, key_source) = TableMeta::choose_key(&columns, &keys.primary, &keys.unique);
        log_key_choice(&stored, flavor, key_source, &columns, &key);
        Ok(TableMeta {
            id: stored,
            columns,
            key,
            key_source,
            primary_key: keys.primary,
            unique_keys: keys.unique,
            estimated_rows: self.estimated_rows.unwrap_or(0),
        })
    }
}

/// Reads what information_schema says about one table on `conn` (see
/// [`read_table_meta`] for the name matching and the errors).
pub async fn read_table_facts(
    conn: &mut Conn,
    id: &TableId,
    flavor: SourceFlavor,
) -> Result<TableFacts, MetadataError> {
    let table_rows: Vec<(String, String, String, Option<u64>)> = conn
        .exec(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (&id.database, &id.table),
        )
        .await
        .map_err(table_query_err("the table entry", id))?;
    let (db, name, table_type, estimated) = pick_exact_or_folded(table_rows, id, |r| (&r.0, &r.1))
        .ok_or_else(|| MetadataError::TableNotFound { table: id.clone() })?;
    let stored = TableId::new(db, name);
    let kind = TableKind::from_table_type(&table_type);
    if kind != TableKind::Table {
        return Err(MetadataError::NotATable {
            table: stored,
            kind,
        });
    }

    let columns: Vec<ColumnRow> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH, \
             NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME, \
             COLUMN_DEFAULT, EXTRA \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
            (&stored.database, &stored.table),
        )
        .await
        .map_err(table_query_err("the columns", &stored))?
        .into_iter()
        .map(ColumnRow::from_sql)
        .collect();
    if columns.is_empty() {
        return Err(MetadataError::NoColumnsVisible { table: stored });
    }
    let json_columns = if flavor == SourceFlavor::MariaDb
        && columns
            .iter()
            .any(|c| c.data_type.eq_ignore_ascii_case("longtext"))
    {
        mariadb_json_columns(conn, &stored).await?
    } else {
        Vec::new()
    };
    let indexes: Vec<IndexRow> = conn
        .exec(
            "SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (&stored.database, &stored.table),
        )
        .await
        .map_err(table_query_err("the indexes", &stored))?
        .into_iter()
        .map(IndexRow::from_sql)
        .collect();
    Ok(TableFacts {
        database: stored.database,
        table: stored.table,
        estimated_rows: estimated,
        columns,
        indexes,
        json_columns,
    })
}

fn log_key_choice(
    id: &TableId,
    flavor: SourceFlavor,
    source: KeySource,
    columns: &[Column],
    key: &[usize],
) {
    let names: Vec<&str> = key.iter().map(|&i| columns[i].name.as_str()).collect();
    match source {
        KeySource::PrimaryKey => {
            tracing::debug!(table = %id, key = ?names, "row identity: primary key")
        }
        KeySource::UniqueKey => tracing::info!(
            table = %id, key = ?names,
            "table has no primary key: row identity is a NOT NULL unique key"
        ),
        KeySource::AllColumns if flavor == SourceFlavor::OceanBase => tracing::info!(
            table = %id,
            "table has no primary key and no NOT NULL unique key: OceanBase keys it by a hidden \
             row key (__pk_increment) that SQL cannot read, so the row identity is all columns"
        ),
        KeySource::AllColumns => tracing::info!(
            table = %id,
            "table has no primary key and no NOT NULL unique key: row identity is all columns"
        ),
    }
}

/// Picks the row whose database and table names equal `id` exactly, else the single
/// case-insensitive match (servers with `lower_case_table_names` = 1 or 2).
fn pick_exact_or_folded<R>(
    rows: Vec<R>,
    id: &TableId,
    names: impl Fn(&R) -> (&String, &String),
) -> Option<R> {
    if let Some(i) = rows.iter().position(|r| {
        let (d, t) = names(r);
        *d == id.database && *t == id.table
    }) {
        return rows.into_iter().nth(i);
    }
    let mut folded = rows.into_iter().filter(|r| {
        let (d, t) = names(r);
        d.eq_ignore_ascii_case(&id.database) && t.eq_ignore_ascii_case(&id.table)
    });
    let first = folded.next()?;
    // Two tables differing only in case while the request matches neither exactly:
    // guessing would read the wrong table.
    folded.next().is_none().then_some(first)
}

/// MariaDB declares JSON as `LONGTEXT CHECK (json_valid(col))`. Returns the names of
/// such columns; empty on servers whose `CHECK_CONSTRAINTS` has no `TABLE_NAME` (MySQL,
/// where JSON is a real type anyway).
async fn mariadb_json_columns(conn: &mut Conn, id: &TableId) -> Result<Vec<String>, MetadataError> {
    let result: Result<Vec<String>, _> = conn
        .exec(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
            (&id.database, &id.table),
        )
        .await;
    match result {
        Ok(clauses) => Ok(clauses
            .iter()
            .filter_map(|c| json_valid_column(c))
            .collect()),
        // 1054 unknown column / 1109 unknown table: this server has no such view shape.
        Err(mysql_async::Error::Server(e)) if e.code == 1054 || e.code == 1109 => Ok(Vec::new()),
        Err(e) => Err(table_query_err("the check constraints", id)(e)),
    }
}

/// The column of a check clause that is exactly `json_valid(`col`)`.
pub fn json_valid_column(clause: &str) -> Option<String> {
    let inner = clause
        .trim()
        .strip_prefix("json_valid(")
        .or_else(|| clause.trim().strip_prefix("JSON_VALID("))?
        .strip_suffix(')')?
        .trim();
    let name = inner.strip_prefix('`')?.strip_suffix('`')?;
    Some(name.replace("``", "`"))
}

/// One row of `information_schema.COLUMNS`, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ColumnRow {
    name: String,
    data_type: String,
    column_type: String,
    nullable: bool,
    char_len: Option<u64>,
    num_precision: Option<u64>,
    num_scale: Option<u64>,
    dt_precision: Option<u64>,
    charset: Option<String>,
    /// `COLUMN_DEFAULT` as the server prints it (absent in facts saved before it was read).
    #[serde(default)]
    default: Option<String>,
    /// `EXTRA` (`DEFAULT_GENERATED` marks an expression default on MySQL).
    #[serde(default)]
    extra: Option<String>,
}

impl ColumnRow {
    fn from_sql(row: mysql_async::Row) -> Self {
        let v = row.unwrap();
        let text = |i: usize| sql_text(v.get(i)).unwrap_or_default();
        let num = |i: usize| sql_text(v.get(i)).and_then(|s| s.parse::<u64>().ok());
        ColumnRow {
            name: text(0),
            data_type: text(1),
            column_type: text(2),
            nullable: text(3).eq_ignore_ascii_case("YES"),
            char_len: num(4),
            num_precision: num(5),
            num_scale: num(6),
            dt_precision: num(7),
            charset: sql_text(v.get(8)),
            default: sql_text(v.get(9)),
            extra: sql_text(v.get(10)),
        }
    }

    fn into_column(
        self,
        table: &TableId,
        is_json: bool,
        flavor: SourceFlavor,
    ) -> Result<Column, MetadataError> {
        let kind = if is_json {
            ColumnType::Json
        } else {
            ColumnType::from_data_type(&self.data_type).ok_or_else(|| {
                MetadataError::UnsupportedType {
                    table: table.clone(),
                    column: self.name.clone(),
                    data_type: self.data_type.clone(),
                    column_type: self.column_type.clone(),
                }
            })?
        };
        let default_text =
            constant_default(flavor, kind, self.default.as_deref(), self.extra.as_deref());
        let mut column = column_from_parts(kind, self, LabelQuoting::of(flavor));
        column.default = default_text.and_then(|text| {
            match crate::snapshot::decode_text(&column, Some(text.into_bytes())) {
                Ok(Value::Null) => None,
                Ok(v) => Some(ColumnDefault(v)),
                Err(e) => {
                    // A default the text parser does not read is left out of the
                    // schema rather than failing the table.
                    tracing::debug!(table = %table, error = %e, "column default not read");
                    None
                }
            }
        });
        Ok(column)
    }
}

/// The literal text of a constant column default from `COLUMN_DEFAULT` and `EXTRA`, or
/// `None` for no default, `NULL`, an expression, or BIT/binary defaults (printed as
/// `b'101'` or hex, which the text parser does not read).
///
/// MariaDB (10.2.7+) quotes literals (`'abc'`, `''`), prints numbers bare and
/// expressions bare (`current_timestamp()`), and `NULL` for a null default. MySQL and
/// OceanBase print the literal bare, SQL NULL for none, and mark expression defaults
/// `DEFAULT_GENERATED` in `EXTRA` (MySQL 8) or as `CURRENT_TIMESTAMP` (older servers).
pub fn constant_default(
    flavor: SourceFlavor,
    kind: ColumnType,
    default: Option<&str>,
    extra: Option<&str>,
) -> Option<String> {
    let text = default?;
    if kind.is_binary() || kind == ColumnType::Bit {
        return None;
    }
    if extra.is_some_and(|e| e.to_ascii_uppercase().contains("DEFAULT_GENERATED")) {
        return None;
    }
    if flavor == SourceFlavor::MariaDb {
        if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
            return Some(unquote_mariadb(inner));
        }
        // Bare: a number, NULL or an expression.
        let number = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
        return number.then(|| text.to_string());
    }
    if text.to_ascii_uppercase().starts_with("CURRENT_TIMESTAMP")
        && matches!(kind, ColumnType::DateTime | ColumnType::Timestamp)
    {
        return None;
    }
    Some(text.to_string())
}

/// Undoes MariaDB's quoting inside a quoted default: `''` and backslash escapes.
fn unquote_mariadb(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                out.push('\'');
                // `''` is one quote.
                if chars.clone().next() == Some('\'') {
                    chars.next();
                }
            }
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some('Z') => out.push('\u{1a}'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

fn column_from_parts(kind: ColumnType, c: ColumnRow, quoting: LabelQuoting) -> Column {
    use ColumnType::*;
    let lower = c.column_type.to_ascii_lowercase();
    let unsigned = lower.split_whitespace().any(|w| w == "unsigned");
    let (length, precision, scale, fsp) = match kind {
        // BIT(M): the width in bits is NUMERIC_PRECISION.
        Bit => (c.num_precision, None, None, None),
        TinyInt | SmallInt | MediumInt | Int | BigInt => {
            (None, c.num_precision.map(|p| p as u32), None, None)
        }
        Decimal | Float | Double => (
            None,
            c.num_precision.map(|p| p as u32),
            c.num_scale.map(|s| s as u32),
            None,
        ),
        DateTime | Timestamp | Time => (
            None,
            None,
            None,
            Some(c.dt_precision.unwrap_or(0).min(6) as u8),
        ),
        Date | Year => (None, None, None, None),
        // Strings: characters; BINARY/VARBINARY/BLOB: bytes (the server reports bytes).
        _ => (c.char_len, None, None, None),
    };
    let labels = match kind {
        Enum | Set => parse_enum_labels(&c.column_type, quoting),
        _ => Vec::new(),
    };
    let charset = match kind {
        // JSON has a charset on MariaDB (LONGTEXT) and binary elsewhere: always UTF-8 text.
        Json => Some("utf8mb4".to_string()),
        _ => c.charset,
    };
    Column {
        name: c.name,
        kind,
        column_type: c.column_type,
        unsigned,
        nullable: c.nullable,
        length,
        precision,
        scale,
        fsp,
        charset,
        labels,
        default: None,
    }
}

/// How a server writes ENUM/SET labels inside `COLUMN_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelQuoting {
    /// MySQL and MariaDB: a quote is doubled (`''`), a backslash doubled (`\\`).
    Escaped,
    /// OceanBase prints labels verbatim: `enum('it's','a\b')`. Labels are split on
    /// `','`, so a label that itself contains `','` cannot be told apart (no server
    /// output distinguishes it).
    Verbatim,
}

impl LabelQuoting {
    /// The quoting `flavor` uses.
    pub fn of(flavor: SourceFlavor) -> Self {
        match flavor {
            SourceFlavor::OceanBase => LabelQuoting::Verbatim,
            SourceFlavor::MySql | SourceFlavor::MariaDb => LabelQuoting::Escaped,
        }
    }
}

/// Parses ENUM/SET labels from a declared type such as `enum('a','it''s','b,c')`.
pub fn parse_enum_labels(column_type: &str, quoting: LabelQuoting) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return Vec::new();
    };
    let body = &column_type[open + 1..];
    match quoting {
        LabelQuoting::Escaped => parse_escaped_labels(body),
        LabelQuoting::Verbatim => {
            let body = body.trim_end();
            let inner = body
                .strip_suffix(')')
                .unwrap_or(body)
                .trim()
                .strip_prefix('\'')
                .and_then(|b| b.strip_suffix('\''));
            match inner {
                Some(inner) => inner.split("','").map(str::to_string).collect(),
                None => Vec::new(),
            }
        }
    }
}

fn parse_escaped_labels(body: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut chars = body.chars().peekable();
    let mut current: Option<String> = None;
    while let Some(ch) = chars.next() {
        match (&mut current, ch) {
            (None, '\'') => current = Some(String::new()),
            (None, ')') => break,
            (None, _) => {}
            (Some(label), '\'') => {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    label.push('\'');
                } else {
                    labels.push(current.take().unwrap_or_default());
                }
            }
            (Some(label), '\\') => {
                if let Some(next) = chars.next() {
                    label.push(next);
                }
            }
            (Some(label), c) => label.push(c),
        }
    }
    labels
}

/// One row of `information_schema.STATISTICS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IndexRow {
    index: String,
    non_unique: bool,
    seq: u32,
    /// `None` for functional key parts (MySQL 8), which cannot identify rows.
    column: Option<String>,
}

impl IndexRow {
    fn from_sql(row: mysql_async::Row) -> Self {
        let v = row.unwrap();
        IndexRow {
            index: sql_text(v.first()).unwrap_or_default(),
            non_unique: sql_text(v.get(1)).is_some_and(|s| s != "0"),
            seq: sql_text(v.get(2)).and_then(|s| s.parse().ok()).unwrap_or(0),
            column: sql_text(v.get(3)),
        }
    }
}

struct Keys {
    primary: Vec<usize>,
    unique: Vec<Vec<usize>>,
}

/// Groups index rows into the primary key and unique keys, each ordered by
/// `SEQ_IN_INDEX` (OceanBase returns the rows unordered). Unique keys are sorted by
/// width, then name, so the narrowest NOT NULL one becomes the row identity.
fn unique_keys_from_index_rows(columns: &[Column], rows: Vec<IndexRow>) -> Keys {
    let mut by_index: BTreeMap<String, Vec<IndexRow>> = BTreeMap::new();
    for r in rows.into_iter().filter(|r| !r.non_unique) {
        by_index.entry(r.index.clone()).or_default().push(r);
    }
    let mut primary = Vec::new();
    let mut unique: Vec<(String, Vec<usize>)> = Vec::new();
    for (name, mut parts) in by_index {
        parts.sort_by_key(|p| p.seq);
        let cols: Option<Vec<usize>> = parts
            .iter()
            .map(|p| {
                let c = p.column.as_deref()?;
                columns
                    .iter()
                    .position(|col| col.name.eq_ignore_ascii_case(c))
            })
            .collect();
        let Some(cols) = cols else { continue };
        if name.eq_ignore_ascii_case("PRIMARY") {
            primary = cols;
        } else {
            unique.push((name, cols));
        }
    }
    unique.sort_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| a.0.cmp(&b.0)));
    Keys {
        primary,
        unique: unique.into_iter().map(|(_, c)| c).collect(),
    }
}

/// A text-protocol or binary-protocol value as text; `None` for NULL.
fn sql_text(v: Option<&SqlValue>) -> Option<String> {
    match v? {
        SqlValue::NULL => None,
        SqlValue::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        SqlValue::Int(i) => Some(i.to_string()),
        SqlValue::UInt(u) => Some(u.to_string()),
        other => Some(other.as_sql(true)),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn constant_defaults_are_read_per_flavor() {
        use ColumnType as T;
        let maria = |kind, text| constant_default(SourceFlavor::MariaDb, kind, Some(text), None);
        assert_eq!(maria(T::Int, "5").as_deref(), Some("5"));
        assert_eq!(maria(T::VarChar, "'it''s'").as_deref(), Some("it's"));
        assert_eq!(maria(T::VarChar, "'a\\\\b'").as_deref(), Some("a\\b"));
        assert_eq!(maria(T::VarChar, "''").as_deref(), Some(""));
        assert_eq!(maria(T::VarChar, "NULL"), None);
        assert_eq!(maria(T::Timestamp, "current_timestamp()"), None);
        assert_eq!(maria(T::Bit, "b'101'"), None);
        let mysql = |kind, text, extra| {
            constant_default(SourceFlavor::MySql, kind, Some(text), Some(extra))
        };
        assert_eq!(mysql(T::VarChar, "it's", "").as_deref(), Some("it's"));
        assert_eq!(
            mysql(T::Date, "2000-01-01", "").as_deref(),
            Some("2000-01-01")
        );
        assert_eq!(mysql(T::Timestamp, "CURRENT_TIMESTAMP", ""), None);
        assert_eq!(mysql(T::VarChar, "uuid()", "DEFAULT_GENERATED"), None);
        assert_eq!(
            constant_default(SourceFlavor::OceanBase, T::Int, None, None),
            None
        );
    }
    use super::*;

    fn col(name: &str, nullable: bool) -> Column {
        Column {
            column_type: "int(11)".into(),
            nullable,
            ..Column::new(name, ColumnType::Int)
        }
    }

    fn idx(index: &str, non_unique: bool, seq: u32, column: &str) -> IndexRow {
        IndexRow {
            index: index.into(),
            non_unique,
            seq,
            column: Some(column.into()),
        }
    }

    #[test]
    fn escaped_enum_labels_undo_doubled_quotes_and_backslashes() {
        let esc = LabelQuoting::Escaped;
        assert_eq!(
            parse_enum_labels("enum('a','it''s','b,c','')", esc),
            vec!["a", "it's", "b,c", ""]
        );
        assert_eq!(parse_enum_labels("set('x','y')", esc), vec!["x", "y"]);
        assert_eq!(parse_enum_labels("enum('中','😀')", esc), vec!["中", "😀"]);
        assert_eq!(parse_enum_labels("enum('a\\\\b')", esc), vec!["a\\b"]);
    }

    #[test]
    fn verbatim_enum_labels_keep_quotes_and_backslashes() {
        let raw = LabelQuoting::Verbatim;
        assert_eq!(
            parse_enum_labels("enum('a','it's','b\\c','')", raw),
            vec!["a", "it's", "b\\c", ""]
        );
        assert_eq!(parse_enum_labels("set('x,y','z')", raw), vec!["x,y", "z"]);
    }

    #[test]
    fn unordered_statistics_rows_give_keys_in_seq_order() {
        let cols = vec![col("a", false), col("b", false), col("c", true)];
        let rows = vec![
            idx("PRIMARY", false, 2, "a"),
            idx("uk_c", false, 1, "c"),
            idx("ix", true, 1, "c"),
            idx("PRIMARY", false, 1, "b"),
        ];
        let keys = unique_keys_from_index_rows(&cols, rows);
        assert_eq!(keys.primary, vec![1, 0]);
        assert_eq!(keys.unique, vec![vec![2]]);
    }

    #[test]
    fn narrowest_unique_key_comes_first() {
        let cols = vec![col("a", false), col("b", false)];
        let rows = vec![
            idx("a_uk", false, 1, "a"),
            idx("a_uk", false, 2, "b"),
            idx("z_uk", false, 1, "b"),
        ];
        let keys = unique_keys_from_index_rows(&cols, rows);
        assert_eq!(keys.unique, vec![vec![1], vec![0, 1]]);
    }

    #[test]
    fn json_valid_clause_names_its_column() {
        assert_eq!(json_valid_column("json_valid(`doc`)"), Some("doc".into()));
        assert_eq!(json_valid_column("json_valid(`a``b`)"), Some("a`b".into()));
        assert_eq!(json_valid_column("json_valid(`a`) and `b` > 0"), None);
        assert_eq!(json_valid_column("`x` > 0"), None);
    }

    #[test]
    fn flavor_is_detected_from_version_text() {
        assert_eq!(
            flavor_from_version("5.7.25-OceanBase seekdb-v1.4.0.0"),
            SourceFlavor::OceanBase
        );
        assert_eq!(
            flavor_from_version("10.11.19-MariaDB-log"),
            SourceFlavor::MariaDb
        );
        assert_eq!(flavor_from_version("8.0.36"), SourceFlavor::MySql);
        let info = ServerInfo {
            version: "5.7.25-OceanBase_CE-v4.2.1.0".into(),
            flavor: SourceFlavor::OceanBase,
            ob_version: Some("4.2.1.0".into()),
            gtid_mode: false,
            time_zone: None,
        };
        assert_eq!(info.major(), Some(4));
    }

    #[test]
    fn exact_name_wins_over_case_folded_match() {
        let id = TableId::new("db", "T");
        let rows = vec![
            ("db".to_string(), "t".to_string()),
            ("db".to_string(), "T".to_string()),
        ];
        let got = pick_exact_or_folded(rows, &id, |r| (&r.0, &r.1));
        assert_eq!(got.unwrap().1, "T");
        let rows = vec![("DB".to_string(), "t".to_string())];
        assert!(pick_exact_or_folded(rows, &id, |r| (&r.0, &r.1)).is_some());
        let rows = vec![
            ("db".to_string(), "t".to_string()),
            ("Db".to_string(), "t".to_string()),
        ];
        assert!(pick_exact_or_folded(rows, &id, |r| (&r.0, &r.1)).is_none());
    }
}
