//! What the chat adds: accounts an admin registers (their id chosen inside
//! the insert's transaction, never overwriting another) and /bind requests
//! (limited per user and overall, announced to the admins in one digest).

use super::register::insert_register_event;
use super::{Result, StorageError, Store, to_secs, with_pool};
use crate::registry::Account;
use crate::registry::diff::Change;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;

/// /bind requests one user may make in 24 hours.
pub const BIND_PER_USER_PER_DAY: i64 = 3;
/// /bind requests from everyone, made in 24 hours, that may wait for approval.
pub const BIND_PENDING_PER_DAY: i64 = 20;
/// Requests arriving within this long of the first go out in one digest.
pub const BIND_DIGEST_DELAY_MINUTES: i64 = 5;
/// Ids tried before giving up on a registration (each miss means another
/// registration took that id in the meantime).
const MAX_ID_ATTEMPTS: usize = 100;

/// What became of a /bind request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindOutcome {
    Added {
        id: i64,
    },
    /// The same user already asked for the same unit, still undecided.
    AlreadyPending {
        id: i64,
    },
    TooManyFromUser,
    TooManyOverall,
}

/// An undecided /bind request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBind {
    pub id: i64,
    /// Who asked, as `UserId` writes it (`telegram:123`, `dingtalk:abc`).
    pub applicant: String,
    pub name: String,
    pub unit_id: String,
}

