//! Debezium change events as Debezium Server 3.6 writes them with the JSON converter:
//! the envelope (`Debezium`) or `ExtractNewRecordState`'s flattened row
//! (`DebeziumFlattened`), each with the converter's `schema`+`payload` wrapper or
//! without it. What Debezium really writes is in `shared/reference/debezium-output.md`;
//! `docs/formats.md` says where obsync differs and why.
//!
//! A change becomes up to three Kafka records ([`Messages`]): a delete is followed by
//! its tombstone, and an UPDATE that changes the primary key is a delete (old key), its
//! tombstone and a create (new key), the first two with the header `__debezium.newkey`,
//! the last with `__debezium.oldkey`.

pub(crate) mod decode;
mod plan;
pub mod schema;
pub mod transaction;
pub mod value;

use crate::messages::{Messages, RowImage};
use crate::render::Spans;
use crate::{json, write_txn_id, FormatError, FormatKind, FormatOptions, Op, Record};
use obsync_model::{Row, TableMeta};
pub(crate) use plan::PlanCache;
use plan::{SchemaWriter, TablePlan};
use schema::{ColumnSchema, ConnectType, DecimalHandling, Logical};
use value::{connect_value, write_json, ConnectValue};

/// Which Debezium connector obsync writes as (`source.connector`, the `Source` schema's
/// name): Debezium reads MariaDB with its MariaDB connector and MySQL (and OceanBase's
/// MySQL mode) with its MySQL connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Connector {
    #[default]
    MySql,
    MariaDb,
}

impl Connector {
    pub fn name(self) -> &'static str {
        match self {
            Connector::MySql => "mysql",
            Connector::MariaDb => "mariadb",
        }
    }

    fn source_schema_name(self) -> &'static str {
        match self {
            Connector::MySql => "io.debezium.connector.mysql.Source",
            Connector::MariaDb => "io.debezium.connector.mariadb.Source",
        }
    }
}

/// `ExtractNewRecordState`'s `delete.tombstone.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum DeleteHandling {
    /// `tombstone` (the default): a delete becomes only its tombstone.
    #[default]
    Tombstone,
    /// `drop`: neither the delete nor its tombstone is written.
    Drop,
    /// `rewrite`: the deleted row with `__deleted: "true"` (every other row has
    /// `"false"`); no tombstone.
    Rewrite,
    /// `rewrite-with-tombstone`: as `rewrite`, followed by the tombstone.
    RewriteWithTombstone,
}

impl DeleteHandling {
    pub fn name(self) -> &'static str {
        match self {
            DeleteHandling::Tombstone => "tombstone",
            DeleteHandling::Drop => "drop",
            DeleteHandling::Rewrite => "rewrite",
            DeleteHandling::RewriteWithTombstone => "rewrite-with-tombstone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "tombstone" => DeleteHandling::Tombstone,
            "drop" => DeleteHandling::Drop,
            "rewrite" => DeleteHandling::Rewrite,
            "rewrite-with-tombstone" | "rewrite_with_tombstone" => {
                DeleteHandling::RewriteWithTombstone
            }
            _ => return None,
        })
    }

    fn rewrites(self) -> bool {
        matches!(
            self,
            DeleteHandling::Rewrite | DeleteHandling::RewriteWithTombstone
        )
    }
}

/// A field of the change event that `ExtractNewRecordState`'s `add.fields` copies into
/// the flattened row as `__<name>` (dots become `_`): `op`, `ts_ms`, `ts_us`, `ts_ns`
/// from the envelope, any other name (or `source.<name>`) from `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddField {
    field: EventField,
    /// Spelled `source.x` (the row field is then `__source_x`).
    qualified: bool,
}

/// The change-event fields obsync writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum EventField {
    Op,
    TsMs,
    TsUs,
    TsNs,
    Source(SourceField),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SourceField {
    Version,
    Connector,
    Name,
    TsMs,
    Snapshot,
    Db,
    Sequence,
    TsUs,
    TsNs,
    Table,
    ServerId,
    Gtid,
    File,
    Pos,
    Row,
    Thread,
    Query,
}

