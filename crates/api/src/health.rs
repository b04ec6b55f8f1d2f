//! Liveness and readiness.

use crate::ApiResult;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Body of `GET /api/health` (not enveloped, as documented).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthInfo {
    /// Always `OK` when the process answers.
    pub status: String,
    /// Service name.
    pub service: String,
    /// Server version.
    pub version: String,
    /// `production` or `development`.
    pub environment: String,
}

/// `data` of `GET /readyz`: the server is ready (its database answers); `providers` says
/// which optional providers cannot sync, and why, without failing readiness.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// `ready`.
    #[cfg_attr(feature = "openapi", schema(example = "ready"))]
    pub status: String,
    /// Each catalogue provider that is not configured on this server, and each configured
    /// provider whose last use by a sync told something about it, by id.
    pub providers: Vec<ProviderReadiness>,
}

/// What this server knows about one provider, from its configuration and from the last
/// sync that used it (never from a network call made for `/readyz`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProviderReadiness {
    /// The provider id (`binance`, `ethereum`).
    pub provider: String,
    /// `ok` (the last sync reached it), `unavailable` (the last sync could not reach it: RPC
    /// down, exchange unreachable or under maintenance), `sandbox_only` or `not_configured`.
    #[cfg_attr(feature = "openapi", schema(example = "unavailable"))]
    pub status: String,
    /// Why it is not `ok` (the technical cause, for the operator); `null` when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the last sync used it (ms since the epoch); `null` for configuration statuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<i64>,
}

/// Readiness of the backing services.
#[async_trait]
pub trait HealthApi: Send + Sync {
    /// The readiness details when storage answers; `SERVICE_UNAVAILABLE` otherwise. Optional
    /// providers never make the server unready.
    async fn ready(&self) -> ApiResult<Readiness>;
}
