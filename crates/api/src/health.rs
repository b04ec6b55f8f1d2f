//! Liveness and readiness.

use crate::ApiResult;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Body of `GET /api/health` (not enveloped, as documented).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
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

/// Readiness of the backing services.
#[async_trait]
pub trait HealthApi: Send + Sync {
    /// `Ok` when storage answers; `SERVICE_UNAVAILABLE` otherwise.
    async fn ready(&self) -> ApiResult<()>;
}
