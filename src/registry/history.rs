//! The audit trail as clerks read it: one line per change, who, when (Asia/
//! Shanghai), from where and what, in Chinese.
//!
//! In: [`RegisterEvent`]s and the current [`Register`] (for names). Out: text.

use super::Register;
use super::audit::{RegisterEvent, actor_name, field_label, local_time, source_label, value_text};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Which changes to show.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub account: Option<String>,
    /// A unit: its own changes and those of its accounts.
    pub unit: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

impl HistoryFilter {
    pub fn matches(&self, event: &RegisterEvent, register: &Register) -> bool {
        if self.since.is_some_and(|since| event.at < since) {
            return false;
        }
        if let Some(account) = &self.account {
            if !(event.entity == "account" && &event.entity_id == account) {
                return false;
            }
        }
        if let Some(unit) = &self.unit {
            let is_unit = event.entity == "unit" && &event.entity_id == unit;
            let is_its_account = event.entity == "account"
                && (register
                    .account(&event.entity_id)
                    .is_some_and(|a| &a.unit == unit)
                    || mentions_unit(&event.detail, unit));
            if !is_unit && !is_its_account {
                return false;
            }
        }
        true
    }
}

/// An account's detail naming the unit: `unit` as a value or as [old, new].
fn mentions_unit(detail: &Value, unit: &str) -> bool {
    match detail.get("unit") {
        Some(Value::String(u)) => u == unit,
        Some(Value::Array(pair)) => pair.iter().any(|u| u.as_str() == Some(unit)),
        _ => false,
    }
}

/// The lines of the history, oldest first; a note when there are none.
pub fn render(events: &[&RegisterEvent], register: &Register, is_showing_phones: bool) -> String {
    if events.is_empty() {
        return "没有符合条件的变更记录。\n".to_string();
    }
    let mut out = String::new();
    for event in events {
        out.push_str(&line(event, register, is_showing_phones));
        out.push('\n');
    }
    out
}

/// `2026-11-23 21:45 张三（聊天）注销账号「兰山发布」（lsfb-douyin）：注销日期 2026-11-20，备案文号 …`
pub fn line(event: &RegisterEvent, register: &Register, is_showing_phones: bool) -> String {
    format!(
        "{} {}（{}）{}",
        local_time(event.at),
        actor_name(&event.actor),
        source_label(&event.source),
        what(event, register, is_showing_phones)
    )
}

fn what(event: &RegisterEvent, register: &Register, is_showing_phones: bool) -> String {
    let detail = &event.detail;
    let id = &event.entity_id;
    // The name at the time of the change where the entry holds it (a
    // registration, a rename, a removal), else the name it has now.
    let name = || -> String {
        let then = match &detail["name"] {
            Value::String(s) => Some(s.clone()),
            Value::Array(pair) => pair.get(1).and_then(Value::as_str).map(str::to_string),
            _ => None,
        };
        then.or_else(|| match event.entity.as_str() {
            "account" => register.account(id).map(|a| a.name.clone()),
            "unit" => register.unit(id).map(|u| u.name.clone()),
            _ => None,
        })
        .unwrap_or_else(|| id.clone())
    };
    let value = |key: &str| value_text(key, &detail[key], is_showing_phones);
    match (event.entity.as_str(), event.action.as_str()) {
        ("register", "import") => {
            let mut text = format!(
                "导入台账文件 {}：{} 处变更",
                detail["file"].as_str().unwrap_or(id),
                detail["changes"].as_u64().unwrap_or(0)
            );
            if let Some(n) = detail["overridden"].as_u64().filter(|n| *n > 0) {
                text.push_str(&format!("，以文件为准覆盖聊天中的变更 {n} 处（--force）"));
            }
            text
        }
        ("account", "insert") => format!(
            "登记账号「{}」（{id}）：{}，主办单位 {}，{}，来源 {}",
            name(),
            value("platform"),
            unit_name(register, detail["unit"].as_str().unwrap_or_default()),
            value("state"),
            value("source")
        ),
        ("account", "update") => {
            let verb = match detail["state"][1].as_str() {
                Some("deregistered") => "注销账号",
                Some("closing") => "标记拟关停",
                Some("active") => "恢复正常运维",
                _ => "变更账号",
            };
            let skip = if verb == "变更账号" { "" } else { "state" };
            let changes = field_changes(detail, skip, is_showing_phones);
            format!("{verb}「{}」（{id}）{changes}", name())
        }
        ("account", "remove") => format!("删除账号「{}」（{id}）", name()),
        ("unit", "insert") => format!(
            "新增单位「{}」（{id}）：{}，联系人 {}",
            name(),
            value("kind"),
            value("contacts")
        ),
        ("unit", "update") => format!(
            "变更单位「{}」（{id}）{}",
            name(),
            field_changes(detail, "", is_showing_phones)
        ),
        ("unit", "remove") => format!("删除单位「{}」（{id}）", name()),
        ("account", "content_dismiss" | "content_fix") => format!(
            "{}「{}」（{id}）的错敏信息 #{}「{}」{}",
            if event.action == "content_dismiss" {
                "标记误报："
            } else {
                "确认已整改："
            },
            name(),
            detail["finding"].as_i64().unwrap_or(0),
            detail["matched"].as_str().unwrap_or_default(),
            detail["reason"]
                .as_str()
                .map(|r| format!("，理由：{r}"))
                .unwrap_or_default()
        ),
        (_, "content_allow") => format!(
            "允许{}使用表述「{}」",
            if event.entity == "account" {
                format!("账号「{}」（{id}）", name())
            } else {
                "全部账号".to_string()
            },
            detail["phrase"].as_str().unwrap_or_default()
        ),
        ("task", "task_add") => format!(
            "新增转载任务 #{id}「{}」，{} 截止",
            detail["title"].as_str().unwrap_or_default(),
            detail["due_on"].as_str().unwrap_or_default()
        ),
        ("task", "task_close") => format!("关闭转载任务 #{id}"),
        (entity, action) => format!("{action} {entity} {id}"),
    }
}

