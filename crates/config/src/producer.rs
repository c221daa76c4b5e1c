//! `[target.producer]`: librdkafka properties, sorted once into the numbers obsync acts on
//! ([`ProducerSettings`]), the ones it refuses, and the rest, passed through.
//!
//! This is the only list of producer-property rules; the Kafka crate applies the result
//! without checking it again.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use toml::Spanned;

use crate::error::Problems;
use crate::raw::PropertyValue;
use crate::secret::Environment;

/// The producer numbers obsync acts on itself, read from their librdkafka names in
/// `[target.producer]`. Every value lies in the range librdkafka accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSettings {
    /// Largest message (key + value + record framing) obsync sends (`message.max.bytes`).
    /// Larger messages fail before sending with an error naming the fix. Default
    /// 1,000,000: librdkafka's default and below the broker's default `message.max.bytes`
    /// (1,048,588), so a message that passes here also fits a default broker.
    pub max_message_bytes: usize,
    /// How long librdkafka keeps retrying one message before reporting it failed
    /// (`message.timeout.ms`). Default 5 minutes so that a broker restart or a short outage
    /// is ridden out; the pipeline stalls meanwhile (back-pressure), it does not fail.
    pub message_timeout: Duration,
    /// How long a message may wait for more to join its batch (`linger.ms`).
    pub linger: Duration,
    /// Bytes librdkafka may hold that are not yet acknowledged
    /// (`queue.buffering.max.kbytes`). When full, sending waits.
    pub queue_max_bytes: usize,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            max_message_bytes: 1_000_000,
            message_timeout: Duration::from_secs(300),
            // 5 ms: CDC traffic is bursty. A short linger keeps the added latency far below
            // the source's own commit latency, while a busy stream still fills batches (at
            // 50k msg/s, 5 ms gathers ~250 messages per partition batch).
            linger: Duration::from_millis(5),
            // 64 MiB: enough to keep several full batches per partition in flight while the
            // pipeline formats the next ones, small enough that an outage stalls the source
            // reader early instead of buffering ~1 GB (librdkafka's default) in memory.
            queue_max_bytes: 64 << 20,
        }
    }
}

/// Properties a typed field of the project file controls, and that field.
#[rustfmt::skip] // one row per line reads better
const SET_BY_FIELD: &[(&str, &str)] = &[
    ("bootstrap.servers", "target.bootstrap_servers"),
    ("metadata.broker.list", "target.bootstrap_servers"),
    ("api.version.request", "target.version"),
    ("broker.version.fallback", "target.version"),
    ("compression.type", "target.compression"),
    ("compression.codec", "target.compression"),
    ("security.protocol", "[target.sasl] and [target.tls]"),
    ("sasl.mechanism", "[target.sasl]"),
    ("sasl.mechanisms", "[target.sasl]"),
    ("sasl.username", "[target.sasl]"),
    ("sasl.password", "[target.sasl]"),
    ("sasl.kerberos.principal", "[target.sasl] kerberos_principal"),
    ("sasl.kerberos.keytab", "[target.sasl] kerberos_keytab"),
    ("sasl.kerberos.service.name", "[target.sasl] kerberos_service_name"),
    // obsync runs kinit itself, without a shell; librdkafka's is a shell line (system()).
    ("sasl.kerberos.kinit.cmd", "[target.sasl] kerberos_keytab (obsync runs kinit)"),
    ("sasl.kerberos.min.time.before.relogin", "[target.sasl] kerberos_keytab (obsync renews tickets)"),
    ("ssl.ca.location", "[target.tls]"),
    ("ssl.ca.pem", "[target.tls] ca_pem"),
    ("ssl.certificate.location", "[target.tls]"),
    ("ssl.certificate.pem", "[target.tls] cert_pem"),
    ("ssl.key.location", "[target.tls]"),
    ("ssl.key.pem", "[target.tls] key_pem_env"),
    ("enable.ssl.certificate.verification", "[target.tls]"),
    ("ssl.endpoint.identification.algorithm", "[target.tls]"),
];

/// Properties obsync fixes because its delivery guarantees rest on them, and why.
#[rustfmt::skip]
const GUARANTEES: &[(&str, &str)] = &[
    ("enable.idempotence", "the idempotent producer keeps retried batches in order"),
    ("max.in.flight.requests.per.connection", "requests in flight are bounded to keep order"),
    ("max.in.flight", "requests in flight are bounded to keep order"),
    ("retries", "messages are retried until message.timeout.ms, never dropped earlier"),
    ("message.send.max.retries", "messages are retried until message.timeout.ms, never dropped earlier"),
    ("allow.auto.create.topics", "topics are created by schema sync only"),
];

/// `acks` and its alias: accepted only with the value obsync uses anyway.
const ACKS: &[&str] = &["acks", "request.required.acks"];

/// A number obsync reads itself: property name, accepted range, unit for messages.
struct Tunable {
    names: &'static [&'static str],
    range: RangeInclusive<u64>,
    unit: &'static str,
    example: u64,
}

