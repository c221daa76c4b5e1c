//! Passwords: read from the file or from an environment variable, never printed.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use toml::Spanned;

use crate::error::Problems;

/// A password. `Debug` prints `***`, and there is no `Display`, so it cannot leak into logs
/// by accident; [`Secret::expose`] hands it to the client that needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The password itself, for the database or Kafka client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Checks one pass-through Kafka client property (name, value) the way the client library
/// will, returning what is wrong. Supplied by the Kafka crate, which knows the library.
pub type ClientPropertyCheck = Arc<dyn Fn(&str, &str) -> Result<(), String> + Send + Sync>;

/// What loading a project file may look at besides the text: environment variables (for
/// `password_env`), the current time (for `sync.start_time`), and optionally the Kafka
/// client's own property check (for `[target.producer]`).
#[derive(Clone)]
pub struct Environment {
    now_unix: i64,
    vars: Option<BTreeMap<String, String>>,
    client_property_check: Option<ClientPropertyCheck>,
    pub(crate) unset_passwords_warn: bool,
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("now_unix", &self.now_unix)
            .field(
                "vars",
                &self.vars.as_ref().map(|v| v.keys().collect::<Vec<_>>()),
            )
            .field(
                "client_property_check",
                &self.client_property_check.is_some(),
            )
            .field("unset_passwords_warn", &self.unset_passwords_warn)
            .finish()
    }
}

impl Environment {
    /// The real process environment and clock.
    pub fn process() -> Environment {
        Environment {
            now_unix: chrono::Utc::now().timestamp(),
            vars: None,
            client_property_check: None,
            unset_passwords_warn: false,
        }
    }

    /// A fixed clock and set of variables (tests, or a service that keeps secrets itself).
    pub fn fixed<K: Into<String>, V: Into<String>>(
        now_unix: i64,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Environment {
        Environment {
            now_unix,
            vars: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
            client_property_check: None,
            unset_passwords_warn: false,
        }
    }

    /// Also checks every pass-through `[target.producer]` property with `check`.
    pub fn with_client_property_check(mut self, check: ClientPropertyCheck) -> Environment {
        self.client_property_check = Some(check);
        self
    }

    /// Reports a `password_env` variable that is not set as a warning instead of an error,
    /// for checking a file where it will not run (`obsync validate`). The password of such
    /// a config is empty: never connect with it.
    pub fn unset_passwords_warn(mut self) -> Environment {
        self.unset_passwords_warn = true;
        self
    }

    pub(crate) fn check_client_property(&self, name: &str, value: &str) -> Result<(), String> {
        match &self.client_property_check {
            Some(check) => check(name, value),
            None => Ok(()),
        }
    }

    /// The current time as Unix seconds.
    pub fn now_unix(&self) -> i64 {
        self.now_unix
    }

    /// The value of variable `name`, if set.
    pub fn var(&self, name: &str) -> Option<String> {
        match &self.vars {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }
}

/// Resolves `password` / `password_env` of the table at `field` (exactly one must be set).
/// `anchor` locates the table when neither is set.
pub(crate) fn resolve_password(
    password: Option<&Spanned<String>>,
    password_env: Option<&Spanned<String>>,
    field: &str,
    anchor: Range<usize>,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> Option<Secret> {
    match (password, password_env) {
        (Some(password), None) => Some(Secret::new(password.get_ref())),
        (None, Some(var)) if var.get_ref().trim().is_empty() => {
            problems.report(
                var.span(),
                format!("{field}.password_env"),
                "password_env is empty",
                "name the environment variable that holds the password",
            );
            None
        }
        (None, Some(var)) => match env.var(var.get_ref()) {
            Some(value) => Some(Secret::new(value)),
            None => {
                let report = if env.unset_passwords_warn {
                    Problems::warn
                } else {
                    Problems::report
                };
                report(
                    problems,
                    var.span(),
                    format!("{field}.password_env"),
                    format!("environment variable {} is not set", var.get_ref()),
                    format!("export {} before running obsync", var.get_ref()),
                );
                env.unset_passwords_warn.then(|| Secret::new(""))
            }
        },
        (Some(_), Some(var)) => {
            problems.report(
                var.span(),
                format!("{field}.password_env"),
                "password and password_env are both set",
                "keep one of them; password_env keeps the password out of the file",
            );
            None
        }
        (None, None) => {
            problems.report(
                anchor,
                field,
                "no password is set",
                "set password_env = \"VARIABLE\" (recommended) or password = \"...\" (\"\" for none)",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_hides_the_password() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "***");
        assert_eq!(Secret::new("hunter2").expose(), "hunter2");
    }
}
