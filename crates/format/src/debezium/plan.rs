//! What a Debezium serializer renders once per table version instead of per record:
//! each column's Connect schema and escaped `"name":` key, the key/value/envelope schema
//! JSON and the constant parts of the `source` block. Rendering these per row was most
//! of a record's cost (the bench in `docs/performance.md`).
//!
//! The cache is keyed by table and checked against the row's `Arc<TableMeta>`: a DDL
//! brings a new table version, which replaces the entry, so the cache holds one entry
//! per table.

use super::schema::{connector_column_schema, ColumnSchema, ConnectType, Logical};
use super::{field_schema, source_field_schema, DebeziumOptions, SOURCE_FIELDS};
use crate::json;
use obsync_model::{Column, TableId, TableMeta};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, RwLock};

/// A column's Connect schema without the borrow of its column.
#[derive(Debug, Clone, Copy)]
struct ColumnKind {
    ty: ConnectType,
    logical: Option<Logical>,
    optional: bool,
}

/// One table version's pre-rendered parts, for one serializer's options.
#[derive(Debug)]
pub(crate) struct TablePlan {
    table: Arc<TableMeta>,
    kinds: Vec<ColumnKind>,
    /// `"name":` of every column, escaped, back to back; `col_keys[i]` is its range.
    keys: Vec<u8>,
    col_keys: Vec<Range<usize>>,
    /// `{"schema":<key struct>,"payload":` (empty without schemas).
    pub key_prefix: Vec<u8>,
    /// `{"schema":<envelope>,"payload":` (empty without schemas).
    pub envelope_prefix: Vec<u8>,
    /// `{"schema":<flattened row>,"payload":` (empty without schemas).
    pub flat_prefix: Vec<u8>,
    /// `{"version":…,"connector":…,"name":…,"ts_ms":`.
    pub source_head: Vec<u8>,
    /// `,"db":…,"sequence":null,"ts_us":`.
    pub source_db: Vec<u8>,
    /// `,"table":…,"server_id":`.
    pub source_table: Vec<u8>,
}

impl TablePlan {
    fn new(d: &DebeziumOptions, flat: bool, table: Arc<TableMeta>) -> Self {
        let mut kinds = Vec::with_capacity(table.columns.len());
        let mut keys = Vec::new();
        let mut col_keys = Vec::with_capacity(table.columns.len());
        for col in &table.columns {
            let cs = connector_column_schema(col, d.decimal_handling, d.connector);
            kinds.push(ColumnKind {
                ty: cs.ty,
                logical: cs.logical,
                optional: cs.optional,
            });
            let start = keys.len();
            json::key(&mut keys, &col.name);
            col_keys.push(start..keys.len());
        }
        let s = SchemaWriter { d, table: &table };
        let (mut key_prefix, mut envelope_prefix, mut flat_prefix) =
            (Vec::new(), Vec::new(), Vec::new());
        if d.schemas {
            key_prefix.extend_from_slice(b"{\"schema\":");
            s.key_schema(&mut key_prefix);
            key_prefix.extend_from_slice(b",\"payload\":");
            if flat {
                flat_prefix.extend_from_slice(b"{\"schema\":");
                s.flat_schema(&mut flat_prefix);
                flat_prefix.extend_from_slice(b",\"payload\":");
            } else {
                envelope_prefix.extend_from_slice(b"{\"schema\":");
                s.envelope_schema(&mut envelope_prefix);
                envelope_prefix.extend_from_slice(b",\"payload\":");
            }
        }
        let mut source_head = Vec::with_capacity(96);
        source_head.extend_from_slice(b"{\"version\":");
        json::string(&mut source_head, &d.version);
        source_head.extend_from_slice(b",\"connector\":");
        json::string(&mut source_head, d.connector.name());
        source_head.extend_from_slice(b",\"name\":");
        json::string(&mut source_head, &d.topic_prefix);
        source_head.extend_from_slice(b",\"ts_ms\":");
        let mut source_db = Vec::with_capacity(48);
        source_db.extend_from_slice(b",\"db\":");
        json::string(&mut source_db, &table.id.database);
        source_db.extend_from_slice(b",\"sequence\":null,\"ts_us\":");
        let mut source_table = Vec::with_capacity(48);
        source_table.extend_from_slice(b",\"table\":");
        json::string(&mut source_table, &table.id.table);
        source_table.extend_from_slice(b",\"server_id\":");
        Self {
            table,
            kinds,
            keys,
            col_keys,
            key_prefix,
            envelope_prefix,
            flat_prefix,
            source_head,
            source_db,
            source_table,
        }
    }

