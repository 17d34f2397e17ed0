//! Files on local disk under one root, written atomically.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt as _;

/// The folder under the root for uploads being received (never a valid key: keys cannot
/// start with a dot).
const TEMP_DIR: &str = ".tmp";
/// The longest key accepted, in bytes.
const MAX_KEY_LEN: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum StoreFileError {
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
    #[error("stored file not found")]
    NotFound,
    #[error("file storage I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Local storage under `root` (e.g. `data_dir/artifacts`). Keys are relative paths like
/// `2026/11/<uuid>.pdf` (see [`LocalStore::new_key`]).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `YYYY/MM/<uuid v7>.<ext>` for the current UTC month. `ext` is lower-cased and cut to
    /// ASCII letters and digits (at most 16); nothing left means no extension.
    pub fn new_key(ext: &str) -> String {
        let ext: String = ext
            .trim_start_matches('.')
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect::<String>()
            .to_ascii_lowercase();
        let month = chrono::Utc::now().format("%Y/%m");
        let id = uuid::Uuid::now_v7();
        if ext.is_empty() { format!("{month}/{id}") } else { format!("{month}/{id}.{ext}") }
    }

    /// Where `key` lives. Refuses empty keys, absolute paths, backslashes, empty segments,
    /// segments starting with a dot (`.`, `..`, `.tmp`), control characters and keys over 512
    /// bytes.
    pub fn path_of(&self, key: &str) -> Result<PathBuf, StoreFileError> {
        let invalid = || StoreFileError::InvalidKey(key.chars().take(100).collect());
        if key.is_empty()
            || key.len() > MAX_KEY_LEN
            || key.starts_with('/')
            || key.contains('\\')
            || key.chars().any(char::is_control)
        {
            return Err(invalid());
        }
        let mut path = self.root.clone();
        for segment in key.split('/') {
            if segment.is_empty() || segment.starts_with('.') || segment.contains(':') {
                return Err(invalid());
            }
            path.push(segment);
        }
        Ok(path)
    }

    /// `root/.tmp`, created if missing (best effort: a failure shows when the caller writes
    /// there), for uploads being received. Same filesystem as the store, so
    /// [`LocalStore::put_file`] from here is a rename.
    pub fn temp_dir(&self) -> PathBuf {
        let dir = self.root.join(TEMP_DIR);
        if !dir.is_dir() {
            let _ = std::fs::create_dir_all(&dir);
        }
        dir
    }

    /// A fresh path in [`LocalStore::temp_dir`] for an upload being received.
    pub fn new_temp_path(&self) -> PathBuf {
        self.temp_dir().join(format!("{}.part", uuid::Uuid::now_v7()))
    }

    /// Moves `src` to `key` and returns its size. Same filesystem: `src` is fsynced and
    /// renamed into place. Across filesystems: copied to a temporary name beside the target,
    /// fsynced, renamed, then `src` is removed. Creates directories; replaces an existing file.
    pub async fn put_file(&self, src: &Path, key: &str) -> Result<u64, StoreFileError> {
        let dest = self.path_of(key)?;
        let dir = parent_of(&dest)?;
        tokio::fs::create_dir_all(dir).await?;

        tokio::fs::File::open(src).await?.sync_all().await?;
        match tokio::fs::rename(src, &dest).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                let tmp = temp_beside(&dest)?;
                let copied = async {
                    tokio::fs::copy(src, &tmp).await?;
                    tokio::fs::File::open(&tmp).await?.sync_all().await?;
                    tokio::fs::rename(&tmp, &dest).await
                }
                .await;
                if let Err(e) = copied {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    return Err(e.into());
                }
                tokio::fs::remove_file(src).await?;
            }
            Err(e) => return Err(e.into()),
        }
        sync_dir(dir).await?;
        Ok(tokio::fs::metadata(&dest).await?.len())
    }

    /// Writes `bytes` to `key` atomically (temporary name beside the target, fsync, rename)
    /// and returns the size. Creates directories; replaces an existing file.
    pub async fn put_bytes(&self, bytes: &[u8], key: &str) -> Result<u64, StoreFileError> {
        let dest = self.path_of(key)?;
        let dir = parent_of(&dest)?;
        tokio::fs::create_dir_all(dir).await?;
        let tmp = temp_beside(&dest)?;
        let written = async {
            let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).await?;
            file.write_all(bytes).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&tmp, &dest).await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e.into());
        }
        sync_dir(dir).await?;
        Ok(bytes.len() as u64)
    }

    /// Opens the file at `key` for reading; [`StoreFileError::NotFound`] when there is none.
    pub async fn open(&self, key: &str) -> Result<tokio::fs::File, StoreFileError> {
        let path = self.path_of(key)?;
        let file = tokio::fs::File::open(&path).await.map_err(not_found)?;
        if !file.metadata().await?.is_file() {
            return Err(StoreFileError::NotFound);
        }
        Ok(file)
    }

    /// The size of the file at `key`; [`StoreFileError::NotFound`] when there is none.
    pub async fn size(&self, key: &str) -> Result<u64, StoreFileError> {
        let meta = tokio::fs::metadata(self.path_of(key)?).await.map_err(not_found)?;
        if !meta.is_file() {
            return Err(StoreFileError::NotFound);
        }
        Ok(meta.len())
    }

    /// Removes the file at `key`; a missing file is fine.
    pub async fn delete(&self, key: &str) -> Result<(), StoreFileError> {
        match tokio::fs::remove_file(self.path_of(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn not_found(e: io::Error) -> StoreFileError {
    if e.kind() == io::ErrorKind::NotFound { StoreFileError::NotFound } else { StoreFileError::Io(e) }
}

fn parent_of(path: &Path) -> Result<&Path, StoreFileError> {
    path.parent().ok_or_else(|| StoreFileError::InvalidKey(path.display().to_string()))
}

/// A hidden temporary name in the target's directory (so the final rename stays on one
/// filesystem and a crash leaves no half-written file under a real key).
fn temp_beside(dest: &Path) -> Result<PathBuf, StoreFileError> {
    let dir = parent_of(dest)?;
    Ok(dir.join(format!(".{}.tmp", uuid::Uuid::now_v7())))
}

/// Makes a rename in `dir` durable.
async fn sync_dir(dir: &Path) -> io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}
