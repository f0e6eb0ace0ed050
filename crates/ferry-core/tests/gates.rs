//! The gates: one table test per blocker code (an input that is allowed,
//! changed in one way, gives exactly that blocker), the warnings, and
//! properties over random inputs.

use chrono::{DateTime, Duration, TimeZone, Utc};
use ferry_core::Name;
use ferry_core::change::{ChangeKind, ChangeState};
use ferry_core::environment::{EnvironmentSpec, Policy, Tier};
use ferry_core::gates::{
    ActiveFreeze, ChangeFact, Decision, EvidenceFact, GateInput, Verdict, code, count_approvals,
    evaluate, previous_phase_soak,
};
use ferry_core::lifecycle::{LifecycleSpec, Phase};
use ferry_core::lock::{BadMark, LockFact};
use ferry_core::release_plan::{RequiredTask, TaskState};
use ferry_core::risk::{RiskAssessment, RiskFactor, RiskLevel};
use ferry_core::windows::WindowCheck;
use proptest::prelude::*;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// Tuesday 2026-03-10 11:00 UTC.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 11, 0, 0).unwrap()
}

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

fn risk(level: RiskLevel) -> RiskAssessment {
    let score = match level {
        RiskLevel::Low => 4,
        RiskLevel::Medium => 30,
        RiskLevel::High => 60,
        RiskLevel::Critical => 90,
    };
    RiskAssessment {
        score,
        level,
        factors: vec![RiskFactor {
            code: "change-size".into(),
            description: "lots".into(),
            points: score,
        }],
    }
}

fn decision(user: &str, groups: &[&str], approve: bool, at: DateTime<Utc>) -> Decision {
    Decision {
        user: user.into(),
        email: Some(format!("{user}@example.com")),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        approve,
        comment: String::new(),
        at,
    }
}

fn evidence(name: &str, passed: bool, at: DateTime<Utc>) -> EvidenceFact {
    EvidenceFact {
        name: name.into(),
        passed,
        summary: if passed {
            "120 tests".into()
        } else {
            "120 tests, 2 failed".into()
        },
        at,
    }
}

fn change(id: i64, kind: ChangeKind, state: ChangeState) -> ChangeFact {
    ChangeFact {
        id,
        kind,
        state,
        window: None,
        conflicts_with: vec![],
    }
}

fn lock(environment: &str, service: Option<&str>) -> LockFact {
    LockFact {
        environment: name(environment),
        service: service.map(name),
        reason: "incident 42".into(),
        locked_by: "rosa".into(),
        locked_at: now() - Duration::hours(2),
    }
}

fn task(id: i64, state: TaskState) -> RequiredTask {
    RequiredTask {
        id,
        title: "QA sign-off".into(),
        assignee: Some("group:qa".into()),
        state,
        due: Some(now() - Duration::hours(1)),
    }
}

/// Everything a [`GateInput`] borrows, owned.
#[derive(Debug, Clone)]
struct Fixture {
    service: String,
    version: semver::Version,
    abandoned: bool,
    marked_bad: Option<BadMark>,
    locks: Vec<LockFact>,
    tasks: Vec<RequiredTask>,
    creator: String,
    authors: Vec<String>,
    environment: EnvironmentSpec,
    lifecycle: LifecycleSpec,
    succeeded_in: Vec<(Name, DateTime<Utc>)>,
    decisions: Vec<Decision>,
    evidence: Vec<EvidenceFact>,
    changes: Vec<ChangeFact>,
    window: WindowCheck,
    freeze: Option<ActiveFreeze>,
    risk: RiskAssessment,
    emergency: Option<String>,
    now: DateTime<Utc>,
}

impl Fixture {
    /// A promotion of api@1.4.0 into prod that every gate allows: prod wants
    /// one approval by alice or ops, unit and e2e evidence, an approved change
    /// request and at most high risk.
    fn allowed() -> Self {
        Self {
            service: "api".into(),
            version: semver::Version::new(1, 4, 0),
            abandoned: false,
            marked_bad: None,
            // A lock of another service in prod and one of staging hold
            // nothing here; a settled task neither.
            locks: vec![lock("prod", Some("web")), lock("staging", None)],
            tasks: vec![task(3, TaskState::Done), task(4, TaskState::Skipped)],
            creator: "carol".into(),
            authors: vec!["dave".into(), "Dave@Example.com".into()],
            environment: EnvironmentSpec {
                name: name("prod"),
                tier: Tier::Production,
                description: String::new(),
                policy: Policy {
                    approvals: 1,
                    approvers: vec!["alice".into(), "group:ops".into()],
                    evidence: vec!["unit".into(), "e2e".into()],
                    change_request: true,
                    max_risk: Some("high".into()),
                    separation_of_duties: true,
                    ..Policy::default()
                },
                windows: vec![],
                variables: Default::default(),
                protected: false,
                lock_after_rollback: false,
            },
            lifecycle: LifecycleSpec {
                name: name("default"),
                phases: vec![
                    Phase {
                        environments: vec![name("dev")],
                        auto: false,
                    },
                    Phase {
                        environments: vec![name("qa"), name("staging")],
                        auto: false,
                    },
                    Phase {
                        environments: vec![name("prod")],
                        auto: false,
                    },
                ],
            },
            succeeded_in: vec![
                (name("dev"), now() - Duration::days(3)),
                (name("staging"), now() - Duration::days(2)),
            ],
            decisions: vec![decision("alice", &[], true, now() - minutes(30))],
            evidence: vec![
                evidence("unit", true, now() - minutes(90)),
                evidence("e2e", true, now() - minutes(60)),
            ],
            changes: vec![change(12, ChangeKind::Normal, ChangeState::Approved)],
            window: WindowCheck::Open {
                until: now() + Duration::hours(4),
            },
            freeze: None,
            risk: risk(RiskLevel::Low),
            emergency: None,
            now: now(),
        }
    }

