#!/usr/bin/env python3
"""Fan-out: a no-op deployment to N agents, ferry against Ansible.

ferry: starts `ferry serve` on a fresh data dir (SQLite; with --postgres, a
fresh PostgreSQL database made for the run and dropped after it),
applies one environment `fleet` and one service `noop` whose deploy process
is one step `true`, rolling in batches of 25%, health `{ command = "true" }`;
creates N agent tokens and starts N `ferry agent` processes (each with its
own work dir, all on this machine; with --simulated, one process of N
simulated agents instead), waits until every one has said hello, then for
each run creates a release `noop@1.0.<run>` and times
`ferry promote noop@1.0.<run> --to fleet` until the deployment (polled every
50 ms at `/api/v1/deployments/{id}`) is `succeeded`: from spawning the
promote command to seeing the terminal state.

Simulated agents (--simulated): for fleets larger than fit on this machine as
processes. One process, the `swarm` example of ferry-agent (built with
`cargo build --release -p ferry-agent --example swarm`, see its doc comment),
runs N agents, each with its own token and connection, which make the
requests `ferry agent` makes in the same order with the same bodies (hello,
long poll, start, log lines, finish), but spawn nothing: every step and
health check passes at once. The server does all of its work. Its figure is
labelled "simulated agents (no processes spawned)"; real processes stay the
measure up to 1,000 agents. The agents' memory and CPU are then those of the
swarm process (and its share per agent); the floor stays what spawning the
steps and checks costs, which the simulated agents do not do. The tokens are
created through the API as for real agents, a few requests at a time. The
server and the swarm each need an open file per agent: the open-files limit
(`ulimit -n`, which both inherit) must exceed N by a thousand or so.

Ansible: ansible-core, installed with pip into a venv cached at --venv,
runs the same no-op task and the same no-op health check
(`command: "true"`, twice) with `serial: "25%"` and `gather_facts: false` on
N inventory hosts with `ansible_connection=local`, `ansible-playbook -f 50`,
timed end to end.

The floor: the processes the deployment spawns and nothing else, from one
`sh`: per target the step and then the check (`sh -c true` each), the
targets of a batch at once, the batches one after another.

Memory: the server's peak RSS (VmHWM) over the whole run and its RSS once
the N agents are idle; each agent's RSS when idle (2 s after the last hello;
with the part that is its own, RssAnon, as the rest is the binary's pages,
shared by all) and its peak (VmHWM) after the deployments, as median and max
over agents. CPU: what the server and the agents burn while idle (N long
polls open) and during the deployments, and how busy the machine was.

For each run it also prints (on stderr) where the time went, from the
agents' logs: per batch, when its first job was claimed, its last job
claimed and its last job reported, relative to the promote. `--log-level
debug` (or `info,sqlx::query=debug`) with `--keep` leaves every query in
server.log; `--perf FILE` records the server during the deployments.

Usage: cargo build --release -p ferry && bench/fanout/run.py [--agents 200] [--runs 3] [--skip-ansible]
       [--forks 50] [--postgres [URL]] [--binary target/release/ferry] [--venv DIR]
       [--log-level warn] [--perf FILE] [--keep] [--deploy-timeout 600]
       [--simulated [--swarm-binary target/release/examples/swarm]]
Example: bench/fanout/run.py --agents 1000 --skip-ansible
         cargo build --release -p ferry-agent --example swarm &&
         bench/fanout/run.py --agents 10000 --runs 1 --skip-ansible --simulated --deploy-timeout 1200
"""
import argparse
import concurrent.futures
import http.client
import json
import math
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ENVIRONMENT = "fleet"
SERVICE = "noop"
TERMINAL = {"succeeded", "failed", "rolled_back", "cancelled"}
SWARM_LOG = "swarm.log"

