use chrono::Utc;
use domain::auth::{Claims, TokenError, TokenKind};
use domain::password::{self, Verification};
use domain::{EmailAddress, Principal};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::TransactionTrait;
use store::audit::{NewEntry, Source};
use store::users::User;
use utoipa::ToSchema;
use uuid::Uuid;

use super::revocation::{is_revoked, revoke_families};
use crate::client::ClientInfo;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The refresh token of this session; its family is revoked too.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// The mobile app's view of the signed-in user (`user_info.id`, not `user_id`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserInfo {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub department: String,
    pub role: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
    pub user_info: UserInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutResponse {
    pub logged_out: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChanged {
    /// Every session of this user was signed out; log in again with the new password.
    pub password_changed: bool,
}

pub fn principal_for(ctx: &AppContext, user: &User) -> Principal {
    Principal {
        user_id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        department: user.department,
        role: user.role.clone(),
        permissions: ctx.roles.permissions_of(&user.role),
    }
}

pub fn user_info(p: &Principal) -> UserInfo {
    UserInfo {
        id: p.user_id,
        email: p.email.clone(),
        name: p.name.clone(),
        department: p.department.as_str().to_string(),
        role: p.role.clone(),
        permissions: p.permissions.iter().map(|p| p.as_str().to_string()).collect(),
    }
}

fn token_error(e: TokenError) -> ApiError {
    match e {
        TokenError::Expired => ApiError::unauthorized("token_expired", "the token has expired"),
        TokenError::WrongKind { expected: TokenKind::Access } => {
            ApiError::unauthorized("invalid_token", "an access token is required here")
        }
        TokenError::WrongKind { expected: TokenKind::Refresh } => {
            ApiError::unauthorized("invalid_token", "a refresh token is required here")
        }
        TokenError::Invalid => ApiError::unauthorized("invalid_token", "the token is not valid"),
        TokenError::Signing(m) => ApiError::internal(m),
    }
}

/// Checks an access token completely: signature and claims, family revocation, and the
/// user's current state. Returns who is calling.
pub async fn authenticate(ctx: &AppContext, token: &str) -> ApiResult<(Principal, Claims)> {
    let claims = ctx.tokens.verify(token, TokenKind::Access).map_err(token_error)?;
    if is_revoked(ctx, claims.fam).await? {
        return Err(ApiError::unauthorized("token_revoked", "this session has been signed out"));
    }
    let user = load_user(ctx, claims.sub).await?;
    check_user_accepts(&user, &claims)?;
    Ok((principal_for(ctx, &user), claims))
}

async fn load_user(ctx: &AppContext, id: Uuid) -> ApiResult<User> {
    if let Some(u) = ctx.users.get(id) {
        return Ok(u);
    }
    let user = store::users::by_id(&ctx.db, id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the token's user no longer exists"))?;
    ctx.users.put(user.clone());
    Ok(user)
}

fn check_user_accepts(user: &User, claims: &Claims) -> ApiResult<()> {
    if !user.is_active {
        return Err(ApiError::unauthorized("account_disabled", "this account has been deactivated"));
    }
    if claims.iat < user.tokens_valid_after.timestamp() {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "this token was issued before the account's credentials changed",
        ));
    }
    Ok(())
}

/// One rate-limit check; 429 with `Retry-After` when refused.
pub async fn limit(ctx: &AppContext, bucket: &str, max: u32) -> ApiResult<()> {
    let decision = kv::ratelimit::check(&ctx.redis, bucket, max, ctx.rate_window()).await?;
    if decision.allowed {
        Ok(())
    } else {
        metrics::counter!("rate_limited_total", "bucket" => bucket.split(':').take(2).collect::<Vec<_>>().join(":"))
            .increment(1);
        Err(ApiError::rate_limited(decision.retry_after_secs()))
    }
}

async fn limit_auth_ip(ctx: &AppContext, client: &ClientInfo) -> ApiResult<()> {
    let ip = client.ip_string().unwrap_or_else(|| "unknown".into());
    limit(ctx, &format!("auth:ip:{ip}"), ctx.settings.rate_limits.auth).await
}

