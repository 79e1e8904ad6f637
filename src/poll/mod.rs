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
mod job;
mod prepare;
mod save;
pub mod schedule;
mod source;

use job::{Checked, panicked};
use source::join_url;
pub use source::source_url;

use crate::config::{Redactor, Settings};
use crate::fetch::{FetchState, Fetcher, Outcome};
use crate::parse::Classifier;
use crate::registry::{Account, Source};
use crate::storage::Store;
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Semaphore;

/// Due accounts are this daemon's to poll for this long; a daemon that dies
/// mid-cycle gives them back after it.
pub const CLAIM_LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// Accounts read from storage at a time, as the cycle reaches them.
const LOAD_CHUNK: usize = 2_000;

/// Results saved per transaction, at most (whatever is ready is saved).
const SAVE_BATCH: usize = 256;

/// How long the writer waits for more results before it saves a batch
/// that is not full.
const SAVE_LINGER: std::time::Duration = std::time::Duration::from_millis(5);

/// Parsed results waiting for the writer, at most: enough to fill its next
/// transaction while it commits one, few enough to keep memory flat.
const READY_AHEAD: usize = 64;

/// One account's attempt, ready to save: its report and what to store.
struct Prepared {
    report: PollReport,
    /// The new fetch state and the posts; None when nothing can be stored.
    save: Option<(FetchState, Vec<crate::parse::Post>)>,
    /// Per post of `save`: listed by the last successful fetch, so stored
    /// already. The content checks skip these posts and leave them out of
    /// the save; empty when none is (or once they are left out).
    stored: Vec<bool>,
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
    /// Fetched through the proxy named in `source` (a proxy may be called
    /// `feed` too).
    pub is_proxied: bool,
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
    /// Fetching, parsing and scheduling, shared with each account's task.
    work: Arc<job::Worker>,
    /// The content checks (lists compiled once).
    checker: Arc<crate::content::Checker>,
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
        // One per core. While the SQLite writer was sqlx's (a round trip
        // per statement), one core was left to it; since it is a thread of
        // its own (`storage::writer`), two parse threads on two cores made
        // the cold cycle 10–25 % faster than one.
        let parse = job::ParsePool::new(cores.max(1))
            .map_err(|e| PollSetupError(format!("无法启动解析线程：{e}")))?;
        Ok(Poller {
            store,
            work: Arc::new(job::Worker {
                fetcher,
                prep,
                parse,
                per_proxy,
            }),
            checker: Arc::new(checker),
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
                self.update_proxy_health(&[], now).await?;
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
        // An account named twice is polled once.
        let ids: Vec<&str> = {
            let mut seen = std::collections::HashSet::new();
            ids.iter()
                .map(String::as_str)
                .filter(|id| seen.insert(*id))
                .collect()
        };
        let total = ids.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let done = &done;
        let content =
            Arc::new(content::CycleContent::load(self.checker.clone(), &self.store, now).await?);
        let failed_slot: std::sync::OnceLock<anyhow::Error> = std::sync::OnceLock::new();
        let failed = &failed_slot;
        // Fetching and parsing feed the writer through a bounded channel:
        // saving one batch never stops the next from being fetched, and a
        // slow database holds back at most two batches in memory.
        let (ready, mut to_save) = tokio::sync::mpsc::channel::<Checked>(READY_AHEAD);
        let produce = async move {
            let limit = self.work.prep.settings.poll.max_concurrency.max(1);
            // Each account is its own task: its fetch runs on any runtime
            // worker, not all on the one thread driving the cycle, and it
            // hands its core back as soon as its parsing ends. The set aborts
            // whatever still runs when the cycle is dropped.
            let mut running: tokio::task::JoinSet<Checked> = tokio::task::JoinSet::new();
            let mut names: HashMap<tokio::task::Id, (String, Via)> = HashMap::new();
            // The accounts and their fetch states are read a chunk at a time,
            // as the jobs reach them: a cycle of 100,000 holds a few thousand,
            // not the register. A chunk that cannot be read ends the fetching
            // (what was fetched is still saved) and is the cycle's error.
            let mut chunks = ids.chunks(LOAD_CHUNK);
            let mut waiting: std::vec::IntoIter<(Account, FetchState)> = Vec::new().into_iter();
            let mut is_stopped = false;
            loop {
                while running.len() < limit {
                    if let Some((account, state)) = waiting.next() {
                        let name = (account.id.clone(), Via::of(&account));
                        let task = Arc::clone(&self.work).poll_guarded(
                            account,
                            state,
                            Arc::clone(&content),
                            now,
                        );
                        names.insert(running.spawn(task).id(), name);
                        continue;
                    }
                    let Some(chunk) = chunks.next().filter(|_| !is_stopped) else {
                        break;
                    };
                    match self.load_jobs(chunk).await {
                        Ok(jobs) => {
                            // Unknown and manual accounts are done when read.
                            let skipped = chunk.len().saturating_sub(jobs.len());
                            if skipped > 0 {
                                let finished = done
                                    .fetch_add(skipped, Ordering::Relaxed)
                                    .saturating_add(skipped);
                                progress(finished, total);
                            }
                            waiting = jobs.into_iter();
                        }
                        Err(err) => {
                            let _ = failed.set(err);
                            is_stopped = true;
                        }
                    }
                }
                let checked = match running.join_next_with_id().await {
                    None => break,
                    Some(Ok((task, checked))) => {
                        names.remove(&task);
                        checked
                    }
                    // The task guards its own work; this is a panic between
                    // those guards (or the runtime shutting down).
                    Some(Err(err)) => {
                        let (id, via) = names.remove(&err.id()).unwrap_or_else(|| {
                            (
                                String::new(),
                                Via {
                                    label: "feed".to_string(),
                                    is_proxied: false,
                                },
                            )
                        });
                        let cause = if err.is_panic() {
                            crate::process::panic_text(err.into_panic())
                        } else {
                            "the runtime is shutting down".to_string()
                        };
                        panicked(&id, via, &cause, now)
                    }
                };
                let finished = done.fetch_add(1, Ordering::Relaxed).saturating_add(1);
                progress(finished, total);
                if ready.send(checked).await.is_err() {
                    break;
                }
            }
        };
        // SQLite takes one writer at a time; PostgreSQL two transactions at
        // once, so one batch is written while the server works on the other
        // (with one, its round trips left the cores 40 % idle). Batches
        // never share an account, so they touch different rows.
        let writers = match self.store {
            Store::Sqlite(..) => 1,
            Store::Postgres(_) => 2,
        };
        let save = async {
            let mut reports: Vec<PollReport> = Vec::with_capacity(total);
            let mut saving = futures_util::stream::FuturesUnordered::new();
            let mut batch = Vec::with_capacity(SAVE_BATCH);
            let mut is_open = true;
            loop {
                // A free writer takes what is ready, after a moment for more.
                if saving.is_empty() && !batch.is_empty() {
                    self.linger(&mut to_save, &mut batch).await;
                    saving.push(self.save_checked(std::mem::take(&mut batch), now));
                    continue;
                }
                if !is_open && saving.is_empty() {
                    break;
                }
                let room = SAVE_BATCH.saturating_sub(batch.len());
                tokio::select! {
                    Some(saved) = saving.next(), if !saving.is_empty() => reports.extend(saved),
                    // Below a full batch (64) nothing is left here for long:
                    // the writer that finishes first takes it.
                    received = to_save.recv_many(&mut batch, room),
                        if is_open && saving.len() < writers =>
                    {
                        if received == 0 {
                            is_open = false;
                        } else if batch.len() >= READY_AHEAD {
                            // A second writer starts only with a full batch,
                            // not with each result as it comes.
                            saving.push(self.save_checked(std::mem::take(&mut batch), now));
                        }
                    }
                }
            }
            reports
        };
        let ((), mut reports) = tokio::join!(produce, save);
        if let Some(err) = failed_slot.into_inner() {
            return Err(err);
        }
        reports.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        self.update_proxy_health(&reports, now).await?;
        Ok(reports)
    }

    /// These accounts, in this order, each with its fetch state (a new one
    /// when never fetched); unknown and manual accounts are left out.
    async fn load_jobs(&self, ids: &[&str]) -> anyhow::Result<Vec<(Account, FetchState)>> {
        let (accounts, mut states) = tokio::try_join!(
            self.store.accounts_by_id(ids),
            self.store.fetch_states_of(ids)
        )?;
        let mut by_id: HashMap<String, Account> =
            accounts.into_iter().map(|a| (a.id.clone(), a)).collect();
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(*id))
            // Checked by hand: nothing to fetch.
            .filter(|account| !matches!(account.source, Source::Manual {}))
            .map(|account| {
                let state = states.remove(&account.id).unwrap_or_else(|| FetchState {
                    account_id: account.id.clone(),
                    ..FetchState::default()
                });
                (account, state)
            })
            .collect())
    }

    /// Judges and stores each proxy's health after a cycle.
    async fn update_proxy_health(
        &self,
        reports: &[PollReport],
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let verdicts = self.judge_proxies(reports).await?;
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

    /// Waits a moment for a fuller batch: in a cycle of 304s the writer was
    /// so quick that it committed every 6 accounts (1,616 transactions for
    /// 10,000, each rewriting its pages). Up to what the channel holds: in a
    /// cold cycle, whose channel is full whenever the writer comes back, it
    /// does not wait at all (its producers would stall behind a longer
    /// transaction).
    async fn linger(
        &self,
        to_save: &mut tokio::sync::mpsc::Receiver<Checked>,
        batch: &mut Vec<Checked>,
    ) {
        let Some(deadline) = tokio::time::Instant::now().checked_add(SAVE_LINGER) else {
            return;
        };
        while batch.len() < READY_AHEAD {
            let room = SAVE_BATCH.saturating_sub(batch.len());
            match tokio::time::timeout_at(deadline, to_save.recv_many(batch, room)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    /// Decides each proxy's health from the cycle's results, probing its
    /// health path when failures cluster on it or it was down.
    async fn judge_proxies(&self, reports: &[PollReport]) -> anyhow::Result<Vec<ProxyVerdict>> {
        let tally = tally_by_proxy(reports);
        let was_down: Vec<String> = self
            .store
            .proxy_health()
            .await?
            .into_iter()
            .filter(|h| !h.is_up)
            .map(|h| h.name)
            .collect();
        let mut verdicts = Vec::new();
        for (name, proxy) in &self.work.prep.settings.proxies {
            let (attempted, troubled) = tally.get(name.as_str()).copied().unwrap_or_default();
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
                    match self.work.fetcher.probe(&url).await {
                        Ok(()) => ProxyVerdict {
                            proxy: name.clone(),
                            is_up: true,
                            message: None,
                        },
                        Err(message) => ProxyVerdict {
                            proxy: name.clone(),
                            is_up: false,
                            message: Some(self.work.prep.redactor.redact(&message)),
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
                            format!(
                                "本轮 {attempted} 个请求全部失败（未设 health_path，无从单独探测）"
                            )
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

/// How an account is fetched: its report's `source` and `is_proxied`.
pub(super) struct Via {
    /// The proxy's name, or `feed` (or `manual`).
    pub label: String,
    pub is_proxied: bool,
}

impl Via {
    pub fn of(account: &Account) -> Via {
        match &account.source {
            Source::Proxy { proxy, .. } => Via {
                label: proxy.clone(),
                is_proxied: true,
            },
            Source::Feed { .. } => Via {
                label: "feed".to_string(),
                is_proxied: false,
            },
            Source::Manual {} => Via {
                label: "manual".to_string(),
                is_proxied: false,
            },
        }
    }
}

/// Per proxy: (accounts attempted, attempts that failed with network or proxy trouble).
fn tally_by_proxy(reports: &[PollReport]) -> BTreeMap<&str, (usize, usize)> {
    let mut tally: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for report in reports.iter().filter(|r| r.is_proxied) {
        let entry = tally.entry(report.source.as_str()).or_default();
        entry.0 = entry.0.saturating_add(1);
        entry.1 = entry
            .1
            .saturating_add(usize::from(report.outcome.is_proxy_trouble()));
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(source: &str, is_proxied: bool, outcome: Outcome) -> PollReport {
        PollReport {
            account_id: "a".to_string(),
            outcome,
            items: 0,
            new_posts: 0,
            message: None,
            next_check_at: DateTime::<Utc>::UNIX_EPOCH,
            source: source.to_string(),
            is_proxied,
            is_unsaved: false,
        }
    }

    /// Only proxied attempts count for a proxy, even one named `feed`.
    #[test]
    fn plain_feeds_do_not_count_for_a_proxy_of_the_same_name() {
        let reports = [
            report("feed", false, Outcome::Network),
            report("feed", true, Outcome::Ok),
            report("rsshub", true, Outcome::Network),
            report("rsshub", true, Outcome::Ok),
            report("manual", false, Outcome::Ok),
        ];
        let tally = tally_by_proxy(&reports);
        assert_eq!(tally.get("feed"), Some(&(1, 0)));
        assert_eq!(tally.get("rsshub"), Some(&(2, 1)));
        assert_eq!(tally.len(), 2);
    }
}
