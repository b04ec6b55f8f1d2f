//! Fixtures of the core checks: rows built with fresh random ids (so checks never collide),
//! times at whole seconds from a fixed instant (every adapter keeps milliseconds).

use kc_domain::{
    ClientId, ClientMode, ClientRecord, GrantId, GrantRecord, LinkSession, OsSecretRng, PlainToken, ScopeSet, Sealed,
    SyncStatus, TokenDigest, TokenKind, UserId, WebhookEvent, WorkspaceId,
};
use kc_ports::store::{
    ClaimedDelivery, ExchangeOutcome, IntegrationRecord, IssueGrant, NewGuest, NewLinkSession, NewPublicToken,
    SnapshotRow, Store, StoreResult, WebhookDeliveryRecord, WebhookEndpointRecord,
};
use std::sync::atomic::{AtomicU64, Ordering};
use time::{Duration, OffsetDateTime};

/// A fixed instant with whole seconds: every check's clock starts here.
pub(crate) fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `t0() + seconds`.
pub(crate) fn at(seconds: i64) -> OffsetDateTime {
    t0() + Duration::seconds(seconds)
}

/// The value of a store call that must succeed.
#[track_caller]
pub(crate) fn must<T>(r: StoreResult<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected store error: {e}"),
    }
}

/// A short unique tag (ids, names).
pub(crate) fn tag() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{n}{}", &PlainToken::generate(TokenKind::Link, &OsSecretRng).digest().as_str()[..10])
}

/// A fresh token digest of `kind`.
pub(crate) fn digest(kind: TokenKind) -> TokenDigest {
    PlainToken::generate(kind, &OsSecretRng).digest()
}

/// The scopes sessions ask for.
pub(crate) fn scopes(s: &str) -> ScopeSet {
    ScopeSet::from_stored(s)
}

/// An enabled client (not stored).
pub(crate) fn new_client() -> ClientRecord {
    let t = tag();
    ClientRecord {
        id: ClientId::generate(&OsSecretRng),
        name: format!("client {t}"),
        mode: ClientMode::Sandbox,
        allowed_scopes: ScopeSet::default_client(),
        allowed_origins: vec![format!("https://{t}.example")],
        redirect_uris: vec![format!("https://{t}.example/back")],
        logo_url: None,
        secret_digest: format!("secret-digest-{t}"),
        disabled: false,
    }
}

/// Registers an enabled client at `t0`.
pub(crate) async fn client<S: Store + ?Sized>(s: &S) -> ClientRecord {
    let c = new_client();
    must(s.insert_client(&c, t0()).await, "insert_client");
    c
}

/// A new link session of `client`, created at `t0`, living an hour.
pub(crate) fn new_session(client: &ClientId, scope: &str) -> NewLinkSession {
    NewLinkSession {
        digest: digest(TokenKind::Link),
        client_id: client.clone(),
        scopes: scopes(scope),
        created_at: t0(),
        expires_at: at(3600),
        resumed: None,
        integration_name: None,
        prefill_json: None,
    }
}

/// Stores a link session and reads it back: the session and its token's digest.
pub(crate) async fn session<S: Store + ?Sized>(s: &S, client: &ClientId, scope: &str) -> (LinkSession, TokenDigest) {
    let n = new_session(client, scope);
    must(s.insert_link_session(&n).await, "insert_link_session");
    (reread(s, &n.digest).await, n.digest)
}

/// The session of link-token digest `digest`, as it now is.
pub(crate) async fn reread<S: Store + ?Sized>(s: &S, digest: &TokenDigest) -> LinkSession {
    must(s.find_link_session(digest).await, "find_link_session")
        .unwrap_or_else(|| panic!("find_link_session: a stored session is not found"))
}

/// A new guest (not stored).
pub(crate) fn new_guest() -> NewGuest {
    NewGuest {
        user_id: UserId::generate(&OsSecretRng),
        workspace_id: WorkspaceId::generate(&OsSecretRng),
        workspace_name: format!("workspace {}", tag()),
        created_at: t0(),
    }
}

/// A session of `client` with a new guest signed in.
pub(crate) struct Signed {
    /// The session (as read before the guest).
    pub(crate) session: LinkSession,
    /// Its link token's digest.
    pub(crate) digest: TokenDigest,
    /// The guest.
    pub(crate) user: UserId,
    /// The guest's workspace.
    pub(crate) workspace: WorkspaceId,
}

/// Opens a session of `client` and signs a new guest in on it.
pub(crate) async fn signed_in<S: Store + ?Sized>(s: &S, client: &ClientId, scope: &str) -> Signed {
    let (session, digest) = session(s, client, scope).await;
    let g = new_guest();
    assert!(
        must(s.create_guest_for_session(session.id, &g).await, "create_guest_for_session"),
        "a guest on a fresh session is refused"
    );
    Signed { session, digest, user: g.user_id, workspace: g.workspace_id }
}

/// The public token a completion stores for `signed`, living 30 minutes from `t0`.
pub(crate) fn new_public(signed: &Signed, scope: &str) -> NewPublicToken {
    NewPublicToken {
        digest: digest(TokenKind::Public),
        user_id: signed.user.clone(),
        workspace_id: signed.workspace.clone(),
        scopes: scopes(scope),
        created_at: t0(),
        expires_at: at(1800),
    }
}

