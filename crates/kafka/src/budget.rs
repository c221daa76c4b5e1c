//! The process's budget for message bytes handed to Kafka and not acknowledged yet,
//! shared fairly between the handles (projects) that send.
//!
//! Each librdkafka client bounds its own queue (`queue.buffering.max.kbytes`), but a
//! server has a client per target configuration, and on a shared client one busy
//! project can fill the queue every other project on it needs. So every `send` of a
//! handle made by [`KafkaProducer::shared`] first takes the message's bytes from the
//! process's [`InFlightBudget`]: at most [`InFlightBudget::total`] bytes in all, and per
//! handle at most a fair share, `total / handles` (never less than [`MIN_SHARE`]). The
//! bytes return when the message's ticket resolves (or is dropped). A handle with
//! nothing in flight may always send one message, so a large one cannot wait forever.
//!
//! [`KafkaProducer::shared`]: crate::KafkaProducer::shared

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Notify;

/// The process's in-flight bytes unless [`set_total`] chose otherwise: with hundreds of
/// projects, each gets at least [`MIN_SHARE`], which keeps a few batches per partition
/// in flight.
pub const DEFAULT_TOTAL: u64 = 256 * 1024 * 1024;

/// The least a handle may have in flight, however many share the budget.
pub const MIN_SHARE: u64 = 1024 * 1024;

/// See the module doc.
#[derive(Debug)]
pub struct InFlightBudget {
    total: u64,
    state: Mutex<State>,
    released: Notify,
}

#[derive(Debug, Default)]
struct State {
    used: u64,
    handles: u64,
}

static TOTAL: AtomicU64 = AtomicU64::new(DEFAULT_TOTAL);
static GLOBAL: OnceLock<Arc<InFlightBudget>> = OnceLock::new();

/// Sets the process's budget; only before the first shared producer is made (`false`
/// when it is too late).
pub fn set_total(bytes: u64) -> bool {
    TOTAL.store(bytes.max(1), Ordering::Relaxed);
    GLOBAL.get().is_none()
}

/// The process's budget.
pub fn global() -> Arc<InFlightBudget> {
    GLOBAL
        .get_or_init(|| InFlightBudget::new(TOTAL.load(Ordering::Relaxed)))
        .clone()
}

impl InFlightBudget {
    pub fn new(total: u64) -> Arc<Self> {
        Arc::new(Self {
            total,
            state: Mutex::new(State::default()),
            released: Notify::new(),
        })
    }

    /// Bytes in flight at most, in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes in flight now, and the handles sharing the budget.
    pub fn usage(&self) -> (u64, u64) {
        let st = self.lock();
        (st.used, st.handles)
    }

    /// A handle's share; the fair share of the others shrinks while it lives.
    pub fn share(self: &Arc<Self>) -> BudgetShare {
        self.lock().handles += 1;
        BudgetShare {
            budget: self.clone(),
            used: Arc::new(AtomicU64::new(0)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fair(&self, handles: u64) -> u64 {
        (self.total / handles.max(1)).max(MIN_SHARE.min(self.total))
    }
}

/// One handle's part of an [`InFlightBudget`].
#[derive(Debug)]
pub struct BudgetShare {
    budget: Arc<InFlightBudget>,
    used: Arc<AtomicU64>,
}

impl BudgetShare {
    /// Takes `bytes`, waiting while the handle has its fair share in flight or the
    /// budget is spent.
    pub async fn take(&self, bytes: u64) -> Reserved {
        loop {
            let released = self.budget.released.notified();
            tokio::pin!(released);
            // Registered before the check, so a release between the two is not missed.
            released.as_mut().enable();
            if let Some(r) = self.try_take(bytes) {
                return r;
            }
            released.await;
        }
    }

    /// Bytes this handle has in flight.
    pub fn in_flight(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn try_take(&self, bytes: u64) -> Option<Reserved> {
        let mut st = self.budget.lock();
        let mine = self.used.load(Ordering::Relaxed);
        let fits = mine == 0
            || (mine + bytes <= self.budget.fair(st.handles)
                && st.used + bytes <= self.budget.total);
        if !fits {
            return None;
        }
        st.used += bytes;
        self.used.fetch_add(bytes, Ordering::Relaxed);
        Some(Reserved {
            budget: self.budget.clone(),
            used: self.used.clone(),
            bytes,
        })
    }
}

impl Drop for BudgetShare {
    fn drop(&mut self) {
        self.budget.lock().handles -= 1;
        self.budget.released.notify_waiters();
    }
}

/// Bytes of one message in flight; returned to the budget when dropped.
#[derive(Debug)]
pub struct Reserved {
    budget: Arc<InFlightBudget>,
    used: Arc<AtomicU64>,
    bytes: u64,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        {
            let mut st = self.budget.lock();
            st.used -= self.bytes;
            self.used.fetch_sub(self.bytes, Ordering::Relaxed);
        }
        self.budget.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn taken(share: &BudgetShare, bytes: u64) -> Option<Reserved> {
        tokio::time::timeout(Duration::from_millis(100), share.take(bytes))
            .await
            .ok()
    }

    #[tokio::test]
    async fn a_handle_cannot_take_more_than_its_fair_share() {
        let budget = InFlightBudget::new(8 * MIN_SHARE);
        let a = budget.share();
        let b = budget.share();
        // Two handles: 4 MiB each.
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(taken(&a, MIN_SHARE).await.expect("within A's share"));
        }
        assert!(taken(&a, 1).await.is_none(), "A waits beyond its share");
        // B still gets its own share.
        let b1 = taken(&b, 3 * MIN_SHARE).await.expect("B's share is free");
        // An acknowledgement of A's lets A go on.
        let waiting = tokio::spawn({
            let a_share = Arc::new(a);
            async move { a_share.take(MIN_SHARE).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        held.pop();
        let again = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("released bytes wake the waiting handle")
            .unwrap();
        assert_eq!(budget.usage().0, 4 * MIN_SHARE + 3 * MIN_SHARE);
        drop((held, again, b1));
        assert_eq!(budget.usage().0, 0);
    }

    #[tokio::test]
    async fn a_third_handle_shrinks_the_shares_and_an_idle_handle_may_send_one_large_message() {
        let budget = InFlightBudget::new(3 * MIN_SHARE);
        let a = budget.share();
        let b = budget.share();
        let c = budget.share();
        let a1 = taken(&a, MIN_SHARE).await.unwrap();
        assert!(taken(&a, 1).await.is_none(), "a third of the budget each");
        // Nothing in flight: one message larger than the share still goes.
        let big = taken(&b, 10 * MIN_SHARE)
            .await
            .expect("an idle handle sends");
        assert!(taken(&b, 1).await.is_none());
        drop(c);
        assert_eq!(budget.usage().1, 2);
        drop((a1, big));
        assert_eq!(budget.usage(), (0, 2));
    }
}
