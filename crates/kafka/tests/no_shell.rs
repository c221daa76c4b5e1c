//! No shell anywhere: obsync's own code (every crate's `src`, test modules and the
//! test-only testkit left out) never starts a shell, never calls `system`/`popen`, starts
//! only reviewed programs by a literal name (argument vectors), and hands librdkafka no
//! `sasl.kerberos.kinit.cmd` but the fixed one. A new program to run is added to
//! `PROGRAMS` after review: its arguments must never pass through a shell.

use std::path::{Path, PathBuf};

/// Programs obsync runs, each with an argument vector.
const PROGRAMS: &[&str] = &["kinit", "mkfifo"];

/// Texts that start a shell or hand it a line.
const FORBIDDEN: &[&str] = &[
    "Command::new(\"sh\")",
    "Command::new(\"bash\")",
    "Command::new(\"/bin/sh\")",
    "Command::new(\"/bin/bash\")",
    "Command::new(\"/usr/bin/env\")",
    ".arg(\"-c\")",
    "libc::system",
    "libc::popen",
    "posix_spawn",
    "execvp",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of `path` without its `#[cfg(test)]` module and without comment lines.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Calls of a free function `name(` (not `is_name(` or `.name(`).
fn calls(code: &str, name: &str) -> bool {
    code.match_indices(&format!("{name}(")).any(|(i, _)| {
        code[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'))
    })
}

#[test]
fn obsync_never_runs_a_shell_and_starts_only_reviewed_programs() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap().flatten() {
        if entry.file_name() != "testkit" && entry.path().join("src").is_dir() {
            rust_files(&entry.path().join("src"), &mut files);
        }
    }
    assert!(
        files.len() > 50,
        "the scan found only {} files",
        files.len()
    );
    let mut found = Vec::new();
    for file in &files {
        let code = code(file);
        let name = file.display();
        for bad in FORBIDDEN {
            if code.contains(bad) {
                found.push(format!("{name}: {bad}"));
            }
        }
        for call in ["system", "popen"] {
            if calls(&code, call) {
                found.push(format!("{name}: {call}("));
            }
        }
        for (i, _) in code.match_indices("Command::new(") {
            let program = code[i + "Command::new(".len()..]
                .split(')')
                .next()
                .unwrap_or_default()
                .trim_matches('"');
            if !PROGRAMS.contains(&program) {
                found.push(format!("{name}: Command::new({program})"));
            }
        }
        if code.contains("\"sasl.kerberos.kinit.cmd\"")
            && !code.contains("set(\"sasl.kerberos.kinit.cmd\", FIXED_KINIT_CMD.into())")
            && !file.ends_with("config/src/producer.rs")
        {
            found.push(format!("{name}: sets sasl.kerberos.kinit.cmd"));
        }
    }
    assert!(found.is_empty(), "shell or unreviewed programs: {found:#?}");
}

#[test]
fn the_kinit_command_handed_to_librdkafka_holds_no_user_data_and_never_runs() {
    use obsync_kafka::{ClientRole, KafkaTarget, Sasl, SaslMechanism};
    let mut target = KafkaTarget::new("127.0.0.1:1");
    target.sasl = Some(Sasl {
        mechanism: SaslMechanism::Gssapi,
        username: "someone@REALM".into(),
        password: obsync_config::Secret::new(""),
        kerberos: Some(obsync_config::Kerberos {
            service_name: "kafka".into(),
            keytab: "/some/where.keytab".into(),
        }),
    });
    for role in [
        ClientRole::Admin,
        ClientRole::Producer,
        ClientRole::Consumer,
    ] {
        let properties = target.properties(role);
        let get = |name: &str| {
            properties
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("sasl.kerberos.min.time.before.relogin"), Some("0"));
        assert_eq!(
            get("sasl.kerberos.kinit.cmd"),
            Some(obsync_kafka::config::FIXED_KINIT_CMD)
        );
        assert!(!obsync_kafka::config::FIXED_KINIT_CMD.contains("%{"));
        for (name, value) in &properties {
            assert!(
                !value.contains("someone") && !value.contains("where.keytab"),
                "{name} = {value}"
            );
        }
    }
}
