//! How many connections this process holds on each source server, and why: the fact a
//! user needs when the server answers `ERROR 1040 Too many connections`.
//!
//! The connections themselves are opened in many places (a metadata pool, a snapshot
//! pool, the binlog dump and the reader's own metadata queries), some inside
//! `mysql_async`'s pools, so they are not counted one by one: each running project
//! registers what its current stage holds at most ([`Holding`]), and a refused connection
//! reports the sum for that server ([`Usage`]). An upper bound, stated as such.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The connections one project's current stage may hold on its source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holding {
    /// The project's metadata pool (tables, columns, server facts) while it starts, and
    /// the binlog reader's own metadata connection while it streams: 1.
    pub metadata: u32,
    /// The snapshot pool while the full stage runs: `snapshot_parallelism`, plus one for
    /// the position read before the first row.
    pub snapshot: u32,
    /// The binlog dump while the incremental stage runs (1), and the reader's own
    /// metadata connection beside it (counted in `metadata`).
    pub dump: u32,
}

/// What every registered project holds on one source, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Projects registered on the source.
    pub projects: u32,
    /// Of those, in their snapshot.
    pub in_snapshot: u32,
    pub metadata: u32,
    pub snapshot: u32,
    pub dumps: u32,
}

impl Usage {
    /// Connections held at most.
    pub fn total(&self) -> u32 {
        self.metadata + self.snapshot + self.dumps
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "obsync holds up to {} connections on it for {} running projects: {} metadata, \
             {} binlog dumps, {} snapshot connections ({} projects in their snapshot); each \
             project holds 1 metadata connection while it starts, snapshot_parallelism + 1 \
             during its snapshot, and a binlog dump with 1 metadata connection while \
             streaming",
            self.total(),
            self.projects,
            self.metadata,
            self.dumps,
            self.snapshot,
            self.in_snapshot
        )
    }
}

type Registry = HashMap<String, HashMap<u64, Holding>>;

static PROJECTS: Mutex<Option<Registry>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn with_registry<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    let mut guard = PROJECTS.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(HashMap::new))
}

/// A project's entry for one source (`host:port`); dropping it removes the entry.
#[derive(Debug)]
pub struct UsageGuard {
    address: String,
    id: u64,
}

/// Registers a project on the source at `address` (`host:port`), holding nothing yet.
pub fn register(address: &str) -> UsageGuard {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    with_registry(|r| {
        r.entry(address.to_owned())
            .or_default()
            .insert(id, Holding::default())
    });
    UsageGuard {
        address: address.to_owned(),
        id,
    }
}

impl UsageGuard {
    /// Records what the project's current stage holds at most.
    pub fn hold(&self, holding: Holding) {
        with_registry(|r| {
            r.entry(self.address.clone())
                .or_default()
                .insert(self.id, holding)
        });
    }
}

impl Drop for UsageGuard {
    fn drop(&mut self) {
        with_registry(|r| {
            if let Some(projects) = r.get_mut(&self.address) {
                projects.remove(&self.id);
                if projects.is_empty() {
                    r.remove(&self.address);
                }
            }
        });
    }
}

/// What the registered projects hold on the source at `address` (`host:port`).
pub fn usage(address: &str) -> Usage {
    with_registry(|r| {
        let mut u = Usage::default();
        for h in r.get(address).into_iter().flat_map(|p| p.values()) {
            u.projects += 1;
            u.metadata += h.metadata;
            u.snapshot += h.snapshot;
            u.dumps += h.dump;
            if h.snapshot > 0 {
                u.in_snapshot += 1;
            }
        }
        u
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_sums_the_registered_projects_and_forgets_a_dropped_one() {
        let address = "usage-test:3306";
        let a = register(address);
        let b = register(address);
        a.hold(Holding {
            metadata: 1,
            snapshot: 5,
            dump: 0,
        });
        b.hold(Holding {
            metadata: 2,
            snapshot: 0,
            dump: 1,
        });
        let u = usage(address);
        assert_eq!((u.projects, u.in_snapshot, u.total()), (2, 1, 9));
        assert!(u.to_string().contains("up to 9 connections"), "{u}");
        drop(a);
        assert_eq!(usage(address).total(), 3);
        drop(b);
        assert_eq!(usage(address), Usage::default());
    }
}
