//! A private single-node Kafka broker for fault tests, and topic creation.

use std::collections::hash_map::RandomState;
use std::ffi::OsString;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{free_port, run_checked, ServerProcess};
use crate::{unique_name, Services};

const HOST: &str = "127.0.0.1";
/// A broker starts in 3-6 s on 2 idle cores; compiling next to it can triple that.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// A controlled shutdown of a single node takes a few seconds.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Heap of a private broker: smaller than the shared one (512M), as several may run at once.
const BROKER_HEAP: [&str; 2] = ["-Xms128m", "-Xmx384m"];
/// Heap of the short-lived Kafka tools (storage format, topic creation).
const TOOL_HEAP: &str = "-Xmx192m";

/// A Kafka 3.9 broker of its own: single node, KRaft combined broker+controller, a
/// directory under `.obsync-dev/private/`, two free ports, the shared broker's settings
/// (3 partitions by default, topic auto-creation off).
///
/// For tests that stop, kill or restart the broker while obsync writes to it. Dropping it
/// kills the broker and removes its directory.
///
/// ```no_run
/// let mut kafka = obsync_testkit::KafkaInstance::spawn();
/// kafka.create_topic("orders", 3);
/// kafka.stop();
/// kafka.start(); // same directory and ports: the topic is still there
/// ```
pub struct KafkaInstance {
    dir: PathBuf,
    port: u16,
    kafka_libs: PathBuf,
    process: ServerProcess,
}

impl KafkaInstance {
    /// Writes the config, formats the storage, starts the broker and waits until it serves
    /// metadata.
    ///
    /// # Panics
    /// When the shared services are not set up (the Kafka jars come from there), or the
    /// broker does not start (the message shows its log).
    pub fn spawn() -> KafkaInstance {
        let services = Services::load();
        let dir = services.dev_dir.join("private").join(unique_name("kafka"));
        std::fs::create_dir_all(dir.join("data"))
            .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let port = free_port();
        let controller_port = free_port();
        write_config(&dir, port, controller_port);

        let libs = services.kafka_libs;
        run_checked(
            java(&libs, &dir)
                .arg(TOOL_HEAP)
                .arg("kafka.tools.StorageTool")
                .arg("format")
                .arg("-t")
                .arg(cluster_id())
                .arg("-c")
                .arg(dir.join("server.properties")),
            "formatting the storage of a private Kafka",
        );

        let mut args: Vec<OsString> = java_args(&libs, &dir);
        args.extend(BROKER_HEAP.map(OsString::from));
        args.push("kafka.Kafka".into());
        args.push(dir.join("server.properties").into());
        let process = ServerProcess::new(
            format!("private Kafka on port {port}"),
            PathBuf::from("java"),
            args,
            dir.join("stdout.log"),
            dir.join("pid"),
        )
        .with_extra_log(dir.join("server.log"));
        let mut instance = KafkaInstance {
            dir,
            port,
            kafka_libs: libs,
            process,
        };
        instance.start();
        instance
    }

    /// `127.0.0.1:<port>`, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("{HOST}:{}", self.port)
    }

    /// The instance's directory (config, data, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the broker process is alive.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Starts the broker on the same directory and ports (data kept) and waits until it
    /// serves metadata.
    ///
    /// # Panics
    /// If it is running already, or does not answer within two minutes.
    pub fn start(&mut self) {
        self.process.start();
        let bootstrap = self.bootstrap();
        self.process
            .wait_until(READY_TIMEOUT, || broker_answers(&bootstrap));
    }

    /// Controlled shutdown (SIGTERM). No-op when stopped.
    pub fn stop(&mut self) {
        self.process.terminate(STOP_TIMEOUT);
    }

    /// SIGKILL: a crash. No-op when stopped.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Creates `topic` with `partitions` partitions on this broker.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        create_topic(&self.kafka_libs, &self.bootstrap(), topic, partitions);
    }
}

impl Drop for KafkaInstance {
    fn drop(&mut self) {
        self.process.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Creates `topic` (replication factor 1) with Kafka's own `TopicCommand`, run from the jars
/// in `kafka_libs`: topic auto-creation is off on every broker of the tests.
///
/// # Panics
/// With Kafka's message when the topic cannot be created (it exists, a bad name, …).
pub fn create_topic(kafka_libs: &Path, bootstrap: &str, topic: &str, partitions: u32) {
    let mut cmd = Command::new("java");
    // Without a log4j config reload4j only warns, on stderr, that it has none.
    cmd.arg(TOOL_HEAP)
        .arg("-cp")
        .arg(classpath(kafka_libs))
        .arg("org.apache.kafka.tools.TopicCommand")
        .args([
            "--bootstrap-server",
            bootstrap,
            "--create",
            "--topic",
            topic,
        ])
        .args(["--partitions", &partitions.to_string()])
        .args(["--replication-factor", "1"]);
    run_checked(&mut cmd, &format!("creating topic {topic} on {bootstrap}"));
}

/// Whether a broker at `bootstrap` serves metadata that lists itself.
fn broker_answers(bootstrap: &str) -> bool {
    crate::kcat::broker_answers(&["-b".to_string(), bootstrap.to_string()])
}

fn classpath(kafka_libs: &Path) -> OsString {
    let mut cp = kafka_libs.as_os_str().to_owned();
    cp.push("/*");
    cp
}

/// JVM flags of every Kafka process of an instance (broker and tools); heap and main class
/// follow.
fn java_args(kafka_libs: &Path, dir: &Path) -> Vec<OsString> {
    vec![
        "-XX:+UseG1GC".into(),
        "-XX:+ExitOnOutOfMemoryError".into(),
        "-Djava.awt.headless=true".into(),
        format!(
            "-Dlog4j.configuration=file:{}",
            dir.join("log4j.properties").display()
        )
        .into(),
        format!("-Dkafka.logs.dir={}", dir.display()).into(),
        "-cp".into(),
        classpath(kafka_libs),
    ]
}

fn java(kafka_libs: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new("java");
    cmd.args(java_args(kafka_libs, dir));
    cmd
}

/// The settings of the shared broker (scripts/services) on private ports and directory.
fn write_config(dir: &Path, port: u16, controller_port: u16) {
    let data = dir.join("data");
    let server = format!(
        "process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{HOST}:{controller_port}
listeners=PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}
advertised.listeners=PLAINTEXT://{HOST}:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
auto.create.topics.enable=false
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
",
        data = data.display()
    );
    let log4j = format!(
        "log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
",
        log = dir.join("server.log").display()
    );
    for (file, text) in [("server.properties", server), ("log4j.properties", log4j)] {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

/// A fresh KRaft cluster id: 16 random bytes, URL-safe base64 without padding.
fn cluster_id() -> String {
    // RandomState is seeded from the OS per instance: randomness without a rand crate.
    let random = || RandomState::new().build_hasher().finish().to_be_bytes();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random());
    bytes[8..].copy_from_slice(&random());
    // An id starting with '-' would read as an option on the tool's command line.
    bytes[0] &= 0x7f;
    base64_url(&bytes)
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_url_matches_rfc_4648_without_padding() {
        assert_eq!(base64_url(b"f"), "Zg");
        assert_eq!(base64_url(b"fo"), "Zm8");
        assert_eq!(base64_url(b"foo"), "Zm9v");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn cluster_ids_are_22_characters_and_never_start_with_a_dash() {
        for _ in 0..100 {
            let id = cluster_id();
            assert_eq!(id.len(), 22);
            assert!(!id.starts_with('-'));
        }
        assert_ne!(cluster_id(), cluster_id());
    }
}
