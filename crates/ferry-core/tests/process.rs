//! Reading a service's `deploy` table and planning a deployment's batches.

use std::collections::BTreeMap;

use chrono::Duration;
use ferry_core::process::{
    BatchSize, DeployProcess, HealthCheck, ManualStep, OnFailure, RollbackPolicy, Step, Strategy,
    pauses_after_batch, plan_batches, selects, should_halt,
};
use proptest::prelude::*;
use proptest::strategy::Strategy as _;
use serde_json::{Value, json};

fn read(deploy: Value) -> DeployProcess {
    DeployProcess::from_value(&deploy).unwrap_or_else(|e| panic!("{deploy}: {e}"))
}

fn error(deploy: Value) -> String {
    match DeployProcess::from_value(&deploy) {
        Ok(process) => panic!("{deploy} was read as {process:?}"),
        Err(e) => e.to_string(),
    }
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("agent-{i:04}")).collect()
}

fn sizes(batches: &[Vec<String>]) -> Vec<usize> {
    batches.iter().map(Vec::len).collect()
}

fn rolling(batch: BatchSize) -> Strategy {
    Strategy::Rolling { batch, pause: None }
}

fn canary(stages: &[BatchSize]) -> Strategy {
    Strategy::Canary {
        stages: stages.to_vec(),
        verify: None,
        manual: Default::default(),
    }
}

// ---- reading -------------------------------------------------------------

#[test]
fn the_design_sketch_reads_from_toml() {
    let toml_text = r#"
[[service]]
name = "api"
deploy.strategy = { kind = "rolling", batch = "25%" }
deploy.steps = [{ name = "install", run = "./deploy.sh \"$FERRY_VERSION\"" }]
deploy.health = { http = "http://127.0.0.1:8080/healthz", timeout = "30s", retries = 5 }
"#;
    let config: Value = toml::from_str(toml_text).expect("the sketch is TOML");
    let process = read(config["service"][0]["deploy"].clone());
    assert_eq!(
        process,
        DeployProcess {
            strategy: Strategy::Rolling {
                batch: BatchSize::Percent(25),
                pause: None,
            },
            steps: vec![Step {
                name: "install".into(),
                run: "./deploy.sh \"$FERRY_VERSION\"".into(),
                timeout: None,
                idempotent: false,
            }],
            health: Some(HealthCheck::Http {
                url: "http://127.0.0.1:8080/healthz".into(),
                timeout: Duration::seconds(30),
                retries: 5,
                interval: Duration::seconds(2),
            }),
            rollback: RollbackPolicy::Auto,
            targets: BTreeMap::new(),
            tolerate_failures: 0,
            manual_steps: Vec::new(),
            on_failure: OnFailure::Halt,
        }
    );
    assert!(!process.is_external());
}

#[test]
fn manual_steps_split_the_steps_into_segments() {
    let process = read(json!({
        "steps": [
            { "name": "install", "run": "./install.sh" },
            { "kind": "manual", "instructions": "Check the dashboards", "approvers": "group:ops" },
            { "name": "switch", "run": "./switch.sh" },
            { "kind": "manual", "name": "sign-off", "instructions": "Ask QA", "approvers": ["rosa", "group:qa"] },
        ],
        "on_failure": "ask",
    }));
    assert_eq!(process.on_failure, OnFailure::Ask);
    assert_eq!(
        process.manual_steps,
        [
            ManualStep {
                name: "manual step 2".into(),
                instructions: "Check the dashboards".into(),
                approvers: vec!["group:ops".into()],
                after: 1,
            },
            ManualStep {
                name: "sign-off".into(),
                instructions: "Ask QA".into(),
                approvers: vec!["rosa".into(), "group:qa".into()],
                after: 2,
            },
        ]
    );
    assert_eq!(process.segments(), 3);
    let names = |segment: usize| -> Vec<&str> {
        process
            .segment_steps(segment)
            .iter()
            .map(|step| step.name.as_str())
            .collect()
    };
    assert_eq!(names(0), ["install"]);
    assert_eq!(names(1), ["switch"]);
    assert!(
        names(2).is_empty(),
        "the health check alone runs after the last"
    );
    assert_eq!(process.manual_after(0).unwrap().name, "manual step 2");
    assert!(process.manual_after(2).is_none());
    // Written back in place, and read again the same.
    assert_eq!(read(process.to_value()), process);
    // A process of manual steps alone is still run by ferry.
    let only = read(json!({ "steps": [{ "kind": "manual", "instructions": "Flip the switch" }] }));
    assert!(!only.is_external());
}

