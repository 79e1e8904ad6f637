//! Post summaries from the per-account tables equal the reference
//! (`PostSummary::from_posts` over every stored post) on both backends:
//! varied posts (undated, reposts, month and week boundaries, posts seen
//! again, deregistered accounts, an account removed and registered again),
//! checks now and in the past, and the migration's backfill.

use crate::helpers::{at, test_dbs};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::HashMap;
use xunjian::calendar::Calendar;
use xunjian::config::RuleSettings;
use xunjian::fetch::{FetchState, Outcome};
use xunjian::parse::{Post, PostKind};
use xunjian::registry::diff::plan;
use xunjian::registry::{Account, AccountState, Platform, Register, Source, Unit, UnitKind};
use xunjian::rules::{CheckWindow, PostSummary};
use xunjian::storage::Store;

const ACCOUNTS: usize = 14;
const START: &str = "2026-08-25T10:00:00+08:00";

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn register(count: usize) -> Register {
    let deregistered = |i: usize| i % 5 == 4;
    Register {
        units: vec![Unit {
            id: "u".into(),
            name: "单位".into(),
            kind: UnitKind::Department,
            contacts: Vec::new(),
            chat: None,
        }],
        accounts: (0..count)
            .map(|i| Account {
                id: format!("a{i:02}"),
                unit: "u".into(),
                name: format!("账号{i}"),
                platform: Platform::Weibo,
                source: Source::Feed {
                    feed: format!("https://example.gov.cn/{i}.xml"),
                },
                state: if deregistered(i) {
                    AccountState::Deregistered
                } else {
                    AccountState::Active
                },
                deregistered_on: deregistered(i)
                    .then(|| NaiveDate::from_ymd_opt(2026, 10, 1 + i as u32).expect("a date")),
                filing_ref: deregistered(i).then(|| format!("备案{i}")),
                is_interactive: true,
                thresholds: Default::default(),
                note: None,
            })
            .collect(),
    }
}

fn kind(dice: &mut Dice) -> PostKind {
    match dice.below(5) {
        0 | 1 => PostKind::Original,
        2 | 3 => PostKind::Repost,
        _ => PostKind::Unknown,
    }
}

/// One fetch's posts: mostly new, some seen before (same key), a few
/// undated (dated at the fetch), some just before or after a local midnight.
fn fetched_posts(
    dice: &mut Dice,
    account: &str,
    seen: DateTime<Utc>,
    keys: &mut Vec<String>,
) -> Vec<Post> {
    let mut posts = Vec::new();
    for _ in 0..dice.below(6) {
        let is_undated = dice.below(6) == 0;
        let published = if is_undated {
            seen
        } else {
            let back = Duration::minutes(dice.below(40 * 24 * 60) as i64 - 60);
            let midnight =
                xunjian::calendar::start_of_day(xunjian::calendar::local_date(seen - back));
            match dice.below(4) {
                0 => midnight,
                1 => midnight - Duration::seconds(1),
                _ => seen - back,
            }
        };
        let key = if !keys.is_empty() && dice.below(4) == 0 {
            keys[dice.below(keys.len() as u64) as usize].clone()
        } else {
            let key = format!("{account}-{}", keys.len());
            keys.push(key.clone());
            key
        };
        posts.push(Post {
            dedup_key: key,
            published_at: published,
            is_date_estimated: is_undated,
            title: None,
            link: None,
            author: None,
            kind: kind(dice),
            evidence: String::new(),
            text: String::new(),
            is_notice: false,
            hits: Vec::new(),
            tasks: Vec::new(),
            packed: Vec::new(),
        });
    }
    posts
}

/// What the rules would compute from every stored post.
async fn reference(
    store: &Store,
    register: &Register,
    window: &CheckWindow,
) -> HashMap<String, PostSummary> {
    let states = store.fetch_states().await.expect("fetch states");
    let mut expected = HashMap::new();
    for account in &register.accounts {
        let facts = store.post_facts(&account.id).await.expect("post facts");
        let first_success = states.get(&account.id).and_then(|s| s.first_success_at);
        let summary =
            PostSummary::from_posts(&facts, window, first_success, account.deregistered_on);
        expected.insert(account.id.clone(), summary);
    }
    expected
}

/// Which cases the checks met, so the test cannot pass vacuously.
#[derive(Debug, Default)]
struct Coverage {
    window_reposts: bool,
    month_unknown: bool,
    last_week: bool,
    after_deregistration: bool,
}

impl Coverage {
    fn note(&mut self, s: &PostSummary) {
        self.window_reposts |= s.window.repost > 0;
        self.month_unknown |= s.last_month.unknown > 0;
        self.last_week |= s.last_week > 0;
        self.after_deregistration |= s.after_deregistration > 0;
    }

    fn assert_all(&self) {
        assert!(
            self.window_reposts
                && self.month_unknown
                && self.last_week
                && self.after_deregistration,
            "{self:?}"
        );
    }
}

/// Checks at `now` with repost windows cut at several times of day.
async fn assert_summaries_match(
    store: &Store,
    register: &Register,
    now: DateTime<Utc>,
    dice: &mut Dice,
    seen: &mut Coverage,
) {
    let calendar = Calendar::builtin();
    let mut window = CheckWindow::new(now, &calendar, &RuleSettings::default());
    let since = [
        window.repost_since,
        xunjian::calendar::start_of_day(xunjian::calendar::local_date(now - Duration::days(9))),
        now - Duration::minutes(dice.below(45 * 24 * 60) as i64),
    ];
    for repost_since in since {
        window.repost_since = repost_since;
        let expected = reference(store, register, &window).await;
        let actual = store
            .post_summaries(&window, register)
            .await
            .expect("post summaries");
        for (id, want) in &expected {
            seen.note(want);
            let got = actual.get(id).cloned().unwrap_or_default();
            assert_eq!(
                &got,
                want,
                "{id} at {now}, repost window from {repost_since} ({})",
                store.backend()
            );
        }
    }
}

