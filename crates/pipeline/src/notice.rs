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

message_codes! {
    /// What a running project is retrying (its status's warning, the console's banner).
    /// `error` is the chain of causes in English, as the libraries and servers said it.
    pub enum WarningMessage {
        /// Kafka has acknowledged nothing for `seconds`.
        KafkaNoAck = "event.warning.kafka_no_ack" { seconds: u64 },
        /// The binlog reader lost its connection and reconnects by itself.
        SourceReconnecting = "event.warning.source_reconnecting" { problem: String },
        /// The source went away while streaming; retried until it is back.
        SourceUnavailable = "event.warning.source_unavailable" { error: String },
        /// The binlog stream cannot be opened yet; the next attempt in `wait` seconds.
        SourceRetrying = "event.warning.source_retrying" { error: String, wait: u64 },
        /// The run failed for a passing reason; it resumes from the checkpoint in `wait`
        /// seconds.
        Resuming = "event.warning.resuming" { error: String, wait: u64 },
    }
}

impl WarningMessage {
    /// The English of the warning (the status's `message`).
    pub fn english(&self) -> String {
        match self {
            WarningMessage::KafkaNoAck { seconds } => format!(
                "Kafka has not acknowledged a message for more than {seconds}s (brokers unreachable or overloaded): obsync keeps retrying, and resumes from the checkpoint if the producer gives up"
            ),
            WarningMessage::SourceReconnecting { problem } => {
                format!("{problem}; retrying with backoff")
            }
            WarningMessage::SourceUnavailable { error } => {
                format!("{error}; retrying until the source is back")
            }
            WarningMessage::SourceRetrying { error, wait } => {
                format!("{error}; retrying (next attempt in {wait}s)")
            }
            WarningMessage::Resuming { error, wait } => {
                format!("{error}; resuming from the checkpoint (next attempt in {wait}s)")
            }
        }
    }
}
