//! The 整改 loop (rectification). Pure: an issued report, the register, the
//! calendar and `now` in; items, notices and state changes out.
//!
//! Each account named as a problem in an issued 通报 becomes an item with a
//! deadline (`office.rectification_days` workdays later). The unit's contacts
//! get one 整改通知; a contact answers `/rectify` (已反馈待核实); later
//! inspections verify: the problem gone → 已整改 with the evidence; still
//! there after the deadline → 逾期未整改, one reminder to the unit and one
//! line to the admins. The next 通报's 上期通报整改情况 counts these items.

use crate::alerts::compose::{Mention, Message};
use crate::calendar::{Calendar, local_date};
use crate::config::Settings;
use crate::domain::{Channel, ChatTarget};
use crate::registry::Register;
use crate::reports::docx::content::date_cn;
use crate::reports::{Rectification, RectificationState, Report};
use crate::rules::{CheckResult, Rule, Severity, Verdict};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemState {
    Open,
    Responded,
    Fixed,
    Overdue,
}

impl ItemState {
    pub const ALL: [ItemState; 4] = [
        ItemState::Open,
        ItemState::Responded,
        ItemState::Fixed,
        ItemState::Overdue,
    ];

    pub fn id(self) -> &'static str {
        match self {
            ItemState::Open => "open",
            ItemState::Responded => "responded",
            ItemState::Fixed => "fixed",
            ItemState::Overdue => "overdue",
        }
    }

    pub fn from_id(id: &str) -> Option<ItemState> {
        ItemState::ALL.into_iter().find(|s| s.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemState::Open => "待整改",
            other => other.as_report().label(),
        }
    }

    pub fn as_report(self) -> RectificationState {
        match self {
            ItemState::Open => RectificationState::Open,
            ItemState::Responded => RectificationState::Responded,
            ItemState::Fixed => RectificationState::Fixed,
            ItemState::Overdue => RectificationState::Overdue,
        }
    }

    pub fn is_done(self) -> bool {
        self == ItemState::Fixed
    }
}

/// One problem of one account in one issued 通报.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: i64,
    pub report_key: String,
    pub report_title: String,
    pub report_to: NaiveDate,
    pub issued_at: DateTime<Utc>,
    pub unit_id: String,
    pub account_id: String,
    /// Rule ids of the account's problems.
    pub rules: Vec<String>,
    pub label: String,
    pub message: String,
    pub deadline: NaiveDate,
    pub state: ItemState,
    pub response: Option<String>,
    pub responded_by: Option<String>,
    pub responded_at: Option<DateTime<Utc>>,
    pub fixed_at: Option<DateTime<Utc>>,
    pub evidence: Option<String>,
}

/// An item to create when a report is issued.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    pub unit_id: String,
    pub account_id: String,
    pub rules: Vec<String>,
    pub label: String,
    pub message: String,
}

/// What an issued report is called in storage: kind and period.
pub fn report_key(report: &Report) -> String {
    format!("{}:{}:{}", report.kind, report.from, report.to)
}

/// `workdays` statutory workdays after `from` (holiday calendar): the same
/// 整改期限 the .docx 通报 prints.
pub fn deadline(calendar: &Calendar, from: NaiveDate, workdays: u32) -> NaiveDate {
    calendar.add_workdays(from, workdays)
}

/// Gives each problem of an issued report its 整改期限: a problem already
/// tracked by an open item of an earlier 通报 keeps that item's deadline and
/// is carried on (never a second item); the others get `due`.
pub fn assign_deadlines(report: &mut Report, open: &[Item], due: NaiveDate) {
    for problem in &mut report.problems {
        let earlier = open
            .iter()
            .filter(|i| i.account_id == problem.account && !i.state.is_done())
            .min_by_key(|i| i.deadline);
        match earlier {
            Some(item) => {
                problem.deadline = Some(item.deadline.to_string());
                problem.is_carried = true;
            }
            None => {
                problem.deadline = Some(due.to_string());
                problem.is_carried = false;
            }
        }
    }
}

/// The items an issued report creates: one per problem of 附件1 not carried
/// on from an earlier 通报.
pub fn new_items(report: &Report) -> Vec<NewItem> {
    report
        .problems
        .iter()
        .filter(|p| !p.is_carried && !p.unit_id.is_empty())
        .map(|p| NewItem {
            unit_id: p.unit_id.clone(),
            account_id: p.account.clone(),
            rules: p.rules.clone(),
            label: p.labels.join("、"),
            message: p.message.clone(),
        })
        .collect()
}

