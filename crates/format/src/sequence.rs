//! `storeDataSequence`: the per-message sort key OMS consumers rely on.

/// Digits reserved for the per-second counter ("at most 5 digits" per the OMS doc).
const COUNTER_SPAN: u64 = 100_000;

/// Numbers messages as `commit_secs * 100000 + n` with `n` starting at 1 each second.
///
/// Strictly increasing whatever the input: more than 99,999 messages in one second, or
/// a commit time that goes backwards, borrow from the following second instead of
/// repeating a value (consumers such as wentaojin/dbms sort by it with a non-stable sort
/// and reject 0). Use one generator per partition or one for the whole topic; both
/// keep every partition strictly increasing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SequenceGenerator {
    last: u64,
}

impl SequenceGenerator {
    pub fn new() -> Self {
        Self::default()
    }

    /// A generator whose first value is greater than `last` (e.g. the last value written
    /// before a restart).
    pub fn starting_after(last: u64) -> Self {
        Self { last }
    }

    /// The next sequence number for a message whose transaction committed at
    /// `commit_secs` (Unix seconds).
    pub fn next(&mut self, commit_secs: u64) -> u64 {
        let first_of_second = commit_secs.saturating_mul(COUNTER_SPAN).saturating_add(1);
        self.last = first_of_second.max(self.last.saturating_add(1));
        self.last
    }

    /// The last value handed out (0 before the first).
    pub fn last(&self) -> u64 {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_second_and_restarts_at_the_next() {
        let mut g = SequenceGenerator::new();
        assert_eq!(g.next(1_714_528_800), 171_452_880_000_001);
        assert_eq!(g.next(1_714_528_800), 171_452_880_000_002);
        assert_eq!(g.next(1_714_528_801), 171_452_880_100_001);
    }

    #[test]
    fn stays_strictly_increasing_when_time_goes_back_or_overflows() {
        let mut g = SequenceGenerator::starting_after(171_452_880_099_999);
        assert_eq!(g.next(1_714_528_800), 171_452_880_100_000);
        assert_eq!(g.next(1_714_528_700), 171_452_880_100_001);
        assert_eq!(g.next(1_714_528_801), 171_452_880_100_002);
        assert_eq!(g.last(), 171_452_880_100_002);
    }
}
