//! Crash safety: `ferry serve` is killed (SIGKILL) at random moments while
//! deployments run, on SQLite and on PostgreSQL, and one agent is killed in
//! the middle of a step. Afterwards every deployment has ended, none is
//! lost, no target ran a deployment twice or two at once, and the audit
//! trail verifies.
//!
//! The moments are drawn from a seeded generator; the seed is printed, and
//! `FERRY_FAULT_SEED` makes the same choices again. `FERRY_FAULT_DEPLOYMENTS` (default 20) sets
//! how many deployments each backend runs.
//!
//! The PostgreSQL run needs `FERRY_TEST_POSTGRES_URL` (a database the test may
//! create a schema in; it works in a fresh schema and drops it). Under CI
//! (`CI` set) a missing URL fails the run rather than skipping it.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::{Agent, Schema, Server, free_port, is_terminal, signal};

/// How many deployments a backend runs unless `FERRY_FAULT_DEPLOYMENTS` says.
const DEFAULT_DEPLOYMENTS: usize = 20;

/// How long everything may take to end after the last promotion: a job whose
/// agent died ends when its lease runs out.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);

/// One environment, no gates, and a service whose one step writes
/// `<deployment> <target> start <pid>` and, a moment later, `… end <pid>`
/// to a file of the target's own. The step is not idempotent: a job whose
/// agent is lost fails instead of running again.
const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "batch"
deploy.steps = [{ name = "work", run = '''
runs="$FERRY_WORK_DIR/runs.log"
echo "$FERRY_DEPLOYMENT_ID $FERRY_TARGET start $$" >>"$runs"
ms=$(( 20 + ($$ * 7919 + FERRY_DEPLOYMENT_ID * 104729) % 280 ))
sleep "$(printf '0.%03d' "$ms")"
echo "$FERRY_DEPLOYMENT_ID $FERRY_TARGET end $$" >>"$runs"
''' }]
"#;

/// A small, seeded generator (SplitMix64): the same seed, the same moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn millis(&mut self, max: u64) -> Duration {
        Duration::from_millis(self.below(max))
    }
}

fn seed() -> u64 {
    match std::env::var("FERRY_FAULT_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .expect("FERRY_FAULT_SEED is a whole number"),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |elapsed| elapsed.as_nanos() as u64),
    }
}

fn deployments_wanted() -> usize {
    std::env::var("FERRY_FAULT_DEPLOYMENTS").map_or(DEFAULT_DEPLOYMENTS, |text| {
        text.trim()
            .parse()
            .expect("FERRY_FAULT_DEPLOYMENTS is a whole number")
    })
}

/// One line of a target's `runs.log`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunLine {
    deployment: i64,
    target: String,
    start: bool,
    pid: u32,
}

/// The lines of `agent`'s `runs.log` so far (a line still being written is
/// left for the next read).
fn runs(agent: &Agent) -> Vec<RunLine> {
    let text = std::fs::read_to_string(agent.work_dir.join("runs.log")).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields[..] {
                [deployment, target, event @ ("start" | "end"), pid] => RunLine {
                    deployment: deployment.parse().unwrap(),
                    target: target.to_owned(),
                    start: event == "start",
                    pid: pid.parse().unwrap(),
                },
                _ => panic!("{}: unexpected line {line:?}", agent.name),
            }
        })
        .collect()
}

/// The run a target is in the middle of, if any.
fn open_run(agent: &Agent) -> Option<RunLine> {
    runs(agent).pop().filter(|line| line.start)
}

/// A step the test cut short by killing its agent.
#[derive(Debug, Clone)]
struct Cut {
    deployment: i64,
    target: String,
}

