//! The project file end to end: valid files become typed config; every rule reports its
//! problem with file, line, column, field, message and fix.

use std::collections::BTreeMap;
use std::time::Duration;

use obsync_config::*;
use obsync_model::TableId;

/// 2026-09-21 14:13:20 UTC.
const NOW: i64 = 1_790_000_000;

/// Line numbers in the tests below refer to this file.
const BASE: &str = r#"[project]
name = "orders01"

[source]
kind = "mysql"
host = "127.0.0.1"
port = 3306
user = "obsync"
password_env = "OBSYNC_SOURCE_PASSWORD"

[target]
bootstrap_servers = "127.0.0.1:9092"
version = "3.x"

[sync]
types = ["incremental"]

[[objects]]
tables = ["shop.orders"]
topic = "shop-orders"
"#;

fn env() -> Environment {
    Environment::fixed(
        NOW,
        [("OBSYNC_SOURCE_PASSWORD", "s3cret"), ("KAFKA_PW", "k")],
    )
}

fn parse(text: &str) -> Result<ProjectConfig, ConfigErrors> {
    ProjectConfig::parse_with(text, "p.toml", &env())
}

fn errors(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("expected errors, the file is valid:\n{text}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// `BASE` with the first `from` replaced by `to`.
fn with(from: &str, to: &str) -> String {
    edit(BASE, from, to)
}

fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is not in the text");
    text.replacen(from, to, 1)
}

fn table(name: &str) -> TableId {
    let (db, t) = name.split_once('.').unwrap();
    TableId::new(db, t)
}

#[test]
fn base_file_is_valid_with_documented_defaults() {
    let config = parse(BASE).unwrap();
    assert_eq!(config.name.as_str(), "orders01");
    assert!(config.tags.is_empty());
    assert_eq!(config.source.kind, SourceKind::MySql);
    assert_eq!(config.source.password.expose(), "s3cret");
    assert_eq!(config.source.server_id, derived_server_id("orders01"));
    assert_eq!(config.source.message_tenant, None);
    assert_eq!(config.target.compression, Compression::None);
    assert_eq!(config.target.sasl, None);
    assert_eq!(config.target.tls, None);
    assert_eq!(config.source.tls.mode, SourceTlsMode::Preferred);
    assert_eq!(config.source.tls, SourceTls::default());
    let sync = &config.sync;
    assert_eq!(sync.start, StartPosition::Now);
    assert_eq!(sync.format, FormatKind::Default);
    assert_eq!(sync.partition_rule, PartitionRule::Hash);
    assert!(!sync.tx_sequence && !sync.ddl_messages);
    assert_eq!(sync.heartbeat_interval, None);
    assert_eq!(
        (sync.topic_partitions, sync.topic_replication_factor),
        (3, 1)
    );
    assert_eq!(
        (sync.snapshot_chunk_rows, sync.snapshot_parallelism),
        (10_000, 4)
    );
}

#[test]
fn full_example_parses_into_the_expected_values() {
    let text = include_str!("../../../examples/project.toml");
    let config = ProjectConfig::parse_with(text, "examples/project.toml", &env()).unwrap();
    assert_eq!(config.name.as_str(), "订单同步01");
    let tags: Vec<&str> = config.tags.iter().map(Tag::as_str).collect();
    assert_eq!(tags, ["orders", "华东"]);
    let source = &config.source;
    assert_eq!(source.kind, SourceKind::OceanBase);
    assert_eq!((source.host.as_str(), source.port), ("127.0.0.1", 2881));
    assert_eq!(
        source.user,
        SourceUser {
            user: "root".into(),
            tenant: Some("t1".into()),
            cluster: None
        }
    );
    assert_eq!(source.server_id, 6123);
    assert_eq!(source.message_tenant.as_deref(), Some("t1"));
    let target = &config.target;
    assert_eq!(target.bootstrap_servers_string(), "127.0.0.1:9092");
    assert_eq!(target.version, KafkaVersion::V3Plus);
    assert_eq!(target.compression, Compression::Lz4);
    assert_eq!(
        target.producer,
        ProducerSettings {
            max_message_bytes: 8_388_608,
            linger: Duration::from_millis(20),
            ..ProducerSettings::default()
        }
    );
    assert_eq!(target.producer_extra, BTreeMap::new());
    let sync = &config.sync;
    assert_eq!(
        sync.types,
        SyncTypes {
            schema: true,
            full: true,
            incremental: true
        }
    );
    assert_eq!(sync.start, StartPosition::AfterSnapshot);
    assert_eq!(sync.format, FormatKind::DefaultExtendColumnType);
    assert_eq!(config.objects.len(), 2);
    assert_eq!(
        config.objects[0].shard_columns,
        BTreeMap::from([(table("shop.orders"), vec!["customer_id".to_string()])])
    );
    assert_eq!(config.objects[1].topic, TopicTarget::BatchRule);

    let orders = config.route(&table("shop.orders")).unwrap().unwrap();
    assert_eq!(orders.topic.as_str(), "shop-orders");
    assert_eq!(orders.shard_columns, Some(vec!["customer_id".to_string()]));
    let items = config.route(&table("shop.order_items")).unwrap().unwrap();
    assert_eq!(
        (items.topic.as_str(), items.shard_columns),
        ("shop-orders", None)
    );
    let users = config.route(&table("crm.users")).unwrap().unwrap();
    assert_eq!(users.topic.as_str(), "Topic_crm_users");
    assert_eq!(config.route(&table("crm.tmp_1")), Ok(None));
    assert_eq!(config.route(&table("shop.customers")), Ok(None));
}

#[test]
fn minimal_example_is_valid() {
    let text = include_str!("../../../examples/minimal.toml");
    ProjectConfig::parse_with(text, "examples/minimal.toml", &env()).unwrap();
}

#[test]
fn several_problems_in_one_file_are_all_reported_in_file_order() {
    let text = edit(
        &edit(
            &with("port = 3306", "port = 0"),
            "version = \"3.x\"",
            "version = \"5\"",
        ),
        "topic = \"shop-orders\"",
        "topic = \"a b\"",
    );
    let text = edit(&text, "[sync]\n", "[sync]\nfromat = \"Canal\"\n");
    assert_eq!(
        errors(&text),
        [
            "p.toml:7:8: source.port: port 0 is out of range (use 1-65535)",
            "p.toml:13:11: target.version: unknown Kafka version \"5\" \
             (use \"0.9\", \"1.0\", \"2.x\", \"3.x\" or \"4.x\")",
            "p.toml:16:1: sync.fromat: unknown field `fromat`, expected one of `types`, \
             `start_time`, `time_zone`, `format`, `tx_sequence`, `partition_rule`, \
             `ddl_messages`, `split_key_updates`, `heartbeat_interval_secs`, `topic_partitions`, \
             `topic_replication_factor`, `snapshot_chunk_rows`, `snapshot_parallelism`, `backfill`, \
             `debezium`, `format_options` (check the spelling; every field is listed in docs/configuration.md)",
            "p.toml:21:9: objects[0].topic: topic \"a b\" is invalid: it contains ' ', \
             which is not allowed (use 3-64 of A-Z a-z 0-9 - _ .)",
        ]
    );
}

#[test]
fn syntax_error_is_reported_alone_with_its_place() {
    let errors = errors(&with("port = 3306", "port = = 3306"));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("p.toml:7:8: source.port: "),
        "{}",
        errors[0]
    );
}

