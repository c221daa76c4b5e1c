//! Command-line arguments and help texts.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Replicates OceanBase CE / MySQL / MariaDB tables into Kafka in OMS message formats.
///
/// A project file (TOML) says what to sync: the source database, the Kafka cluster, the
/// sync types (schema, full, incremental), the message format and which tables go to which
/// topics. See docs/configuration.md and examples/.
#[derive(Debug, Parser)]
#[command(name = "obsync", version, propagate_version = true)]
#[command(after_help = "Example:\n  \
    export OBSYNC_SOURCE_PASSWORD=...\n  \
    obsync validate -c examples/project.toml\n  \
    obsync precheck -c examples/project.toml\n  \
    obsync run -c examples/project.toml\n\n\
    Logging: set RUST_LOG (default \"info\"), e.g. RUST_LOG=obsync=debug.")]
pub struct Cli {
    /// Log line format on stderr.
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Text, env = "OBSYNC_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a project: schema sync, then full sync, then incremental sync, until stopped.
    ///
    /// Progress and the incremental checkpoint are kept in the state directory, so a
    /// restarted run continues where it stopped.
    #[command(
        after_help = "Example:\n  obsync run -c orders.toml --state-dir /var/lib/obsync/orders"
    )]
    Run(RunArgs),

    /// Check a project before starting it: source connectivity and privileges, binlog
    /// availability, Kafka connectivity, topics, table names and shard columns.
    ///
    /// Every failed item says what is wrong and how to fix it. Rerun until it passes.
    #[command(after_help = "Example:\n  obsync precheck -c orders.toml")]
    Precheck(PrecheckArgs),

    /// Check a project file without connecting anywhere and print what it defines.
    ///
    /// Prints each problem as FILE:LINE:COL: field: message (fix) and exits with 2, or
    /// prints a summary and exits with 0. Environment variables named by password_env
    /// must be set.
    #[command(after_help = "Example:\n  obsync validate -c examples/project.toml")]
    Validate(ValidateArgs),

    /// Compare the tables rebuilt from the project's topics with the source, read only.
    ///
    /// Reads each topic from its first offset up to its end as the read starts (no
    /// consumer group, nothing committed), rebuilds each table's latest rows and compares
    /// them with the source in key-ordered chunks. Keys that differ are checked again a
    /// few times, since the source keeps changing and the project may lag. Prints, per
    /// table, the rows checked and the missing, extra and different keys with examples.
    /// Exits 0 when clean, 1 on differences, 2 on errors. See docs/verify.md.
    #[command(after_help = "Example:\n  obsync verify -c orders.toml")]
    Verify(VerifyArgs),

    /// Record the source's facts and a bounded dump of its binlog into one file, to
    /// attach to a bug report.
    ///
    /// The file (JSON Lines, docs/mysql-sources.md "Reporting a bug with a capture")
    /// holds the server's variables, SHOW MASTER STATUS, SHOW BINARY LOGS, the chosen
    /// tables' CREATE TABLE and column facts, then the raw binlog events as the server
    /// sent them. Only [source] of the project file is used (and [[objects]] when
    /// --tables is not given). Stops at --events, --seconds, --to or Ctrl-C, whichever
    /// comes first; --mask replaces row values while keeping every event decodable.
    #[command(after_help = "Examples:\n  \
        obsync capture -c orders.toml -o bug.capture.jsonl --mask\n  \
        obsync capture -c orders.toml -o bug.capture.jsonl --tables 'shop.*' --from end --seconds 60\n  \
        obsync capture -c orders.toml -o bug.capture.jsonl --from mysql-bin.000042:4 --to mysql-bin.000042:90210")]
    Capture(CaptureArgs),

    /// Serve the web console and REST API for managing projects.
    #[command(
        after_help = "Example:\n  OBSYNC_ADMIN_PASSWORD=... obsync server --data-dir /var/lib/obsync --listen 127.0.0.1:8080"
    )]
    Server(ServerArgs),
}