    fn input(&self) -> GateInput<'_> {
        GateInput {
            service: &self.service,
            version: &self.version,
            release_abandoned: self.abandoned,
            marked_bad: self.marked_bad.as_ref(),
            locks: &self.locks,
            required_tasks: &self.tasks,
            release_creator: &self.creator,
            commit_authors: &self.authors,
            environment: &self.environment,
            lifecycle: &self.lifecycle,
            succeeded_in: &self.succeeded_in,
            decisions: &self.decisions,
            evidence: &self.evidence,
            changes: &self.changes,
            window: self.window.clone(),
            freeze: self.freeze.clone(),
            risk: &self.risk,
            emergency: self.emergency.as_deref(),
            now: self.now,
        }
    }

    fn verdict(&self) -> Verdict {
        evaluate(&self.input())
    }

    fn policy(&mut self) -> &mut Policy {
        &mut self.environment.policy
    }
}

fn codes(findings: &[ferry_core::gates::Finding]) -> Vec<&str> {
    findings
        .iter()
        .map(|finding| finding.code.as_str())
        .collect()
}

#[test]
fn the_base_fixture_is_allowed_without_warnings() {
    let verdict = Fixture::allowed().verdict();
    assert!(verdict.allowed, "{verdict:#?}");
    assert!(verdict.blockers.is_empty());
    assert!(verdict.warnings.is_empty(), "{:#?}", verdict.warnings);
    assert_eq!(verdict.risk, risk(RiskLevel::Low));
}

type Change = fn(&mut Fixture);