#[test]
fn unknown_section_is_reported() {
    assert_eq!(
        errors(&format!("{BASE}[souce]\nhost = \"x\"\n")),
        [
            "p.toml:21:2: souce: unknown field `souce`, expected one of `project`, `source`, \
          `target`, `sync`, `objects` (check the spelling; every field is listed in \
          docs/configuration.md)"
        ]
    );
}

#[test]
fn missing_field_names_the_section() {
    assert_eq!(
        errors(&with("host = \"127.0.0.1\"\n", "")),
        ["p.toml:4:1: source: missing field `host` (add the field; see docs/configuration.md)"]
    );
}

#[test]
fn wrong_value_type_is_reported() {
    assert_eq!(
        errors(&with("port = 3306", "port = \"3306\"")),
        ["p.toml:7:8: source.port: invalid type: string \"3306\", expected i64"]
    );
}

#[test]
fn missing_section_is_reported() {
    let text = with(
        "[target]\nbootstrap_servers = \"127.0.0.1:9092\"\nversion = \"3.x\"\n",
        "",
    );
    assert_eq!(
        errors(&text),
        ["p.toml:1:1: target: the [target] section is missing \
          (add it; examples/minimal.toml shows the smallest complete file)"]
    );
}

#[test]
fn project_name_rules() {
    assert_eq!(
        errors(&with("name = \"orders01\"", "name = \"orders-01\"")),
        [
            "p.toml:2:8: project.name: project name contains '-', which is not allowed \
          (use 1-64 Chinese characters, ASCII letters and digits)"
        ]
    );
    assert_eq!(
        errors(&with(
            "name = \"orders01\"",
            &format!("name = \"{}\"", "订".repeat(65))
        )),
        [
            "p.toml:2:8: project.name: project name has 65 characters, at most 64 are allowed \
          (use 1-64 Chinese characters, ASCII letters and digits)"
        ]
    );
}

#[test]
fn tag_rules() {
    let text = with(
        "name = \"orders01\"",
        "name = \"orders01\"\ntags = [\"a\", \"\", \"a\"]",
    );
    assert_eq!(
        errors(&text),
        [
            "p.toml:3:14: project.tags: tag is empty (use 1-32 printable characters)",
            "p.toml:3:18: project.tags: tag \"a\" is listed twice (remove one of them)",
        ]
    );
}

#[test]
fn source_kind_must_be_known() {
    assert_eq!(
        errors(&with("kind = \"mysql\"", "kind = \"postgres\"")),
        ["p.toml:5:8: source.kind: unknown source kind \"postgres\" \
          (use \"oceanbase\", \"mysql\" or \"mariadb\")"]
    );
}

#[test]
fn source_host_must_be_a_bare_host() {
    assert_eq!(
        errors(&with("host = \"127.0.0.1\"", "host = \"mysql://db\"")),
        [
            "p.toml:6:8: source.host: host \"mysql://db\" is not a host name or IP address \
          (write only the host, e.g. \"127.0.0.1\"; the port goes in source.port)"
        ]
    );
}

#[test]
fn oceanbase_user_is_parsed_into_user_tenant_cluster() {
    let text = with("kind = \"mysql\"", "kind = \"oceanbase\"");
    let config = parse(&edit(
        &text,
        "user = \"obsync\"",
        "user = \"cdc@t1#obcluster\"",
    ))
    .unwrap();
    assert_eq!(config.source.user.tenant.as_deref(), Some("t1"));
    assert_eq!(config.source.user.cluster.as_deref(), Some("obcluster"));
    assert_eq!(config.source.message_tenant.as_deref(), Some("t1"));
    let sys = parse(&text).unwrap();
    assert_eq!(sys.source.message_tenant.as_deref(), Some("sys"));
    assert_eq!(
        errors(&edit(&text, "user = \"obsync\"", "user = \"cdc@\"")),
        [
            "p.toml:8:8: source.user: user \"cdc@\" has an empty user, tenant or cluster part \
          (write user, user@tenant or user@tenant#cluster)"
        ]
    );
}

#[test]
fn tenant_override_applies_to_mysql_too() {
    let config = parse(&with("port = 3306", "port = 3306\ntenant = \"t9\"")).unwrap();
    assert_eq!(config.source.message_tenant.as_deref(), Some("t9"));
    assert_eq!(
        errors(&with("port = 3306", "port = 3306\ntenant = \"a.b\"")),
        [
            "p.toml:8:10: source.tenant: tenant \"a.b\" is not a tenant name \
          (write the bare tenant name, e.g. \"t1\" (no . @ # or spaces))"
        ]
    );
}

#[test]
fn binlog_positioning_defaults_to_auto_and_accepts_gtid_or_file() {
    assert_eq!(
        parse(BASE).unwrap().source.binlog_positioning,
        BinlogPositioning::Auto
    );
    let gtid = parse(&with(
        "port = 3306",
        "port = 3306\nbinlog_positioning = \"GTID\"",
    ))
    .unwrap();
    assert_eq!(gtid.source.binlog_positioning, BinlogPositioning::Gtid);
    let file = parse(&with(
        "port = 3306",
        "port = 3306\nbinlog_positioning = \"file\"",
    ))
    .unwrap();
    assert_eq!(file.source.binlog_positioning, BinlogPositioning::File);
    assert_eq!(
        errors(&with(
            "port = 3306",
            "port = 3306\nbinlog_positioning = \"pos\""
        )),
        [
            "p.toml:8:22: source.binlog_positioning: unknown binlog positioning \"pos\" \
          (use \"auto\" (GTID where the source has gtid_mode=ON), \"gtid\" or \"file\")"
        ]
    );
}

#[test]
fn password_env_must_be_set() {
    assert_eq!(
        errors(&with("OBSYNC_SOURCE_PASSWORD", "NOT_SET_ANYWHERE")),
        [
            "p.toml:9:16: source.password_env: environment variable NOT_SET_ANYWHERE is not set \
          (export NOT_SET_ANYWHERE before running obsync)"
        ]
    );
}

#[test]
fn an_unset_password_env_only_warns_when_the_file_is_only_checked() {
    let text = with("OBSYNC_SOURCE_PASSWORD", "NOT_SET_ANYWHERE");
    let config = ProjectConfig::parse_with(&text, "p.toml", &env().unset_passwords_warn()).unwrap();
    let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "p.toml:9:16: source.password_env: environment variable NOT_SET_ANYWHERE is not set \
          (export NOT_SET_ANYWHERE before running obsync)"
        ]
    );
    assert_eq!(config.source.password.expose(), "");
    assert!(parse(BASE).unwrap().warnings.is_empty());
}

