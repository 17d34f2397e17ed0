use actix_web::web::{Data, Json};
use actix_web::{get, post};

use crate::auth::{
    self, Authenticated, ChangePasswordRequest, LoginRequest, LogoutRequest, LogoutResponse, PasswordChanged,
    RefreshRequest, TokenPair, UserInfo,
};
use crate::client::ClientInfo;
use crate::context::AppContext;
use crate::error::{ApiResult, ErrorBody};

/// Sign in with e-mail and password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "Wrong e-mail or password (`invalid_credentials`)", body = ErrorBody),
        (status = 403, description = "Account deactivated (`account_disabled`)", body = ErrorBody),
        (status = 422, description = "Missing or mistyped fields", body = ErrorBody),
        (status = 429, description = "Too many attempts (`Retry-After` says when to retry)", body = ErrorBody),
    )
)]
#[post("/login")]
pub async fn login(ctx: Data<AppContext>, client: ClientInfo, body: Json<LoginRequest>) -> ApiResult<Json<TokenPair>> {
    Ok(Json(auth::login(&ctx, body.into_inner(), &client).await?))
}

/// Exchange a refresh token for a new pair. The old refresh token stops working; using it
/// again signs the whole session out (`refresh_token_reused`).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenPair),
        (status = 401, description = "Invalid, expired, revoked or reused refresh token", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody),
    )
)]
#[post("/refresh")]
pub async fn refresh(
    ctx: Data<AppContext>,
    client: ClientInfo,
    body: Json<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(auth::refresh(&ctx, body.into_inner(), &client).await?))
}

/// Sign out: revokes this access token and the given refresh token on every api process.
#[utoipa::path(
    tag = "auth",
    request_body(content = LogoutRequest, description = "Optional; `{}` signs out the access token's session only"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Signed out", body = LogoutResponse),
        (status = 401, description = "Missing or invalid access token", body = ErrorBody),
    )
)]
#[post("/logout")]
pub async fn logout(
    ctx: Data<AppContext>,
    caller: Authenticated,
    client: ClientInfo,
    body: Option<Json<LogoutRequest>>,
) -> ApiResult<Json<LogoutResponse>> {
    let req = body.map(Json::into_inner).unwrap_or_default();
    Ok(Json(auth::logout(&ctx, &caller.principal, &caller.claims, req, &client).await?))
}

/// The signed-in user.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserInfo),
        (status = 401, description = "Missing, invalid, expired or revoked access token", body = ErrorBody),
    )
)]
#[get("/me")]
pub async fn me(caller: Authenticated) -> Json<UserInfo> {
    Json(auth::user_info(&caller.principal))
}

/// Change one's own password; signs out every session of the user.
#[utoipa::path(
    tag = "auth",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; log in again", body = PasswordChanged),
        (status = 403, description = "Current password is wrong", body = ErrorBody),
        (status = 422, description = "New password too weak", body = ErrorBody),
    )
)]
#[post("/change-password")]
pub async fn change_password(
    ctx: Data<AppContext>,
    caller: Authenticated,
    client: ClientInfo,
    body: Json<ChangePasswordRequest>,
) -> ApiResult<Json<PasswordChanged>> {
    Ok(Json(auth::change_password(&ctx, &caller.principal, body.into_inner(), &client).await?))
}
