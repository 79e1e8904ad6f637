//! The register's audit trail, read: conflicts between a file and the
//! changes made in chat since the file was last imported, and the history
//! of changes as clerks read it (Chinese, Asia/Shanghai times).
//!
//! In: [`RegisterEvent`]s from storage, a [`Plan`], the current [`Register`].
//! Out: [`Conflict`]s and text. Pure: no database, the time is in the events.

use super::diff::{Change, Plan};
use super::{AccountState, Platform, UnitKind};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt;

/// One entry of the register's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterEvent {
    /// Increases with every entry: orders entries written in the same second.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `file`, `cli` or `chat`.
    pub source: String,
    /// `unit`, `account`, or `register` (an import of the file).
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub detail: Value,
}

/// Where a change came from, as clerks name it.
pub fn source_label(source: &str) -> &str {
    match source {
        "file" => "文件",
        "chat" => "聊天",
        "cli" => "命令行",
        other => other,
    }
}

/// "telegram:42 张三" → "张三"; anything else as it is.
pub fn actor_name(actor: &str) -> &str {
    match actor.strip_prefix("telegram:") {
        Some(rest) => rest.split_once(' ').map_or(actor, |(_, name)| name),
        None => actor,
    }
}

/// The Chinese name of a unit or account field of the audit detail.
pub fn field_label(key: &str) -> &str {
    match key {
        "id" => "ID",
        "unit" => "主办单位",
        "name" => "名称",
        "platform" => "平台",
        "source" => "来源",
        "state" => "状态",
        "deregistered_on" => "注销日期",
        "filing_ref" => "备案文号",
        "is_interactive" => "互动功能",
        "thresholds" => "阈值",
        "note" => "备注",
        "kind" => "单位类型",
        "contacts" => "联系人",
        "chat" => "单位群聊",
        other => other,
    }
}

/// A field's value as clerks read it: labels, 是/否, 代理:路由, contact names.
pub fn value_text(key: &str, value: &Value, is_showing_phones: bool) -> String {
    let text = value.as_str().unwrap_or_default();
    match (key, value) {
        (_, Value::Null) => "（空）".to_string(),
        ("platform", _) => Platform::from_id(text)
            .map_or(text, |p| p.label())
            .to_string(),
        ("state", _) => AccountState::from_id(text)
            .map_or(text, |s| s.label())
            .to_string(),
        ("kind", _) => UnitKind::from_id(text)
            .map_or(text, |k| k.label())
            .to_string(),
        (_, Value::Bool(b)) => super::workbook::bool_label(*b).to_string(),
        ("source", Value::Object(source)) => match (source.get("proxy"), source.get("route")) {
            (Some(proxy), Some(route)) => format!(
                "{}:{}",
                proxy.as_str().unwrap_or_default(),
                route.as_str().unwrap_or_default()
            ),
            _ => source
                .get("feed")
                .and_then(Value::as_str)
                .unwrap_or("无订阅来源（人工检查）")
                .to_string(),
        },
        ("contacts", Value::Array(contacts)) if contacts.is_empty() => "无".to_string(),
        ("contacts", Value::Array(contacts)) => contacts
            .iter()
            .map(|c| contact_text(c, is_showing_phones))
            .collect::<Vec<_>>()
            .join("、"),
        ("thresholds", Value::Object(days)) if days.is_empty() => "默认".to_string(),
        ("thresholds", Value::Object(days)) => days
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("，"),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

fn contact_text(contact: &Value, is_showing_phones: bool) -> String {
    let name = contact["name"].as_str().unwrap_or("?");
    match contact["phone"].as_str() {
        Some(phone) if is_showing_phones => format!("{name}（{phone}）"),
        _ => name.to_string(),
    }
}

fn entity_label(entity: &str) -> &str {
    match entity {
        "unit" => "单位",
        "account" => "账号",
        other => other,
    }
}

/// A change the file would undo: made in chat (or elsewhere) since the file
/// was last imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub entity: String,
    pub entity_id: String,
    pub name: String,
    /// The field, or `None` when the file would remove the whole entry.
    pub field: Option<String>,
    /// The stored value, as the chat left it.
    pub chat_value: Value,
    /// What the file says.
    pub file_value: Value,
    /// The latest change that set the stored value.
    pub by: RegisterEvent,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = format!(
            "{}（{}，{}）",
            actor_name(&self.by.actor),
            source_label(&self.by.source),
            local_time(self.by.at)
        );
        let what = format!(
            "{}「{}」（{}）",
            entity_label(&self.entity),
            self.name,
            self.entity_id
        );
        match &self.field {
            Some(key) => write!(
                f,
                "{what}的{}：{who}已改为「{}」，文件中为「{}」",
                field_label(key),
                value_text(key, &self.chat_value, false),
                value_text(key, &self.file_value, false)
            ),
            None => write!(
                f,
                "{what}：{who}{}，文件中没有，--prune 会删除它",
                if self.by.action == "insert" {
                    "登记"
                } else {
                    "变更过"
                }
            ),
        }
    }
}

