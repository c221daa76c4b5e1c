//! Debezium records back to source values (the `decode` module's Debezium part): every
//! Connect value turned into the model's [`Value`], so decoded images compare with the
//! canonical text of the source rows.

use super::schema::{column_schema, ConnectType, DecimalHandling, Logical};
use super::value::decimal_text;
use crate::decode::{canonical_value, DecodeError, DecodedOp, DecodedRecord, Image};
use crate::{FormatKind, FormatOptions};
use base64::Engine as _;
use obsync_model::{Column, Date, DateTime, TableMeta, Time, Timestamp, Value};
use serde_json::{Map, Value as Json};

pub(crate) fn decode(
    opts: &FormatOptions,
    j: &Json,
    tables: &[TableMeta],
) -> Result<DecodedRecord, DecodeError> {
    let err = |detail: String| DecodeError::Shape {
        format: opts.kind,
        detail,
    };
    // With the JSON converter's schemas the record is {"schema","payload"}.
    let p = match (j.get("schema"), j.get("payload")) {
        (Some(_), Some(p)) if j.as_object().is_some_and(|o| o.len() == 2) => p,
        _ => j,
    };
    let text = |v: &Json, what: &str| -> Result<String, DecodeError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| err(format!("{what} is not a string")))
    };
    let find = |db: &str, table: &str| {
        tables
            .iter()
            .find(|t| t.id.database == db && t.id.table == table)
    };
    let decimal = opts.debezium.decimal_handling;
    if opts.kind == FormatKind::DebeziumFlattened {
        let obj = p
            .as_object()
            .ok_or_else(|| err("the flattened row is not an object".into()))?;
        // The table comes from `__db`/`__table` (add.fields) or, for a topic of one
        // table, from the only table given.
        let meta = match (obj.get("__db"), obj.get("__table")) {
            (Some(d), Some(t)) => find(&text(d, "__db")?, &text(t, "__table")?),
            _ if tables.len() == 1 => tables.first(),
            _ => None,
        }
        .ok_or_else(|| {
            err("the flattened row names no known table: add db and table to add.fields".into())
        })?;
        let deleted = obj.get("__deleted").and_then(Json::as_str) == Some("true");
        let op = match obj.get("__op").and_then(Json::as_str) {
            _ if deleted => DecodedOp::Delete,
            Some("u") => DecodedOp::Update,
            Some("r") => DecodedOp::Snapshot,
            _ => DecodedOp::Insert,
        };
        let image = row_image(meta, obj, decimal).map_err(err)?;
        let (before, after) = if deleted {
            (Some(image), None)
        } else {
            (None, Some(image))
        };
        return Ok(record(op, meta, before, after));
    }
    let op = match p.get("op").and_then(Json::as_str) {
        Some("c") => DecodedOp::Insert,
        Some("u") => DecodedOp::Update,
        Some("d") => DecodedOp::Delete,
        Some("r") => DecodedOp::Snapshot,
        other => return Err(err(format!("op {other:?} is not c, u, d or r"))),
    };
    let db = text(&p["source"]["db"], "source.db")?;
    let table = text(&p["source"]["table"], "source.table")?;
    let meta = find(&db, &table).ok_or_else(|| err(format!("unknown table {db}.{table}")))?;
    let image = |v: &Json| -> Result<Option<Image>, DecodeError> {
        match v {
            Json::Null => Ok(None),
            Json::Object(o) => row_image(meta, o, decimal).map(Some).map_err(err),
            _ => Err(err("a row image is not an object".into())),
        }
    };
    Ok(record(op, meta, image(&p["before"])?, image(&p["after"])?))
}

fn record(
    op: DecodedOp,
    meta: &TableMeta,
    before: Option<Image>,
    after: Option<Image>,
) -> DecodedRecord {
    DecodedRecord {
        op,
        database: meta.id.database.clone(),
        table: meta.id.table.clone(),
        before,
        after,
        key_columns: meta
            .primary_key
            .iter()
            .map(|&i| meta.columns[i].name.clone())
            .collect(),
        ddl: None,
        sequence: None,
    }
}

/// The table's columns of a row object (added `__` fields left out).
fn row_image(
    meta: &TableMeta,
    obj: &Map<String, Json>,
    decimal: DecimalHandling,
) -> Result<Image, String> {
    let mut image = Image::new();
    for col in &meta.columns {
        let v = obj
            .get(&col.name)
            .ok_or_else(|| format!("column {} is missing", col.name))?;
        let value =
            connect_to_value(col, v, decimal).map_err(|e| format!("column {}: {e}", col.name))?;
        image.insert(col.name.clone(), canonical_value(col, &value));
    }
    Ok(image)
}

fn b64(v: &Json) -> Result<Vec<u8>, String> {
    let s = v.as_str().ok_or("bytes are not a Base64 string")?;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("bad Base64: {e}"))
}

fn int(v: &Json) -> Result<i64, String> {
    v.as_i64().ok_or_else(|| format!("{v} is not an integer"))
}