#[test]
fn manual_steps_and_on_failure_say_what_is_wrong() {
    let cases = [
        (
            json!({ "steps": [{ "kind": "manual" }] }),
            "deploy.steps[0].instructions: missing; expected what the person is to do",
        ),
        (
            json!({ "steps": [{ "kind": "human", "instructions": "x" }] }),
            "deploy.steps[0].kind: expected \"command\" (the default) or \"manual\"",
        ),
        (
            json!({ "steps": [{ "kind": "manual", "instructions": "x", "approvers": "Group:Ops" }] }),
            "deploy.steps[0].approvers: \"Group:Ops\" is not a user name or \"group:NAME\"",
        ),
        (
            json!({ "steps": [{ "kind": "manual", "instructions": "x", "run": "ls" }] }),
            "deploy.steps[0]: unknown field \"run\"; expected kind, name, instructions or approvers",
        ),
        (
            json!({ "on_failure": "retry" }),
            "deploy.on_failure: expected \"halt\" or \"ask\"",
        ),
        (
            json!({ "strategy": { "kind": "canary", "stages": [{ "stage": "25%", "pause": "auto" }] } }),
            "deploy.strategy.stages[0].pause: expected \"manual\"",
        ),
        (
            json!({ "strategy": { "kind": "canary", "stages": [{ "pause": "manual" }] } }),
            "deploy.strategy.stages[0].stage: missing",
        ),
    ];
    for (deploy, expected) in cases {
        let error = DeployProcess::from_value(&deploy).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{deploy}: {error}");
    }
}

#[test]
fn a_canary_stage_may_wait_for_a_person() {
    let process = read(json!({ "strategy": { "kind": "canary",
        "stages": [1, { "stage": "50%", "pause": "manual" }, "100%"] } }));
    let targets: Vec<String> = (1..=4).map(|i| format!("node-{i}")).collect();
    assert_eq!(sizes(&plan_batches(&process.strategy, &targets)), [1, 1, 2]);
    let pauses: Vec<bool> = (0..3)
        .map(|batch| pauses_after_batch(&process.strategy, 4, batch))
        .collect();
    assert_eq!(pauses, [false, true, false]);
    // A stage that adds no target passes its pause to the batch before it.
    let pauses: Vec<bool> = (0..2)
        .map(|batch| pauses_after_batch(&process.strategy, 2, batch))
        .collect();
    assert_eq!(pauses, [true, false]);
    // The last batch never waits: the deployment is over.
    assert!(!pauses_after_batch(&process.strategy, 1, 0));
    assert_eq!(read(process.to_value()), process);
}

#[test]
fn null_or_empty_is_the_default_external_process() {
    for deploy in [Value::Null, json!({})] {
        let process = read(deploy);
        assert_eq!(process, DeployProcess::default());
        assert_eq!(process.strategy, Strategy::All);
        assert_eq!(process.rollback, RollbackPolicy::Auto);
        assert!(process.is_external());
        assert!(process.health.is_none());
        assert!(process.targets.is_empty());
        assert_eq!(process.tolerate_failures, 0);
    }
}

