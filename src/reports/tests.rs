//! Reports computed from scenarios built from the seeds.

use super::*;
use crate::calendar::Calendar;
use crate::registry::{Account, Source, Unit};

pub(super) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&Utc)
}

pub(super) fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

pub(super) fn account(id: &str, unit: &str, platform: Platform) -> Account {
    Account {
        id: id.into(),
        unit: unit.into(),
        name: format!("账号{id}"),
        platform,
        source: Source::Feed {
            feed: format!("https://example.gov.cn/{id}.xml"),
        },
        state: AccountState::Active,
        deregistered_on: None,
        filing_ref: None,
        is_interactive: true,
        thresholds: Default::default(),
        note: None,
    }
}

pub(super) fn unit(id: &str, name: &str, kind: UnitKind) -> Unit {
    Unit {
        id: id.into(),
        name: name.into(),
        kind,
        contacts: Vec::new(),
        chat: None,
    }
}

pub(super) fn row(a: &Account, verdict: Verdict, rules: &[Rule]) -> SnapshotRow {
    SnapshotRow {
        account: a.id.clone(),
        unit: a.unit.clone(),
        platform: a.platform,
        state: a.state,
        verdict,
        is_assessed: a.state != AccountState::Deregistered,
        findings: rules
            .iter()
            .map(|r| {
                let severity = match r {
                    Rule::RepostHeavy
                    | Rule::NoOriginalMonth
                    | Rule::RenamedUnfiled
                    | Rule::DuplicateAccount => "warning",
                    Rule::SourceFailing => "unknown",
                    _ => "failure",
                };
                SnapshotFinding {
                    rule: *r,
                    severity: severity.to_string(),
                    label: r.label().to_string(),
                    message: format!("{}：{}", a.name, r.label()),
                }
            })
            .collect(),
    }
}

fn report(
    register: &Register,
    inspections: &[Snapshot],
    previous: Option<&Snapshot>,
    kind: ReportKind,
    from: &str,
    to: &str,
) -> Report {
    let posts = HashMap::new();
    let weeks = HashMap::new();
    reconciled(build(&ReportInput {
        kind,
        from: d(from),
        to: d(to),
        register,
        inspections,
        previous,
        posts: &posts,
        post_weeks: &weeks,
        calendar: &Calendar::builtin(),
        generated_at: at("2026-11-24T09:00:00+08:00"),
        issued: None,
        previous_report: None,
        content: &[],
        tasks: &[],
    }))
}

/// The report, after asserting it adds up (text, Markdown, JSON and XLSX alike).
fn reconciled(r: Report) -> Report {
    assert_eq!(reconcile::discrepancies(&r), Vec::<String>::new(), "{r:#?}");
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["summary"]["failed"], r.summary.failed);
    assert_eq!(json["posts"], r.posts);
    xlsx_matches(&r);
    r
}

/// The XLSX carries the report's numbers.
fn xlsx_matches(r: &Report) {
    use calamine::{Data, Reader, Xlsx};
    let bytes = xlsx::workbook(r).expect("xlsx");
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("readable");
    let summary = book.worksheet_range("汇总").expect("summary");
    let number = |row: u32| match summary.get_value((row, 1)) {
        Some(Data::Float(n)) => *n as u64,
        other => panic!("汇总 row {row}: {other:?}"),
    };
    let s = r.summary;
    assert_eq!(
        (2..=10).chain([17]).map(number).collect::<Vec<_>>(),
        vec![
            r.inspections,
            r.assessable_weeks,
            r.posts,
            r.stale_incidents,
            s.qualified,
            s.failed,
            s.closing,
            s.unknown,
            s.assessed,
            s.manual
        ]
    );
    let platforms = book.worksheet_range("分平台").expect("platforms");
    // A header, a row per platform and the 合计 row, whose numbers are the rows' sums
    // and the report's own totals.
    assert_eq!(platforms.height(), r.by_platform.len() + 2);
    let last = (r.by_platform.len() + 1) as u32;
    let cell = |row: u32, col: u32| match platforms.get_value((row, col)) {
        Some(Data::Float(n)) => *n as u64,
        other => panic!("分平台 ({row}, {col}): {other:?}"),
    };
    assert_eq!(
        platforms.get_value((last, 0)),
        Some(&Data::String("合计".into()))
    );
    for col in 1..=9 {
        let sum: u64 = (1..last).map(|row| cell(row, col)).sum();
        assert_eq!(cell(last, col), sum, "分平台 合计 column {col}");
    }
    assert_eq!(cell(last, 5), r.posts, "合计 发布");
    assert_eq!(
        cell(last, 6) + cell(last, 7) + cell(last, 8),
        r.posts,
        "原创 + 转发 + 其他 = 发布"
    );
    assert_eq!(
        (
            cell(last, 11),
            cell(last, 12),
            cell(last, 13),
            cell(last, 14)
        ),
        (s.qualified, s.failed, s.closing, s.unknown)
    );
    let problems = book.worksheet_range("问题账号").expect("problems");
    let listed = r.failing.iter().map(|g| g.accounts.len()).sum::<usize>()
        + r.unknown.len()
        + r.reposts.len()
        + r.filing.len();
    assert_eq!(problems.height().max(1), listed + 1);
    let trend = book.worksheet_range("巡检趋势").expect("trend");
    assert_eq!(trend.height().max(1), r.trend.len() + 1);
    let fixes = book.worksheet_range("整改情况").expect("rectification");
    assert_eq!(fixes.height().max(1), r.rectification.len() + 1);
}

