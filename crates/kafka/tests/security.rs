//! SASL and TLS against a real Kafka 3.9 broker that this test configures: SASL/PLAIN,
//! SCRAM-SHA-256 and SCRAM-SHA-512 (users created with the broker's own ConfigCommand), TLS
//! with server authentication only and mutual TLS (certificates made here with openssl),
//! and SASL over TLS. Each works end to end (precheck passes, messages are produced and read
//! back with kcat over the same listener), and each bad credential gives a precheck item that
//! names the cause and the fix, within the precheck's timeout.
//!
//! One broker for the whole file, with a listener per security setup.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use obsync_kafka::{
    kafka_precheck, ClientCertificate, KafkaAdmin, KafkaTarget, KafkaVersion, NewTopicSpec, Pem,
    Sasl, SaslMechanism, Tls,
};
use obsync_model::{CheckItem, CheckStatus};
use obsync_testkit::{unique_name, BrokerOptions, KafkaBroker, KafkaRelease, ListenerSpec};

const TIMEOUT: Duration = Duration::from_secs(10);
const PLAIN_USER: (&str, &str) = ("alice", "alice-secret");
const SCRAM_USER: (&str, &str) = ("bob", "bob-secret");

/// Runs `openssl` with `args` in `dir`; panics with its output when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, an expired
/// server certificate and a second CA that signed none of them.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn create(dir: &Path) -> Certs {
        std::fs::create_dir_all(dir).unwrap();
        let cnf = "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nserial = serial\n\
                   new_certs_dir = .\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n";
        std::fs::write(dir.join("ca.cnf"), cnf).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        // Two certificates share CN=localhost (the valid and the expired server one).
        std::fs::write(dir.join("index.txt.attr"), "unique_subject = no\n").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        std::fs::write(
            dir.join("server.ext"),
            "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        std::fs::write(dir.join("client.ext"), "basicConstraints=CA:FALSE\n").unwrap();
        for ca in ["ca", "other-ca"] {
            openssl(
                dir,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=obsync test {ca}"),
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.pem"),
                ],
            );
        }
        let dates_valid = ["-days", "2"];
        let dates_expired = [
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200102000000Z",
        ];
        for (name, cn, ext, dates) in [
            ("server", "localhost", "server.ext", &dates_valid[..]),
            ("client", "obsync-client", "client.ext", &dates_valid[..]),
            ("expired", "localhost", "server.ext", &dates_expired[..]),
        ] {
            openssl(
                dir,
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-subj",
                    &format!("/CN={cn}"),
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                ],
            );
            let mut args = vec![
                "ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile",
                "ca.key", "-extfile", ext,
            ];
            args.extend_from_slice(dates);
            let (csr, pem) = (format!("{name}.csr"), format!("{name}.pem"));
            args.extend(["-in", &csr, "-out", &pem]);
            openssl(dir, &args);
            // Kafka's PEM keystore: the PKCS#8 key, then the certificate.
            let key = std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap();
            let cert = std::fs::read_to_string(dir.join(&pem)).unwrap();
            std::fs::write(dir.join(format!("{name}-keystore.pem")), key + &cert).unwrap();
        }
        Certs {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

struct Setup {
    broker: KafkaBroker,
    certs: Certs,
}

fn listener(name: &str, protocol: &str) -> ListenerSpec {
    ListenerSpec {
        name: name.into(),
        protocol: protocol.into(),
    }
}

fn start() -> Setup {
    let certs = Certs::create(&std::env::temp_dir().join(unique_name("kafka_certs")));
    let jaas = |listener: &str| {
        format!(
            "listener.name.{listener}.plain.sasl.jaas.config=\
             org.apache.kafka.common.security.plain.PlainLoginModule required \
             user_{}=\"{}\";\n\
             listener.name.{listener}.scram-sha-256.sasl.jaas.config=\
             org.apache.kafka.common.security.scram.ScramLoginModule required;\n\
             listener.name.{listener}.scram-sha-512.sasl.jaas.config=\
             org.apache.kafka.common.security.scram.ScramLoginModule required;\n",
            PLAIN_USER.0, PLAIN_USER.1
        )
    };
    let properties = format!(
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512\n{}{}\
         ssl.keystore.type=PEM\nssl.keystore.location={server}\n\
         ssl.truststore.type=PEM\nssl.truststore.location={ca}\n\
         listener.name.mtls.ssl.client.auth=required\n\
         listener.name.expired.ssl.keystore.type=PEM\n\
         listener.name.expired.ssl.keystore.location={expired}\n",
        jaas("sasl_plain"),
        jaas("sasl_tls"),
        server = certs.path("server-keystore.pem").display(),
        ca = certs.path("ca.pem").display(),
        expired = certs.path("expired-keystore.pem").display(),
    );
    let broker = KafkaBroker::spawn_with(
        KafkaRelease::V3_9,
        BrokerOptions {
            listeners: vec![
                listener("SASL_PLAIN", "SASL_PLAINTEXT"),
                listener("TLS", "SSL"),
                listener("MTLS", "SSL"),
                listener("SASL_TLS", "SASL_SSL"),
                listener("EXPIRED", "SSL"),
            ],
            properties,
            ..BrokerOptions::default()
        },
    );
    let (user, password) = SCRAM_USER;
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        broker.add_scram_user(mechanism, user, password);
    }
    Setup { broker, certs }
}

