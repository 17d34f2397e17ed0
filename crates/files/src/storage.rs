//! Where artifacts live: a local directory ([`LocalStore`]) or an S3-compatible bucket
//! ([`S3Store`]), behind one cheap-to-clone handle, [`ArtifactStorage`].
//!
//! Keys are the same for both (see [`LocalStore::new_key`]) and are validated by the same
//! rules ([`LocalStore::path_of`]) before anything is read or written. Uploads being received
//! are always staged on local disk ([`ArtifactStorage::new_temp_path`]), then handed to
//! [`ArtifactStorage::put_file`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStoreExt as _, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt as _;

use crate::store::{LocalStore, StoreFileError};

/// Files larger than this are uploaded to S3 in parts (multipart upload); smaller ones in one
/// `PUT`.
pub const MULTIPART_THRESHOLD: u64 = 8 * 1024 * 1024;
/// The size of each part of a multipart upload (S3's minimum is 5 MiB, except for the last).
pub const MULTIPART_PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once (bounds memory to about this many parts).
const MULTIPART_CONCURRENCY: usize = 2;
/// Bytes read from a local file at a time (uploads and local streaming reads).
const READ_CHUNK: usize = 256 * 1024;

/// A stream of an object's bytes, in order.
pub type ByteStream = BoxStream<'static, Result<Bytes, StoreFileError>>;

/// Which backend keeps artifacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageKind {
    /// A directory on local disk.
    #[default]
    Local,
    /// An S3-compatible bucket.
    S3,
}

/// Plain storage settings (mirrors the `storage` section of the settings, without depending on
/// it). Only `kind` matters for [`StorageKind::Local`].
#[derive(Clone, Default)]
pub struct StorageConfig {
    pub kind: StorageKind,
    pub bucket: String,
    /// Empty for AWS itself (virtual-hosted-style requests), else the URL of an S3-compatible
    /// service such as MinIO (path-style requests: `endpoint/bucket/key`).
    pub endpoint: String,
    /// Empty means `us-east-1`.
    pub region: String,
    /// Key prefix inside the bucket, e.g. `artifacts` (slashes around it are ignored).
    pub prefix: String,
    /// With `secret_access_key`, static credentials. Both empty: the standard AWS environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, web identity,
    /// container or instance credentials).
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Allows a plain `http://` endpoint (a local MinIO, tests).
    pub allow_http: bool,
}

impl fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageConfig")
            .field("kind", &self.kind)
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &if self.secret_access_key.is_empty() { "" } else { "<redacted>" })
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Storage settings that cannot work (no bucket, half the credentials, a bad prefix...).
#[derive(Debug, thiserror::Error)]
#[error("invalid storage configuration: {0}")]
pub struct StorageConfigError(String);

/// Artifact storage: a local directory or an S3-compatible bucket. Cloning is cheap (shared).
#[derive(Debug, Clone)]
pub struct ArtifactStorage(Arc<Backend>);

#[derive(Debug)]
enum Backend {
    Local { store: LocalStore, description: String },
    S3(S3Store),
}

impl ArtifactStorage {
    /// Storage as `config` says. `local_root` (e.g. `data_dir/artifacts`) is the store itself
    /// for [`StorageKind::Local`], and where uploads are staged (`local_root/.tmp`) for S3.
    pub fn from_config(config: &StorageConfig, local_root: impl Into<PathBuf>) -> Result<Self, StorageConfigError> {
        Ok(match config.kind {
            StorageKind::Local => Self::local(LocalStore::new(local_root)),
            StorageKind::S3 => Self::s3(S3Store::new(config, local_root)?),
        })
    }

    pub fn local(store: LocalStore) -> Self {
        let description = format!("local:{}", store.root().display());
        Self(Arc::new(Backend::Local { store, description }))
    }

    pub fn s3(store: S3Store) -> Self {
        Self(Arc::new(Backend::S3(store)))
    }

    /// A fresh key, `YYYY/MM/<uuid v7>.<ext>` (the same for both backends).
    pub fn new_key(ext: &str) -> String {
        LocalStore::new_key(ext)
    }