#[test]
fn exactly_one_of_password_and_password_env() {
    assert_eq!(
        errors(&with("password_env = \"OBSYNC_SOURCE_PASSWORD\"\n", "")),
        [
            "p.toml:4:1: source: no password is set (set password_env = \"VARIABLE\" \
          (recommended) or password = \"...\" (\"\" for none))"
        ]
    );
    assert_eq!(
        errors(&with("password_env", "password = \"\"\npassword_env")),
        [
            "p.toml:10:16: source.password_env: password and password_env are both set \
          (keep one of them; password_env keeps the password out of the file)"
        ]
    );
    let config = parse(&with(
        "password_env = \"OBSYNC_SOURCE_PASSWORD\"",
        "password = \"\"",
    ))
    .unwrap();
    assert_eq!(config.source.password.expose(), "");
}

#[test]
fn server_id_must_fit_32_bits() {
    assert_eq!(
        errors(&with("port = 3306", "port = 3306\nserver_id = 4294967296")),
        [
            "p.toml:8:13: source.server_id: server_id 4294967296 is out of range \
          (use 1-4294967295)"
        ]
    );
}

#[test]
fn bootstrap_servers_are_each_validated() {
    assert_eq!(
        errors(&with("\"127.0.0.1:9092\"", "\"k1:9092, k2\"")),
        [
            "p.toml:12:21: target.bootstrap_servers: \"k2\" is not host:port \
          (write host:port pairs separated by commas, e.g. \"kafka1:9092,kafka2:9092\")"
        ]
    );
    let config = parse(&with("\"127.0.0.1:9092\"", "\"k1:9092, k2:9093\"")).unwrap();
    assert_eq!(config.target.bootstrap_servers_string(), "k1:9092,k2:9093");
}

#[test]
fn compression_must_be_known_and_zstd_needs_kafka_2() {
    assert_eq!(
        errors(&with(
            "version = \"3.x\"",
            "version = \"3.x\"\ncompression = \"brotli\""
        )),
        [
            "p.toml:14:15: target.compression: unknown compression \"brotli\" \
          (use \"none\", \"gzip\", \"snappy\", \"lz4\" or \"zstd\")"
        ]
    );
    assert_eq!(
        errors(&with(
            "version = \"3.x\"",
            "version = \"1.0\"\ncompression = \"zstd\""
        )),
        [
            "p.toml:14:15: target.compression: zstd needs Kafka 2.1 or newer, the target is 1.0 \
          (use \"lz4\" or \"gzip\")"
        ]
    );
}

#[test]
fn kafka_0_9_cannot_have_schema_sync() {
    let text = with("version = \"3.x\"", "version = \"0.9\"");
    assert_eq!(
        errors(&edit(
            &text,
            "types = [\"incremental\"]",
            "types = [\"schema\", \"incremental\"]"
        )),
        ["p.toml:16:10: sync.types: Kafka 0.9 cannot create topics \
          (remove \"schema\" from sync.types and create the topics yourself)"]
    );
    assert_eq!(parse(&text).unwrap().target.version, KafkaVersion::V0_9);
}

#[test]
fn sasl_is_parsed_and_needs_kafka_1_0() {
    let sasl = "version = \"3.x\"\n[target.sasl]\nmechanism = \"scram-sha-512\"\n\
                username = \"u\"\npassword_env = \"KAFKA_PW\"";
    let config = parse(&with("version = \"3.x\"", sasl)).unwrap();
    let parsed = config.target.sasl.unwrap();
    assert_eq!(parsed.mechanism, SaslMechanism::ScramSha512);
    assert_eq!(
        (parsed.username.as_str(), parsed.password.expose()),
        ("u", "k")
    );
    assert_eq!(
        errors(&with("version = \"3.x\"", &sasl.replace("3.x", "0.9"))),
        [
            "p.toml:15:13: target.sasl.mechanism: Kafka 0.9 does not support SASL SCRAM-SHA-512 \
          (upgrade the brokers to 1.0 or newer, use GSSAPI, or remove [target.sasl])"
        ]
    );
}

#[test]
fn gssapi_needs_a_principal_and_an_existing_keytab_and_works_with_kafka_0_9() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let gssapi = "version = \"0.9\"\n[target.sasl]\nmechanism = \"gssapi\"\n\
                  kerberos_principal = \"obsync@EXAMPLE.COM\"\nkerberos_keytab = \"Cargo.toml\"";
    let file = format!("{dir}/p.toml");
    let config =
        ProjectConfig::parse_with(&with("version = \"3.x\"", gssapi), &file, &env()).unwrap();
    let sasl = config.target.sasl.unwrap();
    assert_eq!(sasl.mechanism, SaslMechanism::Gssapi);
    assert_eq!(sasl.username, "obsync@EXAMPLE.COM");
    let kerberos = sasl.kerberos.unwrap();
    assert_eq!(kerberos.service_name, "kafka");
    assert_eq!(
        kerberos.keytab,
        std::path::Path::new(dir).join("Cargo.toml")
    );

    // A password, no keytab, a principal without realm: each named with its field.
    let bad = "version = \"3.x\"\n[target.sasl]\nmechanism = \"GSSAPI\"\n\
               kerberos_principal = \"obsync\"\npassword = \"x\"";
    let problems = errors(&with("version = \"3.x\"", bad));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("target.sasl.password: GSSAPI does not use password")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p
            .contains("target.sasl.kerberos_principal: \"obsync\" is not a Kerberos principal")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("target.sasl.kerberos_keytab: GSSAPI needs a keytab")),
        "{problems:?}"
    );
    let missing = gssapi
        .replace("Cargo.toml", "no-such.keytab")
        .replace("0.9", "3.x");
    let problems = errors(&with("version = \"3.x\"", &missing));
    assert!(
        problems
            .iter()
            .any(|p| p
                .contains("target.sasl.kerberos_keytab: keytab \"no-such.keytab\" does not exist")),
        "{problems:?}"
    );
    // Kerberos fields on a password mechanism would be ignored: refused instead.
    let mixed = "version = \"3.x\"\n[target.sasl]\nmechanism = \"PLAIN\"\nusername = \"u\"\n\
                 password = \"p\"\nkerberos_keytab = \"Cargo.toml\"";
    let problems = errors(&with("version = \"3.x\"", mixed));
    assert!(
        problems
            .iter()
            .any(|p| p
                .contains("target.sasl.kerberos_keytab: kerberos_keytab is only used by GSSAPI")),
        "{problems:?}"
    );
}

