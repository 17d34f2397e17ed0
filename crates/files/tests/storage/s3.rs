use std::io::ErrorKind;

use files::{ArtifactStorage, MULTIPART_THRESHOLD, S3Store, StorageConfig, StorageKind, StoreFileError};

use crate::server::{BUCKET, S3Server};
use crate::{TempDir, assert_refuses_bad_keys, noise, read_streamed};

const LARGE: usize = 12 * 1024 * 1024;

#[tokio::test]
async fn small_file_round_trip() {
    let server = S3Server::start().await;
    let staging = TempDir::new();
    let storage = server.storage(&staging);
    assert_eq!(storage.kind(), StorageKind::S3);
    assert_eq!(storage.describe(), format!("s3://{BUCKET}/artifacts"));

    let data = noise(100_000, 2);
    let src = storage.new_temp_path();
    assert!(src.starts_with(staging.path()));
    std::fs::write(&src, &data).unwrap();
    let key = ArtifactStorage::new_key("pdf");
    assert_eq!(storage.put_file(&src, &key).await.unwrap(), data.len() as u64);
    assert!(!src.exists(), "put_file moves the file");
    // Path-style, under the prefix: the server keeps it at bucket/artifacts/key.
    assert_eq!(std::fs::read(server.object_path(&key)).unwrap(), data);
    let requests = server.requests();
    assert_eq!(requests, [format!("PUT /{BUCKET}/artifacts/{key}")], "one path-style PUT");

    assert_eq!(storage.size(&key).await.unwrap(), data.len() as u64);
    let (size, streamed, _) = read_streamed(&storage, &key).await;
    assert_eq!(size, data.len() as u64);
    assert_eq!(streamed, data);
    assert_eq!(storage.read_all(&key, data.len() as u64).await.unwrap(), data);
}

#[tokio::test]
async fn large_file_goes_up_in_parts() {
    assert!(LARGE as u64 > MULTIPART_THRESHOLD);
    let server = S3Server::start().await;
    let staging = TempDir::new();
    let storage = server.storage(&staging);

    let data = noise(LARGE, 3);
    let src = staging.write("big.part", &data);
    let key = ArtifactStorage::new_key("zip");
    assert_eq!(storage.put_file(&src, &key).await.unwrap(), LARGE as u64);
    assert!(!src.exists());
    // Multipart: initiate, two 8 MiB-or-less parts, complete.
    let requests = server.requests();
    assert!(requests.iter().any(|r| r.starts_with("POST ") && r.contains("?uploads")), "{requests:?}");
    assert_eq!(
        requests.iter().filter(|r| r.starts_with("PUT ") && r.contains("partNumber=")).count(),
        2,
        "{requests:?}"
    );
    assert!(requests.iter().any(|r| r.starts_with("POST ") && r.contains("uploadId=")), "{requests:?}");
    assert_eq!(std::fs::read(server.object_path(&key)).unwrap(), data);

    assert_eq!(storage.size(&key).await.unwrap(), LARGE as u64);
    let (size, streamed, chunks) = read_streamed(&storage, &key).await;
    assert_eq!(size, LARGE as u64);
    assert!(streamed == data, "streamed bytes differ");
    assert!(chunks > 1, "streamed in {chunks} chunk(s)");
}

