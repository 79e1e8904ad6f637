//! One poll cycle: due accounts → fetch → parse → store, and proxy health.
//!
//! In: the due accounts (claimed in storage) and their fetch states, the
//! settings, `now`.
//! Out: new posts and fetch states in storage, a [`PollReport`] per account.
//! One account failing never stops the others.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod content;
mod prepare;
pub mod schedule;
mod source;

use source::join_url;
pub use source::source_url;

use crate::config::{Redactor, Settings, loggable_url};
use crate::fetch::{FetchFailure, FetchState, Fetched, Fetcher, Outcome};
use crate::parse::Classifier;
use crate::registry::{Account, Source};
use crate::storage::Store;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Semaphore;

/// Due accounts are this daemon's to poll for this long; a daemon that dies
/// mid-cycle gives them back after it.
pub const CLAIM_LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// Results saved per transaction, at most (whatever is ready is saved).
const SAVE_BATCH: usize = 256;

/// Parsed results waiting for the writer, at most: enough to fill its next
/// transaction while it commits one, few enough to keep memory flat.
const READY_AHEAD: usize = 64;

/// One account's attempt, ready to save: its report and what to store.
struct Prepared {
    report: PollReport,
    /// The new fetch state and the posts; None when nothing can be stored.
    save: Option<(FetchState, Vec<crate::parse::Post>)>,
}

/// What happened to one account in a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub account_id: String,
    pub outcome: Outcome,
    /// Items in the feed, and how many of them were new.
    pub items: usize,
    pub new_posts: u64,
    pub message: Option<String>,
    pub next_check_at: DateTime<Utc>,
    /// The proxy's name, or `feed` for a plain feed (a metrics label).
    pub source: String,
    /// The database did not take the result.
    pub is_unsaved: bool,
}

/// A proxy's health as decided at the end of a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyVerdict {
    pub proxy: String,
    pub is_up: bool,
    pub message: Option<String>,
}

/// The poller: one HTTP client, the concurrency caps and the classifiers.
pub struct Poller {
    store: Store,
    fetcher: Fetcher,
    /// Parsing and scheduling, shared with the blocking tasks that run them.
    /// It also holds the settings and the redactor the poller itself uses
    /// (fetch failures are stored and shown to contacts: no secret may remain).
    prep: Arc<prepare::Preparer>,
    /// Blocking tasks parsing at once: one per core, so that 64 bodies in
    /// flight do not become 64 threads fighting for two cores.
    cpu: Arc<Semaphore>,
    /// The content checks (lists compiled once).
    checker: Arc<crate::content::Checker>,
    per_proxy: HashMap<String, Arc<Semaphore>>,
    /// One due-cycle at a time per process: the poll loop and an inspection
    /// asking at once would otherwise fetch the same accounts twice.
    cycle: tokio::sync::Mutex<()>,
    /// A proxy was down at the last judgement (or none was made yet).
    has_proxy_down: AtomicBool,
}

/// The poller could not be built from the settings.
#[derive(Debug, thiserror::Error)]
#[error("无法开始抓取：{0}")]
pub struct PollSetupError(String);

