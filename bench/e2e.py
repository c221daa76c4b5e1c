#!/usr/bin/env python3
"""End-to-end performance harness for obsync: MariaDB -> obsync (release) -> Kafka.

Run through `scripts/bench [full|incremental|latency|limits|all]`, which starts the local
services, builds obsync and passes the endpoints in the environment (services.env).

Phases (each one on the same machine, in the same run):
  full         1,000,000-row, 10-column table; obsync types = ["schema", "full"], hash,
               3 partitions, Default and DefaultExtendColumnType; wall time start -> exit.
  incremental  obsync incremental-only on an idle table, then 20 x 50,000-row INSERT ... SELECT
               transactions ("live"); then a second obsync replays the same 1,000,000-row
               binlog region from start_time ("catch-up").
  latency      single-row transactions at a steady rate; source statement time (NOW(6))
               against the broker's LogAppendTime of each message.
  limits       what the parts do alone: `mariadb --quick SELECT *`, `mariadb-binlog
               --read-from-remote-server` of the incremental binlog region, and Kafka's own
               ProducerPerformance with obsync's average message size.

Every measurement records the load average and the CPU time of obsync, mariadbd, Kafka and
everything else on the machine over its window, because the 2-core VM is shared.

Standard library only. Raw data (logs, project files, latency samples) goes to
bench/results/raw/<stamp>/ (git-ignored); the summary to bench/results/<date>.md.
"""

import argparse
import datetime as dt
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LAST_RUN = ROOT / ".obsync-dev" / "bench" / "last.json"
ENV = os.environ

DB = "obsync_bench"
ROWS = 1_000_000
INCR_BATCH = 50_000
PARTITIONS = 3
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The 10 realistic columns of every bench table. Values come from the Sequence engine's
# `seq` so that a load is one server-side INSERT ... SELECT (no client round trips).
COLUMNS_DDL = """
  id          BIGINT PRIMARY KEY,
  name        VARCHAR(32) NOT NULL,
  qty         INT NOT NULL,
  price       DECIMAL(12,2) NOT NULL,
  created_at  DATETIME(3) NOT NULL,
  updated_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  note        VARCHAR(64),
  flag        TINYINT NOT NULL,
  customer_id BIGINT NOT NULL,
  body        TEXT
"""
ROW_SELECT = """
  seq, CONCAT('customer-', seq), seq % 1000, (seq % 100000) / 100 + 0.01,
  TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq * 1003000 MICROSECOND,
  TIMESTAMP'2024-06-01 00:00:00' + INTERVAL seq * 1001 MICROSECOND,
  CONCAT('note ', MD5(seq)), seq % 2, seq % 50000,
  CONCAT(MD5(seq), ' ', MD5(seq + 1), ' ', SHA1(seq))
"""


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- machine accounting


def loadavg():
    return float(Path("/proc/loadavg").read_text().split()[0])


def proc_cpu_seconds(pid):
    """utime + stime of a live process (all its threads), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds():
    """CPU seconds spent not idle, summed over all cores (from /proc/stat)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    v = [int(x) for x in parts]
    idle = v[3] + v[4]  # idle + iowait
    return (sum(v[:8]) - idle) / CLK_TCK


