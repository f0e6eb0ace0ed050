//! Identities the rules compare: reserved names, e-mail addresses, and
//! whether a commit's author is a given user.

use crate::Name;

/// Names the server records as actors of its own (`system` for the
/// orchestrator, `demo` for sample data, `recovery` for `ferry admin
/// token`) or that would pass for an administrator: no user or group may
/// take them. The bootstrap administrator `admin` is the server's own.
pub const RESERVED_NAMES: [&str; 9] = [
    "system",
    "demo",
    "recovery",
    "ferry",
    "admin",
    "administrator",
    "root",
    "superuser",
    "anonymous",
];

/// Why a user's name or e-mail is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The name is one the server uses for itself.
    #[error(
        "{0:?} is reserved: the server records it as an actor of its own or it would pass for an administrator; choose another name"
    )]
    Reserved(String),
    /// Not an e-mail address.
    #[error("{0:?} is not an e-mail address; expected local@domain, such as bob@example.com")]
    Email(String),
}

/// Refuses reserved names for users and groups.
pub fn check_principal_name(name: &Name) -> Result<(), IdentityError> {
    if RESERVED_NAMES.contains(&name.as_str()) {
        return Err(IdentityError::Reserved(name.to_string()));
    }
    Ok(())
}

/// Checks an e-mail address (one `@`, something on each side, a dot in
/// the domain, no spaces or angle brackets) and returns it trimmed.
pub fn check_email(text: &str) -> Result<String, IdentityError> {
    let email = text.trim();
    let bad = || IdentityError::Email(text.to_owned());
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let clean = |s: &str| {
        !s.is_empty() && !s.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '@'))
    };
    if !clean(local) || !clean(domain) || !domain.contains('.') || email.len() > 254 {
        return Err(bad());
    }
    Ok(email.to_owned())
}

/// A person as git names them: `Name <mail>`, or only a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The name.
    pub name: String,
    /// The e-mail, when given.
    pub email: Option<String>,
}

impl Person {
    /// Reads `Name <mail>` (or `Name`, or `<mail>`).
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        match (text.find('<'), text.rfind('>')) {
            (Some(open), Some(close)) if open < close => {
                let email = text[open + 1..close].trim();
                Self {
                    name: text[..open].trim().to_owned(),
                    email: (!email.is_empty()).then(|| email.to_owned()),
                }
            }
            _ => Self {
                name: text.to_owned(),
                email: None,
            },
        }
    }
}

/// Whether `author` (of a commit) is the user `user_name` with `user_email`:
/// the same e-mail when both have one, otherwise the same name, without
/// regard to case. An author written as a bare e-mail address matches by
/// it too.
pub fn same_person(author: &Person, user_name: &str, user_email: Option<&str>) -> bool {
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    match (&author.email, user_email) {
        (Some(a), Some(u)) if same(a, u) => return true,
        // Two different e-mails are two different people, whatever the names.
        (Some(_), Some(_)) => return false,
        _ => {}
    }
    same(&author.name, user_name) || user_email.is_some_and(|u| same(&author.name, u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_are_refused() {
        for reserved in RESERVED_NAMES {
            let error = check_principal_name(&Name::parse(reserved).unwrap()).unwrap_err();
            assert!(error.to_string().contains("reserved"));
        }
        assert!(check_principal_name(&Name::parse("bob").unwrap()).is_ok());
    }

    #[test]
    fn e_mails_are_checked() {
        assert_eq!(check_email(" bob@example.com ").unwrap(), "bob@example.com");
        for bad in [
            "bob",
            "@example.com",
            "bob@",
            "bob@localhost",
            "b ob@x.org",
            "<b@x.org>",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn authors_are_matched_by_e_mail_before_name() {
        let reviewer = Person::parse("Bob Reviewer <Bob@Example.com>");
        assert_eq!(reviewer.email.as_deref(), Some("Bob@Example.com"));
        assert!(same_person(&reviewer, "bob", Some("bob@example.com")));
        // Same name, another e-mail: another person.
        let namesake = Person::parse("bob <bob@elsewhere.org>");
        assert!(!same_person(&namesake, "bob", Some("bob@example.com")));
        // No e-mail on one side: the name decides.
        assert!(same_person(
            &Person::parse("Bob"),
            "bob",
            Some("bob@example.com")
        ));
        assert!(same_person(&namesake, "bob", None));
        assert!(same_person(
            &Person::parse("bob@example.com"),
            "robert",
            Some("bob@example.com")
        ));
        assert!(!same_person(&Person::parse("Carol"), "bob", None));
    }
}
