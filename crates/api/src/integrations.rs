//! Providers and integrations: the public provider list and the integration object shared
//! by the widget and the Data API.

use serde::{Deserialize, Serialize};

/// A function a provider supports, e.g. `getBalance`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProviderFunction {
    /// Internal name.
    pub name: String,
    /// Display name.
    pub public_name: String,
}

/// One provider of `GET /integrations/public/list` (documented shape).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicProvider {
    /// Provider id, e.g. `ethereum`, `binance`.
    pub id: String,
    /// Internal name.
    pub name: String,
    /// Display name.
    #[serde(rename = "publicName")]
    pub public_name: String,
    /// Logo URL.
    #[serde(default)]
    pub logo: String,
    /// `wallet` or `exchange`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Address or API-key connection supported.
    #[serde(rename = "isAPI")]
    pub is_api: bool,
    /// CSV import supported.
    #[serde(rename = "isCSV")]
    pub is_csv: bool,
    /// OAuth supported.
    #[serde(rename = "isOAuth")]
    pub is_oauth: bool,
    /// EVM-compatible chain.
    #[serde(rename = "isEVM")]
    pub is_evm: bool,
    /// Currently operational.
    #[serde(rename = "isWorking")]
    pub is_working: bool,
    /// DeBank community id (EVM chains).
    #[serde(rename = "communityId", default, skip_serializing_if = "Option::is_none")]
    pub community_id: Option<i64>,
    /// How to connect it.
    #[serde(rename = "importGuide")]
    pub import_guide: String,
    /// Supported functions.
    pub functions: Vec<ProviderFunction>,
    /// Extra metadata, e.g. `{"apiKeyRequired": true}`.
    #[serde(rename = "integrationInfo")]
    pub integration_info: serde_json::Value,
    /// Limitations, or `null`.
    #[serde(rename = "walletLimitations")]
    pub wallet_limitations: serde_json::Value,
}

/// A form field the widget shows for a provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderField {
    /// `address`, `apiKey`, `secretKey`, `password`, `accountName` or `alias`.
    pub name: String,
    /// Label shown to the user.
    pub label: String,
    /// Whether to mask the input.
    pub secret: bool,
    /// Whether it must be filled.
    pub required: bool,
}

/// A provider as the widget needs it: the public object plus its form.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WidgetProvider {
    /// The public provider object.
    #[serde(flatten)]
    pub provider: PublicProvider,
    /// Chain family of wallets: `evm`, `solana`, `bitcoin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// Brand colour, for the generated logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// The connection form.
    pub fields: Vec<ProviderField>,
}

/// `data` of `GET /widget/providers`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProvidersResponse {
    /// Providers this client's users may connect (sandbox: ethereum and solana).
    pub providers: Vec<WidgetProvider>,
}

/// Body of `POST /widget/integrations`.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateIntegrationRequest {
    /// Provider id.
    pub provider: String,
    /// Wallet address.
    #[serde(default)]
    pub address: Option<String>,
    /// Exchange API key.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Exchange API secret.
    #[serde(default)]
    pub secret_key: Option<String>,
    /// Exchange API passphrase.
    #[serde(default)]
    pub password: Option<String>,
    /// Exchange account name.
    #[serde(default)]
    pub account_name: Option<String>,
    /// The user's name for it.
    #[serde(default)]
    pub alias: Option<String>,
}

/// An integration: the Data API's documented object, plus `syncStatus`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IntegrationView {
    /// Provider id.
    pub provider: String,
    /// Provider display name.
    pub provider_public_name: String,
    /// Wallet address (wallets only).
    pub public_address: Option<String>,
    /// The integration's id.
    pub wallet_id: String,
    /// Provider logo URL.
    pub logo_url: String,
    /// Whether the address is a contract.
    pub is_contract: bool,
    /// The user's name for it.
    pub alias: Option<String>,
    /// `active` (never synced), `ONGOING`, `COMPLETED`, `PARTIALLY SYNCED` (the workspace's
    /// transaction import cap stopped the history) or `FAILED`.
    pub status: String,
    /// Why the last sync failed, or the limit-exceeded message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `true` when the last sync stopped at the user's transaction limit; never `false` (absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_exceeded: Option<bool>,
    /// A caution for the user about the connection (an exchange API key that can also trade
    /// or withdraw: read-only keys are enough). Absent when there is nothing to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Per-stage status, e.g. `{"Balances": "COMPLETED"}`; absent until a sync has run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_log: Option<serde_json::Map<String, serde_json::Value>>,
    /// Per-stage detail `{status, count?, message?, cause?, retryAt?}` (`cause`: the technical
    /// reason of a failure; `retryAt`: when a failed history read is tried again); emitted
    /// together with `lastSyncLog`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_log_details: Option<serde_json::Map<String, serde_json::Value>>,
    /// Added, epoch milliseconds.
    pub added_on: i64,
    /// Last successful sync, epoch milliseconds.
    pub last_synced_at: Option<i64>,
    /// `exchange` or `blockchain`.
    pub category: String,
    /// `api` or `csv`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Transactions imported.
    pub total_transactions: i64,
    /// `queued`, `syncing`, `synced` or `failed` (ours; absent from the documented shape).
    #[serde(default)]
    pub sync_status: String,
    /// Whether the user proved ownership of the address by signing a sign-in message with the
    /// wallet (ours). `false` for a pasted address and for exchanges.
    #[serde(default)]
    pub is_verified: bool,
    /// When ownership was proved, epoch milliseconds; `null` unless `isVerified` (ours).
    #[serde(default)]
    pub verified_at: Option<i64>,
}

/// `data` of `GET /widget/integrations`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrationsResponse {
    /// The session workspace's integrations, oldest first.
    pub integrations: Vec<IntegrationView>,
}

impl std::fmt::Debug for CreateIntegrationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateIntegrationRequest")
            .field("provider", &self.provider)
            .field("address", &self.address)
            .field("account_name", &self.account_name)
            .field("alias", &self.alias)
            .field("api_key", &"[REDACTED]")
            .field("secret_key", &"[REDACTED]")
            .field("password", &"[REDACTED]")
            .finish()
    }
}
