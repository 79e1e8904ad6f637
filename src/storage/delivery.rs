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
            Store::Sqlite(_) => "",
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

    /// Records that the first `steps_done` steps of a message went out, so a
    /// retry resends only the rest.
    pub async fn mark_steps_done(&self, id: i64, steps_done: u32) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE outbox SET steps_done = $2 WHERE id = $1")
                .bind(id)
                .bind(i64::from(steps_done))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Gives up on a message: it stays in the outbox, dead, for the admins.
    pub async fn mark_dead(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, dead_at = $3, \
                 claimed_by = NULL, claimed_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(error)
            .bind(to_secs(now))
            .execute(pool)
            .await?;
        });
        Ok(())
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

impl Store {
    /// On SQLite (one daemon per database file), claims left by a daemon
    /// that died are released at start, so its messages go out at once
    /// instead of after the lease. PostgreSQL daemons wait for the lease,
    /// since another live daemon may hold the claims.
    pub async fn release_claims_at_start(&self) -> Result<u64> {
        match self {
            Store::Sqlite(pool) => Ok(sqlx::query(
                "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL \
                 WHERE claimed_by IS NOT NULL AND sent_at IS NULL",
            )
            .execute(pool)
            .await?
            .rows_affected()),
            Store::Postgres(_) => Ok(0),
        }
    }
}
