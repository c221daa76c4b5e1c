//! `obsync-kafka-broker <release> <port>`: one broker of a Kafka release the version matrix
//! tests (0.9, 1.0, 2.8, 3.9, 4.1), with its ZooKeeper where the release needs one, on
//! 127.0.0.1:<port>, in the foreground until its process group is signalled.
//!
//! `scripts/services start kafka-0.9` (and kafka-1.0, kafka-2.8, kafka-4.1) runs it, so a
//! user can point a project at the same brokers the tests use; data and logs go under
//! `.obsync-dev/private/`, which `scripts/services down` removes. The broker setup is the
//! testkit's own (`KafkaBroker`), so the script and the tests cannot drift apart.

use std::process::ExitCode;

use obsync_testkit::{BrokerOptions, KafkaBroker, KafkaRelease};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (release, port) = match args.as_slice() {
        [release, port] => (
            KafkaRelease::ALL.into_iter().find(|r| {
                r.config_version() == release || r.version().starts_with(release.as_str())
            }),
            port.parse::<u16>().ok(),
        ),
        _ => (None, None),
    };
    let (Some(release), Some(port)) = (release, port) else {
        eprintln!(
            "usage: obsync-kafka-broker <release> <port>; release: 0.9, 1.0, 2.8, 3.9 or 4.1"
        );
        return ExitCode::from(2);
    };
    let broker = KafkaBroker::spawn_with(
        release,
        BrokerOptions {
            port: Some(port),
            ..BrokerOptions::default()
        },
    );
    println!(
        "Kafka {} ready at {} (data in {}); project files write version = \"{}\"",
        release.version(),
        broker.bootstrap(),
        broker.dir().display(),
        release.config_version()
    );
    // The broker lives as long as this process: scripts/services stops both by signalling
    // the process group (the JVMs shut down cleanly on SIGTERM).
    loop {
        std::thread::park();
    }
}
