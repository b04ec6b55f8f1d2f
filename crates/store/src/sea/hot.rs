//! [`HotPathStore`] on sea-orm: one sea-query statement per authenticated read, an indexed
//! `client_origins` lookup for CORS, and the exchange as one data-modifying CTE on PostgreSQL
//! (a sequence of the same statements in one transaction on SQLite's writer connection).

use super::shape::{ShapeCache, Shaped};
use super::{at, json_list, ms, opt_at, outbox, SeaStore};
use crate::entity::{
    access_token, audit_event, client, grant, link_token, public_token, user, webhook_delivery, webhook_endpoint,
    workspace,
};
use crate::migration::ClientOrigins;
use crate::{AccessDetail, ClientAccess, HotPathStore, TokenAccess};
use crate::{AuditEvent, ExchangeOutcome, GrantLimits, IssueGrant, NewLinkSession, UserRecord};
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use kc_domain::{
    webhook_delivery_id, ClientId, ClientMode, ClientRecord, GrantId, GrantRecord, OsSecretRng, PublicTokenRecord,
    ScopeSet, TokenDigest, TokenRefusal, UserId, WebhookEvent, WorkspaceId,
};
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, InsertStatement, JoinType, Order, Query, QueryStatementBuilder,
    SelectStatement, SimpleExpr, UpdateStatement, WithClause,
};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QueryResult, QueryTrait, Statement, TransactionTrait};
use time::OffsetDateTime;

fn al(name: &str) -> Alias {
    Alias::new(name)
}

/// The joined read of [`HotPathStore::client_access`]: client `c`, left-joined with its access
/// token `t` of digest `token`, the token's grant `g`, and the workspace `w` or user `u`.
pub(super) fn client_access_query(
    backend: DbBackend,
    client_id: &ClientId,
    token: Option<&TokenDigest>,
    detail: AccessDetail,
) -> SelectStatement {
    let (c, t, g, w, u) = (al("c"), al("t"), al("g"), al("w"), al("u"));
    let mut q = Query::select();
    q.from_as(client::Entity, c.clone());
    for (col, name) in [
        (client::Column::Id, "c_id"),
        (client::Column::Name, "c_name"),
        (client::Column::Mode, "c_mode"),
        (client::Column::SecretDigest, "c_secret_digest"),
        (client::Column::AllowedScopes, "c_allowed_scopes"),
        (client::Column::AllowedOrigins, "c_allowed_origins"),
        (client::Column::RedirectUris, "c_redirect_uris"),
        (client::Column::LogoUrl, "c_logo_url"),
        (client::Column::DisabledAt, "c_disabled_at"),
    ] {
        q.expr_as(Expr::col((c.clone(), col)), al(name));
    }
    q.and_where(Expr::col((c.clone(), client::Column::Id)).eq(client_id.as_str()));
    let Some(digest) = token else { return q };
    q.join_as(
        JoinType::LeftJoin,
        access_token::Entity,
        t.clone(),
        Expr::col((t.clone(), access_token::Column::Digest))
            .eq(digest.as_str())
            .and(Expr::col((t.clone(), access_token::Column::ClientId)).equals((c.clone(), client::Column::Id))),
    )
    .join_as(
        JoinType::LeftJoin,
        grant::Entity,
        g.clone(),
        Expr::col((g.clone(), grant::Column::Id)).equals((t.clone(), access_token::Column::GrantId)),
    )
    .expr_as(Expr::col((t.clone(), access_token::Column::ExpiresAt)), al("t_expires_at"));
    for (col, name) in [
        (grant::Column::Id, "g_id"),
        (grant::Column::ClientId, "g_client_id"),
        (grant::Column::UserId, "g_user_id"),
        (grant::Column::WorkspaceId, "g_workspace_id"),
        (grant::Column::Scopes, "g_scopes"),
        (grant::Column::CreatedAt, "g_created_at"),
        (grant::Column::ExpiresAt, "g_expires_at"),
        (grant::Column::RevokedAt, "g_revoked_at"),
        (grant::Column::TransactionLimit, "g_transaction_limit"),
        (grant::Column::EnableLimiter, "g_enable_limiter"),
    ] {
        q.expr_as(Expr::col((g.clone(), col)), al(name));
    }
    match detail {
        AccessDetail::Grant => {}
        AccessDetail::Holdings => super::holdings::holdings_columns(&mut q, backend),
        AccessDetail::Workspace => {
            q.join_as(
                JoinType::LeftJoin,
                workspace::Entity,
                w.clone(),
                Expr::col((w.clone(), workspace::Column::Id)).equals((g.clone(), grant::Column::WorkspaceId)),
            )
            .expr_as(Expr::col((w.clone(), workspace::Column::Name)), al("w_name"));
        }
        AccessDetail::User => {
            q.join_as(
                JoinType::LeftJoin,
                user::Entity,
                u.clone(),
                Expr::col((u.clone(), user::Column::Id)).equals((g.clone(), grant::Column::UserId)),
            );
            for (col, name) in [
                (user::Column::Id, "u_id"),
                (user::Column::Email, "u_email"),
                (user::Column::IsAnonymous, "u_is_anonymous"),
                (user::Column::Name, "u_name"),
                (user::Column::Language, "u_language"),
            ] {
                q.expr_as(Expr::col((u.clone(), col)), al(name));
            }
        }
    }
    q
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, col: &str) -> StoreResult<T> {
    row.try_get::<T>("", col).map_err(crate::db_err)
}