    /// `local:/path/to/root` or `s3://bucket/prefix`, for logs and health output.
    pub fn describe(&self) -> &str {
        match &*self.0 {
            Backend::Local { description, .. } => description,
            Backend::S3(s3) => &s3.description,
        }
    }

    pub fn kind(&self) -> StorageKind {
        match &*self.0 {
            Backend::Local { .. } => StorageKind::Local,
            Backend::S3(_) => StorageKind::S3,
        }
    }

    /// The local store, when that is the backend.
    pub fn as_local(&self) -> Option<&LocalStore> {
        match &*self.0 {
            Backend::Local { store, .. } => Some(store),
            Backend::S3(_) => None,
        }
    }

    /// The local directory for uploads being received (created if missing, best effort).
    pub fn temp_dir(&self) -> PathBuf {
        self.staging().temp_dir()
    }

    /// A fresh path in [`ArtifactStorage::temp_dir`] for an upload being received.
    pub fn new_temp_path(&self) -> PathBuf {
        self.staging().new_temp_path()
    }

    fn staging(&self) -> &LocalStore {
        match &*self.0 {
            Backend::Local { store, .. } => store,
            Backend::S3(s3) => &s3.staging,
        }
    }

    /// Moves the local file `src` to `key` and returns its size: `src` is gone afterwards on
    /// success (renamed locally, or uploaded then removed). Replaces an existing object.
    pub async fn put_file(&self, src: &Path, key: &str) -> Result<u64, StoreFileError> {
        match &*self.0 {
            Backend::Local { store, .. } => store.put_file(src, key).await,
            Backend::S3(s3) => s3.put_file(src, key).await,
        }
    }

    /// Writes `bytes` to `key` and returns the size. Replaces an existing object.
    pub async fn put_bytes(&self, bytes: &[u8], key: &str) -> Result<u64, StoreFileError> {
        match &*self.0 {
            Backend::Local { store, .. } => store.put_bytes(bytes, key).await,
            Backend::S3(s3) => s3.put_bytes(bytes, key).await,
        }
    }

    /// The size of the object at `key` and a stream of its bytes, for downloads;
    /// [`StoreFileError::NotFound`] when there is none.
    pub async fn read_stream(&self, key: &str) -> Result<(u64, ByteStream), StoreFileError> {
        match &*self.0 {
            Backend::Local { store, .. } => local_read_stream(store, key).await,
            Backend::S3(s3) => s3.read_stream(key).await,
        }
    }

    /// The whole object at `key`; refuses (an [`io::ErrorKind::FileTooLarge`] error) an object
    /// over `max_bytes` without reading it.
    pub async fn read_all(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, StoreFileError> {
        let (size, mut stream) = self.read_stream(key).await?;
        if size > max_bytes {
            return Err(too_large(size, max_bytes));
        }
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if (out.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large((out.len() + chunk.len()) as u64, max_bytes));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The size of the object at `key`; [`StoreFileError::NotFound`] when there is none.
    pub async fn size(&self, key: &str) -> Result<u64, StoreFileError> {
        match &*self.0 {
            Backend::Local { store, .. } => store.size(key).await,
            Backend::S3(s3) => s3.size(key).await,
        }
    }

    /// Removes the object at `key`; a missing object is fine.
    pub async fn delete(&self, key: &str) -> Result<(), StoreFileError> {
        match &*self.0 {
            Backend::Local { store, .. } => store.delete(key).await,
            Backend::S3(s3) => s3.delete(key).await,
        }
    }
}

/// An S3-compatible bucket (AWS, MinIO, ...) through `object_store`, keys under a prefix.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: AmazonS3,
    /// Without slashes around it; empty for none.
    prefix: String,
    description: String,
    /// Local staging for uploads being received (never holds stored objects).
    staging: LocalStore,
}

impl S3Store {
    /// A client for the bucket in `config` (its `kind` is not read). Sends nothing yet: wrong
    /// credentials or a missing bucket show on the first request. `local_root/.tmp` is where
    /// uploads are staged.
    pub fn new(config: &StorageConfig, local_root: impl Into<PathBuf>) -> Result<Self, StorageConfigError> {
        let bucket = config.bucket.trim();
        if bucket.is_empty() || bucket.contains(['/', '\\']) || bucket.chars().any(char::is_whitespace) {
            return Err(StorageConfigError(format!("S3 bucket name {bucket:?} is empty or invalid")));
        }
        let prefix = config.prefix.trim().trim_matches('/').to_string();
        if !prefix.is_empty() {
            validate_key(&prefix).map_err(|_| StorageConfigError(format!("S3 prefix {prefix:?} is invalid")))?;
        }
        let endpoint = config.endpoint.trim().trim_end_matches('/');
        if endpoint.starts_with("http://") && !config.allow_http {
            return Err(StorageConfigError(format!("S3 endpoint {endpoint} is plain HTTP but allow_http is off")));
        }
        if !endpoint.is_empty() && !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
            return Err(StorageConfigError(format!("S3 endpoint {endpoint:?} is not an http(s) URL")));
        }