/// Each row changes the allowed fixture in one way and expects exactly one
/// blocker, with words its message and its "clear" must hold.
const BLOCKERS: &[(&str, Change, &str, &str)] = &[
    (
        "release-abandoned",
        |f| f.abandoned = true,
        "api@1.4.0 was abandoned",
        "ferry release create api",
    ),
    (
        "marked-bad",
        |f| {
            f.marked_bad = Some(BadMark {
                environment: name("prod"),
                reason: "health check failed on node-2".into(),
                marked_by: "ferry".into(),
                marked_at: now() - Duration::days(1),
                deployment: Some(7),
            })
        },
        "api@1.4.0 was rolled back from prod and marked bad there by ferry at 2026-03-09T11:00:00Z: health check failed on node-2",
        "ferry release unmark api@1.4.0 --env prod --reason TEXT",
    ),
    (
        "locked",
        |f| f.locks.push(lock("prod", None)),
        "prod is locked by rosa since 2026-03-10T09:00:00Z: incident 42",
        "once the reason is gone: ferry unlock prod --reason TEXT",
    ),
    (
        "locked",
        // Even on the emergency path.
        |f| {
            f.locks.push(lock("prod", Some("api")));
            f.emergency = Some("the site is down".into());
        },
        "api in prod is locked by rosa",
        "ferry unlock prod --service api --reason TEXT",
    ),
    (
        "task-required",
        |f| f.tasks.push(task(5, TaskState::InProgress)),
        "task 5 \"QA sign-off\" of the plan must be done before prod; it is in progress, assigned to group:qa, overdue since 2026-03-10T10:00:00Z",
        "ferry plan task done 5 (or, if it is not needed: ferry plan task skip 5 --reason TEXT)",
    ),
    (
        "not-in-lifecycle",
        |f| f.lifecycle.phases.truncate(2),
        "prod is not in lifecycle default of api (its environments: dev, qa, staging)",
        "add prod to a phase of lifecycle default",
    ),
    (
        "lifecycle-order",
        |f| f.succeeded_in.truncate(1),
        "not yet succeeded in any of qa, staging",
        "ferry promote api@1.4.0 --to qa",
    ),
    (
        "emergency-reason-missing",
        |f| f.emergency = Some("   ".into()),
        "needs a written justification",
        "ferry promote api@1.4.0 --to prod --emergency --reason",
    ),
    (
        "frozen",
        |f| {
            f.freeze = Some(ActiveFreeze {
                name: "year-end".into(),
                reason: "holidays".into(),
                end: Utc.with_ymd_and_hms(2027, 1, 4, 0, 0, 0).unwrap(),
            })
        },
        "prod is frozen by year-end until 2027-01-04T00:00:00Z: holidays",
        "ferry promote api@1.4.0 --to prod --at 2027-01-04T00:00:00Z",
    ),
    (
        "outside-window",
        |f| {
            f.window = WindowCheck::Closed {
                next_open: Some(Utc.with_ymd_and_hms(2026, 3, 11, 9, 0, 0).unwrap()),
            }
        },
        "no deployment window of prod is open now (2026-03-10T11:00:00Z)",
        "the next window opens at 2026-03-11T09:00:00Z: ferry promote api@1.4.0 --to prod --at 2026-03-11T09:00:00Z",
    ),
    (
        "outside-window",
        |f| f.window = WindowCheck::Closed { next_open: None },
        "none opens again",
        "promote with --at TIME",
    ),
    (
        "approval-rejected",
        |f| {
            let mut no = decision("bob", &["ops"], false, now() - minutes(10));
            no.comment = "breaks checkout".into();
            f.decisions.push(no);
        },
        "bob rejected api@1.4.0 for prod at 2026-03-10T10:50:00Z: \"breaks checkout\"",
        "bob can withdraw the rejection by approving: ferry approve api@1.4.0 --env prod",
    ),
    (
        "approval-rejected",
        // A rejection by the creator blocks, although their approval would not count.
        |f| {
            f.policy().approvers.clear();
            f.decisions
                .push(decision("carol", &[], false, now() - minutes(5)));
        },
        "carol rejected",
        "ferry approve api@1.4.0 --env prod",
    ),
    (
        "approvals-missing",
        |f| f.decisions.clear(),
        "prod needs 1 approval of api@1.4.0; 0 counted",
        "ferry approve api@1.4.0 --env prod (1 more approval needed; allowed: alice, group:ops)",
    ),
    (
        "approvals-missing",
        |f| {
            f.policy().approvals = 2;
            f.decisions
                .push(decision("bob", &["dev"], true, now() - minutes(5)));
        },
        "prod needs 2 approvals of api@1.4.0; 1 counted (alice); 1 approval not counted",
        "(1 more approval needed; allowed: alice, group:ops)",
    ),
    (
        "approvals-missing",
        // The creator approving their own release does not count.
        |f| f.creator = "Alice".into(),
        "0 counted; 1 approval not counted",
        "ferry approve api@1.4.0 --env prod",
    ),
    (
        "approvals-missing",
        // Nor does an author, recognised by e-mail.
        |f| f.decisions[0].email = Some("DAVE@example.com".into()),
        "0 counted",
        "allowed: alice, group:ops",
    ),
    (
        "evidence-missing",
        |f| f.evidence.retain(|fact| fact.name != "e2e"),
        "prod requires evidence \"e2e\" of api@1.4.0; none was recorded",
        "ferry evidence add api@1.4.0 --env prod --check e2e=pass",
    ),
    (
        "evidence-failed",
        |f| f.evidence.push(evidence("unit", false, now() - minutes(1))),
        "the newest result of evidence \"unit\" of api@1.4.0, at 2026-03-10T10:59:00Z, failed (120 tests, 2 failed)",
        "fix the failures and record a passing result: ferry evidence add api@1.4.0 --env prod --check unit=pass",
    ),
    (
        "evidence-failed",
        // At equal times a failure wins over a pass.
        |f| f.evidence.push(evidence("e2e", false, now() - minutes(60))),
        "\"e2e\"",
        "ferry evidence add",
    ),
    (
        "change-request-missing",
        |f| f.changes.clear(),
        "prod requires an approved, scheduled or implemented change request for api@1.4.0 (none is linked)",
        "ferry change create",
    ),
    (
        "change-request-missing",
        |f| {
            f.changes = vec![
                change(13, ChangeKind::Normal, ChangeState::Rejected),
                change(12, ChangeKind::Emergency, ChangeState::Submitted),
            ]
        },
        "(#12 is submitted, #13 is rejected)",
        "have change request #12 approved: ferry change approve 12",
    ),
    (
        "change-conflict",
        |f| f.changes[0].conflicts_with = vec![15, 14, 15],
        "change request #12 conflicts with #14, #15",
        "ferry change schedule 12",
    ),
    (
        "risk-too-high",
        |f| f.risk = risk(RiskLevel::Critical),
        "the risk of api@1.4.0 into prod is critical (90/100), above the maximum high; largest factors: change-size +90",
        "release smaller changes, or have max_risk of prod raised",
    ),
    (
        "policy-invalid",
        |f| f.policy().max_risk = Some("extreme".into()),
        "max_risk: unknown risk level \"extreme\"",
        "low, medium, high or critical",
    ),
];

