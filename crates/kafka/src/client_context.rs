//! The librdkafka client context shared by our producer and admin client: it routes
//! librdkafka's own log lines and global errors into `tracing`.

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::ClientContext;

/// Sends librdkafka logs and client errors to `tracing` under target `librdkafka`, with the
/// bootstrap servers as a field so multi-target deployments can tell clients apart.
#[derive(Debug, Clone)]
pub struct TracingContext {
    bootstrap: String,
}

impl TracingContext {
    pub fn new(bootstrap: &str) -> Self {
        Self {
            bootstrap: bootstrap.to_owned(),
        }
    }
}

impl ClientContext for TracingContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        let bootstrap = self.bootstrap.as_str();
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", bootstrap, facility = fac, "{message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", bootstrap, facility = fac, "{message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", bootstrap, facility = fac, "{message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", bootstrap, facility = fac, "{message}")
            }
        }
    }

    // Global errors are mostly transient (a broker connection dropped, all brokers down while
    // one restarts); librdkafka retries them itself. Per-message outcomes reach the caller via
    // the delivery result, so a warning is the right level here.
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", bootstrap = self.bootstrap.as_str(), %error, "{reason}");
    }
}