const SOURCE_FIELDS: [(SourceField, &str); 17] = [
    (SourceField::Version, "version"),
    (SourceField::Connector, "connector"),
    (SourceField::Name, "name"),
    (SourceField::TsMs, "ts_ms"),
    (SourceField::Snapshot, "snapshot"),
    (SourceField::Db, "db"),
    (SourceField::Sequence, "sequence"),
    (SourceField::TsUs, "ts_us"),
    (SourceField::TsNs, "ts_ns"),
    (SourceField::Table, "table"),
    (SourceField::ServerId, "server_id"),
    (SourceField::Gtid, "gtid"),
    (SourceField::File, "file"),
    (SourceField::Pos, "pos"),
    (SourceField::Row, "row"),
    (SourceField::Thread, "thread"),
    (SourceField::Query, "query"),
];

/// `snapshot`'s allowed values, in Debezium's order.
const SNAPSHOT_ALLOWED: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

impl SourceField {
    fn name(self) -> &'static str {
        SOURCE_FIELDS
            .iter()
            .find(|(f, _)| *f == self)
            .map(|(_, n)| *n)
            .unwrap_or("")
    }

    /// Connect type and whether Debezium declares the field optional.
    fn schema(self) -> (ConnectType, bool) {
        use SourceField::*;
        match self {
            Version | Connector | Name | Db | File => (ConnectType::String, false),
            TsMs | ServerId | Pos => (ConnectType::Int64, false),
            Row => (ConnectType::Int32, false),
            Snapshot | Sequence | Table | Gtid | Query => (ConnectType::String, true),
            TsUs | TsNs | Thread => (ConnectType::Int64, true),
        }
    }
}

impl AddField {
    /// Parses one `add.fields` entry (`op`, `table`, `source.ts_ms`, …).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (qualified, name) = match s.strip_prefix("source.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let field = match (qualified, name) {
            (false, "op") => EventField::Op,
            (false, "ts_ms") => EventField::TsMs,
            (false, "ts_us") => EventField::TsUs,
            (false, "ts_ns") => EventField::TsNs,
            (_, n) => EventField::Source(
                SOURCE_FIELDS
                    .iter()
                    .find(|(_, name)| *name == n)
                    .map(|(f, _)| *f)?,
            ),
        };
        Some(Self { field, qualified })
    }

    /// As written in `add.fields`.
    pub fn spec(&self) -> String {
        match self.field {
            EventField::Op => "op".into(),
            EventField::TsMs => "ts_ms".into(),
            EventField::TsUs => "ts_us".into(),
            EventField::TsNs => "ts_ns".into(),
            EventField::Source(f) if self.qualified => format!("source.{}", f.name()),
            EventField::Source(f) => f.name().into(),
        }
    }

    /// The row field's name: `__op`, `__source_ts_ms`.
    pub fn field_name(&self) -> String {
        format!("__{}", self.spec().replace('.', "_"))
    }
}

/// `ExtractNewRecordState`'s options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct FlattenOptions {
    pub delete_handling: DeleteHandling,
    /// `add.fields`, in order.
    pub add_fields: Vec<AddField>,
}

/// Debezium's snapshot marker of a full-sync row (`source.snapshot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum SnapshotMarker {
    /// Any row but the first and last of its table.
    #[default]
    True,
    /// The first row of the whole snapshot.
    First,
    /// The first row of a table.
    FirstInDataCollection,
    /// The last row of a table.
    LastInDataCollection,
    /// The last row of the whole snapshot.
    Last,
}

impl SnapshotMarker {
    pub fn name(self) -> &'static str {
        match self {
            SnapshotMarker::True => "true",
            SnapshotMarker::First => "first",
            SnapshotMarker::FirstInDataCollection => "first_in_data_collection",
            SnapshotMarker::LastInDataCollection => "last_in_data_collection",
            SnapshotMarker::Last => "last",
        }
    }
}

