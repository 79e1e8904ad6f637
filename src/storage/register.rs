//! Units, contacts, accounts and the register's audit trail.

use super::{Result, StorageError, Store, from_secs, to_secs, with_pool};
use crate::registry::diff::Plan;
use crate::registry::{
    Account, AccountState, Contact, Platform, Register, Source, ThresholdOverrides, Unit, UnitKind,
};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

pub use crate::registry::audit::RegisterEvent;

type UnitRow = (String, String, String, Option<String>);
type ContactRow = (
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);
type AccountRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    bool,
    String,
    Option<String>,
);

const SELECT_UNITS: &str = "SELECT id, name, kind, chat FROM units ORDER BY position, id";
const SELECT_CONTACTS: &str = "SELECT unit_id, name, telegram_id, dingtalk_id, feishu_open_id, phone FROM contacts ORDER BY unit_id, position";
/// An [`AccountRow`]'s columns in a JSON row (see `bulk`): the flag as a
/// JSON boolean.
const ACCOUNT_JSON_COLUMNS: &str = "id, unit_id, name, platform, proxy, route, feed, state, \
     deregistered_on, filing_ref, json(CASE WHEN is_interactive THEN 'true' ELSE 'false' END), \
     thresholds, note";

/// [`SELECT_ACCOUNTS`] as one JSON row on SQLite.
fn accounts_json_sql() -> String {
    super::bulk::json_rows_sql(
        "SELECT id, unit_id, name, platform, proxy, route, feed, state, deregistered_on, \
         filing_ref, is_interactive, thresholds, note, position FROM accounts",
        ACCOUNT_JSON_COLUMNS,
        Some("position, id"),
    )
}

const SELECT_ACCOUNTS: &str = "SELECT id, unit_id, name, platform, proxy, route, feed, state, \
     deregistered_on, filing_ref, is_interactive, thresholds, note FROM accounts ORDER BY position, id";

/// Binds an account's 17 parameters, in the order of [`INSERT_ACCOUNT`]:
/// its columns, then `position`, `registered_at`, `updated_at`, `note` and
/// `state_since` (the time `$at` three times: each parameter is used once, in
/// order, so that SQLite's rows can be anonymous `?`s; see `register_apply`).
macro_rules! bind_account {
    ($query:expr, $account:expr, $at:expr, $position:expr) => {{
        let account: &$crate::registry::Account = $account;
        let (proxy, route, feed) = match &account.source {
            $crate::registry::Source::Proxy { proxy, route } => (Some(proxy), Some(route), None),
            $crate::registry::Source::Feed { feed } => (None, None, Some(feed)),
            $crate::registry::Source::Manual {} => (None, None, None),
        };
        let thresholds = serde_json::to_string(&account.thresholds)
            .expect("threshold overrides always serialize");
        $query
            .bind(&account.id)
            .bind(&account.unit)
            .bind(&account.name)
            .bind(account.platform.id())
            .bind(proxy.cloned())
            .bind(route.cloned())
            .bind(feed.cloned())
            .bind(account.state.id())
            .bind(
                account
                    .deregistered_on
                    .map(|d| d.format("%Y-%m-%d").to_string()),
            )
            .bind(&account.filing_ref)
            .bind(account.is_interactive)
            .bind(thresholds)
            .bind($position)
            .bind($at)
            .bind($at)
            .bind(&account.note)
            .bind($at)
    }};
}
pub(super) use bind_account;

/// Inserts an account; fails when the id is taken.
pub(super) const INSERT_ACCOUNT: &str = "INSERT INTO accounts (id, unit_id, name, platform, proxy, route, \
     feed, state, deregistered_on, filing_ref, is_interactive, thresholds, position, registered_at, \
     updated_at, note, state_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
/// What an account already stored takes from the file's entry; its
/// position and registration date stay (`excluded` is the row offered).
pub(super) const UPSERT_ACCOUNT_SET: &str = " ON CONFLICT (id) DO UPDATE SET state_since = CASE \
     WHEN accounts.state = excluded.state THEN accounts.state_since ELSE excluded.updated_at END, \
     unit_id = excluded.unit_id, name = excluded.name, platform = excluded.platform, \
     proxy = excluded.proxy, route = excluded.route, feed = excluded.feed, state = excluded.state, \
     deregistered_on = excluded.deregistered_on, filing_ref = excluded.filing_ref, \
     is_interactive = excluded.is_interactive, thresholds = excluded.thresholds, \
     updated_at = excluded.updated_at, note = excluded.note";

