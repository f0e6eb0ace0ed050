//! Release notes through a user's template (minijinja, a Jinja2 dialect), for
//! teams whose notes must look their own way.
//!
//! The template sees:
//!
//! - `releases`: the releases, newest first, each exactly the JSON object of
//!   `ferry changelog --format json` (`version`, `previous_version`, `date`,
//!   `commits`, `sections`);
//! - `issue_url`: the configured issue link template, or none;
//! - the filters `short_id` (`commit.id | short_id` → 7 characters),
//!   `issue_links` (`#123` → a Markdown link when `issue_url` is set) and
//!   `commits_of` (`section | commits_of(release)` → the section's commit
//!   objects, in order), besides minijinja's built-in ones.
//!
//! Rules:
//!
//! - The output is Markdown or plain text, so **HTML auto-escaping is off**
//!   whatever the template's name: `{{ commit.subject }}` prints `<b>` as
//!   `<b>`. A template producing HTML must escape with `| e` itself.
//! - Block tags eat their own line (`trim_blocks` and `lstrip_blocks`), so a
//!   `{% for %}` on a line of its own leaves no blank line behind; a tag that
//!   ends a line of text eats that newline too unless written `+%}`. The
//!   template's final newline is kept.
//! - Printing or looping over an undefined value (a misspelt field) is an
//!   error rather than silent emptiness; testing one in `{% if %}` is not.
//! - An error says on which line of the template and why.

use std::fmt;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value, context};

use super::{ReleaseNotes, RenderOptions, short_id};

/// Why a notes template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The line of the template (1-based), when known.
    pub line: Option<usize>,
    /// What went wrong, such as `syntax error: unexpected end of input`.
    pub reason: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "notes template, line {line}: {}", self.reason),
            None => write!(f, "notes template: {}", self.reason),
        }
    }
}

impl std::error::Error for TemplateError {}

fn template_error(error: Error) -> TemplateError {
    let reason = match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    };
    TemplateError {
        line: error.line(),
        reason,
    }
}

/// Renders `notes` (newest first) through `template`. See the module
/// documentation for what the template sees; HTML auto-escaping is off.
pub fn render_template(
    template: &str,
    notes: &[ReleaseNotes],
    options: &RenderOptions,
) -> Result<String, TemplateError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(template_error)?,
    );
    env.add_filter("short_id", |id: &str| short_id(id).to_owned());
    let links = options.clone();
    env.add_filter("issue_links", move |text: &str| {
        let mut out = String::with_capacity(text.len());
        // Writing into a String cannot fail.
        let _ = super::markdown::write_links(&mut out, text, &links);
        out
    });
    env.add_filter("commits_of", commits_of);
    let context = context! {
        releases => Value::from(Serde(notes)),
        issue_url => options.issue_url.as_deref(),
    };
    env.render_str(template, context).map_err(template_error)
}

/// `section | commits_of(release)`: the commit objects of a section (or of a
/// list of ids), in its order.
fn commits_of(section: Value, release: Value) -> Result<Value, Error> {
    let ids = match section.get_attr("commits") {
        Ok(ids) if !ids.is_undefined() => ids,
        _ => section,
    };
    let commits: Vec<Value> = release.get_attr("commits")?.try_iter()?.collect();
    let mut found = Vec::new();
    // Sections list commits in the release's order: search on from the last
    // one found, wrapping around, as the Markdown writer does.
    let mut next = 0;
    for id in ids.try_iter()? {
        let Some(id) = id.as_str() else {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "commits_of expects a section or a list of commit ids",
            ));
        };
        let is_it = |c: &Value| c.get_attr("id").ok().as_ref().and_then(Value::as_str) == Some(id);
        let start = next.min(commits.len());
        let at = commits[start..]
            .iter()
            .position(is_it)
            .map(|at| at + start)
            .or_else(|| commits[..start].iter().position(is_it));
        if let Some(at) = at {
            found.push(commits[at].clone());
            next = at + 1;
        }
    }
    Ok(Value::from(found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conventional::parse;
    use crate::notes::NotesCommit;

    fn notes() -> Vec<ReleaseNotes> {
        let commit = |id: &str, message: &str| {
            NotesCommit::new(id.into(), parse(message), "Ada".into(), "t".into())
        };
        vec![
            ReleaseNotes::new(
                Some("1.1.0".into()),
                Some("1.0.0".into()),
                Some("2026-11-22".into()),
                vec![
                    commit("aaaaaaaaaa", "feat(api): add <retries> (#12)"),
                    commit("bbbbbbbbbb", "fix: crash"),
                ],
            ),
            ReleaseNotes::new(Some("1.0.0".into()), None, None, vec![]),
        ]
    }

    #[test]
    fn renders_releases_sections_and_commits() {
        let template = "\
{% for release in releases %}
# {{ release.version }}{% if release.date %} ({{ release.date }}){% endif +%}

{% for section in release.sections %}
## {{ section.title }}
{% for commit in section | commits_of(release) %}
- {% if commit.scope %}{{ commit.scope }}: {% endif %}{{ commit.subject | issue_links }} ({{ commit.id | short_id }})
{% endfor %}
{% else %}
Nothing.
{% endfor %}

{% endfor %}
";
        let options = RenderOptions {
            issue_url: Some("https://example.com/i/{}".into()),
        };
        let out = render_template(template, &notes(), &options).unwrap();
        assert_eq!(
            out,
            "# 1.1.0 (2026-11-22)\n\n## Features\n- api: add <retries> ([#12](https://example.com/i/12)) (aaaaaaa)\n## Bug fixes\n- crash (bbbbbbb)\n\n# 1.0.0\n\nNothing.\n\n"
        );
        let plain = render_template("{% if issue_url is none %}no link{% endif %}|{{ releases[0].commits[0].subject | issue_links }}", &notes(), &RenderOptions::default()).unwrap();
        assert_eq!(plain, "no link|add <retries> (#12)");
    }

    #[test]
    fn errors_name_the_line_and_reason() {
        let error = render_template(
            "a\n{% for r in releases %}\n{{ r.version }\n",
            &notes(),
            &RenderOptions::default(),
        )
        .unwrap_err();
        assert_eq!(error.line, Some(3), "{error}");
        assert!(error.reason.contains("syntax error"), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("notes template, line 3: syntax error"),
            "{error}"
        );

        let error = render_template(
            "\n\n{{ releases[0].verison }}",
            &notes(),
            &RenderOptions::default(),
        )
        .unwrap_err();
        assert_eq!(error.line, Some(3), "{error}");
        assert!(error.reason.contains("undefined"), "{error}");

        let error = render_template(
            "{{ releases | nosuch }}",
            &notes(),
            &RenderOptions::default(),
        )
        .unwrap_err();
        assert_eq!(error.line, Some(1));
        assert!(error.reason.contains("unknown filter"), "{error}");

        // Testing an undefined value is fine.
        let out = render_template(
            "{% if releases[0].nothing %}x{% else %}y{% endif %}",
            &notes(),
            &RenderOptions::default(),
        );
        assert_eq!(out.unwrap(), "y");
    }
}
