//! Table-driven rule tests with a fixed clock.

use super::*;
use crate::calendar::Calendar;
use crate::config::RuleSettings;
use crate::fetch::{FetchState, Outcome};
use crate::parse::PostKind;
use crate::registry::{Account, AccountState, Contact, Platform, Register, Source, Unit, UnitKind};
use crate::storage::ProxyHealth;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .with_timezone(&Utc)
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
}

fn unit() -> Unit {
    Unit {
        id: "szgl".into(),
        name: "区市政管理局".into(),
        kind: UnitKind::Department,
        contacts: vec![Contact {
            name: "李强".into(),
            telegram_id: Some(1),
            dingtalk_id: None,
            feishu_open_id: None,
            phone: None,
        }],
        chat: None,
    }
}

fn account(id: &str, platform: Platform) -> Account {
    Account {
        id: id.into(),
        unit: "szgl".into(),
        name: "市政兰山".into(),
        platform,
        source: Source::Proxy {
            proxy: "rsshub".into(),
            route: format!("/x/{id}"),
        },
        state: AccountState::Active,
        deregistered_on: None,
        filing_ref: None,
        is_interactive: true,
        thresholds: Default::default(),
        note: None,
    }
}

fn ok_fetch(id: &str, now: DateTime<Utc>) -> FetchState {
    FetchState {
        account_id: id.into(),
        last_checked_at: Some(now),
        last_success_at: Some(now),
        first_success_at: Some(at("2024-01-01T00:00:00Z")),
        outcome: Some(Outcome::Ok),
        ..FetchState::default()
    }
}

fn post(published: &str, kind: PostKind) -> PostFact {
    PostFact {
        published_at: at(published),
        first_seen_at: at(published),
        is_date_estimated: false,
        kind,
    }
}

/// Evaluates one account with the given posts at `now`; returns (verdict, rule ids, result).
fn check(
    account: &Account,
    posts: &[PostFact],
    fetch: Option<FetchState>,
    now: &str,
) -> (Verdict, Vec<&'static str>, AccountResult) {
    check_with(account, posts, fetch, now, false, &RuleSettings::default())
}

fn check_with(
    account: &Account,
    posts: &[PostFact],
    fetch: Option<FetchState>,
    now: &str,
    is_proxy_down: bool,
    rules: &RuleSettings,
) -> (Verdict, Vec<&'static str>, AccountResult) {
    let now = at(now);
    let calendar = Calendar::builtin();
    let window = CheckWindow::new(now, &calendar, rules);
    let fetch = fetch.unwrap_or_else(|| ok_fetch(&account.id, now));
    let summary = PostSummary::from_posts(
        posts,
        &window,
        fetch.first_success_at,
        account.deregistered_on,
    );
    let unit = unit();
    let facts = AccountFacts {
        account,
        unit: Some(&unit),
        posts: &summary,
        fetch: Some(&fetch),
        is_proxy_down,
        registered_at: at("2018-01-01T00:00:00Z"),
        siblings: Vec::new(),
        content: &ContentInputs::default(),
    };
    let result = evaluate_account(&facts, &window, rules);
    let rules: Vec<&'static str> = result.findings.iter().map(|f| f.rule.id()).collect();
    (result.verdict, rules, result)
}

#[test]
fn the_stale_ladder_fires_only_its_highest_rung_at_each_edge() {
    let a = account("a", Platform::WechatSubscription);
    // Check on Tuesday 2026-11-24 09:00 (+08:00): last week 11-16..22 is assessable.
    let now = "2026-11-24T09:00:00+08:00";
    let weekly_ok = post("2026-11-18T09:00:00+08:00", PostKind::Original);
    let cases: Vec<(&str, &str, Vec<&str>, Verdict)> = vec![
        (
            "9 days",
            "2026-11-15T09:00:00+08:00",
            vec![],
            Verdict::Qualified,
        ),
        (
            "exactly 10 days",
            "2026-11-14T09:00:00+08:00",
            vec!["stale_warning"],
            Verdict::Qualified,
        ),
        (
            "exactly 14 days",
            "2026-11-10T09:00:00+08:00",
            vec!["stale_warning"],
            Verdict::Qualified,
        ),
        (
            "14 days and a second",
            "2026-11-10T08:59:59+08:00",
            vec!["stale_2w"],
            Verdict::Failed,
        ),
        (
            "exactly 30 days",
            "2026-10-25T09:00:00+08:00",
            vec!["stale_2w"],
            Verdict::Failed,
        ),
        (
            "31 days",
            "2026-10-24T09:00:00+08:00",
            vec!["stale_1m"],
            Verdict::Failed,
        ),
        (
            "91 days",
            "2026-08-25T09:00:00+08:00",
            vec!["zombie_3m"],
            Verdict::Failed,
        ),
        (
            "200 days",
            "2026-05-08T09:00:00+08:00",
            vec!["stale_6m"],
            Verdict::Failed,
        ),
    ];
    for (why, last, expected, verdict) in cases {
        let mut posts = vec![post(last, PostKind::Original)];
        if at(last) < at("2026-11-16T00:00:00+08:00") && expected.is_empty() {
            posts.push(weekly_ok);
        }
        let (got_verdict, mut rules, _) = check(&a, &posts, None, now);
        rules.retain(|r| *r != "weekly_miss");
        assert_eq!(rules, expected, "{why}");
        assert_eq!(got_verdict, verdict, "{why}");
    }
}

