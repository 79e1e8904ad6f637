//! The 通报's 错敏信息 section: findings in posts published in the period
//! (误报 left out; corrected ones still count, they were published), per
//! unit and as an annex list; and the 转载任务 due in the period.

use crate::calendar::to_local;
use crate::content::{ContentFinding, FindingState, Level, TaskProgress, tasks_sentence};
use crate::domain::Rule;
use crate::registry::Register;
use serde::{Deserialize, Serialize};

/// One line of the annex (附件：错敏信息明细).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentItem {
    pub id: i64,
    pub unit: String,
    pub account: String,
    pub name: String,
    pub platform: String,
    /// "2026-11-03 10:00"
    pub published_at: String,
    pub title: String,
    /// 问题内容 (personal data masked)
    pub matched: String,
    pub context: String,
    /// 建议
    pub suggestion: String,
    /// 类别
    pub category: String,
    /// 严重 / 一般
    pub level: String,
    /// 待整改 / 已整改
    pub state: String,
    pub link: Option<String>,
}

/// A unit's count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitCount {
    pub unit: String,
    pub count: u64,
}

/// The section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentSection {
    /// Every item: wording and personal data.
    pub total: u64,
    pub severe: u64,
    pub personal_data: u64,
    /// Units with items, most first (ties in register order).
    pub by_unit: Vec<UnitCount>,
    pub items: Vec<ContentItem>,
    /// 转载任务 due in the period.
    pub tasks: Vec<TaskProgress>,
    /// "转载任务N项，应转载X个账号次，按时完成Y个，未完成：…"
    pub tasks_sentence: Option<String>,
}

/// The section from the findings of the period and its tasks.
pub fn section(
    findings: &[ContentFinding],
    tasks: &[TaskProgress],
    register: &Register,
) -> ContentSection {
    let mut s = ContentSection::default();
    let mut counts: Vec<(usize, String, u64)> = Vec::new();
    for f in findings
        .iter()
        .filter(|f| f.state != FindingState::Dismissed)
    {
        let account = register.account(&f.account_id);
        let unit_id = account.map_or("", |a| a.unit.as_str());
        let (position, unit) = register
            .units
            .iter()
            .enumerate()
            .find(|(_, u)| u.id == unit_id)
            .map_or((usize::MAX, unit_id.to_string()), |(n, u)| {
                (n, u.name.clone())
            });
        s.total += 1;
        s.severe += u64::from(f.level == Level::Severe);
        s.personal_data += u64::from(f.rule == Rule::PersonalData);
        match counts.iter_mut().find(|(_, u, _)| *u == unit) {
            Some((_, _, n)) => *n += 1,
            None => counts.push((position, unit.clone(), 1)),
        }
        s.items.push(ContentItem {
            id: f.id,
            unit,
            account: f.account_id.clone(),
            name: account.map_or_else(|| f.account_id.clone(), |a| a.name.clone()),
            platform: account.map_or_else(String::new, |a| a.platform.label().to_string()),
            published_at: to_local(f.published_at)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            title: f.post_title.clone().unwrap_or_default(),
            matched: f.matched.clone(),
            context: f.context.clone(),
            suggestion: f.suggestion.clone(),
            category: f.category.clone(),
            level: f.level.label().to_string(),
            state: f.state.label().to_string(),
            link: f.post_link.clone(),
        });
    }
    counts.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    s.by_unit = counts
        .into_iter()
        .map(|(_, unit, count)| UnitCount { unit, count })
        .collect();
    s.items.sort_by(|a, b| {
        let rank = |u: &str| s.by_unit.iter().position(|c| c.unit == u);
        rank(&a.unit)
            .cmp(&rank(&b.unit))
            .then(a.published_at.cmp(&b.published_at))
            .then(a.id.cmp(&b.id))
    });
    s.tasks = tasks.to_vec();
    s.tasks_sentence = tasks_sentence(tasks, register);
    s
}

/// "监测发现错别字、敏感词等错误信息42条（严重5条），其中：甘州区10条、临泽县9条；
/// 含未去标识化的个人信息2条。" or None when there is none.
pub fn sentence(s: &ContentSection) -> Option<String> {
    if s.total == 0 {
        return None;
    }
    let wording = s.total - s.personal_data;
    let units: Vec<String> = s
        .by_unit
        .iter()
        .map(|u| format!("{}{}条", u.unit, u.count))
        .collect();
    let mut out = format!(
        "监测发现错别字、敏感词等错误信息及个人信息共{}条（严重{}条），其中：{}",
        s.total,
        s.severe,
        units.join("、")
    );
    if s.personal_data > 0 {
        out.push_str(&format!(
            "；其中错敏表述{wording}条，未去标识化的个人信息{}条",
            s.personal_data
        ));
    }
    out.push('。');
    Some(out)
}
