//! Debezium's transaction metadata records (`provide.transaction.metadata`): a `BEGIN`
//! before a transaction's first data event and an `END` after its last, on the topic
//! `<prefix>.transaction`, keyed by the transaction id. The data events' `transaction`
//! block (`id`, `total_order`, `data_collection_order`) refers to the same id.

use super::DebeziumOptions;
use crate::json;
use crate::messages::{Messages, RowImage};
use crate::write_txn_id;
use obsync_model::{TableId, TxnInfo};

/// `BEGIN` or `END`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnStatus {
    Begin,
    End,
}

/// One transaction metadata record.
#[derive(Debug, Clone, Copy)]
pub struct TxnEvent<'a> {
    pub status: TxnStatus,
    pub txn: &'a TxnInfo,
    /// When the record was made, in milliseconds (Debezium's `ts_ms`).
    pub ts_ms: u64,
    /// `END` only: the data events per table, in the order the tables first appeared.
    pub data_collections: &'a [(TableId, u64)],
}

/// The topic of the transaction records: `<topic.prefix>.transaction`.
pub fn transaction_topic(d: &DebeziumOptions) -> String {
    format!("{}.transaction", d.topic_prefix)
}

const KEY_SCHEMA: &[u8] = b"{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"}],\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataKey\",\"version\":1}";

const VALUE_SCHEMA: &[u8] = b"{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"status\"},{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"data_collection\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],\"optional\":false,\"name\":\"event.collection\",\"version\":1},\"optional\":true,\"field\":\"data_collections\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataValue\",\"version\":1}";

/// Writes one transaction record (key and value, the JSON converter's schema around
/// each when `schemas` is on).
pub(crate) fn encode(d: &DebeziumOptions, e: &TxnEvent<'_>, out: &mut Messages) {
    out.begin(RowImage::Before);
    let start = out.mark();
    let buf = &mut out.buf;
    if d.schemas {
        buf.extend_from_slice(b"{\"schema\":");
        buf.extend_from_slice(KEY_SCHEMA);
        buf.extend_from_slice(b",\"payload\":");
    }
    buf.extend_from_slice(b"{\"id\":\"");
    write_txn_id(buf, e.txn);
    buf.extend_from_slice(b"\"}");
    if d.schemas {
        buf.push(b'}');
    }
    out.set_key(start);
    let start = out.mark();
    let buf = &mut out.buf;
    if d.schemas {
        buf.extend_from_slice(b"{\"schema\":");
        buf.extend_from_slice(VALUE_SCHEMA);
        buf.extend_from_slice(b",\"payload\":");
    }
    buf.extend_from_slice(match e.status {
        TxnStatus::Begin => b"{\"status\":\"BEGIN\",\"id\":\"",
        TxnStatus::End => b"{\"status\":\"END\",\"id\":\"",
    });
    write_txn_id(buf, e.txn);
    buf.extend_from_slice(b"\",\"event_count\":");
    match e.status {
        TxnStatus::Begin => buf.extend_from_slice(b"null,\"data_collections\":null"),
        TxnStatus::End => {
            json::uint(buf, e.data_collections.iter().map(|(_, n)| n).sum());
            buf.extend_from_slice(b",\"data_collections\":[");
            for (i, (table, n)) in e.data_collections.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"{\"data_collection\":");
                json::string(buf, &format!("{}.{}", table.database, table.table));
                buf.extend_from_slice(b",\"event_count\":");
                json::uint(buf, *n);
                buf.push(b'}');
            }
            buf.push(b']');
        }
    }
    buf.extend_from_slice(b",\"ts_ms\":");
    json::uint(buf, e.ts_ms);
    buf.push(b'}');
    if d.schemas {
        buf.push(b'}');
    }
    out.set_value(start);
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::{BinlogCoord, Gtid};

    fn txn() -> TxnInfo {
        TxnInfo {
            start: BinlogCoord::new("mysql-bin.000003", 4),
            gtid: Some(Gtid("0-1-53".into())),
            timestamp: 1_714_528_800,
            seq: 1,
            server_id: 1,
            thread: None,
        }
    }

    fn render(d: &DebeziumOptions, e: &TxnEvent<'_>) -> (serde_json::Value, serde_json::Value) {
        let mut out = Messages::new();
        encode(d, e, &mut out);
        let m = out.get(0).unwrap();
        (
            serde_json::from_slice(m.key.unwrap()).unwrap(),
            serde_json::from_slice(m.value.unwrap()).unwrap(),
        )
    }

    #[test]
    fn begin_and_end_records_are_debeziums() {
        let t = txn();
        let d = DebeziumOptions {
            schemas: false,
            ..Default::default()
        };
        let counts = [
            (TableId::new("shop", "orders"), 2),
            (TableId::new("shop", "items"), 1),
        ];
        let (key, begin) = render(
            &d,
            &TxnEvent {
                status: TxnStatus::Begin,
                txn: &t,
                ts_ms: 5,
                data_collections: &[],
            },
        );
        assert_eq!(key, serde_json::json!({"id": "0-1-53"}));
        assert_eq!(
            begin,
            serde_json::json!({"status": "BEGIN", "id": "0-1-53", "event_count": null, "data_collections": null, "ts_ms": 5})
        );
        let (_, end) = render(
            &d,
            &TxnEvent {
                status: TxnStatus::End,
                txn: &t,
                ts_ms: 6,
                data_collections: &counts,
            },
        );
        assert_eq!(
            end,
            serde_json::json!({"status": "END", "id": "0-1-53", "event_count": 3, "data_collections": [
                {"data_collection": "shop.orders", "event_count": 2},
                {"data_collection": "shop.items", "event_count": 1}], "ts_ms": 6})
        );
        // With schemas: the JSON converter's wrapper, Debezium's schema names.
        let (key, end) = render(
            &DebeziumOptions::default(),
            &TxnEvent {
                status: TxnStatus::End,
                txn: &t,
                ts_ms: 6,
                data_collections: &counts,
            },
        );
        assert_eq!(
            key["schema"]["name"],
            "io.debezium.connector.common.TransactionMetadataKey"
        );
        assert_eq!(key["payload"]["id"], "0-1-53");
        assert_eq!(
            end["schema"]["name"],
            "io.debezium.connector.common.TransactionMetadataValue"
        );
        assert_eq!(end["payload"]["event_count"], 3);
    }
}
