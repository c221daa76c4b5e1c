//! Login limits: what keeps password guessing slow and the password check from sinking
//! the server.
//!
//! - An attempt is *reserved* ([`LoginLimiter::reserve`]) before its password is
//!   checked, in one step under a lock, so concurrent guesses cannot all pass the limit
//!   before any of them is counted.
//! - Failures are counted per user name *and* client address (IPv6 by its /64): after
//!   [`FREE_FAILURES`] the next try from that address waits a delay that doubles with
//!   every further failure, up to [`MAX_DELAY`]. Another address is not affected, so
//!   nobody can lock the admin out from elsewhere.
//! - The names are not kept: the key is a SHA-256 of the name, and the table holds at
//!   most [`MAX_ENTRIES`] keys (the least recently failed go first), so neither long
//!   nor many names grow memory.
//! - At most [`CONCURRENT_CHECKS`] Argon2 runs (checks and new hashes) at once, each on
//!   one of as many threads of their own ([`LoginLimiter::argon2`]): a run takes
//!   ~19 MiB and tens of milliseconds of CPU, and the C allocator keeps freed memory
//!   per thread, so a fixed set of threads bounds what it keeps. A run that cannot get
//!   a slot within [`CHECK_WAIT`] is answered 503.
//! - Failed logins and lockouts are logged and put in the event log, at most
//!   [`NOTES_PER_MINUTE`] a minute; the rest are counted and summed up later.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::{oneshot, Semaphore};

/// Failures of one (user name, address) that cost no delay.
pub const FREE_FAILURES: u32 = 5;
/// The delay after the first failure beyond the free ones; doubles after each further one.
const FIRST_DELAY: Duration = Duration::from_secs(10);
/// The longest delay between two tries of one (user name, address).
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// A (user name, address) that has not failed for this long starts afresh.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Most (user name, address) keys kept: ~100 bytes each, so at most ~1 MB.
pub const MAX_ENTRIES: usize = 10_000;
/// Argon2 runs at once: each needs 19 MiB, so two keep under 40 MiB; more would not
/// check faster on a small machine, only take more memory.
pub const CONCURRENT_CHECKS: usize = 2;
/// How long a login waits for a free check slot before it is answered 503.
pub const CHECK_WAIT: Duration = Duration::from_secs(5);
/// Log lines and events about failed logins per minute.
const NOTES_PER_MINUTE: u32 = 20;
/// Longest user name accepted; longer ones are refused before any hashing.
pub const MAX_USERNAME_CHARS: usize = 64;
/// The characters a user name may hold besides ASCII letters and digits.
pub const USERNAME_PUNCTUATION: [char; 4] = ['.', '_', '-', '@'];
/// Longest password accepted (bytes); longer ones are refused before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Who tries: a digest of the user name and the client's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    name: [u8; 16],
    client: IpAddr,
}

impl Key {
    fn new(username: &str, client: IpAddr) -> Key {
        let digest = Sha256::digest(username.as_bytes());
        let mut name = [0u8; 16];
        name.copy_from_slice(&digest[..16]);
        Key {
            name,
            client: network(client),
        }
    }
}

/// An IPv6 client may own a whole /64; IPv4 (and IPv4-mapped) addresses count alone.
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
        v4 => v4,
    }
}

#[derive(Debug)]
struct Entry {
    failures: u32,
    /// Attempts reserved and not yet finished.
    pending: u32,
    /// No new attempt before this.
    wait_until: Instant,
    last_failure: Instant,
}

/// Why a login may not be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// This user name failed too often from this address: try again after the delay.
    #[error("too many failed logins for this user from this address: wait {} seconds, then try again", retry_after.as_secs().max(1))]
    TooManyFailures { retry_after: Duration },
    /// Every password-check slot stayed busy.
    #[error("too many passwords are being checked at once: try again in a second")]
    Busy { retry_after: Duration },
}

type Job = Box<dyn FnOnce() + Send>;

/// The login limits of one server; see the module documentation.
pub struct LoginLimiter {
    entries: Mutex<HashMap<Key, Entry>>,
    checks: Arc<Semaphore>,
    /// The Argon2 threads' queue, started on first use; they end with the limiter.
    workers: OnceLock<SyncSender<Job>>,
    notes: Mutex<NoteBudget>,
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        LoginLimiter {
            entries: Mutex::default(),
            checks: Arc::new(Semaphore::new(CONCURRENT_CHECKS)),
            workers: OnceLock::new(),
            notes: Mutex::new(NoteBudget {
                window_start: Instant::now(),
                used: 0,
                suppressed: 0,
            }),
        }
    }
}

