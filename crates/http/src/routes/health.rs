//! `GET /api/health` (liveness, documented shape) and `GET /readyz` (database reachable, with
//! the providers that cannot sync).

use crate::envelope::{Envelope, HandlerResult};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use kc_api::HealthInfo;

#[utoipa::path(
    get,
    path = "/api/health",
    tag = "Public",
    summary = "Liveness",
    description = "Answers while the process runs (not enveloped).",
    responses((status = 200, description = "Alive.", body = HealthInfo))
)]
pub(super) async fn health(State(state): State<AppState>) -> Json<HealthInfo> {
    Json(HealthInfo {
        status: "OK".to_owned(),
        service: "kryptos-connect".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: state.options.environment.clone(),
    })
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "Public",
    summary = "Readiness",
    description = "`200` when the database answers, `503 SERVICE_UNAVAILABLE` otherwise. `providers` details the optional providers that cannot sync (not configured, or unreachable at the last sync that used them) without failing readiness; it is read from memory, never probed per request.",
    responses((status = 200, description = "Ready.", body = crate::openapi::Success<kc_api::Readiness>))
)]
pub(super) async fn ready(State(state): State<AppState>) -> HandlerResult<kc_api::Readiness> {
    Ok(Envelope(state.api.ready().await?))
}