#[test]
fn each_strategy_form_reads() {
    let cases = [
        (json!({"kind": "all"}), Strategy::All),
        (json!("all"), Strategy::All),
        (
            json!({"kind": "rolling", "batch": "25%"}),
            rolling(BatchSize::Percent(25)),
        ),
        (
            json!({"kind": "rolling", "batch": 2, "pause": "30s"}),
            Strategy::Rolling {
                batch: BatchSize::Count(2),
                pause: Some(Duration::seconds(30)),
            },
        ),
        (
            json!({"kind": "rolling", "batch": "100%"}),
            rolling(BatchSize::Percent(100)),
        ),
        (
            json!({"kind": "canary", "stages": [1, "25%", "100%"], "verify": "5m"}),
            Strategy::Canary {
                stages: vec![
                    BatchSize::Count(1),
                    BatchSize::Percent(25),
                    BatchSize::Percent(100),
                ],
                verify: Some(Duration::minutes(5)),
                manual: Default::default(),
            },
        ),
        (
            json!({"kind": "canary", "stages": ["1%"]}),
            canary(&[BatchSize::Percent(1)]),
        ),
    ];
    for (strategy, expected) in cases {
        let process = read(json!({ "strategy": strategy }));
        assert_eq!(process.strategy, expected, "{strategy}");
    }
}

#[test]
fn every_field_reads() {
    let process = read(json!({
        "strategy": {"kind": "canary", "stages": [1, "50%"], "verify": "1h30m"},
        "steps": [
            {"name": "stop", "run": "systemctl stop api", "timeout": "10m", "idempotent": true},
            {"name": "install", "run": "./install.sh"},
        ],
        "health": {"command": "curl -f http://localhost/healthz", "timeout": "5s", "retries": 0, "interval": "1s"},
        "rollback": "manual",
        "targets": {"role": "web", "zone": "eu-1"},
        "tolerate_failures": 2,
    }));
    assert_eq!(
        process.steps,
        vec![
            Step {
                name: "stop".into(),
                run: "systemctl stop api".into(),
                timeout: Some(Duration::minutes(10)),
                idempotent: true,
            },
            Step {
                name: "install".into(),
                run: "./install.sh".into(),
                timeout: None,
                idempotent: false,
            },
        ]
    );
    assert_eq!(
        process.health,
        Some(HealthCheck::Command {
            run: "curl -f http://localhost/healthz".into(),
            timeout: Duration::seconds(5),
            retries: 0,
            interval: Duration::seconds(1),
        })
    );
    assert_eq!(process.rollback, RollbackPolicy::Manual);
    assert_eq!(
        process.targets,
        BTreeMap::from([
            ("role".to_owned(), "web".to_owned()),
            ("zone".to_owned(), "eu-1".to_owned()),
        ])
    );
    assert_eq!(process.tolerate_failures, 2);
    assert_eq!(
        process.strategy,
        Strategy::Canary {
            stages: vec![BatchSize::Count(1), BatchSize::Percent(50)],
            verify: Some(Duration::minutes(90)),
            manual: Default::default(),
        }
    );
}

#[test]
fn health_check_defaults() {
    let process = read(json!({"health": {"http": "http://127.0.0.1:8080/healthz"}}));
    let health = process.health.expect("a health check");
    assert_eq!(
        health,
        HealthCheck::Http {
            url: "http://127.0.0.1:8080/healthz".into(),
            timeout: Duration::seconds(30),
            retries: 3,
            interval: Duration::seconds(2),
        }
    );
    assert_eq!(health.timeout(), Duration::seconds(30));
    assert_eq!(health.retries(), 3);
    assert_eq!(health.interval(), Duration::seconds(2));
}

