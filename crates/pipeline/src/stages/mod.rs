//! The three stages of a project, run in this order.

pub mod backfill;
pub mod full;
pub mod incremental;
pub mod schema;
