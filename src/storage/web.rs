//! The web console's sign-in links, sessions and uploaded workbooks. Tokens
//! are kept as SHA-256 hex only; the caller hashes them.

use super::{Result, Store, from_secs, to_secs, with_pool};
use crate::domain::{Grant, Signin};
use chrono::{DateTime, Duration, Utc};

/// What became of a sign-in link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkUse {
    /// Valid until now: it is used up and signs this person in.
    SignedIn(Signin),
    Used,
    Expired,
    Unknown,
}

/// A workbook uploaded in the console, waiting for its confirmation.
#[derive(Debug, Clone)]
pub struct Upload {
    pub id: i64,
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub is_pruning: bool,
    pub created_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
}

/// How long a finished link, session or upload is kept before it is deleted.
const KEPT: i64 = 7 * 24 * 3600;

impl Store {
    /// Keeps a new one-time link (its token's hash).
    pub async fn create_web_link(
        &self,
        token_hash: &str,
        signin: &Signin,
        created_by: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (role, units) = signin.grant.to_row();
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO web_links (token_hash, role, units, person, created_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(token_hash)
            .bind(role)
            .bind(&units)
            .bind(&signin.person)
            .bind(created_by)
            .bind(to_secs(now))
            .bind(to_secs(expires_at))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Uses a link: only the first use of an unexpired link signs in, even
    /// when two daemons (or two clicks) race for it.
    pub async fn use_web_link(&self, token_hash: &str, now: DateTime<Utc>) -> Result<LinkUse> {
        let at = to_secs(now);
        let row: Option<(String, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "UPDATE web_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
                 AND expires_at > $2 RETURNING role, units, person",
            )
            .bind(token_hash)
            .bind(at)
            .fetch_optional(pool)
            .await?
        });
        if let Some((role, units, person)) = row {
            return Ok(LinkUse::SignedIn(Signin {
                grant: Grant::from_row(&role, &units),
                person,
            }));
        }
        let seen: Option<(Option<i64>, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT used_at, expires_at FROM web_links WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(pool)
                .await?
        });
        Ok(match seen {
            Some((Some(_), _)) => LinkUse::Used,
            Some((None, _)) => LinkUse::Expired,
            None => LinkUse::Unknown,
        })
    }

    /// What using a link would do now, without using it (the sign-in page
    /// says at once when a link is used up or expired).
    pub async fn web_link_state(&self, token_hash: &str, now: DateTime<Utc>) -> Result<LinkUse> {
        let seen: Option<(Option<i64>, i64, String, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT used_at, expires_at, role, units, person FROM web_links WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        Ok(match seen {
            None => LinkUse::Unknown,
            Some((Some(_), ..)) => LinkUse::Used,
            Some((None, expires, ..)) if expires <= to_secs(now) => LinkUse::Expired,
            Some((None, _, role, units, person)) => LinkUse::SignedIn(Signin {
                grant: Grant::from_row(&role, &units),
                person,
            }),
        })
    }

    /// Starts a session; deletes what finished a week ago.
    pub async fn start_web_session(
        &self,
        token_hash: &str,
        signin: &Signin,
        csrf: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (role, units) = signin.grant.to_row();
        let at = to_secs(now);
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO web_sessions (token_hash, role, units, person, csrf, created_at, seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(token_hash)
            .bind(role)
            .bind(&units)
            .bind(&signin.person)
            .bind(csrf)
            .bind(at)
            .execute(pool)
            .await?;
            let old = at - KEPT;
            sqlx::query("DELETE FROM web_links WHERE expires_at < $1").bind(old).execute(pool).await?;
            sqlx::query("DELETE FROM web_sessions WHERE seen_at < $1").bind(old).execute(pool).await?;
            sqlx::query("DELETE FROM web_uploads WHERE created_at < $1").bind(old).execute(pool).await?;
        });
        Ok(())
    }

    /// The session of a cookie, when it is live: not ended and seen within
    /// `idle`. Each use moves its idle expiry on (written at most once a minute).
    pub async fn web_session(
        &self,
        token_hash: &str,
        idle: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<(Signin, String)>> {
        let at = to_secs(now);
        let row: Option<(String, String, String, String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT role, units, person, csrf, seen_at FROM web_sessions \
                 WHERE token_hash = $1 AND ended_at IS NULL AND seen_at > $2",
            )
            .bind(token_hash)
            .bind(at - idle.num_seconds())
            .fetch_optional(pool)
            .await?
        });
        let Some((role, units, person, csrf, seen_at)) = row else {
            return Ok(None);
        };
        if at - seen_at >= 60 {
            with_pool!(self, pool => {
                sqlx::query("UPDATE web_sessions SET seen_at = $2 WHERE token_hash = $1")
                    .bind(token_hash)
                    .bind(at)
                    .execute(pool)
                    .await?;
            });
        }
        Ok(Some((
            Signin {
                grant: Grant::from_row(&role, &units),
                person,
            },
            csrf,
        )))
    }

    /// Ends a session (退出).
    pub async fn end_web_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE web_sessions SET ended_at = $2 WHERE token_hash = $1 AND ended_at IS NULL")
                .bind(token_hash)
                .bind(to_secs(now))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Keeps an uploaded workbook for its session; returns its number.
    pub async fn save_upload(
        &self,
        session_hash: &str,
        file_name: &str,
        bytes: &[u8],
        is_pruning: bool,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let (id,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO web_uploads (session, file_name, bytes, is_pruning, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(session_hash)
            .bind(file_name)
            .bind(bytes)
            .bind(is_pruning)
            .bind(to_secs(now))
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    /// An upload of this session (another session's is not found).
    pub async fn upload(&self, id: i64, session_hash: &str) -> Result<Option<Upload>> {
        type Row = (i64, String, Vec<u8>, bool, i64, Option<i64>);
        let row: Option<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, file_name, bytes, is_pruning, created_at, applied_at FROM web_uploads \
                 WHERE id = $1 AND session = $2",
            )
            .bind(id)
            .bind(session_hash)
            .fetch_optional(pool)
            .await?
        });
        row.map(
            |(id, file_name, bytes, is_pruning, created_at, applied_at)| {
                Ok(Upload {
                    id,
                    file_name,
                    bytes,
                    is_pruning,
                    created_at: from_secs(created_at)?,
                    applied_at: applied_at.map(from_secs).transpose()?,
                })
            },
        )
        .transpose()
    }

    /// Takes back [`Store::mark_upload_applied`] when the import failed.
    pub async fn unmark_upload(&self, id: i64) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE web_uploads SET applied_at = NULL WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Marks an upload applied; false when it was already (a second click).
    pub async fn mark_upload_applied(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE web_uploads SET applied_at = $2 WHERE id = $1 AND applied_at IS NULL")
                .bind(id)
                .bind(to_secs(now))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}
