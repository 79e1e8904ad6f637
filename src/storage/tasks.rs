//! 转载任务 rows: the tasks and which accounts did them.

use super::register::insert_register_event;
use super::{Result, StorageError, Store, from_secs, to_secs, with_pool};
use crate::content::RepostTask;
use crate::registry::Platform;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

/// A task to add.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub title: String,
    pub matches: Vec<String>,
    pub url: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub due_on: NaiveDate,
    pub units: Vec<String>,
    pub platforms: Vec<Platform>,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    title: String,
    matches: String,
    url: Option<String>,
    starts_at: i64,
    due_on: String,
    units: String,
    platforms: String,
    created_by: String,
    created_at: i64,
    closed_at: Option<i64>,
    reminded_at: Option<i64>,
}

fn task_of(row: TaskRow) -> Result<RepostTask> {
    let corrupt = |what: &str| StorageError::Corrupt(format!("repost task {}: {what}", row.id));
    let list = |text: &str| serde_json::from_str::<Vec<String>>(text).map_err(|_| corrupt("list"));
    Ok(RepostTask {
        id: row.id,
        matches: list(&row.matches)?,
        url: row.url.clone(),
        starts_at: from_secs(row.starts_at)?,
        due_on: row.due_on.parse().map_err(|_| corrupt("due_on"))?,
        units: list(&row.units)?,
        platforms: list(&row.platforms)?
            .iter()
            .map(|p| Platform::from_id(p).ok_or_else(|| corrupt("platform")))
            .collect::<Result<_>>()?,
        created_by: row.created_by.clone(),
        created_at: from_secs(row.created_at)?,
        closed_at: row.closed_at.map(from_secs).transpose()?,
        reminded_at: row.reminded_at.map(from_secs).transpose()?,
        title: row.title,
    })
}

impl Store {
    /// Adds a task; audited; returns its number.
    pub async fn add_task(
        &self,
        task: &NewTask,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let json = |v: &[String]| serde_json::to_string(v).expect("strings serialize");
        let platforms: Vec<String> = task.platforms.iter().map(|p| p.id().to_string()).collect();
        let at = to_secs(now);
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO repost_tasks (title, matches, url, starts_at, due_on, units, platforms, \
                 created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(&task.title)
            .bind(json(&task.matches))
            .bind(&task.url)
            .bind(to_secs(task.starts_at))
            .bind(task.due_on.to_string())
            .bind(json(&task.units))
            .bind(json(&platforms))
            .bind(actor)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            insert_register_event!(
                tx,
                (at, actor, source),
                "task",
                id.to_string(),
                "task_add",
                serde_json::json!({ "title": task.title, "due_on": task.due_on.to_string() }).to_string(),
            );
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// Every task, newest first (closed ones only with `is_closed_too`).
    pub async fn tasks(&self, is_closed_too: bool) -> Result<Vec<RepostTask>> {
        let rows: Vec<TaskRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, title, matches, url, starts_at, due_on, units, platforms, created_by, \
                 created_at, closed_at, reminded_at FROM repost_tasks \
                 WHERE $1 OR closed_at IS NULL ORDER BY id DESC",
            )
            .bind(is_closed_too)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(task_of).collect()
    }

    /// Closes a task; audited. False when there is no such open task.
    pub async fn close_task(
        &self,
        id: i64,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let at = to_secs(now);
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let changed = sqlx::query("UPDATE repost_tasks SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed > 0 {
                insert_register_event!(
                    tx,
                    (at, actor, source),
                    "task",
                    id.to_string(),
                    "task_close",
                    "{}",
                );
            }
            tx.commit().await?;
            changed
        });
        Ok(changed > 0)
    }

    /// Who did which task: (task, account) → when the post was published.
    pub async fn tasks_done(&self) -> Result<HashMap<(i64, String), DateTime<Utc>>> {
        let rows: Vec<(i64, String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT task_id, account_id, published_at FROM repost_done")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(task, account, at)| Ok(((task, account), from_secs(at)?)))
            .collect()
    }

    /// Records stored posts that carry a task (a task added after they were
    /// fetched): (account, post id, published_at).
    pub async fn record_task_done(
        &self,
        task: i64,
        done: &[(String, i64, DateTime<Utc>)],
    ) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            for (account, post, at) in done {
                sqlx::query(
                    "INSERT INTO repost_done (task_id, account_id, post_id, published_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (task_id, account_id) DO NOTHING",
                )
                .bind(task)
                .bind(account)
                .bind(*post)
                .bind(to_secs(*at))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Marks a task reminded and queues the reminders, in one transaction;
    /// false when another daemon did it first.
    pub async fn remind_task(
        &self,
        id: i64,
        messages: &[crate::alerts::compose::Message],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let at = to_secs(now);
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let changed = sqlx::query(
                "UPDATE repost_tasks SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 {
                for message in messages {
                    super::insert_outbox!(tx, message, at);
                }
            }
            tx.commit().await?;
            changed
        });
        Ok(changed > 0)
    }
}
