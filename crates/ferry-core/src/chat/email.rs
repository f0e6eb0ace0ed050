//! E-mail: the subject and the two bodies (plain text and HTML) of a
//! notice. The server wraps them in a multipart/alternative message and
//! sends it over SMTP; everything a person typed (titles, reasons,
//! comments) is escaped in the HTML body.

use super::{Notice, Tone, cut};

/// The longest subject written, in characters.
const MAX_SUBJECT: usize = 200;

/// An e-mail's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// `[ferry] deployment.failed: api@1.4.2 in prod`.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Control characters (a line break among them) become spaces: a subject
/// is one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The e-mail of a notice.
pub fn mail(notice: &Notice) -> Mail {
    let subject = cut(
        &one_line(&format!("[ferry] {}: {}", notice.kind, notice.about)),
        MAX_SUBJECT,
    );
    let how_to_approve = notice
        .approval
        .as_ref()
        .map(|ask| format!("ferry approve {} --env {}", ask.release(), ask.environment));
    let footer = {
        let mut footer = format!("ferry · {} · event {}", notice.kind, notice.id);
        if let Some(time) = &notice.time {
            footer.push_str(&format!(" · {time}"));
        }
        footer
    };

    let mut text = format!("{}\n\n", notice.headline);
    let width = notice
        .facts
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    for (label, value) in &notice.facts {
        text.push_str(&format!("{label:<width$}  {value}\n"));
    }
    if let Some(command) = &how_to_approve {
        text.push_str(&format!("\nTo approve: {command}\n"));
    }
    if let Some(link) = &notice.link {
        text.push_str(&format!("\nOpen in ferry: {link}\n"));
    }
    text.push_str(&format!("\n-- \n{footer}\n"));

    let colour = match notice.tone {
        Tone::Good => "#1a7f37",
        Tone::Bad => "#cf222e",
        Tone::Attention => "#9a6700",
        Tone::Neutral => "#24292f",
    };
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#24292f\">\n",
    );
    html.push_str(&format!(
        "<h2 style=\"color:{colour};font-size:18px\">{}</h2>\n",
        escape_html(&notice.headline)
    ));
    if !notice.facts.is_empty() {
        html.push_str("<table style=\"border-collapse:collapse\">\n");
        for (label, value) in &notice.facts {
            html.push_str(&format!(
                "<tr><th style=\"text-align:left;padding:2px 12px 2px 0\">{}</th><td>{}</td></tr>\n",
                escape_html(label),
                escape_html(value)
            ));
        }
        html.push_str("</table>\n");
    }
    if let Some(command) = &how_to_approve {
        html.push_str(&format!(
            "<p>To approve: <code>{}</code></p>\n",
            escape_html(command)
        ));
    }
    if let Some(link) = &notice.link {
        html.push_str(&format!(
            "<p><a href=\"{}\">Open in ferry</a></p>\n",
            escape_html(link)
        ));
    }
    html.push_str(&format!(
        "<p style=\"color:#57606a;font-size:12px\">{}</p>\n</body></html>\n",
        escape_html(&footer)
    ));
    Mail {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{approval_requested, failed};
    use super::*;

    #[test]
    fn a_failure_has_a_subject_saying_what_and_where() {
        let mail = mail(&Notice::from_cloudevent(&failed()));
        assert_eq!(mail.subject, "[ferry] deployment.failed: api@1.4.2 in prod");
        assert!(
            mail.text
                .starts_with("Deployment 42 of api@1.4.2 to prod failed\n\n"),
            "{}",
            mail.text
        );
        assert!(mail.text.contains("Environment  prod\n"), "{}", mail.text);
        assert!(
            mail.text
                .contains("Open in ferry: https://ferry.example.com/deployments/42"),
            "{}",
            mail.text
        );
        assert!(
            mail.html
                .contains("<a href=\"https://ferry.example.com/deployments/42\">"),
            "{}",
            mail.html
        );
    }

    #[test]
    fn what_people_typed_is_escaped_in_html_and_kept_off_the_subject_line() {
        let mut event = failed();
        event["data"]["environment"] = json!("prod");
        event["data"]["by"] = json!("<script>alert('x')</script> & \"co\"");
        event["data"]["version"] = json!("1.4.2\r\nBcc: all@example.com");
        let mail = mail(&Notice::from_cloudevent(&event));
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(
            mail.html
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;"),
            "{}",
            mail.html
        );
        assert!(!mail.subject.contains('\n') && !mail.subject.contains('\r'));
        assert!(mail.text.contains("<script>"), "plain text is plain");
    }

    #[test]
    fn an_approval_request_says_how_to_approve() {
        let mail = mail(&Notice::from_cloudevent(&approval_requested()));
        assert_eq!(
            mail.subject,
            "[ferry] approval.requested: api@1.4.2 in prod"
        );
        assert!(
            mail.text
                .contains("To approve: ferry approve api@1.4.2 --env prod"),
            "{}",
            mail.text
        );
        assert!(
            mail.html
                .contains("<code>ferry approve api@1.4.2 --env prod</code>")
        );
    }
}
