//! JUnit XML test reports: totals and failing cases, across the common dialects.
//!
//! JUnit XML has no single specification; Maven Surefire, pytest, jest-junit,
//! cargo-nextest, go-junit-report and others each write their own variant.
//! [`parse_junit`] reads what they have in common and keeps these rules:
//!
//! - the root is `<testsuites>` or `<testsuite>`; suites may nest (jest,
//!   some Surefire versions); element and attribute names are matched by their
//!   local name, so namespace prefixes do not matter;
//! - the totals are counted from the `<testcase>` elements themselves, never
//!   taken from the suites' `tests`/`failures`/`errors`/`skipped` attributes,
//!   which some tools get wrong;
//! - a test case counts once: as a failure if it has a `<failure>` child, else
//!   as an error if it has an `<error>` child, else as skipped if it has a
//!   `<skipped>` child, else as passed. Surefire's and nextest's
//!   `<flakyFailure>`/`<rerunFailure>` records of retries do not count: a
//!   flaky test that passed in the end passed;
//! - at most [`MAX_FAILED_CASES`] failing cases are kept (all are counted),
//!   each message cut to [`MAX_MESSAGE_CHARS`] characters;
//! - a time is the element's own `time` attribute, or else the sum of its
//!   children's; the report's is the root's. Sums, and reports merged, stop
//!   at the largest `f64` rather than overflow to infinity.
//!
//! A document that is not JUnit XML, or is malformed or truncated, is an error
//! that says what is wrong and where ([`JunitError`]).

use std::fmt;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;
use serde::{Deserialize, Serialize};

/// The most failing cases a report keeps; the rest are only counted.
pub const MAX_FAILED_CASES: usize = 100;

/// The longest message kept for a failing case, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// The totals of one or more JUnit reports.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// Test cases run (passed, failed, errored or skipped).
    pub tests: u32,
    /// Test cases with a failure: an assertion did not hold.
    pub failures: u32,
    /// Test cases with an error: something unexpected went wrong.
    pub errors: u32,
    /// Test cases skipped.
    pub skipped: u32,
    /// How long the run took, when the report says.
    pub time_seconds: Option<f64>,
    /// The failing and erroring cases, at most [`MAX_FAILED_CASES`], in the
    /// order of the report.
    pub failed_cases: Vec<FailedCase>,
    /// The names of the suites, in the order of the report, each once.
    pub suites: Vec<String>,
}

/// A test case that failed or errored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedCase {
    /// The name of the innermost suite holding it; empty if none has a name.
    pub suite: String,
    /// Its `classname`, when given.
    pub class: Option<String>,
    /// Its name.
    pub name: String,
    /// `failure` or `error`.
    pub kind: String,
    /// What went wrong: the `message` attribute, then the element's text when
    /// it adds to it, cut to [`MAX_MESSAGE_CHARS`] characters.
    pub message: Option<String>,
}

impl TestReport {
    /// Whether the report shows a successful run: at least one test, and no
    /// failure or error.
    pub fn passed(&self) -> bool {
        self.tests > 0 && self.failures == 0 && self.errors == 0
    }

    /// How many failing cases were counted but not kept.
    pub fn omitted_failed_cases(&self) -> u32 {
        let failing = self.failures.saturating_add(self.errors);
        failing.saturating_sub(u32::try_from(self.failed_cases.len()).unwrap_or(u32::MAX))
    }

    /// Cuts a report to what ferry keeps of one, as [`parse_junit`] does: at
    /// most [`MAX_FAILED_CASES`] failing cases (the counts stay), each message
    /// at most [`MAX_MESSAGE_CHARS`] characters. A report sent as JSON may
    /// hold more.
    pub fn keep_what_is_kept(&mut self) {
        self.failed_cases.truncate(MAX_FAILED_CASES);
        for case in &mut self.failed_cases {
            if let Some(message) = case.message.take() {
                case.message = Some(truncate(message, MAX_MESSAGE_CHARS));
            }
        }
    }

