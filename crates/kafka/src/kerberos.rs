//! Kerberos tickets for GSSAPI clients, and the precheck's Kerberos item.
//!
//! librdkafka's own ticket handling runs `sasl.kerberos.kinit.cmd`, a shell line built from
//! the principal and keytab path, through `system()`: a principal or path from a form
//! field would run commands. obsync therefore turns librdkafka's kinit off
//! (`sasl.kerberos.min.time.before.relogin=0`, see `config.rs`) and runs `kinit` itself,
//! with an argument vector and no shell, into the process's credential cache (the private
//! one [`use_private_credential_cache`] names), renewing the ticket while a client lives.
//! librdkafka's GSSAPI only reads that cache.
//!
//! The precheck's item runs the same `kinit` into a throwaway cache and turns the KDC's
//! answer into an item with a fix.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use obsync_model::CheckItem;

use crate::config::Sasl;

const NAME: &str = "kafka.kerberos";

/// How often a held ticket is renewed. Ticket lifetimes are hours (MIT's default 24 h,
/// Active Directory's 10 h); a fresh ticket every hour keeps clients authenticated under
/// any lifetime above that, at one KDC request per hour.
const REFRESH_EVERY: Duration = Duration::from_secs(3600);

/// How long one `kinit` may take before it is killed: a KDC that does not answer in this
/// time is treated as unreachable.
const KINIT_TIMEOUT: Duration = Duration::from_secs(15);

/// The environment variable MIT Kerberos and librdkafka's GSSAPI take the cache from.
const CCACHE_ENV: &str = "KRB5CCNAME";

/// The folder of the private credential cache, created (0700) before the first `kinit`.
static PRIVATE_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Points this process's Kerberos credential cache at `dir/krb5cc` (a FILE cache; `dir`
/// is created 0700 before the first `kinit`, which writes the cache 0600) unless
/// `KRB5CCNAME` is already set. Returns the cache in use. Creates nothing yet: a command
/// that fails early leaves no folder behind.
///
/// Call it before any thread starts (it sets an environment variable): the binary does,
/// before it builds its runtime, with the server's data directory or the run's state
/// directory. Without it, tickets go to the system's default cache.
pub fn use_private_credential_cache(dir: &Path) -> String {
    if let Some(cache) = std::env::var_os(CCACHE_ENV) {
        return cache.to_string_lossy().into_owned();
    }
    let cache = format!("FILE:{}", dir.join("krb5cc").display());
    std::env::set_var(CCACHE_ENV, &cache);
    let _ = PRIVATE_DIR.set(dir.to_path_buf());
    cache
}

/// Creates the private cache's folder, 0700, if one was chosen.
fn private_dir() -> Result<(), KinitError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let Some(dir) = PRIVATE_DIR.get() else {
        return Ok(());
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| KinitError::CacheFolder {
            folder: dir.clone(),
            source: Arc::new(e),
        })
}

/// `kinit -k -t <keytab> <principal>`: an argument vector, never a shell line.
fn kinit(keytab: &Path, principal: &str) -> Command {
    let mut command = Command::new("kinit");
    command
        .arg("-k")
        .arg("-t")
        .arg(keytab)
        .arg(principal)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Why no ticket could be had for a GSSAPI client.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum KinitError {
    /// `kinit` is missing or not executable.
    #[error(
        "kinit could not be run for {principal}: install the MIT Kerberos client (Debian/Ubuntu: \
         apt install krb5-user libsasl2-modules-gssapi-mit; RHEL: dnf install \
         krb5-workstation cyrus-sasl-gssapi)"
    )]
    NotRunnable {
        principal: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The private ticket cache's folder cannot be made.
    #[error(
        "cannot create the Kerberos ticket cache folder {} (mode 0700): check that obsync's \
         user may write there", folder.display()
    )]
    CacheFolder {
        folder: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The KDC did not answer in time.
    #[error(
        "kinit for {principal} got no answer from the KDC within {timeout:?}: check that the \
         realm's KDC is reachable from this host (krb5.conf, or the file KRB5_CONFIG names)"
    )]
    TimedOut {
        principal: String,
        timeout: Duration,
    },
    /// The KDC (or kinit) refused.
    #[error("the KDC refused a ticket for {principal}: {said}: {fix}")]
    Refused {
        principal: String,
        said: String,
        fix: String,
    },
    /// Another principal's clients hold the process's one credential cache.
    #[error(
        "cannot log in as {wanted}: clients of {held} use this process's Kerberos credential \
         cache: one obsync process serves one Kerberos principal; stop the projects that use \
         {held}, or run the other projects in another obsync process"
    )]
    OtherPrincipal { held: String, wanted: String },
}

