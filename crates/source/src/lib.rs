//! The source side of obsync: everything that reads from OceanBase CE (MySQL tenant),
//! MySQL or MariaDB and turns it into the canonical model of `obsync-model`.
//!
//! Architecture invariant: this crate never imports `obsync-format` or `obsync-kafka`.

pub mod binlog;
pub mod capture;
pub mod endpoint;
pub mod metadata;
pub mod position;
pub mod precheck;
pub mod snapshot;
pub mod snapshot_slots;
mod sql_error;
pub mod tls;
pub mod usage;

pub use endpoint::{ConnectError, ConnectFailure, SourceEndpoint, SourceFlavor};
pub use sql_error::SqlError;