/// Arguments of `obsync run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The project file (TOML).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,

    /// Where checkpoints and progress are kept between runs.
    #[arg(long, value_name = "DIR", default_value = ".obsync-state")]
    pub state_dir: PathBuf,

    /// Serve Prometheus metrics (`/metrics`) and the status as JSON (`/status`) here;
    /// `off` disables the endpoint.
    #[arg(long, value_name = "ADDR|off", default_value = "127.0.0.1:9464")]
    pub metrics_listen: String,

    /// Start without running the precheck first (it still runs the stages' own checks).
    #[arg(long)]
    pub skip_precheck: bool,

    /// How progress is shown on stderr: `bars` (a terminal), `lines` (a status line
    /// every 10 s, for logs), or `off`. Default: bars on a terminal, lines otherwise.
    #[arg(long, value_name = "MODE")]
    pub progress: Option<ProgressMode>,
}

/// How `obsync run` shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    Bars,
    Lines,
    Off,
}

/// Arguments of `obsync precheck`.
#[derive(Debug, Args)]
pub struct PrecheckArgs {
    /// The project file (TOML).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,

    /// The state directory `obsync run` uses: a resume is checked from its checkpoint
    /// (read only, never changed).
    #[arg(long, value_name = "DIR", default_value = ".obsync-state")]
    pub state_dir: PathBuf,
}

/// Arguments of `obsync verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The project file (TOML).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,

    /// The state directory `obsync run` uses; verify keeps only its private Kerberos
    /// ticket cache there (GSSAPI targets).
    #[arg(long, value_name = "DIR", default_value = ".obsync-state")]
    pub state_dir: PathBuf,

    /// Example keys shown per kind of difference and table.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub examples: usize,

    /// Source rows read per chunk.
    #[arg(long, value_name = "ROWS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub chunk_rows: u64,

    /// How many times a differing key is checked again before it is reported (waiting
    /// 0.5 s, 1 s, 2 s, … before each check).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub rechecks: u32,

    /// Show progress on stderr (on a terminal only).
    #[arg(long, value_name = "MODE", default_value = "bars")]
    pub progress: VerifyProgress,
}

/// How `obsync verify` shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyProgress {
    /// A spinner line on a terminal (nothing when stderr is not a terminal).
    Bars,
    Off,
}

/// Arguments of `obsync capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The project file (TOML): its [source] says where to connect.
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,

    /// The capture file to write (it must not exist yet).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Tables whose definitions are recorded, as comma-separated database.table
    /// patterns (`*` matches any run of characters), e.g. `shop.orders,crm.*`. Default:
    /// the project's tables.
    #[arg(long, value_name = "PATTERNS", value_delimiter = ',')]
    pub tables: Vec<String>,

    /// Where the dump starts: `last-file` (the newest binlog file from its start),
    /// `end` (from now on: reproduce the problem while capturing) or `FILE:POS` (an
    /// event boundary, as SHOW BINLOG EVENTS lists them).
    #[arg(long, value_name = "WHERE", default_value = "last-file")]
    pub from: String,

    /// Stop at this `FILE:POS` (an event boundary), recording no event that ends past it.
    #[arg(long, value_name = "FILE:POS")]
    pub to: Option<String>,

    /// Stop after this many events.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub events: u64,

    /// Stop after this many seconds.
    #[arg(long, value_name = "S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub seconds: u64,

    /// Replace row values (numbers, strings, JSON, binary data) by masked values of the
    /// same type and size, and statement texts by comments; dates, times, ENUM, SET,
    /// BIT, NULLs, names and DDL are kept. See the docs for exactly what is kept.
    #[arg(long)]
    pub mask: bool,
}

/// Arguments of `obsync validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The project file (TOML).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

