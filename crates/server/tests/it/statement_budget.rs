//! Statement budgets of the hot paths: every SQL statement the store sends is counted
//! (`SeaStore::observe_statements`: sea-orm's metric callback and SQLite's direct path), and each
//! endpoint must stay within its budget — check-session 1, userinfo 1, holdings 1, link-token 2
//! on PostgreSQL (3 on SQLite), exchange 3 on PostgreSQL (the client, the token with the webhook
//! endpoints, then all the writes as one statement inside a `BEGIN`/`COMMIT`, which the callback
//! does not count), transactions 5 for a first page of 100 with its `totalCount` (the grant, the
//! count from `ledger_states`, the page, its legs, the wallets' labels) and 3 for an empty page
//! (no labels to read). A test here fails when someone adds a query to a hot path.

use crate::helpers::{fresh_database, Db};
use kc_api::*;
use kc_service::{NewClient, Ports, Service};
use kc_store::{DatabaseSettings, SeaStore};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A service on a fresh database whose store counts (and remembers) the statements it sends.
struct Counted {
    service: Service,
    store: SeaStore,
    count: Arc<AtomicUsize>,
    sql: Arc<Mutex<Vec<String>>>,
}

impl Counted {
    async fn new(db: Db) -> Self {
        let (url, _dir) = fresh_database(db).await;
        // The server's own store and pool settings: on a SQLite file that includes the direct
        // path (rusqlite readers and the group-commit writer), whose statements count too.
        let mut store = SeaStore::connect(&DatabaseSettings::new(url)).await.expect("database reachable");
        let count = Arc::new(AtomicUsize::new(0));
        let sql = Arc::new(Mutex::new(Vec::new()));
        let (c, s) = (count.clone(), sql.clone());
        store.observe_statements(Arc::new(move |statement: &str| {
            c.fetch_add(1, Ordering::SeqCst);
            s.lock().expect("sql log").push(statement.to_owned());
        }));
        store.migrate().await.expect("migrated");
        let hot: Arc<dyn kc_store::HotPathStore> = Arc::new(store.clone());
        let ledger: Arc<dyn kc_store::LedgerStore> = Arc::new(store.clone());
        let mut ports = Ports::system(Arc::new(store.clone()), b"statement-budget-pepper-32-bytes!".to_vec());
        ports.hot = hot;
        ports.ledger = Some(ledger);
        Self { service: Service::new(ports), store, count, sql }
    }

    /// Runs `f` and returns how many statements it sent, with their text.
    async fn measure<T>(&self, f: impl std::future::Future<Output = T>) -> (T, usize, Vec<String>) {
        self.sql.lock().expect("sql log").clear();
        let before = self.count.load(Ordering::SeqCst);
        let out = f.await;
        let n = self.count.load(Ordering::SeqCst) - before;
        (out, n, self.sql.lock().expect("sql log").clone())
    }
}

/// A client, a guest's public token and a live access token of it, and the guest's wallet.
async fn connected(svc: &Service) -> (ClientCredentials, String, String) {
    let (client, secret) = svc.register_client(NewClient::sandbox("Budget")).await.expect("client");
    let creds = ClientCredentials::new(client.id.to_string(), secret.expose());
    let (public, wallet) = public_token(svc, &creds).await;
    let meta = RequestMeta::default();
    let exchanged =
        svc.exchange_public_token(&creds, &meta, ExchangeRequest { public_token: public }).await.expect("exchange");
    (creds, exchanged.access_token, wallet)
}