#[test]
fn each_blocker_alone() {
    let mut seen = std::collections::BTreeSet::new();
    for (expected, change, message, clear) in BLOCKERS {
        let mut fixture = Fixture::allowed();
        change(&mut fixture);
        let verdict = fixture.verdict();
        assert_eq!(
            codes(&verdict.blockers),
            [*expected],
            "{expected}: {verdict:#?}"
        );
        assert!(!verdict.allowed);
        let blocker = &verdict.blockers[0];
        assert!(
            blocker.message.contains(message),
            "{expected}: message {:?} lacks {message:?}",
            blocker.message
        );
        assert!(
            blocker.clear.contains(clear),
            "{expected}: clear {:?} lacks {clear:?}",
            blocker.clear
        );
        seen.insert(*expected);
    }
    let all: std::collections::BTreeSet<&str> = code::BLOCKERS.into_iter().collect();
    assert_eq!(seen, all, "every blocker code has a row");
}

#[test]
fn blockers_come_in_the_documented_order() {
    let mut fixture = Fixture::allowed();
    fixture.abandoned = true;
    fixture.marked_bad = Some(BadMark {
        environment: name("prod"),
        reason: "rolled back".into(),
        marked_by: "rosa".into(),
        marked_at: now(),
        deployment: None,
    });
    fixture.locks.push(lock("prod", None));
    fixture.tasks.push(task(9, TaskState::Todo));
    fixture.succeeded_in.truncate(1);
    fixture.emergency = Some(String::new());
    fixture.freeze = Some(ActiveFreeze {
        name: "year-end".into(),
        reason: String::new(),
        end: now() + Duration::days(1),
    });
    fixture.window = WindowCheck::Closed { next_open: None };
    fixture.decisions = vec![decision("bob", &["ops"], false, now())];
    fixture.evidence = vec![evidence("e2e", false, now())];
    fixture.changes = vec![ChangeFact {
        conflicts_with: vec![14],
        ..change(12, ChangeKind::Normal, ChangeState::Submitted)
    }];
    fixture.risk = risk(RiskLevel::Critical);
    let expected: Vec<&str> = code::BLOCKERS
        .into_iter()
        .filter(|c| *c != "not-in-lifecycle" && *c != "policy-invalid")
        .collect();
    assert_eq!(codes(&fixture.verdict().blockers), expected);

    // The two codes that exclude a neighbour, in their places.
    fixture.lifecycle.phases.truncate(2);
    fixture.policy().max_risk = Some("extreme".into());
    let expected: Vec<&str> = code::BLOCKERS
        .into_iter()
        .filter(|c| *c != "lifecycle-order" && *c != "risk-too-high")
        .collect();
    assert_eq!(codes(&fixture.verdict().blockers), expected);
}

#[test]
fn an_abandoned_release_still_gets_every_other_finding() {
    let mut fixture = Fixture::allowed();
    fixture.abandoned = true;
    fixture.decisions.clear();
    assert_eq!(
        codes(&fixture.verdict().blockers),
        ["release-abandoned", "approvals-missing"]
    );
}

#[test]
fn the_first_phase_needs_no_earlier_success() {
    let mut fixture = Fixture::allowed();
    fixture.environment.name = name("dev");
    fixture.succeeded_in.clear();
    assert!(fixture.verdict().allowed);
    // A phase with one environment names it alone.
    fixture.environment.name = name("prod");
    fixture.lifecycle.phases[1].environments = vec![name("staging")];
    fixture.succeeded_in = vec![(name("dev"), now())];
    let verdict = fixture.verdict();
    assert_eq!(
        verdict.blockers[0].message,
        "api@1.4.0 has not yet succeeded in staging, the phase before prod"
    );
    assert_eq!(
        verdict.blockers[0].clear,
        "promote it there first: ferry promote api@1.4.0 --to staging"
    );
}

#[test]
fn approvers_are_matched_by_name_or_group_without_case() {
    let mut fixture = Fixture::allowed();
    fixture.decisions = vec![decision("Bob", &["OPS"], true, now())];
    assert!(fixture.verdict().allowed);
    fixture.decisions = vec![decision("bob", &["dev"], true, now())];
    let verdict = fixture.verdict();
    assert_eq!(codes(&verdict.blockers), ["approvals-missing"]);
    assert_eq!(codes(&verdict.warnings), ["approval-not-counted"]);
    assert_eq!(
        verdict.warnings[0].message,
        "bob is not among the approvers of prod (alice, group:ops); their approval does not count"
    );
}

#[test]
fn self_approval_is_a_warning_that_explains_itself() {
    let mut fixture = Fixture::allowed();
    fixture.creator = "alice".into();
    fixture
        .decisions
        .push(decision("bob", &["ops"], true, now()));
    let verdict = fixture.verdict();
    assert!(verdict.allowed, "{verdict:#?}");
    assert_eq!(codes(&verdict.warnings), ["approval-not-counted"]);
    assert_eq!(
        verdict.warnings[0].message,
        "alice created the release api@1.4.0; separation of duties does not count their approval"
    );
    let count = count_approvals(&fixture.input());
    assert_eq!(count.approved_by, ["bob"]);
    assert_eq!(count.refused.len(), 1);
    assert_eq!(count.refused[0].0, "alice");
    assert_eq!(count.needed, 0);
    // Without separation of duties it counts.
    fixture.policy().separation_of_duties = false;
    assert_eq!(
        count_approvals(&fixture.input()).approved_by,
        ["alice", "bob"]
    );
}

