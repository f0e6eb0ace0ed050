//! Signing people in to the web UI with the organisation's OpenID Connect
//! provider (`[oidc]` in ferry.toml): the settings and their rules, and who
//! the claims of a verified ID token make someone in ferry.
//!
//! # The rules
//!
//! - The person's ferry user name is the claim `username_claim` names
//!   (`preferred_username` unless set); it must be a valid ferry name. A
//!   user of that name is that person: made on their first sign-in, signed
//!   in as long as they are enabled.
//! - Their e-mail address is the `email` claim, unless `email_verified`
//!   says it is not verified.
//! - The provider's groups (the claim `groups_claim` names, `groups` unless
//!   set: a list of strings, or one) are mapped through `[oidc.groups]` to
//!   ferry groups, whose roles they then hold. Every ferry group the mapping
//!   names is managed by the provider: at each sign-in the person joins the
//!   mapped groups the provider lists for them and leaves the others. Groups
//!   the mapping does not name are left as they are.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::Name;
use crate::trust::check_url;

/// The path of the sign-in callback, after the server's address.
pub const CALLBACK_PATH: &str = "/login/oidc/callback";

/// The longest label of the sign-in button, in characters.
pub const MAX_LABEL: usize = 60;

/// The settings of `[oidc]`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSpec {
    /// The provider's issuer URL, as its discovery document
    /// (`{issuer}/.well-known/openid-configuration`) and its ID tokens
    /// (`iss`) say it: `https://`, or `http://` on the loopback interface.
    pub issuer: String,
    /// The client id ferry is registered with at the provider.
    pub client_id: String,
    /// A file on the server's machine holding the client secret (read at
    /// each sign-in, so a new secret needs no restart). Excludes
    /// `client_secret_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<String>,
    /// An environment variable of the server holding the client secret.
    /// Excludes `client_secret_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// The scopes asked for; `openid` among them.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim that holds the person's ferry user name.
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    /// The claim that lists the person's groups at the provider.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Provider group → ferry group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Name>))]
    pub groups: BTreeMap<String, Name>,
    /// What the sign-in button says after "Sign in with" (default: "single
    /// sign-on").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The callback URL registered at the provider, such as
    /// `https://ferry.example.com/login/oidc/callback`. Without it, the
    /// address the browser used (and a proxy's `X-Forwarded-Proto`) make it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(str::to_owned).to_vec()
}

fn default_username_claim() -> String {
    "preferred_username".to_owned()
}

fn default_groups_claim() -> String {
    "groups".to_owned()
}

