//! A private Kerberos KDC (MIT krb5 from Debian's `krb5-kdc`) for the GSSAPI tests.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{free_port, run_checked, ServerProcess};
use crate::{unique_name, Services};

/// The realm every private KDC serves.
pub const REALM: &str = "OBSYNC.TEST";
/// krb5kdc answers within milliseconds; the margin covers a machine busy compiling.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A KDC of its own: database, stash, `krb5.conf` and keytabs under `.obsync-dev/private/`,
/// one free loopback port for TCP and UDP. Clients find it through [`Kdc::krb5_conf`]
/// (`KRB5_CONFIG` for MIT tools and librdkafka, `-Djava.security.krb5.conf` for Java).
/// Dropping it kills the KDC and removes its directory.
pub struct Kdc {
    dir: PathBuf,
    port: u16,
    process: ServerProcess,
}

impl Kdc {
    /// Creates the realm's database and starts the KDC.
    ///
    /// # Panics
    /// When the krb5 tools are missing (with the packages to install) or the KDC does not
    /// start (with its log tail).
    pub fn spawn() -> Kdc {
        for tool in [
            "/usr/sbin/krb5kdc",
            "/usr/sbin/kdb5_util",
            "/usr/sbin/kadmin.local",
        ] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: install krb5-kdc, krb5-admin-server and krb5-user \
                 (scripts/install-prereqs does)"
            );
        }
        let services = Services::load();
        let dir = services.dev_dir.join("private").join(unique_name("kdc"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let port = free_port();
        write(
            &dir.join("krb5.conf"),
            &format!(
                // No DNS, no reverse lookups: principals name hosts exactly as clients
                // address them (127.0.0.1). TCP only: one port to pick.
                "[libdefaults]\n  default_realm = {REALM}\n  dns_lookup_realm = false\n  \
                 dns_lookup_kdc = false\n  dns_canonicalize_hostname = false\n  rdns = false\n  \
                 udp_preference_limit = 1\n  ticket_lifetime = 1h\n\
                 [realms]\n  {REALM} = {{\n    kdc = 127.0.0.1:{port}\n  }}\n"
            ),
        );
        write(
            &dir.join("kdc.conf"),
            &format!(
                "[kdcdefaults]\n  kdc_ports = {port}\n  kdc_tcp_ports = {port}\n\
                 [realms]\n  {REALM} = {{\n    database_name = {db}\n    key_stash_file = {stash}\n    \
                 acl_file = {acl}\n    supported_enctypes = aes256-cts-hmac-sha1-96:normal \
                 aes128-cts-hmac-sha1-96:normal\n  }}\n[logging]\n  kdc = FILE:{log}\n",
                db = dir.join("principal").display(),
                stash = dir.join("stash").display(),
                acl = dir.join("kadm5.acl").display(),
                log = dir.join("kdc.log").display(),
            ),
        );
        let kdc = Kdc {
            process: ServerProcess::new(
                format!("private Kerberos KDC on port {port}"),
                PathBuf::from("/usr/sbin/krb5kdc"),
                vec![
                    "-n".into(),
                    "-P".into(),
                    dir.join("krb5kdc.pid").into_os_string(),
                ],
                dir.join("krb5kdc.out"),
                dir.join("kdc.pidfile"),
            )
            .with_env(kdc_env(&dir))
            .with_extra_log(dir.join("kdc.log")),
            dir,
            port,
        };
        let mut create = kdc.command("/usr/sbin/kdb5_util");
        create.args(["create", "-s", "-r", REALM, "-P", "obsync-test-master-key"]);
        run_checked(&mut create, "creating the private KDC's database");
        let mut kdc = kdc;
        kdc.process.start();
        let port = kdc.port;
        kdc.process.wait_until(READY_TIMEOUT, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        kdc
    }

    /// Adds `principal` (e.g. `kafka/127.0.0.1`, realm appended) with a random key and
    /// returns a keytab holding it.
    pub fn add_principal(&self, principal: &str) -> PathBuf {
        let full = self.principal(principal);
        let keytab = self
            .dir
            .join(format!("{}.keytab", principal.replace(['/', '.'], "_")));
        for query in [
            format!("addprinc -randkey {full}"),
            format!("ktadd -k {} {full}", keytab.display()),
        ] {
            let mut kadmin = self.command("/usr/sbin/kadmin.local");
            kadmin.args(["-q", &query]);
            run_checked(&mut kadmin, &format!("kadmin.local -q {query:?}"));
        }
        keytab
    }

    /// `principal` with the realm: `obsync` → `obsync@OBSYNC.TEST`.
    pub fn principal(&self, principal: &str) -> String {
        format!("{principal}@{REALM}")
    }

    /// The `krb5.conf` naming this KDC.
    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.join("krb5.conf")
    }

    /// The folder the KDC keeps its files in (credential caches may go here too).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.envs(kdc_env(&self.dir));
        command
    }
}

impl Drop for Kdc {
    fn drop(&mut self) {
        self.process.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn kdc_env(dir: &Path) -> Vec<(OsString, OsString)> {
    vec![
        ("KRB5_CONFIG".into(), dir.join("krb5.conf").into()),
        ("KRB5_KDC_PROFILE".into(), dir.join("kdc.conf").into()),
    ]
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
