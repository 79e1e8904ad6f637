//! One account's attempt, run as its own task: fetched on whichever runtime
//! worker is free, parsed and checked on one of the parse threads, guarded so
//! that a panic costs that account only.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use super::{PollReport, Prepared, Via, content::CycleContent, prepare::Preparer, source_url};
use crate::config::loggable_url;
use crate::fetch::{FetchFailure, FetchState, Fetched, Fetcher, Outcome};
use crate::registry::Account;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What every account's task shares: the HTTP client, the parsing and
/// scheduling, and the concurrency caps.
pub(super) struct Worker {
    pub fetcher: Fetcher,
    /// Parsing and scheduling. It also holds the settings and the redactor
    /// the poller itself uses (fetch failures are stored and shown to
    /// contacts: no secret may remain).
    pub prep: Preparer,
    /// The threads that parse and check bodies.
    pub parse: ParsePool,
    pub per_proxy: HashMap<String, Arc<Semaphore>>,
}

/// One account's attempt after its content checks: what to save, and the
/// open findings it shows fixed.
pub(super) struct Checked {
    pub prepared: Prepared,
    pub fixed: Vec<(i64, String)>,
}

impl Worker {
    /// One account: fetched here, parsed and checked on a parse thread.
    /// A panic in its processing is caught, logged and counted, so it cannot
    /// take the cycle down. This is the last line of defence: every panic
    /// found is fixed at its cause.
    pub async fn poll_guarded(
        self: Arc<Self>,
        account: Account,
        state: FetchState,
        content: Arc<CycleContent>,
        now: DateTime<Utc>,
    ) -> Checked {
        use futures_util::FutureExt as _;
        let id = account.id.clone();
        let via = Via::of(&account);
        let fetched = std::panic::AssertUnwindSafe(self.fetch(&account, &state))
            .catch_unwind()
            .await;
        let Ok(fetched) = fetched else {
            return panicked(&id, via, "fetching", now);
        };
        // A 304 or a failure has no body to parse: done here, with no
        // hand-off to a parse thread (a warm cycle is all 304s).
        let has_body = matches!(&fetched, Ok(f) if f.outcome != Outcome::NotModified);
        if !has_body {
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.work(&account, state, fetched, &content, now)
            }));
            return done.unwrap_or_else(|payload| {
                panicked(&id, via, &crate::process::panic_text(payload), now)
            });
        }
        let work = Arc::clone(&self);
        match self
            .parse
            .run(move || work.work(&account, state, fetched, &content, now))
            .await
        {
            Ok(checked) => checked,
            Err(cause) => panicked(&id, via, &cause, now),
        }
    }

    /// Parses, schedules and checks one attempt.
    fn work(
        &self,
        account: &Account,
        state: FetchState,
        fetched: Result<Fetched, FetchFailure>,
        content: &CycleContent,
        now: DateTime<Utc>,
    ) -> Checked {
        let recheck = |key: &str| content.is_open(&account.id, key);
        let mut prepared = self.prep.prepare(account, state, fetched, now, &recheck);
        // A panic in the checks costs the account its findings, not its posts.
        let fixed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            content.check(account, std::slice::from_mut(&mut prepared))
        }))
        .unwrap_or_else(|payload| {
            let cause = crate::process::panic_text(payload);
            metrics::counter!("xunjian_poll_panics_total").increment(1);
            tracing::error!(account = %account.id, cause = %cause, "the content checks of an account panicked");
            Vec::new()
        });
        Checked { prepared, fixed }
    }

    /// Fetches one account's feed (or says why it cannot be fetched).
    async fn fetch(&self, account: &Account, state: &FetchState) -> Result<Fetched, FetchFailure> {
        let (url, proxy) = source_url(account, &self.prep.settings)
            .map_err(|message| FetchFailure::new(Outcome::Invalid, message))?;
        let permit = match proxy.and_then(|p| self.per_proxy.get(p)) {
            Some(semaphore) => Some(semaphore.clone().acquire_owned().await),
            None => None,
        };
        let fetched = self
            .fetcher
            .get(
                &url,
                state.etag.as_deref(),
                state.last_modified.as_deref(),
                proxy.is_some(),
            )
            .await;
        drop(permit);
        let shown = self.prep.redactor.redact(&loggable_url(&url));
        tracing::debug!(account = %account.id, url = %shown, ok = fetched.is_ok(), "fetched");
        fetched
    }
}

/// Threads that parse and check fetched bodies, taking jobs from one queue.
/// They replaced `spawn_blocking`, whose pool woke a sleeping thread for each
/// body; a busy parse thread takes the next body without sleeping. There is
/// one per core (see `Poller::new`). The
/// queue is bounded, so 64 fetches in flight wait for a thread instead of
/// piling up parsed. A job that panics is caught on its thread, which goes
/// on; the threads end when the poller is dropped.
pub(super) struct ParsePool {
    jobs: flume::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// Bodies waiting per parse thread, at most. With one each, a thread that
/// finished sometimes found the queue empty while fetches were done (the poll
/// bench's cold cycle took 10 % longer than with eight).
const QUEUED_PER_THREAD: usize = 8;

impl ParsePool {
    pub fn new(threads: usize) -> std::io::Result<ParsePool> {
        let (jobs, queue) = flume::bounded::<Job>(threads.saturating_mul(QUEUED_PER_THREAD));
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("xunjian-parse-{n}"))
                .spawn(move || {
                    for job in queue.iter() {
                        job();
                    }
                })?;
        }
        Ok(ParsePool { jobs })
    }

    /// Runs `work` on a parse thread; Err with the cause when it panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                .map_err(crate::process::panic_text);
            // Nobody waits when the cycle was dropped meanwhile.
            let _ = done.send(outcome);
        });
        if self.jobs.send_async(job).await.is_err() {
            return Err("the parse threads are gone".to_string());
        }
        result
            .await
            .unwrap_or_else(|_| Err("the parse threads are gone".to_string()))
    }
}

/// The result of an account whose processing panicked (`cause`): logged,
/// counted, reported as an internal error and not saved.
pub(super) fn panicked(id: &str, via: Via, cause: &str, now: DateTime<Utc>) -> Checked {
    metrics::counter!("xunjian_poll_panics_total").increment(1);
    tracing::error!(account = %id, cause = %cause, "polling this account panicked");
    Checked {
        prepared: Prepared {
            report: PollReport {
                account_id: id.to_string(),
                outcome: Outcome::Invalid,
                items: 0,
                new_posts: 0,
                message: Some(
                    "内部错误：处理该账号时程序出错，已记录，其他账号不受影响".to_string(),
                ),
                next_check_at: now,
                source: via.label,
                is_proxied: via.is_proxied,
                is_unsaved: true,
            },
            save: None,
            stored: Vec::new(),
        },
        fixed: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::ParsePool;

    /// A job that panics costs that job only: its caller gets the cause, and
    /// the thread takes the next job.
    #[tokio::test]
    async fn a_panicking_job_is_reported_and_its_thread_goes_on() {
        let pool = ParsePool::new(1).expect("a thread starts");
        let failed = pool
            .run(|| -> usize { panic!("bad feed") })
            .await
            .expect_err("the panic is reported");
        assert!(failed.contains("bad feed"), "{failed}");
        let jobs: Vec<_> = (0..20_usize).map(|i| pool.run(move || i)).collect();
        let done = futures_util::future::join_all(jobs).await;
        let sums: usize = done.into_iter().map(|r| r.unwrap_or(usize::MAX)).sum();
        assert_eq!(sums, (0..20).sum::<usize>());
    }
}