#[test]
fn tls_files_must_exist_and_resolve_against_the_file_directory() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let tls = "version = \"3.x\"\n[target.tls]\nca_file = \"Cargo.toml\"\nverify_hostname = false";
    let config = ProjectConfig::parse_with(
        &with("version = \"3.x\"", tls),
        format!("{dir}/p.toml"),
        &env(),
    )
    .unwrap();
    let parsed = config.target.tls.unwrap();
    assert_eq!(
        parsed.ca,
        Some(Pem::File(format!("{dir}/Cargo.toml").into()))
    );
    assert_eq!(parsed.client_cert, None);
    assert!(!parsed.verify_hostname);
    let pair = tls.replace(
        "ca_file = \"Cargo.toml\"",
        "cert_file = \"Cargo.toml\"\nkey_file = \"src/lib.rs\"",
    );
    let config = ProjectConfig::parse_with(
        &with("version = \"3.x\"", &pair),
        format!("{dir}/p.toml"),
        &env(),
    )
    .unwrap();
    assert_eq!(
        config.target.tls.unwrap().client_cert,
        Some(ClientCertificate {
            cert: Pem::File(format!("{dir}/Cargo.toml").into()),
            key: Pem::File(format!("{dir}/src/lib.rs").into()),
        })
    );
    let missing = with("version = \"3.x\"", &tls.replace("Cargo.toml", "nope.pem"));
    let errors: Vec<String> = ProjectConfig::parse_with(&missing, format!("{dir}/p.toml"), &env())
        .unwrap_err()
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    assert_eq!(
        errors,
        [format!(
            "target.tls.ca_file: file \"nope.pem\" does not exist ({dir}/nope.pem)"
        )]
    );
    let lone_cert = with("version = \"3.x\"", &tls.replace("ca_file", "cert_file"));
    let errors =
        ProjectConfig::parse_with(&lone_cert, format!("{dir}/p.toml"), &env()).unwrap_err();
    assert_eq!(
        errors.0[0].to_string(),
        format!(
            "{dir}/p.toml:15:13: target.tls: a client certificate is set without its key \
                 (set both for a client certificate (cert_file or cert_pem, key_file or \
                 key_pem_env), or neither)"
        )
    );
}

/// `BASE` with a `[source.tls]` of `lines`, parsed as a file in this crate's directory.
fn with_source_tls(lines: &str) -> Result<ProjectConfig, ConfigErrors> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let text = with(
        "password_env = \"OBSYNC_SOURCE_PASSWORD\"\n",
        &format!("password_env = \"OBSYNC_SOURCE_PASSWORD\"\n[source.tls]\n{lines}\n"),
    );
    ProjectConfig::parse_with(&text, format!("{dir}/p.toml"), &env())
}

fn source_tls_errors(lines: &str) -> Vec<String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    with_source_tls(lines)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string().replace(dir, "<dir>"))
        .collect()
}

#[test]
fn source_tls_takes_mysql_modes_and_files_beside_the_project_file() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = with_source_tls(
        "mode = \"VERIFY-IDENTITY\"\nca_file = \"Cargo.toml\"\n\
         client_cert_file = \"Cargo.toml\"\nclient_key_file = \"src/lib.rs\"",
    )
    .unwrap();
    assert_eq!(
        config.source.tls,
        SourceTls {
            mode: SourceTlsMode::VerifyIdentity,
            ca: Some(Pem::File(format!("{dir}/Cargo.toml").into())),
            client_cert: Some(ClientCertificate {
                cert: Pem::File(format!("{dir}/Cargo.toml").into()),
                key: Pem::File(format!("{dir}/src/lib.rs").into()),
            }),
        }
    );
    for (written, mode) in [
        ("disabled", SourceTlsMode::Disabled),
        ("PREFERRED", SourceTlsMode::Preferred),
        ("required", SourceTlsMode::Required),
        ("verify_ca", SourceTlsMode::VerifyCa),
    ] {
        let config = with_source_tls(&format!("mode = {written:?}")).unwrap();
        assert_eq!(config.source.tls.mode, mode, "{written}");
    }
    // A verifying mode without ca_file trusts the system's CAs.
    let system = with_source_tls("mode = \"verify_identity\"").unwrap();
    assert_eq!(system.source.tls.ca, None);
}

#[test]
fn source_tls_problems_name_their_line_and_fix() {
    assert_eq!(
        source_tls_errors("mode = \"verify\""),
        [
            "<dir>/p.toml:11:8: source.tls.mode: unknown TLS mode \"verify\" (use \"disabled\", \
          \"preferred\", \"required\", \"verify_ca\" or \"verify_identity\")"
        ]
    );
    assert_eq!(
        source_tls_errors("mode = \"required\"\nca_file = \"Cargo.toml\""),
        [
            "<dir>/p.toml:12:11: source.tls.ca_file: ca_file is not used with mode \"required\" \
          (set mode = \"verify_identity\" (or \"verify_ca\") to check the server's \
          certificate against it, or remove ca_file)"
        ]
    );
    assert_eq!(
        source_tls_errors("mode = \"verify_ca\"\nclient_cert_file = \"Cargo.toml\""),
        [
            "<dir>/p.toml:12:20: source.tls: client_cert_file is set without client_key_file \
          (set both for a client certificate, or neither)"
        ]
    );
    assert_eq!(
        source_tls_errors(
            "mode = \"disabled\"\nclient_cert_file = \"Cargo.toml\"\nclient_key_file = \"Cargo.toml\""
        ),
        ["<dir>/p.toml:12:20: source.tls.client_cert_file: a client certificate needs TLS, \
          which mode \"disabled\" turns off (choose another mode, or remove client_cert_file \
          and client_key_file)"]
    );
    assert_eq!(
        source_tls_errors("mode = \"verify_ca\"\nca_file = \"nope.pem\""),
        [
            "<dir>/p.toml:12:11: source.tls.ca_file: file \"nope.pem\" does not exist \
          (<dir>/nope.pem) (check the path; a relative path is relative to the project \
          file's directory)"
        ]
    );
    assert_eq!(
        source_tls_errors("mod = \"required\"")[0]
            .split(':')
            .nth(3)
            .unwrap()
            .trim(),
        "source.tls.mod"
    );
}

#[test]
fn tls_pems_can_be_inline_and_the_key_comes_from_the_environment() {
    let tls = "version = \"3.x\"\n[target.tls]\nca_pem = \"-----BEGIN CERTIFICATE-----\\nCA\"\n\
               cert_pem = \"-----BEGIN CERTIFICATE-----\\nC\"\nkey_pem_env = \"CLIENT_KEY\"";
    let environment = Environment::fixed(
        NOW,
        [
            ("OBSYNC_SOURCE_PASSWORD", "s3cret"),
            ("CLIENT_KEY", "-----BEGIN PRIVATE KEY-----\nK"),
        ],
    );
    let config =
        ProjectConfig::parse_with(&with("version = \"3.x\"", tls), "p.toml", &environment).unwrap();
    let parsed = config.target.tls.unwrap();
    assert_eq!(
        parsed.ca,
        Some(Pem::Inline(Secret::new("-----BEGIN CERTIFICATE-----\nCA")))
    );
    let cert = parsed.client_cert.unwrap();
    assert_eq!(
        cert.key,
        Pem::Inline(Secret::new("-----BEGIN PRIVATE KEY-----\nK"))
    );
    let errors: Vec<String> =
        ProjectConfig::parse_with(&with("version = \"3.x\"", tls), "p.toml", &env())
            .unwrap_err()
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
    assert_eq!(
        errors,
        ["target.tls.key_pem_env: environment variable CLIENT_KEY is not set"]
    );
    let both = tls.replace("ca_pem", "ca_file = \"Cargo.toml\"\nca_pem");
    let errors =
        ProjectConfig::parse_with(&with("version = \"3.x\"", &both), "p.toml", &environment)
            .unwrap_err();
    assert!(
        errors.0[0]
            .message
            .contains("ca_file and ca_pem are both set"),
        "{errors:?}"
    );
}

