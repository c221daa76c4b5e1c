//! The source side of verify: reads a table in key-ordered chunks (each after taking
//! the change-log position) and compares its rows with the rebuilt ones.

use std::collections::{BTreeMap, HashMap};

use obsync_format::decode::{canonical_image, Image};
use obsync_model::Value;
use obsync_source::metadata::ServerInfo;
use obsync_source::position::PositionError;
use obsync_source::snapshot::SnapshotReader;

use super::rebuild::{key_values, row_key, RowEntry, TableState};
use super::{Progress, ProgressFn, VerifyError};

/// A key that differed in a check, to be checked again: its key values to re-read the
/// row (`None` when they cannot be rebuilt from the topic's text).
pub(super) type Candidates = BTreeMap<String, Option<Vec<Value>>>;

/// What the first pass over a keyed table found.
#[derive(Debug, Default)]
pub(super) struct FirstPass {
    pub rows_checked: u64,
    pub candidates: Candidates,
    /// Change-log positions taken before the first and the last chunk.
    pub positions: Option<(String, String)>,
}

/// The position the source's change log ends at now, as text; `None` on a source
/// without a change log (seekdb without the Binlog Service).
pub(super) async fn position(
    reader: &SnapshotReader,
    server: &ServerInfo,
) -> Result<Option<String>, VerifyError> {
    let mut conn = reader.session().await?;
    match obsync_source::position::current_position(&mut conn, server).await {
        Ok(p) => Ok(Some(p.to_string())),
        Err(PositionError::NoBinlog { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Compares a keyed table chunk by chunk. Rows that match are taken out of `state`, so
/// what is left afterwards, besides the differing keys, is in the topic only.
pub(super) async fn first_pass(
    reader: &SnapshotReader,
    server: &ServerInfo,
    state: &mut TableState,
    progress: &ProgressFn,
) -> Result<FirstPass, VerifyError> {
    let meta = state.meta.clone();
    let mut pass = FirstPass::default();
    let mut after: Option<Vec<Value>> = None;
    loop {
        let at = position(reader, server).await?;
        if let Some(at) = at {
            let first = pass.positions.take().map_or(at.clone(), |(f, _)| f);
            pass.positions = Some((first, at));
        }
        let chunk = reader.read_chunk(after.as_deref()).await?;
        for row in &chunk.rows {
            let image = canonical_image(&meta, row);
            let key = row_key(&meta, &image);
            pass.rows_checked += 1;
            match state.rows.get(&key) {
                Some(entry) if entry.image == image => {
                    state.rows.remove(&key);
                }
                _ => {
                    let values = meta.key.iter().map(|&i| row[i].clone()).collect();
                    pass.candidates.insert(key, Some(values));
                }
            }
        }
        progress(Progress::RowsChecked {
            table: meta.id.to_string(),
            rows: pass.rows_checked,
        });
        match chunk.last_key {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    for (key, entry) in &state.rows {
        if !pass.candidates.contains_key(key) {
            pass.candidates
                .insert(key.clone(), key_values(&meta, &entry.image));
        }
    }
    Ok(pass)
}

/// The row of `key` at the source now, as canonical text (`None`: no such row, or no
/// key values to look it up with).
pub(super) async fn source_row(
    reader: &SnapshotReader,
    key: Option<&[Value]>,
) -> Result<Option<Image>, VerifyError> {
    let Some(key) = key else { return Ok(None) };
    Ok(reader
        .read_row(key)
        .await?
        .map(|row| canonical_image(reader.meta(), &row)))
}

/// The whole of a table without a key, as a multiset: text → row and copies.
pub(super) async fn source_multiset(
    reader: &SnapshotReader,
) -> Result<HashMap<String, RowEntry>, VerifyError> {
    let meta = reader.meta().clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let collect = async {
        let mut rows: HashMap<String, RowEntry> = HashMap::new();
        while let Some(batch) = rx.recv().await {
            for row in batch {
                let image = canonical_image(&meta, &row);
                rows.entry(row_key(&meta, &image))
                    .or_insert(RowEntry { image, count: 0 })
                    .count += 1;
            }
        }
        rows
    };
    let (read, rows) = tokio::join!(reader.stream_all(tx), collect);
    read?;
    Ok(rows)
}

/// Differences between a multiset read from the source and the rebuilt one:
/// (missing, extra) as key → copies.
pub(super) fn multiset_diff(
    source: &HashMap<String, RowEntry>,
    topic: &HashMap<String, RowEntry>,
) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let count = |m: &HashMap<String, RowEntry>, k: &str| m.get(k).map_or(0, |e| e.count);
    let mut missing = BTreeMap::new();
    let mut extra = BTreeMap::new();
    for key in source.keys().chain(topic.keys()) {
        let (s, t) = (count(source, key), count(topic, key));
        if s > t {
            missing.insert(key.clone(), s - t);
        } else if t > s {
            extra.insert(key.clone(), t - s);
        }
    }
    (missing, extra)
}
