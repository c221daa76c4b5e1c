//! Maxwell JSON back to canonical row images. Numbers are read from their raw text
//! (a DECIMAL(65,30) does not fit an f64).

use super::{canonical, empty, parse_datetime, DecodeError, DecodedOp, DecodedRecord, Image};
use crate::{FormatKind, FormatOptions};
use obsync_model::{Column, ColumnType, TableMeta, Timestamp, Value};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Record<'a> {
    database: String,
    table: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    data: BTreeMap<String, &'a RawValue>,
    #[serde(borrow, default)]
    old: Option<BTreeMap<String, &'a RawValue>>,
    #[serde(default)]
    primary_key_columns: Option<Vec<String>>,
}

fn shape(detail: impl Into<String>) -> DecodeError {
    DecodeError::Shape {
        format: FormatKind::Maxwell,
        detail: detail.into(),
    }
}

pub(super) fn decode(
    _opts: &FormatOptions,
    value: &[u8],
    tables: &[TableMeta],
) -> Result<DecodedRecord, DecodeError> {
    let rec: Record<'_> = serde_json::from_slice(value)?;
    let op = match rec.kind.as_str() {
        "insert" => DecodedOp::Insert,
        "bootstrap-insert" => DecodedOp::Snapshot,
        "update" => DecodedOp::Update,
        "delete" => DecodedOp::Delete,
        other => return Err(shape(format!("unknown type {other}"))),
    };
    let meta = tables
        .iter()
        .find(|t| t.id.database == rec.database && t.id.table == rec.table);
    let image = |obj: &BTreeMap<String, &RawValue>| -> Result<Image, DecodeError> {
        obj.iter()
            .map(|(name, raw)| {
                let col = meta.and_then(|t| t.column_index(name).map(|i| &t.columns[i]));
                Ok((name.clone(), text(col, raw.get())?))
            })
            .collect()
    };
    let data = image(&rec.data)?;
    let (before, after) = match op {
        DecodedOp::Delete => (Some(data), None),
        DecodedOp::Update => {
            let mut before = data.clone();
            if let Some(old) = &rec.old {
                before.extend(image(old)?);
            }
            (Some(before), Some(data))
        }
        _ => (None, Some(data)),
    };
    let key_columns = match (rec.primary_key_columns, meta) {
        (Some(names), _) => names,
        (None, Some(t)) => t
            .primary_key
            .iter()
            .map(|&i| t.columns[i].name.clone())
            .collect(),
        (None, None) => Vec::new(),
    };
    Ok(DecodedRecord {
        op,
        database: rec.database,
        table: rec.table,
        before,
        after,
        key_columns,
        ..empty(op, None)
    })
}

/// The canonical text of one raw JSON value of column `col`.
fn text(col: Option<&Column>, raw: &str) -> Result<Option<String>, DecodeError> {
    if raw == "null" {
        return Ok(None);
    }
    let Some(c) = col else {
        return Ok(Some(unquote(raw)?.unwrap_or_else(|| raw.to_string())));
    };
    let bad = || shape(format!("column {}: unexpected value {raw}", c.name));
    let value = match c.kind {
        ColumnType::Decimal => return Ok(Some(plain_decimal(raw).ok_or_else(bad)?)),
        ColumnType::Float => Value::Float(raw.parse().map_err(|_| bad())?),
        ColumnType::Double => Value::Double(raw.parse().map_err(|_| bad())?),
        ColumnType::Bit => Value::Bit(raw.parse().map_err(|_| bad())?),
        ColumnType::Year => Value::Year(raw.parse().map_err(|_| bad())?),
        ColumnType::Json => return Ok(Some(unquote(raw)?.unwrap_or_else(|| raw.to_string()))),
        ColumnType::Set => {
            let labels: Vec<String> = serde_json::from_str(raw)?;
            return Ok(Some(labels.join(",")));
        }
        ColumnType::Timestamp => {
            let s = unquote(raw)?.ok_or_else(bad)?;
            if s.starts_with("0000-00-00") {
                Value::Timestamp(Timestamp { secs: 0, micros: 0 })
            } else {
                Value::Timestamp(Timestamp::from_utc_datetime(
                    &parse_datetime(&s).ok_or_else(bad)?,
                ))
            }
        }
        ColumnType::Geometry => {
            let s = unquote(raw)?.ok_or_else(bad)?;
            Value::Bytes(crate::wkt::parse(&s).ok_or_else(bad)?)
        }
        // Integers are already canonical; text, dates, times and Base64 binary too.
        _ => return Ok(Some(unquote(raw)?.unwrap_or_else(|| raw.to_string()))),
    };
    Ok(canonical(c, &value))
}

/// The string a raw JSON string holds; `None` for any other JSON value.
fn unquote(raw: &str) -> Result<Option<String>, DecodeError> {
    if raw.starts_with('"') {
        Ok(Some(serde_json::from_str(raw)?))
    } else {
        Ok(None)
    }
}

/// `BigDecimal.toString()` text (`1.2E-7`, `0E-30`, `12.50`) back to plain digits with
/// the same scale (`0.00000012`, thirty zeros after `0.`, `12.50`).
fn plain_decimal(raw: &str) -> Option<String> {
    let Some((mantissa, exp)) = raw.split_once(['E', 'e']) else {
        return Some(raw.to_string());
    };
    let exp: i64 = exp.parse().ok()?;
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let scale = frac.len() as i64 - exp;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if scale <= 0 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (-scale) as usize));
        return Some(out);
    }
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (i, f) = padded.split_at(padded.len() - scale);
    out.push_str(i);
    out.push('.');
    out.push_str(f);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::plain_decimal;

    #[test]
    fn big_decimal_text_becomes_plain_with_its_scale() {
        assert_eq!(plain_decimal("12.50").unwrap(), "12.50");
        assert_eq!(plain_decimal("1E-7").unwrap(), "0.0000001");
        assert_eq!(plain_decimal("-1.2E-7").unwrap(), "-0.00000012");
        assert_eq!(
            plain_decimal("0E-30").unwrap(),
            format!("0.{}", "0".repeat(30))
        );
    }
}