/// Runs `kinit` for `principal` with `keytab`, waiting at most [`KINIT_TIMEOUT`].
fn run_kinit(mut command: Command, principal: &str, keytab: &Path) -> Result<(), KinitError> {
    let mut child = command.spawn().map_err(|e| KinitError::NotRunnable {
        principal: principal.to_string(),
        source: Arc::new(e),
    })?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < KINIT_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(KinitError::TimedOut {
                    principal: principal.to_string(),
                    timeout: KINIT_TIMEOUT,
                });
            }
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut said = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        use std::io::Read;
        let _ = stderr.read_to_string(&mut said);
    }
    let said = said.trim().to_string();
    Err(KinitError::Refused {
        fix: kinit_fix(&said, principal, &keytab.display().to_string()),
        principal: principal.to_string(),
        said,
    })
}

/// A principal logged in for the clients that hold it: its ticket is renewed every
/// [`REFRESH_EVERY`] until the last holder drops it.
#[derive(Debug)]
pub struct KerberosLogin {
    principal: String,
    /// Dropping it stops the renewal thread.
    _stop: mpsc::Sender<()>,
}

/// The live logins, by principal and keytab. One process has one credential cache, so
/// only one principal may be live at a time (see [`KinitError::OtherPrincipal`]).
static LOGINS: LazyLock<Mutex<HashMap<LoginKey, Weak<KerberosLogin>>>> =
    LazyLock::new(Mutex::default);

/// A login's principal and keytab.
type LoginKey = (String, PathBuf);

/// Gets a ticket for a GSSAPI target before its client is built (`None` for other
/// targets). A principal already logged in shares the existing login and its renewal.
pub(crate) fn login(sasl: Option<&Sasl>) -> Result<Option<Arc<KerberosLogin>>, KinitError> {
    let Some((sasl, kerberos)) = sasl.and_then(|s| Some((s, s.kerberos.as_ref()?))) else {
        return Ok(None);
    };
    let key = (sasl.username.clone(), kerberos.keytab.clone());
    let mut logins = LOGINS.lock().unwrap_or_else(|e| e.into_inner());
    logins.retain(|_, login| login.strong_count() > 0);
    if let Some(login) = logins.get(&key).and_then(Weak::upgrade) {
        return Ok(Some(login));
    }
    if let Some(held) = logins.values().find_map(Weak::upgrade) {
        return Err(KinitError::OtherPrincipal {
            held: held.principal.clone(),
            wanted: sasl.username.clone(),
        });
    }
    private_dir()?;
    run_kinit(kinit(&key.1, &key.0), &key.0, &key.1)?;
    let (stop, stopped) = mpsc::channel::<()>();
    let login = Arc::new(KerberosLogin {
        principal: key.0.clone(),
        _stop: stop,
    });
    let (principal, keytab) = key.clone();
    std::thread::Builder::new()
        .name("obsync-kinit".into())
        .spawn(move || renew(&principal, &keytab, &stopped))
        .map_err(|e| KinitError::NotRunnable {
            principal: key.0.clone(),
            source: Arc::new(e),
        })?;
    logins.insert(key, Arc::downgrade(&login));
    Ok(Some(login))
}

/// Renews the ticket until the login is dropped (the sender side of `stopped`).
fn renew(principal: &str, keytab: &Path, stopped: &mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(REFRESH_EVERY) {
        match run_kinit(kinit(keytab, principal), principal, keytab) {
            Ok(()) => tracing::debug!(principal, "Kerberos ticket renewed"),
            Err(e) => tracing::warn!(
                principal,
                error = %obsync_model::ErrorChain(&e),
                "cannot renew the Kerberos ticket; the clients keep the old one until it expires"
            ),
        }
    }
}

