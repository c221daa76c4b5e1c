//! OMS DataWorks 2.0 format (`DATAWORKS_V2`): typed JSON values in a `schema` +
//! `payload` envelope, with DataWorks' six field types.

use crate::render::{self, BitBytes};
use crate::{
    json, DataWorksTemporal, Ddl, DdlKind, FormatError, FormatKind, FormatOptions, MessageContext,
    Op, Record,
};
use obsync_model::{Column, ColumnType, DateTime, KeySource, Row, Timestamp, Value};

/// `version` of the envelope.
const VERSION: &str = "2.0";

/// The six DataWorks field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DwType {
    Boolean,
    Date,
    Bytes,
    String,
    Long,
    Double,
}

impl DwType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            DwType::Boolean => "BOOLEAN",
            DwType::Date => "DATE",
            DwType::Bytes => "BYTES",
            DwType::String => "STRING",
            DwType::Long => "LONG",
            DwType::Double => "DOUBLE",
        }
    }

    /// The DataWorks type of a column. Exactness first: BIGINT UNSIGNED and DECIMAL are
    /// STRING (a JSON number would lose them in Java consumers), temporals finer than
    /// milliseconds are STRING, BIT(1) is BOOLEAN.
    pub(crate) fn of(col: &Column, temporal: DataWorksTemporal) -> DwType {
        use ColumnType::*;
        let millis = temporal == DataWorksTemporal::Millis;
        match col.kind {
            BigInt if col.unsigned => DwType::String,
            TinyInt | SmallInt | MediumInt | Int | BigInt => DwType::Long,
            Float | Double => DwType::Double,
            Bit if col.length == Some(1) => DwType::Boolean,
            Bit | Binary | VarBinary | TinyBlob | Blob | MediumBlob | LongBlob | Geometry => {
                DwType::Bytes
            }
            Date if millis => DwType::Date,
            DateTime | Timestamp if millis && render::fsp(col) <= 3 => DwType::Date,
            _ => DwType::String,
        }
    }
}

pub(crate) fn encode_change(
    opts: &FormatOptions,
    rec: &Record<'_>,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let table = rec.table;
    out.extend_from_slice(b"{\"schema\":{\"dataColumn\":[");
    for (i, col) in table.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        json::field_str(out, "name", &col.name);
        out.push(b',');
        json::field_str(out, "type", DwType::of(col, opts.dataworks_temporal).name());
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"primaryKey\":");
    if table.key_source == KeySource::AllColumns {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'[');
        for (n, &i) in table.key.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            json::string(out, &table.columns[i].name);
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"source\":");
    source(out, opts, &table.id.database, &table.id.table);
    out.extend_from_slice(b"},\"payload\":{\"before\":");
    image(out, opts, rec, rec.change.row.before())?;
    out.extend_from_slice(b",\"after\":");
    image(out, opts, rec, rec.change.row.after())?;
    out.push(b',');
    json::field_u64_str(out, "sequenceId", rec.ctx.sequence);
    out.push(b',');
    let event_ms = match rec.op {
        Op::Snapshot => rec.ctx.now_ms,
        _ => rec.event_secs() * 1000,
    };
    timestamps(out, event_ms, rec.ctx);
    out.extend_from_slice(b",\"op\":\"");
    out.extend_from_slice(match rec.op {
        Op::Insert | Op::Snapshot => b"INSERT",
        Op::Update => b"UPDATE_AFTER",
        Op::Delete => b"DELETE",
    });
    out.extend_from_slice(b"\",\"ddl\":null},");
    json::field_str(out, "version", VERSION);
    out.push(b'}');
    Ok(())
}

fn source(out: &mut Vec<u8>, opts: &FormatOptions, database: &str, table: &str) {
    out.push(b'{');
    json::field_str(out, "dbType", &opts.db_type);
    out.push(b',');
    json::field_str(out, "dbVersion", &opts.db_version);
    out.push(b',');
    json::field_str(out, "dbName", database);
    out.push(b',');
    json::field_str(out, "tableName", table);
    out.push(b'}');
}

fn timestamps(out: &mut Vec<u8>, event_ms: u64, ctx: &MessageContext) {
    out.extend_from_slice(b"\"timestamp\":{");
    json::field_u64(out, "eventTime", event_ms);
    out.push(b',');
    json::field_u64(out, "systemTime", ctx.now_ms);
    out.push(b',');
    json::field_u64(out, "checkpointTime", ctx.checkpoint_secs * 1000);
    out.push(b'}');
}

fn image(
    out: &mut Vec<u8>,
    opts: &FormatOptions,
    rec: &Record<'_>,
    row: Option<&Row>,
) -> Result<(), FormatError> {
    let Some(row) = row else {
        out.extend_from_slice(b"null");
        return Ok(());
    };
    let bits = rec.bits(opts);
    out.extend_from_slice(b"{\"dataColumn\":{");
    for (i, (col, v)) in rec.table.columns.iter().zip(row).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::key(out, &col.name);
        value(out, opts, col, v, bits)
            .map_err(|reason| rec.unrepresentable(FormatKind::DataWorks, i, reason))?;
    }
    out.extend_from_slice(b"}}");
    Ok(())
}

