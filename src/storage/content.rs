//! Content inspection rows: post texts, findings, the allow list, rescans.

use super::posts::push_rows;
use super::register::insert_register_event;
use super::{Result, StorageError, Store, from_secs, to_secs, with_pool};
use crate::content::{ContentFinding, FindingState, Level};
use crate::domain::Rule;
use crate::parse::Post;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A new post with what the content checks found in it.
pub struct CheckedPost<'a> {
    pub id: i64,
    pub account_id: &'a str,
    pub post: &'a Post,
}

/// Findings per INSERT (16 parameters each).
const FINDING_BATCH: usize = 60;

fn insert_findings_sql(rows: usize, is_sqlite: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO content_findings (account_id, post_id, dedup_key, rule, level, category, \
         matched, suggestion, context, match_key, is_in_title, published_at, post_title, \
         post_link, found_at, state) VALUES ",
    );
    push_rows(&mut sql, rows, 16, is_sqlite);
    sql.push_str(" ON CONFLICT (post_id, rule, match_key) DO NOTHING");
    sql
}

/// Stores the hits and the 转载任务 of new posts inside the caller's transaction.
macro_rules! insert_checked {
    ($tx:expr, $checked:expr, $is_sqlite:expr, $seen:expr) => {{
        let checked: &[$crate::storage::content::CheckedPost<'_>] = $checked;
        let rows: Vec<(
            &$crate::storage::content::CheckedPost<'_>,
            &$crate::content::Hit,
        )> = checked
            .iter()
            .flat_map(|c| c.post.hits.iter().map(move |h| (c, h)))
            .collect();
        for batch in rows.chunks(60) {
            let sql = $crate::storage::content::findings_sql(batch.len(), $is_sqlite);
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (c, hit) in batch {
                query = query
                    .bind(c.account_id)
                    .bind(c.id)
                    .bind(&c.post.dedup_key)
                    .bind(hit.rule.id())
                    .bind(hit.level.id())
                    .bind(&hit.category)
                    .bind(&hit.matched)
                    .bind(&hit.suggestion)
                    .bind(&hit.context)
                    .bind(&hit.key)
                    .bind(hit.is_in_title)
                    .bind($crate::storage::to_secs(c.post.published_at))
                    .bind(&c.post.title)
                    .bind(&c.post.link)
                    .bind($seen)
                    .bind("open");
            }
            query.execute(&mut *$tx).await?;
        }
        for c in checked {
            for task in &c.post.tasks {
                sqlx::query(
                    "INSERT INTO repost_done (task_id, account_id, post_id, published_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (task_id, account_id) DO NOTHING",
                )
                .bind(*task)
                .bind(c.account_id)
                .bind(c.id)
                .bind($crate::storage::to_secs(c.post.published_at))
                .execute(&mut *$tx)
                .await?;
            }
        }
    }};
}
pub(crate) use insert_checked;

/// See [`insert_checked`].
pub fn findings_sql(rows: usize, is_sqlite: bool) -> String {
    debug_assert!(rows <= FINDING_BATCH);
    insert_findings_sql(rows, is_sqlite)
}

const SELECT_FINDINGS: &str = "SELECT id, account_id, post_id, dedup_key, rule, level, category, matched, \
     suggestion, context, match_key, is_in_title, published_at, post_title, post_link, found_at, \
     state, closed_at, closed_by, reason FROM content_findings";

#[derive(sqlx::FromRow)]
struct FindingRow {
    id: i64,
    account_id: String,
    post_id: i64,
    dedup_key: String,
    rule: String,
    level: String,
    category: String,
    matched: String,
    suggestion: String,
    context: String,
    match_key: String,
    is_in_title: bool,
    published_at: i64,
    post_title: Option<String>,
    post_link: Option<String>,
    found_at: i64,
    state: String,
    closed_at: Option<i64>,
    closed_by: Option<String>,
    reason: Option<String>,
}

fn finding_of(row: FindingRow) -> Result<ContentFinding> {
    let id = row.id;
    let corrupt = |what: &str, value: &str| {
        StorageError::Corrupt(format!("content finding {id}: {what} {value:?}"))
    };
    Ok(ContentFinding {
        id,
        rule: Rule::from_id(&row.rule).ok_or_else(|| corrupt("rule", &row.rule))?,
        level: Level::from_id(&row.level).ok_or_else(|| corrupt("level", &row.level))?,
        state: FindingState::from_id(&row.state).ok_or_else(|| corrupt("state", &row.state))?,
        account_id: row.account_id,
        post_id: row.post_id,
        category: row.category,
        matched: row.matched,
        suggestion: row.suggestion,
        context: row.context,
        key: row.match_key,
        dedup_key: row.dedup_key,
        is_in_title: row.is_in_title,
        published_at: from_secs(row.published_at)?,
        post_title: row.post_title,
        post_link: row.post_link,
        found_at: from_secs(row.found_at)?,
        closed_at: row.closed_at.map(from_secs).transpose()?,
        closed_by: row.closed_by,
        reason: row.reason,
    })
}

/// A stored post to rescan.
#[derive(Debug, Clone)]
pub struct StoredText {
    pub id: i64,
    pub account_id: String,
    pub dedup_key: String,
    pub published_at: DateTime<Utc>,
    pub title: Option<String>,
    pub link: Option<String>,
    /// The text as kept: `content::unpack` reads it, `content::unpack_units`
    /// with its UTF-16 units. Read row by row, so that a page holds the
    /// kept bytes only, not the texts and their units as well.
    pub packed: Vec<u8>,
}

impl Store {
    /// Findings, newest post first: the open ones, or every one whose post
    /// was published in `from..to`.
    pub async fn content_findings(
        &self,
        is_open_only: bool,
        range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<Vec<ContentFinding>> {
        let (from, to) = range.map_or((i64::MIN, i64::MAX), |(f, t)| (to_secs(f), to_secs(t)));
        let rows: Vec<FindingRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT_FINDINGS} WHERE ($1 = FALSE OR state = 'open') \
                 AND published_at >= $2 AND published_at < $3 ORDER BY published_at DESC, id"
            )))
            .bind(is_open_only)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(finding_of).collect()
    }

    pub async fn content_finding(&self, id: i64) -> Result<Option<ContentFinding>> {
        let row: Option<FindingRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_FINDINGS} WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(finding_of).transpose()
    }

    /// Closes a finding: 误报 (`Dismissed`, which also allows its phrase for
    /// the account and closes its twins there) or 已整改 (`Fixed`); audited.
    /// False when it was not open.
    pub async fn close_content_finding(
        &self,
        finding: &ContentFinding,
        state: FindingState,
        actor: &str,
        source: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let at = to_secs(now);
        let reason = (!reason.trim().is_empty()).then(|| reason.trim().to_string());
        let detail = serde_json::json!({
            "finding": finding.id, "rule": finding.rule.id(), "matched": finding.matched,
            "reason": reason,
        });
        let action = match state {
            FindingState::Dismissed => "content_dismiss",
            _ => "content_fix",
        };
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let changed = sqlx::query(
                "UPDATE content_findings SET state = $1, closed_at = $2, closed_by = $3, reason = $4 \
                 WHERE id = $5 AND state = 'open'",
            )
            .bind(state.id())
            .bind(at)
            .bind(actor)
            .bind(&reason)
            .bind(finding.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 && state == FindingState::Dismissed {
                sqlx::query(
                    "INSERT INTO content_allow (account_id, phrase, actor, reason, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, phrase) DO NOTHING",
                )
                .bind(&finding.account_id)
                .bind(&finding.key)
                .bind(actor)
                .bind(&reason)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE content_findings SET state = 'dismissed', closed_at = $1, closed_by = $2, \
                     reason = $3 WHERE account_id = $4 AND rule = $5 AND match_key = $6 AND state = 'open'",
                )
                .bind(at)
                .bind(actor)
                .bind(format!("同 #{} 误报", finding.id))
                .bind(&finding.account_id)
                .bind(finding.rule.id())
                .bind(&finding.key)
                .execute(&mut *tx)
                .await?;
            }
            if changed > 0 {
                insert_register_event!(
                    tx,
                    (at, actor, source),
                    "account",
                    &finding.account_id,
                    action,
                    detail.to_string(),
                );
            }
            tx.commit().await?;
            changed
        });
        Ok(changed > 0)
    }

    /// Closes findings a fetch showed fixed (the post corrected or deleted).
    pub async fn fix_content_findings(
        &self,
        fixed: &[(i64, String)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            for (id, reason) in fixed {
                sqlx::query(
                    "UPDATE content_findings SET state = 'fixed', closed_at = $1, closed_by = '巡检', \
                     reason = $2 WHERE id = $3 AND state = 'open'",
                )
                .bind(to_secs(now))
                .bind(reason)
                .bind(*id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Allows `phrase` for one account (or every account with `None`); audited.
    pub async fn allow_phrase(
        &self,
        account: Option<&str>,
        phrase: &str,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let at = to_secs(now);
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            sqlx::query(
                "INSERT INTO content_allow (account_id, phrase, actor, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (account_id, phrase) DO NOTHING",
            )
            .bind(account.unwrap_or(""))
            .bind(phrase)
            .bind(actor)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            insert_register_event!(
                tx,
                (at, actor, source),
                if account.is_some() { "account" } else { "register" },
                account.unwrap_or("全部账号"),
                "content_allow",
                serde_json::json!({ "phrase": phrase }).to_string(),
            );
            tx.commit().await?;
        });
        Ok(())
    }

    /// The allow list: account id ("" for every account) → phrases and keys.
    pub async fn allow_list(&self) -> Result<HashMap<String, Vec<String>>> {
        let rows: Vec<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT account_id, phrase FROM content_allow ORDER BY account_id, phrase")
                .fetch_all(pool)
                .await?
        });
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (account, phrase) in rows {
            out.entry(account).or_default().push(phrase);
        }
        Ok(out)
    }

    /// Up to `limit` stored texts after post `after_id` (in id order),
    /// first seen since `since`.
    pub async fn stored_texts(
        &self,
        since: DateTime<Utc>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredText>> {
        type Row = (
            i64,
            String,
            String,
            i64,
            Option<String>,
            Option<String>,
            Vec<u8>,
        );
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, account_id, dedup_key, published_at, title, link, text_z FROM posts \
                 WHERE id > $1 AND published_at >= $2 AND text_z IS NOT NULL ORDER BY id LIMIT $3",
            )
            .bind(after_id)
            .bind(to_secs(since))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(
                |(id, account_id, dedup_key, published_at, title, link, packed)| {
                    Ok(StoredText {
                        id,
                        account_id,
                        dedup_key,
                        published_at: from_secs(published_at)?,
                        title,
                        link,
                        packed,
                    })
                },
            )
            .collect()
    }

    /// Stores what a rescan found in stored posts (new findings only; the
    /// ones kept stay as they are) and marks 停更公告; returns new findings.
    pub async fn save_rescan(
        &self,
        posts: &[(StoredText, Post)],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let is_sqlite = matches!(self, Store::Sqlite(..));
        let seen = to_secs(now);
        let checked: Vec<CheckedPost<'_>> = posts
            .iter()
            .map(|(stored, post)| CheckedPost {
                id: stored.id,
                account_id: &stored.account_id,
                post,
            })
            .collect();
        let notices: Vec<i64> = posts
            .iter()
            .filter(|(_, p)| p.is_notice)
            .map(|(s, _)| s.id)
            .collect();
        let count = |pool_count: i64| u64::try_from(pool_count).unwrap_or(0);
        let before = self.finding_count().await?;
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            insert_checked!(tx, &checked, is_sqlite, seen);
            for id in notices {
                sqlx::query("UPDATE posts SET is_notice = TRUE WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(count(self.finding_count().await? - before))
    }

    async fn finding_count(&self) -> Result<i64> {
        let (n,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM content_findings").fetch_one(pool).await?
        });
        Ok(n)
    }

    /// Forgets the text of posts first seen before `before` (findings stay).
    pub async fn prune_post_texts(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE posts SET text_z = NULL WHERE first_seen_at < $1 AND text_z IS NOT NULL")
                .bind(to_secs(before))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }

    /// Per account: when it entered its state, and its newest 停更公告.
    pub async fn closing_facts(&self) -> Result<HashMap<String, crate::content::ClosingState>> {
        let rows: Vec<(String, Option<i64>, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.state_since, (SELECT MAX(p.published_at) FROM posts p \
                 WHERE p.account_id = a.id AND p.is_notice) FROM accounts a \
                 WHERE a.state <> 'active'",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, since, notice)| {
                let state = crate::content::ClosingState {
                    since: since.map(from_secs).transpose()?,
                    notice_at: notice.map(from_secs).transpose()?,
                };
                Ok((id, state))
            })
            .collect()
    }
}
