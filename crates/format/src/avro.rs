//! Debezium-shaped Avro with a schema registry's wire format (`DebeziumAvro`).
//!
//! What Debezium's `AvroConverter` writes for the MySQL/MariaDB connector: a key record
//! `<ns>.Key` of the row identity and a value record `<ns>.Envelope` with `before`,
//! `after` (optional `<ns>.Value`), `source`, `transaction` (always null), `op` and
//! `ts_ms`; `<ns>` is `<name>.<database>.<table>` with every character Avro does not allow
//! in a name replaced (Debezium's `avro_unicode` adjustment: `_uXXXX`). Column types follow
//! `shared/reference/debezium-output.md`, and the time and decimal columns carry Avro
//! logical types as well, so a plain Avro reader gets `date`, `time-micros`,
//! `timestamp-millis`/`-micros` and `decimal` values. Each message is the registry's
//! 5-byte header (magic 0, big-endian schema id) and the Avro binary datum.
//!
//! The schemas are rendered here (no I/O); the pipeline registers them and passes the
//! ids in [`MessageContext::schema_ids`](crate::MessageContext). Avro binary is written
//! by hand like the JSON formats: a record is its fields' encodings in order, so a row
//! costs no intermediate value tree (the budget is 500,000 rows per second and core).

use crate::render;
use crate::{json, FormatError, FormatKind, FormatOptions, Op, Record};
use obsync_model::{Column, ColumnType, Date, DateTime, Row, TableMeta, Timestamp, Value};

/// How registry subjects are named (Confluent's `*SubjectNameStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectNameStrategy {
    /// `<topic>-key`, `<topic>-value` (the registries' default).
    #[default]
    Topic,
    /// The record's full name (`obsync.shop.orders.Key`): one subject per table, whatever
    /// topic it goes to.
    Record,
    /// `<topic>-<record full name>`.
    TopicRecord,
}

/// One table's key and value schemas, as registry subjects take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroSchemas {
    /// The key record's full name (`<ns>.Key`).
    pub key_name: String,
    /// The key schema, canonical JSON text.
    pub key: String,
    /// The value record's full name (`<ns>.Envelope`).
    pub value_name: String,
    pub value: String,
}

impl AvroSchemas {
    /// The subjects to register the key and value schemas under for `topic`.
    pub fn subjects(&self, topic: &str, strategy: SubjectNameStrategy) -> (String, String) {
        match strategy {
            SubjectNameStrategy::Topic => (format!("{topic}-key"), format!("{topic}-value")),
            SubjectNameStrategy::Record => (self.key_name.clone(), self.value_name.clone()),
            SubjectNameStrategy::TopicRecord => (
                format!("{topic}-{}", self.key_name),
                format!("{topic}-{}", self.value_name),
            ),
        }
    }
}

/// The key and value schemas of `table` as this project writes them.
pub fn schemas(opts: &FormatOptions, table: &TableMeta) -> AvroSchemas {
    let ns = format!(
        "{}.{}.{}",
        avro_name(&opts.source_identity),
        avro_name(&table.id.database),
        avro_name(&table.id.table)
    );
    let mut key = String::new();
    record(&mut key, &format!("{ns}.Key"), table, &table.primary_key);
    let mut value_record = String::new();
    let all: Vec<usize> = (0..table.columns.len()).collect();
    record(&mut value_record, &format!("{ns}.Value"), table, &all);
    let connector = connector(opts);
    let value = format!(
        concat!(
            r#"{{"type":"record","name":"Envelope","namespace":"{ns}","fields":["#,
            r#"{{"name":"before","type":["null",{value_record}],"default":null}},"#,
            r#"{{"name":"after","type":["null","{ns}.Value"],"default":null}},"#,
            r#"{{"name":"source","type":{source}}},"#,
            r#"{{"name":"transaction","type":["null",{{"type":"record","name":"block","namespace":"event","fields":["#,
            r#"{{"name":"id","type":"string"}},{{"name":"total_order","type":"long"}},"#,
            r#"{{"name":"data_collection_order","type":"long"}}],"connect.version":1,"connect.name":"event.block"}}],"default":null}},"#,
            r#"{{"name":"op","type":"string"}},"#,
            r#"{{"name":"ts_ms","type":["null","long"],"default":null}}],"#,
            r#""connect.version":2,"connect.name":"{ns}.Envelope"}}"#
        ),
        ns = ns,
        value_record = value_record,
        source = source_schema(connector),
    );
    AvroSchemas {
        key_name: format!("{ns}.Key"),
        key,
        value_name: format!("{ns}.Envelope"),
        value,
    }
}

