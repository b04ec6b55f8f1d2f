//! The widget API (SPEC §6), the public provider list and health over HTTP.
//!
//! A browser normally drives the widget; implementing [`WidgetApi`] here lets tests and
//! headless tools run it end to end against a remote server.

use crate::transport::{Call, Shape};
use crate::{Client, ClientError};
use async_trait::async_trait;
use kc_api::*;
use reqwest::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_METHOD, CONTENT_SECURITY_POLICY, ORIGIN,
};
use reqwest::Method;

impl Client {
    async fn widget<T: serde::de::DeserializeOwned>(
        &self,
        call: Call<'_>,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
    ) -> ApiResult<T> {
        Ok(self.send(call.link(link).meta(meta), Shape::Envelope).await?)
    }

    /// `GET /api/health` (not enveloped).
    pub async fn health(&self) -> Result<HealthInfo, ClientError> {
        self.send(Call::get(&["api", "health"]), Shape::Bare).await
    }

    pub(crate) async fn public_providers_list(&self) -> Result<Vec<PublicProvider>, ClientError> {
        self.send(Call::get(&["integrations", "public", "list"]), Shape::Envelope).await
    }
}

#[async_trait]
impl WidgetApi for Client {
    async fn session(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<WidgetSession> {
        self.widget(Call::get(&["widget", "session"]), link, meta).await
    }

    async fn auth_anonymous(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<AnonymousAuthResponse> {
        self.widget(Call::post_empty(&["widget", "auth", "anonymous"]), link, meta).await
    }

    async fn consent(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: ConsentRequest,
    ) -> ApiResult<ConsentResponse> {
        self.widget(Call::post(&["widget", "consent"], &req)?, link, meta).await
    }

    async fn complete(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<CompleteResponse> {
        self.widget(Call::post_empty(&["widget", "complete"]), link, meta).await
    }

    async fn email_start(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: EmailStartRequest,
    ) -> ApiResult<EmailStartResponse> {
        self.widget(Call::post(&["widget", "auth", "email", "start"], &req)?, link, meta).await
    }

    async fn email_verify(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: EmailVerifyRequest,
    ) -> ApiResult<EmailVerifyResponse> {
        self.widget(Call::post(&["widget", "auth", "email", "verify"], &req)?, link, meta).await
    }

    async fn select_workspace(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: SelectWorkspaceRequest,
    ) -> ApiResult<WidgetWorkspace> {
        self.widget(Call::post(&["widget", "workspace"], &req)?, link, meta).await
    }

    async fn providers(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<ProvidersResponse> {
        self.widget(Call::get(&["widget", "providers"]), link, meta).await
    }

    async fn create_integration(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: CreateIntegrationRequest,
    ) -> ApiResult<IntegrationView> {
        self.widget(Call::post(&["widget", "integrations"], &req)?, link, meta).await
    }

    async fn list_integrations(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
    ) -> ApiResult<IntegrationsResponse> {
        self.widget(Call::get(&["widget", "integrations"]), link, meta).await
    }

    async fn delete_integration(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        wallet_id: &str,
    ) -> ApiResult<()> {
        let _: DeleteIntegrationResponse =
            self.widget(Call::delete(&["widget", "integrations", wallet_id]), link, meta).await?;
        Ok(())
    }

    /// Asked the way a browser asks: a CORS preflight of a widget route from `origin`; the
    /// origin is registered when the server allows it.
    async fn is_registered_origin(&self, origin: &str) -> ApiResult<bool> {
        let Ok(value) = HeaderValue::from_str(origin) else {
            return Ok(false);
        };
        let call = Call::other(Method::OPTIONS, &["widget", "session"])
            .header(ORIGIN, value)
            .header(ACCESS_CONTROL_REQUEST_METHOD, HeaderValue::from_static("GET"));
        let answer = self.exchange(&call).await?;
        if answer.status.is_server_error() {
            return Err(crate::transport::error_from(answer.status.as_u16(), &answer.body).into());
        }
        Ok(answer.headers.get(ACCESS_CONTROL_ALLOW_ORIGIN).and_then(|v| v.to_str().ok()) == Some(origin))
    }
}

#[async_trait]
impl ProvidersApi for Client {
    async fn public_providers(&self) -> ApiResult<Vec<PublicProvider>> {
        Ok(self.public_providers_list().await?)
    }

    /// Read from the widget page's `frame-ancestors` policy, which lists exactly the client's
    /// registered origins (besides `'self'`).
    async fn client_origins(&self, client_id: &str) -> ApiResult<Vec<String>> {
        #[derive(serde::Serialize)]
        struct Q<'a> {
            client_id: &'a str,
        }
        let call = Call::get(&["connect"]).query(&Q { client_id })?;
        let answer = self.exchange(&call).await?;
        if !answer.status.is_success() {
            return Err(crate::transport::error_from(answer.status.as_u16(), &answer.body).into());
        }
        let csp = answer.headers.get(CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default();
        Ok(frame_ancestors(csp))
    }
}

/// The origins of a `frame-ancestors` directive, without keywords such as `'self'`.
fn frame_ancestors(csp: &str) -> Vec<String> {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("frame-ancestors "))
        .map(|list| list.split_whitespace().filter(|o| !o.starts_with('\'')).map(str::to_owned).collect())
        .unwrap_or_default()
}

#[async_trait]
impl HealthApi for Client {
    /// `GET /readyz`: the readiness details when the server reaches its database.
    async fn ready(&self) -> ApiResult<kc_api::Readiness> {
        Ok(self.send(Call::get(&["readyz"]), Shape::Envelope).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::frame_ancestors;

    #[test]
    fn frame_ancestors_lists_origins_only() {
        let csp = "default-src 'self'; frame-ancestors 'self' https://a.example http://localhost:3000";
        assert_eq!(frame_ancestors(csp), vec!["https://a.example", "http://localhost:3000"]);
        assert!(frame_ancestors("default-src 'self'; frame-ancestors 'self'").is_empty());
        assert!(frame_ancestors("").is_empty());
    }
}
