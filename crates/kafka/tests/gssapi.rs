//! SASL/GSSAPI (Kerberos) against a real Kafka 3.9 broker and a real MIT KDC, both started
//! here (crates/testkit: `Kdc` from Debian's krb5-kdc, `KafkaBroker`). The broker's
//! principal is `kafka/127.0.0.1@OBSYNC.TEST` (clients address it by IP, and the KDC's
//! `krb5.conf` turns DNS canonicalisation off); obsync authenticates as
//! `obsync@OBSYNC.TEST` with a keytab; obsync runs `kinit` itself (an argument vector, no
//! shell) into the cache `KRB5CCNAME` names, and librdkafka only reads that cache.
//!
//! Precheck passes, a topic is created, messages go out over the GSSAPI listener and kcat
//! reads them back over the broker's PLAINTEXT one. A keytab with a stale key, a principal
//! the keytab does not hold (`kafka.kerberos`) and a wrong service name
//! (`kafka.connectivity`) each give a failed item naming the field to fix, within the
//! precheck's timeout.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use obsync_kafka::{
    kafka_precheck, KafkaAdmin, KafkaTarget, KafkaVersion, NewTopicSpec, Sasl, SaslMechanism,
};
use obsync_model::{CheckItem, CheckStatus};
use obsync_testkit::{unique_name, BrokerOptions, KafkaBroker, KafkaRelease, Kdc, ListenerSpec};

const TIMEOUT: Duration = Duration::from_secs(15);
const BROKER_PRINCIPAL: &str = "kafka/127.0.0.1";

fn target(broker: &KafkaBroker, principal: String, keytab: PathBuf, service: &str) -> KafkaTarget {
    let mut t = KafkaTarget::new(broker.listener("KRB"));
    t.version = KafkaVersion::V3Plus;
    t.sasl = Some(Sasl {
        mechanism: SaslMechanism::Gssapi,
        username: principal,
        password: obsync_config::Secret::new(""),
        kerberos: Some(obsync_config::Kerberos {
            service_name: service.into(),
            keytab,
        }),
    });
    t
}

fn item<'a>(items: &'a [CheckItem], name: &str) -> &'a CheckItem {
    items
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no item {name} in {items:#?}"))
}

/// Checks that the precheck fails item `name` naming `cause`. The ticket cache is emptied
/// first: the good ticket of an earlier case would otherwise still be in it.
async fn is_refused(kdc: &Kdc, what: &str, target: KafkaTarget, name: &str, cause: &str) {
    let status = std::process::Command::new("kdestroy")
        .arg("-q")
        .status()
        .expect("running kdestroy (krb5-user)");
    assert!(status.success() || kdc.dir().exists());
    let started = Instant::now();
    let items = kafka_precheck(&target, &[], false, TIMEOUT).await;
    let elapsed = started.elapsed();
    let i = item(&items, name);
    assert_eq!(i.status, CheckStatus::Fail, "{what}: {i:?}");
    let text = format!("{} {}", i.detail, i.fix.as_deref().unwrap_or_default());
    assert!(text.contains(cause), "{what}: {text:?} lacks {cause:?}");
    assert!(
        elapsed < TIMEOUT + Duration::from_secs(5),
        "{what}: the precheck took {elapsed:?}"
    );
    eprintln!("{what}: refused in {elapsed:?}: {text}");
}

#[test]
fn gssapi_works_end_to_end_and_bad_kerberos_settings_are_named() {
    let started = Instant::now();
    let kdc = Kdc::spawn();
    let broker_keytab = kdc.add_principal(BROKER_PRINCIPAL);
    let client_keytab = kdc.add_principal("obsync");
    // The same principal from another KDC: a keytab with the wrong key.
    let stranger = Kdc::spawn();
    let stranger_keytab = stranger.add_principal("obsync");
    // librdkafka (in this process) and obsync's kinit find the realm through these; each test
    // process keeps its own ticket cache. Set before any thread that reads the environment.
    std::env::set_var("KRB5_CONFIG", kdc.krb5_conf());
    std::env::set_var("KRB5CCNAME", kdc.dir().join("client.ccache"));

    let properties = format!(
        "sasl.enabled.mechanisms=GSSAPI\nsasl.kerberos.service.name=kafka\n\
         listener.name.krb.gssapi.sasl.jaas.config=\
         com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true \
         keyTab=\"{}\" principal=\"{}\";\n",
        broker_keytab.display(),
        kdc.principal(BROKER_PRINCIPAL),
    );
    let broker = KafkaBroker::spawn_with(
        KafkaRelease::V3_9,
        BrokerOptions {
            listeners: vec![ListenerSpec {
                name: "KRB".into(),
                protocol: "SASL_PLAINTEXT".into(),
            }],
            properties,
            jvm_options: vec![format!(
                "-Djava.security.krb5.conf={}",
                kdc.krb5_conf().display()
            )],
            ..BrokerOptions::default()
        },
    );
    eprintln!("KDC and Kerberos broker up in {:?}", started.elapsed());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let good = target(
            &broker,
            kdc.principal("obsync"),
            client_keytab.clone(),
            "kafka",
        );
        let topic = unique_name("kerberos");
        let topics = [NewTopicSpec::schema_sync_default(&topic)];
        let items = kafka_precheck(&good, &topics, true, TIMEOUT).await;
        for name in [
            "kafka.kerberos",
            "kafka.connectivity",
            "kafka.broker_version",
        ] {
            let i = item(&items, name);
            assert_eq!(i.status, CheckStatus::Pass, "GSSAPI: {i:?}");
        }
        KafkaAdmin::with_timeout(&good, TIMEOUT)
            .unwrap()
            .create_topics(&topics)
            .await
            .unwrap();
        common::send_numbered(
            "GSSAPI",
            &good,
            &topic,
            50,
            |_| "k".into(),
            |i| (i % 3) as i32,
        )
        .await;
        // Read back by an independent client over the broker's PLAINTEXT listener.
        let bootstrap = broker.bootstrap();
        let consumed = tokio::task::spawn_blocking(move || common::consume_all(&bootstrap, &topic))
            .await
            .unwrap();
        common::assert_complete_and_ordered(&consumed, 50, |i| (i % 3) as i32);

        is_refused(
            &kdc,
            "a keytab with another key",
            target(
                &broker,
                kdc.principal("obsync"),
                stranger_keytab.clone(),
                "kafka",
            ),
            "kafka.kerberos",
            "kerberos_keytab",
        )
        .await;
        is_refused(
            &kdc,
            "a principal the keytab does not hold",
            target(
                &broker,
                kdc.principal("nobody"),
                client_keytab.clone(),
                "kafka",
            ),
            "kafka.kerberos",
            "kerberos_principal",
        )
        .await;
        is_refused(
            &kdc,
            "a wrong service name",
            target(
                &broker,
                kdc.principal("obsync"),
                client_keytab.clone(),
                "kafak",
            ),
            "kafka.connectivity",
            "kerberos_service_name",
        )
        .await;
    });
    eprintln!("GSSAPI test done in {:?}", started.elapsed());
}