/// The SQL of [`client_access_query`] for `backend`, built once per shape (arguments: the
/// client id, then the token digest).
fn client_access_shape(backend: DbBackend, with_token: bool, detail: AccessDetail) -> Option<&'static Shaped> {
    static SHAPES: [ShapeCache; 8] = [const { ShapeCache::new() }; 8];
    let d = match detail {
        AccessDetail::Grant => 0,
        AccessDetail::Workspace => 1,
        AccessDetail::User => 2,
        AccessDetail::Holdings => 3,
    };
    SHAPES[usize::from(with_token) * 4 + d].get(backend, 2, |args| {
        let client = ClientId::from_stored(args[0].clone());
        let digest = TokenDigest::from_stored(args[1].clone());
        client_access_query(backend, &client, with_token.then_some(&digest), detail)
    })
}

/// A row of [`client_access_query`] read by column name, from either driver (sea-orm's rows,
/// or rusqlite's on SQLite's direct path), so the decoding is written once.
pub(super) trait Columns {
    fn text(&self, col: &str) -> StoreResult<Option<String>>;
    fn int(&self, col: &str) -> StoreResult<Option<i64>>;
    fn flag(&self, col: &str) -> StoreResult<Option<bool>>;

    /// [`Columns::text`] of column `col`, the `i`-th selected: by position where the driver
    /// finds a name by scanning every column (rusqlite), else by name.
    fn text_at(&self, _i: usize, col: &str) -> StoreResult<Option<String>> {
        self.text(col)
    }
    /// [`Columns::int`] of column `col`, the `i`-th selected (see [`Columns::text_at`]).
    fn int_at(&self, _i: usize, col: &str) -> StoreResult<Option<i64>> {
        self.int(col)
    }
    /// [`Columns::flag`] of column `col`, the `i`-th selected (see [`Columns::text_at`]).
    fn flag_at(&self, _i: usize, col: &str) -> StoreResult<Option<bool>> {
        self.flag(col)
    }

    /// A column that must not be `NULL`.
    fn required<T>(&self, col: &str, read: impl Fn(&Self, &str) -> StoreResult<Option<T>>) -> StoreResult<T>
    where
        Self: Sized,
    {
        read(self, col)?.ok_or_else(|| StoreError::Corrupt(format!("{col} is NULL")))
    }
}

/// `value` of column `col`, which must not be `NULL`.
pub(super) fn need<T>(value: Option<T>, col: &str) -> StoreResult<T> {
    value.ok_or_else(|| StoreError::Corrupt(format!("{col} is NULL")))
}

