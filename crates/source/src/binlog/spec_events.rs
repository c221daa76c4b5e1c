//! Test support: binlog events built byte by byte to the MySQL binlog specification
//! (MySQL's "Binary Log" source documentation: `binlog_event.h`, `rows_event.h`,
//! `control_events.h`, `rpl_record.h`, `json_binary.h`), for the dialects no server on
//! these machines writes: OceanBase's Binlog Service (TABLE_MAP without optional
//! metadata, partial JSON updates, heartbeats repeating the last event's timestamp)
//! and MySQL 8 (`HEARTBEAT_LOG_EVENT_V2`, zstd `TRANSACTION_PAYLOAD_EVENT`).
//!
//! Nothing here uses mysql_common to *write* an event: the bytes come from the layouts
//! below, so decoding them with mysql_common (as the reader does) checks our reading
//! of the specification, not the crate against itself. Each event is a v4 header
//! (timestamp u32, type u8, server id u32, size u32, next position u32, flags u16),
//! the body, and (outside a transaction payload) a CRC32 of both.

use serde_json::Value as Json;

pub const ROTATE: u8 = 4;
pub const PREVIOUS_GTIDS: u8 = 35;
pub const TABLE_MAP: u8 = 19;
pub const QUERY: u8 = 2;
pub const XID: u8 = 16;
pub const HEARTBEAT: u8 = 27;
pub const WRITE_ROWS: u8 = 30;
pub const GTID: u8 = 33;
pub const PAYLOAD: u8 = 40;
pub const PARTIAL_UPDATE_ROWS: u8 = 39;
pub const HEARTBEAT_V2: u8 = 41;

// Wire column types (`enum_field_types`).
pub const T_TINY: u8 = 1;
pub const T_LONG: u8 = 3;
pub const T_LONGLONG: u8 = 8;
pub const T_VARCHAR: u8 = 15;
pub const T_JSON: u8 = 245;

/// A binlog file being written: the offset where the next event starts.
pub struct Log {
    pub next: u32,
    pub server_id: u32,
}

impl Log {
    /// A logged event ending at the new `next`, with its CRC32.
    pub fn event(&mut self, ty: u8, timestamp: u32, body: &[u8]) -> Vec<u8> {
        let size = 19 + body.len() as u32 + 4;
        self.next += size;
        let mut r = header(ty, timestamp, self.server_id, size, self.next, 0);
        r.extend_from_slice(body);
        let crc = crc32fast::hash(&r);
        r.extend_from_slice(&crc.to_le_bytes());
        r
    }

    /// An event as it sits inside a transaction payload: no position, no checksum.
    pub fn inner(&self, ty: u8, timestamp: u32, body: &[u8]) -> Vec<u8> {
        let size = 19 + body.len() as u32;
        let mut r = header(ty, timestamp, self.server_id, size, 0, 0);
        r.extend_from_slice(body);
        r
    }

    /// A heartbeat: not logged, so `next` does not move; its header's next position is
    /// where the server waits.
    pub fn heartbeat(&self, timestamp: u32, file: &str) -> Vec<u8> {
        let size = 19 + file.len() as u32 + 4;
        let mut r = header(HEARTBEAT, timestamp, self.server_id, size, self.next, 0);
        r.extend_from_slice(file.as_bytes());
        let crc = crc32fast::hash(&r);
        r.extend_from_slice(&crc.to_le_bytes());
        r
    }

    /// A `HEARTBEAT_LOG_EVENT_V2`: file and 64-bit offset as typed body fields
    /// (type, length, value as packed integers; 1 = file name, 2 = position, 0 = end).
    pub fn heartbeat_v2(&self, timestamp: u32, file: &str, pos: u64) -> Vec<u8> {
        let mut body = Vec::new();
        lenenc(&mut body, 1);
        lenenc(&mut body, file.len() as u64);
        body.extend_from_slice(file.as_bytes());
        let mut p = Vec::new();
        lenenc(&mut p, pos);
        lenenc(&mut body, 2);
        lenenc(&mut body, p.len() as u64);
        body.extend_from_slice(&p);
        lenenc(&mut body, 0);
        let size = 19 + body.len() as u32 + 4;
        let mut r = header(HEARTBEAT_V2, timestamp, self.server_id, size, 0, 0);
        r.extend_from_slice(&body);
        let crc = crc32fast::hash(&r);
        r.extend_from_slice(&crc.to_le_bytes());
        r
    }
}

