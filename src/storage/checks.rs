//! Stored posts as rule facts, inspection snapshots and job claims.

use super::{Result, StorageError, Store, from_secs, to_secs, with_pool};
use crate::parse::PostKind;
use crate::rules::{CheckResult, PostFact};
use chrono::{DateTime, Utc};

/// A stored post as the console lists it.
#[derive(Debug, Clone)]
pub struct RecentPost {
    pub published_at: DateTime<Utc>,
    pub title: Option<String>,
    pub link: Option<String>,
    /// `original`, `repost` or `unknown`.
    pub kind: String,
    pub is_date_estimated: bool,
}

impl Store {
    /// Stored posts of one account, oldest first (for reports and tests).
    pub async fn post_facts(&self, account_id: &str) -> Result<Vec<PostFact>> {
        let rows: Vec<(i64, i64, bool, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT published_at, first_seen_at, is_date_estimated, kind FROM posts \
                 WHERE account_id = $1 ORDER BY published_at",
            )
            .bind(account_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(published, seen, is_estimated, kind)| {
                Ok(PostFact {
                    published_at: from_secs(published)?,
                    first_seen_at: from_secs(seen)?,
                    is_date_estimated: is_estimated,
                    kind: PostKind::from_id(&kind)
                        .ok_or_else(|| StorageError::Corrupt(format!("post kind \"{kind}\"")))?,
                })
            })
            .collect()
    }

    /// Stores an inspection snapshot; returns its id.
    pub async fn save_inspection(&self, check: &CheckResult, now: DateTime<Utc>) -> Result<i64> {
        let summary = serde_json::to_string(&check.summary).expect("a summary serializes");
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO inspections (checked_at, summary) VALUES ($1, $2) RETURNING id",
            )
            .bind(to_secs(now))
            .bind(&summary)
            .fetch_one(&mut *tx)
            .await?;
            for account in &check.accounts {
                let last = account
                    .last_post_at
                    .as_deref()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.timestamp());
                sqlx::query(
                    "INSERT INTO inspection_results (inspection_id, account_id, unit_id, platform, \
                     state, verdict, last_post_at, findings) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(&account.id)
                .bind(&account.unit)
                .bind(&account.platform)
                .bind(&account.state)
                .bind(account.verdict.id())
                .bind(last)
                .bind(serde_json::to_string(&account.findings).expect("findings serialize"))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// An account's newest posts, newest first.
    pub async fn recent_posts(&self, account_id: &str, limit: i64) -> Result<Vec<RecentPost>> {
        type Row = (i64, Option<String>, Option<String>, String, bool);
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT published_at, title, link, kind, is_date_estimated FROM posts \
                 WHERE account_id = $1 ORDER BY published_at DESC, id DESC LIMIT $2",
            )
            .bind(account_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(at, title, link, kind, is_date_estimated)| {
                Ok(RecentPost {
                    published_at: from_secs(at)?,
                    title,
                    link,
                    kind,
                    is_date_estimated,
                })
            })
            .collect()
    }

    /// The summary of each inspection since `from` counted over one unit's
    /// accounts only, as the whole one is (deregistered ones not assessed).
    pub async fn unit_inspection_summaries(
        &self,
        unit: &str,
        from: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, crate::rules::Summary)>> {
        let rows: Vec<(i64, i64, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT i.id, i.checked_at, r.state, r.verdict FROM inspection_results r \
                 JOIN inspections i ON i.id = r.inspection_id \
                 WHERE i.checked_at >= $1 AND r.unit_id = $2 ORDER BY i.checked_at, i.id",
            )
            .bind(to_secs(from))
            .bind(unit)
            .fetch_all(pool)
            .await?
        });
        let mut out: Vec<(i64, DateTime<Utc>, Vec<crate::rules::Verdict>)> = Vec::new();
        for (id, at, state, verdict) in rows {
            if out.last().is_none_or(|(last, ..)| *last != id) {
                out.push((id, from_secs(at)?, Vec::new()));
            }
            let Some(verdict) = crate::rules::Verdict::from_id(&verdict) else {
                return Err(StorageError::Corrupt(format!(
                    "inspection verdict \"{verdict}\""
                )));
            };
            if let Some((.., verdicts)) = out.last_mut() {
                if state != "deregistered" {
                    verdicts.push(verdict);
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|(_, at, verdicts)| (at, crate::rules::Summary::from_verdicts(verdicts)))
            .collect())
    }

    /// The summary of each inspection since `from`, oldest first (the trend).
    pub async fn inspection_summaries(
        &self,
        from: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, crate::rules::Summary)>> {
        let rows: Vec<(i64, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT checked_at, summary FROM inspections WHERE checked_at >= $1 ORDER BY checked_at")
                .bind(to_secs(from))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(at, summary)| {
                let summary = serde_json::from_str(&summary)
                    .map_err(|e| StorageError::Corrupt(format!("inspection summary: {e}")))?;
                Ok((from_secs(at)?, summary))
            })
            .collect()
    }

    /// Inspections run in `[from, to)`: (id, time), oldest first.
    pub async fn inspections_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(i64, DateTime<Utc>)>> {
        let rows: Vec<(i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, checked_at FROM inspections WHERE checked_at >= $1 AND checked_at < $2 ORDER BY checked_at",
            )
            .bind(to_secs(from))
            .bind(to_secs(to))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, at)| Ok((id, from_secs(at)?)))
            .collect()
    }

    /// The verdict and rule ids of each account in one inspection.
    pub async fn inspection_results(
        &self,
        inspection_id: i64,
    ) -> Result<Vec<(String, String, Vec<String>)>> {
        let rows: Vec<(String, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT account_id, verdict, findings FROM inspection_results WHERE inspection_id = $1 ORDER BY account_id",
            )
            .bind(inspection_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(account, verdict, findings)| {
                let parsed: serde_json::Value = serde_json::from_str(&findings)
                    .map_err(|e| StorageError::Corrupt(format!("inspection findings: {e}")))?;
                let rules = parsed
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .filter_map(|f| {
                                f.get("rule").and_then(|r| r.as_str()).map(str::to_owned)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok((account, verdict, rules))
            })
            .collect()
    }
}

impl Store {
    /// Claims one run of a scheduled job; false when another process (or an
    /// earlier run) already has it. Several daemons on one database run each
    /// scheduled job once; a claim not finished within `lease` (its daemon
    /// died) is taken over.
    pub async fn claim_job(
        &self,
        job: &str,
        due_at: DateTime<Utc>,
        owner: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<bool> {
        let claimed = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO job_runs (job, due_at, owner, started_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (job, due_at) DO UPDATE SET owner = excluded.owner, started_at = excluded.started_at \
                 WHERE job_runs.finished_at IS NULL AND job_runs.started_at < $5",
            )
            .bind(job)
            .bind(to_secs(due_at))
            .bind(owner)
            .bind(to_secs(now))
            .bind(to_secs(now - lease))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(claimed == 1)
    }

    /// Gives back an unfinished claim (the run failed), so it is tried again.
    pub async fn release_job(&self, job: &str, due_at: DateTime<Utc>, owner: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM job_runs WHERE job = $1 AND due_at = $2 AND owner = $3 AND finished_at IS NULL",
            )
            .bind(job)
            .bind(to_secs(due_at))
            .bind(owner)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Marks a claimed run finished.
    pub async fn finish_job(
        &self,
        job: &str,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE job_runs SET finished_at = $3 WHERE job = $1 AND due_at = $2")
                .bind(job)
                .bind(to_secs(due_at))
                .bind(to_secs(now))
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