/// `mariadb` for MariaDB sources, `mysql` for MySQL and OceanBase (as Debezium's
/// connectors name themselves).
fn connector(opts: &FormatOptions) -> &'static str {
    if opts.source_is_mariadb {
        "mariadb"
    } else {
        "mysql"
    }
}

fn source_schema(connector: &str) -> String {
    format!(
        concat!(
            r#"{{"type":"record","name":"Source","namespace":"io.debezium.connector.{c}","fields":["#,
            r#"{{"name":"version","type":"string"}},{{"name":"connector","type":"string"}},"#,
            r#"{{"name":"name","type":"string"}},{{"name":"ts_ms","type":"long"}},"#,
            r#"{{"name":"snapshot","type":[{{"type":"string","connect.version":1,"connect.parameters":{{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"}},"connect.default":"false","connect.name":"io.debezium.data.Enum"}},"null"],"default":"false"}},"#,
            r#"{{"name":"db","type":"string"}},{{"name":"sequence","type":["null","string"],"default":null}},"#,
            r#"{{"name":"table","type":["null","string"],"default":null}},{{"name":"server_id","type":"long"}},"#,
            r#"{{"name":"gtid","type":["null","string"],"default":null}},{{"name":"file","type":"string"}},"#,
            r#"{{"name":"pos","type":"long"}},{{"name":"row","type":"int"}},"#,
            r#"{{"name":"thread","type":["null","long"],"default":null}},"#,
            r#"{{"name":"query","type":["null","string"],"default":null}}],"#,
            r#""connect.name":"io.debezium.connector.{c}.Source"}}"#
        ),
        c = connector
    )
}

