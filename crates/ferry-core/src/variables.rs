//! Variables of an environment: the names and values deployment steps see in
//! their process environment, next to the `FERRY_*` ones ferry sets itself.
//!
//! A variable comes from `ferry.toml` (a plain value, configuration as code)
//! or from `ferry var set` (plain or secret); the second wins over the first
//! for the same name. The rules here are checked by the configuration parser,
//! by the server on every write, and by the store.

/// The prefix of the variables ferry sets for every step (`FERRY_VERSION`,
/// `FERRY_ENVIRONMENT`…): an environment's variable may not use it, so it can
/// never shadow them.
pub const RESERVED_PREFIX: &str = "FERRY_";

/// The longest name accepted.
pub const MAX_NAME_LEN: usize = 128;

/// The form of a variable's name as a regular expression, for the OpenAPI
/// document ([`check_name`] also refuses the reserved prefix).
pub const NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]*$";

/// The largest value accepted, in bytes: a step's environment is copied into
/// every process it starts, and the kernel limits its total size.
pub const MAX_VALUE_BYTES: usize = 32 * 1024;

/// The shortest secret accepted. Agents mask secret values of at least this
/// length in logs (shorter ones would blank out ordinary text), so a shorter
/// secret would be printed in clear.
pub const MIN_SECRET_LEN: usize = 4;

/// Checks a variable's name: a shell identifier (`[A-Za-z_][A-Za-z0-9_]*`),
/// outside the `FERRY_` prefix ferry keeps for itself.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "invalid variable name {name:?}: expected letters, digits and underscores, not starting with a digit, such as LOG_LEVEL"
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "variable name {name:?} is longer than {MAX_NAME_LEN} characters"
        ));
    }
    if name.starts_with(RESERVED_PREFIX) {
        return Err(format!(
            "variable name {name:?} starts with {RESERVED_PREFIX}, which ferry keeps for the variables it sets itself"
        ));
    }
    Ok(())
}

/// Checks a variable's value: it must fit in a process environment.
pub fn check_value(name: &str, value: &str) -> Result<(), String> {
    if value.contains('\0') {
        return Err(format!(
            "the value of {name} contains a NUL character, which a process environment cannot hold"
        ));
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(format!(
            "the value of {name} has {} bytes; at most {MAX_VALUE_BYTES} are accepted",
            value.len()
        ));
    }
    Ok(())
}

/// Checks a secret's value: a value that fits, long enough to be masked.
pub fn check_secret(name: &str, value: &str) -> Result<(), String> {
    check_value(name, value)?;
    if value.chars().count() < MIN_SECRET_LEN {
        return Err(format!(
            "the secret {name} has fewer than {MIN_SECRET_LEN} characters: agents could not mask it in logs; set a longer value, or set it without --secret"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_identifiers_outside_ferry_s_prefix_are_names() {
        for good in ["LOG_LEVEL", "_private", "a", "Db2", "ferry_lower"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in ["", "2FAST", "LOG-LEVEL", "A B", "ÄRGER", "x=y"] {
            let error = check_name(bad).unwrap_err();
            assert!(error.contains("LOG_LEVEL"), "{bad}: {error}");
        }
        let reserved = check_name("FERRY_VERSION").unwrap_err();
        assert!(reserved.contains("FERRY_"), "{reserved}");
        assert!(check_name(&"A".repeat(MAX_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn values_must_fit_a_process_environment() {
        assert_eq!(check_value("A", "any text, even = and ; and \n"), Ok(()));
        assert!(check_value("A", "a\0b").unwrap_err().contains("NUL"));
        assert!(check_value("A", &"x".repeat(MAX_VALUE_BYTES + 1)).is_err());
    }

    #[test]
    fn a_secret_too_short_to_mask_is_refused() {
        assert!(check_secret("PIN", "123").unwrap_err().contains("mask"));
        assert_eq!(check_secret("PIN", "1234"), Ok(()));
    }
}
