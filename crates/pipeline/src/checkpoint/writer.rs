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

use super::{CheckpointError, CheckpointStore, ProjectState};
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
    pub fn spawn(store: CheckpointStore) -> Self {
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
    store: CheckpointStore,
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
