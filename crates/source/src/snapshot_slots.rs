//! How many snapshot reads run at once on one source, for the whole process.
//!
//! Each project reads its snapshot with `snapshot_parallelism` parts at once; a server
//! starting many projects on one source would otherwise open that many connections per
//! project at the same moment. Every part of every project's snapshot takes a slot of
//! its source's semaphore ([`for_source`], [`DEFAULT_PER_SOURCE`] slots unless
//! [`set_per_source`] chose otherwise) for as long as it reads; the semaphore hands
//! slots out in the order they were asked for, so projects snapshotting together take
//! turns part by part instead of the first one holding the source until it is done.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Semaphore;

/// Snapshot parts reading at once per source unless [`set_per_source`] chose otherwise.
pub const DEFAULT_PER_SOURCE: usize = 16;

static PER_SOURCE: AtomicUsize = AtomicUsize::new(DEFAULT_PER_SOURCE);
static SOURCES: Mutex<Option<HashMap<String, Weak<Semaphore>>>> = Mutex::new(None);

/// Sets the slots per source for semaphores made from now on.
pub fn set_per_source(slots: usize) {
    PER_SOURCE.store(slots.max(1), Ordering::Relaxed);
}

/// The semaphore of the source at `address` (`host:port`), shared by every snapshot
/// running on it; it goes when the last one ends.
pub fn for_source(address: &str) -> Arc<Semaphore> {
    let mut sources = SOURCES.lock().unwrap_or_else(|p| p.into_inner());
    let sources = sources.get_or_insert_with(HashMap::new);
    sources.retain(|_, s| s.strong_count() > 0);
    if let Some(s) = sources.get(address).and_then(Weak::upgrade) {
        return s;
    }
    let s = Arc::new(Semaphore::new(PER_SOURCE.load(Ordering::Relaxed)));
    sources.insert(address.to_owned(), Arc::downgrade(&s));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Two projects of 4 parts at once each, 12 and 3 parts, on a source with 4 slots:
    /// never more than 4 parts read at once, and the small project is not made to wait
    /// for the big one to finish.
    #[tokio::test]
    async fn projects_on_one_source_take_turns_within_its_slots() {
        let address = "snapshot-slots-test:3306";
        let slots = Arc::new(Semaphore::new(4));
        {
            let mut sources = SOURCES.lock().unwrap();
            sources
                .get_or_insert_with(HashMap::new)
                .insert(address.into(), Arc::downgrade(&slots));
        }
        assert!(Arc::ptr_eq(&for_source(address), &slots));
        let reading = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        let project = |name: &'static str, parts: usize| {
            let (reading, most, order) = (reading.clone(), most.clone(), order.clone());
            async move {
                let own = Arc::new(Semaphore::new(4));
                let mut tasks = tokio::task::JoinSet::new();
                for _ in 0..parts {
                    let (own, reading, most, order) =
                        (own.clone(), reading.clone(), most.clone(), order.clone());
                    tasks.spawn(async move {
                        let _part = own.acquire_owned().await.unwrap();
                        let _slot = for_source(address).acquire_owned().await.unwrap();
                        let now = reading.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        reading.fetch_sub(1, Ordering::SeqCst);
                        order.lock().unwrap().push(name);
                    });
                }
                while tasks.join_next().await.is_some() {}
            }
        };
        let big = tokio::spawn(project("big", 12));
        tokio::time::sleep(Duration::from_millis(5)).await;
        let small = tokio::spawn(project("small", 3));
        let (a, b) = tokio::join!(big, small);
        a.unwrap();
        b.unwrap();
        assert!(most.load(Ordering::SeqCst) <= 4);
        let order = order.lock().unwrap();
        let last_small = order.iter().rposition(|n| *n == "small").unwrap();
        assert!(
            last_small < order.len() - 4,
            "the small project finished among the big one's parts: {order:?}"
        );
    }
}
