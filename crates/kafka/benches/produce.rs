//! Produce throughput of `KafkaProducer` against the shared local broker, next to Kafka's
//! own `ProducerPerformance` tool (Java client) with the same message size and guarantees.
//!
//! Run: `scripts/services up`, then `cargo bench -p obsync-kafka --bench produce`.
//! Environment: `OBSYNC_BENCH_MESSAGES` (default 300000) per run.
//!
//! Not a criterion bench: one run moves hundreds of megabytes through a real broker, so
//! repetitions would measure the broker's disk more than the client. The numbers go to
//! docs/performance.md by hand, with the machine they came from.

use std::process::Command;
use std::time::{Duration, Instant};

use obsync_kafka::{KafkaAdmin, KafkaProducer, KafkaTarget, NewTopicSpec};
use obsync_testkit::{unique_name, Services};

/// Message sizes measured: a small row change and a wide one, as Default-format JSON.
const SIZES: [usize; 2] = [256, 1024];
const PARTITIONS: i32 = 3;
/// Tickets waiting for acknowledgement: the pipeline bounds this the same way.
const TICKETS_IN_FLIGHT: usize = 100_000;

#[tokio::main]
async fn main() {
    let services = Services::load();
    let count: usize = std::env::var("OBSYNC_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    println!("| message size | client | messages/s | MB/s |");
    println!("|---|---|---|---|");
    for size in SIZES {
        let target = KafkaTarget::new(services.kafka_bootstrap.clone());
        let (rate, mbps) = obsync(&target, count, size).await;
        println!("| {size} B | obsync KafkaProducer | {rate:.0} | {mbps:.1} |");
        let (rate, mbps) = java(&services, count, size).await;
        println!("| {size} B | Java ProducerPerformance | {rate:.0} | {mbps:.1} |");
    }
}

async fn new_topic(target: &KafkaTarget, prefix: &str) -> String {
    let topic = unique_name(prefix);
    let spec = NewTopicSpec {
        name: topic.clone(),
        partitions: PARTITIONS,
        replication: 1,
    };
    KafkaAdmin::new(target)
        .unwrap()
        .create_topics(&[spec])
        .await
        .unwrap();
    topic
}

/// Sends `count` messages of `size` bytes (16-byte key) round-robin over the partitions,
/// awaiting acknowledgements in send order; returns messages/s and MB/s from the first send
/// to the last acknowledgement.
async fn obsync(target: &KafkaTarget, count: usize, size: usize) -> (f64, f64) {
    let topic = new_topic(target, "bench_obsync").await;
    let producer = KafkaProducer::new(target).unwrap();
    let value = vec![b'v'; size - 16];
    let (tx, mut rx) = tokio::sync::mpsc::channel(TICKETS_IN_FLIGHT);
    let acknowledger = tokio::spawn(async move {
        let mut n = 0usize;
        while let Some(ticket) = rx.recv().await {
            let ticket: obsync_kafka::DeliveryTicket = ticket;
            ticket.acknowledged().await.unwrap();
            n += 1;
        }
        n
    });
    let start = Instant::now();
    for i in 0..count {
        let key = format!("{i:016}");
        let ticket = producer
            .send(&topic, i as i32 % PARTITIONS, key.as_bytes(), &value, None)
            .await
            .unwrap();
        tx.send(ticket).await.unwrap();
    }
    drop(tx);
    assert_eq!(acknowledger.await.unwrap(), count);
    rates(count, size, start.elapsed())
}

/// Kafka's ProducerPerformance with obsync's producer settings (acks=all, idempotence,
/// linger 5 ms, batches up to 1 MB, no compression).
async fn java(services: &Services, count: usize, size: usize) -> (f64, f64) {
    let target = KafkaTarget::new(services.kafka_bootstrap.clone());
    let topic = new_topic(&target, "bench_java").await;
    let mut classpath = services.kafka_libs.clone().into_os_string();
    classpath.push("/*");
    let out = Command::new("java")
        .args(["-Xmx512m", "-cp"])
        .arg(classpath)
        .arg("org.apache.kafka.tools.ProducerPerformance")
        .args(["--topic", &topic])
        .args(["--num-records", &count.to_string()])
        .args(["--record-size", &size.to_string()])
        .args(["--throughput", "-1", "--producer-props"])
        .arg(format!("bootstrap.servers={}", services.kafka_bootstrap))
        .args([
            "acks=all",
            "enable.idempotence=true",
            "linger.ms=5",
            "batch.size=1000000",
            "compression.type=none",
        ])
        .output()
        .expect("running java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ProducerPerformance failed: {out:?}");
    // Last line: "N records sent, R records/sec (M MB/sec), …"
    let summary = stdout.lines().last().expect("ProducerPerformance summary");
    let field = |after: &str, unit: &str| -> f64 {
        let start = summary.find(after).map(|i| i + after.len()).unwrap_or(0);
        let rest = &summary[start..];
        rest[..rest.find(unit).unwrap()].trim().parse().unwrap()
    };
    (field("records sent,", "records/sec"), field("(", "MB/sec"))
}

fn rates(count: usize, size: usize, elapsed: Duration) -> (f64, f64) {
    let secs = elapsed.as_secs_f64();
    let rate = count as f64 / secs;
    (rate, rate * size as f64 / (1024.0 * 1024.0))
}
