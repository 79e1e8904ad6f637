//! One account's attempt, run as its own task: fetched on whichever runtime
//! worker is free, parsed and checked on a blocking thread, guarded so that a
//! panic costs that account only.
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
    /// Blocking tasks parsing at once: one per core, so that 64 bodies in
    /// flight do not become 64 threads fighting for two cores.
    pub cpu: Arc<Semaphore>,
    pub per_proxy: HashMap<String, Arc<Semaphore>>,
}

/// One account's attempt after its content checks: what to save, and the
/// open findings it shows fixed.
pub(super) struct Checked {
    pub prepared: Prepared,
    pub fixed: Vec<(i64, String)>,
}

impl Worker {
    /// One account: fetched here, parsed and checked on a blocking thread.
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
        // hand-off to a blocking thread (a warm cycle is all 304s).
        let has_body = matches!(&fetched, Ok(f) if f.outcome != Outcome::NotModified);
        if !has_body {
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.work(&account, state, fetched, &content, now)
            }));
            return done.unwrap_or_else(|payload| {
                panicked(&id, via, &crate::process::panic_text(payload), now)
            });
        }
        let Ok(core) = Arc::clone(&self.cpu).acquire_owned().await else {
            return panicked(&id, via, "waiting for a core", now);
        };
        let work = Arc::clone(&self);
        let worked = tokio::task::spawn_blocking(move || {
            let checked = work.work(&account, state, fetched, &content, now);
            // The core is free as soon as the work is done, not when this
            // task is next polled.
            drop(core);
            checked
        })
        .await;
        match worked {
            Ok(checked) => checked,
            Err(err) if err.is_panic() => {
                let cause = crate::process::panic_text(err.into_panic());
                panicked(&id, via, &cause, now)
            }
            // Only a runtime shutting down cancels a blocking task.
            Err(_) => panicked(&id, via, "the runtime is shutting down", now),
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
        let mut prepared = self.prep.prepare(account, state, fetched, now);
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
