//! The profile `ferry login` saves, and how each command picks its server and
//! token: flag > environment variable > saved profile > default server.
//!
//! The profile is `$XDG_CONFIG_HOME/ferry/config.toml` (`~/.config/ferry/...`
//! when unset). It holds a secret, so it is written with mode 0600, replacing
//! the old file atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use etcetera::BaseStrategy;
use serde::{Deserialize, Serialize};

use crate::cli::ClientArgs;

/// What `ferry login` saves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The server's URL.
    pub server: String,
    /// The API token for that server.
    pub token: String,
}

/// The server and token a command uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The server's URL.
    pub server: String,
    /// The token, when one was found.
    pub token: Option<String>,
}

impl Connection {
    /// A client of this connection's server.
    pub fn client(&self) -> Result<ferry_client::Client> {
        Ok(ferry_client::Client::new(&self.server, self.token.clone())?)
    }
}

/// Where the profile lives.
pub fn path() -> Result<PathBuf> {
    let base = etcetera::choose_base_strategy().context(
        "cannot find the configuration directory: neither XDG_CONFIG_HOME nor HOME is set",
    )?;
    Ok(base.config_dir().join("ferry").join("config.toml"))
}

/// The saved profile, if there is one.
pub fn load(path: &Path) -> Result<Option<Profile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let profile = toml::from_str(&text).map_err(|error| {
        anyhow::anyhow!(
            "{} is not a valid ferry profile: {}; run `ferry login` again to rewrite it",
            path.display(),
            error.message().trim_end()
        )
    })?;
    Ok(Some(profile))
}

/// Saves the profile, readable by its owner only.
pub fn save(path: &Path, profile: &Profile) -> Result<()> {
    let dir = path.parent().context("the profile path has no directory")?;
    create_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let text = toml::to_string(profile).context("cannot write the profile as TOML")?;
    // Write beside it and rename, so a crash never leaves half a profile.
    let temporary = dir.join(".config.toml.tmp");
    let written =
        write_private(&temporary, text.as_bytes()).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Picks the server and token: flag or environment variable (clap has merged
/// those) first, then the profile, then the default server.
///
/// The profile's token is used only with the profile's server: a token is a
/// secret of one server and must not be sent to another named by `--server`.
pub fn resolve(args: &ClientArgs) -> Result<Connection> {
    if let (Some(server), Some(token)) = (&args.server, &args.token) {
        return Ok(Connection {
            server: server.clone(),
            token: Some(token.clone()),
        });
    }
    let profile = load(&path()?)?;
    Ok(choose(args, profile))
}

fn choose(args: &ClientArgs, profile: Option<Profile>) -> Connection {
    let server = args
        .server
        .clone()
        .or_else(|| profile.as_ref().map(|p| p.server.clone()))
        .unwrap_or_else(|| ferry_client::DEFAULT_SERVER.to_owned());
    let token = args.token.clone().or_else(|| {
        profile
            .filter(|p| same_server(&p.server, &server))
            .map(|p| p.token)
    });
    Connection { server, token }
}

fn same_server(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/')
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // A leftover temporary file keeps its old mode through `open`: set it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::OutputFormat;

    fn args(server: Option<&str>, token: Option<&str>) -> ClientArgs {
        ClientArgs {
            server: server.map(Into::into),
            token: token.map(Into::into),
            output: OutputFormat::Table,
        }
    }

    fn profile() -> Option<Profile> {
        Some(Profile {
            server: "https://ferry.example.test/".into(),
            token: "ferry_saved".into(),
        })
    }

    #[test]
    fn flags_win_then_the_profile_then_the_default() {
        let given = choose(&args(Some("http://other:1"), Some("ferry_flag")), profile());
        assert_eq!(given.token.as_deref(), Some("ferry_flag"));
        let saved = choose(&args(None, None), profile());
        assert_eq!(saved.server, "https://ferry.example.test/");
        assert_eq!(saved.token.as_deref(), Some("ferry_saved"));
        let default = choose(&args(None, None), None);
        assert_eq!(
            default,
            Connection {
                server: ferry_client::DEFAULT_SERVER.into(),
                token: None
            }
        );
    }

    #[test]
    fn the_saved_token_is_not_sent_to_another_server() {
        let other = choose(&args(Some("http://other:1"), None), profile());
        assert_eq!(other.token, None);
        let same = choose(&args(Some("https://ferry.example.test"), None), profile());
        assert_eq!(same.token.as_deref(), Some("ferry_saved"));
    }

    #[test]
    fn profiles_are_saved_privately_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferry").join("config.toml");
        assert_eq!(load(&path).unwrap(), None);
        save(&path, profile().as_ref().unwrap()).unwrap();
        save(&path, profile().as_ref().unwrap()).unwrap();
        assert_eq!(load(&path).unwrap(), profile());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "server = 1").unwrap();
        let error = load(&path).unwrap_err().to_string();
        assert!(
            error.contains("config.toml") && error.contains("ferry login"),
            "{error}"
        );
    }
}
