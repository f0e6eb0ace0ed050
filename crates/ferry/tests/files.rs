//! The server's files are its user's alone: the data directory is 0700, the
//! database, the secret key and the bootstrap token 0600.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::Server;

#[test]
fn the_data_directory_and_its_secrets_are_private() {
    // A data directory the server makes itself, under the usual umask.
    let parent = tempfile::tempdir().unwrap();
    let server = Server::builder()
        .data_dir(&parent.path().join("data"))
        .start();
    let mode = |name: &str| {
        let path = server.data_dir.path().join(name);
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "the data directory");
    // The write-ahead log and its index exist while the server runs.
    for file in [
        "ferry.db",
        "ferry.db-wal",
        "ferry.db-shm",
        "secret.key",
        "bootstrap-token",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}
