//! [`WalletProofStore`] on sea-orm: one query builder for SQLite and PostgreSQL.

use super::{insert_integration_in, ms, SeaStore};
use crate::entity::wallet_nonce;
use crate::{IntegrationRecord, StoreError, StoreResult};
use crate::{NewWalletNonce, NonceRefusal, VerifiedConnect, WalletProofStore};
use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use time::OffsetDateTime;

#[async_trait]
impl WalletProofStore for SeaStore {
    async fn insert_wallet_nonce(&self, n: &NewWalletNonce, purge_before: OffsetDateTime) -> StoreResult<()> {
        wallet_nonce::Entity::delete_many()
            .filter(wallet_nonce::Column::ExpiresAt.lt(ms(purge_before)))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        wallet_nonce::ActiveModel {
            digest: Set(n.digest.clone()),
            link_session_id: Set(n.link_session_id),
            provider: Set(n.provider.clone()),
            address: Set(n.address.clone()),
            created_at: Set(ms(n.created_at)),
            expires_at: Set(ms(n.expires_at)),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(())
    }

    async fn connect_verified_wallet(
        &self,
        digest: &str,
        link_session_id: i64,
        now: OffsetDateTime,
        integration: &IntegrationRecord,
    ) -> StoreResult<VerifiedConnect> {
        let address = integration.address.clone().unwrap_or_default();
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let spent = wallet_nonce::Entity::update_many()
            .col_expr(wallet_nonce::Column::UsedAt, Expr::value(ms(now)))
            .filter(wallet_nonce::Column::Digest.eq(digest))
            .filter(wallet_nonce::Column::LinkSessionId.eq(link_session_id))
            .filter(wallet_nonce::Column::Provider.eq(integration.provider.as_str()))
            .filter(wallet_nonce::Column::Address.eq(address.as_str()))
            .filter(wallet_nonce::Column::UsedAt.is_null())
            .filter(wallet_nonce::Column::ExpiresAt.gt(ms(now)))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if spent.rows_affected != 1 {
            let row = wallet_nonce::Entity::find()
                .filter(wallet_nonce::Column::Digest.eq(digest))
                .one(&txn)
                .await
                .map_err(crate::db_err)?;
            txn.rollback().await.map_err(crate::db_err)?;
            let refusal = match row {
                Some(r)
                    if r.link_session_id == link_session_id
                        && r.provider == integration.provider
                        && r.address == address =>
                {
                    if r.used_at.is_some() {
                        NonceRefusal::Used
                    } else {
                        NonceRefusal::Expired
                    }
                }
                _ => NonceRefusal::Unknown,
            };
            return Ok(VerifiedConnect::Nonce(refusal));
        }
        match insert_integration_in(&txn, integration).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                txn.rollback().await.map_err(crate::db_err)?;
                return Ok(VerifiedConnect::Duplicate);
            }
            Err(e) => return Err(e),
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(VerifiedConnect::Connected)
    }
}
