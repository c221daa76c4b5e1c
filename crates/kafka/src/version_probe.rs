//! The broker's real Kafka version, read from its answer to an ApiVersions request.
//!
//! Kafka 0.10 and later answer ApiVersions (API key 18) with the range of versions of every
//! request they serve; which requests and which versions a broker lists tells its release
//! apart (the table in [`ApiSupport::generation`]). Kafka 0.9 predates the request: it logs
//! an exception and never answers, so silence within the probe's timeout, from a broker that
//! serves metadata, is the probe for 0.9.
//!
//! librdkafka sends ApiVersions itself but has no API that returns the answer; it only logs
//! it (debug context `feature`, facility `APIVERSION`, one `ApiKey <name> (<key>) Versions
//! <min>..<max>` line per request type). Parsing those lines is hand-written because nothing
//! else exposes the answer without a second Kafka protocol stack (TLS and SASL included).
//!
//! The same client also records why a connection failed (librdkafka's `FAIL` lines: TLS
//! verification, SASL authentication): the admin client that checks connectivity only
//! learns that its request timed out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, Producer, ProducerContext};
use rdkafka::ClientContext;

use crate::config::{ClientRole, KafkaTarget, KafkaVersion};

/// Request types the generation table looks at (Kafka protocol API keys).
const PRODUCE: i16 = 0;
const FETCH: i16 = 1;
const SASL_AUTHENTICATE: i16 = 36;
const DESCRIBE_TRANSACTIONS: i16 = 65;

/// What the broker answered to ApiVersions: request type → (min, max) version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiSupport {
    apis: BTreeMap<i16, (i16, i16)>,
}

/// The broker's version as probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerVersion {
    /// No answer to ApiVersions while metadata worked: Kafka 0.9 (or older).
    NoApiVersions,
    /// The broker answered ApiVersions.
    Answered(ApiSupport),
}

/// A broker release range the probe can tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Generation {
    /// 0.9 or older: no ApiVersions.
    V0_9,
    /// 0.10.x: ApiVersions, Produce up to v2 (message format v1).
    V0_10,
    /// 0.11.x: Produce v3 (record batches v2, idempotence), no SaslAuthenticate.
    V0_11,
    /// 1.x: SaslAuthenticate, Produce up to v5.
    V1,
    /// 2.0: Produce v6.
    V2_0,
    /// 2.1 to 2.8: Produce v7 and later (zstd), no DescribeTransactions.
    V2_1Plus,
    /// 3.x: DescribeTransactions.
    V3,
    /// 4.x and later: Fetch v0-v3 removed (KIP-896).
    V4Plus,
}

impl Generation {
    /// The family the project file names, `None` for releases obsync has no family for.
    pub fn family(self) -> Option<KafkaVersion> {
        match self {
            Generation::V0_9 => Some(KafkaVersion::V0_9),
            Generation::V0_10 | Generation::V0_11 => None,
            Generation::V1 => Some(KafkaVersion::V1_0),
            Generation::V2_0 | Generation::V2_1Plus => Some(KafkaVersion::V2),
            Generation::V3 | Generation::V4Plus => Some(KafkaVersion::V3Plus),
        }
    }

    /// How messages and fixes name it.
    pub fn label(self) -> &'static str {
        match self {
            Generation::V0_9 => "0.9 (or older)",
            Generation::V0_10 => "0.10",
            Generation::V0_11 => "0.11",
            Generation::V1 => "1.x",
            Generation::V2_0 => "2.0",
            Generation::V2_1Plus => "2.1-2.8",
            Generation::V3 => "3.x",
            Generation::V4Plus => "4.x",
        }
    }

    /// The `version` to write in `[target]` for this broker.
    pub fn config_value(self) -> Option<&'static str> {
        match self.family()? {
            KafkaVersion::V0_9 => Some("0.9"),
            KafkaVersion::V1_0 => Some("1.0"),
            KafkaVersion::V2 => Some("2.x"),
            KafkaVersion::V3Plus => Some(if self == Generation::V4Plus {
                "4.x"
            } else {
                "3.x"
            }),
        }
    }

    /// Whether the broker stores zstd batches (Kafka 2.1 and later).
    pub fn supports_zstd(self) -> bool {
        self >= Generation::V2_1Plus
    }
}

