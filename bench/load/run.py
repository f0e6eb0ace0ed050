#!/usr/bin/env python3
"""Load: requests per second and latency of ferry's hot read paths under
64 concurrent keep-alive connections, at 1,000 services x 5 environments,
200 releases per service and 1,000,000 deployments, against a bare axum
server on the same machine (the ceiling).

The data: `ferry serve` on a fresh data dir (SQLite; with --postgres, a
fresh PostgreSQL database made for the run with psql and dropped after it)
runs the migrations and makes the admin; `ferry apply` of a generated
ferry.toml creates the 5 environments (dev, test, staging, perf, prod; tiers
development, testing, staging, staging, production), one lifecycle through
them in that order, and --services services (svc-0000, svc-0001, ...);
`ferry user password admin` gives admin a web password. The server is
stopped (SIGTERM) and the history is written with SQL, set-based, in one
transaction (SQLite: Python's sqlite3 on <data-dir>/ferry.db, a recursive
CTE; PostgreSQL: psql, generate_series):
  * --releases releases per service, versions 1.0.0, 1.0.1, ... (state
    active, each naming the previous version), release k of every service
    made just before the k-th R-th of the history;
  * --deployments deployments over 365 days, one every 365 d / D, ids
    increasing with time: deployment i is of service i mod S, environment
    (i div S) mod 5, of the release k = i * R div D of that service, so each
    release goes out to dev, test, staging, perf and prod of every service
    in turn; 96.7% succeeded, 2% failed, 0.8% rolled_back, 0.5% cancelled
    (by a hash of i, not a pattern that a service would always hit).
  The trigger of migration 0026 that keeps `deployment_heads` (what the
  status matrix reads) stays enabled and maintains the heads row by row, as
  it does for the server. PostgreSQL gets `VACUUM ANALYZE` afterwards (what
  autovacuum does to a live database soon enough); SQLite gets nothing, as
  ferry never runs ANALYZE itself. The seeding time is reported (whole, and
  the SQL alone).

The run: `ferry serve` on the seeded data, and the ceiling
(crates/ferry-server/examples/ceiling.rs: axum 0.8 on a multi-thread tokio
runtime, `GET /` answering "hello"), both on 127.0.0.1. It signs in to the
web UI as admin through /login (GET the form for its CSRF cookie and token,
POST it), then, for each endpoint, checks that a few requests answer 200,
warms up with wrk for --warmup seconds, and times
`wrk -t1 -c64 -d<duration>s --latency --timeout 30s` (with the bearer token
or the session cookie) against:
  * ceiling `GET /`;
  * `GET /healthz`;
  * `GET /api/v1/status` (the status matrix of every service), as JSON,
    gzipped (`Accept-Encoding: gzip`, as browsers send), and unchanged
    (`If-None-Match` with the ETag it answered: `304`, as a dashboard that
    polls gets while nothing changes);
  * `GET /api/v1/services/<svc>/releases/<version>` (one release);
  * `GET /api/v1/services/<svc>/releases/<version>/check?environment=prod`
    (every gate of a promotion to prod);
  * `GET /deployments/<id>` (a deployment's page of the web UI: the newest
    successful one of <svc> in prod);
  <svc> is the middle service, <version> its newest release.
From wrk: requests/s, p50 and p99 (its --latency distribution), non-2xx
(wrk counts only >= 400 as errors, so for ferry's endpoints the answers by
status are also read from the server's /metrics before and after each run:
any status outside 2xx counts, 3xx included, but for the `304` row, where
any status but 304 counts), socket errors and bytes per
answer. A run with a non-2xx answer or a socket error measured errors, not
the endpoint: the script says so and exits 1. The ferry server's RSS
(VmRSS) is sampled every 0.2 s during the wrk runs; its peak is reported.

wrk and the servers share the machine's cores: read the ceiling column as
"what this machine does with wrk on it", not as an absolute.

Usage: cargo build --release -p ferry && cargo build --release -p ferry-server --example ceiling
       bench/load/run.py [--services 1000] [--releases 200] [--deployments 1000000] [--duration 10]
           [--warmup 1] [--postgres [URL]] [--binary target/release/ferry]
           [--ceiling target/release/examples/ceiling] [--data-dir DIR] [--keep] [--json FILE]
--data-dir DIR keeps the seeded data there (and, with --postgres, the
database, named in DIR/load-seed.json); a later run with the same DIR and the
same sizes and backend reuses it instead of seeding again.
Example (small, debug build): bench/load/run.py --services 20 --releases 5 --deployments 5000
    --duration 2 --binary target/debug/ferry --ceiling target/debug/examples/ceiling
"""
import argparse
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ENVIRONMENTS = [("dev", "development"), ("test", "testing"), ("staging", "staging"),
                ("perf", "staging"), ("prod", "production")]
