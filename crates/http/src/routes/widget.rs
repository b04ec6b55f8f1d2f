//! Widget API handlers (SPEC §6): `X-LINK-TOKEN`.

use crate::envelope::{Envelope, ErrorResponse, HandlerResult};
use crate::extract::{ApiJson, LinkHeader, Meta};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kc_api::*;

#[utoipa::path(
    get,
    path = "/widget/session",
    tag = "Widget API",
    summary = "The widget session",
    description = "What the widget needs to render: the client, the requested scopes and where the session stands. \
A returning user's session (`is_authorized`) skips sign-in, and consent too unless `consent_required` (then \
`consent_scopes` lists only the scopes the grant lacks); `INVALID_GRANT` once that grant is revoked.",
    responses((status = 200, description = "The session.", body = crate::openapi::Success<WidgetSession>))
)]
pub(super) async fn session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
) -> HandlerResult<WidgetSession> {
    Ok(Envelope(state.api.session(&link, &meta).await?))
}

#[utoipa::path(
    post,
    path = "/widget/auth/anonymous",
    tag = "Widget API",
    summary = "Sign in as a guest",
    description = "Creates a guest user with a personal workspace (owner) and selects it.",
    responses((status = 200, description = "The guest and the workspace.", body = crate::openapi::Success<AnonymousAuthResponse>))
)]
pub(super) async fn auth_anonymous(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
) -> HandlerResult<AnonymousAuthResponse> {
    Ok(Envelope(state.api.auth_anonymous(&link, &meta).await?))
}

#[utoipa::path(
    post,
    path = "/widget/consent",
    tag = "Widget API",
    summary = "Approve or deny the requested scopes",
    description = "Approves `consent_scopes`; for a returning user this extends the grant (a `grant.updated` \
webhook). `approve: false` ends the session and leaves any grant as it was.",
    request_body = ConsentRequest,
    responses((status = 200, description = "What was recorded.", body = crate::openapi::Success<ConsentResponse>))
)]
pub(super) async fn consent(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<ConsentRequest>,
) -> HandlerResult<ConsentResponse> {
    Ok(Envelope(state.api.consent(&link, &meta, body).await?))
}

#[utoipa::path(
    post,
    path = "/widget/complete",
    tag = "Widget API",
    summary = "Finish the widget session",
    description = "Yields a one-time `public_…` token for a new user and `null` for a resumed session (which needs \
no consent while the grant holds every requested scope). The link token is dead afterwards.",
    responses((status = 200, description = "The public token.", body = crate::openapi::Success<CompleteResponse>))
)]
pub(super) async fn complete(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
) -> HandlerResult<CompleteResponse> {
    Ok(Envelope(state.api.complete(&link, &meta).await?))
}

#[utoipa::path(
    post,
    path = "/widget/auth/email/start",
    tag = "Widget API",
    summary = "Send an email sign-in code",
    description = "Sends a 6-digit code (valid 10 minutes, 5 attempts).",
    request_body = EmailStartRequest,
    responses(
        (status = 202, description = "A code was sent.", body = crate::openapi::Success<EmailStartResponse>),
        (status = 429, description = "`RATE_LIMITED`: codes requested too often for this session (30 s), this address from this IP \
(5 per 15 minutes) or this address (10 per 15 minutes; a resend, or an IP that verified the address, is exempt). `Retry-After` \
gives the seconds to wait.", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn email_start(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<EmailStartRequest>,
) -> Result<(StatusCode, Envelope<EmailStartResponse>), ErrorResponse> {
    Ok((StatusCode::ACCEPTED, Envelope(state.api.email_start(&link, &meta, body).await?)))
}

#[utoipa::path(
    post,
    path = "/widget/auth/email/verify",
    tag = "Widget API",
    summary = "Verify an email sign-in code",
    description = "Signs the user in, creating them on first login. A wrong, expired or exhausted code is `INVALID_REQUEST`.",
    request_body = EmailVerifyRequest,
    responses((status = 200, description = "The user and their workspaces.", body = crate::openapi::Success<EmailVerifyResponse>))
)]
pub(super) async fn email_verify(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<EmailVerifyRequest>,
) -> HandlerResult<EmailVerifyResponse> {
    Ok(Envelope(state.api.email_verify(&link, &meta, body).await?))
}

