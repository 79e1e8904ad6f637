//! Alerts, silences, the outbox and channel state.

use super::{Result, StorageError, Store, from_secs, to_secs, with_pool};
use crate::alerts::compose::{Mention, Message};
use crate::alerts::{Event, OpenAlert};
use crate::rules::{Rule, Severity};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A message waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub channel: crate::domain::Channel,
    pub recipient: String,
    pub body: String,
    pub mentions: Vec<Mention>,
    pub attempts: u32,
    /// Delivery steps (text parts, then files) already accepted by the channel.
    pub steps_done: u32,
}

/// A channel's stored state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelState {
    pub is_broken: bool,
    pub reason: Option<String>,
    /// A chat id that replaced the configured one (`migrate_to_chat_id`).
    pub chat_override: Option<String>,
}

/// Renders the messages of a check from its events (with alert numbers),
/// each with the time it may be sent.
pub type ComposeMessages<'a> = dyn Fn(&[Event]) -> Vec<(Message, DateTime<Utc>)> + Send + Sync + 'a;

pub(super) type OutboxRow = (i64, String, String, String, String, i64, i64);

pub(super) fn outbox_item(row: OutboxRow) -> OutboxItem {
    let (id, channel, recipient, body, mentions, attempts, steps_done) = row;
    OutboxItem {
        id,
        channel: crate::domain::Channel::from_key(&channel),
        recipient,
        body,
        mentions: serde_json::from_str(&mentions).unwrap_or_default(),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        steps_done: u32::try_from(steps_done).unwrap_or(u32::MAX),
    }
}

type AlertRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn severity_from(id: &str) -> Option<Severity> {
    [
        Severity::Advisory,
        Severity::Warning,
        Severity::Failure,
        Severity::Unknown,
        Severity::Operator,
    ]
    .into_iter()
    .find(|s| s.id() == id)
}

impl Store {
    /// Every open alert.
    pub async fn open_alerts(&self) -> Result<Vec<OpenAlert>> {
        let rows: Vec<AlertRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, subject, family, rule, severity, unit_id, message, evidence, opened_at, \
                 last_notified_at, acked_by, acked_at FROM alerts WHERE status = 'open' ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(
                |(
                    id,
                    subject,
                    family,
                    rule,
                    severity,
                    unit_id,
                    message,
                    evidence,
                    opened,
                    notified,
                    acked,
                    acked_at,
                )| {
                    Ok(OpenAlert {
                        id,
                        rule: Rule::from_id(&rule).ok_or_else(|| {
                            StorageError::Corrupt(format!("alert rule \"{rule}\""))
                        })?,
                        severity: severity_from(&severity).ok_or_else(|| {
                            StorageError::Corrupt(format!("alert severity \"{severity}\""))
                        })?,
                        subject,
                        family,
                        unit_id,
                        message,
                        evidence: serde_json::from_str(&evidence).unwrap_or_default(),
                        opened_at: from_secs(opened)?,
                        last_notified_at: notified.map(from_secs).transpose()?,
                        is_acked: acked.is_some(),
                        acked: match (acked, acked_at) {
                            (Some(by), Some(at)) => Some((by, from_secs(at)?)),
                            _ => None,
                        },
                    })
                },
            )
            .collect()
    }