#[test]
fn the_stale_message_is_ready_for_a_report() {
    let a = account("a", Platform::WechatSubscription);
    let posts = [post("2025-11-03T09:00:00+08:00", PostKind::Original)];
    let (_, _, result) = check(&a, &posts, None, "2026-05-09T09:00:00+08:00");
    let stale = result
        .findings
        .iter()
        .find(|f| f.rule == Rule::Stale6m)
        .expect("stale_6m");
    assert_eq!(
        stale.message,
        "区市政管理局「市政兰山」(微信订阅号) 已 187 天未更新，最后更新 2025年11月3日"
    );
    assert_eq!(stale.evidence["days_since_post"], 187);
    assert_eq!(result.days_since_post, Some(187));
}

#[test]
fn per_account_and_per_platform_thresholds_override_the_global_ones() {
    let mut a = account("a", Platform::WechatService);
    let posts = [post("2026-11-04T09:00:00+08:00", PostKind::Original)];
    let now = "2026-11-24T09:00:00+08:00";
    let mut rules = RuleSettings::default();
    let mut service = crate::registry::ThresholdOverrides::default();
    service.set("stale_days", 30);
    rules.platforms.insert("wechat_service".into(), service);
    let (_, found, _) = check_with(&a, &posts, None, now, false, &rules);
    assert!(
        found.contains(&"stale_warning") && !found.contains(&"stale_2w"),
        "{found:?}"
    );
    a.thresholds.set("stale_days", 7);
    let (_, found, result) = check_with(&a, &posts, None, now, false, &rules);
    assert!(found.contains(&"stale_2w"), "{found:?}");
    let stale = result
        .findings
        .iter()
        .find(|f| f.rule == Rule::Stale2w)
        .expect("stale_2w");
    assert_eq!(
        stale.label, "超7天未更新",
        "the label says the real threshold"
    );
}

#[test]
fn a_future_dated_post_counts_as_now_and_never_as_stale() {
    let a = account("a", Platform::Weibo);
    let posts = [post("2026-11-24T09:00:00+08:00", PostKind::Original)];
    let (verdict, found, result) = check(&a, &posts, None, "2026-11-24T09:00:00+08:00");
    assert_eq!(verdict, Verdict::Qualified, "{found:?}");
    assert_eq!(result.days_since_post, Some(0));
}

#[test]
fn undated_items_of_the_first_fetch_do_not_count_as_activity() {
    let a = account("a", Platform::Website);
    let now = at("2026-11-24T09:00:00+08:00");
    let mut fetch = ok_fetch("a", now);
    fetch.first_success_at = Some(at("2026-11-01T09:00:00+08:00"));
    let initial = PostFact {
        published_at: at("2026-11-01T09:00:00+08:00"),
        first_seen_at: at("2026-11-01T09:00:00+08:00"),
        is_date_estimated: true,
        kind: PostKind::Original,
    };
    let (_, found, result) = check(
        &a,
        &[initial],
        Some(fetch.clone()),
        "2026-11-24T09:00:00+08:00",
    );
    assert_eq!(result.last_post_at, None);
    assert!(found.contains(&"zombie_3m"), "{found:?}");
    let later = PostFact {
        first_seen_at: at("2026-11-20T09:00:00+08:00"),
        published_at: at("2026-11-20T09:00:00+08:00"),
        ..initial
    };
    let (_, _, result) = check(
        &a,
        &[initial, later],
        Some(fetch),
        "2026-11-24T09:00:00+08:00",
    );
    assert!(
        result
            .last_post_at
            .is_some_and(|t| t.starts_with("2026-11-20"))
    );
}

