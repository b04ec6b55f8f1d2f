//! [`OidcStore`] on sea-orm: the provider's tables and its atomic transitions (code issue and
//! redemption, refresh-token rotation), each a conditional `UPDATE … WHERE <still in the old
//! state>` whose row count decides, inside the transaction that does the rest.

#[cfg(feature = "sqlite")]
use super::hot::Columns;
use super::{at, grant_from, ms, opt_at, outbox, SeaStore};
use crate::entity::{grant, link_token, public_token};
use crate::*;
use crate::{NewLinkSession, StoreError, StoreResult};
use async_trait::async_trait;
use kc_domain::{
    AuthorizationCode, ClientId, GrantId, GrantRecord, RefreshTokenRecord, ScopeSet, Sealed, SigningAlg, TokenDigest,
    UserId, WebhookEvent, WorkspaceId,
};
use sea_orm::sea_query::Expr;
#[cfg(feature = "sqlite")]
use sea_orm::QueryTrait;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use time::OffsetDateTime;

/// The `oidc_signing_keys` table.
pub(crate) mod oidc_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oidc_signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub kid: String,
        pub alg: String,
        pub generation: i32,
        pub private_key: String,
        pub private_key_id: String,
        pub public_jwk: String,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `oidc_requests` table.
pub(crate) mod oidc_request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oidc_requests")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub handle: String,
        #[sea_orm(unique)]
        pub link_token_id: i64,
        pub client_id: String,
        pub redirect_uri: String,
        pub state: Option<String>,
        pub nonce: Option<String>,
        pub code_challenge: String,
        pub scopes: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub completed_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `oidc_codes` table.
pub(crate) mod oidc_code {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oidc_codes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub digest: String,
        #[sea_orm(unique)]
        pub request_id: i64,
        pub client_id: String,
        pub redirect_uri: String,
        pub code_challenge: String,
        pub nonce: Option<String>,
        pub scopes: String,
        pub user_id: String,
        pub workspace_id: String,
        pub auth_time: i64,
        pub created_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
        pub grant_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `oidc_refresh_tokens` table.
pub(crate) mod oidc_refresh {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oidc_refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub digest: String,
        pub grant_id: String,
        pub client_id: String,
        pub auth_time: i64,
        pub created_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `oidc_browser_sessions` table.
pub(crate) mod oidc_browser_session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oidc_browser_sessions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub digest: String,
        pub user_id: String,
        pub workspace_id: String,
        pub auth_time: i64,
        pub created_at: i64,
        pub last_used_at: i64,
        pub expires_at: i64,
        pub ended_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn browser_session_from(m: oidc_browser_session::Model) -> StoreResult<BrowserSessionRecord> {
    Ok(BrowserSessionRecord {
        id: m.id,
        user_id: UserId::from_stored(m.user_id),
        workspace_id: WorkspaceId::from_stored(m.workspace_id),
        auth_time: at(m.auth_time)?,
        created_at: at(m.created_at)?,
        last_used_at: at(m.last_used_at)?,
        expires_at: at(m.expires_at)?,
        ended_at: opt_at(m.ended_at)?,
    })
}

fn key_from(m: oidc_key::Model) -> StoreResult<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        alg: SigningAlg::parse(&m.alg).ok_or_else(|| StoreError::Corrupt(format!("signing key alg {}", m.alg)))?,
        kid: m.kid,
        generation: m.generation,
        private_key: Sealed { key_id: m.private_key_id, blob: m.private_key },
        public_jwk: m.public_jwk,
        created_at: at(m.created_at)?,
    })
}

fn request_from(m: oidc_request::Model) -> StoreResult<OidcRequestRecord> {
    Ok(OidcRequestRecord {
        id: m.id,
        handle: m.handle,
        link_session_id: m.link_token_id,
        client_id: ClientId::from_stored(m.client_id),
        redirect_uri: m.redirect_uri,
        state: m.state,
        nonce: m.nonce,
        code_challenge: m.code_challenge,
        scopes: ScopeSet::from_stored(&m.scopes),
        expires_at: at(m.expires_at)?,
        completed_at: opt_at(m.completed_at)?,
    })
}

