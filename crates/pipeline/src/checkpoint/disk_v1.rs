//! Format 1 of `state.json` and of the definitions file it names: private types that
//! are the serialization boundary.
//!
//! Nothing here derives from the model's or the source crate's types: renaming a
//! `Value` variant or adding a `Column` field changes the in-memory types only, and
//! the conversions below keep reading and writing what deployed state directories
//! hold. Field names, variant names and field order are the format: they match what
//! obsync wrote before these types existed (the fixtures in
//! `tests/fixtures/checkpoint-v1` are such files), so change none of them. A change of
//! shape is a new format: add `disk_v2.rs`, write that, and migrate from this one in
//! [`super::CheckpointStore::load`].

use super::{IncrementalCheckpoint, ProjectState, RangeProgress, TableProgress};
use obsync_model as m;
use obsync_source::snapshot::KeyRange;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The value of `state.json`'s `version` field for this format.
pub const VERSION: &str = "1";

#[derive(Serialize, Deserialize)]
pub struct State {
    pub version: String,
    schema_done: bool,
    snapshot_start: Option<LogPosition>,
    tables: BTreeMap<String, Progress>,
    full_done: bool,
    incremental: Option<Incremental>,
    /// The definitions file in the same directory, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definitions_file: Option<String>,
    /// The identity of the server the incremental position was read from; absent in
    /// files written before obsync kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_server: Option<String>,
    /// Incremental row changes per table; absent in files written before obsync
    /// counted them (they count from then on).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    changes: BTreeMap<String, Counts>,
    /// The tables the state covers; absent in files written before online object
    /// changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    objects: Option<Vec<String>>,
    /// Tables that joined while streaming, with the position they joined at.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    joined: BTreeMap<String, LogPosition>,
    /// Watermark backfills per table.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    backfills: BTreeMap<String, Backfill>,
}

#[derive(Serialize, Deserialize)]
struct Backfill {
    last_key: Option<Vec<Value>>,
    chunks: u64,
    rows: u64,
    done: bool,
    started_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    finished_at: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Counts {
    inserts: u64,
    updates: u64,
    deletes: u64,
}

/// The definitions file: a bare list (format 1 has no envelope of its own; its format
/// is that of the `state.json` naming it).
pub type Definitions = Vec<TableMeta>;

#[derive(Serialize, Deserialize)]
struct Progress {
    done: bool,
    last_key: Option<Vec<Value>>,
    rows: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ranges: Vec<Range>,
}

#[derive(Serialize, Deserialize)]
struct Range {
    range: Bounds,
    last_key: Option<Vec<Value>>,
    done: bool,
}

#[derive(Serialize, Deserialize)]
struct Bounds {
    after: Option<Value>,
    up_to: Option<Value>,
}

#[derive(Serialize, Deserialize)]
struct Incremental {
    position: LogPosition,
    timestamp: u32,
}

#[derive(Serialize, Deserialize)]
struct LogPosition {
    coord: Coord,
    gtid: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Coord {
    file: String,
    pos: u64,
}

#[derive(Serialize, Deserialize)]
enum Value {
    Null,
    Int(i64),
    UInt(u64),
    Decimal(String),
    Float(f32),
    Double(f64),
    Bit(u64),
    Date(Date),
    DateTime(DateTime),
    Timestamp(Timestamp),
    Time(Time),
    Year(u16),
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Serialize, Deserialize)]
struct Date {
    year: u16,
    month: u8,
    day: u8,
}

#[derive(Serialize, Deserialize)]
struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    micros: u32,
}

#[derive(Serialize, Deserialize)]
struct Timestamp {
    secs: i64,
    micros: u32,
}

#[derive(Serialize, Deserialize)]
struct Time {
    negative: bool,
    hours: u32,
    minutes: u8,
    seconds: u8,
    micros: u32,
}

#[derive(Serialize, Deserialize)]
pub struct TableMeta {
    id: TableId,
    columns: Vec<Column>,
    key: Vec<usize>,
    key_source: KeySource,
    primary_key: Vec<usize>,
    unique_keys: Vec<Vec<usize>>,
    estimated_rows: u64,
}