fn header(ty: u8, timestamp: u32, server_id: u32, size: u32, next: u32, flags: u16) -> Vec<u8> {
    let mut r = Vec::with_capacity(size as usize);
    r.extend_from_slice(&timestamp.to_le_bytes());
    r.push(ty);
    r.extend_from_slice(&server_id.to_le_bytes());
    r.extend_from_slice(&size.to_le_bytes());
    r.extend_from_slice(&next.to_le_bytes());
    r.extend_from_slice(&flags.to_le_bytes());
    r
}

/// A packed ("length-encoded") integer.
pub fn lenenc(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=250 => out.push(v as u8),
        251..=0xFFFF => {
            out.push(0xFC);
            out.extend_from_slice(&(v as u16).to_le_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            out.push(0xFD);
            out.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xFE);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// `GTID_LOG_EVENT` body in MySQL 5.7's form (what a 5.7.38 format description
/// announces): flags, source uuid, transaction number, logical-clock type 2, last
/// committed, sequence number.
pub fn gtid(uuid: [u8; 16], gno: u64) -> Vec<u8> {
    let mut b = vec![1];
    b.extend_from_slice(&uuid);
    b.extend_from_slice(&gno.to_le_bytes());
    b.push(2);
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes());
    b
}

/// `QUERY_EVENT` body: thread id, execution time, schema length, error code, no
/// status variables, the schema with its NUL, the statement.
pub fn query(schema: &str, sql: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.push(schema.len() as u8);
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(schema.as_bytes());
    b.push(0);
    b.extend_from_slice(sql.as_bytes());
    b
}

/// `ROTATE_EVENT` body: the next file's first offset (u64) and its name.
pub fn rotate(next_file: &str) -> Vec<u8> {
    let mut b = 4u64.to_le_bytes().to_vec();
    b.extend_from_slice(next_file.as_bytes());
    b
}

/// One source's transactions: its uuid and inclusive `(first, last)` ranges.
pub type SourceRanges<'a> = ([u8; 16], &'a [(u64, u64)]);

/// `PREVIOUS_GTIDS_LOG_EVENT` body: the number of sources (u64), then per source its
/// uuid, the number of intervals (u64) and each interval as start and exclusive end
/// (i64 each).
pub fn previous_gtids(sets: &[SourceRanges<'_>]) -> Vec<u8> {
    let mut b = (sets.len() as u64).to_le_bytes().to_vec();
    for (uuid, intervals) in sets {
        b.extend_from_slice(uuid);
        b.extend_from_slice(&(intervals.len() as u64).to_le_bytes());
        for (first, last) in *intervals {
            b.extend_from_slice(&first.to_le_bytes());
            b.extend_from_slice(&(last + 1).to_le_bytes());
        }
    }
    b
}

pub fn xid(x: u64) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}

/// `TABLE_MAP_EVENT` body **without optional metadata**, as OceanBase's Binlog Service
/// writes it: table id (6 bytes), flags, schema and table names (length byte, name,
/// NUL), column count, column types, type metadata (packed length, then per type:
/// VARCHAR 2 bytes max length, JSON 1 byte length size, integers none), the nullable
/// bitmap — and nothing after it (no signedness, names or keys).
pub fn table_map(table_id: u64, db: &str, table: &str, cols: &[(u8, &[u8])]) -> Vec<u8> {
    let mut b = table_id.to_le_bytes()[..6].to_vec();
    b.extend_from_slice(&1u16.to_le_bytes());
    for name in [db, table] {
        b.push(name.len() as u8);
        b.extend_from_slice(name.as_bytes());
        b.push(0);
    }
    lenenc(&mut b, cols.len() as u64);
    b.extend(cols.iter().map(|(t, _)| *t));
    let meta: Vec<u8> = cols.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    lenenc(&mut b, meta.len() as u64);
    b.extend_from_slice(&meta);
    b.extend(std::iter::repeat_n(0xFF, cols.len().div_ceil(8)));
    b
}

