//! Verifying the ID token an OpenID Connect provider hands the web UI's
//! sign-in (OpenID Connect Core §3.1.3.7): the same keys, algorithms and
//! times as a CI workload's token, and besides: the issuer is the
//! provider's, the audience holds ferry's client id (and, when it holds
//! others, `azp` is ferry's), and the `nonce` is the one this sign-in sent.

use super::{Discovery, LEEWAY_SECONDS, OidcError, Verifier, decode, read_header, seconds};

impl Verifier {
    /// The claims of `token`, an ID token of the provider `discovery`
    /// describes for client `client_id`, checked at `now` (Unix seconds)
    /// against the `nonce` of the sign-in.
    pub async fn verify_id_token(
        &self,
        token: &str,
        discovery: &Discovery,
        client_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<serde_json::Value, OidcError> {
        let token = token.trim();
        let (alg, kid) = read_header(token)?;
        let key = self
            .key_at(discovery.jwks_uri.clone(), kid.as_deref())
            .await?;
        let claims: serde_json::Value = decode(token, alg, kid, key, &discovery.issuer, client_id)?;
        let exp = claims
            .get("exp")
            .and_then(|exp| serde_json::from_value::<serde_json::Number>(exp.clone()).ok())
            .ok_or_else(|| OidcError::Malformed("its `exp` claim is not a time".to_owned()))?;
        let expires_at = seconds("exp", &exp)?;
        if expires_at.saturating_add(LEEWAY_SECONDS) < now {
            return Err(OidcError::Expired {
                expired_at: expires_at,
            });
        }
        if claims.get("nonce").and_then(serde_json::Value::as_str) != Some(nonce) {
            return Err(OidcError::Malformed(
                "its `nonce` is not the one this sign-in sent (a replayed or mixed-up answer)"
                    .to_owned(),
            ));
        }
        let audiences = claims
            .get("aud")
            .and_then(serde_json::Value::as_array)
            .map_or(1, Vec::len);
        let azp = claims.get("azp").and_then(serde_json::Value::as_str);
        if (audiences > 1 || azp.is_some()) && azp != Some(client_id) {
            return Err(OidcError::Malformed(format!(
                "it was issued to the client {}, not to ferry's ({client_id})",
                azp.unwrap_or("(none named in `azp`)")
            )));
        }
        Ok(claims)
    }
}
