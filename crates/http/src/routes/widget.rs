//! Widget API handlers (SPEC §6): `X-LINK-TOKEN`.

use crate::envelope::{Envelope, HandlerResult};
use crate::extract::{ApiJson, LinkHeader, Meta};
use crate::state::AppState;
use axum::extract::State;
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
