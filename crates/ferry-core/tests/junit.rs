//! JUnit XML reports as the common tools write them (fixtures in `tests/junit/`),
//! and the documents that are not reports, each refused with a clear error.

use ferry_core::junit::{FailedCase, JunitError, TestReport, parse_junit};

fn report(xml: &str) -> TestReport {
    parse_junit(xml).unwrap_or_else(|error| panic!("{error}"))
}

/// `(tests, failures, errors, skipped)`.
fn totals(report: &TestReport) -> (u32, u32, u32, u32) {
    (report.tests, report.failures, report.errors, report.skipped)
}

fn case(suite: &str, class: &str, name: &str, kind: &str, message: &str) -> FailedCase {
    FailedCase {
        suite: suite.to_owned(),
        class: Some(class.to_owned()),
        name: name.to_owned(),
        kind: kind.to_owned(),
        message: Some(message.to_owned()),
    }
}

fn assert_time(report: &TestReport, seconds: f64) {
    let time = report.time_seconds.expect("a time");
    assert!((time - seconds).abs() < 1e-9, "{time} != {seconds}");
}

#[test]
fn maven_surefire() {
    let report = report(include_str!("junit/surefire.xml"));
    // The flaky test passed on its rerun; the rerun of a failure is not a second failure.
    assert_eq!(totals(&report), (6, 1, 1, 1));
    assert!(!report.passed());
    assert_time(&report, 0.087);
    assert_eq!(report.suites, ["com.example.shop.CartTest"]);
    let class = "com.example.shop.CartTest";
    assert_eq!(
        report.failed_cases,
        [
            case(
                class,
                class,
                "totalsInCents",
                "failure",
                "expected: <2000> but was: <1999>\n\n\
                 org.opentest4j.AssertionFailedError: expected: <2000> but was: <1999>\n\
                 \tat org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)\n\
                 \tat org.junit.jupiter.api.AssertEquals.assertEquals(AssertEquals.java:150)\n\
                 \tat com.example.shop.CartTest.totalsInCents(CartTest.java:27)",
            ),
            case(
                class,
                class,
                "appliesDiscount",
                "error",
                "Cannot invoke \"com.example.shop.Discount.rate()\" because \"discount\" is null\n\n\
                 java.lang.NullPointerException: Cannot invoke \"com.example.shop.Discount.rate()\" because \"discount\" is null\n\
                 \tat com.example.shop.Cart.total(Cart.java:48)\n\
                 \tat com.example.shop.CartTest.appliesDiscount(CartTest.java:35)",
            ),
        ]
    );
}

#[test]
fn pytest() {
    let report = report(include_str!("junit/pytest.xml"));
    assert_eq!(totals(&report), (6, 1, 1, 2));
    assert_time(&report, 0.412);
    assert_eq!(report.suites, ["pytest"]);
    let names: Vec<_> = report
        .failed_cases
        .iter()
        .map(|c| (c.class.as_deref(), c.name.as_str(), c.kind.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (Some("tests.test_cart"), "test_total_in_cents", "failure"),
            (Some("tests.test_db"), "test_reserve_stock", "error"),
        ]
    );
    let message = report.failed_cases[0].message.as_deref().unwrap();
    assert!(
        message.starts_with(
            "assert 1999 == 2000\n +  where 1999 = total([Item(price=999), Item(price=1000)])\n\n\
             def test_total_in_cents():\n>       assert total"
        ),
        "{message}"
    );
    assert!(
        message.ends_with("tests/test_cart.py:14: AssertionError"),
        "{message}"
    );
}

#[test]
fn jest_junit() {
    let report = report(include_str!("junit/jest-junit.xml"));
    assert_eq!(totals(&report), (5, 1, 0, 1));
    assert_time(&report, 2.345);
    assert_eq!(report.suites, ["cart", "money"]);
    assert_eq!(report.failed_cases.len(), 1);
    let failed = &report.failed_cases[0];
    assert_eq!(
        (
            failed.suite.as_str(),
            failed.name.as_str(),
            failed.kind.as_str()
        ),
        ("cart", "cart totals in cents", "failure")
    );
    // No message attribute: the text is the message.
    assert!(
        failed
            .message
            .as_deref()
            .unwrap()
            .starts_with("Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 2000\nReceived: 1999\n    at Object.toBe")
    );
}

#[test]
fn nested_suites() {
    let report = report(include_str!("junit/nested-suites.xml"));
    assert_eq!(totals(&report), (5, 1, 0, 1));
    // Each suite's own time (0.5 for the first file), else its cases' (0.25 + 0.25).
    assert_time(&report, 1.0);
    assert_eq!(
        report.suites,
        [
            "src/cart.test.ts",
            "cart",
            "cart totals",
            "src/money.test.ts"
        ]
    );
    assert_eq!(
        report.failed_cases,
        [case(
            "cart totals",
            "cart totals",
            "applies discounts",
            "failure",
            "expected 1800, got 2000"
        )]
    );
}

