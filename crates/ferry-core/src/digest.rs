//! Content digests in the OCI form `sha256:<64 lower-case hex digits>`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A SHA-256 digest, written `sha256:<hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

/// The form of a digest as a regular expression, for the OpenAPI document.
pub const DIGEST_PATTERN: &str = "^sha256:[0-9a-f]{64}$";

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Digest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(DIGEST_PATTERN))
            .description(Some("A SHA-256 digest: sha256:<64 lower-case hex digits>"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Digest {}

impl Digest {
    /// Reads `sha256:<hex>`, saying what is expected when it is not that.
    pub fn parse(text: &str) -> Result<Self, String> {
        let hex = text.strip_prefix("sha256:").ok_or_else(|| {
            format!("digest {text:?} must start with \"sha256:\" (such as sha256:2c26b46b…)")
        })?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(format!(
                "digest {text:?} must have 64 lower-case hex digits after \"sha256:\""
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The digest of bytes whose SHA-256 is `hash`.
    pub fn from_sha256(hash: &[u8; 32]) -> Self {
        Self(format!("sha256:{}", hex::encode(hash)))
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Digest {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Digest> for String {
    fn from(digest: Digest) -> Self {
        digest.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn reads_the_oci_form() {
        let digest = Digest::parse(EMPTY).unwrap();
        assert_eq!(digest.hex().len(), 64);
        assert_eq!(digest.to_string(), EMPTY);
        let hash: [u8; 32] = hex::decode(digest.hex()).unwrap().try_into().unwrap();
        assert_eq!(Digest::from_sha256(&hash), digest);
    }

    #[test]
    fn refuses_other_forms_with_the_reason() {
        assert!(
            Digest::parse(&EMPTY[7..])
                .unwrap_err()
                .contains("must start with")
        );
        assert!(
            Digest::parse(&EMPTY.to_uppercase().replace("SHA256", "sha256"))
                .unwrap_err()
                .contains("lower-case")
        );
        assert!(Digest::parse("sha256:abc").unwrap_err().contains("64"));
    }
}
