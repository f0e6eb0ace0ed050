//! Masking secret values in log lines before they leave the agent.

/// The shortest value that is masked: shorter ones (such as `1` or `on`)
/// would blank out ordinary text and protect nothing.
pub const MIN_SECRET_LEN: usize = 4;

/// Replaces every secret value in lines with `***`.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Vec<String>,
}

impl Masker {
    /// A masker for `secrets`; longer values are masked first, so a secret
    /// that contains another is hidden whole.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Self { secrets }
    }

    /// `line` with every secret replaced.
    pub fn mask(&self, line: &str) -> String {
        let mut masked = line.to_owned();
        for secret in &self.secrets {
            if masked.contains(secret.as_str()) {
                masked = masked.replace(secret.as_str(), "***");
            }
        }
        masked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_short_values_left_alone() {
        let masker = Masker::new([
            "hunter22".to_owned(),
            "on".to_owned(),
            "hunter22-extended".to_owned(),
        ]);
        assert_eq!(
            masker.mask("password=hunter22 and hunter22-extended, on"),
            "password=*** and ***, on"
        );
        assert_eq!(masker.mask("nothing secret"), "nothing secret");
    }
}