/// The model value of one Connect JSON value in `col`.
pub fn connect_to_value(col: &Column, v: &Json, decimal: DecimalHandling) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let schema = column_schema(col, decimal);
    Ok(match (schema.ty, schema.logical) {
        (_, Some(Logical::Decimal { scale, .. })) => Value::Decimal(decimal_text(&b64(v)?, scale)),
        (_, Some(Logical::Date)) => Value::Date(
            Timestamp {
                secs: int(v)? * 86_400,
                micros: 0,
            }
            .to_utc_datetime()
            .date,
        ),
        (_, Some(Logical::MicroTime)) => {
            let us = int(v)?;
            let a = us.unsigned_abs();
            let secs = a / 1_000_000;
            Value::Time(Time {
                negative: us < 0,
                hours: (secs / 3600) as u32,
                minutes: (secs / 60 % 60) as u8,
                seconds: (secs % 60) as u8,
                micros: (a % 1_000_000) as u32,
            })
        }
        (_, Some(Logical::Timestamp)) => Value::DateTime(from_micros(int(v)? * 1000)),
        (_, Some(Logical::MicroTimestamp)) => Value::DateTime(from_micros(int(v)?)),
        (_, Some(Logical::ZonedTimestamp)) => {
            let s = v.as_str().ok_or("a zoned timestamp is not a string")?;
            Value::Timestamp(parse_zoned(s).ok_or_else(|| format!("bad timestamp {s}"))?)
        }
        (_, Some(Logical::Year)) => Value::Year(int(v)? as u16),
        (_, Some(Logical::Bits { .. })) => {
            let bytes = b64(v)?;
            let mut le = [0u8; 8];
            for (i, b) in bytes.iter().take(8).enumerate() {
                le[i] = *b;
            }
            Value::Bit(u64::from_le_bytes(le))
        }
        (_, Some(Logical::Geometry)) => {
            let wkb = b64(&v["wkb"])?;
            let srid = v["srid"].as_i64().unwrap_or(0) as i32;
            let mut bytes = srid.to_le_bytes().to_vec();
            bytes.extend_from_slice(&wkb);
            Value::Bytes(bytes)
        }
        (ConnectType::Boolean, _) => Value::Bit(v.as_bool().ok_or("not a boolean")? as u64),
        (ConnectType::Int16 | ConnectType::Int32 | ConnectType::Int64, _) => {
            let i = int(v)?;
            if col.unsigned {
                // BIGINT UNSIGNED above 2^63-1 arrives wrapped negative.
                Value::UInt(i as u64)
            } else {
                Value::Int(i)
            }
        }
        (ConnectType::Float32, _) => Value::Float(v.as_f64().ok_or("not a number")? as f32),
        (ConnectType::Float64, _) if col.kind == obsync_model::ColumnType::Float => {
            Value::Float(v.as_f64().ok_or("not a number")? as f32)
        }
        (ConnectType::Float64, _) if col.kind == obsync_model::ColumnType::Decimal => {
            Value::Decimal(v.to_string())
        }
        (ConnectType::Float64, _) => Value::Double(v.as_f64().ok_or("not a number")?),
        (ConnectType::String, _) if col.kind == obsync_model::ColumnType::Decimal => {
            Value::Decimal(v.as_str().ok_or("not a string")?.to_string())
        }
        (ConnectType::String, _) => Value::Text(v.as_str().ok_or("not a string")?.to_string()),
        (ConnectType::Bytes, _) => Value::Bytes(b64(v)?),
        (ConnectType::Struct, _) => return Err("unexpected struct".into()),
    })
}

fn from_micros(us: i64) -> DateTime {
    Timestamp {
        secs: us.div_euclid(1_000_000),
        micros: us.rem_euclid(1_000_000) as u32,
    }
    .to_utc_datetime()
}

/// `2024-05-01T02:00:00.5Z` → the instant.
fn parse_zoned(s: &str) -> Option<Timestamp> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-');
    let (year, month, day) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':');
    let (hour, minute, second) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    let micros = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").get(..6)?.parse().ok()?
    };
    Some(Timestamp::from_utc_datetime(&DateTime {
        date: Date { year, month, day },
        hour,
        minute,
        second,
        micros,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debezium::value::decimal_bytes;

    #[test]
    fn decimals_round_trip_through_their_bytes() {
        for (text, scale) in [
            ("0", 0),
            ("12.50", 2),
            ("-12.50", 2),
            ("-1.28", 2),
            ("1.28", 2),
            ("-0.01", 2),
            (
                "99999999999999999999999999999999999.999999999999999999999999999999",
                30,
            ),
            (
                "-99999999999999999999999999999999999.999999999999999999999999999999",
                30,
            ),
        ] {
            let mut out = Vec::new();
            decimal_bytes(text, scale, &mut out).unwrap();
            assert_eq!(decimal_text(&out, scale), text);
        }
    }
}
