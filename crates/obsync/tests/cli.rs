//! The `obsync` binary as a user runs it: exit codes, messages and help.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn obsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obsync"))
        .args(args)
        .env("OBSYNC_SOURCE_PASSWORD", "s3cret")
        .env_remove("RUST_LOG")
        .output()
        .expect("the obsync binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Writes `text` to a file of its own in the test scratch directory.
fn scratch_file(name: &str, text: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_example_file_validates() {
    let mut seen = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let output = obsync(&["validate", "-c", path.to_str().unwrap()]);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{}: {}",
                path.display(),
                stderr(&output)
            );
            seen += 1;
        }
    }
    assert!(
        seen >= 2,
        "examples/ should hold project.toml and minimal.toml"
    );
}

#[test]
fn validate_prints_a_summary_of_a_valid_project() {
    let path = examples_dir().join("project.toml");
    let output = obsync(&["validate", "-c", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = stdout(&output);
    for expected in [
        "project 订单同步01 is valid",
        "source:    oceanbase root@t1 at 127.0.0.1:2881",
        "target:    Kafka 3.x+ at 127.0.0.1:9092 (compression lz4)",
        "sync:      schema, full, incremental",
        "format:    DefaultExtendColumnType",
        "partition: hash",
        "1. shop.orders, shop.order_items -> topic shop-orders",
        "2. crm.* except crm.tmp_* -> batch rule Topic_${Database Name}_${Table Name}",
    ] {
        assert!(
            summary.contains(expected),
            "missing {expected:?} in:\n{summary}"
        );
    }
    assert!(!summary.contains("s3cret"));
}

#[test]
fn validate_reports_every_problem_with_place_and_exits_2() {
    let text = std::fs::read_to_string(examples_dir().join("minimal.toml"))
        .unwrap()
        .replace("port = 3306", "port = 0")
        .replace("topic = \"shop-orders\"", "fromat = \"Canal\"");
    let path = scratch_file("two_problems.toml", &text);
    let output = obsync(&["validate", "-c", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    let file = path.display();
    let lines: Vec<String> = stderr(&output).lines().map(str::to_string).collect();
    assert_eq!(
        lines,
        [
            format!("{file}:10:8: source.port: port 0 is out of range (use 1-65535)"),
            format!(
                "{file}:23:1: objects[0].fromat: unknown field `fromat`, expected one of \
                 `tables`, `exclude`, `topic`, `topic_rule`, `shard_columns` (check the \
                 spelling; every field is listed in docs/configuration.md)"
            ),
            format!("{file}: 2 problems found"),
        ]
    );
}

#[test]
fn an_unset_password_variable_is_a_warning_in_validate_and_an_error_in_run() {
    let path = examples_dir().join("minimal.toml");
    let path = path.to_str().unwrap();
    let unset = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_obsync"))
            .args(args)
            .env_remove("OBSYNC_SOURCE_PASSWORD")
            .output()
            .unwrap()
    };
    let message =
        ":12:16: source.password_env: environment variable OBSYNC_SOURCE_PASSWORD is not set";
    let validate = unset(&["validate", "-c", path]);
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    assert!(
        stderr(&validate).starts_with("warning: ") && stderr(&validate).contains(message),
        "{}",
        stderr(&validate)
    );
    for command in ["run", "precheck"] {
        let output = unset(&[command, "-c", path]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains(message), "{}", stderr(&output));
    }
}

/// Edits of `examples/minimal.toml` that a user might make, each one `(from, to)`.
/// The first group is valid, the rest is not; together with the files in `examples/` they
/// are the cases `validate` and `run` must agree on.
const VALID_EDITS: &[(&str, &str)] = &[
    ("version = \"3.x\"", "version = \"3.x\"\n[target.producer]\n\"message.max.bytes\" = 8388608\nacks = \"all\"\n\"batch.num.messages\" = 5000"),
    ("[[objects]]", "format = \"DEFAULT_WITH_SCHEMA\"\n[[objects]]"),
    ("[[objects]]", "format = \"dataworks2.0\"\n[[objects]]"),
];

const INVALID_EDITS: &[(&str, &str)] = &[
    (
        "version = \"3.x\"",
        "version = \"3.x\"\n[target.producer]\n\"message.max.bytes\" = \"8MB\"",
    ),
    (
        "version = \"3.x\"",
        "version = \"3.x\"\n[target.producer]\nacks = \"1\"",
    ),
    (
        "version = \"3.x\"",
        "version = \"3.x\"\n[target.producer]\n\"enable.idempotence\" = false",
    ),
    (
        "version = \"3.x\"",
        "version = \"3.x\"\n[target.producer]\n\"linger.msec\" = 5",
    ),
    (
        "version = \"3.x\"",
        "version = \"3.x\"\n[target.producer]\n\"batch.num.messages\" = \"many\"",
    ),
    (
        "version = \"3.x\"",
        "version = \"3.x\"\n[target.producer]\n\"linger.ms\" = 900001",
    ),
    (
        "version = \"3.x\"",
        "version = \"1.0\"\ncompression = \"zstd\"",
    ),
    (
        "version = \"3.x\"",
        "version = \"3.x\"\n[target.tls]\ncert_file = \"SELF\"",
    ),
    ("version = \"3.x\"", "version = \"0.9\""),
    ("\"127.0.0.1:1\"", "\" \""),
    ("port = 1", "port = 0"),
    ("[[objects]]", "format = \"avro\"\n[[objects]]"),
];

/// The file `text` with the source and Kafka on port 1 of loopback, which refuses at once.
fn unreachable(text: &str) -> String {
    text.replace("127.0.0.1:9092", "127.0.0.1:1")
        .replace("port = 3306", "port = 1")
        .replace("port = 2881", "port = 1")
}

#[test]
fn validate_and_run_agree_on_every_example_and_every_bad_case() {
    let minimal =
        unreachable(&std::fs::read_to_string(examples_dir().join("minimal.toml")).unwrap());
    let mut cases: Vec<(String, String, bool)> = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = unreachable(&std::fs::read_to_string(&path).unwrap());
            cases.push((path.display().to_string(), text, true));
        }
    }
    for (edits, valid) in [(VALID_EDITS, true), (INVALID_EDITS, false)] {
        for (from, to) in edits {
            assert!(minimal.contains(from), "{from:?} is not in minimal.toml");
            cases.push((
                format!("{from} -> {to}"),
                minimal.replacen(from, to, 1),
                valid,
            ));
        }
    }
    // Valid files get as far as the precheck, which waits for the unreachable Kafka: run
    // them side by side.
    let runs: Vec<_> = cases
        .into_iter()
        .enumerate()
        .map(|(i, (name, text, valid))| {
            std::thread::spawn(move || {
                // SELF names a file that exists: the case's own file.
                let file_name = format!("agree-{i}.toml");
                let path = scratch_file(&file_name, &text.replace("SELF", &file_name));
                let file = path.to_str().unwrap();
                let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("agree-{i}"));
                let validate = obsync(&["validate", "-c", file]);
                let run = obsync(&[
                    "run",
                    "-c",
                    file,
                    "--state-dir",
                    state.to_str().unwrap(),
                    "--metrics-listen",
                    "off",
                ]);
                (name, valid, validate, run)
            })
        })
        .collect();
    for handle in runs {
        let (name, valid, validate, run) = handle.join().unwrap();
        let expected = if valid { 0 } else { 2 };
        assert_eq!(
            validate.status.code(),
            Some(expected),
            "validate, {name}: {}",
            stderr(&validate)
        );
        if valid {
            assert_ne!(
                run.status.code(),
                Some(2),
                "run refused what validate accepted, {name}: {}",
                stderr(&run)
            );
        } else {
            assert_eq!(
                run.status.code(),
                Some(2),
                "run accepted what validate refused, {name}: {}",
                stderr(&run)
            );
            assert_eq!(stderr(&run), stderr(&validate), "{name}");
        }
    }
}

