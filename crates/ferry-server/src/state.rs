//! What every handler shares.

use ferry_store::Store;
use ferry_store::blobs::BlobStore;

/// The server's state, passed to handlers (never global).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The artifact store.
    pub blobs: BlobStore,
    /// The largest artifact an upload may have, in bytes.
    pub max_artifact_bytes: u64,
}
