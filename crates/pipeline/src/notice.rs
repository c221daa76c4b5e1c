//! What a run tells the user that is not an error (a table joined or left, a backfill
//! finished, a synced table renamed away), as a code with its parameters for the
//! console and the English for the CLI and API users. Raised where it happens, recorded
//! by [`crate::status::StatusCell::add_notice`].

use obsync_model::message_codes;

message_codes! {
    /// A notice of a run.
    pub enum NoticeMessage {
        /// A table added to a running project, its existing rows backfilled.
        TableJoinedWithBackfill = "event.notice.table_joined_with_backfill" { table: String, since: String },
        /// A table added to a running project, synced from the change log only.
        TableJoinedFromNow = "event.notice.table_joined_from_now" { table: String, since: String },
        /// A table removed from a running project.
        TableLeft = "event.notice.table_left" { table: String },
        /// The backfill of an added (or re-synced) table is done.
        BackfillFinished = "event.notice.backfill_finished" { table: String },
        /// A synced table was renamed to a name outside the project's objects.
        RenamedOut = "event.notice.renamed_out" { from: String, to: String, at: String },
    }
}

impl NoticeMessage {
    /// The English of the notice (the event log's `message`, the CLI's progress line).
    pub fn english(&self) -> String {
        match self {
            NoticeMessage::TableJoinedWithBackfill { table, since } => {
                format!("{table} joined the project at {since}, with a backfill")
            }
            NoticeMessage::TableJoinedFromNow { table, since } => {
                format!("{table} joined the project at {since}, from now on")
            }
            NoticeMessage::TableLeft { table } => {
                format!("{table} left the project; its topic is kept")
            }
            NoticeMessage::BackfillFinished { table } => {
                format!("the backfill of {table} is finished")
            }
            NoticeMessage::RenamedOut { from, to, at } => format!(
                "{from} was renamed to {to} at {at}, a name outside the project's objects: its later changes are not synced"
            ),
        }
    }
}