/// Runs a password check (or a decoy of equal cost) on the blocking pool, bounded by the
/// hashing semaphore. Returns the verification and, when the stored hash used older
/// parameters, a fresh hash to store.
/// A slot on the bounded password-hashing pool.
async fn hash_permit(ctx: &AppContext) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    ctx.hash_permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::unavailable("shutting_down", "the server is shutting down"))
}

async fn verify_password(
    ctx: &AppContext,
    password: String,
    stored: Option<String>,
) -> ApiResult<(Verification, Option<String>)> {
    let _permit = hash_permit(ctx).await?;
    let hasher = ctx.hasher.clone();
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => {
            let v = hasher.verify(&password, &stored);
            let rehash = match v {
                Verification::Valid { needs_rehash: true } => hasher.hash(&password).ok(),
                _ => None,
            };
            (v, rehash)
        }
        None => {
            hasher.burn(&password);
            (Verification::Invalid, None)
        }
    })
    .await
    .map_err(ApiError::internal)
}

async fn hash_password(ctx: &AppContext, password: String) -> ApiResult<String> {
    let _permit = hash_permit(ctx).await?;
    let hasher = ctx.hasher.clone();
    tokio::task::spawn_blocking(move || hasher.hash(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

pub(crate) async fn hash_new_password(ctx: &AppContext, password: &str) -> ApiResult<String> {
    password::check_policy(password).map_err(|e| ApiError::unprocessable("weak_password", e.to_string()))?;
    hash_password(ctx, password.to_string()).await
}

/// Whom an audit row is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actor {
    pub id: Uuid,
    pub department: domain::Department,
}

impl From<&User> for Actor {
    fn from(u: &User) -> Self {
        Actor { id: u.id, department: u.department }
    }
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        Actor { id: p.user_id, department: p.department }
    }
}

pub(crate) async fn audit(
    conn: &impl store::ConnectionTrait,
    actor: Option<Actor>,
    action: &str,
    details: serde_json::Value,
    client: &ClientInfo,
) -> ApiResult<()> {
    let ip = client.ip_string();
    store::audit::record(
        conn,
        NewEntry {
            user_id: actor.map(|a| a.id),
            department: actor.map(|a| a.department.as_str()),
            action,
            source: Source::Mobile,
            details,
            ip_address: ip.as_deref(),
            request_id: client.request_id.as_deref(),
        },
    )
    .await?;
    Ok(())
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "e-mail or password is incorrect")
}

