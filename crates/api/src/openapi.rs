use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Mezzofy AI Assistant API",
        description = "The company's AI work assistant: authentication, chat, files, webhooks, scheduling and administration.\n\nErrors are JSON: `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}` with a stable `code`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign in, token refresh and sign out"),
        (name = "chat", description = "Chat turns, sessions, history and consent for held side effects"),
        (name = "files", description = "Uploaded and generated files"),
        (name = "scheduler", description = "Recurring agent tasks delivered to Teams, e-mail or push"),
        (name = "webhooks", description = "Signed events from the Mezzofy platform, Teams and configured sources"),
        (name = "devices", description = "Push notification tokens of the caller's app installs"),
        (name = "jobs", description = "Background job status"),
        (name = "admin", description = "Users, audit log and detailed health (role-restricted)"),
        (name = "system", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}