#[tokio::test]
async fn bytes_round_trip_small_and_large_and_replace() {
    let server = S3Server::start().await;
    let staging = TempDir::new();
    let storage = server.storage(&staging);

    let key = ArtifactStorage::new_key("csv");
    assert_eq!(storage.put_bytes(b"a,b\n1,2\n", &key).await.unwrap(), 8);
    assert_eq!(storage.read_all(&key, 8).await.unwrap(), b"a,b\n1,2\n");

    let large = noise(LARGE, 4);
    assert_eq!(storage.put_bytes(&large, &key).await.unwrap(), LARGE as u64);
    assert!(storage.read_all(&key, LARGE as u64).await.unwrap() == large);

    let empty = ArtifactStorage::new_key("");
    assert_eq!(storage.put_bytes(b"", &empty).await.unwrap(), 0);
    assert_eq!(storage.size(&empty).await.unwrap(), 0);
    assert!(storage.read_all(&empty, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn read_all_refuses_oversized_objects() {
    let server = S3Server::start().await;
    let staging = TempDir::new();
    let storage = server.storage(&staging);
    let key = ArtifactStorage::new_key("bin");
    storage.put_bytes(&[1u8; 4096], &key).await.unwrap();

    match storage.read_all(&key, 4095).await.unwrap_err() {
        StoreFileError::Io(e) => assert_eq!(e.kind(), ErrorKind::FileTooLarge, "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(storage.read_all(&key, 4096).await.unwrap().len(), 4096);
}

#[tokio::test]
async fn delete_then_not_found() {
    let server = S3Server::start().await;
    let staging = TempDir::new();
    let storage = server.storage(&staging);
    let key = ArtifactStorage::new_key("txt");
    storage.put_bytes(b"bye", &key).await.unwrap();

    storage.delete(&key).await.unwrap();
    assert!(!server.object_path(&key).exists());
    storage.delete(&key).await.unwrap(); // missing is fine
    assert!(matches!(storage.size(&key).await, Err(StoreFileError::NotFound)));
    assert!(matches!(storage.read_stream(&key).await.map(drop), Err(StoreFileError::NotFound)));
    assert!(matches!(storage.read_all(&key, 10).await, Err(StoreFileError::NotFound)));
    let never = ArtifactStorage::new_key("txt");
    assert!(matches!(storage.size(&never).await, Err(StoreFileError::NotFound)));
}

#[tokio::test]
async fn refuses_traversal_keys_without_sending_anything() {
    let server = S3Server::start().await;
    let staging = TempDir::new();
    let storage = server.storage(&staging);
    assert_refuses_bad_keys(&storage, &staging).await;
    let bucket: Vec<_> = std::fs::read_dir(server.root.path().join(BUCKET)).unwrap().collect();
    assert!(bucket.is_empty(), "{bucket:?}");
    assert_eq!(server.requests(), Vec::<String>::new());
}

#[tokio::test]
async fn wrong_credentials_are_a_clear_error() {
    let server = S3Server::start().await;
    let staging = TempDir::new();
    let key = ArtifactStorage::new_key("txt");

    let wrong_secret = StorageConfig { secret_access_key: "not-the-secret".into(), ..server.config() };
    let wrong_key = StorageConfig { access_key_id: "AKIAUNKNOWN".into(), ..server.config() };
    for config in [wrong_secret, wrong_key] {
        let storage = ArtifactStorage::from_config(&config, staging.path()).unwrap();
        let src = staging.write("upload.part", b"secret stuff");
        for err in [
            storage.put_bytes(b"x", &key).await.unwrap_err(),
            storage.put_file(&src, &key).await.unwrap_err(),
            storage.read_all(&key, 10).await.unwrap_err(),
            storage.size(&key).await.unwrap_err(),
        ] {
            match err {
                StoreFileError::Io(e) => {
                    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
                    assert!(e.to_string().contains("access key"), "{e}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(src.exists(), "a failed upload keeps its source");
    }
    assert!(!server.object_path(&key).exists());
}

#[tokio::test]
async fn prefix_is_optional() {
    let server = S3Server::start().await;
    let staging = TempDir::new();
    let config = StorageConfig { prefix: "/".into(), ..server.config() };
    let storage = ArtifactStorage::from_config(&config, staging.path()).unwrap();
    assert_eq!(storage.describe(), format!("s3://{BUCKET}"));
    let key = ArtifactStorage::new_key("txt");
    storage.put_bytes(b"top", &key).await.unwrap();
    assert_eq!(std::fs::read(server.root.path().join(BUCKET).join(&key)).unwrap(), b"top");
}

#[test]
fn bad_configurations_are_refused() {
    let base = StorageConfig {
        kind: StorageKind::S3,
        bucket: "b".into(),
        endpoint: "http://127.0.0.1:9000".into(),
        region: "us-east-1".into(),
        prefix: "artifacts".into(),
        access_key_id: "k".into(),
        secret_access_key: "s".into(),
        allow_http: true,
    };
    assert!(S3Store::new(&base, "/tmp/x").is_ok());
    let aws = StorageConfig { endpoint: String::new(), allow_http: false, ..base.clone() };
    assert_eq!(S3Store::new(&aws, "/tmp/x").unwrap().describe(), "s3://b/artifacts");
    for bad in [
        StorageConfig { bucket: String::new(), ..base.clone() },
        StorageConfig { bucket: "a/b".into(), ..base.clone() },
        StorageConfig { allow_http: false, ..base.clone() },
        StorageConfig { endpoint: "127.0.0.1:9000".into(), ..base.clone() },
        StorageConfig { prefix: "../up".into(), ..base.clone() },
        StorageConfig { prefix: "a//b".into(), ..base.clone() },
        StorageConfig { secret_access_key: String::new(), ..base.clone() },
        StorageConfig { access_key_id: String::new(), ..base.clone() },
    ] {
        assert!(S3Store::new(&bad, "/tmp/x").is_err(), "{bad:?}");
    }
    let debug = format!("{base:?}");
    assert!(!debug.contains("\"s\""), "{debug}");
}
