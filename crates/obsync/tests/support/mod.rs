//! End-to-end harness: real sources, the real `obsync` binary, real Kafka, and a
//! reconstruction of the source tables from what landed in Kafka.
//!
//! Every test file that uses it says `mod support;`. Everything blocks: call it from plain
//! `#[test]`s (threads are fine: [`SourceDb`] is `Sync`).
//!
//! - [`SourceDb`]: a fresh database of its own on the shared MariaDB
//!   ([`SourceDb::create`], `utf8mb4`) or seekdb ([`SourceDb::create_seekdb`]);
//!   [`SourceDb::exec`] / [`SourceDb::exec_many`] (one session, so `BEGIN … COMMIT` in
//!   `exec_many` is one transaction), [`SourceDb::endpoint`], [`SourceDb::name`],
//!   [`SourceDb::table_metas`]. Dropped with the value unless the test is failing (then it
//!   stays for inspection).
//! - [`ProjectSpec`]: the knobs of a project file (format, partition rule, stages, topic
//!   mode, shard columns, DDL messages, tx_sequence, extra `[sync]` lines);
//!   [`ProjectSpec::write_project`] writes the TOML, [`ProjectSpec::format_options`] gives the
//!   `FormatOptions` the records were written with (built here independently of the
//!   pipeline's settings code), [`ProjectSpec::topics`] the topics its tables go to.
//! - [`Obsync`]: the `obsync run` process, with `/status` ([`Obsync::status`],
//!   [`Obsync::wait_for`]), [`Obsync::terminate`] (SIGTERM), [`Obsync::kill9`] (SIGKILL),
//!   [`Obsync::wait_exit`], [`Obsync::try_exit`]. While a test panics, dropping it prints
//!   the last 50 log lines.
//! - [`consume`]: every record of a topic, through `kcat` (the independent client).
//! - [`reconstruct`]: rebuilds tables from records, per partition in offset order.
//! - [`source_state`]: the same shape read from the source with obsync's own metadata and
//!   snapshot readers (themselves tested against plain `SELECT`s).
//! - [`wait_until_equal`]: polls consume + reconstruct until it equals the source, or
//!   panics with a precise diff.
//!
//! Representation: a table is `key → RowEntry { image, count }`. For keyed tables the key
//! is the key columns' canonical values and `count` is always 1; for tables without a
//! usable key (`KeySource::AllColumns`) the key is the whole image and `count` is its
//! multiplicity, so two identical rows reconstruct as one entry with count 2.

#![allow(dead_code)] // each test file uses a different part of the harness

pub mod server;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use obsync_format::decode::{canonical_image, decode, DecodedOp, DecodedRecord, Image};
use obsync_format::{FormatKind, FormatOptions};
use obsync_model::{KeySource, TableId, TableMeta};
use obsync_source::metadata::MetadataReader;
use obsync_source::snapshot::SnapshotReader;
use obsync_source::{SourceEndpoint, SourceFlavor};
pub use obsync_testkit::{unique_name, Services};

/// How often the polling helpers look again.
const POLL: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------------------------------
// Source databases
// ---------------------------------------------------------------------------------------

/// Which server a [`SourceDb`] lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceServer {
    MariaDb,
    SeekDb,
}

/// A database of its own on a shared source server, with a blocking SQL session pool.
pub struct SourceDb {
    rt: tokio::runtime::Runtime,
    pool: mysql_async::Pool,
    name: String,
    server: SourceServer,
    host: String,
    port: u16,
    /// The login obsync uses in the project file (`root@sys` on seekdb).
    project_user: String,
    user: String,
    password: String,
}

impl SourceDb {
    /// A new `utf8mb4` database on the shared MariaDB, as user `obsync`.
    pub fn create(services: &Services) -> SourceDb {
        let s = &services.mariadb;
        SourceDb::create_on(
            SourceServer::MariaDb,
            &s.host,
            s.port,
            &s.user,
            &s.password,
            &s.user,
        )
    }

