//! Push devices: the app registers its FCM token after sign-in and removes it at sign-out.

use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, delete, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult, ErrorBody};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterDevice {
    /// The FCM registration token of this app install.
    pub token: String,
    /// android | ios | web
    pub platform: String,
    pub app_version: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    pub id: Uuid,
    /// android | ios | web
    pub platform: String,
    pub app_version: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<DeviceView>,
}

fn view(d: store::devices::DeviceRow) -> DeviceView {
    DeviceView {
        id: d.id,
        platform: d.platform,
        app_version: d.app_version,
        created_at: d.created_at,
        last_seen_at: d.last_seen_at,
    }
}

/// Register (or refresh) this device's push token for the caller. 201 when new, 200 when it
/// was known (a token moves to the user who registers it last).
#[utoipa::path(
    tag = "devices",
    request_body = RegisterDevice,
    security(("bearer" = [])),
    responses((status = 201, body = DeviceView), (status = 200, body = DeviceView), (status = 422, body = ErrorBody))
)]
#[post("")]
pub async fn register(
    ctx: Data<AppContext>,
    caller: Authenticated,
    body: Json<RegisterDevice>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let token = b.token.trim();
    // FCM tokens are long URL-safe strings; refuse anything else before it reaches FCM.
    if token.len() < 16
        || token.len() > 4096
        || !token.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
    {
        return Err(ApiError::unprocessable(
            "invalid_token",
            "token must be the FCM registration token (16 to 4096 characters: letters, digits, - _ : .)",
        ));
    }
    let platform = b.platform.trim().to_ascii_lowercase();
    if !store::devices::PLATFORMS.contains(&platform.as_str()) {
        return Err(ApiError::unprocessable("invalid_platform", "platform must be android, ios or web"));
    }
    let app_version = b.app_version.as_deref().map(str::trim).filter(|v| !v.is_empty());
    if app_version.is_some_and(|v| v.len() > 40) {
        return Err(ApiError::unprocessable("invalid_app_version", "app_version is at most 40 characters"));
    }
    let (row, new) = store::devices::register(&ctx.db, caller.principal.user_id, token, &platform, app_version).await?;
    Ok(if new { HttpResponse::Created() } else { HttpResponse::Ok() }.json(view(row)))
}

/// The caller's registered devices.
#[utoipa::path(tag = "devices", security(("bearer" = [])), responses((status = 200, body = DeviceList)))]
#[get("")]
pub async fn list(ctx: Data<AppContext>, caller: Authenticated) -> ApiResult<Json<DeviceList>> {
    let rows = store::devices::for_user(&ctx.db, caller.principal.user_id).await?;
    Ok(Json(DeviceList { devices: rows.into_iter().map(view).collect() }))
}

/// Forget one of the caller's devices (sign-out). Another user's device is a 404.
#[utoipa::path(
    tag = "devices",
    params(("device_id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "{deleted: true}"), (status = 404, body = ErrorBody))
)]
#[delete("/{device_id}")]
pub async fn remove(ctx: Data<AppContext>, caller: Authenticated, id: Path<Uuid>) -> ApiResult<HttpResponse> {
    if !store::devices::remove(&ctx.db, caller.principal.user_id, id.into_inner()).await? {
        return Err(ApiError::not_found("no such device"));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({"deleted": true})))
}