#[test]
fn the_weekly_rule_knows_make_up_days_holiday_weeks_and_new_year() {
    let a = account("a", Platform::WechatSubscription);
    let cases = [
        // Check on 2019-02-12: the Spring Festival week 02-04..10 is not assessable,
        // so the last assessable week is 01-28..02-03 (with make-up days 02-02, 02-03).
        (
            "make-up Sunday post counts",
            "2019-02-12T09:00:00+08:00",
            "2019-02-03T10:00:00+08:00",
            false,
        ),
        (
            "nothing in 01-28..02-03",
            "2019-02-12T09:00:00+08:00",
            "2019-01-25T10:00:00+08:00",
            true,
        ),
        // The week across New Year: 2018-12-31..2019-01-06.
        (
            "a post on 12-31 counts for the New Year week",
            "2019-01-08T09:00:00+08:00",
            "2018-12-31T10:00:00+08:00",
            false,
        ),
        (
            "a post on 12-30 does not",
            "2019-01-08T09:00:00+08:00",
            "2018-12-30T10:00:00+08:00",
            true,
        ),
    ];
    for (why, now, posted, is_miss) in cases {
        let (_, found, result) = check(&a, &[post(posted, PostKind::Original)], None, now);
        assert_eq!(found.contains(&"weekly_miss"), is_miss, "{why}: {found:?}");
        if is_miss {
            let f = result
                .findings
                .iter()
                .find(|f| f.rule == Rule::WeeklyMiss)
                .expect("weekly");
            assert_eq!(f.evidence["deduction"], 0.2);
        }
    }
    let (_, _, result) = check(
        &a,
        &[post("2019-01-25T10:00:00+08:00", PostKind::Original)],
        None,
        "2019-02-12T09:00:00+08:00",
    );
    let f = result
        .findings
        .iter()
        .find(|f| f.rule == Rule::WeeklyMiss)
        .expect("weekly");
    assert_eq!(f.evidence["week_start"], "2019-01-28");
}

#[test]
fn reposts_are_judged_on_classified_posts_only() {
    let now = "2026-11-24T09:00:00+08:00";
    let days = [
        "2026-11-23",
        "2026-11-22",
        "2026-11-21",
        "2026-11-20",
        "2026-11-19",
        "2026-11-18",
    ];
    let make = |originals: usize, kind: PostKind| -> Vec<PostFact> {
        days.iter()
            .enumerate()
            .map(|(i, d)| {
                post(
                    &format!("{d}T10:00:00+08:00"),
                    if i < originals {
                        PostKind::Original
                    } else {
                        kind
                    },
                )
            })
            .collect()
    };
    let weibo = account("w", Platform::Weibo);
    assert!(
        check(&weibo, &make(1, PostKind::Repost), None, now)
            .1
            .contains(&"repost_heavy")
    );
    assert!(
        !check(&weibo, &make(2, PostKind::Repost), None, now)
            .1
            .contains(&"repost_heavy"),
        "2/6 = 33 %"
    );
    let douyin = account("d", Platform::Douyin);
    assert!(
        !check(&douyin, &make(0, PostKind::Unknown), None, now)
            .1
            .contains(&"repost_heavy")
    );
    let (_, _, result) = check(&weibo, &make(1, PostKind::Repost), None, now);
    let f = result
        .findings
        .iter()
        .find(|f| f.rule == Rule::RepostHeavy)
        .expect("repost");
    assert_eq!(f.evidence["original"], 1);
    assert_eq!(f.evidence["repost"], 5);
}

#[test]
fn a_month_of_reposts_only_is_named() {
    let a = account("w", Platform::Weibo);
    let posts = [
        post("2026-10-05T10:00:00+08:00", PostKind::Repost),
        post("2026-10-20T10:00:00+08:00", PostKind::Repost),
        post("2026-11-20T10:00:00+08:00", PostKind::Original),
    ];
    let (_, found, result) = check(&a, &posts, None, "2026-11-24T09:00:00+08:00");
    assert!(found.contains(&"no_original_month"), "{found:?}");
    let f = result
        .findings
        .iter()
        .find(|f| f.rule == Rule::NoOriginalMonth)
        .expect("month");
    assert!(
        f.message.contains("2026年10月发布 2 条，无原创内容"),
        "{}",
        f.message
    );
}