/// `kafka.kerberos` for a GSSAPI target, `None` for any other.
pub(crate) async fn kerberos_item(sasl: Option<&Sasl>, timeout: Duration) -> Option<CheckItem> {
    let sasl = sasl?;
    let kerberos = sasl.kerberos.as_ref()?;
    let principal = &sasl.username;
    let mut command = tokio::process::Command::from(kinit(&kerberos.keytab, principal));
    let run = command
        // A memory cache dies with kinit: the check leaves no ticket behind and never
        // touches the cache the clients use.
        .env(CCACHE_ENV, "MEMORY:obsync-precheck")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .output();
    use crate::precheck::findings::KafkaFinding as F;
    let principal = principal.to_string();
    let keytab = kerberos.keytab.display().to_string();
    let item = match tokio::time::timeout(timeout, run).await {
        Err(_) => CheckItem::failed(
            NAME,
            &F::KinitTimeout {
                principal,
                timeout: format!("{timeout:?}"),
            },
        ),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            CheckItem::failed(NAME, &F::KinitMissing {})
        }
        Ok(Err(e)) => CheckItem::failed(
            NAME,
            &F::KinitNotRunnable {
                error: e.to_string(),
            },
        ),
        Ok(Ok(out)) if out.status.success() => {
            CheckItem::passed(NAME, &F::KerberosTicket { principal, keytab })
        }
        Ok(Ok(out)) => {
            let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
            let advice = kinit_fix(&said, &principal, &keytab);
            CheckItem::failed(
                NAME,
                &F::KdcRefused {
                    principal,
                    said,
                    advice,
                },
            )
        }
    };
    Some(item)
}

/// The fix for a failed `kinit`, from MIT krb5's message.
fn kinit_fix(said: &str, principal: &str, keytab: &str) -> String {
    let s = said.to_ascii_lowercase();
    if s.contains("password incorrect") || s.contains("preauthentication failed") {
        format!(
            "the key in {keytab} is not the KDC's current key for {principal} (the key was \
             changed or the keytab comes from another KDC): export a fresh keytab \
             (kadmin: ktadd -k <file> {principal}) and set target.sasl.kerberos_keytab to it"
        )
    } else if s.contains("no suitable keys") || s.contains("not found in kerberos database") {
        format!(
            "{principal} is not in {keytab} or not known to the KDC: set \
             target.sasl.kerberos_principal to the principal the keytab holds (klist -k {keytab})"
        )
    } else if s.contains("key table file") || s.contains("permission denied") {
        format!(
            "{keytab} cannot be read as a keytab: check target.sasl.kerberos_keytab and that \
             the file is readable by the user obsync runs as"
        )
    } else if s.contains("cannot contact any kdc") || s.contains("cannot find kdc") {
        "no KDC of the principal's realm answered: check the realm's kdc in krb5.conf (or \
         the file KRB5_CONFIG names) and that this host reaches it"
            .to_string()
    } else {
        "check target.sasl.kerberos_principal and kerberos_keytab, and krb5.conf".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::kinit_fix;

    #[test]
    fn each_kinit_failure_points_at_its_field() {
        let fix = |said| kinit_fix(said, "obsync@R", "/k");
        assert!(
            fix("kinit: Password incorrect while getting initial credentials")
                .contains("kerberos_keytab")
        );
        assert!(fix(
            "kinit: Keytab contains no suitable keys for x@R while getting initial credentials"
        )
        .contains("kerberos_principal"));
        assert!(fix(
            "kinit: Client 'x@R' not found in Kerberos database while getting initial credentials"
        )
        .contains("kerberos_principal"));
        assert!(fix(
            "kinit: Cannot contact any KDC for realm 'R' while getting initial credentials"
        )
        .contains("krb5.conf"));
        assert!(
            fix("kinit: Key table file '/k' not found while getting initial credentials")
                .contains("kerberos_keytab")
        );
    }
}
