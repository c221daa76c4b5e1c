//! The producer rides out a broker outage: a private broker is stopped (and later killed)
//! while messages flow; when it is back every message is acknowledged, none is lost,
//! duplicated or reordered within its partition.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{assert_complete_and_ordered, consume_all};
use obsync_kafka::{KafkaProducer, KafkaTarget, PartitionRule};
use obsync_testkit::{unique_name, KafkaInstance};

const PARTITIONS: i32 = 3;
/// Sending pace: 10 messages every 5 ms (~2,000 msg/s), so production spans the outages
/// without piling up millions of messages.
const BURST: usize = 10;
const PAUSE: Duration = Duration::from_millis(5);

fn key(i: usize) -> String {
    format!("key-{}", i % 997)
}

fn partition(i: usize) -> i32 {
    PartitionRule::Hash.partition(key(i).as_bytes(), PARTITIONS)
}

/// Waits until `counter` reaches `at_least`, failing after two minutes.
async fn wait_for(counter: &AtomicUsize, at_least: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while counter.load(Ordering::SeqCst) < at_least {
        assert!(
            Instant::now() < deadline,
            "{what}: only {} of {at_least} acknowledged after 2 minutes",
            counter.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `fault` on the broker off the async runtime (it blocks until the process is gone).
async fn on_broker(kafka: KafkaInstance, fault: fn(&mut KafkaInstance)) -> KafkaInstance {
    tokio::task::spawn_blocking(move || {
        let mut kafka = kafka;
        fault(&mut kafka);
        kafka
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn broker_stopped_then_killed_during_production_loses_and_reorders_nothing() {
    let kafka = KafkaInstance::spawn();
    let topic = unique_name("outage");
    kafka.create_topic(&topic, PARTITIONS as u32);
    let target = KafkaTarget::new(kafka.bootstrap());
    let producer = Arc::new(KafkaProducer::new(&target).unwrap());

    // Sender: paced sends until told to stop; tickets go to the acknowledger in send order.
    let stop = Arc::new(AtomicBool::new(false));
    let (tickets_tx, mut tickets_rx) = tokio::sync::mpsc::unbounded_channel();
    let sender = {
        let (producer, stop, topic) = (producer.clone(), stop.clone(), topic.clone());
        tokio::spawn(async move {
            let mut sent = 0usize;
            while !stop.load(Ordering::SeqCst) {
                for _ in 0..BURST {
                    let value = sent.to_string();
                    let ticket = producer
                        .send(
                            &topic,
                            partition(sent),
                            key(sent).as_bytes(),
                            value.as_bytes(),
                            None,
                        )
                        .await
                        .unwrap();
                    tickets_tx.send(ticket).unwrap();
                    sent += 1;
                }
                tokio::time::sleep(PAUSE).await;
            }
            sent
        })
    };
    // Acknowledger: awaits tickets in send order, as the pipeline's checkpointing does.
    let acked = Arc::new(AtomicUsize::new(0));
    let acknowledger = {
        let acked = acked.clone();
        tokio::spawn(async move {
            while let Some(ticket) = tickets_rx.recv().await {
                let n = acked.load(Ordering::SeqCst);
                let d = ticket
                    .acknowledged()
                    .await
                    .unwrap_or_else(|e| panic!("message {n} failed: {e}"));
                assert_eq!(d.partition, partition(n));
                acked.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    wait_for(&acked, 2_000, "before the outage").await;

    // Controlled shutdown for 20 s: nothing can be acknowledged meanwhile.
    let kafka = on_broker(kafka, KafkaInstance::stop).await;
    let acked_when_down = acked.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        acked.load(Ordering::SeqCst),
        acked_when_down,
        "acknowledged while the broker was down"
    );
    let kafka = on_broker(kafka, KafkaInstance::start).await;
    wait_for(&acked, acked_when_down + 2_000, "after the restart").await;

    // A crash (SIGKILL) for 10 s.
    let kafka = on_broker(kafka, KafkaInstance::kill).await;
    let acked_when_killed = acked.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let kafka = on_broker(kafka, KafkaInstance::start).await;
    wait_for(&acked, acked_when_killed + 2_000, "after the crash").await;

    stop.store(true, Ordering::SeqCst);
    let sent = sender.await.unwrap();
    acknowledger.await.unwrap();
    assert_eq!(acked.load(Ordering::SeqCst), sent);
    assert!(producer.metrics().queue_full_waits.load(Ordering::Relaxed) == 0);

    let consumed = consume_all(&kafka.bootstrap(), &topic);
    assert_complete_and_ordered(&consumed, sent, partition);
    assert_eq!(consumed.len(), sent);
    eprintln!(
        "outage test: {sent} messages, {acked_when_down} acknowledged before the stop, \
         {acked_when_killed} before the kill"
    );
}