ADMIN_PASSWORD = "a long and correct load bench password"
SEED_MARKER = "load-seed.json"
SPAN_US = 365 * 24 * 3_600_000_000  # the history: a year
CONNECTIONS = 64


def log(message):
    print(message, file=sys.stderr, flush=True)


def service_name(index):
    return f"svc-{index:04d}"


def version_of(k):
    return f"1.0.{k}"


# ---------------------------------------------------------------- processes

class Processes:
    """Every process this script starts, stopped on the way out whatever happens."""

    def __init__(self):
        self.items = []

    def start(self, args, **kwargs):
        process = subprocess.Popen(args, **kwargs)
        self.items.append(process)
        return process

    def stop(self, process, timeout=30):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.items:
            self.items.remove(process)

    def stop_all(self):
        for process in list(self.items):
            self.stop(process, timeout=10)


def vm_rss(pid):
    """VmRSS of a process in KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples a process's VmRSS every `interval` seconds while running."""

    def __init__(self, pid, interval=0.2):
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self.stop_event = threading.Event()
        self.thread = None

    def __enter__(self):
        self.stop_event.clear()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self):
        while True:
            self.peak = max(self.peak, vm_rss(self.pid))
            self.samples += 1
            if self.stop_event.wait(self.interval):
                break

    def __exit__(self, *_):
        self.stop_event.set()
        self.thread.join()
        self.peak = max(self.peak, vm_rss(self.pid))


def clean_env(**extra):
    """The environment without FERRY_* (a profile or token of the caller's
    must not leak in), with `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FERRY_")}
    env.update(NO_COLOR="1", **extra)
    return env


def start_listener(processes, command, log_path, what, env=None):
    """Starts a server that prints `listening on http://ADDR`; answers (process, port)."""
    log_file = open(log_path, "ab")
    process = processes.start(command, stdout=subprocess.PIPE, stderr=log_file, text=True, env=env)
    log_file.close()
    port = None
    for line in process.stdout:
        if line.startswith("listening on http://"):
            port = int(line.strip().rsplit(":", 1)[1])
            break
    if port is None:
        processes.stop(process)
        raise SystemExit(f"{what} did not say where it listens; see {log_path}")
    # Keep reading its stdout so that it never blocks on a full pipe.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, port


class Ferry:
    """`ferry serve` on a data dir (and maybe a PostgreSQL database)."""

    def __init__(self, processes, args, data_dir, database_url):
        self.processes = processes
        self.binary = args.binary
        self.data_dir = data_dir
        command = [args.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir]
        if database_url:
            command += ["--database", database_url]
        self.process, self.port = start_listener(
            processes, command, os.path.join(data_dir, "server.log"), "ferry serve",
            env=clean_env(RUST_LOG=args.log_level))
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = request(self.port, "GET", "/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"ferry serve is not ready after 60 s; see {data_dir}/server.log")
            time.sleep(0.05)
        self.token = open(os.path.join(data_dir, "bootstrap-token")).read().strip()

    def cli(self, command, stdin=""):
        """Runs the ferry CLI against this server; answers its stdout."""
        env = clean_env(FERRY_SERVER=self.url, FERRY_TOKEN=self.token,
                        XDG_CONFIG_HOME=os.path.join(self.data_dir, ".bench-config"))
        run = subprocess.run([self.binary] + command, input=stdin, text=True, capture_output=True,
                             env=env, cwd=self.data_dir)
        if run.returncode != 0:
            raise SystemExit(f"ferry {' '.join(command)}: exit {run.returncode}\n{run.stdout}\n{run.stderr}")
        return run.stdout

    def stop(self):
        self.processes.stop(self.process)


def request(port, method, path, headers=None, body=None):
    """One request on a fresh connection; answers (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return response.status, response.getheaders(), payload
    finally:
        connection.close()


def sign_in(port):
    """Signs in as admin through the form; answers the session cookie `name=value`."""
    status, headers, page = request(port, "GET", "/login")
    if status != 200:
        raise SystemExit(f"GET /login: {status}")
    form_cookie = next((value.split(";", 1)[0] for name, value in headers
                        if name.lower() == "set-cookie" and value.startswith("ferry_sign_in=")), None)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode())
    if form_cookie is None or csrf is None:
        raise SystemExit("GET /login: no sign-in cookie or no CSRF token in the form")
    body = urllib.parse.urlencode({"username": "admin", "password": ADMIN_PASSWORD,
                                   "csrf": csrf.group(1), "next": "/"})
    status, headers, _ = request(port, "POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": form_cookie})
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("ferry_session="):
            return value.split(";", 1)[0]
    raise SystemExit(f"signing in as admin failed: POST /login answered {status}")