#[test]
fn errors_name_the_field_and_what_is_expected() {
    let batch_form = "expected a count of targets (a whole number, at least 1, such as 2) or a percentage of them from \"1%\" to \"100%\" (such as \"25%\")";
    let cases: Vec<(Value, String)> = vec![
        (
            json!({"health": {"http": "file:///etc/passwd"}}),
            "deploy.health.http: \"file:///etc/passwd\" is not an http:// or https:// URL; expected one such as \"http://127.0.0.1:8080/healthz\"".into(),
        ),
        (
            json!({"health": {"http": "http:///healthz"}}),
            "deploy.health.http: \"http:///healthz\" names no host; expected one such as \"http://127.0.0.1:8080/healthz\"".into(),
        ),
        (
            json!({"strategy": {"kind": "blue-green"}}),
            "deploy.strategy.kind: unknown strategy \"blue-green\"; expected \"all\", \"rolling\" or \"canary\"".into(),
        ),
        (
            json!({"strategy": {"batch": 2}}),
            "deploy.strategy.kind: missing; expected \"all\", \"rolling\" or \"canary\"".into(),
        ),
        (
            json!({"strategy": {"kind": "rolling", "batch": "0%"}}),
            format!("deploy.strategy.batch: {batch_form}, got \"0%\""),
        ),
        (
            json!({"strategy": {"kind": "rolling", "batch": "101%"}}),
            format!("deploy.strategy.batch: {batch_form}, got \"101%\""),
        ),
        (
            json!({"strategy": {"kind": "rolling", "batch": 0}}),
            format!("deploy.strategy.batch: {batch_form}, got 0"),
        ),
        (
            json!({"strategy": {"kind": "rolling", "batch": "2.5%"}}),
            format!("deploy.strategy.batch: {batch_form}, got \"2.5%\""),
        ),
        (
            json!({"strategy": {"kind": "rolling", "batch": "3"}}),
            format!("deploy.strategy.batch: {batch_form}, got \"3\""),
        ),
        (
            json!({"strategy": {"kind": "rolling", "batch": -1}}),
            format!("deploy.strategy.batch: {batch_form}, got -1"),
        ),
        (
            json!({"strategy": {"kind": "rolling"}}),
            format!("deploy.strategy.batch: missing; {batch_form}"),
        ),
        (
            json!({"strategy": {"kind": "canary", "stages": [1, "0%"]}}),
            format!("deploy.strategy.stages[1]: {batch_form}, got \"0%\""),
        ),
        (
            json!({"strategy": {"kind": "canary", "stages": []}}),
            "deploy.strategy.stages: expected a non-empty list of stage sizes, each a count of targets or a percentage of them, such as [1, \"25%\", \"100%\"] (a stage may be a table { stage = \"25%\", pause = \"manual\" }), got a list".into(),
        ),
        (
            json!({"strategy": {"kind": "canary", "stages": ["50%", 1, "25%"]}}),
            "deploy.strategy.stages[2]: 25% does not grow past the earlier stage 50%; stages are cumulative (each covers the targets of those before it), so expected each larger than the last of its form".into(),
        ),
        (
            json!({"strategy": {"kind": "canary", "stages": ["100%", 5]}}),
            "deploy.strategy.stages[1]: 5 comes after \"100%\", which covers every target already; expected \"100%\" to be the last stage".into(),
        ),
        (
            json!({"strategy": {"kind": "rolling", "batch": 2, "pause": "soon"}}),
            "deploy.strategy.pause: \"soon\" is not a duration; expected whole numbers each followed by d, h, m or s, largest unit first, such as 8h, 90m, 1h30m, 2d, 45s or 1d12h".into(),
        ),
        (
            json!({"strategy": {"kind": "all", "batch": 2}}),
            "deploy.strategy: unknown field \"batch\"; expected kind".into(),
        ),
        (
            json!({"strategy": {"kind": "rolling", "batch": 2, "stages": [1]}}),
            "deploy.strategy: unknown field \"stages\"; expected kind, batch or pause".into(),
        ),
        (
            json!({"health": {"http": "http://x/", "command": "true"}}),
            "deploy.health: has both http and command; expected exactly one of them".into(),
        ),
        (
            json!({"health": {"timeout": "5s"}}),
            "deploy.health: missing the check; expected exactly one of http (a URL) or command".into(),
        ),
        (
            json!({"health": {"http": "http://x/", "timeout": "0s"}}),
            "deploy.health.timeout: expected a duration longer than zero, got \"0s\"".into(),
        ),
        (
            json!({"health": {"http": "http://x/", "retries": -1}}),
            "deploy.health.retries: expected how many times a failed check is retried (a whole number, 0 or more), got -1".into(),
        ),
        (
            json!({"health": {"url": "http://x/"}}),
            "deploy.health: unknown field \"url\"; expected http, command, timeout, retries or interval".into(),
        ),
        (
            json!({"stratgy": {"kind": "all"}}),
            "deploy: unknown field \"stratgy\"; expected strategy, steps, health, rollback, targets, tolerate_failures or on_failure".into(),
        ),
        (
            json!({"steps": [{"name": "a", "run": "true", "retry": true}]}),
            "deploy.steps[0]: unknown field \"retry\"; expected kind, name, run, timeout or idempotent".into(),
        ),
        (
            json!({"steps": [{"name": "a"}]}),
            "deploy.steps[0].run: missing; expected the command to run (a non-empty string)".into(),
        ),
        (
            json!({"steps": [{"name": "", "run": "true"}]}),
            "deploy.steps[0].name: expected the step's name (a non-empty string), got \"\"".into(),
        ),
        (
            json!({"steps": [{"name": "a", "run": "true"}, {"name": "a", "run": "false"}]}),
            "deploy.steps[1].name: \"a\" is the name of an earlier step; expected names unique in the process".into(),
        ),
        (
            json!({"steps": [{"name": "a", "run": "true", "timeout": 30}]}),
            "deploy.steps[0].timeout: expected a duration such as \"30s\", \"10m\" or \"1h30m\", got 30".into(),
        ),
        (
            json!({"steps": [{"name": "a", "run": "true", "idempotent": "yes"}]}),
            "deploy.steps[0].idempotent: expected true or false, got \"yes\"".into(),
        ),
        (
            json!({"steps": {"name": "a", "run": "true"}}),
            "deploy.steps: expected a list of steps such as [{ name = \"install\", run = \"./deploy.sh\" }], got a table".into(),
        ),
        (
            json!({"rollback": "never"}),
            "deploy.rollback: expected \"auto\" or \"manual\", got \"never\"".into(),
        ),
        (
            json!({"targets": {"role": 1}}),
            "deploy.targets.role: expected the tag's value (a string), got 1".into(),
        ),
        (
            json!({"tolerate_failures": -1}),
            "deploy.tolerate_failures: expected how many failed targets are tolerated (a whole number, 0 or more), got -1".into(),
        ),
        (
            json!("rolling"),
            "deploy: expected a table (such as { steps = [...] }), got \"rolling\"".into(),
        ),
    ];
    for (deploy, expected) in cases {
        assert_eq!(error(deploy.clone()), expected, "{deploy}");
    }
}

