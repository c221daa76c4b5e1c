//! Rows-event images → model rows.
//!
//! mysql_common's own row iterator (`RowsEventData::rows`) builds a `Column` (with
//! owned schema, table and a formatted `@n` name) for every column of every row and
//! re-walks the table map's metadata per column: about 5 µs per 10-column row. This
//! reader needs none of that, so it parses the images itself — the documented layout
//! (null bitmap of the present columns, then the non-NULL values) — and hands each value
//! to mysql_common's `BinlogValue` decoder with metadata computed once per table map.
//!
//! A `PARTIAL_UPDATE_ROWS_EVENT` (39) has a *shared image* between each before and after
//! image (MySQL's `rpl_record.h`): its value options and, with partial JSON on, one bit
//! per JSON column of the table saying whether the after image holds that column as a
//! list of diffs ([`super::json_diff`]) instead of a document.

use super::decode::decode_value;
use super::error::BinlogError;
use mysql_common::binlog::events::{RowsEventData, TableMapEvent};
use mysql_common::binlog::jsondiff::JsonDiff;
use mysql_common::binlog::value::BinlogValue;
use mysql_common::constants::ColumnType as WireType;
use mysql_common::io::ParseBuf;
use obsync_model::{BinlogCoord, Row, RowChange, TableMeta, Value};

/// The wire type and type metadata of each column of a table map.
pub(crate) struct WireColumns {
    cols: Vec<(WireType, Vec<u8>)>,
}

/// The shared image's value option saying JSON columns may be diffs.
const PARTIAL_JSON_UPDATES: u64 = 1;

impl WireColumns {
    pub fn from_table_map(tme: &TableMapEvent<'_>) -> Result<Self, String> {
        (0..tme.columns_count() as usize)
            .map(|i| {
                let ty = tme
                    .get_column_type(i)
                    .map_err(|e| format!("column {i}: {e}"))?
                    .ok_or_else(|| format!("column {i} has no type"))?;
                let meta = tme
                    .get_column_metadata(i)
                    .ok_or_else(|| format!("column {i} has no type metadata"))?;
                Ok((ty, meta.to_vec()))
            })
            .collect::<Result<_, String>>()
            .map(|cols| WireColumns { cols })
    }
}

/// Decodes every row of a rows event of `meta`'s table.
pub(crate) fn decode_rows(
    rows: &RowsEventData<'_>,
    wire: &WireColumns,
    meta: &TableMeta,
    position: &BinlogCoord,
) -> Result<Vec<RowChange>, BinlogError> {
    let n = rows.num_columns() as usize;
    let malformed = |reason: String| BinlogError::Malformed {
        position: position.clone(),
        reason: format!("rows of {}: {reason}", meta.id),
    };
    if n != wire.cols.len() || n != meta.columns.len() {
        return Err(malformed(format!(
            "{n} columns in the rows event, {} in the table map",
            wire.cols.len()
        )));
    }
    let partial = matches!(rows, RowsEventData::PartialUpdateRowsEvent(_));
    check_images(rows, wire, meta, position, partial)?;
    let (has_before, has_after) = (
        rows.columns_before_image().is_some(),
        rows.columns_after_image().is_some(),
    );
    let mut rest = rows.rows_data();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let before = if has_before {
            Some(image(&mut rest, wire, meta, position, None)?)
        } else {
            None
        };
        let diffs = if partial {
            shared_image(&mut rest, wire)
                .ok_or_else(|| malformed("a partial update's shared image is truncated".into()))?
        } else {
            Vec::new()
        };
        let after = if has_after {
            let base = (!diffs.is_empty()).then_some((diffs.as_slice(), before.as_ref()));
            Some(image(&mut rest, wire, meta, position, base)?)
        } else {
            None
        };
        out.push(match (before, after) {
            (None, Some(after)) => RowChange::Insert { after },
            (Some(before), Some(after)) => RowChange::Update { before, after },
            (Some(before), None) => RowChange::Delete { before },
            (None, None) => return Err(malformed("a rows event without images".into())),
        });
    }
    Ok(out)
}

/// Refuses images without every column: values cannot be placed, and a partial JSON
/// update needs its document in the before image (named first, with its column).
fn check_images(
    rows: &RowsEventData<'_>,
    wire: &WireColumns,
    meta: &TableMeta,
    position: &BinlogCoord,
    partial: bool,
) -> Result<(), BinlogError> {
    let n = wire.cols.len();
    if partial {
        if let Some(missing) = rows.columns_before_image().and_then(|image| {
            (0..n).find(|&i| !image[i] && wire.cols[i].0 == WireType::MYSQL_TYPE_JSON)
        }) {
            return Err(BinlogError::JsonDiff {
                table: meta.id.clone(),
                column: meta.columns[missing].name.clone(),
                position: position.clone(),
                reason: "the before image lacks the column (binlog_row_image=MINIMAL or NOBLOB), so there is no document to apply the diff to".into(),
            });
        }
    }
    for image in [rows.columns_before_image(), rows.columns_after_image()]
        .into_iter()
        .flatten()
    {
        if image.count_ones() != n {
            return Err(BinlogError::Unsupported {
                position: position.clone(),
                what: format!(
                    "a row image of {} with {} of its {n} columns: set binlog_row_image=FULL on the source",
                    meta.id,
                    image.count_ones()
                ),
            });
        }
    }
    Ok(())
}