def children_cpu_seconds():
    """CPU seconds of the harness's finished, waited-for child processes."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def service_pid(name):
    try:
        return int((ROOT / ".obsync-dev" / name / "pid").read_text().strip())
    except (OSError, ValueError):
        return None


class Window:
    """Load average samples and CPU seconds per party over one measurement."""

    def __init__(self):
        self.pids = {n: service_pid(n) for n in ("mariadb", "kafka", "seekdb")}
        self.obsync_pid = None
        self.obsync_cpu = None  # set by the caller from the child's rusage when known
        self.t0 = time.time()
        self.children0 = children_cpu_seconds()
        self.busy0 = machine_busy_seconds()
        self.cpu0 = {n: proc_cpu_seconds(p) for n, p in self.pids.items() if p}
        self.loads = [loadavg()]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(1.0):
            self.loads.append(loadavg())
            if self.obsync_pid:
                c = proc_cpu_seconds(self.obsync_pid)
                if c is not None:
                    self._obsync_last = c

    def close(self):
        self._stop.set()
        self._thread.join()
        self.loads.append(loadavg())
        wall = time.time() - self.t0
        busy = machine_busy_seconds() - self.busy0
        cpu = {}
        for n, p in self.pids.items():
            c = proc_cpu_seconds(p) if p else None
            if c is not None and self.cpu0.get(n) is not None:
                cpu[n] = round(c - self.cpu0[n], 1)
        if self.obsync_pid is None:
            # The client tools a limit measurement runs (mariadb, mariadb-binlog, java).
            cpu["client"] = round(children_cpu_seconds() - self.children0, 1)
        obs = self.obsync_cpu
        if obs is None:
            obs = getattr(self, "_obsync_last", None)
        if obs is not None:
            cpu["obsync"] = round(obs, 1)
        cpu["other"] = round(busy - sum(cpu.values()), 1)
        return {
            "wall_s": round(wall, 2),
            "load_min": min(self.loads),
            "load_mean": round(sum(self.loads) / len(self.loads), 2),
            "load_max": max(self.loads),
            "cpu_busy_s": round(busy, 1),
            "cpu_capacity_s": round(wall * os.cpu_count(), 1),
            "cpu_s": cpu,
        }


# ---------------------------------------------------------------- MariaDB and Kafka


def mariadb_args(*extra):
    return [
        "mariadb", "--no-defaults", "--protocol=tcp",
        f"-h{ENV['MARIADB_HOST']}", f"-P{ENV['MARIADB_PORT']}",
        f"-u{ENV['MARIADB_USER']}", f"-p{ENV['MARIADB_PASSWORD']}", *extra,
    ]


def sql(statements, database=None):
    """Runs SQL with the mariadb CLI; returns rows of tab-separated output."""
    args = mariadb_args("-N", "-B") + ([database] if database else [])
    out = subprocess.run(args, input=statements, text=True, capture_output=True)
    if out.returncode != 0:
        raise RuntimeError(f"mariadb failed: {out.stderr.strip()}\nSQL: {statements[:300]}")
    return [line.split("\t") for line in out.stdout.splitlines()]


def master_status():
    row = sql("SHOW MASTER STATUS;")[0]
    return row[0], int(row[1])


def kafka_java(main_class, *args):
    cmd = ["java", f"-Dlog4j.configuration=file:{ENV['KAFKA_TOOLS_LOG4J_CONFIG']}",
           "-cp", f"{ENV['KAFKA_LIBS']}/*", main_class, *args]
    return subprocess.run(cmd, text=True, capture_output=True)


def create_topic(topic, log_append_time=False):
    extra = ["--config", "message.timestamp.type=LogAppendTime"] if log_append_time else []
    out = kafka_java("org.apache.kafka.tools.TopicCommand", "--bootstrap-server",
                     ENV["KAFKA_BOOTSTRAP"], "--create", "--topic", topic, "--partitions",
                     str(PARTITIONS), "--replication-factor", "1", *extra)
    if out.returncode != 0:
        raise RuntimeError(f"creating topic {topic}: {out.stderr.strip()[-500:]}")


def delete_topics(topics):
    """Deletes the bench's topics once measured: each full run writes ~2 GB to the broker."""
    if not topics:
        return
    out = kafka_java("org.apache.kafka.tools.TopicCommand", "--bootstrap-server",
                     ENV["KAFKA_BOOTSTRAP"], "--delete", "--topic", "|".join(topics))
    if out.returncode != 0:
        log(f"could not delete topics {topics}: {out.stderr.strip()[-300:]}")


def topic_messages(topic):
    """Sum of the partitions' end offsets: the message count of a topic nobody trims."""
    args = ["kcat", "-b", ENV["KAFKA_BOOTSTRAP"], "-Q"]
    for p in range(PARTITIONS):
        args += ["-t", f"{topic}:{p}:-1"]
    out = subprocess.run(args, text=True, capture_output=True, check=True).stdout
    return sum(int(m) for m in re.findall(r"offset (\d+)", out))


def message_sizes(topic, sample):
    """Average key and value bytes over the first `sample` messages of the topic."""
    out = subprocess.run(
        ["kcat", "-b", ENV["KAFKA_BOOTSTRAP"], "-C", "-t", topic, "-o", "beginning", "-e",
         "-q", "-c", str(sample), "-f", "%K %S\n"],
        text=True, capture_output=True, check=True).stdout
    n = k = v = 0
    for line in out.splitlines():
        a, b = line.split()
        n, k, v = n + 1, k + max(int(a), 0), v + int(b)
    return {"sampled": n, "key_bytes": round(k / n, 1), "value_bytes": round(v / n, 1)}


# ---------------------------------------------------------------- obsync process


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_file(path, name, topic, table, types, fmt, start_time=None):
    start = f"start_time = {start_time}\n" if start_time is not None else ""
    path.write_text(f"""# Written by bench/e2e.py
[project]
name = "{name}"

[source]
kind = "mariadb"
host = "{ENV['MARIADB_HOST']}"
port = {ENV['MARIADB_PORT']}
user = "{ENV['MARIADB_USER']}"
password_env = "OBSYNC_BENCH_SOURCE_PASSWORD"

[target]
bootstrap_servers = "{ENV['KAFKA_BOOTSTRAP']}"
version = "3.x"

[sync]
types = {json.dumps(types)}
{start}format = "{fmt}"
partition_rule = "hash"
topic_partitions = {PARTITIONS}

[[objects]]
tables = ["{DB}.{table}"]
topic = "{topic}"
""")


