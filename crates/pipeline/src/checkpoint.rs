//! Crash-safe project state: which stage is done, per-table snapshot progress and the
//! incremental resume position.
//!
//! Architecture invariant: the state written here only ever describes data that Kafka
//! has acknowledged; the delivery tracker is the only writer during a run.

use obsync_model::{LogPosition, TableMeta, Value};
use obsync_source::snapshot::KeyRange;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Everything a restart needs to continue without losing data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectState {
    /// Set once every mapped new topic exists.
    pub schema_done: bool,
    /// Change-log position recorded before the snapshot began; incremental sync starts
    /// here after full sync so nothing committed during the snapshot is missed.
    pub snapshot_start: Option<LogPosition>,
    /// Full-sync progress per table (`db.table`).
    pub tables: BTreeMap<String, TableProgress>,
    pub full_done: bool,
    /// Position right after the last transaction whose messages Kafka acknowledged.
    pub incremental: Option<IncrementalCheckpoint>,
    /// Definitions of the project's tables in force at the position incremental sync
    /// resumes from (the checkpoint's, else the snapshot start's). Rows logged before
    /// the next DDL are decoded with these: today's definition may already include a
    /// DDL run while the project was down. A table is left out when it had DDL since
    /// its last row (today's definition is read then).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub definitions: Vec<TableMeta>,
}

/// Snapshot progress of one table: resume after `last_key`, or, when the table is
/// read in parallel key ranges, after each range's own `last_key`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableProgress {
    pub done: bool,
    /// Key of the last row of the last acknowledged chunk (`None`: start of table).
    pub last_key: Option<Vec<Value>>,
    pub rows: u64,
    /// The key ranges read in parallel, fixed before the first of their rows is read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<RangeProgress>,
}

/// Progress of one key range of a table read in parallel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeProgress {
    pub range: KeyRange,
    pub last_key: Option<Vec<Value>>,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncrementalCheckpoint {
    pub position: LogPosition,
    /// Source commit time of that transaction, Unix seconds.
    pub timestamp: u32,
}

/// The on-disk envelope; the tag lets a later release read older files.
#[derive(Serialize, Deserialize)]
#[serde(tag = "version")]
enum StateFile {
    #[serde(rename = "1")]
    V1(ProjectState),
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot {action} checkpoint file {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A corrupt checkpoint is never replaced silently: resuming from nothing could
    /// skip data or replay everything, and only the user can choose.
    #[error("checkpoint file {path} is corrupt ({source}); restore it from a backup, or delete the state directory to start the project from scratch")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads and atomically replaces `state.json` in a project's state directory.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
}

impl CheckpointStore {
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| CheckpointError::Io {
            action: "create the directory of the",
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn tmp_path(&self) -> PathBuf {
        self.dir.join("state.json.tmp")
    }

    /// Loads the state; a missing file means a fresh project. A leftover temporary file
    /// from an interrupted write is ignored: the rename never happened, so the main file
    /// is the last complete state.
    pub fn load(&self) -> Result<ProjectState, CheckpointError> {
        let path = self.path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ProjectState::default())
            }
            Err(source) => {
                return Err(CheckpointError::Io {
                    action: "read",
                    path,
                    source,
                })
            }
        };
        match serde_json::from_str::<StateFile>(&text) {
            Ok(StateFile::V1(state)) => Ok(state),
            Err(source) => Err(CheckpointError::Corrupt { path, source }),
        }
    }

    /// Writes tmp → fsync → rename → fsync(dir), so a crash leaves the old or the new
    /// state, never a torn one.
    pub fn save(&self, state: &ProjectState) -> Result<(), CheckpointError> {
        let tmp = self.tmp_path();
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| CheckpointError::Io {
                action,
                path,
                source,
            }
        };
        let bytes = serde_json::to_vec_pretty(&StateFile::V1(state.clone()))
            .expect("project state always serializes");
        let mut f = File::create(&tmp).map_err(io("create", &tmp))?;
        f.write_all(&bytes).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("sync", &tmp))?;
        drop(f);
        fs::rename(&tmp, self.path()).map_err(io("replace", &self.path()))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io("sync the directory of", &self.dir))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::{BinlogCoord, Gtid};

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("obsync-ckpt-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn missing_state_is_a_fresh_project() {
        let store = CheckpointStore::open(temp_dir("fresh")).unwrap();
        assert_eq!(store.load().unwrap(), ProjectState::default());
    }

    #[test]
    fn saved_state_survives_reload_exactly() {
        let store = CheckpointStore::open(temp_dir("reload")).unwrap();
        let mut state = ProjectState {
            schema_done: true,
            ..Default::default()
        };
        state.tables.insert(
            "shop.orders".into(),
            TableProgress {
                done: false,
                last_key: Some(vec![Value::UInt(u64::MAX), Value::Text("é".into())]),
                rows: 42,
                ranges: vec![RangeProgress {
                    range: KeyRange {
                        after: Some(Value::Int(-5)),
                        up_to: None,
                    },
                    last_key: Some(vec![Value::Int(7)]),
                    done: false,
                }],
            },
        );
        state.incremental = Some(IncrementalCheckpoint {
            position: LogPosition {
                coord: BinlogCoord::new("mysql-bin.000002", 1234),
                gtid: Some(Gtid("0-1-77".into())),
            },
            timestamp: 1_714_528_800,
        });
        store.save(&state).unwrap();
        assert_eq!(store.load().unwrap(), state);
        assert!(!store.tmp_path().exists());
    }

    #[test]
    fn corrupt_state_fails_loudly_instead_of_restarting_from_scratch() {
        let store = CheckpointStore::open(temp_dir("corrupt")).unwrap();
        fs::write(store.path(), b"{\"version\":\"1\",\"schema_done\":tr").unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("is corrupt"), "{err}");
        assert!(err.contains("delete the state directory"), "{err}");
    }

    #[test]
    fn leftover_tmp_file_does_not_replace_the_last_complete_state() {
        let store = CheckpointStore::open(temp_dir("tmp")).unwrap();
        let state = ProjectState {
            full_done: true,
            ..Default::default()
        };
        store.save(&state).unwrap();
        fs::write(store.tmp_path(), b"garbage from a crash").unwrap();
        assert_eq!(store.load().unwrap(), state);
    }
}
