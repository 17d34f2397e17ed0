use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use domain::Principal;
use domain::auth::Claims;

use crate::auth::service::authenticate;
use crate::context::AppContext;
use crate::error::ApiError;

/// An authenticated caller: the access token was valid, its family is not revoked, and the
/// user is active. Handlers that take this cannot run for anyone else.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub claims: Claims,
}

impl FromRequest for Authenticated {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<AppContext>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let ctx = ctx.ok_or_else(|| ApiError::internal("AppContext is not registered"))?;
            let token = token?;
            let (principal, claims) = authenticate(&ctx, &token).await?;
            Ok(Authenticated { principal, claims })
        })
    }
}

pub(crate) fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing_token", "send 'Authorization: Bearer <access token>'"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid_token", "the Authorization header is not valid text"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "expected 'Authorization: Bearer <access token>'"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized("invalid_token", "expected 'Authorization: Bearer <access token>'"));
    }
    Ok(token.trim().to_string())
}
