//! Masking a capture's row values while keeping every event decodable.
//!
//! What `--mask` changes, in every rows event of every table (not only the chosen
//! ones: a dump carries the whole server's traffic):
//! - integers (TINYINT … BIGINT, YEAR): other bytes of the same width;
//! - FLOAT / DOUBLE: another finite number (0 to 9,999.99);
//! - DECIMAL: other digits of the column's precision and scale;
//! - CHAR, VARCHAR, BINARY, VARBINARY, TEXT, BLOB, GEOMETRY and MariaDB's JSON
//!   (LONGTEXT): the same number of bytes, each a lowercase hex digit (`0-9a-f`);
//! - MySQL's binary JSON: a JSON string of the same encoded size.
//!
//! The statement text of `ANNOTATE_ROWS` (MariaDB), `ROWS_QUERY` (MySQL) and of query
//! events that are not transaction control or DDL (statement-based DML, account
//! statements) becomes a `/*…*/` comment of the same length.
//!
//! What it keeps: every event's type, size and position; table and column names, types
//! and metadata (TABLE_MAP); which values are NULL; the row count and kind of every
//! change; DDL statements (with their DEFAULT values); GTIDs, transaction boundaries
//! and timestamps; ENUM and SET values (an index into the column's labels); BIT values;
//! DATE, TIME, DATETIME and TIMESTAMP values (time bugs are a common reason to capture).
//! Equal values of one column type become equal masked values within one capture (a
//! keyed hash whose random key is never written), so an update's before image still
//! matches the insert before it; the source's values cannot be recovered from them.
//!
//! Refused (the capture stops with [`MaskError`]): events whose rows cannot be walked
//! safely: compressed transactions (MySQL's `TRANSACTION_PAYLOAD`, MariaDB's compressed
//! events), `PARTIAL_UPDATE_ROWS` (JSON diffs) and column types not listed above.

use mysql_common::binlog::consts::BinlogChecksumAlg;
use mysql_common::binlog::events::{Event, EventData, RowsEventData, TableMapEvent};
use mysql_common::binlog::value::BinlogValue;
use mysql_common::constants::ColumnType;
use mysql_common::io::ParseBuf;
use mysql_common::proto::MyDeserialize;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// The v4 event header's size.
const HEADER_LEN: usize = 19;
/// MySQL's `ROWS_QUERY_LOG_EVENT`.
const ROWS_QUERY: u8 = 29;
/// MySQL's `PARTIAL_UPDATE_ROWS_EVENT`.
const PARTIAL_UPDATE_ROWS: u8 = 39;
/// MySQL's `TRANSACTION_PAYLOAD_EVENT` (compressed transactions).
const TRANSACTION_PAYLOAD: u8 = 40;
/// MariaDB's `ANNOTATE_ROWS_EVENT`.
const ANNOTATE_ROWS: u8 = 160;
/// MariaDB's compressed query and rows events.
const MARIADB_COMPRESSED: std::ops::RangeInclusive<u8> = 165..=171;

/// Why an event cannot be masked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MaskError {
    #[error("cannot mask event {event_type} ({what}) ending at offset {log_pos}: capture without --mask, or turn the feature off on the source for the capture")]
    Unsupported {
        event_type: u8,
        log_pos: u32,
        what: String,
    },
    #[error("cannot mask the rows event ending at offset {log_pos}: {reason}; capture without --mask and report this")]
    Malformed { log_pos: u32, reason: String },
}

/// Masks the events of one dump, in order (it learns the table maps as they pass).
pub struct Masker {
    /// SipHash with a random key from the standard library: a keyed hash (so masked
    /// values cannot be brute-forced back without the key, which is never written),
    /// deterministic within this capture, with no extra dependency.
    key: RandomState,
    tables: HashMap<u64, TableMapEvent<'static>>,
}

impl Default for Masker {
    fn default() -> Self {
        Self::new()
    }
}

impl Masker {
    pub fn new() -> Self {
        Self {
            key: RandomState::new(),
            tables: HashMap::new(),
        }
    }