/// Fetch rounds about two and a half days apart; returns their times.
async fn write_rounds(
    store: &Store,
    register: &Register,
    dice: &mut Dice,
    rounds: usize,
) -> Vec<DateTime<Utc>> {
    let mut keys: HashMap<String, Vec<String>> = HashMap::new();
    let mut states: HashMap<String, FetchState> = HashMap::new();
    let mut times = Vec::new();
    let mut seen = at(START);
    for round in 0..rounds {
        seen += Duration::minutes(2 * 24 * 60 + dice.below(24 * 60) as i64);
        times.push(seen);
        let mut results: Vec<(FetchState, Vec<Post>)> = Vec::new();
        for account in &register.accounts {
            // Some accounts start failing, and one fetch in nine fails.
            let is_failing = (account.id == "a01" && round < 3) || dice.below(9) == 0;
            let previous = states
                .get(&account.id)
                .cloned()
                .unwrap_or_else(|| FetchState {
                    account_id: account.id.clone(),
                    ..FetchState::default()
                });
            let outcome = if is_failing {
                Outcome::Network
            } else {
                Outcome::Ok
            };
            let mut next = previous.after(outcome, seen);
            next.next_check_at = Some(seen);
            let posts = if is_failing {
                Vec::new()
            } else {
                fetched_posts(
                    dice,
                    &account.id,
                    seen,
                    keys.entry(account.id.clone()).or_default(),
                )
            };
            states.insert(account.id.clone(), next.clone());
            results.push((next, posts));
        }
        // One account twice in a write: a repeat of its own fetch.
        if let Some(repeat) = results.first().cloned() {
            results.push(repeat);
        }
        let rows: Vec<(&FetchState, &[Post])> =
            results.iter().map(|(s, p)| (s, p.as_slice())).collect();
        for chunk in rows.chunks(1 + dice.below(6) as usize) {
            store
                .record_fetches(chunk, seen)
                .await
                .expect("record fetches");
        }
        if round == rounds / 2 {
            // a03 is removed (its fetch state goes) and registered again: its
            // undated posts were judged against a first success that is gone.
            let without: Register = Register {
                units: register.units.clone(),
                accounts: register
                    .accounts
                    .iter()
                    .filter(|a| a.id != "a03")
                    .cloned()
                    .collect(),
            };
            store
                .apply_plan(&plan(register, &without, true), "test", "cli", seen)
                .await
                .expect("remove");
            store
                .apply_plan(&plan(&without, register, false), "test", "cli", seen)
                .await
                .expect("add");
            states.remove("a03");
        }
    }
    times
}

async fn execute(store: &Store, sql: &'static str) {
    match store {
        Store::Sqlite(pool, _) => sqlx::query(sql).execute(pool).await.map(drop),
        Store::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
    }
    .expect("statement runs");
}

#[tokio::test]
async fn summaries_kept_by_the_writes_equal_the_summaries_of_every_post_now_and_in_the_past() {
    for db in test_dbs("summaries_equal").await {
        let register = register(ACCOUNTS);
        db.store
            .apply_plan(
                &plan(&Register::default(), &register, false),
                "test",
                "cli",
                at(START),
            )
            .await
            .expect("register");
        let mut dice = Dice(0x5eed_1234_abcd_0001);
        let times = write_rounds(&db.store, &register, &mut dice, 24).await;
        let last = *times.last().expect("rounds");
        // Now, at a later inspection, at the last write, between writes, and in the past.
        let mut checks = vec![last, last + Duration::days(3), last - Duration::hours(1)];
        checks.extend(times.iter().step_by(5).map(|t| *t + Duration::hours(7)));
        checks.push(at(START));
        let mut coverage = Coverage::default();
        for now in checks {
            assert_summaries_match(&db.store, &register, now, &mut dice, &mut coverage).await;
        }
        coverage.assert_all();
        db.finish().await;
    }
}

#[tokio::test]
async fn the_migration_backfills_the_summaries_from_the_stored_posts() {
    for db in test_dbs("summaries_backfill").await {
        let register = register(ACCOUNTS);
        db.store
            .apply_plan(
                &plan(&Register::default(), &register, false),
                "test",
                "cli",
                at(START),
            )
            .await
            .expect("register");
        let mut dice = Dice(0x0bad_cafe_2026_0003);
        let times = write_rounds(&db.store, &register, &mut dice, 22).await;
        // Back to a database from before migration 0003, with its posts.
        for sql in [
            "DROP TABLE post_totals",
            "DROP TABLE post_segments",
            "DELETE FROM _sqlx_migrations WHERE version = 3",
        ] {
            execute(&db.store, sql).await;
        }
        db.store.migrate().await.expect("migration 0003 runs again");
        let last = *times.last().expect("rounds");
        let mut coverage = Coverage::default();
        for now in [last, last + Duration::days(10), times[4]] {
            assert_summaries_match(&db.store, &register, now, &mut dice, &mut coverage).await;
        }
        coverage.assert_all();
        db.finish().await;
    }
}
