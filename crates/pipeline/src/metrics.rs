//! Prometheus metrics of one project, in a registry of its own (projects share no
//! global state, so a server can host many).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use obsync_kafka::ProducerMetrics;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The project's metric families.
#[derive(Clone)]
pub struct ProjectMetrics {
    pub registry: Registry,
    pub rows_read: IntCounterVec,
    pub rows_written: IntCounterVec,
    /// The counters of every producer the project creates (one per run attempt), which
    /// the registry exports as `obsync_kafka_*_total`.
    pub producer: Arc<ProducerMetrics>,
    /// Times the binlog connection was re-established after it dropped.
    pub binlog_reconnects: IntCounter,
    pub checkpoint_lag_seconds: IntGauge,
    pub snapshot_rows_done: IntGaugeVec,
    pub snapshot_rows_estimated: IntGaugeVec,
    pub commit_to_ack_seconds: Histogram,
    /// Per cause (`kafka`, `source`): since when (Unix s) the project warns that it
    /// retries; 0 when it does not.
    pub warning_since_seconds: IntGaugeVec,
    /// The number of the shared Kafka producer client the current run sends through
    /// (`obsync_kafka::shared`; its `client.id` is `obsync-<n>`): projects showing the
    /// same number share one client. 0 before the first run opens one.
    pub kafka_client: IntGauge,
    /// 1 while the project reads its source's shared binlog stream, 0 on a dump of its own.
    pub binlog_shared: IntGauge,
    /// Times the project joined the shared stream, and left it for a dump of its own.
    pub binlog_shared_joins: IntCounter,
    pub binlog_shared_fallbacks: IntCounter,
    /// What obsync holds on the project's source (the whole process): binlog dumps, and
    /// projects reading its shared dumps.
    pub source_binlog_dumps: IntGauge,
    pub source_shared_members: IntGauge,
}

impl ProjectMetrics {
    pub fn new(project: &str) -> Self {
        let registry = Registry::new_custom(
            Some("obsync".into()),
            Some([("project".to_string(), project.to_string())].into()),
        )
        .expect("static metric prefix is valid");
        let by_table = |name: &str, help: &str| {
            IntCounterVec::new(Opts::new(name, help), &["table"]).expect("valid metric")
        };
        let gauge_by_table = |name: &str, help: &str| {
            IntGaugeVec::new(Opts::new(name, help), &["table"]).expect("valid metric")
        };
        let m = Self {
            rows_read: by_table("rows_read_total", "Rows read from the source, per table."),
            rows_written: by_table(
                "rows_written_total",
                "Messages acknowledged by Kafka, per source table.",
            ),
            producer: Arc::default(),
            binlog_reconnects: IntCounter::new(
                "binlog_reconnects_total",
                "Times the binlog connection was re-established after it dropped.",
            )
            .expect("valid metric"),
            checkpoint_lag_seconds: IntGauge::new(
                "checkpoint_lag_seconds",
                "Seconds between now and the source commit time of the checkpoint.",
            )
            .expect("valid metric"),
            snapshot_rows_done: gauge_by_table(
                "snapshot_rows_done",
                "Full-sync rows delivered, per table.",
            ),
            snapshot_rows_estimated: gauge_by_table(
                "snapshot_rows_estimated",
                "The source's row-count estimate, per table.",
            ),
            commit_to_ack_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "commit_to_ack_seconds",
                    "Source commit time to Kafka acknowledgement (1 s commit-time resolution).",
                )
                .buckets(vec![0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0]),
            )
            .expect("valid metric"),
            warning_since_seconds: IntGaugeVec::new(
                Opts::new(
                    "warning_since_seconds",
                    "Since when (Unix s) the project retries an unreachable Kafka or source, per cause; 0 while it does not.",
                ),
                &["cause"],
            )
            .expect("valid metric"),
            kafka_client: IntGauge::new(
                "kafka_producer_client",
                "The number of the shared Kafka producer client this project sends through (client.id obsync-<n>); equal numbers share one client.",
            )
            .expect("valid metric"),
            binlog_shared: IntGauge::new(
                "binlog_shared",
                "1 while the project reads its source's shared binlog stream, 0 while it reads a dump of its own.",
            )
            .expect("valid metric"),
            binlog_shared_joins: IntCounter::new(
                "binlog_shared_joins_total",
                "Times the project joined its source's shared binlog stream.",
            )
            .expect("valid metric"),
            binlog_shared_fallbacks: IntCounter::new(
                "binlog_shared_fallbacks_total",
                "Times the project left the shared binlog stream (its queue was full, or the stream ended) for a dump of its own.",
            )
            .expect("valid metric"),
            source_binlog_dumps: IntGauge::new(
                "source_binlog_dumps",
                "Binlog dumps this process holds on the project's source (shared and own).",
            )
            .expect("valid metric"),
            source_shared_members: IntGauge::new(
                "source_shared_stream_members",
                "Projects of this process reading (or catching up to) the shared binlog stream of the project's source.",
            )
            .expect("valid metric"),
            registry,
        };
        for c in [
            Box::new(m.rows_read.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.rows_written.clone()),
            Box::new(ProducerCounters::new(m.producer.clone())),
            Box::new(m.binlog_reconnects.clone()),
            Box::new(m.checkpoint_lag_seconds.clone()),
            Box::new(m.snapshot_rows_done.clone()),
            Box::new(m.snapshot_rows_estimated.clone()),
            Box::new(m.commit_to_ack_seconds.clone()),
            Box::new(m.warning_since_seconds.clone()),
            Box::new(m.kafka_client.clone()),
            Box::new(m.binlog_shared.clone()),
            Box::new(m.binlog_shared_joins.clone()),
            Box::new(m.binlog_shared_fallbacks.clone()),
            Box::new(m.source_binlog_dumps.clone()),
            Box::new(m.source_shared_members.clone()),
        ] {
            m.registry.register(c).expect("metric names are unique");
        }
        m
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding into a Vec cannot fail");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }
}

