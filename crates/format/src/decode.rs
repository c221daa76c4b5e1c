//! Parses records of every format back into row images: a test and consumer aid (the
//! end-to-end tests rebuild source tables from Kafka with it). Never used to write.
//!
//! Values are normalized to one canonical text, the OMS Default rendering with BIT at
//! full width ([`canonical_image`]), so images decoded from any format compare equal to
//! the same source row. Normalizing Canal- and DataWorks-rendered values needs the
//! table's metadata; without it values are returned as the record carries them.

use crate::dataworks::{millis_to_value, DwType};
use crate::render::{self, BitBytes};
use crate::{CanalBinary, CanalValueStyle, FormatKind, FormatOptions, TimestampFraction};
use base64::Engine as _;
use obsync_model::{Column, ColumnType, Date, DateTime, Row, TableMeta, Timestamp, Value};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

mod maxwell;

/// A row image: column name → canonical text (`None` = SQL NULL).
pub type Image = BTreeMap<String, Option<String>>;

/// What a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodedOp {
    Insert,
    Update,
    Delete,
    /// Full-sync row (only the Default family tells it apart from INSERT).
    Snapshot,
    Ddl,
    Heartbeat,
}

/// One record, format-independent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRecord {
    pub op: DecodedOp,
    /// Database without the tenant.
    pub database: String,
    pub table: String,
    pub before: Option<Image>,
    pub after: Option<Image>,
    /// Row identity columns the record names (empty when it names none).
    pub key_columns: Vec<String>,
    /// DDL statement.
    pub ddl: Option<String>,
    /// `storeDataSequence` / `sequenceId` / `scn`, when present.
    pub sequence: Option<u64>,
}

/// A record that is not what the format writes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("record value is not JSON")]
    Json(#[from] serde_json::Error),
    #[error("record does not look like {format}: {detail}")]
    Shape { format: FormatKind, detail: String },
}

/// The canonical text of a source row, to compare with decoded images.
pub fn canonical_image(table: &TableMeta, row: &Row) -> Image {
    table
        .columns
        .iter()
        .zip(row)
        .map(|(col, v)| (col.name.clone(), canonical(col, v)))
        .collect()
}

/// The canonical text of one value (`None` = NULL).
pub fn canonical_value(col: &Column, v: &Value) -> Option<String> {
    canonical(col, v)
}

pub(crate) fn canonical(col: &Column, v: &Value) -> Option<String> {
    if v.is_null() {
        return None;
    }
    let mut out = Vec::new();
    render::text(&mut out, col, v, BitBytes::Full, false);
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Decodes one record value written with `opts`; `tables` supplies the metadata used to
/// normalize values (looked up by database and table name).
pub fn decode(
    opts: &FormatOptions,
    value: &[u8],
    tables: &[TableMeta],
) -> Result<DecodedRecord, DecodeError> {
    if opts.kind == FormatKind::Maxwell {
        return maxwell::decode(opts, value, tables);
    }
    if opts.kind == FormatKind::DebeziumAvro {
        return Err(DecodeError::Shape {
            format: opts.kind,
            detail:
                "Avro records need an Avro reader and the registry's schema, not this JSON decoder"
                    .into(),
        });
    }
    let json: Json = serde_json::from_slice(value)?;
    let d = Decoder {
        opts,
        tables,
        kind: opts.kind,
    };
    match opts.kind {
        FormatKind::Default | FormatKind::DefaultExtendColumnType => d.default(&json),
        FormatKind::Canal => d.canal(&json),
        FormatKind::DataWorks => d.dataworks(&json),
        FormatKind::SharePlex => d.shareplex(&json),
        FormatKind::Debezium | FormatKind::DebeziumFlattened => {
            crate::debezium::decode::decode(opts, &json, tables)
        }
        FormatKind::Maxwell | FormatKind::DebeziumAvro => unreachable!("decoded above"),
    }
}

struct Decoder<'a> {
    opts: &'a FormatOptions,
    tables: &'a [TableMeta],
    kind: FormatKind,
}

