//! The artifact store: files kept by their SHA-256 under
//! `<data-dir>/artifacts/sha256/<2 hex>/<64 hex>`, written once, never changed.
//!
//! An upload goes to a temporary file in the same file system while its
//! digest is computed, is checked against the digest the client claimed, and
//! is then renamed into place: a reader never sees a partial file, a
//! mismatch leaves nothing behind, and storing the same bytes twice keeps one
//! copy.
//!
//! Leftovers are removed by [`BlobStore::sweep`] (at every start of the
//! server, and after a release that named uploaded bytes was refused):
//! - temporary files of an earlier process (one killed during an upload);
//! - blobs that no release names and that nobody uploaded (again) or asked
//!   about (`HEAD`) for [`ORPHAN_GRACE`]: the bytes of a refused release, or
//!   of an upload whose release was never created. The grace
//!   period spares the bytes of a release being created (uploaded first,
//!   named a moment later), and a release being created holds a
//!   [`BlobStore::pin`] from the moment it finds its bytes until it is
//!   committed, so the sweep never removes bytes a release is about to name.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use ferry_core::digest::Digest;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{Store, StoreError, io_is_storage_full};

/// How long a blob no release names is kept after it was last uploaded
/// or asked about.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(60 * 60);

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
    /// The disk is full: nothing was stored.
    #[error("the server's disk is full, so the upload was not stored: {0}")]
    StorageFull(std::io::Error),
    /// The disk failed.
    #[error("the artifact store failed: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for BlobError {
    fn from(error: std::io::Error) -> Self {
        if io_is_storage_full(&error) {
            BlobError::StorageFull(error)
        } else {
            BlobError::Io(error)
        }
    }
}

/// The artifact store. Clones share their pins and sweeps.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    /// Shared by each release being created, from finding its bytes to its
    /// commit; held alone by the sweep while it removes blobs.
    pins: Arc<tokio::sync::RwLock<()>>,
    /// A sweep task is under way ([`BlobStore::sweep_soon`]).
    planned: Arc<AtomicBool>,
    /// A release was refused since the sweep task last looked.
    asked: Arc<AtomicBool>,
}

/// A release being created names blobs: none is removed while this is held.
#[derive(Debug)]
pub struct BlobPin {
    _guard: tokio::sync::OwnedRwLockReadGuard<()>,
}

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Temporary files of an earlier process (interrupted uploads).
    pub temporary: usize,
    /// Blobs no release names, older than [`ORPHAN_GRACE`].
    pub orphans: usize,
}

impl BlobStore {
    /// The store under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            pins: Arc::default(),
            planned: Arc::default(),
            asked: Arc::default(),
        }
    }

    /// Where uploads are written while they arrive.
    pub fn temporary_dir(&self) -> PathBuf {
        self.root.join("tmp")
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

    /// Like [`BlobStore::size`], and the blob's grace period against the
    /// sweep starts again (it is about to be named in a release).
    pub async fn size_kept(&self, digest: &Digest) -> Option<u64> {
        let path = self.path(digest);
        tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(path).ok()?;
            // Best effort: a blob whose time cannot be set is still there.
            let _ = file.set_modified(SystemTime::now());
            file.metadata().ok().map(|m| m.len())
        })
        .await
        .ok()
        .flatten()
    }

    /// Pins every blob until the answer is dropped (see the module's
    /// documentation): held by a release being created.
    pub async fn pin(&self) -> BlobPin {
        BlobPin {
            _guard: self.pins.clone().read_owned().await,
        }
    }

    /// Whether the artifact store's disk takes a small file now
    /// ([`BlobError::StorageFull`] when it is full), for readiness.
    pub async fn probe(&self) -> Result<(), BlobError> {
        let mut dir = self.temporary_dir();
        while !tokio::fs::try_exists(&dir).await.unwrap_or(false) {
            match dir.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => dir = parent.to_owned(),
                _ => return Ok(()),
            }
        }
        Ok(crate::write_probe(dir.join(".ready-probe")).await?)
    }

    /// Removes the temporary files of earlier processes and the blobs no
    /// release names that are older than [`ORPHAN_GRACE`] (see the module's
    /// documentation). Fails only when the database cannot say which blobs
    /// are named; a file that cannot be removed is logged and left.
    pub async fn sweep(&self, store: &Store) -> Result<Swept, StoreError> {
        let mut swept = Swept::default();
        let ours = format!("-{}-", instance());
        for (path, _) in files(&self.temporary_dir()).await {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if !name.contains(&ours) && remove(&path).await {
                swept.temporary += 1;
            }
        }
        let old = |modified: SystemTime| {
            SystemTime::now()
                .duration_since(modified)
                .is_ok_and(|age| age >= ORPHAN_GRACE)
        };
        let mut candidates = Vec::new();
        for (dir, _) in files(&self.root.join("sha256")).await {
            for (path, modified) in files(&dir).await {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                if let Ok(digest) = Digest::parse(&format!("sha256:{name}"))
                    && old(modified)
                {
                    candidates.push((digest, path));
                }
            }
        }
        if candidates.is_empty() {
            return Ok(swept);
        }
        // No release between finding its bytes and its commit from here on.
        let _alone = self.pins.write().await;
        for (digest, path) in candidates {
            if store.artifact_digest_known(&digest.to_string()).await? {
                continue;
            }
            // Asked about (or uploaded again) since it was listed: kept.
            let still_old = tokio::fs::metadata(&path)
                .await
                .and_then(|m| m.modified())
                .is_ok_and(old);
            if still_old && remove(&path).await {
                tracing::info!(%digest, "removed an artifact no release names");
                swept.orphans += 1;
            }
        }
        Ok(swept)
    }

    /// Sweeps now and again once [`ORPHAN_GRACE`] has passed, in the
    /// background: after a refused release, whose bytes the second sweep
    /// removes. One task does it for every refusal: while it waits, later
    /// refusals ask for one more wait and sweep.
    pub fn sweep_soon(&self, store: Store) {
        self.asked.store(true, Ordering::Release);
        if self.planned.swap(true, Ordering::AcqRel) {
            return;
        }
        let blobs = self.clone();
        tokio::spawn(async move {
            blobs.sweep_logged(&store).await;
            loop {
                while blobs.asked.swap(false, Ordering::AcqRel) {
                    tokio::time::sleep(ORPHAN_GRACE + Duration::from_secs(60)).await;
                    blobs.sweep_logged(&store).await;
                }
                blobs.planned.store(false, Ordering::Release);
                // A refusal that saw this task planned just before it ended
                // is not left without its sweep.
                if !blobs.asked.load(Ordering::Acquire)
                    || blobs.planned.swap(true, Ordering::AcqRel)
                {
                    break;
                }
            }
        });
    }

    /// [`BlobStore::sweep`], its outcome logged.
    pub async fn sweep_logged(&self, store: &Store) {
        match self.sweep(store).await {
            Ok(swept) if swept != Swept::default() => tracing::info!(
                temporary = swept.temporary,
                orphans = swept.orphans,
                "removed leftover artifact files"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "sweeping the artifact store failed"),
        }
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

/// A name part that differs between concurrent uploads of the same bytes:
/// this process's [`instance`] and a counter.
fn unique() -> String {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", instance(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// This process among all that used the store: its id and when it first
/// wrote (a restarted container may get the same process id every time).
fn instance() -> &'static str {
    static INSTANCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    INSTANCE.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        format!("{}.{nanos:x}", std::process::id())
    })
}

