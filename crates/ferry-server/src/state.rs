//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ferry_core::environment::Window;
use ferry_core::windows::Recurrence;
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
    /// Windows already compiled: a gate check reads every window of an
    /// environment, and compiling a rule costs more than evaluating it.
    pub windows: WindowCache,
}

/// An environment's windows, compiled.
type Compiled = Arc<Vec<Recurrence>>;

/// Compiled deployment windows of an environment, by their text.
#[derive(Debug, Clone, Default)]
pub struct WindowCache(Arc<Mutex<HashMap<Vec<Window>, Compiled>>>);

impl WindowCache {
    /// The most rules kept; past it the cache starts afresh (rules rarely change).
    const CAPACITY: usize = 10_000;

    /// The compiled form of `windows`.
    pub fn get(&self, windows: &[Window]) -> Result<Compiled, String> {
        if let Some(found) = self
            .0
            .lock()
            .map_err(|_| "window cache poisoned".to_owned())?
            .get(windows)
        {
            return Ok(found.clone());
        }
        let compiled = Arc::new(
            windows
                .iter()
                .map(Recurrence::from_window)
                .collect::<Result<Vec<_>, _>>()?,
        );
        let mut cache = self
            .0
            .lock()
            .map_err(|_| "window cache poisoned".to_owned())?;
        if cache.len() >= Self::CAPACITY {
            cache.clear();
        }
        cache.insert(windows.to_vec(), compiled.clone());
        Ok(compiled)
    }
}
