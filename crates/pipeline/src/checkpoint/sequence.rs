//! `storeDataSequence` numbers that never go back, across restarts and crashes.
//!
//! Numbers are reserved ahead of use: before the generator hands out a number above
//! the last reservation, `sequence.json` in the state directory is rewritten (tmp →
//! fsync → rename) to say "reserved up to R", with R a minute of numbers ahead of the
//! source's and the local clock. A start, whatever ended the previous run (SIGTERM,
//! `kill -9`, a crash between send and acknowledgement), continues strictly after R.
//! A message re-sent after a crash therefore gets a new, higher number, and sorting by
//! sequence still ends at the source's state.
//!
//! The file is separate from `state.json` on purpose: `state.json` describes only what
//! Kafka acknowledged and is written by the delivery tracker alone, while a reservation
//! must be on disk *before* its numbers are sent.

use super::{write_synced, CheckpointError};
use obsync_format::SequenceGenerator;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// The reservation's file name in a project's state directory.
pub const SEQUENCE_FILE: &str = "sequence.json";

/// Format version of `sequence.json`.
const VERSION: &str = "1";

/// One second of numbers (`commit_secs × 100000 + n`).
const PER_SECOND: u64 = 100_000;

/// How far ahead a reservation reaches: 60 s of numbers past the larger of the number
/// asked for and the local clock's. The file is rewritten about once a minute while
/// the source is current, and not at all while it catches up with older changes.
const AHEAD: u64 = 60 * PER_SECOND;

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: String,
    /// No number up to this one may be handed out again.
    reserved_up_to: u64,
}

/// A [`SequenceGenerator`] whose numbers are reserved on disk before use.
#[derive(Debug)]
pub struct SequenceReservation {
    dir: PathBuf,
    generator: SequenceGenerator,
    reserved_up_to: u64,
}

impl SequenceReservation {
    /// Continues after the reservation saved in `dir`. Without one (a new project, or
    /// one last run by an obsync that kept none), it starts after the current second,
    /// above any number an earlier run numbered from commit times up to now.
    pub fn load(dir: &Path) -> Result<Self, CheckpointError> {
        let path = dir.join(SEQUENCE_FILE);
        let reserved_up_to = match fs::read_to_string(&path) {
            Ok(text) => {
                let probe: super::VersionProbe =
                    serde_json::from_str(&text).map_err(|source| CheckpointError::Corrupt {
                        path: path.clone(),
                        source,
                    })?;
                if probe.version != VERSION {
                    return Err(CheckpointError::UnknownVersion {
                        path,
                        version: probe.version,
                        known: VERSION,
                    });
                }
                let file: OnDisk =
                    serde_json::from_str(&text).map_err(|source| CheckpointError::Corrupt {
                        path: path.clone(),
                        source,
                    })?;
                file.reserved_up_to
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (now_secs() + 1) * PER_SECOND - 1,
            Err(source) => {
                return Err(CheckpointError::Io {
                    action: "read",
                    path,
                    source,
                })
            }
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            generator: SequenceGenerator::starting_after(reserved_up_to),
            // Nothing past it is reserved by this run yet.
            reserved_up_to,
        })
    }

    /// The next number for a message whose transaction committed at `commit_secs`,
    /// reserved on disk first when it is past the current reservation.
    pub async fn next(&mut self, commit_secs: u64) -> Result<u64, CheckpointError> {
        let n = self.generator.next(commit_secs);
        if n > self.reserved_up_to {
            let up_to = n.max(now_secs() * PER_SECOND) + AHEAD;
            let dir = self.dir.clone();
            let bytes = serde_json::to_vec(&OnDisk {
                version: VERSION.into(),
                reserved_up_to: up_to,
            })
            .expect("a reservation always serializes");
            tokio::task::spawn_blocking(move || write_synced(&dir, SEQUENCE_FILE, &bytes))
                .await
                .map_err(|e| CheckpointError::Io {
                    action: "write",
                    path: self.dir.join(SEQUENCE_FILE),
                    source: std::io::Error::other(e.to_string()),
                })??;
            self.reserved_up_to = up_to;
        }
        Ok(n)
    }

    /// The reservation saved in `dir`, if any (read by a backend that carries it with
    /// the checkpoint to another machine).
    pub fn reserved_in(dir: &Path) -> Result<Option<u64>, CheckpointError> {
        if !dir.join(SEQUENCE_FILE).exists() {
            return Ok(None);
        }
        Ok(Some(Self::load(dir)?.reserved_up_to))
    }

    /// Makes the next run in `dir` continue after every number a run elsewhere may have
    /// handed out, given `carried`, the reservation it saved with its last checkpoint.
    /// That run reserved at most once more since (a reservation lasts a minute, a
    /// checkpoint a second), reaching at most the larger of `carried` and its clock plus
    /// one reservation; so the next run continues after the larger of that and this
    /// clock's, plus one reservation and a minute for clocks that differ.
    pub fn continue_after_moved(dir: &Path, carried: Option<u64>) -> Result<(), CheckpointError> {
        let local = Self::reserved_in(dir)?.unwrap_or(0);
        let moved = carried.unwrap_or(0).max(now_secs() * PER_SECOND) + 2 * AHEAD;
        let bytes = serde_json::to_vec(&OnDisk {
            version: VERSION.into(),
            reserved_up_to: local.max(moved),
        })
        .expect("a reservation always serializes");
        write_synced(dir, SEQUENCE_FILE, &bytes)
    }

    /// The last number handed out (or the reservation it continues after).
    pub fn last(&self) -> u64 {
        self.generator.last()
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("obsync-seq-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn a_restart_continues_past_every_number_handed_out() {
        let d = dir("restart");
        let pinned = 1_800_000_000;
        let mut s = SequenceReservation::load(&d).unwrap();
        let a = s.next(pinned).await.unwrap();
        let b = s.next(pinned).await.unwrap();
        assert!(b > a);
        // A crash: nothing but the reservation file survives.
        drop(s);
        let mut s = SequenceReservation::load(&d).unwrap();
        let c = s.next(pinned).await.unwrap();
        assert!(c > b, "{c} after {b}");
        // A clock far in the past changes nothing.
        let e = s.next(1_000_000_000).await.unwrap();
        assert!(e > c);
        let _ = fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn a_new_project_starts_above_numbers_of_commits_until_now() {
        let d = dir("fresh");
        let mut s = SequenceReservation::load(&d).unwrap();
        let n = s.next(1_000).await.unwrap();
        assert!(n > now_secs() * PER_SECOND, "{n}");
        let _ = fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn a_project_moved_elsewhere_continues_after_the_carried_reservation() {
        let d = dir("moved");
        let ahead = (now_secs() + 3600) * PER_SECOND;
        SequenceReservation::continue_after_moved(&d, Some(ahead)).unwrap();
        let mut s = SequenceReservation::load(&d).unwrap();
        let n = s.next(1_000).await.unwrap();
        assert!(n > ahead + AHEAD, "{n} after {ahead}");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_newer_format_is_refused() {
        let d = dir("version");
        fs::write(
            d.join(SEQUENCE_FILE),
            r#"{"version":"9","reserved_up_to":1}"#,
        )
        .unwrap();
        let err = SequenceReservation::load(&d).unwrap_err();
        assert!(
            matches!(err, CheckpointError::UnknownVersion { .. }),
            "{err}"
        );
        let _ = fs::remove_dir_all(&d);
    }
}
