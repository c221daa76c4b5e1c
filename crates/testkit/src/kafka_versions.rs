//! Private Apache Kafka brokers of several releases (0.9 to 4.x), for the version-matrix and
//! security tests.
//!
//! The jars come from Maven Central through `scripts/kafka/versions/<release>/pom.xml`
//! (3.9 uses the shared broker's jars) and are cached in
//! `.obsync-dev/kafka-versions/<release>/libs`: fetched once, again only when the POM changes.
//! Each broker (and, before 2.8's KRaft era, its ZooKeeper) runs as a child of the test from
//! a directory of its own under `.obsync-dev/private/`, on free loopback ports; dropping the
//! [`KafkaBroker`] kills both and removes the directory. The recipe and its pitfalls are in
//! docs/kafka-versions.md.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{free_port, run_checked, ServerProcess};
use crate::{unique_name, Services};

const HOST: &str = "127.0.0.1";
/// Seconds to answer: 1-3 s idle on 2 cores (see docs/kafka-versions.md), far more while
/// cargo compiles beside it.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
const BROKER_HEAP: [&str; 2] = ["-Xms128m", "-Xmx320m"];
const ZOOKEEPER_HEAP: &str = "-Xmx64m";
const TOOL_HEAP: &str = "-Xmx160m";

/// The Kafka releases the tests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KafkaRelease {
    /// 0.9.0.1, ZooKeeper. No ApiVersions, no CreateTopics, message format v0.
    V0_9,
    /// 1.0.2, ZooKeeper.
    V1_0,
    /// 2.8.2, ZooKeeper.
    V2_8,
    /// 3.9.1, KRaft: the shared broker's release and jars.
    V3_9,
    /// 4.1.1, KRaft.
    V4_1,
}

impl KafkaRelease {
    pub const ALL: [KafkaRelease; 5] = [
        KafkaRelease::V0_9,
        KafkaRelease::V1_0,
        KafkaRelease::V2_8,
        KafkaRelease::V3_9,
        KafkaRelease::V4_1,
    ];

    /// The exact release, e.g. `"0.9.0.1"`.
    pub fn version(self) -> &'static str {
        match self {
            KafkaRelease::V0_9 => "0.9.0.1",
            KafkaRelease::V1_0 => "1.0.2",
            KafkaRelease::V2_8 => "2.8.2",
            KafkaRelease::V3_9 => "3.9.1",
            KafkaRelease::V4_1 => "4.1.1",
        }
    }

    /// What a project file writes in `[target] version` for it.
    pub fn config_version(self) -> &'static str {
        match self {
            KafkaRelease::V0_9 => "0.9",
            KafkaRelease::V1_0 => "1.0",
            KafkaRelease::V2_8 => "2.x",
            KafkaRelease::V3_9 => "3.x",
            KafkaRelease::V4_1 => "4.x",
        }
    }

    fn zookeeper(self) -> bool {
        self <= KafkaRelease::V2_8
    }

    /// Extra `kcat` / librdkafka properties a client of this broker needs: 0.9 never
    /// answers ApiVersions (librdkafka would wait 10 s per connection, then fall back).
    pub fn client_properties(self) -> &'static [(&'static str, &'static str)] {
        match self {
            KafkaRelease::V0_9 => &[
                ("api.version.request", "false"),
                ("broker.version.fallback", "0.9.0.1"),
            ],
            _ => &[],
        }
    }
}

/// A listener besides the PLAINTEXT one every broker has (tools and readiness use that one).
#[derive(Debug, Clone)]
pub struct ListenerSpec {
    /// Listener name, upper case: `SASL_PLAIN`, `MTLS`, …
    pub name: String,
    /// `SASL_PLAINTEXT`, `SSL` or `SASL_SSL`.
    pub protocol: String,
}