#[test]
fn kerberos_settings_that_would_run_a_shell_command_are_refused_by_validate_run_and_precheck() {
    let minimal =
        unreachable(&std::fs::read_to_string(examples_dir().join("minimal.toml")).unwrap());
    let keytab = scratch_file("good.keytab", "not really a keytab");
    let marker = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pwned-by-project-file");
    let _ = std::fs::remove_file(&marker);
    let evil_principal = format!("x@R;touch${{IFS}}{};#", marker.display());
    let evil_keytab = format!("/tmp/\";touch {};echo \"", marker.display());
    for (principal, kt, field) in [
        (
            evil_principal.as_str(),
            keytab.to_str().unwrap(),
            "target.sasl.kerberos_principal",
        ),
        (
            "obsync@R",
            evil_keytab.as_str(),
            "target.sasl.kerberos_keytab",
        ),
    ] {
        let text = minimal.replace(
            "version = \"3.x\"",
            &format!(
                "version = \"3.x\"\n[target.sasl]\nmechanism = \"GSSAPI\"\n\
                 kerberos_principal = {principal:?}\nkerberos_keytab = {kt:?}"
            ),
        );
        let path = scratch_file("kinit_injection.toml", &text);
        let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kinit_injection_state");
        for command in ["validate", "run", "precheck"] {
            let mut args = vec![command, "-c", path.to_str().unwrap()];
            if command != "validate" {
                args.extend(["--state-dir", state.to_str().unwrap()]);
            }
            let output = obsync(&args);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{command}: {}",
                stderr(&output)
            );
            assert!(
                stderr(&output).contains(&format!("{field}: ")),
                "{command}: {}",
                stderr(&output)
            );
        }
    }
    assert!(!marker.exists(), "a Kerberos setting ran a command");
}

