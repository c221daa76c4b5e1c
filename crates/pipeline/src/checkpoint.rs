//! Crash-safe project state: which stage is done, per-table snapshot progress and the
//! incremental resume position.
//!
//! Architecture invariant: the state written here only ever describes data that Kafka
//! has acknowledged; the delivery tracker is the only writer during a run.
//!
//! The tables' definitions can be large (every column of every table) and change
//! rarely, while the state is saved every second: they live in a file of their own,
//! named by a hash of its content and written only when it changes. `state.json`
//! names the one that belongs to it, so the pair is replaced as atomically as
//! `state.json` alone.
//!
//! The files are a serialization boundary: the types here are the in-memory state,
//! free to change; what is on disk is the private format of [`disk_v1`], converted
//! both ways. `state.json` carries the format's version; a newer version than this
//! build reads fails loudly instead of being taken for a corrupt file.

mod disk_v1;
pub mod sequence;
pub mod writer;

pub use sequence::{SequenceReservation, SEQUENCE_FILE};
pub use writer::{CheckpointWriter, Snapshot};

use obsync_model::{LogPosition, TableMeta, Value};
use obsync_source::snapshot::KeyRange;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::hash::{DefaultHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Everything a restart needs to continue without losing data.
#[derive(Debug, Clone, Default, PartialEq)]
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
    pub definitions: Vec<TableMeta>,
    /// The server the incremental position was read from (`@@server_uuid`; MariaDB
    /// `server_id:N`), when known: a resume on another server is accepted only as a
    /// failover within one GTID history (see `obsync_source::binlog::BinlogOptions`).
    /// `None` in checkpoints written before obsync kept it; the next save adds it.
    pub source_server: Option<String>,
    /// Row changes of incremental sync per table (`db.table`) in the transactions up to
    /// `incremental`'s position: saved with that position, so a resume counts the
    /// re-read tail once (Kafka may hold it twice).
    pub changes: BTreeMap<String, ChangeCounts>,
    /// The tables (`db.table`) this state covers: a run whose plan names others has had
    /// tables added or removed since (online object changes). `None` in checkpoints
    /// written before obsync kept it: the next run takes its plan as the set.
    pub objects: Option<BTreeSet<String>>,
    /// Tables that joined while the change log streamed: their changes are synced from
    /// this position on (earlier ones were before they joined). Dropped once the
    /// checkpoint passes it.
    pub joined: BTreeMap<String, LogPosition>,
    /// Watermark backfills (tables added with backfill, or re-synced), per table.
    pub backfills: BTreeMap<String, BackfillProgress>,
}

/// A watermark backfill of one table (`stages::backfill`): its last chunk Kafka
/// acknowledged, so a restart goes on with the next one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackfillProgress {
    /// Key of the last row of the last acknowledged chunk (`None`: start of table).
    pub last_key: Option<Vec<Value>>,
    pub chunks: u64,
    pub rows: u64,
    pub done: bool,
    /// When it was asked for and when it ended, Unix seconds.
    pub started_at: u64,
    pub finished_at: Option<u64>,
}

/// Row changes of one table delivered to Kafka by incremental sync. An update whose new
/// key moved to another partition is sent as a delete and an insert but counted as the
/// one update it was at the source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangeCounts {
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
}

impl ChangeCounts {
    pub fn add(&mut self, kind: ChangeKind) {
        match kind {
            ChangeKind::Insert => self.inserts += 1,
            ChangeKind::Update => self.updates += 1,
            ChangeKind::Delete => self.deletes += 1,
        }
    }
}

/// What a source row change was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Update,
    Delete,
}

impl ProjectState {
    /// A copy without the definitions, which are shared separately (see [`Snapshot`]).
    pub fn without_definitions(&self) -> ProjectState {
        ProjectState {
            schema_done: self.schema_done,
            snapshot_start: self.snapshot_start.clone(),
            tables: self.tables.clone(),
            full_done: self.full_done,
            incremental: self.incremental.clone(),
            definitions: Vec::new(),
            source_server: self.source_server.clone(),
            changes: self.changes.clone(),
            objects: self.objects.clone(),
            joined: self.joined.clone(),
            backfills: self.backfills.clone(),
        }
    }
}

/// Snapshot progress of one table: resume after `last_key`, or, when the table is
/// read in parallel key ranges, after each range's own `last_key`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableProgress {
    pub done: bool,
    /// Key of the last row of the last acknowledged chunk (`None`: start of table).
    pub last_key: Option<Vec<Value>>,
    pub rows: u64,
    /// The key ranges read in parallel, fixed before the first of their rows is read.
    pub ranges: Vec<RangeProgress>,
}

