//! Microsoft Teams: a message holding one Adaptive Card (version 1.4, as
//! Teams' incoming webhooks and workflows render it): the sentence, the
//! facts as a fact set, and a link to ferry's page. Teams posts no clicks
//! back to ferry, so an approval request says how to approve instead.

use serde_json::{Value, json};

use super::{Notice, Tone};

/// The media type of an Adaptive Card attachment.
pub const ADAPTIVE_CARD: &str = "application/vnd.microsoft.card.adaptive";

/// The card's schema version.
pub const CARD_VERSION: &str = "1.4";

/// The Teams message of a notice.
pub fn message(notice: &Notice) -> Value {
    let colour = match notice.tone {
        Tone::Good => "Good",
        Tone::Bad => "Attention",
        Tone::Attention => "Warning",
        Tone::Neutral => "Default",
    };
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": notice.headline,
        "weight": "Bolder",
        "size": "Medium",
        "color": colour,
        "wrap": true,
    })];
    if !notice.facts.is_empty() {
        let facts: Vec<Value> = notice
            .facts
            .iter()
            .map(|(label, value)| json!({ "title": label, "value": value }))
            .collect();
        body.push(json!({ "type": "FactSet", "facts": facts }));
    }
    if let Some(ask) = &notice.approval {
        body.push(json!({
            "type": "TextBlock",
            "text": format!(
                "Approve with: ferry approve {} --env {}",
                ask.release(),
                ask.environment
            ),
            "wrap": true,
        }));
    }
    let mut footer = notice.kind.clone();
    if let Some(time) = &notice.time {
        footer.push_str(&format!(" · {time}"));
    }
    body.push(json!({
        "type": "TextBlock",
        "text": footer,
        "isSubtle": true,
        "size": "Small",
        "wrap": true,
    }));
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    });
    if let Some(link) = &notice.link {
        card["actions"] =
            json!([{ "type": "Action.OpenUrl", "title": "Open in ferry", "url": link }]);
    }
    json!({
        "type": "message",
        "summary": notice.headline,
        "attachments": [{ "contentType": ADAPTIVE_CARD, "contentUrl": null, "content": card }],
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{approval_requested, failed};
    use super::*;

    #[test]
    fn a_notice_is_an_adaptive_card_with_its_facts() {
        let message = message(&Notice::from_cloudevent(&failed()));
        assert_eq!(message["type"], "message");
        let attachment = &message["attachments"][0];
        assert_eq!(attachment["contentType"], ADAPTIVE_CARD);
        let card = &attachment["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(
            card["body"][0]["text"],
            "Deployment 42 of api@1.4.2 to prod failed"
        );
        assert_eq!(card["body"][0]["color"], "Attention");
        let facts = card["body"][1]["facts"].as_array().unwrap();
        assert!(facts.contains(&json!({ "title": "Environment", "value": "prod" })));
        assert_eq!(
            card["actions"][0]["url"],
            "https://ferry.example.com/deployments/42"
        );
    }

    #[test]
    fn an_approval_request_says_how_to_approve() {
        let message = message(&Notice::from_cloudevent(&approval_requested()));
        let body = message["attachments"][0]["content"]["body"]
            .as_array()
            .unwrap();
        assert!(
            body.iter()
                .any(|b| b["text"] == "Approve with: ferry approve api@1.4.2 --env prod"),
            "{body:#?}"
        );
        assert!(
            message["attachments"][0]["content"]
                .get("actions")
                .is_none(),
            "no public address, no link"
        );
    }
}
