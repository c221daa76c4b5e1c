//! OMS SharePlex format: `meta` + `data` (+ `key` for updates), values as OMS text.
//!
//! With intra-transaction sequence numbering on, the pipeline buffers each transaction
//! and passes `seq`/`size` in the [`MessageContext`]; this module only renders them
//! (`idx` = `"seq/size"`). Without it, `seq`, `size` and `idx` are left out.

use crate::render::{self, BitBytes};
use crate::{json, write_txn_id, FormatError, FormatOptions, Op, Record, UpdateColumns};
use obsync_model::{Row, RowChange, TableMeta};

pub(crate) fn encode_change(
    opts: &FormatOptions,
    rec: &Record<'_>,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let table = rec.table;
    let bits = rec.bits(opts);
    out.extend_from_slice(b"{\"meta\":{\"time\":\"");
    iso_utc(out, rec.event_secs() as i64);
    out.extend_from_slice(b"\",\"userid\":0,\"op\":\"");
    out.extend_from_slice(match rec.op {
        Op::Insert | Op::Snapshot => b"ins",
        Op::Update => b"upd",
        Op::Delete => b"del",
    });
    out.extend_from_slice(b"\",");
    // OB MySQL has no SCN or ROWID: `scn` carries the message's storeDataSequence.
    json::field_u64_str(out, "scn", rec.ctx.sequence);
    out.extend_from_slice(b",\"rowid\":\"\",\"trans\":\"");
    if let Some(t) = rec.txn {
        write_txn_id(out, t);
    }
    out.extend_from_slice(b"\",");
    if let Some(s) = rec.ctx.txn_sequence {
        json::field_u64(out, "seq", s.seq as u64);
        out.push(b',');
        json::field_u64(out, "size", s.size as u64);
        out.push(b',');
    }
    json::key(out, "table");
    out.push(b'"');
    json::escaped(out, &table.id.database);
    out.push(b'.');
    json::escaped(out, &table.id.table);
    out.extend_from_slice(b"\",");
    if let Some(s) = rec.ctx.txn_sequence {
        out.extend_from_slice(b"\"idx\":\"");
        json::uint(out, s.seq as u64);
        out.push(b'/');
        json::uint(out, s.size as u64);
        out.extend_from_slice(b"\",");
    }
    out.extend_from_slice(b"\"posttime\":\"");
    iso_utc(out, (rec.ctx.now_ms / 1000) as i64);
    out.extend_from_slice(b"\"},\"data\":");
    match &rec.change.row {
        RowChange::Update { before, after } => {
            let all = opts.update_columns == UpdateColumns::All;
            object(out, table, after, bits, |i| all || before[i] != after[i]);
            out.extend_from_slice(b",\"key\":");
            object(out, table, before, bits, |_| true);
        }
        other => object(out, table, other.key_image(), bits, |_| true),
    }
    out.push(b'}');
    Ok(())
}

fn object(
    out: &mut Vec<u8>,
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
        render::json_text(out, col, v, bits);
    }
    out.push(b'}');
}

/// `yyyy-MM-ddTHH:mm:ss` in UTC, without a zone suffix (as the DTS example writes it).
fn iso_utc(out: &mut Vec<u8>, secs: i64) {
    let dt = obsync_model::Timestamp { secs, micros: 0 }.to_utc_datetime();
    let start = out.len();
    render::datetime(out, &dt, 0);
    out[start + 10] = b'T';
}