impl Poller {
    pub fn new(settings: &Settings, store: Store) -> Result<Poller, PollSetupError> {
        let fetcher = Fetcher::new(&settings.poll).map_err(|e| PollSetupError(e.to_string()))?;
        let classifier = Classifier::new(&settings.poll.repost_patterns)
            .map_err(|e| PollSetupError(e.to_string()))?;
        let per_proxy = settings
            .proxies
            .iter()
            .map(|(name, p)| (name.clone(), Arc::new(Semaphore::new(p.max_concurrency))))
            .collect();
        let checker =
            crate::content::Checker::from_settings(&settings.content).map_err(PollSetupError)?;
        let prep = prepare::Preparer {
            classifier,
            patterns: fetcher.patterns.clone(),
            redactor: Redactor::from_settings(settings),
            settings: settings.clone(),
        };
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Poller {
            store,
            fetcher,
            prep: Arc::new(prep),
            cpu: Arc::new(Semaphore::new(cores)),
            checker: Arc::new(checker),
            per_proxy,
            cycle: tokio::sync::Mutex::new(()),
            has_proxy_down: AtomicBool::new(true),
        })
    }

    /// Polls every account that is due at `now`.
    pub async fn poll_due(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<PollReport>> {
        // Whoever waited here finds the accounts the other cycle polled no longer due.
        let _cycle = self.cycle.lock().await;
        let ids = self.store.claim_due_accounts(now, CLAIM_LEASE).await?;
        if ids.is_empty() {
            // An idle tick costs the one indexed claim, unless a proxy is
            // down: then its health path is probed, so its recovery shows
            // while its accounts back off.
            if self.has_proxy_down.load(Ordering::Relaxed) {
                self.update_proxy_health(&[], &[], now).await?;
            }
            return Ok(Vec::new());
        }
        self.poll_accounts(&ids, now, &|_, _| {}).await
    }

    /// Polls the given accounts now, whatever their schedule; `progress` is
    /// called with (done, total) after each account.
    pub async fn poll_accounts(
        &self,
        ids: &[String],
        now: DateTime<Utc>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> anyhow::Result<Vec<PollReport>> {
        // Only these accounts and their states: a cycle of a few due
        // accounts does not read a register of 100,000.
        // One copy of each account, shared by its job (fetch, parse, content
        // checks) and the proxy tally (a cycle of 100,000 held three before).
        let accounts: Vec<Arc<Account>> = self
            .store
            .accounts_by_id(ids)
            .await?
            .into_iter()
            .map(Arc::new)
            .collect();
        let mut states = self.store.fetch_states_of(ids).await?;
        // Owned jobs: the futures below must not borrow with free lifetimes
        // (they run inside spawned daemon tasks).
        let order: Vec<Arc<Account>> = {
            let by_id: HashMap<&str, &Arc<Account>> =
                accounts.iter().map(|a| (a.id.as_str(), a)).collect();
            let mut seen = std::collections::HashSet::new();
            ids.iter()
                // An account named twice is polled once.
                .filter(|id| seen.insert(id.as_str()))
                .filter_map(|id| by_id.get(id.as_str()).copied())
                // Checked by hand: nothing to fetch.
                .filter(|account| !matches!(account.source, Source::Manual {}))
                .map(Arc::clone)
                .collect()
        };
        let total = order.len();
        // Each job takes its state when it starts: the states are not
        // copied into a second list of 100,000.
        let jobs = order.into_iter().map(move |account| {
            let state = states.remove(&account.id).unwrap_or_else(|| FetchState {
                account_id: account.id.clone(),
                ..FetchState::default()
            });
            (account, state)
        });
        let content =
            Arc::new(content::CycleContent::load(self.checker.clone(), &self.store, now).await?);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let done = &done;
        // Fetching and parsing feed the writer through a bounded channel:
        // saving one batch never stops the next from being fetched, and a
        // slow database holds back at most two batches in memory.
        let (ready, mut to_save) = tokio::sync::mpsc::channel::<Checked>(READY_AHEAD);
        let produce = async move {
            let mut prepared = std::pin::pin!(
                futures_util::stream::iter(jobs)
                    .map(|(account, state)| self.poll_guarded(account, state, &content, now))
                    .buffer_unordered(self.prep.settings.poll.max_concurrency)
            );
            while let Some(checked) = prepared.next().await {
                let finished = done
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    .saturating_add(1);
                progress(finished, total);
                if ready.send(checked).await.is_err() {
                    break;
                }
            }
        };
        let save = async {
            let mut reports: Vec<PollReport> = Vec::with_capacity(total);
            let mut batch = Vec::with_capacity(SAVE_BATCH);
            // Whatever is ready when the writer is free is one transaction.
            while to_save.recv_many(&mut batch, SAVE_BATCH).await > 0 {
                let mut fixed = Vec::new();
                let prepared: Vec<Prepared> = batch
                    .drain(..)
                    .map(|checked| {
                        fixed.extend(checked.fixed);
                        checked.prepared
                    })
                    .collect();
                reports.extend(self.save(prepared, now).await);
                if !fixed.is_empty() {
                    if let Err(err) = self.store.fix_content_findings(&fixed, now).await {
                        tracing::error!(error = %err, "cannot record corrected posts");
                    }
                }
            }
            reports
        };
        let ((), mut reports) = tokio::join!(produce, save);
        reports.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        self.update_proxy_health(&accounts, &reports, now).await?;
        Ok(reports)
    }

    /// Judges and stores each proxy's health after a cycle.
    async fn update_proxy_health(
        &self,
        accounts: &[Arc<Account>],
        reports: &[PollReport],
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let verdicts = self.judge_proxies(accounts, reports).await?;
        let has_down = verdicts.iter().any(|v| !v.is_up);
        for verdict in verdicts {
            self.store
                .set_proxy_health(
                    &verdict.proxy,
                    verdict.is_up,
                    verdict.message.as_deref(),
                    now,
                )
                .await?;
        }
        self.has_proxy_down.store(has_down, Ordering::Relaxed);
        Ok(())
    }

    /// One account: fetched here, parsed and checked on a blocking thread.
    /// A panic in its processing is caught, logged and counted, so it cannot
    /// take the cycle down. This is the last line of defence: every panic
    /// found is fixed at its cause.
    async fn poll_guarded(
        &self,
        account: Arc<Account>,
        state: FetchState,
        content: &Arc<content::CycleContent>,
        now: DateTime<Utc>,
    ) -> Checked {
        use futures_util::FutureExt as _;
        let id = account.id.clone();
        let label = source_label(&account);
        let fetched = std::panic::AssertUnwindSafe(self.fetch(&account, &state))
            .catch_unwind()
            .await;
        let Ok(fetched) = fetched else {
            return panicked(&id, label, "fetching", now);
        };
        let prep = Arc::clone(&self.prep);
        let content = Arc::clone(content);
        let Ok(_core) = self.cpu.acquire().await else {
            return panicked(&id, label, "waiting for a core", now);
        };
        let worked = tokio::task::spawn_blocking(move || {
            let mut prepared = prep.prepare(&account, state, fetched, now);
            // A panic in the checks costs the account its findings, not its posts.
            let fixed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                content.check(&account, std::slice::from_mut(&mut prepared))
            }))
            .unwrap_or_else(|payload| {
                let cause = crate::process::panic_text(payload);
                metrics::counter!("xunjian_poll_panics_total").increment(1);
                tracing::error!(account = %account.id, cause = %cause, "the content checks of an account panicked");
                Vec::new()
            });
            Checked { prepared, fixed }
        })
        .await;
        match worked {
            Ok(checked) => checked,
            Err(err) if err.is_panic() => {
                let cause = crate::process::panic_text(err.into_panic());
                panicked(&id, label, &cause, now)
            }
            // Only a runtime shutting down cancels a blocking task.
            Err(_) => panicked(&id, label, "the runtime is shutting down", now),
        }
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

    /// Saves a batch of prepared results in one transaction, filling in
    /// each report's new posts. When the batch fails, each account is tried
    /// alone, so one bad row cannot cost the others their results.
    async fn save(&self, batch: Vec<Prepared>, now: DateTime<Utc>) -> Vec<PollReport> {
        let rows: Vec<(&FetchState, &[crate::parse::Post])> = batch
            .iter()
            .filter_map(|p| p.save.as_ref().map(|(s, posts)| (s, posts.as_slice())))
            .collect();
        let saved = if rows.len() > 1 {
            self.store.record_fetches(&rows, now).await.ok()
        } else {
            None
        };
        let mut counts = saved.map(Vec::into_iter);
        let mut reports = Vec::with_capacity(batch.len());
        for prepared in batch {
            let mut report = prepared.report;
            let Some((state, posts)) = &prepared.save else {
                reports.push(report);
                continue;
            };
            let result = match counts.as_mut() {
                Some(counts) => Ok(counts.next().unwrap_or(0)),
                None => self.store.record_fetch(state, posts, now).await,
            };
            match result {
                Ok(new_posts) => report.new_posts = new_posts,
                Err(err) => {
                    let err = self.prep.redactor.redact(&err.to_string());
                    tracing::error!(account = %report.account_id, error = %err, "cannot save the fetch result");
                    report.new_posts = 0;
                    report.message = Some(format!("not saved: {err}"));
                    report.next_check_at = now;
                    report.is_unsaved = true;
                }
            }
            reports.push(report);
        }
        reports
    }

    /// Decides each proxy's health from the cycle's results, probing its
    /// health path when failures cluster on it or it was down.
    async fn judge_proxies(
        &self,
        accounts: &[Arc<Account>],
        reports: &[PollReport],
    ) -> anyhow::Result<Vec<ProxyVerdict>> {
        let tally = tally_by_proxy(accounts, reports);
        let was_down: Vec<String> = self
            .store
            .proxy_health()
            .await?
            .into_iter()
            .filter(|h| !h.is_up)
            .map(|h| h.name)
            .collect();
        let mut verdicts = Vec::new();
        for (name, proxy) in &self.prep.settings.proxies {
            let (attempted, troubled) = tally.get(name).copied().unwrap_or_default();
            let is_clustered = troubled > 0 && troubled.saturating_mul(2) >= attempted;
            if !is_clustered && !was_down.contains(name) {
                if attempted > 0 {
                    verdicts.push(ProxyVerdict {
                        proxy: name.clone(),
                        is_up: true,
                        message: None,
                    });
                }
                continue;
            }
            let verdict = match &proxy.health_path {
                Some(path) => {
                    let url = join_url(&proxy.url, path).map_err(anyhow::Error::msg)?;
                    match self.fetcher.probe(&url).await {
                        Ok(()) => ProxyVerdict {
                            proxy: name.clone(),
                            is_up: true,
                            message: None,
                        },
                        Err(message) => ProxyVerdict {
                            proxy: name.clone(),
                            is_up: false,
                            message: Some(self.prep.redactor.redact(&message)),
                        },
                    }
                }
                None if attempted == 0 => continue,
                None => {
                    // Without a health path a proxy is down only when enough of
                    // its accounts fail with network or proxy trouble and none
                    // gets an answer: one mistyped route is that account's problem.
                    // All of its accounts, not only this cycle's: "or all, if fewer".
                    let registered = self.store.proxy_account_count(name).await?;
                    let is_down = troubled == attempted && troubled >= registered.clamp(1, 3);
                    ProxyVerdict {
                        proxy: name.clone(),
                        is_up: !is_down,
                        message: is_down.then(|| {
                            format!("all {attempted} requests failed (no health_path to probe)")
                        }),
                    }
                }
            };
            if !verdict.is_up {
                tracing::warn!(proxy = %name, message = verdict.message.as_deref().unwrap_or(""), "proxy is down");
            }
            verdicts.push(verdict);
        }
        Ok(verdicts)
    }
}