/// `POST /auth/login`. Unknown accounts cost the same hash as known ones and get the same
/// answer as a wrong password.
pub async fn login(ctx: &AppContext, req: LoginRequest, client: &ClientInfo) -> ApiResult<TokenPair> {
    limit_auth_ip(ctx, client).await?;
    let email = EmailAddress::parse(&req.email).ok();
    let account_key = email.as_ref().map(|e| e.as_str().to_string()).unwrap_or_else(|| "invalid".into());
    limit(ctx, &format!("auth:acct:{account_key}"), ctx.settings.rate_limits.auth).await?;

    let user = match &email {
        Some(e) => store::users::by_email(&ctx.db, e).await?,
        None => None,
    };
    let (verification, rehash) =
        verify_password(ctx, req.password, user.as_ref().map(|u| u.password_hash.clone())).await?;

    let user = match user {
        Some(u) if matches!(verification, Verification::Valid { .. }) => u,
        other => {
            let reason = match (&email, &other) {
                (None, _) => "malformed_email",
                (Some(_), None) => "unknown_account",
                (Some(_), Some(_)) => "bad_password",
            };
            audit(
                &ctx.db,
                other.as_ref().map(Actor::from),
                "auth.login.failure",
                json!({"email": account_key, "reason": reason}),
                client,
            )
            .await?;
            metrics::counter!("auth_logins_total", "outcome" => "failure").increment(1);
            return Err(invalid_credentials());
        }
    };
    if !user.is_active {
        audit(
            &ctx.db,
            Some(Actor::from(&user)),
            "auth.login.failure",
            json!({"email": user.email, "reason": "account_disabled"}),
            client,
        )
        .await?;
        metrics::counter!("auth_logins_total", "outcome" => "disabled").increment(1);
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "account_disabled",
            "this account has been deactivated",
        ));
    }

    let family = Uuid::now_v7();
    let pair = mint_pair(ctx, &user, family)?;
    let txn = ctx.db.begin().await.map_err(store::StoreError::from)?;
    store::tokens::create_family(
        &txn,
        store::tokens::NewFamily {
            id: family,
            user_id: user.id,
            expires_at: pair.1.expires_at(),
            user_agent: client.user_agent.as_deref(),
            ip_address: client.ip_string().as_deref(),
        },
    )
    .await?;
    store::tokens::insert_refresh(&txn, pair.1.claims.jti, family, user.id, Utc::now(), pair.1.expires_at()).await?;
    store::users::record_login(&txn, user.id, rehash.clone()).await?;
    audit(
        &txn,
        Some(Actor::from(&user)),
        "auth.login.success",
        json!({"family": family, "rehashed": rehash.is_some()}),
        client,
    )
    .await?;
    txn.commit().await.map_err(store::StoreError::from)?;
    metrics::counter!("auth_logins_total", "outcome" => "success").increment(1);
    Ok(token_pair(ctx, &user, pair))
}

fn mint_pair(ctx: &AppContext, user: &User, family: Uuid) -> ApiResult<(domain::auth::Minted, domain::auth::Minted)> {
    let now = Utc::now();
    let access = ctx.tokens.mint(TokenKind::Access, user.id, family, now).map_err(token_error)?;
    let refresh = ctx.tokens.mint(TokenKind::Refresh, user.id, family, now).map_err(token_error)?;
    Ok((access, refresh))
}

fn token_pair(
    ctx: &AppContext,
    user: &User,
    (access, refresh): (domain::auth::Minted, domain::auth::Minted),
) -> TokenPair {
    TokenPair {
        access_token: access.token,
        refresh_token: refresh.token,
        token_type: "bearer",
        expires_in: ctx.tokens.access_ttl_secs(),
        refresh_expires_in: ctx.tokens.refresh_ttl_secs(),
        user_info: user_info(&principal_for(ctx, user)),
    }
}

/// `POST /auth/refresh`: rotates the refresh token. Presenting a token that was already
/// rotated means it was copied: the whole family is revoked.
pub async fn refresh(ctx: &AppContext, req: RefreshRequest, client: &ClientInfo) -> ApiResult<TokenPair> {
    limit_auth_ip(ctx, client).await?;
    let claims = ctx.tokens.verify(&req.refresh_token, TokenKind::Refresh).map_err(token_error)?;
    let txn = ctx.db.begin().await.map_err(store::StoreError::from)?;
    let state = store::tokens::lock_refresh(&txn, claims.jti)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "unknown refresh token"))?;
    if state.family_revoked {
        return Err(ApiError::unauthorized("token_revoked", "this session has been signed out"));
    }
    let user = store::users::by_id(&txn, state.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the token's user no longer exists"))?;
    if state.used_at.is_some() {
        let revoked = store::tokens::revoke_family(&txn, state.family_id, "refresh_token_reuse").await?;
        audit(
            &txn,
            Some(Actor::from(&user)),
            "auth.refresh.reuse_detected",
            json!({"family": state.family_id, "jti": claims.jti}),
            client,
        )
        .await?;
        txn.commit().await.map_err(store::StoreError::from)?;
        revoke_families(ctx, &revoked.into_iter().collect::<Vec<_>>()).await;
        metrics::counter!("auth_refresh_total", "outcome" => "reuse").increment(1);
        return Err(ApiError::unauthorized(
            "refresh_token_reused",
            "this refresh token was already used; the session has been signed out everywhere",
        ));
    }
    check_user_accepts(&user, &claims)?;
    let pair = mint_pair(ctx, &user, state.family_id)?;
    store::tokens::insert_refresh(&txn, pair.1.claims.jti, state.family_id, user.id, Utc::now(), pair.1.expires_at())
        .await?;
    store::tokens::mark_used(&txn, claims.jti, pair.1.claims.jti).await?;
    audit(&txn, Some(Actor::from(&user)), "auth.refresh", json!({"family": state.family_id}), client).await?;
    txn.commit().await.map_err(store::StoreError::from)?;
    metrics::counter!("auth_refresh_total", "outcome" => "rotated").increment(1);
    Ok(token_pair(ctx, &user, pair))
}

