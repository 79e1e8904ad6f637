//! Checkpoints of the SQLite write-ahead log, on a thread of their own.
//!
//! With SQLite's automatic checkpoints the writer itself copied the log back
//! into the database file every 1,000 pages, between two batches, and waited
//! for the disk each time. In a cold cycle of 10,000 feeds that was a sixth
//! of the wall time (2.97–3.39 s with them against 2.49–2.78 s with none),
//! and the fetching and parsing stood still meanwhile, waiting for the writer.
//! Here a second connection copies the log back while the writer goes on with
//! the next batch (a passive checkpoint never blocks a writer or a reader).
//!
//! The log must not grow without end while the writer never pauses: once a
//! checkpoint has found more than [`LOG_CAP`] pages in it, the writer waits
//! before its next batch for a checkpoint that covers its last commit. That
//! batch then starts the log again from its beginning, unless a reader still
//! holds an older snapshot (then the log grows on, as it would with SQLite's
//! own checkpoints). Only the pages the checkpointer had not yet copied are
//! waited for, about one batch's. A thread whose checkpoints keep failing
//! ends, and the writer checkpoints by itself again.

use rusqlite::Connection;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Pages the log may hold before the writer waits for it to be copied back:
/// 64 MB at the store's 16 KB pages (SQLite's own default checkpoints at
/// 1,000).
pub(super) const LOG_CAP: i64 = 4_000;

/// How long the writer waits for a checkpoint at most. After a checkpoint
/// that took longer (a very slow disk), the writer goes on, and waits again
/// only when a later checkpoint finds the log past the cap.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// Checkpoints that fail in a row (an I/O error, a full disk) before the
/// thread gives up and hands the checkpoints back to the writer.
const MAX_FAILURES: u32 = 3;

/// The checkpointing thread of one writer.
pub(super) struct Checkpointer {
    requests: Option<flume::Sender<u64>>,
    /// Pages of log past which the writer waits ([`LOG_CAP`]).
    cap: i64,
    /// The commit the writer last waited for: the log restarts with the next
    /// one, so only a checkpoint after that says how large it is now.
    waited_for: u64,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
}

#[derive(Default)]
struct Progress {
    /// The last of the writer's commits (by its count) that a finished
    /// checkpoint covers.
    covered: u64,
    /// Pages in the log when the last checkpoint that could run ran (0 when
    /// not in WAL mode).
    log: i64,
    /// The thread has ended (the writer then checkpoints by itself again).
    is_stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks the thread stopped however it ends, so that no writer waits for it.
struct StopGuard(Arc<Shared>);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.lock().is_stopped = true;
        self.0.changed.notify_all();
    }
}

impl Checkpointer {
    /// Starts checkpointing on `conn`, a connection of its own to the
    /// writer's database file; the writer waits past `cap` pages of log.
    pub fn start(conn: Connection, cap: i64) -> std::io::Result<Checkpointer> {
        let (requests, queue) = flume::unbounded::<u64>();
        let shared = Arc::new(Shared::default());
        let guard = StopGuard(Arc::clone(&shared));
        let thread = std::thread::Builder::new()
            .name("xunjian-sqlite-checkpoint".to_string())
            .spawn(move || {
                let guard = guard;
                let mut failures = 0_u32;
                while let Ok(first) = queue.recv() {
                    // Requests that came meanwhile are covered by one checkpoint.
                    let commit = queue.try_iter().fold(first, u64::max);
                    let log = match checkpoint(&conn) {
                        Ok(log) => {
                            failures = 0;
                            log
                        }
                        Err(err) => {
                            failures = failures.saturating_add(1);
                            tracing::warn!(error = %err, failures, "a checkpoint of the SQLite log failed");
                            if failures >= MAX_FAILURES {
                                // The guard marks the thread stopped: the
                                // writer takes its checkpoints back.
                                return;
                            }
                            None
                        }
                    };
                    let mut progress = guard.0.lock();
                    progress.covered = progress.covered.max(commit);
                    // Another connection's checkpoint was running: the log's
                    // size stays as last seen.
                    if let Some(log) = log {
                        progress.log = log;
                    }
                    drop(progress);
                    guard.0.changed.notify_all();
                }
            })?;
        Ok(Checkpointer {
            requests: Some(requests),
            cap,
            waited_for: 0,
            shared,
            thread: Some(thread),
        })
    }

    /// Whether the thread still runs.
    pub fn is_running(&self) -> bool {
        !self.shared.lock().is_stopped
    }

    /// Asks for a checkpoint after the writer's commit number `commit`.
    pub fn request(&self, commit: u64) {
        if let Some(requests) = &self.requests {
            let _ = requests.send(commit);
        }
    }

    /// Before the writer's next batch: when the log has grown past the cap,
    /// waits for a checkpoint that covers commit number `commit`.
    pub fn hold_back(&mut self, commit: u64) {
        let progress = self.shared.lock();
        if progress.log <= self.cap || progress.covered <= self.waited_for {
            return;
        }
        self.wait_for(progress, commit);
        self.waited_for = commit;
    }

