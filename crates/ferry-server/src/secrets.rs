//! Secret variables at rest: sealed with XChaCha20-Poly1305 under a 32-byte
//! key kept in `<data-dir>/secret.key`, never in the database.
//!
//! Rules kept here:
//! - the key file is created on the first start (mode 0600, written whole
//!   before it appears under its name) and only read afterwards; every server
//!   sharing a database needs the same file, so a start refuses a database
//!   whose secrets were sealed under another key rather than mix two keys;
//! - each value gets a fresh random 24-byte nonce, and is bound to its
//!   environment and name (associated data), so a sealed value copied onto
//!   another variable does not open;
//! - a sealed value names the key that sealed it (a fingerprint, not the key),
//!   so a wrong key is reported as such, never as a panic or as garbage;
//! - values are opened only where they are needed: to build an agent's job;
//! - the same key seals the answers kept for retried POSTs (`idempotency`),
//!   each bound to its credential and key, since some carry a secret shown
//!   once (a new token's).
//!
//! A sealed value reads `v1:<key id>:<base64 of nonce and ciphertext>`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ferry_store::Store;
use sha2::{Digest, Sha256};

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "secret.key";

/// The key's length in bytes.
const KEY_LEN: usize = 32;
/// The nonce's length in bytes (XChaCha20's extended nonce: random nonces of
/// this size never repeat in practice).
const NONCE_LEN: usize = 24;
/// Poly1305's tag, appended to the ciphertext.
const TAG_LEN: usize = 16;
/// The format of sealed values written now.
const VERSION: &str = "v1";

/// What can go wrong with the key or a sealed value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key file could not be read or written.
    #[error("cannot use the secret key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file holds something other than a key.
    #[error(
        "the secret key file {path} holds {len} bytes instead of {KEY_LEN}: restore it from a backup or from another server of this database"
    )]
    KeyLength {
        /// The file.
        path: PathBuf,
        /// How many bytes it holds.
        len: usize,
    },
    /// The database holds secrets sealed under another key.
    #[error(
        "the database holds secrets encrypted with key {theirs}, but {path} is key {ours}: every server of one database needs the same {KEY_FILE}; copy it from the server that wrote them"
    )]
    ForeignKey {
        /// This server's key file.
        path: PathBuf,
        /// The key id found in the database.
        theirs: String,
        /// This server's key id.
        ours: String,
    },
    /// The operating system gave no random bytes.
    #[error("no random bytes from the operating system: {0}")]
    Random(String),
    /// A value was sealed under another key.
    #[error(
        "it was encrypted with key {theirs}, but this server's key is {ours} (every server of one database needs the same {KEY_FILE})"
    )]
    WrongKey {
        /// The key id of the value.
        theirs: String,
        /// This server's key id.
        ours: String,
    },
    /// A value is not one this server sealed, or it was altered.
    #[error("the stored value is not one this server encrypted, or it was altered")]
    Unreadable,
    /// The database could not be read.
    #[error(transparent)]
    Store(#[from] ferry_store::StoreError),
}

/// The key that seals secret values. Cheap to clone; its bytes are never
/// printed, only its id.
#[derive(Clone)]
pub struct SecretKey {
    cipher: Arc<XChaCha20Poly1305>,
    id: String,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey").field("id", &self.id).finish()
    }
}

fn random<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(bytes)
}

/// The associated data of a variable's value: its environment and name.
fn context(environment: &str, name: &str) -> Vec<u8> {
    format!("ferry variable\0{environment}\0{name}").into_bytes()
}

impl SecretKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        let id = hex::encode(
            &Sha256::new()
                .chain_update(b"ferry secret key id\0")
                .chain_update(bytes)
                .finalize()[..8],
        );
        Self {
            cipher: Arc::new(XChaCha20Poly1305::new(&(*bytes).into())),
            id,
        }
    }

    /// A new random key, kept in memory only.
    pub fn generate() -> Result<Self, SecretError> {
        Ok(Self::from_bytes(&random::<KEY_LEN>()?))
    }

    /// The key's id: a fingerprint that tells keys apart and reveals
    /// nothing of the key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads `<data_dir>/secret.key`, creating it on the first start, and
    /// checks that the secrets already in `store` were sealed under it.
    pub async fn load(data_dir: &Path, store: &Store) -> Result<Self, SecretError> {
        let path = data_dir.join(KEY_FILE);
        let key = read_or_create(&path)?;
        for variable in store.variables(None).await? {
            if !variable.secret {
                continue;
            }
            let theirs = key_id(&variable.value).unwrap_or("unknown");
            if theirs != key.id {
                return Err(SecretError::ForeignKey {
                    path,
                    theirs: theirs.to_owned(),
                    ours: key.id.clone(),
                });
            }
        }
        Ok(key)
    }

    /// Seals the value of variable `name` of `environment`.
    pub fn seal(&self, environment: &str, name: &str, value: &str) -> Result<String, SecretError> {
        self.seal_with(&context(environment, name), value.as_bytes())
    }

    /// Opens a value sealed by [`SecretKey::seal`] for the same variable.
    pub fn open(&self, environment: &str, name: &str, sealed: &str) -> Result<String, SecretError> {
        let plain = self.open_with(&context(environment, name), sealed)?;
        String::from_utf8(plain).map_err(|_| SecretError::Unreadable)
    }

    /// Seals `bytes` bound to `context` (what they belong to, such as a
    /// variable's environment and name): they open only with the same
    /// context. Each kind of thing sealed starts its context with its own
    /// words, so no sealed value opens as a thing of another kind.
    pub fn seal_with(&self, context: &[u8], bytes: &[u8]) -> Result<String, SecretError> {
        let nonce = random::<NONCE_LEN>()?;
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: bytes,
                    aad: context,
                },
            )
            // Only a value longer than the cipher's 256 GiB limit fails.
            .map_err(|_| SecretError::Unreadable)?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        Ok(format!("{VERSION}:{}:{}", self.id, BASE64.encode(bytes)))
    }

    /// Opens bytes sealed by [`SecretKey::seal_with`] with the same context.
    pub fn open_with(&self, context: &[u8], sealed: &str) -> Result<Vec<u8>, SecretError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SecretError::Unreadable);
        };
        if id != self.id {
            return Err(SecretError::WrongKey {
                theirs: id.to_owned(),
                ours: self.id.clone(),
            });
        }
        let bytes = BASE64.decode(body).map_err(|_| SecretError::Unreadable)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(SecretError::Unreadable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| SecretError::Unreadable)?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| SecretError::Unreadable)
    }
}