#[test]
fn commit_authors_are_refused_by_name_or_email() {
    let mut fixture = Fixture::allowed();
    fixture.policy().approvers.clear();
    fixture.decisions = vec![
        decision("dave", &[], true, now() - minutes(3)),
        Decision {
            email: Some("dave@example.com".into()),
            ..decision("dave2", &[], true, now() - minutes(2))
        },
    ];
    let count = count_approvals(&fixture.input());
    assert!(count.approved_by.is_empty());
    assert_eq!(count.needed, 1);
    assert_eq!(
        count.refused[0].1,
        "dave authored commits of api@1.4.0; separation of duties does not count their approval"
    );
    let verdict = fixture.verdict();
    assert_eq!(
        verdict.blockers[0].clear,
        "ferry approve api@1.4.0 --env prod (1 more approval needed; allowed: anyone but the release's creator and commit authors)"
    );
}

#[test]
fn a_rejection_is_withdrawn_by_approving_later() {
    let mut fixture = Fixture::allowed();
    fixture.decisions = vec![
        decision("alice", &[], false, now() - minutes(20)),
        decision("alice", &[], true, now() - minutes(10)),
    ];
    assert!(fixture.verdict().allowed);
    // Given in any order, the newest counts.
    fixture.decisions.reverse();
    assert!(fixture.verdict().allowed);
    let count = count_approvals(&fixture.input());
    assert_eq!((count.approved_by.len(), count.rejected_by.len()), (1, 0));
    // Approving twice counts once.
    fixture.policy().approvals = 2;
    fixture.decisions[1].approve = true;
    assert_eq!(count_approvals(&fixture.input()).needed, 1);
}

#[test]
fn rejections_by_people_who_may_not_approve_are_only_warnings() {
    let mut fixture = Fixture::allowed();
    fixture
        .decisions
        .push(decision("mallory", &["dev"], false, now()));
    let verdict = fixture.verdict();
    assert!(verdict.allowed);
    assert_eq!(codes(&verdict.warnings), ["rejection-not-counted"]);
    assert!(
        verdict.warnings[0]
            .message
            .contains("their rejection does not count")
    );
}

#[test]
fn the_emergency_path_bypasses_freeze_and_window_only() {
    let mut fixture = Fixture::allowed();
    fixture.freeze = Some(ActiveFreeze {
        name: "year-end".into(),
        reason: String::new(),
        end: now() + Duration::days(3),
    });
    fixture.window = WindowCheck::Closed { next_open: None };
    fixture.emergency = Some("payments are down".into());
    let verdict = fixture.verdict();
    assert!(verdict.allowed, "{verdict:#?}");
    assert_eq!(
        codes(&verdict.warnings),
        ["emergency", "frozen", "outside-window"]
    );
    assert!(
        verdict.warnings[0]
            .message
            .contains("\"payments are down\"; a post-implementation review will be required")
    );
    assert!(
        verdict.warnings[1]
            .message
            .ends_with("(bypassed by the emergency path)")
    );

    // Approvals, evidence and lifecycle order still block.
    fixture.decisions.clear();
    fixture.evidence.clear();
    fixture.succeeded_in.clear();
    fixture.risk = risk(RiskLevel::Critical);
    assert_eq!(
        codes(&fixture.verdict().blockers),
        [
            "lifecycle-order",
            "approvals-missing",
            "evidence-missing",
            "evidence-missing",
            "risk-too-high"
        ]
    );
}

#[test]
fn a_submitted_emergency_change_counts_only_on_the_emergency_path() {
    let mut fixture = Fixture::allowed();
    fixture.changes = vec![change(7, ChangeKind::Emergency, ChangeState::Submitted)];
    assert_eq!(
        codes(&fixture.verdict().blockers),
        ["change-request-missing"]
    );
    fixture.emergency = Some("payments are down".into());
    assert!(fixture.verdict().allowed);
    // A submitted normal change does not, even then.
    fixture.changes[0].kind = ChangeKind::Normal;
    let verdict = fixture.verdict();
    assert_eq!(codes(&verdict.blockers), ["change-request-missing"]);
    assert!(
        verdict.blockers[0]
            .message
            .contains("a submitted emergency change also counts")
    );
}

#[test]
fn conflicts_of_finished_changes_are_ignored() {
    let mut fixture = Fixture::allowed();
    let mut old = change(3, ChangeKind::Normal, ChangeState::Closed);
    old.conflicts_with = vec![4];
    fixture.changes.push(old);
    assert!(fixture.verdict().allowed);
}

