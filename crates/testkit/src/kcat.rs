//! Reading Kafka with `kcat`, the independent client: what it reads back is what any
//! consumer would see. One way to consume for every crate's tests.

use std::process::{Command, Stdio};

/// One record as kcat read it back. A null key or value reads as empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

impl KafkaRecord {
    /// The key as text (obsync's keys are UTF-8).
    pub fn key_str(&self) -> &str {
        std::str::from_utf8(&self.key).expect("a UTF-8 key")
    }

    /// The value as text (obsync's formats are UTF-8 JSON).
    pub fn value_str(&self) -> &str {
        std::str::from_utf8(&self.value).expect("a UTF-8 value")
    }
}

/// kcat's output format: a header line with the lengths (-1 for NULL), then key and
/// value verbatim, so any bytes (newlines, tabs) come back exactly.
const FORMAT: &str = "%p %o %K %S\n%k%s\n";

/// Every record of `topic`, from the beginning of every partition, sorted by
/// (partition, offset). `connection` are kcat's arguments to reach the brokers (`-b …`
/// and any `-X key=value`).
///
/// `Err` carries kcat's message, e.g. when the topic does not exist (yet).
pub fn try_consume(connection: &[String], topic: &str) -> Result<Vec<KafkaRecord>, String> {
    let out = Command::new("kcat")
        .args(connection)
        .args([
            "-C",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            FORMAT,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running kcat: {e} (scripts/install-prereqs installs it)"))?;
    if !out.status.success() {
        return Err(format!(
            "kcat -C -t {topic} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut records = parse(topic, &out.stdout)?;
    records.sort_by_key(|r| (r.partition, r.offset));
    Ok(records)
}

/// [`try_consume`] from the brokers at `bootstrap` (plain connection).
///
/// # Panics
/// With kcat's message when it fails.
pub fn consume(bootstrap: &str, topic: &str) -> Vec<KafkaRecord> {
    try_consume(&["-b".to_string(), bootstrap.to_string()], topic).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `kcat <connection> -L` lists one broker (a starting broker is ready).
pub fn broker_answers(connection: &[String]) -> bool {
    Command::new("kcat")
        .args(connection)
        .args(["-L", "-m", "3"])
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains(" 1 brokers:")
        })
}

fn parse(topic: &str, mut out: &[u8]) -> Result<Vec<KafkaRecord>, String> {
    let mut records = Vec::new();
    while !out.is_empty() {
        let bad = |what: &str| format!("kcat output for {topic}: {what}");
        let end = out
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("a header without its line end"))?;
        let header = std::str::from_utf8(&out[..end]).map_err(|_| bad("a header not in UTF-8"))?;
        let fields: Vec<i64> = header
            .split(' ')
            .map(|f| f.parse().map_err(|_| bad(&format!("header {header:?}"))))
            .collect::<Result<_, _>>()?;
        let [partition, offset, key_len, value_len] = fields[..] else {
            return Err(bad(&format!("header {header:?}")));
        };
        out = &out[end + 1..];
        let mut take = |len: i64| -> Result<Vec<u8>, String> {
            let len = len.max(0) as usize;
            if out.len() < len {
                return Err(bad("a record cut short"));
            }
            let (bytes, rest) = out.split_at(len);
            out = rest;
            Ok(bytes.to_vec())
        };
        let key = take(key_len)?;
        let value = take(value_len)?;
        if out.first() != Some(&b'\n') {
            return Err(bad("a record longer than its header says"));
        }
        out = &out[1..];
        records.push(KafkaRecord {
            topic: topic.to_string(),
            partition: partition as i32,
            offset,
            key,
            value,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_with_any_bytes_and_null_parts_parse_exactly() {
        let out = b"1 7 3 11\nk\x01y{\"a\":\"b\nc\"}\n0 2 -1 -1\n\n";
        let records = parse("t", out).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            (records[0].partition, records[0].offset),
            (1, 7),
            "{records:?}"
        );
        assert_eq!(records[0].key, b"k\x01y");
        assert_eq!(records[0].value, b"{\"a\":\"b\nc\"}");
        assert!(records[1].key.is_empty() && records[1].value.is_empty());
        assert!(parse("t", b"0 1 5 0\nab\n").is_err(), "cut short");
    }
}
