//! OMS Canal format: Alibaba Canal's FlatMessage JSON, one row per message.
//!
//! Keys in alphabetical order, as real Canal (fastjson bean order) writes them; nulls are
//! written (`WriteNulls`). No `gtid` key: OceanBase has no MySQL GTIDs.

use crate::render::{self, BitBytes};
use crate::{
    json, CanalBinary, CanalValueStyle, Ddl, DdlKind, FormatError, FormatOptions, MessageContext,
    Op, Record, UpdateColumns,
};
use obsync_model::{Column, ColumnType, KeySource, Row, TableMeta, Value};

pub(crate) fn encode_change(
    opts: &FormatOptions,
    rec: &Record<'_>,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let table = rec.table;
    let bits = rec.bits(opts);
    let (data, old) = match &rec.change.row {
        obsync_model::RowChange::Update { before, after } => (after, Some((before, after))),
        other => (other.key_image(), None),
    };
    out.extend_from_slice(b"{\"data\":[");
    row_object(out, opts, table, data, bits, |_| true);
    out.extend_from_slice(b"],");
    json::field_str(out, "database", &table.id.database);
    out.push(b',');
    let es_secs = rec.event_secs();
    json::field_u64(out, "es", es_secs * 1000);
    out.push(b',');
    json::field_u64(out, "id", rec.ctx.message_id);
    out.extend_from_slice(b",\"isDdl\":false,\"mysqlType\":{");
    for (i, col) in table.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::field_str(out, &col.name, &col.column_type);
    }
    out.extend_from_slice(b"},\"old\":");
    match old {
        Some((before, after)) => {
            out.push(b'[');
            let all = opts.update_columns == UpdateColumns::All;
            row_object(out, opts, table, before, bits, |i| {
                all || before[i] != after[i]
            });
            out.push(b']');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"pkNames\":");
    pk_names(out, table);
    out.extend_from_slice(b",\"sql\":\"\",\"sqlType\":{");
    for (i, col) in table.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::key(out, &col.name);
        json::int(out, sql_type(col) as i64);
    }
    out.extend_from_slice(b"},");
    json::field_str(out, "table", &table.id.table);
    out.push(b',');
    json::field_u64(out, "ts", rec.ctx.now_ms);
    out.extend_from_slice(b",\"type\":\"");
    out.extend_from_slice(match rec.op {
        Op::Insert | Op::Snapshot => b"INSERT",
        Op::Update => b"UPDATE",
        Op::Delete => b"DELETE",
    });
    out.extend_from_slice(b"\"}");
    Ok(())
}

fn row_object(
    out: &mut Vec<u8>,
    opts: &FormatOptions,
    table: &TableMeta,
    row: &Row,
    bits: BitBytes,
    include: impl Fn(usize) -> bool,
) {
    out.push(b'{');
    let mut first = true;
    for (i, (col, v)) in table.columns.iter().zip(row).enumerate() {
        if !include(i) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        json::key(out, &col.name);
        match opts.canal_values {
            CanalValueStyle::Oms => render::json_text(out, col, v, bits),
            CanalValueStyle::Canal => canal_value(out, opts, col, v, bits),
        }
    }
    out.push(b'}');
}

/// Canal's own rendering (LogEventConvert/RowsLogBuffer): every value a string.
fn canal_value(out: &mut Vec<u8>, opts: &FormatOptions, col: &Column, v: &Value, bits: BitBytes) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bit(b) => {
            out.push(b'"');
            json::uint(out, *b);
            out.push(b'"');
        }
        Value::Bytes(b) => match opts.canal_binary {
            CanalBinary::Latin1 => json::latin1_string(out, b),
            CanalBinary::Base64 => {
                out.push(b'"');
                render::base64(out, b);
                out.push(b'"');
            }
        },
        Value::Float(f) => {
            out.push(b'"');
            render::java_float(out, *f as f64, true);
            out.push(b'"');
        }
        Value::Double(f) => {
            out.push(b'"');
            render::java_float(out, *f, false);
            out.push(b'"');
        }
        Value::Timestamp(ts) => {
            out.push(b'"');
            if render::is_zero_timestamp(ts) {
                out.extend_from_slice(b"0000-00-00 00:00:00");
                render::fraction(out, 0, render::fsp(col));
            } else {
                let wall = render::wall_clock(ts, opts.source_time_zone_offset_secs);
                render::datetime(out, &wall, render::fsp(col));
            }
            out.push(b'"');
        }
        other => render::json_text(out, col, other, bits),
    }
}

/// Canal's `pkNames`: the row identity's columns; `null` for a table without a usable
/// key (Canal takes them from the columns' `isKey`).
fn pk_names(out: &mut Vec<u8>, table: &TableMeta) {
    if table.key_source == KeySource::AllColumns {
        out.extend_from_slice(b"null");
        return;
    }
    out.push(b'[');
    for (n, &i) in table.key.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        json::string(out, &table.columns[i].name);
    }
    out.push(b']');
}

/// `java.sql.Types` code as Canal reports it. Unsigned integers take the next wider type
/// for the whole column (Canal widens per value, only when the value exceeds the signed
/// range), so a consumer can always parse them.
pub(crate) fn sql_type(col: &Column) -> i32 {
    use ColumnType::*;
    match (col.kind, col.unsigned) {
        (TinyInt, false) => -6,
        (TinyInt, true) | (SmallInt, false) => 5,
        (SmallInt, true) | (MediumInt, _) | (Int, false) => 4,
        (Int, true) | (BigInt, false) => -5,
        (BigInt, true) | (Decimal, _) => 3,
        (Float, _) => 7,
        (Double, _) => 8,
        (Bit, _) => -7,
        (Date, _) => 91,
        (DateTime, _) | (Timestamp, _) => 93,
        (Time, _) => 92,
        // ENUM/SET carry labels here, so they are typed as text (Canal itself reports
        // INTEGER/BINARY because it writes the index/bitmask).
        (Year, _) | (VarChar, _) | (Json, _) | (Enum, _) | (Set, _) => 12,
        (Char, _) => 1,
        (TinyText, _) | (Text, _) | (MediumText, _) | (LongText, _) => 2005,
        (Binary, _)
        | (VarBinary, _)
        | (TinyBlob, _)
        | (Blob, _)
        | (MediumBlob, _)
        | (LongBlob, _)
        | (Geometry, _) => 2004,
    }
}

pub(crate) fn encode_ddl(
    _opts: &FormatOptions,
    ddl: &Ddl<'_>,
    kind: DdlKind,
    ctx: &MessageContext,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"{\"data\":null,");
    json::field_str(out, "database", ddl.database);
    out.push(b',');
    json::field_u64(out, "es", ddl.timestamp as u64 * 1000);
    out.push(b',');
    json::field_u64(out, "id", ctx.message_id);
    out.extend_from_slice(b",\"isDdl\":true,\"mysqlType\":null,\"old\":null,\"pkNames\":null,");
    json::field_str(out, "sql", ddl.statement);
    out.extend_from_slice(b",\"sqlType\":null,");
    json::field_str(out, "table", ddl.table.unwrap_or(""));
    out.push(b',');
    json::field_u64(out, "ts", ctx.now_ms);
    out.push(b',');
    json::field_str(out, "type", kind.canal_type());
    out.push(b'}');
}