    /// Column `i`'s Connect schema.
    #[inline]
    pub fn schema<'c>(&self, col: &'c Column, i: usize) -> ColumnSchema<'c> {
        let k = self.kinds[i];
        ColumnSchema {
            column: col,
            ty: k.ty,
            logical: k.logical,
            optional: k.optional,
        }
    }

    /// `"name":` of column `i`.
    #[inline]
    pub fn key(&self, i: usize) -> &[u8] {
        &self.keys[self.col_keys[i].clone()]
    }

    /// Whether this plan was built for `table` (the same version, or an equal copy).
    fn fits(&self, table: &Arc<TableMeta>) -> bool {
        Arc::ptr_eq(&self.table, table)
            || (self.table.id == table.id
                && self.table.columns == table.columns
                && self.table.primary_key == table.primary_key)
    }
}

/// The schema JSON of one table under one serializer's options.
pub(crate) struct SchemaWriter<'a> {
    pub d: &'a DebeziumOptions,
    pub table: &'a TableMeta,
}

impl SchemaWriter<'_> {
    fn schema_of<'c>(&self, col: &'c Column) -> ColumnSchema<'c> {
        connector_column_schema(col, self.d.decimal_handling, self.d.connector)
    }

    fn schema_name(&self, out: &mut Vec<u8>, suffix: &str) {
        let mut name = String::with_capacity(64);
        name.push_str(&self.d.topic_prefix);
        name.push('.');
        name.push_str(&self.table.id.database);
        name.push('.');
        name.push_str(&self.table.id.table);
        name.push('.');
        name.push_str(suffix);
        json::string(out, &name);
    }

    pub fn key_schema(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
        for (n, &i) in self.table.primary_key.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let mut cs = self.schema_of(&self.table.columns[i]);
            cs.optional = false;
            field_schema(out, &cs);
        }
        out.extend_from_slice(b"],\"optional\":false,\"name\":");
        self.schema_name(out, "Key");
        out.push(b'}');
    }

    /// The `<prefix>.<db>.<table>.Value` struct schema's `fields` array members.
    fn value_fields(&self, out: &mut Vec<u8>) {
        for (i, col) in self.table.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            field_schema(out, &self.schema_of(col));
        }
    }

    fn envelope_schema(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
        for name in ["before", "after"] {
            out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
            self.value_fields(out);
            out.extend_from_slice(b"],\"optional\":true,\"name\":");
            self.schema_name(out, "Value");
            out.extend_from_slice(b",\"field\":\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\"},");
        }
        self.source_schema(out);
        out.extend_from_slice(b",{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}],\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}");
        out.extend_from_slice(b",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"}],\"optional\":false,\"name\":");
        self.schema_name(out, "Envelope");
        out.extend_from_slice(b",\"version\":2}");
    }

    fn source_schema(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
        for (n, (f, _)) in SOURCE_FIELDS.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            source_field_schema(out, *f, None);
        }
        out.extend_from_slice(b"],\"optional\":false,\"name\":");
        json::string(out, self.d.connector.source_schema_name());
        out.extend_from_slice(b",\"version\":1,\"field\":\"source\"}");
    }

    /// `ExtractNewRecordState`'s row schema: the value fields, the added fields and
    /// `__deleted` when deletes are rewritten.
    fn flat_schema(&self, out: &mut Vec<u8>) {
        let f = &self.d.flatten;
        let rewrite = f.delete_handling.rewrites();
        let extended = rewrite || !f.add_fields.is_empty();
        out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
        self.value_fields(out);
        for a in &f.add_fields {
            out.push(b',');
            a.field_schema(out);
        }
        if rewrite {
            out.extend_from_slice(
                b",{\"type\":\"string\",\"optional\":true,\"field\":\"__deleted\"}",
            );
        }
        // The `after` field's schema is optional; a rebuilt one (with added fields)
        // is not, as the SMT copies only name, version, doc and parameters.
        out.extend_from_slice(b"],\"optional\":");
        out.extend_from_slice(if extended { b"false" } else { b"true" });
        out.extend_from_slice(b",\"name\":");
        self.schema_name(out, "Value");
        out.push(b'}');
    }
}

/// The plans of one serializer, one per table. Cloning a serializer starts an empty
/// cache.
#[derive(Debug, Default)]
pub(crate) struct PlanCache {
    plans: RwLock<HashMap<TableId, Arc<TablePlan>>>,
}

impl Clone for PlanCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PlanCache {
    /// The plan of `table`, built on its first record and after each DDL.
    pub fn get(&self, d: &DebeziumOptions, flat: bool, table: &Arc<TableMeta>) -> Arc<TablePlan> {
        // A poisoned lock only means another thread panicked mid-insert; the map is
        // still a valid cache.
        if let Some(p) = self
            .plans
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&table.id)
        {
            if p.fits(table) {
                return p.clone();
            }
        }
        let plan = Arc::new(TablePlan::new(d, flat, table.clone()));
        self.plans
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(table.id.clone(), plan.clone());
        plan
    }
}