/// `BASE` with `[target.producer]` holding `lines`.
fn with_producer(lines: &str) -> String {
    with(
        "version = \"3.x\"",
        &format!("version = \"3.x\"\n[target.producer]\n{lines}"),
    )
}

#[test]
fn producer_numbers_obsync_acts_on_become_typed_settings() {
    let config = parse(&with_producer(
        "\"message.max.bytes\" = \"8388608\"\n\"linger.ms\" = 20\n\
         \"message.timeout.ms\" = 60000\n\"queue.buffering.max.kbytes\" = \"1024\"\n\
         \"batch.num.messages\" = 5000",
    ))
    .unwrap();
    assert_eq!(
        config.target.producer,
        ProducerSettings {
            max_message_bytes: 8_388_608,
            message_timeout: Duration::from_secs(60),
            linger: Duration::from_millis(20),
            queue_max_bytes: 1024 * 1024,
        }
    );
    assert_eq!(
        config.target.producer_extra,
        BTreeMap::from([("batch.num.messages".to_string(), "5000".to_string())])
    );
}

#[test]
fn producer_sizes_and_times_must_be_plain_numbers_in_range() {
    assert_eq!(
        errors(&with_producer("\"message.max.bytes\" = \"8MB\"")),
        ["p.toml:15:1: target.producer: message.max.bytes = \"8MB\" is not a number of bytes \
          (write a plain number of bytes from 1000 to 1000000000, e.g. \"message.max.bytes\" = 8388608)"]
    );
    assert_eq!(
        errors(&with_producer("\"linger.ms\" = 900001")),
        [
            "p.toml:15:1: target.producer: linger.ms = 900001 is out of range \
          (write a plain number of milliseconds from 0 to 900000, e.g. \"linger.ms\" = 5)"
        ]
    );
}

#[test]
fn producer_acks_other_than_all_are_refused() {
    assert!(parse(&with_producer("acks = \"all\"")).is_ok());
    assert!(parse(&with_producer("acks = -1")).is_ok());
    assert_eq!(
        errors(&with_producer("acks = \"1\"")),
        [
            "p.toml:15:1: target.producer: acks = \"1\" would let a checkpoint run ahead of what \
          every replica has (remove it: obsync always sends with acks = \"all\")"
        ]
    );
    assert_eq!(
        errors(&with_producer("\"enable.idempotence\" = false")),
        ["p.toml:15:1: target.producer: property \"enable.idempotence\" is fixed by obsync: the \
          idempotent producer keeps retried batches in order (remove it)"]
    );
}

#[test]
fn producer_properties_set_by_a_field_or_as_tables_are_refused() {
    assert_eq!(
        errors(&with_producer("\"compression.type\" = \"lz4\"")),
        [
            "p.toml:15:1: target.producer: property \"compression.type\" is set by obsync \
          (use target.compression instead)"
        ]
    );
    assert_eq!(
        errors(&with_producer("\"api.version.request\" = false")),
        [
            "p.toml:15:1: target.producer: property \"api.version.request\" is set by obsync \
          (use target.version instead)"
        ]
    );
    assert_eq!(
        errors(&with_producer("linger.ms = 5")),
        [
            "p.toml:15:1: target.producer: property \"linger\" is a table \
          (quote dotted property names, e.g. \"linger.ms\" = \"5\")"
        ]
    );
}

#[test]
fn pass_through_producer_properties_go_through_the_client_check_with_their_place() {
    let check: ClientPropertyCheck = std::sync::Arc::new(|name: &str, _: &str| {
        (name != "linger.msec")
            .then_some(())
            .ok_or_else(|| format!("No such configuration property: \"{name}\""))
    });
    let env = env().with_client_property_check(check);
    let text = with_producer("\"batch.num.messages\" = 5\n\"linger.msec\" = 5");
    let errors: Vec<String> = ProjectConfig::parse_with(&text, "p.toml", &env)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "p.toml:16:1: target.producer: librdkafka refuses linger.msec = \"5\": No such \
          configuration property: \"linger.msec\" \
          (see librdkafka's CONFIGURATION.md for the property's name and values)"
        ]
    );
}

#[test]
fn sync_types_must_be_known_and_distinct() {
    assert_eq!(
        errors(&with(
            "types = [\"incremental\"]",
            "types = [\"full\", \"full\", \"cdc\"]"
        )),
        [
            "p.toml:16:18: sync.types: sync type \"full\" is listed twice (remove one of them)",
            "p.toml:16:26: sync.types: unknown sync type \"cdc\" \
             (use \"schema\", \"full\" and/or \"incremental\")",
        ]
    );
    assert_eq!(
        errors(&with("types = [\"incremental\"]", "types = []")),
        ["p.toml:16:9: sync.types: no sync types are listed \
          (list one or more of \"schema\", \"full\", \"incremental\")"]
    );
}

#[test]
fn start_time_is_read_in_the_time_zone() {
    let text = with(
        "types = [\"incremental\"]",
        "types = [\"incremental\"]\nstart_time = \"2026-09-21 08:00:00\"\ntime_zone = \"+08:00\"",
    );
    // 2026-09-21 00:00:00 UTC
    assert_eq!(
        parse(&text).unwrap().sync.start,
        StartPosition::At(1_789_948_800)
    );
    let unix = with(
        "types = [\"incremental\"]",
        "types = [\"incremental\"]\nstart_time = 1789948800",
    );
    assert_eq!(
        parse(&unix).unwrap().sync.start,
        StartPosition::At(1_789_948_800)
    );
    let literal = with(
        "types = [\"incremental\"]",
        "types = [\"incremental\"]\nstart_time = 2026-09-21T00:00:00Z",
    );
    assert_eq!(
        parse(&literal).unwrap().sync.start,
        StartPosition::At(1_789_948_800)
    );
}

#[test]
fn start_time_must_not_be_in_the_future() {
    assert_eq!(
        errors(&with(
            "types = [\"incremental\"]",
            "types = [\"incremental\"]\nstart_time = \"2030-01-01 00:00:00\""
        )),
        [
            "p.toml:17:14: sync.start_time: start_time 2030-01-01 00:00:00 UTC is in the future \
          (choose a time not later than now, or remove start_time to start from now)"
        ]
    );
}

#[test]
fn start_time_is_only_allowed_without_full_sync() {
    assert_eq!(
        errors(&with(
            "types = [\"incremental\"]",
            "types = [\"full\", \"incremental\"]\nstart_time = 1"
        )),
        [
            "p.toml:17:14: sync.start_time: start_time cannot be used with full sync: incremental \
          sync starts where the snapshot was taken \
          (remove start_time, or remove \"full\" from sync.types)"
        ]
    );
}