#[test]
fn gone_needs_three_checks_over_a_day_and_a_healthy_proxy() {
    let a = account("g", Platform::Weibo);
    let posts = [post("2026-11-20T10:00:00+08:00", PostKind::Original)];
    let gone = |streak: u32, since: &str| FetchState {
        account_id: "g".into(),
        last_checked_at: Some(at("2026-11-24T09:00:00+08:00")),
        last_success_at: Some(at("2026-11-20T09:00:00+08:00")),
        first_success_at: Some(at("2026-01-01T00:00:00Z")),
        outcome: Some(Outcome::Gone),
        consecutive_failures: streak,
        gone_streak: streak,
        gone_since: Some(at(since)),
        message: Some(
            "HTTP 503: TypeError: Cannot read properties of undefined (reading 'userInfo')".into(),
        ),
        ..FetchState::default()
    };
    let now = "2026-11-24T09:00:00+08:00";
    let (v, found, result) = check(&a, &posts, Some(gone(3, "2026-11-23T09:00:00+08:00")), now);
    assert!(
        found.contains(&"gone_unfiled") && v == Verdict::Failed,
        "{found:?}"
    );
    let f = result
        .findings
        .iter()
        .find(|f| f.rule == Rule::GoneUnfiled)
        .expect("gone");
    assert!(
        f.evidence["error"]
            .as_str()
            .unwrap_or("")
            .contains("userInfo")
    );
    assert!(
        !check(&a, &posts, Some(gone(3, "2026-11-23T09:00:01+08:00")), now)
            .1
            .contains(&"gone_unfiled"),
        "under 24 h"
    );
    assert!(
        !check(&a, &posts, Some(gone(2, "2026-11-22T09:00:00+08:00")), now)
            .1
            .contains(&"gone_unfiled"),
        "two checks"
    );
    let rules = RuleSettings::default();
    let (v, found, _) = check_with(
        &a,
        &posts,
        Some(gone(5, "2026-11-20T09:00:00+08:00")),
        now,
        true,
        &rules,
    );
    assert!(!found.contains(&"gone_unfiled"), "proxy down: {found:?}");
    assert_eq!(v, Verdict::Unknown);
}

#[test]
fn a_deregistration_on_the_day_of_a_post_is_not_a_post_after_it() {
    let mut a = account("k", Platform::Kuaishou);
    a.state = AccountState::Deregistered;
    a.deregistered_on = Some(date("2026-03-01"));
    a.filing_ref = Some("临兰政办字〔2026〕5号".into());
    let same_day = [post("2026-03-01T20:00:00+08:00", PostKind::Unknown)];
    let (_, found, result) = check(&a, &same_day, None, "2026-11-24T09:00:00+08:00");
    assert!(found.is_empty(), "{found:?}");
    assert!(!result.is_assessed);
    let next_day = [post("2026-03-02T00:00:00+08:00", PostKind::Unknown)];
    let (v, found, result) = check(&a, &next_day, None, "2026-11-24T09:00:00+08:00");
    assert_eq!(found, vec!["filed_but_active"]);
    assert_eq!(v, Verdict::Failed);
    assert!(result.findings[0].message.contains("临兰政办字〔2026〕5号"));
}

#[test]
fn failing_sources_are_unknown_never_stale() {
    let a = account("s", Platform::Douyin);
    let old = [post("2026-01-01T10:00:00+08:00", PostKind::Unknown)];
    let failing = |outcome: Outcome, n: u32| FetchState {
        account_id: "s".into(),
        last_checked_at: Some(at("2026-11-24T09:00:00+08:00")),
        last_success_at: Some(at("2026-11-01T09:00:00+08:00")),
        outcome: Some(outcome),
        consecutive_failures: n,
        message: Some(
            "HTTP 503: Error: Empty post data. The request may be filtered by WAF.".into(),
        ),
        ..FetchState::default()
    };
    let now = "2026-11-24T09:00:00+08:00";
    let (v, found, _) = check(&a, &old, Some(failing(Outcome::Blocked, 3)), now);
    assert_eq!((v, found), (Verdict::Unknown, vec!["source_failing"]));
    let (v, found, _) = check(&a, &old, Some(failing(Outcome::Blocked, 2)), now);
    assert_eq!(
        (v, found.contains(&"stale_6m")),
        (Verdict::Failed, true),
        "two failures: still judged"
    );
    let (_, found, _) = check(&a, &old, Some(failing(Outcome::Gone, 3)), now);
    assert!(
        !found.contains(&"source_failing"),
        "gone is not failing: {found:?}"
    );
}

