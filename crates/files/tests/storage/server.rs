//! An in-process S3 server: `s3s` (protocol, SigV4 checks) over `s3s-fs` (objects as files
//! under a temp directory), served by hyper on `127.0.0.1:<free port>` for one test.

use std::sync::{Arc, Mutex};

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;

use files::{ArtifactStorage, S3Store, StorageConfig, StorageKind};

use crate::TempDir;

pub const ACCESS_KEY: &str = "AKIAFILESTEST";
pub const SECRET_KEY: &str = "files-test-secret-key";
pub const BUCKET: &str = "artifacts-bucket";
pub const REGION: &str = "eu-west-1";

/// One server; it stops when the test's runtime ends. `root` holds `BUCKET/...` as files.
pub struct S3Server {
    pub endpoint: String,
    pub root: TempDir,
    requests: Arc<Mutex<Vec<String>>>,
}

/// The S3 service, noting each request's method and path-and-query.
#[derive(Clone)]
struct Recording {
    inner: S3Service,
    requests: Arc<Mutex<Vec<String>>>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Recording {
    type Response = <S3Service as hyper::service::Service<hyper::Request<Incoming>>>::Response;
    type Error = <S3Service as hyper::service::Service<hyper::Request<Incoming>>>::Error;
    type Future = <S3Service as hyper::service::Service<hyper::Request<Incoming>>>::Future;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        self.requests.lock().unwrap().push(format!("{} {}", req.method(), req.uri()));
        hyper::service::Service::call(&self.inner, req)
    }
}

impl S3Server {
    pub async fn start() -> Self {
        let root = TempDir::new();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let service = Recording { inner: builder.build(), requests: requests.clone() };

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let service = service.clone();
                tokio::spawn(async move {
                    let _ =
                        ConnBuilder::new(TokioExecutor::new()).serve_connection(TokioIo::new(socket), service).await;
                });
            }
        });
        S3Server { endpoint, root, requests }
    }

    /// `METHOD /path?query` of every request so far, oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Settings for this server (path-style, plain HTTP, right credentials, prefix `artifacts`).
    pub fn config(&self) -> StorageConfig {
        StorageConfig {
            kind: StorageKind::S3,
            bucket: BUCKET.into(),
            endpoint: self.endpoint.clone(),
            region: REGION.into(),
            prefix: "artifacts".into(),
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
            allow_http: true,
        }
    }

    /// Storage on this server, staging uploads under `staging`.
    pub fn storage(&self, staging: &TempDir) -> ArtifactStorage {
        ArtifactStorage::s3(S3Store::new(&self.config(), staging.path()).unwrap())
    }

    /// Where s3s-fs keeps the object at `key` (under the `artifacts` prefix).
    pub fn object_path(&self, key: &str) -> std::path::PathBuf {
        self.root.path().join(BUCKET).join("artifacts").join(key)
    }
}