#[derive(Serialize, Deserialize)]
struct TableId {
    database: String,
    table: String,
}

#[derive(Serialize, Deserialize)]
struct Column {
    name: String,
    kind: ColumnType,
    column_type: String,
    unsigned: bool,
    nullable: bool,
    length: Option<u64>,
    precision: Option<u32>,
    scale: Option<u32>,
    fsp: Option<u8>,
    charset: Option<String>,
    labels: Vec<String>,
}

#[derive(Serialize, Deserialize)]
enum KeySource {
    PrimaryKey,
    UniqueKey,
    AllColumns,
}

/// Declares the format's column type names and their conversions both ways at once,
/// so a name can be neither forgotten nor mistyped in one direction.
macro_rules! column_types {
    ($($name:ident),* $(,)?) => {
        #[derive(Serialize, Deserialize)]
        enum ColumnType { $($name),* }

        impl From<m::ColumnType> for ColumnType {
            fn from(k: m::ColumnType) -> Self {
                match k { $(m::ColumnType::$name => Self::$name),* }
            }
        }

        impl From<ColumnType> for m::ColumnType {
            fn from(k: ColumnType) -> Self {
                match k { $(ColumnType::$name => Self::$name),* }
            }
        }
    };
}

column_types!(
    TinyInt, SmallInt, MediumInt, Int, BigInt, Decimal, Float, Double, Bit, Date, DateTime,
    Timestamp, Time, Year, Char, VarChar, Binary, VarBinary, TinyText, Text, MediumText, LongText,
    TinyBlob, Blob, MediumBlob, LongBlob, Enum, Set, Json, Geometry,
);

impl State {
    /// The on-disk form of `state` (its definitions go to their own file, `file`).
    pub fn from_state(state: &ProjectState, definitions_file: Option<String>) -> Self {
        Self {
            version: VERSION.into(),
            schema_done: state.schema_done,
            snapshot_start: state.snapshot_start.as_ref().map(Into::into),
            tables: state
                .tables
                .iter()
                .map(|(k, v)| (k.clone(), v.into()))
                .collect(),
            full_done: state.full_done,
            incremental: state.incremental.as_ref().map(|i| Incremental {
                position: (&i.position).into(),
                timestamp: i.timestamp,
            }),
            definitions_file,
            source_server: state.source_server.clone(),
            changes: state
                .changes
                .iter()
                .map(|(table, c)| {
                    let counts = Counts {
                        inserts: c.inserts,
                        updates: c.updates,
                        deletes: c.deletes,
                    };
                    (table.clone(), counts)
                })
                .collect(),
            objects: state.objects.as_ref().map(|o| o.iter().cloned().collect()),
            joined: state
                .joined
                .iter()
                .map(|(t, p)| (t.clone(), p.into()))
                .collect(),
            backfills: state
                .backfills
                .iter()
                .map(|(t, b)| {
                    let on_disk = Backfill {
                        last_key: b.last_key.as_deref().map(values),
                        chunks: b.chunks,
                        rows: b.rows,
                        done: b.done,
                        started_at: b.started_at,
                        finished_at: b.finished_at,
                    };
                    (t.clone(), on_disk)
                })
                .collect(),
        }
    }

