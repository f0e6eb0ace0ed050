//! JUnit XML test reports: [`ferry_core::junit::parse_junit`], a report's
//! summary, and reports merged as when a run writes one file per suite.

use ferry_core::junit::{self, JunitError, MAX_FAILED_CASES, MAX_MESSAGE_CHARS, TestReport};

/// Reads `data` as a JUnit XML report (invalid UTF-8 replaced).
///
/// Promises checked: each test case counts once; at most
/// [`MAX_FAILED_CASES`] failing cases are kept, every other one counted as
/// omitted, and merging reports keeps that cap; messages are cut to
/// [`MAX_MESSAGE_CHARS`] characters; a time is a number of seconds, never
/// negative; an error says where, from line 1 and column 1.
pub fn junit(data: &[u8]) {
    let xml = String::from_utf8_lossy(data);
    match junit::parse_junit(&xml) {
        Ok(report) => {
            check_report(&report);
            let mut merged = report.clone();
            merged.merge(report.clone());
            merged.merge(report.clone());
            check_report(&merged);
            assert_eq!(merged.tests, report.tests.saturating_mul(3));
        }
        Err(error) => check_error(&error),
    }
}

fn check_report(report: &TestReport) {
    let failing = u64::from(report.failures) + u64::from(report.errors);
    let counted = failing + u64::from(report.skipped);
    assert!(
        counted <= u64::from(report.tests),
        "{} counts more outcomes than test cases",
        report.summary()
    );
    assert!(
        report.failed_cases.len() <= MAX_FAILED_CASES,
        "{} failing cases kept",
        report.failed_cases.len()
    );
    let kept = report.failed_cases.len() as u64;
    assert_eq!(
        kept,
        failing.min(MAX_FAILED_CASES as u64),
        "the failing cases kept are not the first ones counted"
    );
    assert_eq!(
        u64::from(report.omitted_failed_cases()),
        failing - kept,
        "omitted cases"
    );
    for case in &report.failed_cases {
        assert!(
            case.kind == "failure" || case.kind == "error",
            "{}",
            case.kind
        );
        if let Some(message) = &case.message {
            assert!(
                message.chars().count() <= MAX_MESSAGE_CHARS,
                "a message of {} characters is kept",
                message.chars().count()
            );
        }
    }
    if let Some(seconds) = report.time_seconds {
        assert!(
            seconds.is_finite() && seconds >= 0.0,
            "the run took {seconds} seconds"
        );
    }
    assert_eq!(
        report.passed(),
        report.tests > 0 && failing == 0,
        "{}",
        report.summary()
    );
    let summary = report.summary();
    assert!(summary.starts_with(&report.tests.to_string()), "{summary}");
}

fn check_error(error: &JunitError) {
    let text = error.to_string();
    assert!(!text.is_empty());
    let positions = match error {
        JunitError::Empty => vec![],
        JunitError::NotJunit { at, .. } | JunitError::Malformed { at, .. } => vec![*at],
        JunitError::Truncated { opened, end, .. } => vec![*opened, *end],
    };
    for at in positions {
        assert!(at.line >= 1 && at.column >= 1, "{text}");
    }
}