# ---------------------------------------------------------------- seeding

def config_toml(services):
    parts = []
    for name, tier in ENVIRONMENTS:
        parts.append(f'[[environment]]\nname = "{name}"\ntier = "{tier}"\n\n')
    phases = ", ".join(f'["{name}"]' for name, _ in ENVIRONMENTS)
    parts.append(f"[lifecycle.default]\nphases = [{phases}]\n\n")
    for index in range(services):
        parts.append(f'[[service]]\nname = "{service_name(index)}"\n'
                     f'repo = "https://git.example.com/load/{service_name(index)}.git"\n\n')
    return "".join(parts)


def seed_plan(args):
    """The numbers the SQL is made of."""
    now_us = time.time_ns() // 1000
    start_us = now_us - SPAN_US - 24 * 3_600_000_000  # ends a day ago: every updated_at is past
    return {
        "S": args.services, "R": args.releases, "D": args.deployments, "E": len(ENVIRONMENTS),
        "T0": start_us, "STEP": max(1, SPAN_US // args.deployments),
        "LEAD": 600_000_000,  # a release is made 10 minutes before its first deployment
    }


# Shared by both backends: `{ts(x)}` is replaced by each backend's way of
# writing x (microseconds since the epoch) in ferry's format.
STATUS_SQL = """CASE
    WHEN ((i * 2654435761) % 4294967296) * 1000 / 4294967296 < 20 THEN 'failed'
    WHEN ((i * 2654435761) % 4294967296) * 1000 / 4294967296 < 28 THEN 'rolled_back'
    WHEN ((i * 2654435761) % 4294967296) * 1000 / 4294967296 < 33 THEN 'cancelled'
    ELSE 'succeeded' END"""


def releases_select(p, ts, series):
    # The first deployment of release k is ceil(k * D / R).
    first = f"(k * {p['D']} + {p['R']} - 1) / {p['R']}"
    return f"""
SELECT rbase + k * {p['S']} + s.idx + 1, s.id, '1.0.' || k, 'active', '', 'seed',
       {ts(f"{p['T0']} + {first} * {p['STEP']} - {p['LEAD']}")},
       CASE WHEN k > 0 THEN '1.0.' || (k - 1) END
FROM {series} CROSS JOIN seed_services s, seed_base
ORDER BY k, s.idx"""


def deployments_select(p, ts, series):
    t = f"({p['T0']} + i * {p['STEP']})"
    return f"""
SELECT dbase + i + 1, rbase + (i * {p['R']} / {p['D']}) * {p['S']} + s.idx + 1, e.id, s.id,
       {STATUS_SQL}, 'seed', {ts(t)}, {ts(f"{t} + 30000000 + (i % 90) * 1000000")}
FROM {series}
JOIN seed_services s ON s.idx = i % {p['S']}
JOIN seed_environments e ON e.idx = (i / {p['S']}) % {p['E']}
CROSS JOIN seed_base
ORDER BY i"""


RELEASE_COLUMNS = "(id, service_id, version, state, notes, created_by, created_at, previous_version)"
DEPLOYMENT_COLUMNS = "(id, release_id, environment_id, service_id, status, created_by, created_at, updated_at)"


def environments_values():
    return ", ".join(f"({index}, '{name}')" for index, (name, _) in enumerate(ENVIRONMENTS))


def seed_sqlite(db_path, p):
    def ts(x):
        return (f"(strftime('%Y-%m-%dT%H:%M:%S', ({x}) / 1000000, 'unixepoch')"
                f" || printf('.%06dZ', ({x}) % 1000000))")

    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -262144")
        db.execute("PRAGMA temp_store = MEMORY")
        db.execute("BEGIN IMMEDIATE")
        # Keyed by idx: each deployment finds its service and environment by one lookup.
        db.execute("CREATE TEMP TABLE seed_services (idx INTEGER PRIMARY KEY, id INTEGER NOT NULL)")
        db.execute("INSERT INTO seed_services SELECT ROW_NUMBER() OVER (ORDER BY name) - 1, id FROM services")
        db.execute("CREATE TEMP TABLE seed_environments (idx INTEGER PRIMARY KEY, id INTEGER NOT NULL)")
        db.execute("INSERT INTO seed_environments SELECT v.column1, e.id "
                   f"FROM (VALUES {environments_values()}) v JOIN environments e ON e.name = v.column2")
        db.execute("CREATE TEMP TABLE seed_base AS SELECT "
                   "(SELECT COALESCE(MAX(id), 0) FROM releases) AS rbase, "
                   "(SELECT COALESCE(MAX(id), 0) FROM deployments) AS dbase")
        check_mapping(db.execute("SELECT COUNT(*) FROM seed_services").fetchone()[0],
                      db.execute("SELECT COUNT(*) FROM seed_environments").fetchone()[0], p)
        releases = f"(WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < {p['R'] - 1}) SELECT k FROM n) r"
        db.execute(f"INSERT INTO releases {RELEASE_COLUMNS}" + releases_select(p, ts, releases))
        deployments = f"(WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {p['D'] - 1}) SELECT i FROM n) d"
        db.execute(f"INSERT INTO deployments {DEPLOYMENT_COLUMNS}" + deployments_select(p, ts, deployments))
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def seed_postgres(url, p):
    def ts(x):
        return (f"to_char(timestamp '1970-01-01 00:00:00' + ({x}) * interval '1 microsecond', "
                f"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")

    script = f"""
CREATE TEMP TABLE seed_services AS
    SELECT ROW_NUMBER() OVER (ORDER BY name) - 1 AS idx, id FROM services;
CREATE TEMP TABLE seed_environments AS
    SELECT v.idx, e.id FROM (VALUES {environments_values()}) v (idx, name) JOIN environments e ON e.name = v.name;
CREATE TEMP TABLE seed_base AS SELECT
    (SELECT COALESCE(MAX(id), 0) FROM releases) AS rbase,
    (SELECT COALESCE(MAX(id), 0) FROM deployments) AS dbase;
DO $$ BEGIN
    IF (SELECT COUNT(*) FROM seed_services) <> {p['S']} OR (SELECT COUNT(*) FROM seed_environments) <> {p['E']} THEN
        RAISE EXCEPTION 'the applied configuration does not have the services and environments expected';
    END IF;
END $$;
INSERT INTO releases {RELEASE_COLUMNS}{releases_select(p, ts, f"generate_series(0, {p['R'] - 1}::bigint) AS r (k)")};
INSERT INTO deployments {DEPLOYMENT_COLUMNS}{deployments_select(p, ts, f"generate_series(0, {p['D'] - 1}::bigint) AS d (i)")};
SELECT setval(pg_get_serial_sequence('releases', 'id'), (SELECT MAX(id) FROM releases));
SELECT setval(pg_get_serial_sequence('deployments', 'id'), (SELECT MAX(id) FROM deployments));
"""
    subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-"],
                   input=script, text=True, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "VACUUM ANALYZE"], check=True)


