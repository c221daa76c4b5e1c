//! Kafka precheck items: connectivity (with the cause of TLS and SASL failures), the
//! declared version's limits, the broker's real version against the declared one, and the
//! mapped topics.

use std::time::Duration;

use obsync_model::{CheckItem, ErrorChain};

pub mod findings;

use findings::KafkaFinding as F;

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
        Ok((brokers, _)) => CheckItem::passed(
            "kafka.connectivity",
            &F::Connected {
                servers: target.bootstrap_servers.clone(),
                brokers: brokers.len(),
                ids: format!("{brokers:?}"),
            },
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
            let finding = security_finding(target, &reason).unwrap_or_else(|| F::Unreachable {
                servers: target.bootstrap_servers.clone(),
                reason,
                sasl: target.sasl.is_some(),
                tls: target.tls.is_some(),
            });
            CheckItem::failed("kafka.connectivity", &finding)
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

/// Why a client of `target` cannot connect, as the precheck says it (librdkafka's words
/// for the failed TLS or SASL handshake, OpenSSL's verdict on the certificate) with its
/// fix; `None` when the connection serves metadata, or fails without saying why within
/// `timeout` (then the caller's own request reports it). For the clients that are not a
/// project's (the control Kafka of a cluster), which have no precheck to run first.
pub async fn connection_problem(
    target: &KafkaTarget,
    timeout: Duration,
) -> Option<(String, String)> {
    use obsync_model::Finding;
    let mut reason = probe_connection(target, timeout).await.failure?;
    if let Some(problem) = certificate_problem(target, &reason).await {
        reason.push_str(&format!("; the broker's certificate: {problem}"));
    }
    let finding = security_finding(target, &reason).unwrap_or_else(|| F::Unreachable {
        servers: target.bootstrap_servers.clone(),
        reason,
        sasl: target.sasl.is_some(),
        tls: target.tls.is_some(),
    });
    Some((finding.detail(), finding.fix()))
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
fn security_finding(target: &KafkaTarget, reason: &str) -> Option<F> {
    let r = reason.to_ascii_lowercase();
    let mechanism = target
        .sasl
        .as_ref()
        .map_or("SASL", |s| s.mechanism.as_str())
        .to_string();
    let service = target
        .sasl
        .as_ref()
        .and_then(|s| s.kerberos.as_ref())
        .map_or("kafka", |k| k.service_name.as_str())
        .to_string();
    let reason = reason.to_string();
    let finding = if r.contains("no kerberos credentials") {
        F::NoKerberosTicket { reason }
    } else if r.contains("(server ") && r.contains("not found in kerberos database") {
        F::KerberosPrincipalUnknown { reason, service }
    } else if r.contains("authentication failed") || r.contains("invalid credentials") {
        F::SaslRefused { reason, mechanism }
    } else if r.contains("certificate has expired") {
        F::CertificateExpired { reason }
    } else if r.contains("hostname mismatch") || r.contains("ip address mismatch") {
        F::HostnameMismatch { reason }
    } else if r.contains("certificate verify failed") || r.contains("could not be verified") {
        F::CertificateUntrusted { reason }
    } else if r.contains("certificate required")
        || r.contains("alert bad certificate")
        || r.contains("alert unknown ca")
    {
        F::ClientCertificateWanted { reason }
    } else if r.contains("ssl handshake failed") || r.contains("connecting to a ssl listener") {
        F::TlsHandshakeFailed { reason }
    } else if r.contains("sasl") && r.contains("mechanism") {
        F::MechanismRefused { reason, mechanism }
    } else {
        return None;
    };
    Some(finding)
}

/// The broker's real version against the declared one (and against the chosen codec).
fn broker_version_item(
    target: &KafkaTarget,
    probed: &Result<BrokerVersion, ProbeError>,
    connected: bool,
) -> CheckItem {
    const NAME: &str = "kafka.broker_version";
    let declared = target.version;
    let probed = match probed {
        Ok(probed) => probed,
        Err(e) if connected => {
            return CheckItem::warned(
                NAME,
                &F::BrokerVersionUnread {
                    error: e.to_string(),
                },
            )
        }
        Err(_) => return CheckItem::failed(NAME, &F::BrokerVersionUnreachable {}),
    };
    let generation = probed.generation();
    let at = target.bootstrap_servers.clone();
    let evidence = probed.evidence().to_string();
    let version = generation.label().to_string();
    match generation.family() {
        None => CheckItem::failed(
            NAME,
            &F::BrokerTooOld {
                at,
                version,
                evidence,
            },
        ),
        Some(real) if real != declared => CheckItem::failed(
            NAME,
            &F::BrokerVersionMismatch {
                declared: declared.as_str().to_string(),
                at,
                version,
                evidence,
                value: generation.config_value().unwrap_or("1.0").to_string(),
            },
        ),
        Some(_) if target.compression == Compression::Zstd && !generation.supports_zstd() => {
            CheckItem::failed(
                NAME,
                &F::ZstdUnsupported {
                    at,
                    version,
                    evidence,
                },
            )
        }
        Some(_) => CheckItem::passed(
            NAME,
            &F::BrokerVersionOk {
                at,
                version,
                evidence,
            },
        ),
    }
}

fn version_item(version: KafkaVersion, schema_sync: bool) -> CheckItem {
    const NAME: &str = "kafka.version";
    match (version, schema_sync) {
        (KafkaVersion::V0_9, true) => CheckItem::failed(NAME, &F::V09SchemaSync {}),
        (KafkaVersion::V0_9, false) => CheckItem::warned(NAME, &F::V09 {}),
        (v, _) => CheckItem::passed(
            NAME,
            &F::VersionOk {
                version: v.as_str().to_string(),
            },
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
            return CheckItem::failed(
                name,
                &F::TopicUnchecked {
                    topic: spec.name.clone(),
                },
            )
        }
    };
    if let Some(t) = topics.iter().find(|t| t.name == spec.name) {
        return CheckItem::passed(
            name,
            &F::TopicExists {
                topic: t.name.clone(),
                partitions: t.partitions,
            },
        );
    }
    let topic = spec.name.clone();
    if !schema_sync || !version.supports_topic_creation() {
        return CheckItem::failed(
            name,
            &F::TopicMissing {
                topic,
                partitions: spec.partitions,
            },
        );
    }
    if spec.replication as usize > brokers.len() {
        return CheckItem::failed(
            name,
            &F::TopicReplicationTooHigh {
                topic,
                replication: spec.replication,
                brokers: brokers.len(),
            },
        );
    }
    CheckItem::passed(
        name,
        &F::TopicWillBeCreated {
            topic,
            partitions: spec.partitions,
            replication: spec.replication,
        },
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
