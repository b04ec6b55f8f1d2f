//! The Data API (SPEC §7) over HTTP: bearer access token **and** client credentials.

use crate::transport::{Call, Shape};
use crate::{Client, ClientError};
use async_trait::async_trait;
use kc_api::*;

impl Client {
    pub(crate) async fn userinfo_as(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
    ) -> Result<UserInfoResponse, ClientError> {
        let call = Call::get(&["api", "v1", "userinfo"]).client(client).bearer(token).meta(meta);
        self.send(call, Shape::Bare).await
    }

    pub(crate) async fn integrations_as(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: &IntegrationsQuery,
    ) -> Result<IntegrationsPage, ClientError> {
        let call = Call::get(&["api", "v1", "integrations"]).query(query)?.client(client).bearer(token).meta(meta);
        self.send(call, Shape::Bare).await
    }

    pub(crate) async fn holdings_as(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: &HoldingsQuery,
    ) -> Result<HoldingsResponse, ClientError> {
        let call = Call::get(&["api", "v1", "holdings"]).query(query)?.client(client).bearer(token).meta(meta);
        self.send(call, Shape::Bare).await
    }
}

#[async_trait]
impl DataApi for Client {
    async fn userinfo(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
    ) -> ApiResult<UserInfoResponse> {
        Ok(self.userinfo_as(client, token, meta).await?)
    }

    async fn integrations(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: IntegrationsQuery,
    ) -> ApiResult<IntegrationsPage> {
        Ok(self.integrations_as(client, token, meta, &query).await?)
    }

    async fn holdings(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: HoldingsQuery,
    ) -> ApiResult<HoldingsResponse> {
        Ok(self.holdings_as(client, token, meta, &query).await?)
    }
}

impl Client {
    pub(crate) async fn transactions_as(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: &TransactionsQuery,
    ) -> Result<TransactionsResponse, ClientError> {
        let call = Call::get(&["api", "v1", "transactions"]).query(query)?.client(client).bearer(token).meta(meta);
        self.send(call, Shape::Bare).await
    }

    pub(crate) async fn cost_basis_method_as(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        body: Option<&CostBasisMethodRequest>,
    ) -> Result<CostBasisMethodResponse, ClientError> {
        let path = ["api", "v1", "settings", "cost-basis"];
        let call = match body {
            Some(b) => Call::put(&path, b)?,
            None => Call::get(&path),
        };
        self.send(call.client(client).bearer(token).meta(meta), Shape::Bare).await
    }
}

#[async_trait]
impl TransactionsApi for Client {
    async fn transactions(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: TransactionsQuery,
    ) -> ApiResult<TransactionsResponse> {
        Ok(self.transactions_as(client, token, meta, &query).await?)
    }

    async fn cost_basis_method(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
    ) -> ApiResult<CostBasisMethodResponse> {
        Ok(self.cost_basis_method_as(client, token, meta, None).await?)
    }

    async fn set_cost_basis_method(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        body: CostBasisMethodRequest,
    ) -> ApiResult<CostBasisMethodResponse> {
        Ok(self.cost_basis_method_as(client, token, meta, Some(&body)).await?)
    }
}