/// A never-fetched account's fetch state: due at once, `last_checked_at` NULL.
pub(super) const INSERT_FETCH_PLACEHOLDER: &str = "INSERT INTO fetch_state (account_id, next_check_at) \
     VALUES ($1, 0) ON CONFLICT (account_id) DO NOTHING";

/// One audit-trail entry: who changed which unit or account, how.
pub(super) const INSERT_REGISTER_EVENT: &str = "INSERT INTO register_events (at, actor, source, entity, entity_id, action, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Writes one audit entry ([`INSERT_REGISTER_EVENT`]) in the write
/// transaction `$tx` of a `with_pool!` body (either backend): `(when, who,
/// from where)`, then the entity, its id, the action and its detail (JSON
/// text), or `change:` a register change. The chat, the content checks,
/// the 转载任务 and the register all write their entries through it.
macro_rules! insert_register_event {
    (
        $tx:expr,
        ($at:expr, $actor:expr, $source:expr),
        $entity:expr,
        $entity_id:expr,
        $action:expr,
        $detail:expr $(,)?
    ) => {
        sqlx::query($crate::storage::register::INSERT_REGISTER_EVENT)
            .bind($at)
            .bind($actor)
            .bind($source)
            .bind($entity)
            .bind($entity_id)
            .bind($action)
            .bind($detail)
            .execute(&mut *$tx)
            .await?
    };
    // The entry of a register change: what `Change::describe` and
    // `Change::detail` say of it.
    ($tx:expr, ($at:expr, $actor:expr, $source:expr), change: $change:expr $(,)?) => {{
        let change: &$crate::registry::diff::Change = $change;
        let (entity, entity_id, action) = change.describe();
        insert_register_event!(
            $tx,
            ($at, $actor, $source),
            entity,
            entity_id,
            action,
            change.detail().to_string(),
        )
    }};
}
pub(super) use insert_register_event;

impl Store {
    /// The whole stored register, in registration order.
    pub async fn load_register(&self) -> Result<Register> {
        let is_sqlite = matches!(self, Store::Sqlite(..));
        let (units, contacts, accounts) = with_pool!(self, pool => {
            let units: Vec<UnitRow> = sqlx::query_as(SELECT_UNITS).fetch_all(pool).await?;
            let contacts: Vec<ContactRow> = sqlx::query_as(SELECT_CONTACTS).fetch_all(pool).await?;
            let accounts: Vec<AccountRow> = if is_sqlite {
                let (json,): (String,) =
                    sqlx::query_as(sqlx::AssertSqlSafe(accounts_json_sql())).fetch_one(pool).await?;
                super::bulk::decode_json_rows(&json, "accounts")?
            } else {
                sqlx::query_as(SELECT_ACCOUNTS).fetch_all(pool).await?
            };
            (units, contacts, accounts)
        });
        let mut register = Register::default();
        // Contacts grouped by unit once (in their stored order), not
        // filtered again for each of 10,000 units.
        let mut by_unit: HashMap<String, Vec<Contact>> = HashMap::new();
        for (unit, name, telegram_id, dingtalk_id, feishu_open_id, phone) in contacts {
            by_unit.entry(unit).or_default().push(Contact {
                name,
                telegram_id,
                dingtalk_id,
                feishu_open_id,
                phone,
            });
        }
        for (id, name, kind, chat) in units {
            let kind =
                UnitKind::from_id(&kind).ok_or_else(|| corrupt("unit", &id, "kind", &kind))?;
            let contacts = by_unit.remove(&id).unwrap_or_default();
            register.units.push(Unit {
                id,
                name,
                kind,
                contacts,
                chat,
            });
        }
        for row in accounts {
            register.accounts.push(account_from_row(row)?);
        }
        Ok(register)
    }