/// How to configure a broker beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct BrokerOptions {
    pub listeners: Vec<ListenerSpec>,
    /// `server.properties` lines appended as given (per-listener SASL and TLS settings).
    pub properties: String,
    /// JVM options of the broker, before its main class (`-Djava.security.krb5.conf=…`).
    pub jvm_options: Vec<String>,
    /// The PLAINTEXT port; a free one when `None`.
    pub port: Option<u16>,
}

/// A broker of one release, with its ZooKeeper for releases before KRaft.
pub struct KafkaBroker {
    release: KafkaRelease,
    dir: PathBuf,
    libs: PathBuf,
    port: u16,
    zookeeper_port: Option<u16>,
    listener_ports: Vec<(String, u16)>,
    zookeeper: Option<ServerProcess>,
    kafka: ServerProcess,
}

impl KafkaBroker {
    /// A PLAINTEXT broker of `release`, started and answering metadata.
    ///
    /// # Panics
    /// When the jars cannot be fetched or the broker does not start (with its log tail).
    pub fn spawn(release: KafkaRelease) -> KafkaBroker {
        KafkaBroker::spawn_with(release, BrokerOptions::default())
    }

    /// Like [`KafkaBroker::spawn`], with extra listeners and properties.
    pub fn spawn_with(release: KafkaRelease, options: BrokerOptions) -> KafkaBroker {
        let services = Services::load();
        let libs = release_libs(&services, release);
        let dir = services.dev_dir.join("private").join(unique_name(&format!(
            "kafka_{}",
            release.version().replace('.', "_")
        )));
        std::fs::create_dir_all(dir.join("logs"))
            .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let port = options.port.unwrap_or_else(free_port);
        let listener_ports: Vec<(String, u16)> = options
            .listeners
            .iter()
            .map(|l| (l.name.clone(), free_port()))
            .collect();

        let zookeeper_port = release.zookeeper().then(free_port);
        let zookeeper = zookeeper_port.map(|zk_port| {
            write(
                &dir.join("zookeeper.properties"),
                &format!(
                    "dataDir={}\nclientPort={zk_port}\nclientPortAddress={HOST}\ntickTime=2000\n\
                     maxClientCnxns=0\nadmin.enableServer=false\n",
                    dir.join("zookeeper").display()
                ),
            );
            write_log4j(&dir, "zookeeper", false);
            let mut args = jvm_args(&libs, &dir, "zookeeper", release);
            args.push(ZOOKEEPER_HEAP.into());
            args.push("org.apache.zookeeper.server.ZooKeeperServerMain".into());
            args.push(dir.join("zookeeper.properties").into());
            let mut process = ServerProcess::new(
                format!("ZooKeeper of Kafka {} on port {zk_port}", release.version()),
                PathBuf::from("java"),
                args,
                dir.join("logs/zookeeper.out"),
                dir.join("zookeeper.pid"),
            )
            .with_extra_log(dir.join("logs/zookeeper.log"));
            process.start();
            process.wait_until(READY_TIMEOUT, || {
                std::net::TcpStream::connect((HOST, zk_port)).is_ok()
            });
            process
        });

        let controller_port = (!release.zookeeper()).then(free_port);
        write(
            &dir.join("server.properties"),
            &server_properties(
                release,
                &dir,
                port,
                zookeeper_port,
                controller_port,
                &options,
                &listener_ports,
            ),
        );
        write_log4j(&dir, "kafka", release == KafkaRelease::V4_1);
        if !release.zookeeper() {
            let mut format = Command::new("java");
            format
                .args(jvm_args(&libs, &dir, "tools", release))
                .arg(TOOL_HEAP)
                .arg("kafka.tools.StorageTool")
                .args(["format", "-t", "MkU3OEVBNTcwNTJENDM2Qk", "-c"])
                .arg(dir.join("server.properties"));
            run_checked(&mut format, "formatting the storage of a private Kafka");
        }
        let mut args = jvm_args(&libs, &dir, "kafka", release);
        args.extend(BROKER_HEAP.map(OsString::from));
        args.extend(options.jvm_options.iter().map(OsString::from));
        args.push("kafka.Kafka".into());
        args.push(dir.join("server.properties").into());
        let kafka = ServerProcess::new(
            format!("private Kafka {} on port {port}", release.version()),
            PathBuf::from("java"),
            args,
            dir.join("logs/kafka.out"),
            dir.join("kafka.pid"),
        )
        .with_extra_log(dir.join("logs/kafka.log"));
        let mut broker = KafkaBroker {
            release,
            dir,
            libs,
            port,
            zookeeper_port,
            listener_ports,
            zookeeper,
            kafka,
        };
        broker.start();
        broker
    }