/// Reads a partial update's shared image at the start of `rest` (advanced past it):
/// for each column, whether the after image holds it as JSON diffs (all `false` when
/// partial JSON is off); `None` when truncated.
fn shared_image(rest: &mut &[u8], wire: &WireColumns) -> Option<Vec<bool>> {
    let mut buf = ParseBuf(rest);
    let options = buf.checked_eat_lenenc_int()?;
    let mut partial = vec![false; wire.cols.len()];
    if options & PARTIAL_JSON_UPDATES != 0 {
        // One bit per JSON column of the table, whether or not it is in the images.
        let json: Vec<usize> = (0..wire.cols.len())
            .filter(|&i| wire.cols[i].0 == WireType::MYSQL_TYPE_JSON)
            .collect();
        let bits = buf.checked_eat(json.len().div_ceil(8))?;
        for (bit, &col) in json.iter().enumerate() {
            partial[col] = bits[bit / 8] & (1 << (bit % 8)) != 0;
        }
    }
    let consumed = rest.len() - buf.len();
    *rest = &rest[consumed..];
    Some(partial)
}

/// One full row image at the start of `rest` (advanced past it): a bitmap of NULL
/// columns, then each non-NULL value. `diffs`: for a partial update's after image,
/// which columns are JSON diffs, and the before image to apply them to.
fn image(
    rest: &mut &[u8],
    wire: &WireColumns,
    meta: &TableMeta,
    position: &BinlogCoord,
    diffs: Option<(&[bool], Option<&Row>)>,
) -> Result<Row, BinlogError> {
    let n = wire.cols.len();
    let truncated = || BinlogError::Malformed {
        position: position.clone(),
        reason: format!("a row image of {} is truncated", meta.id),
    };
    // The values borrow the type metadata for as long as the data: parse a copy of the
    // slice and advance `rest` by what was consumed.
    let mut buf = ParseBuf(rest);
    let nulls = buf.checked_eat(n.div_ceil(8)).ok_or_else(truncated)?;
    let mut row = Vec::with_capacity(n);
    for (i, ((ty, type_meta), col)) in wire.cols.iter().zip(&meta.columns).enumerate() {
        if nulls[i / 8] & (1 << (i % 8)) != 0 {
            row.push(Value::Null);
            continue;
        }
        let err = |reason: String| BinlogError::Decode {
            table: meta.id.clone(),
            column: col.name.clone(),
            position: position.clone(),
            reason,
        };
        let is_diff = diffs.is_some_and(|(partial, _)| partial[i]);
        // Signedness is left to `decode_value`, which knows it from the metadata.
        let raw: BinlogValue<'_> = buf
            .parse((*ty, type_meta.as_slice(), false, is_diff))
            .map_err(|e| err(format!("unreadable {ty:?} value: {e}")))?;
        let value = match raw {
            BinlogValue::JsonDiff(list) => {
                let before = diffs.and_then(|(_, before)| before).map(|b| &b[i]);
                apply_diffs(before, &list).map_err(|reason| BinlogError::JsonDiff {
                    table: meta.id.clone(),
                    column: col.name.clone(),
                    position: position.clone(),
                    reason,
                })?
            }
            raw => decode_value(col, raw).map_err(err)?,
        };
        row.push(value);
    }
    let consumed = rest.len() - buf.len();
    *rest = &rest[consumed..];
    Ok(row)
}

/// The after image's document: the before image's with `diffs` applied, rendered as
/// the full-document path renders JSON (mysql_common's JSON text).
fn apply_diffs(before: Option<&Value>, diffs: &[JsonDiff<'_>]) -> Result<Value, String> {
    let doc = match before {
        Some(Value::Text(text)) => serde_json::from_str(text)
            .map_err(|e| format!("the before image's document is not JSON: {e}"))?,
        Some(Value::Null) => return Err("the before image's document is NULL".into()),
        Some(other) => return Err(format!("the before image holds {other:?}, not a document")),
        None => return Err("the event has no before image".into()),
    };
    let after = super::json_diff::apply(doc, diffs)?;
    Ok(Value::Text(after.to_string()))
}
