#!/usr/bin/env python3
"""Many small projects in one obsync server: what they cost, idle and under load.

Run through `scripts/bench many-projects N` (it builds the release binary and starts the
shared services). Steps:

1. a private MariaDB (row binlog, like the shared one, with `max_connections` set by
   --max-connections: the shared server's is never changed) holding N tables of 3 rows;
2. a release `obsync server` on a fresh data directory;
3. one MariaDB and one Kafka data source, then N projects (schema + full + incremental,
   one table each, its own topic) created, prechecked and started through the REST API;
4. waits until every project streams with its 3 rows acknowledged (or has failed), then
   measures, over an idle window and over a window of --rate row changes per second
   (INSERTs spread round-robin over the tables): the server's RSS and threads
   (/proc/<pid>/status), its CPU (utime + stime over the window), its connections to the
   source (information_schema.PROCESSLIST of the obsync user: binlog dumps and others) and
   its TCP connections to Kafka (`ss`);
5. checks every project acknowledged exactly its table's rows, prints a table and writes
   bench/results/many-projects-<date>-<N>.md.

Standard library only. Everything it made (server, MariaDB, topics) is removed at the end
unless --keep.
"""

import argparse
import datetime as dt
import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ENV = os.environ
CLK_TCK = os.sysconf("SC_CLK_TCK")
ADMIN_PASSWORD = "Bench-many-projects-9"
ROWS = 3


def log(msg):
    print(f"[{dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, timeout, pred, every=0.5):
    end = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout}s: {what}")
        time.sleep(every)


# ---------------------------------------------------------------- private MariaDB

