//! Uploaded and generated files: content sniffing (never trusting a name or a declared
//! type), safe display names, `Content-Disposition` headers, and local disk storage.
//!
//! - [`sniff_file`] / [`sniff_bytes`] tell what a file really is from its bytes, and refuse
//!   zip bombs and path-traversal archives.
//! - [`accepts`] checks a detected kind against the category the client asked for.
//! - [`safe_name`] and [`content_disposition`] make user-supplied names harmless.
//! - [`LocalStore`] keeps files under a root directory with atomic writes.

mod names;
mod sniff;
mod storage;
mod store;

pub use names::{content_disposition, safe_name};
pub use sniff::{
    Category, Detected, MAX_ZIP_ENTRIES, MAX_ZIP_ENTRY_RATIO, MAX_ZIP_UNCOMPRESSED, SniffError, TEXT_SNIFF_BYTES,
    accepts, sniff_bytes, sniff_file, sniff_reader,
};
pub use storage::{
    ArtifactStorage, ByteStream, MULTIPART_PART_SIZE, MULTIPART_THRESHOLD, S3Store, StorageConfig, StorageConfigError,
    StorageKind,
};
pub use store::{LocalStore, StoreFileError};
