//! Writes checkpoints off the async runtime.
//!
//! A save is a write and two fsyncs, milliseconds to seconds on a busy disk. Done inline
//! on a tokio worker it stalls every task scheduled there, acknowledgement draining
//! included. The delivery tracker instead hands each state to this writer through a
//! `watch` channel and carries on; the writer saves on the blocking pool, always the
//! newest state it was handed (older ones it skips are covered by it).
//!
//! Architecture invariant: the writer only saves states the tracker handed over, in
//! the order handed over, so what is on disk never runs ahead of Kafka.

use super::{CheckpointError, ProjectState, SharedCheckpoints};
use obsync_model::TableMeta;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A state to save: the progress and the definitions it names (shared, as they change
/// rarely and can be large).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Everything but the definitions (its `definitions` field is ignored).
    pub state: ProjectState,
    pub definitions: Arc<Vec<TableMeta>>,
}

/// The handle the delivery tracker holds.
#[derive(Debug)]
pub struct CheckpointWriter {
    tx: watch::Sender<Option<Arc<Snapshot>>>,
    /// `None` once its failure was reported.
    task: Option<JoinHandle<Result<(), CheckpointError>>>,
}

impl CheckpointWriter {
    /// Starts the writer task (on the current runtime).
    pub fn spawn(store: SharedCheckpoints) -> Self {
        let (tx, rx) = watch::channel(None);
        let task = tokio::spawn(write_latest(store, rx));
        Self {
            tx,
            task: Some(task),
        }
    }

    /// Hands `snapshot` over for saving and returns at once. Fails with the error of an
    /// earlier save, if one failed (the writer stops at its first failure).
    pub async fn publish(&mut self, snapshot: Snapshot) -> Result<(), CheckpointError> {
        if let Some(task) = self.task.take_if(|t| t.is_finished()) {
            return joined(task).await;
        }
        self.tx.send_replace(Some(Arc::new(snapshot)));
        Ok(())
    }

    /// Waits until the last state handed over is on disk.
    pub async fn finish(self) -> Result<(), CheckpointError> {
        drop(self.tx);
        match self.task {
            Some(task) => joined(task).await,
            None => Ok(()),
        }
    }
}

async fn joined(task: JoinHandle<Result<(), CheckpointError>>) -> Result<(), CheckpointError> {
    match task.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: only when the runtime shuts down, and then nothing waits for it.
        Err(_) => Ok(()),
    }
}

async fn write_latest(
    store: SharedCheckpoints,
    mut rx: watch::Receiver<Option<Arc<Snapshot>>>,
) -> Result<(), CheckpointError> {
    // `changed` reports a state handed over before the sender closed, then the close.
    while rx.changed().await.is_ok() {
        let Some(snapshot) = rx.borrow_and_update().clone() else {
            continue;
        };
        let store = store.clone();
        let saved = tokio::task::spawn_blocking(move || {
            store.save_with(&snapshot.state, &snapshot.definitions)
        })
        .await;
        match saved {
            Ok(result) => result?,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointStore;
    use std::io::Read;
    use std::time::Duration;

    /// A save that blocks (here: its temp file is a FIFO nobody reads for 3 s, as a stalled
    /// disk would) must not stall the runtime: on a one-thread runtime timers still fire
    /// while the save waits. Saving inline on the runtime, as before, stalls them 3 s.
    #[test]
    fn a_blocked_save_leaves_the_runtime_running() {
        let dir = std::env::temp_dir().join(format!("obsync-writer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = CheckpointStore::open(&dir).unwrap();
        let fifo = store.tmp_path();
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo {}", fifo.display());

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        // Whatever happens, the save is unblocked after 3 s: a reader drains the FIFO.
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(3));
            let mut bytes = Vec::new();
            std::fs::File::open(&fifo)
                .unwrap()
                .read_to_end(&mut bytes)
                .unwrap();
            bytes
        });
        runtime.block_on(async {
            let mut writer = CheckpointWriter::spawn(Arc::new(store));
            let snapshot = Snapshot {
                state: ProjectState {
                    schema_done: true,
                    ..Default::default()
                },
                definitions: Arc::new(Vec::new()),
            };
            writer.publish(snapshot).await.unwrap();
            // The writer starts its save, which blocks opening the FIFO; timers go on.
            let started = std::time::Instant::now();
            tokio::time::sleep(Duration::from_millis(200)).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(2),
                "the runtime stalled behind the save for {took:?}"
            );
            // (fsync of a FIFO fails: the outcome of this save is not what is tested.)
            let _ = writer.finish().await;
        });
        let written = reader.join().unwrap();
        assert!(
            String::from_utf8_lossy(&written).contains("schema_done"),
            "the writer saved the state it was handed"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