/// Appends one typed value; a value of another shape than its column's type (a source
/// bug) falls back to the OMS text as a string.
fn value(
    out: &mut Vec<u8>,
    opts: &FormatOptions,
    col: &Column,
    v: &Value,
    bits: BitBytes,
) -> Result<(), &'static str> {
    let offset = opts.source_time_zone_offset_secs as i64;
    match (DwType::of(col, opts.dataworks_temporal), v) {
        (_, Value::Null) => out.extend_from_slice(b"null"),
        (DwType::Long, Value::Int(i)) => json::int(out, *i),
        (DwType::Long, Value::UInt(u)) => json::uint(out, *u),
        (DwType::Double, Value::Float(f)) if f.is_finite() => render::float(out, *f as f64, *f),
        (DwType::Double, Value::Double(f)) if f.is_finite() => render::float(out, *f, *f),
        (DwType::Double, Value::Float(_) | Value::Double(_)) => {
            return Err("NaN and infinity are not JSON numbers")
        }
        (DwType::Boolean, Value::Bit(b)) => {
            out.extend_from_slice(if *b != 0 { b"true" } else { b"false" })
        }
        (DwType::Date, Value::Date(d)) => {
            if !render::is_calendar_date(d) {
                return Err("a zero or invalid date has no epoch milliseconds; set the DataWorks temporal option to Text");
            }
            let dt = DateTime {
                date: *d,
                hour: 0,
                minute: 0,
                second: 0,
                micros: 0,
            };
            json::int(out, wall_clock_ms(&dt, offset));
        }
        (DwType::Date, Value::DateTime(dt)) => {
            if !render::is_calendar_date(&dt.date) {
                return Err("a zero or invalid date has no epoch milliseconds; set the DataWorks temporal option to Text");
            }
            json::int(out, wall_clock_ms(dt, offset));
        }
        (DwType::Date, Value::Timestamp(ts)) => {
            // The zero TIMESTAMP is 0: 1970-01-01 00:00:00 UTC itself is not a valid
            // TIMESTAMP, so 0 cannot mean anything else.
            json::int(out, ts.secs * 1000 + (ts.micros / 1000) as i64)
        }
        (DwType::Bytes, Value::Bit(b)) => {
            out.push(b'"');
            render::base64(out, render::bit_bytes(*b, col.length, bits));
            out.push(b'"');
        }
        (_, other) => render::json_text(out, col, other, bits),
    }
    Ok(())
}

/// Epoch milliseconds of a wall clock in the source time zone.
fn wall_clock_ms(dt: &DateTime, offset_secs: i64) -> i64 {
    let ts = Timestamp::from_utc_datetime(dt);
    (ts.secs - offset_secs) * 1000 + (ts.micros / 1000) as i64
}

pub(crate) fn encode_ddl(
    opts: &FormatOptions,
    ddl: &Ddl<'_>,
    kind: DdlKind,
    ctx: &MessageContext,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"{\"schema\":{\"dataColumn\":null,\"primaryKey\":null,\"source\":");
    source(out, opts, ddl.database, ddl.table.unwrap_or(""));
    out.extend_from_slice(b"},\"payload\":{\"before\":null,\"after\":null,");
    json::field_u64_str(out, "sequenceId", ctx.sequence);
    out.push(b',');
    timestamps(out, ddl.timestamp as u64 * 1000, ctx);
    out.push(b',');
    json::field_str(out, "op", kind.canal_type());
    out.extend_from_slice(b",\"ddl\":{");
    json::field_str(out, "text", ddl.statement);
    out.extend_from_slice(b",\"ddlMeta\":null}},");
    json::field_str(out, "version", VERSION);
    out.push(b'}');
}

pub(crate) fn encode_heartbeat(_opts: &FormatOptions, ctx: &MessageContext, out: &mut Vec<u8>) {
    out.extend_from_slice(
        b"{\"schema\":{\"dataColumn\":null,\"primaryKey\":null,\"source\":null},\"payload\":{\"before\":null,\"after\":null,\"sequenceId\":null,",
    );
    timestamps(out, ctx.checkpoint_secs * 1000, ctx);
    out.extend_from_slice(b",\"op\":\"MHEARTBEAT\",\"ddl\":null},");
    json::field_str(out, "version", VERSION);
    out.push(b'}');
}

/// Reverses [`wall_clock_ms`] and the TIMESTAMP rule, for the decoder.
pub(crate) fn millis_to_value(col: &Column, ms: i64, offset_secs: i64) -> Value {
    let micros = (ms.rem_euclid(1000) * 1000) as u32;
    let secs = ms.div_euclid(1000);
    match col.kind {
        ColumnType::Timestamp => Value::Timestamp(Timestamp { secs, micros }),
        kind => {
            let dt = Timestamp {
                secs: secs + offset_secs,
                micros,
            }
            .to_utc_datetime();
            if kind == ColumnType::Date {
                Value::Date(dt.date)
            } else {
                Value::DateTime(dt)
            }
        }
    }
}