/// A v2 rows event body: table id, flags (end of statement), extra-data length 2
/// (none), column count, the column bitmap(s) — all columns present — then `rows`.
pub fn rows(table_id: u64, ncols: usize, images: usize, rows: &[u8]) -> Vec<u8> {
    let mut b = table_id.to_le_bytes()[..6].to_vec();
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    lenenc(&mut b, ncols as u64);
    for _ in 0..images {
        b.extend(all_present(ncols));
    }
    b.extend_from_slice(rows);
    b
}

/// [`rows`] for an update whose before image holds only the columns `before` marks
/// (`binlog_row_image=MINIMAL`: the key) and whose after image holds all of them.
pub fn rows_with_before(table_id: u64, before: &[bool], rows: &[u8]) -> Vec<u8> {
    let mut b = table_id.to_le_bytes()[..6].to_vec();
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    lenenc(&mut b, before.len() as u64);
    let mut bits = vec![0u8; before.len().div_ceil(8)];
    for (i, present) in before.iter().enumerate() {
        if *present {
            bits[i / 8] |= 1 << (i % 8);
        }
    }
    b.extend(bits);
    b.extend(all_present(before.len()));
    b.extend_from_slice(rows);
    b
}

fn all_present(n: usize) -> Vec<u8> {
    let mut bits = vec![0u8; n.div_ceil(8)];
    for i in 0..n {
        bits[i / 8] |= 1 << (i % 8);
    }
    bits
}

/// One value of a row image.
pub enum Cell {
    Null,
    /// Fixed-size integer bytes, little-endian, as the column's width.
    Int(Vec<u8>),
    /// VARCHAR below 256 bytes: one length byte, then the bytes.
    Str(String),
    /// JSON: 4-byte length, then the binary document.
    Json(Json),
    /// A partial JSON after-image value: 4-byte length, then the diffs.
    Diffs(Vec<u8>),
}

/// A row image: NULL bitmap over the present columns, then the non-NULL values.
pub fn image(cells: &[Cell]) -> Vec<u8> {
    let mut nulls = vec![0u8; cells.len().div_ceil(8)];
    let mut values = Vec::new();
    for (i, c) in cells.iter().enumerate() {
        match c {
            Cell::Null => nulls[i / 8] |= 1 << (i % 8),
            Cell::Int(b) => values.extend_from_slice(b),
            Cell::Str(s) => {
                values.push(s.len() as u8);
                values.extend_from_slice(s.as_bytes());
            }
            Cell::Json(j) => {
                let doc = jsonb(j);
                values.extend_from_slice(&(doc.len() as u32).to_le_bytes());
                values.extend_from_slice(&doc);
            }
            Cell::Diffs(d) => {
                values.extend_from_slice(&(d.len() as u32).to_le_bytes());
                values.extend_from_slice(d);
            }
        }
    }
    nulls.extend(values);
    nulls
}

/// A partial update's shared image: value options 1 (PARTIAL_JSON_UPDATES), then one
/// bit per JSON column of the table (1: the after image holds diffs).
pub fn shared_image(partial: &[bool]) -> Vec<u8> {
    let mut b = vec![1];
    let mut bits = vec![0u8; partial.len().div_ceil(8)];
    for (i, p) in partial.iter().enumerate() {
        if *p {
            bits[i / 8] |= 1 << (i % 8);
        }
    }
    b.extend(bits);
    b
}

/// One JSON diff: operation (0 replace, 1 insert, 2 remove), the path as a packed
/// length and text, and (not for remove) the value as a packed length and a binary
/// document.
pub fn diff(op: u8, path: &str, value: Option<&Json>) -> Vec<u8> {
    let mut b = vec![op];
    lenenc(&mut b, path.len() as u64);
    b.extend_from_slice(path.as_bytes());
    if let Some(v) = value {
        let doc = jsonb(v);
        lenenc(&mut b, doc.len() as u64);
        b.extend_from_slice(&doc);
    }
    b
}

