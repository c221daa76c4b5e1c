//! Maxwell JSON (zendesk/maxwell's Kafka producer output), one row per message.
//!
//! Field order as Maxwell writes it: `database, table, type, ts, xid, xoffset, commit,
//! position, gtid, primary_key, primary_key_columns, data, old`. Values are typed JSON
//! the way Maxwell's column definitions render them (numbers as numbers, DECIMAL as a
//! JSON number in Java `BigDecimal` notation, binary as Base64, SET as an array, JSON
//! columns embedded, DATETIME/TIMESTAMP as UTC wall-clock text with the column's
//! fraction digits). `docs/formats.md` lists every type.
//!
//! Snapshot rows are Maxwell's bootstrap rows (`bootstrap-insert`, or `insert` as an
//! option: Flink's `maxwell-json` knows only insert/update/delete). The
//! `bootstrap-start`/`bootstrap-complete` records are not written: obsync's snapshot is
//! read in parallel key ranges and resumed per range, so there is no single start and
//! end of a table's bootstrap to mark, and the two records carry no row.

use crate::render::{self, BitBytes};
use crate::{json, FormatError, FormatOptions, Op, Record};
use obsync_model::{ColumnType, Row, Value};

/// Maxwell's `kafka_key_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxwellKeyFormat {
    /// `{"database":"shop","table":"orders","pk.id":1}` (Maxwell's default).
    #[default]
    Hash,
    /// `["shop","orders",[{"id":1}]]`.
    Array,
}

/// The `type` of full-sync rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxwellSnapshotType {
    /// `bootstrap-insert`, as Maxwell's bootstrap writes existing rows.
    #[default]
    BootstrapInsert,
    /// `insert`: Flink's `maxwell-json` rejects any other type than insert, update and
    /// delete.
    Insert,
}

/// Maxwell's `output_*` switches, with Maxwell's defaults. `output_commit_info` and
/// `output_nulls` are always on (Maxwell's defaults; consumers rely on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaxwellOptions {
    pub key_format: MaxwellKeyFormat,
    pub snapshot_type: MaxwellSnapshotType,
    /// `output_binlog_position`: `"position":"file:offset"`.
    pub binlog_position: bool,
    /// `output_gtid_position`: `"gtid":"…"` (null without GTIDs).
    pub gtid_position: bool,
    /// `output_xoffset`: the row's index in its transaction (not on the commit row).
    pub xoffset: bool,
    /// `output_primary_keys`: `"primary_key":[values]`.
    pub primary_keys: bool,
    /// `output_primary_key_columns`: `"primary_key_columns":[names]`.
    pub primary_key_columns: bool,
}

pub(crate) fn encode_key(
    opts: &FormatOptions,
    rec: &Record<'_>,
    key: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let table = rec.table;
    let data = data_image(rec);
    match opts.maxwell.key_format {
        MaxwellKeyFormat::Hash => {
            key.push(b'{');
            json::field_str(key, "database", &table.id.database);
            key.push(b',');
            json::field_str(key, "table", &table.id.table);
            if table.primary_key.is_empty() {
                // Maxwell writes a random UUID here; a name derived from the row and
                // its message keeps the key reproducible when a run is replayed.
                key.extend_from_slice(b",\"_uuid\":\"");
                row_uuid(key, rec, data);
                key.push(b'"');
            }
            for &i in &table.primary_key {
                key.extend_from_slice(b",\"pk.");
                lower_name(key, &table.columns[i].name);
                key.extend_from_slice(b"\":");
                value(key, rec, i, &data[i])?;
            }
            key.push(b'}');
        }
        MaxwellKeyFormat::Array => {
            key.push(b'[');
            json::string(key, &table.id.database);
            key.push(b',');
            json::string(key, &table.id.table);
            key.extend_from_slice(b",[");
            for (n, &i) in table.primary_key.iter().enumerate() {
                if n > 0 {
                    key.push(b',');
                }
                key.extend_from_slice(b"{\"");
                lower_name(key, &table.columns[i].name);
                key.extend_from_slice(b"\":");
                value(key, rec, i, &data[i])?;
                key.push(b'}');
            }
            key.extend_from_slice(b"]]");
        }
    }
    Ok(())
}

/// A key column's name lower-cased as Maxwell's keys have it (Java's `toLowerCase`),
/// escaped; without allocating for the usual lower-case ASCII name.
fn lower_name(out: &mut Vec<u8>, name: &str) {
    if name
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        json::escaped(out, &name.to_lowercase());
    } else {
        json::escaped(out, name);
    }
}

/// The image Maxwell calls `data`: the row after the change, the deleted row for a
/// DELETE.
fn data_image<'a>(rec: &Record<'a>) -> &'a Row {
    rec.change
        .row
        .after()
        .or(rec.change.row.before())
        .unwrap_or_else(|| rec.change.row.key_image())
}

