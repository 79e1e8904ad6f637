//! The SQLite writer of fetch results: one connection (rusqlite) on a thread
//! of its own, fed whole batches.
//!
//! Through sqlx, every statement of a batch was a round trip between the
//! task that built it and sqlx's worker thread for the connection, and every
//! bound string and blob was copied into an `Arc` first (sqlx 0.9 owns its
//! arguments), then freed on the other thread. A cold cycle binds about 2.4
//! million values. Here the whole transaction runs on one thread with
//! prepared statements kept across batches, binding from the posts in place;
//! SQLite copies each value once, as it would anyway.
//!
//! The log's checkpoints run beside it, on a thread of their own
//! (`checkpoint.rs`).
//!
//! The thread ends when the last clone of the store is dropped. Its
//! connection is opened on the first batch, and again after one that left it
//! inside a transaction (a failed COMMIT or ROLLBACK, as when the disk is
//! full), so a failure costs that batch only.

use super::checkpoint::{Checkpointer, LOG_CAP};
use super::polling::upsert_states_sql;
use super::posts::{
    AccountDelta, NewPost, SummaryDelta, in_key_order, insert_posts_sql, kept_text, needs_id,
    upsert_segments_sql, upsert_totals_sql,
};
use super::{Result, StorageError, to_secs};
use crate::fetch::{FetchState, Outcome};
use crate::parse::Post;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::PathBuf;
use std::time::Duration;

/// One account's fetch to save: its new state and the posts the feed listed.
pub type FetchResult = (FetchState, Vec<Post>);

/// The handle of the writer thread of one SQLite database.
#[derive(Clone)]
pub struct SqliteWriter {
    jobs: flume::Sender<Message>,
}

enum Message {
    Write(Job),
    /// Close the connection (the store is being closed); answered once closed.
    Close(tokio::sync::oneshot::Sender<()>),
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteWriter")
    }
}

/// A batch to write and where its answer goes. Dropped without an answer
/// (its thread gone), it still hands the batch back, with an error.
struct Job {
    batch: Vec<FetchResult>,
    now: DateTime<Utc>,
    reply: Option<tokio::sync::oneshot::Sender<Answer>>,
}

/// The batch, handed back, and the new posts per account or why not.
type Answer = (Vec<FetchResult>, Result<Vec<u64>>);

impl Job {
    fn answer(mut self, result: Result<Vec<u64>>) {
        if let Some(reply) = self.reply.take() {
            // Nobody waits when the cycle was dropped meanwhile.
            let _ = reply.send((std::mem::take(&mut self.batch), result));
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send((
                std::mem::take(&mut self.batch),
                Err(StorageError::Writer(
                    "the SQLite writer thread stopped".to_string(),
                )),
            ));
        }
    }
}

/// Where the writer's connection goes: the pool's file, or the pool's
/// shared in-memory database.
struct Target {
    path: PathBuf,
    is_in_memory: bool,
}

