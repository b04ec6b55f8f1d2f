//! What a case runs against: a fresh server ([`TestApp`]), the adapter under test (anything
//! implementing the api traits) and helpers that speak only through those traits.

use crate::helpers::{fresh_database, spawn_app, spawn_app_on, Db, TestApp};
use kc_api::*;
use kc_service::NewClient;
use sea_orm::{ConnectionTrait, Database};
use std::sync::Arc;

/// Everything an adapter must implement to be tested.
pub trait Subject: ConnectApi + WidgetApi + DataApi + DeveloperApi + HealthApi + ProvidersApi {}
impl<T: ConnectApi + WidgetApi + DataApi + DeveloperApi + HealthApi + ProvidersApi> Subject for T {}

/// One case's world: the adapter under test and the server behind it.
pub struct World {
    /// The adapter under test.
    pub api: Arc<dyn Subject>,
    /// The server (its service registers clients; its clock is moved by hand).
    pub app: TestApp,
    /// A name for messages.
    pub adapter: &'static str,
}

/// The in-process service on a fresh database.
pub async fn in_process(db: Db) -> World {
    let app = spawn_app(db).await;
    World { api: Arc::new(app.service.clone()), app, adapter: "service" }
}

/// `kc-client` over HTTP to a server on a fresh database.
///
/// The failed-authentication budget is raised out of the way: the cases check the codes of many
/// refused calls in a row from one address, which the limiter would (rightly) turn into
/// `RATE_LIMITED`; `http::repeated_failed_authentication_is_rate_limited` tests the limiter.
pub async fn http_client(db: Db) -> World {
    let (url, dir) = fresh_database(db).await;
    let app = spawn_app_on(&url, &dir, |s| {
        s.security.auth_failures_per_minute = 10_000;
        s.security.ip_auth_failures_per_minute = 10_000;
    })
    .await;
    let client = kc_client::Client::new(app.base.clone()).expect("a client for the test server");
    World { api: Arc::new(client), app, adapter: "client" }
}

/// `kc-client` over HTTP to the router nested under `/kryptos` in a host app, on the in-memory
/// store (the embedding of `examples/embed`): the same answers as the standalone server.
pub async fn embedded_client() -> World {
    let app = crate::helpers::spawn_embedded("/kryptos").await;
    let client = kc_client::Client::new(app.base.clone()).expect("a client for the embedded app");
    World { api: Arc::new(client), app, adapter: "embedded" }
}

/// No request metadata: a server-to-server call.
pub fn meta() -> RequestMeta {
    RequestMeta::default()
}

/// Asserts `r` failed with `code`.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(r: ApiResult<T>, code: ErrorCode, what: &str) -> ApiError {
    match r {
        Ok(v) => panic!("{what}: expected {code}, got success {v:?}"),
        Err(e) => {
            assert_eq!(e.code, code, "{what}: code (message: {})", e.message);
            assert!(!e.message.is_empty(), "{what}: a message");
            e
        }
    }
}

/// Asserts `r` failed as the Data API fails an unauthenticated call (`INVALID_CLIENT` or
/// `INVALID_TOKEN`: over HTTP both are `401 unauthorized`).
#[track_caller]
pub fn expect_unauthorized<T: std::fmt::Debug>(r: ApiResult<T>, what: &str) {
    match r {
        Ok(v) => panic!("{what}: expected unauthorized, got success {v:?}"),
        Err(e) => assert!(
            matches!(e.code, ErrorCode::InvalidClient | ErrorCode::InvalidToken),
            "{what}: INVALID_CLIENT or INVALID_TOKEN, got {e:?}"
        ),
    }
}

/// A link token's credential.
pub fn link(token: &str) -> LinkTokenCredential {
    LinkTokenCredential::new(token)
}

impl World {
    /// Stops the server.
    pub async fn finish(self) {
        let World { api, app, .. } = self;
        drop(api);
        app.stop().await;
    }

    /// Registers `new` and returns its credentials.
    pub async fn register(&self, new: NewClient) -> ClientCredentials {
        let c = self.app.client_with(new).await;
        ClientCredentials::new(c.id, c.secret)
    }

