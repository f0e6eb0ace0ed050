#!/usr/bin/env python3
"""Web UI speed: server render time of every page, first contentful paint of
the dashboard in Chromium, and how fast a deployment's change reaches an open
dashboard, at 1,000 services x 5 environments with 200 releases per service.

The data (made once, kept in --data-dir, reused by later runs):
  * `ferry serve` on a fresh data dir, then through the API and the CLI what
    an organisation sets up: `ferry apply` of a generated ferry.toml (5
    environments dev, qa, staging, canary, prod in one lifecycle, weekday
    deployment windows on canary and prod, a freeze coming up, 1,000
    services named TEAM-COMPONENT), a `ci` user with the deployer role, 40
    people in 40 team groups, each group a developer of its 25 services
    (1,000 grants), approvers of prod, 20 agent tokens, API tokens, and a web
    password for `admin`;
  * then, with the server stopped, in one SQLite transaction, 300 days of
    history as the server itself writes it when CI creates releases and
    reports deployments: 200 releases per service (1 to 5 commits each as
    release notes, the commit, the previous version, its authors, an OCI image
    reference), each deployed to dev, every 2nd to qa, every 4th to staging,
    every 8th to canary and prod inside their windows (a service in twenty
    stops at staging), each deployment queued by a promotion, then reported
    running and succeeded (2.4% failed), with its CI link; and the audit
    trail of all of it (release.create, deployment.create and two
    deployment.status events each), hash-chained like the server's own. The
    setup done through the API is moved back in time to before the history
    (its times shifted, the audit chain hashed again), so that the audit
    trail's order is the order of time;
  * then, through the API again: 300 change requests in every state, and
    deployments under way (queued and running) for 12 services.
  The row and event formats are checked first against what a throwaway
  server writes for the same release and deployment (--skip-calibration to
  skip it), and after seeding the server must verify the audit chain and
  show 1,000 services with a version in the cells.

Each run copies the seeded data dir to a scratch dir (so every run starts
from the same data), starts `ferry serve` on it, checks the data, signs in
through /login, and then:
  1. server render: over one keep-alive connection on loopback with the
     session cookie, after --warmup requests, --requests timed GETs of each
     page (from sending the request to the last byte; the time to the first
     byte too); p50/p90/p99 per page;
  2. where the time goes (unless --skip-sql): the server restarted with
     RUST_LOG=sqlx::query=debug and a JSON log, each page requested a few
     times alone, its statements read back from the log: how many, the sum
     of their times, and the slowest;
  3. in Chromium (bench/ui/browser.mjs, playwright-core from
     ui-tests/node_modules, /usr/bin/chromium): the dashboard loaded --fcp-runs
     times, each in a fresh browser context (cold cache), its
     `first-contentful-paint`; then the dashboard left open while the API
     promotes a new release of a service to dev (the cell shows it queued),
     reports it running, then succeeded, --live-rounds times over different
     services: the time from sending each API call to the moment the cell in
     the page's DOM shows the new state (a MutationObserver in the page).

Usage: CARGO_TARGET_DIR=/work/bench-target cargo build --release -p ferry
       bench/ui/run.py --ferry /work/bench-target/release/ferry [--quiet-wait 1800]
           [--data-dir DIR] [--reseed] [--requests 100] [--warmup 10] [--page-seconds 60]
           [--fcp-runs 5] [--live-rounds 5] [--only LABEL] [--skip-sql] [--skip-browser]
           [--skip-background] [--keep] [--json FILE] [--commit SHA]
The first run seeds the data (about 70 s, 850 MB in --data-dir); later runs reuse it.
The report (Markdown) goes to stdout, progress to stderr.
"""
import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Bumped whenever the generated data changes: a data dir seeded by another
# version is seeded again.
SEED_FORMAT = 1

ENVIRONMENTS = [  # (name, tier, description)
    ("dev", "development", "Integration, deployed on every merge"),
    ("qa", "testing", "Test and QA"),
    ("staging", "staging", "Production-like, for release candidates"),
    ("canary", "production", "A slice of production traffic"),
    ("prod", "production", "Serves the users"),
]
# Release k of a service goes to environment j when k % EVERY[j] == 0.
EVERY = [1, 2, 4, 8, 8]
WINDOWED = {"canary", "prod"}  # weekdays 06:00-18:00 UTC

TEAMS = ["billing", "checkout", "search", "catalog", "identity", "payments", "shipping", "inventory",
         "pricing", "reviews", "accounts", "ads", "analytics", "auth", "cart", "content", "delivery",
         "email", "fraud", "gateway", "growth", "help", "imaging", "ledger", "loyalty", "maps",
         "media", "messaging", "mobile", "notify", "orders", "partners", "profile", "promo",
         "ranking", "returns", "risk", "sellers", "tax", "wallet"]
COMPONENTS = ["api", "web", "worker", "gateway", "scheduler", "indexer", "cache", "admin", "events",
              "export", "import", "jobs", "monitor", "proxy", "queue", "reports", "router", "sync",
              "store", "stream", "batch", "cron", "feed", "hooks", "ui"]
PEOPLE = ["ada", "alan", "barbara", "brian", "claude", "dennis", "donald", "edsger", "frances",
          "grace", "guido", "hedy", "ivan", "james", "jean", "john", "ken", "larry", "leslie",
          "linus", "margaret", "mary", "niklaus", "radia", "rasmus", "richard", "rob", "robin",
          "sophie", "steve", "tim", "tony", "ward", "whitfield", "yukihiro", "bjarne", "anders",
          "carol", "lynn", "katherine"]
KINDS = ["feat", "fix", "fix", "chore", "refactor", "perf", "docs", None]
VERBS = ["add", "handle", "speed up", "retry", "log", "validate", "cache", "drop", "rename", "paginate"]
THINGS = ["the order totals", "empty carts", "expired sessions", "the export job", "slow queries",
          "the health check", "retries on 503", "duplicate events", "time zones", "large uploads",
          "the settings page", "unicode names", "the rate limiter", "stale caches", "the search box"]

ADMIN_PASSWORD = "a long and correct bench password, 42"
HOUR = 3_600_000_000  # microseconds
MINUTE = 60_000_000
DAY = 24 * HOUR


def log(message):
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ server

