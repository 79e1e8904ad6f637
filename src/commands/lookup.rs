//! Finding what a chat user names (an account or a unit, by id or name), and
//! what a contact who writes in their own words is shown.

use super::{Caller, CommandContext, Role, quoted};
use crate::registry::{AccountState, Register};
use chrono::{DateTime, Utc};

/// "「兰山」可指多个单位：…，请写单位ID。"
pub(crate) fn ambiguous_unit(text: &str, candidates: &[&crate::registry::Unit]) -> String {
    let names: Vec<String> = candidates
        .iter()
        .take(10)
        .map(|u| format!("{}（{}）", u.name, u.id))
        .collect();
    format!(
        "「{}」可指多个单位：{}，请写单位ID。",
        quoted(text),
        names.join("、")
    )
}

/// An account named by its id or by its name (a contact's own units
/// first), or the reply that says why not; a name several accounts share
/// lists them with their ids to choose from.
pub(crate) fn find_account<'a>(
    register: &'a Register,
    role: &Role,
    text: &str,
) -> Result<&'a crate::registry::Account, String> {
    if let Some(account) = register.account(text) {
        return Ok(account);
    }
    let named: Vec<&crate::registry::Account> = register
        .accounts
        .iter()
        .filter(|a| a.name == text && a.state != AccountState::Deregistered)
        .collect();
    let own: Vec<&crate::registry::Account> = match role {
        Role::Contact(units) => named
            .iter()
            .copied()
            .filter(|a| units.contains(&a.unit))
            .collect(),
        _ => Vec::new(),
    };
    let candidates = if own.is_empty() { named } else { own };
    match candidates[..] {
        [one] => Ok(one),
        [] => Err(format!(
            "未找到账号「{}」：请写账号名称或账号ID（发送 /列表 查看）。",
            quoted(text)
        )),
        _ => {
            let choices: Vec<String> = candidates
                .iter()
                .take(10)
                .enumerate()
                .map(|(i, a)| {
                    let unit = register
                        .unit(&a.unit)
                        .map_or(a.unit.as_str(), |u| u.name.as_str());
                    format!(
                        "{}. {unit}「{}」({})，ID {}",
                        i + 1,
                        a.name,
                        a.platform.label(),
                        a.id
                    )
                })
                .collect();
            Err(format!(
                "「{}」可指多个账号，请改写账号ID：\n{}",
                quoted(text),
                choices.join("\n")
            ))
        }
    }
}

/// The units of a contact, by name ("义堂镇、柳青街道").
pub(crate) fn unit_names(register: &Register, units: &[String]) -> String {
    units
        .iter()
        .map(|u| register.unit(u).map_or(u.as_str(), |u| u.name.as_str()))
        .collect::<Vec<_>>()
        .join("、")
}

/// A person as the audit trail names them ("telegram:5 周磊") → "周磊".
pub(crate) fn person(actor: &str) -> &str {
    crate::domain::person_of(actor)
}

/// A unit named by id or name, or the reply that says why not.
pub(crate) fn find_unit<'a>(
    register: &'a Register,
    text: &str,
) -> Result<&'a crate::registry::Unit, String> {
    register.find_unit(text).map_err(|candidates| {
        if candidates.is_empty() {
            format!(
                "未找到单位「{}」。发送 /units 查看单位及其ID。",
                quoted(text)
            )
        } else {
            ambiguous_unit(text, &candidates)
        }
    })
}

impl CommandContext {
    /// What a contact who writes in their own words needs: their units'
    /// open alerts and 整改 items, and how to answer them.
    pub(super) async fn contact_overview(
        &self,
        caller: &Caller,
        units: &[String],
        register: &Register,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        const SHOWN: usize = 10;
        let mut out = format!(
            "您好{}！您是{}的联系人。",
            if caller.name.trim().is_empty() {
                ""
            } else {
                "，"
            }
            .to_string()
                + caller.name.trim(),
            unit_names(register, units)
        );
        let alerts: Vec<String> = self
            .store
            .open_alerts()
            .await?
            .into_iter()
            .filter(|a| a.unit_id.as_ref().is_some_and(|u| units.contains(u)))
            .map(|a| {
                format!(
                    "#{} [{}] {}{}",
                    a.id,
                    crate::rules::label_of(a.rule, &a.evidence),
                    a.message_at(now),
                    if a.is_acked { "（已确认）" } else { "" }
                )
            })
            .collect();
        let mut items = Vec::new();
        for unit in units {
            items.extend(self.store.rectification_items(Some(unit), true).await?);
        }
        if alerts.is_empty() && items.is_empty() {
            out.push_str("\n本单位目前没有未处理的告警和整改事项。");
        }
        if !alerts.is_empty() {
            out.push_str(&format!("\n未处理的告警（{}）：", alerts.len()));
            for line in alerts.iter().take(SHOWN) {
                out.push_str(&format!("\n{line}"));
            }
            if alerts.len() > SHOWN {
                out.push_str("\n……（发送 /状态 账号名称 查看某个账号）");
            }
        }
        if !items.is_empty() {
            out.push_str(&format!("\n待整改事项（{}）：", items.len()));
            for item in items.iter().take(SHOWN) {
                let name = register
                    .account(&item.account_id)
                    .map_or(item.account_id.as_str(), |a| a.name.as_str());
                out.push_str(&format!(
                    "\n「{name}」{}，整改期限{}（{}）",
                    item.label,
                    crate::reports::docx::content::date_cn(item.deadline),
                    item.state.label()
                ));
            }
        }
        out.push_str(
            "\n回复 /确认 告警号 确认告警；整改后回复 /整改 账号名称 整改说明，系统将在后续巡检中核实。发送 /帮助 查看全部命令。",
        );
        Ok(out)
    }
}