    /// A sandbox client with the default scopes.
    pub async fn client(&self) -> ClientCredentials {
        self.register(NewClient::sandbox("Conformance app")).await
    }

    /// A fresh link token for a new user.
    pub async fn link_token(&self, creds: &ClientCredentials, scopes: Option<&str>) -> String {
        let req = CreateLinkTokenRequest { scopes: scopes.map(str::to_owned), ..Default::default() };
        self.api.create_link_token(creds, &meta(), req).await.expect("a link token").link_token
    }

    /// A link token through guest sign-in and consent, ready to complete.
    pub async fn consented(&self, creds: &ClientCredentials, scopes: Option<&str>) -> (String, AnonymousAuthResponse) {
        let token = self.link_token(creds, scopes).await;
        let l = link(&token);
        let guest = self.api.auth_anonymous(&l, &meta()).await.expect("guest sign-in");
        self.api.consent(&l, &meta(), ConsentRequest { approve: true }).await.expect("consent");
        (token, guest)
    }

    /// A fresh public token from a full guest widget run.
    pub async fn public_token(&self, creds: &ClientCredentials, scopes: Option<&str>) -> String {
        let (token, _) = self.consented(creds, scopes).await;
        let done = self.api.complete(&link(&token), &meta()).await.expect("complete");
        done.public_token.expect("a new user gets a public token")
    }

    /// Exchanges `public_token`.
    pub async fn exchange(&self, creds: &ClientCredentials, public_token: &str) -> ApiResult<ExchangeResponse> {
        let req = ExchangeRequest { public_token: public_token.to_owned() };
        self.api.exchange_public_token(creds, &meta(), req).await
    }

    /// A fresh grant of a guest user.
    pub async fn grant(&self, creds: &ClientCredentials, scopes: Option<&str>) -> ExchangeResponse {
        let pt = self.public_token(creds, scopes).await;
        self.exchange(creds, &pt).await.expect("exchange")
    }

    /// `check_session` of `access_token`.
    pub async fn check(&self, creds: &ClientCredentials, access_token: &str) -> CheckSessionResponse {
        let req = CheckSessionRequest { access_token: access_token.to_owned() };
        self.api.check_session(creds, &meta(), req).await.expect("check-session never fails for a bad token")
    }

    /// Revokes `grant_id`.
    pub async fn revoke(&self, creds: &ClientCredentials, grant_id: &str) -> ApiResult<()> {
        self.api.revoke_grant(creds, &meta(), RevokeRequest { grant_id: grant_id.to_owned() }).await
    }

    /// The ids of every active grant of `creds`, following cursors.
    pub async fn grant_ids(&self, creds: &ClientCredentials) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor = None;
        loop {
            let q = ListGrantsQuery { limit: Some(100), cursor: cursor.take() };
            let page = self.api.list_grants(creds, &meta(), q).await.expect("grants");
            assert_eq!(page.count, page.grants.len(), "count matches the page");
            ids.extend(page.grants.into_iter().map(|g| g.grant_id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return ids,
            }
        }
    }

    /// Moves the server's clock.
    pub fn advance(&self, by: time::Duration) {
        self.app.clock.advance(by);
    }

    /// Makes `user_id` a plain member of a new team workspace and returns its id (no API
    /// creates one: a fixture, in SQL or in the in-memory store).
    pub async fn team_workspace_with_member(&self, user_id: &str) -> String {
        let team = "11111111-1111-4111-8111-111111111111";
        if let Some(memory) = &self.app.memory {
            memory.add_team_workspace(team, "Team", user_id).expect("fixture");
        } else {
            self.sql(&format!("INSERT INTO workspaces (id, name, created_at) VALUES ('{team}', 'Team', 0)")).await;
            self.sql(&format!(
                "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ('{team}', '{user_id}', 'member', 0)"
            ))
            .await;
        }
        team.to_owned()
    }

    /// Runs SQL on the server's database (fixtures the API cannot create).
    pub async fn sql(&self, statement: &str) {
        let conn = Database::connect(&self.app.database_url).await.expect("connect to the test database");
        conn.execute_unprepared(statement).await.unwrap_or_else(|e| panic!("fixture SQL failed ({e}): {statement}"));
    }
}
