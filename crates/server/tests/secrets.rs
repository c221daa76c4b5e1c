//! Attacks on the secrets a server holds, performed through the API: shell commands in
//! Kerberos settings (API test and create, the OMS shim, import), stored passwords
//! redirected by an edit to a rogue Kafka broker or MySQL server, a SASL password sent to a
//! plaintext listener although the data source has TLS, file modes, client keys on disk,
//! invisible characters in names, and import's data-source match and tags.
//!
//! The rogue servers are here: a Kafka "broker" that speaks just enough of the protocol
//! (ApiVersions, SaslHandshake) to be handed a SASL PLAIN password, and a MySQL "server"
//! that asks `caching_sha2_password` for full authentication over plain TCP, hands out its
//! own RSA key and decrypts what comes back. Each test first shows that its rogue does get
//! the password when the user sends it there on purpose, so that "never arrives" means
//! something.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Everything a rogue server received (Kafka) or decrypted (MySQL), across connections.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<u8>>>);

impl Received {
    fn push(&self, bytes: &[u8]) {
        self.0.lock().unwrap().extend_from_slice(bytes);
    }

    fn contains(&self, needle: &str) -> bool {
        let got = self.0.lock().unwrap();
        got.windows(needle.len()).any(|w| w == needle.as_bytes())
    }
}

/// A listener on a free loopback port serving every connection with `serve`.
async fn rogue<F, Fut>(serve: F) -> (String, Received)
where
    F: Fn(TcpStream, Received) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = std::io::Result<()>> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let received = Received::default();
    let seen = received.clone();
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (serve, seen) = (Arc::clone(&serve), seen.clone());
            tokio::spawn(async move {
                let _ = serve(stream, seen).await;
            });
        }
    });
    (address, received)
}

/// A fake Kafka broker: answers ApiVersions (as a broker that knows only version 0 of it,
/// SaslHandshake and SaslAuthenticate) and SaslHandshake (PLAIN), and records every byte,
/// so that a client's SaslAuthenticate with the PLAIN password lands in the record.
async fn rogue_kafka() -> (String, Received) {
    rogue(|mut stream: TcpStream, seen: Received| async move {
        loop {
            let size = stream.read_i32().await?;
            seen.push(&size.to_be_bytes());
            if !(8..=1 << 20).contains(&size) {
                // Not Kafka framing (a TLS ClientHello): keep what comes, answer nothing.
                let mut rest = Vec::new();
                let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut rest))
                    .await;
                seen.push(&rest);
                return Ok(());
            }
            let mut request = vec![0; size as usize];
            stream.read_exact(&mut request).await?;
            seen.push(&request);
            let key = i16::from_be_bytes([request[0], request[1]]);
            let version = i16::from_be_bytes([request[2], request[3]]);
            let correlation = &request[4..8];
            let mut body = correlation.to_vec();
            match key {
                18 => {
                    // ApiVersions v0 body; error 35 (UNSUPPORTED_VERSION) to a newer one.
                    body.extend_from_slice(&(if version == 0 { 0i16 } else { 35 }).to_be_bytes());
                    let apis: [(i16, i16, i16); 3] = [(18, 0, 0), (17, 0, 1), (36, 0, 0)];
                    body.extend_from_slice(&(apis.len() as i32).to_be_bytes());
                    for (k, min, max) in apis {
                        for n in [k, min, max] {
                            body.extend_from_slice(&n.to_be_bytes());
                        }
                    }
                }
                17 => {
                    body.extend_from_slice(&0i16.to_be_bytes());
                    body.extend_from_slice(&1i32.to_be_bytes());
                    body.extend_from_slice(&5i16.to_be_bytes());
                    body.extend_from_slice(b"PLAIN");
                }
                _ => return Ok(()), // the password (SaslAuthenticate) is recorded: done
            }
            stream.write_i32(body.len() as i32).await?;
            stream.write_all(&body).await?;
        }
    })
    .await
}

/// One MySQL packet: 3-byte length, sequence number, payload.
async fn mysql_write(stream: &mut TcpStream, seq: u8, payload: &[u8]) -> std::io::Result<()> {
    let len = (payload.len() as u32).to_le_bytes();
    stream.write_all(&[len[0], len[1], len[2], seq]).await?;
    stream.write_all(payload).await
}

async fn mysql_read(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).await?;
    Ok(payload)
}