/// A `TRANSACTION_PAYLOAD_EVENT` body: typed header fields (type, length, value as
/// packed integers: 2 compression type 0 = zstd, 3 uncompressed size, 1 payload size,
/// 0 end), then the zstd frame of the inner events.
pub fn payload(inner: &[Vec<u8>]) -> Vec<u8> {
    let raw: Vec<u8> = inner.concat();
    let compressed = zstd::encode_all(&raw[..], 3).expect("zstd compresses");
    let mut b = Vec::new();
    for (field, value) in [
        (2u64, 0u64),
        (3, raw.len() as u64),
        (1, compressed.len() as u64),
    ] {
        let mut v = Vec::new();
        lenenc(&mut v, value);
        lenenc(&mut b, field);
        lenenc(&mut b, v.len() as u64);
        b.extend(v);
    }
    lenenc(&mut b, 0);
    b.extend(compressed);
    b
}

/// MySQL's binary JSON (`json_binary.h`): a type byte, then the value. Objects and
/// arrays in the small format (16-bit counts and offsets, relative to the container's
/// start); literals and 16-bit integers inline in their entries; keys sorted by
/// length, then bytes, as the server stores them.
pub fn jsonb(v: &Json) -> Vec<u8> {
    let (ty, body) = jsonb_value(v);
    let mut out = vec![ty];
    out.extend(body);
    out
}

fn jsonb_value(v: &Json) -> (u8, Vec<u8>) {
    match v {
        Json::Null => (0x04, vec![0]),
        Json::Bool(true) => (0x04, vec![1]),
        Json::Bool(false) => (0x04, vec![2]),
        Json::Number(n) => match n.as_i64() {
            Some(i) if i16::try_from(i).is_ok() => (0x05, (i as i16).to_le_bytes().to_vec()),
            Some(i) => (0x09, i.to_le_bytes().to_vec()),
            None => (0x0B, n.as_f64().unwrap().to_le_bytes().to_vec()),
        },
        Json::String(s) => {
            let mut b = Vec::new();
            let mut len = s.len();
            loop {
                let byte = (len & 0x7F) as u8;
                len >>= 7;
                if len == 0 {
                    b.push(byte);
                    break;
                }
                b.push(byte | 0x80);
            }
            b.extend_from_slice(s.as_bytes());
            (0x0C, b)
        }
        Json::Array(items) => (0x02, container(None, items.iter().collect())),
        Json::Object(map) => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            entries.sort_by(|a, b| (a.0.len(), a.0).cmp(&(b.0.len(), b.0)));
            let keys = entries.iter().map(|(k, _)| k.as_str()).collect();
            (
                0x00,
                container(Some(keys), entries.iter().map(|(_, v)| *v).collect()),
            )
        }
    }
}

/// A small object (`keys` given) or array: count, size, key entries, value entries,
/// keys, values.
fn container(keys: Option<Vec<&str>>, values: Vec<&Json>) -> Vec<u8> {
    let n = values.len();
    let key_entries = keys.as_ref().map_or(0, |k| k.len() * 4);
    let mut head_len = 4 + key_entries + n * 3;
    let mut tail = Vec::new();
    let mut key_table = Vec::new();
    if let Some(keys) = &keys {
        let mut key_bytes = Vec::new();
        for k in keys {
            key_table.extend_from_slice(&((head_len + key_bytes.len()) as u16).to_le_bytes());
            key_table.extend_from_slice(&(k.len() as u16).to_le_bytes());
            key_bytes.extend_from_slice(k.as_bytes());
        }
        head_len += key_bytes.len();
        tail.extend(key_bytes);
    }
    let mut value_table = Vec::new();
    let mut value_bytes = Vec::new();
    for v in values {
        let (ty, body) = jsonb_value(v);
        value_table.push(ty);
        if (0x04..=0x06).contains(&ty) {
            let mut inline = body.clone();
            inline.resize(2, 0);
            value_table.extend_from_slice(&inline);
        } else {
            value_table.extend_from_slice(&((head_len + value_bytes.len()) as u16).to_le_bytes());
            value_bytes.extend(body);
        }
    }
    tail.extend(value_bytes);
    let size = 4 + key_entries + n * 3 + tail.len();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&(size as u16).to_le_bytes());
    out.extend(key_table);
    out.extend(value_table);
    out.extend(tail);
    out
}