    /// Masks `bytes`, the serialized form of `event` (header, body, checksum), in place.
    pub fn mask(&mut self, event: &Event, bytes: &mut [u8]) -> Result<(), MaskError> {
        let header = event.header();
        let ty = header.event_type_raw();
        let log_pos = header.log_pos();
        let unsupported = |what: &str| MaskError::Unsupported {
            event_type: ty,
            log_pos,
            what: what.to_string(),
        };
        if ty == TRANSACTION_PAYLOAD {
            return Err(unsupported(
                "a compressed transaction: set binlog_transaction_compression=OFF",
            ));
        }
        if MARIADB_COMPRESSED.contains(&ty) {
            return Err(unsupported("a compressed event: set log_bin_compress=OFF"));
        }
        if ty == PARTIAL_UPDATE_ROWS {
            return Err(unsupported(
                "a partial JSON update: set binlog_row_value_options='' (MySQL)",
            ));
        }
        let data_len = event.data().len();
        let changed = match ty {
            ANNOTATE_ROWS => {
                comment_out(&mut bytes[HEADER_LEN..HEADER_LEN + data_len]);
                true
            }
            ROWS_QUERY => {
                // One length byte (ignored by servers), then the statement.
                comment_out(&mut bytes[HEADER_LEN + 1..HEADER_LEN + data_len]);
                true
            }
            _ => self.mask_parsed(event, &mut bytes[HEADER_LEN..HEADER_LEN + data_len])?,
        };
        if changed && checksummed(event) {
            let n = bytes.len() - 4;
            let crc = crc32fast::hash(&bytes[..n]);
            bytes[n..].copy_from_slice(&crc.to_le_bytes());
        }
        Ok(())
    }

