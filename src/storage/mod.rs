//! Storage: the only module with SQL. One code base over SQLite and
//! PostgreSQL: [`Store`] is an enum of native pools and the SQL is shared
//! (`$1..$n` placeholders work on both); dialect text only where it must differ.
//!
//! In: domain types. Out: domain types; rows never leave this module.
//! Times are stored as integer seconds since the Unix epoch (UTC).

mod alerts;
mod bulk;
mod chat;
mod checkpoint;
mod checks;
pub mod content;
mod delivery;
mod holidays;
mod ops;
mod polling;
mod posts;
mod rectification;
mod register;
mod register_apply;
mod reports;
mod summaries;
mod tasks;
mod web;
mod writer;

pub use alerts::{Attachment, ChannelState, ComposeMessages, OutboxItem};
pub use chat::{BindOutcome, PendingBind};
pub use checks::RecentPost;
pub use delivery::Released;
pub use ops::OpsCounts;
pub use polling::ProxyHealth;
pub use rectification::{Issue, IssueContent, IssuedReport};
pub use register::RegisterEvent;
pub use tasks::NewTask;
pub use web::{LinkUse, Upload};
pub use writer::{FetchResult, SqliteWriter};

use crate::config::DatabaseSettings;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the SQLite writer of fetch results (its own connection).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// A write lost to concurrent writers more often than it retries.
    #[error("concurrent change: {0}")]
    Conflict(String),
    /// The SQLite writer thread could not write a batch (it panicked or is gone).
    #[error("SQLite writer: {0}")]
    Writer(String),
}

pub type Result<T> = std::result::Result<T, StorageError>;

impl StorageError {
    /// Why a connection failed, in Chinese for the operator, with the
    /// driver's own words after it.
    pub fn describe_connect(&self) -> String {
        let detail = match self {
            StorageError::Database(err) => source_chain(err),
            StorageError::Sqlite(err) => source_chain(err),
            other => other.to_string(),
        };
        let lower = detail.to_lowercase();
        let reason = [
            (
                "connection refused",
                "连接被拒绝（数据库未启动，或地址、端口有误）",
            ),
            ("password authentication failed", "用户名或密码错误"),
            (
                "no pg_hba.conf entry",
                "数据库不允许本机连接（pg_hba.conf）",
            ),
            ("does not exist", "数据库或用户不存在"),
            ("timed out", "连接超时（网络不通或数据库无响应）"),
            ("failed to lookup address", "主机名无法解析"),
            ("name or service not known", "主机名无法解析"),
            (
                "unable to open database file",
                "无法打开数据库文件（目录不存在或没有权限）",
            ),
            ("readonly database", "数据库文件只读"),
            ("permission denied", "没有权限"),
            ("file is not a database", "该文件不是 SQLite 数据库"),
        ]
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map_or("连接失败", |(_, reason)| reason);
        format!("{reason}（{}）", detail.trim())
    }
}

/// An error with its causes, "a: b: c", without repeating a cause already in the text.
fn source_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

