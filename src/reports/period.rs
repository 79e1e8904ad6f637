//! Report kinds and their periods.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ReportKind {
    Weekly,
    Monthly,
    Quarterly,
    Scoring,
    /// A year's figures for the 政府信息公开工作年度报告: posts and accounts
    /// per platform, 合格率 by quarter.
    Annual,
}

impl ReportKind {
    pub const ALL: [ReportKind; 5] = [
        ReportKind::Weekly,
        ReportKind::Monthly,
        ReportKind::Quarterly,
        ReportKind::Scoring,
        ReportKind::Annual,
    ];

    pub fn id(self) -> &'static str {
        match self {
            ReportKind::Weekly => "weekly",
            ReportKind::Monthly => "monthly",
            ReportKind::Quarterly => "quarterly",
            ReportKind::Scoring => "scoring",
            ReportKind::Annual => "annual",
        }
    }

    pub fn from_id(id: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// The title; `in_progress` is the "as of" day of a period not yet over.
    pub fn title(self, from: NaiveDate, to: NaiveDate, in_progress: Option<NaiveDate>) -> String {
        let title = self.whole_title(from, to);
        match in_progress {
            Some(day) => format!("{title}（截至{}月{}日）", day.month(), day.day()),
            None => title,
        }
    }

    fn whole_title(self, from: NaiveDate, to: NaiveDate) -> String {
        let span = format!("{} 至 {}", from.format("%Y-%m-%d"), to.format("%Y-%m-%d"));
        let is_whole_month = from.day() == 1 && (to + Duration::days(1)).day() == 1;
        let is_one_month = is_whole_month && to.month() == from.month() && to.year() == from.year();
        let is_one_quarter =
            is_whole_month && from.month() % 3 == 1 && to.month() == from.month() + 2;
        match self {
            ReportKind::Weekly => format!("政务新媒体周报（{span}）"),
            ReportKind::Monthly if is_one_month => {
                format!("政务新媒体月度通报（{}年{}月）", from.year(), from.month())
            }
            ReportKind::Monthly => format!("政务新媒体月度通报（{span}）"),
            // "第三季度", as the .docx and the 整改通知 write it.
            ReportKind::Quarterly if is_one_quarter => format!(
                "政务新媒体季度检查通报（{}年第{}季度）",
                from.year(),
                ["一", "二", "三", "四"]
                    .get(((from.month() - 1) / 3) as usize)
                    .copied()
                    .unwrap_or("")
            ),
            ReportKind::Quarterly => format!("政务新媒体季度检查通报（{span}）"),
            ReportKind::Scoring => format!("政务新媒体更新情况评分表（{span}）"),
            ReportKind::Annual
                if from.month() == 1
                    && from.day() == 1
                    && to.month() == 12
                    && to.day() == 31
                    && to.year() == from.year() =>
            {
                format!("政务新媒体年度统计（{}年）", from.year())
            }
            ReportKind::Annual => format!("政务新媒体年度统计（{span}）"),
        }
    }

    /// The last complete period before `today`.
    pub fn previous_period(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            ReportKind::Weekly => {
                let this_monday =
                    today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
                (
                    this_monday - Duration::days(7),
                    this_monday - Duration::days(1),
                )
            }
            ReportKind::Monthly | ReportKind::Scoring => {
                let first = today.with_day(1).expect("day 1");
                let start = first
                    .checked_sub_months(chrono::Months::new(1))
                    .expect("a month before");
                (start, first - Duration::days(1))
            }
            ReportKind::Annual => (
                NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).expect("valid"),
                NaiveDate::from_ymd_opt(today.year() - 1, 12, 31).expect("valid"),
            ),
            ReportKind::Quarterly => {
                let quarter_start =
                    NaiveDate::from_ymd_opt(today.year(), (today.month() - 1) / 3 * 3 + 1, 1)
                        .expect("valid");
                let start = quarter_start
                    .checked_sub_months(chrono::Months::new(3))
                    .expect("valid");
                (start, quarter_start - Duration::days(1))
            }
        }
    }
}

/// `--period` (2026-10, 2026-Q3, 2026-W47) or `--from/--to`, else the last
/// complete period. A named period must fit the kind (weekly: a week,
/// monthly: a month, quarterly: a quarter; the scoring sheet takes any), and
/// a period that has not begun by `today` is refused.
pub fn parse_period(
    kind: ReportKind,
    period: Option<&str>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), String> {
    let (start, end) = match (period, from, to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err("--period 与 --from/--to 只能二选一".into());
        }
        (None, Some(from), Some(to)) if from <= to => (from, to),
        (None, Some(from), Some(to)) => {
            return Err(format!("--from {from} 晚于 --to {to}"));
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err("--from 与 --to 须同时给出".into());
        }
        (None, None, None) => kind.previous_period(today),
        (Some(text), None, None) => {
            let (named, start, end) = parse_named(text)?;
            let fits = match kind {
                ReportKind::Weekly => named == Named::Week,
                ReportKind::Monthly => named == Named::Month,
                ReportKind::Quarterly => named == Named::Quarter,
                ReportKind::Scoring => true,
                ReportKind::Annual => named == Named::Year,
            };
            if !fits {
                return Err(format!(
                    "--kind {} 与 --period \"{text}\" 不匹配：{}",
                    kind.id(),
                    kind.period_hint()
                ));
            }
            (start, end)
        }
    };
    if start > today {
        return Err(format!(
            "统计期 {start} 至 {end} 尚未开始（今天是 {today}），无法生成通报"
        ));
    }
    Ok((start, end))
}

impl ReportKind {
    fn period_hint(self) -> &'static str {
        match self {
            ReportKind::Weekly => "周报请用 --period YYYY-Wnn（如 2026-W47）",
            ReportKind::Monthly => "月度通报请用 --period YYYY-MM（如 2026-10）",
            ReportKind::Quarterly => "季度通报请用 --period YYYY-Qn（如 2026-Q3）",
            ReportKind::Scoring => "评分表可用 YYYY-MM、YYYY-Qn、YYYY-Wnn 或 --from/--to",
            ReportKind::Annual => "年度统计请用 --period YYYY（如 2026）",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    Week,
    Month,
    Quarter,
    Year,
}

fn parse_named(text: &str) -> Result<(Named, NaiveDate, NaiveDate), String> {
    let bad = || format!("--period \"{text}\"：应为 YYYY、YYYY-MM、YYYY-Qn 或 YYYY-Wnn");
    if let Ok(year) = text.trim().parse::<i32>() {
        let start = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(bad)?;
        let end = NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(bad)?;
        return Ok((Named::Year, start, end));
    }
    let (year, rest) = text.trim().split_once('-').ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
        let q: u32 = q
            .parse()
            .ok()
            .filter(|q| (1..=4).contains(q))
            .ok_or_else(bad)?;
        let start = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1).ok_or_else(bad)?;
        let end = start
            .checked_add_months(chrono::Months::new(3))
            .ok_or_else(bad)?
            - Duration::days(1);
        return Ok((Named::Quarter, start, end));
    }
    if let Some(w) = rest.strip_prefix('W').or_else(|| rest.strip_prefix('w')) {
        let w: u32 = w.parse().map_err(|_| bad())?;
        let monday = NaiveDate::from_isoywd_opt(year, w, Weekday::Mon).ok_or_else(bad)?;
        return Ok((Named::Week, monday, monday + Duration::days(6)));
    }
    let month: u32 = rest.parse().map_err(|_| bad())?;
    let start = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(bad)?
        - Duration::days(1);
    Ok((Named::Month, start, end))
}