/// A fake MySQL 8 server: offers `caching_sha2_password` without TLS, asks for full
/// authentication, sends its own RSA key when asked and records the decrypted password.
async fn rogue_mysql() -> (String, Received) {
    let rsa = Arc::new(openssl::rsa::Rsa::generate(2048).unwrap());
    rogue(move |mut stream: TcpStream, seen: Received| {
        let rsa = Arc::clone(&rsa);
        async move {
            let nonce: Vec<u8> = (1..=20u8).map(|i| i.wrapping_mul(7) | 1).collect();
            // Protocol 10 handshake: protocol-41, secure connection, plugin auth; no SSL.
            let mut hello = vec![10u8];
            hello.extend_from_slice(b"8.0.36-rogue\0");
            hello.extend_from_slice(&7u32.to_le_bytes());
            hello.extend_from_slice(&nonce[..8]);
            hello.push(0);
            hello.extend_from_slice(&0xA201u16.to_le_bytes());
            hello.push(0xff);
            hello.extend_from_slice(&2u16.to_le_bytes());
            hello.extend_from_slice(&0x0028u16.to_le_bytes());
            hello.push(21);
            hello.extend_from_slice(&[0; 10]);
            hello.extend_from_slice(&nonce[8..]);
            hello.push(0);
            hello.extend_from_slice(b"caching_sha2_password\0");
            mysql_write(&mut stream, 0, &hello).await?;
            mysql_read(&mut stream).await?; // HandshakeResponse41
            mysql_write(&mut stream, 2, &[0x01, 0x04]).await?; // perform full authentication
            let asked = mysql_read(&mut stream).await?;
            if asked != [0x02] {
                return Ok(()); // sent in clear? then it would be here: record it
            }
            let mut key = vec![0x01];
            key.extend_from_slice(&rsa.public_key_to_pem().unwrap());
            mysql_write(&mut stream, 4, &key).await?;
            let encrypted = mysql_read(&mut stream).await?;
            let mut plain = vec![0; rsa.size() as usize];
            let n = rsa
                .private_decrypt(&encrypted, &mut plain, openssl::rsa::Padding::PKCS1_OAEP)
                .unwrap();
            let password: Vec<u8> = plain[..n]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ nonce[i % nonce.len()])
                .collect();
            seen.push(&password);
            let mut error = vec![0xff];
            error.extend_from_slice(&1045u16.to_le_bytes());
            error.extend_from_slice(b"#28000rogue");
            mysql_write(&mut stream, 6, &error).await
        }
    })
    .await
}

