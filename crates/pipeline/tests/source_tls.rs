//! TLS to the source, against a private MariaDB with TLS on and certificates made for the
//! test: a project runs its snapshot and binlog over a verified connection with a client
//! certificate (its user is created `REQUIRE X509`, so no plain connection could have
//! served it), and the precheck names what is wrong when TLS cannot work.

mod support;

use obsync_model::{CheckItem, CheckStatus};
use obsync_source::precheck::{check_source, SourceCheckPlan};
use obsync_source::tls::{ClientCertificate, Pem, SourceTls, TlsMode};
use obsync_source::{SourceEndpoint, SourceFlavor};
use obsync_testkit::{unique_name, MariaDbInstance, Services, SqlServer, TestPki};
use support::Project;

/// The user the project logs in as: only with a client certificate signed by the CA.
const X509_USER: &str = "obsync_x509";
const X509_PASSWORD: &str = "x509-pw";

fn endpoint(
    db: &MariaDbInstance,
    host: &str,
    user: &str,
    password: &str,
    tls: SourceTls,
) -> SourceEndpoint {
    SourceEndpoint {
        flavor: SourceFlavor::MariaDb,
        host: host.into(),
        port: db.port(),
        user: user.into(),
        password: password.into(),
        tls,
    }
}

fn client_cert(pki: &TestPki) -> Option<ClientCertificate> {
    Some(ClientCertificate {
        cert: Pem::File(pki.client_cert.clone()),
        key: Pem::File(pki.client_key.clone()),
    })
}