fn target(bootstrap: String, sasl: Option<Sasl>, tls: Option<Tls>) -> KafkaTarget {
    let mut t = KafkaTarget::new(bootstrap);
    t.version = KafkaVersion::V3Plus;
    t.sasl = sasl;
    t.tls = tls;
    t
}

fn sasl(mechanism: SaslMechanism, (user, password): (&str, &str)) -> Option<Sasl> {
    Some(Sasl {
        mechanism,
        username: user.into(),
        password: obsync_config::Secret::new(password),
        kerberos: None,
    })
}

fn tls(certs: &Certs, ca: &str, client: bool) -> Option<Tls> {
    Some(Tls {
        ca: Some(Pem::File(certs.path(ca))),
        client_cert: client.then(|| ClientCertificate {
            cert: Pem::File(certs.path("client.pem")),
            key: Pem::File(certs.path("client.key")),
        }),
        verify_hostname: true,
    })
}

/// kcat's `-X` settings for the same connection as `target`.
fn kcat_args(target: &KafkaTarget) -> Vec<String> {
    let mut args = vec!["-b".to_string(), target.bootstrap_servers.clone()];
    for (key, value) in target.properties(obsync_kafka::ClientRole::Admin) {
        if key.starts_with("sasl.") || key.starts_with("ssl.") || key == "security.protocol" {
            args.push("-X".into());
            args.push(format!("{key}={value}"));
        }
    }
    args
}

fn item<'a>(items: &'a [CheckItem], name: &str) -> &'a CheckItem {
    items
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no item {name} in {items:#?}"))
}

/// Precheck passes, a topic is created, 50 messages go out and kcat reads them back over
/// the same listener with the same credentials.
async fn works_end_to_end(what: &str, target: KafkaTarget) {
    let topic = unique_name("secure");
    let topics = [NewTopicSpec::schema_sync_default(&topic)];
    let items = kafka_precheck(&target, &topics, true, TIMEOUT).await;
    for name in ["kafka.connectivity", "kafka.broker_version"] {
        let i = item(&items, name);
        assert_eq!(i.status, CheckStatus::Pass, "{what}: {i:?}");
    }
    KafkaAdmin::with_timeout(&target, TIMEOUT)
        .unwrap()
        .create_topics(&topics)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    common::send_numbered(
        what,
        &target,
        &topic,
        50,
        |_| "k".into(),
        |i| (i % 3) as i32,
    )
    .await;
    let args = kcat_args(&target);
    let consumed = tokio::task::spawn_blocking(move || common::consume_with(&args, &topic))
        .await
        .unwrap();
    common::assert_complete_and_ordered(&consumed, 50, |i| (i % 3) as i32);
}