impl LoginLimiter {
    /// Reserves one attempt of `username` from `client`, or says how long to wait.
    pub fn reserve(&self, username: &str, client: IpAddr) -> Result<Attempt<'_>, Refusal> {
        let key = Key::new(username, client);
        let now = Instant::now();
        let mut map = self.lock();
        if let Some(entry) = map.get(&key) {
            if now.duration_since(entry.last_failure) > FORGET_AFTER && entry.pending == 0 {
                map.remove(&key);
            }
        }
        if !map.contains_key(&key) && map.len() >= MAX_ENTRIES {
            evict_oldest(&mut map);
        }
        let entry = map.entry(key).or_insert(Entry {
            failures: 0,
            pending: 0,
            wait_until: now,
            last_failure: now,
        });
        // While the free failures last, that many tries may run at once; after them,
        // one at a time and only after the delay.
        let in_flight_allowed = FREE_FAILURES.saturating_sub(entry.failures).max(1);
        if now < entry.wait_until || entry.pending >= in_flight_allowed {
            let retry_after = entry.wait_until.saturating_duration_since(now);
            return Err(Refusal::TooManyFailures {
                retry_after: retry_after.max(Duration::from_secs(1)),
            });
        }
        entry.pending += 1;
        Ok(Attempt {
            limiter: self,
            key,
            finished: false,
        })
    }

    /// Runs `work` (an Argon2 check or hash) on the Argon2 threads once a slot is free,
    /// waiting at most [`CHECK_WAIT`] for it.
    pub async fn argon2<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refusal> {
        let busy = Refusal::Busy {
            retry_after: Duration::from_secs(1),
        };
        // The semaphore is never closed; a timeout is the busy case.
        let Ok(Ok(_permit)) = tokio::time::timeout(CHECK_WAIT, self.checks.acquire()).await else {
            return Err(busy);
        };
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        // Holding a permit, a free thread is waiting: the queue never blocks.
        if self.workers().send(job).is_err() {
            return Err(busy);
        }
        rx.await.map_err(|_| busy)
    }

    fn workers(&self) -> &SyncSender<Job> {
        self.workers.get_or_init(|| {
            let (tx, rx) = sync_channel::<Job>(CONCURRENT_CHECKS);
            let rx = Arc::new(Mutex::new(rx));
            for n in 0..CONCURRENT_CHECKS {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("obsync-argon2-{n}"))
                    .spawn(move || run_jobs(&rx));
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start a password-check thread");
                }
            }
            tx
        })
    }

    /// How many (user name, address) keys are kept (for tests of the memory bound).
    pub fn entries(&self) -> usize {
        self.lock().len()
    }

    /// Whether a note (log line and event) about a failed login may be written now;
    /// `Some(n)` also reports `n` notes suppressed since the last one.
    pub fn note_budget(&self) -> Option<u64> {
        let mut budget = self.notes.lock().unwrap_or_else(|p| p.into_inner());
        if budget.window_start.elapsed() >= Duration::from_secs(60) {
            budget.window_start = Instant::now();
            budget.used = 0;
        }
        if budget.used < NOTES_PER_MINUTE {
            budget.used += 1;
            Some(std::mem::take(&mut budget.suppressed))
        } else {
            budget.suppressed += 1;
            None
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // A poisoned lock means a panic while counting; the counts are still usable.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn run_jobs(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            // The limiter (and its sender) is gone.
            Err(_) => return,
        };
        job();
    }
}

/// The least recently failed key goes; a linear scan, run only when the table is full
/// (10,000 entries scan in tens of microseconds, cheaper than keeping an order).
fn evict_oldest(map: &mut HashMap<Key, Entry>) {
    let oldest = map
        .iter()
        .filter(|(_, e)| e.pending == 0)
        .min_by_key(|(_, e)| e.last_failure)
        .map(|(k, _)| *k);
    if let Some(key) = oldest {
        map.remove(&key);
    }
}

struct NoteBudget {
    window_start: Instant,
    used: u32,
    suppressed: u64,
}

/// A reserved login attempt; dropped without an outcome (a 503, a failed request), it
/// gives its reservation back.
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    key: Key,
    finished: bool,
}