def check_mapping(services, environments, p):
    if services != p["S"] or environments != p["E"]:
        raise SystemExit(f"the database has {services} services and {environments} of the environments; "
                         f"expected {p['S']} and {p['E']}")


def count_rows(data_dir, database_url):
    query = ("SELECT (SELECT COUNT(*) FROM services), (SELECT COUNT(*) FROM releases), "
             "(SELECT COUNT(*) FROM deployments), (SELECT COUNT(*) FROM deployment_heads)")
    return [int(v) for v in sql_row(data_dir, database_url, query)]


def sql_row(data_dir, database_url, query):
    """One row of a query, as strings, on either backend (the server may run)."""
    if database_url:
        out = subprocess.run(["psql", database_url, "-X", "-At", "-F", "\t", "-c", query],
                             capture_output=True, text=True, check=True).stdout.strip()
        return out.split("\t") if out else None
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'ferry.db')}?mode=ro", uri=True)
    try:
        row = db.execute(query).fetchone()
        return None if row is None else [str(v) for v in row]
    finally:
        db.close()


def seed(processes, args, data_dir, database_url):
    """Seeds the data; answers (whole seconds, SQL seconds)."""
    began = time.perf_counter()
    log(f"seeding: {args.services} services x {len(ENVIRONMENTS)} environments, {args.releases} releases "
        f"each, {args.deployments} deployments")
    server = Ferry(processes, args, data_dir, database_url)
    config = os.path.join(data_dir, "ferry.toml")
    with open(config, "w") as file:
        file.write(config_toml(args.services))
    server.cli(["apply", "--file", config])
    server.cli(["user", "password", "admin"], stdin=f"{ADMIN_PASSWORD}\n")
    server.stop()
    log(f"seeding: server set up in {time.perf_counter() - began:.1f} s; writing the history")
    sql_began = time.perf_counter()
    plan = seed_plan(args)
    if database_url:
        seed_postgres(database_url, plan)
    else:
        seed_sqlite(os.path.join(data_dir, "ferry.db"), plan)
    ended = time.perf_counter()
    log(f"seeding: history written in {ended - sql_began:.1f} s (whole seeding {ended - began:.1f} s)")
    return ended - began, ended - sql_began


