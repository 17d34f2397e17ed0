use files::{LocalStore, StoreFileError};
use tokio::io::AsyncReadExt;

use crate::TempDir;

async fn read_all(store: &LocalStore, key: &str) -> Vec<u8> {
    let mut file = store.open(key).await.unwrap();
    let mut out = Vec::new();
    file.read_to_end(&mut out).await.unwrap();
    out
}

#[test]
fn new_keys_look_right() {
    let key = LocalStore::new_key("pdf");
    let parts: Vec<&str> = key.split('/').collect();
    assert_eq!(parts.len(), 3, "{key}");
    assert_eq!(parts[0].len(), 4);
    assert!(parts[0].chars().all(|c| c.is_ascii_digit()));
    assert_eq!(parts[1].len(), 2);
    let (id, ext) = parts[2].split_once('.').unwrap();
    assert_eq!(ext, "pdf");
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_ne!(LocalStore::new_key("pdf"), key);

    assert!(LocalStore::new_key(".JPG").ends_with(".jpg"));
    assert!(LocalStore::new_key("../x/y").ends_with(".xy"));
    assert!(!LocalStore::new_key("").contains('.'));
    let store = LocalStore::new("/srv/data");
    for ext in ["pdf", "", "../..", "tar.gz"] {
        let key = LocalStore::new_key(ext);
        assert!(store.path_of(&key).is_ok(), "{key}");
    }
}

#[test]
fn invalid_keys_are_refused() {
    let store = LocalStore::new("/srv/data");
    for key in [
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
        "2026/11/x\n.pdf",
        "C:/x.pdf",
    ] {
        assert!(matches!(store.path_of(key), Err(StoreFileError::InvalidKey(_))), "{key:?}");
    }
    let long = format!("2026/11/{}.pdf", "a".repeat(600));
    assert!(store.path_of(&long).is_err());
    assert_eq!(store.path_of("2026/11/abc.pdf").unwrap(), std::path::Path::new("/srv/data/2026/11/abc.pdf"));
}

#[tokio::test]
async fn put_open_delete_round_trip() {
    let dir = TempDir::new();
    let store = LocalStore::new(dir.path().join("artifacts"));

    // Bytes.
    let key = LocalStore::new_key("txt");
    assert_eq!(store.put_bytes(b"hello world", &key).await.unwrap(), 11);
    assert_eq!(read_all(&store, &key).await, b"hello world");
    assert_eq!(store.size(&key).await.unwrap(), 11);
    // Replacing keeps one file with the new content.
    assert_eq!(store.put_bytes(b"bye", &key).await.unwrap(), 3);
    assert_eq!(read_all(&store, &key).await, b"bye");

    // A file received in the temp dir is moved into place.
    let upload = store.new_temp_path();
    assert!(upload.starts_with(store.temp_dir()));
    std::fs::write(&upload, vec![7u8; 10_000]).unwrap();
    let key2 = LocalStore::new_key("bin");
    assert_eq!(store.put_file(&upload, &key2).await.unwrap(), 10_000);
    assert!(!upload.exists(), "the source is moved");
    assert_eq!(read_all(&store, &key2).await, vec![7u8; 10_000]);

    // No temporary files are left beside the stored ones.
    let month_dir = store.path_of(&key2).unwrap().parent().unwrap().to_path_buf();
    let leftovers: Vec<_> = std::fs::read_dir(&month_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Delete, then everything about it is gone; deleting again is fine.
    store.delete(&key).await.unwrap();
    assert!(matches!(store.open(&key).await, Err(StoreFileError::NotFound)));
    assert!(matches!(store.size(&key).await, Err(StoreFileError::NotFound)));
    store.delete(&key).await.unwrap();
    store.delete("2030/01/never-stored.pdf").await.unwrap();
    assert!(matches!(store.open("2030/01/never-stored.pdf").await, Err(StoreFileError::NotFound)));
    // A directory is not a stored file.
    let month = key2.rsplit_once('/').unwrap().0;
    assert!(matches!(store.open(month).await, Err(StoreFileError::NotFound)));
    assert_eq!(read_all(&store, &key2).await.len(), 10_000);
}

#[tokio::test]
async fn invalid_keys_are_refused_by_every_operation() {
    let dir = TempDir::new();
    let store = LocalStore::new(dir.path());
    let src = dir.write("src.bin", b"data");
    for key in ["../escape.txt", "/abs.txt", "a\\b.txt", "a//b.txt", ""] {
        assert!(matches!(store.put_bytes(b"x", key).await, Err(StoreFileError::InvalidKey(_))), "{key:?}");
        assert!(matches!(store.put_file(&src, key).await, Err(StoreFileError::InvalidKey(_))), "{key:?}");
        assert!(matches!(store.open(key).await, Err(StoreFileError::InvalidKey(_))), "{key:?}");
        assert!(matches!(store.delete(key).await, Err(StoreFileError::InvalidKey(_))), "{key:?}");
    }
    assert!(src.exists(), "a refused put_file leaves its source alone");
    assert!(!dir.path().parent().unwrap().join("escape.txt").exists());
}

#[tokio::test]
async fn put_file_of_a_missing_source_fails_cleanly() {
    let dir = TempDir::new();
    let store = LocalStore::new(dir.path());
    let err = store.put_file(&dir.path().join("missing"), "2026/01/x.bin").await.unwrap_err();
    assert!(matches!(err, StoreFileError::Io(_)), "{err:?}");
}
