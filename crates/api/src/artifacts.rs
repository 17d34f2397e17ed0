//! The files API: uploads validated by their content (never by name or declared type),
//! received to a temporary file with the size limit enforced while streaming, stored under
//! a generated key, and served back only to their owner (or `files_read_all`).

use actix_multipart::Multipart;
use chrono::{DateTime, Utc};
use domain::{Permission, Principal};
use files::{ArtifactStorage, Category};
use futures_util::StreamExt;
use serde::Serialize;
use store::artifacts::{ArtifactRow, NewArtifact};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

/// The biggest upload of any category (video).
const MAX_ANY: u64 = 100 * 1024 * 1024;

/// An artifact as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArtifactView {
    pub id: Uuid,
    /// Same as `id` (the upload contract's name).
    pub artifact_id: Uuid,
    pub name: String,
    /// The detected kind: pdf, docx, pptx, xlsx, csv, txt, jpeg, png, webp, heic, mp4, mov, avi, mp3, wav, m4a, ogg.
    #[serde(rename = "type")]
    pub kind: String,
    pub size_bytes: i64,
    pub content_type: String,
    /// upload | generated
    pub source: String,
    pub category: Option<String>,
    pub session_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub download_url: String,
}

impl From<ArtifactRow> for ArtifactView {
    fn from(a: ArtifactRow) -> Self {
        ArtifactView {
            id: a.id,
            artifact_id: a.id,
            download_url: format!("/files/{}", a.id),
            name: a.name,
            kind: a.kind,
            size_bytes: a.size_bytes.unwrap_or(0),
            content_type: a.content_type,
            source: a.source,
            category: a.category,
            session_id: a.session_id,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArtifactList {
    pub artifacts: Vec<ArtifactView>,
    pub total: u64,
}

/// The process's artifact storage (local directory or S3, from `storage.*`).
pub fn store(ctx: &AppContext) -> ArtifactStorage {
    ctx.assistant.integrations.storage.clone()
}

/// Removes the temporary file when the upload ends, however it ends.
pub struct TempFile(pub std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
        format!("the file is larger than {} MB", limit / (1024 * 1024)),
    )
}

/// An upload received to a temporary file and checked by its content.
pub struct Received {
    pub tmp: TempFile,
    pub size: u64,
    /// The client's file name (cleaned before it is stored).
    pub original: String,
    pub detected: files::Detected,
    pub category: Category,
    pub session_id: Option<Uuid>,
    /// The other text fields the endpoint allows (e.g. `message`).
    pub fields: std::collections::HashMap<String, String>,
}

/// Reads a multipart upload: `input_type` (image|video|audio|file), `session_id`, the file
/// (`file` or `media_file`) and the text fields in `extra` (each at most `extra_limit`
/// bytes). The size limit of the declared type is enforced while streaming (413 before the
/// rest of the body is read); the type is judged by content (415 names what was found).
/// The session, when given, must be the caller's (404).
pub async fn receive(
    ctx: &AppContext,
    caller: &Principal,
    mut form: Multipart,
    extra: &[&str],
    extra_limit: usize,
) -> ApiResult<Received> {
    let store = store(ctx);
    let mut declared: Option<Category> = None;
    let mut session_id: Option<Uuid> = None;
    let mut fields = std::collections::HashMap::new();
    let mut received: Option<(TempFile, u64, String)> = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| ApiError::bad_request("invalid_multipart", e.to_string()))?;
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "input_type" | "session_id" => {
                let value = read_text_field(&mut field, &name, 200).await?;
                if name == "input_type" {
                    declared = Some(Category::parse(&value).ok_or_else(|| {
                        ApiError::unprocessable("invalid_input_type", "input_type must be image, video, audio or file")
                    })?);
                } else if !value.is_empty() {
                    session_id = Some(
                        value
                            .parse()
                            .map_err(|_| ApiError::unprocessable("invalid_session_id", "session_id is not a UUID"))?,
                    );
                }
            }
            "file" | "media_file" => {
                if received.is_some() {
                    return Err(ApiError::bad_request("too_many_files", "send one file per upload"));
                }
                let original = field.content_disposition().and_then(|d| d.get_filename()).unwrap_or("file").to_string();
                let limit = declared.map(Category::max_bytes).unwrap_or(MAX_ANY);
                let dir = store.temp_dir();
                tokio::fs::create_dir_all(&dir).await.map_err(ApiError::internal)?;
                let tmp = TempFile(dir.join(format!("upload-{}", Uuid::now_v7())));
                let mut out = tokio::fs::File::create(&tmp.0).await.map_err(ApiError::internal)?;
                let mut size: u64 = 0;
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| ApiError::bad_request("invalid_multipart", e.to_string()))?;
                    size += chunk.len() as u64;
                    if size > limit {
                        // Refused before the rest of the body is read.
                        return Err(too_large(limit));
                    }
                    out.write_all(&chunk).await.map_err(ApiError::internal)?;
                }
                out.sync_all().await.map_err(ApiError::internal)?;
                received = Some((tmp, size, original));
            }
            other if extra.contains(&other) => {
                let value = read_text_field(&mut field, other, extra_limit).await?;
                fields.insert(other.to_string(), value);
            }
            other => {
                return Err(ApiError::bad_request(
                    "unknown_field",
                    format!("unexpected form field '{}'", other.chars().take(40).collect::<String>()),
                ));
            }
        }
    }
    let (tmp, size, original) = received
        .ok_or_else(|| ApiError::bad_request("missing_file", "the form has no 'media_file' (or 'file') field"))?;
    if size == 0 {
        return Err(ApiError::unprocessable("empty_file", "the file is empty"));
    }
    // By content only; text in a legacy encoding (GBK, Big5, ...) counts as text.
    let detected = input::detect_document(&tmp.0).await.map_err(|e| match e {
        input::InputError::Io(io) => ApiError::internal(io),
        input::InputError::Unsafe(m) => ApiError::unprocessable("unsafe_file", m),
        other => ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
            other.to_string(),
        ),
    })?;
    let category = declared.unwrap_or(detected.category);
    if !files::accepts(category, &detected) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
            format!(
                "the file is {} ({}), which is not accepted as {}",
                detected.kind,
                detected.mime,
                category.as_str()
            ),
        ));
    }
    if size > category.max_bytes() {
        return Err(too_large(category.max_bytes()));
    }
    if let Some(s) = session_id
        && !store::chat::owns_session(&ctx.db, caller.user_id, s).await?
    {
        return Err(ApiError::not_found("no such session"));
    }
    Ok(Received { tmp, size, original, detected, category, session_id, fields })
}

