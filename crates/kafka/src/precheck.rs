//! Kafka precheck items: connectivity (with the cause of TLS and SASL failures), the
//! declared version's limits, the broker's real version against the declared one, and the
//! mapped topics.

use std::time::Duration;

use obsync_model::{CheckItem, ErrorChain};

use crate::admin::{AdminError, KafkaAdmin, NewTopicSpec, TopicInfo};
use crate::config::{Compression, KafkaTarget, KafkaVersion};
use crate::kerberos::kerberos_item;
use crate::version_probe::{probe_connection, BrokerVersion, ProbeError};

/// How long the precheck waits for the cluster: long enough for a TLS + SASL handshake to a
/// distant cluster, short enough that a wrong address fails the precheck promptly.
pub const PRECHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks the target before a project starts. `topics` are the mapped topics, each as schema
/// sync would create it; `schema_sync` says whether the project creates missing topics.
///
/// Items: `kafka.kerberos` (GSSAPI only: a ticket from the keytab), `kafka.connectivity`, `kafka.version` (what the declared version allows),
/// `kafka.broker_version` (the broker's real version against the declared one), and one
/// `kafka.topic.<name>` per topic. Never fails as a whole: every problem is an item with a
/// fix. Takes at most about `timeout`: the connection and the version probe run together.
pub async fn kafka_precheck(
    target: &KafkaTarget,
    topics: &[NewTopicSpec],
    schema_sync: bool,
    timeout: Duration,
) -> Vec<CheckItem> {
    let mut items = Vec::with_capacity(topics.len() + 3);
    // The probe runs even when the connection fails: a 0.9 broker declared as 1.0+ fails
    // the connection, and the probe is what says why.
    let (listing, probe, kerberos) = tokio::join!(
        connect(target, timeout),
        probe_connection(target, timeout),
        kerberos_item(target.sasl.as_ref(), timeout)
    );
    items.extend(kerberos);
    items.push(match &listing {
        Ok((brokers, _)) => CheckItem::pass(
            "kafka.connectivity",
            format!(
                "connected to {}: {} broker(s), ids {:?}",
                target.bootstrap_servers,
                brokers.len(),
                brokers
            ),
        ),
        Err(e) => {
            // The admin client only knows that it timed out; the probe saw why.
            let mut reason = match &probe.failure {
                Some(failure) => {
                    format!("{}; the connection failed with: {failure}", ErrorChain(e))
                }
                None => ErrorChain(e).to_string(),
            };
            if let Some(problem) = certificate_problem(target, &reason).await {
                reason.push_str(&format!("; the broker's certificate: {problem}"));
            }
            let fix = security_fix(target, &reason).unwrap_or_else(|| connectivity_fix(target));
            CheckItem::fail("kafka.connectivity", reason, fix)
        }
    });
    items.push(version_item(target.version, schema_sync));
    items.push(broker_version_item(target, &probe.version, listing.is_ok()));
    for spec in topics {
        items.push(topic_item(spec, &listing, schema_sync, target.version));
    }
    items
}

type Listing = Result<(Vec<i32>, Vec<TopicInfo>), AdminError>;

async fn connect(target: &KafkaTarget, timeout: Duration) -> Listing {
    let admin = KafkaAdmin::with_timeout(target, timeout)?;
    let cluster = admin.cluster().await?;
    let topics = admin.list_topics().await?;
    Ok((cluster.brokers.iter().map(|b| b.id).collect(), topics))
}

fn connectivity_fix(target: &KafkaTarget) -> String {
    format!(
        "check that {} is the right host:port list, that the brokers run and advertise \
         listeners this host can reach, and that the security settings (SASL: {}, TLS: {}) \
         match the broker's listener",
        target.bootstrap_servers,
        if target.sasl.is_some() { "on" } else { "off" },
        if target.tls.is_some() { "on" } else { "off" },
    )
}

/// OpenSSL's verdict on the broker's certificate, when librdkafka said only that it could
/// not be verified.
async fn certificate_problem(target: &KafkaTarget, reason: &str) -> Option<String> {
    let tls = target.tls.clone()?;
    if !reason.contains("certificate verify failed") {
        return None;
    }
    let address = target
        .bootstrap_servers
        .split(',')
        .next()?
        .trim()
        .to_owned();
    tokio::task::spawn_blocking(move || {
        crate::tls_diagnosis::certificate_problem(&address, &tls, Duration::from_secs(3))
    })
    .await
    .ok()
    .flatten()
}

