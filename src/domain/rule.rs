//! Rule ids and how much a finding weighs: the interface of the checks
//! (DOMAIN.md "The checks"), shared by rules, settings, storage and reports.

use serde::Serialize;

/// A rule id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    StaleWarning,
    Stale2w,
    Stale1m,
    Zombie3m,
    Stale6m,
    WeeklyMiss,
    RepostHeavy,
    NoOriginalMonth,
    GoneUnfiled,
    FiledButActive,
    RenamedUnfiled,
    DuplicateAccount,
    NoInteraction,
    NoContact,
    SourceFailing,
    ProxyDown,
    CalendarMissing,
    Wording,
    PersonalData,
    RepostTask,
    ClosingNotice,
}

impl Rule {
    pub const ALL: [Rule; 21] = [
        Rule::StaleWarning,
        Rule::Stale2w,
        Rule::Stale1m,
        Rule::Zombie3m,
        Rule::Stale6m,
        Rule::WeeklyMiss,
        Rule::RepostHeavy,
        Rule::NoOriginalMonth,
        Rule::GoneUnfiled,
        Rule::FiledButActive,
        Rule::RenamedUnfiled,
        Rule::DuplicateAccount,
        Rule::NoInteraction,
        Rule::NoContact,
        Rule::SourceFailing,
        Rule::ProxyDown,
        Rule::CalendarMissing,
        Rule::Wording,
        Rule::PersonalData,
        Rule::RepostTask,
        Rule::ClosingNotice,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::StaleWarning => "stale_warning",
            Rule::Stale2w => "stale_2w",
            Rule::Stale1m => "stale_1m",
            Rule::Zombie3m => "zombie_3m",
            Rule::Stale6m => "stale_6m",
            Rule::WeeklyMiss => "weekly_miss",
            Rule::RepostHeavy => "repost_heavy",
            Rule::NoOriginalMonth => "no_original_month",
            Rule::GoneUnfiled => "gone_unfiled",
            Rule::FiledButActive => "filed_but_active",
            Rule::RenamedUnfiled => "renamed_unfiled",
            Rule::DuplicateAccount => "duplicate_account",
            Rule::NoInteraction => "no_interaction",
            Rule::NoContact => "no_contact",
            Rule::SourceFailing => "source_failing",
            Rule::ProxyDown => "proxy_down",
            Rule::CalendarMissing => "calendar_missing",
            Rule::Wording => "wording",
            Rule::PersonalData => "personal_data",
            Rule::RepostTask => "repost_task",
            Rule::ClosingNotice => "closing_notice",
        }
    }

    /// The label a 通报 uses.
    pub fn label(self) -> &'static str {
        match self {
            Rule::StaleWarning => "更新预警",
            Rule::Stale2w => "超两周未更新",
            Rule::Stale1m => "超1个月未更新",
            Rule::Zombie3m => "疑似僵尸账号",
            Rule::Stale6m => "超6个月未更新",
            Rule::WeeklyMiss => "每周更新未达标",
            Rule::RepostHeavy => "以转发为主缺少原创",
            Rule::NoOriginalMonth => "月度无原创",
            Rule::GoneUnfiled => "注销后未备案",
            Rule::FiledButActive => "已注销仍在更新",
            Rule::RenamedUnfiled => "名称变更未报备",
            Rule::DuplicateAccount => "同平台重复开设",
            Rule::NoInteraction => "未提供有效互动功能",
            Rule::NoContact => "未登记联系人",
            Rule::SourceFailing => "无法监测",
            Rule::ProxyDown => "监测代理不可用",
            Rule::CalendarMissing => "节假日数据缺失",
            Rule::Wording => "错敏信息",
            Rule::PersonalData => "泄露个人信息",
            Rule::RepostTask => "未按时完成转载任务",
            Rule::ClosingNotice => "关停前未发布停更公告",
        }
    }

    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// True for the rules about what accounts post (错敏信息, personal data,
    /// 转载任务, 停更公告).
    pub fn is_content(self) -> bool {
        matches!(
            self,
            Rule::Wording | Rule::PersonalData | Rule::RepostTask | Rule::ClosingNotice
        )
    }

    /// True for the stale ladder, where only the highest rung fires.
    pub fn is_stale(self) -> bool {
        matches!(
            self,
            Rule::StaleWarning | Rule::Stale2w | Rule::Stale1m | Rule::Zombie3m | Rule::Stale6m
        )
    }
}

impl<'de> serde::Deserialize<'de> for Rule {
    // By id, as settings name rules (`urgent_rules = ["gone_unfiled"]`).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Rule, D::Error> {
        let id = String::deserialize(deserializer)?;
        Rule::from_id(&id).ok_or_else(|| {
            let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
            let hint = super::suggest(&id, ids.iter().copied())
                .map(|near| format!("，是否为「{near}」？"))
                .unwrap_or_default();
            serde::de::Error::custom(format!(
                "未知的规则「{id}」{hint}（可选：{}）",
                ids.join("、")
            ))
        })
    }
}

impl Serialize for Rule {
    // By id: serde's snake_case would write `stale2w` for `Stale2w`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// How much a finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A heads-up to the unit contact.
    Advisory,
    /// Named in reports; does not fail the account.
    Warning,
    /// Fails the account (单项否决).
    Failure,
    /// The account cannot be assessed.
    Unknown,
    /// For the operators (proxy down, missing holiday data).
    Operator,
}

impl Severity {
    pub fn id(self) -> &'static str {
        match self {
            Severity::Advisory => "advisory",
            Severity::Warning => "warning",
            Severity::Failure => "failure",
            Severity::Unknown => "unknown",
            Severity::Operator => "operator",
        }
    }
}