/// The entries of `dir` with their modification times (none when it is
/// missing or unreadable).
async fn files(dir: &Path) -> Vec<(PathBuf, SystemTime)> {
    let mut found = Vec::new();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return found;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        if let Ok(modified) = entry.metadata().await.and_then(|m| m.modified()) {
            found.push((entry.path(), modified));
        }
    }
    found
}

/// Removes the file at `path`: whether it did (a failure is logged).
async fn remove(path: &Path) -> bool {
    match tokio::fs::remove_file(path).await {
        Ok(()) => true,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot remove a leftover artifact file");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(
        bytes: &'static [u8],
    ) -> impl futures_core::Stream<Item = Result<bytes::Bytes, String>> + Unpin {
        struct Once(Option<bytes::Bytes>);
        impl futures_core::Stream for Once {
            type Item = Result<bytes::Bytes, String>;
            fn poll_next(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Self::Item>> {
                std::task::Poll::Ready(self.0.take().map(Ok))
            }
        }
        Once(Some(bytes::Bytes::from_static(bytes)))
    }

    async fn stored(blobs: &BlobStore, bytes: &'static [u8]) -> Digest {
        let digest = Digest::from_sha256(&Sha256::digest(bytes).into());
        blobs.put(&digest, chunks(bytes), 1 << 20).await.unwrap();
        digest
    }

    fn age(path: &Path) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - ORPHAN_GRACE - Duration::from_secs(60))
            .unwrap();
    }

    #[tokio::test]
    async fn a_sweep_removes_leftovers_and_old_blobs_no_release_names() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
        let store = Store::connect(&url).await.unwrap();
        let blobs = BlobStore::new(dir.path().join("artifacts"));
        let old = stored(&blobs, b"old").await;
        let young = stored(&blobs, b"young").await;
        let asked = stored(&blobs, b"asked about").await;
        age(&blobs.path(&old));
        age(&blobs.path(&asked));
        assert_eq!(blobs.size_kept(&asked).await, Some(11));
        let theirs = blobs.temporary_dir().join(format!("{}-1.2-0", old.hex()));
        let ours = blobs
            .temporary_dir()
            .join(format!("{}-{}", old.hex(), unique()));
        std::fs::write(&theirs, b"partial").unwrap();
        std::fs::write(&ours, b"arriving").unwrap();

        let swept = blobs.sweep(&store).await.unwrap();
        assert_eq!(
            swept,
            Swept {
                temporary: 1,
                orphans: 1
            }
        );
        assert!(!theirs.exists(), "an earlier process's upload is removed");
        assert!(ours.exists(), "an upload under way is kept");
        assert!(!blobs.path(&old).exists());
        assert!(blobs.path(&young).exists(), "within the grace period");
        assert!(
            blobs.path(&asked).exists(),
            "asked about: its grace period began again"
        );
        blobs.probe().await.unwrap();
    }

    #[test]
    fn a_full_disk_is_storage_full() {
        let error = BlobError::from(std::io::Error::from_raw_os_error(28));
        assert!(matches!(error, BlobError::StorageFull(_)), "{error:?}");
        let error = BlobError::from(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(matches!(error, BlobError::Io(_)), "{error:?}");
    }
}