CONFIG = f'''
[[environment]]
name = "{ENVIRONMENT}"
tier = "development"

[lifecycle.default]
phases = [["{ENVIRONMENT}"]]

[[service]]
name = "{SERVICE}"
deploy.strategy = {{ kind = "rolling", batch = "25%" }}
deploy.steps = [{{ name = "noop", run = "true" }}]
deploy.health = {{ command = "true" }}
'''

PLAYBOOK = '''- hosts: fleet
  serial: "25%"
  gather_facts: false
  tasks:
    - name: noop
      command: "true"
    - name: health
      command: "true"
'''


# ---------------------------------------------------------------- processes

class Processes:
    """Every process this script starts, stopped on the way out whatever happens."""

    def __init__(self):
        self.items = []

    def start(self, args, group=False, **kwargs):
        process = subprocess.Popen(args, start_new_session=group, **kwargs)
        self.items.append((process, group))
        return process

    def stop_all(self):
        # Ansible's workers start sessions of their own: find them first.
        strays = [pid for process, group in self.items if group and process.poll() is None
                  for pid in descendants(process.pid)]
        for process, group in self.items:
            if process.poll() is None:
                signal_quietly(process.pid, signal.SIGTERM, group)
        for pid in strays:
            signal_quietly(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process, group in self.items:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_quietly(process.pid, signal.SIGKILL, group)
                process.wait()
        for pid in strays:
            signal_quietly(pid, signal.SIGKILL)
        self.items = []


def signal_quietly(pid, number, group=False):
    try:
        if group:
            os.killpg(pid, number)
        else:
            os.kill(pid, number)
    except ProcessLookupError:
        pass


def descendants(root):
    """The pids of every process below `root`, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def proc_status(pid, field):
    """A `/proc/PID/status` field in KiB (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu():
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    total = sum(ticks[:8])
    return (total - idle) / os.sysconf("SC_CLK_TCK"), total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used between start() and stop(): server, agents, their steps, machine."""

    def __init__(self, server, agents):
        self.server = server
        self.agents = agent_processes(agents)

    def sample(self):
        return (cpu_seconds(self.server.pid),
                sum(cpu_seconds(p.pid) for p in self.agents),
                *machine_cpu())

    def start(self):
        self.begin = self.sample()

    def stop(self):
        end = self.sample()
        server, agents, busy, total = (b - a for a, b in zip(self.begin, end))
        return {"server": server, "agents": agents, "busy": busy, "capacity": total}


def mib(kib):
    return kib / 1024


def agent_processes(agents):
    """The processes of [(name, process, log path)], each once (simulated
    agents all share the swarm's)."""
    return list({process.pid: process for _, process, _ in agents}.values())


def raise_open_files(agents, simulated=False):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * agents + 1024)) if hard != resource.RLIM_INFINITY else max(soft, 4 * agents + 1024)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    # The server and the swarm each hold a connection per agent, each under
    # its own limit (inherited from this process).
    if soft < (agents + 1024 if simulated else 2 * agents + 256):
        sys.exit(f"the open-files limit is {soft} (hard {hard}): too low for {agents} agents; raise `ulimit -Hn`")


# ---------------------------------------------------------------- ferry

class Api:
    def __init__(self, port, token):
        self.port = port
        self.token = token
        self.connection = None

    def call(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        for attempt in range(3):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
        return json.loads(payload) if payload else None


def start_server(processes, args, data_dir):
    log = open(os.path.join(data_dir, "server.log"), "w")
    command = [args.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir]
    if args.postgres:
        command += ["--database", f"{args.postgres}/{args.database}"]
    server = processes.start(command, stdout=subprocess.PIPE, stderr=log, text=True,
                             env={**os.environ, "RUST_LOG": args.log_level})
    log.close()
    port = None
    for line in server.stdout:
        if line.startswith("listening on http://"):
            port = int(line.rsplit(":", 1)[1])
            break
    if port is None:
        raise RuntimeError(f"the server did not say where it listens; see {data_dir}/server.log")
    # Keep reading its stdout so that it never blocks on a full pipe.
    threading.Thread(target=lambda: server.stdout.read(), daemon=True).start()
    token = open(os.path.join(data_dir, "bootstrap-token")).read().strip()
    return server, port, token


def agent_name(i, agents):
    return f"agent-{i:0{max(4, len(str(agents - 1)))}d}"


def start_agents(processes, args, data_dir, api, port):
    """Creates the tokens and starts the agents; answers [(name, process, log path)]."""
    agents = []
    for i in range(args.agents):
        name = agent_name(i, args.agents)
        created = api.call("POST", "/api/v1/agent-tokens", {"environment": ENVIRONMENT, "name": name})
        work_dir = os.path.join(data_dir, "agents", name)
        os.makedirs(work_dir)
        log_path = os.path.join(work_dir, "agent.log")
        with open(log_path, "w") as log:
            process = processes.start(
                [args.binary, "agent", "--server", f"http://127.0.0.1:{port}", "--environment", ENVIRONMENT,
                 "--name", name, "--work-dir", work_dir],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "FERRY_AGENT_TOKEN": created["secret"], "RUST_LOG": "warn"})
        agents.append((name, process, log_path))
    return agents


def create_tokens(port, token, names, threads=8):
    """Creates an agent token per name, a few at a time; answers the secrets in order."""
    local = threading.local()

    def create(name):
        if not hasattr(local, "api"):
            local.api = Api(port, token)
        return local.api.call("POST", "/api/v1/agent-tokens", {"environment": ENVIRONMENT, "name": name})["secret"]

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(create, names))