#[test]
fn a_window_closing_soon_is_a_warning() {
    let mut fixture = Fixture::allowed();
    fixture.window = WindowCheck::Open {
        until: now() + minutes(12),
    };
    let verdict = fixture.verdict();
    assert!(verdict.allowed);
    assert_eq!(codes(&verdict.warnings), ["window-closing"]);
    assert!(
        verdict.warnings[0]
            .message
            .contains("closes at 2026-03-10T11:12:00Z, in 12 minutes")
    );
    fixture.window = WindowCheck::Open {
        until: now() + minutes(31),
    };
    assert!(fixture.verdict().warnings.is_empty());
    fixture.window = WindowCheck::NoWindows;
    assert!(fixture.verdict().warnings.is_empty());
}

#[test]
fn a_change_scheduled_for_another_time_is_a_warning() {
    let mut fixture = Fixture::allowed();
    fixture.changes[0].state = ChangeState::Scheduled;
    fixture.changes[0].window = Some((now() + Duration::hours(2), now() + Duration::hours(3)));
    let verdict = fixture.verdict();
    assert!(verdict.allowed);
    assert_eq!(codes(&verdict.warnings), ["outside-change-window"]);
    fixture.changes[0].window = Some((now() - Duration::hours(1), now() + Duration::hours(1)));
    assert!(fixture.verdict().warnings.is_empty());
}

#[test]
fn high_risk_within_the_limit_is_a_warning() {
    let mut fixture = Fixture::allowed();
    fixture.risk = risk(RiskLevel::High);
    let verdict = fixture.verdict();
    assert!(verdict.allowed);
    assert_eq!(codes(&verdict.warnings), ["high-risk"]);
    // Without a limit, critical is a warning too.
    fixture.policy().max_risk = None;
    fixture.risk = risk(RiskLevel::Critical);
    assert_eq!(codes(&fixture.verdict().warnings), ["high-risk"]);
}

#[test]
fn soak_is_measured_from_the_first_success_in_the_previous_phase() {
    let fixture = Fixture::allowed();
    let succeeded = vec![
        (name("dev"), now() - Duration::days(5)),
        (name("staging"), now() - minutes(40)),
        (name("qa"), now() - minutes(90)),
    ];
    assert_eq!(
        previous_phase_soak(&fixture.lifecycle, &name("prod"), &succeeded, now()),
        Some(minutes(90))
    );
    assert_eq!(
        previous_phase_soak(&fixture.lifecycle, &name("dev"), &succeeded, now()),
        None
    );
    assert_eq!(
        previous_phase_soak(&fixture.lifecycle, &name("prod"), &succeeded[..1], now()),
        None
    );
}

#[test]
fn the_verdict_serialises_for_the_api() {
    let mut fixture = Fixture::allowed();
    fixture.decisions.clear();
    let json = serde_json::to_value(fixture.verdict()).unwrap();
    assert_eq!(json["allowed"], false);
    assert_eq!(json["blockers"][0]["code"], "approvals-missing");
    assert_eq!(json["risk"]["level"], "low");
    let back: Verdict = serde_json::from_value(json).unwrap();
    assert_eq!(back, fixture.verdict());
}

// ---- Properties over random inputs ----

const USERS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "Frank"];
const GROUPS: [&str; 3] = ["ops", "dev", "qa"];
const SUITES: [&str; 3] = ["unit", "e2e", "perf"];

fn arb_decision() -> impl Strategy<Value = Decision> {
    (
        prop::sample::select(&USERS[..]),
        prop::sample::subsequence(&GROUPS[..], 0..=2),
        any::<bool>(),
        0i64..120,
        any::<bool>(),
    )
        .prop_map(|(user, groups, approve, ago, email)| Decision {
            email: email.then(|| format!("{}@example.com", user.to_lowercase())),
            ..decision(user, &groups, approve, now() - minutes(ago))
        })
}

fn arb_evidence() -> impl Strategy<Value = EvidenceFact> {
    (prop::sample::select(&SUITES[..]), any::<bool>(), 0i64..120)
        .prop_map(|(name, passed, ago)| evidence(name, passed, now() - minutes(ago)))
}

fn arb_kind() -> impl Strategy<Value = ChangeKind> {
    prop::sample::select(vec![
        ChangeKind::Standard,
        ChangeKind::Normal,
        ChangeKind::Emergency,
    ])
}

fn arb_state() -> impl Strategy<Value = ChangeState> {
    use ChangeState::*;
    prop::sample::select(vec![
        Draft,
        Submitted,
        Assessed,
        Approved,
        Rejected,
        Deferred,
        Scheduled,
        Implemented,
        Reviewed,
        Closed,
    ])
}

fn arb_changes() -> impl Strategy<Value = Vec<ChangeFact>> {
    prop::collection::vec(
        (
            arb_kind(),
            arb_state(),
            prop::option::of((-120i64..120, 1i64..240)),
            prop::collection::vec(1i64..30, 0..2),
        ),
        0..3,
    )
    .prop_map(|changes| {
        changes
            .into_iter()
            .enumerate()
            .map(
                |(index, (kind, state, window, conflicts_with))| ChangeFact {
                    id: 100 + index as i64,
                    kind,
                    state,
                    window: window.map(|(start, length)| {
                        (now() + minutes(start), now() + minutes(start + length))
                    }),
                    conflicts_with,
                },
            )
            .collect()
    })
}