/// The messages for one unit: the contacts chat naming its contacts, and every
/// robot that serves only some units including this one; the console when
/// nothing is configured.
pub fn to_unit(
    unit_id: &str,
    body: &str,
    register: &Register,
    settings: &Settings,
) -> Vec<Message> {
    let mentions: Vec<Mention> = register
        .unit(unit_id)
        .map(crate::config::unit_mentions)
        .unwrap_or_default();
    let names: Vec<&str> = mentions.iter().map(|m| m.name.as_str()).collect();
    let body = if names.is_empty() {
        body.to_string()
    } else {
        format!("{body}\n联系人：{}", names.join("、"))
    };
    let mut out = Vec::new();
    for chat in settings.unit_chats(register.unit(unit_id)) {
        out.push(Message {
            channel: chat.target.channel,
            recipient: chat.target.recipient,
            body: body.clone(),
            mentions: chat.mentions,
            is_urgent: true,
        });
    }
    for (name, robot) in &settings.robots {
        if robot.units.iter().any(|u| u == unit_id) {
            out.push(Message {
                channel: Channel::Robot(name.clone()),
                recipient: "-".into(),
                body: body.clone(),
                mentions: mentions.clone(),
                is_urgent: true,
            });
        }
    }
    if out.is_empty() {
        out.push(Message::plain(&ChatTarget::console(), &body));
    }
    out
}

/// A message to every admin on every chat (the console when there is none).
pub fn to_admins(body: &str, settings: &Settings) -> Vec<Message> {
    settings
        .admin_chats_or_console()
        .iter()
        .map(|chat| Message::plain(chat, body))
        .collect()
}

fn account_line(item_account: &str, register: &Register) -> String {
    register.account(item_account).map_or_else(
        || item_account.to_string(),
        |a| {
            format!(
                "「{}」({}，{})",
                a.name,
                crate::reports::short_label(a.platform),
                a.id
            )
        },
    )
}

/// One 整改通知 per unit named in 附件1, listing all its problems with
/// their deadlines. A unit whose every problem is carried on from a 通报
/// issued the same day was told already and is not told twice.
pub fn notices(
    report: &Report,
    open: &[Item],
    today: NaiveDate,
    register: &Register,
    settings: &Settings,
) -> Vec<Message> {
    use crate::reports::problems::units_named;
    // The title the unit finds on the .docx it receives, and its number.
    let title: String =
        crate::reports::docx::content::title_parts(report, &settings.office.jurisdiction).concat();
    let cite = match report.issue.as_ref().and_then(|i| i.doc_number.as_deref()) {
        Some(number) => format!("《{title}》（{number}）"),
        None => format!("《{title}》"),
    };
    let mut out = Vec::new();
    for unit in units_named(&report.problems) {
        let problems: Vec<_> = report
            .problems
            .iter()
            .filter(|p| p.unit_id == unit)
            .collect();
        let is_told_today = problems.iter().all(|p| {
            p.is_carried
                && open
                    .iter()
                    .filter(|i| i.account_id == p.account)
                    .all(|i| local_date(i.issued_at) == today)
        });
        if is_told_today {
            continue;
        }
        let unit_name = register.unit(unit).map_or(unit, |u| u.name.as_str());
        let mut body = format!(
            "【整改通知】{unit_name}\n根据{cite}，贵单位以下{}个账号存在问题，请按期完成整改：\n",
            problems.len(),
        );
        for (i, p) in problems.iter().enumerate() {
            let deadline = p
                .deadline
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            let due = match deadline {
                Some(d) if d < today => format!("整改期限{}，已逾期", date_cn(d)),
                Some(d) if p.is_carried => format!("整改期限{}（上次通报已下发）", date_cn(d)),
                Some(d) => format!("整改期限{}", date_cn(d)),
                None => String::new(),
            };
            let _ = writeln!(
                body,
                "{}. {} [{}] {}；{due}\n   整改：{}",
                i + 1,
                account_line(&p.account, register),
                p.labels.join("、"),
                p.message,
                p.to_do().join("；")
            );
        }
        body.push_str(
            "整改后请回复 /rectify 账号ID 整改说明（也可用 /整改），系统将在后续巡检中核实。",
        );
        out.extend(to_unit(unit, &body, register, settings));
    }
    out
}