/// One account's attempt after its content checks: what to save, and the
/// open findings it shows fixed.
struct Checked {
    prepared: Prepared,
    fixed: Vec<(i64, String)>,
}

/// The result of an account whose processing panicked (`cause`): logged,
/// counted, reported as an internal error and not saved.
fn panicked(id: &str, source: String, cause: &str, now: DateTime<Utc>) -> Checked {
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
                source,
                is_unsaved: true,
            },
            save: None,
        },
        fixed: Vec::new(),
    }
}

/// The proxy's name, or `feed`.
pub(super) fn source_label(account: &Account) -> String {
    match &account.source {
        Source::Proxy { proxy, .. } => proxy.clone(),
        Source::Feed { .. } => "feed".to_string(),
        Source::Manual {} => "manual".to_string(),
    }
}

/// Per proxy: (accounts attempted, attempts that failed with network or proxy trouble).
fn tally_by_proxy(
    accounts: &[Arc<Account>],
    reports: &[PollReport],
) -> BTreeMap<String, (usize, usize)> {
    let proxy_of: HashMap<&str, &str> = accounts
        .iter()
        .filter_map(|a| match &a.source {
            Source::Proxy { proxy, .. } => Some((a.id.as_str(), proxy.as_str())),
            Source::Feed { .. } | Source::Manual {} => None,
        })
        .collect();
    let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for report in reports {
        if let Some(proxy) = proxy_of.get(report.account_id.as_str()) {
            let entry = tally.entry((*proxy).to_string()).or_default();
            entry.0 = entry.0.saturating_add(1);
            entry.1 = entry
                .1
                .saturating_add(usize::from(report.outcome.is_proxy_trouble()));
        }
    }
    tally
}
