//! What the operators watch: outbox backlog, open alerts, broken channels.

use super::{Result, Store, to_secs, with_pool};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Figures for `/metrics`, read at scrape time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsCounts {
    /// Unsent outbox messages.
    pub outbox_pending: i64,
    /// Age of the oldest unsent message, in seconds (0 when none).
    pub outbox_oldest_pending_seconds: i64,
    /// Open alerts per rule id.
    pub open_alerts: BTreeMap<String, i64>,
    /// Channels marked broken.
    pub broken_channels: i64,
    /// Messages given up after their attempts.
    pub outbox_dead: i64,
}

impl Store {
    /// A cheap read that proves the database answers.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// A tiny write that proves the database takes writes (disk not full,
    /// not read-only, connection alive).
    pub async fn write_probe(&self, now: DateTime<Utc>) -> Result<()> {
        self.set_meta("heartbeat_at", &to_secs(now).to_string())
            .await
    }

    /// The operators' figures at `now`.
    pub async fn ops_counts(&self, now: DateTime<Utc>) -> Result<OpsCounts> {
        let (pending, oldest): (i64, Option<i64>) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL")
                .fetch_one(pool)
                .await?
        });
        let rules: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT rule, COUNT(*) FROM alerts WHERE status = 'open' GROUP BY rule")
                .fetch_all(pool)
                .await?
        });
        let (broken,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM channel_state WHERE is_broken")
                .fetch_one(pool)
                .await?
        });
        let (dead,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE dead_at IS NOT NULL")
                .fetch_one(pool)
                .await?
        });
        Ok(OpsCounts {
            outbox_dead: dead,
            outbox_pending: pending,
            outbox_oldest_pending_seconds: oldest
                .map_or(0, |created| to_secs(now).saturating_sub(created).max(0)),
            open_alerts: rules.into_iter().collect(),
            broken_channels: broken,
        })
    }
}

impl Store {
    /// An online, consistent copy of a SQLite database in `path` (`VACUUM
    /// INTO`: the daemon may keep running). PostgreSQL is backed up with
    /// `pg_dump`.
    pub async fn backup_to(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let target = path
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("备份文件名须为 UTF-8"))?;
        match self {
            Store::Sqlite(pool, _) => {
                sqlx::query("VACUUM INTO $1")
                    .bind(target)
                    .execute(pool)
                    .await?;
                Ok(())
            }
            Store::Postgres(_) => anyhow::bail!(
                "PostgreSQL 数据库请用 pg_dump 备份，例如：pg_dump -Fc -f xunjian.dump \"$XUNJIAN_DATABASE_URL\""
            ),
        }
    }
}
