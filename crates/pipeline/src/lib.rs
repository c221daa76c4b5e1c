//! Runs one sync project: schema sync → full sync → incremental sync into Kafka, with
//! checkpoints that never run ahead of Kafka's acknowledgements.

pub mod checkpoint;
pub mod delivery;
