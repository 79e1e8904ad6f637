//! Report scenarios after the seeds, with contacts, posts and a previous
//! report, for the .docx tests.

use super::*;

fn contact(name: &str, phone: &str) -> Contact {
    Contact {
        name: name.into(),
        telegram_id: None,
        dingtalk_id: None,
        feishu_open_id: None,
        phone: Some(phone.into()),
    }
}

pub(super) struct Scenario {
    register: Register,
    inspections: Vec<Snapshot>,
    previous: Option<Snapshot>,
    posts: HashMap<String, KindCounts>,
}

impl Scenario {
    pub(super) fn report(&self, kind: ReportKind, from: &str, to: &str, now: &str) -> Report {
        let report = build(&ReportInput {
            kind,
            from: d(from),
            to: d(to),
            register: &self.register,
            inspections: &self.inspections,
            previous: self.previous.as_ref(),
            posts: &self.posts,
            post_weeks: &HashMap::<String, BTreeSet<NaiveDate>>::new(),
            calendar: &Calendar::builtin(),
            issued: None,
            previous_report: None,
            content: &[],
            tasks: &[],
            generated_at: at(now),
        });
        assert_eq!(reconcile::discrepancies(&report), Vec::<String>::new());
        report
    }
}

/// Seed 000 in October 2026: two inspections, 7 超期更新 incidents (公众号 1,
/// 服务号 2, 微博 3, 今日头条 1), 30 % of the Weibo accounts stale, a repost
/// finding, a filing finding, and the previous report's problems followed up.
pub(super) fn seed_000() -> Scenario {
    let mut units = vec![
        unit("bgs", "区政府办公室", UnitKind::Department),
        unit("ytz", "义堂镇", UnitKind::Town),
        unit("xj", "西街街道", UnitKind::Town),
        unit("szgl", "区市政管理局", UnitKind::Department),
    ];
    units[0].contacts = vec![contact("王芳", "0539-8196766")];
    units[1].contacts = vec![contact("李强", "13800000000")];
    let mut register = Register {
        units,
        accounts: Vec::new(),
    };
    let homes = ["bgs", "ytz", "xj", "szgl"];
    let mut add = |prefix: &str, platform: Platform, n: usize| -> Vec<crate::registry::Account> {
        let list: Vec<_> = (0..n)
            .map(|i| account(&format!("{prefix}{i}"), homes[i % 4], platform))
            .collect();
        register.accounts.extend(list.clone());
        list
    };
    let weibo = add("wb", Platform::Weibo, 10);
    let gzh = add("gzh", Platform::WechatSubscription, 5);
    let fwh = add("fwh", Platform::WechatService, 3);
    let tt = add("tt", Platform::Toutiao, 2);
    let all: Vec<_> = [&weibo, &gzh, &fwh, &tt].into_iter().flatten().collect();
    let inspection = |id: i64, time: &str, stale: &[&str], extra: &[(&str, Rule)]| Snapshot {
        id,
        at: at(time),
        rows: all
            .iter()
            .map(|a| {
                let mut rules: Vec<Rule> = extra
                    .iter()
                    .filter(|(id, _)| *id == a.id)
                    .map(|(_, r)| *r)
                    .collect();
                let verdict = if stale.contains(&a.id.as_str()) {
                    rules.push(Rule::Stale2w);
                    Verdict::Failed
                } else {
                    Verdict::Qualified
                };
                row(a, verdict, &rules)
            })
            .collect(),
    };
    let previous = inspection(1, "2026-09-28T09:00:00+08:00", &["wb0", "fwh0"], &[]);
    let inspections = vec![
        inspection(
            2,
            "2026-10-12T09:00:00+08:00",
            &["wb0", "wb1", "fwh0", "gzh0"],
            &[],
        ),
        inspection(
            3,
            "2026-10-26T09:00:00+08:00",
            &["wb2", "fwh0", "tt0"],
            &[("gzh1", Rule::RepostHeavy), ("tt1", Rule::RenamedUnfiled)],
        ),
    ];
    let mut posts = HashMap::new();
    for (i, a) in all.iter().enumerate() {
        let counts: &mut KindCounts = posts.entry(a.id.clone()).or_default();
        add_post(counts, PostKind::Original, 3 + i as u64 % 4);
        add_post(counts, PostKind::Repost, i as u64 % 3);
    }
    Scenario {
        register,
        inspections,
        previous: Some(previous),
        posts,
    }
}

/// Seed 002 in the third quarter of 2026: 80 accounts, 8 failing for the
/// reasons it names, 2 closing → 合格70个，不合格8个，正在注销2个，合格率90%.
fn seed_002() -> Scenario {
    let mut register = Register {
        units: vec![
            unit("szgl", "区市政管理局", UnitKind::Department),
            unit("xj", "西街街道", UnitKind::Town),
            unit("sz", "三闸镇", UnitKind::Town),
            unit("dj", "东街街道", UnitKind::Town),
        ],
        accounts: Vec::new(),
    };
    register.units[2].contacts = vec![contact("赵敏", "0936-8211234")];
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
        let home = ["szgl", "xj", "sz", "dj"][i % 4];
        let mut a = account(&format!("a{i}"), home, Platform::ALL[i % 8]);
        let (verdict, rules) = match i {
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
    Scenario {
        register,
        inspections: vec![Snapshot {
            id: 1,
            at: at("2026-09-29T09:00:00+08:00"),
            rows,
        }],
        previous: None,
        posts: HashMap::new(),
    }
}

pub(super) fn month_report() -> Report {
    seed_000().report(
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
        "2026-11-23T10:00:00+08:00",
    )
}

pub(super) fn quarter_report() -> Report {
    seed_002().report(
        ReportKind::Quarterly,
        "2026-07-01",
        "2026-09-30",
        "2026-10-09T10:00:00+08:00",
    )
}

pub(super) fn empty_report() -> Report {
    let mut scenario = seed_000();
    scenario.inspections.clear();
    scenario.report(
        ReportKind::Monthly,
        "2026-10-01",
        "2026-10-31",
        "2026-11-23T10:00:00+08:00",
    )
}