#[utoipa::path(
    post,
    path = "/widget/workspace",
    tag = "Widget API",
    summary = "Select the workspace to share",
    request_body = SelectWorkspaceRequest,
    responses(
        (status = 200, description = "The selected workspace.", body = crate::openapi::Success<WidgetWorkspace>),
        (status = 403, description = "`INSUFFICIENT_PERMISSIONS`: the user is not owner or admin of it.", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: no such workspace, or the user is not a member.", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn select_workspace(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<SelectWorkspaceRequest>,
) -> HandlerResult<WidgetWorkspace> {
    Ok(Envelope(state.api.select_workspace(&link, &meta, body).await?))
}

#[utoipa::path(
    get,
    path = "/widget/providers",
    tag = "Widget API",
    summary = "Providers the user may connect",
    description = "Sandbox clients: `ethereum` and `solana` only.",
    responses((status = 200, description = "The providers with their connection forms.", body = crate::openapi::Success<ProvidersResponse>))
)]
pub(super) async fn providers(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
) -> HandlerResult<ProvidersResponse> {
    Ok(Envelope(state.api.providers(&link, &meta).await?))
}

#[utoipa::path(
    post,
    path = "/widget/integrations",
    tag = "Widget API",
    summary = "Connect a wallet or exchange",
    description = "Connects it to the session's workspace and queues its first sync. Exchange credentials are \
encrypted at rest and never returned.",
    request_body = CreateIntegrationRequest,
    responses(
        (status = 200, description = "The new integration.", body = crate::openapi::Success<IntegrationView>),
        (status = 403, description = "`SANDBOX_PROVIDER_NOT_ALLOWED` or `SANDBOX_ADDRESS_NOT_ALLOWED` (sandbox clients).", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn create_integration(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<CreateIntegrationRequest>,
) -> HandlerResult<IntegrationView> {
    Ok(Envelope(state.api.create_integration(&link, &meta, body).await?))
}

#[utoipa::path(
    get,
    path = "/widget/integrations",
    tag = "Widget API",
    summary = "The workspace's integrations",
    responses((status = 200, description = "Integrations with their sync status.", body = crate::openapi::Success<IntegrationsResponse>))
)]
pub(super) async fn list_integrations(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
) -> HandlerResult<IntegrationsResponse> {
    Ok(Envelope(state.api.list_integrations(&link, &meta).await?))
}

#[utoipa::path(
    delete,
    path = "/widget/integrations/{walletId}",
    tag = "Widget API",
    summary = "Remove an integration",
    description = "Removes a wallet or exchange of the session's workspace with its balances and pending syncs. \
Clients holding a live grant on the workspace receive `integration.deleted`.",
    params(("walletId" = String, Path, description = "The integration's `walletId`.")),
    responses(
        (status = 200, description = "Removed.", body = crate::openapi::Success<DeleteIntegrationResponse>),
        (status = 400, description = "`INVALID_REQUEST`: no user signed in or no workspace selected yet.", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: the session's workspace has no such integration.", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn delete_integration(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    axum::extract::Path(wallet_id): axum::extract::Path<String>,
) -> HandlerResult<DeleteIntegrationResponse> {
    state.api.delete_integration(&link, &meta, &wallet_id).await?;
    Ok(Envelope(DeleteIntegrationResponse { wallet_id, deleted: true }))
}

/// `GET /integrations/public/list`: the provider catalogue, no authentication.
#[utoipa::path(
    get,
    path = "/integrations/public/list",
    tag = "Public",
    summary = "Every supported provider",
    responses((status = 200, description = "The provider catalogue.", body = crate::openapi::Success<Vec<PublicProvider>>))
)]
pub(super) async fn public_providers(State(state): State<AppState>) -> HandlerResult<Vec<PublicProvider>> {
    Ok(Envelope(state.api.public_providers().await?))
}