    /// Subjects snoozed until a time.
    pub async fn silences(&self) -> Result<HashMap<String, DateTime<Utc>>> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => sqlx::query_as("SELECT subject, until_at FROM silences").fetch_all(pool).await?);
        rows.into_iter()
            .map(|(s, until)| Ok((s, from_secs(until)?)))
            .collect()
    }

    /// Each snoozed subject: until when, who paused it and why.
    pub async fn silence_notes(&self) -> Result<HashMap<String, (DateTime<Utc>, String, String)>> {
        let rows: Vec<(String, i64, String, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT subject, until_at, created_by, reason FROM silences")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(s, until, by, reason)| Ok((s, (from_secs(until)?, by, reason))))
            .collect()
    }

    /// Records the events and queues their messages in one transaction, so
    /// a decided message is never lost and never decided twice. New alerts
    /// are inserted first and `compose` renders the messages from the events
    /// with their alert numbers; returns those numbered events.
    pub async fn commit_alerts(
        &self,
        events: &[Event],
        compose: &ComposeMessages<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>> {
        let at = to_secs(now);
        let mut numbered = Vec::with_capacity(events.len());
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            for event in events {
                match event {
                    Event::Opened(c) => {
                        let (id,): (i64,) = sqlx::query_as(
                            "INSERT INTO alerts (subject, family, rule, severity, unit_id, status, message, \
                             evidence, opened_at, last_notified_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $8) \
                             RETURNING id",
                        )
                        .bind(&c.subject)
                        .bind(&c.family)
                        .bind(c.rule.id())
                        .bind(c.severity.id())
                        .bind(&c.unit_id)
                        .bind(&c.message)
                        .bind(c.evidence.to_string())
                        .bind(at)
                        .fetch_one(&mut *tx)
                        .await?;
                        numbered.push(Event::Opened(crate::alerts::Candidate {
                            alert_id: Some(id),
                            ..c.clone()
                        }));
                        continue;
                    }
                    Event::Escalated { alert, to } => {
                        sqlx::query(
                            "UPDATE alerts SET rule = $2, severity = $3, message = $4, evidence = $5, \
                             last_notified_at = $6, acked_by = NULL, acked_at = NULL WHERE id = $1",
                        )
                        .bind(alert.id)
                        .bind(to.rule.id())
                        .bind(to.severity.id())
                        .bind(&to.message)
                        .bind(to.evidence.to_string())
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Event::Resolved { alert, .. } => {
                        sqlx::query("UPDATE alerts SET status = 'resolved', resolved_at = $2 WHERE id = $1")
                            .bind(alert.id)
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Event::Reminder(alert) => {
                        sqlx::query(
                            "UPDATE alerts SET last_notified_at = $2, message = $3, evidence = $4 WHERE id = $1",
                        )
                            .bind(alert.id)
                            .bind(at)
                            .bind(&alert.message)
                            .bind(alert.evidence.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                numbered.push(event.clone());
            }
            for (message, send_at) in compose(&numbered) {
                sqlx::query(
                    "INSERT INTO outbox (channel, recipient, body, mentions, created_at, next_attempt_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(message.channel.key())
                .bind(&message.recipient)
                .bind(&message.body)
                .bind(serde_json::to_string(&message.mentions).expect("mentions serialize"))
                .bind(at)
                .bind(to_secs(send_at))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(numbered)
    }

    /// Queues one message outside the alert lifecycle (replies, operator notes).
    pub async fn enqueue(&self, message: &Message, now: DateTime<Utc>) -> Result<()> {
        self.commit_alerts(&[], &|_| vec![(message.clone(), now)], now)
            .await?;
        Ok(())
    }

    /// Messages due for sending, oldest first (without claiming them).
    pub async fn pending_messages(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        let rows: Vec<OutboxRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, channel, recipient, body, mentions, attempts, steps_done FROM outbox \
                 WHERE sent_at IS NULL AND dead_at IS NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
            )
            .bind(to_secs(now))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(outbox_item).collect())
    }

    /// Marks a message sent, in one conditional UPDATE: only while `owner`
    /// holds its claim. False when another daemon took it over.
    pub async fn mark_sent(&self, id: i64, owner: &str, now: DateTime<Utc>) -> Result<bool> {
        let marked = with_pool!(self, pool => {
            sqlx::query("UPDATE outbox SET sent_at = $3, attempts = attempts + 1, last_error = NULL, \
                         claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2")
                .bind(id)
                .bind(owner)
                .bind(to_secs(now))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(marked == 1)
    }

    /// Records a failed attempt and when to retry, handing the claim back;
    /// only while `owner` holds it.
    pub async fn mark_failed(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<bool> {
        let marked = with_pool!(self, pool => {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4, \
                         claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2")
                .bind(id)
                .bind(owner)
                .bind(error)
                .bind(to_secs(retry_at))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(marked == 1)
    }

    /// All outbox rows of a channel: (recipient, body, sent?) — for tests and status.
    pub async fn outbox(&self, channel: &str) -> Result<Vec<(String, String, bool)>> {
        let rows: Vec<(String, String, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT recipient, body, sent_at FROM outbox WHERE channel = $1 ORDER BY id")
                .bind(channel)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(r, b, s)| (r, b, s.is_some()))
            .collect())
    }

    pub async fn channel_state(&self, channel: &str) -> Result<ChannelState> {
        let row: Option<(bool, Option<String>, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT is_broken, reason, chat_override FROM channel_state WHERE channel = $1")
                .bind(channel)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map_or_else(
            ChannelState::default,
            |(is_broken, reason, chat_override)| ChannelState {
                is_broken,
                reason,
                chat_override,
            },
        ))
    }

    pub async fn set_channel_state(
        &self,
        channel: &str,
        state: &ChannelState,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO channel_state (channel, is_broken, reason, chat_override, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel) DO UPDATE SET is_broken = $2, \
                 reason = $3, chat_override = $4, updated_at = $5",
            )
            .bind(channel)
            .bind(state.is_broken)
            .bind(&state.reason)
            .bind(&state.chat_override)
            .bind(to_secs(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Acknowledges the open alerts of a subject; returns how many.
    pub async fn ack_subject(&self, subject: &str, by: &str, now: DateTime<Utc>) -> Result<u64> {
        self.ack("subject = $1", subject.to_string(), by, now).await
    }

    /// Acknowledges one open alert by its number; returns 1, or 0 when it
    /// is not open.
    pub async fn ack_alert(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<u64> {
        self.ack("id = $1", id, by, now).await
    }

    /// Acknowledges the open alerts `filter` selects (with `$1` bound to `key`).
    async fn ack<K>(&self, filter: &str, key: K, by: &str, now: DateTime<Utc>) -> Result<u64>
    where
        K: Clone
            + Send
            + 'static
            + for<'q> sqlx::Encode<'q, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'q> sqlx::Encode<'q, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>,
    {
        let sql = format!(
            "UPDATE alerts SET acked_by = $2, acked_at = $3 WHERE status = 'open' AND {filter}"
        );
        let n = with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(key.clone())
                .bind(by)
                .bind(to_secs(now))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }

    /// Until when a subject's messages are silenced, if they are.
    pub async fn silenced_until(&self, subject: &str) -> Result<Option<DateTime<Utc>>> {
        let row: Option<(i64,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT until_at FROM silences WHERE subject = $1")
                .bind(subject)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(at,)| from_secs(at)).transpose()
    }

    /// Snoozes a subject until a time.
    pub async fn snooze(
        &self,
        subject: &str,
        until: DateTime<Utc>,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO silences (subject, until_at, created_by, created_at, reason) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (subject) DO UPDATE SET until_at = $2, created_by = $3, created_at = $4, reason = $5",
            )
            .bind(subject)
            .bind(to_secs(until))
            .bind(by)
            .bind(to_secs(now))
            .bind(reason)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

/// A file sent with a message: `document` or `photo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub kind: crate::domain::FileKind,
    pub data: Vec<u8>,
}

impl Store {
    /// Queues a message with files.
    pub async fn enqueue_with_files(
        &self,
        message: &Message,
        files: &[Attachment],
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.enqueue_all(&[(message.clone(), files.to_vec())], None, now)
            .await
    }

    /// Queues several messages with their files and, when given, marks a
    /// scheduled job finished — all in one transaction, so a crash queues a
    /// report's messages either all (and the job is done) or none (and the
    /// job runs again).
    pub async fn enqueue_all(
        &self,
        batch: &[(Message, Vec<Attachment>)],
        finished_job: Option<(&str, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let at = to_secs(now);
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            for (message, files) in batch {
                let id = super::insert_outbox!(tx, message, at);
                for (position, file) in files.iter().enumerate() {
                    sqlx::query("INSERT INTO outbox_files (outbox_id, position, name, kind, data) VALUES ($1, $2, $3, $4, $5)")
                        .bind(id)
                        .bind(position as i64)
                        .bind(&file.name)
                        .bind(file.kind.id())
                        .bind(&file.data)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            if let Some((job, due_at)) = finished_job {
                sqlx::query("UPDATE job_runs SET finished_at = $3 WHERE job = $1 AND due_at = $2")
                    .bind(job)
                    .bind(to_secs(due_at))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The files of an outbox message, in order.
    pub async fn attachments(&self, outbox_id: i64) -> Result<Vec<Attachment>> {
        let rows: Vec<(String, String, Vec<u8>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT name, kind, data FROM outbox_files WHERE outbox_id = $1 ORDER BY position")
                .bind(outbox_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(name, kind, data): (String, String, Vec<u8>)| Attachment {
                name,
                kind: crate::domain::FileKind::from_id(&kind),
                data,
            })
            .collect())
    }
}