fn tls_item(items: &[CheckItem]) -> &CheckItem {
    items
        .iter()
        .find(|i| i.name == "source.tls")
        .unwrap_or_else(|| panic!("no source.tls item in {items:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_binlog_run_over_verified_tls_with_a_client_certificate() {
    let services = Services::load();
    // The certificate names `localhost` only: the project connects by that name.
    let pki = TestPki::create(&["localhost"]);
    let db = MariaDbInstance::spawn_with_tls(pki.mariadb_tls());
    let admin = db.server();
    let name = unique_name("srctls");
    let topic = unique_name("srctls_topic");
    admin.execute(&format!(
        "CREATE USER '{X509_USER}'@'%' IDENTIFIED BY '{X509_PASSWORD}' REQUIRE X509;
         GRANT ALL PRIVILEGES ON *.* TO '{X509_USER}'@'%';
         CREATE DATABASE {name};
         CREATE TABLE {name}.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO {name}.t VALUES (1, 'snap-1'), (2, 'snap-2');"
    ));
    let source = SqlServer {
        host: "localhost".into(),
        port: db.port(),
        user: X509_USER.into(),
        password: X509_PASSWORD.into(),
    };
    // MySQL's own spelling of the mode, as users copy it from their client settings.
    let tls = format!(
        "[source.tls]\nmode = \"VERIFY_IDENTITY\"\nca_file = {:?}\nclient_cert_file = {:?}\nclient_key_file = {:?}",
        pki.ca.display().to_string(),
        pki.client_cert.display().to_string(),
        pki.client_key.display().to_string(),
    );
    let tables = format!("\"{name}.t\"");
    let settings = support::settings_on(
        &source,
        &services.kafka_bootstrap,
        &Project {
            name: "srctls",
            sync: "types = [\"schema\", \"full\", \"incremental\"]\nformat = \"Default\"",
            tables: &tables,
            topic: &topic,
            source_extra: &tls,
            ..Default::default()
        },
    );
    assert_eq!(settings.source.tls.mode, TlsMode::VerifyIdentity);
    let state_dir = std::env::temp_dir().join(unique_name("srctls_state"));
    let handle = support::start_streaming(settings, state_dir.clone()).await;
    admin.execute(&format!(
        "INSERT INTO {name}.t VALUES (3, 'binlog-3'); UPDATE {name}.t SET v = 'binlog-1' WHERE id = 1;"
    ));
    support::wait_for(&handle, support::TIMEOUT, "not delivered", |s| {
        s.messages_acked >= 4
    })
    .await;
    handle.stop();
    handle.join().await.unwrap();

    let got: Vec<(String, String)> =
        obsync_testkit::kcat::consume(&services.kafka_bootstrap, &topic)
            .iter()
            .map(|r| {
                let m: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
                (
                    m["recordType"].as_str().unwrap().to_string(),
                    m["postStruct"]["v"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .filter(|(kind, _)| kind != "HEARTBEAT")
            .collect();
    let want = [
        ("ROW", "snap-1"),
        ("ROW", "snap-2"),
        ("INSERT", "binlog-3"),
        ("UPDATE", "binlog-1"),
    ];
    for (kind, v) in want {
        assert!(
            got.iter().any(|(k, value)| k == kind && value == v),
            "{kind} {v} missing from {got:?}"
        );
    }

    // The user cannot connect without TLS, nor with TLS but without the certificate:
    // everything above went over a verified TLS connection with the client certificate.
    let plain = endpoint(
        &db,
        "localhost",
        X509_USER,
        X509_PASSWORD,
        SourceTls {
            mode: TlsMode::Disabled,
            ..Default::default()
        },
    );
    let refused = plain.connect().await.unwrap_err();
    assert_eq!(
        refused.sql().and_then(|e| e.server_code()),
        Some(1045),
        "{refused}"
    );
    let no_cert = endpoint(
        &db,
        "localhost",
        X509_USER,
        X509_PASSWORD,
        SourceTls {
            mode: TlsMode::Required,
            ..Default::default()
        },
    );
    assert!(no_cert.connect().await.is_err());
    // The certificate alone is enough for the server, in a mode that checks nothing.
    let cert_only = endpoint(
        &db,
        "127.0.0.1",
        X509_USER,
        X509_PASSWORD,
        SourceTls {
            mode: TlsMode::Required,
            ca: None,
            client_cert: client_cert(&pki),
        },
    );
    let (conn, encrypted) = cert_only.connect_with_tls().await.unwrap();
    assert!(encrypted);
    conn.disconnect().await.unwrap();
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precheck_names_a_wrong_ca_a_wrong_name_and_a_server_without_tls() {
    let pki = TestPki::create(&["localhost"]);
    let db = MariaDbInstance::spawn_with_tls(pki.mariadb_tls());
    let server = db.server();
    let verify = |mode, host: &str, ca: &std::path::Path| {
        endpoint(
            &db,
            host,
            &server.user,
            &server.password,
            SourceTls {
                mode,
                ca: Some(Pem::File(ca.to_path_buf())),
                client_cert: None,
            },
        )
    };
    let plan = SourceCheckPlan::default();

    // Signed by the CA and connected by a name the certificate holds: TLS, named.
    let good = check_source(
        &verify(TlsMode::VerifyIdentity, "localhost", &pki.ca),
        &plan,
    )
    .await;
    let item = tls_item(&good);
    assert_eq!(item.status, CheckStatus::Pass, "{item:?}");
    assert!(
        item.detail.contains("mode verify_identity: TLSv1."),
        "{item:?}"
    );
    assert!(item.detail.contains("names the host"), "{item:?}");

    let wrong_ca = check_source(
        &verify(TlsMode::VerifyIdentity, "localhost", &pki.other_ca),
        &plan,
    )
    .await;
    let item = tls_item(&wrong_ca);
    assert_eq!(item.status, CheckStatus::Fail, "{item:?}");
    let fix = item.fix.as_deref().unwrap();
    assert!(fix.contains("not signed by the CA file (ca_file)"), "{fix}");
    assert!(
        item.detail.contains("certificate verify failed"),
        "{item:?}"
    );
    assert_eq!(wrong_ca[1].name, "source.connect");
    assert_eq!(wrong_ca[1].status, CheckStatus::NotChecked);

    // 127.0.0.1 is not in the certificate: verify_identity refuses, verify_ca accepts.
    let by_ip = check_source(
        &verify(TlsMode::VerifyIdentity, "127.0.0.1", &pki.ca),
        &plan,
    )
    .await;
    let item = tls_item(&by_ip);
    assert_eq!(item.status, CheckStatus::Fail, "{item:?}");
    assert!(
        item.fix
            .as_deref()
            .unwrap()
            .contains("must also name \"127.0.0.1\""),
        "{item:?}"
    );
    let ca_only = check_source(&verify(TlsMode::VerifyCa, "127.0.0.1", &pki.ca), &plan).await;
    assert_eq!(tls_item(&ca_only).status, CheckStatus::Pass, "{ca_only:?}");

    // The shared MariaDB has no TLS: required refuses, preferred connects and warns.
    let shared = Services::load().mariadb;
    let on_shared = |mode| SourceEndpoint {
        flavor: SourceFlavor::MariaDb,
        host: shared.host.clone(),
        port: shared.port,
        user: shared.user.clone(),
        password: shared.password.clone(),
        tls: SourceTls {
            mode,
            ..Default::default()
        },
    };
    let required = check_source(&on_shared(TlsMode::Required), &plan).await;
    let item = tls_item(&required);
    assert_eq!(item.status, CheckStatus::Fail, "{item:?}");
    assert!(
        item.fix
            .as_deref()
            .unwrap()
            .contains("the server offers no TLS"),
        "{item:?}"
    );
    let preferred = check_source(&on_shared(TlsMode::Preferred), &plan).await;
    assert_eq!(preferred[0].status, CheckStatus::Pass, "{preferred:?}");
    assert_eq!(
        tls_item(&preferred).status,
        CheckStatus::Warn,
        "{preferred:?}"
    );
}