/// The database, SQLite or PostgreSQL, chosen by the URL scheme.
#[derive(Clone, Debug)]
pub enum Store {
    /// The pool, and the one writer of fetch results (see [`SqliteWriter`]).
    Sqlite(SqlitePool, SqliteWriter),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the native pool of either backend.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::storage::Store::Sqlite($pool, _) => $body,
            $crate::storage::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Inserts one outbox message inside the transaction `$tx` (either backend);
/// evaluates to its id.
macro_rules! insert_outbox {
    ($tx:expr, $message:expr, $at:expr) => {{
        let message: &$crate::alerts::compose::Message = $message;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO outbox (channel, recipient, body, mentions, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(message.channel.key())
        .bind(&message.recipient)
        .bind(&message.body)
        .bind(serde_json::to_string(&message.mentions).expect("mentions serialize"))
        .bind($at)
        .fetch_one(&mut *$tx)
        .await?;
        id
    }};
}
pub(crate) use insert_outbox;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects as the settings say; a SQLite file is created if missing.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Store> {
        let url = settings.url.as_str();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut options = PgConnectOptions::from_str(url)?;
            if let Some(password) = &settings.password {
                options = options.password(password.expose());
            }
            // One plain connection first: the pool would retry until its
            // timeout and then hide the cause ("pool timed out").
            let probe = tokio::time::timeout(
                Duration::from_secs(10),
                <sqlx::PgConnection as sqlx::Connection>::connect_with(&options),
            )
            .await
            .map_err(|_| {
                sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no answer within 10 s (timed out)",
                ))
            })?;
            let _ = sqlx::Connection::close(probe?).await;
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(Duration::from_secs(30))
                // The server compiled the inspection's aggregates to machine
                // code each time (0.2–0.4 s a statement), more than it saved.
                // A statement, not a startup option: poolers such as
                // PgBouncer refuse unknown startup parameters. A server
                // without the setting (before PostgreSQL 11) keeps the
                // connection: the statement is only a speed-up.
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        if let Err(err) = sqlx::query("SET jit = off").execute(conn).await {
                            tracing::debug!(error = %err, "SET jit = off refused");
                        }
                        Ok(())
                    })
                })
                .after_release(|conn, _| {
                    Box::pin(async move { is_reusable::<sqlx::Postgres>(conn).await })
                })
                .connect_with(options)
                .await?;
            Ok(Store::Postgres(pool))
        } else {
            // A new database gets 16 KB pages: a cold cycle writes each
            // page to the WAL with two system calls, and a post's row is
            // about 2 KB; 16 KB pages cut the cycle's CPU by about 7 % and
            // its time by 10-15 %. An existing database keeps its pages
            // (SQLite cannot change them in WAL mode without a VACUUM).
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .page_size(16384)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            Store::connect_sqlite(options, settings.max_connections).await
        }
    }

    /// A SQLite store with these connection options (tests add pragmas).
    pub async fn connect_sqlite(
        options: SqliteConnectOptions,
        max_connections: u32,
    ) -> Result<Store> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .after_release(|conn, _| {
                Box::pin(async move { is_reusable::<sqlx::Sqlite>(conn).await })
            })
            .connect_with(options)
            .await?;
        let writer = SqliteWriter::start(&pool.connect_options()).map_err(|err| {
            sqlx::Error::Io(std::io::Error::new(
                err.kind(),
                format!("cannot start the SQLite writer thread: {err}"),
            ))
        })?;
        Ok(Store::Sqlite(pool, writer))
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Store::Sqlite(pool, _) => SQLITE_MIGRATIONS.run(pool).await?,
            Store::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// How many migrations this backend has (all applied once
    /// [`Store::migrate`] returned).
    pub fn migration_count(&self) -> usize {
        match self {
            Store::Sqlite(..) => SQLITE_MIGRATIONS.iter().count(),
            Store::Postgres(_) => POSTGRES_MIGRATIONS.iter().count(),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(..) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        if let Store::Sqlite(_, writer) = self {
            writer.close().await;
        }
        with_pool!(self, pool => pool.close().await)
    }
}

/// Whether a connection coming back to the pool may be handed out again.
/// A COMMIT or ROLLBACK that failed (SQLite "database or disk is full"
/// rolls back by itself, so sqlx's own ROLLBACK then fails too) leaves the
/// connection inside a transaction as sqlx counts it; every later write on
/// it would fail. Such a connection is closed and replaced instead.
async fn is_reusable<DB: sqlx::Database>(
    conn: &mut DB::Connection,
) -> std::result::Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    // Runs after any rollback queued by a dropped transaction.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

pub(crate) fn to_secs(time: DateTime<Utc>) -> i64 {
    time.timestamp()
}

pub(crate) fn from_secs(secs: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| StorageError::Corrupt(format!("timestamp {secs} is out of range")))
}

/// The statement that starts a write transaction. SQLite takes the write lock
/// up front (IMMEDIATE), so concurrent writers wait for each other (busy
/// timeout) instead of failing when a read lock cannot be upgraded.
pub(crate) trait WriteBegin {
    const BEGIN: &'static str;
}

impl WriteBegin for SqlitePool {
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
}

impl WriteBegin for PgPool {
    const BEGIN: &'static str = "BEGIN";
}

pub(crate) fn write_begin<P: WriteBegin>(_pool: &P) -> &'static str {
    P::BEGIN
}