/// The precheck fails connectivity within its timeout, with a fix containing `fix`.
async fn is_refused(what: &str, target: KafkaTarget, fix: &str) {
    let started = Instant::now();
    let items = kafka_precheck(&target, &[], false, TIMEOUT).await;
    let elapsed = started.elapsed();
    let i = item(&items, "kafka.connectivity");
    assert_eq!(i.status, CheckStatus::Fail, "{what}: {i:?}");
    let got = i.fix.as_deref().unwrap_or_default();
    assert!(
        got.contains(fix),
        "{what}: fix {got:?} lacks {fix:?}; {i:?}"
    );
    assert!(
        elapsed < TIMEOUT + Duration::from_secs(5),
        "{what}: the precheck took {elapsed:?}"
    );
    eprintln!("{what}: refused in {elapsed:?}: {} / fix: {got}", i.detail);
}

#[tokio::test(flavor = "multi_thread")]
async fn sasl_and_tls_work_and_bad_credentials_are_named() {
    let started = Instant::now();
    let setup = tokio::task::spawn_blocking(start).await.unwrap();
    eprintln!("broker with 6 listeners up in {:?}", started.elapsed());
    let b = &setup.broker;
    let c = &setup.certs;
    use SaslMechanism::*;

    let good = [
        (
            "SASL/PLAIN",
            target(b.listener("SASL_PLAIN"), sasl(Plain, PLAIN_USER), None),
        ),
        (
            "SASL/SCRAM-SHA-256",
            target(
                b.listener("SASL_PLAIN"),
                sasl(ScramSha256, SCRAM_USER),
                None,
            ),
        ),
        (
            "SASL/SCRAM-SHA-512",
            target(
                b.listener("SASL_PLAIN"),
                sasl(ScramSha512, SCRAM_USER),
                None,
            ),
        ),
        (
            "TLS, server authentication",
            target(b.listener("TLS"), None, tls(c, "ca.pem", false)),
        ),
        (
            "mutual TLS",
            target(b.listener("MTLS"), None, tls(c, "ca.pem", true)),
        ),
        (
            "SASL/SCRAM-SHA-512 over TLS",
            target(
                b.listener("SASL_TLS"),
                sasl(ScramSha512, SCRAM_USER),
                tls(c, "ca.pem", false),
            ),
        ),
        (
            "SASL/PLAIN over TLS",
            target(
                b.listener("SASL_TLS"),
                sasl(Plain, PLAIN_USER),
                tls(c, "ca.pem", false),
            ),
        ),
    ];
    for (what, t) in good {
        works_end_to_end(what, t).await;
    }
    eprintln!("good cases done at {:?}", started.elapsed());

    let bad = [
        (
            "PLAIN, wrong password",
            target(
                b.listener("SASL_PLAIN"),
                sasl(Plain, (PLAIN_USER.0, "wrong")),
                None,
            ),
            "authentication was refused",
        ),
        (
            "SCRAM-SHA-256, wrong password",
            target(
                b.listener("SASL_PLAIN"),
                sasl(ScramSha256, (SCRAM_USER.0, "wrong")),
                None,
            ),
            "authentication was refused",
        ),
        (
            "SCRAM-SHA-512 over TLS, unknown user",
            target(
                b.listener("SASL_TLS"),
                sasl(ScramSha512, ("nobody", "x")),
                tls(c, "ca.pem", false),
            ),
            "authentication was refused",
        ),
        (
            "TLS, unknown CA",
            target(b.listener("TLS"), None, tls(c, "other-ca.pem", false)),
            "set target.tls ca_file",
        ),
        (
            "TLS, expired certificate",
            target(b.listener("EXPIRED"), None, tls(c, "ca.pem", false)),
            "certificate has expired",
        ),
        (
            "mutual TLS without a client certificate",
            target(b.listener("MTLS"), None, tls(c, "ca.pem", false)),
            "wants a client certificate it trusts",
        ),
    ];
    let checks = bad
        .into_iter()
        .map(|(what, t, fix)| async move { is_refused(what, t, fix).await });
    futures_join_all(checks).await;
    eprintln!("all cases done at {:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&c.dir);
}

/// Runs the futures concurrently (each bad case waits up to the precheck timeout).
async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
}