    /// Applies a plan in one transaction, recording each change in the audit trail.
    pub async fn apply_plan(
        &self,
        plan: &Plan,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.apply_changes(plan, actor, source, None, now).await
    }

    /// Applies a plan read from the register file, and records the import
    /// itself (entity `register`, action `import`) in the same transaction:
    /// non-file changes after it are the ones a later import must not undo.
    ///
    /// `seen_event_id` is the newest audit entry when the plan was checked
    /// for conflicts: if the register changed since (a chat command in
    /// between), nothing is applied and [`StorageError::Conflict`] says so.
    pub async fn apply_import(
        &self,
        plan: &Plan,
        actor: &str,
        import: &serde_json::Value,
        seen_event_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.apply_changes(plan, actor, "file", Some((import, seen_event_id)), now)
            .await
    }

    /// The id of the newest audit entry (0 when there is none).
    pub async fn last_register_event_id(&self) -> Result<i64> {
        let (id,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM register_events")
                .fetch_one(pool)
                .await?
        });
        Ok(id)
    }

    /// How many accounts each proxy serves in the whole register.
    pub async fn proxy_account_count(&self, proxy: &str) -> Result<usize> {
        let (n,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM accounts WHERE proxy = $1")
                .bind(proxy)
                .fetch_one(pool)
                .await?
        });
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// These accounts (those still registered), in no particular order.
    pub async fn accounts_by_id<S: AsRef<str> + Sync>(&self, ids: &[S]) -> Result<Vec<Account>> {
        let is_sqlite = matches!(self, Store::Sqlite(..));
        let columns = SELECT_ACCOUNTS
            .split(" FROM ")
            .next()
            .expect("a SELECT has a FROM");
        let mut accounts = Vec::with_capacity(ids.len());
        for batch in ids.chunks(super::polling::ID_BATCH) {
            let mut sql = format!("{columns} FROM accounts WHERE id IN ");
            super::posts::push_rows(&mut sql, 1, batch.len(), is_sqlite);
            let rows: Vec<AccountRow> = with_pool!(self, pool => {
                super::bulk::fetch_rows!(pool, is_sqlite, sql, ACCOUNT_JSON_COLUMNS, "accounts", |query| {
                    let mut query = query;
                    for id in batch {
                        query = query.bind(id.as_ref());
                    }
                    query
                })
            });
            for row in rows {
                accounts.push(account_from_row(row)?);
            }
        }
        Ok(accounts)
    }

    /// When each account was first registered.
    pub async fn registered_at(&self) -> Result<HashMap<String, DateTime<Utc>>> {
        let is_sqlite = matches!(self, Store::Sqlite(..));
        let sql = "SELECT id, registered_at FROM accounts".to_string();
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            super::bulk::fetch_rows!(pool, is_sqlite, sql, "id, registered_at", "accounts", |query| query)
        });
        rows.into_iter()
            .map(|(id, at)| Ok((id, from_secs(at)?)))
            .collect()
    }

    /// The audit trail, newest last; `entity_id` filters to one unit or account.
    pub async fn register_events(&self, entity_id: Option<&str>) -> Result<Vec<RegisterEvent>> {
        let rows: Vec<EventRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT_EVENTS} WHERE $1 IS NULL OR entity_id = $1 ORDER BY id"
            )))
            .bind(entity_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(event_from_row).collect()
    }

    /// The audit trail from `since` on (everything when `None`), oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn register_events_since(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<RegisterEvent>> {
        let rows: Vec<EventRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT_EVENTS} WHERE at >= $1 ORDER BY id"
            )))
            .bind(since.map_or(i64::MIN, to_secs))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(event_from_row).collect()
    }

    /// Changes not made by the file since the file was last imported: the
    /// ones an import of the file must not silently undo.
    #[tracing::instrument(skip_all)]
    pub async fn changes_since_file_import(&self) -> Result<Vec<RegisterEvent>> {
        let rows: Vec<EventRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT_EVENTS} WHERE source <> 'file' AND id > \
                 (SELECT COALESCE(MAX(id), 0) FROM register_events WHERE source = 'file') ORDER BY id"
            )))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(event_from_row).collect()
    }

    /// The newest audit entry of each unit and account, by (entity, id):
    /// one read, where an import from another file asked once per entry
    /// (100,000 queries for a register of 100,000 accounts).
    pub async fn latest_register_events(&self) -> Result<HashMap<(String, String), RegisterEvent>> {
        let is_sqlite = matches!(self, Store::Sqlite(..));
        let sql = format!(
            "{SELECT_EVENTS} WHERE id IN (SELECT MAX(id) FROM register_events GROUP BY entity, entity_id)"
        );
        let rows: Vec<EventRow> = with_pool!(self, pool => {
            super::bulk::fetch_rows!(
                pool,
                is_sqlite,
                sql,
                "id, at, actor, source, entity, entity_id, action, detail",
                "register_events",
                |query| query
            )
        });
        let mut latest = HashMap::with_capacity(rows.len());
        for row in rows {
            let event = event_from_row(row)?;
            latest.insert((event.entity.clone(), event.entity_id.clone()), event);
        }
        Ok(latest)
    }
}