class Server:
    """`ferry serve` on a data dir, its log in a file."""

    def __init__(self, binary, data_dir, log_path, rust_log="warn", json_log=False):
        data_dir = os.path.abspath(data_dir)
        self.data_dir = data_dir
        self.log_path = log_path
        self.log_file = open(log_path, "ab")
        args = [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir]
        if json_log:
            args += ["--log-format", "json"]
        env = {key: value for key, value in os.environ.items() if not key.startswith("FERRY_")}
        env.update(RUST_LOG=rust_log, NO_COLOR="1")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log_file, text=True,
                                        env=env, cwd=data_dir)
        self.port = None
        for line in self.process.stdout:
            if line.startswith("listening on http://"):
                self.port = int(line.strip().rsplit(":", 1)[1])
                break
        if self.port is None:
            self.stop()
            raise SystemExit(f"ferry serve did not start; see {log_path}")
        # Keep reading stdout (the bootstrap token line) so it never blocks.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = open(os.path.join(data_dir, "bootstrap-token")).read().strip()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()

    def ferry(self, args, stdin=None, token=None):
        """Runs the CLI against this server; answers its stdout."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("FERRY_")}
        env.update(FERRY_SERVER=self.url, FERRY_TOKEN=token or self.token, NO_COLOR="1",
                   XDG_CONFIG_HOME=os.path.join(self.data_dir, ".bench-config"))
        run = subprocess.run([self.binary] + args, input=stdin or "", text=True, capture_output=True, env=env)
        if run.returncode != 0:
            raise SystemExit(f"ferry {' '.join(args)}: exit {run.returncode}\n{run.stdout}\n{run.stderr}")
        return run.stdout


def start_server(binary, data_dir, log_path, **kwargs):
    server = Server(binary, data_dir, log_path, **kwargs)
    server.binary = binary
    return server


class Http:
    """One keep-alive connection."""

    def __init__(self, port, token=None, cookie=None):
        self.port = port
        self.token = token
        self.cookie = cookie
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def raw(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.cookie:
            headers["Cookie"] = self.cookie
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        return response, payload

    def api(self, method, path, body=None, ok=(200, 201, 204), token=None):
        headers = {}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        saved = self.token
        if token:
            self.token = None
        try:
            response, payload = self.raw(method, path, data, headers)
        finally:
            self.token = saved
        if response.status not in ok:
            raise SystemExit(f"{method} {path}: {response.status} {payload[:500]!r}")
        return json.loads(payload) if payload else None


# ------------------------------------------------------------------ data

def service_names(count):
    names = [f"{team}-{component}" for team in TEAMS for component in COMPONENTS]
    while len(names) < count:
        names += [f"{name}{len(names) // (len(TEAMS) * len(COMPONENTS))}" for name in names[:count - len(names)]]
    return sorted(names[:count])


def team_of(service):
    return service.split("-", 1)[0]


def person(name):
    return f"{name.capitalize()} Example", f"{name}@example.com"


def config_toml(services, freeze_start):
    window = '[{ rrule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6", duration = "12h", timezone = "UTC" }]'
    parts = []
    for name, tier, description in ENVIRONMENTS:
        parts.append(f'[[environment]]\nname = "{name}"\ntier = "{tier}"\ndescription = "{description}"\n')
        if name in WINDOWED:
            parts.append(f"windows = {window}\n")
        parts.append("\n")
    end = freeze_start + dt.timedelta(days=7)
    parts.append(f'[[freeze]]\nname = "year-end"\nreason = "Year-end change freeze"\n'
                 f'start = "{freeze_start:%Y-%m-%dT00:00:00Z}"\nend = "{end:%Y-%m-%dT00:00:00Z}"\n'
                 f'environments = ["canary", "prod"]\n\n')
    phases = ", ".join(f'["{name}"]' for name, _, _ in ENVIRONMENTS)
    parts.append(f"[lifecycle.default]\nphases = [{phases}]\n\n")
    for service in services:
        team, component = service.split("-", 1)
        parts.append(f'[[service]]\nname = "{service}"\ndescription = "The {component} of {team}"\n'
                     f'repo = "https://git.example.com/{team}/{component}.git"\n\n')
    return "".join(parts)


def version_of(service_index, k):
    return f"{1 + service_index % 4}.{k // 10}.{k % 10}"


def stamp(us):
    """ferry's time format: RFC 3339 UTC with microseconds."""
    return (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_us(moment):
    return int(moment.replace(tzinfo=dt.timezone.utc).timestamp() * 1_000_000) if moment.tzinfo is None \
        else int(moment.timestamp() * 1_000_000)


def in_window(us):
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)
    return moment.weekday() < 5 and 6 <= moment.hour < 17


def next_window(us, rng):
    """`us` if a window is open then, else a moment in the next one."""
    if in_window(us):
        return us
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)
    day = moment.date() if moment.hour < 6 else moment.date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    opening = dt.datetime(day.year, day.month, day.day, 6)
    return to_us(opening) + rng.randrange(0, 6 * HOUR)