/// Seed 000: two inspections in March 2020, 7 超期更新 incidents split
/// 公众号 1 / 今日头条 1 / 服务号 2 / 微博 3, and 30 % of the Weibo accounts stale.
#[test]
fn the_seed_000_month_counts_incidents_per_inspection_by_platform() {
    let mut register = Register {
        units: vec![unit("u", "区政府办公室", UnitKind::Department)],
        accounts: Vec::new(),
    };
    let mut add = |prefix: &str, platform: Platform, n: usize| -> Vec<Account> {
        let list: Vec<Account> = (0..n)
            .map(|i| account(&format!("{prefix}{i}"), "u", platform))
            .collect();
        register.accounts.extend(list.clone());
        list
    };
    let weibo = add("wb", Platform::Weibo, 10);
    let gzh = add("gzh", Platform::WechatSubscription, 5);
    let fwh = add("fwh", Platform::WechatService, 3);
    let tt = add("tt", Platform::Toutiao, 2);
    let snapshot = |id: i64, time: &str, stale: &[&Account]| Snapshot {
        id,
        at: at(time),
        rows: register_rows(&[&weibo, &gzh, &fwh, &tt], stale),
    };
    let first = snapshot(
        1,
        "2020-03-10T09:00:00+08:00",
        &[&weibo[0], &weibo[1], &fwh[0], &gzh[0]],
    );
    let second = snapshot(
        2,
        "2020-03-24T09:00:00+08:00",
        &[&weibo[2], &fwh[0], &tt[0]],
    );
    let r = report(
        &register,
        &[first, second],
        None,
        ReportKind::Monthly,
        "2020-03-01",
        "2020-03-31",
    );
    assert_eq!(r.inspections, 2);
    assert_eq!(r.stale_incidents, 7);
    let incidents: HashMap<&str, u64> = r
        .by_platform
        .iter()
        .map(|p| (p.label.as_str(), p.stale_incidents))
        .collect();
    assert_eq!(
        (
            incidents["公众号"],
            incidents["今日头条"],
            incidents["服务号"],
            incidents["微博"]
        ),
        (1, 1, 2, 3)
    );
    let weibo_row = r
        .by_platform
        .iter()
        .find(|p| p.platform == "weibo")
        .expect("weibo");
    assert_eq!(weibo_row.stale_share, Some(0.3));
    let text = render::text(&r);
    assert!(text.contains("本期开展巡检2次"), "{text}");
    assert!(
        text.contains("共出现7次超期更新情况，其中公众号1次、服务号2次、微博3次、今日头条1次"),
        "{text}"
    );
    assert!(text.contains("30%的政务微博超期更新"), "{text}");
    assert!(text.chars().count() < 4096);
}

fn register_rows(groups: &[&Vec<Account>], stale: &[&Account]) -> Vec<SnapshotRow> {
    groups
        .iter()
        .flat_map(|g| g.iter())
        .map(|a| {
            if stale.iter().any(|s| s.id == a.id) {
                row(a, Verdict::Failed, &[Rule::Stale2w])
            } else {
                row(a, Verdict::Qualified, &[])
            }
        })
        .collect()
}

