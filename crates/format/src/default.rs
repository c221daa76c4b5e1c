//! OMS Default and DefaultExtendColumnType (`DEFAULT`, `DEFAULT_WITH_SCHEMA`).
//!
//! Key order (reference §9): `prevStruct, postStruct, allMetaData, recordType`;
//! `allMetaData` in the OMS doc's listing order.

use crate::render::{self, BitBytes};
use crate::{
    json, write_txn_coord, write_txn_id, AbsentImage, Ddl, DdlKind, FormatError, FormatKind,
    FormatOptions, MessageContext, Op, Record, TimestampFraction,
};
use obsync_model::{Column, Row, TableMeta, Value};

pub(crate) fn encode_change(
    opts: &FormatOptions,
    rec: &Record<'_>,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let light = opts.kind == FormatKind::DefaultExtendColumnType;
    let bits = rec.bits(opts);
    out.push(b'{');
    let mut first = true;
    image(
        out,
        opts,
        &mut first,
        "prevStruct",
        rec.table,
        rec.change.row.before(),
        bits,
        light,
    );
    image(
        out,
        opts,
        &mut first,
        "postStruct",
        rec.table,
        rec.change.row.after(),
        bits,
        light,
    );
    if !first {
        out.push(b',');
    }
    json::key(out, "allMetaData");
    out.push(b'{');
    checkpoint(out, opts, rec, bits);
    out.push(b',');
    primary_key_fields(out, opts, rec.table, rec.change.row.key_image(), bits);
    out.push(b',');
    json::field_str(out, "source_identity", &opts.source_identity);
    out.push(b',');
    json::field_str(out, "dbType", &opts.db_type);
    if rec.incremental() {
        out.push(b',');
        json::field_u64(out, "storeDataSequence", rec.ctx.sequence);
    }
    out.push(b',');
    json::field_str(out, "table_name", &rec.table.id.table);
    out.push(b',');
    db_field(out, opts, &rec.table.id.database);
    if rec.incremental() {
        out.push(b',');
        json::field_u64_str(out, "timestamp", rec.event_secs());
        out.push(b',');
        json::key(out, "uniqueId");
        quoted(out, |out| {
            if let Some(t) = rec.txn {
                write_txn_coord(out, t)
            }
        });
        out.push(b',');
        json::key(out, "transId");
        quoted(out, |out| {
            if let Some(t) = rec.txn {
                write_txn_id(out, t)
            }
        });
        out.push(b',');
        json::field_str(out, "clusterId", &opts.cluster_id);
    }
    out.extend_from_slice(b"},\"recordType\":\"");
    out.extend_from_slice(match rec.op {
        Op::Insert => b"INSERT",
        Op::Update => b"UPDATE",
        Op::Delete => b"DELETE",
        Op::Snapshot => b"ROW",
    });
    out.extend_from_slice(b"\"}");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn image(
    out: &mut Vec<u8>,
    opts: &FormatOptions,
    first: &mut bool,
    name: &str,
    table: &TableMeta,
    row: Option<&Row>,
    bits: BitBytes,
    light: bool,
) {
    if row.is_none() && opts.absent_images == AbsentImage::Omit {
        return;
    }
    if !*first {
        out.push(b',');
    }
    *first = false;
    json::key(out, name);
    let Some(row) = row else {
        out.extend_from_slice(b"null");
        return;
    };
    out.push(b'{');
    for (i, (col, v)) in table.columns.iter().zip(row).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::key(out, &col.name);
        if v.is_null() {
            out.extend_from_slice(b"null");
        } else {
            out.push(b'"');
            text(out, opts, col, v, bits);
            out.push(b'"');
        }
    }
    if light {
        if !table.columns.is_empty() {
            out.push(b',');
        }
        json::key(out, "__light_type");
        out.push(b'{');
        for (i, col) in table.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::key(out, &col.name);
            out.extend_from_slice(b"{\"schemaType\":\"");
            out.extend_from_slice(col.kind.name().as_bytes());
            out.extend_from_slice(b"\"}");
        }
        out.push(b'}');
    }
    out.push(b'}');
}

/// `checkpoint`: the resume time in seconds for incremental records; for full-sync rows
/// the row's key as `name=value` pairs joined with U+0001 (OMS's text is unknown).
fn checkpoint(out: &mut Vec<u8>, opts: &FormatOptions, rec: &Record<'_>, bits: BitBytes) {
    json::key(out, "checkpoint");
    out.push(b'"');
    if rec.incremental() {
        json::uint(out, rec.ctx.checkpoint_secs);
    } else {
        let row = rec.change.row.key_image();
        for (n, &i) in rec.table.key.iter().enumerate() {
            if n > 0 {
                out.extend_from_slice(b"\\u0001");
            }
            json::escaped(out, &rec.table.columns[i].name);
            out.push(b'=');
            text(out, opts, &rec.table.columns[i], &row[i], bits);
        }
    }
    out.push(b'"');
}