impl SeaStore {
    /// Runs a read and decodes every row: on a SQLite file on the direct path (on the caller's
    /// thread: for small, indexed reads), elsewhere on the pool within the read deadline. The
    /// SQL is `shaped`'s with `args` when given (built once), else `query()` built now.
    pub(super) async fn read_rows<T>(
        &self,
        shaped: Option<&Shaped>,
        args: &[&str],
        query: impl FnOnce() -> SelectStatement,
        decode: impl Fn(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let backend = self.db.get_database_backend();
        let (sql, values): (std::borrow::Cow<'_, str>, _) = match shaped {
            Some(shaped) => (shaped.sql().into(), shaped.values(args)),
            None => {
                let stmt = backend.build(&query());
                (stmt.sql.into(), stmt.values.unwrap_or_else(|| sea_orm::sea_query::Values(Vec::new())))
            }
        };
        #[cfg(feature = "sqlite")]
        if let Some(direct) = self.direct() {
            return direct.readers.read(|c| {
                let mut out = Vec::new();
                c.query_sql_each(&sql, values, |row| {
                    out.push(decode(row)?);
                    Ok(())
                })?;
                Ok(out)
            });
        }
        let stmt = Statement::from_sql_and_values(backend, sql.into_owned(), values);
        let read = async { self.db.query_all(stmt).await.map_err(crate::db_err) };
        let rows = super::pool::within(self.read_deadline, read).await?;
        rows.iter().map(|row| decode(row)).collect()
    }
}

impl Columns for QueryResult {
    fn text(&self, col: &str) -> StoreResult<Option<String>> {
        get(self, col)
    }
    /// A `BIGINT`, or an `INTEGER` widened (PostgreSQL's driver does not convert between them).
    fn int(&self, col: &str) -> StoreResult<Option<i64>> {
        get::<Option<i64>>(self, col).or_else(|_| Ok(get::<Option<i32>>(self, col)?.map(i64::from)))
    }
    fn flag(&self, col: &str) -> StoreResult<Option<bool>> {
        get(self, col)
    }
}

#[cfg(feature = "sqlite")]
impl Columns for rusqlite::Row<'_> {
    fn text(&self, col: &str) -> StoreResult<Option<String>> {
        self.get(col).map_err(super::direct::sqlite_err)
    }
    fn int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.get(col).map_err(super::direct::sqlite_err)
    }
    fn flag(&self, col: &str) -> StoreResult<Option<bool>> {
        self.get(col).map_err(super::direct::sqlite_err)
    }
    fn text_at(&self, i: usize, col: &str) -> StoreResult<Option<String>> {
        at_position(self, i, col)
    }
    fn int_at(&self, i: usize, col: &str) -> StoreResult<Option<i64>> {
        at_position(self, i, col)
    }
    fn flag_at(&self, i: usize, col: &str) -> StoreResult<Option<bool>> {
        at_position(self, i, col)
    }
}

/// Column `i` of `row`, which the caller knows as `col` (checked in debug builds).
#[cfg(feature = "sqlite")]
fn at_position<T: rusqlite::types::FromSql>(row: &rusqlite::Row<'_>, i: usize, col: &str) -> StoreResult<T> {
    debug_assert_eq!(row.as_ref().column_name(i).ok(), Some(col), "column {i}");
    row.get(i).map_err(super::direct::sqlite_err)
}

pub(super) fn client_of(row: &impl Columns) -> StoreResult<ClientRecord> {
    let mode = row.required("c_mode", Columns::text)?;
    Ok(ClientRecord {
        mode: ClientMode::parse(&mode).ok_or_else(|| StoreError::Corrupt(format!("client mode {mode}")))?,
        allowed_origins: json_list(&row.required("c_allowed_origins", Columns::text)?)?,
        redirect_uris: json_list(&row.required("c_redirect_uris", Columns::text)?)?,
        id: ClientId::from_stored(row.required("c_id", Columns::text)?),
        name: row.required("c_name", Columns::text)?,
        allowed_scopes: ScopeSet::from_stored(&row.required("c_allowed_scopes", Columns::text)?),
        logo_url: row.text("c_logo_url")?,
        secret_digest: row.required("c_secret_digest", Columns::text)?,
        disabled: row.int("c_disabled_at")?.is_some(),
    })
}

pub(super) fn token_of(row: &impl Columns, detail: AccessDetail) -> StoreResult<Option<TokenAccess>> {
    let Some(expires) = row.int("t_expires_at")? else { return Ok(None) };
    let Some(grant_id) = row.text("g_id")? else {
        return Err(StoreError::Corrupt("access token of a missing grant".into()));
    };
    let text = |col: &str| row.required(col, Columns::text);
    let int = |col: &str| row.required(col, Columns::int);
    let grant = GrantRecord {
        id: GrantId::from_stored(grant_id.clone()),
        client_id: ClientId::from_stored(text("g_client_id")?),
        user_id: UserId::from_stored(text("g_user_id")?),
        workspace_id: WorkspaceId::from_stored(text("g_workspace_id")?),
        scopes: ScopeSet::from_stored(&text("g_scopes")?),
        created_at: at(int("g_created_at")?)?,
        expires_at: at(int("g_expires_at")?)?,
        revoked_at: opt_at(row.int("g_revoked_at")?)?,
    };
    let mut access = TokenAccess {
        grant,
        token_expires_at: at(expires)?,
        workspace_name: None,
        user: None,
        limits: None,
        holdings: None,
    };
    match detail {
        AccessDetail::Grant => {}
        AccessDetail::Holdings => access.holdings = Some(super::holdings::holdings_of(row)?),
        AccessDetail::Workspace => access.workspace_name = row.text("w_name")?,
        AccessDetail::User => {
            access.limits = Some(GrantLimits {
                transaction_limit: row.int("g_transaction_limit")?,
                enable_limiter: row.flag("g_enable_limiter")?.unwrap_or(false),
            });
            if let Some(id) = row.text("u_id")? {
                access.user = Some(UserRecord {
                    id: UserId::from_stored(id),
                    email: row.text("u_email")?,
                    is_anonymous: row.flag("u_is_anonymous")?.unwrap_or(false),
                    name: row.text("u_name")?,
                    language: row.text("u_language")?.unwrap_or_else(|| "en".to_owned()),
                });
            }
        }
    }
    Ok(Some(access))
}