def canonical(value):
    """serde_json's text of a `json!` value: keys sorted, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash, seq, time_text, actor, action, object_, details):
    """ferry_core::audit::event_hash."""
    hasher = hashlib.sha256()
    for field in (prev_hash, str(seq), time_text, actor, action, object_, details):
        data = field.encode()
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


def release_content(rng, service, version, previous, created_us):
    """What CI sends for a release: commits newest first, the commit, authors, an image."""
    team, component = service.split("-", 1)
    commits = []
    people = []
    for i in range(rng.randint(1, 5)):
        author = rng.choice(PEOPLE)
        full, mail = person(author)
        people.append(f"{full} <{mail}>")
        kind = rng.choice(KINDS)
        subject = f"{rng.choice(VERBS)} {rng.choice(THINGS)}"
        body = None if rng.random() < 0.6 else f"{subject.capitalize()} in {component}, as asked in the review."
        footers = [] if rng.random() < 0.7 else [{"token": "Refs", "value": f"#{rng.randint(100, 9999)}"}]
        commits.append({
            "id": hashlib.sha1(f"{service}@{version}#{i}".encode()).hexdigest(),
            "type": kind,
            "scope": (component if rng.random() < 0.5 else None) if kind else None,
            "breaking": False,
            "subject": subject if kind else f"{subject.capitalize()}",
            "body": body,
            "footers": footers,
            "authors": [full],
            "time": stamp(created_us - (i + 1) * rng.randrange(10 * MINUTE, 6 * HOUR))[:19] + "Z",
        })
    digest = "sha256:" + hashlib.sha256(f"{service}@{version}".encode()).hexdigest()
    return {
        "notes": "",
        "commit": commits[0]["id"],
        "previous_version": previous,
        "commits": commits,
        "authors": sorted(set(people)),
        "artifacts": [{"name": "image", "digest": digest,
                       "uri": f"oci://registry.example.com/{team}/{component}@{digest}"}],
    }


def release_row_values(content):
    """(notes, commit_id, previous_version, commits, people) as the store writes them."""
    return (content["notes"], content["commit"], content["previous_version"],
            json.dumps(content["commits"], separators=(",", ":"), ensure_ascii=False),
            json.dumps(content["authors"], separators=(",", ":"), ensure_ascii=False))


def release_details(service, version, content):
    artifacts = [{"name": a["name"], "digest": a["digest"], "size": None, "uri": a["uri"]}
                 for a in content["artifacts"]]
    return canonical({"after": {"service": service, "version": version, "notes": content["notes"],
                                "commit": content["commit"], "previous_version": content["previous_version"],
                                "artifacts": artifacts}})


def deployment_details(service, version, environment):
    return canonical({"after": {"release": f"{service}@{version}", "environment": environment,
                                "status": "queued", "scheduled_at": None, "emergency_reason": None,
                                "train_run": None}})


def status_details(before, after):
    return canonical({"before": {"status": before}, "after": {"status": after}})


def ci_link(service, number):
    team, component = service.split("-", 1)
    return f"https://ci.example.com/{team}/{component}/-/pipelines/{number}"


# ------------------------------------------------------------ calibration

def calibrate(args, scratch):
    """Makes a release and a reported deployment through the API of a
    throwaway server and checks that the rows and audit events this script
    writes are the same (up to ids and times)."""
    data_dir = os.path.join(scratch, "calibration")
    os.makedirs(data_dir)
    server = start_server(args.ferry, data_dir, os.path.join(scratch, "calibration.log"))
    try:
        config = os.path.join(data_dir, "ferry.toml")
        with open(config, "w") as file:
            file.write(config_toml(["billing-api"], dt.date.today() + dt.timedelta(days=20)))
        server.ferry(["apply", "-f", config])
        api = Http(server.port, server.token)
        rng = random.Random(7)
        service, version, previous = "billing-api", "1.4.2", "1.4.1"
        content = release_content(rng, service, version, previous, to_us(dt.datetime.utcnow()))
        api.api("POST", f"/api/v1/services/{service}/releases", {
            "version": version, "notes": content["notes"], "commit": content["commit"],
            "previous_version": previous, "commits": content["commits"], "authors": content["authors"],
            "artifacts": content["artifacts"]})
        deployment = api.api("POST", "/api/v1/promotions",
                             {"service": service, "version": version, "environment": "dev"})
        url = ci_link(service, 4242)
        api.api("POST", f"/api/v1/deployments/{deployment['id']}/report", {"status": "running", "url": url})
        api.api("POST", f"/api/v1/deployments/{deployment['id']}/report", {"status": "succeeded", "url": url})
    finally:
        server.stop()
    db = sqlite3.connect(os.path.join(data_dir, "ferry.db"))
    problems = []

    def same(what, got, want):
        if got != want:
            problems.append(f"{what}: the server wrote {got!r}, this script writes {want!r}")

    row = db.execute("SELECT state, notes, created_by, commit_id, previous_version, commits, people "
                     "FROM releases").fetchone()
    same("release row", row, ("active",) + (content["notes"], "admin") + release_row_values(content)[1:])
    same("artifact row", db.execute("SELECT name, digest, size, uri FROM artifacts").fetchone(),
         ("image", content["artifacts"][0]["digest"], None, content["artifacts"][0]["uri"]))
    row = db.execute("SELECT status, created_by, scheduled_at, emergency_reason, url, plan, batch, "
                     "next_batch_at, rollback_of, reason, cancel_requested_by FROM deployments").fetchone()
    same("deployment row", row, ("succeeded", "admin", None, None, url, None, None, None, None, None, None))
    events = db.execute("SELECT seq, time, actor, action, object, details, prev_hash, hash FROM audit_events "
                        "WHERE action IN ('release.create', 'deployment.create', 'deployment.status') "
                        "ORDER BY seq").fetchall()
    same("audit actions", [e[3] for e in events],
         ["release.create", "deployment.create", "deployment.status", "deployment.status"])
    if len(events) == 4:
        same("release.create details", events[0][5], release_details(service, version, content))
        same("deployment.create details", events[1][5], deployment_details(service, version, "dev"))
        same("deployment.status details", events[2][5], status_details("queued", "running"))
        same("deployment.status details", events[3][5], status_details("running", "succeeded"))
        same("objects", [e[4] for e in events], [f"release:{service}@{version}"] + [f"deployment:{deployment['id']}"] * 3)
    for seq, time_text, actor, action, object_, details, prev_hash, hash_ in db.execute(
            "SELECT seq, time, actor, action, object, details, prev_hash, hash FROM audit_events"):
        same(f"hash of audit event {seq}", hash_, event_hash(prev_hash, seq, time_text, actor, action, object_, details))
    for table, column in [("releases", "created_at"), ("deployments", "updated_at"), ("audit_events", "time")]:
        value = db.execute(f"SELECT {column} FROM {table} LIMIT 1").fetchone()[0]
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", value):
            problems.append(f"{table}.{column} is {value!r}, not the format this script writes")
    db.close()
    if problems:
        raise SystemExit("calibration failed: the rows this script writes differ from the server's:\n  "
                         + "\n  ".join(problems))
    log("calibration: release, artifact, deployment rows and audit events match the server's")


# ------------------------------------------------------------------ seed

def setup_through_api(server, services):
    """What is made through the API and CLI before the history."""
    api = Http(server.port, server.token)
    config = os.path.join(server.data_dir, "ferry.toml")
    with open(config, "w") as file:
        file.write(config_toml(services, dt.date.today() + dt.timedelta(days=20)))
    server.ferry(["apply", "-f", config])
    os.remove(config)
    ci = api.api("POST", "/api/v1/users", {"name": "ci"})
    api.api("POST", "/api/v1/grants", {"user": "ci", "role": "deployer"})
    for name in PEOPLE:
        api.api("POST", "/api/v1/users", {"name": name, "email": person(name)[1]})
    for index, team in enumerate(TEAMS):
        api.api("POST", "/api/v1/groups", {"name": team})
        for member in {PEOPLE[index % len(PEOPLE)], PEOPLE[(index * 7 + 3) % len(PEOPLE)]}:
            api.api("PUT", f"/api/v1/groups/{team}/members/{member}")
    for service in services:
        api.api("POST", "/api/v1/grants", {"group": team_of(service), "role": "developer", "service": service})
    for name in PEOPLE[:8]:
        api.api("POST", "/api/v1/grants", {"user": name, "role": "approver", "environment": "prod"})
        api.api("POST", "/api/v1/grants", {"user": name, "role": "approver", "environment": "canary"})
    api.api("POST", "/api/v1/grants", {"user": PEOPLE[0], "role": "release-manager"})
    for environment, _, _ in ENVIRONMENTS:
        for i in range(4):
            api.api("POST", "/api/v1/agent-tokens",
                    {"environment": environment, "name": f"{environment}-{i + 1}", "tags": {"zone": f"z{i % 2}"}})
    for name in ["terraform", "backstage", "release-bot"]:
        api.api("POST", "/api/v1/tokens", {"name": name})
    server.ferry(["user", "password", "admin"], stdin=f"{ADMIN_PASSWORD}\n")
    return ci["token"]["secret"]


def history(services, releases, rng, start_us, end_us):
    """Releases and deployments over [start, end): lists of tuples, oldest first."""
    period = (end_us - start_us - 2 * DAY) // releases
    release_list = []      # (created_us, service_index, k)
    deployment_list = []   # (created_us, service_index, k, env_index, running_us, finished_us, status)
    for s, service in enumerate(services):
        reaches = len(ENVIRONMENTS) if s % 20 != 13 else 3
        offset = rng.randrange(0, period)
        for k in range(releases):
            created = start_us + offset + k * period + rng.randrange(-period // 5, period // 5)
            release_list.append((created, s, k))
            ready = created + rng.randrange(2 * MINUTE, 20 * MINUTE)
            for j in range(reaches):
                if k % EVERY[j]:
                    break
                name = ENVIRONMENTS[j][0]
                if j > 0:
                    ready += rng.randrange(*[(30 * MINUTE, 6 * HOUR), (1 * HOUR, 24 * HOUR),
                                             (1 * HOUR, 24 * HOUR), (2 * HOUR, 24 * HOUR)][j - 1])
                if name in WINDOWED:
                    ready = next_window(ready, rng)
                running = ready + rng.randrange(3_000_000, 60_000_000)
                finished = running + rng.randrange(30_000_000, 600_000_000)
                if finished >= end_us:
                    break
                # Failures only where the release would not have gone on anyway.
                last = j + 1 == reaches or k % EVERY[j + 1] != 0
                failed = last and rng.random() < (0.03 if name == "prod" else 0.05)
                deployment_list.append((ready, s, k, j, running, finished, "failed" if failed else "succeeded"))
                if failed:
                    break
                ready = finished
    release_list.sort()
    deployment_list.sort()
    return release_list, deployment_list


def bulk_insert(db_path, services, releases, rng, seed_started_us):
    """The history, straight into the database, in one transaction."""
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("BEGIN IMMEDIATE")
    end_us = seed_started_us - HOUR
    start_us = end_us - 300 * DAY
    # The setup made through the API moves to the day before the history.
    first = db.execute("SELECT MIN(time) FROM audit_events").fetchone()[0]
    shift_us = (start_us - DAY) - to_us(dt.datetime.strptime(first, "%Y-%m-%dT%H:%M:%S.%fZ"))
    pattern = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")

    def shifted(value):
        if isinstance(value, str) and pattern.fullmatch(value):
            return stamp(to_us(dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")) + shift_us)
        return value

    db.create_function("shifted", 1, shifted, deterministic=True)
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        if table in ("audit_events", "audit_head", "idempotency_keys", "web_sessions", "invitations"):
            continue
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        moved = [c for c in columns if c in ("created_at", "updated_at", "password_set_at", "last_used_at")]
        if moved:
            db.execute(f"UPDATE {table} SET " + ", ".join(f"{c} = shifted({c})" for c in moved))
    prev_hash = "0" * 64
    seq = 0
    for old_seq, time_text, actor, action, object_, details in db.execute(
            "SELECT seq, time, actor, action, object, details FROM audit_events ORDER BY seq").fetchall():
        seq = old_seq
        time_text = shifted(time_text)
        hash_ = event_hash(prev_hash, seq, time_text, actor, action, object_, details)
        db.execute("UPDATE audit_events SET time = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                   (time_text, prev_hash, hash_, seq))
        prev_hash = hash_

    service_ids = dict(db.execute("SELECT name, id FROM services"))
    environment_ids = dict(db.execute("SELECT name, id FROM environments"))
    log(f"seed: generating {len(services) * releases:,} releases and their deployments")
    release_list, deployment_list = history(services, releases, rng, start_us, end_us)
    release_ids = {}
    release_rows = []
    artifact_rows = []
    events = []  # (time_us, order, action, object, details)
    next_id = (db.execute("SELECT COALESCE(MAX(id), 0) FROM releases").fetchone()[0] or 0) + 1
    for created, s, k in release_list:
        service = services[s]
        version = version_of(s, k)
        content = release_content(rng, service, version, version_of(s, k - 1) if k else None, created)
        notes, commit, previous, commits, people = release_row_values(content)
        release_ids[(s, k)] = next_id
        release_rows.append((next_id, service_ids[service], version, "active", notes, "ci", stamp(created),
                             commit, previous, commits, people))
        artifact = content["artifacts"][0]
        artifact_rows.append((next_id, artifact["name"], artifact["digest"], None, artifact["uri"]))
        events.append((created, 0, "release.create", f"release:{service}@{version}",
                       release_details(service, version, content)))
        next_id += 1
    deployment_rows = []
    next_id = (db.execute("SELECT COALESCE(MAX(id), 0) FROM deployments").fetchone()[0] or 0) + 1
    for created, s, k, j, running, finished, status in deployment_list:
        service = services[s]
        version = version_of(s, k)
        environment = ENVIRONMENTS[j][0]
        deployment_rows.append((next_id, release_ids[(s, k)], environment_ids[environment], status, "ci",
                                stamp(created), stamp(finished), ci_link(service, next_id)))
        target = f"deployment:{next_id}"
        events.append((created, 1, "deployment.create", target, deployment_details(service, version, environment)))
        events.append((running, 2, "deployment.status", target, status_details("queued", "running")))
        events.append((finished, 3, "deployment.status", target, status_details("running", status)))
        next_id += 1
    log(f"seed: writing {len(release_rows):,} releases, {len(deployment_rows):,} deployments, "
        f"{len(events):,} audit events")
    db.executemany("INSERT INTO releases (id, service_id, version, state, notes, created_by, created_at, "
                   "commit_id, previous_version, commits, people) VALUES (?,?,?,?,?,?,?,?,?,?,?)", release_rows)
    db.executemany("INSERT INTO artifacts (release_id, name, digest, size, uri) VALUES (?,?,?,?,?)", artifact_rows)
    db.executemany("INSERT INTO deployments (id, release_id, environment_id, status, created_by, created_at, "
                   "updated_at, url) VALUES (?,?,?,?,?,?,?,?)", deployment_rows)
    # A deployment names its service too (as the server sets it), where the
    # schema has the column.
    if any(column[1] == "service_id" for column in db.execute("PRAGMA table_info(deployments)")):
        db.execute("UPDATE deployments SET service_id = "
                   "(SELECT r.service_id FROM releases r WHERE r.id = deployments.release_id) "
                   "WHERE service_id IS NULL")
    del release_rows, artifact_rows, deployment_rows
    events.sort(key=lambda event: (event[0], event[1]))

    def audit_rows():
        nonlocal seq, prev_hash
        for time_us, _, action, object_, details in events:
            seq += 1
            time_text = stamp(time_us)
            hash_ = event_hash(prev_hash, seq, time_text, "ci", action, object_, details)
            yield seq, time_text, "ci", action, object_, details, prev_hash, hash_
            prev_hash = hash_

    db.executemany("INSERT INTO audit_events (seq, time, actor, action, object, details, prev_hash, hash) "
                   "VALUES (?,?,?,?,?,?,?,?)", audit_rows())
    db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev_hash))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return len(release_list), len(deployment_list), seq


def after_history(server, services, ci_token, rng):
    """Change requests and deployments under way, through the API."""
    api = Http(server.port, server.token)
    ci = Http(server.port, ci_token)
    db = sqlite3.connect(f"file:{os.path.join(server.data_dir, 'ferry.db')}?mode=ro", uri=True)
    latest = dict(db.execute(
        "SELECT s.name, r.version FROM releases r JOIN services s ON s.id = r.service_id "
        "WHERE r.id IN (SELECT MAX(id) FROM releases GROUP BY service_id)"))
    candidates = dict(db.execute(
        "SELECT s.name, r.version FROM deployments d JOIN releases r ON r.id = d.release_id "
        "JOIN services s ON s.id = r.service_id JOIN environments e ON e.id = d.environment_id "
        "WHERE e.name = 'staging' AND d.status = 'succeeded' ORDER BY d.id"))
    db.close()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    # Each path leads a change request to one state (raised by ci, decided by admin).
    paths = [[], ["submit"], ["submit", "assess"], ["submit", "assess", "approve"],
             ["submit", "assess", "approve", "schedule"], ["submit", "assess", "reject"],
             ["submit", "defer"], ["submit", "assess", "approve", "implement"],
             ["submit", "assess", "approve", "implement", "close"],
             ["submit", "assess", "reject", "close"]]
    targets = [service for service in services if service in candidates]
    for i in range(300):
        service = targets[(i * 37) % len(targets)]
        start = now + dt.timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 12))
        window = f"{start:%Y-%m-%dT%H:%M:%SZ}..{start + dt.timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}"
        change = ci.api("POST", "/api/v1/change-requests", {
            "title": f"Ship {service} {candidates[service]} to production",
            "description": "Rollback: redeploy the previous version.",
            "type": "standard" if i % 10 == 9 else "normal",
            "service": service, "environment": "prod", "release": candidates[service], "window": window})
        # A standard change is pre-approved by its submission.
        path = (["submit"] + (["implement", "close"] if (i // 10) % 2 else [])) if i % 10 == 9 \
            else paths[i % len(paths)]
        for action in path:
            body = {"assess": {"risk": rng.choice(["low", "medium", "high"]), "impact": "one service"},
                    "reject": {"reason": "Not during the freeze"}, "defer": {"reason": "After the freeze"},
                    "schedule": {"window": window}}.get(action, {})
            client = ci if action == "submit" else api
            client.api("POST", f"/api/v1/change-requests/{change['id']}/{action}", body)
    # Deployments under way: a new release of 12 services promoted to dev,
    # 8 of them reported running.
    for i in range(12):
        service = services[(i * 83 + 5) % len(services)]
        major, minor, patch = map(int, latest[service].split("."))
        version = f"{major}.{minor}.{patch + 1}"
        content = release_content(rng, service, version, latest[service], to_us(dt.datetime.utcnow()))
        ci.api("POST", f"/api/v1/services/{service}/releases", {
            "version": version, "notes": "", "commit": content["commit"], "previous_version": latest[service],
            "commits": content["commits"], "authors": content["authors"], "artifacts": content["artifacts"]})
        deployment = ci.api("POST", "/api/v1/promotions", {"service": service, "version": version, "environment": "dev"})
        if i < 8:
            ci.api("POST", f"/api/v1/deployments/{deployment['id']}/report",
                   {"status": "running", "url": ci_link(service, 900000 + i)})


def seed(args, target):
    """Makes the data dir `target` (through a scratch dir, renamed at the end)."""
    services = service_names(args.services)
    building = target + ".seeding"
    shutil.rmtree(building, ignore_errors=True)
    os.makedirs(building)
    started = time.monotonic()
    seed_started_us = to_us(dt.datetime.utcnow())
    log_path = os.path.join(building, "seed.log")
    server = start_server(args.ferry, building, log_path)
    try:
        ci_token = setup_through_api(server, services)
    finally:
        server.stop()
    log(f"seed: setup through the API in {time.monotonic() - started:.1f} s")
    rng = random.Random(args.seed)
    counts = bulk_insert(os.path.join(building, "ferry.db"), services, args.releases, rng, seed_started_us)
    log(f"seed: history written after {time.monotonic() - started:.1f} s")
    server = start_server(args.ferry, building, log_path)
    try:
        after_history(server, services, ci_token, rng)
        api = Http(server.port, server.token)
        begin = time.perf_counter()
        verification = api.api("GET", "/api/v1/audit/verify")
        log(f"seed: audit chain verified by the server in {time.perf_counter() - begin:.1f} s: {verification}")
        if not verification.get("intact"):
            raise SystemExit(f"the seeded audit trail does not verify: {verification}")
    finally:
        server.stop()
    with open(os.path.join(building, "bench-seed.json"), "w") as file:
        json.dump({"format": SEED_FORMAT, "services": args.services, "releases": args.releases,
                   "seed": args.seed, "releases_written": counts[0], "deployments_written": counts[1],
                   "audit_events": counts[2], "ci_token": ci_token,
                   "seeded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                   "seconds": round(time.monotonic() - started, 1)}, file, indent=2)
    shutil.rmtree(target, ignore_errors=True)
    os.rename(building, target)
    log(f"seed: done in {time.monotonic() - started:.1f} s, kept in {target}")


def seeded(args, target):
    try:
        with open(os.path.join(target, "bench-seed.json")) as file:
            marker = json.load(file)
    except (OSError, ValueError):
        return None
    wanted = {"format": SEED_FORMAT, "services": args.services, "releases": args.releases, "seed": args.seed}
    return marker if all(marker.get(key) == value for key, value in wanted.items()) else None


# ------------------------------------------------------------------ checks

def check_data(server, args):
    """The server shows the seeded data: answers a summary for the report."""
    api = Http(server.port, server.token)
    status = api.api("GET", "/api/v1/status")
    cells = status["cells"]
    with_version = sum(1 for cell in cells if cell.get("current"))
    if len(status["services"]) != args.services or len(status["environments"]) != len(ENVIRONMENTS):
        raise SystemExit(f"the server shows {len(status['services'])} services and "
                         f"{len(status['environments'])} environments")
    if with_version < 0.9 * len(cells):
        raise SystemExit(f"only {with_version} of {len(cells)} cells have a version")
    db = sqlite3.connect(f"file:{os.path.join(server.data_dir, 'ferry.db')}?mode=ro", uri=True)
    counts = {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
              for table in ["services", "environments", "releases", "deployments", "audit_events",
                            "change_requests", "users", "grants"]}
    db.close()
    counts["cells"] = len(cells)
    counts["cells_with_version"] = with_version
    return counts


def sign_in(port, password=ADMIN_PASSWORD):
    """Signs in as admin through the form; answers the session cookie `name=value`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    form_cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    body = urllib.parse.urlencode({"username": "admin", "password": password, "csrf": csrf.group(1), "next": "/"})
    connection.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": form_cookie})
    response = connection.getresponse()
    response.read()
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith("ferry_session="):
            return value.split(";", 1)[0]
    raise SystemExit(f"signing in failed: {response.status} {response.getheaders()}")