/// The import refused: each change of the file that would undo one made in chat.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictError {
    pub file: String,
    pub conflicts: Vec<Conflict>,
    /// The file imported last, when this import is from another one.
    pub previous_file: Option<String>,
}

impl fmt::Display for ConflictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.previous_file {
            Some(previous) => writeln!(
                f,
                "台账文件 {} 不是上次导入的文件（{previous}），导入会撤销 {} 处由上次导入的文件或聊天所做的变更，未导入：",
                self.file,
                self.conflicts.len()
            )?,
            None => writeln!(
                f,
                "台账文件 {} 会撤销聊天中的 {} 处变更，未导入：",
                self.file,
                self.conflicts.len()
            )?,
        }
        for conflict in &self.conflicts {
            writeln!(f, "  {conflict}")?;
        }
        match &self.previous_file {
            Some(previous) => write!(
                f,
                "请改为导入 {previous}，或用 xunjian export 导出当前台账再修改；确认以此文件为准时加 --force。"
            ),
            None => write!(
                f,
                "请先把这些变更写入文件（或用 xunjian export 重新导出）再导入；确认以文件为准时加 --force。"
            ),
        }
    }
}

impl std::error::Error for ConflictError {}

/// The plan's changes that would undo a non-file change: `recent` are the
/// non-file events since the last import of the file, `latest` the newest
/// event of each entry the plan would remove (an entry registered in chat
/// and left out of the file stays unless pruned, so its age does not matter).
pub fn conflicts(
    plan: &Plan,
    recent: &[RegisterEvent],
    latest: &dyn Fn(&str, &str) -> Option<RegisterEvent>,
) -> Vec<Conflict> {
    let mut found = Vec::new();
    for change in &plan.changes {
        let (entity, id, _) = change.describe();
        match change {
            Change::UpdateAccount { detail, .. } | Change::UpdateUnit { detail, .. } => {
                let name = match change {
                    Change::UpdateAccount { account, .. } => account.name.clone(),
                    Change::UpdateUnit { unit, .. } => unit.name.clone(),
                    _ => String::new(),
                };
                let Some(fields) = detail.as_object() else {
                    continue;
                };
                for (key, values) in fields {
                    let by = recent.iter().rev().find(|e| {
                        e.entity == entity
                            && e.entity_id == id
                            && (e.action == "insert" || e.detail.get(key).is_some())
                    });
                    if let Some(by) = by {
                        found.push(Conflict {
                            entity: entity.to_string(),
                            entity_id: id.to_string(),
                            name: name.clone(),
                            field: Some(key.clone()),
                            chat_value: values[0].clone(),
                            file_value: values[1].clone(),
                            by: by.clone(),
                        });
                    }
                }
            }
            Change::RemoveAccount(_) | Change::RemoveUnit(_) => {
                let Some(by) = latest(entity, id).filter(|e| e.source != "file") else {
                    continue;
                };
                let name = match change {
                    Change::RemoveAccount(a) => a.name.clone(),
                    Change::RemoveUnit(u) => u.name.clone(),
                    _ => String::new(),
                };
                found.push(Conflict {
                    entity: entity.to_string(),
                    entity_id: id.to_string(),
                    name,
                    field: None,
                    chat_value: Value::Null,
                    file_value: Value::Null,
                    by,
                });
            }
            Change::InsertAccount(_) | Change::InsertUnit(_) => {}
        }
    }
    found
}