#[test]
fn start_time_must_be_a_time() {
    assert_eq!(
        errors(&with(
            "types = [\"incremental\"]",
            "types = [\"incremental\"]\nstart_time = \"yesterday\""
        )),
        [
            "p.toml:17:14: sync.start_time: start_time \"yesterday\" is not a date-time or Unix \
          timestamp (write \"YYYY-MM-DD HH:MM:SS\" (read in sync.time_zone) or Unix seconds)"
        ]
    );
    assert_eq!(
        errors(&with(
            "types = [\"incremental\"]",
            "types = [\"incremental\"]\ntime_zone = \"CST\""
        )),
        [
            "p.toml:17:13: sync.time_zone: time_zone \"CST\" is not a UTC offset \
          (write ±HH:MM between -12:00 and +14:00, e.g. \"+08:00\")"
        ]
    );
}

#[test]
fn format_options_are_typed_and_belong_to_their_format() {
    let maxwell = with(
        "types = [\"incremental\"]",
        "types = [\"incremental\"]\nformat = \"Maxwell\"\n\n[sync.format_options]\n\
         maxwell_key_format = \"array\"\nmaxwell_snapshot_type = \"insert\"\n\
         maxwell_position = true\nmaxwell_gtid = true\nmaxwell_xoffset = true\n\
         maxwell_primary_keys = true\nmaxwell_primary_key_columns = true",
    );
    let sync = parse(&maxwell).unwrap().sync;
    assert_eq!(sync.format, FormatKind::Maxwell);
    let m = sync.format_options.maxwell;
    assert_eq!(m.key_format, obsync_format::MaxwellKeyFormat::Array);
    assert_eq!(m.snapshot_type, obsync_format::MaxwellSnapshotType::Insert);
    assert!(m.binlog_position && m.gtid_position && m.xoffset);
    assert!(m.primary_keys && m.primary_key_columns);

    let canal = with(
        "types = [\"incremental\"]",
        "types = [\"incremental\"]\nformat = \"Canal\"\n\n[sync.format_options]\n\
         canal_binary = \"base64\"",
    );
    assert_eq!(
        parse(&canal).unwrap().sync.format_options.canal_binary,
        obsync_format::CanalBinary::Base64
    );
    let default = with(
        "types = [\"incremental\"]",
        "types = [\"incremental\"]\n\n[sync.format_options]\ntimestamp_fraction = \"nanos\"",
    );
    assert_eq!(
        parse(&default)
            .unwrap()
            .sync
            .format_options
            .timestamp_fraction,
        obsync_format::TimestampFraction::Nanos
    );
    let problems = errors(&default.replace(
        "timestamp_fraction = \"nanos\"",
        "canal_binary = \"base64\"\nmaxwell_gtid = true\ntimestamp_fraction = \"micros\"",
    ));
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("sync.format_options.canal_binary: canal_binary applies to Canal, the format is Default"), "{problems:?}");
    assert!(
        problems[1].contains("maxwell_gtid applies to Maxwell"),
        "{problems:?}"
    );
    assert!(
        problems[2].contains(
            "timestamp_fraction \"micros\" is not one of its values (use \"column\" or \"nanos\")"
        ),
        "{problems:?}"
    );
    let avro = with(
        "types = [\"incremental\"]",
        "types = [\"incremental\"]\nformat = \"DebeziumAvro\"",
    );
    assert!(errors(&avro)[0].contains("the DebeziumAvro format needs a schema registry"));
    let avro = format!(
        "{avro}\n[sync.format_options]\nschema_registry_url = \"http://127.0.0.1:18081/apis/ccompat/v7/\"\n\
         subject_name_strategy = \"record\"\n"
    );
    let registry = parse(&avro)
        .unwrap()
        .sync
        .format_options
        .schema_registry
        .unwrap();
    assert_eq!(registry.url, "http://127.0.0.1:18081/apis/ccompat/v7");
    assert_eq!(
        registry.subject_name_strategy,
        obsync_format::SubjectNameStrategy::Record
    );
    assert!(registry.username.is_none() && registry.password.is_none());
    let half = avro.replace(
        "subject_name_strategy",
        "schema_registry_username = \"u\"\nsubject_name_strategy",
    );
    assert!(errors(&half)[0].contains("needs both schema_registry_username and a password"));
    let bad_url = avro.replace("http://127.0.0.1:18081/apis/ccompat/v7/", "ftp://x");
    assert!(errors(&bad_url)[0].contains("is not an http(s) URL"));
    let ddl = maxwell.replace(
        "format = \"Maxwell\"",
        "format = \"Maxwell\"\nddl_messages = true",
    );
    assert!(errors(&ddl)[0]
        .contains("the Maxwell format has no DDL record, but ddl_messages turns them on"));
}

#[test]
fn format_is_case_insensitive_and_tx_sequence_needs_shareplex() {
    let canal = with(
        "types = [\"incremental\"]",
        "types = [\"incremental\"]\nformat = \"canal\"",
    );
    assert_eq!(parse(&canal).unwrap().sync.format, FormatKind::Canal);
    for (name, kind) in [
        ("DEFAULT_WITH_SCHEMA", FormatKind::DefaultExtendColumnType),
        ("dataworks2.0", FormatKind::DataWorks),
        ("DATAWORKS_V2", FormatKind::DataWorks),
    ] {
        let text = canal.replace("\"canal\"", &format!("{name:?}"));
        assert_eq!(parse(&text).unwrap().sync.format, kind, "{name}");
    }
    assert_eq!(
        errors(&format!("{canal}\n").replace("\"canal\"\n", "\"canal\"\ntx_sequence = true\n")),
        ["p.toml:18:15: sync.tx_sequence: tx_sequence needs the SharePlex format, the format is \
          Canal (set format = \"SharePlex\" or remove tx_sequence)"]
    );
    let shareplex = canal.replace("\"canal\"", "\"SharePlex\"\ntx_sequence = true");
    assert!(parse(&shareplex).unwrap().sync.tx_sequence);
    assert_eq!(
        errors(&canal.replace("\"canal\"", "\"protobuf\"")),
        [
            "p.toml:17:10: sync.format: unknown format \"protobuf\" (use \"Default\", \
          \"DefaultExtendColumnType\", \"Canal\", \"DataWorks\", \"SharePlex\", \"Debezium\", \
          \"DebeziumFlattened\", \"Maxwell\" or \"DebeziumAvro\")"
        ]
    );
}

