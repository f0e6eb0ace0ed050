//! Artifacts on the client side: hashing and uploading files named with
//! `--artifact NAME=PATH`, recording references, and downloading with the
//! digest checked.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ferry_api::NewArtifact;
use ferry_client::Client;
use ferry_core::ReleaseRef;
use ferry_core::artifact::parse_reference;
use ferry_core::digest::Digest;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Turns `NAME=PATH` (a file: hashed and uploaded unless the server has its
/// bytes) or `NAME=REFERENCE` into an artifact of the release request.
pub async fn prepare(client: &Client, spec: &str) -> Result<NewArtifact> {
    let (name, value) = spec
        .split_once('=')
        .with_context(|| format!("--artifact {spec:?} must be NAME=PATH or NAME=oci://…@sha256:… or NAME=https://…@sha256:…"))?;
    let name = ferry_core::Name::parse(name)
        .with_context(|| format!("--artifact {spec:?}: the artifact's name is not valid"))?;
    if value.contains("://") {
        let reference = parse_reference(value).map_err(anyhow::Error::msg)?;
        return Ok(NewArtifact {
            name: name.clone(),
            digest: reference.digest.to_string(),
            uri: Some(reference.uri),
        });
    }
    let path = Path::new(value);
    let digest = hash_file(path).await?;
    if !client.has_blob(digest.as_str()).await? {
        let file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        client
            .upload_blob(digest.as_str(), file)
            .await
            .with_context(|| format!("cannot upload {}", path.display()))?;
    }
    Ok(NewArtifact {
        name,
        digest: digest.to_string(),
        uri: None,
    })
}

async fn hash_file(path: &Path) -> Result<Digest> {
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot read artifact file {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file
            .read(&mut buffer)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(Digest::from_sha256(&hasher.finalize().into()))
}

/// Downloads artifact `name` of `release` to `path`, checking the bytes
/// against the digest the server recorded. A mismatch leaves no file.
pub async fn download(
    client: &Client,
    release: &ReleaseRef,
    name: &str,
    path: &Path,
) -> Result<(Digest, u64)> {
    let mut download = client
        .download_artifact(release.service.as_str(), &release.version.to_string(), name)
        .await
        .with_context(|| format!("cannot download {name} of {release}"))?;
    let expected = download
        .header("ferry-digest")
        .map(Digest::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?
        .context("the server sent no ferry-digest header")?;
    let partial = path.with_extension("ferry-partial");
    let mut file = tokio::fs::File::create(&partial)
        .await
        .with_context(|| format!("cannot write {}", partial.display()))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = download.chunk().await? {
        let chunk = chunk.as_ref();
        hasher.update(chunk);
        size += chunk.len() as u64;
        file.write_all(chunk).await?;
    }
    file.flush().await?;
    drop(file);
    let actual = Digest::from_sha256(&hasher.finalize().into());
    if actual != expected {
        let _ = tokio::fs::remove_file(&partial).await;
        bail!(
            "the download of {name} has digest {actual}, not the recorded {expected}: nothing was written"
        );
    }
    tokio::fs::rename(&partial, path)
        .await
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((actual, size))
}
