//! Runs one sync project: schema sync → full sync → incremental sync into Kafka, with
//! checkpoints that never run ahead of Kafka's acknowledgements.
//!
//! The engine is a library: `obsync run` and the server drive the same
//! [`ProjectHandle`]; projects share no global state.

pub mod checkpoint;
mod definitions;
pub mod delivery;
pub mod emit;
pub mod metrics;
pub mod notice;
pub mod plan;
pub mod precheck;
pub mod project;
pub mod registry;
pub mod settings;
mod stages;
pub mod status;
pub mod verify;

pub use notice::{NoticeMessage, WarningMessage};
pub use project::{Control, ProjectHandle, RunOutcome};
pub use settings::Settings;
pub use status::{Notice, NoticesSince, RunState, Stage, StatusSnapshot};

/// Why a project run stopped in the FAILED state. The checkpoint on disk is intact:
/// fix the cause and start again to resume.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error(transparent)]
    Delivery(#[from] delivery::DeliveryError),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Connect(#[from] obsync_source::ConnectError),
    #[error(transparent)]
    Metadata(#[from] obsync_source::metadata::MetadataError),
    #[error(transparent)]
    Snapshot(#[from] obsync_source::snapshot::SnapshotError),
    #[error(transparent)]
    Binlog(#[from] obsync_source::binlog::BinlogError),
    #[error(transparent)]
    Emit(#[from] emit::EmitError),
    #[error(transparent)]
    Produce(#[from] obsync_kafka::ProduceError),
    #[error(transparent)]
    Admin(#[from] obsync_kafka::AdminError),
    /// An operation on one topic the project maps to failed.
    #[error("topic {topic} cannot be used")]
    Topic {
        topic: String,
        #[source]
        source: obsync_kafka::AdminError,
    },
    /// A topic schema sync created does not show all its partitions in time.
    #[error("topic {topic} was created with {partitions} partitions, but after {waited:?} the broker's metadata shows {seen}: check the broker logs")]
    TopicNotVisible {
        topic: String,
        partitions: i32,
        seen: i32,
        waited: std::time::Duration,
    },
    #[error("transaction starting at {at} has more than {limit} rows; {} need a whole transaction in memory: {}, or split the transaction at the source", whole_transaction_need(*.format), whole_transaction_fix(*.format))]
    TransactionTooLarge {
        at: String,
        limit: usize,
        format: obsync_format::FormatKind,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

/// What holds a whole transaction in memory, for [`RunError::TransactionTooLarge`].
fn whole_transaction_need(format: obsync_format::FormatKind) -> &'static str {
    if format.needs_whole_transaction() {
        "Maxwell's xid and commit fields"
    } else {
        "SharePlex intra-transaction sequence numbers"
    }
}

fn whole_transaction_fix(format: obsync_format::FormatKind) -> &'static str {
    if format.needs_whole_transaction() {
        "choose another format for this workload"
    } else {
        "turn off sync.tx_sequence for this workload"
    }
}

impl RunError {
    /// Whether resuming from the checkpoint may cure this without the user acting: Kafka
    /// did not acknowledge in time ([`obsync_kafka::ProduceError::is_fatal`] is false), or
    /// the source is unavailable or full ([`obsync_source::binlog::BinlogError::is_transient`],
    /// and [`obsync_source::SqlError::is_transient`] at start and in the snapshot).
    /// Every other error needs the user to act.
    pub fn is_transient(&self) -> bool {
        match self {
            RunError::Delivery(delivery::DeliveryError::Rejected(e))
            | RunError::Produce(e)
            | RunError::Emit(emit::EmitError::Produce(e)) => !e.is_fatal(),
            RunError::Binlog(e) => e.is_transient(),
            _ => {
                !self.is_source_unreachable() && self.source_sql().is_some_and(|e| e.is_transient())
            }
        }
    }

    /// Whether a connection to the source found nobody answering (refused, timed out)
    /// outside the binlog. Not transient by itself: at a project's first start it is as
    /// likely a wrong address as a restart, so only a run that has read from this source
    /// before resumes after it (`project::run_resuming`).
    pub fn is_source_unreachable(&self) -> bool {
        use obsync_source::metadata::MetadataError;
        use obsync_source::snapshot::SnapshotError;
        let connect = match self {
            RunError::Connect(c)
            | RunError::Metadata(MetadataError::Connect(c))
            | RunError::Plan(plan::PlanError::Metadata(MetadataError::Connect(c))) => c,
            RunError::Snapshot(SnapshotError::Metadata(m)) => match m.as_ref() {
                MetadataError::Connect(c) => c,
                _ => return false,
            },
            _ => return false,
        };
        connect.sql().is_some_and(|e| e.is_unanswered())
    }

    /// The source's answer when reaching or reading the source outside the binlog failed
    /// (start, metadata, snapshot): a full server or a restart there is retried like one
    /// during the binlog ([`obsync_source::SqlError::is_transient`]).
    pub(crate) fn source_sql(&self) -> Option<&obsync_source::SqlError> {
        use obsync_source::metadata::MetadataError;
        use obsync_source::snapshot::SnapshotError;
        fn metadata(e: &MetadataError) -> Option<&obsync_source::SqlError> {
            match e {
                MetadataError::Connect(c) => c.sql(),
                MetadataError::Query { source, .. } => Some(source),
                _ => None,
            }
        }
        match self {
            RunError::Connect(c) => c.sql(),
            RunError::Metadata(e) | RunError::Plan(plan::PlanError::Metadata(e)) => metadata(e),
            RunError::Snapshot(SnapshotError::Metadata(e)) => metadata(e),
            RunError::Snapshot(SnapshotError::Query { source, .. }) => Some(source),
            _ => None,
        }
    }
}