    pub fn release(&self) -> KafkaRelease {
        self.release
    }

    /// `127.0.0.1:<port>` of the PLAINTEXT listener.
    pub fn bootstrap(&self) -> String {
        format!("{HOST}:{}", self.port)
    }

    /// `127.0.0.1:<port>` of an extra listener.
    ///
    /// # Panics
    /// When the broker has no listener of that name.
    pub fn listener(&self, name: &str) -> String {
        let (_, port) = self
            .listener_ports
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("the broker has no listener {name}"));
        format!("{HOST}:{port}")
    }

    /// The broker's directory: config, `data/` (the log dirs), `logs/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The jars the broker runs, for Kafka's own tools.
    pub fn libs(&self) -> &Path {
        &self.libs
    }

    /// `kcat` arguments that reach the PLAINTEXT listener: `-b` and the release's `-X`s.
    pub fn kcat_args(&self) -> Vec<String> {
        let mut args = vec!["-b".to_string(), self.bootstrap()];
        for (key, value) in self.release.client_properties() {
            args.push("-X".into());
            args.push(format!("{key}={value}"));
        }
        args
    }

    /// Starts the broker again after [`KafkaBroker::stop`] or [`KafkaBroker::kill`] (same
    /// directory and ports) and waits until it serves metadata.
    pub fn start(&mut self) {
        self.kafka.start();
        let args = self.kcat_args();
        self.kafka
            .wait_until(READY_TIMEOUT, || crate::kcat::broker_answers(&args));
    }

    /// Controlled shutdown (SIGTERM).
    pub fn stop(&mut self) {
        self.kafka.terminate(STOP_TIMEOUT);
    }

    /// SIGKILL: a crash.
    pub fn kill(&mut self) {
        self.kafka.kill();
    }

    /// Creates `topic` with Kafka's own TopicCommand of this release.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let partitions = partitions.to_string();
        let mut args: Vec<String> = Vec::new();
        let class = match self.zookeeper_port {
            // Before 2.2 TopicCommand only talks to ZooKeeper.
            Some(zk) => {
                args.extend(["--zookeeper".into(), format!("{HOST}:{zk}")]);
                "kafka.admin.TopicCommand"
            }
            None => {
                args.extend(["--bootstrap-server".into(), self.bootstrap()]);
                "org.apache.kafka.tools.TopicCommand"
            }
        };
        args.extend(["--create", "--topic", topic, "--partitions", &partitions].map(String::from));
        args.extend(["--replication-factor".to_string(), "1".to_string()]);
        self.run_tool(class, &args);
    }

    /// Runs a main class from the broker's jars (warnings to stderr) and returns its stdout.
    ///
    /// # Panics
    /// With its output when it fails.
    pub fn run_tool<S: AsRef<std::ffi::OsStr>>(&self, class: &str, args: &[S]) -> String {
        let mut cmd = Command::new("java");
        cmd.args(jvm_args(&self.libs, &self.dir, "tools", self.release))
            .arg(TOOL_HEAP)
            .arg(class)
            .args(args);
        run_checked(
            &mut cmd,
            &format!("{class} of Kafka {}", self.release.version()),
        )
    }

    /// Gives `user` a SCRAM credential for `mechanism` (`SCRAM-SHA-256` or `-512`).
    /// SCRAM credentials live in the cluster metadata, so the broker's own tool writes
    /// them; one mechanism per call (3.9 refuses two for one user in one request).
    pub fn add_scram_user(&self, mechanism: &str, user: &str, password: &str) {
        self.run_tool(
            "kafka.admin.ConfigCommand",
            &[
                "--bootstrap-server",
                &self.bootstrap(),
                "--alter",
                "--entity-type",
                "users",
                "--entity-name",
                user,
                "--add-config",
                &format!("{mechanism}=[password={password}]"),
            ],
        );
    }

    /// Kafka's `DumpLogSegments --print-data-log` of the first segment of `topic`'s
    /// `partition`: how the broker stored the messages (magic, codec, timestamps).
    pub fn dump_log_segment(&self, topic: &str, partition: i32) -> String {
        let segment = self
            .dir
            .join("data")
            .join(format!("{topic}-{partition}"))
            .join("00000000000000000000.log");
        self.run_tool(
            "kafka.tools.DumpLogSegments",
            &[
                OsString::from("--print-data-log"),
                OsString::from("--files"),
                segment.into(),
            ],
        )
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        self.kafka.kill();
        if let Some(zk) = &mut self.zookeeper {
            zk.kill();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn server_properties(
    release: KafkaRelease,
    dir: &Path,
    port: u16,
    zookeeper_port: Option<u16>,
    controller_port: Option<u16>,
    options: &BrokerOptions,
    listener_ports: &[(String, u16)],
) -> String {
    let mut listeners = vec![format!("PLAINTEXT://{HOST}:{port}")];
    let mut protocols = vec!["PLAINTEXT:PLAINTEXT".to_string()];
    for (spec, (_, p)) in options.listeners.iter().zip(listener_ports) {
        listeners.push(format!("{}://{HOST}:{p}", spec.name));
        protocols.push(format!("{}:{}", spec.name, spec.protocol));
    }
    let advertised = listeners.join(",");
    let mut s = format!(
        "log.dirs={data}\nnum.partitions=3\nauto.create.topics.enable=false\n\
         delete.topic.enable=true\ninter.broker.listener.name=PLAINTEXT\n",
        data = dir.join("data").display()
    );
    match (zookeeper_port, controller_port) {
        (Some(zk), _) => {
            s.push_str(&format!(
                "broker.id=0\nzookeeper.connect={HOST}:{zk}\nlisteners={advertised}\n"
            ));
        }
        (None, Some(controller)) => {
            listeners.push(format!("CONTROLLER://{HOST}:{controller}"));
            protocols.push("CONTROLLER:PLAINTEXT".into());
            s.push_str(&format!(
                "process.roles=broker,controller\nnode.id=1\n\
                 controller.quorum.voters=1@{HOST}:{controller}\n\
                 controller.listener.names=CONTROLLER\nlisteners={}\n",
                listeners.join(",")
            ));
        }
        (None, None) => unreachable!("a broker has ZooKeeper or a controller"),
    }
    s.push_str(&format!(
        "advertised.listeners={advertised}\nlistener.security.protocol.map={}\n",
        protocols.join(",")
    ));
    if release == KafkaRelease::V0_9 {
        // librdkafka's default group session timeout (45 s) is above 0.9's maximum (30 s):
        // kcat's group consumers would be refused.
        s.push_str("group.max.session.timeout.ms=300000\n");
    } else {
        // Mandatory on one broker: the default replication factor 3 leaves group and
        // transaction state topics uncreatable, and consumers hang without a word.
        s.push_str(
            "offsets.topic.replication.factor=1\noffsets.topic.num.partitions=3\n\
             transaction.state.log.replication.factor=1\ntransaction.state.log.min.isr=1\n\
             transaction.state.log.num.partitions=3\ngroup.initial.rebalance.delay.ms=0\n",
        );
    }
    s.push_str(&options.properties);
    s
}

/// A log4j config per process (`kafka`, `zookeeper`, `tools`); log4j 2 for Kafka 4.
fn write_log4j(dir: &Path, process: &str, log4j2: bool) {
    let log = dir.join("logs").join(format!("{process}.log"));
    let (file, text) = if log4j2 {
        (
            format!("log4j2-{process}.properties"),
            format!(
                "status = warn\nappender.f.type = File\nappender.f.name = F\n\
                 appender.f.fileName = {}\nappender.f.layout.type = PatternLayout\n\
                 appender.f.layout.pattern = [%d] %p %m (%c)%n\nrootLogger.level = INFO\n\
                 rootLogger.appenderRef.f.ref = F\n",
                log.display()
            ),
        )
    } else {
        (
            format!("log4j-{process}.properties"),
            format!(
                "log4j.rootLogger=INFO, F\nlog4j.appender.F=org.apache.log4j.FileAppender\n\
                 log4j.appender.F.File={}\nlog4j.appender.F.layout=org.apache.log4j.PatternLayout\n\
                 log4j.appender.F.layout.ConversionPattern=[%d] %p %m (%c)%n\n\
                 log4j.logger.kafka.request.logger=WARN\nlog4j.logger.state.change.logger=WARN\n",
                log.display()
            ),
        )
    };
    write(&dir.join(file), &text);
}

/// JVM flags of one process of a broker; heap and main class follow. Serial GC: fewer
/// threads on a 2-core machine running several brokers.
fn jvm_args(libs: &Path, dir: &Path, process: &str, release: KafkaRelease) -> Vec<OsString> {
    if process == "tools" && !dir.join("log4j-tools.properties").exists() {
        // Tools log warnings only, to stderr.
        write(
            &dir.join("log4j-tools.properties"),
            "log4j.rootLogger=WARN, E\nlog4j.appender.E=org.apache.log4j.ConsoleAppender\n\
             log4j.appender.E.Target=System.err\nlog4j.appender.E.layout=org.apache.log4j.PatternLayout\n\
             log4j.appender.E.layout.ConversionPattern=%p %m (%c)%n\n",
        );
        write(
            &dir.join("log4j2-tools.properties"),
            "status = warn\nappender.e.type = Console\nappender.e.name = E\n\
             appender.e.target = SYSTEM_ERR\nappender.e.layout.type = PatternLayout\n\
             appender.e.layout.pattern = %p %m (%c)%n\nrootLogger.level = WARN\n\
             rootLogger.appenderRef.e.ref = E\n",
        );
    }
    let log_config = if release == KafkaRelease::V4_1 {
        format!(
            "-Dlog4j2.configurationFile={}",
            dir.join(format!("log4j2-{process}.properties")).display()
        )
    } else {
        format!(
            "-Dlog4j.configuration=file:{}",
            dir.join(format!("log4j-{process}.properties")).display()
        )
    };
    let mut cp = libs.as_os_str().to_owned();
    cp.push("/*");
    vec![
        "-XX:+UseSerialGC".into(),
        "-XX:+ExitOnOutOfMemoryError".into(),
        "-Djava.awt.headless=true".into(),
        log_config.into(),
        format!("-Dkafka.logs.dir={}", dir.join("logs").display()).into(),
        "-cp".into(),
        cp,
    ]
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// The jars of `release`, fetched by Maven on first use and cached.
///
/// # Panics
/// With Maven's output when the fetch fails.
pub fn release_libs(services: &Services, release: KafkaRelease) -> PathBuf {
    if release == KafkaRelease::V3_9 {
        return services.kafka_libs.clone();
    }
    let pom_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/kafka/versions")
        .join(release.version())
        .join("pom.xml");
    let home = services
        .dev_dir
        .join("kafka-versions")
        .join(release.version());
    crate::maven::pom_libs(
        &pom_path,
        &home,
        &format!("the Kafka {} jars", release.version()),
    )
}
