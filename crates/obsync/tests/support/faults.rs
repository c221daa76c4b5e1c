//! Fault-injection helpers on top of the shared harness (`support/mod.rs`):
//!
//! - [`Session`]: one blocking SQL connection that survives a source restart (it reopens
//!   itself after any error) and reports affected rows.
//! - [`Writer`]: a background thread doing single- and multi-row transactions of inserts,
//!   updates (also key-changing) and deletes, recording every change whose `COMMIT`
//!   succeeded, so a test can check that each committed change reached Kafka, not only the
//!   final table state.
//! - [`redeliveries`]: how many row records Kafka holds more than once, and [`snapshot_counts`]:
//!   snapshot records per key.
//! - [`ProjectStateFile`]: `state.json` as the tests read it (resume key, checkpoint).
//! - [`services_with`]: the shared services with a private MariaDB or Kafka swapped in, so the
//!   harness's `SourceDb`, `ProjectSpec` and `wait_until_equal` work against private servers.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use obsync_format::decode::{DecodedOp, Image};
use obsync_testkit::{Services, SqlServer};

use crate::support::Reconstruction;

/// Polls `done` every `every` until it returns `Some`, or panics naming `what` after
/// `deadline`.
pub fn poll<T>(
    what: &str,
    deadline: Duration,
    every: Duration,
    mut done: impl FnMut() -> Option<T>,
) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = done() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}

/// The shared services with `mariadb` and/or `kafka_bootstrap` replaced: the harness builds
/// databases, project files and consumers from these fields.
pub fn services_with(mariadb: Option<SqlServer>, kafka_bootstrap: Option<String>) -> Services {
    let mut s = Services::load();
    if let Some(m) = mariadb {
        s.mariadb = m;
    }
    if let Some(k) = kafka_bootstrap {
        s.kafka_bootstrap = k;
    }
    s
}

// ---------------------------------------------------------------------------------------
// SQL sessions and the writer
// ---------------------------------------------------------------------------------------

/// One SQL connection (database `db` selected) that reconnects on the next call after any
/// error, for writers that must survive a server restart.
pub struct Session {
    rt: tokio::runtime::Runtime,
    opts: mysql_async::Opts,
    conn: Option<mysql_async::Conn>,
}

impl Session {
    pub fn new(server: &SqlServer, db: &str) -> Session {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname(server.host.clone())
            .tcp_port(server.port)
            .user(Some(server.user.clone()))
            .pass(Some(server.password.clone()))
            .db_name(Some(db.to_string()))
            .prefer_socket(false)
            .into();
        Session {
            rt,
            opts,
            conn: None,
        }
    }

    /// Runs `stmts` in order on one connection and returns each one's affected rows. On
    /// error the connection is dropped (an open transaction is rolled back by the server)
    /// and the next call reconnects.
    pub fn run(&mut self, stmts: &[String]) -> Result<Vec<u64>, String> {
        use mysql_async::prelude::Queryable;
        let opts = self.opts.clone();
        let mut conn = self.conn.take();
        let result = self.rt.block_on(async {
            let c = match &mut conn {
                Some(c) => c,
                None => conn.insert(
                    tokio::time::timeout(Duration::from_secs(5), mysql_async::Conn::new(opts))
                        .await
                        .map_err(|_| "connect timed out".to_string())?
                        .map_err(|e| e.to_string())?,
                ),
            };
            let mut affected = Vec::with_capacity(stmts.len());
            for s in stmts {
                tokio::time::timeout(Duration::from_secs(20), c.query_drop(s.as_str()))
                    .await
                    .map_err(|_| format!("{s}: timed out"))?
                    .map_err(|e| format!("{s}: {e}"))?;
                affected.push(c.affected_rows());
            }
            Ok(affected)
        });
        if result.is_ok() {
            self.conn = conn;
        }
        result
    }

    /// The first column of the first row of `sql` as text.
    pub fn value(&mut self, sql: &str) -> Result<Option<String>, String> {
        use mysql_async::prelude::Queryable;
        let opts = self.opts.clone();
        let mut conn = self.conn.take();
        let result = self.rt.block_on(async {
            let c = match &mut conn {
                Some(c) => c,
                None => conn.insert(
                    mysql_async::Conn::new(opts)
                        .await
                        .map_err(|e| e.to_string())?,
                ),
            };
            c.query_first::<Option<String>, _>(sql)
                .await
                .map(Option::flatten)
                .map_err(|e| format!("{sql}: {e}"))
        });
        if result.is_ok() {
            self.conn = conn;
        }
        result
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let _ = self.rt.block_on(c.disconnect());
        }
    }
}

