//! A private Kafka keeps its topics and messages across clean and unclean restarts.

use std::io::Write;
use std::process::{Command, Stdio};

use obsync_testkit::{KafkaInstance, Services};

fn produce(bootstrap: &str, topic: &str, message: &str) {
    let mut kcat = Command::new("kcat")
        .args(["-b", bootstrap, "-P", "-t", topic, "-p", "0"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("running kcat");
    writeln!(kcat.stdin.take().unwrap(), "{message}").unwrap();
    assert!(
        kcat.wait().unwrap().success(),
        "kcat could not produce to {topic}"
    );
}

fn consume_all(bootstrap: &str, topic: &str) -> Vec<String> {
    obsync_testkit::kcat::consume(bootstrap, topic)
        .iter()
        .map(|r| r.value_str().to_string())
        .collect()
}

#[test]
fn private_kafka_keeps_messages_across_stop_start_and_kill() {
    let shared = Services::load();
    let mut kafka = KafkaInstance::spawn();
    assert_ne!(kafka.bootstrap(), shared.kafka_bootstrap);
    let bootstrap = kafka.bootstrap();
    kafka.create_topic("orders", 3);
    produce(&bootstrap, "orders", "before stop");

    kafka.stop();
    assert!(!kafka.is_running());
    kafka.start();
    produce(&bootstrap, "orders", "before kill");

    kafka.kill();
    kafka.start();
    assert_eq!(
        consume_all(&bootstrap, "orders"),
        ["before stop", "before kill"]
    );

    let dir = kafka.dir().to_path_buf();
    drop(kafka);
    assert!(!dir.exists(), "{} is left behind", dir.display());
}