/// Seed 002: 80 accounts, 8 failing for the reasons it names, 2 closing → 合格率 90 %.
#[test]
fn the_seed_002_quarter_reports_verdicts_and_names_the_failing_by_problem() {
    let mut register = Register {
        units: vec![
            unit("szgl", "区市政管理局", UnitKind::Department),
            unit("xj", "西街街道", UnitKind::Town),
            unit("sz", "三闸镇", UnitKind::Town),
            unit("dj", "东街街道", UnitKind::Town),
        ],
        accounts: Vec::new(),
    };
    let mut rows = Vec::new();
    let named = [
        (
            "szgl-gzh",
            "szgl",
            Platform::WechatSubscription,
            Rule::Stale6m,
        ),
        ("xj-gzh", "xj", Platform::WechatSubscription, Rule::Stale1m),
        ("sz-douyin", "sz", Platform::Douyin, Rule::Stale1m),
        (
            "dj-jtx",
            "dj",
            Platform::WechatSubscription,
            Rule::GoneUnfiled,
        ),
    ];
    for (id, u, platform, rule) in named {
        let a = account(id, u, platform);
        rows.push(row(&a, Verdict::Failed, &[rule]));
        register.accounts.push(a);
    }
    for i in 0..76 {
        let mut a = account(&format!("a{i}"), "szgl", Platform::ALL[i % 8]);
        let (verdict, rules): (Verdict, Vec<Rule>) = match i {
            0..=3 => (Verdict::Failed, vec![Rule::Stale2w]),
            4 | 5 => {
                a.state = AccountState::Closing;
                (Verdict::Closing, vec![])
            }
            _ => (Verdict::Qualified, vec![]),
        };
        rows.push(row(&a, verdict, &rules));
        register.accounts.push(a);
    }
    let snapshot = Snapshot {
        id: 1,
        at: at("2021-03-30T09:00:00+08:00"),
        rows,
    };
    let r = report(
        &register,
        &[snapshot],
        None,
        ReportKind::Quarterly,
        "2021-01-01",
        "2021-03-31",
    );
    let s = r.summary;
    assert_eq!(
        (s.assessed, s.qualified, s.failed, s.closing, s.unknown),
        (80, 70, 8, 2, 0)
    );
    assert_eq!(s.pass_rate, Some(0.9));
    assert_eq!(r.failing[0].label, "超6个月未更新");
    assert_eq!(r.failing[0].accounts[0].unit, "区市政管理局");
    let gone = r
        .failing
        .iter()
        .find(|g| g.rule == "gone_unfiled")
        .expect("gone group");
    assert_eq!(gone.accounts[0].unit, "东街街道");
    assert_eq!(r.failing.iter().map(|g| g.accounts.len()).sum::<usize>(), 8);
    assert!(
        render::text(&r)
            .contains("共80个账号参与评定，合格70个，不合格8个，正在注销2个，合格率90%")
    );
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["summary"]["pass_rate"], 0.9);
    assert!(
        json["by_platform"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
}

/// Seed 001: 2019-01-01..2019-05-30 has 20 assessable weeks; one post → 19 misses, 3.8 deducted.
#[test]
fn the_seed_001_scoring_sheet_counts_weekly_misses_and_deductions() {
    let register = Register {
        units: vec![
            unit("dd", "大店镇", UnitKind::Town),
            unit("fgw", "发展和改革委员会", UnitKind::Department),
        ],
        accounts: vec![
            account("dd-site", "dd", Platform::Website),
            account("fgw-site", "fgw", Platform::Website),
        ],
    };
    let calendar = Calendar::builtin();
    let weeks = assessable_weeks(&calendar, d("2019-01-01"), d("2019-05-30"));
    let posts: HashMap<String, KindCounts> = [
        (
            "dd-site".to_string(),
            KindCounts {
                total: 1,
                original: 1,
                ..Default::default()
            },
        ),
        (
            "fgw-site".to_string(),
            KindCounts {
                total: 80,
                original: 80,
                ..Default::default()
            },
        ),
    ]
    .into();
    let post_weeks: HashMap<String, BTreeSet<NaiveDate>> = [
        ("dd-site".to_string(), [d("2019-03-11")].into()),
        (
            "fgw-site".to_string(),
            weeks.iter().map(|w| w.monday).collect(),
        ),
    ]
    .into();
    let r = reconciled(build(&ReportInput {
        kind: ReportKind::Scoring,
        from: d("2019-01-01"),
        to: d("2019-05-30"),
        register: &register,
        inspections: &[],
        previous: None,
        posts: &posts,
        post_weeks: &post_weeks,
        calendar: &calendar,
        generated_at: at("2019-06-01T09:00:00+08:00"),
        issued: None,
        previous_report: None,
        content: &[],
        tasks: &[],
    }));
    assert_eq!(r.assessable_weeks, 20);
    let town = units_of_kind(&r, UnitKind::Town);
    assert_eq!(
        (town[0].posts, town[0].weekly_misses, town[0].deduction),
        (1, 19, 3.8)
    );
    let dept = units_of_kind(&r, UnitKind::Department);
    assert_eq!((dept[0].weekly_misses, dept[0].deduction), (0, 0.0));
    assert_eq!(r.units[0].id, "fgw", "sorted by posts, most first");
    let md = render::markdown(&r);
    assert!(md.contains("| 1 | 大店镇 | 1 | 19 | 3.8 |"), "{md}");
    // Times for people, not RFC 3339 with nanoseconds.
    assert!(md.contains("生成时间：2019-06-01 09:00  \n"), "{md}");
}

#[test]
fn the_previous_reports_problems_are_marked_fixed_or_not() {
    let a = account("a", "u", Platform::Weibo);
    let b = account("b", "u", Platform::Douyin);
    let register = Register {
        units: vec![unit("u", "义堂镇", UnitKind::Town)],
        accounts: vec![a.clone(), b.clone()],
    };
    let previous = Snapshot {
        id: 1,
        at: at("2026-09-30T09:00:00+08:00"),
        rows: vec![
            row(&a, Verdict::Failed, &[Rule::Stale2w]),
            row(&b, Verdict::Failed, &[Rule::Stale1m]),
        ],
    };
    let now = Snapshot {
        id: 2,
        at: at("2026-10-30T09:00:00+08:00"),
        rows: vec![
            row(&a, Verdict::Qualified, &[]),
            row(&b, Verdict::Failed, &[Rule::Stale6m]),
        ],
    };
    let r = report(
        &register,
        &[now],
        Some(&previous),
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
    );
    let fixed: Vec<(String, RectificationState, String)> = r
        .rectification
        .iter()
        .map(|x| (x.account.clone(), x.state, x.evidence.clone()))
        .collect();
    assert_eq!(
        fixed,
        vec![
            (
                "a".to_string(),
                RectificationState::Fixed,
                "2026-10-30 巡检确认已恢复更新".to_string()
            ),
            (
                "b".to_string(),
                RectificationState::Open,
                "2026-10-30 巡检仍存在".to_string()
            )
        ]
    );
    // No 通报 was issued before: the comparison is with the inspection before the period.
    assert!(render::text(&r).contains("上期巡检问题2项：1项已整改，1项未整改"));
}

#[test]
fn the_xlsx_has_the_annex_tables_with_dates_as_dates() {
    use calamine::{Data, Reader, Xlsx};
    let a = account("a", "u", Platform::Weibo);
    let register = Register {
        units: vec![unit("u", "义堂镇", UnitKind::Town)],
        accounts: vec![a.clone()],
    };
    let snapshot = Snapshot {
        id: 1,
        at: at("2026-10-30T09:00:00+08:00"),
        rows: vec![row(&a, Verdict::Failed, &[Rule::Stale2w])],
    };
    let r = report(
        &register,
        &[snapshot],
        None,
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
    );
    let bytes = xlsx::workbook(&r).expect("xlsx");
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("readable");
    assert_eq!(
        book.sheet_names(),
        vec![
            "汇总",
            "分平台",
            "问题账号",
            "整改清单",
            "错敏信息",
            "镇街",
            "部门",
            "巡检趋势",
            "整改情况"
        ]
    );
    let summary = book.worksheet_range("汇总").expect("summary");
    assert_eq!(
        summary.get_value((5, 0)),
        Some(&Data::String("超期更新次数".into()))
    );
    assert_eq!(summary.get_value((5, 1)), Some(&Data::Float(1.0)));
    assert!(
        matches!(summary.get_value((12, 1)), Some(Data::DateTime(_))),
        "{:?}",
        summary.get_value((12, 1))
    );
    let problems = book.worksheet_range("问题账号").expect("problems");
    assert_eq!(
        problems.get_value((0, 0)),
        Some(&Data::String("问题".into()))
    );
    assert_eq!(
        problems.get_value((1, 0)),
        Some(&Data::String("超两周未更新".into()))
    );
    let towns = book.worksheet_range("镇街").expect("towns");
    assert_eq!(
        towns.get_value((1, 1)),
        Some(&Data::String("义堂镇".into()))
    );
    let trend = book.worksheet_range("巡检趋势").expect("trend");
    assert!(matches!(trend.get_value((1, 0)), Some(Data::DateTime(_))));
}

#[test]
fn the_chart_is_a_png_of_the_promised_size_and_a_missing_font_is_a_clear_error() {
    let a = account("a", "u", Platform::Weibo);
    let register = Register {
        units: vec![unit("u", "义堂镇", UnitKind::Town)],
        accounts: vec![a.clone()],
    };
    let snapshots: Vec<Snapshot> = (0..3)
        .map(|i| Snapshot {
            id: i,
            at: at("2026-10-10T09:00:00+08:00") + chrono::Duration::days(i * 7),
            rows: vec![row(&a, Verdict::Failed, &[Rule::Stale2w])],
        })
        .collect();
    let r = report(
        &register,
        &snapshots,
        None,
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
    );
    let font = std::path::Path::new(chart::DEFAULT_FONT);
    if font.exists() {
        let png = chart::png(&r, font).expect("chart");
        let image =
            image::load_from_memory_with_format(&png, image::ImageFormat::Png).expect("decodes");
        assert_eq!(
            (image.width(), image.height()),
            (chart::WIDTH, chart::HEIGHT)
        );
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must install fonts-wqy-microhei"
        );
    }
    let err = chart::png(&r, std::path::Path::new("/nonexistent/font.ttc")).expect_err("no font");
    assert!(
        err.to_string()
            .starts_with("cannot read the chart font /nonexistent/font.ttc"),
        "{err}"
    );
}