/// `record_primary_key` and `record_primary_value` of the row identity, from the image
/// that names the row before the change (so a key-changing UPDATE names the old key).
/// NULL (possible only in a key-less table) is the empty string.
fn primary_key_fields(
    out: &mut Vec<u8>,
    opts: &FormatOptions,
    table: &TableMeta,
    row: &Row,
    bits: BitBytes,
) {
    json::key(out, "record_primary_key");
    out.push(b'"');
    for (n, &i) in table.key.iter().enumerate() {
        if n > 0 {
            out.extend_from_slice(b"\\u0001");
        }
        json::escaped(out, &table.columns[i].name);
    }
    out.extend_from_slice(b"\",");
    json::key(out, "record_primary_value");
    out.push(b'"');
    for (n, &i) in table.key.iter().enumerate() {
        if n > 0 {
            out.extend_from_slice(b"\\u0001");
        }
        text(out, opts, &table.columns[i], &row[i], bits);
    }
    out.push(b'"');
}

/// The OMS text of a value inside a JSON string, with TIMESTAMP fractions as
/// `opts.timestamp_fraction` says (the zero TIMESTAMP stays `0`).
fn text(out: &mut Vec<u8>, opts: &FormatOptions, col: &Column, v: &Value, bits: BitBytes) {
    match v {
        Value::Timestamp(ts)
            if opts.timestamp_fraction == TimestampFraction::Nanos
                && !render::is_zero_timestamp(ts) =>
        {
            json::int(out, ts.secs);
            out.push(b'.');
            let nanos = ts.micros as u64 * 1000;
            let digits = itoa::Buffer::new().format(nanos).len();
            out.extend(std::iter::repeat_n(b'0', 9 - digits.min(9)));
            json::uint(out, nanos);
        }
        _ => render::text(out, col, v, bits, true),
    }
}

fn db_field(out: &mut Vec<u8>, opts: &FormatOptions, database: &str) {
    json::key(out, "db");
    out.push(b'"');
    json::escaped(out, &opts.tenant);
    out.push(b'.');
    json::escaped(out, database);
    out.push(b'"');
}

fn quoted(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    out.push(b'"');
    body(out);
    out.push(b'"');
}

fn absent_images(out: &mut Vec<u8>, opts: &FormatOptions, post_ddl: Option<&str>) {
    if opts.absent_images == AbsentImage::Null {
        out.extend_from_slice(b"\"prevStruct\":null,");
    }
    match post_ddl {
        Some(stmt) => {
            out.extend_from_slice(b"\"postStruct\":{");
            json::field_str(out, "ddl", stmt);
            out.extend_from_slice(b"},");
        }
        None if opts.absent_images == AbsentImage::Null => {
            out.extend_from_slice(b"\"postStruct\":null,")
        }
        None => {}
    }
}

pub(crate) fn encode_ddl(
    opts: &FormatOptions,
    ddl: &Ddl<'_>,
    kind: DdlKind,
    ctx: &MessageContext,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    absent_images(out, opts, Some(ddl.statement));
    json::key(out, "allMetaData");
    out.push(b'{');
    json::field_u64_str(out, "checkpoint", ctx.checkpoint_secs);
    out.push(b',');
    json::field_str(out, "source_identity", &opts.source_identity);
    out.push(b',');
    json::field_str(out, "dbType", &opts.db_type);
    out.push(b',');
    json::field_u64(out, "storeDataSequence", ctx.sequence);
    out.push(b',');
    json::field_str(out, "table_name", ddl.table.unwrap_or(""));
    out.push(b',');
    db_field(out, opts, ddl.database);
    out.push(b',');
    json::field_u64_str(out, "timestamp", ddl.timestamp as u64);
    out.push(b',');
    json::field_str(out, "uniqueId", ddl.unique_id);
    out.push(b',');
    json::field_str(out, "transId", ddl.unique_id);
    out.push(b',');
    json::field_str(out, "clusterId", &opts.cluster_id);
    out.push(b',');
    json::field_str(out, "ddlType", kind.oms_type());
    out.extend_from_slice(b"},\"recordType\":\"DDL\"}");
}

pub(crate) fn encode_heartbeat(opts: &FormatOptions, ctx: &MessageContext, out: &mut Vec<u8>) {
    out.push(b'{');
    absent_images(out, opts, None);
    json::key(out, "allMetaData");
    out.push(b'{');
    json::field_u64_str(out, "checkpoint", ctx.checkpoint_secs);
    out.push(b',');
    json::field_str(out, "source_identity", &opts.source_identity);
    out.push(b',');
    json::field_str(out, "dbType", &opts.db_type);
    out.push(b',');
    json::field_u64_str(out, "timestamp", ctx.checkpoint_secs);
    out.extend_from_slice(b"},\"recordType\":\"HEARTBEAT\"}");
}