/// A [`ClientAccess`] from a row of [`client_access_query`]. The token's columns are decoded
/// only for an admitted caller (the secret checked).
fn access_of(
    row: &impl Columns,
    with_token: bool,
    detail: AccessDetail,
    admit: &(dyn for<'c> Fn(&'c ClientRecord) -> bool + Send + Sync),
) -> StoreResult<ClientAccess> {
    let client = client_of(row)?;
    let token = if with_token && admit(&client) { token_of(row, detail)? } else { None };
    Ok(ClientAccess { client, token })
}

/// What [`exchange_preread`] found: the token and the endpoints that want `grant.created`.
struct Preread {
    token: PublicTokenRecord,
    endpoints: Vec<String>,
}

impl Preread {
    /// Adds one row (the token's columns repeat on every row, one row per endpoint).
    fn add(found: &mut Option<Preread>, row: &impl Columns) -> StoreResult<()> {
        let preread = match found {
            Some(p) => p,
            None => found.insert(Preread {
                token: PublicTokenRecord {
                    id: row.required("id", Columns::int)?,
                    client_id: ClientId::from_stored(row.required("client_id", Columns::text)?),
                    user_id: UserId::from_stored(row.required("user_id", Columns::text)?),
                    workspace_id: WorkspaceId::from_stored(row.required("workspace_id", Columns::text)?),
                    scopes: ScopeSet::from_stored(&row.required("scopes", Columns::text)?),
                    expires_at: at(row.required("expires_at", Columns::int)?)?,
                    used_at: opt_at(row.int("used_at")?)?,
                },
                endpoints: Vec::new(),
            }),
        };
        if let (Some(id), Some(events)) = (row.text("e_id")?, row.text("e_events")?) {
            let events = json_list(&events)?;
            if events.is_empty() || events.iter().any(|e| e == WebhookEvent::GrantCreated.as_str()) {
                preread.endpoints.push(id);
            }
        }
        Ok(())
    }
}

/// The public token of `digest` with the live webhook endpoints of `client_id` (one row per
/// endpoint, or one row with no endpoint): what an exchange must know before it writes.
fn exchange_preread(digest: &TokenDigest, client_id: &ClientId) -> SelectStatement {
    let (p, e) = (al("p"), al("e"));
    let mut q = Query::select();
    q.from_as(public_token::Entity, p.clone())
        .columns([
            (p.clone(), public_token::Column::Id),
            (p.clone(), public_token::Column::ClientId),
            (p.clone(), public_token::Column::UserId),
            (p.clone(), public_token::Column::WorkspaceId),
            (p.clone(), public_token::Column::Scopes),
            (p.clone(), public_token::Column::ExpiresAt),
            (p.clone(), public_token::Column::UsedAt),
        ])
        .join_as(
            JoinType::LeftJoin,
            webhook_endpoint::Entity,
            e.clone(),
            Expr::col((e.clone(), webhook_endpoint::Column::ClientId))
                .eq(client_id.as_str())
                .and(Expr::col((e.clone(), webhook_endpoint::Column::RemovedAt)).is_null())
                .and(
                    Expr::col((e.clone(), webhook_endpoint::Column::Id))
                        .not_in_subquery(super::console::disabled_endpoints()),
                ),
        )
        .expr_as(Expr::col((e.clone(), webhook_endpoint::Column::Id)), al("e_id"))
        .expr_as(Expr::col((e.clone(), webhook_endpoint::Column::Events)), al("e_events"))
        .and_where(Expr::col((p.clone(), public_token::Column::Digest)).eq(digest.as_str()))
        .order_by((e.clone(), webhook_endpoint::Column::CreatedAt), Order::Asc)
        .order_by((e, webhook_endpoint::Column::Id), Order::Asc);
    q
}

