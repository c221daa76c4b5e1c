//! The precheck's Kerberos item: can this machine get a ticket for the configured principal
//! with the configured keytab? librdkafka runs `kinit` itself and only logs its failure; the
//! connection then fails with "No Kerberos credentials available", which names no cause.
//! Running the same `kinit` here, into a throwaway cache, turns the KDC's answer into an
//! item with a fix.

use std::process::Stdio;
use std::time::Duration;

use obsync_model::CheckItem;

use crate::config::Sasl;

const NAME: &str = "kafka.kerberos";

/// `kafka.kerberos` for a GSSAPI target, `None` for any other.
pub(crate) async fn kerberos_item(sasl: Option<&Sasl>, timeout: Duration) -> Option<CheckItem> {
    let sasl = sasl?;
    let kerberos = sasl.kerberos.as_ref()?;
    let principal = &sasl.username;
    let run = tokio::process::Command::new("kinit")
        .arg("-k")
        .arg("-t")
        .arg(&kerberos.keytab)
        .arg(principal)
        // A memory cache dies with kinit: the check leaves no ticket behind and never
        // touches the cache librdkafka uses.
        .env("KRB5CCNAME", "MEMORY:obsync-precheck")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let item = match tokio::time::timeout(timeout, run).await {
        Err(_) => CheckItem::fail(
            NAME,
            format!("kinit for {principal} got no answer from the KDC within {timeout:?}"),
            "check that the realm's KDC is reachable from this host (the [realms] kdc of \
             krb5.conf, or the file KRB5_CONFIG names)",
        ),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => CheckItem::fail(
            NAME,
            "kinit is not installed: librdkafka needs it to get Kerberos tickets",
            "install the MIT Kerberos client (Debian/Ubuntu: apt install krb5-user \
             libsasl2-modules-gssapi-mit; RHEL: dnf install krb5-workstation cyrus-sasl-gssapi)",
        ),
        Ok(Err(e)) => CheckItem::fail(
            NAME,
            format!("kinit could not be run: {e}"),
            "check that kinit is executable by the user obsync runs as",
        ),
        Ok(Ok(out)) if out.status.success() => CheckItem::pass(
            NAME,
            format!(
                "the KDC issued a ticket for {principal} from the keytab {}",
                kerberos.keytab.display()
            ),
        ),
        Ok(Ok(out)) => {
            let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
            let fix = kinit_fix(&said, principal, &kerberos.keytab.display().to_string());
            CheckItem::fail(
                NAME,
                format!("the KDC refused a ticket for {principal}: {said}"),
                fix,
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