        let options = ClientOptions::new()
            .with_allow_http(config.allow_http)
            .with_connect_timeout(Duration::from_secs(10))
            // No limit on a whole request: a large download streamed to a slow client may take
            // long. A stalled connection is caught by the read timeout instead.
            .with_timeout_disabled()
            .with_read_timeout(Duration::from_secs(60))
            .with_pool_idle_timeout(Duration::from_secs(60));

        let key_id = config.access_key_id.trim();
        let secret = config.secret_access_key.trim();
        let mut builder = match (key_id.is_empty(), secret.is_empty()) {
            (false, false) => AmazonS3Builder::new().with_access_key_id(key_id).with_secret_access_key(secret),
            (true, true) => AmazonS3Builder::from_env(),
            _ => {
                return Err(StorageConfigError(
                    "S3 access key id and secret access key must be set together".to_string(),
                ));
            }
        };
        builder = builder.with_bucket_name(bucket).with_allow_http(config.allow_http).with_client_options(options);
        if !config.region.trim().is_empty() {
            builder = builder.with_region(config.region.trim());
        }
        builder = if endpoint.is_empty() {
            // AWS itself: `https://<bucket>.s3.<region>.amazonaws.com`.
            builder.with_virtual_hosted_style_request(true)
        } else {
            // MinIO and most S3-compatible services: `<endpoint>/<bucket>/<key>`.
            builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false)
        };
        let client = builder.build().map_err(|e| StorageConfigError(format!("S3 client: {e}")))?;