def start_swarm(processes, args, data_dir, port, token):
    """Creates the tokens and starts one swarm of simulated agents; answers
    [(name, swarm process, swarm log path)] and the path of its ready file."""
    names = [agent_name(i, args.agents) for i in range(args.agents)]
    began = time.perf_counter()
    secrets = create_tokens(port, token, names)
    print(f"ferry: {args.agents} agent tokens created in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    tokens_path = os.path.join(data_dir, "agent-tokens")
    with open(os.open(tokens_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as tokens:
        tokens.write("".join(f"{secret}\n" for secret in secrets))
    log_path = os.path.join(data_dir, SWARM_LOG)
    ready_path = os.path.join(data_dir, "swarm.ready")
    with open(log_path, "w") as log:
        swarm = processes.start(
            [args.swarm_binary, "--server", f"http://127.0.0.1:{port}", "--tokens", tokens_path,
             "--ready-file", ready_path],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    return [(name, swarm, log_path) for name in names], ready_path


def wait_for_swarm(agents, ready_path, timeout):
    _, swarm, log_path = agents[0]
    deadline = time.monotonic() + timeout
    while not os.path.exists(ready_path):
        if swarm.poll() is not None:
            raise RuntimeError(f"the swarm exited with {swarm.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the simulated agents did not all say hello within {timeout} s; see {log_path}")
        time.sleep(0.2)


def wait_for_hellos(agents, timeout):
    waiting = {name: (process, path) for name, process, path in agents}
    deadline = time.monotonic() + timeout
    while waiting:
        for name, (process, path) in list(waiting.items()):
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {path}")
            with open(path) as log:
                if "hello from agent" in log.read():
                    del waiting[name]
        if not waiting:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(waiting)} agents did not say hello within {timeout} s")
        time.sleep(0.2)


def ferry_env(port, token):
    return {**os.environ, "FERRY_SERVER": f"http://127.0.0.1:{port}", "FERRY_TOKEN": token, "NO_COLOR": "1"}


def deploy_once(args, api, env, version):
    """Promotes noop@version and waits for the end; answers (seconds, wall clock at promote, deployment)."""
    api.call("POST", f"/api/v1/services/{SERVICE}/releases", {"version": version})
    wall = time.time()
    started = time.perf_counter()
    promoted = subprocess.run([args.binary, "promote", f"{SERVICE}@{version}", "--to", ENVIRONMENT,
                               "--output", "json"], env=env, capture_output=True, text=True)
    if promoted.returncode != 0:
        raise RuntimeError(f"ferry promote failed: {promoted.stdout}{promoted.stderr}")
    deployment = json.loads(promoted.stdout)
    deadline = started + args.deploy_timeout
    while True:
        deployment = api.call("GET", f"/api/v1/deployments/{deployment['id']}")
        if deployment["status"] in TERMINAL:
            elapsed = time.perf_counter() - started
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"deployment {deployment['id']} is still {deployment['status']} "
                               f"after {args.deploy_timeout} s")
        time.sleep(0.05)
    if deployment["status"] != "succeeded":
        raise RuntimeError(f"deployment {deployment['id']} ended {deployment['status']}")
    return elapsed, wall, deployment


LOG_TIME = r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ferry agent: "
CLAIMED = re.compile(LOG_TIME + r"job (\d+) \(attempt \d+\): \S+ " + SERVICE + r"@(\S+) in ", re.M)
REPORTED = re.compile(LOG_TIME + r"job (\d+) succeeded; reported", re.M)
# The swarm's lines name the agent.
SWARM_TIME = r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ferry swarm: agent (\S+): "
SWARM_CLAIMED = re.compile(SWARM_TIME + r"job (\d+) \(attempt \d+, deployment \d+\): \S+ " + SERVICE + r"@(\S+) in ",
                           re.M)
SWARM_REPORTED = re.compile(SWARM_TIME + r"job (\d+) succeeded; reported", re.M)


def stamp(text):
    return datetime.fromisoformat(text + "+00:00").timestamp()


def agent_events(agents, version):
    """Per agent name: its claims of jobs of `version` ({job: time}) and its
    reports ([(time, job)]), from the agents' logs or the swarm's."""
    events = {name: ({}, []) for name, _, _ in agents}
    if agents and os.path.basename(agents[0][2]) == SWARM_LOG:  # one log for all
        text = open(agents[0][2]).read()
        for at, name, job, v in SWARM_CLAIMED.findall(text):
            if v == version and name in events:
                events[name][0][job] = at
        for at, name, job in SWARM_REPORTED.findall(text):
            if name in events:
                events[name][1].append((at, job))
        return events
    for name, _, path in agents:
        text = open(path).read()
        events[name] = ({job: at for at, job, v in CLAIMED.findall(text) if v == version}, REPORTED.findall(text))
    return events


def timeline(agents, version, promoted_at, batch_size):
    """Per batch (agents in name order, as the orchestrator plans them): seconds
    from the promote to its first claim, last claim and last report."""
    rows = []
    events = agent_events(agents, version)
    for start in range(0, len(agents), batch_size):
        claims, reports = [], []
        for name, _, _ in agents[start:start + batch_size]:
            jobs, reported = events[name]
            for at in jobs.values():
                claims.append(stamp(at) - promoted_at)
            for at, job in reported:
                if job in jobs:
                    reports.append(stamp(at) - promoted_at)
        if claims and reports:
            rows.append((min(claims), max(claims), max(reports)))
    return rows


def psql(server, command):
    subprocess.run(["psql", f"{server}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", command], check=True)


def run_ferry(processes, args):
    data_dir = tempfile.mkdtemp(prefix="ferry-bench-fanout-")
    result = {"data_dir": data_dir}
    if args.postgres:
        args.database = f"ferry_bench_fanout_{os.getpid()}"
        psql(args.postgres, f"CREATE DATABASE {args.database}")
    try:
        server, port, token = start_server(processes, args, data_dir)
        env = ferry_env(port, token)
        subprocess.run([args.binary, "apply", "-f", "/dev/stdin"], input=CONFIG, text=True, check=True,
                       stdout=subprocess.DEVNULL, env=env)
        api = Api(port, token)
        began = time.perf_counter()
        if args.simulated:
            agents, ready_path = start_swarm(processes, args, data_dir, port, token)
            wait_for_swarm(agents, ready_path, timeout=max(120, args.agents // 2))
        else:
            agents = start_agents(processes, args, data_dir, api, port)
            wait_for_hellos(agents, timeout=max(120, args.agents // 2))
        print(f"ferry: {args.agents} {'simulated ' if args.simulated else ''}agents started and said hello "
              f"in {time.perf_counter() - began:.1f} s", file=sys.stderr)

        time.sleep(2.0)  # idle: every agent is in its long poll
        own = agent_processes(agents)
        result["agent_idle_rss"] = [proc_status(p.pid, "VmRSS") for p in own]
        result["agent_idle_anon"] = [proc_status(p.pid, "RssAnon") for p in own]
        result["server_idle_rss"] = proc_status(server.pid, "VmRSS")
        pids = [server.pid] + [p.pid for p in own]
        before = [cpu_seconds(pid) for pid in pids]
        idle_window = 5.0
        time.sleep(idle_window)
        after = [cpu_seconds(pid) for pid in pids]
        result["server_idle_cpu"] = (after[0] - before[0]) / idle_window
        result["agents_idle_cpu"] = (sum(after[1:]) - sum(before[1:])) / idle_window

        batch = math.ceil(args.agents * 25 / 100)
        times, cpu = [], []
        meter = CpuMeter(server, agents)
        recorder = None
        if args.perf:
            recorder = processes.start(["perf", "record", "-g", "-o", args.perf, "-p", str(server.pid)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        for run in range(args.runs):
            version = f"1.0.{run}"
            meter.start()
            elapsed, wall, deployment = deploy_once(args, api, env, version)
            used = meter.stop()
            times.append(elapsed)
            cpu.append(used)
            server_side = (datetime.fromisoformat(deployment["updated_at"].replace("Z", "+00:00"))
                           - datetime.fromisoformat(deployment["created_at"].replace("Z", "+00:00"))).total_seconds()
            print(f"ferry{' (simulated agents)' if args.simulated else ''}: run {run + 1}: {elapsed:.3f} s "
                  f"(server: created to succeeded {server_side:.3f} s); CPU: server {used['server']:.2f} s, "
                  f"{'swarm' if args.simulated else 'agents'} {used['agents']:.2f} s, "
                  f"whole machine {used['busy']:.2f} s of {used['capacity']:.2f} s",
                  file=sys.stderr)
            for i, (first, last, done) in enumerate(timeline(agents, version, wall, batch)):
                print(f"  batch {i + 1}: first job claimed {first:6.3f} s, last claimed {last:6.3f} s, "
                      f"last reported {done:6.3f} s", file=sys.stderr)
        if recorder:
            recorder.send_signal(signal.SIGINT)
            recorder.wait()
        result["cpu"] = {key: sum(used[key] for used in cpu) for key in cpu[0]}
        result["times"] = times
        result["agent_peak_rss"] = [proc_status(p.pid, "VmHWM") for p in own]
        result["server_peak_rss"] = proc_status(server.pid, "VmHWM")
        result["server_rss_after"] = proc_status(server.pid, "VmRSS")
        return result
    finally:
        processes.stop_all()
        if args.postgres:
            psql(args.postgres, f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"ferry: data dir, server and agent logs kept in {data_dir}", file=sys.stderr)


# ---------------------------------------------------------------- the floor

def floor_once(agents):
    """Seconds to spawn what the deployment spawns, and nothing else: per
    target the step and then the health check (`sh -c true` each), a batch's
    targets at once, the batches one after another."""
    batch = math.ceil(agents * 25 / 100)
    sizes = [min(batch, agents - start) for start in range(0, agents, batch)]
    script = "; ".join(
        f"i=0; while [ $i -lt {size} ]; do (sh -c true; sh -c true) & i=$((i+1)); done; wait" for size in sizes)
    started = time.perf_counter()
    subprocess.run(["sh", "-c", script], check=True)
    return time.perf_counter() - started


# ---------------------------------------------------------------- Ansible

def ansible_venv(path):
    playbook = os.path.join(path, "bin", "ansible-playbook")
    if not os.path.exists(playbook):
        print(f"installing ansible-core into {path}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", path], check=True)
        subprocess.run([os.path.join(path, "bin", "pip"), "install", "--quiet", "ansible-core"], check=True)
    version = subprocess.run([playbook, "--version"], capture_output=True, text=True, check=True)
    return playbook, version.stdout.splitlines()[0]


def run_ansible(processes, args):
    playbook, version = ansible_venv(args.venv)
    work = tempfile.mkdtemp(prefix="ferry-bench-ansible-")
    python = os.path.join(args.venv, "bin", "python")
    try:
        with open(os.path.join(work, "inventory.ini"), "w") as inventory:
            inventory.write("[fleet]\n")
            for i in range(args.agents):
                inventory.write(f"host{i:04d} ansible_connection=local ansible_python_interpreter={python}\n")
        with open(os.path.join(work, "noop.yml"), "w") as play:
            play.write(PLAYBOOK)
        env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": os.path.join(work, "tmp"),
               "ANSIBLE_HOME": os.path.join(work, "home"), "ANSIBLE_REMOTE_TMP": os.path.join(work, "remote-tmp")}
        times = []
        for run in range(args.runs):
            log_path = os.path.join(work, f"run-{run}.log")
            with open(log_path, "w") as log:
                machine = machine_cpu()
                children = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                process = processes.start([playbook, "-i", "inventory.ini", "-f", str(args.forks), "noop.yml"],
                                          group=True, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT)
                code = process.wait()
                elapsed = time.perf_counter() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                own = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
                busy = machine_cpu()[0] - machine[0]
            text = open(log_path).read()
            if code != 0 or text.count(" ok=2 ") != args.agents:
                raise RuntimeError(f"ansible-playbook exited with {code}; see {log_path}")
            times.append(elapsed)
            print(f"ansible: run {run + 1}: {elapsed:.3f} s; CPU: Ansible {own:.1f} s, "
                  f"whole machine {busy:.1f} s of {elapsed * os.cpu_count():.1f} s", file=sys.stderr)
        return {"times": times, "version": version}
    finally:
        processes.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- report

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "ferry"))
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-ansible", action="store_true")
    parser.add_argument("--forks", type=int, default=50, help="Ansible's forks (default 50)")
    parser.add_argument("--postgres", nargs="?", const="postgres://postgres:postgres@127.0.0.1:5432", metavar="URL",
                        help="run the server on a fresh database of this PostgreSQL server, made with psql and "
                             "dropped after the run (default URL: %(const)s); without it: SQLite")
    parser.add_argument("--venv", default=os.path.join(tempfile.gettempdir(), "ferry-bench-ansible-venv"),
                        help="where ansible-core is installed (made on first use)")
    parser.add_argument("--log-level", default="warn", help="RUST_LOG of the server (its log is server.log)")
    parser.add_argument("--deploy-timeout", type=float, default=600)
    parser.add_argument("--perf", metavar="FILE", help="record a perf profile of the server during the deployments")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and the logs")
    parser.add_argument("--simulated", action="store_true",
                        help="one swarm process of N simulated agents (no processes spawned) instead of N "
                             "`ferry agent` processes")
    parser.add_argument("--swarm-binary", default=os.path.join(ROOT, "target", "release", "examples", "swarm"))
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: run `cargo build --release -p ferry` first")
    if args.simulated and not os.path.exists(args.swarm_binary):
        sys.exit(f"{args.swarm_binary} not found: run `cargo build --release -p ferry-agent --example swarm` first")
    raise_open_files(args.agents, args.simulated)
    # SIGTERM cleans up like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    processes = Processes()
    try:
        ferry = run_ferry(processes, args)
        floor = [floor_once(args.agents) for _ in range(args.runs)]
        print(f"floor: {', '.join(f'{t:.3f}' for t in floor)} s", file=sys.stderr)
        ansible = None if args.skip_ansible else run_ansible(processes, args)
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        processes.stop_all()

    median = statistics.median(ferry["times"])
    backend = "PostgreSQL" if args.postgres else "SQLite"
    simulated = " simulated agents (no processes spawned)" if args.simulated else ""
    kind = "simulated agents (one swarm process, no processes spawned)" if args.simulated else "agents"
    print(f"{args.agents} {kind}, rolling 25%, {args.runs} runs each, server on {backend}"
          + ("" if ansible is None else f"; {ansible['version']}, forks {args.forks}") + "\n")
    if args.simulated:
        print("The floor is what spawning the steps and checks of real agents costs; the simulated agents "
              "spawn nothing.\n")
    print(f"| agents | floor | ferry{',' + simulated if simulated else ''} | ferry, runs | Ansible | Ansible, runs "
          f"| Ansible ÷ ferry |")
    print("|---|---|---|---|---|---|---|")
    runs = lambda times: ", ".join(f"{t:.2f}" for t in times)
    floor_median = statistics.median(floor)
    if ansible:
        a = statistics.median(ansible["times"])
        print(f"| {args.agents} | {floor_median:.2f} s | {median:.2f} s | {runs(ferry['times'])} | {a:.2f} s "
              f"| {runs(ansible['times'])} | {a / median:.1f}× |")
    else:
        print(f"| {args.agents} | {floor_median:.2f} s | {median:.2f} s | {runs(ferry['times'])} | — | — | — |")
    idle, anon, peak = ferry["agent_idle_rss"], ferry["agent_idle_anon"], ferry["agent_peak_rss"]
    print()
    if args.simulated:
        each = lambda kib: f"{mib(kib[0]):.1f} MiB | {kib[0] / args.agents:.1f} KiB"
        print(f"| swarm process memory ({args.agents} simulated agents) | the process | per agent |")
        print("|---|---|---|")
        print(f"| idle RSS | {each(idle)} |")
        print(f"| idle, of which its own (RssAnon) | {each(anon)} |")
        print(f"| peak RSS (VmHWM) after the deployments | {each(peak)} |")
    else:
        memory = lambda kib: f"{mib(statistics.median(kib)):.1f} MiB | {mib(max(kib)):.1f} MiB"
        print(f"| agent memory ({args.agents} agents) | median | max |")
        print("|---|---|---|")
        print(f"| idle RSS | {memory(idle)} |")
        print(f"| idle, of which its own (RssAnon) | {memory(anon)} |")
        print(f"| peak RSS (VmHWM) after the deployments | {memory(peak)} |")
    print()
    print("| server memory | RSS |")
    print("|---|---|")
    print(f"| with {args.agents} idle agents | {mib(ferry['server_idle_rss']):.1f} MiB |")
    print(f"| after the deployments | {mib(ferry['server_rss_after']):.1f} MiB |")
    print(f"| peak (VmHWM) | {mib(ferry['server_peak_rss']):.1f} MiB |")
    print()
    agents = "the swarm" if args.simulated else "agents together"
    print(f"Idle CPU with {args.agents}{' simulated' if args.simulated else ''} agents long-polling: "
          f"server {100 * ferry['server_idle_cpu']:.1f}% of a core, {agents} {100 * ferry['agents_idle_cpu']:.1f}%.")
    cpu, total = ferry["cpu"], sum(ferry["times"])
    print(f"CPU during the {args.runs} deployments ({total:.2f} s): server {cpu['server']:.2f} s, "
          f"{'the swarm' if args.simulated else 'agents'} {cpu['agents']:.2f} s; the machine (steps, checks and "
          f"anything else running included) was "
          f"{100 * cpu['busy'] / cpu['capacity']:.0f}% busy ({os.cpu_count()} cores).")


if __name__ == "__main__":
    main()
