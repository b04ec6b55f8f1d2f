//! Widget API handlers (SPEC §6): `X-LINK-TOKEN`.

use crate::envelope::{Envelope, ErrorResponse, HandlerResult};
use crate::extract::{ApiJson, LinkHeader, Meta};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kc_api::*;

pub(super) async fn session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
) -> HandlerResult<WidgetSession> {
    Ok(Envelope(state.api.session(&link, &meta).await?))
}

pub(super) async fn auth_anonymous(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
) -> HandlerResult<AnonymousAuthResponse> {
    Ok(Envelope(state.api.auth_anonymous(&link, &meta).await?))
}

pub(super) async fn consent(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<ConsentRequest>,
) -> HandlerResult<ConsentResponse> {
    Ok(Envelope(state.api.consent(&link, &meta, body).await?))
}

pub(super) async fn complete(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
) -> HandlerResult<CompleteResponse> {
    Ok(Envelope(state.api.complete(&link, &meta).await?))
}

pub(super) async fn email_start(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<EmailStartRequest>,
) -> Result<(StatusCode, Envelope<EmailStartResponse>), ErrorResponse> {
    Ok((StatusCode::ACCEPTED, Envelope(state.api.email_start(&link, &meta, body).await?)))
}

pub(super) async fn email_verify(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<EmailVerifyRequest>,
) -> HandlerResult<EmailVerifyResponse> {
    Ok(Envelope(state.api.email_verify(&link, &meta, body).await?))
}

pub(super) async fn select_workspace(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<SelectWorkspaceRequest>,
) -> HandlerResult<WidgetWorkspace> {
    Ok(Envelope(state.api.select_workspace(&link, &meta, body).await?))
}

pub(super) async fn providers(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
) -> HandlerResult<ProvidersResponse> {
    Ok(Envelope(state.api.providers(&link, &meta).await?))
}

pub(super) async fn create_integration(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<CreateIntegrationRequest>,
) -> HandlerResult<IntegrationView> {
    Ok(Envelope(state.api.create_integration(&link, &meta, body).await?))
}

pub(super) async fn list_integrations(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
) -> HandlerResult<IntegrationsResponse> {
    Ok(Envelope(state.api.list_integrations(&link, &meta).await?))
}

/// `GET /integrations/public/list`: the provider catalogue, no authentication.
pub(super) async fn public_providers(State(state): State<AppState>) -> HandlerResult<Vec<PublicProvider>> {
    Ok(Envelope(state.api.public_providers().await?))
}
