//! Events → grouped messages, one per recipient per check.
//!
//! Account alerts go to the Telegram contacts chat (naming the unit's
//! contacts) and to every group robot whose filters match; operator alerts go
//! to the admins. With no channel configured everything goes to the console.

use super::Event;
use crate::config::Settings;
use crate::registry::Register;
use crate::rules::{Severity, label_of};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::domain::{Channel, ChatTarget};
pub use crate::domain::{Mention, Message};

/// Sent at once, quiet hours or not: the rules the settings name, and a
/// 严重 错敏信息 or personal data (单项否决) when it opens or grows.
fn is_urgent(event: &Event, settings: &Settings) -> bool {
    settings.alerts.urgent_rules.contains(&event.rule())
        || (event.rule().is_content()
            && event.severity() == crate::domain::Severity::Failure
            && matches!(event, Event::Opened(_) | Event::Escalated { .. }))
}

/// Where each event goes, grouped into one message per recipient.
pub fn route(
    events: &[Event],
    register: &Register,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Vec<Message> {
    // One message per recipient and unit: a unit's contacts read their own
    // alerts, numbered with their own numbers (operator findings have no unit).
    let mut groups: BTreeMap<(ChatTarget, Option<&str>), Vec<&Event>> = BTreeMap::new();
    // Whom a private message is for (its one mention).
    let mut private: BTreeMap<ChatTarget, Vec<Mention>> = BTreeMap::new();
    let admin_chats = settings.admin_chats();
    for event in events {
        let mut targets: Vec<ChatTarget> = Vec::new();
        if event.severity() == Severity::Operator {
            targets.extend(admin_chats.iter().cloned());
        } else {
            let unit = event.unit_id().and_then(|u| register.unit(u));
            for chat in settings.unit_chats(unit) {
                if chat.target.is_private() {
                    private.insert(chat.target.clone(), chat.mentions);
                }
                targets.push(chat.target);
            }
        }
        if event.severity() != Severity::Operator {
            for (name, robot) in &settings.robots {
                let is_rule_ok = robot.rules.is_empty() || robot.rules.contains(&event.rule());
                let is_unit_ok = robot.units.is_empty()
                    || event
                        .unit_id()
                        .is_some_and(|u| robot.units.iter().any(|x| x == u));
                if is_rule_ok && is_unit_ok {
                    targets.push(ChatTarget::robot(name));
                }
            }
        }
        if targets.is_empty() {
            targets.push(ChatTarget::console());
        }
        for target in targets {
            groups
                .entry((target, event.unit_id()))
                .or_default()
                .push(event);
        }
    }
    let summary = admin_summary(events, register, now);
    let mut messages: Vec<Message> = groups
        .into_iter()
        .map(|((target, _unit), events)| {
            let is_urgent = events.iter().any(|e| is_urgent(e, settings));
            let is_robot = matches!(target.channel, Channel::Robot(_));
            // Group robots only push: nobody can answer there.
            let is_answerable = !is_robot;
            // A private message is for one person: it names nobody.
            let (named, mentions) = match private.get(&target) {
                Some(person) => (Vec::new(), person.clone()),
                None => {
                    let mentions = mentions(&events, register);
                    (mentions.clone(), mentions)
                }
            };
            let mut text = body(&events, &named, now, is_robot, is_answerable);
            // The DingTalk and Feishu bots hear a group only when @-mentioned.
            if target.is_app_group() {
                text = text.replace("\n回复 /ack ", "\n@机器人 并发送 /ack ");
            }
            Message {
                body: text,
                channel: target.channel,
                recipient: target.recipient,
                mentions,
                is_urgent,
            }
        })
        .collect();
    // The admins read one summary: how many per unit, after their own findings.
    if let Some(summary) = summary {
        for admin in &admin_chats {
            match messages
                .iter_mut()
                .find(|m| m.channel == admin.channel && m.recipient == admin.recipient)
            {
                Some(message) => {
                    message.body.push_str("\n\n");
                    message.body.push_str(&summary);
                }
                None => messages.push(Message {
                    is_urgent: false,
                    ..Message::plain(admin, &summary)
                }),
            }
        }
    }
    messages
}

/// "【各单位情况】义堂镇：新增2项、仍未整改1项；柳青街道：已恢复1项" over the
/// account events of one decision; None when there are none.
fn admin_summary(events: &[Event], register: &Register, now: DateTime<Utc>) -> Option<String> {
    let mut by_unit: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for event in events.iter().filter(|e| e.severity() != Severity::Operator) {
        let Some(unit) = event.unit_id() else {
            continue;
        };
        let counts = by_unit.entry(unit).or_default();
        let slot = match event {
            Event::Opened(_) => 0,
            Event::Escalated { .. } => 1,
            Event::Reminder(_) => 2,
            Event::Resolved { .. } => 3,
        };
        if let Some(n) = counts.get_mut(slot) {
            *n += 1;
        }
    }
    if by_unit.is_empty() {
        return None;
    }
    let lines: Vec<String> = by_unit
        .iter()
        .map(|(unit, counts)| {
            let name = register.unit(unit).map_or(*unit, |u| u.name.as_str());
            let parts: Vec<String> = ["新增", "升级", "仍未整改", "已恢复"]
                .iter()
                .zip(counts)
                .filter(|(_, n)| **n > 0)
                .map(|(label, n)| format!("{label}{n}项"))
                .collect();
            format!("{name}：{}", parts.join("、"))
        })
        .collect();
    Some(format!(
        "【各单位情况】{}（已分别告知各单位）\n{}",
        crate::calendar::time_cn(now),
        lines.join("\n")
    ))
}

fn mentions(events: &[&Event], register: &Register) -> Vec<Mention> {
    let mut out: Vec<Mention> = Vec::new();
    // A recovery asks nothing of anybody.
    for event in events
        .iter()
        .filter(|e| !matches!(e, Event::Resolved { .. }))
    {
        let Some(unit) = event.unit_id().and_then(|u| register.unit(u)) else {
            continue;
        };
        for mention in crate::config::unit_mentions(unit) {
            if !out.contains(&mention) {
                out.push(mention);
            }
        }
    }
    out
}

/// "\n  整改：…" under a unit's alert: what to do, and by when.
fn to_do(rule: crate::rules::Rule, severity: Severity, evidence: &serde_json::Value) -> String {
    if matches!(severity, Severity::Operator | Severity::Unknown) {
        return String::new();
    }
    format!("\n  整改：{}", crate::rules::guidance(rule, evidence))
}

/// "#7 " for a stored alert: the number /ack, /snooze and /status take.
fn number(event: &Event) -> String {
    event
        .alert_id()
        .map(|id| format!("#{id} "))
        .unwrap_or_default()
}

/// The text of one grouped message: each open alert numbered, and, where
/// the reader can answer (`is_answerable`), how to.
pub fn body(
    events: &[&Event],
    mentions: &[Mention],
    now: DateTime<Utc>,
    is_with_phones: bool,
    is_answerable: bool,
) -> String {
    let mut out = format!("【政务新媒体巡检】{}\n", crate::calendar::time_cn(now));
    let mut section = |title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{title}（{}）：", lines.len());
            for line in lines {
                let _ = writeln!(out, "• {line}");
            }
        }
    };
    section(
        "新增问题",
        events
            .iter()
            .filter_map(|e| match e {
                Event::Opened(c) => Some(format!(
                    "{}[{}] {}{}",
                    number(e),
                    label_of(c.rule, &c.evidence),
                    c.message,
                    to_do(c.rule, c.severity, &c.evidence)
                )),
                _ => None,
            })
            .collect(),
    );
    section(
        "问题升级",
        events
            .iter()
            .filter_map(|e| match e {
                Event::Escalated { alert, to } => Some(format!(
                    "{}[{}] {}（原：{}）{}",
                    number(e),
                    label_of(to.rule, &to.evidence),
                    to.message,
                    label_of(alert.rule, &alert.evidence),
                    to_do(to.rule, to.severity, &to.evidence)
                )),
                _ => None,
            })
            .collect(),
    );
    section(
        "已恢复",
        events
            .iter()
            .filter_map(|e| match e {
                // An operator recovery names what recovered itself.
                Event::Resolved { alert, message } if alert.severity == Severity::Operator => {
                    Some(message.clone())
                }
                Event::Resolved { alert, message } => {
                    Some(format!("{} {message}", subject_name(&alert.message)))
                }
                _ => None,
            })
            .collect(),
    );
    section(
        "仍未整改（提醒）",
        events
            .iter()
            .filter_map(|e| match e {
                Event::Reminder(a) => Some(format!(
                    "{}[{}] {}（{}起，已 {} 天）{}",
                    number(e),
                    label_of(a.rule, &a.evidence),
                    a.message_at(now),
                    crate::calendar::date_cn(crate::calendar::local_date(a.opened_at)),
                    (now - a.opened_at).num_days().max(0),
                    to_do(a.rule, a.severity, &a.evidence)
                )),
                _ => None,
            })
            .collect(),
    );
    if !mentions.is_empty() {
        let names: Vec<String> = mentions
            .iter()
            .map(|m| match (&m.phone, is_with_phones) {
                (Some(phone), true) => format!("{}（{phone}）", m.name),
                _ => m.name.clone(),
            })
            .collect();
        let _ = write!(out, "\n请相关单位联系人及时处理：{}", names.join("、"));
    }
    // Recoveries ask nothing; an open alert can be answered by its number.
    let first_open = events
        .iter()
        .filter(|e| !matches!(e, Event::Resolved { .. }))
        .find_map(|e| e.alert_id());
    if let (true, Some(id)) = (is_answerable, first_open) {
        let _ = write!(
            out,
            "\n回复 /ack {id} 确认（按告警号），/snooze {id} 3天 暂缓提醒。"
        );
    }
    out.trim_end().to_string()
}

/// The account part of a finding message: "区市政管理局「市政兰山」(微信订阅号)".
fn subject_name(message: &str) -> &str {
    match message.find(')') {
        Some(end) if message[..end].contains('「') => &message[..=end],
        _ => message.split_whitespace().next().unwrap_or(message),
    }
}