/// `INSERT INTO table (cols) VALUES (values)`, or with `source` (a CTE of the same statement)
/// `INSERT INTO table (cols) SELECT values FROM source`: nothing is inserted unless `source`
/// has a row.
fn insert(
    table: impl sea_orm::sea_query::IntoTableRef,
    cols: Vec<Alias>,
    values: Vec<SimpleExpr>,
    source: Option<&str>,
) -> StoreResult<InsertStatement> {
    let mut ins = Query::insert();
    ins.into_table(table).columns(cols);
    let built = match source {
        Some(src) => ins.select_from(Query::select().exprs(values).from(al(src)).to_owned()),
        None => ins.values(values),
    };
    built.map_err(|e| StoreError::Corrupt(format!("exchange statement: {e}")))?;
    Ok(ins)
}

fn cols(names: &[&str]) -> Vec<Alias> {
    names.iter().map(|n| al(n)).collect()
}

fn v(x: impl Into<sea_orm::Value>) -> SimpleExpr {
    Expr::val(x).into()
}

/// What an exchange writes from.
#[derive(Clone, Copy)]
struct ExchangeInput<'a> {
    token: &'a PublicTokenRecord,
    digest: &'a TokenDigest,
    client_id: &'a ClientId,
    now: OffsetDateTime,
    issue: &'a IssueGrant,
    endpoints: &'a [String],
    audit: &'a AuditEvent,
}

/// Everything an exchange writes, built once for both backends.
struct ExchangeWrites {
    claim: UpdateStatement,
    grant: InsertStatement,
    token: InsertStatement,
    deliveries: Vec<InsertStatement>,
    audit: InsertStatement,
}

impl ExchangeWrites {
    /// On PostgreSQL each insert selects from the CTE before it (`claimed` → `g`), so nothing is
    /// written unless the claim matched; on SQLite (`chained == false`) they are plain inserts
    /// run after checking the claim's row count.
    fn build(x: &ExchangeInput<'_>, chained: bool) -> StoreResult<Self> {
        let ExchangeInput { token, digest, client_id, now, issue, endpoints, audit } = *x;
        let (claimed, g) = if chained { (Some("claimed"), Some("g")) } else { (None, None) };
        let mut claim = Query::update();
        claim
            .table(public_token::Entity)
            .value(public_token::Column::UsedAt, ms(now))
            .and_where(Expr::col(public_token::Column::Digest).eq(digest.as_str()))
            .and_where(Expr::col(public_token::Column::ClientId).eq(client_id.as_str()))
            .and_where(Expr::col(public_token::Column::UsedAt).is_null())
            .and_where(Expr::col(public_token::Column::ExpiresAt).gt(ms(now)));
        if chained {
            claim.returning_col(public_token::Column::Id);
        }
        let (created, expires) = (ms(issue.created_at), ms(issue.expires_at));
        let mut grant = insert(
            grant::Entity,
            cols(&[
                "id",
                "client_id",
                "user_id",
                "workspace_id",
                "scopes",
                "created_at",
                "expires_at",
                "enable_limiter",
            ]),
            vec![
                v(issue.grant_id.to_string()),
                v(client_id.to_string()),
                v(token.user_id.to_string()),
                v(token.workspace_id.to_string()),
                v(token.scopes.to_string()),
                v(created),
                v(expires),
                v(false),
            ],
            claimed,
        )?;
        if chained {
            grant.returning_col(grant::Column::Id);
        }
        let token_row = insert(
            access_token::Entity,
            cols(&["digest", "grant_id", "client_id", "created_at", "expires_at"]),
            vec![
                v(issue.access_digest.as_str()),
                v(issue.grant_id.to_string()),
                v(client_id.to_string()),
                v(created),
                v(expires),
            ],
            g,
        )?;
        let model = grant::Model {
            seq: 0,
            id: issue.grant_id.to_string(),
            client_id: client_id.to_string(),
            user_id: token.user_id.to_string(),
            workspace_id: token.workspace_id.to_string(),
            scopes: token.scopes.to_string(),
            created_at: created,
            expires_at: expires,
            revoked_at: None,
            transaction_limit: None,
            enable_limiter: false,
        };
        let payload = outbox::grant_data(&model).to_string();
        let mut deliveries = Vec::new();
        for endpoint in endpoints {
            let at = ms(now);
            deliveries.push(insert(
                webhook_delivery::Entity,
                cols(&[
                    "id",
                    "endpoint_id",
                    "client_id",
                    "event",
                    "ordering_key",
                    "payload",
                    "occurred_at",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                    "updated_at",
                ]),
                vec![
                    v(webhook_delivery_id(&OsSecretRng)),
                    v(endpoint.as_str()),
                    v(client_id.to_string()),
                    v(WebhookEvent::GrantCreated.as_str()),
                    v(issue.grant_id.to_string()),
                    v(payload.as_str()),
                    v(at),
                    v("pending"),
                    v(0_i32),
                    v(at),
                    v(at),
                    v(at),
                ],
                g,
            )?);
        }
        let audit = insert(
            audit_event::Entity,
            cols(&["at", "kind", "outcome", "client_id", "grant_id", "user_id", "ip", "request_id", "detail"]),
            vec![
                v(ms(audit.at)),
                v(audit.kind.as_str()),
                v(audit.outcome.as_str()),
                v(audit.client_id.clone()),
                v(audit.grant_id.clone()),
                v(Some(token.user_id.to_string())),
                v(audit.ip.clone()),
                v(audit.request_id.clone()),
                v(audit.detail.clone()),
            ],
            g,
        )?;
        Ok(Self { claim, grant, token: token_row, deliveries, audit })
    }