/// What a failed attempt led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Failures of this (user name, address) in a row.
    pub failures: u32,
    /// Set when this failure starts a delay: the next try must wait this long.
    pub delay: Option<Duration>,
}

impl Attempt<'_> {
    /// The password was right: this (user name, address) starts afresh.
    pub fn succeeded(mut self) {
        self.finished = true;
        self.limiter.lock().remove(&self.key);
    }

    /// The password was wrong: counts the failure and sets the delay.
    pub fn failed(mut self) -> Failure {
        self.finished = true;
        let now = Instant::now();
        let mut map = self.limiter.lock();
        let Some(entry) = map.get_mut(&self.key) else {
            return Failure {
                failures: 1,
                delay: None,
            };
        };
        entry.pending = entry.pending.saturating_sub(1);
        entry.failures += 1;
        entry.last_failure = now;
        let delay = delay_after(entry.failures);
        if let Some(delay) = delay {
            entry.wait_until = now + delay;
        }
        Failure {
            failures: entry.failures,
            delay,
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut map = self.limiter.lock();
        if let Some(entry) = map.get_mut(&self.key) {
            entry.pending = entry.pending.saturating_sub(1);
            if entry.pending == 0 && entry.failures == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// The wait after `failures` failures in a row: none for the free ones, then 10 s,
/// 20 s, 40 s, … up to [`MAX_DELAY`].
fn delay_after(failures: u32) -> Option<Duration> {
    let beyond = failures.checked_sub(FREE_FAILURES)?;
    let delay = FIRST_DELAY.saturating_mul(2u32.saturating_pow(beyond.min(20)));
    Some(delay.min(MAX_DELAY))
}

/// An Argon2id hash of a random password, made once: unknown user names are checked
/// against it so that they take as long as known ones.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    // Hashing a 64-character token with fixed parameters cannot fail; were it to, the
    // empty string verifies nothing (and fast, which only a broken build would see).
    crate::passwords::hash(&crate::auth::new_token()).unwrap_or_default()
});

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn concurrent_attempts_are_capped_before_any_is_checked() {
        let l = LoginLimiter::default();
        let held: Vec<_> = (0..5)
            .map(|_| l.reserve("admin", ip("127.0.0.1")).unwrap())
            .collect();
        assert!(matches!(
            l.reserve("admin", ip("127.0.0.1")),
            Err(Refusal::TooManyFailures { .. })
        ));
        drop(held);
        assert!(l.reserve("admin", ip("127.0.0.1")).is_ok());
    }

    #[test]
    fn failures_delay_one_address_and_not_another() {
        let l = LoginLimiter::default();
        for n in 1..=5 {
            let f = l.reserve("admin", ip("10.0.0.1")).unwrap().failed();
            assert_eq!(f.failures, n);
            assert_eq!(f.delay.is_some(), n == 5);
        }
        assert!(l.reserve("admin", ip("10.0.0.1")).is_err());
        assert!(l.reserve("admin", ip("10.0.0.2")).is_ok());
        assert!(l.reserve("other", ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn delays_grow_and_stop_at_the_maximum() {
        assert_eq!(delay_after(4), None);
        assert_eq!(delay_after(5), Some(Duration::from_secs(10)));
        assert_eq!(delay_after(6), Some(Duration::from_secs(20)));
        assert_eq!(delay_after(60), Some(MAX_DELAY));
    }

    #[test]
    fn a_success_and_an_abandoned_attempt_keep_no_entry() {
        let l = LoginLimiter::default();
        l.reserve("admin", ip("10.0.0.1")).unwrap().succeeded();
        drop(l.reserve("ghost", ip("10.0.0.1")).unwrap());
        assert_eq!(l.entries(), 0);
    }

    #[test]
    fn the_table_stays_bounded() {
        let l = LoginLimiter::default();
        for i in 0..MAX_ENTRIES + 50 {
            l.reserve(&format!("user{i}"), ip("10.0.0.1"))
                .unwrap()
                .failed();
        }
        assert_eq!(l.entries(), MAX_ENTRIES);
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64() {
        assert_eq!(network(ip("2001:db8::1")), network(ip("2001:db8::ffff:1")));
        assert_ne!(network(ip("2001:db8::1")), network(ip("2001:db8:0:1::1")));
        assert_eq!(network(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
    }
}