/// Settings of the Debezium formats (each named after Debezium's own option).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DebeziumOptions {
    /// The JSON converter's `schemas.enable` for key and value: `{"schema","payload"}`
    /// (true, Debezium's default) or the payload alone.
    pub schemas: bool,
    pub decimal_handling: DecimalHandling,
    /// `tombstones.on.delete`: a delete is followed by a record with its key and a null
    /// value.
    pub tombstones_on_delete: bool,
    /// `provide.transaction.metadata`: the `transaction` block of binlog records.
    pub transaction_metadata: bool,
    /// `topic.prefix`: `source.name`, the first part of the schema names and the
    /// `connectorLogicalName` header.
    pub topic_prefix: String,
    pub connector: Connector,
    /// `source.version`: the Debezium release whose output obsync matches.
    pub version: String,
    /// The `__debezium.context.runId` header: one id per run of the project.
    pub run_id: String,
    /// `source.file`/`source.pos` of full-sync rows: where the change log stood when
    /// the snapshot started (empty and 0 when unknown).
    pub snapshot_file: String,
    pub snapshot_pos: u64,
    pub flatten: FlattenOptions,
}

impl Default for DebeziumOptions {
    fn default() -> Self {
        Self {
            schemas: true,
            decimal_handling: DecimalHandling::Precise,
            tombstones_on_delete: true,
            transaction_metadata: false,
            topic_prefix: "obsync".into(),
            connector: Connector::MySql,
            version: DEBEZIUM_VERSION.into(),
            run_id: String::new(),
            snapshot_file: String::new(),
            snapshot_pos: 0,
            flatten: FlattenOptions::default(),
        }
    }
}

/// The Debezium release whose output is matched (`source.version`).
pub const DEBEZIUM_VERSION: &str = "3.6.1.Final";

const HEADER_NEWKEY: &str = "__debezium.newkey";
const HEADER_OLDKEY: &str = "__debezium.oldkey";

/// The op of one record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DbzOp {
    Create,
    Update,
    Delete,
    Read,
}

impl DbzOp {
    fn code(self) -> &'static str {
        match self {
            DbzOp::Create => "c",
            DbzOp::Update => "u",
            DbzOp::Delete => "d",
            DbzOp::Read => "r",
        }
    }
}

