//! Fault injection end to end: the real `obsync` binary between a real MariaDB and a real
//! Kafka, killed, stopped and starved while it works. Every scenario ends by rebuilding the
//! source tables from Kafka and comparing them with the source (nothing lost), and counts
//! what was delivered twice (allowed: at-least-once).
//!
//! Servers that a scenario stops or kills are private instances (testkit), so the shared
//! services never notice. Each scenario prints one `fault summary:` line (run with
//! `--nocapture` to see the measured duplicates and times).

#[path = "support/faults.rs"]
mod faults;
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use faults::{
    assert_every_change_delivered, burst_inserts, create_writer_table, insert_counts, poll,
    redeliveries, rows_written, services_with, snapshot_counts, ProjectStateFile, Rng, Session,
    SnapshotProgress, Writer,
};
use obsync_format::decode::DecodedOp;
use obsync_testkit::{KafkaInstance, MariaDbInstance, SqlServer};
use serde_json::Value;
use support::{
    assert_sequence_order, consume, reconstruct, scratch_dir, wait_until_equal, Obsync,
    ProjectSpec, Services, SourceDb,
};

/// Generous bounds for a loaded 2-core machine; the happy path takes a fraction.
const START: Duration = Duration::from_secs(120);
const CONVERGE: Duration = Duration::from_secs(240);

/// A project file and its state directory.
struct Project {
    spec: ProjectSpec,
    file: PathBuf,
    state: PathBuf,
}

impl Project {
    /// A project of every table of `db` in the Default format; `partition_rule` is
    /// `"hash"` or `"one"`.
    fn new(
        services: &Services,
        db: &SourceDb,
        partition_rule: &str,
        extra_sync: &[&str],
    ) -> Project {
        let mut spec = ProjectSpec::new(services, db, "Default");
        spec.partition_rule = partition_rule.to_string();
        spec.extra_sync = extra_sync.iter().map(|s| s.to_string()).collect();
        let dir = scratch_dir(&spec.name);
        let file = spec.write_project(&dir);
        Project {
            spec,
            file,
            state: dir.join("state"),
        }
    }

    fn start(&self) -> Obsync {
        Obsync::start(&self.file, &self.state)
    }

    fn state_file(&self) -> ProjectStateFile {
        ProjectStateFile::read(&self.state).expect("state.json exists")
    }
}

fn state_is(s: &Value, state: &str) -> bool {
    s["state"] == state
}

/// Waits until the run streams the binlog (full sync, if any, is done).
fn wait_streaming(ob: &mut Obsync) -> Value {
    ob.wait_for("incremental sync", START, |s| {
        state_is(s, "RUNNING") && s["stage"] == "incremental"
    })
}

fn rows_done(s: &Value, table: &str) -> u64 {
    s["tables"][table]["rows_done"].as_u64().unwrap_or(0)
}

/// The shared MariaDB as the writers' login.
fn shared_mariadb(services: &Services) -> SqlServer {
    services.mariadb.clone()
}

// ---------------------------------------------------------------------------------------
// 1. kill -9 during the snapshot
// ---------------------------------------------------------------------------------------

/// Enough rows that each run of the snapshot outlives its first checkpoint save (the
/// tracker saves at most once a second) with margin: a debug build snapshots ~60k rows/s.
const SNAPSHOT_ROWS: u64 = 200_000;

/// Waits until `state.json` records snapshot progress of `table` beyond `rows_before`
/// (with a resume key), lets the run go on for `delay` (chunks sent but not yet
/// checkpointed pile up), SIGKILLs obsync, and returns the snapshot progress saved.
fn kill_after_chunk_checkpoint(
    ob: &mut Obsync,
    p: &Project,
    table: &str,
    rows_before: u64,
    delay: Duration,
) -> SnapshotProgress {
    poll(
        "a chunk checkpoint in state.json",
        START,
        Duration::from_millis(5),
        || {
            let s = ProjectStateFile::read(&p.state)?.snapshot(table)?;
            assert!(
                !s.done,
                "the snapshot of {table} finished before it could be killed mid-way: raise SNAPSHOT_ROWS"
            );
            (s.has_resume_key() && s.rows > rows_before).then_some(())
        },
    );
    std::thread::sleep(delay);
    ob.kill9();
    let s = p
        .state_file()
        .snapshot(table)
        .expect("snapshot progress in state.json");
    assert!(
        !s.done,
        "the snapshot of {table} finished before the kill: raise SNAPSHOT_ROWS"
    );
    assert!(
        s.has_resume_key() && s.rows > rows_before,
        "no resume point saved: {s:?}"
    );
    s
}