def pages(server):
    """The pages timed: (label, path)."""
    db = sqlite3.connect(f"file:{os.path.join(server.data_dir, 'ferry.db')}?mode=ro", uri=True)
    # A service in the middle of the list, its release now in prod, that
    # release's prod deployment, and a change request.
    service, = db.execute("SELECT name FROM services ORDER BY name LIMIT 1 OFFSET ?",
                          (db.execute("SELECT COUNT(*) FROM services").fetchone()[0] // 2,)).fetchone()
    version, deployment = db.execute(
        "SELECT r.version, d.id FROM deployments d JOIN releases r ON r.id = d.release_id "
        "JOIN services s ON s.id = r.service_id JOIN environments e ON e.id = d.environment_id "
        "WHERE s.name = ? AND e.name = 'prod' AND d.status = 'succeeded' ORDER BY d.id DESC LIMIT 1",
        (service,)).fetchone()
    change, = db.execute("SELECT MAX(id) FROM change_requests").fetchone()
    db.close()
    team = team_of(service)
    return [
        ("dashboard", "/"),
        (f"dashboard, filtered (service={team})", f"/?service={team}"),
        ("dashboard, filtered (state=failed)", "/?state=failed"),
        ("service", f"/services/{service}"),
        ("release", f"/services/{service}/releases/{version}"),
        ("deployment", f"/deployments/{deployment}"),
        ("change requests", "/changes"),
        ("change request", f"/changes/{change}"),
        ("calendar", "/calendar"),
        ("audit", "/audit"),
        ("admin", "/admin"),
    ]


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def time_pages(port, cookie, page_list, warmup, requests, page_seconds=60, min_requests=20):
    client = Http(port, cookie=cookie)
    results = []
    for label, path in page_list:
        warm_until = time.monotonic() + page_seconds / 4
        for i in range(warmup):
            if i >= 2 and time.monotonic() > warm_until:
                break
            response, payload = client.raw("GET", path)
            if response.status != 200:
                raise SystemExit(f"GET {path}: {response.status} {payload[:300]!r}")
        full, first = [], []
        size = 0
        started = time.monotonic()
        for _ in range(requests):
            if len(full) >= min_requests and time.monotonic() - started > page_seconds:
                break
            begin = time.perf_counter()
            client.connection.request("GET", path, headers={"Cookie": cookie})
            response = client.connection.getresponse()
            headers_at = time.perf_counter()
            payload = response.read()
            end = time.perf_counter()
            if response.status != 200:
                raise SystemExit(f"GET {path}: {response.status}")
            full.append((end - begin) * 1000)
            first.append((headers_at - begin) * 1000)
            size = len(payload)
        full.sort()
        first.sort()
        results.append({"label": label, "path": path, "bytes": size, "n": len(full), "p50": statistics.median(full),
                        "p90": percentile(full, 0.9), "p99": percentile(full, 0.99), "max": full[-1],
                        "ttfb_p50": statistics.median(first)})
        log(f"  {label:<42} p50 {results[-1]['p50']:8.2f} ms  p90 {results[-1]['p90']:8.2f}  "
            f"p99 {results[-1]['p99']:8.2f}  ({size:,} bytes, {len(full)} requests)")
    return results


# ------------------------------------------------------ where the time goes

def statements_of(log_path):
    """Every statement in a JSON log: (finished, elapsed ms, SQL with spaces squeezed, rows returned)."""
    found = []
    with open(log_path, encoding="utf-8", errors="replace") as file:
        for line in file:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("target") != "sqlx::query":
                continue
            fields = entry.get("fields", {})
            text = " ".join(((fields.get("db.statement") or "").strip() or fields.get("summary", "")).split())
            finished = dt.datetime.strptime(entry["timestamp"][:26].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
            found.append((finished.replace(tzinfo=dt.timezone.utc).timestamp(),
                          float(fields.get("elapsed_secs", 0)) * 1000, text, int(fields.get("rows_returned", 0))))
    return found


def orchestrator_pass(idle):
    """From statements logged with no request: the text that marks an
    orchestrator pass (the commonest statement that writes jobs, which no page
    does) and how many times each text runs per pass."""
    counts = {}
    for _, _, text, _ in idle:
        counts[text] = counts.get(text, 0) + 1
    markers = [text for text in counts if text.startswith("UPDATE jobs")]
    if not markers:
        return None, {}
    marker = max(markers, key=lambda text: counts[text])
    passes = counts[marker]
    return marker, {text: max(1, round(count / passes)) for text, count in counts.items()}


def own_statements(statements, begin, end, marker, per_pass):
    """The statements of the request sent at `begin` and answered at `end`:
    those that finished meanwhile, less the orchestrator's passes (for each
    pass marked within a second around, one set of its statements, each the
    instance nearest to its marker)."""
    around = [s for s in statements if begin - 1 <= s[0] <= end + 1]
    marks = [s[0] for s in around if s[2] == marker]
    background = set()
    for text, times in per_pass.items():
        instances = [i for i, s in enumerate(around) if s[2] == text]
        for mark in marks:
            free = [i for i in instances if i not in background]
            if not free:
                break
            for i in sorted(free, key=lambda i: abs(around[i][0] - mark))[:times]:
                background.add(i)
    own = [s for i, s in enumerate(around) if i not in background and begin <= s[0] <= end]
    passes = sum(1 for mark in marks if begin - 0.2 <= mark <= end)
    return own, passes


def sql_breakdown(args, work_dir, scratch, page_list, repeats=3):
    """Each page's statements from the server's JSON log (sqlx::query=debug)."""
    log_path = os.path.join(scratch, "server-sql.log")
    server = start_server(args.ferry, work_dir, log_path, rust_log="warn,sqlx::query=debug", json_log=True)
    try:
        cookie = sign_in(server.port)
        client = Http(server.port, cookie=cookie)
        idle_from = time.time()
        time.sleep(5)
        idle_to = time.time()
        requests = []
        for label, path in page_list:
            time.sleep(0.3)
            client.raw("GET", path)  # warm
            for _ in range(repeats):
                time.sleep(0.3)
                begin = time.time()
                client.raw("GET", path)
                requests.append((label, path, begin, time.time()))
        time.sleep(0.3)
    finally:
        server.stop()
    statements = statements_of(log_path)
    idle = [s for s in statements if idle_from + 0.5 <= s[0] <= idle_to]
    marker, per_pass = orchestrator_pass(idle)
    pass_ms = sum(s[1] for s in idle) / max(1, sum(1 for s in idle if s[2] == marker))
    background = {"seconds": idle_to - idle_from - 0.5, "statements": len(idle),
                  "passes": sum(1 for s in idle if s[2] == marker), "sql_ms_per_pass": pass_ms,
                  "top": sorted(({"sql": text[:300], "per_pass": n} for text, n in per_pass.items()),
                                key=lambda entry: entry["sql"])}
    log(f"  with no request: {background['passes']} orchestrator passes in {background['seconds']:.1f} s, "
        f"{pass_ms:.1f} ms of SQL each")
    found = []
    for label, path in dict.fromkeys((label, path) for label, path, _, _ in requests):
        runs = []
        for _, _, begin, end in [r for r in requests if r[0] == label]:
            own, passes = own_statements(statements, begin, end, marker, per_pass)
            runs.append(((end - begin) * 1000, own, passes))
        took, own, passes = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
        grouped = {}
        for _, elapsed, text, rows in own:
            entry = grouped.setdefault(text, [0, 0.0, 0])
            entry[0] += 1
            entry[1] += elapsed
            entry[2] += rows
        top = sorted(grouped.items(), key=lambda item: -item[1][1])[:4]
        found.append({"label": label, "path": path, "request_ms": took, "statements": len(own),
                      "sql_ms": sum(s[1] for s in own), "orchestrator_passes": passes,
                      "top": [{"sql": text[:400], "count": c, "ms": ms, "rows": rows}
                              for text, (c, ms, rows) in top]})
        log(f"  {label:<42} {len(own):4d} statements, {found[-1]['sql_ms']:8.1f} ms of SQL "
            f"in a {took:.1f} ms request ({passes} orchestrator passes meanwhile)")
    return {"background": background, "pages": found}


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_jiffies():
    """(busy, total) CPU time of the whole machine, from /proc/stat."""
    with open("/proc/stat") as file:
        values = [int(v) for v in file.readline().split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


class Busy:
    """How busy the machine was, and how much of it was the server."""

    def __init__(self, pid):
        self.pid = pid
        self.machine = machine_jiffies()
        self.server = cpu_seconds(pid)
        self.begin = time.monotonic()

    def done(self):
        busy, total = machine_jiffies()
        cores = os.cpu_count() or 1
        share = (busy - self.machine[0]) / max(1, total - self.machine[1]) * 100
        server = (cpu_seconds(self.pid) - self.server) / (time.monotonic() - self.begin) * 100 / cores
        return {"machine_percent": share, "server_percent": server, "others_percent": max(0.0, share - server)}


def wait_quiet(pid, seconds):
    """Waits (at most `seconds`) until processes other than the server leave the machine idle."""
    deadline = time.monotonic() + seconds
    quiet = 0
    while True:
        busy = Busy(pid)
        time.sleep(3)
        others = busy.done()["others_percent"]
        quiet = quiet + 1 if others < 10 else 0
        if quiet >= 3 or time.monotonic() > deadline:
            return others
        if not quiet:
            log(f"  the machine is {others:.0f}% busy with other work; waiting")


def background_load(server, cookie, seconds):
    """The server's CPU with no request, and with dashboards open (their
    /dashboard/stream connections, nothing else)."""
    found = []
    for streams in (0, 1, 5):
        connections = []
        for _ in range(streams):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            connection.request("GET", "/dashboard/stream", headers={"Cookie": cookie})
            response = connection.getresponse()
            if response.status != 200:
                raise SystemExit(f"/dashboard/stream: {response.status}")
            connections.append(connection)
        time.sleep(1.5)
        cpu, begin = cpu_seconds(server.process.pid), time.monotonic()
        time.sleep(seconds)
        share = (cpu_seconds(server.process.pid) - cpu) / (time.monotonic() - begin) * 100
        for connection in connections:
            connection.close()
        found.append({"streams": streams, "cpu_percent": share})
        log(f"  {streams} dashboards open: the server uses {share:.1f}% of a core")
        time.sleep(1)
    return found


# ------------------------------------------------------------------ browser

def ensure_node_modules():
    modules = os.path.join(ROOT, "ui-tests", "node_modules", "playwright-core")
    if not os.path.isdir(modules):
        log("browser: npm ci in ui-tests (playwright-core)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=os.path.join(ROOT, "ui-tests"), check=True)


def run_browser(args, server, cookie, ci_token, scratch):
    ensure_node_modules()
    db = sqlite3.connect(f"file:{os.path.join(server.data_dir, 'ferry.db')}?mode=ro", uri=True)
    quiet = [name for (name,) in db.execute(
        "SELECT s.name FROM services s WHERE NOT EXISTS (SELECT 1 FROM deployments d JOIN releases r "
        "ON r.id = d.release_id WHERE r.service_id = s.id AND d.status IN ('queued', 'waiting', 'running', "
        "'verifying')) ORDER BY s.name")]
    db.close()
    # Services spread over the list: the first rows, the middle, the end.
    step = max(1, len(quiet) // max(1, args.live_rounds))
    targets = [{"service": quiet[(i * step + 3) % len(quiet)], "environment": "dev", "version": "9.0.0"}
               for i in range(args.live_rounds)]
    config = {"url": server.url, "cookie": cookie.split("=", 1), "token": ci_token,
              "chromium": args.chromium, "fcpRuns": args.fcp_runs, "live": targets}
    config_path = os.path.join(scratch, "browser.json")
    with open(config_path, "w") as file:
        json.dump(config, file)
    run = subprocess.run(["node", os.path.join(HERE, "browser.mjs"), config_path], capture_output=True, text=True)
    sys.stderr.write(run.stderr)
    if run.returncode != 0:
        raise SystemExit(f"browser.mjs failed ({run.returncode}):\n{run.stdout}")
    return json.loads(run.stdout)


# ------------------------------------------------------------------ report

def git(*command):
    try:
        return subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def report(args, counts, timings, breakdown, browser, load):
    goal = lambda label: 100 if label.startswith("dashboard") else 50
    lines = []
    lines.append(f"Data: {counts['services']:,} services x {counts['environments']} environments, "
                 f"{counts['releases']:,} releases, {counts['deployments']:,} deployments, "
                 f"{counts['audit_events']:,} audit events, {counts['change_requests']} change requests, "
                 f"{counts['users']} users, {counts['grants']:,} grants; "
                 f"{counts['cells_with_version']:,} of {counts['cells']:,} cells with a version.")
    lines.append("")
    lines.append(f"Server render: up to {args.requests} requests per page (at least 20, at most "
                 f"{args.page_seconds:.0f} s of them) after up to {args.warmup} warm-up, one keep-alive "
                 "connection, signed in:")
    lines.append("")
    lines.append("| page | size | n | first byte, p50 | p50 | p90 | p99 | goal |")
    lines.append("|---|---|---|---|---|---|---|---|")
    busy = counts.get("busy_during_pages")
    for t in timings:
        met = "met" if t["p50"] < goal(t["label"]) and t["p99"] < goal(t["label"]) else (
            "p50 met, p99 not" if t["p50"] < goal(t["label"]) else "**missed**")
        lines.append(f"| {t['label']} (`{t['path']}`) | {t['bytes'] / 1024:,.0f} KiB | {t['n']} | "
                     f"{t['ttfb_p50']:.2f} ms | {t['p50']:.2f} ms | {t['p90']:.2f} ms | {t['p99']:.2f} ms | "
                     f"< {goal(t['label'])} ms: {met} |")
    if busy:
        lines.append("")
        lines.append(f"While the pages were timed the machine's {os.cpu_count()} cores were {busy['machine_percent']:.0f}% "
                     f"busy, {busy['server_percent']:.0f}% with the server and {busy['others_percent']:.0f}% with "
                     "everything else (the client included).")
    if breakdown:
        background = breakdown["background"]
        lines.append("")
        lines.append("Where the time goes: the server again with RUST_LOG=sqlx::query=debug (which slows it), "
                     "each page's own statements (those that finished while it was served, less the "
                     "orchestrator's passes meanwhile), the median of 3 requests. Statement times overlap "
                     "when reads run at once. With no request the orchestrator made "
                     f"{background['passes']} passes in {background['seconds']:.1f} s, "
                     f"{background['sql_ms_per_pass']:.0f} ms of SQL each.")
        lines.append("")
        lines.append("| page | request | statements | time in SQL | slowest statement: SQL (times run, total, rows) |")
        lines.append("|---|---|---|---|---|")
        for b in breakdown["pages"]:
            top = b["top"][0] if b["top"] else None
            slowest = f"`{top['sql'][:160]}…` ({top['count']}×, {top['ms']:.1f} ms, {top['rows']} rows)" if top else "—"
            lines.append(f"| {b['label']} | {b['request_ms']:.1f} ms | {b['statements']} | {b['sql_ms']:.1f} ms | "
                         f"{slowest} |")
    if load:
        lines.append("")
        lines.append("Server CPU with no request (the orchestrator's passes), and with dashboards open "
                     "(their event streams, nothing else): "
                     + ", ".join(f"{entry['streams']} open: {entry['cpu_percent']:.0f}% of a core" for entry in load)
                     + ".")
    if browser:
        fcp = browser["fcp"]
        values = sorted(run["fcp"] for run in fcp)
        lines.append("")
        lines.append(f"First contentful paint of the dashboard, {len(values)} loads, each in a fresh context: "
                     f"median {statistics.median(values):.0f} ms, max {values[-1]:.0f} ms "
                     f"({', '.join(f'{v:.0f}' for v in values)}); goal < 1000 ms: "
                     f"{'met' if values[-1] < 1000 else ('median met, max not' if statistics.median(values) < 1000 else '**missed**')}.")
        nav = sorted(fcp, key=lambda run: run["fcp"])[len(fcp) // 2]
        lines.append(f"(The median load: request sent at {nav['requestStart']:.0f} ms, response start {nav['responseStart']:.0f} ms, response end "
                     f"{nav['responseEnd']:.0f} ms, DOMContentLoaded {nav['domContentLoaded']:.0f} ms, "
                     f"load {nav['load']:.0f} ms, {nav['bytes'] / 1024:,.0f} KiB of HTML.)")
        live = browser["live"]
        lines.append("")
        lines.append("A deployment's change reaching an open dashboard (API call sent → the cell's DOM "
                     "shows it):")
        lines.append("")
        lines.append("| change | n | median | max | API answer, median | page's fetch of `/`, median |")
        lines.append("|---|---|---|---|---|---|")
        every = []
        for step in ["queued", "running", "succeeded"]:
            runs = [run for run in live if run["step"] == step]
            if not runs:
                continue
            seen = sorted(run["seen"] for run in runs)
            every += seen
            api_ms = statistics.median(run["api"] for run in runs)
            fetch_ms = [run["fetch"] for run in runs if run.get("fetch") is not None]
            lines.append(f"| {step} | {len(runs)} | {statistics.median(seen):.0f} ms | {seen[-1]:.0f} ms | "
                         f"{api_ms:.0f} ms | {statistics.median(fetch_ms):.0f} ms |" if fetch_ms else
                         f"| {step} | {len(runs)} | {statistics.median(seen):.0f} ms | {seen[-1]:.0f} ms | "
                         f"{api_ms:.0f} ms | — |")
        every.sort()
        lines.append(f"| all | {len(every)} | {statistics.median(every):.0f} ms | {every[-1]:.0f} ms | | |")
        lines.append("")
        lines.append(f"Goal < 1000 ms: {'met' if every[-1] < 1000 else ('median met, max not' if statistics.median(every) < 1000 else '**missed**')}.")
    lines.append("")
    commit = args.commit or (git("rev-parse", "--short", "HEAD")
                             + (" (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""))
    version = subprocess.run([args.ferry, "--version"], capture_output=True, text=True).stdout.strip()
    lines.append(f"Measured {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} at commit {commit} ({version}).")
    return "\n".join(lines)


# ------------------------------------------------------------------ main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ferry", default=os.path.join(ROOT, "target", "release", "ferry"),
                        help="the ferry binary (default target/release/ferry)")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "ferry-bench-ui-data"),
                        help="where the seeded data is kept between runs (default %(default)s); each run "
                             "works on a copy")
    parser.add_argument("--reseed", action="store_true", help="seed the data dir again even if it is there")
    parser.add_argument("--seed-only", action="store_true", help="seed (if needed) and stop")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--releases", type=int, default=200, help="releases per service (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the data (default 1)")
    parser.add_argument("--skip-calibration", action="store_true",
                        help="do not check the rows written against a throwaway server's")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page (default 100)")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up requests per page (default 10)")
    parser.add_argument("--page-seconds", type=float, default=60,
                        help="stop timing a page after this long once it has 20 requests (default 60)")
    parser.add_argument("--only", help="time only pages whose label contains this")
    parser.add_argument("--skip-background", action="store_true",
                        help="skip the server's CPU with no request and with dashboards open")
    parser.add_argument("--background-seconds", type=float, default=10)
    parser.add_argument("--skip-sql", action="store_true", help="skip the per-page SQL breakdown")
    parser.add_argument("--skip-browser", action="store_true", help="skip Chromium (FCP, live update)")
    parser.add_argument("--fcp-runs", type=int, default=5)
    parser.add_argument("--live-rounds", type=int, default=5,
                        help="services promoted while the dashboard is open (3 changes each; default 5)")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--log-level", default="warn", help="RUST_LOG of the timed server (default warn)")
    parser.add_argument("--quiet-wait", type=float, default=0, metavar="SECONDS",
                        help="before timing, wait up to this long for other processes to leave the machine idle")
    parser.add_argument("--keep", action="store_true", help="keep the scratch dir (the run's copy and logs)")
    parser.add_argument("--commit", help="the commit the binary was built from, for the report (default: HEAD)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to this file")
    args = parser.parse_args()
    args.ferry = os.path.abspath(args.ferry)
    args.data_dir = os.path.abspath(args.data_dir)
    if not os.path.exists(args.ferry):
        raise SystemExit(f"no ferry binary at {args.ferry}: build it with "
                         "`CARGO_TARGET_DIR=/work/bench-target cargo build --release -p ferry` and pass --ferry")

    scratch = tempfile.mkdtemp(prefix="ferry-bench-ui-")
    try:
        marker = None if args.reseed else seeded(args, args.data_dir)
        if marker is None:
            if not args.skip_calibration:
                calibrate(args, scratch)
            seed(args, args.data_dir)
            marker = seeded(args, args.data_dir)
        else:
            log(f"seed: reusing {args.data_dir} (seeded {marker['seeded_at']})")
        if args.seed_only:
            return
        work_dir = os.path.join(scratch, "data")
        begin = time.monotonic()
        shutil.copytree(args.data_dir, work_dir)
        log(f"run: copied the data dir in {time.monotonic() - begin:.1f} s")
        server = start_server(args.ferry, work_dir, os.path.join(scratch, "server.log"), rust_log=args.log_level)
        try:
            counts = check_data(server, args)
            log(f"run: the server shows {counts}")
            page_list = pages(server)
            if args.only:
                page_list = [page for page in page_list if args.only in page[0]]
            cookie = sign_in(server.port)
            # The page shows what the API says: 1,000 rows with versions.
            response, body = Http(server.port, cookie=cookie).raw("GET", "/")
            html = body.decode()
            rows = html.count('<th scope="row">')
            versions = html.count('class="version"')
            if rows != args.services or versions < 0.9 * counts["cells"]:
                raise SystemExit(f"the dashboard shows {rows} rows and {versions} versions")
            log(f"run: the dashboard lists {rows} services with {versions} versions in the cells")
            load = None
            if not args.skip_background:
                log("run: the server's CPU with no request and with dashboards open")
                load = background_load(server, cookie, args.background_seconds)
            if args.quiet_wait:
                wait_quiet(server.process.pid, args.quiet_wait)
            log("run: server render times")
            busy = Busy(server.process.pid)
            timings = time_pages(server.port, cookie, page_list, args.warmup, args.requests, args.page_seconds)
            counts["busy_during_pages"] = busy.done()
            log(f"run: while timing pages the machine was {counts['busy_during_pages']}")
            browser = None
            if not args.skip_browser:
                if args.quiet_wait:
                    wait_quiet(server.process.pid, args.quiet_wait)
                log("run: Chromium")
                browser = run_browser(args, server, sign_in(server.port), marker["ci_token"], scratch)
        finally:
            server.stop()
        breakdown = None
        if not args.skip_sql:
            log("run: statements per page")
            breakdown = sql_breakdown(args, work_dir, scratch, page_list)
        text = report(args, counts, timings, breakdown, browser, load)
        print(text)
        if args.json:
            with open(args.json, "w") as file:
                json.dump({"counts": counts, "timings": timings, "sql": breakdown, "browser": browser,
                           "background_load": load}, file, indent=2)
    finally:
        if args.keep:
            log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
