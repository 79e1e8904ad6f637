//! Rule-evaluation benchmark (run by hand, not a test):
//!
//!     cargo bench --bench rules -- 100000 [SQL_ACCOUNTS]
//!
//! 1. Pure: N accounts, each with a year of posts (one a day, every third a
//!    repost), summarised and evaluated in memory; prints the time of
//!    `evaluate_all` alone and with summarising, and peak memory.
//! 2. Storage: SQL_ACCOUNTS accounts (default 100,000) with the same year of
//!    posts in a SQLite file (written as polls write them, so the summary
//!    tables are kept up to date); prints the time of an inspection's
//!    evaluation from the database (register, fetch states, post summaries,
//!    rules), of the post summaries alone, and, for comparison, of the full
//!    scan of the posts that inspections ran before the summary tables
//!    (only with `XUNJIAN_BENCH_FULL_SCAN=1`: it takes minutes).
//!
//! `XUNJIAN_BENCH_DIR=DIR` keeps the storage database in DIR; a later run
//! of the same size reuses it instead of loading the posts again.
//! `XUNJIAN_BENCH_PG_URL=postgres://…` runs part 2 on that PostgreSQL
//! database instead (an empty one, or one a run of the same size loaded).

mod common;

use chrono::{DateTime, Duration, Utc};
use common::peak_rss_mb;
use std::collections::HashMap;
use std::time::Instant;
use xunjian::calendar::Calendar;
use xunjian::config::{RuleSettings, Settings};
use xunjian::fetch::{FetchState, Outcome};
use xunjian::parse::PostKind;
use xunjian::registry::{Account, AccountState, Platform, Register, Source, Unit, UnitKind};
use xunjian::rules::{CheckInputs, CheckWindow, PostFact, PostSummary, evaluate_all};

fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(100_000);
    let sql_n = args.get(1).copied().unwrap_or(100_000);
    let now = DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00")?.with_timezone(&Utc);
    pure(n, now);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(storage(sql_n, now))
}

fn register(n: usize) -> Register {
    let platforms = Platform::ALL;
    Register {
        units: (0..n.div_ceil(10))
            .map(|u| Unit {
                id: format!("u{u}"),
                name: format!("单位{u}"),
                kind: UnitKind::Department,
                contacts: Vec::new(),
                chat: None,
            })
            .collect(),
        accounts: (0..n)
            .map(|i| Account {
                id: format!("a{i}"),
                unit: format!("u{}", i / 10),
                name: format!("账号{i}"),
                platform: platforms[i % platforms.len()],
                source: Source::Feed {
                    feed: format!("https://example.gov.cn/{i}.xml"),
                },
                state: AccountState::Active,
                deregistered_on: None,
                filing_ref: None,
                is_interactive: true,
                thresholds: Default::default(),
                note: None,
            })
            .collect(),
    }
}

fn year_of_posts(i: usize, now: DateTime<Utc>) -> Vec<PostFact> {
    // Every 50th account stopped posting 40 days ago, so some rules fire.
    let quiet_days = if i % 50 == 0 { 40 } else { 0 };
    (quiet_days..365)
        .map(|d| {
            let at = now - Duration::days(d) - Duration::hours(3);
            PostFact {
                published_at: at,
                first_seen_at: at,
                is_date_estimated: false,
                kind: if d % 3 == 0 {
                    PostKind::Repost
                } else {
                    PostKind::Original
                },
            }
        })
        .collect()
}

fn pure(n: usize, now: DateTime<Utc>) {
    let calendar = Calendar::builtin();
    let rules = RuleSettings::default();
    let register = register(n);
    let window = CheckWindow::new(now, &calendar, &rules);
    let started = Instant::now();
    let summaries: HashMap<String, PostSummary> = (0..n)
        .map(|i| {
            (
                format!("a{i}"),
                PostSummary::from_posts(&year_of_posts(i, now), &window, None, None),
            )
        })
        .collect();
    let summarising = started.elapsed().as_secs_f64();
    let fetch: HashMap<String, FetchState> = register
        .accounts
        .iter()
        .map(|a| {
            let state = FetchState {
                account_id: a.id.clone(),
                last_checked_at: Some(now),
                last_success_at: Some(now),
                first_success_at: Some(now - Duration::days(400)),
                outcome: Some(Outcome::Ok),
                ..FetchState::default()
            };
            (a.id.clone(), state)
        })
        .collect();
    let registered_at = register
        .accounts
        .iter()
        .map(|a| (a.id.clone(), now - Duration::days(400)))
        .collect();
    let inputs = CheckInputs {
        summaries: &summaries,
        fetch: &fetch,
        proxies: &[],
        registered_at: &registered_at,
        calendar: &calendar,
        rules: &rules,
        content: &xunjian::rules::ContentInputs::default(),
    };
    let started = Instant::now();
    let result = evaluate_all(&register, &inputs, now);
    let evaluating = started.elapsed().as_secs_f64();
    println!(
        "pure: {n} accounts × 365 posts: evaluate_all {evaluating:.2} s (summarising the posts in memory {summarising:.2} s); \
         {} failed; peak RSS {:.0} MB",
        result.summary.failed,
        peak_rss_mb()
    );
}