fn id(body: &Value) -> String {
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

async fn test_saved(api: &Api, ds: &str) -> Value {
    api.post_ok(
        &format!("/api/v1/datasources/{ds}/test"),
        json!({}),
        StatusCode::OK,
    )
    .await
}

async fn kafka_source(api: &Api, name: &str, bootstrap: &str, password: &str, tls: bool) -> String {
    let mut kafka = json!({"bootstrap_servers": bootstrap, "version": "3.x",
        "sasl": {"mechanism": "PLAIN", "username": "alice", "password": password}});
    if tls {
        kafka["tls"] = json!({"enabled": true, "verify_hostname": false});
    }
    id(&api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": name, "kind": "kafka", "kafka": kafka}),
            StatusCode::CREATED,
        )
        .await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_kafka_listener_gets_no_sasl_password_over_tls_or_after_an_address_change() {
    let server = TestServer::start("rogue_kafka").await;
    let api = &server.api;
    let (address, received) = rogue_kafka().await;

    // The rogue works: a password sent there on purpose arrives.
    let control = kafka_source(api, "control", &address, "meant-for-rogue", false).await;
    // TLS on: the client must speak TLS first, never SASL in clear.
    let with_tls = kafka_source(api, "with-tls", &address, "tls-only-pw", true).await;
    // Saved for a closed port, then pointed at the rogue without sending the password.
    let moved = kafka_source(api, "moved", "127.0.0.1:1", "stay-home-pw", false).await;
    let (status, edited) = api
        .call(
            Method::PUT,
            &format!("/api/v1/datasources/{moved}"),
            Some(
                json!({"name": "moved", "kind": "kafka", "kafka": {"bootstrap_servers": address,
                "version": "3.x", "sasl": {"mechanism": "PLAIN", "username": "alice"}}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["kafka"]["sasl"]["password_set"], false, "{edited}");

    let topics = |ds: String| async move {
        api.call(
            Method::GET,
            &format!("/api/v1/datasources/{ds}/topics"),
            None,
        )
        .await
    };
    let (c, t, m, _, _) = tokio::join!(
        test_saved(api, &control),
        test_saved(api, &with_tls),
        test_saved(api, &moved),
        topics(with_tls.clone()),
        topics(moved.clone()),
    );
    for answer in [&c, &t, &m] {
        assert_eq!(answer["ok"], false, "{answer}");
    }
    assert!(
        received.contains("meant-for-rogue"),
        "the rogue broker does not work"
    );
    assert!(
        !received.contains("tls-only-pw"),
        "a TLS data source sent its password in clear"
    );
    assert!(
        !received.contains("stay-home-pw"),
        "the stored password followed the new address"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_mysql_address_or_user_does_not_take_the_stored_password_along() {
    let server = TestServer::start("rogue_mysql").await;
    let api = &server.api;
    let (address, received) = rogue_mysql().await;
    let (host, port) = address.rsplit_once(':').unwrap();
    let port: u16 = port.parse().unwrap();
    let source = |name: &str, host: &str, port: u16, user: &str, password: Option<&str>| {
        let mut source = json!({"host": host, "port": port, "user": user});
        if let Some(p) = password {
            source["password"] = json!(p);
        }
        json!({"name": name, "kind": "mysql", "source": source})
    };

    let control = id(&api
        .post_ok(
            "/api/v1/datasources",
            source("control", host, port, "u", Some("meant-for-rogue")),
            StatusCode::CREATED,
        )
        .await);
    assert_eq!(test_saved(api, &control).await["ok"], false);
    assert!(
        received.contains("meant-for-rogue"),
        "the rogue MySQL does not work"
    );

    let moved = id(&api
        .post_ok(
            "/api/v1/datasources",
            source("moved", "127.0.0.1", 1, "u", Some("stay-home-pw")),
            StatusCode::CREATED,
        )
        .await);
    // Same user, new address; and then the same address with another user: each drops it.
    for (h, p, user) in [(host, port, "u"), ("127.0.0.1", 1, "u"), (host, port, "v")] {
        let (status, edited) = api
            .call(
                Method::PUT,
                &format!("/api/v1/datasources/{moved}"),
                Some(source("moved", h, p, user, None)),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(edited["source"]["password_set"], false, "{edited}");
        assert_eq!(test_saved(api, &moved).await["ok"], false);
    }
    assert!(
        !received.contains("stay-home-pw"),
        "the stored password followed the new address"
    );

    // An edit that keeps address and user keeps the password.
    let kept = id(&api
        .post_ok(
            "/api/v1/datasources",
            source("kept", "127.0.0.1", 1, "u", Some("pw")),
            StatusCode::CREATED,
        )
        .await);
    let mut same = source("kept", "127.0.0.1", 1, "u", None);
    same["description"] = json!("renamed nothing, described");
    let (status, edited) = api
        .call(
            Method::PUT,
            &format!("/api/v1/datasources/{kept}"),
            Some(same),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["source"]["password_set"], true, "{edited}");

    // TLS settings are part of the connection: the same mode keeps the password, another
    // mode (here one that turns TLS off) drops it.
    for (mode, password_kept) in [("preferred", true), ("disabled", false)] {
        let mut edit = source("kept", "127.0.0.1", 1, "u", None);
        edit["source"]["tls"] = json!({ "mode": mode });
        let (status, edited) = api
            .call(
                Method::PUT,
                &format!("/api/v1/datasources/{kept}"),
                Some(edit),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(
            edited["source"]["password_set"], password_kept,
            "{mode}: {edited}"
        );
    }
    server.stop().await;
}

/// Where an injected command would leave its mark.
fn marker(name: &str) -> PathBuf {
    std::env::temp_dir().join(obsync_testkit::unique_name(name))
}

fn assert_field_error(what: &str, status: StatusCode, body: &Value, field: &str) {
    assert!(status.is_client_error(), "{what}: {status} {body}");
    let got = body["field"]
        .as_str()
        .or_else(|| body["errorDetail"]["field"].as_str())
        .unwrap_or_default();
    assert!(
        got.ends_with(field),
        "{what}: field {got:?}, expected {field}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kerberos_settings_that_would_run_a_shell_command_are_refused_at_every_entry() {
    let server = TestServer::start("kinit_injection").await;
    let api = &server.api;
    let keytab = server.dir.join("good.keytab");
    std::fs::write(&keytab, b"not really a keytab").unwrap();
    let keytab = keytab.display().to_string();

    let by_principal = marker("pwned_principal");
    let by_keytab = marker("pwned_keytab");
    let evil_principal = format!("x@R;touch${{IFS}}{};#", by_principal.display());
    let evil_keytab = format!("/tmp/\";touch {};echo \"", by_keytab.display());
    let cases = [
        (
            evil_principal.as_str(),
            keytab.as_str(),
            "kerberos_principal",
        ),
        ("obsync@R", evil_keytab.as_str(), "kerberos_keytab"),
    ];
    for (principal, kt, field) in cases {
        let kafka = json!({"bootstrap_servers": "127.0.0.1:1", "version": "3.x",
            "sasl": {"mechanism": "GSSAPI", "username": "", "kerberos_principal": principal,
                     "kerberos_keytab": kt}});
        let body = json!({"name": "krb", "kind": "kafka", "kafka": kafka});
        let (status, answer) = api.post("/api/v1/datasources/test", body.clone()).await;
        assert_field_error("API test", status, &answer, field);
        let (status, answer) = api.post("/api/v1/datasources", body).await;
        assert_field_error("API create", status, &answer, field);

        let oms = json!({"name": "krb-oms", "endpoint": "127.0.0.1:1", "enableSASL": true,
            "saslMechanism": "GSSAPI", "userName": "", "saslKerberosPrincipal": principal,
            "kdcPath": kt});
        let (_, answer) = api.post("/api/v2?Action=CreateKafkaDataSource", oms).await;
        assert_eq!(answer["success"], false, "OMS: {answer}");
        assert_field_error("OMS", StatusCode::BAD_REQUEST, &answer, field);

        let file = format!(
            "[project]\nname = \"krbimport\"\n[source]\nkind = \"mysql\"\nhost = \"127.0.0.1\"\n\
             port = 1\nuser = \"u\"\npassword = \"p\"\n[target]\nbootstrap_servers = \"127.0.0.1:1\"\n\
             version = \"3.x\"\n[target.sasl]\nmechanism = \"GSSAPI\"\nkerberos_principal = {principal:?}\n\
             kerberos_keytab = {kt:?}\n[sync]\ntypes = [\"full\"]\n[[objects]]\ntables = [\"a.b\"]\n"
        );
        let resp = api
            .client
            .post(format!("{}/api/v1/projects/import", server.base))
            .body(file)
            .send()
            .await
            .unwrap();
        let (status, answer) = (resp.status(), resp.json::<Value>().await.unwrap());
        assert_field_error("import", status, &answer, field);
    }
    assert_eq!(
        api.get("/api/v1/datasources").await["total"],
        0,
        "nothing was stored"
    );
    // librdkafka would have run its kinit line at client creation; give a shell time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!by_principal.exists(), "the principal ran a command");
    assert!(!by_keytab.exists(), "the keytab path ran a command");
    server.stop().await;
}

/// Every regular file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_private_and_no_client_key_reaches_the_disk() {
    let server = TestServer::start("modes").await;
    let api = &server.api;
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nTHE-CLIENT-KEY\n-----END PRIVATE KEY-----\n";
    let src = id(&api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": "src", "kind": "mariadb",
                   "source": {"host": "127.0.0.1", "port": 1, "user": "u", "password": "p"}}),
            StatusCode::CREATED,
        )
        .await);
    let kafka = id(&api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": "mtls", "kind": "kafka", "kafka": {"bootstrap_servers": "127.0.0.1:1",
                "version": "3.x", "tls": {"enabled": true, "verify_hostname": false,
                "ca_pem": "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
                "client_cert_pem": "-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n",
                "client_key_pem": KEY}}}),
            StatusCode::CREATED,
        )
        .await);
    // Creating a project renders it for the client (the key was written to disk here).
    let project = id(&api
        .post_ok(
            "/api/v1/projects",
            json!({"spec": spec("keyfiles01", &src, &kafka, &["full"], &["a.b".to_string()], "topic1")}),
            StatusCode::CREATED,
        )
        .await);
    let (status, export) = api
        .call(
            Method::GET,
            &format!("/api/v1/projects/{project}/export"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let export = export.as_str().unwrap_or_default().to_string();
    assert!(
        export.contains("OBSYNC_KAFKA_CLIENT_KEY") && !export.contains("THE-CLIENT-KEY"),
        "{export}"
    );
    let _ = test_saved(api, &kafka).await;

    assert_eq!(mode(&server.dir), 0o700, "data directory");
    for name in ["obsync.db", "obsync.db-wal", "obsync.db-shm", "secret.key"] {
        let path = server.dir.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    let key_on_disk = |dir: &Path| {
        files(dir)
            .into_iter()
            .filter(|f| {
                std::fs::read(f)
                    .unwrap_or_default()
                    .windows(14)
                    .any(|w| w == b"THE-CLIENT-KEY")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(key_on_disk(&server.dir), Vec::<PathBuf>::new());
    let (status, _) = api
        .call(Method::DELETE, &format!("/api/v1/projects/{project}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("/api/v1/datasources/{kafka}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!server.dir.join("tls").exists());
    assert_eq!(key_on_disk(&server.dir), Vec::<PathBuf>::new());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_with_invisible_or_control_characters_are_refused_everywhere() {
    let server = TestServer::start("names").await;
    let api = &server.api;
    for bad in [
        "a\u{0}b",
        "evil\u{202e}lmth",
        "zero\u{200b}",
        "\u{feff}bom",
        "a\u{2066}b",
    ] {
        let (status, body) = api
            .post(
                "/api/v1/datasources",
                json!({"name": bad, "kind": "mysql",
                       "source": {"host": "127.0.0.1", "port": 1, "user": "u"}}),
            )
            .await;
        assert_field_error("data source", status, &body, "name");
        let (status, body) = api.post("/api/v1/tags", json!({"name": bad})).await;
        assert_field_error("tag", status, &body, "name");
        let (status, body) = api.post("/api/v1/tokens", json!({"name": bad})).await;
        assert_field_error("token", status, &body, "name");
        let (status, body) = api
            .post(
                "/api/v1/projects",
                json!({"spec": spec(bad, "ds_x", "ds_y", &["full"], &["a.b".to_string()], "t")}),
            )
            .await;
        assert_field_error("project", status, &body, "name");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_matches_tls_and_sasl_and_keeps_the_tag_rules() {
    let server = TestServer::start("import_match").await;
    let api = &server.api;
    let plain = id(&api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": "plain", "kind": "kafka",
                   "kafka": {"bootstrap_servers": "127.0.0.1:1", "version": "3.x"}}),
            StatusCode::CREATED,
        )
        .await);
    let base = server.base.clone();
    let import = |file: String| {
        let url = format!("{base}/api/v1/projects/import");
        async move {
            let resp = api.client.post(url).body(file).send().await.unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }
    };
    let file = |name: &str, tags: &str, target_extra: &str| {
        format!(
            "[project]\nname = {name:?}\ntags = [{tags}]\n[source]\nkind = \"mysql\"\nhost = \"127.0.0.1\"\n\
             port = 1\nuser = \"u\"\npassword = \"p\"\n[target]\nbootstrap_servers = \"127.0.0.1:1\"\n\
             version = \"3.x\"\n{target_extra}\n[sync]\ntypes = [\"full\"]\n[[objects]]\ntables = [\"a.b\"]\ntopic = \"topic1\"\n"
        )
    };
    // TLS in the file, plaintext data source at the same brokers: refused, naming TLS.
    let (status, body) = import(file("tls01", "", "[target.tls]\nverify_hostname = false")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("TLS"), "{body}");
    // SASL in the file, none in the data source: refused too.
    let (status, body) = import(file(
        "sasl01",
        "",
        "[target.sasl]\nmechanism = \"PLAIN\"\nusername = \"u\"\npassword = \"p\"",
    ))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("SASL"), "{body}");

    // Tags: the tags API's rules; none is created when the project is refused.
    let (status, body) = import(file("tags01", "\"a b c d e f g h i j k l m n o p q\"", "")).await;
    assert!(status.is_client_error(), "{body}");
    let (status, body) = import(file("bad name", "\"newtag\"", "")).await;
    assert!(status.is_client_error(), "{body}");
    assert_eq!(
        api.get("/api/v1/tags").await["total"],
        0,
        "a refused import created tags"
    );
    let (status, body) = import(file("tags02", "\"newtag\"", "")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["spec"]["target_id"], plain.as_str(), "{body}");
    assert_eq!(api.get("/api/v1/tags").await["total"], 1);
    server.stop().await;
}

/// A schema registry that wants HTTP basic authentication: a gate in front of the real
/// one (Apicurio answers anonymously) that refuses a request without the expected
/// `Authorization` header and forwards the others.
#[derive(Clone)]
struct RegistryGate {
    upstream: String,
    expected: String,
    passed: Arc<Mutex<usize>>,
    refused: Arc<Mutex<usize>>,
    http: reqwest::Client,
}

async fn registry_gate_serve(
    axum::extract::State(gate): axum::extract::State<RegistryGate>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let authorized = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(gate.expected.as_str());
    if !authorized {
        *gate.refused.lock().unwrap() += 1;
        return (StatusCode::UNAUTHORIZED, "basic authentication required").into_response();
    }
    *gate.passed.lock().unwrap() += 1;
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map_or(String::new(), |p| p.to_string());
    let content_type = request.headers().get("content-type").cloned();
    let body = axum::body::to_bytes(request.into_body(), 1 << 22)
        .await
        .unwrap();
    let mut forward = gate
        .http
        .request(method, format!("{}{path}", gate.upstream))
        .body(body);
    if let Some(ct) = content_type {
        forward = forward.header("content-type", ct);
    }
    let answer = forward.send().await.unwrap();
    let status = answer.status();
    let content_type = answer.headers().get("content-type").cloned();
    let mut response = (status, answer.bytes().await.unwrap()).into_response();
    if let Some(ct) = content_type {
        response.headers_mut().insert("content-type", ct);
    }
    response
}

/// The gate on a free loopback port in front of `registry` (a URL with its API path):
/// the gate's URL with the same path, and the counts of passed and refused requests.
async fn registry_gate(
    registry: &str,
    user: &str,
    password: &str,
) -> (String, Arc<Mutex<usize>>, Arc<Mutex<usize>>) {
    use base64::Engine as _;
    let parsed = url::Url::parse(registry).unwrap();
    let gate = RegistryGate {
        upstream: parsed.origin().ascii_serialization(),
        expected: format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        ),
        passed: Arc::default(),
        refused: Arc::default(),
        http: reqwest::Client::new(),
    };
    let counts = (gate.passed.clone(), gate.refused.clone());
    let app = axum::Router::new()
        .fallback(registry_gate_serve)
        .with_state(gate);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (
        format!("http://{address}{}", parsed.path().trim_end_matches('/')),
        counts.0,
        counts.1,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_registry_password_is_write_only_sealed_stays_with_its_origin_and_reaches_the_registry(
) {
    let services = obsync_testkit::Services::load();
    let registry = services.schema_registry_url.clone().expect(
        "no schema registry: run scripts/services start schema-registry (or set OBSYNC_SCHEMA_REGISTRY_URL)",
    );
    let password = format!(
        "Reg{}pw",
        obsync_testkit::unique_name("s").replace(['-', '_'], "")
    );
    let (gate, passed, refused) = registry_gate(&registry, "avro", &password).await;
    let server = TestServer::start("registry").await;
    let api = &server.api;

    // The login through the API: answers say only that a password is set.
    let kafka = |name: &str, registry: Value| {
        json!({"name": name, "kind": "kafka", "kafka": {"bootstrap_servers": services.kafka_bootstrap,
            "version": "3.x", "schema_registry": registry}})
    };
    let target = id(&api
        .post_ok(
            "/api/v1/datasources",
            kafka(
                "avro-target",
                json!({"url": gate, "username": "avro", "password": password}),
            ),
            StatusCode::CREATED,
        )
        .await);
    let shown = api.get(&format!("/api/v1/datasources/{target}")).await;
    assert_eq!(
        shown["kafka"]["schema_registry"],
        json!({"url": gate, "username": "avro", "password_set": true}),
        "{shown}"
    );

    // A run of a DebeziumAvro project on that target registers its schemas through the
    // gate, with the login (the project names no registry of its own).
    let db = orders_db(&services, 3);
    let topic = obsync_testkit::unique_name("srvavro");
    services.create_topic(&topic, 3);
    let (src, _) = create_datasources(api, &services).await;
    let mut s = spec(
        "注册表认证01",
        &src,
        &target,
        &["full", "incremental"],
        &[format!("{db}.orders")],
        &topic,
    );
    s["sync"]["format"] = json!("DebeziumAvro");
    let project = id(&api
        .post_ok(
            "/api/v1/projects",
            json!({ "spec": s }),
            StatusCode::CREATED,
        )
        .await);
    let p = |action: &str| format!("/api/v1/projects/{project}/{action}");
    let pre = api.post_ok(&p("precheck"), json!({}), StatusCode::OK).await;
    assert_eq!(pre["passed"], true, "{pre}");
    api.post_ok(&p("start"), json!({}), StatusCode::OK).await;
    wait_until(
        api,
        &p("progress"),
        Duration::from_secs(90),
        "incremental sync",
        |b| b["stage"] == "incremental" && b["acked_messages"].as_u64().unwrap_or(0) >= 3,
    )
    .await;
    assert!(
        *passed.lock().unwrap() >= 2,
        "no registration passed the gate"
    );
    assert_eq!(
        *refused.lock().unwrap(),
        0,
        "a request came without the login"
    );
    let versions: Value = reqwest::get(format!("{registry}/subjects/{topic}-value/versions"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(versions, json!([1]), "the value schema is registered");
    // The export names the password by variable.
    let (status, export) = api.call(Method::GET, &p("export"), None).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let export = export.as_str().unwrap_or_default();
    assert!(
        export.contains("schema_registry_password_env = \"OBSYNC_SCHEMA_REGISTRY_PASSWORD\"")
            && export.contains("schema_registry_username = \"avro\""),
        "{export}"
    );

    // Edits of another data source with a stored login: the password stays for the same
    // origin and user, and does not follow another host, port or user.
    let other = id(&api
        .post_ok(
            "/api/v1/datasources",
            kafka(
                "avro-other",
                json!({"url": "http://registry.test:8081/apis/ccompat/v7", "username": "avro", "password": password}),
            ),
            StatusCode::CREATED,
        )
        .await);
    let put = |registry: Value| {
        let body = kafka("avro-other", registry);
        let path = format!("/api/v1/datasources/{other}");
        async move { api.call(Method::PUT, &path, Some(body)).await }
    };
    let (status, kept) =
        put(json!({"url": "http://REGISTRY.test:8081/other/", "username": "avro"})).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(
        kept["kafka"]["schema_registry"]["password_set"], true,
        "{kept}"
    );
    for moved in [
        json!({"url": "http://rogue.test:8081/apis/ccompat/v7", "username": "avro"}),
        json!({"url": "http://registry.test:9999/other", "username": "avro"}),
        json!({"url": "https://registry.test:8081/other", "username": "avro"}),
        json!({"url": "http://registry.test:8081/other", "username": "mallory"}),
    ] {
        let (status, body) = put(moved.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{moved}: {body}");
        assert_eq!(body["field"], "kafka.schema_registry.password", "{body}");
    }
    let unchanged = api.get(&format!("/api/v1/datasources/{other}")).await;
    assert_eq!(
        unchanged["kafka"]["schema_registry"]["url"], "http://REGISTRY.test:8081/other",
        "a refused edit changes nothing: {unchanged}"
    );
    // No login: the stored password goes.
    let (status, open) =
        put(json!({"url": "http://registry.test:8081/other", "username": ""})).await;
    assert_eq!(status, StatusCode::OK, "{open}");
    assert_eq!(
        open["kafka"]["schema_registry"],
        json!({"url": "http://registry.test:8081/other", "username": null, "password_set": false})
    );

    // Never in an answer, never in clear on disk.
    assert!(
        !api.all_bodies().contains(&password),
        "an answer holds the password"
    );
    let on_disk: Vec<PathBuf> = files(&server.dir)
        .into_iter()
        .filter(|f| {
            std::fs::read(f)
                .unwrap_or_default()
                .windows(password.len())
                .any(|w| w == password.as_bytes())
        })
        .collect();
    assert_eq!(
        on_disk,
        Vec::<PathBuf>::new(),
        "the password in clear on disk"
    );
    server.stop().await;
}

/// POST /api/v1/projects/import with `body`: the status and the answer.
async fn import_file(server: &TestServer, body: String) -> (StatusCode, Value) {
    let resp = server
        .api
        .client
        .post(format!("{}/api/v1/projects/import", server.base))
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json::<Value>().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_whose_schema_registry_needs_a_login_imports_with_the_password_kept_in_the_data_source(
) {
    let services = obsync_testkit::Services::load();
    let registry = services.schema_registry_url.clone().expect(
        "no schema registry: run scripts/services start schema-registry (or set OBSYNC_SCHEMA_REGISTRY_URL)",
    );
    let password = format!(
        "Imp{}pw",
        obsync_testkit::unique_name("s").replace(['-', '_'], "")
    );
    let (gate, passed, _) = registry_gate(&registry, "avro", &password).await;
    let server = TestServer::start("registry_import").await;
    let api = &server.api;
    let (src, _) = create_datasources(api, &services).await;
    let target = id(&api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": "avro-login", "kind": "kafka", "kafka": {
                "bootstrap_servers": services.kafka_bootstrap, "version": "3.x",
                "schema_registry": {"url": gate, "username": "avro", "password": password}}}),
            StatusCode::CREATED,
        )
        .await);
    let mut s = spec(
        "registryLogin01",
        &src,
        &target,
        &["full", "incremental"],
        &["shop.orders".into()],
        "avro-orders",
    );
    s["sync"]["format"] = json!("DebeziumAvro");
    let created = api
        .post_ok(
            "/api/v1/projects",
            json!({ "spec": s }),
            StatusCode::CREATED,
        )
        .await;
    let project = id(&created);
    let (status, export) = api
        .call(
            Method::GET,
            &format!("/api/v1/projects/{project}/export"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let export = export.as_str().unwrap().to_string();
    assert!(
        export.contains("schema_registry_password_env = \"OBSYNC_SCHEMA_REGISTRY_PASSWORD\""),
        "{export}"
    );
    let datasources = || async { api.get("/api/v1/datasources").await["total"].clone() };

    // The export comes back onto the same data sources, the project equal (it follows its
    // target's registry as before), the password the data source's.
    let (status, imported) = import_file(
        &server,
        export.replace("registryLogin01", "registryLogin02"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let mut want = created["spec"].clone();
    want["name"] = json!("registryLogin02");
    assert_eq!(imported["spec"], want);
    // (the source, the Kafka data source of create_datasources and avro-login)
    assert_eq!(datasources().await, 3, "no new data source");

    // Another registry user than the data source's: refused, naming the registry.
    let (status, body) = import_file(
        &server,
        export
            .replace("registryLogin01", "registryLogin03")
            .replace(
                "schema_registry_username = \"avro\"",
                "schema_registry_username = \"mallory\"",
            ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "target", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("schema registry"),
        "{body}"
    );

    // Brokers no data source has: a new data source needs the password in the file.
    let elsewhere = export
        .replace("registryLogin01", "registryLogin04")
        .replace(
            &format!("bootstrap_servers = {:?}", services.kafka_bootstrap),
            &format!(
                "bootstrap_servers = {:?}",
                services.kafka_bootstrap.replace("127.0.0.1", "localhost")
            ),
        );
    assert_ne!(
        elsewhere,
        export.replace("registryLogin01", "registryLogin04")
    );
    let (status, body) = import_file(&server, elsewhere.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["field"], "sync.format_options.schema_registry_password_env",
        "{body}"
    );
    assert_eq!(datasources().await, 3, "a refused import leaves nothing");
    let with_password = elsewhere.replace(
        "schema_registry_password_env = \"OBSYNC_SCHEMA_REGISTRY_PASSWORD\"",
        &format!("schema_registry_password = {password:?}"),
    );
    let (status, body) = import_file(&server, with_password).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let new_target = body["spec"]["target_id"].as_str().unwrap().to_string();
    assert_ne!(new_target, target);
    assert_eq!(
        body["spec"]["sync"]["format_options"],
        Value::Null,
        "{body}"
    );
    let shown = api.get(&format!("/api/v1/datasources/{new_target}")).await;
    assert_eq!(
        shown["kafka"]["schema_registry"],
        json!({"url": gate, "username": "avro", "password_set": true}),
        "{shown}"
    );
    // The sealed password is the file's: the registry accepts it.
    let before = *passed.lock().unwrap();
    let tested = test_saved(api, &new_target).await;
    assert_eq!(tested["ok"], true, "{tested}");
    assert_eq!(tested["code"], "connection.kafka_registry", "{tested}");
    assert!(
        *passed.lock().unwrap() > before,
        "the test did not reach the registry"
    );
    assert!(
        !api.all_bodies().contains(&password),
        "an answer holds the password"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_test_probes_the_schema_registry_and_names_each_failure() {
    let services = obsync_testkit::Services::load();
    let registry = services.schema_registry_url.clone().expect(
        "no schema registry: run scripts/services start schema-registry (or set OBSYNC_SCHEMA_REGISTRY_URL)",
    );
    let password = format!(
        "Probe{}pw",
        obsync_testkit::unique_name("s").replace(['-', '_'], "")
    );
    let (gate, passed, refused) = registry_gate(&registry, "avro", &password).await;
    let server = TestServer::start("registry_probe").await;
    let api = &server.api;
    let test = |registry: Value| {
        let body = json!({"name": "probe", "kind": "kafka", "kafka": {
            "bootstrap_servers": services.kafka_bootstrap, "version": "3.x",
            "schema_registry": registry}});
        async move {
            let (status, answer) = api
                .call(Method::POST, "/api/v1/datasources/test", Some(body))
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer
        }
    };
    // Reachable, the login accepted, the Confluent-compatible API answering.
    let ok = test(json!({"url": gate, "username": "avro", "password": password})).await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["code"], "connection.kafka_registry", "{ok}");
    assert_eq!(ok["params"]["registry"], gate.as_str(), "{ok}");
    assert_eq!(*passed.lock().unwrap(), 1);

    // Each failure its code, naming the URL.
    let unreachable = "http://127.0.0.1:1/apis/ccompat/v7";
    let elsewhere = format!("{}/nothing", gate.rsplit_once("/apis").unwrap().0);
    for (registry, code, url) in [
        (
            json!({"url": gate, "username": "avro", "password": "wrong"}),
            "SCHEMA_REGISTRY_LOGIN_REFUSED",
            gate.clone(),
        ),
        (
            json!({"url": gate}),
            "SCHEMA_REGISTRY_LOGIN_REFUSED",
            gate.clone(),
        ),
        (
            json!({"url": unreachable, "username": "avro", "password": password}),
            "SCHEMA_REGISTRY_UNREACHABLE",
            unreachable.to_string(),
        ),
        (
            json!({"url": elsewhere, "username": "avro", "password": password}),
            "SCHEMA_REGISTRY_NOT_COMPATIBLE",
            elsewhere.clone(),
        ),
    ] {
        let failed = test(registry.clone()).await;
        assert_eq!(failed["ok"], false, "{registry}: {failed}");
        assert_eq!(failed["error"]["code"], code, "{registry}: {failed}");
        assert_eq!(failed["error"]["params"]["url"], url.as_str(), "{failed}");
        assert!(
            failed["error"]["message"].as_str().unwrap().contains(&url),
            "{failed}"
        );
    }
    assert_eq!(*refused.lock().unwrap(), 2, "the two refused logins");
    assert!(
        !api.all_bodies().contains(&password),
        "an answer holds the password"
    );
    server.stop().await;
}