    /// Checkpoints what the writer committed up to `commit`, waits for it and
    /// ends the thread, whose connection then closes (the store is closing).
    pub fn finish(mut self, commit: u64) {
        self.request(commit);
        self.wait_for(self.shared.lock(), commit);
        self.end_thread();
    }

    /// Ends the thread once the checkpoints asked for are done (as a failure
    /// would, for the tests of the writer's fallback).
    pub fn end_thread(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn wait_for(&self, progress: MutexGuard<'_, Progress>, commit: u64) {
        let _ = self
            .shared
            .changed
            .wait_timeout_while(progress, MAX_WAIT, |p| p.covered < commit && !p.is_stopped);
    }
}

/// One passive checkpoint: the pages in the log when it ran, or None when
/// another connection's checkpoint was running (SQLite says busy, and the
/// sizes as -1).
fn checkpoint(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    let (is_busy, log) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(0)? != 0, row.get::<_, i64>(1)?))
    })?;
    // A log of -1 and no busy flag: not in WAL mode.
    Ok((!is_busy || log >= 0).then_some(log.max(0)))
}

#[cfg(test)]
mod tests {
    use super::Checkpointer;
    use rusqlite::Connection;

    /// A new database in WAL mode with a table `t`, a writer connection that
    /// never checkpoints by itself, and a checkpointer beside it.
    fn writer_and_checkpointer(
        path: &std::path::Path,
        page_size: i64,
        cap: i64,
    ) -> (Connection, Checkpointer) {
        let writer = Connection::open(path).expect("open");
        for (pragma, value) in [
            ("page_size", rusqlite::types::Value::Integer(page_size)),
            (
                "journal_mode",
                rusqlite::types::Value::Text("WAL".to_string()),
            ),
            ("wal_autocheckpoint", rusqlite::types::Value::Integer(0)),
        ] {
            writer.pragma_update(None, pragma, value).expect(pragma);
        }
        writer
            .execute_batch("CREATE TABLE t (x BLOB)")
            .expect("table");
        let checkpointer =
            Checkpointer::start(Connection::open(path).expect("open"), cap).expect("start");
        (writer, checkpointer)
    }

    /// The writer's commit number `commit`, of a row of `bytes`, as the
    /// SQLite writer makes it: held back first, checkpointed after.
    fn write(writer: &Connection, checkpointer: &mut Checkpointer, commit: u64, bytes: i64) {
        checkpointer.hold_back(commit.saturating_sub(1));
        writer
            .execute("INSERT INTO t VALUES (zeroblob(?))", [bytes])
            .expect("insert");
        checkpointer.request(commit);
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |row| row.get(0)).expect("a count")
    }

    /// The writer's commits reach the database file through the checkpointer
    /// (read back by a connection that ignores the log), and the log starts
    /// again from its beginning once it was copied whole.
    #[test]
    fn commits_reach_the_database_file_and_the_log_restarts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.db");
        let (writer, mut checkpointer) = writer_and_checkpointer(&path, 4096, super::LOG_CAP);
        let wal = dir.path().join("c.db-wal");
        let mut sizes = Vec::new();
        for commit in 1..=20_u64 {
            write(&writer, &mut checkpointer, commit, 200_000);
            // Every commit is waited for here, so each write finds the log
            // copied and starts it again: the file stays near one commit.
            checkpointer.wait_for(checkpointer.shared.lock(), commit);
            sizes.push(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        }
        assert!(checkpointer.is_running());
        checkpointer.finish(20);
        // A connection that reads the database file alone (the log moved
        // aside) sees every row.
        std::fs::rename(&wal, dir.path().join("aside")).expect("move the log aside");
        let _ = std::fs::remove_file(dir.path().join("c.db-shm"));
        let reader = Connection::open(&path).expect("open");
        assert_eq!(count(&reader, "SELECT COUNT(*) FROM t"), 20);
        let largest = sizes.iter().copied().max().unwrap_or(0);
        assert!(
            largest < 1_200_000,
            "the log grew to {largest} bytes over 20 commits of 200 KB: {sizes:?}"
        );
    }

    /// A writer that never pauses by itself is held back: the log grows to
    /// the cap and the commits of a checkpoint or two, not with every commit
    /// (without the hold-back it reached 42 MB here).
    #[test]
    fn a_writer_that_never_pauses_keeps_the_log_near_the_cap() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (writer, mut checkpointer) =
            writer_and_checkpointer(&dir.path().join("c.db"), 1024, 400);
        // 400 commits of about 100 pages each: 40,000 pages written, a
        // hundred times the cap of 400.
        for commit in 1..=400_u64 {
            write(&writer, &mut checkpointer, commit, 100_000);
        }
        checkpointer.finish(400);
        let wal = std::fs::metadata(dir.path().join("c.db-wal")).map_or(0, |m| m.len());
        // The cap (0.4 MB) and up to 90 commits written while a starved
        // checkpointer (tests run in parallel) had not yet reported.
        assert!(wal < 10_000_000, "the log grew to {wal} bytes");
        assert_eq!(count(&writer, "SELECT COUNT(*) FROM t"), 400);
    }
}