/// A record schema of the columns `cols` of `table`.
fn record(out: &mut String, full_name: &str, table: &TableMeta, cols: &[usize]) {
    let (ns, name) = full_name.rsplit_once('.').unwrap_or(("", full_name));
    out.push_str(r#"{"type":"record","name":""#);
    out.push_str(name);
    out.push_str(r#"","namespace":""#);
    out.push_str(ns);
    out.push_str(r#"","fields":["#);
    for (n, &i) in cols.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let col = &table.columns[i];
        out.push_str(r#"{"name":""#);
        out.push_str(&avro_name(&col.name));
        out.push_str(r#"","type":"#);
        let mut ty = String::new();
        column_type(&mut ty, col, full_name);
        let mut buf = Vec::new();
        let default = avro_default(col, &mut buf).then(|| String::from_utf8_lossy(&buf));
        // AvroData: a field with a Connect default carries it (the union's first branch
        // must be the default's type, so a nullable column's union puts null second); an
        // optional field without one defaults to null.
        match (&default, col.nullable) {
            (Some(d), true) => {
                out.push('[');
                out.push_str(&with_connect_default(&ty, d));
                out.push_str(r#","null"],"default":"#);
                out.push_str(d);
                out.push('}');
            }
            (Some(d), false) => {
                out.push_str(&with_connect_default(&ty, d));
                out.push_str(r#","default":"#);
                out.push_str(d);
                out.push('}');
            }
            (None, true) => {
                out.push_str(r#"["null","#);
                out.push_str(&ty);
                out.push_str(r#"],"default":null}"#);
            }
            (None, false) => {
                out.push_str(&ty);
                out.push('}');
            }
        }
    }
    out.push_str(r#"],"connect.name":""#);
    out.push_str(full_name);
    out.push_str(r#""}"#);
}

/// Appends the Avro JSON of `col`'s constant default as Debezium's `AvroConverter`
/// writes it (Confluent's `AvroData` turning the Connect schema's default into Avro):
/// the Connect value Debezium gives the default (`DATE DEFAULT '2000-01-01'` → `10957`,
/// a decimal's unscaled bytes), bytes as a string of ISO-8859-1 characters (Avro's JSON
/// encoding of bytes). Returns whether there is one: no default, `DEFAULT NULL`, an
/// expression or a zero date has none.
fn avro_default(col: &Column, out: &mut Vec<u8>) -> bool {
    use crate::debezium::value::ConnectValue;
    let mut scratch = Vec::new();
    let Some(v) = connect_default(col, &mut scratch) else {
        return false;
    };
    match v {
        ConnectValue::Null => return false,
        ConnectValue::Boolean(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        ConnectValue::Int(n) => json::int(out, n),
        // Defaults are finite: MySQL cannot store NaN or an infinity.
        ConnectValue::Float32(f) => render::java_float(out, f as f64, true),
        ConnectValue::Float64(f) => render::java_float(out, f, false),
        ConnectValue::String(s) | ConnectValue::Instant(s) => json::string(out, s),
        ConnectValue::Bytes(b) => json::latin1_string(out, b),
        ConnectValue::Geometry { wkb, srid } => {
            out.extend_from_slice(br#"{"wkb":"#);
            json::latin1_string(out, wkb);
            out.extend_from_slice(br#","srid":"#);
            match srid {
                Some(s) => json::int(out, s as i64),
                None => out.extend_from_slice(b"null"),
            }
            out.push(b'}');
        }
    }
    true
}

/// The column type `ty` with the `connect.default` property where `AvroData` puts it
/// (after `connect.version` and `connect.parameters`, before `connect.name` and
/// `connect.type`); a bare type name (`"int"`) becomes an object. The types are literal
/// text here (see [`column_type`]), so the property is spliced in rather than rebuilding
/// every type as a property list.
fn with_connect_default(ty: &str, default: &str) -> String {
    let prop = format!(r#","connect.default":{default}"#);
    if !ty.starts_with('{') {
        return format!(r#"{{"type":{ty}{prop}}}"#);
    }
    let at = ty
        .find(r#","connect.name""#)
        .or_else(|| ty.find(r#","connect.type""#))
        .unwrap_or(ty.len() - 1);
    let mut out = String::with_capacity(ty.len() + prop.len());
    out.push_str(&ty[..at]);
    out.push_str(&prop);
    out.push_str(&ty[at..]);
    out
}

/// The Connect value of `col`'s default as Debezium's schema carries it (decimals
/// precise), `None` without one. The one source of both the schema's default and the
/// union order the records are written in.
fn connect_default<'a>(
    col: &'a Column,
    scratch: &'a mut Vec<u8>,
) -> Option<crate::debezium::value::ConnectValue<'a>> {
    use crate::debezium::schema::{column_schema, DecimalHandling};
    col.default.as_ref()?;
    crate::debezium::value::default_value(&column_schema(col, DecimalHandling::Precise), scratch)
}

/// Whether a nullable column's union is `[type, "null"]` (a column with a default, see
/// [`record`]) rather than `["null", type]`. Per row and column with a default: no
/// allocation but for a DECIMAL or TIMESTAMP default's scratch bytes.
fn null_second(col: &Column) -> bool {
    col.nullable && col.default.is_some() && connect_default(col, &mut Vec::new()).is_some()
}

/// Whether a BIT column is written as a boolean (BIT(1), as Debezium).
fn bit_is_bool(col: &Column) -> bool {
    col.length.unwrap_or(1) <= 1
}

/// The Avro type of one column (without the null branch).
fn column_type(out: &mut String, col: &Column, record: &str) {
    use ColumnType::*;
    let t = match (col.kind, col.unsigned) {
        (TinyInt, _) | (SmallInt, false) => r#"{"type":"int","connect.type":"int16"}"#.into(),
        (SmallInt, true) | (MediumInt, _) | (Int, false) => r#""int""#.into(),
        (Int, true) | (BigInt, _) => r#""long""#.into(),
        (Float, _) => r#""float""#.into(),
        (Double, _) => r#""double""#.into(),
        (Decimal, _) => {
            let (p, s) = (col.precision.unwrap_or(65), col.scale.unwrap_or(0));
            format!(
                r#"{{"type":"bytes","scale":{s},"precision":{p},"connect.version":1,"connect.parameters":{{"scale":"{s}","connect.decimal.precision":"{p}"}},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}}"#
            )
        }
        (Bit, _) if bit_is_bool(col) => r#""boolean""#.into(),
        (Bit, _) => format!(
            r#"{{"type":"bytes","connect.version":1,"connect.parameters":{{"length":"{}"}},"connect.name":"io.debezium.data.Bits"}}"#,
            col.length.unwrap_or(64)
        ),
        (Date, _) => {
            r#"{"type":"int","connect.version":1,"connect.name":"io.debezium.time.Date","logicalType":"date"}"#.into()
        }
        (DateTime, _) if render::fsp(col) <= 3 => {
            r#"{"type":"long","connect.version":1,"connect.name":"io.debezium.time.Timestamp","logicalType":"timestamp-millis"}"#.into()
        }
        (DateTime, _) => {
            r#"{"type":"long","connect.version":1,"connect.name":"io.debezium.time.MicroTimestamp","logicalType":"timestamp-micros"}"#.into()
        }
        (Timestamp, _) => {
            r#"{"type":"string","connect.version":1,"connect.name":"io.debezium.time.ZonedTimestamp"}"#.into()
        }
        (Time, _) => {
            r#"{"type":"long","connect.version":1,"connect.name":"io.debezium.time.MicroTime","logicalType":"time-micros"}"#.into()
        }
        (Year, _) => {
            r#"{"type":"int","connect.version":1,"connect.name":"io.debezium.time.Year"}"#.into()
        }
        (Enum, _) | (Set, _) => {
            let mut allowed = Vec::new();
            json::escaped(&mut allowed, &col.labels.join(","));
            format!(
                r#"{{"type":"string","connect.version":1,"connect.parameters":{{"allowed":"{}"}},"connect.name":"io.debezium.data.{}"}}"#,
                String::from_utf8_lossy(&allowed),
                if col.kind == Enum { "Enum" } else { "EnumSet" }
            )
        }
        (Json, _) => {
            r#"{"type":"string","connect.version":1,"connect.name":"io.debezium.data.Json"}"#.into()
        }
        (Geometry, _) => {
            // Named once per record: Avro forbids defining a name twice in one schema.
            let ns = record.rsplit_once('.').map_or("", |(ns, _)| ns);
            format!(
                r#"{{"type":"record","name":"Geometry_{}","namespace":"{ns}","fields":[{{"name":"wkb","type":"bytes"}},{{"name":"srid","type":["null","int"],"default":null}}],"connect.doc":"Geometry","connect.version":1,"connect.name":"io.debezium.data.geometry.Geometry"}}"#,
                avro_name(&col.name)
            )
        }
        (k, _) if k.is_binary() => r#""bytes""#.into(),
        _ => r#""string""#.into(),
    };
    out.push_str(&t);
}

/// A name Avro accepts (`[A-Za-z_][A-Za-z0-9_]*` per dot-separated part): other ASCII
/// characters become `_` (Debezium's `avro` adjustment), non-ASCII ones `_uXXXX` (its
/// `avro_unicode` one, so Chinese names stay distinct), a leading digit gets a `_`.
pub fn avro_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_alphanumeric() || c == '_' {
            if i == 0 && c.is_ascii_digit() {
                out.push('_');
            }
            out.push(c);
        } else if c.is_ascii() {
            out.push('_');
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("_u{unit:04x}"));
            }
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// The registry wire header: magic byte 0 and the big-endian schema id.
fn header(out: &mut Vec<u8>, id: u32) {
    out.push(0);
    out.extend_from_slice(&id.to_be_bytes());
}

fn schema_ids(rec: &Record<'_>) -> Result<crate::SchemaIds, FormatError> {
    rec.ctx
        .schema_ids
        .ok_or_else(|| FormatError::MissingSchemaId {
            table: rec.table.id.to_string(),
        })
}

/// The key: the primary key's columns, as Debezium writes it; nothing (a null Kafka key)
/// for a table without a primary key.
pub(crate) fn encode_key(rec: &Record<'_>, key: &mut Vec<u8>) -> Result<(), FormatError> {
    if rec.table.primary_key.is_empty() {
        return Ok(());
    }
    header(key, schema_ids(rec)?.key);
    let key_row = rec.change.row.key_image();
    for &i in &rec.table.primary_key {
        field(key, rec, i, &key_row[i])?;
    }
    Ok(())
}

pub(crate) fn encode_value(
    opts: &FormatOptions,
    rec: &Record<'_>,
    value: &mut Vec<u8>,
) -> Result<(), FormatError> {
    header(value, schema_ids(rec)?.value);
    for image in [rec.change.row.before(), rec.change.row.after()] {
        match image {
            None => long(value, 0),
            Some(row) => {
                long(value, 1);
                row_fields(value, rec, row)?;
            }
        }
    }
    source(value, opts, rec);
    long(value, 0); // transaction: null
    string(
        value,
        match rec.op {
            Op::Insert => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Snapshot => "r",
        },
    );
    long(value, 1);
    long(value, rec.ctx.now_ms as i64);
    Ok(())
}

fn row_fields(out: &mut Vec<u8>, rec: &Record<'_>, row: &Row) -> Result<(), FormatError> {
    for (i, v) in row.iter().enumerate() {
        field(out, rec, i, v)?;
    }
    Ok(())
}

fn source(out: &mut Vec<u8>, opts: &FormatOptions, rec: &Record<'_>) {
    string(out, env!("CARGO_PKG_VERSION"));
    string(out, connector(opts));
    string(out, &opts.source_identity);
    long(out, rec.event_secs() as i64 * 1000);
    // snapshot: union branch 0 (the Enum string)
    long(out, 0);
    string(
        out,
        if rec.incremental() {
            "false"
        } else {
            rec.ctx.snapshot.name()
        },
    );
    string(out, &rec.table.id.database);
    long(out, 0); // sequence: null
    long(out, 1);
    string(out, &rec.table.id.table);
    long(out, 0); // server_id
    match rec.txn.and_then(|t| t.gtid.as_ref()) {
        Some(g) => {
            long(out, 1);
            string(out, &g.0);
        }
        None => long(out, 0),
    }
    match rec.txn {
        Some(t) => {
            string(out, &t.start.file);
            long(out, t.start.pos as i64);
        }
        None => {
            string(out, "");
            long(out, 0);
        }
    }
    let row = match &rec.change.origin {
        obsync_model::ChangeOrigin::Binlog { index, .. } => *index as i64,
        obsync_model::ChangeOrigin::Snapshot { .. } => 0,
    };
    long(out, row);
    long(out, 0); // thread: null
    long(out, 0); // query: null
}

/// One column value, with its null-union branch when the column is nullable.
fn field(out: &mut Vec<u8>, rec: &Record<'_>, i: usize, v: &Value) -> Result<(), FormatError> {
    let col = &rec.table.columns[i];
    // Zero dates have no Avro value: null where the column allows it, else the column's
    // default (as Debezium).
    let is_zero = |v: &Value| match v {
        Value::Date(d) => !render::is_calendar_date(d),
        Value::DateTime(dt) => !render::is_calendar_date(&dt.date),
        _ => false,
    };
    let v = match &col.default {
        Some(d) if !col.nullable && is_zero(v) => &d.0,
        _ => v,
    };
    let zero = is_zero(v);
    if col.nullable {
        // The null branch: 0 in `["null", type]`, 1 in `[type, "null"]`.
        let null_branch = i64::from(null_second(col));
        if v.is_null() || zero {
            long(out, null_branch);
            return Ok(());
        }
        long(out, 1 - null_branch);
    } else if v.is_null() {
        return Err(rec.unrepresentable(
            FormatKind::DebeziumAvro,
            i,
            "NULL in a column the table declares NOT NULL",
        ));
    }
    use ColumnType::*;
    match v {
        Value::Null => {}
        Value::Int(n) => long(out, *n),
        Value::UInt(n) => long(out, *n as i64),
        Value::Decimal(d) => {
            let scale = col.scale.unwrap_or(0) as usize;
            let bytes = unscaled_twos_complement(d, scale);
            long(out, bytes.len() as i64);
            out.extend_from_slice(&bytes);
        }
        Value::Float(f) => out.extend_from_slice(&f.to_le_bytes()),
        Value::Double(f) => out.extend_from_slice(&f.to_le_bytes()),
        Value::Bit(b) if bit_is_bool(col) => out.push((*b != 0) as u8),
        Value::Bit(b) => {
            // Debezium's Bits: little-endian, ceil(M/8) bytes.
            let n = col.length.unwrap_or(64).div_ceil(8).clamp(1, 8) as usize;
            long(out, n as i64);
            out.extend_from_slice(&b.to_le_bytes()[..n]);
        }
        Value::Date(_) if zero => long(out, 0),
        Value::Date(d) => long(out, epoch_days(d)),
        Value::DateTime(_) if zero => long(out, 0),
        Value::DateTime(dt) => {
            let ts = obsync_model::Timestamp::from_utc_datetime(dt);
            if render::fsp(col) <= 3 {
                long(out, ts.secs * 1000 + (ts.micros / 1000) as i64)
            } else {
                long(out, ts.secs * 1_000_000 + ts.micros as i64)
            }
        }
        Value::Timestamp(ts) => {
            let mut text = Vec::with_capacity(32);
            zoned(&mut text, ts, render::fsp(col));
            long(out, text.len() as i64);
            out.extend_from_slice(&text);
        }
        Value::Time(t) => {
            let micros = ((t.hours as i64 * 60 + t.minutes as i64) * 60 + t.seconds as i64)
                * 1_000_000
                + t.micros as i64;
            long(out, if t.negative { -micros } else { micros });
        }
        Value::Year(y) => long(out, *y as i64),
        Value::Text(s) => string(out, s),
        Value::Bytes(b) if col.kind == Geometry => {
            // io.debezium.data.geometry.Geometry: the WKB without MySQL's SRID prefix.
            let (srid, wkb) = match b.split_first_chunk::<4>() {
                Some((srid, wkb)) => (u32::from_le_bytes(*srid), wkb),
                None => (0, &b[..]),
            };
            long(out, wkb.len() as i64);
            out.extend_from_slice(wkb);
            long(out, 1);
            long(out, srid as i64);
        }
        Value::Bytes(b) => {
            long(out, b.len() as i64);
            out.extend_from_slice(b);
        }
    }
    Ok(())
}

fn epoch_days(d: &Date) -> i64 {
    let midnight = DateTime {
        date: *d,
        hour: 0,
        minute: 0,
        second: 0,
        micros: 0,
    };
    Timestamp::from_utc_datetime(&midnight)
        .secs
        .div_euclid(86_400)
}

/// ISO-8601 in UTC with `Z`, the column's fraction digits (`2038-01-19T03:14:07.999999Z`).
fn zoned(out: &mut Vec<u8>, ts: &Timestamp, fsp: u8) {
    let wall = ts.to_utc_datetime();
    render::date(out, &wall.date);
    out.push(b'T');
    let mut time = Vec::with_capacity(16);
    render::datetime(&mut time, &wall, fsp);
    // `render::datetime` writes `YYYY-MM-DD HH:MM:SS[.f]`: keep the part after the space.
    out.extend_from_slice(&time[11..]);
    out.push(b'Z');
}

/// Avro `long`/`int`: zig-zag, then base-128 varint.
pub(crate) fn long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    long(out, s.len() as i64);
    out.extend_from_slice(s.as_bytes());
}

/// The unscaled value of decimal text at `scale` as minimal big-endian two's-complement
/// bytes (Avro's and Connect's decimal). Hand-written long division over the digits: a
/// DECIMAL(65) does not fit an i128.
fn unscaled_twos_complement(text: &str, scale: usize) -> Vec<u8> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut dec: Vec<u8> = int
        .bytes()
        .chain(frac.bytes().chain(std::iter::repeat(b'0')).take(scale))
        .map(|b| b - b'0')
        .collect();
    // Base-256 digits, least significant first.
    let mut bytes = Vec::new();
    while dec.iter().any(|&d| d != 0) {
        let mut rem = 0u32;
        for d in dec.iter_mut() {
            let cur = rem * 10 + *d as u32;
            *d = (cur / 256) as u8;
            rem = cur % 256;
        }
        bytes.push(rem as u8);
    }
    if negative && !bytes.is_empty() {
        // Two's complement: invert and add one.
        let mut carry = 1u16;
        for b in bytes.iter_mut() {
            let v = (!*b) as u16 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        if bytes.last().is_some_and(|b| b & 0x80 == 0) {
            bytes.push(0xff);
        }
    } else if bytes.last().is_none_or(|b| b & 0x80 != 0) {
        bytes.push(0);
    }
    bytes.reverse();
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_minimal_twos_complement() {
        assert_eq!(unscaled_twos_complement("0", 0), [0]);
        assert_eq!(unscaled_twos_complement("12.50", 2), [0x04, 0xe2]);
        assert_eq!(unscaled_twos_complement("-12.50", 2), [0xfb, 0x1e]);
        assert_eq!(unscaled_twos_complement("1.27", 2), [0x7f]);
        assert_eq!(unscaled_twos_complement("1.28", 2), [0x00, 0x80]);
        assert_eq!(unscaled_twos_complement("-1.28", 2), [0x80]);
        assert_eq!(unscaled_twos_complement("-1.29", 2), [0xff, 0x7f]);
        assert_eq!(unscaled_twos_complement("0.5", 2), [50]);
    }

    #[test]
    fn longs_are_zigzag_varints() {
        let enc = |v| {
            let mut out = Vec::new();
            long(&mut out, v);
            out
        };
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(-1), [1]);
        assert_eq!(enc(1), [2]);
        assert_eq!(enc(64), [0x80, 0x01]);
        assert_eq!(
            enc(i64::MIN),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    #[test]
    fn connect_default_sits_where_avro_data_puts_it() {
        assert_eq!(
            with_connect_default(r#""int""#, "7"),
            r#"{"type":"int","connect.default":7}"#
        );
        assert_eq!(
            with_connect_default(r#"{"type":"int","connect.type":"int16"}"#, "1"),
            r#"{"type":"int","connect.default":1,"connect.type":"int16"}"#
        );
        assert_eq!(
            with_connect_default(
                r#"{"type":"int","connect.version":1,"connect.name":"io.debezium.time.Date","logicalType":"date"}"#,
                "10957"
            ),
            r#"{"type":"int","connect.version":1,"connect.default":10957,"connect.name":"io.debezium.time.Date","logicalType":"date"}"#
        );
    }

    #[test]
    fn a_nullable_column_with_a_default_puts_null_second() {
        use obsync_model::{ColumnDefault, TableId};
        let mut v = Column::new("v", ColumnType::Int);
        v.default = Some(ColumnDefault(Value::Int(7)));
        let mut dec = Column::new("d", ColumnType::Decimal);
        (dec.precision, dec.scale) = (Some(4), Some(2));
        dec.default = Some(ColumnDefault(Value::Decimal("1.28".into())));
        let mut id = Column::new("id", ColumnType::Int);
        id.nullable = false;
        id.default = Some(ColumnDefault(Value::Int(0)));
        let plain = Column::new("p", ColumnType::Int);
        let table = TableMeta {
            id: TableId::new("db", "t"),
            columns: vec![id, v, dec, plain],
            key: vec![0],
            key_source: obsync_model::KeySource::PrimaryKey,
            primary_key: vec![0],
            unique_keys: vec![],
            estimated_rows: 0,
        };
        let s = schemas(&FormatOptions::new(FormatKind::DebeziumAvro), &table).value;
        assert!(
            s.contains(r#"{"name":"id","type":{"type":"int","connect.default":0},"default":0}"#),
            "{s}"
        );
        assert!(
            s.contains(
                r#"{"name":"v","type":[{"type":"int","connect.default":7},"null"],"default":7}"#
            ),
            "{s}"
        );
        // 1.28 at scale 2: unscaled 128, two's complement 0x00 0x80, as ISO-8859-1.
        assert!(s.contains(r#""connect.default":"\u0000\u0080""#), "{s}");
        assert!(
            s.contains(r#"{"name":"p","type":["null","int"],"default":null}"#),
            "{s}"
        );
        assert!(null_second(&table.columns[1]) && null_second(&table.columns[2]));
        assert!(!null_second(&table.columns[0]) && !null_second(&table.columns[3]));
    }

    #[test]
    fn subjects_follow_the_naming_strategy() {
        let table = TableMeta {
            id: obsync_model::TableId::new("shop", "orders"),
            columns: vec![Column {
                nullable: false,
                ..Column::new("id", ColumnType::Int)
            }],
            key: vec![0],
            key_source: obsync_model::KeySource::PrimaryKey,
            primary_key: vec![0],
            unique_keys: vec![],
            estimated_rows: 0,
        };
        let mut opts = FormatOptions::new(FormatKind::DebeziumAvro);
        opts.source_identity = "p1".into();
        let s = schemas(&opts, &table);
        let subjects = |strategy| s.subjects("t1", strategy);
        assert_eq!(
            subjects(SubjectNameStrategy::Topic),
            ("t1-key".into(), "t1-value".into())
        );
        assert_eq!(
            subjects(SubjectNameStrategy::Record),
            (
                "p1.shop.orders.Key".into(),
                "p1.shop.orders.Envelope".into()
            )
        );
        assert_eq!(
            subjects(SubjectNameStrategy::TopicRecord),
            (
                "t1-p1.shop.orders.Key".into(),
                "t1-p1.shop.orders.Envelope".into()
            )
        );
    }

    #[test]
    fn names_are_adjusted_for_avro() {
        assert_eq!(avro_name("orders"), "orders");
        assert_eq!(avro_name("1st"), "_1st");
        assert_eq!(avro_name("订单"), "_u8ba2_u5355");
        assert_eq!(avro_name("a-b"), "a_b");
    }
}