/// Arguments of `obsync server`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServerArgs {
    #[command(subcommand)]
    pub command: Option<ServerCommand>,

    /// Address and port to listen on. A non-loopback address needs TLS (--tls-cert and
    /// --tls-key) or --insecure-listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Where the server keeps its database, secret key and the projects' checkpoints.
    #[arg(long, value_name = "DIR", default_value = ".obsync-server")]
    pub data_dir: PathBuf,

    /// Listen on a non-loopback address without TLS (a TLS proxy in front).
    #[arg(long)]
    pub insecure_listen: bool,

    /// Serve HTTPS with this PEM certificate (followed by its intermediates).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert (unencrypted).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// A host name the server is reached by (a DNS name or a proxy's), besides its IP
    /// addresses and localhost; repeat for several. Requests naming other hosts are
    /// refused (421), which stops DNS-rebinding attacks from web pages.
    #[arg(
        long,
        value_name = "NAME",
        env = "OBSYNC_PUBLIC_NAMES",
        value_delimiter = ','
    )]
    pub public_name: Vec<String>,

    /// Open HTTP connections at most; more wait for a free one. Default: a quarter of the
    /// open-files limit, 16 to 1,024.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: Option<u32>,

    /// Seconds a connection may stay silent (before its request headers, or between
    /// requests) before the server closes it. Default 15.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: Option<u64>,

    /// The secret key file (32 bytes, mode 0600; created when missing) sealing the data
    /// sources' passwords. Every server of a cluster is given the same file. Default:
    /// secret.key in --data-dir.
    #[arg(long, value_name = "FILE", env = "OBSYNC_SECRET_KEY_FILE")]
    pub secret_key: Option<PathBuf>,

    /// Join cluster NAME: the servers started with the same NAME and --control-kafka
    /// share their projects, each running those of the buckets Kafka assigns it
    /// (docs/cluster.md). Without it the server runs alone. Needs --control-kafka or
    /// --control-kafka-config.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// Bootstrap servers (host:port,...) of the Kafka coordinating the cluster, reached in
    /// plaintext (it needs transactions: Kafka 1.0 or newer). It may be a projects'
    /// target. For SASL or TLS use --control-kafka-config instead.
    #[arg(long, value_name = "HOST:PORT,...", requires = "cluster")]
    pub control_kafka: Option<String>,

    /// The Kafka coordinating the cluster, from a TOML file with one [target] table
    /// written as in a project file: bootstrap_servers, version, [target.sasl] (PLAIN,
    /// SCRAM-SHA-256, SCRAM-SHA-512; the password in the file or from password_env) and
    /// [target.tls] (ca_file, cert_file/key_file, verify_hostname, on by default).
    #[arg(
        long,
        value_name = "FILE",
        requires = "cluster",
        conflicts_with = "control_kafka"
    )]
    pub control_kafka_config: Option<PathBuf>,

    /// Buckets of a new cluster (partitions of its bucket topic), fixed at creation; at
    /// most as many servers as buckets share the work. Default 16; an existing cluster
    /// keeps its count, and a different one given here is refused.
    #[arg(long, value_name = "P", requires = "cluster", value_parser = clap::value_parser!(i32).range(1..=256))]
    pub buckets: Option<i32>,

    /// This server's name in the cluster, the same across its restarts (a restart within
    /// the session timeout then moves no bucket). Default: the host name.
    #[arg(long, value_name = "ID", requires = "cluster", env = "OBSYNC_NODE_ID")]
    pub node_id: Option<String>,

    /// Seconds after which the cluster deems a silent server gone and moves its buckets
    /// (the group's session timeout; the broker allows 6 to 300 by default). Default 10.
    #[arg(long, value_name = "SECONDS", requires = "cluster", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub session_timeout: Option<u64>,

    /// Give every streaming project a binlog dump of its own instead of one dump per
    /// source endpoint shared by all projects on it.
    #[arg(long)]
    pub no_shared_stream: bool,
}

/// Maintenance of a stopped server's data directory.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Set the password of user "admin" (making it admin again if it was demoted) and end
    /// its sessions. The server must be stopped.
    ///
    /// The new password (at least 12 characters) comes from OBSYNC_ADMIN_PASSWORD when
    /// set, else from the first line of standard input. Nothing secret is printed.
    #[command(after_help = "Example:\n  \
        obsync server reset-admin-password --data-dir /var/lib/obsync < new-password.txt")]
    ResetAdminPassword(ResetAdminPasswordArgs),
}

/// Arguments of `obsync server reset-admin-password`.
#[derive(Debug, Args)]
pub struct ResetAdminPasswordArgs {
    /// The data directory of the (stopped) server.
    #[arg(long, value_name = "DIR", default_value = ".obsync-server")]
    pub data_dir: PathBuf,
}