impl Decoder<'_> {
    fn err(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError::Shape {
            format: self.kind,
            detail: detail.into(),
        }
    }

    fn table(&self, db: &str, table: &str) -> Option<&TableMeta> {
        self.tables
            .iter()
            .find(|t| t.id.database == db && t.id.table == table)
    }

    fn str_at<'j>(&self, j: &'j Json, path: &[&str]) -> Result<&'j str, DecodeError> {
        let mut cur = j;
        for p in path {
            cur = cur
                .get(p)
                .ok_or_else(|| self.err(format!("missing {}", path.join("."))))?;
        }
        cur.as_str()
            .ok_or_else(|| self.err(format!("{} is not a string", path.join("."))))
    }

    /// Normalizes an object of column → value with `norm`.
    fn image(
        &self,
        obj: Option<&Json>,
        meta: Option<&TableMeta>,
        norm: impl Fn(Option<&Column>, &Json) -> Result<Option<String>, DecodeError>,
    ) -> Result<Option<Image>, DecodeError> {
        let Some(obj) = obj.filter(|o| !o.is_null()) else {
            return Ok(None);
        };
        let map: &Map<String, Json> = obj
            .as_object()
            .ok_or_else(|| self.err("row image is not an object"))?;
        let mut image = Image::new();
        for (name, v) in map {
            if name == "__light_type" {
                continue;
            }
            let col = meta.and_then(|t| t.column_index(name).map(|i| &t.columns[i]));
            image.insert(name.clone(), norm(col, v)?);
        }
        Ok(Some(image))
    }

    fn default(&self, j: &Json) -> Result<DecodedRecord, DecodeError> {
        let op = match self.str_at(j, &["recordType"])? {
            "INSERT" => DecodedOp::Insert,
            "UPDATE" => DecodedOp::Update,
            "DELETE" => DecodedOp::Delete,
            "ROW" => DecodedOp::Snapshot,
            "DDL" => DecodedOp::Ddl,
            "HEARTBEAT" => DecodedOp::Heartbeat,
            other => return Err(self.err(format!("unknown recordType {other}"))),
        };
        let meta = &j["allMetaData"];
        let sequence = meta["storeDataSequence"].as_u64();
        if op == DecodedOp::Heartbeat {
            return Ok(empty(op, sequence));
        }
        let db = self.str_at(j, &["allMetaData", "db"])?;
        let database = db.split_once('.').map_or(db, |(_, d)| d).to_string();
        let table = self.str_at(j, &["allMetaData", "table_name"])?.to_string();
        if op == DecodedOp::Ddl {
            let ddl = self.str_at(j, &["postStruct", "ddl"])?.to_string();
            return Ok(DecodedRecord {
                database,
                table,
                ddl: Some(ddl),
                ..empty(op, sequence)
            });
        }
        let t = self.table(&database, &table);
        let norm = |c: Option<&Column>, v: &Json| self.oms_text(c, v);
        let key_columns = meta["record_primary_key"]
            .as_str()
            .unwrap_or("")
            .split('\u{1}')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Ok(DecodedRecord {
            op,
            before: self.image(j.get("prevStruct"), t, norm)?,
            after: self.image(j.get("postStruct"), t, norm)?,
            database,
            table,
            key_columns,
            ddl: None,
            sequence,
        })
    }

    fn canal(&self, j: &Json) -> Result<DecodedRecord, DecodeError> {
        let database = self.str_at(j, &["database"])?.to_string();
        let table = self.str_at(j, &["table"])?.to_string();
        let sequence = j["id"].as_u64();
        if j["isDdl"].as_bool() == Some(true) {
            return Ok(DecodedRecord {
                database,
                table,
                ddl: Some(self.str_at(j, &["sql"])?.to_string()),
                ..empty(DecodedOp::Ddl, sequence)
            });
        }
        let op = match self.str_at(j, &["type"])? {
            "INSERT" => DecodedOp::Insert,
            "UPDATE" => DecodedOp::Update,
            "DELETE" => DecodedOp::Delete,
            other => return Err(self.err(format!("unknown type {other}"))),
        };
        let t = self.table(&database, &table);
        let norm = |c: Option<&Column>, v: &Json| match self.opts.canal_values {
            CanalValueStyle::Oms => self.oms_text(c, v),
            CanalValueStyle::Canal => self.canal_text(c, v),
        };
        let data = self
            .image(j["data"].get(0), t, norm)?
            .ok_or_else(|| self.err("data has no row"))?;
        let (before, after) = match op {
            DecodedOp::Delete => (Some(data), None),
            DecodedOp::Update => {
                let mut before = data.clone();
                if let Some(old) = self.image(j["old"].get(0), t, norm)? {
                    before.extend(old);
                }
                (Some(before), Some(data))
            }
            _ => (None, Some(data)),
        };
        Ok(DecodedRecord {
            op,
            database,
            table,
            before,
            after,
            key_columns: names(&j["pkNames"]),
            ddl: None,
            sequence,
        })
    }

    fn dataworks(&self, j: &Json) -> Result<DecodedRecord, DecodeError> {
        let payload = &j["payload"];
        let sequence = payload["sequenceId"].as_str().and_then(|s| s.parse().ok());
        let op = match self.str_at(j, &["payload", "op"])? {
            "MHEARTBEAT" => return Ok(empty(DecodedOp::Heartbeat, sequence)),
            "INSERT" => DecodedOp::Insert,
            "UPDATE_AFTER" => DecodedOp::Update,
            "DELETE" => DecodedOp::Delete,
            _ => DecodedOp::Ddl,
        };
        let database = self.str_at(j, &["schema", "source", "dbName"])?.to_string();
        let table = self
            .str_at(j, &["schema", "source", "tableName"])?
            .to_string();
        if op == DecodedOp::Ddl {
            return Ok(DecodedRecord {
                database,
                table,
                ddl: Some(self.str_at(j, &["payload", "ddl", "text"])?.to_string()),
                ..empty(op, sequence)
            });
        }
        let t = self.table(&database, &table);
        let norm = |c: Option<&Column>, v: &Json| self.dataworks_text(c, v);
        Ok(DecodedRecord {
            op,
            before: self.image(payload["before"].get("dataColumn"), t, norm)?,
            after: self.image(payload["after"].get("dataColumn"), t, norm)?,
            key_columns: names(&j["schema"]["primaryKey"]),
            database,
            table,
            ddl: None,
            sequence,
        })
    }

    fn shareplex(&self, j: &Json) -> Result<DecodedRecord, DecodeError> {
        let op = match self.str_at(j, &["meta", "op"])? {
            "ins" => DecodedOp::Insert,
            "upd" => DecodedOp::Update,
            "del" => DecodedOp::Delete,
            other => return Err(self.err(format!("unknown op {other}"))),
        };
        let qualified = self.str_at(j, &["meta", "table"])?;
        let (database, table) = qualified
            .split_once('.')
            .ok_or_else(|| self.err("meta.table is not db.table"))?;
        let t = self.table(database, table);
        let norm = |c: Option<&Column>, v: &Json| self.oms_text(c, v);
        let data = self
            .image(j.get("data"), t, norm)?
            .ok_or_else(|| self.err("missing data"))?;
        let (before, after) = match op {
            DecodedOp::Delete => (Some(data), None),
            DecodedOp::Update => {
                let before = self
                    .image(j.get("key"), t, norm)?
                    .ok_or_else(|| self.err("update without key"))?;
                let mut after = before.clone();
                after.extend(data);
                (Some(before), Some(after))
            }
            _ => (None, Some(data)),
        };
        let key_columns = t.map_or_else(Vec::new, |t| {
            t.key.iter().map(|&i| t.columns[i].name.clone()).collect()
        });
        Ok(DecodedRecord {
            op,
            database: database.to_string(),
            table: table.to_string(),
            before,
            after,
            key_columns,
            ddl: None,
            sequence: j["meta"]["scn"].as_str().and_then(|s| s.parse().ok()),
        })
    }

    /// OMS text: already canonical except BIT, which may be stripped.
    fn oms_text(&self, col: Option<&Column>, v: &Json) -> Result<Option<String>, DecodeError> {
        let Some(s) = self.text_or_null(v)? else {
            return Ok(None);
        };
        match col {
            Some(c) if c.kind == ColumnType::Bit => self.bit_from_base64(c, s).map(Some),
            Some(c)
                if c.kind == ColumnType::Timestamp
                    && self.opts.timestamp_fraction == TimestampFraction::Nanos
                    && matches!(
                        self.kind,
                        FormatKind::Default | FormatKind::DefaultExtendColumnType
                    ) =>
            {
                let (secs, nanos) = s.split_once('.').unwrap_or((s, "0"));
                let bad = || self.err(format!("column {}: unexpected value {s:?}", c.name));
                let ts = Timestamp {
                    secs: secs.parse().map_err(|_| bad())?,
                    micros: nanos.parse::<u32>().map_err(|_| bad())? / 1000,
                };
                Ok(canonical(c, &Value::Timestamp(ts)))
            }
            _ => Ok(Some(s.to_string())),
        }
    }

    fn canal_text(&self, col: Option<&Column>, v: &Json) -> Result<Option<String>, DecodeError> {
        let Some(s) = self.text_or_null(v)? else {
            return Ok(None);
        };
        let Some(c) = col else {
            return Ok(Some(s.to_string()));
        };
        let bad = || self.err(format!("column {}: unexpected value {s:?}", c.name));
        let value = match c.kind {
            ColumnType::Bit => Value::Bit(s.parse().map_err(|_| bad())?),
            k if k.is_binary() && self.opts.canal_binary == CanalBinary::Base64 => {
                return Ok(Some(s.to_string()))
            }
            k if k.is_binary() => Value::Bytes(
                s.chars()
                    .map(|ch| u8::try_from(ch as u32).map_err(|_| bad()))
                    .collect::<Result<_, _>>()?,
            ),
            ColumnType::Timestamp if s.starts_with("0000-00-00") => {
                Value::Timestamp(Timestamp { secs: 0, micros: 0 })
            }
            ColumnType::Timestamp => {
                let wall = parse_datetime(s).ok_or_else(bad)?;
                let t = Timestamp::from_utc_datetime(&wall);
                Value::Timestamp(Timestamp {
                    secs: t.secs - self.opts.source_time_zone_offset_secs as i64,
                    micros: t.micros,
                })
            }
            ColumnType::Float => Value::Float(s.parse().map_err(|_| bad())?),
            ColumnType::Double => Value::Double(s.parse().map_err(|_| bad())?),
            _ => return Ok(Some(s.to_string())),
        };
        Ok(canonical(c, &value))
    }

    fn dataworks_text(
        &self,
        col: Option<&Column>,
        v: &Json,
    ) -> Result<Option<String>, DecodeError> {
        let Some(c) = col else {
            return Ok(match v {
                Json::Null => None,
                Json::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            });
        };
        let bad = || self.err(format!("column {}: unexpected value {v}", c.name));
        let offset = self.opts.source_time_zone_offset_secs as i64;
        let value = match (DwType::of(c, self.opts.dataworks_temporal), v) {
            (_, Json::Null) => return Ok(None),
            (DwType::Boolean, Json::Bool(b)) => Value::Bit(*b as u64),
            (DwType::Date, Json::Number(n)) => {
                millis_to_value(c, n.as_i64().ok_or_else(bad)?, offset)
            }
            (DwType::Double, Json::Number(n)) => {
                let f = n.as_f64().ok_or_else(bad)?;
                if c.kind == ColumnType::Float {
                    Value::Float(f as f32)
                } else {
                    Value::Double(f)
                }
            }
            (DwType::Long, Json::Number(n)) => return Ok(Some(n.to_string())),
            (DwType::Bytes, Json::String(s)) if c.kind == ColumnType::Bit => {
                return self.bit_from_base64(c, s).map(Some)
            }
            (DwType::Bytes | DwType::String, Json::String(s)) => return Ok(Some(s.clone())),
            _ => return Err(bad()),
        };
        Ok(canonical(c, &value))
    }

    fn text_or_null<'j>(&self, v: &'j Json) -> Result<Option<&'j str>, DecodeError> {
        match v {
            Json::Null => Ok(None),
            Json::String(s) => Ok(Some(s)),
            other => Err(self.err(format!("value {other} is not a string"))),
        }
    }

    fn bit_from_base64(&self, col: &Column, s: &str) -> Result<String, DecodeError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| self.err(format!("column {}: {e}", col.name)))?;
        let v = bytes.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
        let mut out = Vec::new();
        render::text(&mut out, col, &Value::Bit(v), BitBytes::Full, false);
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

pub(crate) fn empty(op: DecodedOp, sequence: Option<u64>) -> DecodedRecord {
    DecodedRecord {
        op,
        database: String::new(),
        table: String::new(),
        before: None,
        after: None,
        key_columns: Vec::new(),
        ddl: None,
        sequence,
    }
}

fn names(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses `YYYY-MM-DD HH:MM:SS[.f…]`.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime> {
    let (date, time) = s.split_once(' ')?;
    let mut d = date.splitn(3, '-');
    let date = Date {
        year: d.next()?.parse().ok()?,
        month: d.next()?.parse().ok()?,
        day: d.next()?.parse().ok()?,
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':');
    let (hour, minute, second) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    let mut micros = 0u32;
    for (i, c) in frac.chars().take(6).enumerate() {
        micros += c.to_digit(10)? * 10u32.pow(5 - i as u32);
    }
    Some(DateTime {
        date,
        hour,
        minute,
        second,
        micros,
    })
}