#[test]
fn debezium_options_are_checked_against_the_format() {
    let dbz = |format: &str, options: &str| {
        with(
            "types = [\"incremental\"]\n",
            &format!(
                "types = [\"incremental\"]\nformat = {format:?}\n\n[sync.debezium]\n{options}\n"
            ),
        )
    };
    let ok = parse(&dbz(
        "DEBEZIUM_FLATTEN",
        "schemas = false\ndecimal_handling = \"string\"\ndelete_handling = \"rewrite\"\n\
         add_fields = [\"op\", \"source.ts_ms\"]\ntopic_prefix = \"shop\"",
    ))
    .unwrap();
    assert_eq!(ok.sync.format, FormatKind::DebeziumFlattened);
    let d = &ok.sync.debezium;
    assert!(!d.schemas && d.tombstones_on_delete && !d.transaction_metadata);
    assert_eq!(d.decimal_handling, obsync_format::DecimalHandling::String);
    assert_eq!(d.delete_handling, obsync_format::DeleteHandling::Rewrite);
    assert_eq!(d.add_fields.len(), 2);
    assert_eq!(d.topic_prefix.as_deref(), Some("shop"));
    assert_eq!(
        errors(&dbz(
            "Debezium",
            "decimal_handling = \"exact\"\ndelete_handling = \"drop\"\nadd_fields = [\"lsn\"]"
        )),
        [
            "p.toml:20:20: sync.debezium.decimal_handling: unknown decimal_handling \"exact\" \
             (use \"precise\" (Debezium's bytes), \"string\" or \"double\")",
            "p.toml:21:19: sync.debezium.delete_handling: delete_handling applies to the \
             DebeziumFlattened format, the format is Debezium (set format = \"DebeziumFlattened\" \
             or remove it)",
            "p.toml:22:15: sync.debezium.add_fields: add_fields applies to the DebeziumFlattened \
             format, the format is Debezium (set format = \"DebeziumFlattened\" or remove it)",
            "p.toml:22:15: sync.debezium.add_fields: unknown change-event field \"lsn\" (use op, \
             ts_ms, or a source field: db, table, ts_ms, file, pos, row, server_id, gtid, \
             snapshot, … (e.g. \"source.ts_ms\"))",
        ]
    );
    assert_eq!(
        errors(&dbz("Canal", "schemas = false")),
        [
            "p.toml:19:1: sync.debezium: [sync.debezium] is set but the format is Canal (set \
          format = \"Debezium\" or \"DebeziumFlattened\", or remove [sync.debezium])"
        ]
    );
    let old = dbz("Debezium", "schemas = false").replace("version = \"3.x\"", "version = \"0.9\"");
    assert!(
        errors(&old)
            .iter()
            .any(|e| e.contains("Kafka 0.9 records cannot carry the headers")),
        "{:?}",
        errors(&old)
    );
}

#[test]
fn partition_rule_and_tunables_are_checked() {
    let text = with(
        "types = [\"incremental\"]",
        "types = [\"incremental\"]\npartition_rule = \"random\"\nsnapshot_parallelism = 65\n\
         heartbeat_interval_secs = 5",
    );
    assert_eq!(
        errors(&text),
        [
            "p.toml:17:18: sync.partition_rule: unknown partition_rule \"random\" \
             (use \"hash\" (order per key) or \"one\" (total order per topic))",
            "p.toml:18:24: sync.snapshot_parallelism: snapshot_parallelism 65 is out of range \
             (use 1-64)",
        ]
    );
    let ok = parse(&text.replace("\"random\"", "\"one\"").replace("65", "8")).unwrap();
    assert_eq!(ok.sync.partition_rule, PartitionRule::One);
    assert_eq!(ok.sync.heartbeat_interval, Some(Duration::from_secs(5)));
}

#[test]
fn objects_must_not_be_empty() {
    let text = with(
        "[[objects]]\ntables = [\"shop.orders\"]\ntopic = \"shop-orders\"\n",
        "",
    );
    assert_eq!(
        errors(&text),
        [
            "p.toml:1:1: objects: no [[objects]] entries: nothing would be synced \
          (add an [[objects]] entry with tables and a topic or topic_rule)"
        ]
    );
}

#[test]
fn objects_need_exactly_one_of_topic_and_topic_rule() {
    assert_eq!(
        errors(&with(
            "topic = \"shop-orders\"",
            "topic = \"shop-orders\"\ntopic_rule = \"batch\""
        )),
        [
            "p.toml:21:14: objects[0].topic_rule: topic and topic_rule are both set (keep one: \
          topic = \"name\" sends every table to one topic, topic_rule = \"batch\" gives each \
          table its own)"
        ]
    );
    assert_eq!(
        errors(&with("topic = \"shop-orders\"\n", "")),
        [
            "p.toml:18:1: objects[0]: no topic is chosen for these tables \
          (set topic = \"name\" or topic_rule = \"batch\")"
        ]
    );
    assert_eq!(
        errors(&with(
            "topic = \"shop-orders\"",
            "topic_rule = \"per-table\""
        )),
        [
            "p.toml:20:14: objects[0].topic_rule: unknown topic_rule \"per-table\" \
          (the only rule is \"batch\": Topic_${Database Name}_${Table Name})"
        ]
    );
}

#[test]
fn topic_name_length_is_checked() {
    assert_eq!(
        errors(&with("topic = \"shop-orders\"", "topic = \"ab\"")),
        [
            "p.toml:20:9: objects[0].topic: topic \"ab\" is invalid: it has 2 characters, \
          at least 3 are needed (use 3-64 of A-Z a-z 0-9 - _ .)"
        ]
    );
}

#[test]
fn table_patterns_reject_chinese_and_malformed_names() {
    assert_eq!(
        errors(&with("tables = [\"shop.orders\"]", "tables = [\"shop.订单\", \"orders\", \"shop.orders\"]\nexclude = [\"shop.orders\", \"x\"]")),
        [
            "p.toml:19:11: objects[0].tables: table pattern \"shop.订单\" contains Chinese \
             characters (tables whose names contain Chinese characters cannot be synced: \
             rename the table or leave it out)",
            "p.toml:19:22: objects[0].tables: table pattern \"orders\" has no database part \
             (write \"database.table\"; * matches any characters, e.g. \"shop.*\")",
            "p.toml:20:27: objects[0].exclude: table pattern \"x\" has no database part \
             (write \"database.table\"; * matches any characters, e.g. \"shop.*\")",
        ]
    );
    assert_eq!(
        errors(&with("tables = [\"shop.orders\"]", "tables = []")),
        ["p.toml:19:10: objects[0].tables: no tables are listed \
          (write \"database.table\"; * matches any characters, e.g. \"shop.*\")"]
    );
}

#[test]
fn shard_columns_rules() {
    let text = with(
        "topic = \"shop-orders\"",
        "topic = \"shop-orders\"\nshard_columns = { \"shop.*\" = [\"a\"], \"shop.items\" = [\"a\"], \
         \"shop.orders\" = [\"列\", \"b\", \"b\"] }",
    );
    assert_eq!(
        errors(&text),
        [
            "p.toml:21:19: objects[0].shard_columns: shard_columns key \"shop.*\" has a wildcard \
             (name one table exactly, e.g. \"shop.orders\")",
            "p.toml:21:37: objects[0].shard_columns: table shop.items is not selected by this \
             entry's tables and exclude (add it to tables, or move its shard columns to the \
             entry that selects it)",
            "p.toml:21:76: objects[0].shard_columns: shard column \"列\" of shop.orders contains \
             Chinese characters (columns whose names contain Chinese characters cannot be \
             synced: rename the column)",
            "p.toml:21:86: objects[0].shard_columns: shard column \"b\" of shop.orders is listed \
             twice (remove one of them)",
        ]
    );
    assert_eq!(
        errors(&with(
            "topic = \"shop-orders\"",
            "topic = \"shop-orders\"\nshard_columns = { \"shop.orders\" = [] }"
        )),
        [
            "p.toml:21:35: objects[0].shard_columns: no shard columns are listed for shop.orders \
          (list one or more columns, or remove the entry to shard by the primary key)"
        ]
    );
}

