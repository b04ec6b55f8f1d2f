//! The Data API (SPEC §7) and the developer endpoints of the Connect API (SPEC §4).

use crate::{ApiResult, ClientCredentials, RequestMeta};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An exact decimal, sent as a JSON number with every digit (never through `f64`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = f64))]
pub struct Exact(pub String);

impl Exact {
    /// Zero.
    pub fn zero() -> Self {
        Self("0".to_owned())
    }
}

impl Serialize for Exact {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.0.clone()).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        Ok(Self(raw.get().trim_matches('"').to_owned()))
    }
}

/// The `Authorization: Bearer cat_…` of a Data API call.
#[derive(Clone)]
pub struct BearerToken(SecretString);

impl BearerToken {
    /// Wraps the raw token.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(SecretString::from(raw.into()))
    }

    /// The raw value, for the one place that checks or sends it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([REDACTED])")
    }
}

/// `userInfo` of `GET /api/v1/userinfo`, filtered by the grant's `openid`/`profile`/`email`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfo {
    /// The user id (`openid`).
    pub sub: String,
    /// Display name (`profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email (`email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email was verified (`email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Username (`profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Preferred language.
    pub language: String,
    /// Transaction import limit of a guest grant (`null` when none).
    pub transaction_limit: Option<i64>,
}

/// Body of `GET /api/v1/userinfo`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserInfoResponse {
    /// A human note.
    pub message: String,
    /// The user.
    pub user_info: UserInfo,
    /// The grant's scopes.
    pub scopes: Vec<String>,
}

/// Query of `GET /api/v1/integrations`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct IntegrationsQuery {
    /// Page number, from 1 (default 1).
    #[serde(default)]
    pub page: Option<u32>,
    /// Items per page, 1–200 (default 25).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Search over alias, address, account name, wallet id and provider name.
    #[serde(default)]
    pub searched_key: Option<String>,
}

/// Pagination of `GET /api/v1/integrations`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// This page.
    pub page: u32,
    /// Items per page.
    pub page_size: u32,
    /// Matching integrations.
    pub total_count: u64,
    /// Whether a later page exists.
    pub has_next_page: bool,
    /// Whether an earlier page exists.
    pub has_previous_page: bool,
}

/// Body of `GET /api/v1/integrations`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrationsPage {
    /// This page of integrations.
    pub data: Vec<crate::IntegrationView>,
    /// Paging.
    pub pagination: Pagination,
    /// The grant's user.
    pub user_id: String,
    /// Response time, epoch milliseconds.
    pub timestamp: i64,
}

/// Query of `GET /api/v1/holdings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct HoldingsQuery {
    /// `true` includes spam assets.
    #[serde(default)]
    pub is_spam: Option<String>,
    /// `true` asks for ledger-computed balances.
    #[serde(default)]
    pub calculated_balances: Option<String>,
}

/// An asset in a holding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HoldingAsset {
    /// Asset id.
    pub token_id: String,
    /// Ticker.
    pub symbol: String,
    /// Display name.
    pub public_name: String,
    /// Chain id.
    pub chain_id: String,
    /// Contract or mint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_address: Option<String>,
    /// Logo URL.
    pub logo_url: String,
    /// `crypto`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Category.
    pub category: String,
}

/// The account of a distribution entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HoldingAccount {
    /// Provider id.
    pub provider: String,
    /// Integration id.
    pub wallet_id: String,
}

/// How much of an asset one integration holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    /// Quantity in this wallet.
    pub quantity: Exact,
    /// The wallet.
    pub account: HoldingAccount,
    /// Share of the asset's total held here, in percent.
    pub allocation_percentage: Exact,
    /// Always `false`: balances are live.
    pub is_calculated_balance: bool,
}

/// One asset held across a workspace's integrations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Holding {
    /// The asset.
    pub asset: HoldingAsset,
    /// Total quantity.
    #[serde(rename = "totalQuantity")]
    pub total_quantity: Exact,
    /// Cost basis (0: unknown without a transaction ledger).
    pub costbasis: Exact,
    /// Price in `baseCurrency`.
    #[serde(rename = "marketPrice")]
    pub market_price: Exact,
    /// Quantity × price.
    #[serde(rename = "marketValue")]
    pub market_value: Exact,
    /// Unrealized P&L (0 when the cost basis is unknown).
    #[serde(rename = "unrealizedPnL")]
    pub unrealized_pnl: Exact,
    /// ROI % (0 when the cost basis is unknown).
    pub roi: Exact,
    /// `USD`.
    #[serde(rename = "baseCurrency")]
    pub base_currency: String,
    /// 24-hour price change, percent.
    #[serde(rename = "24hrChange")]
    pub change_24h: Exact,
    /// Links to market data.
    #[serde(rename = "marketLinks")]
    pub market_links: serde_json::Map<String, serde_json::Value>,
    /// Whether any contributing wallet holds a calculated balance.
    #[serde(rename = "hasCalculatedBalance")]
    pub has_calculated_balance: bool,
    /// Per-wallet split.
    #[serde(rename = "assetDistribution")]
    pub asset_distribution: Vec<Distribution>,
}