/// The cause of a failed TLS or SASL connection, named from librdkafka's error text, with
/// its fix. `None` when the text names no security cause.
fn security_fix(target: &KafkaTarget, reason: &str) -> Option<String> {
    let r = reason.to_ascii_lowercase();
    let mechanism = target
        .sasl
        .as_ref()
        .map_or("SASL", |s| s.mechanism.as_str());
    let service = target
        .sasl
        .as_ref()
        .and_then(|s| s.kerberos.as_ref())
        .map_or("kafka", |k| k.service_name.as_str());
    let fix = if r.contains("no kerberos credentials") {
        "no Kerberos ticket was in the credential cache: the kafka.kerberos item says why"
            .to_string()
    } else if r.contains("(server ") && r.contains("not found in kerberos database") {
        format!(
            "the KDC knows no principal {service}/<broker host>@REALM: set              target.sasl.kerberos_service_name to the first part of the brokers' principal,              and connect to the brokers by the host name their principal names"
        )
    } else if r.contains("authentication failed") || r.contains("invalid credentials") {
        format!(
            "SASL {mechanism} authentication was refused: check target.sasl username and \
             password (or password_env); for SCRAM the user must exist on the cluster with \
             credentials for {mechanism} (kafka-configs.sh --alter --entity-type users \
             --add-config '{mechanism}=[password=...]')"
        )
    } else if r.contains("certificate has expired") {
        "the broker's TLS certificate has expired: renew it on the broker (obsync will not \
         accept an expired certificate)"
            .to_string()
    } else if r.contains("hostname mismatch") || r.contains("ip address mismatch") {
        "the broker's TLS certificate does not name the host in target.bootstrap_servers: \
         connect by a name the certificate lists, reissue it, or set target.tls \
         verify_hostname = false"
            .to_string()
    } else if r.contains("certificate verify failed") || r.contains("could not be verified") {
        "the broker's TLS certificate is not signed by a CA obsync trusts: set target.tls \
         ca_file to the PEM file of the CA that signed it"
            .to_string()
    } else if r.contains("certificate required")
        || r.contains("alert bad certificate")
        || r.contains("alert unknown ca")
    {
        "the broker wants a client certificate it trusts (mutual TLS): set target.tls \
         cert_file and key_file to a certificate signed by a CA in the broker's truststore"
            .to_string()
    } else if r.contains("ssl handshake failed") || r.contains("connecting to a ssl listener") {
        "the TLS handshake failed: check that the listener is TLS (target.tls on) or \
         plaintext (target.tls off), and the certificates"
            .to_string()
    } else if r.contains("sasl") && r.contains("mechanism") {
        format!(
            "the broker does not accept SASL {mechanism} on this listener: use a mechanism in \
             its sasl.enabled.mechanisms, or check target.sasl and target.tls"
        )
    } else {
        return None;
    };
    Some(fix)
}

/// The broker's real version against the declared one (and against the chosen codec).
fn broker_version_item(
    target: &KafkaTarget,
    probed: &Result<BrokerVersion, ProbeError>,
    connected: bool,
) -> CheckItem {
    const NAME: &str = "kafka.broker_version";
    let declared = target.version;
    let set_version = |value: &str| {
        format!("set version = \"{value}\" in the [target] table of the project file")
    };
    let probed = match probed {
        Ok(probed) => probed,
        Err(e) if connected => {
            return CheckItem::warn(
                NAME,
                format!("the broker's version could not be read: {e}"),
                "make sure target.version names the brokers' Kafka version",
            )
        }
        Err(_) => {
            return CheckItem::fail(
                NAME,
                "the broker's version was not read: Kafka is unreachable",
                "fix kafka.connectivity first",
            )
        }
    };
    let generation = probed.generation();
    let at = &target.bootstrap_servers;
    let evidence = probed.evidence();
    match generation.family() {
        None => CheckItem::fail(
            NAME,
            format!(
                "the broker at {at} is Kafka {}: it {evidence}; obsync supports 0.9 and 1.0 \
                 or later",
                generation.label()
            ),
            "upgrade the brokers to Kafka 1.0 or later",
        ),
        Some(real) if real != declared => CheckItem::fail(
            NAME,
            format!(
                "target.version is \"{}\" but the broker at {at} is Kafka {}: it {evidence}",
                declared.as_str(),
                generation.label()
            ),
            set_version(generation.config_value().unwrap_or("1.0")),
        ),
        Some(_) if target.compression == Compression::Zstd && !generation.supports_zstd() => {
            CheckItem::fail(
                NAME,
                format!(
                    "compression \"zstd\" needs Kafka 2.1 or later but the broker at {at} is \
                     Kafka {}: it {evidence}",
                    generation.label()
                ),
                "set compression = \"lz4\" (or gzip, snappy) in [target], or upgrade the brokers",
            )
        }
        Some(_) => CheckItem::pass(
            NAME,
            format!(
                "the broker at {at} is Kafka {}, as target.version says: it {evidence}",
                generation.label()
            ),
        ),
    }
}