fn code_from(m: oidc_code::Model) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        id: m.id,
        client_id: ClientId::from_stored(m.client_id),
        redirect_uri: m.redirect_uri,
        code_challenge: m.code_challenge,
        nonce: m.nonce,
        scopes: ScopeSet::from_stored(&m.scopes),
        user_id: UserId::from_stored(m.user_id),
        workspace_id: WorkspaceId::from_stored(m.workspace_id),
        auth_time: at(m.auth_time)?,
        expires_at: at(m.expires_at)?,
        used_at: opt_at(m.used_at)?,
        grant_id: m.grant_id.map(GrantId::from_stored),
    })
}

fn refresh_from(m: oidc_refresh::Model) -> StoreResult<RefreshTokenRecord> {
    Ok(RefreshTokenRecord {
        id: m.id,
        grant_id: GrantId::from_stored(m.grant_id),
        client_id: ClientId::from_stored(m.client_id),
        auth_time: at(m.auth_time)?,
        expires_at: at(m.expires_at)?,
        used_at: opt_at(m.used_at)?,
    })
}

/// Marks refresh token `id` used, if it is live at `now` (exactly one rotation matches).
#[cfg(feature = "sqlite")]
fn rotate_claim(id: i64, now: OffsetDateTime) -> sea_orm::sea_query::UpdateStatement {
    sea_orm::sea_query::Query::update()
        .table(oidc_refresh::Entity)
        .value(oidc_refresh::Column::UsedAt, ms(now))
        .and_where(Expr::col(oidc_refresh::Column::Id).eq(id))
        .and_where(Expr::col(oidc_refresh::Column::UsedAt).is_null())
        .and_where(Expr::col(oidc_refresh::Column::ExpiresAt).gt(ms(now)))
        .to_owned()
}

/// The grant and client of refresh token `id`.
#[cfg(feature = "sqlite")]
fn refresh_owner(id: i64) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .columns([oidc_refresh::Column::GrantId, oidc_refresh::Column::ClientId])
        .from(oidc_refresh::Entity)
        .and_where(Expr::col(oidc_refresh::Column::Id).eq(id))
        .to_owned()
}

fn refresh_model(grant_id: &str, client_id: &str, r: &NewRefreshToken) -> oidc_refresh::ActiveModel {
    oidc_refresh::ActiveModel {
        digest: Set(r.digest.as_str().to_owned()),
        grant_id: Set(grant_id.to_owned()),
        client_id: Set(client_id.to_owned()),
        auth_time: Set(ms(r.auth_time)),
        created_at: Set(ms(r.created_at)),
        expires_at: Set(ms(r.expires_at)),
        used_at: Set(None),
        ..Default::default()
    }
}