    /// The whole exchange as one PostgreSQL statement: a data-modifying CTE per write, each
    /// insert selecting from the one before, answering the new grant's id if the claim matched.
    fn into_cte(self) -> sea_orm::sea_query::WithQuery {
        let mut with = WithClause::new();
        cte(&mut with, "claimed", self.claim);
        cte(&mut with, "g", self.grant);
        cte(&mut with, "t", self.token);
        for (i, d) in self.deliveries.into_iter().enumerate() {
            cte(&mut with, &format!("d{i}"), d);
        }
        cte(&mut with, "a", self.audit);
        let answer = Query::select().column((al("g"), grant::Column::Id)).from(al("g")).to_owned();
        with.query(answer)
    }
}

/// Adds `name AS (query)` to `with`.
pub(super) fn cte(with: &mut WithClause, name: &str, query: impl QueryStatementBuilder) {
    let mut c = CommonTableExpression::new();
    c.table_name(al(name)).query(query);
    with.cte(c);
}

#[async_trait]
impl HotPathStore for SeaStore {
    async fn create_link_session(&self, session: &NewLinkSession, audit: &AuditEvent) -> StoreResult<()> {
        if let Some(batcher) = &self.link_batcher {
            // PostgreSQL: coalesced with the sessions other requests are writing (`sea::batch`).
            return batcher.write(super::sessions::link_row(session), super::audit::audit_row(audit)).await;
        }
        let link = link_token::Entity::insert(super::sessions::link_row(session)).into_query();
        let event = audit_event::Entity::insert(super::audit::audit_row(audit)).into_query();
        if self.db.get_database_backend() == DbBackend::Postgres {
            // One round trip, atomic: `WITH l AS (INSERT INTO link_tokens …) INSERT INTO audit_events …`.
            let mut with = WithClause::new();
            cte(&mut with, "l", link);
            let stmt = self.db.get_database_backend().build(&event.with(with));
            self.db.execute(stmt).await.map_err(crate::db_err)?;
            return Ok(());
        }
        #[cfg(feature = "sqlite")]
        if let Some(direct) = self.direct() {
            // A SQLite file: both rows in one write of the group-commit writer.
            direct
                .writer
                .write(move |c| {
                    c.execute(&link)?;
                    c.execute(&event)?;
                    Ok(())
                })
                .await?;
            return Ok(());
        }
        // In-memory SQLite: one transaction on the pool.
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let backend = txn.get_database_backend();
        txn.execute(backend.build(&link)).await.map_err(crate::db_err)?;
        txn.execute(backend.build(&event)).await.map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)
    }

    async fn client_access(
        &self,
        client_id: &ClientId,
        token: Option<&TokenDigest>,
        detail: AccessDetail,
        _now: OffsetDateTime,
        admit: &(dyn for<'c> Fn(&'c ClientRecord) -> bool + Send + Sync),
    ) -> StoreResult<Option<ClientAccess>> {
        let backend = self.db.get_database_backend();
        let shaped = client_access_shape(backend, token.is_some(), detail);
        let args = [client_id.as_str(), token.map_or("", |t| t.as_str())];
        #[cfg(feature = "sqlite")]
        if let Some(direct) = self.direct() {
            return direct.readers.read(|c| {
                let mut access = None;
                let mut each = |row: &rusqlite::Row<'_>| {
                    if access.is_none() {
                        access = Some(access_of(row, token.is_some(), detail, admit)?);
                    }
                    Ok(())
                };
                match shaped {
                    Some(shaped) => c.query_sql_each(shaped.sql(), shaped.values(&args), &mut each)?,
                    None => c.query_each(&client_access_query(backend, client_id, token, detail), &mut each)?,
                }
                Ok(access)
            });
        }
        let stmt = match shaped {
            Some(shaped) => Statement::from_sql_and_values(backend, shaped.sql(), shaped.values(&args)),
            None => backend.build(&client_access_query(backend, client_id, token, detail)),
        };
        let read = async { self.db.query_one(stmt).await.map_err(crate::db_err) };
        let Some(row) = super::pool::within(self.read_deadline, read).await? else { return Ok(None) };
        access_of(&row, token.is_some(), detail, admit).map(Some)
    }

    async fn origin_registered(&self, origin: &str) -> StoreResult<bool> {
        let (o, c) = (al("o"), al("c"));
        let q = Query::select()
            .expr(Expr::val(1))
            .from_as(ClientOrigins::Table, o.clone())
            .join_as(
                JoinType::InnerJoin,
                client::Entity,
                c.clone(),
                Expr::col((c.clone(), client::Column::Id)).equals((o.clone(), ClientOrigins::ClientId)),
            )
            .and_where(Expr::col((o, ClientOrigins::Origin)).eq(origin))
            .and_where(Expr::col((c, client::Column::DisabledAt)).is_null())
            .limit(1)
            .to_owned();
        let stmt = self.db.get_database_backend().build(&q);
        let read = async { self.db.query_one(stmt).await.map_err(crate::db_err) };
        Ok(super::pool::within(self.read_deadline, read).await?.is_some())
    }

    async fn exchange_and_audit(
        &self,
        digest: &TokenDigest,
        client_id: &ClientId,
        now: OffsetDateTime,
        issue: &IssueGrant,
        audit: &AuditEvent,
    ) -> StoreResult<ExchangeOutcome> {
        let backend = self.db.get_database_backend();
        // The token (its user, workspace and scopes never change) and the endpoints, read first.
        let preread = exchange_preread(digest, client_id);
        let mut found: Option<Preread> = None;
        #[cfg(feature = "sqlite")]
        let read_directly = match self.direct() {
            Some(direct) => {
                direct.readers.read(|c| c.query_each(&preread, |row| Preread::add(&mut found, row)))?;
                true
            }
            None => false,
        };
        #[cfg(not(feature = "sqlite"))]
        let read_directly = false;
        if !read_directly {
            let read = async { self.db.query_all(backend.build(&preread)).await.map_err(crate::db_err) };
            for row in super::pool::within(self.read_deadline, read).await? {
                Preread::add(&mut found, &row)?;
            }
        }
        let Some(Preread { token, endpoints }) = found else {
            return Ok(ExchangeOutcome::Refused(TokenRefusal::Invalid));
        };
        if let Err(refusal) = token.exchangeable_by(client_id, now) {
            return Ok(ExchangeOutcome::Refused(refusal));
        }
        let grant = GrantRecord {
            id: issue.grant_id.clone(),
            client_id: client_id.clone(),
            user_id: token.user_id.clone(),
            workspace_id: token.workspace_id.clone(),
            scopes: token.scopes.clone(),
            created_at: issue.created_at,
            expires_at: issue.expires_at,
            revoked_at: None,
        };
        let input = ExchangeInput { token: &token, digest, client_id, now, issue, endpoints: &endpoints, audit };
        if backend == DbBackend::Postgres {
            // One transaction of three round trips: `BEGIN`, one statement that claims the token
            // and writes the grant, the token, the deliveries and the audit event (each insert
            // selects from the claim, so nothing is written unless it matched), `COMMIT`. The
            // explicit transaction matters: if the caller's connection is lost while the
            // statement runs (say, waiting for a lock), PostgreSQL rolls it back instead of
            // committing an exchange whose access token nobody received. A concurrent exchange
            // of the same token makes the claim match no row (PostgreSQL re-checks
            // `used_at IS NULL` after the other's commit).
            let writes = ExchangeWrites::build(&input, true)?;
            let txn = self.db.begin().await.map_err(crate::db_err)?;
            let issued = txn.query_one(backend.build(&writes.into_cte())).await.map_err(crate::db_err)?;
            let Some(_) = issued else {
                txn.rollback().await.map_err(crate::db_err)?;
                return Ok(ExchangeOutcome::Refused(TokenRefusal::AlreadyUsed));
            };
            txn.commit().await.map_err(crate::db_err)?;
            return Ok(ExchangeOutcome::Issued(grant));
        }
        let writes = ExchangeWrites::build(&input, false)?;
        #[cfg(feature = "sqlite")]
        if let Some(direct) = self.direct() {
            // A SQLite file: one write of the group-commit writer, undone unless the claim
            // matched (the writer serializes writes, so exactly one claim of a token matches).
            let committed = direct
                .writer
                .write(move |c| {
                    if c.execute(&writes.claim)? != 1 {
                        return Err(super::direct::Undo::Refused);
                    }
                    c.execute(&writes.grant)?;
                    c.execute(&writes.token)?;
                    for d in &writes.deliveries {
                        c.execute(d)?;
                    }
                    c.execute(&writes.audit)?;
                    Ok(())
                })
                .await?;
            return Ok(if committed {
                ExchangeOutcome::Issued(grant)
            } else {
                ExchangeOutcome::Refused(TokenRefusal::AlreadyUsed)
            });
        }
        // In-memory SQLite: the same writes in one transaction on the pool.
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let claimed = txn.execute(backend.build(&writes.claim)).await.map_err(crate::db_err)?;
        if claimed.rows_affected() != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(ExchangeOutcome::Refused(TokenRefusal::AlreadyUsed));
        }
        txn.execute(backend.build(&writes.grant)).await.map_err(crate::db_err)?;
        txn.execute(backend.build(&writes.token)).await.map_err(crate::db_err)?;
        for d in &writes.deliveries {
            txn.execute(backend.build(d)).await.map_err(crate::db_err)?;
        }
        txn.execute(backend.build(&writes.audit)).await.map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(ExchangeOutcome::Issued(grant))
    }
}

