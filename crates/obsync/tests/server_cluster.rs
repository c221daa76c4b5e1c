//! Cluster mode (docs/cluster.md): three `obsync server` processes with one cluster name
//! share ten projects through the shared Kafka (the control Kafka and the projects'
//! target). Every project runs exactly once; `kill -9` of a server moves its buckets
//! within the session timeout plus a rebalance and every project resumes; a server
//! SIGSTOPped past its session timeout is fenced when it wakes (it cannot move a
//! checkpoint and stops its projects with an event saying so); every server's API shows
//! the same projects, states and owners; at the end every table rebuilt from Kafka
//! equals the source. Two servers editing one project at once: one 200, one 409.
//!
//! Needs the shared services (`scripts/services up`).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::server::*;
use support::*;

/// The group's session timeout in these tests (the broker's smallest by default).
const SESSION_TIMEOUT_S: u64 = 6;
/// The documented failover time: the session timeout, a rebalance, fencing and
/// reading the bucket's checkpoints, then the run's start (docs/cluster.md).
const FAILOVER: Duration = Duration::from_secs(SESSION_TIMEOUT_S + 24);
const PROJECTS: usize = 10;
const ROWS: i64 = 100;
/// Buckets of the test clusters: more than servers, fewer than the default, so that a
/// rebalance has several to move.
const BUCKETS: &str = "8";

/// One cluster member: its process, API and node id, and how it was started.
struct Member {
    node: String,
    server: ServerProcess,
    api: Api,
    dir: PathBuf,
    port: u16,
    args: Vec<String>,
}

impl Member {
    /// Starts it again as it was started (same node id, data directory and port).
    fn restart(&mut self) {
        self.server = ServerProcess::start_with(&self.dir, self.port, &self.args);
        self.api = Api::login(&self.server.base);
    }
}