#[test]
fn serde_round_trips_and_keeps_the_rules() {
    let deploy = json!({
        "strategy": {"kind": "canary", "stages": [1, "25%", "100%"], "verify": "5m"},
        "steps": [{"name": "install", "run": "./deploy.sh", "timeout": "1h30m", "idempotent": true}],
        "health": {"http": "http://127.0.0.1:8080/healthz", "retries": 5},
        "rollback": "manual",
        "targets": {"role": "web"},
        "tolerate_failures": 1,
    });
    let process = read(deploy);
    let written = serde_json::to_value(&process).expect("serialises");
    assert_eq!(written, process.to_value());
    assert_eq!(written["health"]["timeout"], json!("30s"));
    assert_eq!(written["steps"][0]["timeout"], json!("1h30m"));
    let back: DeployProcess = serde_json::from_value(written).expect("deserialises");
    assert_eq!(back, process);

    let refused = serde_json::from_value::<DeployProcess>(
        json!({"strategy": {"kind": "rolling", "batch": 0}}),
    )
    .expect_err("batch 0 is refused");
    assert!(
        refused.to_string().starts_with("deploy.strategy.batch: "),
        "{refused}"
    );
}

// ---- decisions -----------------------------------------------------------

#[test]
fn selectors_match_tags() {
    let tags = BTreeMap::from([
        ("role".to_owned(), "web".to_owned()),
        ("zone".to_owned(), "eu-1".to_owned()),
    ]);
    let selector = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert!(selects(&selector(&[]), &tags));
    assert!(selects(&selector(&[]), &BTreeMap::new()));
    assert!(selects(&selector(&[("role", "web")]), &tags));
    assert!(selects(
        &selector(&[("role", "web"), ("zone", "eu-1")]),
        &tags
    ));
    assert!(!selects(&selector(&[("role", "db")]), &tags));
    assert!(!selects(
        &selector(&[("role", "web"), ("tier", "gold")]),
        &tags
    ));
    assert!(!selects(&selector(&[("role", "web")]), &BTreeMap::new()));
}