#[test]
fn validate_of_a_missing_file_says_it_cannot_be_read() {
    let output = obsync(&["validate", "-c", "/nonexistent/project.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("/nonexistent/project.toml: cannot read the project file: ")
    );
}

#[test]
fn validate_of_a_syntax_error_points_at_it() {
    let path = scratch_file("syntax.toml", "[project]\nname = \"a\nb\"\n");
    let output = obsync(&["validate", "-c", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with(&format!("{}:2:", path.display())),
        "{}",
        stderr(&output)
    );
}

#[test]
fn server_refuses_a_non_loopback_address_without_tls() {
    let dir = std::env::temp_dir().join(format!("obsync-cli-server-{}", std::process::id()));
    let output = obsync(&[
        "server",
        "--listen",
        "0.0.0.0:9000",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("refusing to listen on 0.0.0.0:9000 without TLS"),
        "{}",
        stderr(&output)
    );
    assert!(
        !dir.exists(),
        "nothing is created when the address is refused"
    );
}

#[test]
fn server_tls_needs_both_the_certificate_and_the_key() {
    let dir = std::env::temp_dir().join(format!("obsync-cli-tls-{}", std::process::id()));
    let output = obsync(&[
        "server",
        "--tls-cert",
        "server.crt",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--tls-key"), "{}", stderr(&output));
    assert!(
        !dir.exists(),
        "nothing is created when the arguments are refused"
    );

    let output = obsync(&[
        "server",
        "--tls-cert",
        "missing.crt",
        "--tls-key",
        "missing.key",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot read the TLS certificate missing.crt"),
        "{}",
        stderr(&output)
    );
    assert!(
        !dir.exists(),
        "nothing is created when the certificate is missing"
    );
}

#[test]
fn precheck_and_run_refuse_an_unreachable_source_with_exit_4() {
    let dir = std::env::temp_dir().join(format!("obsync-cli-unreachable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("p.toml");
    // Port 1 on loopback refuses connections at once, for the source and for Kafka.
    std::fs::write(
        &config,
        "[project]\nname = \"p1\"\n[source]\nkind = \"mariadb\"\nhost = \"127.0.0.1\"\nport = 1\nuser = \"u\"\npassword = \"x\"\n[target]\nbootstrap_servers = \"127.0.0.1:1\"\nversion = \"3.x\"\n[sync]\ntypes = [\"full\"]\n[[objects]]\ntables = [\"d.t\"]\ntopic = \"ttt\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let output = obsync(&["precheck", "-c", config]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(report.contains("[FAIL] source.connect"), "{report}");
    assert!(report.contains("127.0.0.1:1"), "{report}");
    assert!(report.contains("[FAIL] kafka.connectivity"), "{report}");
    assert!(report.contains("precheck failed"), "{report}");
    let state = dir.join("state");
    let output = obsync(&[
        "run",
        "-c",
        config,
        "--state-dir",
        state.to_str().unwrap(),
        "--metrics-listen",
        "off",
    ]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("not starting: fix the failed items"),
        "{}",
        stderr(&output)
    );
    assert!(
        !state.join("state.json").exists(),
        "a refused run must not write state"
    );
}

#[test]
fn version_and_help_describe_the_tool() {
    let version = obsync(&["--version"]);
    assert_eq!(
        stdout(&version).trim(),
        format!("obsync {}", env!("CARGO_PKG_VERSION"))
    );
    let help = stdout(&obsync(&["--help"]));
    for expected in [
        "run",
        "precheck",
        "validate",
        "server",
        "--log-format",
        "RUST_LOG",
        "Example:",
    ] {
        assert!(help.contains(expected), "missing {expected:?} in:\n{help}");
    }
    let run_help = stdout(&obsync(&["run", "--help"]));
    assert!(run_help.contains("[default: .obsync-state]"), "{run_help}");
}

#[test]
fn missing_arguments_are_a_usage_error() {
    let output = obsync(&["validate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--config <FILE>"));
}

#[test]
fn json_log_format_is_accepted() {
    let output = obsync(&[
        "--log-format",
        "json",
        "validate",
        "-c",
        "/nonexistent.toml",
    ]);
    assert_eq!(output.status.code(), Some(2));
}

/// `obsync run` against a source port where nothing listens: it fails at once, logging.
fn run_against_a_closed_port() -> Output {
    let project = scratch_file(
        "closed-port.toml",
        &std::fs::read_to_string(examples_dir().join("minimal.toml"))
            .unwrap()
            .replace("port = 3306", "port = 1"),
    );
    let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join("closed-port-state");
    Command::new(env!("CARGO_BIN_EXE_obsync"))
        .args([
            "run",
            "--skip-precheck",
            "--metrics-listen",
            "off",
            "--progress",
            "off",
        ])
        .arg("-c")
        .arg(&project)
        .arg("--state-dir")
        .arg(&state)
        .env("OBSYNC_SOURCE_PASSWORD", "s3cret")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .output()
        .expect("the obsync binary runs")
}

#[test]
fn log_lines_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let err = stderr(&run_against_a_closed_port());
    assert!(err.contains("project failed"), "a log line: {err}");
    assert!(
        !err.contains('\u{1b}'),
        "no ANSI escape codes in a pipe: {err:?}"
    );
}

#[test]
fn a_failed_run_prints_the_whole_cause_once() {
    let output = run_against_a_closed_port();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("an error line: {err}"));
    assert!(
        line.contains("cannot connect to the mysql source at 127.0.0.1:1"),
        "{line}"
    );
    assert_eq!(line.matches("Connection refused").count(), 1, "{line}");
    assert!(!line.contains("Input/output error"), "{line}");
}

/// `obsync precheck --state-dir` checks a resume from its checkpoint: one whose binlog
/// file the source does not have fails `source.binlog_dump` with the server's answer,
/// a corrupt one fails `checkpoint` naming the file; neither file is changed.
#[test]
fn precheck_checks_the_resume_from_the_state_dirs_checkpoint() {
    use obsync_pipeline::checkpoint::{CheckpointStore, IncrementalCheckpoint, ProjectState};
    let services = obsync_testkit::Services::load();
    let m = &services.mariadb;
    let db = obsync_testkit::unique_name("cli_resume");
    m.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY)"
    ));
    let config = scratch_file(
        &format!("{db}.toml"),
        &format!(
            "[project]\nname = \"cliresume\"\n[source]\nkind = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\npassword = \"{}\"\n[target]\nbootstrap_servers = \"{}\"\nversion = \"3.x\"\n[sync]\ntypes = [\"schema\", \"incremental\"]\n[[objects]]\ntables = [\"{db}.t\"]\ntopic = \"{db}\"\n",
            m.host, m.port, m.user, m.password, services.kafka_bootstrap
        ),
    );
    let config = config.to_str().unwrap();
    let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{db}-state"));
    let precheck = |state: &Path| {
        obsync(&[
            "precheck",
            "-c",
            config,
            "--state-dir",
            state.to_str().unwrap(),
        ])
    };

    let missing = obsync_model::BinlogCoord::new("no-such-binlog.000042", 4);
    let saved = ProjectState {
        schema_done: true,
        incremental: Some(IncrementalCheckpoint {
            position: obsync_model::LogPosition {
                coord: missing.clone(),
                gtid: None,
            },
            timestamp: 1,
        }),
        ..Default::default()
    };
    CheckpointStore::open(&state).unwrap().save(&saved).unwrap();
    let before = std::fs::read(state.join("state.json")).unwrap();
    let output = precheck(&state);
    let report = stdout(&output);
    assert_eq!(output.status.code(), Some(4), "{report}{}", stderr(&output));
    assert!(report.contains("[PASS] checkpoint"), "{report}");
    let dump = report
        .lines()
        .find(|l| l.contains("] source.binlog_dump:"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(dump.starts_with("[FAIL]"), "{report}");
    assert!(dump.contains(&missing.to_string()), "{report}");
    // Not in the server's binlog index: decided before the dump, with its cause.
    assert!(dump.contains("does not contain"), "{report}");
    assert!(
        report.contains("restart the project from a snapshot"),
        "{report}"
    );
    assert_eq!(std::fs::read(state.join("state.json")).unwrap(), before);

    std::fs::write(state.join("state.json"), "{ not json").unwrap();
    let output = precheck(&state);
    let report = stdout(&output);
    assert_eq!(output.status.code(), Some(4), "{report}");
    let line = report
        .lines()
        .find(|l| l.contains("] checkpoint:"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.starts_with("[FAIL]"), "{report}");
    assert!(
        line.contains(&state.join("state.json").display().to_string()),
        "{report}"
    );
    assert!(report.contains("[SKIP] source.binlog_dump"), "{report}");
    assert_eq!(
        std::fs::read_to_string(state.join("state.json")).unwrap(),
        "{ not json"
    );
    m.execute(&format!("DROP DATABASE {db}"));
    let _ = std::fs::remove_dir_all(&state);
}

/// `obsync verify` exits 2 when it cannot check (not 1, which means "differences"), with
/// the whole cause on one `error:` line; a broken project file is exit 2 as elsewhere.
#[test]
fn verify_that_cannot_reach_the_source_exits_2_with_the_cause() {
    let project = scratch_file(
        "verify-closed-port.toml",
        &std::fs::read_to_string(examples_dir().join("minimal.toml"))
            .unwrap()
            .replace("port = 3306", "port = 1"),
    );
    let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-closed-port-state");
    let project = project.to_str().unwrap();
    let output = obsync(&[
        "verify",
        "-c",
        project,
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("an error line: {err}"));
    assert!(line.contains("127.0.0.1:1"), "{line}");
    assert!(stdout(&output).is_empty(), "no report: {}", stdout(&output));

    let broken = scratch_file("verify-broken.toml", "[project]\nname = 1\n");
    let output = obsync(&["verify", "-c", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}