/// Gives wallet `wallet` a ledger of `n` transactions (a receipt, or a send with its fee: one
/// leg or two), as a sync stores them.
/// Stores `n` transactions in `wallet`'s ledger (not processed) and returns its workspace.
async fn seed_ledger(store: &SeaStore, wallet: &str, n: usize) -> kc_domain::WorkspaceId {
    use kc_ports::{ChainPosition, LedgerAsset, LedgerLegRecord, NewLedgerTx};
    use kc_store::{IntegrationStore, LedgerStore};
    let ws = store.find_integration(wallet).await.expect("read").expect("the wallet").workspace_id;
    let eth = LedgerAsset {
        token_id: "ethereum".into(),
        symbol: "ETH".into(),
        public_name: "Ethereum".into(),
        chain_id: "ethereum".into(),
        contract_address: None,
        asset_type: "crypto".into(),
        decimals: 18,
    };
    let leg = |index, direction: &str, quantity: &str| LedgerLegRecord {
        index,
        direction: direction.into(),
        asset: eth.clone(),
        quantity: quantity.into(),
        price: Some("3000".into()),
        from: None,
        to: None,
        cost_basis: None,
        gain: None,
    };
    let start = time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_700_000_000);
    let txs: Vec<NewLedgerTx> = (0..n)
        .map(|i| {
            let platform = format!("0x{i:064x}");
            NewLedgerTx {
                id: kc_service::ledger::transaction_id(wallet, &platform),
                raw: format!(r#"{{"hash":"{platform}"}}"#),
                platform_tx_id: platform,
                chain_id: "ethereum".into(),
                timestamp: start + time::Duration::minutes(i as i64),
                position: ChainPosition::new(1_000 + i as u64, 0),
                failed: false,
                source_label: None,
                is_nft: false,
                import_source: "API".into(),
                legs: if i % 2 == 0 {
                    vec![leg(0, "incoming", "1")]
                } else {
                    vec![leg(0, "outgoing", "0.5"), leg(1, "fee", "0.001")]
                },
            }
        })
        .collect();
    let now = time::OffsetDateTime::now_utc();
    store.add_ledger_page(&ws, wallet, &txs, Some("block:1"), now).await.expect("ledger stored");
    ws
}

async fn public_token(svc: &Service, creds: &ClientCredentials) -> (String, String) {
    let meta = RequestMeta::default();
    let link = svc.create_link_token(creds, &meta, CreateLinkTokenRequest::default()).await.expect("link token");
    let link = LinkTokenCredential::new(link.link_token);
    svc.auth_anonymous(&link, &meta).await.expect("guest");
    svc.consent(&link, &meta, ConsentRequest { approve: true }).await.expect("consent");
    // A wallet, so that holdings reads a workspace with an integration (its budget must not
    // grow with the number of integrations).
    let wallet = CreateIntegrationRequest {
        provider: "ethereum".into(),
        address: Some(crate::data_api::SANDBOX_ETH.into()),
        ..Default::default()
    };
    let wallet = svc.create_integration(&link, &meta, wallet).await.expect("wallet").wallet_id;
    (svc.complete(&link, &meta).await.expect("complete").public_token.expect("a public token"), wallet)
}