        let description = if prefix.is_empty() { format!("s3://{bucket}") } else { format!("s3://{bucket}/{prefix}") };
        Ok(Self { client, prefix, description, staging: LocalStore::new(local_root) })
    }

    /// `s3://bucket/prefix`.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// The object path of `key` in the bucket, after the same checks as [`LocalStore::path_of`].
    pub fn location(&self, key: &str) -> Result<ObjectPath, StoreFileError> {
        validate_key(key)?;
        let full = if self.prefix.is_empty() { key.to_string() } else { format!("{}/{key}", self.prefix) };
        ObjectPath::parse(&full).map_err(|_| invalid_key(key))
    }

    /// Uploads the local file `src` to `key` (in parts above [`MULTIPART_THRESHOLD`]), then
    /// removes `src`, like [`LocalStore::put_file`] moves it. Returns the size uploaded.
    pub async fn put_file(&self, src: &Path, key: &str) -> Result<u64, StoreFileError> {
        let location = self.location(key)?;
        let mut file = tokio::fs::File::open(src).await?;
        let len = file.metadata().await?.len();
        let size = if len <= MULTIPART_THRESHOLD {
            let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            file.read_to_end(&mut buf).await?;
            let size = buf.len() as u64;
            self.client.put(&location, PutPayload::from(buf)).await.map_err(|e| s3_error(e, key))?;
            size
        } else {
            let upload = self.client.put_multipart(&location).await.map_err(|e| s3_error(e, key))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, MULTIPART_PART_SIZE);
            let mut buf = vec![0u8; READ_CHUNK];
            let mut size = 0u64;
            let written: Result<(), StoreFileError> = async {
                loop {
                    writer.wait_for_capacity(MULTIPART_CONCURRENCY).await.map_err(|e| s3_error(e, key))?;
                    let n = file.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    writer.write(&buf[..n]);
                    size += n as u64;
                }
            }
            .await;
            if let Err(e) = written {
                let _ = writer.abort().await;
                return Err(e);
            }
            writer.finish().await.map_err(|e| s3_error(e, key))?;
            size
        };
        drop(file);
        tokio::fs::remove_file(src).await?;
        Ok(size)
    }

    /// Uploads `bytes` to `key` (in parts above [`MULTIPART_THRESHOLD`]) and returns the size.
    pub async fn put_bytes(&self, bytes: &[u8], key: &str) -> Result<u64, StoreFileError> {
        let location = self.location(key)?;
        if bytes.len() as u64 <= MULTIPART_THRESHOLD {
            let payload = PutPayload::from(Bytes::copy_from_slice(bytes));
            self.client.put(&location, payload).await.map_err(|e| s3_error(e, key))?;
        } else {
            let upload = self.client.put_multipart(&location).await.map_err(|e| s3_error(e, key))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, MULTIPART_PART_SIZE);
            for part in bytes.chunks(MULTIPART_PART_SIZE) {
                if let Err(e) = writer.wait_for_capacity(MULTIPART_CONCURRENCY).await {
                    let _ = writer.abort().await;
                    return Err(s3_error(e, key));
                }
                writer.write(part);
            }
            writer.finish().await.map_err(|e| s3_error(e, key))?;
        }
        Ok(bytes.len() as u64)
    }

    /// The size of the object at `key` and a stream of its bytes (one `GET`).
    pub async fn read_stream(&self, key: &str) -> Result<(u64, ByteStream), StoreFileError> {
        let location = self.location(key)?;
        let result = self.client.get(&location).await.map_err(|e| s3_error(e, key))?;
        let size = result.meta.size;
        let key = key.to_string();
        let stream = result.into_stream().map_err(move |e| s3_error(e, &key)).boxed();
        Ok((size, stream))
    }

    /// The size of the object at `key` (one `HEAD`).
    pub async fn size(&self, key: &str) -> Result<u64, StoreFileError> {
        let location = self.location(key)?;
        Ok(self.client.head(&location).await.map_err(|e| s3_error(e, key))?.size)
    }

    /// Removes the object at `key`; a missing object is fine.
    pub async fn delete(&self, key: &str) -> Result<(), StoreFileError> {
        let location = self.location(key)?;
        match self.client.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(s3_error(e, key)),
        }
    }
}

async fn local_read_stream(store: &LocalStore, key: &str) -> Result<(u64, ByteStream), StoreFileError> {
    let file = store.open(key).await?;
    let size = file.metadata().await?.len();
    let stream = stream::try_unfold(file, |mut file| async move {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        let n = file.read_buf(&mut buf).await?;
        Ok(if n == 0 { None } else { Some((buf.freeze(), file)) })
    })
    .boxed();
    Ok((size, stream))
}

/// The same checks as [`LocalStore::path_of`], without a root.
fn validate_key(key: &str) -> Result<(), StoreFileError> {
    LocalStore::new(PathBuf::new()).path_of(key).map(|_| ())
}

fn invalid_key(key: &str) -> StoreFileError {
    StoreFileError::InvalidKey(key.chars().take(100).collect())
}

fn too_large(size: u64, max_bytes: u64) -> StoreFileError {
    StoreFileError::Io(io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("stored file is {size} bytes, over the {max_bytes}-byte limit"),
    ))
}

/// `object_store` errors as [`StoreFileError`]: a missing object is [`StoreFileError::NotFound`];
/// refused credentials are an [`io::ErrorKind::PermissionDenied`] error saying so.
fn s3_error(e: object_store::Error, key: &str) -> StoreFileError {
    use object_store::Error as E;
    match e {
        E::NotFound { .. } => StoreFileError::NotFound,
        E::InvalidPath { .. } => invalid_key(key),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => StoreFileError::Io(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("S3 refused the request (check the access key, secret and bucket policy): {e}"),
        )),
        e => StoreFileError::Io(io::Error::other(format!("S3 request failed: {e}"))),
    }
}