/// The flags of a member of cluster `name` with node id `node`.
fn cluster_args(name: &str, node: &str, bootstrap: &str, key: &Path) -> Vec<String> {
    [
        "--cluster",
        name,
        "--control-kafka",
        bootstrap,
        "--node-id",
        node,
        "--buckets",
        BUCKETS,
        "--session-timeout",
        &SESSION_TIMEOUT_S.to_string(),
        "--secret-key",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([key.display().to_string()])
    .collect()
}

/// Starts `count` members of a new cluster (each its own data directory and port,
/// one shared secret key file); returns them and the cluster's name.
fn start_cluster(services: &Services, count: usize, label: &str) -> (Vec<Member>, String) {
    let name = unique_name(label).replace('_', "-");
    let dir = scratch_dir(&name);
    // The first member creates the key file (0600); the others are given the same one.
    let key = dir.join("cluster.key");
    let members = (1..=count)
        .map(|i| {
            let node = format!("n{i}");
            let args = cluster_args(&name, &node, &services.kafka_bootstrap, &key);
            let (dir, port) = (dir.join(&node), free_port());
            let server = ServerProcess::start_with(&dir, port, &args);
            let api = Api::login(&server.base);
            Member {
                node,
                server,
                api,
                dir,
                port,
                args,
            }
        })
        .collect();
    (members, name)
}

/// `GET /api/v1/cluster` of a member.
fn view(api: &mut Api) -> Value {
    api.ok("GET", "/api/v1/cluster", None, StatusCode::OK)
}

/// Project id → (state, owner) as `view` lists it.
fn owners(view: &Value) -> BTreeMap<String, (String, Option<String>)> {
    view["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                (
                    p["state"].as_str().unwrap().to_string(),
                    p["owner"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

/// Waits until the `alive` members agree that each of `ids` is running on one of them,
/// on the member whose buckets hold it, with the buckets split between them exactly;
/// returns project id → owner.
fn wait_settled(
    members: &mut [Member],
    alive: &[usize],
    ids: &[String],
    within: Duration,
) -> BTreeMap<String, String> {
    let end = Instant::now() + within;
    let nodes: BTreeSet<String> = alive.iter().map(|&i| members[i].node.clone()).collect();
    loop {
        let views: Vec<Value> = alive.iter().map(|&i| view(&mut members[i].api)).collect();
        let problem = settled_problem(&views, &nodes, ids);
        match problem {
            None => {
                return owners(&views[0])
                    .into_iter()
                    .filter(|(id, _)| ids.contains(id))
                    .map(|(id, (_, owner))| (id, owner.unwrap()))
                    .collect()
            }
            Some(p) if Instant::now() > end => {
                panic!("the cluster did not settle within {within:?}: {p}\n{views:#?}")
            }
            Some(_) => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

/// What keeps `views` (one per alive member) from the settled state, if anything.
fn settled_problem(views: &[Value], nodes: &BTreeSet<String>, ids: &[String]) -> Option<String> {
    let mut buckets = BTreeSet::new();
    let mut bucket_owner = BTreeMap::new();
    for v in views {
        for b in v["owned_buckets"].as_array().unwrap() {
            let b = b.as_i64().unwrap();
            if !buckets.insert(b) {
                return Some(format!("bucket {b} is owned twice"));
            }
            bucket_owner.insert(b, v["node"].as_str().unwrap().to_string());
        }
    }
    let all: i64 = BUCKETS.parse().unwrap();
    if buckets.len() as i64 != all {
        return Some(format!("buckets owned: {buckets:?}"));
    }
    let first = owners(&views[0]);
    for v in &views[1..] {
        if owners(v) != first {
            return Some("the members list different owners or states".into());
        }
    }
    for p in views[0]["projects"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap().to_string();
        if !ids.contains(&id) {
            continue;
        }
        let owner = p["owner"].as_str();
        let expected = &bucket_owner[&p["bucket"].as_i64().unwrap()];
        if p["state"] != "running" || owner != Some(expected.as_str()) || !nodes.contains(expected)
        {
            return Some(format!(
                "project {id}: {p}, its bucket's owner is {expected}"
            ));
        }
    }
    None
}

/// Writes to every table until `stop`: updates of every 97th row, inserts of new rows,
/// deletes of old ones, a transaction every few ms; every row is updated again within
/// a second or two, so a zombie's late resend of an old image is overwritten.
fn churn(db: &SourceDb, tables: &[String], stop: &AtomicBool) {
    let mut n = 0i64;
    while !stop.load(Ordering::Relaxed) {
        for t in tables {
            db.exec_many(&[
                "BEGIN".to_string(),
                format!("UPDATE {t} SET v = v + 1 WHERE id % 97 = {}", n % 97),
                format!("INSERT INTO {t} VALUES ({}, {}, 0)", 100_000 + n, n % 5),
                format!("DELETE FROM {t} WHERE id = {}", (n * 31) % ROWS + 1),
                "COMMIT".to_string(),
            ]);
        }
        n += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sets its flag when dropped (also while a failed assertion unwinds).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn three_servers_run_each_project_once_and_survive_kill_9_and_a_fenced_zombie() {
    let started = Instant::now();
    let services = Services::load();
    let db = SourceDb::create(&services);
    let d = db.name().to_string();
    let tables: Vec<String> = (0..PROJECTS).map(|i| format!("t{i}")).collect();
    for t in &tables {
        db.exec(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, grp INT NOT NULL, v INT NOT NULL)"
        ));
        db.exec(&format!(
            "INSERT INTO {t} SELECT seq, seq % 5, 0 FROM seq_1_to_{ROWS}"
        ));
    }
    let (mut members, _cluster) = start_cluster(&services, 3, "cl");

    // Data sources and projects are made through one server and started through
    // another: every server knows them from the config log.
    let (source, target) = data_sources(&mut members[0].api, &services);
    let base = ProjectSpec::new(&services, &db, "DefaultExtendColumnType");
    let mut specs = Vec::new();
    let mut ids = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let mut spec = base.clone();
        spec.name = format!("{}x{i}", base.name);
        spec.topic = TopicMode::Named(format!("t_{d}_{i}"));
        let TopicMode::Named(topic) = &spec.topic else {
            unreachable!()
        };
        let id = members[0].api.ok(
            "POST",
            "/api/v1/projects",
            Some(json!({"spec": {
            "name": spec.name, "source_id": source, "target_id": target,
            "sync": {"types": ["schema", "full", "incremental"], "format": spec.format},
            "objects": [{"tables": [format!("{d}.{t}")], "topic": topic}]}})),
            StatusCode::CREATED,
        )["id"]
            .as_str()
            .unwrap()
            .to_string();
        // The second server applies the config log a moment later.
        members[1].api.wait(
            &format!("/api/v1/projects/{id}"),
            "the project reaches the second server",
            |_| true,
        );
        let pre = members[1].api.ok(
            "POST",
            &format!("/api/v1/projects/{id}/precheck"),
            None,
            StatusCode::OK,
        );
        assert_eq!(pre["passed"], true, "{pre}");
        members[1].api.ok(
            "POST",
            &format!("/api/v1/projects/{id}/start"),
            None,
            StatusCode::OK,
        );
        specs.push(spec);
        ids.push(id);
    }
    let owners_before = wait_settled(&mut members, &[0, 1, 2], &ids, Duration::from_secs(60));
    // Each runs once: the servers' running counts add up to the projects.
    let running: u64 = members
        .iter_mut()
        .map(|m| {
            m.api.ok("GET", "/api/v1/version", None, StatusCode::OK)["running_projects"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(running, PROJECTS as u64, "{owners_before:?}");
    eprintln!(
        "[{:?}] {PROJECTS} projects running on 3 servers: {owners_before:?}",
        started.elapsed()
    );

    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let churner = scope.spawn(|| churn(&db, &tables, &stop));
        // A failed check below must not leave the scope waiting for the churner.
        let _stop_churn = StopOnDrop(&stop);
        std::thread::sleep(Duration::from_secs(3));

        // kill -9 of the server running the most projects.
        let victim = (0..3)
            .max_by_key(|&i| {
                owners_before
                    .values()
                    .filter(|o| **o == members[i].node)
                    .count()
            })
            .unwrap();
        members[victim].server.signal("KILL");
        members[victim].server.wait_exit(Duration::from_secs(10));
        let killed = Instant::now();
        let alive: Vec<usize> = (0..3).filter(|&i| i != victim).collect();
        let owners_after = wait_settled(&mut members, &alive, &ids, FAILOVER);
        let failover = killed.elapsed();
        eprintln!(
            "[{:?}] kill -9 of {}: every project runs again after {failover:?}",
            started.elapsed(),
            members[victim].node
        );
        assert!(owners_after.values().all(|o| *o != members[victim].node));

        // SIGSTOP a survivor past its session timeout: the last one takes its buckets
        // and fences it; woken, it cannot move a checkpoint and stops its projects.
        std::thread::sleep(Duration::from_secs(2));
        let (zombie, last) = (alive[0], alive[1]);
        let zombie_node = members[zombie].node.clone();
        let zombie_projects: Vec<String> = owners_after
            .iter()
            .filter(|(_, o)| **o == zombie_node)
            .map(|(id, _)| id.clone())
            .collect();
        members[zombie].server.signal("STOP");
        let owners_last = wait_settled(&mut members, &[last], &ids, FAILOVER);
        assert!(owners_last.values().all(|o| *o == members[last].node));
        members[zombie].server.signal("CONT");
        eprintln!(
            "[{:?}] {zombie_node} stopped and woken; its projects {zombie_projects:?}",
            started.elapsed()
        );
        // It stops them, each with an event that names the fencing or the revocation.
        let end = Instant::now() + FAILOVER;
        for id in &zombie_projects {
            members[zombie].api.wait(
                &format!("/api/v1/projects/{id}/events"),
                "the zombie's stop event",
                |e| {
                    e["items"].as_array().is_some_and(|items| {
                        items.iter().any(|i| {
                            i["message"]
                                .as_str()
                                .is_some_and(|m| m.contains("belongs to another server now"))
                        })
                    })
                },
            );
            assert!(Instant::now() < end);
        }
        let fenced = zombie_projects.iter().any(|id| {
            let events = members[zombie].api.ok(
                "GET",
                &format!("/api/v1/projects/{id}/events"),
                None,
                StatusCode::OK,
            );
            events.to_string().contains("this server was fenced")
        });
        assert!(fenced, "no project of the woken server says it was fenced");
        eprintln!(
            "[{:?}] the zombie was fenced and stopped its projects",
            started.elapsed()
        );
        // It rejoins; the buckets spread again and the members agree.
        let both = [zombie, last];
        wait_settled(&mut members, &both, &ids, FAILOVER);

        // The woken server sent what its client had queued before it stopped, after the
        // new owner's newer images (data is not fenced, only checkpoints): those rows
        // are right again at their next change, within one churn cycle (97 rounds,
        // about 8 s); churn goes on past that.
        std::thread::sleep(Duration::from_secs(12));
        stop.store(true, Ordering::Relaxed);
        churner.join().unwrap();
    });

    for (spec, t) in specs.iter().zip(&tables) {
        wait_until_equal(&db, spec, &[t.as_str()], Duration::from_secs(90));
    }
    eprintln!(
        "[{:?}] every table rebuilt from Kafka equals the source",
        started.elapsed()
    );
}

#[test]
fn two_servers_editing_one_project_at_once_one_wins_the_other_gets_409() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    db.exec("CREATE TABLE a (id INT PRIMARY KEY, v INT)");
    let (mut members, _) = start_cluster(&services, 2, "ed");
    let (source, target) = data_sources(&mut members[0].api, &services);
    let d = db.name().to_string();
    let spec = |name: &str| {
        json!({"name": name, "source_id": source, "target_id": target,
        "sync": {"types": ["schema", "full", "incremental"]},
        "objects": [{"tables": [format!("{d}.a")], "topic": format!("t_{d}")}]})
    };
    let id = members[0].api.ok(
        "POST",
        "/api/v1/projects",
        Some(json!({"spec": spec("edits")})),
        StatusCode::CREATED,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Both servers know it at the same revision.
    let etag = |api: &Api| {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let r = api
                .client
                .get(format!("{}/api/v1/projects/{id}", api.base))
                .send()
                .unwrap();
            if r.status() == StatusCode::OK {
                return r.headers()["etag"].to_str().unwrap().to_string();
            }
            assert!(
                Instant::now() < end,
                "the project never reached the second server"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let (e0, e1) = (etag(&members[0].api), etag(&members[1].api));
    assert_eq!(e0, e1);
    let put = |api: &Api, name: &str| {
        api.client
            .put(format!("{}/api/v1/projects/{id}", api.base))
            .header("If-Match", &e0)
            .json(&json!({"spec": spec(name)}))
            .send()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| put(&members[0].api, "editsA"));
        let b = s.spawn(|| put(&members[1].api, "editsB"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{:?} {:?}",
        a.text(),
        b.text()
    );
    // Both servers then hold the winner's name.
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let names: Vec<String> = members
            .iter_mut()
            .map(|m| {
                m.api.ok(
                    "GET",
                    &format!("/api/v1/projects/{id}"),
                    None,
                    StatusCode::OK,
                )["spec"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        if names[0] == names[1] && names[0] != "edits" {
            break;
        }
        assert!(Instant::now() < end, "{names:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Node → owned buckets, once the members' buckets are all owned, each once.
fn wait_buckets(members: &mut [Member]) -> BTreeMap<String, Vec<i64>> {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let owned: BTreeMap<String, Vec<i64>> = members
            .iter_mut()
            .map(|m| {
                let v = view(&mut m.api);
                let buckets = v["owned_buckets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_i64().unwrap())
                    .collect();
                (m.node.clone(), buckets)
            })
            .collect();
        let all: Vec<i64> = owned.values().flatten().copied().collect();
        let distinct: BTreeSet<i64> = all.iter().copied().collect();
        if all.len() == distinct.len() && distinct.len() as i64 == BUCKETS.parse::<i64>().unwrap() {
            return owned;
        }
        assert!(Instant::now() < end, "the buckets never settled: {owned:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// How many rebalance callbacks (assignments and revocations) a member's log shows.
fn rebalances(member: &Member) -> usize {
    let log = std::fs::read_to_string(&member.server.log).unwrap();
    log.lines()
        .filter(|l| l.contains("buckets assigned") || l.contains("buckets revoked"))
        .count()
}

#[test]
fn a_rolling_restart_within_the_session_timeout_moves_no_bucket() {
    let services = Services::load();
    let (mut members, _) = start_cluster(&services, 2, "rr");
    let before = wait_buckets(&mut members);
    for i in 0..members.len() {
        let other = 1 - i;
        let seen = rebalances(&members[other]);
        // SIGTERM: the server stops its projects and exits; it is back well within
        // the session timeout under the same node id.
        members[i].server.signal("TERM");
        members[i].server.wait_exit(Duration::from_secs(30));
        members[i].restart();
        let after = wait_buckets(&mut members);
        assert_eq!(
            after, before,
            "restarting {} moved buckets",
            members[i].node
        );
        assert_eq!(
            rebalances(&members[other]),
            seen,
            "{} saw a rebalance",
            members[other].node
        );
    }
}
