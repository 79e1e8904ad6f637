//! Fetch state, due-account claims and proxy health.

use super::posts::push_rows;
use super::{Result, StorageError, Store, from_secs, to_secs, with_pool};
use crate::fetch::{FetchState, Outcome};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

type FetchRow = (
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

macro_rules! fetch_columns {
    () => {
        "account_id, next_check_at, last_checked_at, last_success_at, first_success_at, \
         outcome, message, http_status, consecutive_failures, gone_streak, gone_since, etag, \
         last_modified, feed_title, feed_keys"
    };
}

const SELECT_FETCH: &str = concat!(
    "SELECT ",
    fetch_columns!(),
    " FROM fetch_state WHERE last_checked_at IS NOT NULL"
);

/// Ids per `IN (…)` list.
pub(super) const ID_BATCH: usize = 500;

/// Fetch states per upsert statement (15 parameters each).
const STATE_BATCH: usize = 64;

/// Splits states into upsert statements: at most [`STATE_BATCH`] each, and
/// never one account twice in a statement (PostgreSQL refuses that).
pub(super) fn state_batches<'a>(states: &'a [&'a FetchState]) -> Vec<Vec<&'a FetchState>> {
    let mut batches: Vec<Vec<&FetchState>> = Vec::new();
    let mut current: Vec<&FetchState> = Vec::new();
    for state in states {
        let is_repeat = current.iter().any(|s| s.account_id == state.account_id);
        if is_repeat || current.len() >= STATE_BATCH {
            batches.push(std::mem::take(&mut current));
        }
        current.push(state);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// A multi-row fetch-state upsert. Counters change in SQL from the stored
/// row, never from the snapshot read before the fetch (another writer may
/// have moved them): a failure adds one, a success resets.
pub(super) fn upsert_states_sql(rows: usize, is_sqlite: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO fetch_state (account_id, next_check_at, last_checked_at, last_success_at, \
         outcome, message, http_status, consecutive_failures, gone_streak, gone_since, etag, \
         last_modified, feed_title, first_success_at, feed_keys) VALUES ",
    );
    push_rows(&mut sql, rows, 15, is_sqlite);
    sql.push_str(
        " ON CONFLICT (account_id) DO UPDATE SET next_check_at = excluded.next_check_at, \
         last_checked_at = excluded.last_checked_at, \
         last_success_at = CASE WHEN excluded.outcome IN ('ok', 'not_modified') \
           THEN excluded.last_checked_at ELSE fetch_state.last_success_at END, \
         outcome = excluded.outcome, message = excluded.message, http_status = excluded.http_status, \
         consecutive_failures = CASE WHEN excluded.outcome IN ('ok', 'not_modified') \
           THEN 0 ELSE fetch_state.consecutive_failures + 1 END, \
         gone_streak = CASE WHEN excluded.outcome = 'gone' THEN fetch_state.gone_streak + 1 \
           WHEN excluded.outcome IN ('ok', 'not_modified') THEN 0 ELSE fetch_state.gone_streak END, \
         gone_since = CASE WHEN excluded.outcome = 'gone' \
           THEN COALESCE(fetch_state.gone_since, excluded.last_checked_at) \
           WHEN excluded.outcome IN ('ok', 'not_modified') THEN NULL ELSE fetch_state.gone_since END, \
         etag = excluded.etag, last_modified = excluded.last_modified, feed_title = excluded.feed_title, \
         first_success_at = COALESCE(fetch_state.first_success_at, excluded.first_success_at), \
         feed_keys = CASE WHEN excluded.outcome = 'ok' THEN excluded.feed_keys \
           ELSE fetch_state.feed_keys END",
    );
    sql
}

pub use crate::domain::ProxyHealth;

impl Store {
    /// Every account's fetch state, by account id.
    pub async fn fetch_states(&self) -> Result<HashMap<String, FetchState>> {
        let rows: Vec<FetchRow> = match self {
            Store::Sqlite(pool, _) => {
                let sql = super::bulk::json_rows_sql(SELECT_FETCH, fetch_columns!(), None);
                let (json,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_one(pool)
                    .await?;
                super::bulk::decode_json_rows(&json, "fetch_state")?
            }
            Store::Postgres(pool) => sqlx::query_as(SELECT_FETCH).fetch_all(pool).await?,
        };
        rows.into_iter()
            .map(|row| fetch_state_from_row(row).map(|s| (s.account_id.clone(), s)))
            .collect()
    }

    /// The fetch states of these accounts (those ever checked), by account id.
    pub async fn fetch_states_of<S: AsRef<str> + Sync>(
        &self,
        ids: &[S],
    ) -> Result<HashMap<String, FetchState>> {
        let is_sqlite = matches!(self, Store::Sqlite(..));
        let mut states = HashMap::with_capacity(ids.len());
        for batch in ids.chunks(ID_BATCH) {
            let mut sql = format!("{SELECT_FETCH} AND account_id IN ");
            push_rows(&mut sql, 1, batch.len(), is_sqlite);
            let rows: Vec<FetchRow> = with_pool!(self, pool => {
                super::bulk::fetch_rows!(pool, is_sqlite, sql, fetch_columns!(), "fetch_state", |query| {
                    let mut query = query;
                    for id in batch {
                        query = query.bind(id.as_ref());
                    }
                    query
                })
            });
            for row in rows {
                let state = fetch_state_from_row(row)?;
                states.insert(state.account_id.clone(), state);
            }
        }
        Ok(states)
    }

    /// Every registered account's id, in register order: what `poll --all`
    /// polls, without reading the accounts themselves.
    pub async fn account_ids(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id FROM accounts ORDER BY position, id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Ids of accounts that are due at `now` (or were never checked).
    pub async fn due_account_ids(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id FROM accounts a LEFT JOIN fetch_state f ON f.account_id = a.id \
                 WHERE f.next_check_at IS NULL OR f.next_check_at <= $1 \
                 ORDER BY COALESCE(f.next_check_at, 0), a.position",
            )
            .bind(to_secs(now))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Claims the accounts due at `now`: their next check moves to
    /// `now + lease`, so other daemons on the database skip them (on
    /// PostgreSQL with `FOR UPDATE SKIP LOCKED`) and a daemon that dies
    /// mid-cycle gives them back after the lease. Saving a result sets the
    /// real next check. One indexed statement: never-fetched accounts have
    /// a placeholder row from their registration (`last_checked_at` NULL),
    /// which [`Store::fetch_states`] does not show.
    pub async fn claim_due_accounts(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Vec<String>> {
        let lock = match self {
            Store::Sqlite(..) => "",
            Store::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        };
        let claim = format!(
            "UPDATE fetch_state SET next_check_at = $2 WHERE account_id IN (\
             SELECT account_id FROM fetch_state WHERE next_check_at <= $1 \
             ORDER BY next_check_at {lock}) RETURNING account_id"
        );
        let rows: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(claim))
                .bind(to_secs(now))
                .bind(to_secs(now + lease))
                .fetch_all(pool)
                .await?
        });
        let mut ids: Vec<String> = rows.into_iter().map(|(id,)| id).collect();
        ids.sort();
        Ok(ids)
    }

    /// Every proxy's last known health.
    pub async fn proxy_health(&self) -> Result<Vec<ProxyHealth>> {
        type Row = (String, bool, i64, Option<i64>, Option<String>);
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as("SELECT name, is_up, checked_at, down_since, message FROM proxy_state ORDER BY name")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(name, is_up, checked_at, down_since, message)| {
                Ok(ProxyHealth {
                    name,
                    is_up,
                    checked_at: from_secs(checked_at)?,
                    down_since: down_since.map(from_secs).transpose()?,
                    message,
                })
            })
            .collect()
    }

    /// Records a proxy's health; `down_since` keeps the start of an outage.
    pub async fn set_proxy_health(
        &self,
        name: &str,
        is_up: bool,
        message: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let at = to_secs(now);
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO proxy_state (name, is_up, checked_at, down_since, message) \
                 VALUES ($1, $2, $3, CASE WHEN $2 THEN NULL ELSE $3 END, $4) \
                 ON CONFLICT (name) DO UPDATE SET is_up = $2, checked_at = $3, message = $4, \
                 down_since = CASE WHEN $2 THEN NULL ELSE COALESCE(proxy_state.down_since, $3) END",
            )
            .bind(name)
            .bind(is_up)
            .bind(at)
            .bind(message)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

fn fetch_state_from_row(row: FetchRow) -> Result<FetchState> {
    let (
        account_id,
        next_check_at,
        last_checked_at,
        last_success_at,
        first_success_at,
        outcome,
        message,
        http_status,
        failures,
        gone_streak,
        gone_since,
        etag,
        last_modified,
        feed_title,
        feed_keys,
    ) = row;
    let outcome = outcome
        .map(|o| {
            Outcome::from_id(&o).ok_or_else(|| {
                StorageError::Corrupt(format!("fetch state of {account_id}: outcome \"{o}\""))
            })
        })
        .transpose()?;
    Ok(FetchState {
        next_check_at: Some(from_secs(next_check_at)?),
        last_checked_at: last_checked_at.map(from_secs).transpose()?,
        last_success_at: last_success_at.map(from_secs).transpose()?,
        first_success_at: first_success_at.map(from_secs).transpose()?,
        outcome,
        message,
        http_status: http_status.and_then(|s| u16::try_from(s).ok()),
        consecutive_failures: u32::try_from(failures).unwrap_or(u32::MAX),
        gone_streak: u32::try_from(gone_streak).unwrap_or(u32::MAX),
        gone_since: gone_since.map(from_secs).transpose()?,
        etag,
        last_modified,
        feed_title,
        feed_keys,
        account_id,
    })
}
