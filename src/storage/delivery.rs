//! Work taken by one daemon among several: outbox claims with a lease,
//! delivery steps, dead messages, and named leases (the Telegram bot).

use super::alerts::{OutboxRow, outbox_item};
use super::{OutboxItem, Result, Store, to_secs, with_pool};
use chrono::{DateTime, Utc};

impl Store {
    /// Claims up to `limit` due messages for `owner` until `now + lease`,
    /// leaving out those for a broken channel (they wait for a restart
    /// instead of filling every claim).
    /// Rows another daemon holds (an unexpired claim) are skipped: on
    /// PostgreSQL with `FOR UPDATE SKIP LOCKED`; SQLite has one writer.
    pub async fn claim_messages(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        let lock = match self {
            Store::Sqlite(..) => "",
            Store::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2 WHERE id IN (\
             SELECT id FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL AND next_attempt_at <= $3 \
             AND (claimed_until IS NULL OR claimed_until < $3) \
             AND NOT EXISTS (SELECT 1 FROM channel_state c \
                 WHERE c.channel = outbox.channel || ':' || outbox.recipient AND c.is_broken) \
             ORDER BY id LIMIT $4 {lock}) \
             RETURNING id, channel, recipient, body, mentions, attempts, steps_done"
        );
        let mut rows: Vec<OutboxRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(to_secs(now + lease))
                .bind(to_secs(now))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.sort_by_key(|row| row.0);
        Ok(rows.into_iter().map(outbox_item).collect())
    }

    /// The keys of the channels marked broken.
    pub async fn broken_channels(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT channel FROM channel_state WHERE is_broken ORDER BY channel")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(key,)| key).collect())
    }

    /// Extends `owner`'s claim on an unsent message to `now + lease`; false
    /// when `owner` no longer holds it (another daemon took it over after
    /// the lease ran out): then `owner` must not send it.
    pub async fn renew_claim(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<bool> {
        let renewed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbox SET claimed_until = $3 \
                 WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL AND dead_at IS NULL",
            )
            .bind(id)
            .bind(owner)
            .bind(to_secs(now + lease))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(renewed == 1)
    }

    /// Records that the first `steps_done` steps of a message went out, so a
    /// retry resends only the rest; false when `owner` no longer holds it.
    pub async fn mark_steps_done(&self, id: i64, owner: &str, steps_done: u32) -> Result<bool> {
        let marked = with_pool!(self, pool => {
            sqlx::query("UPDATE outbox SET steps_done = $3 WHERE id = $1 AND claimed_by = $2")
                .bind(id)
                .bind(owner)
                .bind(i64::from(steps_done))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(marked == 1)
    }

    /// Gives up on a message: it stays in the outbox, dead, for the admins.
    /// Only while `owner` holds it.
    pub async fn mark_dead(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let marked = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $3, dead_at = $4, \
                 claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2",
            )
            .bind(id)
            .bind(owner)
            .bind(error)
            .bind(to_secs(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(marked == 1)
    }

    /// Gives up a claimed message for `instead` (the same text to other
    /// chats, with its files), in one transaction: false, and nothing
    /// queued, when `owner` no longer holds the claim.
    pub async fn reroute(
        &self,
        id: i64,
        owner: &str,
        reason: &str,
        instead: &[crate::alerts::compose::Message],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let at = to_secs(now);
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let given_up = sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $3, dead_at = $4, \
                 claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2",
            )
            .bind(id)
            .bind(owner)
            .bind(reason)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if given_up == 1 {
                for message in instead {
                    let new_id = super::insert_outbox!(tx, message, at);
                    sqlx::query(
                        "INSERT INTO outbox_files (outbox_id, position, name, kind, data) \
                         SELECT $1, position, name, kind, data FROM outbox_files WHERE outbox_id = $2",
                    )
                    .bind(new_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
            given_up == 1
        }))
    }

    /// Hands back every unsent message `owner` holds (on shutdown), so
    /// another daemon, or this one restarted, sends them at once.
    pub async fn release_claims(&self, owner: &str) -> Result<u64> {
        Ok(with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL \
                 WHERE claimed_by = $1 AND sent_at IS NULL",
            )
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// Takes or renews the lease `name` for `holder` until `now + ttl`;
    /// false while another holder's lease runs.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<bool> {
        let taken = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO leases (name, holder, until_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_at = excluded.until_at \
                 WHERE leases.holder = excluded.holder OR leases.until_at < $4",
            )
            .bind(name)
            .bind(holder)
            .bind(to_secs(now + ttl))
            .bind(to_secs(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }

    /// Gives the lease up (on shutdown), so another daemon takes it at once.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

/// What a starting daemon took back from processes that are gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    /// Outbox messages claimed and not sent.
    pub messages: u64,
    /// Scheduled job runs started and not finished.
    pub jobs: u64,
    /// Named leases (the Telegram bot's long polling).
    pub leases: u64,
}

impl Store {
    /// Releases, at start, the work of daemons that are gone, so it is done
    /// at once instead of after its lease. On SQLite (one daemon per
    /// database file) every claim, unfinished job run and lease is a
    /// predecessor's. On PostgreSQL only the holders `is_gone` names (this
    /// host's processes that no longer run): another live daemon may hold
    /// the rest.
    pub async fn release_gone_holders(&self, is_gone: impl Fn(&str) -> bool) -> Result<Released> {
        let rows: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT claimed_by FROM outbox WHERE claimed_by IS NOT NULL AND sent_at IS NULL \
                 UNION SELECT owner FROM job_runs WHERE finished_at IS NULL \
                 UNION SELECT holder FROM leases",
            )
            .fetch_all(pool)
            .await?
        });
        let is_sole_daemon = matches!(self, Store::Sqlite(..));
        let holders: Vec<String> = rows
            .into_iter()
            .map(|(holder,)| holder)
            .filter(|holder| is_sole_daemon || is_gone(holder))
            .collect();
        let mut released = Released::default();
        for holder in &holders {
            released.messages += self.release_claims(holder).await?;
            released.jobs += with_pool!(self, pool => {
                sqlx::query("DELETE FROM job_runs WHERE owner = $1 AND finished_at IS NULL")
                    .bind(holder)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            released.leases += with_pool!(self, pool => {
                sqlx::query("DELETE FROM leases WHERE holder = $1")
                    .bind(holder)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
        }
        Ok(released)
    }
}
