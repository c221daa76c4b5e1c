//! Prometheus metrics of one project, in a registry of its own (projects share no
//! global state, so a server can host many).

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
    pub kafka_errors: IntCounter,
    pub checkpoint_lag_seconds: IntGauge,
    pub snapshot_rows_done: IntGaugeVec,
    pub snapshot_rows_estimated: IntGaugeVec,
    pub commit_to_ack_seconds: Histogram,
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
            kafka_errors: IntCounter::new("kafka_errors_total", "Messages Kafka rejected.")
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
            registry,
        };
        for c in [
            Box::new(m.rows_read.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.rows_written.clone()),
            Box::new(m.kafka_errors.clone()),
            Box::new(m.checkpoint_lag_seconds.clone()),
            Box::new(m.snapshot_rows_done.clone()),
            Box::new(m.snapshot_rows_estimated.clone()),
            Box::new(m.commit_to_ack_seconds.clone()),
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
}
