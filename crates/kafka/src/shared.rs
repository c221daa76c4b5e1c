//! One librdkafka producer per target configuration in the process.
//!
//! Each librdkafka client starts 1 + brokers + internal threads and keeps a socket per
//! broker; a server with hundreds of projects on one Kafka would otherwise run hundreds of
//! clients (and hit "Failed to create thread" near 90). So [`KafkaProducer::shared`]
//! hands every project the client of its configuration: the key is the full librdkafka
//! property set obsync would give the client (bootstrap servers, security and its
//! secrets, compression, acks, version settings, the user's pass-through properties), so
//! two projects share a client only when a client of their own would be configured
//! identically.
//!
//! What stays per project: the [`DeliveryTicket`] of each message (librdkafka reports
//! each message to the future `send` made for it, so acknowledgements reach the project
//! that sent them, in its send order per partition), the size limit, the counters. What
//! is shared: the queue (a full queue makes every sender wait), `in_flight` and `flush`.
//!
//! Lifetime: the registry holds weak references; the client closes when the last handle
//! (and the last ticket) is dropped. A client in librdkafka's fatal state is not handed
//! out again: the next project to start gets a fresh one, as it would have before.
//!
//! [`KafkaProducer::shared`]: crate::KafkaProducer::shared
//! [`DeliveryTicket`]: crate::DeliveryTicket

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use crate::config::{ClientRole, KafkaTarget};
use crate::producer::{ProduceError, ProducerClient};

/// The full property set of a producer client; it holds secrets, so it is never logged.
type ClientKey = Vec<(String, String)>;

static CLIENTS: Mutex<Option<HashMap<ClientKey, Weak<ProducerClient>>>> = Mutex::new(None);

/// The live shared client for `target`'s configuration, or a new one.
pub(crate) fn client_for(target: &KafkaTarget) -> Result<Arc<ProducerClient>, ProduceError> {
    let key = target.properties(ClientRole::Producer);
    let mut clients = CLIENTS.lock().unwrap_or_else(|p| p.into_inner());
    let clients = clients.get_or_insert_with(HashMap::new);
    clients.retain(|_, c| c.strong_count() > 0);
    if let Some(client) = clients.get(&key).and_then(Weak::upgrade) {
        if !client.is_fatal() {
            return Ok(client);
        }
        tracing::warn!(
            client = client.number,
            "the shared Kafka producer is in a fatal state: new runs get a new one"
        );
    }
    // Created under the lock so that projects starting together get one client; creating
    // one spawns its threads and returns without connecting.
    let client = Arc::new(ProducerClient::create(target)?);
    tracing::info!(
        client = client.number,
        bootstrap = %target.bootstrap_servers,
        "new shared Kafka producer"
    );
    clients.insert(key, Arc::downgrade(&client));
    Ok(client)
}

/// How many shared producer clients are open in this process (for metrics and tests).
pub fn open_clients() -> usize {
    let clients = CLIENTS.lock().unwrap_or_else(|p| p.into_inner());
    clients
        .as_ref()
        .map_or(0, |c| c.values().filter(|c| c.strong_count() > 0).count())
}

#[cfg(test)]
mod tests {
    use crate::{KafkaProducer, KafkaTarget};
    use std::sync::Arc;

    /// No broker is needed: creating a client does not connect.
    #[test]
    fn one_client_per_configuration_closed_with_its_last_handle() {
        let target = KafkaTarget::new("127.0.0.1:1");
        let mut other = target.clone();
        other.extra.insert("linger.ms".into(), "7".into());
        let a = KafkaProducer::shared(&target, Arc::default()).unwrap();
        let b = KafkaProducer::shared(&target, Arc::default()).unwrap();
        let c = KafkaProducer::shared(&other, Arc::default()).unwrap();
        assert_eq!(a.client_number(), b.client_number());
        assert_ne!(a.client_number(), c.client_number());
        // A handle of its own is never shared.
        let own = KafkaProducer::new(&target).unwrap();
        assert_ne!(own.client_number(), a.client_number());
        let number = a.client_number();
        drop(a);
        let d = KafkaProducer::shared(&target, Arc::default()).unwrap();
        assert_eq!(d.client_number(), number, "b still holds the client");
        drop((b, d));
        let e = KafkaProducer::shared(&target, Arc::default()).unwrap();
        assert_ne!(
            e.client_number(),
            number,
            "the last handle closed the client"
        );
    }
}