    /// The in-memory state, without its definitions (read from `definitions_file`).
    pub fn into_state(self) -> ProjectState {
        ProjectState {
            schema_done: self.schema_done,
            snapshot_start: self.snapshot_start.map(Into::into),
            tables: self
                .tables
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect(),
            full_done: self.full_done,
            incremental: self.incremental.map(|i| IncrementalCheckpoint {
                position: i.position.into(),
                timestamp: i.timestamp,
            }),
            definitions: Vec::new(),
            source_server: self.source_server,
            changes: self
                .changes
                .into_iter()
                .map(|(table, c)| {
                    let counts = super::ChangeCounts {
                        inserts: c.inserts,
                        updates: c.updates,
                        deletes: c.deletes,
                    };
                    (table, counts)
                })
                .collect(),
            objects: self.objects.map(|o| o.into_iter().collect()),
            joined: self
                .joined
                .into_iter()
                .map(|(t, p)| (t, p.into()))
                .collect(),
            backfills: self
                .backfills
                .into_iter()
                .map(|(t, b)| {
                    let progress = super::BackfillProgress {
                        last_key: b.last_key.map(model_values),
                        chunks: b.chunks,
                        rows: b.rows,
                        done: b.done,
                        started_at: b.started_at,
                        finished_at: b.finished_at,
                    };
                    (t, progress)
                })
                .collect(),
        }
    }
}

impl From<&TableProgress> for Progress {
    fn from(p: &TableProgress) -> Self {
        Self {
            done: p.done,
            last_key: p.last_key.as_deref().map(values),
            rows: p.rows,
            ranges: p
                .ranges
                .iter()
                .map(|r| Range {
                    range: Bounds {
                        after: r.range.after.as_ref().map(Into::into),
                        up_to: r.range.up_to.as_ref().map(Into::into),
                    },
                    last_key: r.last_key.as_deref().map(values),
                    done: r.done,
                })
                .collect(),
        }
    }
}

impl From<Progress> for TableProgress {
    fn from(p: Progress) -> Self {
        Self {
            done: p.done,
            last_key: p.last_key.map(model_values),
            rows: p.rows,
            ranges: p
                .ranges
                .into_iter()
                .map(|r| RangeProgress {
                    range: KeyRange {
                        after: r.range.after.map(Into::into),
                        up_to: r.range.up_to.map(Into::into),
                    },
                    last_key: r.last_key.map(model_values),
                    done: r.done,
                })
                .collect(),
        }
    }
}

fn values(v: &[m::Value]) -> Vec<Value> {
    v.iter().map(Into::into).collect()
}

fn model_values(v: Vec<Value>) -> Vec<m::Value> {
    v.into_iter().map(Into::into).collect()
}

impl From<&m::LogPosition> for LogPosition {
    fn from(p: &m::LogPosition) -> Self {
        Self {
            coord: Coord {
                file: p.coord.file.clone(),
                pos: p.coord.pos,
            },
            gtid: p.gtid.as_ref().map(|g| g.0.clone()),
        }
    }
}

impl From<LogPosition> for m::LogPosition {
    fn from(p: LogPosition) -> Self {
        Self {
            coord: m::BinlogCoord::new(p.coord.file, p.coord.pos),
            gtid: p.gtid.map(m::Gtid),
        }
    }
}

impl From<&m::Value> for Value {
    fn from(v: &m::Value) -> Self {
        match v {
            m::Value::Null => Self::Null,
            m::Value::Int(x) => Self::Int(*x),
            m::Value::UInt(x) => Self::UInt(*x),
            m::Value::Decimal(x) => Self::Decimal(x.clone()),
            m::Value::Float(x) => Self::Float(*x),
            m::Value::Double(x) => Self::Double(*x),
            m::Value::Bit(x) => Self::Bit(*x),
            m::Value::Date(d) => Self::Date(d.into()),
            m::Value::DateTime(d) => Self::DateTime(d.into()),
            m::Value::Timestamp(t) => Self::Timestamp(Timestamp {
                secs: t.secs,
                micros: t.micros,
            }),
            m::Value::Time(t) => Self::Time(Time {
                negative: t.negative,
                hours: t.hours,
                minutes: t.minutes,
                seconds: t.seconds,
                micros: t.micros,
            }),
            m::Value::Year(y) => Self::Year(*y),
            m::Value::Text(s) => Self::Text(s.clone()),
            m::Value::Bytes(b) => Self::Bytes(b.clone()),
        }
    }
}