/// Progress of one key range of a table read in parallel.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeProgress {
    pub range: KeyRange,
    pub last_key: Option<Vec<Value>>,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncrementalCheckpoint {
    pub position: LogPosition,
    /// Source commit time of that transaction, Unix seconds.
    pub timestamp: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot {action} checkpoint file {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A corrupt checkpoint is never replaced silently: resuming from nothing could
    /// skip data or replay everything, and only the user can choose.
    #[error("checkpoint file {path} is corrupt (restore it from a backup, or delete the state directory to start the project from scratch)")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Written by a newer obsync, whose format this one cannot read.
    #[error("checkpoint file {path} has format version {version}, which this obsync does not read (it reads version {known}): run the obsync release that wrote it, or a newer one")]
    UnknownVersion {
        path: PathBuf,
        version: String,
        known: &'static str,
    },
    /// A checkpoint kept elsewhere than in files ([`encode`]d) does not read back.
    #[error("the checkpoint record {place} is corrupt or of an unknown format (written by a newer obsync?): run the obsync release that wrote it")]
    CorruptRecord {
        place: String,
        #[source]
        source: serde_json::Error,
    },
    /// A [`CheckpointBackend`] other than files could not save the state (cluster
    /// mode: the project moved to another server, which fenced this one).
    #[error("cannot save the checkpoint in {place}")]
    Backend {
        place: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where a run's checkpoints live. Files in the state directory ([`CheckpointStore`])
/// for `obsync run` and a single server; a cluster of servers adds a Kafka topic
/// written through a fenced producer (`obsync-server`'s `cluster` module).
///
/// Architecture invariant: whatever the backend, only the delivery tracker's writer
/// calls [`save_with`](Self::save_with) during a run, with states Kafka acknowledged.
pub trait CheckpointBackend: Send + Sync + std::fmt::Debug {
    /// The saved state; a fresh project's is the default state.
    fn load(&self) -> Result<ProjectState, CheckpointError>;
    /// Saves `state` with `definitions` (those in `state` are ignored). Blocking.
    fn save_with(
        &self,
        state: &ProjectState,
        definitions: &[TableMeta],
    ) -> Result<(), CheckpointError>;
}

/// A run's checkpoint backend, shared by its tracker and writer.
pub type SharedCheckpoints = Arc<dyn CheckpointBackend>;

impl CheckpointBackend for CheckpointStore {
    fn load(&self) -> Result<ProjectState, CheckpointError> {
        CheckpointStore::load(self)
    }

    fn save_with(
        &self,
        state: &ProjectState,
        definitions: &[TableMeta],
    ) -> Result<(), CheckpointError> {
        CheckpointStore::save_with(self, state, definitions)
    }
}

/// A state with its definitions as one record, in the format of `state.json` (version
/// and all) with the definitions inline: for backends that keep one value per project.
#[derive(serde::Serialize, Deserialize)]
struct Record {
    state: disk_v1::State,
    #[serde(default)]
    definitions: disk_v1::Definitions,
}

/// `state` and `definitions` as one self-describing record (see [`decode`]).
pub fn encode(state: &ProjectState, definitions: &[TableMeta]) -> Vec<u8> {
    let record = Record {
        state: disk_v1::State::from_state(state, None),
        definitions: definitions.iter().map(Into::into).collect(),
    };
    serde_json::to_vec(&record).expect("project state always serializes")
}

/// The state of an [`encode`]d record; `place` names it in errors.
pub fn decode(bytes: &[u8], place: &str) -> Result<ProjectState, CheckpointError> {
    let corrupt = |source| CheckpointError::CorruptRecord {
        place: place.to_string(),
        source,
    };
    #[derive(Deserialize)]
    struct Probe {
        state: VersionProbe,
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(corrupt)?;
    if probe.state.version != disk_v1::VERSION {
        return Err(CheckpointError::UnknownVersion {
            path: PathBuf::from(place),
            version: probe.state.version,
            known: disk_v1::VERSION,
        });
    }
    let record: Record = serde_json::from_slice(bytes).map_err(corrupt)?;
    let mut state = record.state.into_state();
    state.definitions = record.definitions.into_iter().map(Into::into).collect();
    Ok(state)
}

/// The state's file name in a project's state directory.
pub const STATE_FILE: &str = "state.json";

/// Just the version of a `state.json`, read before its body so that a file of another
/// version is told apart from a corrupt one.
#[derive(Deserialize)]
struct VersionProbe {
    version: String,
}

/// The definitions file last written or read, so an unchanged set is not written again.
#[derive(Debug)]
struct Written {
    definitions: Vec<TableMeta>,
    file: String,
}

/// Reads and atomically replaces `state.json` in a project's state directory.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
    written: Arc<Mutex<Option<Written>>>,
    /// Runs inside every save (tests slow the disk down with it).
    #[cfg(test)]
    on_save: Option<SaveHook>,
}

#[cfg(test)]
#[derive(Clone)]
struct SaveHook(Arc<dyn Fn() + Send + Sync>);

#[cfg(test)]
impl std::fmt::Debug for SaveHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SaveHook")
    }
}

impl CheckpointStore {
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| CheckpointError::Io {
            action: "create the directory of the",
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            written: Arc::default(),
            #[cfg(test)]
            on_save: None,
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// The state saved in `dir`, read without creating or changing anything there (the
    /// precheck looks before a run); `None` when no state was saved yet. A corrupt file
    /// is an error, as for [`Self::load`].
    pub fn peek(dir: &Path) -> Result<Option<ProjectState>, CheckpointError> {
        let store = Self {
            dir: dir.to_path_buf(),
            written: Arc::default(),
            #[cfg(test)]
            on_save: None,
        };
        let path = store.path();
        match path.try_exists() {
            Ok(false) => Ok(None),
            Ok(true) => store.load().map(Some),
            Err(source) => Err(CheckpointError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    /// Makes every save call `hook` first (on the thread that saves).
    #[cfg(test)]
    pub(crate) fn set_save_hook(&mut self, hook: impl Fn() + Send + Sync + 'static) {
        self.on_save = Some(SaveHook(Arc::new(hook)));
    }

    #[cfg(test)]
    fn tmp_path(&self) -> PathBuf {
        self.dir.join(format!("{STATE_FILE}.tmp"))
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
        let corrupt = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CheckpointError::Corrupt { path, source }
        };
        let probe: VersionProbe = serde_json::from_str(&text).map_err(corrupt(&path))?;
        // Each format reads into its own types and converts; a later format adds a
        // branch here that reads the older ones and migrates them.
        let file: disk_v1::State = match probe.version.as_str() {
            disk_v1::VERSION => serde_json::from_str(&text).map_err(corrupt(&path))?,
            _ => {
                return Err(CheckpointError::UnknownVersion {
                    path,
                    version: probe.version,
                    known: disk_v1::VERSION,
                })
            }
        };
        let definitions_file = file.definitions_file.clone();
        let mut state = file.into_state();
        if let Some(file) = definitions_file {
            let path = self.dir.join(&file);
            let text = fs::read_to_string(&path).map_err(|source| CheckpointError::Io {
                action: "read",
                path: path.clone(),
                source,
            })?;
            let on_disk: disk_v1::Definitions =
                serde_json::from_str(&text).map_err(corrupt(&path))?;
            state.definitions = on_disk.into_iter().map(Into::into).collect();
            *self.written() = Some(Written {
                definitions: state.definitions.clone(),
                file,
            });
        }
        Ok(state)
    }

    fn written(&self) -> std::sync::MutexGuard<'_, Option<Written>> {
        self.written.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes sure the definitions are on disk (written and synced only when they
    /// changed); returns the name of their file and whether it is another than before.
    fn save_definitions(
        &self,
        definitions: &[TableMeta],
    ) -> Result<(Option<String>, bool), CheckpointError> {
        let mut written = self.written();
        if definitions.is_empty() {
            return Ok((None, written.take().is_some()));
        }
        if let Some(w) = written.as_ref().filter(|w| w.definitions == definitions) {
            return Ok((Some(w.file.clone()), false));
        }
        let on_disk: disk_v1::Definitions = definitions.iter().map(Into::into).collect();
        let bytes = serde_json::to_vec(&on_disk).expect("table definitions always serialize");
        let mut hasher = DefaultHasher::new();
        hasher.write(&bytes);
        let file = format!("definitions-{:016x}.json", hasher.finish());
        write_synced(&self.dir, &file, &bytes)?;
        *written = Some(Written {
            definitions: definitions.to_vec(),
            file: file.clone(),
        });
        Ok((Some(file), true))
    }

    /// Removes definitions files other than `keep` (after `state.json` stopped naming
    /// them). Best effort: a leftover file is only wasted space.
    fn remove_stale_definitions(&self, keep: Option<&str>) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("definitions-") && Some(name.as_ref()) != keep {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Writes tmp → fsync → rename → fsync(dir), so a crash leaves the old or the new
    /// state, never a torn one. The definitions file it names is on disk before it.
    /// Blocking: on the async runtime, go through a [`CheckpointWriter`].
    pub fn save(&self, state: &ProjectState) -> Result<(), CheckpointError> {
        self.save_with(state, &state.definitions)
    }

    /// Like [`save`](Self::save), with the definitions given apart (those in `state`
    /// are ignored).
    pub fn save_with(
        &self,
        state: &ProjectState,
        definitions: &[TableMeta],
    ) -> Result<(), CheckpointError> {
        #[cfg(test)]
        if let Some(hook) = &self.on_save {
            (hook.0)();
        }
        let (definitions_file, changed_file) = self.save_definitions(definitions)?;
        let on_disk = disk_v1::State::from_state(state, definitions_file.clone());
        let bytes = serde_json::to_vec_pretty(&on_disk).expect("project state always serializes");
        write_synced(&self.dir, STATE_FILE, &bytes)?;
        if changed_file {
            self.remove_stale_definitions(definitions_file.as_deref());
        }
        Ok(())
    }
}

/// Writes `dir/name` with tmp → fsync → rename → fsync(dir).
fn write_synced(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), CheckpointError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckpointError::Io {
            action,
            path,
            source,
        }
    };
    let mut f = File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(bytes).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("sync", &tmp))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(io("replace", &path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync the directory of", dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::{BinlogCoord, Column, ColumnType, Gtid, KeySource, TableId};

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
        state.objects = Some(["shop.orders".to_string(), "shop.items".into()].into());
        state.joined.insert(
            "shop.items".into(),
            LogPosition {
                coord: BinlogCoord::new("mysql-bin.000002", 2000),
                gtid: None,
            },
        );
        state.backfills.insert(
            "shop.items".into(),
            BackfillProgress {
                last_key: Some(vec![Value::Int(400)]),
                chunks: 2,
                rows: 400,
                done: false,
                started_at: 1_714_528_801,
                finished_at: None,
            },
        );
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
    fn a_newer_format_fails_loudly_naming_its_version() {
        let store = CheckpointStore::open(temp_dir("newer")).unwrap();
        fs::write(store.path(), br#"{"version":"2","whatever":"comes next"}"#).unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("format version 2"), "{err}");
        assert!(err.contains("reads version 1"), "{err}");
    }

    #[test]
    fn a_state_without_a_version_is_corrupt() {
        let store = CheckpointStore::open(temp_dir("unversioned")).unwrap();
        fs::write(store.path(), br#"{"schema_done":true}"#).unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("is corrupt"), "{err}");
    }

    #[test]
    fn the_source_server_is_kept_and_a_checkpoint_without_it_still_loads() {
        let store = CheckpointStore::open(temp_dir("server")).unwrap();
        let mut state = ProjectState {
            incremental: Some(IncrementalCheckpoint {
                position: LogPosition {
                    coord: BinlogCoord::new("mysql-bin.000002", 1234),
                    gtid: Some(Gtid("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5".into())),
                },
                timestamp: 1_714_528_800,
            }),
            ..Default::default()
        };
        // As written before obsync kept the server: no key at all.
        store.save(&state).unwrap();
        let text = fs::read_to_string(store.dir.join(STATE_FILE)).unwrap();
        assert!(!text.contains("source_server"), "{text}");
        assert_eq!(store.load().unwrap().source_server, None);
        // The next save adds it.
        state.source_server = Some("3e11fa47-71ca-11e1-9e33-c80aa9429562".into());
        store.save(&state).unwrap();
        assert_eq!(store.load().unwrap(), state);
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

    #[test]
    fn definitions_are_written_once_per_change_and_old_files_go() {
        let dir = temp_dir("defs");
        let store = CheckpointStore::open(&dir).unwrap();
        let meta = |cols: &[&str]| TableMeta {
            id: TableId::new("d", "t"),
            columns: cols
                .iter()
                .map(|c| Column::new(*c, ColumnType::Int))
                .collect(),
            key: vec![0],
            key_source: KeySource::PrimaryKey,
            primary_key: vec![0],
            unique_keys: vec![],
            estimated_rows: 0,
        };
        let files = || {
            let mut v: Vec<String> = fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("definitions-"))
                .collect();
            v.sort();
            v
        };
        let mut state = ProjectState {
            definitions: vec![meta(&["id", "a"])],
            ..Default::default()
        };
        store.save(&state).unwrap();
        let first = files();
        assert_eq!(first.len(), 1);
        let written_at = fs::metadata(dir.join(&first[0]))
            .unwrap()
            .modified()
            .unwrap();
        state.full_done = true;
        store.save(&state).unwrap();
        assert_eq!(files(), first, "unchanged definitions keep their file");
        assert_eq!(
            fs::metadata(dir.join(&first[0]))
                .unwrap()
                .modified()
                .unwrap(),
            written_at,
            "and it is not rewritten"
        );
        // A fresh store (a restart) reads them back exactly.
        assert_eq!(CheckpointStore::open(&dir).unwrap().load().unwrap(), state);

        state.definitions = vec![meta(&["id", "b", "a"])];
        store.save(&state).unwrap();
        let second = files();
        assert_eq!(second.len(), 1, "the old file is removed: {second:?}");
        assert_ne!(second, first);
        assert_eq!(CheckpointStore::open(&dir).unwrap().load().unwrap(), state);

        state.definitions.clear();
        store.save(&state).unwrap();
        assert!(files().is_empty());
        assert_eq!(CheckpointStore::open(&dir).unwrap().load().unwrap(), state);
    }
}