#[test]
fn halts_beyond_the_tolerance() {
    assert!(!should_halt(0, 0));
    assert!(should_halt(1, 0));
    assert!(!should_halt(2, 2));
    assert!(should_halt(3, 2));
    assert!(should_halt(u32::MAX, u32::MAX - 1));
    assert!(!should_halt(u32::MAX, u32::MAX));
}

#[test]
fn batch_plans() {
    use BatchSize::{Count, Percent};
    let canary_1_25_100 = canary(&[Count(1), Percent(25), Percent(100)]);
    let cases: Vec<(Strategy, usize, Vec<usize>)> = vec![
        // all
        (Strategy::All, 0, vec![]),
        (Strategy::All, 1, vec![1]),
        (Strategy::All, 2, vec![2]),
        (Strategy::All, 7, vec![7]),
        (Strategy::All, 8, vec![8]),
        (Strategy::All, 200, vec![200]),
        // rolling 25%
        (rolling(Percent(25)), 0, vec![]),
        (rolling(Percent(25)), 1, vec![1]),
        (rolling(Percent(25)), 2, vec![1, 1]),
        (rolling(Percent(25)), 7, vec![2, 2, 2, 1]),
        (rolling(Percent(25)), 8, vec![2, 2, 2, 2]),
        (rolling(Percent(25)), 200, vec![50, 50, 50, 50]),
        // rolling 1%, 100%, 30%
        (rolling(Percent(1)), 7, vec![1; 7]),
        (rolling(Percent(1)), 200, vec![2; 100]),
        (rolling(Percent(100)), 7, vec![7]),
        (rolling(Percent(30)), 7, vec![3, 3, 1]),
        // rolling by count
        (rolling(Count(2)), 1, vec![1]),
        (rolling(Count(2)), 2, vec![2]),
        (rolling(Count(2)), 7, vec![2, 2, 2, 1]),
        (rolling(Count(3)), 8, vec![3, 3, 2]),
        (rolling(Count(10)), 8, vec![8]),
        (rolling(Count(1)), 2, vec![1, 1]),
        (rolling(Count(64)), 200, vec![64, 64, 64, 8]),
        // canary [1, 25%, 100%]
        (canary_1_25_100.clone(), 0, vec![]),
        (canary_1_25_100.clone(), 1, vec![1]),
        (canary_1_25_100.clone(), 2, vec![1, 1]),
        (canary_1_25_100.clone(), 7, vec![1, 1, 5]),
        (canary_1_25_100.clone(), 8, vec![1, 1, 6]),
        (canary_1_25_100, 200, vec![1, 49, 150]),
        // a last stage short of everything still completes the set
        (canary(&[Count(1), Percent(50)]), 8, vec![1, 3, 4]),
        (canary(&[Count(2)]), 7, vec![2, 5]),
        (canary(&[Count(5)]), 2, vec![2]),
        (
            canary(&[Percent(10), Count(1), Count(30)]),
            200,
            vec![20, 10, 170],
        ),
        // stages that cover nothing new add no batch
        (canary(&[Count(1), Percent(10)]), 7, vec![1, 6]),
        (
            canary(&[Percent(50), Count(2), Percent(100)]),
            8,
            vec![4, 4],
        ),
    ];
    for (strategy, n, expected) in cases {
        let targets = names(n);
        let batches = plan_batches(&strategy, &targets);
        assert_eq!(sizes(&batches), expected, "{strategy:?} over {n}");
        assert_eq!(batches.concat(), targets, "{strategy:?} over {n}");
    }
}

