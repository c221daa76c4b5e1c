//! Choosing the partition of a message. Pure: no I/O.
//!
//! obsync always sends to an explicit partition, computed here, so that the partition a row
//! lands in does not depend on the client library and consumers can reproduce it.

/// How messages of one topic are spread over its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartitionRule {
    /// Kafka's default keyed partitioning over the shard key:
    /// `toPositive(murmur2(key)) % partitions`, exactly as the Java client's
    /// `DefaultPartitioner`/`BuiltInPartitioner` does for a record with a key.
    ///
    /// The key bytes are the shard-column values rendered as in the Default message format,
    /// joined by U+0001. A consumer reproduces the partition in Java with
    /// `org.apache.kafka.common.utils.Utils.toPositive(Utils.murmur2(keyBytes)) % n`.
    /// Equal shard keys always map to the same partition, so their changes stay in order.
    #[default]
    Hash,
    /// Every message to partition 0: total order per topic, no parallelism.
    One,
}

impl PartitionRule {
    /// The partition for `shard_key` in a topic with `partitions` partitions.
    ///
    /// # Panics
    /// If `partitions` is not positive: the topic's partition count comes from the broker's
    /// metadata, which never reports an existing topic with none.
    pub fn partition(self, shard_key: &[u8], partitions: i32) -> i32 {
        assert!(partitions > 0, "topic with {partitions} partitions");
        match self {
            PartitionRule::Hash => to_positive(murmur2(shard_key)) % partitions,
            PartitionRule::One => 0,
        }
    }
}

/// Java's `Utils.toPositive`: clears the sign bit (not `abs`, which fails for `i32::MIN`).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), bit for bit.
///
/// Written here rather than taken from a crate: it is twenty lines, and what matters is not
/// MurmurHash2 in general but Kafka's variant (seed `0x9747b28c`, little-endian blocks, signed
/// 32-bit result), which the general-purpose crates do not promise. The test
/// `murmur2_equals_java` checks it against the Kafka client jar.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java's int arithmetic wraps; u32 wrapping ops give the same bits.
    let mut h: u32 = SEED ^ data.len() as u32;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    // Java's switch falls through from case 3 to case 1.
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sends_everything_to_partition_zero() {
        assert_eq!(PartitionRule::One.partition(b"anything", 12), 0);
    }

    #[test]
    fn hash_is_stable_and_within_range() {
        for n in 1..20 {
            for key in [&b""[..], b"1", b"abc\x01def", "中文".as_bytes()] {
                let p = PartitionRule::Hash.partition(key, n);
                assert!((0..n).contains(&p));
                assert_eq!(p, PartitionRule::Hash.partition(key, n));
            }
        }
    }

    #[test]
    fn to_positive_handles_the_minimum() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(7), 7);
    }

    /// Values printed by Kafka's `Utils.murmur2` (kafka-clients 3.9.1); the live comparison
    /// against the jar is `murmur2_equals_java` in tests/.
    #[test]
    fn murmur2_known_values() {
        for (key, java) in KNOWN {
            assert_eq!(murmur2(key.as_bytes()), *java, "key {key:?}");
        }
    }

    const KNOWN: &[(&str, i32)] = &[
        ("", 275646681),
        ("a", -1563381124),
        ("ab", 316155434),
        ("abc", 479470107),
        ("abcd", -1323649548),
        ("abcde", 461995741),
        ("hello world", 1221641059),
        ("中文键", -1179355498),
        ("1\u{1}2\u{1}x", 1602614313),
        ("The quick brown fox jumps over the lazy dog", 495243318),
    ];
}