/// Kills `agent` while it is in the middle of a step, with the processes
/// of the step (as a machine that loses power would), and starts it again
/// with the same token. `None` when the step ended before the kill landed,
/// or when the agent had no step to cut within a few seconds.
fn kill_mid_step(backend: &str, agent: &mut Agent) -> Option<Cut> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let open = loop {
        if let Some(open) = open_run(agent) {
            break open;
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    agent.kill();
    // The step runs in a process group of its own, led by its shell.
    signal("KILL", open.pid, true);
    let cut = open_run(agent).filter(|still| *still == open).map(|_| Cut {
        deployment: open.deployment,
        target: open.target.clone(),
    });
    println!(
        "{backend}: killed agent {} {} step of deployment {}",
        agent.name,
        if cut.is_some() {
            "in the middle of the"
        } else {
            "just after the"
        },
        open.deployment
    );
    agent.restart();
    cut
}

/// Waits until every deployment has ended and stays so over a few
/// orchestrator passes (a failed one may still get its rollback).
fn settle(server: &Server) -> Vec<Value> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut previous: Option<Vec<(i64, String)>> = None;
    loop {
        let all = server.deployments();
        let snapshot: Vec<(i64, String)> = all
            .iter()
            .map(|d| {
                (
                    d["id"].as_i64().unwrap(),
                    d["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let ended = all.iter().all(is_terminal);
        if ended && previous.as_ref() == Some(&snapshot) {
            return all;
        }
        let unfinished: Vec<&(i64, String)> = snapshot
            .iter()
            .filter(|(_, status)| !support::TERMINAL.contains(&status.as_str()))
            .collect();
        assert!(
            Instant::now() < deadline,
            "deployments still unfinished after {SETTLE_TIMEOUT:?}: {unfinished:?}"
        );
        previous = ended.then_some(snapshot);
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// Checks each target's runs: every run started once per deployment, ran
/// alone, and ended, but for the one cut short.
fn check_runs(agents: &[Agent], cut: &Cut) -> BTreeMap<i64, BTreeSet<String>> {
    let mut completed: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for agent in agents {
        let lines = runs(agent);
        let mut started = BTreeSet::new();
        let mut open: Option<&RunLine> = None;
        for line in &lines {
            assert_eq!(line.target, agent.name, "{lines:#?}");
            if line.start {
                assert!(
                    started.insert(line.deployment),
                    "{} ran deployment {} twice: {lines:#?}",
                    agent.name,
                    line.deployment
                );
                if let Some(running) = open {
                    assert!(
                        running.deployment == cut.deployment && running.target == cut.target,
                        "{} started deployment {} while deployment {} ran: {lines:#?}",
                        agent.name,
                        line.deployment,
                        running.deployment
                    );
                }
                open = Some(line);
            } else {
                let running = open.take();
                assert!(
                    running.is_some_and(|r| r.deployment == line.deployment && r.pid == line.pid),
                    "{}: an end without its start: {line:?} in {lines:#?}",
                    agent.name
                );
                completed
                    .entry(line.deployment)
                    .or_default()
                    .insert(agent.name.clone());
            }
        }
        if let Some(running) = open {
            assert!(
                running.deployment == cut.deployment && running.target == cut.target,
                "{} never finished deployment {}: {lines:#?}",
                agent.name,
                running.deployment
            );
        }
    }
    completed
}

/// Runs the fault story against a server on `database` (SQLite in its data
/// directory when `None`).
fn deployments_survive_crashes(backend: &str, database: Option<&str>) {
    let count = deployments_wanted();
    let seed = seed();
    println!("fault test on {backend}: {count} deployments, seed {seed} (FERRY_FAULT_SEED)");
    let mut rng = Rng(seed);
    let started = Instant::now();

    // A fixed port, so the agents find the server again after each restart.
    let listen = format!("127.0.0.1:{}", free_port());
    let mut server = Server::start_with(&listen, database);
    server.apply(CONFIG);
    let mut agents: Vec<Agent> = (1..=3)
        .map(|n| Agent::start(&server, "dev", &format!("node-{n}"), &[]))
        .collect();
    for n in 0..count {
        server
            .ferry(&[
                "release",
                "create",
                "batch",
                "--version",
                &format!("1.0.{n}"),
            ])
            .success();
    }

    // The server dies before some promotions (after a random pause, while
    // the earlier ones run), perhaps after the last one too; one agent dies
    // in the middle of a step a third of the way in.
    let kills = 3 + count / 10;
    let mut kill_before = BTreeSet::new();
    while kill_before.len() < kills.min(count) {
        kill_before.insert(1 + rng.below(count as u64) as usize);
    }
    let agent_from = count / 3;
    let victim = rng.below(agents.len() as u64) as usize;
    let mut cut = None;
    let mut promoted = Vec::new();
    for n in 0..=count {
        if kill_before.contains(&n) {
            std::thread::sleep(rng.millis(600));
            server.kill();
            println!("{backend}: killed the server before promotion {n}");
            server.restart();
        }
        if n >= agent_from && cut.is_none() {
            cut = kill_mid_step(backend, &mut agents[victim]);
        }
        if n < count {
            promoted.push(server.promote(&format!("batch@1.0.{n}"), "dev"));
            std::thread::sleep(rng.millis(200));
        }
    }
    let promoting = started.elapsed();
    let cut = cut.unwrap_or_else(|| {
        panic!(
            "agent {} was never caught in the middle of a step",
            agents[victim].name
        )
    });

    let all = settle(&server);
    println!(
        "{backend}: promoted in {promoting:?}, all ended after {:?}",
        started.elapsed()
    );
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    for deployment in &all {
        *tally
            .entry(deployment["status"].as_str().unwrap_or_default())
            .or_default() += 1;
    }
    println!("{backend}: {tally:?}");

    // None is lost, none made up: the deployments promoted are exactly those
    // that roll nothing back (the others are the server's own rollbacks).
    let promoted_ids: BTreeSet<i64> = promoted.iter().copied().collect();
    assert_eq!(
        promoted_ids.len(),
        count,
        "each promotion made its own deployment"
    );
    let requested: BTreeSet<i64> = all
        .iter()
        .filter(|d| d["rollback_of"].is_null())
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        requested, promoted_ids,
        "the deployments are those promoted"
    );

    // What the server says each target did is what the target did: a job
    // that succeeded ran to its end, no job was started twice (the step is
    // not idempotent; a claim whose answer died with the server is given
    // out again, but only a started attempt runs), and a deployment that
    // succeeded did on every target.
    let export = server.ferry(&["audit", "export"]).success();
    let mut starts: BTreeMap<String, usize> = BTreeMap::new();
    for line in export.stdout.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["action"] == "job.start" {
            *starts
                .entry(event["object"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
    }
    assert!(!starts.is_empty(), "the audit trail records jobs starting");
    for (job, count) in &starts {
        assert_eq!(*count, 1, "{job} was started {count} times");
    }
    let completed = check_runs(&agents, &cut);
    let names: BTreeSet<String> = agents.iter().map(|a| a.name.clone()).collect();
    for deployment in &all {
        let id = deployment["id"].as_i64().unwrap();
        let shown = server.deployment(id);
        let targets = shown["targets"].as_array().cloned().unwrap_or_default();
        let ran = completed.get(&id).cloned().unwrap_or_default();
        for target in &targets {
            let name = target["target"].as_str().unwrap_or_default();
            if target["state"] == "succeeded" {
                assert!(
                    ran.contains(name),
                    "deployment {id} succeeded on {name}, which never ran it to the end: {shown:#}"
                );
            }
        }
        if shown["status"] == "succeeded" && shown["rollback_of"].is_null() {
            assert_eq!(ran, names, "deployment {id} succeeded: {shown:#}");
        }
        if id == cut.deployment {
            // The agent died in the middle of the step: the job failed when
            // its lease ran out, and the deployment with it.
            let lost = targets
                .iter()
                .find(|t| t["target"] == cut.target.as_str())
                .unwrap_or_else(|| panic!("{} has a job in {shown:#}", cut.target));
            assert_eq!(lost["state"], "failed", "{shown:#}");
            assert!(
                lost["error"].as_str().is_some_and(|e| e.contains("lease")),
                "the job failed for its lease: {shown:#}"
            );
            assert!(
                matches!(shown["status"].as_str(), Some("failed" | "rolled_back")),
                "deployment {id} lost a target in the middle of its step: {shown:#}"
            );
        }
    }

    let verified = server.ferry(&["audit", "verify"]);
    assert_eq!(verified.code, 0, "the audit trail verifies: {verified:#?}");
}

#[test]
fn deployments_survive_crashes_on_sqlite() {
    deployments_survive_crashes("SQLite", None);
}

#[test]
fn deployments_survive_crashes_on_postgres() {
    let Ok(base) = std::env::var("FERRY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "FERRY_TEST_POSTGRES_URL is not set: CI must run the PostgreSQL fault test"
        );
        eprintln!("FERRY_TEST_POSTGRES_URL is not set: skipping the PostgreSQL fault test");
        return;
    };
    let schema = Schema::create(&base);
    deployments_survive_crashes("PostgreSQL", Some(&schema.url));
}
