use files::{ArtifactStorage, LocalStore, StorageConfig, StorageKind, StoreFileError};

use crate::{TempDir, assert_refuses_bad_keys, noise, read_streamed};

fn local(dir: &TempDir) -> ArtifactStorage {
    ArtifactStorage::from_config(&StorageConfig::default(), dir.path().join("artifacts")).unwrap()
}

#[tokio::test]
async fn local_round_trip_matches_local_store() {
    let dir = TempDir::new();
    let storage = local(&dir);
    assert_eq!(storage.kind(), StorageKind::Local);
    assert_eq!(storage.describe(), format!("local:{}", dir.path().join("artifacts").display()));
    let store = storage.as_local().unwrap().clone();

    // put_file moves an upload staged in the storage's temp dir.
    let data = noise(300_000, 1);
    let src = storage.new_temp_path();
    assert!(src.starts_with(storage.temp_dir()));
    std::fs::write(&src, &data).unwrap();
    let key = ArtifactStorage::new_key("pdf");
    assert_eq!(storage.put_file(&src, &key).await.unwrap(), data.len() as u64);
    assert!(!src.exists());
    assert_eq!(std::fs::read(store.path_of(&key).unwrap()).unwrap(), data);

    let (size, streamed, chunks) = read_streamed(&storage, &key).await;
    assert_eq!(size, data.len() as u64);
    assert_eq!(streamed, data);
    assert!(chunks > 1, "{chunks}");
    assert_eq!(storage.read_all(&key, data.len() as u64).await.unwrap(), data);
    assert_eq!(storage.size(&key).await.unwrap(), data.len() as u64);

    // put_bytes replaces.
    assert_eq!(storage.put_bytes(b"hello", &key).await.unwrap(), 5);
    assert_eq!(storage.read_all(&key, 5).await.unwrap(), b"hello");
    assert_eq!(store.size(&key).await.unwrap(), 5);

    storage.delete(&key).await.unwrap();
    storage.delete(&key).await.unwrap();
    assert!(matches!(storage.size(&key).await, Err(StoreFileError::NotFound)));
    assert!(matches!(storage.read_stream(&key).await.map(drop), Err(StoreFileError::NotFound)));
    assert!(matches!(storage.read_all(&key, 10).await, Err(StoreFileError::NotFound)));
}

#[tokio::test]
async fn local_read_all_refuses_oversized_files() {
    let dir = TempDir::new();
    let storage = ArtifactStorage::local(LocalStore::new(dir.path().join("store")));
    let key = ArtifactStorage::new_key("txt");
    storage.put_bytes(&[7u8; 1000], &key).await.unwrap();
    let err = storage.read_all(&key, 999).await.unwrap_err();
    match err {
        StoreFileError::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge, "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(storage.read_all(&key, 1000).await.unwrap().len(), 1000);
}

#[tokio::test]
async fn local_empty_file_round_trips() {
    let dir = TempDir::new();
    let storage = local(&dir);
    let key = ArtifactStorage::new_key("");
    assert_eq!(storage.put_bytes(b"", &key).await.unwrap(), 0);
    let (size, bytes, _) = read_streamed(&storage, &key).await;
    assert_eq!((size, bytes.len()), (0, 0));
}

#[tokio::test]
async fn local_refuses_traversal_keys() {
    let dir = TempDir::new();
    let storage = local(&dir);
    assert_refuses_bad_keys(&storage, &dir).await;
    // Nothing was written anywhere near the root.
    let root = dir.path().join("artifacts");
    let entries: Vec<_> =
        std::fs::read_dir(&root).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(entries.iter().all(|n| n == ".tmp"), "{entries:?}");
}