pub(crate) fn encode_change(
    opts: &FormatOptions,
    rec: &Record<'_>,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let m = &opts.maxwell;
    let table = rec.table;
    let data = data_image(rec);
    out.push(b'{');
    json::field_str(out, "database", &table.id.database);
    out.push(b',');
    json::field_str(out, "table", &table.id.table);
    out.extend_from_slice(b",\"type\":\"");
    out.extend_from_slice(match (rec.op, m.snapshot_type) {
        (Op::Insert, _) | (Op::Snapshot, MaxwellSnapshotType::Insert) => b"insert",
        (Op::Snapshot, MaxwellSnapshotType::BootstrapInsert) => b"bootstrap-insert",
        (Op::Update, _) => b"update",
        (Op::Delete, _) => b"delete",
    });
    out.extend_from_slice(b"\",");
    json::field_u64(out, "ts", rec.event_secs());
    if let Some(txn) = rec.txn {
        if let Some(xid) = rec.ctx.xid {
            out.push(b',');
            json::field_u64(out, "xid", xid);
        }
        if let Some(pos) = rec.ctx.txn_sequence {
            let commit = pos.seq == pos.size;
            if m.xoffset && !commit {
                out.push(b',');
                json::field_u64(out, "xoffset", pos.seq.saturating_sub(1) as u64);
            }
            if commit {
                out.extend_from_slice(b",\"commit\":true");
            }
        }
        if m.binlog_position {
            out.extend_from_slice(b",\"position\":\"");
            crate::write_txn_coord(out, txn);
            out.push(b'"');
        }
        if m.gtid_position {
            out.extend_from_slice(b",\"gtid\":");
            match &txn.gtid {
                Some(g) => json::string(out, &g.0),
                None => out.extend_from_slice(b"null"),
            }
        }
    }
    if m.primary_keys {
        out.extend_from_slice(b",\"primary_key\":[");
        for (n, &i) in table.primary_key.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            value(out, rec, i, &data[i])?;
        }
        out.push(b']');
    }
    if m.primary_key_columns {
        out.extend_from_slice(b",\"primary_key_columns\":[");
        for (n, &i) in table.primary_key.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            json::string(out, &table.columns[i].name);
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"data\":{");
    for (i, (col, v)) in table.columns.iter().zip(data).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::key(out, &col.name);
        value(out, rec, i, v)?;
    }
    out.push(b'}');
    if let obsync_model::RowChange::Update { before, after } = &rec.change.row {
        // `old` holds the before values of the changed columns only, and only when
        // something changed (Maxwell leaves an empty `old` out).
        let mut first = true;
        for (i, col) in table.columns.iter().enumerate() {
            if before[i] == after[i] {
                continue;
            }
            out.extend_from_slice(if first { b",\"old\":{" } else { b"," });
            first = false;
            json::key(out, &col.name);
            value(out, rec, i, &before[i])?;
        }
        if !first {
            out.push(b'}');
        }
    }
    out.push(b'}');
    Ok(())
}

/// Appends one column value as Maxwell renders it.
fn value(out: &mut Vec<u8>, rec: &Record<'_>, i: usize, v: &Value) -> Result<(), FormatError> {
    let col = &rec.table.columns[i];
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Int(n) => json::int(out, *n),
        Value::UInt(n) | Value::Bit(n) => json::uint(out, *n),
        Value::Decimal(d) => big_decimal(out, d),
        Value::Float(f) => render::java_float(out, *f as f64, true),
        Value::Double(f) => render::java_float(out, *f, false),
        Value::Date(d) => {
            out.push(b'"');
            render::date(out, d);
            out.push(b'"');
        }
        Value::DateTime(dt) => {
            out.push(b'"');
            render::datetime(out, dt, render::fsp(col));
            out.push(b'"');
        }
        Value::Timestamp(ts) => {
            out.push(b'"');
            if render::is_zero_timestamp(ts) {
                out.extend_from_slice(b"0000-00-00 00:00:00");
                render::fraction(out, 0, render::fsp(col));
            } else {
                render::datetime(out, &ts.to_utc_datetime(), render::fsp(col));
            }
            out.push(b'"');
        }
        Value::Time(t) => {
            out.push(b'"');
            render::time(out, t, render::fsp(col));
            out.push(b'"');
        }
        Value::Year(y) => json::uint(out, *y as u64),
        Value::Text(s) => match col.kind {
            ColumnType::Set => set_array(out, s),
            ColumnType::Json => embedded_json(out, s),
            _ => json::string(out, s),
        },
        Value::Bytes(b) if col.kind == ColumnType::Geometry => {
            out.push(b'"');
            if !crate::wkt::write(out, b) {
                return Err(rec.unrepresentable(
                    crate::FormatKind::Maxwell,
                    i,
                    "the GEOMETRY value is not MySQL's SRID + WKB encoding",
                ));
            }
            out.push(b'"');
        }
        Value::Bytes(b) => {
            out.push(b'"');
            render::base64(out, b);
            out.push(b'"');
        }
    }
    Ok(())
}