/// `POST /auth/logout`: revokes the access token's family and, when given, the refresh
/// token's family, in PostgreSQL and then in Redis, so every api process refuses both.
pub async fn logout(
    ctx: &AppContext,
    caller: &Principal,
    claims: &Claims,
    req: LogoutRequest,
    client: &ClientInfo,
) -> ApiResult<LogoutResponse> {
    let mut families = vec![claims.fam];
    if let Some(token) = req.refresh_token.as_deref() {
        match ctx.tokens.verify(token, TokenKind::Refresh) {
            Ok(r) if r.sub == caller.user_id => {
                if r.fam != claims.fam {
                    families.push(r.fam);
                }
            }
            Ok(_) => return Err(ApiError::forbidden("that refresh token belongs to another user")),
            // An expired or already-invalid refresh token needs no revoking.
            Err(TokenError::Expired) | Err(TokenError::Invalid) | Err(TokenError::WrongKind { .. }) => {}
            Err(e) => return Err(token_error(e)),
        }
    }
    let txn = ctx.db.begin().await.map_err(store::StoreError::from)?;
    let mut revoked = Vec::new();
    for f in &families {
        if let Some(r) = store::tokens::revoke_family(&txn, *f, "logout").await? {
            revoked.push(r);
        }
    }
    audit(&txn, Some(Actor::from(caller)), "auth.logout", json!({"families": families}), client).await?;
    txn.commit().await.map_err(store::StoreError::from)?;
    revoke_families(ctx, &revoked).await;
    Ok(LogoutResponse { logged_out: true })
}

/// `POST /auth/change-password`: verifies the current password, stores the new one and
/// signs the user out everywhere.
pub async fn change_password(
    ctx: &AppContext,
    caller: &Principal,
    req: ChangePasswordRequest,
    client: &ClientInfo,
) -> ApiResult<PasswordChanged> {
    limit(ctx, &format!("auth:acct:{}", caller.email), ctx.settings.rate_limits.auth).await?;
    let user = store::users::by_id(&ctx.db, caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the token's user no longer exists"))?;
    let (v, _) = verify_password(ctx, req.current_password, Some(user.password_hash.clone())).await?;
    if v == Verification::Invalid {
        audit(
            &ctx.db,
            Some(Actor::from(&user)),
            "auth.password.change_failed",
            json!({"reason": "bad_current_password"}),
            client,
        )
        .await?;
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "invalid_credentials",
            "the current password is incorrect",
        ));
    }
    let hash = hash_new_password(ctx, &req.new_password).await?;
    let txn = ctx.db.begin().await.map_err(store::StoreError::from)?;
    store::users::update(&txn, user.id, store::users::UserChanges { password_hash: Some(hash), ..Default::default() })
        .await?;
    let revoked = store::tokens::revoke_user_families(&txn, user.id, "password_changed").await?;
    audit(&txn, Some(Actor::from(&user)), "auth.password.changed", json!({"sessions_revoked": revoked.len()}), client)
        .await?;
    txn.commit().await.map_err(store::StoreError::from)?;
    ctx.users.evict(user.id);
    revoke_families(ctx, &revoked).await;
    Ok(PasswordChanged { password_changed: true })
}