impl ApiSupport {
    /// Versions of `api_key` the broker serves.
    pub fn versions(&self, api_key: i16) -> Option<(i16, i16)> {
        self.apis.get(&api_key).copied()
    }

    /// The release range, from the request types and versions added in each release (Kafka's
    /// protocol guide, checked against the 1.0.2, 2.8.2, 3.9.1 and 4.1.1 brokers of the
    /// version-matrix test).
    pub fn generation(&self) -> Generation {
        let produce_max = self.versions(PRODUCE).map_or(0, |(_, max)| max);
        let fetch_min = self.versions(FETCH).map_or(0, |(min, _)| min);
        if fetch_min >= 4 {
            Generation::V4Plus
        } else if self.versions(DESCRIBE_TRANSACTIONS).is_some() {
            Generation::V3
        } else if produce_max >= 7 {
            Generation::V2_1Plus
        } else if produce_max == 6 {
            Generation::V2_0
        } else if self.versions(SASL_AUTHENTICATE).is_some() {
            Generation::V1
        } else if produce_max >= 3 {
            Generation::V0_11
        } else {
            Generation::V0_10
        }
    }

    /// `Produce v0..9`, for messages.
    fn produce_range(&self) -> String {
        match self.versions(PRODUCE) {
            Some((min, max)) => format!("Produce v{min}..{max}"),
            None => "no Produce".into(),
        }
    }
}

impl BrokerVersion {
    pub fn generation(&self) -> Generation {
        match self {
            BrokerVersion::NoApiVersions => Generation::V0_9,
            BrokerVersion::Answered(apis) => apis.generation(),
        }
    }

    /// What the probe saw, for messages: `answers ApiVersions (Produce v0..9, 60 request types)`.
    pub fn evidence(&self) -> String {
        match self {
            BrokerVersion::NoApiVersions => {
                "does not answer ApiVersions (added in Kafka 0.10)".into()
            }
            BrokerVersion::Answered(apis) => format!(
                "answers ApiVersions ({}, {} request types)",
                apis.produce_range(),
                apis.apis.len()
            ),
        }
    }
}

/// Why the version could not be probed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    #[error("cannot create the Kafka client for the version probe")]
    Client(#[source] KafkaError),
    /// Neither an answer nor a refusal of ApiVersions within the time allowed.
    #[error("the broker neither answered nor refused ApiVersions within {waited:?}")]
    NoVerdict { waited: Duration },
}

/// What the probe found: the version (or why not), and the connection's failure if it had one.
#[derive(Debug)]
pub struct ConnectionProbe {
    pub version: Result<BrokerVersion, ProbeError>,
    /// librdkafka's text for the latest failed connection attempt (TLS, SASL, refused), when
    /// no attempt got as far as answering metadata.
    pub failure: Option<String>,
}

/// Reads the version of the first broker of `target` that librdkafka connects to.
///
/// Takes up to `timeout`; a 0.9 broker costs the ApiVersions timeout (`timeout` / 2, at most
/// 4 s) because silence is its answer. Silence reads as 0.9 only from a broker that was
/// connected to, so a wrong address is never taken for one.
pub async fn probe_broker_version(
    target: &KafkaTarget,
    timeout: Duration,
) -> Result<BrokerVersion, ProbeError> {
    probe_connection(target, timeout).await.version
}

/// Like [`probe_broker_version`], also waiting (up to `timeout`) for the connection to serve
/// metadata or to fail, to report why it failed.
pub async fn probe_connection(target: &KafkaTarget, timeout: Duration) -> ConnectionProbe {
    let target = target.clone();
    tokio::task::spawn_blocking(move || probe_blocking(&target, timeout))
        .await
        .unwrap_or_else(|_| ConnectionProbe {
            version: Err(ProbeError::NoVerdict { waited: timeout }),
            failure: None,
        })
}

