//! `[[unit]]` entries of `accounts.toml`: id, name, kind, contacts and the
//! unit's own group, each problem located.

use super::{Problems, checked_name, read_id};
use crate::registry::parse_unit_chat;
use crate::registry::toml_walk::{Entry, integer};
use crate::registry::{Contact, Unit, UnitKind};
use std::ops::Range;
use toml::de::DeTable;

pub(super) fn read_unit(
    p: &mut Problems<'_>,
    index: usize,
    table: &DeTable<'_>,
    span: Range<usize>,
) -> Option<(Unit, Range<usize>)> {
    let (id, label) = read_id(p, "unit", index, table, span.clone());
    let mut e = Entry::new(table, span, label);
    e.get("id");
    let name = e.string(p, "name", true);
    let name = checked_name(p, &e.label, name);
    let kind = e.string(p, "kind", true).and_then(|(kind, at)| {
        let parsed = UnitKind::from_id(&kind);
        if parsed.is_none() {
            p.push(
                at.start,
                format!(
                    "{}：`kind` 未知单位类型「{kind}」（可选：department 部门、town 镇街）",
                    e.label
                ),
            );
        }
        parsed
    });
    let contacts = read_contacts(p, &mut e);
    let chat = match e.string(p, "chat", false) {
        Some((text, at)) => match parse_unit_chat(&text) {
            Ok(_) => Some(Some(text.trim().to_string())),
            Err(why) => {
                p.push(at.start, format!("{}：`chat` {why}", e.label));
                None
            }
        },
        None => Some(None),
    };
    e.finish(p);
    let (id, id_span) = id?;
    Some((
        Unit {
            id,
            name: name?.0,
            kind: kind?,
            contacts: contacts?,
            chat: chat?,
        },
        id_span,
    ))
}

fn read_contacts(p: &mut Problems<'_>, e: &mut Entry<'_, '_>) -> Option<Vec<Contact>> {
    let Some(value) = e.get("contacts") else {
        return Some(Vec::new());
    };
    let Some(items) = value.get_ref().as_array() else {
        e.wrong_type(p, "contacts", value, "联系人数组，如 [{ name = \"张新\" }]");
        return None;
    };
    let before = p.list.len();
    let mut contacts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(table) = item.get_ref().as_table() else {
            e.wrong_type(p, "contacts", item, "{ name = \"…\" } 这样的联系人");
            continue;
        };
        let label = format!("{} 第 {} 个联系人", e.label, i + 1);
        let mut c = Entry::new(table, item.span(), label);
        let name = c.string(p, "name", true);
        let name = checked_name(p, &c.label, name);
        let phone = c.string(p, "phone", false).map(|(s, _)| s);
        let dingtalk_id = c
            .string(p, "dingtalk_id", false)
            .and_then(|(id, span)| checked_dingtalk_id(p, &c.label, id, span));
        let feishu_open_id = c
            .string(p, "feishu_open_id", false)
            .and_then(|(id, span)| checked_feishu_open_id(p, &c.label, id, span));
        let telegram_id = match c.get("telegram_id") {
            None => None,
            Some(v) => match integer(v.get_ref()) {
                Some(id) => Some(id),
                None => {
                    c.wrong_type(p, "telegram_id", v, "整数");
                    None
                }
            },
        };
        c.finish(p);
        if let Some((name, _)) = name {
            contacts.push(Contact {
                name,
                telegram_id,
                dingtalk_id,
                feishu_open_id,
                phone,
            });
        }
    }
    (p.list.len() == before).then_some(contacts)
}

/// A DingTalk staffId: 1 to 64 characters, no spaces or control characters.
fn checked_dingtalk_id(
    p: &mut Problems<'_>,
    label: &str,
    id: String,
    span: Range<usize>,
) -> Option<String> {
    let is_valid = !id.is_empty()
        && id.chars().count() <= 64
        && !id.chars().any(|c| c.is_whitespace() || c.is_control());
    if is_valid {
        Some(id)
    } else {
        p.push(
            span.start,
            format!(
                "{label}：`dingtalk_id` 应为钉钉 staffId（1–64 个字符，不含空格），实际为「{id}」"
            ),
        );
        None
    }
}

/// A Feishu open_id: `ou_` then letters, digits, `_` or `-`, at most 64 characters.
fn checked_feishu_open_id(
    p: &mut Problems<'_>,
    label: &str,
    id: String,
    span: Range<usize>,
) -> Option<String> {
    if crate::domain::is_open_id(&id) {
        Some(id)
    } else {
        p.push(
            span.start,
            format!(
                "{label}：`feishu_open_id` 应为飞书 open_id（ou_ 开头，后接字母、数字、_ 或 -，最多 64 个字符），实际为「{id}」"
            ),
        );
        None
    }
}
