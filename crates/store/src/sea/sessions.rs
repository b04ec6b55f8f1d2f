//! `SeaStore`: Link sessions and the users and workspaces they sign in.

use super::*;

#[async_trait]
impl crate::LinkSessionStore for SeaStore {
    async fn insert_link_session(&self, s: &NewLinkSession) -> StoreResult<()> {
        self.insert_row(link_token::Entity::insert(link_row(s)).into_query()).await
    }

    async fn find_link_session(&self, digest: &TokenDigest) -> StoreResult<Option<LinkSession>> {
        link_token::Entity::find()
            .filter(link_token::Column::Digest.eq(digest.as_str()))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(link_from)
            .transpose()
    }

    async fn create_guest_for_session(&self, session_id: i64, g: &NewGuest) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        insert_user_with_workspace(&txn, &g.user_id, None, &g.workspace_id, &g.workspace_name, g.created_at).await?;
        let res = link_token::Entity::update_many()
            .col_expr(link_token::Column::UserId, Expr::value(g.user_id.as_str()))
            .col_expr(link_token::Column::WorkspaceId, Expr::value(g.workspace_id.as_str()))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::UserId.is_null())
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if res.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    async fn record_consent(&self, session_id: i64, approve: bool) -> StoreResult<bool> {
        let res = link_token::Entity::update_many()
            .col_expr(link_token::Column::Consent, Expr::value(approve))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn extend_grant_for_session(
        &self,
        session_id: i64,
        grant_id: &GrantId,
        scopes: &ScopeSet,
        now: OffsetDateTime,
    ) -> StoreResult<ExtendOutcome> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        // Lock order: the session, then the grant. The first write also takes SQLite's write lock.
        let open = link_token::Entity::update_many()
            .col_expr(link_token::Column::Consent, Expr::value(true))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if open.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(ExtendOutcome::SessionClosed);
        }
        // Touching the live grant locks its row on PostgreSQL, so a concurrent extension waits
        // and then reads the scopes this one wrote (no lost update).
        let live = grant::Entity::update_many()
            .col_expr(grant::Column::Scopes, Expr::col(grant::Column::Scopes).into())
            .filter(grant::Column::Id.eq(grant_id.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .filter(grant::Column::ExpiresAt.gt(ms(now)))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if live.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(ExtendOutcome::GrantGone);
        }
        let mut g = grant::Entity::find()
            .filter(grant::Column::Id.eq(grant_id.as_str()))
            .one(&txn)
            .await
            .map_err(crate::db_err)?
            .ok_or_else(|| StoreError::Corrupt(format!("locked grant {grant_id} vanished")))?;
        let held = ScopeSet::from_stored(&g.scopes);
        let merged = held.union(scopes);
        let changed = merged != held;
        if changed {
            g.scopes = merged.to_string();
            grant::Entity::update_many()
                .col_expr(grant::Column::Scopes, Expr::value(g.scopes.as_str()))
                .filter(grant::Column::Id.eq(grant_id.as_str()))
                .exec(&txn)
                .await
                .map_err(crate::db_err)?;
            outbox::enqueue_grant_event(&txn, WebhookEvent::GrantUpdated, &g, ms(now)).await?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(ExtendOutcome::Extended { grant: grant_from(g)?, changed })
    }

    async fn complete_link_session(
        &self,
        session_id: i64,
        now: OffsetDateTime,
        public: Option<NewPublicToken>,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let res = link_token::Entity::update_many()
            .col_expr(link_token::Column::CompletedAt, Expr::value(ms(now)))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if res.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        if let Some(p) = public {
            let link = link_token::Entity::find_by_id(session_id)
                .one(&txn)
                .await
                .map_err(crate::db_err)?
                .ok_or_else(|| StoreError::Corrupt("completed link session vanished".into()))?;
            public_token::ActiveModel {
                digest: Set(p.digest.as_str().to_owned()),
                client_id: Set(link.client_id),
                link_token_id: Set(session_id),
                user_id: Set(p.user_id.to_string()),
                workspace_id: Set(p.workspace_id.to_string()),
                scopes: Set(p.scopes.to_string()),
                created_at: Set(ms(p.created_at)),
                expires_at: Set(ms(p.expires_at)),
                used_at: Set(None),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(crate::db_err)?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    async fn find_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>> {
        Ok(user::Entity::find_by_id(id.as_str()).one(&self.db).await.map_err(crate::db_err)?.map(|m| UserRecord {
            id: UserId::from_stored(m.id),
            email: m.email,
            is_anonymous: m.is_anonymous,
            name: m.name,
            language: m.language,
        }))
    }

    async fn find_workspace(&self, id: &WorkspaceId) -> StoreResult<Option<WorkspaceRecord>> {
        Ok(workspace::Entity::find_by_id(id.as_str())
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(|m| WorkspaceRecord { id: WorkspaceId::from_stored(m.id), name: m.name }))
    }

    async fn memberships(&self, user_id: &UserId) -> StoreResult<Vec<MembershipRecord>> {
        let rows = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id.as_str()))
            .order_by_asc(membership::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for m in rows {
            let ws = self
                .find_workspace(&WorkspaceId::from_stored(m.workspace_id.clone()))
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("membership of missing workspace {}", m.workspace_id)))?;
            let role = WorkspaceRole::parse(&m.role).ok_or_else(|| StoreError::Corrupt(format!("role {}", m.role)))?;
            out.push(MembershipRecord { workspace: ws, role });
        }
        Ok(out)
    }

    async fn select_workspace(&self, session_id: i64, ws: &WorkspaceId) -> StoreResult<bool> {
        let res = link_token::Entity::update_many()
            .col_expr(link_token::Column::WorkspaceId, Expr::value(ws.as_str()))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }
}

/// The `link_tokens` row of a new session.
pub(super) fn link_row(s: &NewLinkSession) -> link_token::ActiveModel {
    let resumed = s.resumed.as_ref();
    link_token::ActiveModel {
        digest: Set(s.digest.as_str().to_owned()),
        client_id: Set(s.client_id.to_string()),
        scopes: Set(s.scopes.to_string()),
        created_at: Set(ms(s.created_at)),
        expires_at: Set(ms(s.expires_at)),
        completed_at: Set(None),
        resumed_grant_id: Set(resumed.map(|g| g.id.to_string())),
        user_id: Set(resumed.map(|g| g.user_id.to_string())),
        workspace_id: Set(resumed.map(|g| g.workspace_id.to_string())),
        consent: Set(None),
        integration_name: Set(s.integration_name.clone()),
        prefill: Set(s.prefill_json.clone()),
        ..Default::default()
    }
}