fn probe_blocking(target: &KafkaTarget, timeout: Duration) -> ConnectionProbe {
    let failed = |e: ProbeError| ConnectionProbe {
        version: Err(e),
        failure: None,
    };
    let api_timeout = (timeout / 2).min(Duration::from_secs(4));
    let mut config = rdkafka::ClientConfig::new();
    for (key, value) in target.properties(ClientRole::Admin) {
        // The probe always asks, whatever the declared version says.
        if key != "api.version.request" && key != "broker.version.fallback" {
            config.set(key, value);
        }
    }
    config
        .set("api.version.request", "true")
        .set(
            "api.version.request.timeout.ms",
            api_timeout.as_millis().to_string(),
        )
        // When a 0.9 broker stays silent, librdkafka falls back to this feature set, and
        // keeps it instead of asking again on every reconnect: each ApiVersions request
        // makes a 0.9 broker's network thread throw (ArrayIndexOutOfBoundsException), which
        // can drop other clients' requests received in the same poll (they are retried
        // after their request timeout). One request per probe is the least that tells.
        .set("broker.version.fallback", "0.9.0.1")
        .set("api.version.fallback.ms", "3600000")
        .set("debug", "feature")
        .set_log_level(RDKafkaLogLevel::Debug);
    let capture = Capture::default();
    let producer: BaseProducer<Capture> = match config.create_with_context(capture.clone()) {
        Ok(p) => p,
        Err(e) => return failed(ProbeError::Client(e)),
    };
    let producer = Arc::new(producer);
    // Metadata makes librdkafka connect (and so send ApiVersions, then authenticate). The
    // thread is not joined: a silent 0.9 broker keeps it waiting for the whole timeout
    // after the verdict is in.
    let fetcher = Arc::clone(&producer);
    let (served, metadata) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = served.send(fetcher.client().fetch_metadata(None, timeout).is_ok());
    });
    let deadline = Instant::now() + timeout;
    let mut metadata_ok = false;
    loop {
        // Log events reach the context when the main queue is polled.
        producer.poll(Duration::from_millis(50));
        if let Ok(ok) = metadata.try_recv() {
            metadata_ok = ok;
        }
        let verdict = capture.verdict();
        let failure = capture.failure();
        let done = metadata_ok
            || matches!(verdict, Some(BrokerVersion::NoApiVersions))
            || (failure.is_some() && verdict.is_some())
            || Instant::now() >= deadline;
        if done {
            return ConnectionProbe {
                version: verdict.ok_or(ProbeError::NoVerdict { waited: timeout }),
                failure: if metadata_ok { None } else { failure },
            };
        }
    }
}

/// Collects librdkafka's ApiVersions log lines.
#[derive(Clone, Default)]
struct Capture {
    state: Arc<Mutex<CaptureState>>,
}

#[derive(Default)]
struct CaptureState {
    /// "Broker API support:" seen: the answer's lines follow.
    answered: bool,
    /// librdkafka moved on to checking its features against the answer: the list is whole.
    complete: bool,
    apis: BTreeMap<i16, (i16, i16)>,
    /// librdkafka gave up on ApiVersions ("ApiVersionRequest failed ... < 0.10").
    refused: bool,
    /// The latest other connection failure.
    failure: Option<String>,
}

impl Capture {
    fn verdict(&self) -> Option<BrokerVersion> {
        let state = self.state.lock().ok()?;
        if state.answered && state.complete && state.apis.contains_key(&PRODUCE) {
            return Some(BrokerVersion::Answered(ApiSupport {
                apis: state.apis.clone(),
            }));
        }
        state.refused.then_some(BrokerVersion::NoApiVersions)
    }

    fn failure(&self) -> Option<String> {
        self.state.lock().ok()?.failure.clone()
    }

    fn record_failure(&self, message: &str) {
        if message.contains("ApiVersionRequest") {
            return self.record(message);
        }
        if let Ok(mut state) = self.state.lock() {
            state.failure = Some(message.to_owned());
        }
    }

    fn record(&self, message: &str) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if message.contains("Broker API support:") {
            state.answered = true;
            state.complete = false;
            state.apis.clear();
        } else if state.answered && message.contains("abling feature ") {
            // "Enabling feature MsgVer2" / "Disabling feature …" follow the whole list.
            state.complete = true;
        } else if let Some((key, range)) = parse_api_line(message) {
            state.apis.insert(key, range);
        } else if message.contains("ApiVersionRequest failed")
            || message.contains("Timed out ApiVersionRequest")
        {
            state.refused = true;
        }
    }
}

// The probe sends no messages: delivery reports never come.
impl ProducerContext for Capture {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

impl ClientContext for Capture {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        // A failed connection attempt is logged as a FAIL line (warning or error).
        use RDKafkaLogLevel::*;
        let problem = matches!(level, Emerg | Alert | Critical | Error | Warning);
        if fac == "FAIL" && problem {
            self.record_failure(message);
        } else {
            self.record(message);
        }
    }