impl From<Value> for m::Value {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Int(x) => Self::Int(x),
            Value::UInt(x) => Self::UInt(x),
            Value::Decimal(x) => Self::Decimal(x),
            Value::Float(x) => Self::Float(x),
            Value::Double(x) => Self::Double(x),
            Value::Bit(x) => Self::Bit(x),
            Value::Date(d) => Self::Date(d.into()),
            Value::DateTime(d) => Self::DateTime(d.into()),
            Value::Timestamp(t) => Self::Timestamp(m::Timestamp {
                secs: t.secs,
                micros: t.micros,
            }),
            Value::Time(t) => Self::Time(m::Time {
                negative: t.negative,
                hours: t.hours,
                minutes: t.minutes,
                seconds: t.seconds,
                micros: t.micros,
            }),
            Value::Year(y) => Self::Year(y),
            Value::Text(s) => Self::Text(s),
            Value::Bytes(b) => Self::Bytes(b),
        }
    }
}

impl From<&m::Date> for Date {
    fn from(d: &m::Date) -> Self {
        Self {
            year: d.year,
            month: d.month,
            day: d.day,
        }
    }
}

impl From<Date> for m::Date {
    fn from(d: Date) -> Self {
        Self {
            year: d.year,
            month: d.month,
            day: d.day,
        }
    }
}

impl From<&m::DateTime> for DateTime {
    fn from(d: &m::DateTime) -> Self {
        Self {
            date: (&d.date).into(),
            hour: d.hour,
            minute: d.minute,
            second: d.second,
            micros: d.micros,
        }
    }
}

impl From<DateTime> for m::DateTime {
    fn from(d: DateTime) -> Self {
        Self {
            date: d.date.into(),
            hour: d.hour,
            minute: d.minute,
            second: d.second,
            micros: d.micros,
        }
    }
}

impl From<&m::TableMeta> for TableMeta {
    fn from(t: &m::TableMeta) -> Self {
        Self {
            id: TableId {
                database: t.id.database.clone(),
                table: t.id.table.clone(),
            },
            columns: t.columns.iter().map(Into::into).collect(),
            key: t.key.clone(),
            key_source: match t.key_source {
                m::KeySource::PrimaryKey => KeySource::PrimaryKey,
                m::KeySource::UniqueKey => KeySource::UniqueKey,
                m::KeySource::AllColumns => KeySource::AllColumns,
            },
            primary_key: t.primary_key.clone(),
            unique_keys: t.unique_keys.clone(),
            estimated_rows: t.estimated_rows,
        }
    }
}

impl From<TableMeta> for m::TableMeta {
    fn from(t: TableMeta) -> Self {
        Self {
            id: m::TableId::new(t.id.database, t.id.table),
            columns: t.columns.into_iter().map(Into::into).collect(),
            key: t.key,
            key_source: match t.key_source {
                KeySource::PrimaryKey => m::KeySource::PrimaryKey,
                KeySource::UniqueKey => m::KeySource::UniqueKey,
                KeySource::AllColumns => m::KeySource::AllColumns,
            },
            primary_key: t.primary_key,
            unique_keys: t.unique_keys,
            estimated_rows: t.estimated_rows,
        }
    }
}

impl From<&m::Column> for Column {
    fn from(c: &m::Column) -> Self {
        Self {
            name: c.name.clone(),
            kind: c.kind.into(),
            column_type: c.column_type.clone(),
            unsigned: c.unsigned,
            nullable: c.nullable,
            length: c.length,
            precision: c.precision,
            scale: c.scale,
            fsp: c.fsp,
            charset: c.charset.clone(),
            labels: c.labels.clone(),
        }
    }
}

impl From<Column> for m::Column {
    fn from(c: Column) -> Self {
        let mut column = m::Column::new(c.name, c.kind.into());
        column.column_type = c.column_type;
        column.unsigned = c.unsigned;
        column.nullable = c.nullable;
        column.length = c.length;
        column.precision = c.precision;
        column.scale = c.scale;
        column.fsp = c.fsp;
        column.charset = c.charset;
        column.labels = c.labels;
        column
    }
}