#[test]
fn cargo_nextest() {
    let report = report(include_str!("junit/nextest.xml"));
    // The setup script counts as a test case, as nextest writes it; the flaky
    // test passed on retry.
    assert_eq!(totals(&report), (6, 2, 0, 0));
    assert_time(&report, 61.482);
    assert_eq!(
        report.suites,
        ["@setup-script:db", "shop", "shop::checkout"]
    );
    assert_eq!(
        report.failed_cases,
        [
            case(
                "shop",
                "shop",
                "cart::tests::totals_in_cents",
                "failure",
                "thread 'cart::tests::totals_in_cents' panicked at src/cart.rs:88:9:\n\
                 assertion `left == right` failed\n  left: 1999\n right: 2000\n\
                 note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
            ),
            FailedCase {
                message: None,
                ..case(
                    "shop::checkout",
                    "shop::checkout",
                    "checkout_with_paypal",
                    "failure",
                    "",
                )
            },
        ]
    );
}

#[test]
fn go_junit_report() {
    let report = report(include_str!("junit/go-junit-report.xml"));
    assert_eq!(totals(&report), (6, 1, 1, 1));
    assert_time(&report, 0.012);
    assert_eq!(
        report.suites,
        ["github.com/acme/shop/cart", "github.com/acme/shop/pay"]
    );
    assert_eq!(
        report.failed_cases,
        [
            case(
                "github.com/acme/shop/cart",
                "github.com/acme/shop/cart",
                "TestTotal",
                "failure",
                // The generic headline, then what the test logged.
                "Failed\n\ncart_test.go:27: total = 1999, want 2000",
            ),
            case(
                "github.com/acme/shop/pay",
                "github.com/acme/shop/pay",
                "[build failed]",
                "error",
                "Build error\n\npay/stripe.go:12:2: undefined: stripe.Client",
            ),
        ]
    );
}

#[test]
fn several_files_merge_into_one_report() {
    let mut merged = TestReport::default();
    for xml in [
        include_str!("junit/surefire.xml"),
        include_str!("junit/pytest.xml"),
        include_str!("junit/jest-junit.xml"),
        include_str!("junit/nextest.xml"),
        include_str!("junit/go-junit-report.xml"),
    ] {
        merged.merge(report(xml));
    }
    assert_eq!(totals(&merged), (29, 6, 3, 5));
    assert_eq!(merged.failed_cases.len(), 9);
    assert_eq!(merged.summary(), "29 tests, 6 failed, 3 errors, 5 skipped");
}

fn error(xml: &str) -> String {
    parse_junit(xml)
        .map(|report| panic!("parsed as {report:?}"))
        .unwrap_err()
        .to_string()
}

#[test]
fn an_empty_file() {
    assert_eq!(
        parse_junit(include_str!("junit/empty.xml")),
        Err(JunitError::Empty)
    );
    assert_eq!(
        error(" \n\t"),
        "empty report: expected JUnit XML with a <testsuites> or <testsuite> root"
    );
}

#[test]
fn an_html_page() {
    assert_eq!(
        error(include_str!("junit/not-found.html")),
        "not JUnit XML: expected <testsuites> or <testsuite>, found <html> at line 2, column 1"
    );
}

#[test]
fn another_xml_format() {
    assert_eq!(
        error(include_str!("junit/nunit.xml")),
        "not JUnit XML: expected <testsuites> or <testsuite>, found <test-run> at line 2, column 1"
    );
}

#[test]
fn plain_text() {
    assert_eq!(
        error(include_str!("junit/not-xml.txt")),
        "not JUnit XML: expected <testsuites> or <testsuite>, found text \"curl: (22) The requested URL returned er…\" at line 1, column 1"
    );
    assert_eq!(
        error("<?xml version=\"1.0\"?>\n<!-- nothing -->\n"),
        "not JUnit XML: expected <testsuites> or <testsuite>, found no element at line 3, column 1"
    );
}

#[test]
fn a_file_cut_short() {
    assert_eq!(
        error(include_str!("junit/truncated.xml")),
        "truncated XML: the report ends at line 11, column 1 with <testcase> (opened at line 10, column 3) not closed"
    );
}

#[test]
fn a_file_cut_inside_a_tag() {
    let message = error(include_str!("junit/truncated-mid-tag.xml"));
    assert!(
        message.starts_with("malformed XML at line 10, column 3: "),
        "{message}"
    );
    assert!(message.contains("not closed"), "{message}");
}

#[test]
fn mismatched_tags() {
    let message = error(include_str!("junit/mismatched.xml"));
    assert!(
        message.starts_with("malformed XML at line 5, "),
        "{message}"
    );
    assert!(
        message.contains("</failure>") && message.contains("</testcase>"),
        "{message}"
    );
}