/// The id of the key a value was sealed under, when it has the sealed form.
fn key_id(sealed: &str) -> Option<&str> {
    let mut parts = sealed.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(VERSION), Some(id), Some(_)) => Some(id),
        _ => None,
    }
}

fn read_or_create(path: &Path) -> Result<SecretKey, SecretError> {
    let file_error = |source| SecretError::KeyFile {
        path: path.to_owned(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            warn_if_readable_by_others(path);
            let key: &[u8; KEY_LEN] =
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| SecretError::KeyLength {
                        path: path.to_owned(),
                        len: bytes.len(),
                    })?;
            Ok(SecretKey::from_bytes(key))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let bytes = random::<KEY_LEN>()?;
            if publish(path, &bytes).map_err(file_error)? {
                tracing::info!(path = %path.display(), "created the secret key; back it up, and give every server of this database the same file");
                Ok(SecretKey::from_bytes(&bytes))
            } else {
                // Another process sharing the data directory created it first.
                read_or_create(path)
            }
        }
        Err(error) => Err(file_error(error)),
    }
}

/// Writes the key to a private temporary file, then links it under its name,
/// which fails if the name exists: a reader never sees half a key, and two
/// servers starting at once end up with one. `false` when the name was taken.
fn publish(path: &Path, key: &[u8; KEY_LEN]) -> std::io::Result<bool> {
    let temporary = path.with_extension(format!("key.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(key)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            if let Some(dir) = path.parent()
                && let Ok(dir) = std::fs::File::open(dir)
            {
                // The new name is durable once its directory is synced.
                let _ = dir.sync_all();
            }
            Ok(true)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the secret key file is readable by other users; make it private with chmod 600");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_for_its_variable_and_key() {
        let key = SecretKey::generate().unwrap();
        let sealed = key.seal("prod", "DB_PASSWORD", "hunter22").unwrap();
        assert!(!sealed.contains("hunter22"));
        assert!(sealed.starts_with(&format!("v1:{}:", key.id())), "{sealed}");
        assert_eq!(
            key.open("prod", "DB_PASSWORD", &sealed).unwrap(),
            "hunter22"
        );
        let again = key.seal("prod", "DB_PASSWORD", "hunter22").unwrap();
        assert_ne!(sealed, again, "each value has its own nonce");

        assert!(matches!(
            key.open("prod", "API_TOKEN", &sealed),
            Err(SecretError::Unreadable)
        ));
        assert!(matches!(
            key.open("dev", "DB_PASSWORD", &sealed),
            Err(SecretError::Unreadable)
        ));
        let other = SecretKey::generate().unwrap();
        let error = other.open("prod", "DB_PASSWORD", &sealed).unwrap_err();
        assert!(matches!(error, SecretError::WrongKey { .. }), "{error}");
        assert!(error.to_string().contains(key.id()), "{error}");
    }

    #[test]
    fn altered_or_foreign_values_are_errors_not_panics() {
        let key = SecretKey::generate().unwrap();
        let sealed = key.seal("prod", "A", "a value").unwrap();
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        let id = key.id();
        for bad in [
            altered.as_str(),
            "",
            "plain text",
            "v1:",
            &format!("v1:{id}:"),
            &format!("v1:{id}:!!!"),
            &format!("v1:{id}:AAAA"),
            &format!("v2:{id}:{}", sealed.rsplit(':').next().unwrap()),
        ] {
            assert!(
                matches!(key.open("prod", "A", bad), Err(SecretError::Unreadable)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_key_id_reveals_nothing_of_the_key() {
        let bytes = [7u8; KEY_LEN];
        let key = SecretKey::from_bytes(&bytes);
        assert_eq!(key.id().len(), 16);
        assert!(!key.id().contains(&hex::encode(&bytes[..4])));
        assert_eq!(SecretKey::from_bytes(&bytes).id(), key.id());
        assert!(!format!("{key:?}").contains("0707"), "{key:?}");
    }

    #[test]
    fn the_key_file_is_created_private_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let first = read_or_create(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = read_or_create(&path).unwrap();
        assert_eq!(first.id(), second.id());
        let sealed = first.seal("dev", "A", "secret value").unwrap();
        assert_eq!(second.open("dev", "A", &sealed).unwrap(), "secret value");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left");

        std::fs::write(&path, b"too short").unwrap();
        let error = read_or_create(&path).unwrap_err();
        assert!(
            matches!(error, SecretError::KeyLength { len: 9, .. }),
            "{error}"
        );
    }
}