#[test]
fn periods_parse_and_default_to_the_last_complete_one() {
    let today = d("2026-11-24");
    assert_eq!(
        parse_period(ReportKind::Monthly, Some("2026-10"), None, None, today),
        Ok((d("2026-10-01"), d("2026-10-31")))
    );
    assert_eq!(
        parse_period(ReportKind::Quarterly, Some("2026-Q3"), None, None, today),
        Ok((d("2026-07-01"), d("2026-09-30")))
    );
    assert_eq!(
        parse_period(ReportKind::Weekly, Some("2026-W47"), None, None, today),
        Ok((d("2026-11-16"), d("2026-11-22")))
    );
    assert_eq!(
        parse_period(ReportKind::Weekly, None, None, None, today),
        Ok((d("2026-11-16"), d("2026-11-22")))
    );
    assert_eq!(
        parse_period(ReportKind::Quarterly, None, None, None, today),
        Ok((d("2026-07-01"), d("2026-09-30")))
    );
    assert_eq!(
        parse_period(
            ReportKind::Scoring,
            None,
            Some(d("2019-01-01")),
            Some(d("2019-05-30")),
            today
        ),
        Ok((d("2019-01-01"), d("2019-05-30")))
    );
    assert!(parse_period(ReportKind::Monthly, Some("2026-13"), None, None, today).is_err());
    assert!(
        parse_period(
            ReportKind::Monthly,
            None,
            Some(d("2026-02-01")),
            Some(d("2026-01-01")),
            today
        )
        .is_err()
    );
}

