//! Test support for obsync's real-service tests.
//!
//! - [`Services`]: the shared Kafka, MariaDB and seekdb that `scripts/services up` runs,
//!   read from `.obsync-dev/services.env`. Tests that need them fail (never skip) when they
//!   are not running.
//! - [`unique_name`]: database and topic names that never collide between parallel tests
//!   or between runs against long-lived services.
//! - [`MariaDbInstance`] and [`KafkaInstance`]: private, throwaway servers for fault tests
//!   that stop, kill and restart a server without disturbing the shared ones.
//! - [`kcat`]: reading a topic back with kcat, the independent client.
//! - [`all_types`]: the type-matrix table the end-to-end tests share.
//! - [`consumer_check`]: obsync's records decoded by real consumer libraries (Flink's
//!   JSON formats, Kafka Connect's `JsonConverter`) in `tests/consumers`.
//! - [`KafkaBroker`]: a private broker of any [`KafkaRelease`] from 0.9 to 4.1 (ZooKeeper
//!   or KRaft), with extra SASL/TLS listeners, for the version-matrix and security tests.
//!
//! Everything here blocks (std::process, sleeps): call it from plain `#[test]`s, or from
//! `spawn_blocking` inside async tests.
//!
//! Architecture invariant: std only. Every crate's tests depend on this one, so it must not
//! pull a runtime or a client library in; servers are driven through their own CLIs
//! (`mariadb`, `kcat`, Kafka's Java tools).

pub mod all_types;
mod consumers;
mod kafka;
mod kafka_versions;
pub mod kcat;
mod kdc;
mod mariadb;
mod maven;
mod names;
#[cfg(feature = "pki")]
mod pki;
mod process;
mod services;

pub use consumers::{consumer_check, consumer_libs};
pub use kafka::{create_topic, KafkaInstance};
pub use kafka_versions::{release_libs, BrokerOptions, KafkaBroker, KafkaRelease, ListenerSpec};
pub use kdc::{Kdc, REALM as KERBEROS_REALM};
pub use mariadb::{MariaDbInstance, MariaDbTls};
pub use names::unique_name;
#[cfg(feature = "pki")]
pub use pki::TestPki;
pub use services::{Services, SqlServer};
