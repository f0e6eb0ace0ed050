//! A pack as a `.tar.gz`, written to and read from bytes in memory: its
//! files under one folder, regular files only, no link or device, no path
//! that leaves the folder.

use std::collections::BTreeMap;
use std::io::Read as _;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// A pack's files by their path within its folder (`manifest.json`,
/// `logs/deployment-3.log`).
pub type Files = BTreeMap<String, Vec<u8>>;

/// The most bytes an archive may unpack to: a pack larger than this is
/// refused rather than read into memory.
pub const MAX_UNPACKED_BYTES: u64 = 2 << 30;

/// Why an archive could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The bytes are not a gzip-compressed tar archive.
    #[error("not a .tar.gz archive: {0}")]
    NotAnArchive(String),
    /// An entry is something other than a file or a folder.
    #[error("the archive holds {0}, which is not a plain file")]
    NotAFile(String),
    /// An entry's path leaves the pack's folder, or is not UTF-8.
    #[error("the archive holds a file at {0:?}, outside the pack's folder")]
    BadPath(String),
    /// Two entries have one path.
    #[error("the archive holds {0} twice")]
    Repeated(String),
    /// The archive unpacks to more than [`MAX_UNPACKED_BYTES`].
    #[error("the archive unpacks to more than {} MiB, more than a pack may hold", MAX_UNPACKED_BYTES >> 20)]
    TooLarge,
    /// Writing failed (it happens in memory: only a path too long for tar).
    #[error("the archive could not be written: {0}")]
    Write(String),
}

/// `files` as a `.tar.gz` under the folder `root`, each file with mode 0644
/// and modification time `mtime` (seconds since the epoch), so the same
/// pack gives the same bytes.
pub fn write_archive(
    root: &str,
    files: &[(String, Vec<u8>)],
    mtime: i64,
) -> Result<Vec<u8>, ArchiveError> {
    let write = |error: std::io::Error| ArchiveError::Write(error.to_string());
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let mut folders: Vec<String> = vec![root.to_owned()];
    for (path, _) in files {
        let mut folder = root.to_owned();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            folder = format!("{folder}/{part}");
            if !folders.contains(&folder) {
                folders.push(folder.clone());
            }
        }
    }
    for folder in &folders {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        header.set_mtime(u64::try_from(mtime).unwrap_or_default());
        builder
            .append_data(&mut header, format!("{folder}/"), std::io::empty())
            .map_err(write)?;
    }
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(bytes.len() as u64);
        header.set_mtime(u64::try_from(mtime).unwrap_or_default());
        builder
            .append_data(&mut header, format!("{root}/{path}"), bytes.as_slice())
            .map_err(write)?;
    }
    let encoder = builder.into_inner().map_err(write)?;
    encoder.finish().map_err(write)
}

/// The files of a `.tar.gz`, by their path within its one top folder (or
/// as they are, when the files are not all in one folder). Folders are
/// skipped; anything but a regular file is refused.
pub fn read_archive(bytes: &[u8]) -> Result<Files, ArchiveError> {
    let not_an_archive = |error: std::io::Error| ArchiveError::NotAnArchive(error.to_string());
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let mut read: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(not_an_archive)? {
        let mut entry = entry.map_err(not_an_archive)?;
        let path = entry.path_bytes();
        let path = String::from_utf8(path.into_owned()).map_err(|error| {
            ArchiveError::BadPath(String::from_utf8_lossy(error.as_bytes()).into_owned())
        })?;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(ArchiveError::NotAFile(path));
        }
        let clean = path.trim_start_matches("./");
        if clean.is_empty()
            || clean.starts_with('/')
            || clean.split('/').any(|part| part == ".." || part.is_empty())
        {
            return Err(ArchiveError::BadPath(path));
        }
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES {
            return Err(ArchiveError::TooLarge);
        }
        let mut contents = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or_default());
        entry
            .by_ref()
            .take(MAX_UNPACKED_BYTES)
            .read_to_end(&mut contents)
            .map_err(not_an_archive)?;
        read.push((clean.to_owned(), contents));
    }
    if read.is_empty() {
        return Err(ArchiveError::NotAnArchive("it holds no file".to_owned()));
    }
    // One folder holds everything: the pack's own.
    let root = read[0]
        .0
        .split_once('/')
        .map(|(root, _)| format!("{root}/"));
    let strip = root
        .as_deref()
        .filter(|root| read.iter().all(|(path, _)| path.starts_with(root)));
    let mut files = Files::new();
    for (path, contents) in read {
        let path = match strip {
            Some(root) => path[root.len()..].to_owned(),
            None => path,
        };
        if files.insert(path.clone(), contents).is_some() {
            return Err(ArchiveError::Repeated(path));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(String, Vec<u8>)> {
        vec![
            ("manifest.json".into(), b"{}".to_vec()),
            ("logs/deployment-1.log".into(), b"a line\n".to_vec()),
        ]
    }

    #[test]
    fn an_archive_reads_back_as_written_and_the_same_each_time() {
        let bytes = write_archive("evidence-pack-api-1.0.0", &sample(), 1_780_000_000).unwrap();
        assert_eq!(&bytes[..2], [0x1f, 0x8b], "gzip");
        let files = read_archive(&bytes).unwrap();
        let expected: Files = sample().into_iter().collect();
        assert_eq!(files, expected);
        assert_eq!(
            write_archive("evidence-pack-api-1.0.0", &sample(), 1_780_000_000).unwrap(),
            bytes
        );
    }

    #[test]
    fn what_is_not_a_pack_is_refused() {
        assert!(matches!(
            read_archive(b"plain text"),
            Err(ArchiveError::NotAnArchive(_))
        ));
        assert!(matches!(
            read_archive(&write_archive("x", &[], 0).unwrap()),
            Err(ArchiveError::NotAnArchive(_))
        ));
        // A path that climbs out of the folder.
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // `append_data` refuses `..` itself: write the name by hand.
        header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        header.set_cksum();
        builder.append(&header, &b"x"[..]).unwrap();
        let bytes = builder.into_inner().unwrap().finish().unwrap();
        assert!(matches!(
            read_archive(&bytes),
            Err(ArchiveError::BadPath(_))
        ));
    }
}