/// Item by item, the numbers a clerk checks: one account with two failures,
/// a closing account whose closure was not filed, a deregistered account still
/// posting, an account with two repost findings, an unknown one, a duplicate.
#[test]
fn every_heading_count_equals_its_list_and_each_account_is_listed_once() {
    let mut register = Register {
        units: vec![
            unit("ls", "兰山区", UnitKind::Department),
            unit("yt", "义堂镇", UnitKind::Town),
        ],
        accounts: Vec::new(),
    };
    let mut add = |id: &str, u: &str, platform: Platform, state: AccountState| {
        let mut a = account(id, u, platform);
        a.state = state;
        register.accounts.push(a.clone());
        a
    };
    let twice = add("twice", "ls", Platform::Weibo, AccountState::Active);
    let stale = add("stale", "ls", Platform::Douyin, AccountState::Active);
    let closing = add("closing", "yt", Platform::Toutiao, AccountState::Closing);
    let gone = add("gone", "yt", Platform::Weibo, AccountState::Deregistered);
    let reposter = add("reposter", "yt", Platform::Weibo, AccountState::Active);
    let unknown = add(
        "unknown",
        "yt",
        Platform::WechatSubscription,
        AccountState::Active,
    );
    let dup = add("dup", "ls", Platform::Weibo, AccountState::Active);
    let rows = vec![
        row(
            &twice,
            Verdict::Failed,
            &[Rule::Stale1m, Rule::NoInteraction],
        ),
        row(&stale, Verdict::Failed, &[Rule::Stale2w]),
        row(&closing, Verdict::Closing, &[Rule::GoneUnfiled]),
        row(&gone, Verdict::Failed, &[Rule::FiledButActive]),
        row(
            &reposter,
            Verdict::Qualified,
            &[Rule::RepostHeavy, Rule::NoOriginalMonth],
        ),
        row(&unknown, Verdict::Unknown, &[Rule::SourceFailing]),
        row(&dup, Verdict::Qualified, &[Rule::DuplicateAccount]),
    ];
    let snapshot = Snapshot {
        id: 1,
        at: at("2026-10-20T09:00:00+08:00"),
        rows,
    };
    let r = report(
        &register,
        &[snapshot],
        None,
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
    );
    let s = r.summary;
    assert_eq!(
        (s.assessed, s.qualified, s.failed, s.closing, s.unknown),
        (5, 2, 2, 1, 1),
        "the deregistered account and the 无法监测 one are not assessed"
    );
    let failing: Vec<(&str, Vec<&str>)> = r
        .failing
        .iter()
        .map(|g| {
            (
                g.label.as_str(),
                g.accounts.iter().map(|a| a.account.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        failing,
        vec![
            ("超1个月未更新", vec!["twice"]),
            ("超两周未更新", vec!["stale"])
        ]
    );
    assert_eq!(
        r.failing[0].accounts[0].labels,
        vec!["超1个月未更新", "未提供有效互动功能"],
        "the second failure is named on the same line"
    );
    assert_eq!(
        r.unknown
            .iter()
            .map(|a| a.account.as_str())
            .collect::<Vec<_>>(),
        vec!["unknown"]
    );
    assert_eq!(
        r.reposts
            .iter()
            .map(|a| a.account.as_str())
            .collect::<Vec<_>>(),
        vec!["reposter"],
        "two repost findings, one account"
    );
    assert_eq!(
        r.filing
            .iter()
            .map(|a| a.account.as_str())
            .collect::<Vec<_>>(),
        vec!["closing", "dup", "gone"]
    );
    let text = render::text(&r);
    assert!(text.contains("不合格账号2个："), "{text}");
    assert!(text.contains("以转发为主或缺少原创：1个账号。"), "{text}");
    assert!(text.contains("备案问题：3个账号。"), "{text}");
}

/// A quarter reported in its middle counts only the weeks that have ended and
/// says so in its title.
#[test]
fn a_period_in_progress_counts_only_ended_weeks_and_says_so() {
    let a = account("a", "u", Platform::Weibo);
    let register = Register {
        units: vec![unit("u", "义堂镇", UnitKind::Town)],
        accounts: vec![a.clone()],
    };
    let snapshot = Snapshot {
        id: 1,
        at: at("2026-11-20T09:00:00+08:00"),
        rows: vec![row(&a, Verdict::Failed, &[Rule::Stale2w])],
    };
    let r = report(
        &register,
        &[snapshot],
        None,
        ReportKind::Quarterly,
        "2026-10-01",
        "2026-12-31",
    );
    assert!(r.is_in_progress);
    assert_eq!(
        r.title,
        "政务新媒体季度检查通报（2026年第四季度）（截至11月24日）"
    );
    assert_eq!(r.as_of, "2026-11-24");
    // Weeks ending 10-04 .. 11-22: eight weeks, less the National Day week (09-28..10-04 has 09-28..09-30 workdays).
    let ended = assessable_weeks(&Calendar::builtin(), d("2026-10-01"), d("2026-11-23"));
    assert_eq!(r.assessable_weeks, ended.len() as u64);
    assert!(r.assessable_weeks < 13, "not the whole quarter");
    assert_eq!(r.units[0].weekly_misses, r.assessable_weeks);
    let whole = report(
        &register,
        &[],
        None,
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
    );
    assert!(!whole.is_in_progress);
    assert_eq!(whole.title, "政务新媒体月度通报（2026年10月）");
}

/// No inspection in the period: nothing is judged, nothing reads as clean.
#[test]
fn a_period_without_inspections_says_it_cannot_be_judged() {
    let a = account("a", "u", Platform::Weibo);
    let register = Register {
        units: vec![unit("u", "义堂镇", UnitKind::Town)],
        accounts: vec![a.clone()],
    };
    let previous = Snapshot {
        id: 1,
        at: at("2026-09-30T09:00:00+08:00"),
        rows: vec![row(&a, Verdict::Failed, &[Rule::Stale2w])],
    };
    let r = report(
        &register,
        &[],
        Some(&previous),
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
    );
    assert!(!r.is_assessable);
    let text = render::text(&r);
    assert!(text.contains("本期无巡检记录，无法评定"), "{text}");
    assert!(!text.contains("未出现超期更新情况"), "{text}");
    assert!(!text.contains("已整改"), "{text}");
    assert_eq!(r.rectification[0].state, RectificationState::Unverifiable);
    assert_eq!(r.rectification[0].evidence, "本期无巡检记录");
}

/// 已整改 needs a later inspection that judged the account: an unknown account
/// cannot be verified, and a register flag still set stays 未整改.
#[test]
fn rectification_is_claimed_only_on_evidence() {
    let a = account("a", "u", Platform::Weibo);
    let mut b = account("b", "u", Platform::Douyin);
    b.is_interactive = false;
    let c = account("c", "u", Platform::Toutiao);
    let register = Register {
        units: vec![unit("u", "义堂镇", UnitKind::Town)],
        accounts: vec![a.clone(), b.clone(), c.clone()],
    };
    let previous = Snapshot {
        id: 1,
        at: at("2026-09-30T09:00:00+08:00"),
        rows: vec![
            row(&a, Verdict::Failed, &[Rule::Stale2w]),
            row(&b, Verdict::Failed, &[Rule::NoInteraction]),
            row(&c, Verdict::Failed, &[Rule::Stale1m]),
        ],
    };
    let first = Snapshot {
        id: 2,
        at: at("2026-10-05T09:00:00+08:00"),
        rows: vec![
            row(&a, Verdict::Unknown, &[Rule::SourceFailing]),
            row(&b, Verdict::Failed, &[Rule::NoInteraction]),
            row(&c, Verdict::Qualified, &[]),
        ],
    };
    let second = Snapshot {
        id: 3,
        at: at("2026-10-20T09:00:00+08:00"),
        rows: vec![
            row(&a, Verdict::Unknown, &[Rule::SourceFailing]),
            row(&b, Verdict::Failed, &[Rule::NoInteraction]),
            row(&c, Verdict::Qualified, &[]),
        ],
    };
    let r = report(
        &register,
        &[first, second],
        Some(&previous),
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
    );
    let states: Vec<(&str, RectificationState, &str)> = r
        .rectification
        .iter()
        .map(|x| (x.account.as_str(), x.state, x.evidence.as_str()))
        .collect();
    assert_eq!(
        states,
        vec![
            (
                "a",
                RectificationState::Unverifiable,
                "本期巡检未能监测该账号"
            ),
            ("b", RectificationState::Open, "2026-10-20 巡检仍存在"),
            (
                "c",
                RectificationState::Fixed,
                "2026-10-05 巡检确认已恢复更新"
            ),
        ]
    );
}

#[test]
fn a_named_period_must_fit_the_kind_and_must_have_begun() {
    let today = d("2026-11-23");
    let weekly = parse_period(ReportKind::Weekly, Some("2026-11"), None, None, today);
    assert_eq!(
        weekly,
        Err("--kind weekly 与 --period \"2026-11\" 不匹配：周报请用 --period YYYY-Wnn（如 2026-W47）".to_string())
    );
    assert!(parse_period(ReportKind::Monthly, Some("2026-Q3"), None, None, today).is_err());
    assert!(parse_period(ReportKind::Quarterly, Some("2026-10"), None, None, today).is_err());
    assert!(parse_period(ReportKind::Scoring, Some("2026-Q3"), None, None, today).is_ok());
    assert_eq!(
        parse_period(ReportKind::Monthly, Some("2026-12"), None, None, today),
        Err(
            "统计期 2026-12-01 至 2026-12-31 尚未开始（今天是 2026-11-23），无法生成通报"
                .to_string()
        )
    );
    assert!(
        parse_period(ReportKind::Monthly, Some("2026-11"), None, None, today).is_ok(),
        "the running month may be reported (it says 截至)"
    );
}

/// Several inspections on one day get distinct labels on the chart's axis.
#[test]
fn the_chart_labels_each_inspection_distinctly() {
    let a = account("a", "u", Platform::Toutiao);
    let register = Register {
        units: vec![unit("u", "义堂镇", UnitKind::Town)],
        accounts: vec![a.clone()],
    };
    let snapshots: Vec<Snapshot> = [
        "2026-11-23T09:00:00+08:00",
        "2026-11-23T15:30:00+08:00",
        "2026-11-24T08:00:00+08:00",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| Snapshot {
        id: i as i64,
        at: at(t),
        rows: vec![row(&a, Verdict::Failed, &[Rule::Stale2w])],
    })
    .collect();
    let r = report(
        &register,
        &snapshots,
        None,
        ReportKind::Monthly,
        "2026-11-01",
        "2026-11-30",
    );
    assert_eq!(
        chart::trend_labels(&r),
        vec!["11-23 09:00", "11-23 15:30", "11-24"]
    );
}

/// 无法监测 accounts are not assessed and never pass: all of them unknown is
/// "无法评定" in every format, never 100%; a platform with one failed and one
/// unknown is 0% over one assessed account, not 50%.
#[test]
fn unmonitored_accounts_are_not_assessed_and_a_rate_over_none_cannot_be_judged() {
    let mut register = Register {
        units: vec![unit("yt", "义堂镇", UnitKind::Town)],
        accounts: Vec::new(),
    };
    for (id, platform) in [
        ("w1", Platform::Weibo),
        ("w2", Platform::Weibo),
        ("d1", Platform::Douyin),
    ] {
        register.accounts.push(account(id, "yt", platform));
    }
    let all_unknown = Snapshot {
        id: 1,
        at: at("2026-10-20T09:00:00+08:00"),
        rows: register
            .accounts
            .iter()
            .map(|a| row(a, Verdict::Unknown, &[Rule::SourceFailing]))
            .collect(),
    };
    let r = report(
        &register,
        &[all_unknown],
        None,
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
    );
    assert_eq!(
        (r.summary.assessed, r.summary.unknown, r.summary.pass_rate),
        (0, 3, None)
    );
    let text = render::text(&r);
    assert!(
        text.contains("合格率无法评定；另有3个账号无法监测，未纳入评定"),
        "{text}"
    );
    assert!(!text.contains("100%") && !text.contains("0.0%"), "{text}");
    let md = render::markdown(&r);
    assert!(md.contains("无法评定") && !md.contains("100%"), "{md}");
    let doc = docx::document(
        &r,
        &docx::Issue::new(
            &r,
            &crate::config::OfficeSettings::default(),
            &Calendar::builtin(),
        ),
    )
    .expect("docx");
    let xml = docx_text(&doc);
    assert!(xml.contains("合格率无法评定"), "{xml}");
    assert!(!xml.contains("合格率100%"), "{xml}");

    let mixed = Snapshot {
        id: 2,
        at: at("2026-10-21T09:00:00+08:00"),
        rows: vec![
            row(&register.accounts[0], Verdict::Failed, &[Rule::Stale1m]),
            row(
                &register.accounts[1],
                Verdict::Unknown,
                &[Rule::SourceFailing],
            ),
            row(
                &register.accounts[2],
                Verdict::Unknown,
                &[Rule::SourceFailing],
            ),
        ],
    };
    let r = report(
        &register,
        &[mixed],
        None,
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
    );
    let weibo = r
        .by_platform
        .iter()
        .find(|p| p.platform == "weibo")
        .expect("weibo");
    assert_eq!(
        (weibo.summary.assessed, weibo.summary.pass_rate),
        (1, Some(0.0))
    );
    let douyin = r
        .by_platform
        .iter()
        .find(|p| p.platform == "douyin")
        .expect("douyin");
    assert_eq!(
        (douyin.summary.assessed, douyin.summary.pass_rate),
        (0, None)
    );
    assert!(render::markdown(&r).contains("无法评定"));
    assert!(crate::inspection::monitoring_problem(&r.summary, 0.2).is_some());
    assert!(crate::inspection::monitoring_problem(&r.summary, 0.7).is_none());
}

fn docx_text(doc: &[u8]) -> String {
    use std::io::Read as _;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(doc)).expect("zip");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("document.xml")
        .read_to_string(&mut xml)
        .expect("utf-8");
    // Runs split words; the text is what a reader sees.
    let mut out = String::new();
    let mut in_tag = false;
    for c in xml.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}
