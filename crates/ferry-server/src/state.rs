//! What every handler shares.

use ferry_store::Store;

/// The server's state, passed to handlers (never global).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
}
