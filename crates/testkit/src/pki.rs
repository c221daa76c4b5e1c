//! Test certificates (feature `pki`): a CA, a server certificate signed by it, a client
//! certificate signed by it and an unrelated second CA, as PEM files in a directory of
//! their own, for TLS tests against private servers.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, Issuer, KeyPair};

use crate::mariadb::MariaDbTls;
use crate::unique_name;

/// The certificates of one test. Dropping it removes the files.
pub struct TestPki {
    dir: PathBuf,
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// The server's certificate, for the names given to [`TestPki::create`].
    pub server_cert: PathBuf,
    /// The server certificate's key.
    pub server_key: PathBuf,
    /// A client certificate (CN `obsync`), for users created `REQUIRE X509`.
    pub client_cert: PathBuf,
    /// The client certificate's key.
    pub client_key: PathBuf,
    /// A CA that signed nothing here: the wrong CA.
    pub other_ca: PathBuf,
}

impl TestPki {
    /// Makes the certificates; `server_names` are the server certificate's
    /// subjectAltNames (host names or IP addresses).
    ///
    /// # Panics
    /// When a certificate cannot be made or written.
    pub fn create(server_names: &[&str]) -> TestPki {
        let dir = std::env::temp_dir().join(unique_name("pki"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let write = |name: &str, pem: String| {
            let path = dir.join(name);
            std::fs::write(&path, pem)
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
            path
        };
        let ca = certificate_authority("obsync test CA");
        let other = certificate_authority("another CA");
        let (server_cert, server_key) = leaf(server_names, "server", &ca);
        let (client_cert, client_key) = leaf(&[], "obsync", &ca);
        TestPki {
            ca: write("ca.pem", ca.pem()),
            server_cert: write("server.pem", server_cert),
            server_key: write("server.key", server_key),
            client_cert: write("client.pem", client_cert),
            client_key: write("client.key", client_key),
            other_ca: write("other-ca.pem", other.pem()),
            dir,
        }
    }

    /// The server files as a private MariaDB takes them.
    pub fn mariadb_tls(&self) -> MariaDbTls {
        MariaDbTls {
            ca: self.ca.clone(),
            cert: self.server_cert.clone(),
            key: self.server_key.clone(),
        }
    }

    /// The text of one of the files.
    pub fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn certificate_authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA")
}

/// A certificate signed by `ca`: (certificate PEM, key PEM).
fn leaf(names: &[&str], common_name: &str, ca: &Issuer<'_, KeyPair>) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("certificate parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, ca).expect("certificate");
    (cert.pem(), key.serialize_pem())
}