/// An admin's review of a unit's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Review {
    /// The answer holds: 已整改.
    Accept { note: String },
    /// 退回: the unit is told why; the item is open again (overdue past its deadline).
    SendBack { reason: String, is_overdue: bool },
}

impl Review {
    /// What the item's evidence column says afterwards.
    pub fn evidence(&self) -> String {
        match self {
            Review::Accept { note } if note.is_empty() => "管理员核实整改到位".to_string(),
            Review::Accept { note } => format!("管理员核实整改到位：{note}"),
            Review::SendBack { reason, .. } => format!("整改反馈被退回：{reason}"),
        }
    }
}

/// The message telling a unit its answer was sent back, and why.
pub fn returned_notice(
    item: &Item,
    reason: &str,
    by: &str,
    today: NaiveDate,
    register: &Register,
    settings: &Settings,
) -> Vec<Message> {
    let unit_name = register
        .unit(&item.unit_id)
        .map_or(item.unit_id.as_str(), |u| u.name.as_str());
    let due = if item.deadline < today {
        format!("整改期限{}，已逾期", date_cn(item.deadline))
    } else {
        format!("整改期限{}", date_cn(item.deadline))
    };
    let body = format!(
        "【整改退回】{unit_name}\n{} [{}] 的整改反馈未通过核实，已退回（{by}）。\n退回理由：{reason}\n{due}。请继续整改后再次回复 /rectify 账号ID 整改说明（也可用 /整改）。",
        account_line(&item.account_id, register),
        item.label,
    );
    to_unit(&item.unit_id, &body, register, settings)
}

/// A change an inspection makes to an item.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Fixed { id: i64, evidence: String },
    Overdue { id: i64, evidence: String },
}

fn families(rules: &[String]) -> Vec<&'static str> {
    rules
        .iter()
        .filter_map(|r| Rule::from_id(r))
        .map(crate::alerts::family)
        .collect()
}

/// What an inspection at `now` shows about the items not yet fixed.
pub fn verify(items: &[Item], check: &CheckResult, now: DateTime<Utc>) -> Vec<Change> {
    let today = local_date(now);
    let day = crate::calendar::date_cn(today);
    let mut out = Vec::new();
    let accounts: std::collections::HashMap<&str, &crate::rules::AccountResult> =
        check.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
    for item in items.iter().filter(|i| !i.state.is_done()) {
        let Some(account) = accounts.get(item.account_id.as_str()) else {
            out.push(Change::Fixed {
                id: item.id,
                evidence: format!("{day} 巡检时账号已不在巡检范围（已注销备案或移出台账）"),
            });
            continue;
        };
        if account.verdict == Verdict::Unknown {
            continue;
        }
        let wanted = families(&item.rules);
        // 附件1 names warnings too (以转发为主, 更名未备案): they are rectified as well.
        let is_present = account.findings.iter().any(|f| {
            matches!(f.severity, Severity::Failure | Severity::Warning)
                && wanted.contains(&crate::alerts::family(f.rule))
        });
        if !is_present {
            let evidence = if wanted.contains(&"stale") {
                let last = account
                    .last_post_at
                    .as_deref()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| {
                        format!(
                            "（最新发布 {}）",
                            crate::calendar::time_cn(t.with_timezone(&chrono::Utc))
                        )
                    })
                    .unwrap_or_default();
                format!("{day} 巡检确认已恢复更新{last}")
            } else {
                format!("{day} 巡检确认问题已消除")
            };
            out.push(Change::Fixed {
                id: item.id,
                evidence,
            });
        } else if today > item.deadline && item.state != ItemState::Overdue {
            out.push(Change::Overdue {
                id: item.id,
                evidence: format!("{day} 巡检仍存在，已过整改期限 {}", item.deadline),
            });
        }
    }
    out
}