type EventRow = (i64, i64, String, String, String, String, String, String);

const SELECT_EVENTS: &str =
    "SELECT id, at, actor, source, entity, entity_id, action, detail FROM register_events";

fn event_from_row(row: EventRow) -> Result<RegisterEvent> {
    let (id, at, actor, source, entity, entity_id, action, detail) = row;
    Ok(RegisterEvent {
        id,
        at: from_secs(at)?,
        actor,
        source,
        entity,
        entity_id,
        action,
        detail: serde_json::from_str(&detail)
            .map_err(|e| StorageError::Corrupt(format!("register event detail: {e}")))?,
    })
}

fn corrupt(entity: &str, id: &str, field: &str, value: &str) -> StorageError {
    StorageError::Corrupt(format!(
        "{entity} \"{id}\": {field} \"{value}\" is not valid"
    ))
}

fn account_from_row(row: AccountRow) -> Result<Account> {
    let (
        id,
        unit,
        name,
        platform,
        proxy,
        route,
        feed,
        state,
        dereg,
        filing_ref,
        interactive,
        thresholds,
        note,
    ) = row;
    let platform = Platform::from_id(&platform)
        .ok_or_else(|| corrupt("account", &id, "platform", &platform))?;
    let state =
        AccountState::from_id(&state).ok_or_else(|| corrupt("account", &id, "state", &state))?;
    let source = match (proxy, route, feed) {
        (Some(proxy), Some(route), None) => Source::Proxy { proxy, route },
        (None, None, Some(feed)) => Source::Feed { feed },
        (None, None, None) if platform.is_without_route() => Source::Manual {},
        _ => return Err(corrupt("account", &id, "source", "incomplete")),
    };
    let deregistered_on = dereg
        .map(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| corrupt("account", &id, "deregistered_on", &d))
        })
        .transpose()?;
    let thresholds: ThresholdOverrides = serde_json::from_str(&thresholds)
        .map_err(|_| corrupt("account", &id, "thresholds", &thresholds))?;
    Ok(Account {
        id,
        unit,
        name,
        platform,
        source,
        state,
        deregistered_on,
        filing_ref,
        is_interactive: interactive,
        thresholds,
        note,
    })
}

impl Store {
    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT value FROM meta WHERE key = $1").bind(key).fetch_optional(pool).await?
        });
        Ok(row.map(|(v,)| v))
    }

    pub async fn delete_meta(&self, key: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM meta WHERE key = $1").bind(key).execute(pool).await?;
        });
        Ok(())
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2")
                .bind(key)
                .bind(value)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// A pending /bind request: (applicant, name, unit id).
    pub async fn bind_request(&self, id: i64) -> Result<Option<(String, String, String)>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as("SELECT applicant, name, unit_id FROM bind_requests WHERE id = $1 AND status = 'pending'")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// Decides a pending /bind request: approved or refused.
    pub async fn close_bind_request(
        &self,
        id: i64,
        is_approved: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let status = if is_approved { "approved" } else { "refused" };
        with_pool!(self, pool => {
            sqlx::query("UPDATE bind_requests SET status = $4, decided_by = $2, decided_at = $3 WHERE id = $1")
                .bind(id)
                .bind(by)
                .bind(to_secs(now))
                .bind(status)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
