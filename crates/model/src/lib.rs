//! Canonical change model shared by every stage of obsync.
//!
//! Architecture invariant: this crate does no I/O and knows nothing of MySQL wire
//! formats, Kafka or message formats. Sources produce these types; formats and the
//! pipeline consume them.

mod change;
mod error_chain;
mod message;
mod position;
mod precheck;
mod table;
mod value;

pub use change::{Change, ChangeOrigin, RowChange, RowEvent, SourceEvent, TxnInfo};
pub use error_chain::{causes, ErrorChain, ErrorReport};
pub use message::{Coded, MessageCode};
pub use position::{BinlogCoord, Gtid, LogPosition, ParsePositionError};
pub use precheck::{CheckItem, CheckStatus, Finding, NOT_CHECKED_CODE};
pub use table::{Column, ColumnDefault, ColumnType, KeySource, TableId, TableMeta};
pub use value::{Date, DateTime, Row, Time, Timestamp, Value};