fn version_item(version: KafkaVersion, schema_sync: bool) -> CheckItem {
    const NAME: &str = "kafka.version";
    match (version, schema_sync) {
        (KafkaVersion::V0_9, true) => CheckItem::fail(
            NAME,
            "Kafka 0.9 cannot create topics through the protocol, so schema sync is unavailable",
            "turn schema sync off and create the topics with kafka-topics.sh, or use Kafka 1.0 \
             or later",
        ),
        (KafkaVersion::V0_9, false) => CheckItem::warn(
            NAME,
            "Kafka 0.9: no idempotent producer, so obsync sends one request at a time per \
             broker to keep order (lower throughput); schema sync is unavailable",
            "use Kafka 1.0 or later for higher throughput",
        ),
        (v, _) => CheckItem::pass(
            NAME,
            format!(
                "configured for Kafka {} (version in [target]): idempotent producer, topic \
                 creation available",
                v.as_str()
            ),
        ),
    }
}

fn topic_item(
    spec: &NewTopicSpec,
    listing: &Listing,
    schema_sync: bool,
    version: KafkaVersion,
) -> CheckItem {
    let name = format!("kafka.topic.{}", spec.name);
    let (brokers, topics) = match listing {
        Ok(l) => l,
        Err(_) => {
            return CheckItem::fail(
                name,
                format!("topic \"{}\" not checked: Kafka is unreachable", spec.name),
                "fix kafka.connectivity first",
            )
        }
    };
    if let Some(t) = topics.iter().find(|t| t.name == spec.name) {
        return CheckItem::pass(
            name,
            format!(
                "topic \"{}\" exists with {} partition(s)",
                t.name, t.partitions
            ),
        );
    }
    if !schema_sync || !version.supports_topic_creation() {
        return CheckItem::fail(
            name,
            format!(
                "topic \"{}\" does not exist and schema sync is off",
                spec.name
            ),
            format!(
                "create it (kafka-topics.sh --create --topic {} --partitions {}), map the \
                 table to an existing topic, or turn schema sync on",
                spec.name, spec.partitions
            ),
        );
    }
    if spec.replication as usize > brokers.len() {
        return CheckItem::fail(
            name,
            format!(
                "topic \"{}\" would need replication factor {} but the cluster has {} broker(s)",
                spec.name,
                spec.replication,
                brokers.len()
            ),
            "lower the replication factor or create the topic by hand",
        );
    }
    CheckItem::pass(
        name,
        format!(
            "topic \"{}\" does not exist yet: schema sync will create it with {} partition(s), \
             replication factor {}",
            spec.name, spec.partitions, spec.replication
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::CheckStatus;

    fn listing(topics: &[(&str, i32)]) -> Listing {
        Ok((
            vec![1],
            topics
                .iter()
                .map(|(n, p)| TopicInfo {
                    name: n.to_string(),
                    partitions: *p,
                })
                .collect(),
        ))
    }

    #[test]
    fn existing_topic_passes_with_its_partition_count() {
        let spec = NewTopicSpec::schema_sync_default("orders");
        let item = topic_item(
            &spec,
            &listing(&[("orders", 6)]),
            false,
            KafkaVersion::V3Plus,
        );
        assert_eq!(item.status, CheckStatus::Pass);
        assert_eq!(item.detail, "topic \"orders\" exists with 6 partition(s)");
    }

    #[test]
    fn missing_topic_passes_when_schema_sync_creates_it() {
        let spec = NewTopicSpec::schema_sync_default("orders");
        let item = topic_item(&spec, &listing(&[]), true, KafkaVersion::V2);
        assert_eq!(item.status, CheckStatus::Pass);
        assert!(item
            .detail
            .contains("create it with 3 partition(s), replication factor 1"));
    }

    #[test]
    fn missing_topic_fails_without_schema_sync_and_says_how_to_fix() {
        let spec = NewTopicSpec::schema_sync_default("orders");
        let item = topic_item(&spec, &listing(&[]), false, KafkaVersion::V2);
        assert_eq!(item.status, CheckStatus::Fail);
        assert!(item.fix.unwrap().contains("turn schema sync on"));
    }

    #[test]
    fn replication_above_broker_count_fails() {
        let mut spec = NewTopicSpec::schema_sync_default("orders");
        spec.replication = 3;
        let item = topic_item(&spec, &listing(&[]), true, KafkaVersion::V3Plus);
        assert_eq!(item.status, CheckStatus::Fail);
    }

    #[test]
    fn kafka_0_9_fails_schema_sync_and_warns_otherwise() {
        assert_eq!(
            version_item(KafkaVersion::V0_9, true).status,
            CheckStatus::Fail
        );
        assert_eq!(
            version_item(KafkaVersion::V0_9, false).status,
            CheckStatus::Warn
        );
        assert_eq!(
            version_item(KafkaVersion::V1_0, true).status,
            CheckStatus::Pass
        );
    }
}
