//! The Connect API (SPEC §4) and the developer endpoints over HTTP, and [`ConnectClient`]: a
//! [`Client`] bound to one app's credentials.

use crate::transport::{Call, Shape};
use crate::{Client, ClientError};
use async_trait::async_trait;
use kc_api::*;

impl Client {
    pub(crate) async fn link_token_as(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: &CreateLinkTokenRequest,
    ) -> Result<CreateLinkTokenResponse, ClientError> {
        let call = Call::post(&["link-token"], req)?.client(client).meta(meta);
        self.send(call, Shape::Envelope).await
    }

    pub(crate) async fn check_session_as(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: &CheckSessionRequest,
    ) -> Result<CheckSessionResponse, ClientError> {
        // Reads only: safe to repeat.
        let call = Call::post(&["link-token", "check-session"], req)?.safe().client(client).meta(meta);
        self.send(call, Shape::Envelope).await
    }

    pub(crate) async fn exchange_as(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: &ExchangeRequest,
    ) -> Result<ExchangeResponse, ClientError> {
        // Never repeated once sent: a public token is exchanged at most once.
        let call = Call::post(&["token", "exchange"], req)?.client(client).meta(meta);
        self.send(call, Shape::Envelope).await
    }

    pub(crate) async fn revoke_as(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: &RevokeRequest,
    ) -> Result<(), ClientError> {
        let call = Call::post(&["token", "revoke"], req)?.client(client).meta(meta);
        self.send(call, Shape::Ack).await
    }

    pub(crate) async fn grants_as(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        query: &ListGrantsQuery,
    ) -> Result<GrantsPage, ClientError> {
        let call = Call::get(&["token", "grants"]).query(query)?.client(client).meta(meta);
        self.send(call, Shape::Envelope).await
    }

    pub(crate) async fn resync_as(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        wallet_id: &str,
        req: &ResyncRequest,
    ) -> Result<ResyncResponse, ClientError> {
        let call = Call::post(&["developer", "integrations", wallet_id, "resync"], req)?.client(client).meta(meta);
        self.send(call, Shape::Envelope).await
    }

    pub(crate) async fn transaction_limit_as(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        grant_id: &str,
        req: &TransactionLimitRequest,
    ) -> Result<TransactionLimitResponse, ClientError> {
        let call = Call::patch(&["developer", "grants", grant_id, "transaction-limit"], req)?.client(client).meta(meta);
        self.send(call, Shape::Envelope).await
    }
}

#[async_trait]
impl ConnectApi for Client {
    async fn create_link_token(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: CreateLinkTokenRequest,
    ) -> ApiResult<CreateLinkTokenResponse> {
        Ok(self.link_token_as(client, meta, &req).await?)
    }

    async fn check_session(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: CheckSessionRequest,
    ) -> ApiResult<CheckSessionResponse> {
        Ok(self.check_session_as(client, meta, &req).await?)
    }

    async fn exchange_public_token(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: ExchangeRequest,
    ) -> ApiResult<ExchangeResponse> {
        Ok(self.exchange_as(client, meta, &req).await?)
    }

    async fn revoke_grant(&self, client: &ClientCredentials, meta: &RequestMeta, req: RevokeRequest) -> ApiResult<()> {
        Ok(self.revoke_as(client, meta, &req).await?)
    }

    async fn list_grants(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        query: ListGrantsQuery,
    ) -> ApiResult<GrantsPage> {
        Ok(self.grants_as(client, meta, &query).await?)
    }
}

#[async_trait]
impl DeveloperApi for Client {
    async fn resync(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        wallet_id: &str,
        req: ResyncRequest,
    ) -> ApiResult<ResyncResponse> {
        Ok(self.resync_as(client, meta, wallet_id, &req).await?)
    }

    async fn set_transaction_limit(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        grant_id: &str,
        req: TransactionLimitRequest,
    ) -> ApiResult<TransactionLimitResponse> {
        Ok(self.transaction_limit_as(client, meta, grant_id, &req).await?)
    }
}

/// What a token exchange yields: keep `access_token` secret and `grant_id` to revoke later.
///
/// Its `Debug` output shows no token.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    /// The long-lived (15 years) `cat_…` bearer token for the Data API.
    pub access_token: BearerToken,
    /// The grant the token belongs to.
    pub grant_id: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the token lives: 473040000.
    pub expires_in: i64,
    /// Space-separated approved scopes.
    pub scope: String,
    /// The workspace the user shared.
    pub workspace_id: String,
}

impl From<ExchangeResponse> for AccessGrant {
    fn from(r: ExchangeResponse) -> Self {
        Self {
            access_token: BearerToken::new(r.access_token),
            grant_id: r.grant_id,
            token_type: r.token_type,
            expires_in: r.expires_in,
            scope: r.scope,
            workspace_id: r.workspace_id,
        }
    }
}