impl Store {
    /// Inserts a new account under `account.id`, or under the first free
    /// `{id}-2`, `{id}-3` … when that is taken, together with its audit
    /// entry, in one transaction. Returns the id used; never overwrites.
    pub async fn insert_new_account(
        &self,
        account: &Account,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let at = to_secs(now);
        let base = account.id.as_str();
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let mut inserted = None;
            for _ in 0..MAX_ID_ATTEMPTS {
                let taken: Vec<(String,)> =
                    sqlx::query_as("SELECT id FROM accounts WHERE id = $1 OR id LIKE $2")
                        .bind(base)
                        .bind(format!("{base}-%"))
                        .fetch_all(&mut *tx)
                        .await?;
                let candidate = first_free_id(base, taken.into_iter().map(|(id,)| id).collect());
                let candidate_account = Account {
                    id: candidate.clone(),
                    ..account.clone()
                };
                let (position,): (i64,) =
                    sqlx::query_as("SELECT COALESCE(MAX(position), 0) + 1 FROM accounts")
                        .fetch_one(&mut *tx)
                        .await?;
                let insert = format!(
                    "{} ON CONFLICT (id) DO NOTHING",
                    super::register::INSERT_ACCOUNT
                );
                let done = super::register::bind_account!(
                    sqlx::query(sqlx::AssertSqlSafe(insert)),
                    &candidate_account,
                    at,
                    position
                )
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if done == 1 {
                    sqlx::query(super::register::INSERT_FETCH_PLACEHOLDER)
                        .bind(&candidate)
                        .execute(&mut *tx)
                        .await?;
                    inserted = Some(candidate);
                    break;
                }
            }
            let Some(id) = inserted else {
                return Err(StorageError::Conflict(format!(
                    "no free account id like \"{base}\" after {MAX_ID_ATTEMPTS} attempts"
                )));
            };
            let change = Change::InsertAccount(Account { id: id.clone(), ..account.clone() });
            insert_register_event!(tx, (at, actor, source), change: &change);
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// Records a /bind request unless the same one is pending, the user made
    /// [`BIND_PER_USER_PER_DAY`] already, or [`BIND_PENDING_PER_DAY`] from
    /// everyone are waiting.
    pub async fn add_bind_request_limited(
        &self,
        applicant: &str,
        name: &str,
        unit_id: &str,
        now: DateTime<Utc>,
    ) -> Result<BindOutcome> {
        let day_ago = to_secs(now - Duration::days(1));
        let outcome = with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let same: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM bind_requests WHERE applicant = $1 AND unit_id = $2 \
                 AND status = 'pending' ORDER BY id LIMIT 1",
            )
            .bind(applicant)
            .bind(unit_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (from_user,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM bind_requests WHERE applicant = $1 AND created_at > $2",
            )
            .bind(applicant)
            .bind(day_ago)
            .fetch_one(&mut *tx)
            .await?;
            let (pending,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM bind_requests WHERE status = 'pending' AND created_at > $1",
            )
            .bind(day_ago)
            .fetch_one(&mut *tx)
            .await?;
            if let Some((id,)) = same {
                BindOutcome::AlreadyPending { id }
            } else if from_user >= BIND_PER_USER_PER_DAY {
                BindOutcome::TooManyFromUser
            } else if pending >= BIND_PENDING_PER_DAY {
                BindOutcome::TooManyOverall
            } else {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO bind_requests (applicant, name, unit_id, status, created_at) \
                     VALUES ($1, $2, $3, 'pending', $4) RETURNING id",
                )
                .bind(applicant)
                .bind(name)
                .bind(unit_id)
                .bind(to_secs(now))
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                BindOutcome::Added { id }
            }
        });
        Ok(outcome)
    }

    /// Rewrites each admin's unsent /bind digest (or queues one, sent
    /// [`BIND_DIGEST_DELAY_MINUTES`] from now) so that it lists every pending
    /// request, as `compose` words it.
    pub async fn refresh_bind_digest(
        &self,
        admins: &[crate::config::ChatTarget],
        compose: &(dyn Fn(&[PendingBind]) -> String + Sync),
        now: DateTime<Utc>,
    ) -> Result<()> {
        let at = to_secs(now);
        let send_at = to_secs(now + Duration::minutes(BIND_DIGEST_DELAY_MINUTES));
        // A digest about to go out is left alone: delivery may be sending it.
        let still_waiting = to_secs(now + Duration::seconds(30));
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
                "SELECT id, applicant, name, unit_id FROM bind_requests \
                 WHERE status = 'pending' ORDER BY id",
            )
            .fetch_all(&mut *tx)
            .await?;
            let pending: Vec<PendingBind> = rows
                .into_iter()
                .map(|(id, applicant, name, unit_id)| PendingBind { id, applicant, name, unit_id })
                .collect();
            let body = compose(&pending);
            for admin in admins {
                let key = format!("bind_digest.{}", admin.key());
                let known: Option<(String,)> = sqlx::query_as("SELECT value FROM meta WHERE key = $1")
                    .bind(&key)
                    .fetch_optional(&mut *tx)
                    .await?;
                let outbox_id = known.and_then(|(v,)| v.parse::<i64>().ok()).unwrap_or(-1);
                let updated = sqlx::query(
                    "UPDATE outbox SET body = $2 WHERE id = $1 AND sent_at IS NULL \
                     AND attempts = 0 AND next_attempt_at > $3",
                )
                .bind(outbox_id)
                .bind(&body)
                .bind(still_waiting)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO outbox (channel, recipient, body, mentions, created_at, next_attempt_at) \
                         VALUES ($5, $1, $2, '[]', $3, $4) RETURNING id",
                    )
                    .bind(&admin.recipient)
                    .bind(&body)
                    .bind(at)
                    .bind(send_at)
                    .bind(admin.channel.key())
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO meta (key, value) VALUES ($1, $2) \
                         ON CONFLICT (key) DO UPDATE SET value = $2",
                    )
                    .bind(&key)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

/// `base` if it is free, else the first free `{base}-2`, `{base}-3` ….
fn first_free_id(base: &str, taken: HashSet<String>) -> String {
    if !taken.contains(base) {
        return base.to_string();
    }
    (2_u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken.contains(id))
        .expect("a finite set leaves some number free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_free_id_skips_every_taken_suffix() {
        let taken = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect();
        assert_eq!(first_free_id("u-weibo", taken(&[])), "u-weibo");
        assert_eq!(first_free_id("u-weibo", taken(&["u-weibo-2"])), "u-weibo");
        assert_eq!(
            first_free_id("u-weibo", taken(&["u-weibo", "u-weibo-2", "u-weibo-4"])),
            "u-weibo-3"
        );
    }
}