/// The context headers every record carries, rendered once per serializer.
pub(crate) type ContextHeaders = Vec<(&'static str, Vec<u8>)>;

/// `__debezium.context.*`: each a JSON string with its schema.
pub(crate) fn context_headers(d: &DebeziumOptions) -> ContextHeaders {
    let string = |text: &str| {
        let mut buf = Vec::with_capacity(80);
        buf.extend_from_slice(b"{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":");
        json::string(&mut buf, text);
        buf.push(b'}');
        buf
    };
    vec![
        (
            "__debezium.context.connectorLogicalName",
            string(&d.topic_prefix),
        ),
        ("__debezium.context.taskId", string("0")),
        (
            "__debezium.context.connectorName",
            string(d.connector.name()),
        ),
        ("__debezium.context.runId", string(&d.run_id)),
    ]
}

/// Writes the records of one change.
pub(crate) fn encode(
    opts: &FormatOptions,
    headers: &ContextHeaders,
    plans: &PlanCache,
    rec: &Record<'_>,
    out: &mut Messages,
) -> Result<(), FormatError> {
    let flat = opts.kind == FormatKind::DebeziumFlattened;
    let plan = plans.get(&opts.debezium, flat, &rec.change.table);
    let enc = Encoder {
        opts,
        headers,
        d: &opts.debezium,
        rec,
        table: rec.table,
        plan: &plan,
        flat,
    };
    // One scratch buffer for values rendered before they are written (decimals,
    // timestamps), kept in `out` so that no row allocates.
    let mut scratch = std::mem::take(&mut out.scratch);
    let row = &rec.change.row;
    let result = (|| match rec.op {
        Op::Insert => enc.record(out, &mut scratch, DbzOp::Create, None, row.after(), None),
        Op::Snapshot => enc.record(out, &mut scratch, DbzOp::Read, None, row.after(), None),
        Op::Delete => enc.record(out, &mut scratch, DbzOp::Delete, row.before(), None, None),
        Op::Update => {
            let (Some(before), Some(after)) = (row.before(), row.after()) else {
                return Ok(());
            };
            let pk = &rec.table.primary_key;
            if pk.iter().any(|&i| before[i] != after[i]) {
                enc.record(
                    out,
                    &mut scratch,
                    DbzOp::Delete,
                    Some(before),
                    None,
                    Some(after),
                )?;
                enc.record(
                    out,
                    &mut scratch,
                    DbzOp::Create,
                    None,
                    Some(after),
                    Some(before),
                )
            } else {
                enc.record(
                    out,
                    &mut scratch,
                    DbzOp::Update,
                    Some(before),
                    Some(after),
                    None,
                )
            }
        }
    })();
    out.scratch = scratch;
    result
}

struct Encoder<'a> {
    opts: &'a FormatOptions,
    headers: &'a ContextHeaders,
    d: &'a DebeziumOptions,
    rec: &'a Record<'a>,
    table: &'a TableMeta,
    plan: &'a TablePlan,
    flat: bool,
}

impl Encoder<'_> {
    /// Writes one Debezium record (and the tombstone after a delete). `other_key` is
    /// the row whose key goes into the key-change header.
    fn record(
        &self,
        out: &mut Messages,
        scratch: &mut Vec<u8>,
        op: DbzOp,
        before: Option<&Row>,
        after: Option<&Row>,
        other_key: Option<&Row>,
    ) -> Result<(), FormatError> {
        let image = match (op, other_key) {
            (DbzOp::Create, Some(_)) => RowImage::After,
            _ => RowImage::Before,
        };
        let key_row = after.or(before).expect("a record has a row");
        let keep_record =
            !self.flat || op != DbzOp::Delete || self.d.flatten.delete_handling.rewrites();
        let tombstone = op == DbzOp::Delete
            && self.d.tombstones_on_delete
            && (!self.flat
                || matches!(
                    self.d.flatten.delete_handling,
                    DeleteHandling::Tombstone | DeleteHandling::RewriteWithTombstone
                ));
        if !keep_record && !tombstone {
            return Ok(());
        }
        out.begin(image);
        if let Some(other) = other_key {
            let name = if op == DbzOp::Create {
                HEADER_OLDKEY
            } else {
                HEADER_NEWKEY
            };
            out.header(name, |buf| {
                // The header always carries the key's schema, as Debezium writes it.
                if self.plan.key_prefix.is_empty() {
                    buf.extend_from_slice(b"{\"schema\":");
                    SchemaWriter {
                        d: self.d,
                        table: self.table,
                    }
                    .key_schema(buf);
                    buf.extend_from_slice(b",\"payload\":");
                } else {
                    buf.extend_from_slice(&self.plan.key_prefix);
                }
                self.key_payload(buf, other, scratch);
                buf.push(b'}');
            });
        }
        self.context_headers(out);
        let key_start = out.mark();
        if self.write_key(&mut out.buf, key_row, scratch) {
            out.set_key(key_start);
        }
        if keep_record {
            let start = out.mark();
            if self.flat {
                self.flat_value(&mut out.buf, op, before, after, scratch)?;
            } else {
                self.envelope(&mut out.buf, op, before, after, scratch)?;
            }
            out.set_value(start);
        }
        // A tombstone repeats the record's key and headers with a null value; when the
        // record itself is not kept, the record begun above is the tombstone.
        if tombstone && keep_record {
            let key = out.current_key();
            let headers = out.current_headers();
            out.begin(image);
            for (name, range) in headers {
                out.repeat_header(name, range);
            }
            out.repeat_key(key);
        }
        Ok(())
    }

    fn context_headers(&self, out: &mut Messages) {
        for (name, value) in self.headers {
            out.header(name, |b| b.extend_from_slice(value));
        }
    }

    /// Writes the Kafka key; `false` for a table without a primary key (null key).
    fn write_key(&self, out: &mut Vec<u8>, row: &Row, scratch: &mut Vec<u8>) -> bool {
        if self.table.primary_key.is_empty() {
            return false;
        }
        if self.d.schemas {
            out.extend_from_slice(&self.plan.key_prefix);
            self.key_payload(out, row, scratch);
            out.push(b'}');
        } else {
            self.key_payload(out, row, scratch);
        }
        true
    }

    fn key_payload(&self, out: &mut Vec<u8>, row: &Row, scratch: &mut Vec<u8>) {
        out.push(b'{');
        for (n, &i) in self.table.primary_key.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(self.plan.key(i));
            let cs = self.plan.schema(&self.table.columns[i], i);
            let cv = connect_value(&cs, &row[i], self.d.decimal_handling, scratch);
            write_json(out, &cv);
        }
        out.push(b'}');
    }

    /// The row struct's members (without braces).
    fn row_members(
        &self,
        out: &mut Vec<u8>,
        row: &Row,
        scratch: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        self.row_members_with(out, row, scratch, Spans::None)
    }

    /// [`row_members`](Self::row_members), recording where each value's text lies in
    /// `out`, or copying the text of a value equal to the recorded row's instead of
    /// rendering it again: an UPDATE's after image mostly repeats its before image, and
    /// equal values in the same column render to the same text.
    fn row_members_with(
        &self,
        out: &mut Vec<u8>,
        row: &Row,
        scratch: &mut Vec<u8>,
        mut spans: Spans<'_>,
    ) -> Result<(), FormatError> {
        for (i, (v, col)) in row.iter().zip(&self.table.columns).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(self.plan.key(i));
            if spans.reuse(out, i, v) {
                continue;
            }
            let start = out.len();
            let cs = self.plan.schema(col, i);
            let cv = connect_value(&cs, v, self.d.decimal_handling, scratch);
            if matches!(cv, ConnectValue::Null) && matches!(v, obsync_model::Value::Decimal(_)) {
                return Err(self.rec.unrepresentable(
                    self.opts.kind,
                    i,
                    "the decimal text is not a number",
                ));
            }
            write_json(out, &cv);
            spans.record(out, start);
        }
        Ok(())
    }

    fn envelope(
        &self,
        out: &mut Vec<u8>,
        op: DbzOp,
        before: Option<&Row>,
        after: Option<&Row>,
        scratch: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        out.extend_from_slice(&self.plan.envelope_prefix);
        out.extend_from_slice(b"{\"before\":");
        match (before, after) {
            (Some(b), Some(a)) => {
                let mut at = Vec::with_capacity(b.len());
                out.push(b'{');
                self.row_members_with(out, b, scratch, Spans::Record(&mut at))?;
                out.extend_from_slice(b"},\"after\":{");
                self.row_members_with(out, a, scratch, Spans::Reuse(b, &at))?;
                out.push(b'}');
            }
            _ => {
                self.image(out, before, scratch)?;
                out.extend_from_slice(b",\"after\":");
                self.image(out, after, scratch)?;
            }
        }
        out.extend_from_slice(b",\"source\":");
        self.source(out);
        out.extend_from_slice(b",\"transaction\":");
        self.transaction(out);
        out.extend_from_slice(b",\"op\":\"");
        out.extend_from_slice(op.code().as_bytes());
        out.extend_from_slice(b"\",\"ts_ms\":");
        let ms = write_ms(out, self.rec.ctx.now_ms);
        out.extend_from_slice(b",\"ts_us\":");
        scaled_ms(out, &ms, b"000");
        out.extend_from_slice(b",\"ts_ns\":");
        scaled_ms(out, &ms, b"000000");
        out.push(b'}');
        if self.d.schemas {
            out.push(b'}');
        }
        Ok(())
    }

    fn image(
        &self,
        out: &mut Vec<u8>,
        row: Option<&Row>,
        scratch: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        match row {
            None => out.extend_from_slice(b"null"),
            Some(row) => {
                out.push(b'{');
                self.row_members(out, row, scratch)?;
                out.push(b'}');
            }
        }
        Ok(())
    }

    /// The source block's event time: the binlog event's, the snapshot's start for
    /// full-sync rows, in milliseconds.
    fn source_ts_ms(&self) -> u64 {
        match self.rec.txn {
            Some(t) => t.timestamp as u64 * 1000,
            None => self.rec.ctx.checkpoint_secs * 1000,
        }
    }

    fn source_value(&self, out: &mut Vec<u8>, f: SourceField) {
        use SourceField::*;
        let rec = self.rec;
        let null = |out: &mut Vec<u8>| out.extend_from_slice(b"null");
        match f {
            Version => json::string(out, &self.d.version),
            Connector => json::string(out, self.d.connector.name()),
            Name => json::string(out, &self.d.topic_prefix),
            TsMs => json::uint(out, self.source_ts_ms()),
            Snapshot => json::string(
                out,
                match rec.txn {
                    Some(_) => "false",
                    None => rec.ctx.snapshot.name(),
                },
            ),
            Db => json::string(out, &self.table.id.database),
            Sequence | Query => null(out),
            TsUs => json::uint(out, self.source_ts_ms() * 1000),
            TsNs => json::uint(out, self.source_ts_ms() * 1_000_000),
            Table => json::string(out, &self.table.id.table),
            ServerId => json::uint(out, rec.txn.map_or(0, |t| t.server_id as u64)),
            Gtid => match rec.txn.and_then(|t| t.gtid.as_ref()) {
                Some(g) => json::string(out, &g.0),
                None => null(out),
            },
            File => match rec.txn {
                Some(t) => json::string(out, &t.start.file),
                None => json::string(out, &self.d.snapshot_file),
            },
            Pos => match &rec.change.origin {
                obsync_model::ChangeOrigin::Binlog { event, .. } => json::uint(out, event.pos),
                _ => json::uint(out, self.d.snapshot_pos),
            },
            Row => match &rec.change.origin {
                obsync_model::ChangeOrigin::Binlog { event, .. } => {
                    json::uint(out, event.row as u64)
                }
                _ => out.push(b'0'),
            },
            Thread => match rec.txn.and_then(|t| t.thread) {
                Some(t) => json::uint(out, t as u64),
                None => null(out),
            },
        }
    }

    /// The `source` block in [`SOURCE_FIELDS`] order, its constant parts from the plan.
    fn source(&self, out: &mut Vec<u8>) {
        use SourceField::*;
        out.extend_from_slice(&self.plan.source_head);
        let ms = write_ms(out, self.source_ts_ms());
        out.extend_from_slice(b",\"snapshot\":");
        self.source_value(out, Snapshot);
        out.extend_from_slice(&self.plan.source_db);
        scaled_ms(out, &ms, b"000");
        out.extend_from_slice(b",\"ts_ns\":");
        scaled_ms(out, &ms, b"000000");
        out.extend_from_slice(&self.plan.source_table);
        self.source_value(out, ServerId);
        out.extend_from_slice(b",\"gtid\":");
        self.source_value(out, Gtid);
        out.extend_from_slice(b",\"file\":");
        self.source_value(out, File);
        out.extend_from_slice(b",\"pos\":");
        self.source_value(out, Pos);
        out.extend_from_slice(b",\"row\":");
        self.source_value(out, Row);
        out.extend_from_slice(b",\"thread\":");
        self.source_value(out, Thread);
        out.extend_from_slice(b",\"query\":null}");
    }

    fn transaction(&self, out: &mut Vec<u8>) {
        let (true, Some(txn), obsync_model::ChangeOrigin::Binlog { index, .. }) = (
            self.d.transaction_metadata,
            self.rec.txn,
            &self.rec.change.origin,
        ) else {
            out.extend_from_slice(b"null");
            return;
        };
        out.extend_from_slice(b"{\"id\":\"");
        write_txn_id(out, txn);
        out.extend_from_slice(b"\",\"total_order\":");
        let total = *index as u64 + 1;
        json::uint(out, total);
        out.extend_from_slice(b",\"data_collection_order\":");
        let ctx_order = self.rec.ctx.table_order as u64;
        json::uint(out, if ctx_order > 0 { ctx_order } else { total });
        out.push(b'}');
    }

    /// `ExtractNewRecordState`'s row: `after` (or, for a rewritten delete, `before`),
    /// plus the added fields.
    fn flat_value(
        &self,
        out: &mut Vec<u8>,
        op: DbzOp,
        before: Option<&Row>,
        after: Option<&Row>,
        scratch: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        let f = &self.d.flatten;
        let rewrite = f.delete_handling.rewrites();
        out.extend_from_slice(&self.plan.flat_prefix);
        let row = after.or(before).expect("a record has a row");
        out.push(b'{');
        self.row_members(out, row, scratch)?;
        for a in &f.add_fields {
            out.push(b',');
            json::key(out, &a.field_name());
            match a.field {
                EventField::Op => json::string(out, op.code()),
                EventField::TsMs => json::uint(out, self.rec.ctx.now_ms),
                EventField::TsUs => json::uint(out, self.rec.ctx.now_ms * 1000),
                EventField::TsNs => json::uint(out, self.rec.ctx.now_ms * 1_000_000),
                EventField::Source(s) => self.source_value(out, s),
            }
        }
        if rewrite {
            out.extend_from_slice(b",\"__deleted\":");
            json::string(out, if op == DbzOp::Delete { "true" } else { "false" });
        }
        out.push(b'}');
        if self.d.schemas {
            out.push(b'}');
        }
        Ok(())
    }
}