/// Portfolio totals.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HoldingsSummary {
    /// Total market value.
    pub total_value: Exact,
    /// Total cost basis.
    pub total_cost_basis: Exact,
    /// Total unrealized P&L.
    #[serde(rename = "totalUnrealizedPnL")]
    pub total_unrealized_pnl: Exact,
    /// ROI %.
    pub roi_percentage: Exact,
    /// Value-weighted 24-hour change, percent.
    pub total24hr_change: Exact,
}

/// Body of `GET /api/v1/holdings`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldingsResponse {
    /// Holdings, largest value first.
    pub holdings: Vec<Holding>,
    /// Totals.
    pub summary: HoldingsSummary,
    /// The grant's user.
    pub user_id: String,
    /// Response time, epoch milliseconds.
    pub timestamp: i64,
}

/// The Data API: a bearer access token **and** the owning client's credentials.
///
/// Errors: `INVALID_CLIENT`/`INVALID_TOKEN` (HTTP `unauthorized`) for bad credentials or a
/// revoked, expired, unknown or foreign token; `INSUFFICIENT_PERMISSIONS` (`forbidden`) when
/// the grant lacks the scope; `INVALID_REQUEST` (`invalid_parameters`) for bad query values.
#[async_trait]
pub trait DataApi: Send + Sync {
    /// The grant's user (`users:read`).
    async fn userinfo(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
    ) -> ApiResult<UserInfoResponse>;

    /// The workspace's integrations (`integrations:read`).
    async fn integrations(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: IntegrationsQuery,
    ) -> ApiResult<IntegrationsPage>;

    /// The workspace's holdings (`portfolios:read`).
    async fn holdings(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: HoldingsQuery,
    ) -> ApiResult<HoldingsResponse>;
}

/// Body of `POST /developer/integrations/{walletId}/resync`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResyncRequest {
    /// The integration's owner.
    pub user_id: String,
    /// `latest` or `from_start`.
    pub mode: String,
}

/// `data` of a resync (HTTP 202).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResyncResponse {
    /// The mode queued.
    pub mode: String,
    /// `exchange` or `blockchain`.
    pub integration_type: String,
    /// The integration.
    pub wallet_id: String,
    /// `queued`.
    pub status: String,
}

/// Body of `PATCH /developer/grants/{grantId}/transaction-limit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransactionLimitRequest {
    /// New limit (a non-negative integer).
    #[serde(default)]
    pub transaction_limit: Option<i64>,
    /// Turn the limiter on or off.
    #[serde(default)]
    pub enable_limiter: Option<bool>,
}

/// `data` of a transaction-limit update.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransactionLimitResponse {
    /// The grant.
    pub grant_id: String,
    /// Its (guest) user.
    pub user_id: String,
    /// The limit now in force.
    pub transaction_limit: Option<i64>,
    /// Whether the limiter is on.
    pub enable_limiter: bool,
}

/// Developer endpoints of the Connect API (client credentials).
#[async_trait]
pub trait DeveloperApi: Send + Sync {
    /// Queues a re-sync of one of this client's users' integrations. `INVALID_REQUEST` for a bad
    /// mode; `WORKSPACE_NOT_FOUND` when the wallet is not in a workspace this client has a grant for.
    async fn resync(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        wallet_id: &str,
        req: ResyncRequest,
    ) -> ApiResult<ResyncResponse>;

    /// Sets a guest grant's transaction limit. `INVALID_GRANT` for unknown or foreign grants;
    /// `NOT_ANON_USER` when the grant's user is not a guest; `INVALID_REQUEST` when neither field is given.
    async fn set_transaction_limit(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        grant_id: &str,
        req: TransactionLimitRequest,
    ) -> ApiResult<TransactionLimitResponse>;
}
