//! What reports count from: inspection snapshots and posts of a period.

use super::{Result, StorageError, Store, from_secs, to_secs, with_pool};
use crate::parse::PostKind;
use crate::registry::{AccountState, Platform};
use crate::reports::{Snapshot, SnapshotFinding, SnapshotRow};
use crate::rules::{KindCounts, Rule, Verdict};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::{BTreeSet, HashMap};

type ResultRow = (i64, String, String, String, String, String, String);

impl Store {
    /// Inspections in `[from, to)` with every account's row, oldest first.
    pub async fn snapshots(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Snapshot>> {
        let runs = self.inspections_between(from, to).await?;
        let rows: Vec<ResultRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.inspection_id, r.account_id, r.unit_id, r.platform, r.state, r.verdict, r.findings \
                 FROM inspection_results r JOIN inspections i ON i.id = r.inspection_id \
                 WHERE i.checked_at >= $1 AND i.checked_at < $2 ORDER BY r.inspection_id, r.account_id",
            )
            .bind(to_secs(from))
            .bind(to_secs(to))
            .fetch_all(pool)
            .await?
        });
        let mut by_run: HashMap<i64, Vec<SnapshotRow>> = HashMap::new();
        for (run, account, unit, platform, state, verdict, findings) in rows {
            by_run.entry(run).or_default().push(snapshot_row(
                account, unit, &platform, &state, &verdict, &findings,
            )?);
        }
        Ok(runs
            .into_iter()
            .map(|(id, at)| Snapshot {
                id,
                at,
                rows: by_run.remove(&id).unwrap_or_default(),
            })
            .collect())
    }

    /// The last inspection before `before`, if any.
    pub async fn snapshot_before(&self, before: DateTime<Utc>) -> Result<Option<Snapshot>> {
        let last: Option<(i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, checked_at FROM inspections WHERE checked_at < $1 ORDER BY checked_at DESC LIMIT 1")
                .bind(to_secs(before))
                .fetch_optional(pool)
                .await?
        });
        let Some((_, at)) = last else { return Ok(None) };
        let at = from_secs(at)?;
        Ok(self.snapshots(at, at + Duration::seconds(1)).await?.pop())
    }

    /// Posts published in `[from, to)` per account and kind, and the Mondays
    /// (Asia/Shanghai) of the weeks each account posted in.
    pub async fn period_posts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(
        HashMap<String, KindCounts>,
        HashMap<String, BTreeSet<NaiveDate>>,
    )> {
        // Week index: local seconds since Monday 1970-01-05, divided by a week.
        let rows: Vec<(String, String, i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT account_id, kind, (published_at + 28800 - 345600) / 604800 AS week, COUNT(*) \
                 FROM posts WHERE published_at >= $1 AND published_at < $2 \
                 GROUP BY account_id, kind, (published_at + 28800 - 345600) / 604800",
            )
            .bind(to_secs(from))
            .bind(to_secs(to))
            .fetch_all(pool)
            .await?
        });
        let epoch_monday = NaiveDate::from_ymd_opt(1970, 1, 5).expect("a valid date");
        let mut counts: HashMap<String, KindCounts> = HashMap::new();
        let mut weeks: HashMap<String, BTreeSet<NaiveDate>> = HashMap::new();
        for (account, kind, week, n) in rows {
            let kind = PostKind::from_id(&kind)
                .ok_or_else(|| StorageError::Corrupt(format!("post kind \"{kind}\"")))?;
            crate::reports::add_post(
                counts.entry(account.clone()).or_default(),
                kind,
                u64::try_from(n).unwrap_or(0),
            );
            weeks
                .entry(account)
                .or_default()
                .insert(epoch_monday + Duration::weeks(week));
        }
        Ok((counts, weeks))
    }
}

fn snapshot_row(
    account: String,
    unit: String,
    platform: &str,
    state: &str,
    verdict: &str,
    findings: &str,
) -> Result<SnapshotRow> {
    let corrupt =
        |what: &str| StorageError::Corrupt(format!("inspection row of {account}: {what}"));
    let platform = Platform::from_id(platform).ok_or_else(|| corrupt("platform"))?;
    let state = AccountState::from_id(state).ok_or_else(|| corrupt("state"))?;
    let verdict = Verdict::from_id(verdict).ok_or_else(|| corrupt("verdict"))?;
    let parsed: serde_json::Value =
        serde_json::from_str(findings).map_err(|_| corrupt("findings"))?;
    let findings = parsed
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|f| {
                    let rule = Rule::from_id(f["rule"].as_str()?)?;
                    Some(SnapshotFinding {
                        rule,
                        severity: f["severity"].as_str()?.to_string(),
                        // Snapshots from before labels were stored: from the evidence.
                        label: f["label"].as_str().map_or_else(
                            || crate::rules::label_of(rule, &f["evidence"]),
                            str::to_string,
                        ),
                        message: f["message"].as_str().unwrap_or("").to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(SnapshotRow {
        is_assessed: state != AccountState::Deregistered,
        account,
        unit,
        platform,
        state,
        verdict,
        findings,
    })
}