#[test]
fn unquoted_dotted_shard_columns_key_gets_a_hint() {
    assert_eq!(
        errors(&with(
            "topic = \"shop-orders\"",
            "topic = \"shop-orders\"\nshard_columns = { shop.orders = [\"a\"] }"
        )),
        [
            "p.toml:21:24: objects[0].shard_columns: an unquoted dotted key makes a nested table \
          here (quote keys that contain dots, e.g. \"shop.orders\" = [\"customer_id\"])"
        ]
    );
}

#[test]
fn errors_in_a_later_objects_entry_carry_its_index() {
    let text = format!("{BASE}\n[[objects]]\ntables = [\"crm.*\"]\ntopik = \"crm\"\n");
    assert_eq!(
        errors(&text),
        [
            "p.toml:24:1: objects[1].topik: unknown field `topik`, expected one of `tables`, \
          `exclude`, `topic`, `topic_rule`, `shard_columns` \
          (check the spelling; every field is listed in docs/configuration.md)"
        ]
    );
}

#[test]
fn objects_written_as_a_single_table_get_a_hint() {
    let text = with("[[objects]]", "[objects]");
    let errors = errors(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].ends_with("(write each entry as [[objects]] (double brackets))"),
        "{}",
        errors[0]
    );
}

#[test]
fn unreadable_file_is_an_error_not_a_panic() {
    let errors = ProjectConfig::from_file("/nonexistent/obsync.toml").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors.0[0]
        .to_string()
        .starts_with("/nonexistent/obsync.toml: cannot read the project file: "));
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let config = parse(&with(
        "password_env = \"OBSYNC_SOURCE_PASSWORD\"",
        "password = \"hunter2\"",
    ))
    .unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn every_accepted_field_is_documented() {
    let docs = include_str!("../../../docs/configuration.md");
    let sasl = "[target.sasl]\nmechanism = \"PLAIN\"\nusername = \"u\"\npassword = \"\"\n";
    let tls = "[target.tls]\nenabled = false\n";
    for (section, text) in [
        (
            "project",
            with("name = \"orders01\"", "name = \"orders01\"\nzzz = 1"),
        ),
        ("source", with("port = 3306", "port = 3306\nzzz = 1")),
        (
            "target",
            with("version = \"3.x\"", "version = \"3.x\"\nzzz = 1"),
        ),
        (
            "target.sasl",
            with(
                "version = \"3.x\"",
                &format!("version = \"3.x\"\n{sasl}zzz = 1"),
            ),
        ),
        (
            "target.tls",
            with(
                "version = \"3.x\"",
                &format!("version = \"3.x\"\n{tls}zzz = 1"),
            ),
        ),
        (
            "sync",
            with(
                "types = [\"incremental\"]",
                "types = [\"incremental\"]\nzzz = 1",
            ),
        ),
        (
            "objects",
            with(
                "topic = \"shop-orders\"",
                "topic = \"shop-orders\"\nzzz = 1",
            ),
        ),
        ("top level", format!("zzz = 1\n{BASE}")),
    ] {
        let errors = parse(&text).unwrap_err();
        let message = &errors.0[0].message;
        // serde writes "expected `a` or `b`" or "expected one of `a`, `b`, `c`".
        let expected = message
            .split_once("expected ")
            .unwrap_or_else(|| panic!("{section}: {message}"))
            .1
            .trim_start_matches("one of ")
            .replace(" or ", ", ");
        for field in expected.split(", ").map(|f| f.trim_matches('`')) {
            let documented = if section == "top level" {
                docs.contains(&format!("[{field}]"))
            } else {
                docs.contains(&format!("| `{field}`"))
                    || docs.contains(&format!("[{section}.{field}]"))
            };
            assert!(
                documented,
                "{section}.{field} is not in docs/configuration.md"
            );
        }
    }
}

#[test]
fn damaged_files_give_errors_never_a_panic() {
    let text = include_str!("../../../examples/project.toml");
    let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).step_by(5).collect();
    for &end in &boundaries {
        let _ = parse(&text[..end]);
    }
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let damaged: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter_map(|(i, line)| (i != skip).then_some(*line))
            .collect();
        let _ = parse(&damaged.join("\n"));
        let mut swapped = lines.clone();
        swapped[skip] = "= \"訂\" [[";
        let _ = parse(&swapped.join("\n"));
    }
}

#[test]
fn source_tls_pems_can_be_inline_and_the_key_comes_from_the_environment() {
    let tls = "mode = \"verify_ca\"\nca_pem = \"-----BEGIN CERTIFICATE-----\\nCA\"\n\
               client_cert_pem = \"-----BEGIN CERTIFICATE-----\\nC\"\n\
               client_key_pem_env = \"SOURCE_KEY\"";
    let text = with(
        "password_env = \"OBSYNC_SOURCE_PASSWORD\"\n",
        &format!("password_env = \"OBSYNC_SOURCE_PASSWORD\"\n[source.tls]\n{tls}\n"),
    );
    let environment = Environment::fixed(
        NOW,
        [
            ("OBSYNC_SOURCE_PASSWORD", "s3cret"),
            ("SOURCE_KEY", "-----BEGIN PRIVATE KEY-----\nK"),
        ],
    );
    let config = ProjectConfig::parse_with(&text, "p.toml", &environment).unwrap();
    let source_tls = config.source.tls;
    assert_eq!(
        source_tls.ca,
        Some(Pem::Inline(Secret::new("-----BEGIN CERTIFICATE-----\nCA")))
    );
    let cert = source_tls.client_cert.unwrap();
    assert_eq!(
        cert.key,
        Pem::Inline(Secret::new("-----BEGIN PRIVATE KEY-----\nK"))
    );
    // An unset key variable is named with its fix.
    let errors = ProjectConfig::parse_with(&text, "p.toml", &env()).unwrap_err();
    assert!(
        errors.0[0]
            .to_string()
            .contains("source.tls.client_key_pem_env"),
        "{errors:?}"
    );
    // A CA that would not be checked is refused, inline as from a file.
    let unchecked = text.replace("verify_ca", "required");
    let errors = ProjectConfig::parse_with(&unchecked, "p.toml", &environment).unwrap_err();
    assert!(
        errors.0[0]
            .to_string()
            .contains("source.tls.ca_pem: ca_pem is not used"),
        "{errors:?}"
    );
}