    /// Adds `other` to this report, as when a run wrote one file per suite.
    pub fn merge(&mut self, other: TestReport) {
        self.tests = self.tests.saturating_add(other.tests);
        self.failures = self.failures.saturating_add(other.failures);
        self.errors = self.errors.saturating_add(other.errors);
        self.skipped = self.skipped.saturating_add(other.skipped);
        self.time_seconds = add_times(self.time_seconds, other.time_seconds);
        let room = MAX_FAILED_CASES.saturating_sub(self.failed_cases.len());
        self.failed_cases
            .extend(other.failed_cases.into_iter().take(room));
        for suite in other.suites {
            if !self.suites.contains(&suite) {
                self.suites.push(suite);
            }
        }
    }

    /// One line for people, such as `120 tests, 2 failed, 1 error, 3 skipped`.
    pub fn summary(&self) -> String {
        let plural =
            |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = vec![plural(self.tests, "test", "tests")];
        if self.failures > 0 {
            parts.push(format!("{} failed", self.failures));
        }
        if self.errors > 0 {
            parts.push(plural(self.errors, "error", "errors"));
        }
        if self.skipped > 0 {
            parts.push(format!("{} skipped", self.skipped));
        }
        parts.join(", ")
    }
}

/// A place in the report, for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, in characters, from 1.
    pub column: usize,
    /// The byte offset, from 0.
    pub offset: usize,
}

impl Position {
    /// The position of byte `offset` of `text`.
    fn of(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        // Step back to a character boundary should an offset fall inside one.
        let offset = (0..=offset)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            offset,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a document could not be read as a JUnit report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JunitError {
    /// The document is empty or only blank.
    #[error("empty report: expected JUnit XML with a <testsuites> or <testsuite> root")]
    Empty,
    /// The document is something else: another XML document, an HTML page, text.
    #[error("not JUnit XML: expected <testsuites> or <testsuite>, found {found} at {at}")]
    NotJunit {
        /// What was found instead, such as `<html>` or `text "Not Found"`.
        found: String,
        /// Where.
        at: Position,
    },
    /// The document is not well-formed XML.
    #[error("malformed XML at {at}: {reason}")]
    Malformed {
        /// The XML parser's account.
        reason: String,
        /// Where.
        at: Position,
    },
    /// The document ends with elements still open, as a file cut short does.
    #[error(
        "truncated XML: the report ends at {end} with <{element}> (opened at {opened}) not closed"
    )]
    Truncated {
        /// The innermost element left open.
        element: String,
        /// Where it was opened.
        opened: Position,
        /// Where the document ends.
        end: Position,
    },
}

/// Reads a JUnit XML report (see the module's documentation for the rules).
pub fn parse_junit(xml: &str) -> Result<TestReport, JunitError> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    if xml.trim().is_empty() {
        return Err(JunitError::Empty);
    }
    let mut parser = Parser::default();
    let mut reader = Reader::from_str(xml);
    // Some hand-rolled reporters write a bare `&` in failure output; keep it
    // rather than refuse the whole report.
    reader.config_mut().allow_dangling_amp = true;
    loop {
        let offset = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
                return Err(JunitError::Malformed {
                    reason: error.to_string(),
                    at: Position::of(xml, at),
                });
            }
        };
        match event {
            Event::Start(element) => parser.open(&element, offset, xml)?,
            Event::Empty(element) => {
                parser.open(&element, offset, xml)?;
                parser.close();
            }
            Event::End(_) => parser.close(),
            Event::Text(text) => parser.text(&text.xml10_content(), offset, xml)?,
            Event::CData(data) => parser.text(&data.xml10_content(), offset, xml)?,
            Event::GeneralRef(reference) => parser.text(&resolve_name(&reference), offset, xml)?,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
        if parser.done {
            // Whatever follows the root element is not part of the report.
            break;
        }
    }
    if let Some(open) = parser.stack.last() {
        return Err(JunitError::Truncated {
            element: open.qname.clone(),
            opened: Position::of(xml, open.offset),
            end: Position::of(xml, xml.len()),
        });
    }
    if !parser.done {
        return Err(JunitError::NotJunit {
            found: "no element".to_owned(),
            at: Position::of(xml, xml.len()),
        });
    }
    Ok(parser.report)
}