async fn budgets_hold(db: Db) {
    let c = Counted::new(db).await;
    let svc = &c.service;
    let (creds, access, wallet) = connected(svc).await;
    let meta = RequestMeta::default();

    let req = CheckSessionRequest { access_token: access.clone() };
    let (res, n, sql) = c.measure(svc.check_session(&creds, &meta, req)).await;
    assert!(res.expect("check-session").has_valid_session, "live session");
    assert_eq!(n, 1, "check-session on {db:?} sends one statement: {sql:#?}");

    let bearer = BearerToken::new(access.clone());
    let (res, n, sql) = c.measure(svc.userinfo(&creds, &bearer, &meta)).await;
    res.expect("userinfo");
    assert_eq!(n, 1, "userinfo on {db:?} sends one statement: {sql:#?}");

    let (res, n, sql) = c.measure(svc.holdings(&creds, &bearer, &meta, HoldingsQuery::default())).await;
    res.expect("holdings");
    assert_eq!(n, 1, "holdings on {db:?} sends one statement (positions and balances with the grant): {sql:#?}");

    // Transactions, the first page (100 newest, with totalCount): empty, then of a ledger that
    // fills it. Neither grows with the page's rows or the ledger's size.
    let page = || svc.transactions(&creds, &bearer, &meta, TransactionsQuery::default());
    let (res, n, sql) = c.measure(page()).await;
    assert_eq!(res.expect("transactions").pagination.total_count, 0, "no ledger yet");
    assert_eq!(n, 2, "an empty transactions page on {db:?} sends 2 statements (grant, count): {sql:#?}");
    let ws = seed_ledger(&c.store, &wallet, 150).await;
    let (res, n, sql) = c.measure(page()).await;
    let res = res.expect("transactions");
    assert_eq!((res.data.len(), res.pagination.total_count, res.pagination.has_next_page), (100, 150, true));
    assert_eq!(
        n, 5,
        "the first transactions page on {db:?} sends 5 statements (grant, count, page, legs, wallets): {sql:#?}"
    );
    // Once processed, a page by offset is a range of ranks: as many statements, and the page
    // statement reads the rank's index instead of stepping over the rows before it.
    kc_store::LedgerStore::save_ledger_outcome(&c.store, &ws, &[], &[]).await.expect("processed");
    let deep = TransactionsQuery { offset: Some("100".into()), ..Default::default() };
    let (res, n, sql) = c.measure(svc.transactions(&creds, &bearer, &meta, deep)).await;
    let res = res.expect("transactions");
    assert_eq!((res.data.len(), res.pagination.has_next_page), (50, false), "the last page");
    assert_eq!(n, 5, "a deep transactions page on {db:?} sends 5 statements too: {sql:#?}");
    assert!(
        sql.iter().any(|s| s.contains(r#""ordinal" >="#) && !s.contains("OFFSET")),
        "a deep page on {db:?} reads by rank, without OFFSET: {sql:#?}"
    );

    // Link token: the client, then the session and its audit event (one statement on
    // PostgreSQL, two in one group commit on SQLite).
    let (res, n, sql) = c.measure(svc.create_link_token(&creds, &meta, CreateLinkTokenRequest::default())).await;
    res.expect("link token");
    let budget = if db == Db::Postgres { 2 } else { 3 };
    assert!(n <= budget, "link-token on {db:?} sends at most {budget} statements, not {n}: {sql:#?}");

    let (public, _) = public_token(svc, &creds).await;
    let req = ExchangeRequest { public_token: public.clone() };
    let (res, n, sql) = c.measure(svc.exchange_public_token(&creds, &meta, req)).await;
    res.expect("exchange");
    // PostgreSQL: 3 statements (client, token + endpoints, the writes as one statement). SQLite
    // is in-process: its writes are separate statements in one transaction (claim, grant,
    // token, audit; a delivery per endpoint), so its budget is 6 with no endpoint.
    let budget = if db == Db::Postgres { 3 } else { 6 };
    assert!(n <= budget, "exchange on {db:?} sends at most {budget} statements, not {n}: {sql:#?}");
    if db == Db::Postgres {
        assert!(
            sql.iter().any(|s| s.starts_with("WITH ") && s.contains("INSERT INTO \"audit_events\"")),
            "on PostgreSQL the exchange's writes, audit included, are one statement: {sql:#?}"
        );
    }

    // The second use is still refused (and costs no more than the first).
    let req = ExchangeRequest { public_token: public };
    let (res, n, _) = c.measure(svc.exchange_public_token(&creds, &meta, req)).await;
    assert_eq!(res.map(|_| ()).map_err(|e| e.code), Err(ErrorCode::TokenAlreadyUsed), "replay refused");
    assert!(n <= 3, "a refused exchange on {db:?} stays within budget (audit included), not {n}");

    // Revocation takes effect on the next read (nothing is cached).
    let grants = svc.list_grants(&creds, &meta, ListGrantsQuery::default()).await.expect("grants");
    for g in grants.grants {
        svc.revoke_grant(&creds, &meta, RevokeRequest { grant_id: g.grant_id }).await.expect("revoked");
    }
    let req = CheckSessionRequest { access_token: access };
    let res = svc.check_session(&creds, &meta, req).await.expect("check-session");
    assert!(!res.has_valid_session, "a revoked grant is dead on the next request");
}

#[tokio::test]
async fn hot_paths_stay_within_their_statement_budgets_on_sqlite() {
    budgets_hold(Db::Sqlite).await;
}

#[tokio::test]
async fn hot_paths_stay_within_their_statement_budgets_on_postgres() {
    budgets_hold(Db::Postgres).await;
}
