//! The private Kerberos ticket cache: `KRB5CCNAME` points into the folder the binary names,
//! and the folder is made 0700 only when a GSSAPI client first needs a ticket.

use std::os::unix::fs::PermissionsExt;

use obsync_kafka::{KafkaAdmin, KafkaTarget, Sasl, SaslMechanism};

#[test]
fn tickets_go_to_a_private_folder_made_when_first_needed() {
    // The only test of this process: it owns the environment.
    std::env::remove_var("KRB5CCNAME");
    let dir = std::env::temp_dir().join(obsync_testkit::unique_name("obsync_krb5"));
    let cache = obsync_kafka::use_private_credential_cache(&dir);
    assert_eq!(cache, format!("FILE:{}/krb5cc", dir.display()));
    assert_eq!(std::env::var("KRB5CCNAME").unwrap(), cache);
    assert!(
        !dir.exists(),
        "nothing is created before a ticket is needed"
    );

    let mut target = KafkaTarget::new("127.0.0.1:1");
    target.sasl = Some(Sasl {
        mechanism: SaslMechanism::Gssapi,
        username: "nobody@NO.SUCH.REALM".into(),
        password: obsync_config::Secret::new(""),
        kerberos: Some(obsync_config::Kerberos {
            service_name: "kafka".into(),
            keytab: dir.join("missing.keytab"),
        }),
    });
    let error = KafkaAdmin::new(&target).expect_err("no ticket without a keytab");
    assert!(
        error.to_string().contains("nobody@NO.SUCH.REALM"),
        "{error}"
    );
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let _ = std::fs::remove_dir_all(&dir);
}