    /// Table maps are learned; rows and query statements masked in `data` (the body).
    fn mask_parsed(&mut self, event: &Event, data: &mut [u8]) -> Result<bool, MaskError> {
        let log_pos = event.header().log_pos();
        let malformed = |reason: String| MaskError::Malformed { log_pos, reason };
        let parsed = match event.read_data() {
            Ok(Some(parsed)) => parsed,
            // Events mysql_common does not parse carry no row values.
            Ok(None) | Err(_) => return Ok(false),
        };
        match parsed {
            EventData::TableMapEvent(tme) => {
                self.tables.insert(tme.table_id(), tme.into_owned());
                Ok(false)
            }
            EventData::QueryEvent(q) => {
                let len = q.query_raw().len();
                if keeps_statement(q.query_raw()) {
                    return Ok(false);
                }
                let at = data.len() - len;
                comment_out(&mut data[at..]);
                Ok(true)
            }
            EventData::RowsEvent(rows) => {
                let Some(tme) = self.tables.get(&rows.table_id()) else {
                    return Err(malformed(format!(
                        "no table map for table id {}",
                        rows.table_id()
                    )));
                };
                let spans = value_spans(&rows, tme).map_err(malformed)?;
                let rows_len = rows.rows_data().len();
                let at = data.len() - rows_len;
                for span in spans {
                    let range = at + span.start..at + span.end;
                    self.mask_value(span.column_type, span.meta, &mut data[range])
                        .map_err(|what| MaskError::Unsupported {
                            event_type: event.header().event_type_raw(),
                            log_pos,
                            what,
                        })?;
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// `n` pseudo-random bytes determined by `value` (and the capture's key).
    fn pseudonym(&self, class: u8, value: &[u8], n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        let mut counter = 0u64;
        while out.len() < n {
            out.extend_from_slice(&self.key.hash_one((class, counter, value)).to_le_bytes());
            counter += 1;
        }
        out.truncate(n);
        out
    }

    /// Replaces one value's bytes (`value`, its whole encoding) by a masked value of
    /// the same type and size; the error names a type that cannot be masked.
    fn mask_value(&self, ty: ColumnType, meta: [u8; 2], value: &mut [u8]) -> Result<(), String> {
        use ColumnType::*;
        let original = value.to_vec();
        let class = ty as u8;
        match ty {
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => {
                value.copy_from_slice(&self.pseudonym(class, &original, value.len()));
            }
            MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => {
                let h =
                    u64::from_le_bytes(self.pseudonym(class, &original, 8).try_into().expect("8"));
                let x = (h % 1_000_000) as f64 / 100.0;
                if value.len() == 4 {
                    value.copy_from_slice(&(x as f32).to_le_bytes());
                } else {
                    value.copy_from_slice(&x.to_le_bytes());
                }
            }
            MYSQL_TYPE_NEWDECIMAL => {
                let digits = self.pseudonym(class, &original, 128);
                value.copy_from_slice(&decimal_bytes(meta[0], meta[1], &digits, value.len()));
            }
            MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_STRING => {
                let prefix = if string_max_len(ty, meta) > 255 { 2 } else { 1 };
                hex_fill(
                    &self.pseudonym(class, &original, value.len()),
                    &mut value[prefix..],
                );
            }
            MYSQL_TYPE_BLOB
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_GEOMETRY => {
                let prefix = meta[0] as usize;
                hex_fill(
                    &self.pseudonym(class, &original, value.len()),
                    &mut value[prefix..],
                );
            }
            MYSQL_TYPE_JSON => {
                let prefix = meta[0] as usize;
                let noise = self.pseudonym(class, &original, value.len());
                json_string_fill(&noise, &mut value[prefix..]);
            }
            MYSQL_TYPE_ENUM
            | MYSQL_TYPE_SET
            | MYSQL_TYPE_BIT
            | MYSQL_TYPE_DATE
            | MYSQL_TYPE_NEWDATE
            | MYSQL_TYPE_TIME
            | MYSQL_TYPE_TIME2
            | MYSQL_TYPE_DATETIME
            | MYSQL_TYPE_DATETIME2
            | MYSQL_TYPE_TIMESTAMP
            | MYSQL_TYPE_TIMESTAMP2 => {}
            other => return Err(format!("a column of type {other:?}")),
        }
        Ok(())
    }
}

/// Whether the event ends with a CRC32 that covers it.
fn checksummed(event: &Event) -> bool {
    matches!(
        event.footer().get_checksum_alg(),
        Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32))
    )
}

/// Overwrites a statement with a comment of the same length (`*` for fewer than 4 bytes).
fn comment_out(text: &mut [u8]) {
    text.fill(b'*');
    if text.len() >= 4 {
        let n = text.len();
        text[0] = b'/';
        text[n - 1] = b'/';
    }
}

/// Statements a capture keeps readable: transaction control and DDL (but not account
/// statements, which may carry passwords).
fn keeps_statement(sql: &[u8]) -> bool {
    let text = String::from_utf8_lossy(sql);
    let mut words = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_uppercase());
    let first = words.next().unwrap_or_default();
    match first.as_str() {
        "BEGIN" | "COMMIT" | "ROLLBACK" | "XA" | "SAVEPOINT" | "RELEASE" | "TRUNCATE"
        | "RENAME" => !matches!(words.next().as_deref(), Some("USER")),
        "CREATE" | "ALTER" | "DROP" => {
            // `CREATE [OR REPLACE] [DEFINER=…] USER/ROLE/SERVER …` carry secrets.
            !words
                .take(4)
                .any(|w| matches!(w.as_str(), "USER" | "ROLE" | "SERVER"))
        }
        _ => false,
    }
}

/// One value's place in a rows event's row data.
struct Span {
    start: usize,
    end: usize,
    column_type: ColumnType,
    meta: [u8; 2],
}

/// Where each non-NULL value of every row image of `rows` lies in its row data,
/// measured by decoding each value with mysql_common (the only decoder that knows every
/// type's length rule), so the spans are exactly what a reader parses.
fn value_spans(rows: &RowsEventData<'_>, tme: &TableMapEvent<'_>) -> Result<Vec<Span>, String> {
    let data = rows.rows_data();
    let num_columns = rows.num_columns() as usize;
    let images: Vec<_> = [rows.columns_before_image(), rows.columns_after_image()]
        .into_iter()
        .flatten()
        .collect();
    let mut spans = Vec::new();
    let mut buf = ParseBuf(data);
    while !buf.is_empty() {
        for cols in &images {
            let present = cols.count_ones();
            let bitmap = buf
                .checked_eat(present.div_ceil(8))
                .ok_or("a row's NULL bitmap is cut short")?;
            let mut image_index = 0;
            for i in 0..num_columns {
                if !cols.get(i).is_some_and(|b| *b) {
                    continue;
                }
                let is_null = bitmap[image_index / 8] & (1 << (image_index % 8)) != 0;
                image_index += 1;
                if is_null {
                    continue;
                }
                let column_type = tme
                    .get_column_type(i)
                    .map_err(|e| e.to_string())?
                    .ok_or("the table map has fewer columns than the rows")?;
                let meta = tme.get_column_metadata(i).unwrap_or(&[]);
                let start = data.len() - buf.len();
                BinlogValue::deserialize((column_type, meta, false, false), &mut buf)
                    .map_err(|e| format!("column {}: {e}", i + 1))?;
                let mut m = [0u8; 2];
                for (d, s) in m.iter_mut().zip(meta) {
                    *d = *s;
                }
                spans.push(Span {
                    start,
                    end: data.len() - buf.len(),
                    column_type,
                    meta: m,
                });
            }
        }
    }
    Ok(spans)
}

/// The declared maximum byte length of a CHAR/VARCHAR column, from its table-map
/// metadata, which decides the size of the value's length prefix.
fn string_max_len(ty: ColumnType, meta: [u8; 2]) -> usize {
    match ty {
        ColumnType::MYSQL_TYPE_STRING => {
            let (b0, b1) = (meta[0] as usize, meta[1] as usize);
            // Long CHAR columns keep two bits of the length in the type byte.
            if b0 & 0x30 != 0x30 {
                b1 | (((b0 & 0x30) ^ 0x30) << 4)
            } else {
                b1
            }
        }
        _ => u16::from_le_bytes(meta) as usize,
    }
}

fn hex_fill(noise: &[u8], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (o, n) in out.iter_mut().zip(noise) {
        *o = HEX[(n & 0xf) as usize];
    }
}

/// Writes a binary-JSON string value of exactly `out.len()` bytes (type byte, the
/// variable-length size, the text), or leaves an empty value as it is.
fn json_string_fill(noise: &[u8], out: &mut [u8]) {
    let total = out.len();
    if total < 2 {
        return;
    }
    // The size prefix takes 7 bits a byte. Some totals (130: 1 + 1 + 128 is too long,
    // 1 + 2 + 127 has a 1-byte size) need the size padded with a continuation byte,
    // which readers accept (they read 7-bit groups while the high bit is set).
    let (len_bytes, text_len) = (1..=5usize)
        .filter(|&k| k < total)
        .map(|k| (k, total - 1 - k))
        .find(|&(k, n)| varlen_size(n) <= k)
        .unwrap_or((1, total - 2));
    out[0] = 0x0c; // JSONB_TYPE_STRING
    let mut n = text_len;
    for b in out[1..1 + len_bytes].iter_mut() {
        *b = (n & 0x7f) as u8;
        n >>= 7;
    }
    for b in out[1..len_bytes].iter_mut() {
        *b |= 0x80;
    }
    hex_fill(noise, &mut out[1 + len_bytes..]);
}

fn varlen_size(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

/// A DECIMAL(`precision`, `scale`) value of `size` bytes with digits from `noise`, in
/// MySQL's binary decimal format; zero when the digits do not fit the size.
fn decimal_bytes(precision: u8, scale: u8, noise: &[u8], size: usize) -> Vec<u8> {
    let intg = precision.saturating_sub(scale) as usize;
    let digit = |i: usize| (b'0' + noise[i % noise.len()] % 10) as char;
    let mut text = String::new();
    if intg == 0 {
        text.push('0');
    }
    for i in 0..intg {
        // A leading non-zero digit keeps the integer part's width.
        let d = if i == 0 {
            (b'1' + noise[0] % 9) as char
        } else {
            digit(i)
        };
        text.push(d);
    }
    if scale > 0 {
        text.push('.');
        text.extend((0..scale as usize).map(|i| digit(intg + i)));
    }
    let mut out = Vec::with_capacity(size);
    let ok = mysql_common::binlog::decimal::Decimal::parse_str_bytes(text.as_bytes())
        .ok()
        .filter(|d| d.bin_size() == size)
        .is_some_and(|d| d.write_bin(&mut out).is_ok());
    if !ok || out.len() != size {
        // Zero in any size: the sign bit set, every digit 0.
        out = vec![0; size];
        out[0] = 0x80;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_kept_readable_are_transaction_control_and_ddl_without_secrets() {
        assert!(keeps_statement(b"BEGIN"));
        assert!(keeps_statement(b"ALTER TABLE t ADD c INT"));
        assert!(keeps_statement(b"create table t (id int)"));
        assert!(!keeps_statement(b"INSERT INTO t VALUES (1)"));
        assert!(!keeps_statement(b"CREATE USER u IDENTIFIED BY 'secret'"));
        assert!(!keeps_statement(b"CREATE OR REPLACE USER u"));
        assert!(!keeps_statement(b"GRANT ALL ON *.* TO u"));
    }

    #[test]
    fn a_masked_json_string_has_the_original_encoded_size() {
        for total in [2usize, 3, 100, 129, 130, 131, 20_000] {
            let mut out = vec![0u8; total];
            json_string_fill(&[7u8; 64], &mut out);
            let mut buf = ParseBuf(&out);
            let v = mysql_common::binlog::jsonb::Value::deserialize((), &mut buf).unwrap();
            assert!(
                buf.is_empty(),
                "size {total}: the whole value is the string"
            );
            assert!(
                matches!(v, mysql_common::binlog::jsonb::Value::String(_)),
                "size {total}"
            );
        }
    }

    #[test]
    fn a_masked_decimal_has_the_columns_size_and_other_digits() {
        for (p, s) in [(10u8, 2u8), (30, 10), (5, 5), (65, 30), (1, 0)] {
            let size = mysql_common::binlog::decimal::decimal_bin_size(p as usize, s as usize);
            let out = decimal_bytes(p, s, &[3, 141, 59, 26, 5], size);
            assert_eq!(out.len(), size);
            let d = mysql_common::binlog::decimal::Decimal::read_bin(
                &out[..],
                p as usize,
                s as usize,
                false,
            )
            .unwrap();
            assert_ne!(d.to_string(), "0", "DECIMAL({p},{s})");
        }
    }
}