/// One reminder per unit and one digest for the admins about items that just
/// went overdue.
pub fn overdue_messages(
    overdue: &[&Item],
    register: &Register,
    settings: &Settings,
) -> Vec<Message> {
    if overdue.is_empty() {
        return Vec::new();
    }
    let mut by_unit: BTreeMap<&str, Vec<&Item>> = BTreeMap::new();
    for item in overdue {
        by_unit.entry(item.unit_id.as_str()).or_default().push(item);
    }
    let mut out = Vec::new();
    let mut digest = String::from("【逾期未整改】\n");
    for (unit, items) in by_unit {
        let unit_name = register.unit(unit).map_or(unit, |u| u.name.as_str());
        let mut body = format!(
            "【逾期未整改提醒】{unit_name}\n以下问题已过整改期限，最近一次巡检仍存在，请尽快整改并回复 /rectify 账号ID 整改说明：\n"
        );
        for item in &items {
            let line = format!(
                "{} [{}] 整改期限 {}",
                account_line(&item.account_id, register),
                item.label,
                item.deadline
            );
            let _ = writeln!(body, "• {line}");
            let _ = writeln!(digest, "• {unit_name} {line}");
        }
        out.extend(to_unit(unit, body.trim_end(), register, settings));
    }
    out.extend(to_admins(digest.trim_end(), settings));
    out
}

/// The items as a report's 上期通报整改情况.
pub fn as_rectification(items: &[Item], register: &Register) -> Vec<Rectification> {
    items
        .iter()
        .map(|item| {
            let account = register.account(&item.account_id);
            let evidence = match item.state {
                ItemState::Fixed | ItemState::Overdue => item.evidence.clone().unwrap_or_default(),
                ItemState::Responded => format!(
                    "{} {}反馈：{}，待巡检核实",
                    item.responded_at
                        .map(|t| local_date(t).to_string())
                        .unwrap_or_default(),
                    item.responded_by.as_deref().unwrap_or(""),
                    item.response.as_deref().unwrap_or("")
                ),
                ItemState::Open => format!("整改期限 {}", item.deadline),
            };
            Rectification {
                account: item.account_id.clone(),
                name: account.map_or(item.account_id.clone(), |a| a.name.clone()),
                unit: register
                    .unit(&item.unit_id)
                    .map_or(item.unit_id.clone(), |u| u.name.clone()),
                platform: account.map_or_else(String::new, |a| {
                    crate::reports::short_label(a.platform).to_string()
                }),
                rule: item.rules.join(","),
                label: item.label.clone(),
                message: item.message.clone(),
                state: item.state.as_report(),
                evidence,
            }
        })
        .collect()
}

/// The items as `xunjian rectification --format json` prints them: every
/// field, with the unit's and the account's names.
pub fn items_json(items: &[Item], register: &Register) -> serde_json::Value {
    let local = |t: Option<DateTime<Utc>>| t.map(|t| crate::calendar::to_local(t).to_rfc3339());
    serde_json::Value::Array(
        items
            .iter()
            .map(|i| {
                serde_json::json!({
                    "id": i.id,
                    "report_key": i.report_key,
                    "report_title": i.report_title,
                    "issued_at": local(Some(i.issued_at)),
                    "unit_id": i.unit_id,
                    "unit": register.unit(&i.unit_id).map(|u| u.name.as_str()),
                    "account_id": i.account_id,
                    "account": register.account(&i.account_id).map(|a| a.name.as_str()),
                    "rules": i.rules,
                    "label": i.label,
                    "message": i.message,
                    "deadline": i.deadline.to_string(),
                    "state": i.state.id(),
                    "state_label": i.state.label(),
                    "response": i.response,
                    "responded_by": i.responded_by,
                    "responded_at": local(i.responded_at),
                    "fixed_at": local(i.fixed_at),
                    "evidence": i.evidence,
                })
            })
            .collect(),
    )
}

/// One line per item for `/rectification` and `xunjian rectification`.
pub fn render_items(items: &[Item], register: &Register) -> String {
    if items.is_empty() {
        return "没有整改事项。".to_string();
    }
    let mut out = String::new();
    for item in items {
        let unit = register
            .unit(&item.unit_id)
            .map_or(item.unit_id.as_str(), |u| u.name.as_str());
        let _ = write!(
            out,
            "#{} {} {} [{}] {}（期限 {}）",
            item.id,
            unit,
            account_line(&item.account_id, register),
            item.label,
            item.state.label(),
            item.deadline
        );
        if let Some(evidence) = &item.evidence {
            let _ = write!(out, "：{evidence}");
        } else if let Some(response) = &item.response {
            let _ = write!(
                out,
                "：{} 反馈「{response}」",
                item.responded_by.as_deref().unwrap_or("")
            );
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}