/// A SET value as a JSON array of its labels (`[]` for the empty set).
fn set_array(out: &mut Vec<u8>, labels: &str) {
    out.push(b'[');
    if !labels.is_empty() {
        for (n, label) in labels.split(',').enumerate() {
            if n > 0 {
                out.push(b',');
            }
            json::string(out, label);
        }
    }
    out.push(b']');
}

/// A JSON column's document embedded as JSON (Maxwell writes it raw). Text that is not
/// valid JSON (possible in a MariaDB `JSON` column, an alias of LONGTEXT) is written
/// as a JSON string instead, so the record stays parseable.
fn embedded_json(out: &mut Vec<u8>, doc: &str) {
    let trimmed = doc.trim();
    if trimmed.is_empty() {
        out.extend_from_slice(b"null");
    } else if serde_json::from_str::<serde::de::IgnoredAny>(trimmed).is_ok() {
        out.extend_from_slice(trimmed.as_bytes());
    } else {
        json::string(out, doc);
    }
}

/// DECIMAL text in Java's `BigDecimal.toString()` notation, which Jackson writes for
/// Maxwell: plain digits unless the adjusted exponent is below -6, then `d.dddE-n`
/// (`0.000000000000000000000000000000` is `0E-30`, `0.0000001` is `1E-7`).
fn big_decimal(out: &mut Vec<u8>, text: &str) {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let scale = frac_part.len() as i64;
    let all = || int_part.bytes().chain(frac_part.bytes());
    let total = int_part.len() + frac_part.len();
    // Significant digits of the unscaled value (a zero keeps one digit).
    let leading_zeros = all().take_while(|&b| b == b'0').count().min(total - 1);
    let adjusted = (total - leading_zeros) as i64 - 1 - scale;
    if adjusted >= -6 {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    // Rare (a value below 1e-6): worth an allocation.
    let unscaled: Vec<u8> = all().skip(leading_zeros).collect();
    if negative {
        out.push(b'-');
    }
    out.push(unscaled[0]);
    if unscaled.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&unscaled[1..]);
    }
    out.push(b'E');
    json::int(out, adjusted);
}

/// A UUID-shaped name for a key-less row: FNV-1a over the table, the row's values and
/// the message's numbers (`storeDataSequence`, message id), laid out as a version-8
/// UUID.
fn row_uuid(out: &mut Vec<u8>, rec: &Record<'_>, data: &Row) {
    let mut text = Vec::with_capacity(128);
    text.extend_from_slice(rec.table.id.to_string().as_bytes());
    for (col, v) in rec.table.columns.iter().zip(data) {
        text.push(0);
        render::text(&mut text, col, v, BitBytes::Full, false);
    }
    let hi = fnv1a(&text, 0xcbf2_9ce4_8422_2325) ^ rec.ctx.sequence;
    let lo = fnv1a(&text, 0x8422_2325_cbf2_9ce4) ^ rec.ctx.message_id;
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (n, b) in bytes.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
}

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(seed, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> String {
        let mut out = Vec::new();
        big_decimal(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn decimals_follow_big_decimal_to_string() {
        assert_eq!(dec("12.50"), "12.50");
        assert_eq!(dec("-12.50"), "-12.50");
        assert_eq!(dec("0"), "0");
        assert_eq!(dec("0.000001"), "0.000001");
        assert_eq!(dec("0.0000001"), "1E-7");
        assert_eq!(dec("-0.00000012"), "-1.2E-7");
        assert_eq!(dec("0.000000000000000000000000000000"), "0E-30");
        assert_eq!(dec("0.00"), "0.00");
        assert_eq!(dec("100.0000000"), "100.0000000");
    }

    #[test]
    fn sets_are_arrays_of_labels() {
        let mut out = Vec::new();
        set_array(&mut out, "x,z");
        set_array(&mut out, "");
        assert_eq!(out, br#"["x","z"][]"#);
    }

    #[test]
    fn invalid_json_documents_become_strings() {
        let mut out = Vec::new();
        embedded_json(&mut out, r#"{"a": [1, 2]}"#);
        out.push(b' ');
        embedded_json(&mut out, "{oops");
        out.push(b' ');
        embedded_json(&mut out, "");
        assert_eq!(out, br#"{"a": [1, 2]} "{oops" null"#);
    }
}