    fn error(&self, _error: KafkaError, reason: &str) {
        self.record_failure(reason);
    }
}

/// `[thrd:…]: …:  ApiKey Produce (0) Versions 0..9` → `(0, (0, 9))`.
fn parse_api_line(message: &str) -> Option<(i16, (i16, i16))> {
    let rest = &message[message.find("ApiKey ")? + "ApiKey ".len()..];
    let open = rest.find(" (")?;
    let rest = &rest[open + 2..];
    let close = rest.find(')')?;
    let key = rest[..close].parse().ok()?;
    let range = rest[close..].strip_prefix(") Versions ")?;
    let (min, max) = range.trim().split_once("..")?;
    Some((key, (min.parse().ok()?, max.parse().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn support(apis: &[(i16, i16, i16)]) -> ApiSupport {
        ApiSupport {
            apis: apis.iter().map(|&(k, min, max)| (k, (min, max))).collect(),
        }
    }

    #[test]
    fn api_lines_are_parsed_from_librdkafka_debug_output() {
        assert_eq!(
            parse_api_line(
                "[thrd:127.0.0.1:9092/bootstrap]: 127.0.0.1:9092/bootstrap:   ApiKey Produce (0) Versions 0..9"
            ),
            Some((0, (0, 9)))
        );
        assert_eq!(
            parse_api_line("  ApiKey DescribeTransactions (65) Versions 0..0"),
            Some((65, (0, 0)))
        );
        assert_eq!(parse_api_line("Broker API support:"), None);
        assert_eq!(parse_api_line("ApiKey Produce (x) Versions 0..9"), None);
    }

    #[test]
    fn generations_follow_the_requests_each_release_added() {
        let cases = [
            (support(&[(0, 0, 2), (18, 0, 0)]), Generation::V0_10),
            (support(&[(0, 0, 3), (18, 0, 1)]), Generation::V0_11),
            (
                support(&[(0, 0, 5), (18, 0, 1), (36, 0, 0)]),
                Generation::V1,
            ),
            (
                support(&[(0, 0, 6), (18, 0, 2), (36, 0, 0)]),
                Generation::V2_0,
            ),
            (
                support(&[(0, 0, 9), (18, 0, 3), (36, 0, 2)]),
                Generation::V2_1Plus,
            ),
            (
                support(&[(0, 0, 11), (18, 0, 4), (65, 0, 0)]),
                Generation::V3,
            ),
            (
                support(&[(0, 0, 11), (1, 0, 17), (18, 0, 4), (65, 0, 0)]),
                Generation::V3,
            ),
            (
                support(&[(0, 0, 13), (1, 4, 18), (18, 0, 4), (65, 0, 0)]),
                Generation::V4Plus,
            ),
        ];
        for (apis, want) in cases {
            assert_eq!(apis.generation(), want, "{apis:?}");
        }
        assert_eq!(Generation::V0_11.family(), None);
        assert_eq!(Generation::V4Plus.config_value(), Some("4.x"));
        assert!(!Generation::V2_0.supports_zstd());
        assert!(Generation::V2_1Plus.supports_zstd());
    }

    #[test]
    fn a_refusal_means_no_api_versions_and_an_answer_wins() {
        let capture = Capture::default();
        assert_eq!(capture.verdict(), None);
        capture.record("127.0.0.1:1/bootstrap: ApiVersionRequest failed: Local: Timed out: probably due to broker version < 0.10 (see api.version.request configuration)");
        assert_eq!(capture.verdict(), Some(BrokerVersion::NoApiVersions));

        let capture = Capture::default();
        capture.record("Broker API support:");
        capture.record("  ApiKey Produce (0) Versions 0..9");
        assert_eq!(capture.verdict(), None, "the answer is incomplete");
        capture.record("  ApiKey ApiVersion (18) Versions 0..3");
        assert_eq!(capture.verdict(), None, "more lines may follow");
        capture.record(" Feature MsgVer1: Produce (2..2) supported by broker");
        capture.record("Enabling feature MsgVer1");
        let verdict = capture.verdict().unwrap();
        assert_eq!(verdict.generation(), Generation::V2_1Plus);
        assert_eq!(
            verdict.evidence(),
            "answers ApiVersions (Produce v0..9, 2 request types)"
        );
    }
}
