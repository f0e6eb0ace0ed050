//! The artifact store: files kept by their SHA-256 under
//! `<data-dir>/artifacts/sha256/<2 hex>/<64 hex>`, written once, never changed.
//!
//! An upload goes to a temporary file in the same file system while its
//! digest is computed, is checked against the digest the client claimed, and
//! is then renamed into place: a reader never sees a partial file, a
//! mismatch leaves nothing behind, and storing the same bytes twice keeps one
//! copy.

use std::path::{Path, PathBuf};

use ferry_core::digest::Digest;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt;

/// Why an upload was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The bytes do not have the digest the client named.
    #[error("digest mismatch: the uploaded bytes have {actual}, not {expected}")]
    Mismatch {
        /// The digest claimed.
        expected: Digest,
        /// The digest computed.
        actual: Digest,
    },
    /// The upload is larger than allowed.
    #[error("the upload is larger than the {limit} bytes allowed")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The upload's body failed to arrive.
    #[error("the upload was interrupted: {0}")]
    Body(String),
    /// The disk failed.
    #[error("the artifact store failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The artifact store.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// The store under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where the blob with `digest` lives.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }

    /// The size of the stored blob, if it is stored.
    pub async fn size(&self, digest: &Digest) -> Option<u64> {
        tokio::fs::metadata(self.path(digest))
            .await
            .ok()
            .map(|m| m.len())
    }

    /// Stores the bytes of `chunks`, which must have `expected` as digest and
    /// at most `limit` bytes. Returns the size.
    pub async fn put<S, E>(
        &self,
        expected: &Digest,
        mut chunks: S,
        limit: u64,
    ) -> Result<u64, BlobError>
    where
        S: futures_core::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let temporary_dir = self.root.join("tmp");
        tokio::fs::create_dir_all(&temporary_dir).await?;
        let temporary = temporary_dir.join(format!("{}-{}", expected.hex(), unique()));
        let result = self.receive(&temporary, &mut chunks, limit).await;
        let (hash, size) = match result {
            Ok(received) => received,
            Err(error) => {
                let _ = tokio::fs::remove_file(&temporary).await;
                return Err(error);
            }
        };
        let actual = Digest::from_sha256(&hash);
        if &actual != expected {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(BlobError::Mismatch {
                expected: expected.clone(),
                actual,
            });
        }
        let destination = self.path(expected);
        if let Some(parent) = destination.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(&temporary, &destination).await?;
        Ok(size)
    }

    async fn receive<S, E>(
        &self,
        temporary: &Path,
        chunks: &mut S,
        limit: u64,
    ) -> Result<([u8; 32], u64), BlobError>
    where
        S: futures_core::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        use std::future::poll_fn;
        use std::pin::Pin;

        let mut file = tokio::fs::File::create(temporary).await?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = poll_fn(|cx| Pin::new(&mut *chunks).poll_next(cx)).await {
            let chunk = chunk.map_err(|e| BlobError::Body(e.to_string()))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(BlobError::TooLarge { limit });
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        Ok((hasher.finalize().into(), size))
    }
}

/// A name part that differs between concurrent uploads of the same bytes.
fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
