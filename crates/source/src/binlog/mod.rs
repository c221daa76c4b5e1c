//! The binlog change reader: streams row changes of the project's tables from a MySQL
//! replication connection (OceanBase CE Binlog Service, MySQL, MariaDB) as
//! [`SourceEvent`](obsync_model::SourceEvent)s.
//!
//! Map of this module:
//! - `assembler`: the I/O-free core: decoded events → `SourceEvent`s (transactions,
//!   cursor and GTID state, DDL, what a reconnect must not repeat).
//! - [`reader`]: [`BinlogReader`], the I/O shell: start resolution and dump
//!   positioning (GTID or file), metadata reads, reconnects.
//! - `stream`: opening a dump connection (replica registration, MariaDB settings), and
//!   the error for a refused dump.
//! - `retention`: whether the source still has what a dump asks for (checked before
//!   every dump), and which error 1236 texts are final.
//! - `rows`, `decode`: rows-event images → model rows, with information_schema
//!   metadata; `json_diff`: partial JSON updates (event 39) applied to the before image.
//! - `schema_cache`: table maps and metadata, checked against each other (a shape
//!   changed without a DDL is read again, then refused with the table's name).
//! - `heartbeat`: where a heartbeat (v1, or MySQL 8's v2) says the server is; never its
//!   time. `payload`: compressed transactions the driver expands, checked for size.
//! - `lineage`: which server a position belongs to, checked before every dump.
//! - `ddl`: which tables a DDL statement touches.
//! - `gtid`, `mariadb_events`: GTID state and MariaDB's own event bodies.
//! - [`shared`]: one dump per source endpoint fanned out to every project on it, and
//!   [`feed`]: [`ChangeFeed`], a project's events from the shared stream or its own dump.
//! - [`replay`]: recorded dump streams (captures, fixtures) through the same core.
//! - [`timestamp_start`]: starting from a point in time; binlog retention facts.
//!
//! Architecture invariant: column values are interpreted with metadata read by SQL
//! (`crate::metadata`), never with the binlog's optional table-map metadata, which MySQL
//! 5.7 and OceanBase do not send.

// A reader error ends the stream, so its size on the (cold) error path does not matter;
// named context fields (table, column, position) read better than boxed ones.
#![allow(clippy::result_large_err)]

mod assembler;
mod ddl;
mod decode;
#[cfg(test)]
mod dialect_tests;
mod error;
pub mod feed;
mod gtid;
mod heartbeat;
mod json_diff;
mod lineage;
mod mariadb_events;
mod payload;
pub mod reader;
pub mod replay;
mod retention;
mod rows;
mod schema_cache;
pub mod shared;
#[cfg(test)]
mod spec_events;
pub(crate) mod stream;
pub mod timestamp_start;

pub use error::BinlogError;
pub use feed::{ChangeFeed, Share};
pub use reader::{
    BinlogOptions, BinlogReader, Positioning, ProbeReport, ReconnectPolicy, StartFrom, TableFilter,
};
pub(crate) use stream::is_transient as is_transient_sql;
pub use timestamp_start::{binary_logs, first_event_time, oldest_retained_time};

/// A refused dump's error as the reader builds it (file:pos or GTID), for other
/// modules' unit tests.
#[cfg(test)]
pub(crate) fn refusal_for_test(by_gtid: bool, source: mysql_async::Error) -> BinlogError {
    let from = if by_gtid {
        stream::DumpFrom::MySqlGtid(gtid::GtidSet::default())
    } else {
        stream::DumpFrom::Coord(obsync_model::BinlogCoord::new("binlog.000001", 4))
    };
    stream::refusal(&from, None, source)
}
