//! `GET /api/health` (liveness, documented shape) and `GET /readyz` (database reachable).

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
    description = "`200` when the database answers, `503 SERVICE_UNAVAILABLE` otherwise.",
    responses((status = 200, description = "Ready.", body = crate::openapi::Success<crate::openapi::Ready>))
)]
pub(super) async fn ready(State(state): State<AppState>) -> HandlerResult<serde_json::Value> {
    state.api.ready().await?;
    Ok(Envelope(serde_json::json!({ "status": "ready" })))
}