class MariaDb:
    """A throwaway MariaDB configured like scripts/services' one (row binlog, full images)."""

    def __init__(self, base, max_connections):
        self.dir = base / "mariadb"
        self.data = self.dir / "data"
        self.tmp = self.dir / "tmp"
        self.tmp.mkdir(parents=True)
        self.socket = self.dir / "mysqld.sock"
        self.port = free_port()
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run([ENV["MARIADB_INSTALL_DB"], "--no-defaults", f"--datadir={self.data}",
                        "--auth-root-authentication-method=normal", "--skip-test-db", *user],
                       env={**ENV, "TMPDIR": str(self.tmp)}, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.proc = subprocess.Popen(
            [ENV["MARIADBD"], "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.socket}",
             f"--log-error={self.dir / 'error.log'}", f"--tmpdir={self.tmp}",
             "--skip-name-resolve", "--character-set-server=utf8mb4",
             "--log-bin=mysql-bin", "--binlog-format=ROW", "--binlog-row-image=FULL",
             "--server-id=1", "--innodb-buffer-pool-size=128M",
             f"--max-connections={max_connections}", *user],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until("the private MariaDB answers", 120,
                   lambda: self.try_root("SELECT 1").returncode == 0)
        self.root("CREATE USER 'obsync'@'127.0.0.1' IDENTIFIED BY 'obsync';"
                  "GRANT ALL PRIVILEGES ON *.* TO 'obsync'@'127.0.0.1';")

    def try_root(self, statements):
        return subprocess.run(["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot",
                               "--batch", "--skip-column-names"], input=statements,
                              text=True, capture_output=True)

    def root(self, statements):
        out = self.try_root(statements)
        if out.returncode != 0:
            raise RuntimeError(f"SQL failed: {out.stderr.strip()}\n{statements[:300]}")
        return [line.split("\t") for line in out.stdout.splitlines()]

    def connections(self):
        """(binlog dumps, other sessions) of the obsync user."""
        rows = self.root("SELECT COMMAND FROM information_schema.PROCESSLIST "
                         "WHERE USER = 'obsync';")
        dumps = sum(1 for r in rows if r[0].startswith("Binlog Dump"))
        return dumps, len(rows) - dumps

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Writer:
    """One long-lived mariadb CLI fed INSERTs through its stdin."""

    def __init__(self, db):
        self.proc = subprocess.Popen(
            ["mariadb", "--no-defaults", f"--socket={db.socket}", "-uroot", "bench"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)

    def execute(self, statement):
        self.proc.stdin.write(statement + "\n")
        self.proc.stdin.flush()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(60)


# ---------------------------------------------------------------- obsync server

class Server:
    def __init__(self, binary, base):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(base / "server.log", "w")
        self.proc = subprocess.Popen(
            [binary, "server", "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", str(base / "data")],
            env={**ENV, "OBSYNC_ADMIN_PASSWORD": ADMIN_PASSWORD, "RUST_LOG": "warn"},
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        wait_until("the server answers", 60, self._answers)
        self.call("POST", "/api/v1/session", {"username": "admin", "password": ADMIN_PASSWORD})

    def _answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"the server exited ({self.proc.returncode}): see its log")
        try:
            self.call("GET", "/api/v1/health")
            return True
        except (urllib.error.URLError, ConnectionError, RuntimeError):
            return False

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with self.http.open(req, timeout=120) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if status not in ok:
            raise RuntimeError(f"{method} {path}: {status} {text[:500]}")
        return json.loads(text) if text else None

    def proc_status(self):
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            fields[k] = v.strip()
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])

    def cpu_seconds(self):
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        f = stat.rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / CLK_TCK

    def kafka_connections(self, bootstrap):
        host, port = bootstrap.split(",")[0].rsplit(":", 1)
        out = subprocess.run(["ss", "-Htnp", "state", "established", "dst", f"{host}:{port}"],
                             text=True, capture_output=True, check=True).stdout
        return sum(1 for line in out.splitlines() if f"pid={self.pid}," in line)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(180)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------- the run

def delete_topics(prefix):
    cmd = ["java", f"-Dlog4j.configuration=file:{ENV['KAFKA_TOOLS_LOG4J_CONFIG']}",
           "-cp", f"{ENV['KAFKA_LIBS']}/*", "org.apache.kafka.tools.TopicCommand",
           "--bootstrap-server", ENV["KAFKA_BOOTSTRAP"], "--delete", "--topic", f"{prefix}.*"]
    out = subprocess.run(cmd, text=True, capture_output=True)
    if out.returncode != 0:
        log(f"could not delete the topics {prefix}*: {out.stderr.strip()[-300:]}")


def measure(server, db, seconds, what):
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    cpu = (server.cpu_seconds() - cpu0) / (time.monotonic() - t0) * 100
    rss, threads = server.proc_status()
    dumps, others = db.connections()
    kafka = server.kafka_connections(ENV["KAFKA_BOOTSTRAP"])
    m = {"rss_mib": round(rss, 1), "threads": threads, "cpu_pct": round(cpu, 1),
         "dumps": dumps, "other_source": others, "kafka": kafka}
    log(f"{what}: {m}")
    return m


def states(server):
    counts, page = {}, 1
    while True:
        items = server.call("GET", f"/api/v1/projects?page={page}&page_size=150")["items"]
        for p in items:
            counts[p["state"]] = counts.get(p["state"], 0) + 1
        if len(items) < 150:
            return counts
        page += 1


def run(args):
    stamp = dt.datetime.now(dt.timezone.utc)
    base = Path(tempfile.mkdtemp(prefix="obsync-many-", dir=ENV.get("OBSYNC_DEV_DIR")))
    prefix = f"many_{stamp:%H%M%S}_"
    n = args.projects
    log(f"private MariaDB (max_connections {args.max_connections}) in {base}")
    db = MariaDb(base, args.max_connections)
    server = writer = None
    try:
        db.root("CREATE DATABASE bench;" + "".join(
            f"CREATE TABLE bench.t{i} (id INT PRIMARY KEY, v VARCHAR(16));"
            f"INSERT INTO bench.t{i} VALUES (1,'a'),(2,'b'),(3,'c');" for i in range(n)))
        server = Server(args.binary, base)
        rss_empty, threads_empty = server.proc_status()
        src = server.call("POST", "/api/v1/datasources", {
            "name": "many-maria", "kind": "mariadb",
            "source": {"host": "127.0.0.1", "port": db.port, "user": "obsync",
                       "password": "obsync"}})["id"]
        dst = server.call("POST", "/api/v1/datasources", {
            "name": "many-kafka", "kind": "kafka",
            "kafka": {"bootstrap_servers": ENV["KAFKA_BOOTSTRAP"], "version": "3.x"}})["id"]
        started = time.monotonic()
        ids, precheck_failed = [], 0
        for i in range(n):
            pid = server.call("POST", "/api/v1/projects", {"spec": {
                "name": f"many{i}", "source_id": src, "target_id": dst,
                "sync": {"types": ["schema", "full", "incremental"]},
                "objects": [{"tables": [f"bench.t{i}"], "topic": f"{prefix}{i}"}]}})["id"]
            pre = server.call("POST", f"/api/v1/projects/{pid}/precheck")
            if not pre.get("passed"):
                precheck_failed += 1
                log(f"project {i}: precheck failed: {json.dumps(pre)[:300]}")
                continue
            server.call("POST", f"/api/v1/projects/{pid}/start")
            ids.append(pid)
        created = time.monotonic() - started
        log(f"{n} projects created, prechecked and started in {created:.1f}s")

        def streaming():
            done = 0
            for pid in ids:
                p = server.call("GET", f"/api/v1/projects/{pid}/progress")
                if p.get("stage") == "incremental" and (p.get("acked_messages") or 0) >= ROWS:
                    done += 1
            return done

        try:
            wait_until("every project streams", args.timeout, lambda: streaming() == len(ids), 2)
        except TimeoutError as e:
            log(str(e))
        all_streaming = time.monotonic() - started
        counts = states(server)
        log(f"states: {counts}; {streaming()} of {len(ids)} streaming after {all_streaming:.0f}s")
        idle = measure(server, db, args.window, "idle")

        writer = Writer(db)
        sent = [ROWS] * n
        cpu0, t0 = server.cpu_seconds(), time.monotonic()
        k = 0
        interval = 1.0 / args.rate
        next_at = time.monotonic()
        while time.monotonic() - t0 < args.window:
            i = k % n
            sent[i] += 1
            writer.execute(f"INSERT INTO t{i} VALUES ({sent[i]}, 'x');")
            k += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        load_secs = time.monotonic() - t0
        busy = {"cpu_pct": round((server.cpu_seconds() - cpu0) / load_secs * 100, 1)}
        rss, threads = server.proc_status()
        dumps, others = db.connections()
        busy.update({"rss_mib": round(rss, 1), "threads": threads, "dumps": dumps,
                     "other_source": others,
                     "kafka": server.kafka_connections(ENV["KAFKA_BOOTSTRAP"])})
        rate = k / load_secs
        log(f"at {rate:.1f} changes/s: {busy}")
        writer.close()
        writer = None

        def exact():
            bad = 0
            for i, pid in enumerate(ids):
                p = server.call("GET", f"/api/v1/projects/{pid}/progress")
                if (p.get("acked_messages") or 0) != sent[i]:
                    bad += 1
            return bad

        try:
            wait_until("every change acknowledged", 120, lambda: exact() == 0, 2)
            inexact = 0
        except TimeoutError:
            inexact = exact()
        final_states = states(server)
        result = {
            "date": f"{stamp:%Y-%m-%d %H:%M}Z", "projects": n,
            "max_connections": args.max_connections, "precheck_failed": precheck_failed,
            "created_s": round(created, 1), "all_streaming_s": round(all_streaming, 1),
            "states": final_states, "inexact": inexact,
            "empty": {"rss_mib": round(rss_empty, 1), "threads": threads_empty},
            "idle": idle, "busy": busy, "rate": round(rate, 1),
            "loadavg": os.getloadavg()[0], "binary": args.binary,
        }
        report(result)
        return 0 if inexact == 0 and final_states.get("running", 0) == n else 1
    finally:
        if writer:
            writer.close()
        if server:
            server.stop()
        db.stop()
        if not args.keep:
            delete_topics(prefix)
            shutil.rmtree(base, ignore_errors=True)


def report(r):
    rows = [("empty server", r["empty"]), ("idle", r["idle"]),
            (f"{r['rate']} changes/s", r["busy"])]
    lines = [
        f"# {r['projects']} projects in one server ({r['date']})", "",
        f"Binary {r['binary']}; private MariaDB with max_connections "
        f"{r['max_connections']}; shared Kafka. Load average at the end: {r['loadavg']:.1f}.",
        "",
        f"- created, prechecked and started in {r['created_s']} s; every project streaming "
        f"after {r['all_streaming_s']} s",
        f"- states at the end: {r['states']}; precheck failures: {r['precheck_failed']}; "
        f"projects whose acknowledged count differs from their table: {r['inexact']}", "",
        "| window | RSS MiB | threads | CPU % of one core | binlog dumps | other source conns | Kafka conns |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in rows:
        lines.append(f"| {name} | {m['rss_mib']} | {m['threads']} | {m.get('cpu_pct', '–')} | "
                     f"{m.get('dumps', '–')} | {m.get('other_source', '–')} | "
                     f"{m.get('kafka', '–')} |")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"many-projects-{r['date'][:10]}-{r['projects']}.md"
    out.write_text(text)
    log(f"written to {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("projects", type=int, nargs="?", default=200)
    ap.add_argument("--binary", default=ENV.get("OBSYNC_BIN", str(ROOT / "target/release/obsync")))
    ap.add_argument("--max-connections", type=int, default=500,
                    help="of the private MariaDB (the issue's before: 500)")
    ap.add_argument("--rate", type=float, default=50, help="row changes per second under load")
    ap.add_argument("--window", type=float, default=60, help="seconds of each measurement")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds to wait for every project to stream")
    ap.add_argument("--keep", action="store_true", help="keep the data directory and topics")
    sys.exit(run(ap.parse_args()))


if __name__ == "__main__":
    main()
