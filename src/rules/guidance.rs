//! 整改指引: what a unit contact does about each problem, and by when, in
//! words they understand. The same text in alerts, 整改通知 and `/status`.

use crate::domain::Rule;
use chrono::{DateTime, Datelike as _, Duration};
use serde_json::Value;

/// What to do about a finding of `rule` (its evidence gives dates).
pub fn guidance(rule: Rule, evidence: &Value) -> String {
    match rule {
        Rule::StaleWarning => {
            let due = evidence["last_post_at"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .zip(evidence["stale_days"].as_i64())
                .map(|(last, days)| last + Duration::days(days));
            match due {
                Some(due) => format!(
                    "请于{}月{}日前发布信息（再晚即不合格）",
                    due.month(),
                    due.day()
                ),
                None => "请尽快发布信息（再晚即不合格）".to_string(),
            }
        }
        Rule::Stale2w | Rule::Stale1m | Rule::Stale6m => {
            "请尽快发布信息恢复更新；不再运维的账号，按程序申请关停注销并报备".to_string()
        }
        Rule::Zombie3m => "恢复更新，或按程序申请关停注销并报备".to_string(),
        Rule::WeeklyMiss => "每周至少更新一次（节假日除外）".to_string(),
        Rule::RepostHeavy | Rule::NoOriginalMonth => "增加原创内容，减少单纯转发".to_string(),
        Rule::GoneUnfiled => "平台上账号已注销或不存在：请向主管部门补办注销备案".to_string(),
        Rule::FiledButActive => {
            "已注销备案的账号仍在更新：请核实账号归属，仍在使用的撤回注销，否则停止发布".to_string()
        }
        Rule::RenamedUnfiled => "报送名称变更备案，或将账号名称改回登记名称".to_string(),
        Rule::DuplicateAccount => "整合同一平台的重复账号，并报备关停注销".to_string(),
        Rule::NoInteraction => "开启留言或评论功能".to_string(),
        Rule::NoContact => "登记单位联系人（联系人发送 /绑定 单位名称 申请）".to_string(),
        Rule::Wording => {
            "按建议修改或删除有误的信息，并回复 /整改 说明处理情况（平台不能修改的，说明已采取的措施）"
                .to_string()
        }
        Rule::PersonalData => {
            "立即删除或修改含个人信息的内容（身份证号、手机号等须去标识化），并回复 /整改 说明处理情况"
                .to_string()
        }
        Rule::RepostTask => {
            let title = evidence["tasks"][0]["title"].as_str().unwrap_or("转载任务");
            format!("请尽快转载「{title}」")
        }
        Rule::ClosingNotice => {
            "关停前先发布停更公告（说明停更原因和今后的信息发布渠道），再办理注销备案".to_string()
        }
        Rule::SourceFailing | Rule::ProxyDown | Rule::CalendarMissing => {
            "无需单位处理（监测原因），管理员将处理".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_says_what_to_do_and_a_warning_says_by_when() {
        for rule in Rule::ALL {
            assert!(!guidance(rule, &Value::Null).is_empty(), "{rule:?}");
        }
        let evidence = serde_json::json!({
            "last_post_at": "2026-11-22T10:30:00+08:00",
            "days_since_post": 10,
            "stale_days": 14,
        });
        assert_eq!(
            guidance(Rule::StaleWarning, &evidence),
            "请于12月6日前发布信息（再晚即不合格）"
        );
    }
}
