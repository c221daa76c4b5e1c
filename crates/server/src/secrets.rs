//! Secrets at rest: AES-256-GCM with a key created on first start in the data directory
//! (file mode 0600). Sealed values are `base64(nonce || ciphertext)`.
//!
//! Architecture invariant: a data source's secrets are opened only by
//! [`SecretKey::open_datasource`], into [`obsync_config::Secret`] (the redacting type
//! every crate takes: `Debug` prints `***`, there is no `Display`), and only by the paths
//! that connect: a run (start, resume, recovery), the precheck, preview and the data
//! source probes. Reading paths (progress, export, validation of a definition) judge the
//! project with the secrets unopened. `opens` counts every opening (`/metrics`:
//! `obsync_server_secret_opens_total`), which the tests use to hold this.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use obsync_config::Secret;
use serde::{Deserialize, Serialize};

use crate::model::{Connection, DataSourceRecord};

/// Name of the key file inside the data directory.
pub const KEY_FILE: &str = "secret.key";

/// AES-GCM nonces are 96 bits.
const NONCE_BYTES: usize = 12;

/// Failure to load or use the secret key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The key file could not be read or created.
    #[error(
        "cannot read or create the secret key file {path}: check the data directory's permissions"
    )]
    KeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The key file exists but is not 32 bytes.
    #[error("the secret key file {path} is not 32 bytes long: restore it from a backup (the stored secrets cannot be read without it)")]
    BadKey { path: PathBuf },
    /// The key file is readable by others.
    #[error("the secret key file {path} is readable by other users (mode {mode:o}): run chmod 600 {path}")]
    OpenPermissions { path: PathBuf, mode: u32 },
    /// A sealed value does not decrypt with this key.
    #[error("a stored secret cannot be decrypted: the data directory's secret.key is not the key it was sealed with")]
    Unseal,
}

/// A secret as stored: encrypted, never readable without the [`SecretKey`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sealed(String);

impl Sealed {
    /// A sealed value as the store keeps it.
    pub(crate) fn from_stored(text: String) -> Sealed {
        Sealed(text)
    }

    /// The text the store keeps.
    pub(crate) fn as_stored(&self) -> &str {
        &self.0
    }
}

/// The data directory's secret key.
#[derive(Clone)]
pub struct SecretKey {
    cipher: Aes256Gcm,
    /// Secrets opened since the start, shared by every clone.
    opens: Arc<AtomicU64>,
}

/// The opened secrets of one data source.
#[derive(Debug, Clone)]
pub struct DataSourceSecrets {
    /// The database password, or the Kafka SASL password; empty when none is stored.
    pub password: Secret,
    /// The TLS client key (PEM) of the source or the Kafka cluster, when one is stored.
    pub client_key: Option<Secret>,
    /// The password of a Kafka cluster's schema registry, when one is stored.
    pub registry_password: Option<Secret>,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// Loads `dir/secret.key`, creating it (mode 0600) when absent.
    pub fn load_or_create(dir: &Path) -> Result<SecretKey, SecretError> {
        Self::load_or_create_at(dir.join(KEY_FILE))
    }

    /// The key in file `path` (created there, 0600, when missing): a cluster's servers
    /// are all given the same file (`--secret-key`), as each opens the others' secrets.
    pub fn load_or_create_at(path: PathBuf) -> Result<SecretKey, SecretError> {
        let key_file = |source| SecretError::KeyFile {
            path: path.clone(),
            source,
        };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => {
                let mode = std::fs::metadata(&path)
                    .map_err(key_file)?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(SecretError::OpenPermissions {
                        path,
                        mode: mode & 0o777,
                    });
                }
                bytes
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Aes256Gcm::generate_key(OsRng);
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(key_file)?;
                file.write_all(&key).map_err(key_file)?;
                file.sync_all().map_err(key_file)?;
                key.to_vec()
            }
            Err(e) => return Err(key_file(e)),
        };
        if bytes.len() != 32 {
            return Err(SecretError::BadKey { path });
        }
        Ok(SecretKey {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
            opens: Arc::default(),
        })
    }

    /// Encrypts `plain` with a fresh random nonce.
    pub fn seal(&self, plain: &str) -> Sealed {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        Sealed(B64.encode(out))
    }

    /// How many secrets were opened since the start.
    pub fn opens(&self) -> u64 {
        self.opens.load(Ordering::Relaxed)
    }

    /// The one door: every stored secret of data source `ds`, opened.
    pub fn open_datasource(&self, ds: &DataSourceRecord) -> Result<DataSourceSecrets, SecretError> {
        let (password, client_key, registry_password) = match &ds.connection {
            Connection::OceanBase(s) | Connection::MySql(s) | Connection::MariaDb(s) => (
                s.password.as_ref(),
                s.tls.as_ref().and_then(|t| t.client_key_pem.as_ref()),
                None,
            ),
            Connection::Kafka(k) => (
                k.sasl.as_ref().and_then(|s| s.password.as_ref()),
                k.tls.as_ref().and_then(|t| t.client_key_pem.as_ref()),
                k.schema_registry.as_ref().and_then(|r| r.password.as_ref()),
            ),
        };
        let open = |sealed: &Sealed| self.open(sealed).map(Secret::new);
        Ok(DataSourceSecrets {
            password: password
                .map(open)
                .transpose()?
                .unwrap_or_else(|| Secret::new("")),
            client_key: client_key.map(open).transpose()?,
            registry_password: registry_password.map(open).transpose()?,
        })
    }

    /// Decrypts a value sealed with this key.
    fn open(&self, sealed: &Sealed) -> Result<String, SecretError> {
        self.opens.fetch_add(1, Ordering::Relaxed);
        let bytes = B64.decode(&sealed.0).map_err(|_| SecretError::Unseal)?;
        if bytes.len() < NONCE_BYTES {
            return Err(SecretError::Unseal);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::Unseal)?;
        String::from_utf8(plain).map_err(|_| SecretError::Unseal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secret_opens_with_its_key_and_hides_the_plain_text() {
        let dir = std::env::temp_dir().join(format!("obsync-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = SecretKey::load_or_create(&dir).unwrap();
        let mode = std::fs::metadata(dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let sealed = key.seal("hunter2-pass");
        assert!(!sealed.0.contains("hunter2"));
        let again = SecretKey::load_or_create(&dir).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "hunter2-pass");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