/// The text of the reference `&name;`, or the reference as written when it
/// is unknown (an HTML entity, say) or invalid.
fn resolve_name(name: &str) -> String {
    if let Ok(Some(c)) = BytesRef::new(name).resolve_char_ref() {
        return c.to_string();
    }
    match resolve_predefined_entity(name) {
        Some(text) => text.to_owned(),
        None => format!("&{name};"),
    }
}

/// An attribute's value as written, with references resolved (unknown ones
/// kept) and line ends and tabs made spaces, as XML normalizes attributes.
fn unescape_attribute(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let mut value = String::with_capacity(raw.len());
    let push_literal = |value: &mut String, text: &str| {
        value.extend(text.chars().map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c => c,
        }));
    };
    let mut rest = raw.as_str();
    while let Some(amp) = rest.find('&') {
        push_literal(&mut value, &rest[..amp]);
        let after = &rest[amp + 1..];
        // A reference is a name or number closed by `;`; anything else is a
        // lone ampersand, kept.
        let end = after
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '#' | '_' | '-' | '.' | ':')));
        match end {
            Some(semi) if semi > 0 && after[semi..].starts_with(';') => {
                value.push_str(&resolve_name(&after[..semi]));
                rest = &after[semi + 1..];
            }
            _ => {
                value.push('&');
                rest = after;
            }
        }
    }
    push_literal(&mut value, rest);
    value
}

/// What an open element is to the report.
enum Node {
    /// `<testsuites>` or `<testsuite>`.
    Suite(SuiteFrame),
    /// `<testcase>`.
    Case(CaseFrame),
    /// `<failure>`, `<error>` or `<skipped>` directly in a test case.
    Outcome(OutcomeFrame),
    /// Anything else (properties, system-out, reruns…).
    Other,
}

struct SuiteFrame {
    /// `None` for `<testsuites>`, whose name is not a suite's.
    name: Option<String>,
    time: Option<f64>,
    children_time: Option<f64>,
}

struct CaseFrame {
    class: Option<String>,
    name: String,
    time: Option<f64>,
    failure: Option<Option<String>>,
    error: Option<Option<String>>,
    skipped: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OutcomeKind {
    Failure,
    Error,
    Skipped,
}

struct OutcomeFrame {
    kind: OutcomeKind,
    message: Option<String>,
    text: String,
}

struct Open {
    node: Node,
    /// The element's name as written, for errors.
    qname: String,
    offset: usize,
}

#[derive(Default)]
struct Parser {
    stack: Vec<Open>,
    report: TestReport,
    /// The root element was read to its end.
    done: bool,
}

impl Parser {
    /// Opens an element.
    fn open(
        &mut self,
        element: &BytesStart<'_>,
        offset: usize,
        xml: &str,
    ) -> Result<(), JunitError> {
        let qname = element.name().into_inner();
        let local = element.local_name().into_inner();
        let node = match (self.stack.last().map(|open| &open.node), local) {
            (None, "testsuites" | "testsuite") => Node::Suite(SuiteFrame {
                name: (local == "testsuite")
                    .then(|| attribute(element, "name").unwrap_or_default()),
                time: attribute(element, "time")
                    .as_deref()
                    .and_then(parse_seconds),
                children_time: None,
            }),
            (None, _) => {
                return Err(JunitError::NotJunit {
                    found: format!("<{qname}>"),
                    at: Position::of(xml, offset),
                });
            }
            (Some(Node::Suite(_)), "testsuites" | "testsuite") => Node::Suite(SuiteFrame {
                name: (local == "testsuite")
                    .then(|| attribute(element, "name").unwrap_or_default()),
                time: attribute(element, "time")
                    .as_deref()
                    .and_then(parse_seconds),
                children_time: None,
            }),
            (Some(Node::Suite(_)), "testcase") => Node::Case(CaseFrame {
                class: attribute(element, "classname").filter(|c| !c.is_empty()),
                name: attribute(element, "name").unwrap_or_default(),
                time: attribute(element, "time")
                    .as_deref()
                    .and_then(parse_seconds),
                failure: None,
                error: None,
                skipped: false,
            }),
            (Some(Node::Case(_)), "failure" | "error" | "skipped") => Node::Outcome(OutcomeFrame {
                kind: match local {
                    "failure" => OutcomeKind::Failure,
                    "error" => OutcomeKind::Error,
                    _ => OutcomeKind::Skipped,
                },
                message: attribute(element, "message"),
                text: String::new(),
            }),
            _ => Node::Other,
        };
        // Attributes are read leniently above; a malformed one is reported here
        // for the elements that matter.
        if !matches!(node, Node::Other) {
            for attribute in element.attributes().with_checks(false) {
                attribute.map_err(|error| JunitError::Malformed {
                    reason: quick_xml::Error::InvalidAttr(error).to_string(),
                    at: Position::of(xml, offset),
                })?;
            }
        }
        if let Node::Suite(SuiteFrame {
            name: Some(name), ..
        }) = &node
            && !name.is_empty()
            && !self.report.suites.contains(name)
        {
            self.report.suites.push(name.clone());
        }
        self.stack.push(Open {
            node,
            qname: qname.to_owned(),
            offset,
        });
        Ok(())
    }

