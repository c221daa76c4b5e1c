//! Names that never collide between parallel tests, test processes or runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest name MySQL accepts for a database or table, and the longest topic name obsync
/// creates (Kafka itself allows 249).
const MAX_NAME_LEN: usize = 64;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Returns `<prefix>_<pid>_<counter>_<time>`, unique per process and call.
///
/// The pid and counter separate parallel tests; the time part (milliseconds, base 36,
/// last 5 digits) separates runs whose pids repeat against services that keep data
/// (`scripts/services down --keep`). The result is a valid unquoted MySQL identifier and a
/// valid Kafka topic name (`A-Z a-z 0-9 _`, at most 64 characters).
///
/// # Panics
/// If `prefix` is empty, has a character other than ASCII letters, digits and `_`, or is so
/// long that the name would exceed 64 characters.
pub fn unique_name(prefix: &str) -> String {
    assert!(
        !prefix.is_empty()
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "unique_name prefix {prefix:?} must be non-empty ASCII letters, digits or '_'"
    );
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let time = base36(millis % 36u128.pow(5));
    let name = format!("{prefix}_{}_{count}_{time}", std::process::id());
    assert!(
        name.len() <= MAX_NAME_LEN,
        "unique_name({prefix:?}) = {name:?} is longer than {MAX_NAME_LEN} characters: shorten the prefix"
    );
    name
}

fn base36(mut n: u128) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("base36 digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_from_one_process_are_all_different() {
        let names: HashSet<String> = (0..1000).map(|_| unique_name("t")).collect();
        assert_eq!(names.len(), 1000);
    }

    #[test]
    fn names_from_parallel_threads_are_all_different() {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| (0..200).map(|_| unique_name("par")).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for t in threads {
            for name in t.join().unwrap() {
                assert!(all.insert(name));
            }
        }
        assert_eq!(all.len(), 1600);
    }

    #[test]
    fn name_is_a_valid_identifier_and_topic() {
        let name = unique_name("orders_v2");
        assert!(name.starts_with("orders_v2_"));
        assert!(name.len() <= MAX_NAME_LEN);
        assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    }

    #[test]
    #[should_panic(expected = "must be non-empty ASCII letters, digits or '_'")]
    fn prefix_with_a_dash_is_rejected() {
        unique_name("a-b");
    }

    #[test]
    #[should_panic(expected = "shorten the prefix")]
    fn prefix_too_long_for_64_characters_is_rejected() {
        unique_name(&"x".repeat(60));
    }

    #[test]
    fn base36_writes_digits_and_letters() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
    }
}