/// Kills obsync twice during the snapshot of a 200k-row table, changes the table while it
/// is down, and checks the resumed runs: no checkpointed row read again, every row read,
/// the result equal to the source.
fn snapshot_survives_two_kills(parallelism: u32) {
    let t0 = Instant::now();
    let services = Services::load();
    let db = SourceDb::create(&services);
    let mut sql = Session::new(&shared_mariadb(&services), db.name());
    create_writer_table(&mut sql, "big", SNAPSHOT_ROWS);
    let p = Project::new(
        &services,
        &db,
        "hash",
        &[
            "snapshot_chunk_rows = 500",
            &format!("snapshot_parallelism = {parallelism}"),
        ],
    );
    let table = format!("{}.big", db.name());

    let mut ob = p.start();
    ob.wait_for("a tenth of the snapshot", START, |s| {
        rows_done(s, &table) >= SNAPSHOT_ROWS / 10
    });
    let first = kill_after_chunk_checkpoint(&mut ob, &p, &table, 0, Duration::ZERO);
    assert!(
        p.state_file().0["snapshot_start"].is_object(),
        "the binlog position before the snapshot is in state.json"
    );
    // While obsync is down: change rows the snapshot may already have delivered (they
    // must come through the binlog from the position recorded before the snapshot), delete
    // rows and add rows.
    let deleted: Vec<u64> = (100..120)
        .chain(SNAPSHOT_ROWS - 9..=SNAPSHOT_ROWS)
        .collect();
    sql.run(&[
        "UPDATE big SET v = v + 1000000, s = 'between1' WHERE id BETWEEN 1 AND 50".into(),
        "DELETE FROM big WHERE id BETWEEN 100 AND 119".into(),
        format!(
            "INSERT INTO big (id, v, s) SELECT seq, 1, 'new1' FROM seq_{}_to_{}",
            SNAPSHOT_ROWS + 1,
            SNAPSHOT_ROWS + 20
        ),
    ])
    .unwrap();

    let mut ob = p.start();
    ob.wait_for("the snapshot to continue", START, |s| {
        rows_done(s, &table) >= first.rows + SNAPSHOT_ROWS / 10
    });
    let second =
        kill_after_chunk_checkpoint(&mut ob, &p, &table, first.rows, Duration::from_millis(300));
    sql.run(&[
        "UPDATE big SET s = 'between2' WHERE id BETWEEN 50001 AND 50030".into(),
        format!(
            "DELETE FROM big WHERE id BETWEEN {} AND {}",
            SNAPSHOT_ROWS - 9,
            SNAPSHOT_ROWS
        ),
        format!(
            "INSERT INTO big (id, v, s) SELECT seq, 2, 'new2' FROM seq_{}_to_{}",
            SNAPSHOT_ROWS + 21,
            SNAPSHOT_ROWS + 40
        ),
    ])
    .unwrap();

    let mut ob = p.start();
    ob.wait_for("the snapshot to finish", START, |s| {
        s["stage"] == "incremental" && s["tables"][&table]["done"] == true
    });
    let r = wait_until_equal(&db, &p.spec, &["big"], CONVERGE);
    assert!(p.state_file().full_done());
    assert_sequence_order(&p.spec, &db.table_metas(&["big"]), &r);

    let counts = snapshot_counts(&r, "big", "id");
    let total: usize = counts.values().sum();
    let n = SNAPSHOT_ROWS as usize;
    for id in 1..=SNAPSHOT_ROWS {
        let c = counts.get(&id).copied().unwrap_or(0);
        // A row whose chunk was checkpointed before a kill must not be read again by the
        // resumed run: at most one read, plus one per kill that found it unsaved.
        let bound =
            1 + usize::from(!first.covers(id as i64)) + usize::from(!second.covers(id as i64));
        assert!(
            c <= bound,
            "row {id} has {c} snapshot records (saved progress {first:?} then {second:?}): a restart re-read checkpointed chunks"
        );
        assert!(
            c >= 1 || deleted.contains(&id),
            "row {id} has no snapshot record"
        );
    }
    assert!(total >= n - deleted.len(), "{total} snapshot records");
    assert!(
        total < 2 * n,
        "{total} snapshot records for {n} rows: the snapshot restarted from the beginning"
    );
    drop(ob);
    eprintln!(
        "fault summary: kill -9 during snapshot (parallelism {parallelism}): {n} rows, saved {} then {} rows at the kills; \
         {total} snapshot records ({} re-read), {} records re-delivered in all, harness duplicates {}; {:.1?}",
        first.rows,
        second.rows,
        total - counts.len(),
        redeliveries(&r),
        r.duplicates,
        t0.elapsed()
    );
}

#[test]
fn kill9_during_snapshot_resumes_after_the_last_acknowledged_chunk() {
    snapshot_survives_two_kills(1);
}

#[test]
fn kill9_during_parallel_range_snapshot_resumes_every_range() {
    snapshot_survives_two_kills(4);
}

// ---------------------------------------------------------------------------------------
// 2. kill -9 while streaming
// ---------------------------------------------------------------------------------------

/// Rows of one burst; inserted one transaction each, in well under a second.
const BURST: u64 = 300;

#[derive(Debug, Clone, Copy)]
enum Kill {
    /// At a random moment under steady writes.
    Random,
    /// Right after Kafka acknowledged a burst, before the next checkpoint save.
    AfterBurst,
}