/// A change whose transaction's `COMMIT` succeeded (a lower bound of what the source
/// holds: a commit interrupted by a server restart may have happened unrecorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// A row with this id was inserted (ids are never reused).
    Insert { id: u64 },
    /// `rows` rows were updated to `s = token` (also key-changing updates).
    Update { token: String, rows: u64 },
    /// The row with this id was deleted.
    Delete { id: u64 },
}

/// What a [`Writer`] did.
#[derive(Debug, Default, Clone)]
pub struct WriterLog {
    pub committed: Vec<Committed>,
    pub transactions: u64,
    /// Transactions that failed (server restarting): their effects are unknown.
    pub failures: u64,
}

/// xorshift64*: enough randomness for picking operations, without a rand dependency.
pub struct Rng(u64);

impl Rng {
    pub fn seeded() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Rng(t | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// The writers' table: `CREATE TABLE <name> (id BIGINT PRIMARY KEY, v INT, s VARCHAR(64))`,
/// with rows `1..=rows` (`s = 'seed'`).
pub fn create_writer_table(session: &mut Session, table: &str, rows: u64) {
    let mut stmts = vec![format!(
        "CREATE TABLE `{table}` (id BIGINT PRIMARY KEY, v INT NOT NULL, s VARCHAR(64) NOT NULL)"
    )];
    if rows > 0 {
        stmts.push(format!(
            "INSERT INTO `{table}` (id, v, s) SELECT seq, seq, 'seed' FROM seq_1_to_{rows}"
        ));
    }
    session.run(&stmts).expect("creating the writer table");
}

struct WriterShared {
    stop: AtomicBool,
    paused: AtomicBool,
    /// Set by the thread while paused (no transaction open).
    idle: AtomicBool,
    transactions: AtomicU64,
    /// A Unix time the writer's session pins its clock to (`SET timestamp`), 0: none.
    clock: AtomicU64,
    log: Mutex<WriterLog>,
}

/// A background writer on one table of [`create_writer_table`]'s shape.
pub struct Writer {
    shared: Arc<WriterShared>,
    thread: Option<JoinHandle<()>>,
}

/// One planned statement and what it does if it affects rows.
enum Effect {
    Insert(u64),
    Update(String),
    Delete(u64),
}

struct WriterState {
    rng: Rng,
    next_id: u64,
    token: u64,
    prefix: String,
    key_changes: bool,
}

impl WriterState {
    fn statement(&mut self, table: &str) -> (String, Effect) {
        let existing = self.rng.range(1, self.next_id);
        self.token += 1;
        let tok = format!("{}{}", self.prefix, self.token);
        match self.rng.range(0, 100) {
            0..=39 => {
                let id = self.next_id;
                self.next_id += 1;
                let v = self.rng.range(0, 1_000_000);
                (
                    format!("INSERT INTO `{table}` (id, v, s) VALUES ({id}, {v}, 'i{id}')"),
                    Effect::Insert(id),
                )
            }
            40..=69 => (
                format!("UPDATE `{table}` SET v = v + 1, s = '{tok}' WHERE id = {existing}"),
                Effect::Update(tok),
            ),
            70..=79 => (
                // Several rows in one statement: one rows event with many rows.
                format!(
                    "UPDATE `{table}` SET v = v + 1, s = '{tok}' WHERE id BETWEEN {existing} AND {}",
                    existing + 4
                ),
                Effect::Update(tok),
            ),
            80..=91 => (
                format!("DELETE FROM `{table}` WHERE id = {existing}"),
                Effect::Delete(existing),
            ),
            92.. if !self.key_changes => (
                format!("UPDATE `{table}` SET v = v - 1, s = '{tok}' WHERE id = {existing}"),
                Effect::Update(tok),
            ),
            _ => {
                // A key-changing update: consumers must drop the old key.
                let id = self.next_id;
                self.next_id += 1;
                (
                    format!("UPDATE `{table}` SET id = {id}, s = '{tok}' WHERE id = {existing}"),
                    Effect::Update(tok),
                )
            }
        }
    }
}

impl Writer {
    /// Starts writing to `table` of `db` on `server`: one transaction, then `pause`, and
    /// again. Rows `1..first_new_id` may exist; new rows get ids from `first_new_id` on.
    /// About a third of the transactions hold 2-5 statements.
    ///
    /// `key_changes` adds key-changing updates. Only for `partition_rule = "one"`: with
    /// hash partitioning such an update goes to the old key's partition (docs/formats.md)
    /// while later changes of the new key go to the new key's, so no per-partition
    /// reading can order them.
    pub fn start(
        server: &SqlServer,
        db: &str,
        table: &str,
        first_new_id: u64,
        pause: Duration,
        key_changes: bool,
    ) -> Writer {
        let shared = Arc::new(WriterShared {
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            idle: AtomicBool::new(false),
            transactions: AtomicU64::new(0),
            clock: AtomicU64::new(0),
            log: Mutex::new(WriterLog::default()),
        });
        let mut session = Session::new(server, db);
        let table = table.to_string();
        let sh = shared.clone();
        let thread = std::thread::spawn(move || {
            let mut st = WriterState {
                rng: Rng::seeded(),
                next_id: first_new_id,
                token: 0,
                prefix: "w".into(),
                key_changes,
            };
            while !sh.stop.load(Ordering::SeqCst) {
                if sh.paused.load(Ordering::SeqCst) {
                    sh.idle.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                sh.idle.store(false, Ordering::SeqCst);
                let n = if st.rng.range(0, 3) == 0 {
                    st.rng.range(2, 6)
                } else {
                    1
                };
                let planned: Vec<(String, Effect)> = (0..n).map(|_| st.statement(&table)).collect();
                let mut stmts: Vec<String> = Vec::new();
                let clock = sh.clock.load(Ordering::SeqCst);
                if clock > 0 {
                    // Every time: a reconnected session forgets it.
                    stmts.push(format!("SET timestamp = {clock}"));
                }
                if n > 1 {
                    stmts.push("BEGIN".into());
                }
                stmts.extend(planned.iter().map(|(s, _)| s.clone()));
                if n > 1 {
                    stmts.push("COMMIT".into());
                }
                let result = session.run(&stmts);
                let mut log = sh.log.lock().unwrap();
                log.transactions += 1;
                match result {
                    Ok(affected) => {
                        let offset = usize::from(n > 1) + usize::from(clock > 0);
                        for (i, (_, effect)) in planned.into_iter().enumerate() {
                            let rows = affected[i + offset];
                            if rows == 0 {
                                continue;
                            }
                            log.committed.push(match effect {
                                Effect::Insert(id) => Committed::Insert { id },
                                Effect::Update(token) => Committed::Update { token, rows },
                                Effect::Delete(id) => Committed::Delete { id },
                            });
                        }
                    }
                    Err(_) => {
                        log.failures += 1;
                        drop(log);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                sh.transactions.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(pause);
            }
        });
        Writer {
            shared,
            thread: Some(thread),
        }
    }

    /// Pins the writer's session clock to `unix` seconds from its next transaction on
    /// (`SET timestamp`: the binlog's commit times say `unix`, whatever the real time).
    #[allow(dead_code)]
    pub fn pin_clock(&self, unix: u64) {
        self.shared.clock.store(unix, Ordering::SeqCst);
    }

    /// Transactions attempted so far.
    pub fn transactions(&self) -> u64 {
        self.shared.transactions.load(Ordering::SeqCst)
    }

    /// Stops writing after the current transaction and waits until it is over.
    pub fn pause(&self) {
        self.shared.idle.store(false, Ordering::SeqCst);
        self.shared.paused.store(true, Ordering::SeqCst);
        poll(
            "the writer to pause",
            Duration::from_secs(60),
            Duration::from_millis(2),
            || self.shared.idle.load(Ordering::SeqCst).then_some(()),
        );
    }

    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
    }

    /// Waits until `n` more transactions were attempted than now.
    pub fn wait_transactions(&self, n: u64, deadline: Duration) {
        let target = self.transactions() + n;
        poll(
            &format!("{n} writer transactions"),
            deadline,
            Duration::from_millis(20),
            || (self.transactions() >= target).then_some(()),
        );
    }

    /// Stops the thread and returns its log.
    pub fn finish(mut self) -> WriterLog {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("the writer thread panicked");
        }
        self.shared.log.lock().unwrap().clone()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Inserts rows `ids`, each in a transaction of its own, as fast as one session can.
/// Returns the ids whose commit succeeded.
pub fn burst_inserts(session: &mut Session, table: &str, ids: std::ops::Range<u64>) -> Vec<u64> {
    ids.filter(|id| {
        session
            .run(&[format!(
                "INSERT INTO `{table}` (id, v, s) VALUES ({id}, 0, 'b{id}')"
            )])
            .is_ok()
    })
    .collect()
}

// ---------------------------------------------------------------------------------------
// What Kafka holds
// ---------------------------------------------------------------------------------------

fn cell<'a>(image: &'a Option<Image>, column: &str) -> Option<&'a str> {
    image.as_ref()?.get(column)?.as_deref()
}

/// Row records (snapshot rows, inserts, updates, deletes) that are exact repeats of an
/// earlier record (same operation, table, before and after image): re-deliveries after a
/// restart. Every change of a [`Writer`] is unique, so this counts exactly the replayed
/// records; the harness's `duplicates` only counts replayed inserts whose row is unchanged
/// since.
pub fn redeliveries(r: &Reconstruction) -> usize {
    let mut seen = HashSet::new();
    let mut repeats = 0;
    for (_, d) in &r.records {
        if matches!(d.op, DecodedOp::Ddl | DecodedOp::Heartbeat) {
            continue;
        }
        let key = format!(
            "{:?}\u{1}{}\u{1}{}\u{1}{:?}\u{1}{:?}",
            d.op, d.database, d.table, d.before, d.after
        );
        if !seen.insert(key) {
            repeats += 1;
        }
    }
    repeats
}

/// Snapshot (full-sync) records per value of `column` of `table`.
pub fn snapshot_counts(r: &Reconstruction, table: &str, column: &str) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for (_, d) in &r.records {
        if d.op == DecodedOp::Snapshot && d.table == table {
            let id: u64 = cell(&d.after, column)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("snapshot record without a numeric {column}: {d:?}"));
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    counts
}

/// Insert records of `table` per id.
pub fn insert_counts(r: &Reconstruction, table: &str) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for (_, d) in &r.records {
        if d.op == DecodedOp::Insert && d.table == table {
            if let Some(id) = cell(&d.after, "id").and_then(|v| v.parse().ok()) {
                *counts.entry(id).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Panics unless every change in `log` has its record in Kafka: an INSERT for every
/// inserted id, UPDATEs to `s = token` for as many distinct rows as the statement changed,
/// a DELETE for every deleted id. This finds a lost intermediate change even when the
/// final table state matches.
pub fn assert_every_change_delivered(log: &WriterLog, r: &Reconstruction, table: &str) {
    let mut inserted = BTreeSet::new();
    let mut deleted = BTreeSet::new();
    let mut updated: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, d) in &r.records {
        if d.table != table {
            continue;
        }
        match d.op {
            DecodedOp::Insert => {
                if let Some(id) = cell(&d.after, "id") {
                    inserted.insert(id.to_string());
                }
            }
            DecodedOp::Update => {
                if let (Some(tok), Some(id)) = (cell(&d.after, "s"), cell(&d.before, "id")) {
                    updated
                        .entry(tok.to_string())
                        .or_default()
                        .insert(id.to_string());
                }
            }
            DecodedOp::Delete => {
                if let Some(id) = cell(&d.before, "id") {
                    deleted.insert(id.to_string());
                }
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    for c in &log.committed {
        let ok = match c {
            Committed::Insert { id } => inserted.contains(&id.to_string()),
            Committed::Delete { id } => deleted.contains(&id.to_string()),
            Committed::Update { token, rows } => {
                updated.get(token).map_or(0, |s| s.len() as u64) >= *rows
            }
        };
        if !ok {
            missing.push(format!("{c:?}"));
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} committed changes are not in Kafka (lost): {:?}",
        missing.len(),
        log.committed.len(),
        &missing[..missing.len().min(20)]
    );
}

// ---------------------------------------------------------------------------------------
// state.json
// ---------------------------------------------------------------------------------------

/// A project's `state.json`, read by the tests.
#[derive(Debug, Clone)]
pub struct ProjectStateFile(pub serde_json::Value);

impl ProjectStateFile {
    /// Reads `<state_dir>/state.json`; `None` while it does not exist (or is being
    /// replaced: the rename is atomic, so a read sees the old or the new file).
    pub fn read(state_dir: &Path) -> Option<ProjectStateFile> {
        let text = std::fs::read_to_string(state_dir.join("state.json")).ok()?;
        Some(ProjectStateFile(
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("state.json is not JSON ({e}): {text}")),
        ))
    }

    /// The saved snapshot progress of `table` (`db.table`), if any.
    pub fn snapshot(&self, table: &str) -> Option<SnapshotProgress> {
        let t = self.0.get("tables")?.get(table)?;
        let ranges = t["ranges"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .map(|r| RangeProgress {
                        after: int_value(&r["range"]["after"]),
                        up_to: int_value(&r["range"]["up_to"]),
                        last_key: first_key(&r["last_key"]),
                        done: r["done"].as_bool().unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(SnapshotProgress {
            done: t["done"].as_bool().unwrap_or(false),
            last_key: first_key(&t["last_key"]),
            rows: t["rows"].as_u64().unwrap_or(0),
            ranges,
        })
    }

    pub fn full_done(&self) -> bool {
        self.0["full_done"].as_bool().unwrap_or(false)
    }

    /// The incremental checkpoint as `(file, pos)`.
    pub fn checkpoint(&self) -> Option<(String, u64)> {
        let c = self.0.get("incremental")?.get("position")?.get("coord")?;
        Some((c["file"].as_str()?.to_string(), c["pos"].as_u64()?))
    }

    /// The GTID sequence number of domain `domain` at the incremental checkpoint.
    pub fn checkpoint_gtid_seq(&self, domain: u32) -> Option<u64> {
        let g = self
            .0
            .get("incremental")?
            .get("position")?
            .get("gtid")?
            .as_str()?;
        gtid_seq(g, domain)
    }
}

/// Snapshot progress of one table with an integer key, as saved.
#[derive(Debug, Clone)]
pub struct SnapshotProgress {
    pub done: bool,
    /// Resume key of a table read as one range.
    pub last_key: Option<i64>,
    pub rows: u64,
    /// Key ranges of a table read in parallel.
    pub ranges: Vec<RangeProgress>,
}

/// One key range `after < id <= up_to` (open bounds `None`) and its saved progress.
#[derive(Debug, Clone)]
pub struct RangeProgress {
    pub after: Option<i64>,
    pub up_to: Option<i64>,
    pub last_key: Option<i64>,
    pub done: bool,
}

impl SnapshotProgress {
    /// Whether some chunk was checkpointed (a resumed run will not start from zero).
    pub fn has_resume_key(&self) -> bool {
        self.last_key.is_some() || self.ranges.iter().any(|r| r.last_key.is_some() || r.done)
    }

    /// Whether the row with key `id` was delivered and checkpointed: a resumed run must
    /// not read it again.
    pub fn covers(&self, id: i64) -> bool {
        if self.done {
            return true;
        }
        if self.ranges.is_empty() {
            return self.last_key.is_some_and(|k| id <= k);
        }
        self.ranges.iter().any(|r| {
            let above = !matches!(r.after, Some(a) if id <= a);
            let end = if r.done { r.up_to } else { r.last_key };
            above && (r.done && r.up_to.is_none() || end.is_some_and(|e| id <= e))
        })
    }
}

/// The integer in a serialized `Value` (`{"Int": 5}`, `{"UInt": 5}`), `None` for null.
fn int_value(v: &serde_json::Value) -> Option<i64> {
    v.as_object()?.values().next()?.as_i64()
}

/// The first column of a serialized key (`[{"Int": 5}]`).
fn first_key(v: &serde_json::Value) -> Option<i64> {
    int_value(v.as_array()?.first()?)
}

/// The sequence number of `domain` in a MariaDB GTID list such as `0-1-77,1-2-5`.
pub fn gtid_seq(gtids: &str, domain: u32) -> Option<u64> {
    gtids.split(',').find_map(|g| {
        let mut parts = g.trim().split('-');
        let d: u32 = parts.next()?.parse().ok()?;
        let _server = parts.next()?;
        let seq: u64 = parts.next()?.parse().ok()?;
        (d == domain).then_some(seq)
    })
}

// ---------------------------------------------------------------------------------------
// /metrics
// ---------------------------------------------------------------------------------------

/// `obsync_rows_written_total` (messages Kafka acknowledged) of `table` (`db.table`) from
/// the run's `/metrics`, or `None` while the endpoint does not answer.
pub fn rows_written(metrics: std::net::SocketAddr, table: &str) -> Option<u64> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&metrics, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let label = format!("table=\"{table}\"");
    let found = response
        .lines()
        .filter(|l| l.starts_with("obsync_rows_written_total{") && l.contains(&label))
        .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
    // Before the first acknowledgement the series may not exist yet.
    Some(found.map_or(0, |v| v as u64))
}