# ---------------------------------------------------------------- wrk

UNITS_TIME = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
UNITS_SIZE = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def seconds(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(number) * UNITS_TIME[unit]


def size(text):
    number, unit = re.fullmatch(r"([\d.]+)(B|KB|MB|GB|TB)", text).groups()
    return float(number) * UNITS_SIZE[unit]


def parse_wrk(output):
    """requests/s, latency percentiles (s), requests, bytes read, errors from wrk's --latency output."""
    result = {"non_2xx": 0, "socket_errors": 0}
    result["requests_per_second"] = float(re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M).group(1))
    done = re.search(r"^\s*(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read", output, re.M)
    result["requests"] = int(done.group(1))
    result["seconds"] = seconds(done.group(2))
    result["bytes_read"] = size(done.group(3))
    result["transfer_per_second"] = size(re.search(r"^Transfer/sec:\s+([\d.]+\w+)", output, re.M).group(1))
    distribution = re.search(r"Latency Distribution\n((?:\s+\d+%\s+\S+\n)+)", output)
    result["latency"] = {f"p{int(q)}": seconds(t) for q, t in re.findall(r"(\d+)%\s+(\S+)", distribution.group(1))}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        result["non_2xx"] = int(non_2xx.group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if errors:
        result["socket_errors"] = sum(int(n) for n in errors.groups())
        result["socket_error_detail"] = errors.group(0)
    return result


def wrk(url, headers, duration):
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "--timeout", "30s"]
    for header in headers:
        command += ["-H", header]
    command.append(url)
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"wrk failed ({run.returncode}): {run.stdout}{run.stderr}")
    return run.stdout