fn arb_window() -> impl Strategy<Value = WindowCheck> {
    prop_oneof![
        Just(WindowCheck::NoWindows),
        (1i64..120).prop_map(|m| WindowCheck::Open {
            until: now() + minutes(m)
        }),
        prop::option::of(1i64..3000).prop_map(|m| WindowCheck::Closed {
            next_open: m.map(|m| now() + minutes(m))
        }),
    ]
}

fn arb_level() -> impl Strategy<Value = RiskLevel> {
    prop::sample::select(RiskLevel::ALL.to_vec())
}

fn arb_policy() -> impl Strategy<Value = Policy> {
    (
        0u32..4,
        prop::sample::subsequence(vec!["alice", "bob", "group:ops", "group:qa"], 0..=3),
        prop::sample::subsequence(&SUITES[..], 0..=3),
        any::<bool>(),
        prop::option::of(prop_oneof![
            arb_level().prop_map(|level| level.as_str().to_owned()),
            Just("extreme".to_owned())
        ]),
        any::<bool>(),
    )
        .prop_map(
            |(approvals, approvers, evidence, change_request, max_risk, sod)| Policy {
                approvals,
                approvers: approvers.into_iter().map(str::to_owned).collect(),
                evidence: evidence.into_iter().map(str::to_owned).collect(),
                change_request,
                max_risk,
                separation_of_duties: sod,
                ..Policy::default()
            },
        )
}

fn arb_fixture() -> impl Strategy<Value = Fixture> {
    (
        (
            prop::bool::weighted(0.1),
            arb_policy(),
            prop::sample::select(vec!["dev", "staging", "prod", "other"]),
            prop::sample::subsequence(vec!["dev", "qa", "staging"], 0..=3),
        ),
        (
            prop::collection::vec(arb_decision(), 0..10),
            prop::collection::vec(arb_evidence(), 0..8),
            arb_changes(),
        ),
        (
            arb_window(),
            prop::option::of(0i64..1000),
            arb_level(),
            prop::option::of(prop::sample::select(vec!["", "  ", "db down"])),
        ),
    )
        .prop_map(
            |(
                (abandoned, policy, environment, succeeded),
                (decisions, evidence, changes),
                (window, freeze, level, emergency),
            )| {
                let mut fixture = Fixture::allowed();
                fixture.abandoned = abandoned;
                fixture.environment.name = name(environment);
                fixture.environment.policy = policy;
                fixture.succeeded_in = succeeded
                    .into_iter()
                    .map(|env| (name(env), now() - Duration::hours(5)))
                    .collect();
                fixture.decisions = decisions;
                fixture.evidence = evidence;
                fixture.changes = changes;
                fixture.window = window;
                fixture.freeze = freeze.map(|m| ActiveFreeze {
                    name: "freeze".into(),
                    reason: "because".into(),
                    end: now() + minutes(m + 1),
                });
                fixture.risk = risk(level);
                fixture.emergency = emergency.map(str::to_owned);
                fixture
            },
        )
}

/// Whether every code of `smaller` appears in `larger` at least as often.
fn is_sub_multiset(smaller: &[&str], larger: &[&str]) -> bool {
    smaller.iter().all(|c| {
        smaller.iter().filter(|x| *x == c).count() <= larger.iter().filter(|x| *x == c).count()
    })
}