#[test]
fn registry_rules_fire_from_the_register_alone() {
    let mut a = account("i", Platform::Douyin);
    a.is_interactive = false;
    let posts = [
        post("2026-11-23T10:00:00+08:00", PostKind::Unknown),
        post("2026-11-18T10:00:00+08:00", PostKind::Unknown),
    ];
    let (v, found, _) = check(&a, &posts, None, "2026-11-24T09:00:00+08:00");
    assert_eq!((v, found), (Verdict::Failed, vec!["no_interaction"]));

    let b = account("r", Platform::Weibo);
    let now = at("2026-11-24T09:00:00+08:00");
    let mut fetch = ok_fetch("r", now);
    fetch.feed_title = Some("兰山城管的微博".into());
    let (v, found, result) = check(&b, &posts, Some(fetch.clone()), "2026-11-24T09:00:00+08:00");
    assert_eq!((v, found), (Verdict::Qualified, vec!["renamed_unfiled"]));
    assert!(result.findings[0].message.contains("「兰山城管」"));
    fetch.feed_title = Some("市政兰山的微博".into());
    assert!(
        check(&b, &posts, Some(fetch), "2026-11-24T09:00:00+08:00")
            .1
            .is_empty()
    );
}

/// Seed 002: 80 accounts, 8 failing for the reasons it names, 2 closing →
/// 合格70个，不合格8个，正在注销2个，合格率90%.
#[test]
fn the_seed_002_quarter_gives_a_pass_rate_of_ninety_percent() {
    let now = at("2021-03-30T09:00:00+08:00");
    let mut register = Register {
        units: vec![unit()],
        accounts: Vec::new(),
    };
    let mut summaries = HashMap::new();
    let mut fetch = HashMap::new();
    let fresh = at("2021-03-29T10:00:00+08:00");
    let last_week = at("2021-03-24T10:00:00+08:00");
    for i in 0..80 {
        let mut a = account(&format!("a{i:02}"), Platform::ALL[i % 7]);
        a.unit = format!("u{i:02}");
        register.units.push(Unit {
            id: a.unit.clone(),
            contacts: unit().contacts,
            chat: None,
            ..unit()
        });
        let mut last = fresh;
        let mut state = ok_fetch(&a.id, now);
        match i {
            0 => last = at("2020-09-01T10:00:00+08:00"), // 区市政管理局微信订阅号超6个月未更新
            1 | 2 => last = at("2021-02-20T10:00:00+08:00"), // 超1个月未更新
            3 => {
                // 注销后未备案
                state.outcome = Some(Outcome::Gone);
                state.gone_streak = 4;
                state.consecutive_failures = 4;
                state.gone_since = Some(at("2021-03-20T09:00:00+08:00"));
            }
            4..=7 => last = at("2021-03-10T10:00:00+08:00"), // 超两周未更新
            8 | 9 => a.state = AccountState::Closing,
            _ => {}
        }
        let week = u64::from(last >= last_week);
        summaries.insert(
            a.id.clone(),
            PostSummary {
                last_post_at: Some(last),
                total: 1,
                last_week: week.max(u64::from(last == fresh)),
                ..Default::default()
            },
        );
        fetch.insert(a.id.clone(), state);
        register.accounts.push(a);
    }
    let registered_at = register
        .accounts
        .iter()
        .map(|a| (a.id.clone(), at("2020-01-01T00:00:00Z")))
        .collect();
    let healthy = vec![ProxyHealth {
        name: "rsshub".into(),
        is_up: true,
        checked_at: now,
        down_since: None,
        message: None,
    }];
    let inputs = CheckInputs {
        summaries: &summaries,
        fetch: &fetch,
        proxies: &healthy,
        registered_at: &registered_at,
        calendar: &Calendar::builtin(),
        rules: &RuleSettings::default(),
        content: &ContentInputs::default(),
    };
    let result = evaluate_all(&register, &inputs, now);
    let s = result.summary;
    assert_eq!(
        (s.assessed, s.qualified, s.failed, s.closing, s.unknown),
        (80, 70, 8, 2, 0)
    );
    assert_eq!(s.pass_rate, Some(0.9));
    let rule_of = |id: &str| {
        result.accounts.iter().find(|a| a.id == id).map(|a| {
            a.findings
                .iter()
                .map(|f| f.rule.id())
                .filter(|r| *r != "weekly_miss")
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(rule_of("a00"), Some(vec!["stale_6m"]));
    assert_eq!(rule_of("a01"), Some(vec!["stale_1m"]));
    assert_eq!(rule_of("a03"), Some(vec!["gone_unfiled"]));
    assert_eq!(rule_of("a04"), Some(vec!["stale_2w"]));
}

#[test]
fn a_down_proxy_raises_one_finding_and_makes_its_accounts_unknown() {
    let now = at("2026-11-24T09:00:00+08:00");
    let register = Register {
        units: vec![unit()],
        accounts: vec![
            account("p1", Platform::Weibo),
            account("p2", Platform::Douyin),
        ],
    };
    let stale = PostSummary {
        last_post_at: Some(at("2026-01-01T00:00:00Z")),
        ..Default::default()
    };
    let summaries: HashMap<String, PostSummary> =
        [("p1".to_string(), stale.clone()), ("p2".to_string(), stale)].into();
    let fetch: HashMap<String, FetchState> = ["p1", "p2"]
        .iter()
        .map(|id| (id.to_string(), ok_fetch(id, now)))
        .collect();
    let down = vec![ProxyHealth {
        name: "rsshub".into(),
        is_up: false,
        checked_at: now,
        down_since: Some(now),
        message: Some("health check failed".into()),
    }];
    let registered_at = HashMap::new();
    let inputs = CheckInputs {
        summaries: &summaries,
        fetch: &fetch,
        proxies: &down,
        registered_at: &registered_at,
        calendar: &Calendar::builtin(),
        rules: &RuleSettings::default(),
        content: &ContentInputs::default(),
    };
    let result = evaluate_all(&register, &inputs, now);
    assert!(
        result
            .accounts
            .iter()
            .all(|a| a.verdict == Verdict::Unknown && a.findings.is_empty())
    );
    let proxy: Vec<&Finding> = result
        .findings
        .iter()
        .filter(|f| f.rule == Rule::ProxyDown)
        .collect();
    assert_eq!(proxy.len(), 1);
    assert_eq!(proxy[0].evidence["accounts"], 2);
    assert_eq!(result.summary.unknown, 2);
}

#[test]
fn two_accounts_of_one_unit_on_one_platform_are_one_finding_naming_both() {
    let now = at("2026-11-24T09:00:00+08:00");
    let mut first = account("ls-b", Platform::Weibo);
    first.name = "兰山区政府办".into();
    let mut second = account("ls-a", Platform::Weibo);
    second.name = "兰山发布".into();
    let register = Register {
        units: vec![unit()],
        accounts: vec![first, second, account("ls-c", Platform::Douyin)],
    };
    let fresh = PostSummary {
        last_post_at: Some(at("2026-11-23T09:00:00+08:00")),
        ..Default::default()
    };
    let summaries: HashMap<String, PostSummary> = ["ls-a", "ls-b", "ls-c"]
        .iter()
        .map(|id| (id.to_string(), fresh.clone()))
        .collect();
    let fetch: HashMap<String, FetchState> = ["ls-a", "ls-b", "ls-c"]
        .iter()
        .map(|id| (id.to_string(), ok_fetch(id, now)))
        .collect();
    let registered_at = HashMap::new();
    let inputs = CheckInputs {
        summaries: &summaries,
        fetch: &fetch,
        proxies: &[],
        registered_at: &registered_at,
        calendar: &Calendar::builtin(),
        rules: &RuleSettings::default(),
        content: &ContentInputs::default(),
    };
    let result = evaluate_all(&register, &inputs, now);
    let duplicates: Vec<(&str, &str)> = result
        .accounts
        .iter()
        .flat_map(|a| {
            a.findings
                .iter()
                .filter(|f| f.rule == Rule::DuplicateAccount)
                .map(move |f| (a.id.as_str(), f.message.as_str()))
        })
        .collect();
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
    assert_eq!(duplicates[0].0, "ls-a");
    assert!(
        duplicates[0].1.contains("「兰山发布」、「兰山区政府办」"),
        "{}",
        duplicates[0].1
    );
}