/// A [`Client`] bound to one app's client credentials: the Connect API, the developer endpoints
/// and the Data API as a client backend calls them.
///
/// Calls that change state (link token, exchange, revoke, resync, transaction limit) are never
/// repeated once sent; reads and check-session are retried on connection errors and 502/503/504
/// (see [`crate::RetryPolicy`]). Its `Debug` output shows the client id, never the secret.
#[derive(Debug, Clone)]
pub struct ConnectClient {
    client: Client,
    credentials: ClientCredentials,
    meta: RequestMeta,
}

impl ConnectClient {
    /// `client` with `credentials`.
    pub fn new(client: Client, credentials: ClientCredentials) -> Self {
        Self { client, credentials, meta: RequestMeta::default() }
    }

    /// The underlying transport.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client id these calls are made as.
    pub fn client_id(&self) -> &str {
        &self.credentials.client_id
    }

    /// `POST /link-token`. Pass a returning user's `access_token` in `req` to skip the widget's
    /// sign-in. Fails with `INVALID_SCOPE` for an unknown or not-allowed scope and `INVALID_TOKEN`
    /// (HTTP 401) when the access token is revoked, unknown or another client's.
    pub async fn create_link_token(&self, req: CreateLinkTokenRequest) -> Result<CreateLinkTokenResponse, ClientError> {
        self.client.link_token_as(&self.credentials, &self.meta, &req).await
    }

    /// `POST /link-token/check-session`: whether `access_token` still names a live grant. A bad
    /// token is an answer (`has_valid_session: false` with a `reason`), not an error.
    pub async fn check_session(&self, access_token: &BearerToken) -> Result<CheckSessionResponse, ClientError> {
        let req = CheckSessionRequest { access_token: access_token.expose().to_owned() };
        self.client.check_session_as(&self.credentials, &self.meta, &req).await
    }

    /// `POST /token/exchange`: trades the widget's one-time public token for an access token.
    /// Sent at most once. `TOKEN_ALREADY_USED`, `TOKEN_EXPIRED` or `INVALID_TOKEN` (HTTP 400).
    pub async fn exchange_public_token(&self, public_token: &str) -> Result<AccessGrant, ClientError> {
        let req = ExchangeRequest { public_token: public_token.to_owned() };
        self.client.exchange_as(&self.credentials, &self.meta, &req).await.map(AccessGrant::from)
    }

    /// `POST /token/revoke`: kills the grant and every token of it. Revoking twice is fine;
    /// `INVALID_GRANT` for an unknown or another client's grant.
    pub async fn revoke_grant(&self, grant_id: &str) -> Result<(), ClientError> {
        let req = RevokeRequest { grant_id: grant_id.to_owned() };
        self.client.revoke_as(&self.credentials, &self.meta, &req).await
    }

    /// `GET /token/grants`: one page of this client's active grants.
    pub async fn list_grants(&self, query: ListGrantsQuery) -> Result<GrantsPage, ClientError> {
        self.client.grants_as(&self.credentials, &self.meta, &query).await
    }

    /// `GET /api/v1/userinfo` (`users:read`).
    pub async fn userinfo(&self, access_token: &BearerToken) -> Result<UserInfoResponse, ClientError> {
        self.client.userinfo_as(&self.credentials, access_token, &self.meta).await
    }

    /// `GET /api/v1/integrations` (`integrations:read`).
    pub async fn integrations(
        &self,
        access_token: &BearerToken,
        query: IntegrationsQuery,
    ) -> Result<IntegrationsPage, ClientError> {
        self.client.integrations_as(&self.credentials, access_token, &self.meta, &query).await
    }

    /// `GET /api/v1/holdings` (`portfolios:read`).
    pub async fn holdings(
        &self,
        access_token: &BearerToken,
        query: HoldingsQuery,
    ) -> Result<HoldingsResponse, ClientError> {
        self.client.holdings_as(&self.credentials, access_token, &self.meta, &query).await
    }

    /// `GET /api/v1/transactions` (`transactions:read`): the ledger, filtered and paged.
    pub async fn transactions(
        &self,
        access_token: &BearerToken,
        query: TransactionsQuery,
    ) -> Result<TransactionsResponse, ClientError> {
        self.client.transactions_as(&self.credentials, access_token, &self.meta, &query).await
    }

    /// `POST /developer/integrations/{walletId}/resync`.
    pub async fn resync(&self, wallet_id: &str, req: ResyncRequest) -> Result<ResyncResponse, ClientError> {
        self.client.resync_as(&self.credentials, &self.meta, wallet_id, &req).await
    }

    /// `PATCH /developer/grants/{grantId}/transaction-limit` (guest users only).
    pub async fn set_transaction_limit(
        &self,
        grant_id: &str,
        req: TransactionLimitRequest,
    ) -> Result<TransactionLimitResponse, ClientError> {
        self.client.transaction_limit_as(&self.credentials, &self.meta, grant_id, &req).await
    }

    /// `GET /integrations/public/list` (no credentials needed).
    pub async fn public_providers(&self) -> Result<Vec<PublicProvider>, ClientError> {
        self.client.public_providers_list().await
    }
}