/// Where the client secret is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource<'a> {
    /// A file of the server's machine.
    File(&'a str),
    /// An environment variable of the server.
    Env(&'a str),
}

impl SsoSpec {
    /// Checks every field; the message names the field and what is expected.
    pub fn validate(&self) -> Result<(), String> {
        check_url(&self.issuer).map_err(|e| format!("`issuer`: {e}"))?;
        if self.issuer.ends_with('/') {
            return Err(format!(
                "`issuer` {:?} ends with a slash; write it exactly as the provider's ID tokens \
                 say it, usually without one",
                self.issuer
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err(
                "`client_id` is empty; write the client id ferry is registered with at \
                 the provider"
                    .to_owned(),
            );
        }
        match (&self.client_secret_file, &self.client_secret_env) {
            (Some(_), Some(_)) => {
                return Err(
                    "`client_secret_file` and `client_secret_env` are both set; \
                     keep one"
                        .to_owned(),
                );
            }
            (None, None) => {
                return Err(
                    "the client secret is missing; set `client_secret_file` (a file \
                     of the server's machine) or `client_secret_env` (an environment \
                     variable of the server)"
                        .to_owned(),
                );
            }
            (Some(file), None) if file.trim().is_empty() => {
                return Err("`client_secret_file` is empty; name the file".to_owned());
            }
            (None, Some(variable)) if !is_variable_name(variable) => {
                return Err(format!(
                    "`client_secret_env` {variable:?} is not an environment variable's name; \
                     expected letters, digits and `_`, not starting with a digit"
                ));
            }
            _ => {}
        }
        if !self.scopes.iter().any(|scope| scope == "openid") {
            return Err("`scopes` lacks \"openid\"; an OpenID Connect sign-in needs it".to_owned());
        }
        if let Some(scope) = self
            .scopes
            .iter()
            .find(|scope| scope.is_empty() || !scope.bytes().all(is_scope_byte))
        {
            return Err(format!(
                "`scopes`: {scope:?} is not a scope; expected printable characters without \
                 spaces, quotes or backslashes"
            ));
        }
        for (field, claim) in [
            ("username_claim", &self.username_claim),
            ("groups_claim", &self.groups_claim),
        ] {
            if claim.trim().is_empty() {
                return Err(format!("`{field}` is empty; name a claim of the ID token"));
            }
        }
        if let Some(provider) = self.groups.keys().find(|group| group.is_empty()) {
            return Err(format!(
                "`groups`: the provider group {provider:?} is empty; write the group's name \
                 as the provider lists it"
            ));
        }
        if let Some(label) = &self.label
            && (label.trim().is_empty()
                || label.chars().count() > MAX_LABEL
                || label.chars().any(char::is_control))
        {
            return Err(format!(
                "`label` {label:?} is not a label; expected 1 to {MAX_LABEL} characters \
                 without control characters"
            ));
        }
        if let Some(url) = &self.redirect_url {
            check_url(url).map_err(|e| format!("`redirect_url`: {e}"))?;
            if !url.ends_with(CALLBACK_PATH) {
                return Err(format!(
                    "`redirect_url` {url:?} does not end with {CALLBACK_PATH}, where ferry \
                     takes the provider's answer"
                ));
            }
        }
        Ok(())
    }

    /// Where the client secret is read.
    pub fn secret_source(&self) -> Option<SecretSource<'_>> {
        match (&self.client_secret_file, &self.client_secret_env) {
            (Some(file), _) => Some(SecretSource::File(file)),
            (None, Some(variable)) => Some(SecretSource::Env(variable)),
            (None, None) => None,
        }
    }

    /// What the sign-in button says.
    pub fn button(&self) -> String {
        format!(
            "Sign in with {}",
            self.label.as_deref().unwrap_or("single sign-on")
        )
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// The ferry groups the provider manages: those the mapping names.
    pub fn managed_groups(&self) -> Vec<Name> {
        let managed: BTreeSet<&Name> = self.groups.values().collect();
        managed.into_iter().cloned().collect()
    }

    /// Who the claims of a verified ID token make someone in ferry, or why
    /// they make nobody (a sentence for the person signing in).
    pub fn identity(&self, claims: &serde_json::Value) -> Result<SsoIdentity, String> {
        let claim = &self.username_claim;
        let username = match claims.get(claim) {
            Some(serde_json::Value::String(name)) => name,
            Some(_) => {
                return Err(format!(
                    "the provider's claim `{claim}` is not text, so it gives no ferry user name"
                ));
            }
            None => {
                return Err(format!(
                    "the provider sent no `{claim}` claim, which gives the ferry user name; \
                     its administrator must release it to ferry (or ferry's `username_claim` \
                     must name another claim)"
                ));
            }
        };
        let name = Name::parse(username).map_err(|reason| {
            format!("the provider's `{claim}` {username:?} is not a ferry user name: {reason}")
        })?;
        let verified = claims.get("email_verified") != Some(&serde_json::Value::Bool(false));
        let email = claims
            .get("email")
            .and_then(serde_json::Value::as_str)
            .filter(|email| verified && !email.trim().is_empty())
            .map(str::to_owned);
        let listed: Vec<&str> = match claims.get(&self.groups_claim) {
            Some(serde_json::Value::String(one)) => vec![one.as_str()],
            Some(serde_json::Value::Array(many)) => {
                many.iter().filter_map(serde_json::Value::as_str).collect()
            }
            _ => Vec::new(),
        };
        let groups: BTreeSet<&Name> = listed
            .into_iter()
            .filter_map(|provider| self.groups.get(provider))
            .collect();
        Ok(SsoIdentity {
            name,
            email,
            groups: groups.into_iter().cloned().collect(),
        })
    }
}

/// Who a person signing in with the provider is in ferry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    /// Their user name.
    pub name: Name,
    /// Their verified e-mail address, when the provider sent one.
    pub email: Option<String>,
    /// The ferry groups they belong to by the provider's word.
    pub groups: Vec<Name>,
}

fn is_variable_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A byte of a scope token (RFC 6749 §3.3).
fn is_scope_byte(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x5b | 0x5d..=0x7e)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec() -> SsoSpec {
        toml::from_str(
            r#"
            issuer = "https://login.example.com"
            client_id = "ferry"
            client_secret_env = "FERRY_OIDC_SECRET"
            [groups]
            "release-team" = "release-managers"
            "sre" = "deployers"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn defaults_ask_for_the_usual_scopes_and_claims() {
        let spec = spec();
        assert_eq!(spec.validate(), Ok(()));
        assert_eq!(spec.scopes, ["openid", "profile", "email"]);
        assert_eq!(spec.username_claim, "preferred_username");
        assert_eq!(spec.groups_claim, "groups");
        assert_eq!(spec.button(), "Sign in with single sign-on");
        assert_eq!(
            spec.secret_source(),
            Some(SecretSource::Env("FERRY_OIDC_SECRET"))
        );
    }

    #[test]
    fn settings_that_cannot_work_are_refused_and_say_which() {
        let refused = |change: fn(&mut SsoSpec), said: &str| {
            let mut spec = spec();
            change(&mut spec);
            let error = spec.validate().unwrap_err();
            assert!(error.contains(said), "{said}: {error}");
        };
        refused(|s| s.issuer = "http://login.example.com".into(), "`issuer`");
        refused(|s| s.issuer = "https://login.example.com/".into(), "slash");
        refused(|s| s.client_id = " ".into(), "`client_id`");
        refused(|s| s.client_secret_file = Some("/etc/x".into()), "both set");
        refused(|s| s.client_secret_env = None, "secret is missing");
        refused(|s| s.client_secret_env = Some("1SECRET".into()), "variable");
        refused(|s| s.scopes = vec!["profile".into()], "openid");
        refused(
            |s| s.scopes = vec!["openid".into(), "a b".into()],
            "not a scope",
        );
        refused(|s| s.username_claim = String::new(), "`username_claim`");
        refused(|s| s.label = Some("x".repeat(61)), "`label`");
        refused(
            |s| s.redirect_url = Some("https://ferry.example.com/elsewhere".into()),
            "/login/oidc/callback",
        );
    }

    #[test]
    fn the_claims_name_the_user_and_map_their_groups() {
        let identity = spec()
            .identity(&json!({
                "sub": "u-1", "preferred_username": "carol", "email": "carol@example.com",
                "groups": ["release-team", "cooks", "sre", "release-team"],
            }))
            .unwrap();
        assert_eq!(identity.name.as_str(), "carol");
        assert_eq!(identity.email.as_deref(), Some("carol@example.com"));
        let groups: Vec<&str> = identity.groups.iter().map(Name::as_str).collect();
        assert_eq!(groups, ["deployers", "release-managers"]);
        let managed: Vec<String> = spec()
            .managed_groups()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(managed, ["deployers", "release-managers"]);
    }

    #[test]
    fn an_unverified_email_is_not_kept_and_one_group_may_be_text() {
        let identity = spec()
            .identity(&json!({
                "preferred_username": "dan", "email": "dan@example.com",
                "email_verified": false, "groups": "sre",
            }))
            .unwrap();
        assert_eq!(identity.email, None);
        assert_eq!(identity.groups.len(), 1);
    }

    #[test]
    fn claims_that_name_nobody_say_why() {
        let missing = spec().identity(&json!({ "sub": "u-1" })).unwrap_err();
        assert!(
            missing.contains("no `preferred_username` claim"),
            "{missing}"
        );
        let invalid = spec()
            .identity(&json!({ "preferred_username": "Carol Smith" }))
            .unwrap_err();
        assert!(invalid.contains("not a ferry user name"), "{invalid}");
        let number = spec()
            .identity(&json!({ "preferred_username": 7 }))
            .unwrap_err();
        assert!(number.contains("not text"), "{number}");
    }
}