    /// Text, CDATA or a reference inside the current element. Only a failing
    /// outcome keeps it; text outside the root means the document is not JUnit.
    fn text(&mut self, text: &str, offset: usize, xml: &str) -> Result<(), JunitError> {
        match self.stack.last_mut() {
            None if !text.trim().is_empty() => {
                let mut excerpt: String = text.trim().chars().take(40).collect();
                if excerpt.len() < text.trim().len() {
                    excerpt.push('…');
                }
                Err(JunitError::NotJunit {
                    found: format!("text {excerpt:?}"),
                    at: Position::of(xml, offset + (text.len() - text.trim_start().len())),
                })
            }
            Some(Open {
                node: Node::Outcome(outcome),
                ..
            }) if outcome.kind != OutcomeKind::Skipped => {
                // Keep a little more than can be shown, so a long stack trace
                // costs no more memory than a short one.
                if outcome.text.len() < MAX_MESSAGE_CHARS * 4 {
                    outcome.text.push_str(text);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Closes the current element, adding what it was to the report.
    fn close(&mut self) {
        let Some(open) = self.stack.pop() else {
            return;
        };
        match open.node {
            Node::Suite(suite) => {
                let time = suite.time.or(suite.children_time);
                self.add_time(time);
            }
            Node::Case(case) => self.close_case(case),
            Node::Outcome(outcome) => {
                if let Some(Open {
                    node: Node::Case(case),
                    ..
                }) = self.stack.last_mut()
                {
                    let slot = match outcome.kind {
                        OutcomeKind::Failure => &mut case.failure,
                        OutcomeKind::Error => &mut case.error,
                        OutcomeKind::Skipped => {
                            case.skipped = true;
                            return;
                        }
                    };
                    if slot.is_none() {
                        *slot = Some(message(outcome.message.as_deref(), &outcome.text));
                    }
                }
            }
            Node::Other => {}
        }
        if self.stack.is_empty() {
            self.done = true;
        }
    }

    fn close_case(&mut self, case: CaseFrame) {
        let report = &mut self.report;
        report.tests = report.tests.saturating_add(1);
        let failed = match (case.failure, case.error) {
            (Some(message), _) => {
                report.failures = report.failures.saturating_add(1);
                Some(("failure", message))
            }
            (None, Some(message)) => {
                report.errors = report.errors.saturating_add(1);
                Some(("error", message))
            }
            (None, None) => {
                if case.skipped {
                    report.skipped = report.skipped.saturating_add(1);
                }
                None
            }
        };
        if let Some((kind, message)) = failed
            && report.failed_cases.len() < MAX_FAILED_CASES
        {
            let suite = self
                .stack
                .iter()
                .rev()
                .find_map(|open| match &open.node {
                    Node::Suite(SuiteFrame {
                        name: Some(name), ..
                    }) if !name.is_empty() => Some(name.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            report.failed_cases.push(FailedCase {
                suite,
                class: case.class,
                name: case.name,
                kind: kind.to_owned(),
                message,
            });
        }
        self.add_time(case.time);
    }

    /// Adds a closed element's time to its parent's, or makes it the
    /// report's when it was the root.
    fn add_time(&mut self, time: Option<f64>) {
        match self.stack.last_mut() {
            Some(Open {
                node: Node::Suite(parent),
                ..
            }) => parent.children_time = add_times(parent.children_time, time),
            Some(_) => {}
            None => self.report.time_seconds = time,
        }
    }
}

/// The value of the attribute with local name `name` (any prefix but
/// `xmlns`), with its references resolved; `None` when absent or malformed.
fn attribute(element: &BytesStart<'_>, name: &str) -> Option<String> {
    element
        .attributes()
        .with_checks(false)
        .flatten()
        .find(|attribute| {
            attribute.key.as_namespace_binding().is_none()
                && attribute.key.local_name().into_inner() == name
        })
        .map(|attribute| unescape_attribute(&attribute.value))
}

/// The message of a failing case: the `message` attribute (a headline), then
/// the element's text (usually the details or a stack trace) unless it
/// already starts with the headline, cut to [`MAX_MESSAGE_CHARS`].
fn message(attribute: Option<&str>, text: &str) -> Option<String> {
    let headline = attribute.map(str::trim).filter(|m| !m.is_empty());
    let details = Some(text.trim()).filter(|t| !t.is_empty());
    let message = match (headline, details) {
        (None, None) => return None,
        (Some(headline), None) => headline.to_owned(),
        (None, Some(details)) => details.to_owned(),
        (Some(headline), Some(details)) if details.starts_with(headline) => details.to_owned(),
        (Some(headline), Some(details)) => format!("{headline}\n\n{details}"),
    };
    Some(truncate(message, MAX_MESSAGE_CHARS))
}

/// `text` cut to at most `max` characters, the last one an ellipsis when cut.
fn truncate(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max.saturating_sub(1))
        && text[cut..].chars().nth(1).is_some()
    {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// A `time` attribute in seconds. Tools write `1.5`, `0.001` and sometimes
/// numbers formatted for a locale (old Surefire): `1,234.5` or `0,5`. A time
/// that is negative or not a number counts as absent.
fn parse_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let normal = match (text.rfind('.'), text.rfind(',')) {
        // Both: the later one separates the decimals, the other groups digits.
        (Some(dot), Some(comma)) if comma > dot => text.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => text.replace(',', ""),
        // A single comma is a decimal comma; several group digits.
        (None, Some(_)) if text.matches(',').count() == 1 => text.replace(',', "."),
        (None, Some(_)) => text.replace(',', ""),
        _ => text.to_owned(),
    };
    normal
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
}

/// The sum of two optional times: absent only if both are. Times are finite
/// and never negative, so a sum too large for an `f64` is the largest one
/// rather than infinity, which no report could be stored or shown with.
fn add_times(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some((a + b).min(f64::MAX)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> TestReport {
        parse_junit(xml).unwrap_or_else(|error| panic!("{error}"))
    }

    fn totals(report: &TestReport) -> (u32, u32, u32, u32) {
        (report.tests, report.failures, report.errors, report.skipped)
    }

    #[test]
    fn a_report_sent_whole_is_cut_to_what_is_kept() {
        let case = FailedCase {
            suite: "s".into(),
            class: None,
            name: "t".into(),
            kind: "failure".into(),
            message: Some("m".repeat(MAX_MESSAGE_CHARS * 2)),
        };
        let mut report = TestReport {
            tests: 100_000,
            failures: 100_000,
            errors: 0,
            skipped: 0,
            time_seconds: None,
            failed_cases: vec![case; 100_000],
            suites: vec!["s".into()],
        };
        report.keep_what_is_kept();
        assert_eq!(report.failed_cases.len(), MAX_FAILED_CASES);
        assert_eq!(report.omitted_failed_cases(), 100_000 - 100);
        let kept = report.failed_cases[0]
            .message
            .as_deref()
            .unwrap_or_default();
        assert_eq!(kept.chars().count(), MAX_MESSAGE_CHARS);
    }

    #[test]
    fn counts_come_from_the_test_cases_not_the_attributes() {
        let report = parse(
            r#"<testsuite name="s" tests="99" failures="0" errors="7" skipped="0">
                 <testcase name="a"/>
                 <testcase name="b"><failure message="boom"/></testcase>
                 <testcase name="c"><error/></testcase>
                 <testcase name="d"><skipped/></testcase>
               </testsuite>"#,
        );
        assert_eq!(totals(&report), (4, 1, 1, 1));
        assert!(!report.passed());
        assert_eq!(report.suites, ["s"]);
    }

    #[test]
    fn a_test_case_counts_once() {
        // pytest writes a failure in the call and an error in the teardown into
        // one test case; a skipped case with a failure did not pass.
        let report = parse(
            r#"<testsuite name="s">
                 <testcase name="a"><failure message="call"/><error message="teardown"/></testcase>
                 <testcase name="b"><skipped/><error message="setup"/></testcase>
                 <testcase name="c"><failure message="first"/><failure message="second"/></testcase>
               </testsuite>"#,
        );
        assert_eq!(totals(&report), (3, 2, 1, 0));
        let kinds: Vec<_> = report
            .failed_cases
            .iter()
            .map(|c| (c.name.as_str(), c.kind.as_str(), c.message.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a", "failure", Some("call")),
                ("b", "error", Some("setup")),
                ("c", "failure", Some("first")),
            ]
        );
    }

    #[test]
    fn retries_that_passed_are_passes() {
        let report = parse(
            r#"<testsuite name="s">
                 <testcase name="flaky"><flakyFailure message="once"/><system-out/></testcase>
                 <testcase name="broken"><failure message="always"/><rerunFailure message="again"/></testcase>
               </testsuite>"#,
        );
        assert_eq!(totals(&report), (2, 1, 0, 0));
        assert_eq!(report.failed_cases[0].message.as_deref(), Some("always"));
    }

    #[test]
    fn nested_suites_and_namespaces() {
        let report = parse(
            r#"<?xml version="1.0"?>
               <j:testsuites xmlns:j="urn:junit" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
                 <j:testsuite j:name="outer" xsi:noNamespaceSchemaLocation="x.xsd">
                   <j:testsuite name="inner">
                     <j:testcase j:name="deep" classname="C"><j:failure j:message="no"/></j:testcase>
                   </j:testsuite>
                   <j:testcase name="shallow"/>
                 </j:testsuite>
               </j:testsuites>"#,
        );
        assert_eq!(totals(&report), (2, 1, 0, 0));
        assert_eq!(report.suites, ["outer", "inner"]);
        assert_eq!(
            report.failed_cases,
            [FailedCase {
                suite: "inner".into(),
                class: Some("C".into()),
                name: "deep".into(),
                kind: "failure".into(),
                message: Some("no".into()),
            }]
        );
    }

    #[test]
    fn an_xmlns_declaration_is_not_an_attribute() {
        let report =
            parse(r#"<testsuite xmlns:name="urn:x" name="real"><testcase name="a"/></testsuite>"#);
        assert_eq!(report.suites, ["real"]);
    }

    #[test]
    fn cdata_entities_and_character_references() {
        let report = parse(
            "<testsuite name=\"a &amp; b\">\
               <testcase name=\"x &lt; y\" classname=\"&#x41;\">\
                 <failure message=\"expected &quot;1&quot;&#10;got &apos;2&apos; &nbsp;\">\
                   <![CDATA[at <init> & more]]> &lt;tail&gt; &#233; &hellip;\
                 </failure>\
               </testcase>\
             </testsuite>",
        );
        let case = &report.failed_cases[0];
        assert_eq!(report.suites, ["a & b"]);
        assert_eq!(case.name, "x < y");
        assert_eq!(case.class.as_deref(), Some("A"));
        assert_eq!(
            case.message.as_deref(),
            Some("expected \"1\"\ngot '2' &nbsp;\n\nat <init> & more <tail> é &hellip;")
        );
    }

    #[test]
    fn attribute_values_are_unescaped_and_normalized() {
        assert_eq!(unescape_attribute("plain"), "plain");
        assert_eq!(unescape_attribute("a &amp; b &lt;c&gt;"), "a & b <c>");
        assert_eq!(unescape_attribute("&#65;&#x42;&#10;"), "AB\n");
        assert_eq!(unescape_attribute("line\r\nnext\ttab"), "line next tab");
        assert_eq!(unescape_attribute("&nbsp;&bogus"), "&nbsp;&bogus");
        assert_eq!(unescape_attribute("AT&T; & &; &#xZZ;"), "AT&T; & &; &#xZZ;");
    }

    #[test]
    fn a_bare_ampersand_is_kept() {
        let report = parse(
            "<testsuite><testcase name=\"a & b\"><failure>x & y &amp; z</failure></testcase></testsuite>",
        );
        let case = &report.failed_cases[0];
        assert_eq!(case.name, "a & b");
        assert_eq!(case.message.as_deref(), Some("x & y & z"));
    }

    #[test]
    fn the_message_is_the_headline_then_the_details() {
        assert_eq!(message(None, "  \n "), None);
        assert_eq!(message(Some(" "), "details"), Some("details".into()));
        assert_eq!(message(Some("boom"), ""), Some("boom".into()));
        assert_eq!(
            message(Some("Failed"), "    calc_test.go:15: 1 != 2\n"),
            Some("Failed\n\ncalc_test.go:15: 1 != 2".into())
        );
        assert_eq!(
            message(Some("expected 1"), "expected 1\n\tat Foo.java:3"),
            Some("expected 1\n\tat Foo.java:3".into())
        );
    }

    #[test]
    fn messages_are_cut() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 10);
        let cut = message(None, &long).unwrap();
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS);
        assert!(cut.ends_with("é…"));
        let exact = "x".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(message(None, &exact).unwrap(), exact);
        // Through the parser, with a text far longer than is kept.
        let xml = format!(
            "<testsuite><testcase name=\"a\"><failure>{}</failure></testcase></testsuite>",
            "y".repeat(MAX_MESSAGE_CHARS * 10)
        );
        let message = parse(&xml).failed_cases[0].message.clone().unwrap();
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
    }

    #[test]
    fn at_most_a_hundred_failed_cases_are_kept_and_all_are_counted() {
        let cases: String = (0..250)
            .map(|i| format!("<testcase name=\"t{i}\"><error/></testcase>"))
            .collect();
        let report = parse(&format!("<testsuite name=\"s\">{cases}</testsuite>"));
        assert_eq!(totals(&report), (250, 0, 250, 0));
        assert_eq!(report.failed_cases.len(), MAX_FAILED_CASES);
        assert_eq!(report.failed_cases[99].name, "t99");
        assert_eq!(report.omitted_failed_cases(), 150);
    }

    #[test]
    fn times_prefer_the_elements_own_then_sum_the_children() {
        let report = parse(
            r#"<testsuites>
                 <testsuite name="a" time="2.5"><testcase name="x" time="1"/></testsuite>
                 <testsuite name="b"><testcase name="y" time="0.25"/><testcase name="z" time="0.25"/></testsuite>
                 <testsuite name="c"><testcase name="w"/></testsuite>
               </testsuites>"#,
        );
        assert_eq!(report.time_seconds, Some(3.0));
        let report = parse(r#"<testsuites time="10"><testsuite time="2"/></testsuites>"#);
        assert_eq!(report.time_seconds, Some(10.0));
        let report = parse(r#"<testsuite><testcase name="x"/></testsuite>"#);
        assert_eq!(report.time_seconds, None);
    }

    #[test]
    fn huge_times_add_up_to_the_largest_number_not_infinity() {
        let xml = r#"<testsuite><testcase time="1e308"/><testcase time="1e308"/></testsuite>"#;
        let mut report = parse(xml);
        assert_eq!(report.time_seconds, Some(f64::MAX));
        report.merge(parse(xml));
        assert_eq!(report.time_seconds, Some(f64::MAX));
    }

    #[test]
    fn seconds_in_the_forms_tools_write() {
        assert_eq!(parse_seconds("1.5"), Some(1.5));
        assert_eq!(parse_seconds(" 0.001 "), Some(0.001));
        assert_eq!(parse_seconds("3"), Some(3.0));
        assert_eq!(parse_seconds("1,234.5"), Some(1234.5));
        assert_eq!(parse_seconds("1.234,5"), Some(1234.5));
        assert_eq!(parse_seconds("0,5"), Some(0.5));
        assert_eq!(parse_seconds("1,234,567"), Some(1_234_567.0));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("NaN"), None);
        assert_eq!(parse_seconds("inf"), None);
        assert_eq!(parse_seconds(""), None);
        assert_eq!(parse_seconds("fast"), None);
    }

    #[test]
    fn passed_needs_a_test_and_no_failure() {
        assert!(!TestReport::default().passed());
        assert!(parse("<testsuite><testcase name=\"a\"/></testsuite>").passed());
        // All skipped is no failure.
        assert!(
            parse("<testsuite><testcase name=\"a\"><skipped/></testcase></testsuite>").passed()
        );
        assert!(!parse("<testsuite><testcase name=\"a\"><error/></testcase></testsuite>").passed());
        assert!(!parse("<testsuite/>").passed());
    }

    #[test]
    fn merge_adds_and_keeps_the_caps() {
        let one_failure = |suite: &str| TestReport {
            tests: 60,
            failures: 60,
            errors: 0,
            skipped: 1,
            time_seconds: Some(1.5),
            failed_cases: (0..60)
                .map(|i| FailedCase {
                    suite: suite.into(),
                    class: None,
                    name: format!("t{i}"),
                    kind: "failure".into(),
                    message: None,
                })
                .collect(),
            suites: vec![suite.into(), "shared".into()],
        };
        let mut report = TestReport::default();
        report.merge(one_failure("a"));
        report.merge(one_failure("b"));
        assert_eq!(totals(&report), (120, 120, 0, 2));
        assert_eq!(report.time_seconds, Some(3.0));
        assert_eq!(report.failed_cases.len(), MAX_FAILED_CASES);
        assert_eq!(report.failed_cases[60].suite, "b");
        assert_eq!(report.suites, ["a", "shared", "b"]);
        assert_eq!(report.omitted_failed_cases(), 20);
        report.merge(TestReport {
            time_seconds: None,
            ..TestReport::default()
        });
        assert_eq!(report.time_seconds, Some(3.0));
    }

    #[test]
    fn summaries() {
        let mut report = TestReport {
            tests: 120,
            failures: 2,
            errors: 1,
            skipped: 3,
            ..TestReport::default()
        };
        assert_eq!(report.summary(), "120 tests, 2 failed, 1 error, 3 skipped");
        report.errors = 2;
        report.skipped = 0;
        assert_eq!(report.summary(), "120 tests, 2 failed, 2 errors");
        report = TestReport {
            tests: 1,
            ..TestReport::default()
        };
        assert_eq!(report.summary(), "1 test");
    }

    #[test]
    fn reports_round_trip_through_json() {
        let report = parse(
            r#"<testsuite name="s" time="1.25"><testcase name="b" classname="C"><failure message="m"/></testcase></testsuite>"#,
        );
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(serde_json::from_str::<TestReport>(&json).unwrap(), report);
    }

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "ab\né€x\n";
        assert_eq!(
            Position::of(text, 0),
            Position {
                line: 1,
                column: 1,
                offset: 0
            }
        );
        let x = text.find('x').unwrap();
        assert_eq!(Position::of(text, x).to_string(), "line 2, column 3");
        // Inside a character: its start.
        assert_eq!(Position::of(text, 4).offset, 3);
        assert_eq!(Position::of(text, 100).line, 3);
    }
}