impl SqliteWriter {
    /// Starts the writer thread for the database of these options.
    pub(super) fn start(options: &sqlx::sqlite::SqliteConnectOptions) -> std::io::Result<Self> {
        let path = options.get_filename().to_path_buf();
        // sqlx names its in-memory databases so: a shared cache, which a
        // second connection in this process reaches by the same URI.
        let is_in_memory = path.to_string_lossy().starts_with("file:sqlx-in-memory-");
        let target = Target { path, is_in_memory };
        let (jobs, queue) = flume::unbounded::<Message>();
        std::thread::Builder::new()
            .name("xunjian-sqlite-writer".to_string())
            .spawn(move || {
                let mut connection: Option<Connection> = None;
                let mut log = Log::default();
                for message in queue.iter() {
                    let job = match message {
                        Message::Write(job) => job,
                        Message::Close(done) => {
                            log.finish();
                            drop(connection.take());
                            let _ = done.send(());
                            continue;
                        }
                    };
                    let conn = match connection.as_mut() {
                        Some(conn) => conn,
                        None => match open(&target).and_then(|conn| log.adopt(conn, &target)) {
                            Ok(conn) => connection.insert(conn),
                            Err(err) => {
                                job.answer(Err(err));
                                continue;
                            }
                        },
                    };
                    log.before_batch(conn);
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let results: Vec<(&FetchState, &[Post])> = job
                            .batch
                            .iter()
                            .map(|(state, posts)| (state, posts.as_slice()))
                            .collect();
                        write_fetches(conn, &results, job.now)
                    }));
                    let result = outcome.unwrap_or_else(|cause| {
                        Err(StorageError::Writer(format!(
                            "writing the batch panicked: {}",
                            crate::process::panic_text(cause)
                        )))
                    });
                    if result.is_ok() {
                        log.committed();
                    }
                    // A connection left inside a transaction would fail
                    // every later write: open a new one for the next batch.
                    if !conn.is_autocommit() {
                        connection = None;
                    }
                    job.answer(result);
                }
            })?;
        Ok(SqliteWriter { jobs })
    }

    /// Writes the batch in one transaction and hands it back with the number
    /// of new posts per account, in the batch's order.
    pub(super) async fn record_fetches(
        &self,
        batch: Vec<FetchResult>,
        now: DateTime<Utc>,
    ) -> Answer {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            batch,
            now,
            reply: Some(reply),
        };
        // A job that cannot be sent is dropped here, and answers so.
        let _ = self.jobs.send(Message::Write(job));
        answer.await.unwrap_or_else(|_| {
            (
                Vec::new(),
                Err(StorageError::Writer(
                    "the SQLite writer thread stopped".to_string(),
                )),
            )
        })
    }

    /// Closes the writer's connection, after the batches sent before; the
    /// next batch opens it again.
    pub(super) async fn close(&self) {
        let (done, closed) = tokio::sync::oneshot::channel();
        if self.jobs.send(Message::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

/// The writer's side of its log checkpoints: a [`Checkpointer`] thread while
/// one runs, SQLite's automatic checkpoints on the writer's connection
/// otherwise (an in-memory database has no log).
#[derive(Default)]
struct Log {
    checkpointer: Option<Checkpointer>,
    /// The writer's commits so far.
    commits: u64,
}

impl Log {
    /// Readies a newly opened writer connection: checkpoints move to a thread
    /// of their own with a second connection, when it opens.
    fn adopt(&mut self, conn: Connection, target: &Target) -> Result<Connection> {
        if target.is_in_memory {
            return Ok(conn);
        }
        if self.checkpointer.is_none() {
            // Without its own connection the writer checkpoints by itself.
            self.checkpointer = open(target)
                .ok()
                .and_then(|other| Checkpointer::start(other, LOG_CAP).ok());
        }
        if self.checkpointer.is_some() {
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        Ok(conn)
    }

    /// Before a batch: waits for the log to be copied back when it grew past
    /// its cap; takes the checkpoints back when their thread ended.
    fn before_batch(&mut self, conn: &Connection) {
        let Some(checkpointer) = self.checkpointer.as_mut() else {
            return;
        };
        if checkpointer.is_running() {
            checkpointer.hold_back(self.commits);
            return;
        }
        self.checkpointer = None;
        if let Err(err) = conn.pragma_update(None, "wal_autocheckpoint", 1_000) {
            tracing::warn!(error = %err, "the SQLite writer could not resume its own checkpoints");
        }
    }

    fn committed(&mut self) {
        self.commits = self.commits.saturating_add(1);
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.request(self.commits);
        }
    }

    /// The store is closing: everything committed is copied back into the
    /// database file, and the checkpointer's connection closes.
    fn finish(&mut self) {
        if let Some(checkpointer) = self.checkpointer.take() {
            checkpointer.finish(self.commits);
        }
    }
}

fn open(target: &Target) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if target.is_in_memory {
        let uri = format!("{}?mode=memory&cache=shared", target.path.display());
        Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)?
    } else {
        Connection::open_with_flags(&target.path, flags)?
    };
    // As the pool's connections (see `Store::connect`); WAL is the file's.
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Saves several accounts' attempts in one transaction: new posts
/// (duplicates ignored), their findings and 转载任务, the fetch states and the
/// post summaries; the same as the PostgreSQL path of
/// [`super::Store::record_fetches`], one prepared statement per row.
fn write_fetches(
    conn: &mut Connection,
    results: &[(&FetchState, &[Post])],
    now: DateTime<Utc>,
) -> Result<Vec<u64>> {
    let seen = to_secs(now);
    let (posts, states) = in_key_order(results);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Row by row, so each insert says whether it stored its post (the first
    // of a key repeated in the batch is the one stored) and its row id.
    let mut new_posts: Vec<NewPost> = Vec::new();
    {
        let mut insert = tx.prepare_cached(&insert_posts_sql(1))?;
        for (index, (account_id, post)) in posts.iter().enumerate() {
            let text = kept_text(post);
            let stored = insert.execute(rusqlite::params![
                account_id,
                post.dedup_key,
                to_secs(post.published_at),
                seen,
                post.is_date_estimated,
                post.title,
                post.link,
                post.author,
                post.kind.id(),
                post.evidence,
                text.as_deref(),
                post.is_notice,
            ])?;
            if stored > 0 {
                let id = needs_id(post).then(|| tx.last_insert_rowid());
                new_posts.push(NewPost { index, id });
            }
        }
    }
    {
        let mut finding = tx.prepare_cached(&super::content::findings_sql(1, true))?;
        let mut task = tx.prepare_cached(
            "INSERT INTO repost_done (task_id, account_id, post_id, published_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (task_id, account_id) DO NOTHING",
        )?;
        for new in &new_posts {
            let Some(id) = new.id else { continue };
            let Some((account_id, post)) = posts.get(new.index) else {
                continue;
            };
            let published_at = to_secs(post.published_at);
            for hit in &post.hits {
                finding.execute(rusqlite::params![
                    account_id,
                    id,
                    post.dedup_key,
                    hit.rule.id(),
                    hit.level.id(),
                    hit.category,
                    hit.matched,
                    hit.suggestion,
                    hit.context,
                    hit.key,
                    hit.is_in_title,
                    published_at,
                    post.title,
                    post.link,
                    seen,
                    "open",
                ])?;
            }
            for task_id in &post.tasks {
                task.execute(rusqlite::params![task_id, account_id, id, published_at])?;
            }
        }
    }
    {
        let mut upsert = tx.prepare_cached(&upsert_states_sql(1, true))?;
        let optional = |t: Option<DateTime<Utc>>| t.map(to_secs);
        for state in &states {
            upsert.execute(rusqlite::params![
                state.account_id,
                to_secs(state.next_check_at.unwrap_or(now)),
                optional(state.last_checked_at),
                optional(state.last_success_at),
                state.outcome.map(Outcome::id),
                state.message,
                state.http_status.map(i64::from),
                i64::from(state.consecutive_failures),
                i64::from(state.gone_streak),
                optional(state.gone_since),
                state.etag,
                state.last_modified,
                state.feed_title,
                optional(state.first_success_at),
                // Kept only from a fetch that read the feed.
                state
                    .feed_keys
                    .as_deref()
                    .filter(|_| state.outcome == Some(Outcome::Ok)),
            ])?;
        }
    }
    let delta = SummaryDelta::new(
        new_posts
            .iter()
            .filter_map(|new| posts.get(new.index).copied()),
    )?;
    {
        let mut segment = tx.prepare_cached(&upsert_segments_sql(1, true))?;
        for (account_id, starts_at, s) in delta.segment_rows() {
            segment.execute(rusqlite::params![
                account_id, starts_at, s.total, s.original, s.repost
            ])?;
        }
        // Undated posts are judged against the first successful fetch as
        // stored now (the upsert above keeps an earlier one).
        let mut basis =
            tx.prepare_cached("SELECT first_success_at FROM fetch_state WHERE account_id = ?")?;
        let mut totals = tx.prepare_cached(&upsert_totals_sql(1, true))?;
        for (account_id, a) in &delta.accounts {
            let first: Option<i64> = if a.last_undated_at.is_some() {
                use rusqlite::OptionalExtension as _;
                basis
                    .query_row([account_id], |row| row.get::<_, Option<i64>>(0))
                    .optional()?
                    .flatten()
            } else {
                None
            };
            totals.execute(rusqlite::params![
                account_id,
                a.total,
                AccountDelta::last_post_at(a, seen, first),
                seen,
                a.last_undated_at.is_some(),
                first,
                false,
            ])?;
        }
    }
    tx.commit()?;
    Ok(delta.new_posts_of(results))
}

#[cfg(test)]
mod tests {
    use super::{FetchState, Job};
    use crate::storage::Store;
    use chrono::Utc;

    /// A batch whose job is dropped unanswered (its thread gone) comes back
    /// whole, with an error: the poller then tries each account alone.
    #[tokio::test]
    async fn a_job_dropped_unanswered_hands_its_batch_back() {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let state = FetchState {
            account_id: "a".to_string(),
            ..FetchState::default()
        };
        drop(Job {
            batch: vec![(state, Vec::new())],
            now: Utc::now(),
            reply: Some(reply),
        });
        let (batch, result) = answer.await.expect("an answer");
        assert_eq!(batch.len(), 1);
        assert!(result.is_err());
    }

    /// The writer hands its checkpoints to a thread of their own on a file,
    /// takes them back when that thread ends, and keeps them on an in-memory
    /// database (which has no log).
    #[test]
    fn checkpoints_move_to_their_thread_and_back_when_it_ends() {
        use super::{Log, Target, open};
        let autocheckpoint = |conn: &rusqlite::Connection| -> i64 {
            conn.query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
                .expect("pragma")
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("l.db");
        rusqlite::Connection::open(&path)
            .and_then(|c| c.pragma_update(None, "journal_mode", "WAL"))
            .expect("a WAL database");
        let target = Target {
            path,
            is_in_memory: false,
        };
        let mut log = Log::default();
        let conn = open(&target)
            .and_then(|conn| log.adopt(conn, &target))
            .expect("open");
        assert_eq!(autocheckpoint(&conn), 0);
        log.before_batch(&conn);
        assert_eq!(autocheckpoint(&conn), 0, "the thread still runs");
        if let Some(checkpointer) = log.checkpointer.as_mut() {
            checkpointer.end_thread();
        }
        log.before_batch(&conn);
        assert!(log.checkpointer.is_none());
        assert_eq!(autocheckpoint(&conn), 1_000);

        let memory = Target {
            path: "file:sqlx-in-memory-log-test".into(),
            is_in_memory: true,
        };
        let mut log = Log::default();
        let conn = open(&memory)
            .and_then(|conn| log.adopt(conn, &memory))
            .expect("open");
        assert!(log.checkpointer.is_none());
        assert_eq!(autocheckpoint(&conn), 1_000);
    }

    /// Closing the store closes the writer's connection too, and the next
    /// write opens it again.
    #[tokio::test]
    async fn the_writer_closes_with_the_store_and_opens_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/w.db", dir.path().display());
        let settings =
            crate::config::Settings::parse("test", &format!("[database]\nurl = \"{url}\"\n"))
                .expect("settings");
        let store = Store::connect(&settings.database).await.expect("connect");
        store.migrate().await.expect("migrate");
        let Store::Sqlite(_, writer) = &store else {
            panic!("a SQLite store");
        };
        let state = FetchState {
            account_id: "nobody".to_string(),
            ..FetchState::default()
        };
        // No such account: the fetch state's foreign key refuses it, on the
        // writer's own connection as on the pool's.
        let (batch, refused) = writer
            .record_fetches(vec![(state.clone(), Vec::new())], Utc::now())
            .await;
        assert_eq!(batch.len(), 1);
        assert!(refused.is_err(), "{refused:?}");
        writer.close().await;
        let (_, again) = writer
            .record_fetches(vec![(state, Vec::new())], Utc::now())
            .await;
        assert!(again.is_err(), "{again:?}");
    }
}
