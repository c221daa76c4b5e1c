//! The control Kafka of a server cluster (`obsync server --control-kafka-config FILE`): a
//! small file holding only a `[target]` table written as in a project file (bootstrap
//! servers, version, `[target.sasl]`, `[target.tls]`), checked by the same rules into the
//! same [`TargetConfig`], so the control clients and the data path share one vocabulary
//! and one set of checks (passwords from `password` in the file or `password_env`).

use std::path::Path;

use crate::error::{ConfigError, ConfigErrors, Problems};
use crate::raw::RawFile;
use crate::secret::Environment;
use crate::target::{check_target, TargetConfig};

/// Reads and checks a control Kafka file.
pub fn control_kafka_from_file(
    path: impl AsRef<Path>,
    env: &Environment,
) -> Result<TargetConfig, ConfigErrors> {
    let path = path.as_ref();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_control_kafka(&text, path, env),
        Err(error) => Err(ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            location: None,
            field: String::new(),
            message: format!("cannot read the control Kafka's file: {error}"),
            fix: Some("check the path given to --control-kafka-config and that the file is readable UTF-8 text".into()),
            code: None,
        }])),
    }
}

/// Checks the text of a control Kafka file (`path` names it in the problems).
pub fn parse_control_kafka(
    text: &str,
    path: impl AsRef<Path>,
    env: &Environment,
) -> Result<TargetConfig, ConfigErrors> {
    let path = path.as_ref();
    let mut problems = Problems::new(path, text);
    let target = RawFile::load(&mut problems).and_then(|raw| {
        let others = [
            ("project", raw.project.is_some()),
            ("source", raw.source.is_some()),
            ("sync", raw.sync.is_some()),
            ("objects", raw.objects.is_some()),
        ];
        for (section, present) in others {
            if present {
                problems.report(
                    0..0,
                    section,
                    format!("the control Kafka's file holds only [target], not [{section}]"),
                    "remove the section: the file names the control Kafka's brokers and security",
                );
            }
        }
        let Some(target) = raw.target else {
            problems.report(
                0..0,
                "target",
                "the control Kafka's file has no [target] table",
                "write [target] with bootstrap_servers and version, and [target.sasl] / [target.tls] as the brokers need",
            );
            return None;
        };
        // The control clients are not the data producer: its settings would be ignored.
        if let Some(compression) = &target.compression {
            problems.report(
                compression.span(),
                "target.compression",
                "the control Kafka takes no compression",
                "remove it",
            );
        }
        if let Some((name, _)) = target.producer.iter().next() {
            problems.report(
                name.span(),
                "target.producer",
                "the control Kafka takes no producer settings",
                "remove [target.producer]",
            );
        }
        check_target(&target, path.parent().unwrap_or(Path::new(".")), env, &mut problems)
    });
    match (problems.into_errors(), target) {
        (None, Some(target)) => Ok(target),
        (Some(errors), _) => Err(errors),
        (None, None) => Err(ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            location: None,
            field: "target".into(),
            message: "the control Kafka's file is not a TOML table".into(),
            fix: Some("write a [target] table".into()),
            code: None,
        }])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SaslMechanism;

    fn env() -> Environment {
        Environment::fixed(1_790_000_000, [("CONTROL_PASSWORD", "s3cret")])
    }

    #[test]
    fn a_target_table_with_sasl_and_tls_is_read_into_the_data_path_types() {
        let dir = std::env::temp_dir().join(format!("obsync-control-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
        let text = r#"
[target]
bootstrap_servers = "k1:9093,k2:9093"
version = "3.x"
[target.sasl]
mechanism = "SCRAM-SHA-512"
username = "obsync"
password_env = "CONTROL_PASSWORD"
[target.tls]
ca_file = "ca.pem"
"#;
        let t = parse_control_kafka(text, dir.join("control.toml"), &env()).unwrap();
        assert_eq!(t.bootstrap_servers_string(), "k1:9093,k2:9093");
        let sasl = t.sasl.unwrap();
        assert_eq!(sasl.mechanism, SaslMechanism::ScramSha512);
        assert_eq!(sasl.password.expose(), "s3cret");
        let tls = t.tls.unwrap();
        assert!(
            tls.verify_hostname,
            "hostname verification is on by default"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn other_sections_producer_settings_and_an_unset_password_are_refused() {
        let text = r#"
[project]
name = "x"
[target]
bootstrap_servers = "k1:9093"
version = "3.x"
[target.producer]
linger_ms = 5
[target.sasl]
mechanism = "PLAIN"
username = "obsync"
password_env = "NOT_SET_ANYWHERE"
"#;
        let errors = parse_control_kafka(text, "control.toml", &env())
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("holds only [target], not [project]"),
            "{errors}"
        );
        assert!(errors.contains("no producer settings"), "{errors}");
        assert!(errors.contains("NOT_SET_ANYWHERE is not set"), "{errors}");
    }
}