/// Replaces the `client_origins` rows of `client_id` with `origins` (run with the client write).
pub(super) async fn replace_client_origins<C: ConnectionTrait>(
    conn: &C,
    client_id: &str,
    origins: &[String],
) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let delete = Query::delete()
        .from_table(ClientOrigins::Table)
        .and_where(Expr::col(ClientOrigins::ClientId).eq(client_id))
        .to_owned();
    conn.execute(backend.build(&delete)).await.map_err(crate::db_err)?;
    let mut unique: Vec<&String> = origins.iter().collect();
    unique.sort();
    unique.dedup();
    if unique.is_empty() {
        return Ok(());
    }
    let mut ins = Query::insert();
    ins.into_table(ClientOrigins::Table).columns([ClientOrigins::Origin, ClientOrigins::ClientId]);
    for o in unique {
        ins.values([o.as_str().into(), client_id.into()])
            .map_err(|e| StoreError::Corrupt(format!("client origins: {e}")))?;
    }
    conn.execute(backend.build(&ins)).await.map_err(crate::db_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kc_domain::{PlainToken, TokenKind};

    #[test]
    fn the_postgres_exchange_is_one_statement_of_chained_ctes() {
        let digest = PlainToken::parse(TokenKind::Public, "public_abc").map(|t| t.digest());
        let digest = digest.unwrap_or_else(|_| TokenDigest::from_stored("d".into()));
        let client = ClientId::from_stored("kc_x".into());
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20000);
        let token = PublicTokenRecord {
            id: 1,
            client_id: client.clone(),
            user_id: UserId::from_stored("u".into()),
            workspace_id: WorkspaceId::from_stored("w".into()),
            scopes: ScopeSet::from_stored("users:read"),
            expires_at: now + time::Duration::minutes(5),
            used_at: None,
        };
        let issue = IssueGrant {
            grant_id: GrantId::from_stored("grant_1".into()),
            access_digest: TokenDigest::from_stored("ad".into()),
            created_at: now,
            expires_at: now + time::Duration::days(1),
        };
        let audit = AuditEvent {
            at: now,
            kind: "token.exchange".into(),
            outcome: "success".into(),
            client_id: Some("kc_x".into()),
            grant_id: Some("grant_1".into()),
            user_id: None,
            ip: None,
            request_id: None,
            detail: None,
        };
        let endpoints = ["wh_1".to_owned()];
        let input = ExchangeInput {
            token: &token,
            digest: &digest,
            client_id: &client,
            now,
            issue: &issue,
            endpoints: &endpoints,
            audit: &audit,
        };
        let writes = ExchangeWrites::build(&input, true).expect("built");
        let sql = DbBackend::Postgres.build(&writes.into_cte()).sql;
        assert!(sql.starts_with("WITH \"claimed\" AS (UPDATE"), "{sql}");
        for part in
            ["\"g\" AS (INSERT", "\"t\" AS (INSERT", "\"d0\" AS (INSERT", "\"a\" AS (INSERT", "FROM \"claimed\""]
        {
            assert!(sql.contains(part), "{part} in {sql}");
        }
        assert!(sql.ends_with("SELECT \"g\".\"id\" FROM \"g\""), "{sql}");
    }
}
