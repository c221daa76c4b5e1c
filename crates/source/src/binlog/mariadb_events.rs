//! MariaDB-only binlog events, decoded by hand.
//!
//! mysql_common 0.37 knows only MySQL's event types: for MariaDB's 160–171 it reports an
//! unknown type and `read_data()` gives `Ok(None)`. Their bodies (`Event::data()`, with
//! the checksum already removed by the crate) are small fixed layouts, read here.

/// `ANNOTATE_ROWS_EVENT`: the SQL text of the following rows events (ignored).
pub(crate) const ANNOTATE_ROWS: u8 = 160;
/// `BINLOG_CHECKPOINT_EVENT`: the oldest binlog file crash recovery needs (ignored).
pub(crate) const BINLOG_CHECKPOINT: u8 = 161;
/// `GTID_EVENT`: starts a transaction (replaces `BEGIN`) or a standalone DDL.
pub(crate) const GTID: u8 = 162;
/// `GTID_LIST_EVENT`: the GTID state at the start of a binlog file.
pub(crate) const GTID_LIST: u8 = 163;
/// `START_ENCRYPTION_EVENT`: the server decrypts before sending; nothing to do.
pub(crate) const START_ENCRYPTION: u8 = 164;
/// `QUERY_COMPRESSED_EVENT` .. `DELETE_ROWS_COMPRESSED_EVENT_V1` (165..=171):
/// written when the server runs with `log_bin_compress=ON`.
pub(crate) const FIRST_COMPRESSED: u8 = 165;
pub(crate) const LAST_COMPRESSED: u8 = 171;

/// `FL_STANDALONE`: no BEGIN/COMMIT follows: the GTID covers one statement (DDL).
const FL_STANDALONE: u8 = 0x01;
/// XA flags: the transaction is an XA PREPARE / XA COMMIT of a prepared transaction.
const FL_PREPARED_XA: u8 = 0x40;
const FL_COMPLETED_XA: u8 = 0x80;

/// One MariaDB GTID `domain-server-seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MariaGtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

impl std::fmt::Display for MariaGtid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seq)
    }
}

/// A decoded `GTID_EVENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GtidEvent {
    pub gtid: MariaGtid,
    /// True when the GTID covers a single statement without BEGIN/COMMIT (DDL).
    pub standalone: bool,
    /// True for the XA PREPARE or XA COMMIT halves of an XA transaction.
    pub xa: bool,
}

/// Body: sequence u64, domain u32, flags u8 (little-endian); the server id is the
/// event header's.
pub(crate) fn parse_gtid(data: &[u8], server_id: u32) -> Result<GtidEvent, String> {
    if data.len() < 13 {
        return Err(format!(
            "GTID event body of {} bytes, expected ≥ 13",
            data.len()
        ));
    }
    let seq = u64::from_le_bytes(data[0..8].try_into().expect("8 bytes"));
    let domain = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
    let flags = data[12];
    // A group-commit id (u64) and XA ids may follow the flags; nothing here needs them.
    Ok(GtidEvent {
        gtid: MariaGtid {
            domain,
            server: server_id,
            seq,
        },
        standalone: flags & FL_STANDALONE != 0,
        xa: flags & (FL_PREPARED_XA | FL_COMPLETED_XA) != 0,
    })
}

/// Body: count u32 (low 28 bits; the top 4 are flags), then per entry domain u32,
/// server u32, sequence u64 (little-endian).
pub(crate) fn parse_gtid_list(data: &[u8]) -> Result<Vec<MariaGtid>, String> {
    if data.len() < 4 {
        return Err("GTID list event body shorter than 4 bytes".into());
    }
    let count =
        (u32::from_le_bytes(data[0..4].try_into().expect("4 bytes")) & 0x0FFF_FFFF) as usize;
    let need = 4 + count * 16;
    if data.len() < need {
        return Err(format!(
            "GTID list event of {count} entries needs {need} bytes, has {}",
            data.len()
        ));
    }
    Ok((0..count)
        .map(|i| {
            let e = &data[4 + i * 16..4 + (i + 1) * 16];
            MariaGtid {
                domain: u32::from_le_bytes(e[0..4].try_into().expect("4 bytes")),
                server: u32::from_le_bytes(e[4..8].try_into().expect("4 bytes")),
                seq: u64::from_le_bytes(e[8..16].try_into().expect("8 bytes")),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtid_event_body_is_seq_domain_flags() {
        let mut body = 20u64.to_le_bytes().to_vec();
        body.extend(0u32.to_le_bytes());
        body.push(FL_STANDALONE);
        let ev = parse_gtid(&body, 1).unwrap();
        assert_eq!(ev.gtid.to_string(), "0-1-20");
        assert!(ev.standalone);
        assert!(!ev.xa);
        assert!(parse_gtid(&body[..12], 1).is_err());
    }

    #[test]
    fn gtid_list_body_has_count_and_entries() {
        let mut body = (2u32 | 0x1000_0000).to_le_bytes().to_vec();
        for (d, s, n) in [(0u32, 1u32, 7u64), (3, 2, 9)] {
            body.extend(d.to_le_bytes());
            body.extend(s.to_le_bytes());
            body.extend(n.to_le_bytes());
        }
        let list = parse_gtid_list(&body).unwrap();
        assert_eq!(
            list.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
            ["0-1-7", "3-2-9"]
        );
        assert!(parse_gtid_list(&body[..20]).is_err());
    }
}