#[rustfmt::skip] // ranges are librdkafka's own
const MESSAGE_MAX_BYTES: Tunable = Tunable { names: &["message.max.bytes"], range: 1_000..=1_000_000_000, unit: "bytes", example: 8_388_608 };
#[rustfmt::skip]
const MESSAGE_TIMEOUT: Tunable = Tunable { names: &["message.timeout.ms", "delivery.timeout.ms"], range: 1..=2_147_483_647, unit: "milliseconds", example: 300_000 };
#[rustfmt::skip]
const LINGER: Tunable = Tunable { names: &["linger.ms", "queue.buffering.max.ms"], range: 0..=900_000, unit: "milliseconds", example: 5 };
#[rustfmt::skip]
const QUEUE_KBYTES: Tunable = Tunable { names: &["queue.buffering.max.kbytes"], range: 1..=2_147_483_647, unit: "KiB", example: 65_536 };

/// `[target.producer]` checked: the typed numbers and the pass-through rest.
pub(crate) fn check_producer(
    raw: &BTreeMap<Spanned<String>, PropertyValue>,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> (ProducerSettings, BTreeMap<String, String>) {
    let mut settings = ProducerSettings::default();
    let mut extra = BTreeMap::new();
    for (key, value) in raw {
        let name = key.get_ref().as_str();
        let Some(text) = property_text(key, value, problems) else {
            continue;
        };
        let mut number = |tunable: &Tunable| tunable_value(tunable, key, text, problems);
        if let Some((_, field)) = SET_BY_FIELD.iter().find(|(p, _)| *p == name) {
            problems.report(
                key.span(),
                "target.producer",
                format!("property {name:?} is set by obsync"),
                format!("use {field} instead"),
            );
        } else if let Some((_, why)) = GUARANTEES.iter().find(|(p, _)| *p == name) {
            problems.report(
                key.span(),
                "target.producer",
                format!("property {name:?} is fixed by obsync: {why}"),
                "remove it",
            );
        } else if ACKS.contains(&name) {
            if !matches!(text.trim(), "all" | "-1") {
                problems.report(
                    key.span(),
                    "target.producer",
                    format!("{name} = {text:?} would let a checkpoint run ahead of what every replica has"),
                    format!("remove it: obsync always sends with {name} = \"all\""),
                );
            }
        } else if MESSAGE_MAX_BYTES.names.contains(&name) {
            if let Some(n) = number(&MESSAGE_MAX_BYTES) {
                settings.max_message_bytes = n as usize;
            }
        } else if MESSAGE_TIMEOUT.names.contains(&name) {
            if let Some(n) = number(&MESSAGE_TIMEOUT) {
                settings.message_timeout = Duration::from_millis(n);
            }
        } else if LINGER.names.contains(&name) {
            if let Some(n) = number(&LINGER) {
                settings.linger = Duration::from_millis(n);
            }
        } else if QUEUE_KBYTES.names.contains(&name) {
            if let Some(n) = number(&QUEUE_KBYTES) {
                settings.queue_max_bytes = n as usize * 1024;
            }
        } else {
            if let Err(why) = env.check_client_property(name, text) {
                problems.report(
                    key.span(),
                    "target.producer",
                    format!("librdkafka refuses {name} = {text:?}: {why}"),
                    "see librdkafka's CONFIGURATION.md for the property's name and values",
                );
            }
            extra.insert(name.to_string(), text.to_string());
        }
    }
    (settings, extra)
}

/// The value as text, or a reported problem when it is a table or an array.
fn property_text<'v>(
    key: &Spanned<String>,
    value: &'v PropertyValue,
    problems: &mut Problems<'_>,
) -> Option<&'v str> {
    let name = key.get_ref();
    match value {
        PropertyValue::Text(text) => Some(text),
        PropertyValue::Table => {
            problems.report(
                key.span(),
                "target.producer",
                format!("property {name:?} is a table"),
                "quote dotted property names, e.g. \"linger.ms\" = \"5\"",
            );
            None
        }
        PropertyValue::Other => {
            problems.report(
                key.span(),
                "target.producer",
                format!("property {name:?} must be a string, number or boolean"),
                "write the value as librdkafka expects it, e.g. \"5\"",
            );
            None
        }
    }
}

fn tunable_value(
    tunable: &Tunable,
    key: &Spanned<String>,
    text: &str,
    problems: &mut Problems<'_>,
) -> Option<u64> {
    let name = key.get_ref();
    let (min, max) = (tunable.range.start(), tunable.range.end());
    let fix = format!(
        "write a plain number of {} from {min} to {max}, e.g. \"{name}\" = {}",
        tunable.unit, tunable.example
    );
    match text.trim().parse::<u64>() {
        Ok(n) if tunable.range.contains(&n) => Some(n),
        Ok(n) => {
            problems.report(
                key.span(),
                "target.producer",
                format!("{name} = {n} is out of range"),
                fix,
            );
            None
        }
        Err(_) => {
            problems.report(
                key.span(),
                "target.producer",
                format!("{name} = {text:?} is not a number of {}", tunable.unit),
                fix,
            );
            None
        }
    }
}