    /// A new `utf8mb4` database on the shared seekdb, as `root` (the project logs in as
    /// `root@sys`, which seekdb accepts, so messages carry tenant `sys`).
    pub fn create_seekdb(services: &Services) -> SourceDb {
        let s = &services.seekdb;
        SourceDb::create_on(
            SourceServer::SeekDb,
            &s.host,
            s.port,
            &s.user,
            &s.password,
            &format!("{}@sys", s.user),
        )
    }

    fn create_on(
        server: SourceServer,
        host: &str,
        port: u16,
        user: &str,
        password: &str,
        project_user: &str,
    ) -> SourceDb {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let name = unique_name("e2e");
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname(host.to_string())
            .tcp_port(port)
            .user(Some(user.to_string()))
            .pass(Some(password.to_string()))
            .prefer_socket(false)
            // Emoji and other 4-byte characters must reach the server intact.
            // TIMESTAMP literals in tests are UTC, like obsync's own sessions.
            .setup(vec![
                "SET NAMES utf8mb4".to_string(),
                "SET time_zone = '+00:00'".to_string(),
            ]);
        let pool = {
            let _guard = rt.enter();
            mysql_async::Pool::new(opts)
        };
        let db = SourceDb {
            rt,
            pool,
            name,
            server,
            host: host.to_string(),
            port,
            project_user: project_user.to_string(),
            user: user.to_string(),
            password: password.to_string(),
        };
        db.run(
            None,
            &[format!(
                "CREATE DATABASE `{}` CHARACTER SET utf8mb4",
                db.name
            )],
        );
        db
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn server(&self) -> SourceServer {
        self.server
    }

    /// Runs one statement in the database (fresh session, `USE` done).
    pub fn exec(&self, sql: &str) {
        self.exec_many(&[sql]);
    }

    /// Runs statements in order on one session: `BEGIN`/`COMMIT` among them make one
    /// transaction. Panics naming the statement that failed.
    pub fn exec_many<S: AsRef<str>>(&self, sqls: &[S]) {
        self.run(Some(&self.name), sqls);
    }

    fn run<S: AsRef<str>>(&self, database: Option<&str>, sqls: &[S]) {
        use mysql_async::prelude::Queryable;
        self.rt.block_on(async {
            let mut conn = self
                .pool
                .get_conn()
                .await
                .unwrap_or_else(|e| panic!("connecting to {}:{}: {e}", self.host, self.port));
            if let Some(db) = database {
                conn.query_drop(format!("USE `{db}`"))
                    .await
                    .unwrap_or_else(|e| panic!("USE {db}: {e}"));
            }
            for sql in sqls {
                let sql = sql.as_ref();
                conn.query_drop(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        })
    }

    /// The first column of every row of `sql` as text (NULL as `None`).
    pub fn query_column(&self, sql: &str) -> Vec<Option<String>> {
        use mysql_async::prelude::Queryable;
        self.rt.block_on(async {
            let mut conn = self.pool.get_conn().await.expect("a connection");
            conn.query_drop(format!("USE `{}`", self.name))
                .await
                .expect("USE");
            let rows: Vec<mysql_async::Row> = conn
                .query(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            rows.into_iter()
                .map(|r| match r.as_ref(0) {
                    None | Some(mysql_async::Value::NULL) => None,
                    Some(mysql_async::Value::Bytes(b)) => {
                        Some(String::from_utf8_lossy(b).into_owned())
                    }
                    Some(v) => Some(v.as_sql(true)),
                })
                .collect()
        })
    }

    /// How obsync's own readers reach this server (the plain login, no tenant).
    pub fn endpoint(&self) -> SourceEndpoint {
        SourceEndpoint {
            flavor: match self.server {
                SourceServer::MariaDb => SourceFlavor::MariaDb,
                SourceServer::SeekDb => SourceFlavor::OceanBase,
            },
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            password: self.password.clone(),
            tls: Default::default(),
        }
    }

    /// Current metadata of `tables` (names without the database) of this database.
    pub fn table_metas(&self, tables: &[&str]) -> Vec<TableMeta> {
        let reader = MetadataReader::from_endpoint(&self.endpoint());
        self.rt.block_on(async {
            let mut out = Vec::new();
            for t in tables {
                let id = TableId::new(self.name.clone(), *t);
                out.push(
                    reader
                        .table_meta(&id)
                        .await
                        .unwrap_or_else(|e| panic!("metadata of {id}: {e}")),
                );
            }
            out
        })
    }

    /// Drops the database now (dropping the value does it too).
    pub fn drop_db(self) {}
}

impl Drop for SourceDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("keeping source database {} for inspection", self.name);
        } else {
            use mysql_async::prelude::Queryable;
            let sql = format!("DROP DATABASE IF EXISTS `{}`", self.name);
            let pool = self.pool.clone();
            self.rt.block_on(async move {
                if let Ok(mut conn) = pool.get_conn().await {
                    let _ = conn.query_drop(sql).await;
                }
            });
        }
        let pool = self.pool.clone();
        let _ = self.rt.block_on(pool.disconnect());
    }
}

// ---------------------------------------------------------------------------------------
// Project files
// ---------------------------------------------------------------------------------------

/// Where a project's tables go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicMode {
    /// Every table to this topic.
    Named(String),
    /// `topic_rule = "batch"`: `Topic_<db>_<table>`.
    Batch,
}

