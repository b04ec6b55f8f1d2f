//! The service on the in-memory store, end to end in one process: what a host that embeds
//! Kryptos Connect without a database gets. No mock: the real store contract, fast.

use crate::sync::{ChainRegistry, SyncSettings, SyncWorker};
use crate::{Embedded, NewClient, Service};
use kc_api::{
    BearerToken, ClientCredentials, ConnectApi, ConsentRequest, CreateIntegrationRequest, CreateLinkTokenRequest,
    DataApi, ErrorCode, ExchangeRequest, HoldingsQuery, LinkTokenCredential, RequestMeta, RevokeRequest, WidgetApi,
};
use kc_domain::SANDBOX_ETHEREUM_ADDRESS;
use kc_store_memory::MemoryStore;
use std::sync::Arc;

const PEPPER: &[u8] = b"memory-test-pepper-of-32-bytes!!";

async fn service_with_app() -> (Service, ClientCredentials) {
    let embedded = Embedded::builder(Arc::new(MemoryStore::new()), PEPPER.to_vec()).build().unwrap();
    let service = embedded.service().clone();
    let (client, secret) = service.register_client(NewClient::sandbox("Memory app")).await.unwrap();
    (service, ClientCredentials::new(client.id.to_string(), secret.expose().to_owned()))
}

/// A guest's public token, with the sandbox Ethereum wallet connected.
async fn public_token(service: &Service, creds: &ClientCredentials) -> String {
    let m = RequestMeta::default();
    let link = service.create_link_token(creds, &m, CreateLinkTokenRequest::default()).await.unwrap();
    let l = LinkTokenCredential::new(&link.link_token);
    service.auth_anonymous(&l, &m).await.unwrap();
    service.consent(&l, &m, ConsentRequest { approve: true }).await.unwrap();
    let wallet = CreateIntegrationRequest {
        provider: "ethereum".to_owned(),
        address: Some(SANDBOX_ETHEREUM_ADDRESS.to_owned()),
        ..Default::default()
    };
    service.create_integration(&l, &m, wallet).await.unwrap();
    service.complete(&l, &m).await.unwrap().public_token.unwrap()
}

#[tokio::test]
async fn the_whole_lifecycle_runs_on_the_memory_store() {
    let (service, creds) = service_with_app().await;
    let m = RequestMeta::default();
    let public = public_token(&service, &creds).await;
    let grant =
        service.exchange_public_token(&creds, &m, ExchangeRequest { public_token: public.clone() }).await.unwrap();
    let again = service.exchange_public_token(&creds, &m, ExchangeRequest { public_token: public }).await;
    assert_eq!(again.unwrap_err().code, ErrorCode::TokenAlreadyUsed);

    // The sync worker reads the sandbox wallet into the same store.
    let worker = SyncWorker::new(
        service.store().clone(),
        ChainRegistry::new(),
        service.ports.clock.clone(),
        SyncSettings::default(),
        "memory-w0".to_owned(),
    );
    assert!(worker.run_once().await.unwrap(), "the first sync job was claimed");
    let token = BearerToken::new(grant.access_token.clone());
    let holdings = service.holdings(&creds, &token, &m, HoldingsQuery::default()).await.unwrap();
    assert!(holdings.holdings.iter().any(|h| h.asset.symbol == "ETH"), "{:?}", holdings.holdings);

    service.revoke_grant(&creds, &m, RevokeRequest { grant_id: grant.grant_id.clone() }).await.unwrap();
    let dead = service.userinfo(&creds, &token, &m).await.unwrap_err();
    assert_eq!(dead.code, ErrorCode::InvalidToken, "revocation is immediate: {dead:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_exchanges_of_one_public_token_yield_one_grant() {
    let (service, creds) = service_with_app().await;
    let public = public_token(&service, &creds).await;
    let attempts = (0..32).map(|_| {
        let (service, creds, public) = (service.clone(), creds.clone(), public.clone());
        tokio::spawn(async move {
            service
                .exchange_public_token(&creds, &RequestMeta::default(), ExchangeRequest { public_token: public })
                .await
        })
    });
    let results = futures_join(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one exchange wins: {results:?}");
    for lost in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(lost.code, ErrorCode::TokenAlreadyUsed);
    }
}

async fn futures_join<T: Send + 'static>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
