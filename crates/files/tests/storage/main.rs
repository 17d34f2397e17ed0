//! Tests of [`files::ArtifactStorage`]: the local backend, and the S3 backend against a real S3
//! server (`s3s` + `s3s-fs`, checking SigV4 signatures) run in-process on a loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod local;
mod s3;
mod server;

use std::path::{Path, PathBuf};

use files::{ArtifactStorage, StoreFileError};
use futures_util::StreamExt as _;

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("files-storage-test-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `bytes` to `name` inside the directory and returns the path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `len` deterministic pseudo-random bytes (xorshift), so a misplaced part shows.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Reads the whole stream, returning the announced size, the bytes and the number of chunks.
pub async fn read_streamed(storage: &ArtifactStorage, key: &str) -> (u64, Vec<u8>, usize) {
    let (size, mut stream) = storage.read_stream(key).await.unwrap();
    let mut out = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
        chunks += 1;
    }
    (size, out, chunks)
}

pub const BAD_KEYS: &[&str] = &[
    "",
    "/etc/passwd",
    "../x.pdf",
    "2026/../../x.pdf",
    "2026/./x.pdf",
    "2026//x.pdf",
    "2026/11/",
    "2026\\11\\x.pdf",
    ".tmp/upload.part",
    "2026/11/.hidden",
    "2026/11/x\u{0}.pdf",
    "C:/x.pdf",
];

/// Every operation refuses every key of [`BAD_KEYS`] with [`StoreFileError::InvalidKey`], and
/// leaves the source file of `put_file` alone.
pub async fn assert_refuses_bad_keys(storage: &ArtifactStorage, dir: &TempDir) {
    let src = dir.write("src.bin", b"data");
    for &key in BAD_KEYS {
        let invalid = |r: Result<(), StoreFileError>| matches!(r, Err(StoreFileError::InvalidKey(_)));
        assert!(invalid(storage.put_file(&src, key).await.map(drop)), "put_file {key:?}");
        assert!(invalid(storage.put_bytes(b"x", key).await.map(drop)), "put_bytes {key:?}");
        assert!(invalid(storage.read_stream(key).await.map(drop)), "read_stream {key:?}");
        assert!(invalid(storage.read_all(key, 10).await.map(drop)), "read_all {key:?}");
        assert!(invalid(storage.size(key).await.map(drop)), "size {key:?}");
        assert!(invalid(storage.delete(key).await), "delete {key:?}");
    }
    let long = format!("2026/11/{}.pdf", "a".repeat(600));
    assert!(matches!(storage.put_bytes(b"x", &long).await, Err(StoreFileError::InvalidKey(_))));
    assert!(src.exists());
}
