//! Webhooks on sea-orm: endpoints, and the transactional outbox of deliveries.
//!
//! The `enqueue_*` functions run inside the transaction of the change they report (exchange,
//! revocation, a grant extended by a returning user, a new integration, a finished or failed
//! sync), so a delivery row exists if and only if the change committed. Dispatchers then claim
//! rows one at a time.

use super::{at, json_list, ms, opt_at, to_json_list, SeaStore};
use crate::entity::{client, grant, integration, webhook_delivery, webhook_endpoint};
use crate::{ClaimedDelivery, DeliveryAttempt, WebhookDeliveryRecord, WebhookEndpointRecord};
use crate::{StoreError, StoreResult};
use kc_domain::{webhook_delivery_id, ClientId, OsSecretRng, Sealed, SyncStatus, WebhookEvent};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use std::collections::HashSet;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 in UTC with whole seconds, as the Connect API's grant objects print times.
fn rfc3339(ms_value: i64) -> String {
    at(ms_value)
        .ok()
        .and_then(|t| t.replace_nanosecond(0).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// `data` of `grant.*` events: the Connect API's grant object with the user as `uid`.
pub(super) fn grant_data(g: &grant::Model) -> serde_json::Value {
    let mut v = json!({
        "uid": g.user_id,
        "grant_id": g.id,
        "workspace_id": g.workspace_id,
        "scopes": g.scopes,
        "created_at": rfc3339(g.created_at),
        "expires_at": rfc3339(g.expires_at),
    });
    if let Some(r) = g.revoked_at {
        v["revoked_at"] = rfc3339(r).into();
    }
    v
}

/// `data` of `integration.*` events: the Data API's integration object, with `uid` (the
/// grant's user), `workspaceId` and `grantId`. The dispatcher replaces `providerPublicName`
/// and `logoUrl` with the catalogue's values, which the store does not know.
fn integration_data(i: &integration::Model, g: &grant::Model) -> serde_json::Value {
    let status = SyncStatus::parse(&i.sync_status).map_or("active", SyncStatus::data_api_status);
    let mut v = json!({
        "uid": g.user_id,
        "provider": i.provider,
        "providerPublicName": i.provider,
        "publicAddress": i.address,
        "walletId": i.id,
        "logoUrl": "",
        "isContract": false,
        "alias": i.alias.clone().or_else(|| i.account_name.clone()),
        "status": status,
        "addedOn": i.created_at,
        "lastSyncedAt": i.last_synced_at,
        "category": i.category,
        "type": "api",
        "totalTransactions": i.total_transactions,
    });
    if let Some(e) = &i.last_error {
        v["message"] = e.clone().into();
    }
    v["workspaceId"] = i.workspace_id.clone().into();
    v["grantId"] = g.id.clone().into();
    v
}

/// Writes one pending delivery per live endpoint of `client_id` subscribed to `event`.
pub(super) async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    client_id: &str,
    event: WebhookEvent,
    ordering_key: &str,
    data: &serde_json::Value,
    now: i64,
) -> StoreResult<()> {
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::ClientId.eq(client_id))
        .filter(webhook_endpoint::Column::RemovedAt.is_null())
        .filter(webhook_endpoint::Column::Id.not_in_subquery(super::console::disabled_endpoints()))
        .order_by_asc(webhook_endpoint::Column::CreatedAt)
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(conn)
        .await
        .map_err(crate::db_err)?;
    let payload = data.to_string();
    for e in endpoints {
        let events = json_list(&e.events)?;
        if !events.is_empty() && !events.iter().any(|x| x == event.as_str()) {
            continue;
        }
        webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
            id: Set(webhook_delivery_id(&OsSecretRng)),
            endpoint_id: Set(e.id),
            client_id: Set(client_id.to_owned()),
            event: Set(event.as_str().to_owned()),
            ordering_key: Set(ordering_key.to_owned()),
            payload: Set(payload.clone()),
            occurred_at: Set(now),
            status: Set("pending".to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            locked_by: Set(None),
            locked_until: Set(None),
            last_status: Set(None),
            last_error: Set(None),
            completed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(conn)
        .await
        .map_err(crate::db_err)?;
    }
    Ok(())
}

/// Enqueues `event` about grant `g` for its client.
pub(super) async fn enqueue_grant_event<C: ConnectionTrait>(
    conn: &C,
    event: WebhookEvent,
    g: &grant::Model,
    now: i64,
) -> StoreResult<()> {
    enqueue(conn, &g.client_id, event, &g.id, &grant_data(g), now).await
}

/// Enqueues `event` about integration `integration_id` for every enabled client holding a live
/// grant over its workspace (once per client, ordered with that client's oldest such grant).
pub(super) async fn enqueue_integration_event<C: ConnectionTrait>(
    conn: &C,
    event: WebhookEvent,
    integration_id: &str,
    now: i64,
) -> StoreResult<()> {
    let Some(i) = integration::Entity::find_by_id(integration_id).one(conn).await.map_err(crate::db_err)? else {
        return Ok(());
    };
    let grants = grant::Entity::find()
        .filter(grant::Column::WorkspaceId.eq(i.workspace_id.as_str()))
        .filter(grant::Column::RevokedAt.is_null())
        .filter(grant::Column::ExpiresAt.gt(now))
        .order_by_asc(grant::Column::Seq)
        .all(conn)
        .await
        .map_err(crate::db_err)?;
    let mut seen = HashSet::new();
    for g in grants {
        if !seen.insert(g.client_id.clone()) {
            continue;
        }
        let enabled = client::Entity::find_by_id(g.client_id.as_str())
            .one(conn)
            .await
            .map_err(crate::db_err)?
            .is_some_and(|c| c.disabled_at.is_none());
        if enabled {
            enqueue(conn, &g.client_id, event, &g.id, &integration_data(&i, &g), now).await?;
        }
    }
    Ok(())
}

fn endpoint_from(m: webhook_endpoint::Model) -> StoreResult<WebhookEndpointRecord> {
    let events = json_list(&m.events)?
        .iter()
        .map(|e| WebhookEvent::parse(e).ok_or_else(|| StoreError::Corrupt(format!("webhook event {e}"))))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(WebhookEndpointRecord {
        id: m.id,
        client_id: ClientId::from_stored(m.client_id),
        url: m.url,
        events,
        secret: Sealed { key_id: m.secret_key_id, blob: m.secret },
        created_at: at(m.created_at)?,
        updated_at: at(m.updated_at)?,
    })
}

fn status_code(v: Option<i32>) -> Option<u16> {
    v.and_then(|s| u16::try_from(s).ok())
}

fn delivery_from(m: webhook_delivery::Model) -> StoreResult<WebhookDeliveryRecord> {
    Ok(WebhookDeliveryRecord {
        id: m.id,
        endpoint_id: m.endpoint_id,
        event: m.event,
        grant_id: m.ordering_key,
        status: m.status,
        attempts: m.attempts,
        occurred_at: at(m.occurred_at)?,
        next_attempt_at: at(m.next_attempt_at)?,
        last_status: status_code(m.last_status),
        last_error: m.last_error,
        completed_at: opt_at(m.completed_at)?,
    })
}

impl SeaStore {
    pub(super) async fn insert_webhook_endpoint_impl(&self, e: &WebhookEndpointRecord) -> StoreResult<()> {
        let events: Vec<String> = e.events.iter().map(|x| x.as_str().to_owned()).collect();
        webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel {
            id: Set(e.id.clone()),
            client_id: Set(e.client_id.to_string()),
            url: Set(e.url.clone()),
            events: Set(to_json_list(&events)),
            secret: Set(e.secret.blob.clone()),
            secret_key_id: Set(e.secret.key_id.clone()),
            created_at: Set(ms(e.created_at)),
            updated_at: Set(ms(e.updated_at)),
            removed_at: Set(None),
        })
        .exec(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(())
    }

    pub(super) async fn list_webhook_endpoints_impl(
        &self,
        client: &ClientId,
    ) -> StoreResult<Vec<WebhookEndpointRecord>> {
        webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::ClientId.eq(client.as_str()))
            .filter(webhook_endpoint::Column::RemovedAt.is_null())
            .order_by_asc(webhook_endpoint::Column::CreatedAt)
            .order_by_asc(webhook_endpoint::Column::Id)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(endpoint_from)
            .collect()
    }

    pub(super) async fn find_webhook_endpoint_impl(&self, id: &str) -> StoreResult<Option<WebhookEndpointRecord>> {
        webhook_endpoint::Entity::find_by_id(id)
            .filter(webhook_endpoint::Column::RemovedAt.is_null())
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(endpoint_from)
            .transpose()
    }

    pub(super) async fn set_webhook_secret_impl(
        &self,
        client: &ClientId,
        id: &str,
        secret: &Sealed,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let res = webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::Secret, Expr::value(secret.blob.as_str()))
            .col_expr(webhook_endpoint::Column::SecretKeyId, Expr::value(secret.key_id.as_str()))
            .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(webhook_endpoint::Column::Id.eq(id))
            .filter(webhook_endpoint::Column::ClientId.eq(client.as_str()))
            .filter(webhook_endpoint::Column::RemovedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    pub(super) async fn remove_webhook_endpoint_impl(
        &self,
        client: &ClientId,
        id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let removed = webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::RemovedAt, Expr::value(ms(now)))
            .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(webhook_endpoint::Column::Id.eq(id))
            .filter(webhook_endpoint::Column::ClientId.eq(client.as_str()))
            .filter(webhook_endpoint::Column::RemovedAt.is_null())
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if removed.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        // In-flight (`sending`) rows are left to their dispatcher, which finds the endpoint gone.
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::value("cancelled"))
            .col_expr(webhook_delivery::Column::LastError, Expr::value("endpoint removed"))
            .col_expr(webhook_delivery::Column::CompletedAt, Expr::value(ms(now)))
            .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(webhook_delivery::Column::EndpointId.eq(id))
            .filter(webhook_delivery::Column::Status.eq("pending"))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    pub(super) async fn claim_webhook_delivery_impl(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> StoreResult<Option<ClaimedDelivery>> {
        use super::claim::{col, statement, Claim};
        use sea_orm::sea_query::{Alias, Cond, Order, Query};
        let backend = self.db.get_database_backend();
        let now_ms = ms(now);
        // Due: pending and its time has come, or claimed by a sender whose lease lapsed.
        // Blocked: an earlier delivery of the same endpoint and grant is still pending or sending.
        let blocked = Query::select()
            .expr(Expr::val(1))
            .from_as(Alias::new("webhook_deliveries"), Alias::new("p"))
            .and_where(col("p", "endpoint_id").equals((Alias::new("d"), Alias::new("endpoint_id"))))
            .and_where(col("p", "ordering_key").equals((Alias::new("d"), Alias::new("ordering_key"))))
            .and_where(col("p", "seq").lt(col("d", "seq")))
            .and_where(col("p", "status").is_in(["pending", "sending"]))
            .to_owned();
        let mut pick = Query::select();
        pick.from_as(Alias::new("webhook_deliveries"), Alias::new("d"))
            .cond_where(
                Cond::any()
                    .add(col("d", "status").eq("pending").and(col("d", "next_attempt_at").lte(now_ms)))
                    .add(col("d", "status").eq("sending").and(col("d", "locked_until").lt(now_ms))),
            )
            .and_where(Expr::exists(blocked).not())
            .order_by((Alias::new("d"), Alias::new("next_attempt_at")), Order::Asc)
            .order_by((Alias::new("d"), Alias::new("seq")), Order::Asc);
        let claim = Claim {
            table: "webhook_deliveries",
            key: "seq",
            alias: "d",
            pick,
            running: "sending",
            worker,
            now_ms,
            until_ms: ms(now + lease),
            returning: &["seq", "id", "endpoint_id", "event", "payload", "occurred_at", "attempts"],
        };
        let Some(row) = self.db.query_one(statement(backend, claim)).await.map_err(crate::db_err)? else {
            return Ok(None);
        };
        Ok(Some(ClaimedDelivery {
            seq: row.try_get("", "seq").map_err(crate::db_err)?,
            id: row.try_get("", "id").map_err(crate::db_err)?,
            endpoint_id: row.try_get("", "endpoint_id").map_err(crate::db_err)?,
            event: row.try_get("", "event").map_err(crate::db_err)?,
            data_json: row.try_get("", "payload").map_err(crate::db_err)?,
            occurred_at: at(row.try_get("", "occurred_at").map_err(crate::db_err)?)?,
            attempts: row.try_get("", "attempts").map_err(crate::db_err)?,
        }))
    }

    pub(super) async fn finish_webhook_delivery_impl(
        &self,
        seq: i64,
        worker: &str,
        attempt: &DeliveryAttempt,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = ms(now);
        let status = |s: Option<u16>| Expr::value(s.map(i32::from));
        let q = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(webhook_delivery::Column::LockedUntil, Expr::value(Option::<i64>::None))
            .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(n));
        let q = match attempt {
            DeliveryAttempt::Delivered { status: s } => q
                .col_expr(webhook_delivery::Column::Status, Expr::value("delivered"))
                .col_expr(webhook_delivery::Column::LastStatus, status(Some(*s)))
                .col_expr(webhook_delivery::Column::LastError, Expr::value(Option::<String>::None))
                .col_expr(webhook_delivery::Column::CompletedAt, Expr::value(n)),
            DeliveryAttempt::Retry { at: due, status: s, error } => q
                .col_expr(webhook_delivery::Column::Status, Expr::value("pending"))
                .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(ms(*due)))
                .col_expr(webhook_delivery::Column::LastStatus, status(*s))
                .col_expr(webhook_delivery::Column::LastError, Expr::value(error.as_str())),
            DeliveryAttempt::Failed { status: s, error } => q
                .col_expr(webhook_delivery::Column::Status, Expr::value("failed"))
                .col_expr(webhook_delivery::Column::LastStatus, status(*s))
                .col_expr(webhook_delivery::Column::LastError, Expr::value(error.as_str()))
                .col_expr(webhook_delivery::Column::CompletedAt, Expr::value(n)),
            DeliveryAttempt::Cancelled { reason } => q
                .col_expr(webhook_delivery::Column::Status, Expr::value("cancelled"))
                .col_expr(webhook_delivery::Column::LastError, Expr::value(reason.as_str()))
                .col_expr(webhook_delivery::Column::CompletedAt, Expr::value(n)),
        };
        let res = q
            .filter(webhook_delivery::Column::Seq.eq(seq))
            .filter(webhook_delivery::Column::LockedBy.eq(worker))
            .filter(webhook_delivery::Column::Status.eq("sending"))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    pub(super) async fn list_webhook_deliveries_impl(
        &self,
        client: &ClientId,
        limit: u64,
    ) -> StoreResult<Vec<WebhookDeliveryRecord>> {
        webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::ClientId.eq(client.as_str()))
            .order_by_desc(webhook_delivery::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(delivery_from)
            .collect()
    }
}