#[async_trait]
impl OidcStore for SeaStore {
    async fn oidc_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        oidc_key::Entity::find()
            .order_by_asc(oidc_key::Column::Id)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(key_from)
            .collect()
    }

    async fn insert_oidc_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<bool> {
        let res = oidc_key::ActiveModel {
            kid: Set(k.kid.clone()),
            alg: Set(k.alg.as_str().to_owned()),
            generation: Set(k.generation),
            private_key: Set(k.private_key.blob.clone()),
            private_key_id: Set(k.private_key.key_id.clone()),
            public_jwk: Set(k.public_jwk.clone()),
            created_at: Set(ms(k.created_at)),
            ..Default::default()
        }
        .insert(&self.db)
        .await;
        match res.map_err(crate::db_err) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn insert_oidc_request(
        &self,
        s: &NewLinkSession,
        r: &NewOidcRequest,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let link = link_token::ActiveModel {
            digest: Set(s.digest.as_str().to_owned()),
            client_id: Set(s.client_id.to_string()),
            scopes: Set(s.scopes.to_string()),
            created_at: Set(ms(s.created_at)),
            expires_at: Set(ms(s.expires_at)),
            completed_at: Set(None),
            resumed_grant_id: Set(None),
            user_id: Set(None),
            workspace_id: Set(None),
            consent: Set(None),
            integration_name: Set(s.integration_name.clone()),
            prefill: Set(s.prefill_json.clone()),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db_err)?;
        oidc_request::ActiveModel {
            handle: Set(r.handle.clone()),
            link_token_id: Set(link.id),
            client_id: Set(s.client_id.to_string()),
            redirect_uri: Set(r.redirect_uri.clone()),
            state: Set(r.state.clone()),
            nonce: Set(r.nonce.clone()),
            code_challenge: Set(r.code_challenge.clone()),
            scopes: Set(s.scopes.to_string()),
            created_at: Set(ms(now)),
            expires_at: Set(ms(s.expires_at)),
            completed_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(())
    }

    async fn find_oidc_request(&self, handle: &str) -> StoreResult<Option<OidcRequestRecord>> {
        oidc_request::Entity::find()
            .filter(oidc_request::Column::Handle.eq(handle))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(request_from)
            .transpose()
    }

    async fn find_oidc_request_by_session(&self, link_session_id: i64) -> StoreResult<Option<OidcRequestRecord>> {
        oidc_request::Entity::find()
            .filter(oidc_request::Column::LinkTokenId.eq(link_session_id))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(request_from)
            .transpose()
    }

    async fn complete_oidc_request(&self, request_id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        let res = oidc_request::Entity::update_many()
            .col_expr(oidc_request::Column::CompletedAt, Expr::value(ms(now)))
            .filter(oidc_request::Column::Id.eq(request_id))
            .filter(oidc_request::Column::CompletedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn issue_oidc_code(
        &self,
        request: &OidcRequestRecord,
        public_digest: &TokenDigest,
        code_digest: &TokenDigest,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<CodeIssue> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let answered = oidc_request::Entity::update_many()
            .col_expr(oidc_request::Column::CompletedAt, Expr::value(ms(now)))
            .filter(oidc_request::Column::Id.eq(request.id))
            .filter(oidc_request::Column::CompletedAt.is_null())
            .filter(oidc_request::Column::ExpiresAt.gt(ms(now)))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        let consumed = public_token::Entity::update_many()
            .col_expr(public_token::Column::UsedAt, Expr::value(ms(now)))
            .filter(public_token::Column::Digest.eq(public_digest.as_str()))
            .filter(public_token::Column::LinkTokenId.eq(request.link_session_id))
            .filter(public_token::Column::ClientId.eq(request.client_id.as_str()))
            .filter(public_token::Column::UsedAt.is_null())
            .filter(public_token::Column::ExpiresAt.gt(ms(now)))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if answered.rows_affected != 1 || consumed.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(CodeIssue::Refused);
        }
        let public = public_token::Entity::find()
            .filter(public_token::Column::Digest.eq(public_digest.as_str()))
            .one(&txn)
            .await
            .map_err(crate::db_err)?
            .ok_or_else(|| StoreError::Corrupt("consumed public token vanished".into()))?;
        let link = link_token::Entity::find_by_id(request.link_session_id)
            .one(&txn)
            .await
            .map_err(crate::db_err)?
            .ok_or_else(|| StoreError::Corrupt("link session of an authorization request vanished".into()))?;
        oidc_code::ActiveModel {
            digest: Set(code_digest.as_str().to_owned()),
            request_id: Set(request.id),
            client_id: Set(request.client_id.to_string()),
            redirect_uri: Set(request.redirect_uri.clone()),
            code_challenge: Set(request.code_challenge.clone()),
            nonce: Set(request.nonce.clone()),
            scopes: Set(public.scopes),
            user_id: Set(public.user_id),
            workspace_id: Set(public.workspace_id),
            // The user signed in during this widget run; it completed when the public token was made.
            auth_time: Set(link.completed_at.unwrap_or(public.created_at)),
            created_at: Set(ms(now)),
            expires_at: Set(ms(expires_at)),
            used_at: Set(None),
            grant_id: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(CodeIssue::Issued)
    }

    async fn find_oidc_code(&self, digest: &TokenDigest) -> StoreResult<Option<AuthorizationCode>> {
        oidc_code::Entity::find()
            .filter(oidc_code::Column::Digest.eq(digest.as_str()))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(code_from)
            .transpose()
    }

    async fn redeem_oidc_code(
        &self,
        code_id: i64,
        now: OffsetDateTime,
        issue: &NewOAuthGrant,
    ) -> StoreResult<Option<GrantRecord>> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let claimed = oidc_code::Entity::update_many()
            .col_expr(oidc_code::Column::UsedAt, Expr::value(ms(now)))
            .col_expr(oidc_code::Column::GrantId, Expr::value(issue.grant_id.as_str()))
            .filter(oidc_code::Column::Id.eq(code_id))
            .filter(oidc_code::Column::UsedAt.is_null())
            .filter(oidc_code::Column::ExpiresAt.gt(ms(now)))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if claimed.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(None);
        }
        let code = oidc_code::Entity::find_by_id(code_id)
            .one(&txn)
            .await
            .map_err(crate::db_err)?
            .ok_or_else(|| StoreError::Corrupt("claimed code vanished".into()))?;
        let g = grant::ActiveModel {
            id: Set(issue.grant_id.to_string()),
            client_id: Set(code.client_id.clone()),
            user_id: Set(code.user_id.clone()),
            workspace_id: Set(code.workspace_id.clone()),
            scopes: Set(code.scopes.clone()),
            created_at: Set(ms(issue.created_at)),
            expires_at: Set(ms(issue.expires_at)),
            revoked_at: Set(None),
            transaction_limit: Set(None),
            enable_limiter: Set(false),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db_err)?;
        if let Some(r) = &issue.refresh {
            refresh_model(&g.id, &g.client_id, r).insert(&txn).await.map_err(crate::db_err)?;
        }
        outbox::enqueue_grant_event(&txn, WebhookEvent::GrantCreated, &g, ms(now)).await?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(Some(grant_from(g)?))
    }

    async fn find_refresh_token(&self, digest: &TokenDigest) -> StoreResult<Option<RefreshTokenRecord>> {
        oidc_refresh::Entity::find()
            .filter(oidc_refresh::Column::Digest.eq(digest.as_str()))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(refresh_from)
            .transpose()
    }

    async fn rotate_refresh_token(&self, id: i64, next: &NewRefreshToken, now: OffsetDateTime) -> StoreResult<bool> {
        #[cfg(feature = "sqlite")]
        if let Some(direct) = self.direct() {
            // A SQLite file: one job of the writer thread, as the other hot writes, so the
            // rotation never waits in SQLite's busy handler behind the writer's commits.
            let (claim, owner, next) = (rotate_claim(id, now), refresh_owner(id), next.clone());
            return direct
                .writer
                .write(move |c| {
                    if c.execute(&claim)? != 1 {
                        return Err(super::direct::Undo::Refused);
                    }
                    let mut found = None;
                    c.query_each(&owner, |row| {
                        found =
                            Some((row.required("grant_id", Columns::text)?, row.required("client_id", Columns::text)?));
                        Ok(())
                    })
                    .map_err(super::direct::Undo::Failed)?;
                    let (grant_id, client_id) = found.ok_or_else(|| {
                        super::direct::Undo::Failed(StoreError::Corrupt("rotated refresh token vanished".into()))
                    })?;
                    c.execute(&oidc_refresh::Entity::insert(refresh_model(&grant_id, &client_id, &next)).into_query())?;
                    Ok(())
                })
                .await;
        }
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let rotated = oidc_refresh::Entity::update_many()
            .col_expr(oidc_refresh::Column::UsedAt, Expr::value(ms(now)))
            .filter(oidc_refresh::Column::Id.eq(id))
            .filter(oidc_refresh::Column::UsedAt.is_null())
            .filter(oidc_refresh::Column::ExpiresAt.gt(ms(now)))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if rotated.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        let old = oidc_refresh::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(crate::db_err)?
            .ok_or_else(|| StoreError::Corrupt("rotated refresh token vanished".into()))?;
        refresh_model(&old.grant_id, &old.client_id, next).insert(&txn).await.map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    async fn oidc_grants_of(
        &self,
        client: &ClientId,
        user: &UserId,
        workspace: &WorkspaceId,
    ) -> StoreResult<Vec<GrantRecord>> {
        grant::Entity::find()
            .filter(grant::Column::ClientId.eq(client.as_str()))
            .filter(grant::Column::UserId.eq(user.as_str()))
            .filter(grant::Column::WorkspaceId.eq(workspace.as_str()))
            .order_by_desc(grant::Column::Seq)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(grant_from)
            .collect()
    }

    async fn insert_silent_oidc_code(
        &self,
        s: &NewLinkSession,
        r: &NewOidcRequest,
        c: &NewSilentCode,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let link = link_token::ActiveModel {
            digest: Set(s.digest.as_str().to_owned()),
            client_id: Set(s.client_id.to_string()),
            scopes: Set(s.scopes.to_string()),
            created_at: Set(ms(s.created_at)),
            expires_at: Set(ms(s.expires_at)),
            // Answered at once: the widget never runs on it.
            completed_at: Set(Some(ms(now))),
            resumed_grant_id: Set(None),
            user_id: Set(Some(c.user_id.to_string())),
            workspace_id: Set(Some(c.workspace_id.to_string())),
            consent: Set(None),
            integration_name: Set(None),
            prefill: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db_err)?;
        let request = oidc_request::ActiveModel {
            handle: Set(r.handle.clone()),
            link_token_id: Set(link.id),
            client_id: Set(s.client_id.to_string()),
            redirect_uri: Set(r.redirect_uri.clone()),
            state: Set(r.state.clone()),
            nonce: Set(r.nonce.clone()),
            code_challenge: Set(r.code_challenge.clone()),
            scopes: Set(s.scopes.to_string()),
            created_at: Set(ms(now)),
            expires_at: Set(ms(s.expires_at)),
            completed_at: Set(Some(ms(now))),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db_err)?;
        oidc_code::ActiveModel {
            digest: Set(c.digest.as_str().to_owned()),
            request_id: Set(request.id),
            client_id: Set(s.client_id.to_string()),
            redirect_uri: Set(r.redirect_uri.clone()),
            code_challenge: Set(r.code_challenge.clone()),
            nonce: Set(r.nonce.clone()),
            scopes: Set(s.scopes.to_string()),
            user_id: Set(c.user_id.to_string()),
            workspace_id: Set(c.workspace_id.to_string()),
            auth_time: Set(ms(c.auth_time)),
            created_at: Set(ms(now)),
            expires_at: Set(ms(c.expires_at)),
            used_at: Set(None),
            grant_id: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(())
    }

    async fn insert_browser_session(&self, b: &NewBrowserSession) -> StoreResult<()> {
        oidc_browser_session::ActiveModel {
            digest: Set(b.digest.as_str().to_owned()),
            user_id: Set(b.user_id.to_string()),
            workspace_id: Set(b.workspace_id.to_string()),
            auth_time: Set(ms(b.auth_time)),
            created_at: Set(ms(b.created_at)),
            last_used_at: Set(ms(b.created_at)),
            expires_at: Set(ms(b.expires_at)),
            ended_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(())
    }

    async fn find_browser_session(&self, digest: &TokenDigest) -> StoreResult<Option<BrowserSessionRecord>> {
        oidc_browser_session::Entity::find()
            .filter(oidc_browser_session::Column::Digest.eq(digest.as_str()))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(browser_session_from)
            .transpose()
    }

    async fn touch_browser_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        let res = oidc_browser_session::Entity::update_many()
            .col_expr(oidc_browser_session::Column::LastUsedAt, Expr::value(ms(now)))
            .filter(oidc_browser_session::Column::Id.eq(id))
            .filter(oidc_browser_session::Column::EndedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn end_browser_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        let res = oidc_browser_session::Entity::update_many()
            .col_expr(oidc_browser_session::Column::EndedAt, Expr::value(ms(now)))
            .filter(oidc_browser_session::Column::Id.eq(id))
            .filter(oidc_browser_session::Column::EndedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }
}