#[test]
fn kill9_while_streaming_replays_but_loses_nothing() {
    let t0 = Instant::now();
    let services = Services::load();
    let server = shared_mariadb(&services);
    let db = SourceDb::create(&services);
    let mut sql = Session::new(&server, db.name());
    create_writer_table(&mut sql, "t", 500);
    create_writer_table(&mut sql, "b", 0);
    let p = Project::new(&services, &db, "hash", &[]);
    let burst_table = format!("{}.b", db.name());

    let mut ob = p.start();
    wait_streaming(&mut ob);
    let writer = Writer::start(
        &server,
        db.name(),
        "t",
        501,
        Duration::from_millis(15),
        false,
    );
    let mut rng = Rng::seeded();
    let mut bursts: Vec<Vec<u64>> = Vec::new();
    let mut notes = Vec::new();
    let plan = [
        Kill::Random,
        Kill::AfterBurst,
        Kill::Random,
        Kill::AfterBurst,
        Kill::Random,
    ];
    for (i, kill) in plan.into_iter().enumerate() {
        writer.wait_transactions(30, START);
        match kill {
            Kill::Random => {
                std::thread::sleep(Duration::from_millis(rng.range(200, 2500)));
                ob.kill9();
            }
            Kill::AfterBurst => {
                let before = rows_written(ob.metrics, &burst_table).expect("/metrics answers");
                let first = 1_000_000 * (i as u64 + 1);
                let ids = burst_inserts(&mut sql, "b", first..first + BURST);
                assert_eq!(ids.len() as u64, BURST, "burst inserts failed");
                let target = before + BURST;
                poll(
                    "Kafka to acknowledge the burst",
                    START,
                    Duration::from_millis(2),
                    || (rows_written(ob.metrics, &burst_table)? >= target).then_some(()),
                );
                ob.kill9();
                bursts.push(ids);
            }
        }
        let ckpt = p.state_file().checkpoint();
        notes.push(format!("{kill:?} kill at checkpoint {ckpt:?}"));
        ob = p.start();
        wait_streaming(&mut ob);
    }
    writer.wait_transactions(30, START);
    let log = writer.finish();
    let r = wait_until_equal(&db, &p.spec, &["t", "b"], CONVERGE);
    assert_every_change_delivered(&log, &r, "t");
    assert_sequence_order(&p.spec, &db.table_metas(&["t", "b"]), &r);
    let inserts = insert_counts(&r, "b");
    let per_burst: Vec<usize> = bursts
        .iter()
        .map(|ids| {
            ids.iter()
                .map(|id| {
                    let c = inserts.get(id).copied().unwrap_or(0);
                    assert!(c >= 1, "burst row {id} is not in Kafka");
                    c - 1
                })
                .sum()
        })
        .collect();
    assert!(
        per_burst.iter().any(|&d| d > 0),
        "no burst row was delivered twice after a kill right behind its acknowledgement \
         ({per_burst:?}): the kill never landed between produce and checkpoint; {notes:?}"
    );
    assert!(state_is(&ob.status().expect("status"), "RUNNING"));
    eprintln!(
        "fault summary: kill -9 while streaming: 5 kills ({notes:?}), {} writer transactions ({} committed changes); \
         {} records re-delivered ({per_burst:?} of them burst rows after the two kills behind a burst), harness duplicates {}; {:.1?}",
        log.transactions,
        log.committed.len(),
        redeliveries(&r),
        r.duplicates,
        t0.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// 3. Kafka down for 30 s
// ---------------------------------------------------------------------------------------

const OUTAGE: Duration = Duration::from_secs(30);

#[test]
fn broker_down_for_30s_is_ridden_out_without_loss() {
    let t0 = Instant::now();
    let mut kafka = KafkaInstance::spawn();
    let services = services_with(None, Some(kafka.bootstrap()));
    let server = shared_mariadb(&services);
    let db = SourceDb::create(&services);
    let mut sql = Session::new(&server, db.name());
    create_writer_table(&mut sql, "t", 300);
    let p = Project::new(&services, &db, "hash", &[]);

    let mut ob = p.start();
    wait_streaming(&mut ob);
    let writer = Writer::start(
        &server,
        db.name(),
        "t",
        301,
        Duration::from_millis(20),
        false,
    );
    writer.wait_transactions(50, START);
    kafka.stop();
    let down = Instant::now();
    let written_at_stop = writer.transactions();
    let mut acked_early = None;
    let mut acked_late = 0;
    let mut warned = None;
    while down.elapsed() < OUTAGE {
        let s = ob.status().unwrap_or_else(|| {
            panic!(
                "obsync stopped answering while Kafka was down:\n{}",
                ob.log_tail(30)
            )
        });
        assert!(
            state_is(&s, "RUNNING") && s["last_error"].is_null(),
            "obsync must ride out a broker outage: {s}"
        );
        if !s["warning"].is_null() && warned.is_none() {
            warned = Some((down.elapsed(), s["warning"].clone()));
        }
        let acked = s["messages_acked"].as_u64().unwrap_or(0);
        if down.elapsed() > Duration::from_secs(5) {
            acked_early.get_or_insert(acked);
            acked_late = acked;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        acked_early,
        Some(acked_late),
        "messages were acknowledged while the broker was down: the outage was not real"
    );
    let during = writer.transactions() - written_at_stop;
    assert!(during > 100, "only {during} transactions during the outage");
    // The outage shows as a warning with its cause and since when, within the
    // acknowledgement warning time (10 s) and some polling.
    let (after, warning) = warned.expect("no warning in the status while Kafka was down");
    assert!(
        after < Duration::from_secs(20),
        "warned only after {after:?}"
    );
    assert!(
        warning["message"].as_str().unwrap_or("").contains("Kafka"),
        "{warning}"
    );
    // The console says it in its language by this code.
    assert_eq!(
        warning["coded"]["code"], "event.warning.kafka_no_ack",
        "{warning}"
    );
    let since = warning["since"].as_u64().expect("warning.since");
    let stopped_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - down.elapsed().as_secs();
    assert!(
        since >= stopped_at.saturating_sub(2) && since <= stopped_at + 15,
        "warning since {since}, Kafka stopped at {stopped_at}"
    );
    kafka.start();
    let up = Instant::now();
    writer.wait_transactions(50, START);
    let log = writer.finish();
    let r = wait_until_equal(&db, &p.spec, &["t"], CONVERGE);
    let caught_up = up.elapsed();
    assert_every_change_delivered(&log, &r, "t");
    assert_sequence_order(&p.spec, &db.table_metas(&["t"]), &r);
    let s = ob.wait_for("the Kafka warning to clear", START, |s| {
        s["warning"].is_null()
    });
    assert!(state_is(&s, "RUNNING") && s["last_error"].is_null(), "{s}");
    eprintln!(
        "fault summary: broker down {OUTAGE:?}: {during} transactions written meanwhile, caught up {caught_up:.1?} after restart; \
         {} records re-delivered, harness duplicates {}; {:.1?}",
        redeliveries(&r),
        r.duplicates,
        t0.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// 4. MariaDB restarted and killed
// ---------------------------------------------------------------------------------------

/// One interruption of the source.
struct Outage {
    /// `kill -9` instead of a clean shutdown.
    crash: bool,
    down: Duration,
}

/// Longer than the binlog reader's own reconnect window (~1 minute): the incremental stage
/// then keeps reopening the stream from the last delivered transaction, with backoff, until
/// the source is back.
const LONG_OUTAGE: Duration = Duration::from_secs(75);

#[test]
fn source_restart_and_crash_are_ridden_out_without_loss() {
    let short = Duration::from_secs(2);
    ride_out_source_outages(&[
        Outage {
            crash: false,
            down: short,
        },
        Outage {
            crash: true,
            down: short,
        },
    ]);
}

#[test]
fn source_down_longer_than_the_reconnect_window_is_waited_out_without_loss() {
    ride_out_source_outages(&[Outage {
        crash: false,
        down: LONG_OUTAGE,
    }]);
}

/// A writer commits to a private MariaDB while obsync streams it; the server goes away
/// for each outage in turn. obsync must stay up, show the problem while it lasts (only
/// after the reader's own retries ran out), and deliver every committed change.
fn ride_out_source_outages(outages: &[Outage]) {
    let t0 = Instant::now();
    let mut maria = MariaDbInstance::spawn();
    let server = maria.server();
    let services = services_with(Some(server.clone()), None);
    let db = SourceDb::create(&services);
    let mut sql = Session::new(&server, db.name());
    create_writer_table(&mut sql, "t", 300);
    let p = Project::new(&services, &db, "one", &[]);

    let mut ob = p.start();
    wait_streaming(&mut ob);
    let writer = Writer::start(
        &server,
        db.name(),
        "t",
        301,
        Duration::from_millis(15),
        true,
    );
    for outage in outages {
        writer.wait_transactions(60, START);
        if outage.crash {
            maria.kill();
        } else {
            maria.stop();
        }
        // The writer fails meanwhile; obsync's binlog stream is cut.
        std::thread::sleep(outage.down);
        let s = ob
            .status()
            .expect("obsync answers while the source is away");
        assert!(!state_is(&s, "FAILED"), "{s}");
        if outage.down >= LONG_OUTAGE {
            // Only the stage's retry path sets the error (the reader's own retries are
            // silent): this proves the reader gave up and the stage took over.
            assert!(
                !s["last_error"].is_null(),
                "the outage is visible in the status: {s}"
            );
            assert!(
                !s["warning"].is_null(),
                "the outage is a warning with its cause and since when: {s}"
            );
        }
        maria.start();
    }
    writer.wait_transactions(60, START);
    let log = writer.finish();
    assert!(log.failures > 0, "the writer never saw the source go away");
    let r = wait_until_equal(&db, &p.spec, &["t"], CONVERGE);
    assert_every_change_delivered(&log, &r, "t");
    assert_sequence_order(&p.spec, &db.table_metas(&["t"]), &r);
    let s = ob.wait_for("the source error and warning to clear", START, |s| {
        s["last_error"].is_null() && s["warning"].is_null()
    });
    assert!(state_is(&s, "RUNNING"), "{s}");
    drop(ob);
    drop(db);
    let downs: Vec<String> = outages
        .iter()
        .map(|o| format!("{} {:?}", if o.crash { "kill" } else { "stop" }, o.down))
        .collect();
    eprintln!(
        "fault summary: MariaDB {downs:?}: {} transactions, {} failed while down; \
         {} records re-delivered, harness duplicates {}; {:.1?}",
        log.transactions,
        log.failures,
        redeliveries(&r),
        r.duplicates,
        t0.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// 5. SIGTERM
// ---------------------------------------------------------------------------------------

#[test]
fn sigterm_exits_0_and_a_quiet_stop_resumes_without_duplicates() {
    let t0 = Instant::now();
    let services = Services::load();
    let server = shared_mariadb(&services);
    let db = SourceDb::create(&services);
    let mut sql = Session::new(&server, db.name());
    create_writer_table(&mut sql, "t", 300);
    let p = Project::new(&services, &db, "one", &[]);

    let mut ob = p.start();
    wait_streaming(&mut ob);
    let writer = Writer::start(
        &server,
        db.name(),
        "t",
        301,
        Duration::from_millis(15),
        true,
    );
    writer.wait_transactions(60, START);
    writer.pause();
    wait_until_equal(&db, &p.spec, &["t"], CONVERGE);

    // Quiet: everything is delivered; the stop must checkpoint all of it.
    ob.terminate();
    let code = ob.wait_exit(START);
    assert!(code.success(), "graceful stop exited with {code}");
    assert!(
        ob.log_tail(5).contains("stopped; the checkpoint is saved"),
        "{}",
        ob.log_tail(20)
    );
    assert!(p.state_file().checkpoint().is_some(), "no checkpoint saved");
    let mut ob = p.start();
    wait_streaming(&mut ob);
    writer.resume();
    writer.wait_transactions(60, START);
    writer.pause();
    let r = wait_until_equal(&db, &p.spec, &["t"], CONVERGE);
    assert_eq!(
        (redeliveries(&r), r.duplicates),
        (0, 0),
        "a graceful stop with nothing in flight must resume exactly where it stopped"
    );

    // Under load: transactions are in flight when the signal arrives.
    writer.resume();
    writer.wait_transactions(40, START);
    ob.terminate();
    let code = ob.wait_exit(START);
    assert!(
        code.success(),
        "graceful stop under load exited with {code}"
    );
    let mut ob = p.start();
    wait_streaming(&mut ob);
    writer.wait_transactions(40, START);
    let log = writer.finish();
    let r = wait_until_equal(&db, &p.spec, &["t"], CONVERGE);
    assert_every_change_delivered(&log, &r, "t");
    assert_sequence_order(&p.spec, &db.table_metas(&["t"]), &r);
    drop(ob);
    eprintln!(
        "fault summary: SIGTERM: quiet stop 0 re-delivered; stop under load {} re-delivered, harness duplicates {}; {:.1?}",
        redeliveries(&r),
        r.duplicates,
        t0.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// 6. A message too large for Kafka
// ---------------------------------------------------------------------------------------

/// Over the producer's default 1,000,000-byte limit however the format renders bytes.
const POISON_BYTES: usize = 1_500_000;

#[test]
fn oversized_row_fails_the_project_and_is_never_skipped() {
    let t0 = Instant::now();
    let services = Services::load();
    let server = shared_mariadb(&services);
    let db = SourceDb::create(&services);
    let mut sql = Session::new(&server, db.name());
    sql.run(&[
        "CREATE TABLE p (id INT PRIMARY KEY, b LONGBLOB)".into(),
        "INSERT INTO p VALUES (1, 'seed')".into(),
    ])
    .unwrap();
    let p = Project::new(&services, &db, "hash", &[]);
    let table = format!("{}.p", db.name());

    let mut ob = p.start();
    wait_streaming(&mut ob);
    sql.run(&["INSERT INTO p VALUES (2, 'before')".into()])
        .unwrap();
    let gtid_before = sql.value("SELECT @@last_gtid").unwrap().unwrap();
    wait_until_equal(&db, &p.spec, &["p"], CONVERGE);
    sql.run(&[
        "BEGIN".into(),
        "INSERT INTO p VALUES (3, 'same transaction')".into(),
        format!("INSERT INTO p VALUES (4, REPEAT('z', {POISON_BYTES}))"),
        "COMMIT".into(),
    ])
    .unwrap();
    let gtid_poison = sql.value("SELECT @@last_gtid").unwrap().unwrap();
    sql.run(&["INSERT INTO p VALUES (5, 'after')".into()])
        .unwrap();
    let seq = |g: &str| faults::gtid_seq(g, 0).unwrap_or_else(|| panic!("GTID {g}"));
    let (before, poison) = (seq(&gtid_before), seq(&gtid_poison));

    let mut errors = Vec::new();
    for run in 0..2 {
        if run > 0 {
            ob = p.start();
        }
        let code = ob.wait_exit(START);
        assert_eq!(code.code(), Some(1), "run {run}: {}", ob.log_tail(20));
        let log = ob.log_tail(4);
        let error = log
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("run {run}: no error line:\n{log}"))
            .to_string();
        for needle in [
            format!("({table})"),
            "bytes".to_string(),
            "over the 1000000-byte limit".to_string(),
            "raise the topic's max.message.bytes".to_string(),
        ] {
            assert!(
                error.contains(&needle),
                "run {run}: {needle:?} missing from {error}"
            );
        }
        assert!(
            log.contains("Failed Incremental"),
            "run {run}: the final status is not FAILED:\n{log}"
        );
        let ckpt = p
            .state_file()
            .checkpoint_gtid_seq(0)
            .expect("a checkpoint GTID");
        assert!(
            (before..poison).contains(&ckpt),
            "run {run}: checkpoint at GTID seq {ckpt}, expected from {before} (last good) up to before {poison} (the oversized transaction)"
        );
        errors.push(error);
    }
    assert_eq!(errors[0], errors[1], "the restart failed somewhere else");

    let records = consume(&p.spec.bootstrap, &p.spec.topics(&["p"])[0]);
    let r = reconstruct(&records, &p.spec.format_options(), &db.table_metas(&["p"]));
    let ids: Vec<&String> = r.tables[&table].keys().collect();
    assert!(ids.contains(&&"2".to_string()), "{ids:?}");
    for id in ["4", "5"] {
        assert!(
            !ids.contains(&&id.to_string()),
            "row {id} is in Kafka although the oversized transaction before it was not delivered: {ids:?}"
        );
    }
    eprintln!(
        "fault summary: oversized row: exit 1 twice at the same place ({}); {:.1?}",
        errors[0],
        t0.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// 7. Order and truth across restarts (issue 17)
// ---------------------------------------------------------------------------------------

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sigterm(ob: &mut Obsync) {
    ob.terminate();
    let code = ob.wait_exit(START);
    assert!(code.success(), "graceful stop exited with {code}");
}

/// Issue 17's reproduction: a writer pins its clock (`SET timestamp = 1800000000`), two
/// updates, SIGTERM, a restart, a third update. The three messages used to carry
/// `…00001`, `…00002`, `…00001` (each run numbered from 1 again), so a rebuild by
/// sequence ended at v=2.
#[test]
fn store_data_sequence_never_goes_back_after_a_sigterm_with_a_pinned_clock() {
    let t0 = Instant::now();
    let services = Services::load();
    let server = shared_mariadb(&services);
    let db = SourceDb::create(&services);
    let mut sql = Session::new(&server, db.name());
    sql.run(&[
        "CREATE TABLE t (id BIGINT PRIMARY KEY, v INT NOT NULL)".into(),
        "INSERT INTO t VALUES (1, 0)".into(),
    ])
    .unwrap();
    let p = Project::new(&services, &db, "one", &[]);
    let pin = "SET timestamp = 1800000000".to_string();

    let mut ob = p.start();
    wait_streaming(&mut ob);
    sql.run(&[
        pin.clone(),
        "UPDATE t SET v = 1 WHERE id = 1".into(),
        "UPDATE t SET v = 2 WHERE id = 1".into(),
    ])
    .unwrap();
    wait_until_equal(&db, &p.spec, &["t"], CONVERGE);
    sigterm(&mut ob);

    let mut ob = p.start();
    wait_streaming(&mut ob);
    sql.run(&[pin, "UPDATE t SET v = 3 WHERE id = 1".into()])
        .unwrap();
    let r = wait_until_equal(&db, &p.spec, &["t"], CONVERGE);
    sigterm(&mut ob);

    let updates: Vec<u64> = r
        .records
        .iter()
        .filter(|(_, d)| d.op == DecodedOp::Update)
        .map(|(_, d)| d.sequence.expect("an update carries storeDataSequence"))
        .collect();
    assert_eq!(updates.len(), 3, "{updates:?}");
    assert!(
        updates.windows(2).all(|w| w[1] > w[0]),
        "storeDataSequence went back across the restart: {updates:?}"
    );
    let numbered = assert_sequence_order(&p.spec, &db.table_metas(&["t"]), &r);
    eprintln!(
        "fault summary: pinned clock + SIGTERM: sequences {updates:?}, {numbered} numbered records; {:.1?}",
        t0.elapsed()
    );
}

/// 20 restarts, SIGTERM and kill -9 mixed, during the snapshot and while streaming, with
/// a writer whose clock is pinned into the past: every table rebuilds exactly in offset
/// order and in storeDataSequence order, and the numbers never go back in a partition.
#[test]
fn a_restart_storm_keeps_every_table_exact_in_offset_and_sequence_order() {
    let t0 = Instant::now();
    let services = Services::load();
    let server = shared_mariadb(&services);
    let db = SourceDb::create(&services);
    let mut sql = Session::new(&server, db.name());
    create_writer_table(&mut sql, "big", 60_000);
    create_writer_table(&mut sql, "t", 300);
    let p = Project::new(&services, &db, "hash", &["snapshot_chunk_rows = 200"]);
    let big = format!("{}.big", db.name());
    let mut ob = p.start();
    // Changes from the snapshot's start position on each reach Kafka as a record.
    poll(
        "the snapshot's start position in state.json",
        START,
        Duration::from_millis(5),
        || ProjectStateFile::read(&p.state).filter(|s| s.0["snapshot_start"].is_object()),
    );
    let writer = Writer::start(
        &server,
        db.name(),
        "t",
        301,
        Duration::from_millis(10),
        false,
    );
    // 2020-09-13: far behind the real clock, constant across restarts.
    writer.pin_clock(1_600_000_000);
    let mut rng = Rng::seeded();
    let mut kinds = Vec::new();
    let mut in_snapshot = 0;
    for i in 0..20 {
        // The first restarts land in the snapshot (small chunks make it last), the rest
        // while streaming.
        ob.wait_for("the run to make progress", START, |s| {
            state_is(s, "RUNNING") && (rows_done(s, &big) > 0 || s["stage"] == "incremental")
        });
        let snapshotting = !p.state_file().full_done();
        in_snapshot += usize::from(snapshotting);
        std::thread::sleep(Duration::from_millis(rng.range(300, 1500)));
        if i % 3 == 1 {
            sigterm(&mut ob);
            kinds.push("TERM");
        } else {
            ob.kill9();
            kinds.push("KILL");
        }
        ob = p.start();
    }
    wait_streaming(&mut ob);
    writer.wait_transactions(20, START);
    let log = writer.finish();
    let r = wait_until_equal(&db, &p.spec, &["big", "t"], CONVERGE);
    assert_every_change_delivered(&log, &r, "t");
    let numbered = assert_sequence_order(&p.spec, &db.table_metas(&["big", "t"]), &r);
    assert!(
        in_snapshot >= 2,
        "only {in_snapshot} restarts hit the snapshot: make it longer"
    );
    drop(ob);
    eprintln!(
        "fault summary: restart storm: 20 restarts ({kinds:?}), {in_snapshot} during the snapshot, {} writer transactions; \
         {numbered} numbered records, {} re-delivered, harness duplicates {}; {:.1?}",
        log.transactions,
        redeliveries(&r),
        r.duplicates,
        t0.elapsed()
    );
}

/// Issue 17, finding 3: another session pins its clock into the past and writes a table
/// outside the project. The project's checkpoint time used to jump back to it (lag of
/// years); it must stay where the project's own changes put it. A project write pinned
/// into the future must not move it past the local clock either.
#[test]
fn a_foreign_sessions_set_timestamp_moves_neither_checkpoint_time_nor_lag() {
    let t0 = Instant::now();
    let services = Services::load();
    let server = shared_mariadb(&services);
    let db = SourceDb::create(&services);
    let other = SourceDb::create(&services);
    let mut sql = Session::new(&server, db.name());
    create_writer_table(&mut sql, "t", 10);
    let mut foreign = Session::new(&server, other.name());
    create_writer_table(&mut foreign, "elsewhere", 0);
    let p = Project::new(&services, &db, "one", &[]);

    let mut ob = p.start();
    wait_streaming(&mut ob);
    sql.run(&["UPDATE t SET v = v + 1 WHERE id = 1".into()])
        .unwrap();
    let before = ob.wait_for("a checkpoint time", START, |s| {
        s["checkpoint_time"]
            .as_u64()
            .is_some_and(|t| t + 60 > unix_now())
    });
    let time = before["checkpoint_time"].as_u64().unwrap();
    let position = p.state_file().checkpoint();
    for i in 0..20 {
        foreign
            .run(&[
                "SET timestamp = 1700000000".into(),
                format!("INSERT INTO elsewhere (id, v, s) VALUES ({i}, 0, 'x')"),
            ])
            .unwrap();
    }
    // The checkpoint moves past the foreign writes (Progress marks); meanwhile the
    // time and the lag stay true.
    let end = Instant::now() + Duration::from_secs(8);
    while Instant::now() < end {
        let s = ob.status().expect("status");
        let t = s["checkpoint_time"].as_u64().expect("checkpoint_time");
        assert!(
            t >= time,
            "checkpoint time went back from {time} to {t}: {s}"
        );
        let lag = s["lag_seconds"].as_u64().unwrap_or(0);
        assert!(lag < 120, "lag {lag} s after a foreign SET TIMESTAMP: {s}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_ne!(
        p.state_file().checkpoint(),
        position,
        "the checkpoint did not move past the foreign writes"
    );
    let saved = p.state_file().0["incremental"]["timestamp"]
        .as_u64()
        .unwrap();
    assert!(saved >= time, "state.json time {saved}, before {time}");
    // A project write pinned into the future is clamped to the local clock.
    sql.run(&[
        "SET timestamp = 1900000000".into(),
        "UPDATE t SET v = v + 1 WHERE id = 2".into(),
    ])
    .unwrap();
    wait_until_equal(&db, &p.spec, &["t"], CONVERGE);
    let s = ob.wait_for("the future write's checkpoint", START, |s| {
        s["checkpoint_time"].as_u64() != Some(time)
    });
    let t = s["checkpoint_time"].as_u64().unwrap();
    assert!(
        t <= unix_now() + 1 && t >= time,
        "checkpoint time {t} after a write pinned to 1900000000"
    );
    sigterm(&mut ob);
    eprintln!(
        "fault summary: foreign SET TIMESTAMP: checkpoint time kept at {time} (then {t}); {:.1?}",
        t0.elapsed()
    );
}

/// What happens to a private MariaDB's binlog while the project is stopped.
#[derive(Debug, Clone, Copy)]
enum LogLoss {
    /// `RESET MASTER`: the binlog starts over (another history).
    Reset,
    /// `PURGE BINARY LOGS` past the checkpoint's file.
    Purge,
}

/// A project stops; the source loses the binlog it would resume from; the next start
/// must end at once, naming the cause and the fix, never resume somewhere else.
fn lost_binlog_is_a_final_error(loss: LogLoss, cause: &str) {
    let t0 = Instant::now();
    let maria = MariaDbInstance::spawn();
    let server = maria.server();
    let services = services_with(Some(server.clone()), None);
    let db = SourceDb::create(&services);
    let mut sql = Session::new(&server, db.name());
    create_writer_table(&mut sql, "t", 10);
    let p = Project::new(&services, &db, "one", &[]);
    let mut ob = p.start();
    wait_streaming(&mut ob);
    sql.run(&["UPDATE t SET v = v + 1 WHERE id < 5".into()])
        .unwrap();
    wait_until_equal(&db, &p.spec, &["t"], CONVERGE);
    sigterm(&mut ob);
    let checkpoint = p.state_file().checkpoint().expect("a checkpoint");
    match loss {
        LogLoss::Reset => {
            sql.run(&["RESET MASTER".into()]).unwrap();
        }
        LogLoss::Purge => {
            // Changes the project never read, then their files purged.
            sql.run(&[
                "UPDATE t SET v = v + 1 WHERE id = 7".into(),
                "FLUSH BINARY LOGS".into(),
                "UPDATE t SET v = v + 1 WHERE id = 8".into(),
                "FLUSH BINARY LOGS".into(),
            ])
            .unwrap();
            // Every file before the active one, the checkpoint's among them. A dump
            // thread of the stopped run may linger until the server notices its
            // connection is gone: the server refuses to purge a file in use until then.
            let active = format!("{}.{:06}", checkpoint.0.rsplit_once('.').unwrap().0, 3);
            poll("the purge", START, Duration::from_millis(200), || {
                sql.run(&[format!("PURGE BINARY LOGS TO '{active}'")]).ok()
            });
        }
    }
    let mut ob = p.start();
    let code = ob.wait_exit(START);
    let log = ob.log_tail(40);
    assert!(!code.success(), "the run went on after {loss:?}:\n{log}");
    assert!(
        log.contains(cause) && log.contains("snapshot"),
        "the error names neither the cause ({cause:?}) nor the fix after {loss:?} (checkpoint {checkpoint:?}):\n{log}"
    );
    // Nothing was resumed from another place: the checkpoint is untouched.
    assert_eq!(p.state_file().checkpoint(), Some(checkpoint));
    eprintln!(
        "fault summary: {loss:?} while stopped: exit {code}, {:.1?}\n{}",
        t0.elapsed(),
        ob.log_tail(6)
    );
}

#[test]
fn reset_master_while_stopped_ends_in_a_final_error_with_its_fix() {
    lost_binlog_is_a_final_error(LogLoss::Reset, "RESET MASTER");
}

#[test]
fn purged_binlogs_past_the_checkpoint_end_in_a_final_error_with_its_fix() {
    lost_binlog_is_a_final_error(LogLoss::Purge, "purged binlogs");
}

/// `max_connections` drops below what the project needs while it streams and its dump
/// connection is cut: the reconnects are refused ("Too many connections"), shown as a
/// warning, retried with backoff, and the project recovers once connections are allowed
/// again, losing nothing.
#[test]
fn too_many_connections_is_retried_shown_and_recovered() {
    let t0 = Instant::now();
    let maria = MariaDbInstance::spawn();
    let server = maria.server();
    let services = services_with(Some(server.clone()), None);
    let db = SourceDb::create(&services);
    let mut sql = Session::new(&server, db.name());
    create_writer_table(&mut sql, "t", 300);
    // The project logs in as a user without SUPER: no admin slot beyond max_connections.
    sql.run(&[
        "CREATE USER 'plain'@'%' IDENTIFIED BY 'plain'".into(),
        "GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'plain'@'%'".into(),
    ])
    .unwrap();
    let mut p = Project::new(&services, &db, "one", &[]);
    p.spec.user = "plain".into();
    p.spec.password = "plain".into();
    p.file = p.spec.write_project(p.file.parent().unwrap());
    let mut ob = p.start();
    wait_streaming(&mut ob);
    let writer = Writer::start(
        &server,
        db.name(),
        "t",
        301,
        Duration::from_millis(20),
        true,
    );
    writer.wait_transactions(30, START);
    let original = sql
        .value("SELECT @@GLOBAL.max_connections")
        .unwrap()
        .unwrap();
    // Every connection the project user opens from now on is refused: MariaDB's
    // smallest max_connections is 10, so idle root sessions fill the slots the writer,
    // this session and the project do not hold, and the one admin slot beyond.
    sql.run(&["SET GLOBAL max_connections = 10".into()])
        .unwrap();
    let mut holders = Vec::new();
    loop {
        let connected: u64 = sql
            .value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED'")
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        // One more than the limit (the admin slot): the killed dump frees one.
        if connected >= 11 {
            break;
        }
        let mut h = Session::new(&server, db.name());
        h.run(&["SELECT 1".into()]).expect("a holder connects");
        holders.push(h);
    }
    let dump = sql
        .value("SELECT CAST(id AS CHAR) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%' LIMIT 1")
        .unwrap()
        .expect("obsync's binlog dump connection");
    sql.run(&[format!("KILL {dump}")]).unwrap();
    let warned = ob.wait_for("a warning about the refused connections", START, |s| {
        s["warning"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("onnections"))
    });
    assert!(state_is(&warned, "RUNNING"), "{warned}");
    std::thread::sleep(Duration::from_secs(3));
    sql.run(&[format!("SET GLOBAL max_connections = {original}")])
        .unwrap();
    drop(holders);
    writer.wait_transactions(30, START);
    let log = writer.finish();
    let r = wait_until_equal(&db, &p.spec, &["t"], CONVERGE);
    assert_every_change_delivered(&log, &r, "t");
    assert_sequence_order(&p.spec, &db.table_metas(&["t"]), &r);
    let s = ob.wait_for("the warning to clear", START, |s| s["warning"].is_null());
    assert!(state_is(&s, "RUNNING"), "{s}");
    sigterm(&mut ob);
    eprintln!(
        "fault summary: max_connections=10 (filled) with the dump cut: warned {:?}, recovered; {} transactions, {} re-delivered; {:.1?}",
        warned["warning"],
        log.transactions,
        redeliveries(&r),
        t0.elapsed()
    );
}