impl AddField {
    /// The added field's schema in the flattened row.
    fn field_schema(&self, out: &mut Vec<u8>) {
        let name = self.field_name();
        match self.field {
            EventField::Op => {
                out.extend_from_slice(b"{\"type\":\"string\",\"optional\":true,\"field\":");
                json::string(out, &name);
                out.push(b'}');
            }
            EventField::TsMs | EventField::TsUs | EventField::TsNs => {
                out.extend_from_slice(b"{\"type\":\"int64\",\"optional\":true,\"field\":");
                json::string(out, &name);
                out.push(b'}');
            }
            EventField::Source(f) => source_field_schema(out, f, Some(&name)),
        }
    }
}

/// Writes milliseconds and returns where their digits are, for [`scaled_ms`].
fn write_ms(out: &mut Vec<u8>, ms: u64) -> std::ops::Range<usize> {
    let start = out.len();
    json::uint(out, ms);
    start..if ms == 0 { start } else { out.len() }
}

/// The same instant in micro- or nanoseconds: the millisecond digits again plus
/// zeros, cheaper than formatting a second and third number per record.
fn scaled_ms(out: &mut Vec<u8>, ms: &std::ops::Range<usize>, zeros: &[u8]) {
    if ms.is_empty() {
        out.push(b'0');
    } else {
        out.extend_from_within(ms.clone());
        out.extend_from_slice(zeros);
    }
}