/// The knobs of a project file that the end-to-end tests turn. Defaults from
/// [`ProjectSpec::new`]: every table of the database, schema + full + incremental, hash
/// partitioning, a named topic of its own, no DDL messages, no tx_sequence.
#[derive(Debug, Clone)]
pub struct ProjectSpec {
    /// Project name: ASCII letters and digits only.
    pub name: String,
    pub db: String,
    pub server: SourceServer,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub bootstrap: String,
    /// `sync.format` as written in the file, e.g. `"Canal"`.
    pub format: String,
    /// `"hash"` or `"one"`.
    pub partition_rule: String,
    pub types: Vec<String>,
    pub topic: TopicMode,
    /// `db.table` → shard columns.
    pub shard_columns: Vec<(String, Vec<String>)>,
    pub ddl_messages: bool,
    pub tx_sequence: bool,
    /// Raw TOML lines appended to `[sync]`, e.g. `snapshot_chunk_rows = 100`.
    pub extra_sync: Vec<String>,
    /// `target.version` as written in the file (default `"3.x"`).
    pub kafka_version: String,
    /// Raw TOML lines appended to `[target]`, e.g. `compression = "lz4"`.
    pub extra_target: Vec<String>,
    /// Extra kcat arguments for reading the topics back (e.g. `-X api.version.request=false`
    /// for Kafka 0.9).
    pub kcat_extra: Vec<String>,
}

impl ProjectSpec {
    pub fn new(services: &Services, db: &SourceDb, format: &str) -> ProjectSpec {
        let name: String = unique_name("p")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        ProjectSpec {
            name,
            db: db.name.clone(),
            server: db.server,
            host: db.host.clone(),
            port: db.port,
            user: db.project_user.clone(),
            password: db.password.clone(),
            bootstrap: services.kafka_bootstrap.clone(),
            format: format.to_string(),
            partition_rule: "hash".to_string(),
            types: vec!["schema".into(), "full".into(), "incremental".into()],
            topic: TopicMode::Named(format!("t_{}", db.name)),
            shard_columns: Vec::new(),
            ddl_messages: false,
            tx_sequence: false,
            extra_sync: Vec::new(),
            kafka_version: "3.x".to_string(),
            extra_target: Vec::new(),
            kcat_extra: Vec::new(),
        }
    }