async fn storage(n: usize, now: DateTime<Utc>) -> anyhow::Result<()> {
    let temporary = tempfile::tempdir()?;
    // Loading 100,000 years of posts takes minutes: XUNJIAN_BENCH_DIR keeps
    // the database there and a later run with the same size reuses it.
    let dir = std::env::var_os("XUNJIAN_BENCH_DIR")
        .map_or_else(|| temporary.path().to_path_buf(), std::path::PathBuf::from);
    // A directory named here but not yet made is made (SQLite would only
    // say it cannot open the file).
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("cannot make XUNJIAN_BENCH_DIR {}: {e}", dir.display()))?;
    let file = dir.join(format!("rules-{n}.db"));
    let loaded_mark = dir.join(format!("rules-{n}.loaded"));
    let pg_url = std::env::var("XUNJIAN_BENCH_PG_URL").ok();
    let (url, backend) = match &pg_url {
        Some(url) => (url.clone(), "PostgreSQL"),
        None => (format!("sqlite://{}", file.display()), "SQLite"),
    };
    let text = format!("[database]\nurl = \"{url}\"\n");
    let settings = Settings::parse("bench", &text)?;
    let store = xunjian::storage::Store::connect(&settings.database).await?;
    store.migrate().await?;
    let register = register(n);
    // A PostgreSQL database is taken as loaded when it holds the register
    // (the load writes the posts after it: after a load cut short, start
    // again from an empty database).
    let is_loaded = match &pg_url {
        Some(_) => store.load_register().await?.accounts.len() == n,
        None => loaded_mark.exists() && file.exists(),
    };
    let loading = if is_loaded {
        0.0
    } else {
        load(&store, &register, now).await?
    };
    if pg_url.is_none() {
        std::fs::write(&loaded_mark, b"")?;
    }
    let settings_all = Settings {
        database: settings.database.clone(),
        ..Settings::default()
    };
    let inspector = xunjian::inspection::Inspector::new(store.clone(), settings_all)?;
    // What the inspection reads, part by part.
    let mut parts = Vec::new();
    let started = Instant::now();
    store.load_register().await?;
    parts.push(format!("register {:.2} s", started.elapsed().as_secs_f64()));
    let started = Instant::now();
    store.fetch_states().await?;
    parts.push(format!(
        "fetch states {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    let started = Instant::now();
    store.registered_at().await?;
    parts.push(format!(
        "registered_at {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    let started = Instant::now();
    xunjian::inspection::content_inputs(&store, &inspector.settings).await?;
    parts.push(format!("content {:.2} s", started.elapsed().as_secs_f64()));
    let window = CheckWindow::new(now, &inspector.calendar, &inspector.settings.rules);
    let started = Instant::now();
    store.post_summaries(&window, &register).await?;
    parts.push(format!(
        "post summaries {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    println!("storage: the inspection's reads: {}", parts.join(", "));
    // Twice: the first run reads a cold file, the second what a daemon sees.
    let mut secs = Vec::new();
    let mut result = None;
    for _ in 0..2 {
        let started = Instant::now();
        result = Some(inspector.evaluate(now).await?);
        secs.push(started.elapsed().as_secs_f64());
    }
    let failed = result.map_or(0, |r| r.summary.failed);
    let window = CheckWindow::new(now, &inspector.calendar, &inspector.settings.rules);
    let started = Instant::now();
    let summaries = store.post_summaries(&window, &register).await?;
    let summary_secs = started.elapsed().as_secs_f64();
    let scan = if std::env::var_os("XUNJIAN_BENCH_FULL_SCAN").is_some() {
        let started = Instant::now();
        let scanned = full_scan(&store, &window).await?;
        format!(
            "; the full scan of the posts it replaced {:.2} s ({scanned} accounts)",
            started.elapsed().as_secs_f64()
        )
    } else {
        String::new()
    };
    println!(
        "storage: {n} accounts × 365 posts in {backend} ({:.1} M rows, loaded in {loading:.0} s): \
         inspection from the database {:.2} s, again {:.2} s (post summaries alone {summary_secs:.2} s, \
         {} accounts){scan}; {failed} failed",
        n as f64 * 365.0 / 1e6,
        secs.first().copied().unwrap_or_default(),
        secs.last().copied().unwrap_or_default(),
        summaries.len(),
    );
    Ok(())
}

/// Registers the accounts and writes their year of posts as polls write
/// them; returns the seconds it took.
async fn load(
    store: &xunjian::storage::Store,
    register: &Register,
    now: DateTime<Utc>,
) -> anyhow::Result<f64> {
    let plan = xunjian::registry::diff::plan(&Register::default(), register, false);
    store
        .apply_plan(&plan, "bench", "cli", now - Duration::days(400))
        .await?;
    let started = Instant::now();
    let seen = now - Duration::days(400);
    let state = |account: &Account| FetchState {
        account_id: account.id.clone(),
        next_check_at: Some(now),
        // Checked at `now`, so the inspection loads 100,000 fetch states.
        last_checked_at: Some(now),
        last_success_at: Some(now),
        first_success_at: Some(seen),
        outcome: Some(Outcome::Ok),
        ..FetchState::default()
    };
    // Twenty accounts per transaction, as a poll cycle saves them.
    for (chunk, accounts) in register.accounts.chunks(20).enumerate() {
        let batch: Vec<(FetchState, Vec<xunjian::parse::Post>)> = accounts
            .iter()
            .enumerate()
            .map(|(j, account)| (state(account), posts_of(chunk * 20 + j, account, now)))
            .collect();
        let rows: Vec<(&FetchState, &[xunjian::parse::Post])> =
            batch.iter().map(|(s, p)| (s, p.as_slice())).collect();
        store.record_fetches(&rows, seen).await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn posts_of(i: usize, account: &Account, now: DateTime<Utc>) -> Vec<xunjian::parse::Post> {
    year_of_posts(i, now)
        .iter()
        .map(|p| xunjian::parse::Post {
            dedup_key: format!("{}-{}", account.id, p.published_at.timestamp()),
            published_at: p.published_at,
            is_date_estimated: false,
            title: None,
            link: None,
            author: None,
            kind: p.kind,
            evidence: String::new(),
            text: String::new(),
            is_notice: false,
            hits: Vec::new(),
            tasks: Vec::new(),
            packed: Vec::new(),
        })
        .collect()
}

/// The query inspections ran before the summary tables (every post, every
/// time); returns how many accounts it summarised.
async fn full_scan(store: &xunjian::storage::Store, window: &CheckWindow) -> anyhow::Result<usize> {
    const SUMMARY_SQL: &str = "SELECT p.account_id, \
        MAX(CASE WHEN p.is_date_estimated AND p.first_seen_at <= COALESCE(f.first_success_at, p.first_seen_at) \
            THEN NULL ELSE p.published_at END), \
        COUNT(*), \
        SUM(CASE WHEN p.published_at >= $2 THEN 1 ELSE 0 END), \
        SUM(CASE WHEN p.published_at >= $2 AND p.kind = 'original' THEN 1 ELSE 0 END), \
        SUM(CASE WHEN p.published_at >= $2 AND p.kind = 'repost' THEN 1 ELSE 0 END), \
        SUM(CASE WHEN p.published_at >= $3 AND p.published_at < $4 THEN 1 ELSE 0 END), \
        SUM(CASE WHEN p.published_at >= $3 AND p.published_at < $4 AND p.kind = 'original' THEN 1 ELSE 0 END), \
        SUM(CASE WHEN p.published_at >= $3 AND p.published_at < $4 AND p.kind = 'repost' THEN 1 ELSE 0 END), \
        SUM(CASE WHEN p.published_at >= $5 AND p.published_at < $6 THEN 1 ELSE 0 END) \
        FROM posts p LEFT JOIN fetch_state f ON f.account_id = p.account_id \
        WHERE p.first_seen_at <= $1 GROUP BY p.account_id";
    let xunjian::storage::Store::Sqlite(pool, _) = store else {
        anyhow::bail!("the bench runs on SQLite");
    };
    let (month_start, month_end) = window.month_range();
    let (week_start, week_end) = window.week_range().unwrap_or((window.now, window.now));
    let rows = sqlx::query(SUMMARY_SQL)
        .bind(window.now.timestamp())
        .bind(window.repost_since.timestamp())
        .bind(month_start.timestamp())
        .bind(month_end.timestamp())
        .bind(week_start.timestamp())
        .bind(week_end.timestamp())
        .fetch_all(pool)
        .await?;
    Ok(rows.len())
}
