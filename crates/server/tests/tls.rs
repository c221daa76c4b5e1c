//! The server's own TLS: HTTPS with a certificate made here, the `Secure` session
//! cookie, and the refusals (non-loopback without TLS, unreadable, invalid or
//! mismatched certificate and key files), each naming the file and the fix.

use std::path::{Path, PathBuf};
use std::time::Duration;

use obsync_model::ErrorChain;
use obsync_server::tls::TlsFiles;
use obsync_server::{Server, ServerError, ServerOptions};
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "Tls-test-pw-1!";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(obsync_testkit::unique_name(&format!("obsync_tls_{name}")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A self-signed certificate for 127.0.0.1 and localhost: (cert PEM, key PEM).
fn self_signed() -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

fn write_pair(dir: &Path, cert: &str, key: &str) -> TlsFiles {
    let files = TlsFiles {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    std::fs::write(&files.cert, cert).unwrap();
    std::fs::write(&files.key, key).unwrap();
    files
}

fn options(dir: &Path, listen: &str, tls: Option<TlsFiles>) -> ServerOptions {
    ServerOptions {
        data_dir: dir.join("data"),
        listen: listen.parse().unwrap(),
        tls,
        insecure_listen: false,
        admin_password: Some(PASSWORD.into()),
        http: Default::default(),
        secret_key: None,
        cluster: None,
        shared_stream: true,
    }
}

async fn bind_error(options: ServerOptions) -> String {
    let data_dir = options.data_dir.clone();
    let error: ServerError = match Server::bind(options).await {
        Ok(_) => panic!("the server started although it must refuse"),
        Err(e) => e,
    };
    assert!(
        !data_dir.exists(),
        "a refused start creates no data directory"
    );
    ErrorChain(&error).to_string()
}

#[tokio::test]
async fn https_login_sets_a_secure_session_cookie_that_works() {
    let dir = scratch("https");
    let (cert, key) = self_signed();
    let files = write_pair(&dir, &cert, &key);
    let server = Server::bind(options(&dir, "127.0.0.1:0", Some(files)))
        .await
        .expect("binds with TLS");
    let url = server.url().unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    // A client that trusts only the test certificate: the handshake proves the server
    // presents it.
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .tls_built_in_root_certs(false)
        .https_only(true)
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let login = client
        .post(format!("{url}/api/v1/session"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .expect("HTTPS request reaches the server");
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = login
        .headers()
        .get("set-cookie")
        .expect("login sets the session cookie")
        .to_str()
        .unwrap()
        .to_string();
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    for wanted in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {cookie}");
    }
    // The cookie is a working session over HTTPS.
    let me = client.get(format!("{url}/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(
        me.json::<serde_json::Value>().await.unwrap()["username"],
        "admin"
    );
    // Plain HTTP on the TLS port gets no answer from the API.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
        .get(format!(
            "{}/api/v1/health",
            url.replacen("https", "http", 1)
        ))
        .send()
        .await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plain HTTP must not be served on the TLS port"
    );

    let _ = stop.send(());
    task.await.unwrap().expect("stops cleanly");
}

#[tokio::test]
async fn a_non_loopback_address_needs_tls_or_insecure_listen() {
    let dir = scratch("nonloopback");
    let message = bind_error(options(&dir, "0.0.0.0:0", None)).await;
    assert!(
        message.contains("refusing to listen on 0.0.0.0:0 without TLS")
            && message.contains("--tls-cert and --tls-key")
            && message.contains("--insecure-listen"),
        "{message}"
    );

    // With TLS the same address is accepted (nothing but this process talks to it).
    let (cert, key) = self_signed();
    let files = write_pair(&dir, &cert, &key);
    let server = Server::bind(options(&dir, "0.0.0.0:0", Some(files)))
        .await
        .expect("a non-loopback address with TLS is allowed");
    assert!(server.url().unwrap().starts_with("https://0.0.0.0:"));
}

#[tokio::test]
async fn a_missing_certificate_or_key_file_is_named() {
    let dir = scratch("missing");
    let (cert, key) = self_signed();
    let files = write_pair(&dir, &cert, &key);

    let missing_cert = TlsFiles {
        cert: dir.join("nope.crt"),
        ..files.clone()
    };
    let message = bind_error(options(&dir, "127.0.0.1:0", Some(missing_cert))).await;
    assert!(
        message.contains(&format!(
            "cannot read the TLS certificate {}",
            dir.join("nope.crt").display()
        )) && message.contains("--tls-cert")
            && message.contains("No such file"),
        "{message}"
    );

    let missing_key = TlsFiles {
        key: dir.join("nope.key"),
        ..files
    };
    let message = bind_error(options(&dir, "127.0.0.1:0", Some(missing_key))).await;
    assert!(
        message.contains(&format!(
            "cannot read the TLS private key {}",
            dir.join("nope.key").display()
        )) && message.contains("--tls-key"),
        "{message}"
    );
}

#[tokio::test]
async fn files_that_are_not_pem_or_swapped_are_refused() {
    let dir = scratch("notpem");
    let (cert, key) = self_signed();

    let files = write_pair(&dir, "this is not a certificate\n", &key);
    let message = bind_error(options(&dir, "127.0.0.1:0", Some(files.clone()))).await;
    assert!(
        message.contains(&format!(
            "the TLS certificate file {} holds no valid PEM certificate",
            files.cert.display()
        )),
        "{message}"
    );

    // The key where the certificate belongs and the other way round.
    let files = write_pair(&dir, &key, &cert);
    let message = bind_error(options(&dir, "127.0.0.1:0", Some(files.clone()))).await;
    assert!(
        message.contains(&format!("{} holds no valid PEM", files.cert.display())),
        "{message}"
    );

    let files = write_pair(&dir, &cert, &cert);
    let message = bind_error(options(&dir, "127.0.0.1:0", Some(files.clone()))).await;
    assert!(
        message.contains(&format!(
            "the TLS private key file {} holds no valid PEM private key",
            files.key.display()
        )) && message.contains("--tls-key"),
        "{message}"
    );
}

#[tokio::test]
async fn a_key_of_another_certificate_is_refused() {
    let dir = scratch("mismatch");
    let (cert, _) = self_signed();
    let (_, other_key) = self_signed();
    let files = write_pair(&dir, &cert, &other_key);
    let message = bind_error(options(&dir, "127.0.0.1:0", Some(files.clone()))).await;
    assert!(
        message.contains(&format!(
            "the TLS private key {} does not fit the certificate {}",
            files.key.display(),
            files.cert.display()
        )),
        "{message}"
    );
}