/// Completes a fresh guest session of `client` with a public token: its digest and the session.
pub(crate) async fn public_token<S: Store + ?Sized>(s: &S, client: &ClientId, scope: &str) -> (TokenDigest, Signed) {
    let signed = signed_in(s, client, scope).await;
    let p = new_public(&signed, scope);
    assert!(
        must(s.complete_link_session(signed.session.id, at(10), Some(p.clone())).await, "complete_link_session"),
        "completing a fresh session is refused"
    );
    (p.digest, signed)
}

/// What an exchange creates: a fresh grant id and access-token digest, living a year from `t0`.
pub(crate) fn issue() -> IssueGrant {
    IssueGrant {
        grant_id: GrantId::generate(&OsSecretRng),
        access_digest: digest(TokenKind::Access),
        created_at: at(20),
        expires_at: at(365 * 86_400),
    }
}

/// A live grant of `client` (exchanged at `t0 + 20 s`), its access token's digest, and its session.
pub(crate) async fn grant<S: Store + ?Sized>(
    s: &S,
    client: &ClientId,
    scope: &str,
) -> (GrantRecord, TokenDigest, Signed) {
    let (public, signed) = public_token(s, client, scope).await;
    let i = issue();
    match must(s.exchange_public_token(&public, client, at(20), &i).await, "exchange_public_token") {
        ExchangeOutcome::Issued(g) => (g, i.access_digest, signed),
        ExchangeOutcome::Refused(r) => panic!("exchange of a fresh public token refused: {r:?}"),
    }
}

/// Registers a webhook endpoint of `client` subscribed to `events` (all when empty), created at `t0 + created` s.
pub(crate) async fn endpoint<S: Store + ?Sized>(
    s: &S,
    client: &ClientId,
    events: &[WebhookEvent],
    created: i64,
) -> WebhookEndpointRecord {
    let e = WebhookEndpointRecord {
        id: format!("wh_{}", tag()),
        client_id: client.clone(),
        url: "https://hooks.example/kc".to_owned(),
        events: events.to_vec(),
        secret: Sealed { key_id: "k1".to_owned(), blob: format!("sealed-{}", tag()) },
        created_at: at(created),
        updated_at: at(created),
    };
    must(s.insert_webhook_endpoint(&e).await, "insert_webhook_endpoint");
    e
}

/// A wallet of `workspace` on `provider` at a fresh address, created at `t0 + created` s (not stored).
pub(crate) fn new_integration(workspace: &WorkspaceId, created: i64) -> IntegrationRecord {
    let t = tag();
    IntegrationRecord {
        id: format!("wal_{t}"),
        workspace_id: workspace.clone(),
        provider: "ethereum".to_owned(),
        category: "blockchain".to_owned(),
        address: Some(format!("0x{t}")),
        alias: Some(format!("wallet {t}")),
        account_name: None,
        credentials: None,
        credential_fingerprint: None,
        sync_status: SyncStatus::Queued,
        last_error: None,
        last_synced_at: None,
        total_transactions: 0,
        created_at: at(created),
        verified_at: None,
        proof_method: None,
    }
}

/// One balance row.
pub(crate) fn balance(symbol: &str, quantity: &str) -> SnapshotRow {
    SnapshotRow {
        token_id: symbol.to_lowercase(),
        symbol: symbol.to_owned(),
        public_name: symbol.to_owned(),
        chain_id: "ethereum".to_owned(),
        contract_address: None,
        logo_url: String::new(),
        category: "crypto".to_owned(),
        asset_type: "native".to_owned(),
        decimals: 18,
        quantity: quantity.to_owned(),
    }
}

/// `client`'s deliveries, oldest first (the store lists newest first).
pub(crate) async fn deliveries<S: Store + ?Sized>(s: &S, client: &ClientId) -> Vec<WebhookDeliveryRecord> {
    let mut all = must(s.list_webhook_deliveries(client, 1000).await, "list_webhook_deliveries");
    all.reverse();
    all
}

/// `(event, endpoint)` of each delivery, oldest first.
pub(crate) async fn delivery_events<S: Store + ?Sized>(s: &S, client: &ClientId) -> Vec<(String, String)> {
    deliveries(s, client).await.into_iter().map(|d| (d.event, d.endpoint_id)).collect()
}

/// Claims every due delivery at `now` for `worker` and marks each delivered: what went out, in order.
pub(crate) async fn drain<S: Store + ?Sized>(s: &S, now: OffsetDateTime) -> Vec<ClaimedDelivery> {
    let mut out = Vec::new();
    while let Some(d) =
        must(s.claim_webhook_delivery("drain", now, Duration::seconds(30)).await, "claim_webhook_delivery")
    {
        let done = kc_ports::store::DeliveryAttempt::Delivered { status: 200 };
        assert!(
            must(s.finish_webhook_delivery(d.seq, "drain", &done, now).await, "finish_webhook_delivery"),
            "the holder could not finish its delivery"
        );
        out.push(d);
        assert!(out.len() < 1000, "the outbox never drains");
    }
    out
}

/// Runs `n` tasks at once (each future from `task(i)`, released together by a barrier) and
/// collects their outputs in task order.
pub(crate) async fn race<T, F, Fut>(n: i64, task: F) -> Vec<T>
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let gate = std::sync::Arc::new(tokio::sync::Barrier::new(usize::try_from(n).unwrap_or(1)));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (fut, gate) = (task(i), gate.clone());
            tokio::spawn(async move {
                gate.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap_or_else(|e| panic!("a racing task panicked: {e}")));
    }
    out
}