    /// Writes the project file into `dir` and returns its path.
    pub fn write_project(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let kind = match self.server {
            SourceServer::MariaDb => "mariadb",
            SourceServer::SeekDb => "oceanbase",
        };
        let types = self
            .types
            .iter()
            .map(|t| format!("{t:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut s = format!(
            "[project]\nname = {name:?}\n\n\
             [source]\nkind = {kind:?}\nhost = {host:?}\nport = {port}\nuser = {user:?}\npassword = {password:?}\n\n\
             [target]\nbootstrap_servers = {bootstrap:?}\nversion = {version:?}\n{target}\n\
             [sync]\ntypes = [{types}]\nformat = {format:?}\npartition_rule = {rule:?}\n\
             ddl_messages = {ddl}\ntx_sequence = {tx}\ntopic_partitions = 3\n",
            name = self.name,
            host = self.host,
            port = self.port,
            user = self.user,
            password = self.password,
            bootstrap = self.bootstrap,
            version = self.kafka_version,
            target = self
                .extra_target
                .iter()
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
            format = self.format,
            rule = self.partition_rule,
            ddl = self.ddl_messages,
            tx = self.tx_sequence,
        );
        for line in &self.extra_sync {
            s.push_str(line);
            s.push('\n');
        }
        s.push_str(&format!("\n[[objects]]\ntables = [\"{}.*\"]\n", self.db));
        match &self.topic {
            TopicMode::Named(t) => s.push_str(&format!("topic = {t:?}\n")),
            TopicMode::Batch => s.push_str("topic_rule = \"batch\"\n"),
        }
        if !self.shard_columns.is_empty() {
            let entries = self
                .shard_columns
                .iter()
                .map(|(t, cols)| format!("{t:?} = {cols:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            s.push_str(&format!("shard_columns = {{ {entries} }}\n"));
        }
        let path = dir.join(format!("{}.toml", self.name));
        std::fs::write(&path, s).unwrap();
        path
    }

    /// The options the records are written with, derived from the spec by the rules of
    /// docs/configuration.md (tenant `default` for MariaDB, `sys` for `root@sys`).
    pub fn format_options(&self) -> FormatOptions {
        let kind: FormatKind = self.format.parse().expect("a known format");
        let mut opts = FormatOptions::new(kind);
        match self.server {
            SourceServer::MariaDb => opts.db_type = "MYSQL".into(),
            SourceServer::SeekDb => {
                opts.db_type = "OB_MYSQL".into();
                opts.tenant = self
                    .user
                    .split_once('@')
                    .map_or("sys", |(_, t)| t.split('#').next().unwrap())
                    .to_string();
            }
        }
        opts.source_identity = self.name.clone();
        opts
    }

    /// The topic of each of `tables` (names without the database), deduplicated.
    pub fn topics(&self, tables: &[&str]) -> Vec<String> {
        let mut topics: Vec<String> = match &self.topic {
            TopicMode::Named(t) => vec![t.clone()],
            TopicMode::Batch => tables
                .iter()
                .map(|t| format!("Topic_{}_{}", self.db, t))
                .collect(),
        };
        topics.sort();
        topics.dedup();
        topics
    }
}

// ---------------------------------------------------------------------------------------
// The obsync process
// ---------------------------------------------------------------------------------------

/// A running `obsync run`.
pub struct Obsync {
    child: Child,
    pub metrics: SocketAddr,
    pub log: PathBuf,
    exit: Option<ExitStatus>,
}

impl Obsync {
    /// Starts `obsync run -c config --state-dir state_dir` with `/status` on a free port,
    /// stdout and stderr appended to `<state_dir>.log`.
    pub fn start(config: &Path, state_dir: &Path) -> Obsync {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let metrics: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = state_dir.with_extension("log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("the log file opens");
        let child = Command::new(env!("CARGO_BIN_EXE_obsync"))
            .arg("run")
            .arg("-c")
            .arg(config)
            .arg("--state-dir")
            .arg(state_dir)
            .arg("--metrics-listen")
            .arg(metrics.to_string())
            .args(["--progress", "off"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("obsync starts");
        Obsync {
            child,
            metrics,
            log,
            exit: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `/status` as JSON, or `None` while the endpoint does not answer.
    pub fn status(&self) -> Option<serde_json::Value> {
        let mut stream = TcpStream::connect_timeout(&self.metrics, Duration::from_secs(2)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        stream
            .write_all(b"GET /status HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).ok()?;
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.") || !head.split(' ').nth(1)?.starts_with('2') {
            return None;
        }
        serde_json::from_str(body).ok()
    }

    /// Polls `/status` until `pred` holds and returns that status; panics (with the log
    /// tail) when the deadline passes or the process exits first.
    pub fn wait_for(
        &mut self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let end = Instant::now() + deadline;
        let mut last = None;
        loop {
            if let Some(s) = self.status() {
                if pred(&s) {
                    return s;
                }
                last = Some(s);
            }
            if let Some(code) = self.try_exit() {
                panic!("obsync exited with {code} while waiting for {what}; last status {last:?}");
            }
            if Instant::now() > end {
                panic!("timed out after {deadline:?} waiting for {what}; last status {last:?}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// The exit status once the process has exited (without waiting).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("try_wait");
        }
        self.exit
    }

    /// SIGTERM: a graceful stop (flush, checkpoint, exit 0).
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// SIGKILL, and reaps the process.
    pub fn kill9(&mut self) {
        self.signal("KILL");
        self.exit = Some(self.child.wait().expect("wait"));
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs")
            .success();
        assert!(
            ok || self.exit.is_some(),
            "kill -{sig} {} failed",
            self.child.id()
        );
    }

    /// Waits for the process to exit; panics after `deadline`.
    pub fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let end = Instant::now() + deadline;
        loop {
            if let Some(code) = self.try_exit() {
                return code;
            }
            if Instant::now() > end {
                panic!("obsync did not exit within {deadline:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last `n` lines of the process's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Obsync {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- last 50 lines of {} ---\n{}\n---",
                self.log.display(),
                self.log_tail(50)
            );
        }
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A fresh scratch directory for one test: `<target tmpdir>/<name>`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------
// Kafka
// ---------------------------------------------------------------------------------------

pub use obsync_testkit::kcat::KafkaRecord;

/// Every record of `topic`, sorted by (partition, offset). Panics when kcat fails.
pub fn consume(bootstrap: &str, topic: &str) -> Vec<KafkaRecord> {
    obsync_testkit::kcat::consume(bootstrap, topic)
}

/// Like [`consume`], `Err` with kcat's message (e.g. the topic does not exist yet).
pub fn try_consume(bootstrap: &str, topic: &str) -> Result<Vec<KafkaRecord>, String> {
    try_consume_with(bootstrap, &[], topic)
}

/// Like [`try_consume`], with extra kcat arguments (`-X key=value` pairs).
pub fn try_consume_with(
    bootstrap: &str,
    extra: &[String],
    topic: &str,
) -> Result<Vec<KafkaRecord>, String> {
    let mut connection = vec!["-b".to_string(), bootstrap.to_string()];
    connection.extend_from_slice(extra);
    obsync_testkit::kcat::try_consume(&connection, topic)
}

/// Records of all `topics`, sorted by (topic, partition, offset).
pub fn try_consume_all(bootstrap: &str, topics: &[String]) -> Result<Vec<KafkaRecord>, String> {
    let mut all = Vec::new();
    for t in topics {
        all.extend(try_consume(bootstrap, t)?);
    }
    Ok(all)
}

// ---------------------------------------------------------------------------------------
// Reconstruction
// ---------------------------------------------------------------------------------------

/// One distinct row of a reconstructed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowEntry {
    pub image: Image,
    /// 1 for keyed tables; the multiplicity of identical rows for tables without a key.
    pub count: usize,
}

/// A table: row key → row.
pub type TableRows = BTreeMap<String, RowEntry>;

/// Tables by `db.table`.
pub type Tables = BTreeMap<String, TableRows>;

/// The tables rebuilt from Kafka, and what it took.
#[derive(Debug, Default)]
pub struct Reconstruction {
    pub tables: Tables,
    /// Row records applied (snapshot rows, inserts, updates, deletes).
    pub applied: usize,
    /// INSERT/ROW records for a keyed row already present with an identical image
    /// (at-least-once replay of changes made during the snapshot, or after a restart).
    pub duplicates: usize,
    /// Records by operation.
    pub snapshot_rows: usize,
    pub inserts: usize,
    pub updates: usize,
    pub deletes: usize,
    pub ddls: usize,
    /// Every record, decoded, in the order applied.
    pub records: Vec<(KafkaRecord, DecodedRecord)>,
}

/// The key of `image` in `meta`'s table: its key columns' values, or the whole image for
/// tables without a usable key.
pub fn row_key(meta: &TableMeta, image: &Image) -> String {
    let cell = |name: &str| match image.get(name) {
        Some(Some(v)) => v.clone(),
        Some(None) => "\u{0}NULL".to_string(),
        None => "\u{0}ABSENT".to_string(),
    };
    if meta.key_source == KeySource::AllColumns {
        image
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("\u{0}NULL")))
            .collect::<Vec<_>>()
            .join("\u{1}")
    } else {
        meta.key
            .iter()
            .map(|&i| cell(&meta.columns[i].name))
            .collect::<Vec<_>>()
            .join("\u{1}")
    }
}

fn table_name(database: &str, table: &str) -> String {
    format!("{database}.{table}")
}

/// Applies `records` (sorted by topic, partition, offset) to empty tables: INSERT/ROW
/// upsert the after image, UPDATE removes the before key and upserts the after image,
/// DELETE removes the before key; DDL and heartbeats change nothing. Panics on a record
/// that does not decode or names a table missing from `metas`.
pub fn reconstruct(
    records: &[KafkaRecord],
    opts: &FormatOptions,
    metas: &[TableMeta],
) -> Reconstruction {
    let mut r = Reconstruction::default();
    for rec in records {
        let d = decode(opts, &rec.value, metas).unwrap_or_else(|e| {
            panic!(
                "record {}/{}@{} does not decode: {e}\n{}",
                rec.topic,
                rec.partition,
                rec.offset,
                String::from_utf8_lossy(&rec.value)
            )
        });
        match d.op {
            DecodedOp::Ddl => r.ddls += 1,
            DecodedOp::Heartbeat => {}
            op => {
                let meta = metas
                    .iter()
                    .find(|m| m.id.database == d.database && m.id.table == d.table)
                    .unwrap_or_else(|| {
                        panic!("record for unknown table {}.{}", d.database, d.table)
                    });
                let rows = r
                    .tables
                    .entry(table_name(&d.database, &d.table))
                    .or_default();
                let keyless = meta.key_source == KeySource::AllColumns;
                let image_of = |img: &Option<Image>, what: &str| {
                    img.clone()
                        .unwrap_or_else(|| panic!("{op:?} record without {what} image: {d:?}"))
                };
                match op {
                    DecodedOp::Insert | DecodedOp::Snapshot => {
                        if op == DecodedOp::Snapshot {
                            r.snapshot_rows += 1;
                        } else {
                            r.inserts += 1;
                        }
                        let after = image_of(&d.after, "an after");
                        if upsert(rows, meta, after, keyless) {
                            r.duplicates += 1;
                        }
                    }
                    DecodedOp::Update => {
                        r.updates += 1;
                        let before = image_of(&d.before, "a before");
                        remove(rows, &row_key(meta, &before), keyless);
                        upsert(rows, meta, image_of(&d.after, "an after"), keyless);
                    }
                    DecodedOp::Delete => {
                        r.deletes += 1;
                        let before = image_of(&d.before, "a before");
                        remove(rows, &row_key(meta, &before), keyless);
                    }
                    DecodedOp::Ddl | DecodedOp::Heartbeat => unreachable!(),
                }
                r.applied += 1;
            }
        }
        r.records.push((rec.clone(), d));
    }
    r
}

/// Checks the documented `storeDataSequence` contract on what `r` read (records of a
/// format that carries it, Default/DataWorks/SharePlex): in every partition the numbers
/// strictly increase in offset order, across every run that wrote there; and a consumer
/// that rebuilds the tables by sequence (full-sync rows, which have none, first; ties in
/// topic, partition, offset order) gets exactly the tables `r` rebuilt in offset order.
/// Returns how many numbered records were checked. Panics with the first offender.
#[allow(dead_code)]
pub fn assert_sequence_order(spec: &ProjectSpec, metas: &[TableMeta], r: &Reconstruction) -> usize {
    let opts = spec.format_options();
    assert!(
        !matches!(opts.kind, FormatKind::Canal),
        "Canal carries no storeDataSequence (its id is a per-run message counter)"
    );
    let mut last: BTreeMap<(String, i32), (u64, i64)> = BTreeMap::new();
    let mut numbered = 0;
    for (rec, d) in &r.records {
        let Some(seq) = d.sequence.filter(|&s| s > 0) else {
            assert!(
                d.op == DecodedOp::Snapshot,
                "{:?} record {}/{}@{} has no storeDataSequence",
                d.op,
                rec.topic,
                rec.partition,
                rec.offset
            );
            continue;
        };
        numbered += 1;
        let slot = (rec.topic.clone(), rec.partition);
        if let Some(&(prev, at)) = last.get(&slot) {
            assert!(
                seq > prev,
                "storeDataSequence went back in {}/{}: {prev} at offset {at}, then {seq} at offset {}",
                rec.topic,
                rec.partition,
                rec.offset
            );
        }
        last.insert(slot, (seq, rec.offset));
    }
    let mut by_sequence: Vec<&(KafkaRecord, DecodedRecord)> = r.records.iter().collect();
    by_sequence.sort_by_key(|(rec, d)| {
        (
            d.sequence.unwrap_or(0),
            rec.topic.clone(),
            rec.partition,
            rec.offset,
        )
    });
    let records: Vec<KafkaRecord> = by_sequence.into_iter().map(|(k, _)| k.clone()).collect();
    let sorted = reconstruct(&records, &opts, metas);
    if let Some(d) = diff_tables(&r.tables, &sorted.tables) {
        panic!("rebuilt by storeDataSequence, the tables differ from the offset-order rebuild (left: offset order, right: by sequence):\n{d}");
    }
    numbered
}

/// Returns true when a keyed row with an identical image was already there.
pub fn upsert(rows: &mut TableRows, meta: &TableMeta, image: Image, keyless: bool) -> bool {
    let key = row_key(meta, &image);
    if keyless {
        rows.entry(key)
            .or_insert(RowEntry { image, count: 0 })
            .count += 1;
        return false;
    }
    let dup = rows.get(&key).is_some_and(|e| e.image == image);
    rows.insert(key, RowEntry { image, count: 1 });
    dup
}

pub fn remove(rows: &mut TableRows, key: &str, keyless: bool) {
    if keyless {
        if let Some(e) = rows.get_mut(key) {
            e.count -= 1;
            if e.count == 0 {
                rows.remove(key);
            }
        }
    } else {
        rows.remove(key);
    }
}

/// The source tables `metas` as they are now, read with obsync's metadata and snapshot
/// readers and rendered with `canonical_image`.
pub fn source_state(db: &SourceDb, metas: &[TableMeta]) -> Tables {
    let endpoint = db.endpoint();
    db.rt.block_on(async {
        let pool = endpoint.pool().await.unwrap();
        let mut tables = Tables::new();
        for meta in metas {
            let meta = Arc::new(meta.clone());
            let reader = SnapshotReader::new(pool.clone(), meta.clone(), 1000);
            let mut rows = Vec::new();
            if reader.is_chunked() {
                let mut after = None;
                loop {
                    let chunk = reader
                        .read_chunk(after.as_deref())
                        .await
                        .unwrap_or_else(|e| panic!("reading {}: {e}", meta.id));
                    rows.extend(chunk.rows);
                    match chunk.last_key {
                        Some(k) => after = Some(k),
                        None => break,
                    }
                }
            } else {
                let (tx, mut rx) = tokio::sync::mpsc::channel(4);
                let read = async {
                    let n = reader.stream_all(tx).await;
                    n.unwrap_or_else(|e| panic!("reading {}: {e}", meta.id))
                };
                let collect = async {
                    let mut all = Vec::new();
                    while let Some(batch) = rx.recv().await {
                        all.extend(batch);
                    }
                    all
                };
                let (_, all) = tokio::join!(read, collect);
                rows = all;
            }
            let keyless = meta.key_source == KeySource::AllColumns;
            let t = tables
                .entry(table_name(&meta.id.database, &meta.id.table))
                .or_default();
            for row in &rows {
                upsert(t, &meta, canonical_image(&meta, row), keyless);
            }
        }
        let _ = pool.disconnect().await;
        tables
    })
}

/// A readable difference between `expected` (the source) and `actual` (Kafka), or `None`
/// when equal. Lists missing and extra rows and, for rows in both, the differing columns.
pub fn diff_tables(expected: &Tables, actual: &Tables) -> Option<String> {
    const MAX_LINES: usize = 30;
    let mut lines = Vec::new();
    let empty = TableRows::new();
    let names: std::collections::BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    for name in names {
        let e = expected.get(name).unwrap_or(&empty);
        let a = actual.get(name).unwrap_or(&empty);
        if e == a {
            continue;
        }
        lines.push(format!(
            "table {name}: source has {} rows, Kafka {}",
            count_rows(e),
            count_rows(a)
        ));
        for (key, row) in e {
            match a.get(key) {
                None => lines.push(format!("  missing in Kafka: key {key:?} {:?}", row.image)),
                Some(other) if other == row => {}
                Some(other) => {
                    if other.count != row.count {
                        lines.push(format!(
                            "  key {key:?}: {} copies in source, {} in Kafka",
                            row.count, other.count
                        ));
                    }
                    let cols: std::collections::BTreeSet<&String> =
                        row.image.keys().chain(other.image.keys()).collect();
                    for c in cols {
                        let (x, y) = (row.image.get(c), other.image.get(c));
                        if x != y {
                            lines.push(format!(
                                "  key {key:?} column {c}: source {x:?}, Kafka {y:?}"
                            ));
                        }
                    }
                }
            }
        }
        for (key, row) in a {
            if !e.contains_key(key) {
                lines.push(format!(
                    "  extra in Kafka: key {key:?} x{} {:?}",
                    row.count, row.image
                ));
            }
        }
    }
    if lines.is_empty() {
        return None;
    }
    let total = lines.len();
    lines.truncate(MAX_LINES);
    if total > MAX_LINES {
        lines.push(format!("  … {} more lines", total - MAX_LINES));
    }
    Some(lines.join("\n"))
}

fn count_rows(t: &TableRows) -> usize {
    t.values().map(|r| r.count).sum()
}

/// Polls until the reconstruction of `spec`'s topics equals the source tables `tables`
/// (names without the database), and returns it. Panics with the diff at `deadline`.
pub fn wait_until_equal(
    db: &SourceDb,
    spec: &ProjectSpec,
    tables: &[&str],
    deadline: Duration,
) -> Reconstruction {
    let end = Instant::now() + deadline;
    let opts = spec.format_options();
    let topics = spec.topics(tables);
    loop {
        let metas = db.table_metas(tables);
        let expected = source_state(db, &metas);
        let consumed: Result<Vec<KafkaRecord>, String> = topics
            .iter()
            .map(|t| try_consume_with(&spec.bootstrap, &spec.kcat_extra, t))
            .collect::<Result<Vec<_>, _>>()
            .map(|all| all.into_iter().flatten().collect());
        let problem = match consumed {
            Err(e) => e,
            Ok(records) => {
                let r = reconstruct(&records, &opts, &metas);
                // A table with no rows on either side compares equal to an absent one.
                let mut actual = r.tables.clone();
                for (name, rows) in &expected {
                    if rows.is_empty() {
                        actual.entry(name.clone()).or_default();
                    }
                }
                match diff_tables(&expected, &actual) {
                    None => return r,
                    Some(d) => d,
                }
            }
        };
        if Instant::now() > end {
            panic!("Kafka does not reconstruct the source after {deadline:?}:\n{problem}");
        }
        std::thread::sleep(POLL * 3);
    }
}
