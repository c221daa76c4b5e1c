//! A project's stage timeline: when each stage (schema, full, incremental) of its
//! current life began and ended.
//!
//! A run knows only the stages it entered ([`StageEntered`], kept by the engine's
//! status); the project's record keeps the spans of every run since the project was
//! started, so a pause, a resume or a server restart continues the same timeline. The
//! runtime merges a run's entries into the record at each sample and when the run ends;
//! the progress answer merges the live run's over the record without saving them.

use obsync_pipeline::status::StageEntered;
use serde::{Deserialize, Serialize};

use crate::lifecycle::Stage;

/// One stage of the project's current life, times in Unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSpan {
    pub stage: Stage,
    pub started_ms: u64,
    /// Set when the next stage began or the run finished every stage.
    pub ended_ms: Option<u64>,
}

/// Adds a run's stage entries to `spans`; returns whether anything changed. Entries
/// already merged (at or before the last span's start) and a stage the timeline is
/// already in or past (a resumed run entering it again; a run restarted by an object
/// change passing through schema sync to create a new topic) change nothing: a life's
/// stages only move forward, and merging the same run again is harmless.
pub fn merge(spans: &mut Vec<StageSpan>, entered: &[StageEntered]) -> bool {
    let mut changed = false;
    for e in entered {
        let stage = Stage::from(e.stage);
        if let Some(last) = spans.last_mut() {
            if stage <= last.stage || e.at_ms <= last.started_ms {
                continue;
            }
            if last.ended_ms.is_none() {
                last.ended_ms = Some(e.at_ms);
            }
        }
        spans.push(StageSpan {
            stage,
            started_ms: e.at_ms,
            ended_ms: None,
        });
        changed = true;
    }
    changed
}

/// Ends the open stage at `at_ms` (the run finished every requested stage).
pub fn finish(spans: &mut [StageSpan], at_ms: u64) {
    if let Some(last) = spans.last_mut().filter(|s| s.ended_ms.is_none()) {
        last.ended_ms = Some(at_ms.max(last.started_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_pipeline::Stage as P;

    fn at(stage: P, at_ms: u64) -> StageEntered {
        StageEntered { stage, at_ms }
    }

    #[test]
    fn runs_continue_one_timeline_and_merging_again_changes_nothing() {
        let mut spans = Vec::new();
        // The first run: precheck (part of schema), schema, full; sampled twice.
        let first = [at(P::Precheck, 100), at(P::Schema, 110), at(P::Full, 200)];
        assert!(merge(&mut spans, &first[..2]));
        assert!(merge(&mut spans, &first));
        assert!(!merge(&mut spans, &first), "merging again is harmless");
        // Paused during full sync; the resumed run enters full again, then incremental.
        assert!(merge(
            &mut spans,
            &[at(P::Full, 500), at(P::Incremental, 900)]
        ));
        assert_eq!(
            spans,
            vec![
                StageSpan {
                    stage: Stage::Schema,
                    started_ms: 100,
                    ended_ms: Some(200)
                },
                StageSpan {
                    stage: Stage::Full,
                    started_ms: 200,
                    ended_ms: Some(900)
                },
                StageSpan {
                    stage: Stage::Incremental,
                    started_ms: 900,
                    ended_ms: None
                },
            ]
        );
        finish(&mut spans, 1000);
        assert_eq!(spans[2].ended_ms, Some(1000));
    }

    #[test]
    fn a_run_restarted_by_an_object_change_stays_in_incremental_sync() {
        let mut spans = Vec::new();
        merge(
            &mut spans,
            &[
                at(P::Schema, 100),
                at(P::Full, 200),
                at(P::Incremental, 300),
            ],
        );
        // Tables added while running: the restarted run creates their topic, then streams.
        assert!(!merge(
            &mut spans,
            &[at(P::Schema, 500), at(P::Incremental, 510)]
        ));
        assert_eq!(
            spans.iter().map(|s| s.stage).collect::<Vec<_>>(),
            [Stage::Schema, Stage::Full, Stage::Incremental]
        );
        assert_eq!(spans[2].ended_ms, None, "incremental sync goes on");
    }
}