/// A source field's schema; `added` = copied into a flattened row under that name
/// (optional, without a default).
fn source_field_schema(out: &mut Vec<u8>, f: SourceField, added: Option<&str>) {
    let (ty, optional) = f.schema();
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(ty.name().as_bytes());
    out.extend_from_slice(b"\",\"optional\":");
    out.extend_from_slice(if optional || added.is_some() {
        b"true"
    } else {
        b"false"
    });
    if f == SourceField::Snapshot {
        out.extend_from_slice(
            b",\"name\":\"io.debezium.data.Enum\",\"version\":1,\"parameters\":{\"allowed\":",
        );
        json::string(out, SNAPSHOT_ALLOWED);
        out.push(b'}');
        if added.is_none() {
            out.extend_from_slice(b",\"default\":\"false\"");
        }
    }
    out.extend_from_slice(b",\"field\":");
    json::string(out, added.unwrap_or(f.name()));
    out.push(b'}');
}

/// Appends one struct field's schema as the JSON converter writes it: `type`,
/// (`fields`), `optional`, `name`, `version`, `doc`, `parameters`, `field`.
pub fn field_schema(out: &mut Vec<u8>, cs: &ColumnSchema<'_>) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(cs.ty.name().as_bytes());
    out.push(b'"');
    if cs.logical == Some(Logical::Geometry) {
        out.extend_from_slice(b",\"fields\":[{\"type\":\"bytes\",\"optional\":false,\"field\":\"wkb\"},{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}]");
    }
    out.extend_from_slice(b",\"optional\":");
    out.extend_from_slice(if cs.optional { b"true" } else { b"false" });
    if let Some(l) = cs.logical {
        out.extend_from_slice(b",\"name\":");
        json::string(out, l.name());
        out.extend_from_slice(b",\"version\":");
        json::uint(out, l.version() as u64);
        if let Some(doc) = l.doc() {
            out.extend_from_slice(b",\"doc\":");
            json::string(out, doc);
        }
        let params = cs.parameters();
        if !params.is_empty() {
            out.extend_from_slice(b",\"parameters\":{");
            for (n, (k, v)) in params.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                json::key(out, k);
                json::string(out, v);
            }
            out.push(b'}');
        }
    }
    let mut scratch = Vec::new();
    if let Some(d) = value::default_value(cs, &mut scratch) {
        out.extend_from_slice(b",\"default\":");
        write_json(out, &d);
    }
    out.extend_from_slice(b",\"field\":");
    json::string(out, &cs.column.name);
    out.push(b'}');
}
