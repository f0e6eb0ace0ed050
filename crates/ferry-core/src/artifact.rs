//! Artifacts of a release: stored by ferry (content-addressed), or recorded
//! references to where they live (an OCI image, a URL) with their digest.

use crate::digest::Digest;

/// A reference artifact: where it is, and the digest it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `oci://registry/repository@sha256:…`, or an `https://` / `http://` URL.
    pub uri: String,
    /// The content's digest.
    pub digest: Digest,
}

/// Reads `oci://REGISTRY/REPO@sha256:HEX` (the digest is part of the
/// reference) or `https://HOST/PATH@sha256:HEX` (the digest is split off).
pub fn parse_reference(value: &str) -> Result<Reference, String> {
    let expected = "expected oci://REGISTRY/REPOSITORY@sha256:HEX or https://HOST/PATH@sha256:HEX";
    let (location, digest) = value
        .rsplit_once("@sha256:")
        .ok_or_else(|| format!("reference {value:?} has no @sha256:<digest>; {expected}"))?;
    let digest = Digest::parse(&format!("sha256:{digest}"))?;
    if let Some(rest) = location.strip_prefix("oci://") {
        if rest.is_empty() || !rest.contains('/') {
            return Err(format!(
                "reference {value:?} names no repository; {expected}"
            ));
        }
        return Ok(Reference {
            uri: value.to_owned(),
            digest,
        });
    }
    if let Some(rest) = location
        .strip_prefix("https://")
        .or_else(|| location.strip_prefix("http://"))
    {
        if rest.is_empty() {
            return Err(format!("reference {value:?} names no host; {expected}"));
        }
        return Ok(Reference {
            uri: location.to_owned(),
            digest,
        });
    }
    Err(format!(
        "reference {value:?} has an unsupported scheme; {expected}"
    ))
}

/// Whether a reference may be stored for agents to fetch: `oci://` and
/// `https://` always; `http://` only from a host the server's operator named
/// (`ferry serve --allow-http-host`, such as a registry on a private
/// network), since anyone on the way can read and replace what plain HTTP
/// carries. `allowed` holds `HOST` or `HOST:PORT` entries.
pub fn check_transport(reference: &Reference, allowed: &[String]) -> Result<(), String> {
    let Some(rest) = reference.uri.strip_prefix("http://") else {
        return Ok(());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.to_ascii_lowercase();
    let host = authority
        .rsplit_once(':')
        .map_or(authority.as_str(), |(host, _)| host);
    if allowed
        .iter()
        .any(|entry| entry.eq_ignore_ascii_case(&authority) || entry.eq_ignore_ascii_case(host))
    {
        return Ok(());
    }
    Err(format!(
        "{:?} would be fetched over plain http://, which anyone on the way can read and \
         change; use https://, or start the server with --allow-http-host {host} for a host \
         on a network you trust",
        reference.uri
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_from_a_host_the_operator_named() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let http = parse_reference(&format!("http://mirror.lan:8080/a.tgz@sha256:{hex}")).unwrap();
        let https = parse_reference(&format!("https://example.com/a.tgz@sha256:{hex}")).unwrap();
        assert!(check_transport(&https, &[]).is_ok());
        let refused = check_transport(&http, &[]).unwrap_err();
        assert!(
            refused.contains("--allow-http-host mirror.lan"),
            "{refused}"
        );
        assert!(check_transport(&http, &["mirror.lan".into()]).is_ok());
        assert!(check_transport(&http, &["MIRROR.lan:8080".into()]).is_ok());
        assert!(check_transport(&http, &["other.lan".into()]).is_err());
    }

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn oci_references_keep_their_digest() {
        let value = format!("oci://ghcr.io/acme/api@sha256:{HEX}");
        let reference = parse_reference(&value).unwrap();
        assert_eq!(reference.uri, value);
        assert_eq!(reference.digest.hex(), HEX);
    }

    #[test]
    fn urls_have_the_digest_split_off() {
        let reference =
            parse_reference(&format!("https://dl.example.com/api-1.0.tgz@sha256:{HEX}")).unwrap();
        assert_eq!(reference.uri, "https://dl.example.com/api-1.0.tgz");
    }

    #[test]
    fn bad_references_say_what_is_expected() {
        assert!(
            parse_reference("https://x/y")
                .unwrap_err()
                .contains("no @sha256")
        );
        assert!(
            parse_reference(&format!("ftp://x/y@sha256:{HEX}"))
                .unwrap_err()
                .contains("unsupported scheme")
        );
        assert!(
            parse_reference("oci://x@sha256:abc")
                .unwrap_err()
                .contains("64")
        );
        assert!(
            parse_reference(&format!("oci://registry@sha256:{HEX}"))
                .unwrap_err()
                .contains("no repository")
        );
    }
}