#[test]
fn canary_example_from_the_documentation() {
    let process = read(json!({"strategy": {"kind": "canary", "stages": [1, "25%", "100%"]}}));
    let batches = plan_batches(&process.strategy, &names(8));
    assert_eq!(
        batches,
        vec![
            vec!["agent-0000".to_owned()],
            vec!["agent-0001".to_owned()],
            names(8)[2..].to_vec(),
        ]
    );
}

// ---- properties ----------------------------------------------------------

fn batch_size() -> impl proptest::strategy::Strategy<Value = BatchSize> {
    prop_oneof![
        (1u32..=300).prop_map(BatchSize::Count),
        (1u8..=100).prop_map(BatchSize::Percent),
    ]
}

fn strategy() -> impl proptest::strategy::Strategy<Value = ferry_core::process::Strategy> {
    prop_oneof![
        Just(ferry_core::process::Strategy::All),
        batch_size().prop_map(rolling),
        proptest::collection::vec(batch_size(), 1..6).prop_map(|stages| canary(&stages)),
    ]
}

proptest! {
    #[test]
    fn batches_partition_the_targets_in_order(strategy in strategy(), n in 0usize..=250) {
        let targets = names(n);
        let batches = plan_batches(&strategy, &targets);
        prop_assert!(batches.iter().all(|batch| !batch.is_empty()));
        prop_assert_eq!(batches.concat(), targets);
        prop_assert_eq!(batches.is_empty(), n == 0);
    }

    #[test]
    fn rolling_batches_have_the_batch_size_but_the_last(batch in batch_size(), n in 1usize..=250) {
        let batches = plan_batches(&rolling(batch), &names(n));
        let size = batch.of(n).max(1);
        let (last, rest) = batches.split_last().expect("targets give a batch");
        prop_assert!(rest.iter().all(|b| b.len() == size));
        prop_assert!(!last.is_empty() && last.len() <= size);
        if let BatchSize::Percent(percent) = batch {
            prop_assert_eq!(size, (n * usize::from(percent)).div_ceil(100));
        }
    }

    #[test]
    fn canary_first_batch_is_the_first_stage(stages in proptest::collection::vec(batch_size(), 1..6), n in 1usize..=250) {
        let batches = plan_batches(&canary(&stages), &names(n));
        let first = match stages[0] {
            BatchSize::Count(count) => (count as usize).min(n),
            BatchSize::Percent(percent) => (n * usize::from(percent)).div_ceil(100).clamp(1, n),
        };
        prop_assert_eq!(batches[0].len(), first);
    }

    #[test]
    fn what_is_read_round_trips(strategy in strategy(), tolerate in 0u32..5, manual in any::<bool>(), secs in 1i64..200_000) {
        let process = DeployProcess {
            strategy,
            steps: vec![Step { name: "s".into(), run: "true".into(), timeout: Some(Duration::seconds(secs)), idempotent: manual }],
            health: Some(HealthCheck::Command { run: "true".into(), timeout: Duration::seconds(secs), retries: tolerate, interval: Duration::seconds(secs - 1) }),
            rollback: if manual { RollbackPolicy::Manual } else { RollbackPolicy::Auto },
            targets: BTreeMap::from([("role".to_owned(), "web".to_owned())]),
            tolerate_failures: tolerate,
            manual_steps: if manual {
                vec![ManualStep { name: "look".into(), instructions: "look at it".into(), approvers: vec!["group:ops".into()], after: 1 }]
            } else {
                Vec::new()
            },
            on_failure: if manual { OnFailure::Ask } else { OnFailure::Halt },
        };
        // Canary stages of one form that do not grow, and stages after
        // "100%", are refused when read;
        // every other generated process is valid and reads back the same.
        match DeployProcess::from_value(&process.to_value()) {
            Ok(back) => prop_assert_eq!(back, process),
            Err(e) => {
                let is_canary = matches!(process.strategy, ferry_core::process::Strategy::Canary { .. });
                let refused = e.to_string();
                prop_assert!(
                    is_canary && (refused.contains("does not grow") || refused.contains("after \"100%\"")),
                    "{}",
                    e
                );
            }
        }
    }
}