fn unit_name(register: &Register, id: &str) -> String {
    register.unit(id).map_or(id.to_string(), |u| u.name.clone())
}

/// "：名称 A → B，注销日期 2026-11-20" for `{field: [old, new]}`; empty when
/// only `skip` changed.
fn field_changes(detail: &Value, skip: &str, is_showing_phones: bool) -> String {
    let Some(fields) = detail.as_object() else {
        return String::new();
    };
    let parts: Vec<String> = fields
        .iter()
        .filter(|(key, _)| key.as_str() != skip)
        .map(|(key, pair)| {
            let (old, new) = (&pair[0], &pair[1]);
            let label = field_label(key);
            let shown = |v: &Value| value_text(key, v, is_showing_phones);
            match (old, new) {
                (Value::Null, new) => format!("{label} {}", shown(new)),
                (old, Value::Null) => format!("清除{label}（原为 {}）", shown(old)),
                (old, new) => format!("{label} {} → {}", shown(old), shown(new)),
            }
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("：{}", parts.join("，"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(source: &str, entity: &str, id: &str, action: &str, detail: Value) -> RegisterEvent {
        RegisterEvent {
            id: 1,
            at: DateTime::parse_from_rfc3339("2026-11-23T13:45:00Z")
                .expect("time")
                .with_timezone(&Utc),
            actor: "telegram:42 张三".to_string(),
            source: source.to_string(),
            entity: entity.to_string(),
            entity_id: id.to_string(),
            action: action.to_string(),
            detail,
        }
    }

    #[test]
    fn each_kind_of_change_reads_as_a_sentence() {
        let register = Register::default();
        let cases = [
            (
                event(
                    "chat",
                    "account",
                    "lsfb-douyin",
                    "update",
                    json!({
                        "state": ["active", "deregistered"],
                        "deregistered_on": [null, "2026-11-20"],
                        "filing_ref": [null, "临兰政办字〔2026〕9号"]
                    }),
                ),
                "2026-11-23 21:45 张三（聊天）注销账号「lsfb-douyin」（lsfb-douyin）：注销日期 2026-11-20，备案文号 临兰政办字〔2026〕9号",
            ),
            (
                event(
                    "chat",
                    "account",
                    "a1",
                    "update",
                    json!({ "state": ["closing", "active"], "deregistered_on": ["2026-01-01", null] }),
                ),
                "2026-11-23 21:45 张三（聊天）恢复正常运维「a1」（a1）：清除注销日期（原为 2026-01-01）",
            ),
            (
                event(
                    "file",
                    "account",
                    "a1",
                    "update",
                    json!({ "is_interactive": [true, false], "platform": ["weibo", "douyin"] }),
                ),
                "2026-11-23 21:45 张三（文件）变更账号「a1」（a1）：互动功能 是 → 否，平台 微博 → 抖音",
            ),
            (
                event(
                    "chat",
                    "account",
                    "x-weibo",
                    "insert",
                    json!({
                        "id": "x-weibo", "unit": "u9", "name": "兰山 新闻", "platform": "weibo",
                        "source": { "proxy": "rsshub", "route": "/weibo/user/42" }, "state": "active"
                    }),
                ),
                "2026-11-23 21:45 张三（聊天）登记账号「兰山 新闻」（x-weibo）：微博，主办单位 u9，正常运维，来源 rsshub:/weibo/user/42",
            ),
            (
                event(
                    "chat",
                    "unit",
                    "u1",
                    "update",
                    json!({ "contacts": [[{ "name": "王敏", "phone": "0539" }], [{ "name": "王敏", "phone": "0539" }, { "name": "李四" }]] }),
                ),
                "2026-11-23 21:45 张三（聊天）变更单位「u1」（u1）：联系人 王敏 → 王敏、李四",
            ),
            (
                event(
                    "file",
                    "register",
                    "台账.xlsx",
                    "import",
                    json!({ "file": "台账.xlsx", "changes": 3, "overridden": 1 }),
                ),
                "2026-11-23 21:45 张三（文件）导入台账文件 台账.xlsx：3 处变更，以文件为准覆盖聊天中的变更 1 处（--force）",
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(line(&event, &register, false), expected);
        }
    }

    #[test]
    fn a_unit_filter_takes_the_unit_and_its_accounts_even_removed_ones() {
        let register = Register::default();
        let filter = HistoryFilter {
            unit: Some("u1".to_string()),
            ..HistoryFilter::default()
        };
        let removed = event("file", "account", "gone", "remove", json!({ "unit": "u1" }));
        let moved = event(
            "file",
            "account",
            "moved",
            "update",
            json!({ "unit": ["u1", "u2"] }),
        );
        let other = event(
            "file",
            "account",
            "other",
            "update",
            json!({ "name": ["a", "b"] }),
        );
        let unit = event("chat", "unit", "u1", "update", json!({}));
        assert!(filter.matches(&removed, &register));
        assert!(filter.matches(&moved, &register));
        assert!(filter.matches(&unit, &register));
        assert!(!filter.matches(&other, &register));
    }
}