def ferry_answers(port, token):
    """{(route, status): count} of the server's requests so far, from /metrics."""
    status, _, body = request(port, "GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
    if status != 200:
        raise SystemExit(f"GET /metrics: {status}")
    counts = {}
    # Label values hold braces (`/deployments/{id}`): read them as quoted strings.
    pattern = re.compile(r'^ferry_http_request_duration_seconds_count\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\}\s+(\d+)',
                         re.M)
    for labels, count in pattern.findall(body.decode()):
        fields = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        key = (fields.get("route"), fields.get("status"))
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def answers_during(before, after):
    """{route: {status: count}} of the answers between two /metrics reads,
    but those to /metrics itself: during a run, wrk is the only client."""
    routes = {}
    for (route, status), count in after.items():
        delta = count - before.get((route, status), 0)
        if delta and route != "/metrics":
            routes.setdefault(route, {})[status] = delta
    return routes


# ---------------------------------------------------------------- the run

def status_etag(port, token):
    """The ETag of the status matrix as it is now."""
    status, headers, _ = request(port, "GET", "/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    etag = next((value for name, value in headers if name.lower() == "etag"), None)
    if status != 200 or etag is None:
        raise SystemExit(f"GET /api/v1/status answered {status} without an ETag")
    return etag


def endpoints(ceiling_port, ferry_port, token, cookie, target):
    """(label, port, path, headers, metrics route or None, the status every answer must have)."""
    bearer = [f"Authorization: Bearer {token}"]
    service, version, deployment = target["service"], target["version"], target["deployment"]
    return [
        ("ceiling GET /", ceiling_port, "/", [], None, 200),
        ("GET /healthz", ferry_port, "/healthz", [], "/healthz", 200),
        ("GET /api/v1/status", ferry_port, "/api/v1/status", bearer, "/api/v1/status", 200),
        ("GET /api/v1/status (gzip)", ferry_port, "/api/v1/status", bearer + ["Accept-Encoding: gzip"],
         "/api/v1/status", 200),
        ("GET /api/v1/status (unchanged: If-None-Match)", ferry_port, "/api/v1/status",
         bearer + ["Accept-Encoding: gzip", f"If-None-Match: {status_etag(ferry_port, token)}"],
         "/api/v1/status", 304),
        (f"GET /api/v1/services/{{svc}}/releases/{{version}}", ferry_port,
         f"/api/v1/services/{service}/releases/{version}", bearer,
         "/api/v1/services/{service}/releases/{version}", 200),
        (f"GET /api/v1/services/{{svc}}/releases/{{version}}/check?environment=prod", ferry_port,
         f"/api/v1/services/{service}/releases/{version}/check?environment=prod", bearer,
         "/api/v1/services/{service}/releases/{version}/check", 200),
        ("GET /deployments/{id} (web)", ferry_port, f"/deployments/{deployment}", [f"Cookie: {cookie}"],
         "/deployments/{id}", 200),
    ]


def pick_target(args, data_dir, database_url):
    """The middle service, its newest release, its newest successful deployment to prod."""
    service = service_name(args.services // 2)
    version = version_of(args.releases - 1)
    row = sql_row(data_dir, database_url, f"""
        SELECT MAX(d.id) FROM deployments d
        JOIN services s ON s.id = d.service_id JOIN environments e ON e.id = d.environment_id
        WHERE s.name = '{service}' AND e.name = 'prod' AND d.status = 'succeeded'""")
    if not row or row[0] in (None, "", "None"):
        row = sql_row(data_dir, database_url, f"""
            SELECT MAX(d.id) FROM deployments d JOIN services s ON s.id = d.service_id
            WHERE s.name = '{service}'""")
    if not row or row[0] in (None, "", "None"):
        raise SystemExit(f"{service} has no deployment: seed more deployments")
    return {"service": service, "version": version, "deployment": int(row[0])}


def warm_up(label, port, path, headers, expect, count=5):
    """A few requests, each of which must answer `expect`; answers the last body's size."""
    header_map = dict(h.split(": ", 1) for h in headers)
    for _ in range(count):
        status, _, body = request(port, "GET", path, headers=header_map)
        if status != expect:
            raise SystemExit(f"{label}: GET {path} answered {status}, not {expect}: {body[:300]!r}")
    return len(body)


def run_benchmark(processes, args, data_dir, database_url):
    ferry = Ferry(processes, args, data_dir, database_url)
    ceiling, ceiling_port = start_listener(processes, [args.ceiling, "127.0.0.1:0"],
                                           os.path.join(data_dir, "ceiling.log"), "the ceiling")
    cookie = sign_in(ferry.port)
    target = pick_target(args, data_dir, database_url)
    log(f"target: {target['service']}@{target['version']}, deployment {target['deployment']}")
    idle_rss = vm_rss(ferry.process.pid)
    rows, samples = [], 0
    for label, port, path, headers, route, expect in endpoints(ceiling_port, ferry.port, ferry.token, cookie,
                                                               target):
        body_size = warm_up(label, port, path, headers, expect)
        url = f"http://127.0.0.1:{port}{path}"
        if args.warmup > 0:
            warm = parse_wrk(wrk(url, headers, args.warmup))
            if warm["non_2xx"] or warm["socket_errors"]:
                log(f"{label}: the wrk warm-up saw {warm['non_2xx']} non-2xx answers and "
                    f"{warm['socket_errors']} socket errors")
        before = ferry_answers(ferry.port, ferry.token) if route else None
        with RssSampler(ferry.process.pid) as sampler:
            output = wrk(url, headers, args.duration)
        samples += sampler.samples
        result = parse_wrk(output)
        result.update(label=label, path=path, body_bytes=body_size)
        if route:
            routes = answers_during(before, ferry_answers(ferry.port, ferry.token))
            result["server_answers"] = routes
            if set(routes) != {route}:
                log(f"{label}: the server answered routes {sorted(routes)} during the run, "
                    f"expected only {route}")
            seen = sum(n for statuses in routes.values() for n in statuses.values())
            if seen < result["requests"]:
                raise SystemExit(f"{label}: wrk counted {result['requests']} answers, the server's /metrics "
                                 f"only {seen}: cannot tell the statuses")
            server_non_2xx = sum(n for statuses in routes.values() for status, n in statuses.items()
                                 if status != str(expect) and not (expect == 200 and status.startswith("2")))
            result["non_2xx"] = max(result["non_2xx"], server_non_2xx)
        result["rss_peak_kib"] = sampler.peak
        rows.append(result)
        log(f"{label}: {result['requests_per_second']:.0f} requests/s, p50 {ms(result['latency']['p50'])}, "
            f"p99 {ms(result['latency']['p99'])}, non-2xx {result['non_2xx']}, "
            f"socket errors {result['socket_errors']}")
    rss_after = vm_rss(ferry.process.pid)
    processes.stop(ceiling)
    ferry.stop()
    return {"rows": rows, "target": target, "rss_idle_kib": idle_rss,
            "rss_peak_kib": max(row["rss_peak_kib"] for row in rows), "rss_after_kib": rss_after,
            "rss_samples": samples}


# ---------------------------------------------------------------- report

def ms(value):
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.2f} ms"
    return f"{value:.2f} s"


def git(*command):
    try:
        return subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def report(args, result, seeding, counts):
    rows = result["rows"]
    ceiling = rows[0]["requests_per_second"]
    backend = "PostgreSQL" if args.postgres else "SQLite"
    if args.postgres:
        version = subprocess.run(["psql", f"{args.postgres}/postgres", "-X", "-At", "-c", "SHOW server_version"],
                                 capture_output=True, text=True).stdout.strip()
        backend += f" {version}"
    print(f"| endpoint | requests/s | p50 | p99 | % of ceiling | non-2xx | socket errors | bytes/answer |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        share = 100 * row["requests_per_second"] / ceiling if ceiling else 0
        per_answer = row["bytes_read"] / row["requests"] if row["requests"] else 0
        print(f"| {row['label']} | {row['requests_per_second']:,.0f} | {ms(row['latency']['p50'])} "
              f"| {ms(row['latency']['p99'])} | {share:.1f}% | {row['non_2xx']} | {row['socket_errors']} "
              f"| {per_answer:,.0f} |")
    print()
    services, releases, deployments, heads = counts
    target = result["target"]
    print(f"- seed: {services:,} services x {len(ENVIRONMENTS)} environments, {releases:,} releases "
          f"({args.releases} per service), "
          f"{deployments:,} deployments ({heads:,} deployment heads); {{svc}} = {target['service']}, "
          f"{{version}} = {target['version']}, {{id}} = {target['deployment']}")
    if seeding.get("reused"):
        print(f"- seeding: reused from {args.data_dir} (it took {seeding['seconds']:.1f} s, "
              f"of which {seeding['sql_seconds']:.1f} s of SQL)")
    else:
        print(f"- seeding: {seeding['seconds']:.1f} s, of which {seeding['sql_seconds']:.1f} s writing the history "
              f"with SQL (deployment_heads trigger on)")
    print(f"- ferry RSS: {result['rss_idle_kib'] / 1024:.1f} MiB before the runs, peak {result['rss_peak_kib'] / 1024:.1f} "
          f"MiB during them (VmRSS every 0.2 s, {result['rss_samples']} samples), "
          f"{result['rss_after_kib'] / 1024:.1f} MiB after")
    print(f"- backend: {backend}; wrk -t1 -c{CONNECTIONS} -d{args.duration}s --latency "
          f"(warm-up {args.warmup} s each); {os.cpu_count()} cores")
    print(f"- binary: {args.binary}; ceiling: {args.ceiling}")
    print(f"- commit: {result['commit']}")
    print(f"- command: {result['command']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "ferry"))
    parser.add_argument("--ceiling", default=os.path.join(ROOT, "target", "release", "examples", "ceiling"),
                        help="the ceiling server (cargo build --release -p ferry-server --example ceiling)")
    parser.add_argument("--postgres", nargs="?", const="postgres://postgres@127.0.0.1:5432", metavar="URL",
                        help="run the server on a fresh database of this PostgreSQL server, made with psql and "
                             "dropped after the run (default URL: %(const)s); without it: SQLite")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--releases", type=int, default=200, help="per service")
    parser.add_argument("--deployments", type=int, default=1_000_000, help="in all")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per endpoint")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of wrk per endpoint before timing it")
    parser.add_argument("--data-dir", help="keep the seeded data here; reuse it when it holds this seed")
    parser.add_argument("--log-level", default="warn", help="RUST_LOG of the server (its log is server.log)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (and the PostgreSQL database)")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE")
    args = parser.parse_args()
    if args.services < 1 or args.releases < 1 or args.deployments < 1 or args.duration < 1:
        sys.exit("--services, --releases, --deployments and --duration must be at least 1")
    for path, build in [(args.binary, "cargo build --release -p ferry"),
                        (args.ceiling, "cargo build --release -p ferry-server --example ceiling")]:
        if not os.path.exists(path):
            sys.exit(f"{path} not found: run `{build}` first")
    for tool in ["wrk"] + (["psql"] if args.postgres else []):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found (apt-get install {'wrk' if tool == 'wrk' else 'postgresql-client'})")
    args.binary = os.path.abspath(args.binary)
    args.ceiling = os.path.abspath(args.ceiling)
    if args.postgres:
        args.postgres = args.postgres.rstrip("/")
    # SIGTERM cleans up like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    sizes = {"services": args.services, "releases": args.releases, "deployments": args.deployments,
             "backend": "postgres" if args.postgres else "sqlite"}
    persistent = args.data_dir is not None
    seeding, database, database_url, created_database = None, None, None, False
    if persistent:
        data_dir = os.path.abspath(args.data_dir)
        marker_path = os.path.join(data_dir, SEED_MARKER)
        if os.path.exists(marker_path):
            marker = json.load(open(marker_path))
            if {key: marker.get(key) for key in sizes} != sizes:
                sys.exit(f"{data_dir} holds another seed ({ {key: marker.get(key) for key in sizes} }); "
                         f"give another --data-dir")
            if args.postgres and marker.get("server") != args.postgres:
                sys.exit(f"{data_dir} was seeded on {marker.get('server')}, not {args.postgres}")
            database = marker.get("database")
            seeding = {"reused": True, "seconds": marker["seconds"], "sql_seconds": marker["sql_seconds"]}
        elif os.path.isdir(data_dir) and os.listdir(data_dir):
            sys.exit(f"{data_dir} is not empty and holds no {SEED_MARKER}: give an empty or new directory")
        os.makedirs(data_dir, exist_ok=True)
    else:
        data_dir = tempfile.mkdtemp(prefix="ferry-bench-load-")
    if args.postgres:
        if database is None:
            database = f"ferry_bench_load_{os.getpid()}"
            subprocess.run(["psql", f"{args.postgres}/postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-c", f"CREATE DATABASE {database}"], check=True)
            created_database = True
        database_url = f"{args.postgres}/{database}"

    processes = Processes()
    failed, seeded = True, seeding is not None
    try:
        if seeding is None:
            whole, sql_seconds = seed(processes, args, data_dir, database_url)
            seeding = {"reused": False, "seconds": whole, "sql_seconds": sql_seconds}
            seeded = True
            if persistent:
                with open(os.path.join(data_dir, SEED_MARKER), "w") as marker:
                    json.dump({**sizes, "server": args.postgres, "database": database,
                               "seconds": whole, "sql_seconds": sql_seconds}, marker)
        counts = count_rows(data_dir, database_url)
        result = run_benchmark(processes, args, data_dir, database_url)
        dirty = git("status", "--porcelain", "--untracked-files=no")
        result["commit"] = git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else "")
        result["command"] = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
        report(args, result, seeding, counts)
        if args.json:
            with open(args.json, "w") as out:
                json.dump({"sizes": sizes, "counts": dict(zip(["services", "releases", "deployments",
                                                               "deployment_heads"], counts)),
                           "seeding": seeding, "duration": args.duration, "connections": CONNECTIONS,
                           "cores": os.cpu_count(), "binary": args.binary, "ceiling": args.ceiling, **result},
                          out, indent=2)
        bad = [row["label"] for row in result["rows"] if row["non_2xx"] or row["socket_errors"]]
        if bad:
            log(f"these runs had non-2xx answers or socket errors, their numbers are not the endpoint's: "
                f"{', '.join(bad)}")
        else:
            failed = False
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        processes.stop_all()
        keep = args.keep or persistent
        # A database made for a seed that did not finish is dropped even from a --data-dir.
        if args.postgres and created_database and (not keep or not seeded):
            subprocess.run(["psql", f"{args.postgres}/postgres", "-X", "-q", "-c",
                            f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"])
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            log(f"data kept in {data_dir}" + (f", database {database_url}" if database_url else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