async fn read_text_field(field: &mut actix_multipart::Field, name: &str, limit: usize) -> ApiResult<String> {
    let mut value = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("invalid_multipart", e.to_string()))?;
        if value.len() + chunk.len() > limit {
            return Err(ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "field_too_large",
                format!("{name} is longer than {limit} bytes"),
            ));
        }
        value.extend_from_slice(&chunk);
    }
    String::from_utf8(value)
        .map(|v| v.trim().to_string())
        .map_err(|_| ApiError::bad_request("invalid_field", format!("{name} is not UTF-8 text")))
}

/// Stores a received upload as the caller's artifact (kept: the answer may refer to it).
pub async fn keep(ctx: &AppContext, caller: &Principal, r: &Received) -> ApiResult<ArtifactRow> {
    let store = store(ctx);
    let key = ArtifactStorage::new_key(r.detected.extension);
    store.put_file(&r.tmp.0, &key).await.map_err(ApiError::internal)?;
    let row = store::artifacts::insert(
        &ctx.db,
        NewArtifact {
            id: Uuid::now_v7(),
            user_id: caller.user_id,
            session_id: r.session_id,
            kind: r.detected.kind.to_string(),
            name: files::safe_name(&r.original),
            path: key.clone(),
            size_bytes: r.size as i64,
            content_type: r.detected.mime.to_string(),
            source: "upload".into(),
            category: Some(r.category.as_str().to_string()),
        },
    )
    .await;
    match row {
        Ok(row) => Ok(row),
        Err(e) => {
            // Nothing half-written: no row, no file.
            let _ = store.delete(&key).await;
            Err(e.into())
        }
    }
}

/// `POST /files/upload` (multipart: `file` or `media_file`, optional `input_type`
/// image|video|audio|file and `session_id`).
pub async fn upload(ctx: &AppContext, caller: &Principal, form: Multipart) -> ApiResult<ArtifactView> {
    crate::auth::limit(ctx, &format!("files:{}", caller.user_id), ctx.settings.rate_limits.chat).await?;
    let received = receive(ctx, caller, form, &[], 0).await?;
    Ok(keep(ctx, caller, &received).await?.into())
}

/// The artifact if the caller may see it; otherwise 404 (never 403: existence is not told).
pub async fn visible(ctx: &AppContext, caller: &Principal, id: Uuid) -> ApiResult<ArtifactRow> {
    match store::artifacts::get(&ctx.db, id).await? {
        Some(a) if a.user_id == caller.user_id || caller.has(Permission::FilesReadAll) => Ok(a),
        _ => Err(ApiError::not_found("no such file")),
    }
}

pub async fn list(ctx: &AppContext, caller: &Principal, limit: u64, offset: u64) -> ApiResult<ArtifactList> {
    let (rows, total) = store::artifacts::list(&ctx.db, caller.user_id, limit.clamp(1, 200), offset).await?;
    Ok(ArtifactList { artifacts: rows.into_iter().map(Into::into).collect(), total })
}

/// Deletes the row, then the bytes. Only the owner deletes.
pub async fn delete(ctx: &AppContext, caller: &Principal, id: Uuid) -> ApiResult<()> {
    let a = visible(ctx, caller, id).await?;
    if a.user_id != caller.user_id {
        return Err(ApiError::not_found("no such file"));
    }
    if let Some(row) = store::artifacts::delete(&ctx.db, id).await?
        && let Err(e) = store(ctx).delete(&row.path).await
    {
        tracing::warn!(artifact = %id, error = %e, "artifact row deleted but its file could not be removed");
    }
    Ok(())
}