/// The changes of a plan read from another file than the one imported
/// last that would undo something: each changed field and each removal of
/// an entry whose stored state was set (by that file's import, or in chat)
/// after this file was last saved (`saved_at`), so its author never saw
/// it. A file edited after those changes (a workbook exported, edited and
/// imported) changes them on purpose.
pub fn undone(
    plan: &Plan,
    latest: &dyn Fn(&str, &str) -> Option<RegisterEvent>,
    saved_at: DateTime<Utc>,
) -> Vec<Conflict> {
    let mut found = Vec::new();
    for change in &plan.changes {
        let (entity, id, _) = change.describe();
        let Some(by) = latest(entity, id).filter(|e| e.at > saved_at) else {
            continue;
        };
        let name = match change {
            Change::UpdateAccount { account, .. } => account.name.clone(),
            Change::RemoveAccount(a) => a.name.clone(),
            Change::UpdateUnit { unit, .. } => unit.name.clone(),
            Change::RemoveUnit(u) => u.name.clone(),
            Change::InsertAccount(_) | Change::InsertUnit(_) => continue,
        };
        let conflict = |field: Option<String>, old: Value, new: Value| Conflict {
            entity: entity.to_string(),
            entity_id: id.to_string(),
            name: name.clone(),
            field,
            chat_value: old,
            file_value: new,
            by: by.clone(),
        };
        match change {
            Change::UpdateAccount { detail, .. } | Change::UpdateUnit { detail, .. } => {
                for (key, values) in detail.as_object().into_iter().flatten() {
                    found.push(conflict(
                        Some(key.clone()),
                        values[0].clone(),
                        values[1].clone(),
                    ));
                }
            }
            _ => found.push(conflict(None, Value::Null, Value::Null)),
        }
    }
    found
}

/// The chat changes an import undid (forced) or would undo (dry run).
pub fn describe_conflicts(
    conflicts: &[Conflict],
    is_dry_run: bool,
    previous_file: Option<&str>,
) -> String {
    let from = match previous_file {
        Some(file) => format!("上次导入的文件 {file} 或聊天"),
        None => "聊天中".to_string(),
    };
    if conflicts.is_empty() {
        return String::new();
    }
    let mut out = if is_dry_run {
        format!(
            "导入时会撤销{from}的 {} 处变更（需加 --force 才会导入）：\n",
            conflicts.len()
        )
    } else {
        format!("已以文件为准，覆盖{from}的 {} 处变更：\n", conflicts.len())
    };
    for conflict in conflicts {
        out.push_str(&format!("  {conflict}\n"));
    }
    out
}

/// "2026-11-23 21:45" in Asia/Shanghai.
pub fn local_time(at: DateTime<Utc>) -> String {
    crate::calendar::to_local(at)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::diff::plan;
    use crate::registry::{Account, Register, Source};
    use serde_json::json;

    fn account(name: &str, state: AccountState) -> Account {
        Account {
            id: "a1".into(),
            unit: "u1".into(),
            name: name.into(),
            platform: Platform::Weibo,
            source: Source::Feed {
                feed: "https://a.gov.cn/rss".into(),
            },
            state,
            deregistered_on: None,
            filing_ref: None,
            is_interactive: true,
            thresholds: Default::default(),
            note: None,
        }
    }

    fn chat(action: &str, detail: Value) -> RegisterEvent {
        RegisterEvent {
            id: 9,
            at: DateTime::UNIX_EPOCH,
            actor: "telegram:1 管理员".into(),
            source: "chat".into(),
            entity: "account".into(),
            entity_id: "a1".into(),
            action: action.into(),
            detail,
        }
    }

    #[test]
    fn only_fields_changed_in_chat_and_set_otherwise_by_the_file_conflict() {
        let stored = Register {
            accounts: vec![account("兰山发布", AccountState::Closing)],
            ..Register::default()
        };
        let closed = chat("update", json!({ "state": ["active", "closing"] }));
        let none = |_: &str, _: &str| None;
        let cases = [
            // The file says active: it would undo the chat's closing.
            (
                account("兰山发布", AccountState::Active),
                vec![closed.clone()],
                vec!["state"],
            ),
            // The file caught up with the chat.
            (
                account("兰山发布", AccountState::Closing),
                vec![closed.clone()],
                vec![],
            ),
            // The file renames; the chat never touched the name.
            (
                account("兰山新闻", AccountState::Closing),
                vec![closed.clone()],
                vec![],
            ),
            // Registered in chat: every field is the chat's.
            (
                account("兰山新闻", AccountState::Closing),
                vec![chat("insert", json!({}))],
                vec!["name"],
            ),
            // Nothing changed in chat since the last import.
            (account("兰山发布", AccountState::Active), vec![], vec![]),
        ];
        for (in_file, recent, expected) in cases {
            let wanted = Register {
                accounts: vec![in_file],
                ..Register::default()
            };
            let found = conflicts(&plan(&stored, &wanted, false), &recent, &none);
            let fields: Vec<&str> = found.iter().filter_map(|c| c.field.as_deref()).collect();
            assert_eq!(fields, expected, "{recent:?}");
        }
    }
}