class Obsync:
    """One `obsync run` child with its /status endpoint polled in the background."""

    def __init__(self, raw, label, project):
        self.port = free_port()
        self.samples = []  # (time, status dict)
        self.log_path = raw / f"{label}.log"
        env = dict(ENV, OBSYNC_BENCH_SOURCE_PASSWORD=ENV["MARIADB_PASSWORD"])
        self.started = time.time()
        self.proc = subprocess.Popen(
            [ENV["OBSYNC_BIN"], "run", "-c", str(project), "--state-dir", str(raw / f"{label}.state"),
             "--metrics-listen", f"127.0.0.1:{self.port}", "--progress", "lines"],
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT, env=env)
        self.rusage = None
        self.exited = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def status(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/status", timeout=2) as r:
                return json.load(r)
        except OSError:
            return None

    def _poll(self):
        while not self._stop.wait(0.1):
            s = self.status()
            if s is not None:
                self.samples.append((time.time(), s))

    def latest(self):
        return self.samples[-1][1] if self.samples else {}

    def wait_until(self, pred, timeout, what):
        end = time.time() + timeout
        while time.time() < end:
            if self.samples and pred(self.samples[-1][1]):
                return self.samples[-1][0]
            if self.proc.poll() is not None:
                raise RuntimeError(f"obsync exited ({self.proc.returncode}) while waiting for "
                                   f"{what}; see {self.log_path}")
            time.sleep(0.05)
        raise RuntimeError(f"timed out after {timeout}s waiting for {what}; "
                           f"last status {self.latest()}; see {self.log_path}")

    def wait_reader_started(self, timeout=120):
        """Waits until the binlog dump runs: from then on every commit reaches obsync. (The
        checkpoint is no signal: on an idle server it stays empty until an event arrives.)"""
        end = time.time() + timeout
        while time.time() < end:
            if "binlog reader started" in self.log_path.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"obsync exited ({self.proc.returncode}) before its binlog "
                                   f"reader started; see {self.log_path}")
            time.sleep(0.05)
        raise RuntimeError(f"binlog reader not started after {timeout}s; see {self.log_path}")

    def wait_exit(self, timeout):
        """Waits for the child with wait4, keeping its CPU usage; returns the exit time."""
        end = time.time() + timeout
        while time.time() < end:
            pid, code, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.exited = time.time()
                self.proc.returncode = os.waitstatus_to_exitcode(code)
                self.rusage = ru
                self._stop.set()
                return self.exited
            time.sleep(0.02)
        raise RuntimeError(f"obsync did not exit within {timeout}s; see {self.log_path}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(60)

    def cpu_seconds(self):
        return self.rusage.ru_utime + self.rusage.ru_stime if self.rusage else None

    def peak_rss_mb(self):
        return round(self.rusage.ru_maxrss / 1024, 1) if self.rusage else None


# ---------------------------------------------------------------- phases


class Run:
    def __init__(self, args):
        self.stamp = time.strftime("%Y%m%d%H%M%S")
        self.raw = RESULTS / "raw" / self.stamp
        self.raw.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.res = {"stamp": self.stamp, "started": dt.datetime.now(dt.timezone.utc).isoformat(
            timespec="seconds")}
        self.prev = json.loads(LAST_RUN.read_text()) if LAST_RUN.exists() else {}
        self.topics = []  # created by this run; deleted at the end unless --keep-topics
        self.children = []  # obsync processes, stopped if a phase fails

    def obsync(self, label, project):
        ob = Obsync(self.raw, label, project)
        self.children.append(ob)
        return ob

    def cleanup(self):
        for ob in self.children:
            if ob.proc.poll() is None and ob.exited is None:
                log(f"stopping obsync {ob.proc.pid} ({ob.log_path.name})")
                ob.proc.send_signal(signal.SIGTERM)
                try:
                    ob.proc.wait(30)
                except subprocess.TimeoutExpired:
                    ob.proc.kill()
        if not self.args.keep_topics:
            delete_topics(self.topics)

    def name(self, what):
        return f"bench{what}{self.stamp}"

    def topic(self, what):
        t = f"bench_{what}_{self.stamp}"
        self.topics.append(t)
        return t

    # -- full sync

    def ensure_full_table(self):
        sql(f"CREATE DATABASE IF NOT EXISTS {DB};")
        have = sql(f"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='{DB}' "
                   "AND table_name='full_1m';")[0][0]
        if have == "1" and not self.args.reload:
            if sql(f"SELECT COUNT(*) FROM {DB}.full_1m;")[0][0] == str(ROWS):
                log("full_1m exists with 1,000,000 rows: reused (--reload to rebuild)")
                return
        log("loading full_1m: 1,000,000 rows by INSERT ... SELECT from seq_1_to_1000000")
        t = time.time()
        sql(f"DROP TABLE IF EXISTS full_1m; CREATE TABLE full_1m ({COLUMNS_DDL});"
            f"INSERT INTO full_1m SELECT {ROW_SELECT} FROM seq_1_to_{ROWS}; ANALYZE TABLE full_1m;",
            DB)
        log(f"loaded in {time.time() - t:.1f}s")

    def full(self):
        self.ensure_full_table()
        avg = sql(f"SELECT AVG_ROW_LENGTH, DATA_LENGTH FROM information_schema.tables "
                  f"WHERE table_schema='{DB}' AND table_name='full_1m';")[0]
        self.res["full_table"] = {"rows": ROWS, "avg_row_length": int(avg[0]),
                                  "data_mb": round(int(avg[1]) / 1e6, 1)}
        out = {}
        for fmt in ("Default", "DefaultExtendColumnType"):
            short = "dflt" if fmt == "Default" else "dct"
            topic = self.topic(f"full_{short}")
            proj = self.raw / f"full-{short}.toml"
            project_file(proj, self.name(f"full{short}"), topic, "full_1m", ["schema", "full"], fmt)
            log(f"full sync, {fmt} -> {topic}")
            win = Window()
            ob = self.obsync(f"full-{short}", proj)
            win.obsync_pid = ob.proc.pid
            t_full = ob.wait_until(lambda s: s.get("stage") == "full", 120, "stage full")
            ob.wait_exit(1800)
            win.obsync_cpu = ob.cpu_seconds()
            w = win.close()
            if ob.proc.returncode != 0:
                raise RuntimeError(f"obsync exited {ob.proc.returncode}; see {ob.log_path}")
            wall = ob.exited - ob.started
            msgs = topic_messages(topic)
            sizes = message_sizes(topic, 100_000)
            r = {"topic": topic, "wall_s": round(wall, 2), "rows_per_s": round(ROWS / wall),
                 "startup_s": round(t_full - ob.started, 2),
                 "rows_per_s_after_startup": round(ROWS / (ob.exited - t_full)),
                 "topic_messages": msgs, "sizes": sizes, "obsync_cpu_s": round(ob.cpu_seconds(), 1),
                 "obsync_peak_rss_mb": ob.peak_rss_mb(), "window": w}
            if msgs < ROWS:
                raise RuntimeError(f"topic {topic} holds {msgs} messages, expected >= {ROWS}")
            log(f"  {fmt}: {wall:.1f}s, {ROWS / wall:,.0f} rows/s, {msgs} messages, "
                f"value {sizes['value_bytes']} B, load {w['load_mean']}")
            out[fmt] = r
        self.res["full"] = out

    # -- incremental sync

    def incremental(self):
        sql(f"CREATE DATABASE IF NOT EXISTS {DB};"
            f"DROP TABLE IF EXISTS {DB}.incr; CREATE TABLE {DB}.incr ({COLUMNS_DDL});")
        topic = self.topic("incr_live")
        create_topic(topic)
        # A fresh binlog file: the region replayed later holds our rows and little else.
        sql("FLUSH BINARY LOGS;")
        start_file, _ = master_status()
        time.sleep(1.1)
        start_time = int(time.time())
        time.sleep(1.1)
        proj = self.raw / "incr-live.toml"
        project_file(proj, self.name("incrlive"), topic, "incr", ["incremental"], "Default")
        log(f"incremental (live): obsync on idle table, then {ROWS // INCR_BATCH} x {INCR_BATCH}-row "
            f"INSERT ... SELECT -> {topic}")
        ob = self.obsync("incr-live", proj)
        ob.wait_reader_started()
        time.sleep(2)
        win = Window()
        win.obsync_pid = ob.proc.pid
        cpu_before = proc_cpu_seconds(ob.proc.pid)
        t_first_insert = time.time()
        commits = []
        for b in range(ROWS // INCR_BATCH):
            lo, hi = b * INCR_BATCH + 1, (b + 1) * INCR_BATCH
            sql(f"INSERT INTO incr SELECT {ROW_SELECT} FROM seq_{lo}_to_{hi};", DB)
            commits.append(time.time())
        t_acked = ob.wait_until(lambda s: s.get("messages_acked", 0) >= ROWS, 1800,
                                "messages_acked >= 1,000,000")
        win.obsync_cpu = proc_cpu_seconds(ob.proc.pid) - cpu_before
        w = win.close()
        end_file, end_pos = master_status()
        ob.stop()
        msgs = topic_messages(topic)
        if msgs < ROWS:
            raise RuntimeError(f"topic {topic} holds {msgs} messages, expected >= {ROWS}")
        insert_s = commits[-1] - t_first_insert
        live = {"topic": topic, "insert_s": round(insert_s, 2),
                "insert_rows_per_s": round(ROWS / insert_s),
                "first_commit_to_acked_s": round(t_acked - commits[0], 2),
                "rows_per_s": round(ROWS / (t_acked - commits[0])),
                "first_insert_to_acked_s": round(t_acked - t_first_insert, 2),
                "acked_after_last_commit_s": round(t_acked - commits[-1], 2),
                "topic_messages": msgs, "window": w}
        log(f"  live: {live['rows_per_s']:,} rows/s from first commit; source inserted at "
            f"{live['insert_rows_per_s']:,} rows/s; acked {live['acked_after_last_commit_s']}s "
            f"after last commit; load {w['load_mean']}")
        self.res["binlog_region"] = {"start_file": start_file, "end_file": end_file,
                                     "end_pos": end_pos, "start_time": start_time}
        self.res["incremental_live"] = live
        self.catch_up(start_time)

    def catch_up(self, start_time):
        topic = self.topic("incr_catchup")
        create_topic(topic)
        proj = self.raw / "incr-catchup.toml"
        project_file(proj, self.name("incrcatchup"), topic, "incr", ["incremental"], "Default",
                     start_time=start_time)
        log(f"incremental (catch-up): replay the same binlog region from start_time -> {topic}")
        win = Window()
        ob = self.obsync("incr-catchup", proj)
        win.obsync_pid = ob.proc.pid
        t_first = ob.wait_until(lambda s: s.get("rows_read", 0) > 0, 300, "first row")
        t_acked = ob.wait_until(lambda s: s.get("messages_acked", 0) >= ROWS, 1800,
                                "messages_acked >= 1,000,000")
        win.obsync_cpu = proc_cpu_seconds(ob.proc.pid)
        w = win.close()
        ob.stop()
        msgs = topic_messages(topic)
        r = {"topic": topic, "start_to_acked_s": round(t_acked - ob.started, 2),
             "rows_per_s": round(ROWS / (t_acked - ob.started)),
             "first_row_to_acked_s": round(t_acked - t_first, 2),
             "rows_per_s_after_first_row": round(ROWS / (t_acked - t_first)),
             "topic_messages": msgs, "obsync_peak_rss_mb": ob.peak_rss_mb(), "window": w}
        log(f"  catch-up: {r['rows_per_s']:,} rows/s (start -> 1M acked {r['start_to_acked_s']}s), "
            f"load {w['load_mean']}")
        self.res["incremental_catchup"] = r

    # -- latency

    def latency(self):
        rate, secs = self.args.latency_rate, self.args.latency_seconds
        sql(f"CREATE DATABASE IF NOT EXISTS {DB};"
            f"DROP TABLE IF EXISTS {DB}.lat; CREATE TABLE {DB}.lat ("
            "id BIGINT AUTO_INCREMENT PRIMARY KEY, src_ts DATETIME(6) NOT NULL, "
            "cli_ts DATETIME(6) NOT NULL, name VARCHAR(32), qty INT, price DECIMAL(12,2), "
            "note VARCHAR(64), body TEXT);")
        topic = self.topic("latency")
        create_topic(topic, log_append_time=True)
        proj = self.raw / "latency.toml"
        project_file(proj, self.name("latency"), topic, "lat", ["incremental"], "Default")
        ob = self.obsync("latency", proj)
        ob.wait_reader_started()
        time.sleep(2)
        log(f"latency: {rate} single-row transactions/s for {secs}s -> {topic} (LogAppendTime)")
        win = Window()
        win.obsync_pid = ob.proc.pid
        cpu_before = proc_cpu_seconds(ob.proc.pid)
        client = subprocess.Popen(mariadb_args("-N", "-B", DB), stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, text=True)
        client.stdin.write("SET time_zone = '+00:00';\n")
        total = rate * secs
        body = "b" * 100
        t0 = time.time()
        for i in range(total):
            due = t0 + i / rate
            now = time.time()
            if due > now:
                time.sleep(due - now)
            cli = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
            client.stdin.write(
                f"INSERT INTO lat (src_ts, cli_ts, name, qty, price, note, body) VALUES "
                f"(NOW(6), '{cli}', 'customer-{i}', {i % 1000}, 12.34, 'latency probe', "
                f"'{body}');\n")
            client.stdin.flush()
        client.stdin.close()
        client.wait()
        sent_s = time.time() - t0
        ob.wait_until(lambda s: s.get("messages_acked", 0) >= total, 300, "all latency rows acked")
        win.obsync_cpu = proc_cpu_seconds(ob.proc.pid) - cpu_before
        w = win.close()
        ob.stop()
        out = subprocess.run(
            ["kcat", "-b", ENV["KAFKA_BOOTSTRAP"], "-C", "-t", topic, "-o", "beginning", "-e", "-q",
             "-f", "%T\t%s\n"], text=True, capture_output=True, check=True).stdout
        src, cli = [], []
        with open(self.raw / "latency.tsv", "w") as f:
            f.write("append_ms\tsrc_ts_ms\tcli_ts_ms\n")
            for line in out.splitlines():
                ts, payload = line.split("\t", 1)
                post = json.loads(payload).get("postStruct") or {}
                if "src_ts" not in post:
                    continue
                a = int(ts)
                s_ms = parse_utc_ms(post["src_ts"])
                c_ms = parse_utc_ms(post["cli_ts"])
                f.write(f"{a}\t{s_ms:.3f}\t{c_ms:.3f}\n")
                src.append(a - s_ms)
                cli.append(a - c_ms)
        if len(src) < total:
            raise RuntimeError(f"latency topic has {len(src)} rows, expected {total}")
        r = {"topic": topic, "rate_target": rate, "seconds": secs, "rows": len(src),
             "rate_achieved": round(total / sent_s), "src_to_append_ms": percentiles(src),
             "client_to_append_ms": percentiles(cli), "window": w}
        log(f"  latency p50 {r['src_to_append_ms']['p50']} ms, p95 {r['src_to_append_ms']['p95']} ms, "
            f"p99 {r['src_to_append_ms']['p99']} ms; load {w['load_mean']}")
        self.res["latency"] = r

    # -- limits

    def avg_message_bytes(self):
        full = self.res.get("full") or self.prev.get("full")
        if full:
            s = full["Default"]["sizes"]
            return round(s["value_bytes"] + s["key_bytes"]), "measured in the full phase"
        return 730, "no full phase yet: the serializer bench's Default INSERT size"

    def limits(self):
        lim = {}
        # Snapshot read: the server streaming the table to a client that only discards it.
        sql(f"SELECT 1 FROM {DB}.full_1m LIMIT 1;")
        best = None
        for i in range(2):
            win = Window()
            t = time.time()
            subprocess.run(mariadb_args("--quick", "-N", "-B", "-e", f"SELECT * FROM {DB}.full_1m"),
                           stdout=subprocess.DEVNULL, check=True)
            el = time.time() - t
            w = win.close()
            log(f"snapshot read (mariadb --quick SELECT *), run {i + 1}: {el:.2f}s, "
                f"{ROWS / el:,.0f} rows/s, load {w['load_mean']}")
            if best is None or el < best["s"]:
                best = {"s": round(el, 2), "rows_per_s": round(ROWS / el), "window": w}
        lim["snapshot_read"] = best
        # Binlog read: the same region incremental sync streamed.
        region = self.res.get("binlog_region") or self.prev.get("binlog_region")
        if region:
            logs = [r for r in sql("SHOW BINARY LOGS;")]
            names = [r[0] for r in logs]
            if region["start_file"] in names and region["end_file"] in names:
                files = names[names.index(region["start_file"]):names.index(region["end_file"]) + 1]
                sizes = {r[0]: int(r[1]) for r in logs}
                nbytes = sum(sizes[f] for f in files[:-1]) + region["end_pos"]
                win = Window()
                t = time.time()
                subprocess.run(
                    ["mariadb-binlog", "--no-defaults", "--read-from-remote-server",
                     f"--host={ENV['MARIADB_HOST']}", f"--port={ENV['MARIADB_PORT']}",
                     f"--user={ENV['MARIADB_USER']}", f"--password={ENV['MARIADB_PASSWORD']}",
                     f"--stop-position={region['end_pos']}", *files],
                    stdout=subprocess.DEVNULL, check=True)
                el = time.time() - t
                w = win.close()
                lim["binlog_read"] = {"s": round(el, 2), "rows_per_s": round(ROWS / el),
                                      "mb": round(nbytes / 1e6, 1), "files": files, "window": w}
                log(f"binlog read (mariadb-binlog, {nbytes / 1e6:.0f} MB): {el:.2f}s, "
                    f"{ROWS / el:,.0f} rows/s, load {w['load_mean']}")
            else:
                log("binlog region purged; binlog limit skipped")
        else:
            log("no incremental phase yet: binlog limit skipped (run incremental first)")
        # Kafka's own producer with obsync's message size and guarantees.
        size, why = self.avg_message_bytes()
        topic = self.topic("producer_perf")
        create_topic(topic)
        win = Window()
        out = kafka_java(
            "org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records",
            str(ROWS), "--record-size", str(size), "--throughput", "-1", "--producer-props",
            f"bootstrap.servers={ENV['KAFKA_BOOTSTRAP']}", "acks=all", "linger.ms=5",
            "enable.idempotence=true", "batch.size=1000000")
        w = win.close()
        m = re.findall(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)", out.stdout)
        if out.returncode != 0 or not m:
            raise RuntimeError(f"ProducerPerformance failed: {out.stderr[-800:]}")
        sent, rps, mbs = m[-1]
        lim["producer"] = {"record_size": size, "size_source": why, "rows_per_s": round(float(rps)),
                           "mb_per_s": float(mbs), "window": w}
        log(f"ProducerPerformance {size} B: {float(rps):,.0f} msg/s ({mbs} MB/s), "
            f"load {w['load_mean']}")
        self.res["limits"] = lim


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB, kernel {os.uname().release}"


def parse_utc_ms(text):
    d = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
    return d.timestamp() * 1000


def percentiles(values):
    v = sorted(values)

    def p(q):
        return round(v[min(len(v) - 1, int(q * len(v)))], 1)

    return {"p50": p(0.50), "p95": p(0.95), "p99": p(0.99), "max": round(v[-1], 1),
            "min": round(v[0], 1)}


# ---------------------------------------------------------------- report


def fmt_int(n):
    return f"{n:,}" if n is not None else "—"


def ratio(a, b):
    return f"{a / b:.0%}" if a and b else "—"


def window_text(w):
    # `other` is /proc/stat's tick-sampled busy time minus precise per-process times: exact
    # enough on a saturated machine, too low (even negative) when work comes in short bursts.
    cpu = ", ".join(f"{k} {v}" if k != "other" else f"other ≈{max(v, 0.0) + 0.0}"
                    for k, v in w["cpu_s"].items())
    cpu += f"; machine busy {w['cpu_busy_s']} of {w['cpu_capacity_s']}"
    return (f"load {w['load_mean']} ({w['load_min']}–{w['load_max']}); CPU s over "
            f"{w['wall_s']} s × 2 cores: {cpu}")


def per_row_us(window, rows):
    c = window["cpu_s"].get("obsync")
    return round(c / rows * 1e6, 1) if c is not None else "?"


def report(res):
    lines = []
    add = lines.append
    lim = res.get("limits", {})
    snap = lim.get("snapshot_read", {}).get("rows_per_s")
    binl = lim.get("binlog_read", {}).get("rows_per_s")
    prod = lim.get("producer", {}).get("rows_per_s")
    add(f"# obsync end-to-end bench, {res['started']}")
    add("")
    add(f"obsync at {res.get('git_head', '?')} (release build). Machine: {res.get('machine', '?')}; "
        "MariaDB, Kafka and whatever else runs on the machine share these cores. Raw logs: "
        "`bench/results/raw/" + res["stamp"] + "/` (not committed).")
    add("")
    add("| measurement | result | rows/s | vs limits | load avg (mean) |")
    add("|---|---|---|---|---|")
    for fmt, r in res.get("full", {}).items():
        add(f"| full sync, {fmt} | {r['wall_s']} s start→exit, {r['topic_messages']:,} msgs, "
            f"avg value {r['sizes']['value_bytes']:.0f} B | {fmt_int(r['rows_per_s'])} | "
            f"{ratio(r['rows_per_s'], snap)} of snapshot read, {ratio(r['rows_per_s'], prod)} "
            f"of producer | {r['window']['load_mean']} |")
    if "incremental_live" in res:
        r = res["incremental_live"]
        add(f"| incremental, live (20 × 50k-row txns) | first commit → 1M acked "
            f"{r['first_commit_to_acked_s']} s; source inserts took {r['insert_s']} s; "
            f"acked {r['acked_after_last_commit_s']} s after last commit | "
            f"{fmt_int(r['rows_per_s'])} | {ratio(r['rows_per_s'], binl)} of binlog read, "
            f"{ratio(r['rows_per_s'], prod)} of producer | {r['window']['load_mean']} |")
    if "incremental_catchup" in res:
        r = res["incremental_catchup"]
        add(f"| incremental, catch-up (same 1M-row binlog) | start → 1M acked "
            f"{r['start_to_acked_s']} s | {fmt_int(r['rows_per_s'])} | "
            f"{ratio(r['rows_per_s'], binl)} of binlog read, {ratio(r['rows_per_s'], prod)} of "
            f"producer | {r['window']['load_mean']} |")
    if "latency" in res:
        r = res["latency"]
        s = r["src_to_append_ms"]
        c = r["client_to_append_ms"]
        add(f"| latency, {r['rate_achieved']} single-row txns/s × {r['seconds']} s | "
            f"NOW(6) → broker append: p50 {s['p50']} ms, p95 {s['p95']} ms, p99 {s['p99']} ms, "
            f"max {s['max']} ms (client send → append: p50 {c['p50']}, p99 {c['p99']} ms) | "
            f"{r['rows']:,} rows | — | {r['window']['load_mean']} |")
    if snap:
        add(f"| limit: snapshot read (`mariadb --quick SELECT *` > /dev/null, best of 2) | "
            f"{lim['snapshot_read']['s']} s | {fmt_int(snap)} | — | "
            f"{lim['snapshot_read']['window']['load_mean']} |")
    if binl:
        b = lim["binlog_read"]
        add(f"| limit: binlog read (`mariadb-binlog --read-from-remote-server`, {b['mb']} MB) | "
            f"{b['s']} s | {fmt_int(binl)} | — | {b['window']['load_mean']} |")
    if prod:
        p = lim["producer"]
        add(f"| limit: Kafka ProducerPerformance, {p['record_size']} B, acks=all, linger 5 ms | "
            f"{p['mb_per_s']} MB/s | {fmt_int(prod)} | — | {p['window']['load_mean']} |")
    add("")
    add("CPU time over each window (seconds; `client` = the tool a limit runs, `other` = the rest "
        "of the machine, e.g. other builds and tests). CPU per row is the load-independent figure:")
    add("")
    for key, label in (("full", None), ("incremental_live", "incremental live"),
                       ("incremental_catchup", "incremental catch-up"), ("latency", "latency")):
        if key == "full":
            for fmt, r in res.get("full", {}).items():
                add(f"- full {fmt}: {window_text(r['window'])}; obsync "
                    f"{per_row_us(r['window'], ROWS)} µs CPU/row, peak RSS {r['obsync_peak_rss_mb']} MB")
        elif key in res:
            w = res[key]["window"]
            if key == "latency":
                share = w["cpu_s"].get("obsync", 0) / w["wall_s"]
                add(f"- {label}: {window_text(w)}; obsync {share:.0%} of one core")
            else:
                add(f"- {label}: {window_text(w)}; obsync {per_row_us(w, ROWS)} µs CPU/row")
    for key in ("snapshot_read", "binlog_read", "producer"):
        if key in lim:
            w = lim[key]["window"]
            client = w["cpu_s"].get("client")
            per_row = f"; client {client / ROWS * 1e6:.1f} µs CPU/row" if client is not None else ""
            add(f"- limit {key}: {window_text(w)}{per_row}")
    add("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", nargs="?", default="all",
                    choices=["full", "incremental", "latency", "limits", "all"])
    ap.add_argument("--reload", action="store_true", help="rebuild the 1M-row source table")
    ap.add_argument("--keep-topics", action="store_true",
                    help="keep the bench_* topics (deleted by default: ~3.5 GB per run)")
    ap.add_argument("--latency-rate", type=int, default=500)
    ap.add_argument("--latency-seconds", type=int, default=60)
    args = ap.parse_args()
    run = Run(args)
    run.res["mode"] = args.mode
    run.res["obsync"] = subprocess.run([ENV["OBSYNC_BIN"], "--version"], text=True,
                                       capture_output=True).stdout.strip()
    run.res["git_head"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                         text=True, capture_output=True).stdout.strip()
    run.res["machine"] = machine()
    phases = {"full": [run.full], "incremental": [run.incremental], "latency": [run.latency],
              "limits": [run.limits],
              "all": [run.full, run.incremental, run.limits, run.latency]}[args.mode]
    try:
        for phase in phases:
            phase()
    finally:
        run.cleanup()
        (run.raw / "results.json").write_text(json.dumps(run.res, indent=2))
        merged = dict(run.prev, **{k: v for k, v in run.res.items()})
        LAST_RUN.parent.mkdir(parents=True, exist_ok=True)
        LAST_RUN.write_text(json.dumps(merged, indent=2))
    text = report(run.res)
    day = time.strftime("%Y-%m-%d")
    out = RESULTS / f"{day}.md"
    n = 2
    while out.exists():
        out = RESULTS / f"{day}-{n}.md"
        n += 1
    out.write_text(text + "\n```json\n" + json.dumps(run.res, indent=2) + "\n```\n")
    print(text)
    log(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
