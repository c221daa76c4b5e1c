//! Object changes and re-syncs asked on a server that does not run the project: the
//! change is saved through the config log as any edit, then forwarded to the owner of
//! the project's bucket, which takes it into its run exactly as a change made on itself
//! ([`crate::objects::take_up`]: a quick restart of the run, then waiting until its
//! checkpoint holds the change) and answers through the log. The asking server's API
//! call waits for that answer, so it answers as on the owner.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::state::AppState;

/// What the owner is asked to take into the run (the definition is saved already).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Forwarded {
    /// The object rules changed: the run restarts with them; they are in force once
    /// its checkpoint lists `tables` (`db.table`).
    Objects { tables: BTreeSet<String> },
    /// Re-sync `table` (`db.table`), asked at `asked_at` (Unix seconds).
    Resync { table: String, asked_at: u64 },
}

/// How long the asking server waits for the owner's answer: the owner's restart
/// delivers in-flight messages, then waits up to 30 s for the checkpoint.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// A forwarded request older than this is not taken up: it is a server replaying the
/// log at its start, long after the asker stopped waiting.
const STALE_AFTER_MS: i64 = 2 * 60 * 1000;

/// Sends `action` on project `id` to its owner and waits for the answer; `Ok` also
/// when no answer comes in time (the change is saved: the run takes it at its next
/// start), as a change made on the owner answers when its checkpoint is slow.
pub async fn to_owner(state: &AppState, id: &str, action: Forwarded) -> crate::error::Result<()> {
    let Some(cluster) = &state.cluster else {
        return Ok(());
    };
    let answer = cluster.config.forward(id, action).await?;
    match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
        Ok(Ok(None)) => Ok(()),
        Ok(Ok(Some(why))) => Err(crate::error::Error::NotTakenUp {
            id: id.to_string(),
            why,
        }),
        _ => {
            tracing::warn!(project = %id, "the server running the project did not answer the forwarded change within {ANSWER_TIMEOUT:?}; it takes the change at the run's next start");
            Ok(())
        }
    }
}

/// On the owner: takes up a request forwarded by node `from` and answers it.
pub async fn take_up(
    state: &AppState,
    id: &str,
    request: &str,
    from: &str,
    at_ms: i64,
    action: &Forwarded,
) {
    let Some(cluster) = state.cluster.clone() else {
        return;
    };
    let age = obsync_pipeline::delivery::unix_ms() as i64 - at_ms;
    if !cluster.owns(id) || age > STALE_AFTER_MS {
        return;
    }
    let error = match crate::objects::take_up(state, id, action).await {
        Ok(()) => {
            let coded = crate::runtime::RunMessage::ChangeTakenUp {
                node: cluster.node.to_string(),
                asked_on: from.to_string(),
            };
            let text = format!(
                "node {} took up the {} asked on node {from}: the run restarted with it",
                cluster.node,
                match action {
                    Forwarded::Objects { .. } => "object change",
                    Forwarded::Resync { .. } => "re-sync",
                }
            );
            use obsync_model::MessageCode;
            if let Err(e) = state
                .store
                .add_event(
                    id,
                    crate::model::EventKind::Notice,
                    "system",
                    &text,
                    &coded.coded(),
                    &[],
                )
                .await
            {
                tracing::warn!(project = %id, error = %obsync_model::ErrorChain(&e), "cannot record an event");
            }
            None
        }
        Err(e) => Some(obsync_model::ErrorChain(&e).to_string()),
    };
    if let Err(e) = cluster.config.answer(id, request, error).await {
        tracing::warn!(project = %id, error = %obsync_model::ErrorChain(&e), "cannot answer a forwarded change");
    }
}