/// The codes that the emergency path never bypasses.
const NEVER_BYPASSED: [&str; 7] = [
    "release-abandoned",
    "not-in-lifecycle",
    "lifecycle-order",
    "approval-rejected",
    "approvals-missing",
    "evidence-missing",
    "evidence-failed",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn allowed_exactly_when_no_blockers(fixture in arb_fixture()) {
        let verdict = fixture.verdict();
        prop_assert_eq!(verdict.allowed, verdict.blockers.is_empty());
        let rank = |c: &str| code::BLOCKERS.iter().position(|known| *known == c);
        let ranks: Vec<Option<usize>> = verdict.blockers.iter().map(|b| rank(&b.code)).collect();
        prop_assert!(ranks.iter().all(Option::is_some), "unknown code in {:?}", verdict.blockers);
        prop_assert!(ranks.windows(2).all(|pair| pair[0] <= pair[1]), "order {:?}", ranks);
        for finding in verdict.blockers.iter().chain(&verdict.warnings) {
            prop_assert!(!finding.message.is_empty() && !finding.clear.is_empty());
        }
    }

    #[test]
    fn evaluation_is_deterministic_and_ignores_the_order_of_facts(fixture in arb_fixture()) {
        let verdict = fixture.verdict();
        prop_assert_eq!(&fixture.verdict(), &verdict);
        let mut reversed = fixture.clone();
        reversed.decisions.reverse();
        reversed.evidence.reverse();
        reversed.changes.reverse();
        prop_assert_eq!(reversed.verdict(), verdict);
    }

    #[test]
    fn a_valid_approval_never_adds_a_blocker(
        fixture in arb_fixture(),
        user in prop::sample::select(vec!["zed", "alice", "bob", "erin"]),
    ) {
        let mut fixture = fixture;
        prop_assume!(!fixture.environment.policy.separation_of_duties
            || (user != fixture.creator && !fixture.authors.iter().any(|a| a.eq_ignore_ascii_case(user))));
        // Allowed: they belong to a group that may approve.
        if !fixture.environment.policy.approvers.is_empty() {
            fixture.policy().approvers.push("group:reviewers".into());
        }
        let before = fixture.verdict();
        let groups = vec!["reviewers".to_owned()];
        fixture.decisions.push(Decision {
            user: user.into(),
            email: None,
            groups,
            approve: true,
            comment: "lgtm".into(),
            at: now() + minutes(1),
        });
        let after = fixture.verdict();
        prop_assert!(
            is_sub_multiset(&codes(&after.blockers), &codes(&before.blockers)),
            "before {:?}, after {:?}", codes(&before.blockers), codes(&after.blockers)
        );
        prop_assert!(
            count_approvals(&fixture.input()).approved_by.iter().any(|u| u == user)
        );
    }

    #[test]
    fn emergency_never_removes_approval_lifecycle_or_evidence_blockers(fixture in arb_fixture()) {
        let mut normal = fixture.clone();
        normal.emergency = None;
        let mut emergency = fixture;
        emergency.emergency = Some("payments are down".into());
        let normal = normal.verdict();
        let emergency = emergency.verdict();
        let kept = |verdict: &Verdict| -> Vec<String> {
            verdict.blockers.iter()
                .filter(|b| NEVER_BYPASSED.contains(&b.code.as_str()))
                .map(|b| b.code.clone())
                .collect()
        };
        prop_assert_eq!(kept(&normal), kept(&emergency));
        prop_assert!(!emergency.blockers.iter().any(|b| b.code == "frozen" || b.code == "outside-window"));
    }
}

/// The size the benchmark uses: 1,000 decisions, 1,000 evidence facts, long
/// lists of approvers and commit authors. Checks the result only (timing is
/// for the benchmark); run it with `--release --nocapture` for a figure.
#[test]
fn a_large_input_is_evaluated_in_one_pass() {
    let mut fixture = Fixture::allowed();
    fixture.policy().approvals = 3;
    fixture.policy().approvers = (0..50).map(|i| format!("group:group{i}")).collect();
    fixture.policy().evidence = (0..20).map(|i| format!("suite{i}")).collect();
    // 500 commit authors, of whom the first 10 people deciding (by e-mail).
    fixture.authors = (0..500)
        .map(|i| {
            if i < 10 {
                format!("USER{i}@example.com")
            } else {
                format!("author{i}")
            }
        })
        .collect();
    // 200 people deciding 5 times each; the newest decision of each approves.
    fixture.decisions = (0..1_000)
        .map(|i| {
            let person = i % 200;
            let round = i / 200;
            Decision {
                user: format!("User{person}"),
                email: Some(format!("user{person}@example.com")),
                groups: vec![format!("group{}", person % 100), "staff".into()],
                approve: round == 4 || person % 2 == 0,
                comment: String::new(),
                at: now() - minutes(100 - round as i64),
            }
        })
        .collect();
    // 50 results for each of 20 suites; the newest of each passes.
    fixture.evidence = (0..1_000)
        .map(|i| EvidenceFact {
            name: format!("suite{}", i % 20),
            passed: i >= 980,
            summary: String::new(),
            at: now() - minutes(1_000 - i as i64),
        })
        .collect();

    let started = std::time::Instant::now();
    let rounds = 200;
    let mut verdict = fixture.verdict();
    for _ in 1..rounds {
        verdict = std::hint::black_box(fixture.verdict());
    }
    eprintln!(
        "evaluate with 1,000 decisions and 1,000 evidence facts: {:?} per call",
        started.elapsed() / rounds
    );

    assert!(verdict.allowed, "{:#?}", verdict.blockers);
    assert_eq!(verdict.warnings.len(), 110);
    let count = count_approvals(&fixture.input());
    // People in groups 50–99 may not approve (100 of them); people 0–9 are
    // authors; the rest (10–49 and 100–149) count.
    assert_eq!(count.approved_by.len(), 90);
    assert_eq!(count.refused.len(), 110);
    assert!(count.rejected_by.is_empty());
    assert_eq!(count.needed, 0);
}

#[test]
fn evidence_is_counted_for_the_risk_as_the_gates_count_it() {
    let required: Vec<String> = vec!["unit".into(), "e2e".into(), "perf".into()];
    let facts = vec![
        evidence("unit", false, now() - minutes(10)),
        evidence("unit", true, now() - minutes(5)),
        evidence("e2e", true, now() - minutes(10)),
        evidence("e2e", false, now() - minutes(10)),
        evidence("lint", false, now()),
    ];
    assert_eq!(ferry_core::gates::count_evidence(&required, &facts), (1, 1));
}
