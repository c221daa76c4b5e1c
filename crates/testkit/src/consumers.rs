//! The real consumer libraries (Apache Flink's JSON formats, Kafka Connect's
//! `JsonConverter`, Apache Avro's reader) that the end-to-end tests decode obsync's
//! records with:
//! `tests/consumers/ConsumerCheck.java`, run from source in one JVM, with the jars of
//! `tests/consumers/pom.xml` fetched from Maven Central once and cached in
//! `.obsync-dev/consumers/libs` (`scripts/services up` fetches them too).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::process::run_checked;
use crate::{unique_name, Services};

fn consumers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/consumers")
}

/// The consumer jars, fetched by Maven on first use (progress on stderr) and cached; a
/// changed POM fetches them again.
///
/// # Panics
/// With Maven's output when the fetch fails.
pub fn consumer_libs(services: &Services) -> PathBuf {
    crate::maven::pom_libs(
        &consumers_dir().join("pom.xml"),
        &services.dev_dir.join("consumers"),
        "the consumer libraries of tests/consumers/pom.xml",
    )
}

/// Runs `ConsumerCheck.java` on `jobs` (the JSON text of its jobs file, see that file)
/// and returns its output lines (one JSON object each).
///
/// # Panics
/// When Java fails, with its output.
pub fn consumer_check(services: &Services, jobs: &str) -> Vec<String> {
    let libs = consumer_libs(services);
    let dir = services.dev_dir.join("consumers");
    let jobs_file = dir.join(format!("{}.json", unique_name("jobs")));
    std::fs::write(&jobs_file, jobs).expect("writing the jobs file");
    let mut cp = libs.into_os_string();
    cp.push("/*");
    let mut java = Command::new("java");
    java.args(["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp"])
        .arg(cp)
        .arg(consumers_dir().join("ConsumerCheck.java"))
        .arg(&jobs_file)
        .stderr(Stdio::inherit());
    let out = run_checked(&mut java, "running tests/consumers/ConsumerCheck.java");
    let _ = std::fs::remove_file(&jobs_file);
    out.lines().map(str::to_string).collect()
}