/// Exports the producer's own atomics as Prometheus counters, read when scraped: the
/// Kafka crate counts without knowing Prometheus.
struct ProducerCounters {
    source: Arc<ProducerMetrics>,
    counters: [IntCounter; 5],
    /// Serializes scrapes so two never both add the same difference.
    sync: Mutex<()>,
}

impl ProducerCounters {
    fn new(source: Arc<ProducerMetrics>) -> Self {
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid metric");
        Self {
            source,
            counters: [
                counter(
                    "kafka_messages_enqueued_total",
                    "Messages handed to the Kafka client.",
                ),
                counter("kafka_messages_sent_total", "Messages Kafka acknowledged."),
                counter(
                    "kafka_bytes_sent_total",
                    "Key and value bytes of the messages Kafka acknowledged.",
                ),
                counter(
                    "kafka_errors_total",
                    "Messages that failed: refused before sending or not acknowledged by Kafka.",
                ),
                counter(
                    "kafka_queue_full_waits_total",
                    "Times sending waited because the Kafka client's queue was full.",
                ),
            ],
            sync: Mutex::new(()),
        }
    }

    fn sources(&self) -> [&AtomicU64; 5] {
        let p = &self.source;
        [
            &p.messages_enqueued,
            &p.messages_sent,
            &p.bytes_sent,
            &p.errors,
            &p.queue_full_waits,
        ]
    }
}

impl Collector for ProducerCounters {
    fn desc(&self) -> Vec<&Desc> {
        self.counters.iter().flat_map(|c| c.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _one_at_a_time = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        for (counter, source) in self.counters.iter().zip(self.sources()) {
            let behind = source.load(Ordering::Relaxed).saturating_sub(counter.get());
            counter.inc_by(behind);
        }
        self.counters.iter().flat_map(|c| c.collect()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_metrics_carry_project_and_table_labels() {
        let m = ProjectMetrics::new("订单同步01");
        m.rows_read.with_label_values(&["shop.orders"]).inc_by(3);
        let text = m.render();
        let line = text
            .lines()
            .find(|l| l.starts_with("obsync_rows_read_total{"))
            .unwrap_or_else(|| panic!("no rows_read line in:\n{text}"));
        assert!(line.contains(r#"project="订单同步01""#), "{line}");
        assert!(line.contains(r#"table="shop.orders""#), "{line}");
        assert!(line.ends_with(" 3"), "{line}");
    }

    fn value(text: &str, metric: &str) -> String {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{metric}{{")))
            .unwrap_or_else(|| panic!("no {metric} line in:\n{text}"));
        line.rsplit(' ').next().unwrap().to_string()
    }

    #[test]
    fn producer_counters_are_exported_as_they_are_when_scraped() {
        let m = ProjectMetrics::new("p");
        let p = &m.producer;
        for (counter, n) in [
            (&p.messages_enqueued, 5),
            (&p.messages_sent, 4),
            (&p.bytes_sent, 400),
            (&p.errors, 1),
            (&p.queue_full_waits, 2),
        ] {
            counter.fetch_add(n, Ordering::Relaxed);
        }
        m.binlog_reconnects.inc();
        let text = m.render();
        for (metric, expected) in [
            ("obsync_kafka_messages_enqueued_total", "5"),
            ("obsync_kafka_messages_sent_total", "4"),
            ("obsync_kafka_bytes_sent_total", "400"),
            ("obsync_kafka_errors_total", "1"),
            ("obsync_kafka_queue_full_waits_total", "2"),
            ("obsync_binlog_reconnects_total", "1"),
        ] {
            assert_eq!(value(&text, metric), expected, "{metric}");
        }
        p.errors.fetch_add(2, Ordering::Relaxed);
        assert_eq!(value(&m.render(), "obsync_kafka_errors_total"), "3");
    }
}
