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
    /// A binlog dump the stage holds itself (1), and the reader's own metadata
    /// connection beside it (counted in `metadata`). The incremental stage leaves it 0:
    /// its change feed registers the dumps it holds ([`register_own_dump`], and the
    /// shared ones with [`register_shared_dump`]).
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
    /// Binlog dumps: each project's own, and the shared ones.
    pub dumps: u32,
    /// Of `dumps`, the shared ones (`binlog::shared`), each with 1 metadata connection
    /// (counted in `metadata`) ...
    pub shared_dumps: u32,
    /// ... and the projects reading them.
    pub shared_members: u32,
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
             {} binlog dumps ({} shared by {} projects), {} snapshot connections ({} \
             projects in their snapshot); each project holds 1 metadata connection while it \
             starts, snapshot_parallelism + 1 during its snapshot, and while streaming \
             either a share of the source's one shared dump or, while it catches up, a dump \
             of its own, each dump with 1 metadata connection",
            self.total(),
            self.projects,
            self.metadata,
            self.dumps,
            self.shared_dumps,
            self.shared_members,
            self.snapshot,
            self.in_snapshot
        )
    }
}

/// A registered holder: a project's stage, or a shared dump with its member count.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Project(Holding),
    SharedDump {
        members: u32,
    },
    /// A project's own dump (`binlog::feed`) with its metadata connection.
    OwnDump,
}

type Registry = HashMap<String, HashMap<u64, Entry>>;

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
            .insert(id, Entry::Project(Holding::default()))
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
                .insert(self.id, Entry::Project(holding))
        });
    }
}

/// Registers a project's own binlog dump (with its reader's metadata connection) on the
/// source at `address`, held while the guard lives.
pub fn register_own_dump(address: &str) -> UsageGuard {
    let guard = register(address);
    guard_set(&guard, Entry::OwnDump);
    guard
}

/// A shared binlog dump's entry (`binlog::shared`); dropping it removes the entry.
#[derive(Debug)]
pub struct SharedDumpGuard(UsageGuard);

/// Registers a shared dump (with its metadata connection) on the source at `address`.
pub fn register_shared_dump(address: &str) -> SharedDumpGuard {
    let guard = register(address);
    guard_set(&guard, Entry::SharedDump { members: 0 });
    SharedDumpGuard(guard)
}

impl SharedDumpGuard {
    /// Records how many projects the dump serves (attached or catching up to it).
    pub fn members(&self, members: u32) {
        guard_set(&self.0, Entry::SharedDump { members });
    }
}

fn guard_set(guard: &UsageGuard, entry: Entry) {
    with_registry(|r| {
        r.entry(guard.address.clone())
            .or_default()
            .insert(guard.id, entry)
    });
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

/// Every source something is registered on (`host:port`), with what is held there.
pub fn sources() -> Vec<(String, Usage)> {
    let mut addresses: Vec<String> = with_registry(|r| r.keys().cloned().collect());
    addresses.sort();
    addresses
        .into_iter()
        .map(|a| {
            let u = usage(&a);
            (a, u)
        })
        .collect()
}

/// What the registered projects hold on the source at `address` (`host:port`).
pub fn usage(address: &str) -> Usage {
    with_registry(|r| {
        let mut u = Usage::default();
        for e in r.get(address).into_iter().flat_map(|p| p.values()) {
            match e {
                Entry::Project(h) => {
                    u.projects += 1;
                    u.metadata += h.metadata;
                    u.snapshot += h.snapshot;
                    u.dumps += h.dump;
                    if h.snapshot > 0 {
                        u.in_snapshot += 1;
                    }
                }
                Entry::OwnDump => {
                    u.dumps += 1;
                    u.metadata += 1;
                }
                Entry::SharedDump { members } => {
                    u.dumps += 1;
                    u.metadata += 1;
                    u.shared_dumps += 1;
                    u.shared_members += members;
                }
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
        let shared = register_shared_dump(address);
        shared.members(7);
        let u = usage(address);
        assert_eq!(
            (
                u.projects,
                u.dumps,
                u.shared_dumps,
                u.shared_members,
                u.total()
            ),
            (1, 2, 1, 7, 5)
        );
        assert!(
            u.to_string()
                .contains("2 binlog dumps (1 shared by 7 projects)"),
            "{u}"
        );
        drop((b, shared));
        assert_eq!(usage(address), Usage::default());
    }
}
