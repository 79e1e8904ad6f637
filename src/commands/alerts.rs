//! /status, /ack and /snooze: an account by id, or an alert by the number
//! the digests and /status show (`7` or `#7`).

use super::{REFUSAL, Request, Role, actor, parse_duration};
use crate::alerts::OpenAlert;

/// What a command argument names.
enum Target {
    Account { id: String, unit: String },
    Alert(OpenAlert),
}

impl Target {
    fn unit(&self) -> Option<&str> {
        match self {
            Target::Account { unit, .. } => Some(unit),
            Target::Alert(alert) => alert.unit_id.as_deref(),
        }
    }

    /// The subject a snooze silences.
    fn subject(&self) -> &str {
        match self {
            Target::Account { id, .. } => id,
            Target::Alert(alert) => &alert.subject,
        }
    }
}

/// An account id, else an alert number (`7`, `#7`) of an open alert;
/// `Err` is the reply saying what was not found.
async fn resolve(
    req: &Request<'_>,
    role: &Role,
    text: &str,
) -> anyhow::Result<Result<Target, String>> {
    let number = text.strip_prefix('#').unwrap_or(text);
    let is_number = !number.is_empty() && number.chars().all(|c| c.is_ascii_digit());
    if !text.starts_with('#') && !is_number {
        return Ok(
            super::find_account(req.register, role, text).map(|account| Target::Account {
                id: account.id.clone(),
                unit: account.unit.clone(),
            }),
        );
    }
    if let (false, Some(account)) = (text.starts_with('#'), req.register.account(text)) {
        return Ok(Ok(Target::Account {
            id: account.id.clone(),
            unit: account.unit.clone(),
        }));
    }
    let Ok(id) = number.parse::<i64>() else {
        return Ok(Err(format!(
            "未找到「{}」：请写账号名称、账号ID（见 /列表）或告警号（告警消息中的数字，如 7）。",
            super::quoted(text)
        )));
    };
    let open = req.ctx.store.open_alerts().await?;
    Ok(match open.into_iter().find(|a| a.id == id) {
        Some(alert) => Ok(Target::Alert(alert)),
        None => Err(format!("告警 #{id} 不存在或已恢复。")),
    })
}

/// Whether `role` may act on the target: admins always, contacts on their
/// units' accounts and alerts (operator alerts have no unit: admins only).
fn is_allowed(role: &Role, target: &Target) -> bool {
    match role {
        Role::Admin => true,
        Role::Contact(units) => target.unit().is_some_and(|u| units.iter().any(|x| x == u)),
        Role::Stranger => false,
    }
}

/// Resolves and authorizes the first argument; `Err` is the reply.
async fn target(
    req: &Request<'_>,
    role: &Role,
    usage: &str,
) -> anyhow::Result<Result<Target, String>> {
    let Some(text) = req.args.first() else {
        return Ok(Err(usage.to_string()));
    };
    let target = match resolve(req, role, text).await? {
        Ok(target) => target,
        Err(why) => return Ok(Err(why)),
    };
    if !is_allowed(role, &target) {
        tracing::warn!(user = %req.caller.user, target = %text, "refused: not a contact of this unit");
        // A contact is told exactly why: whose it is, and which units are theirs.
        let Role::Contact(units) = role else {
            return Ok(Err(REFUSAL.to_string()));
        };
        let owner = target
            .unit()
            .map(|u| req.register.unit(u).map_or(u, |unit| unit.name.as_str()));
        let what = match &target {
            Target::Alert(alert) => format!("告警 #{}", alert.id),
            Target::Account { id, .. } => format!(
                "账号「{}」",
                req.register
                    .account(id)
                    .map_or(id.as_str(), |a| a.name.as_str())
            ),
        };
        let mine = super::unit_names(req.register, units);
        return Ok(Err(match owner {
            // "告警 #2 属于…", "账号「柳青发布」属于…".
            Some(owner) if what.ends_with('」') => {
                format!("{what}属于{owner}，不属于您的单位{mine}，不能操作。")
            }
            Some(owner) => format!("{what} 属于{owner}，不属于您的单位{mine}，不能操作。"),
            None => format!("{what}是系统运行告警，由管理员处理；您是{mine}的联系人。"),
        }));
    }
    Ok(Ok(target))
}

/// /status ACCOUNT|ALERT
pub async fn status(req: &Request<'_>, role: &Role) -> anyhow::Result<String> {
    let target = match target(req, role, "用法：/status 账号ID或告警号，例：/status 7").await?
    {
        Ok(target) => target,
        Err(reply) => return Ok(reply),
    };
    match target {
        Target::Account { id, .. } => super::register::status(req, &id).await,
        Target::Alert(alert) if req.register.account(&alert.subject).is_some() => {
            super::register::status(req, &alert.subject).await
        }
        Target::Alert(alert) => Ok(format!(
            "#{} [{}] {}{}",
            alert.id,
            crate::rules::label_of(alert.rule, &alert.evidence),
            alert.message_at(req.now),
            if alert.is_acked {
                "（已确认）"
            } else {
                ""
            }
        )),
    }
}

/// /ack ALERT|ACCOUNT
pub async fn ack(req: &Request<'_>, role: &Role) -> anyhow::Result<String> {
    let target = match target(req, role, "用法：/ack 告警号或账号ID，例：/ack 7").await?
    {
        Ok(target) => target,
        Err(reply) => return Ok(reply),
    };
    let by = actor(req.caller);
    if let Target::Alert(alert) = &target {
        if let Some((who, when)) = &alert.acked {
            return Ok(format!(
                "告警 #{} 已由{}于{}确认，无需再次确认。",
                alert.id,
                super::person(who),
                crate::calendar::time_cn(*when)
            ));
        }
    }
    let (n, what) = match &target {
        Target::Account { id, .. } => (
            req.ctx.store.ack_subject(id, &by, req.now).await?,
            format!(
                "「{}」",
                req.register
                    .account(id)
                    .map_or(id.as_str(), |a| a.name.as_str())
            ),
        ),
        Target::Alert(alert) => (
            req.ctx.store.ack_alert(alert.id, &by, req.now).await?,
            format!("告警 #{}", alert.id),
        ),
    };
    Ok(if n == 0 {
        format!("{what}没有待确认的告警。")
    } else {
        format!("已确认{what}（{n} 条），将不再重复提醒；问题解决后会发送恢复通知。")
    })
}

const SNOOZE_USAGE: &str = "用法：/snooze 告警号或账号ID 时长 [理由]（时长如 7天、12小时、2周 或 7d、12h、2w，最长 90 天），例：/snooze 7 3天 系统升级中";

use crate::alerts::CONTACT_SNOOZE_DAYS;

/// /snooze ALERT|ACCOUNT DURATION: admins; contacts for their own units'
/// alerts, at most [`CONTACT_SNOOZE_DAYS`] (the reports still list the problem).
pub async fn snooze(req: &Request<'_>, role: &Role) -> anyhow::Result<String> {
    let [_, duration, ref reason @ ..] = req.args[..] else {
        return Ok(SNOOZE_USAGE.to_string());
    };
    let target = match target(req, role, SNOOZE_USAGE).await? {
        Ok(target) => target,
        Err(reply) => return Ok(reply),
    };
    let Some(length) = parse_duration(duration) else {
        return Ok(format!(
            "无法识别时长「{}」：请写作 7天、12小时、2周 或 7d、12h、2w（最长 90 天）。",
            super::quoted(duration)
        ));
    };
    if *role != Role::Admin && length > chrono::Duration::days(CONTACT_SNOOZE_DAYS) {
        return Ok(format!(
            "单位联系人最多可暂停提醒 {CONTACT_SNOOZE_DAYS} 天，如需更久请联系管理员。"
        ));
    }
    let until = req.now + length;
    let subject = target.subject().to_string();
    // People read the account's name, not its id.
    let name = req
        .register
        .account(&subject)
        .map_or(subject.as_str(), |a| a.name.as_str());
    // A contact never shortens a longer pause (an admin's, say).
    if *role != Role::Admin {
        if let Some(current) = req.ctx.store.silenced_until(&subject).await? {
            if current >= until {
                return Ok(format!(
                    "「{name}」的提醒已暂停至 {}，无需再次暂停。",
                    crate::calendar::time_cn(current)
                ));
            }
        }
    }
    req.ctx
        .store
        .snooze(
            &subject,
            until,
            &actor(req.caller),
            &crate::parse::truncate(reason.join(" ").trim(), 200),
            req.now,
        )
        .await?;
    let what = match &target {
        Target::Alert(alert) => format!("告警 #{} 所属的「{name}」", alert.id),
        Target::Account { .. } => format!("「{name}」"),
    };
    Ok(format!(
        "已暂停{what}的提醒至 {}；问题仍会列入通报，到期后如未解决将继续提醒。",
        crate::calendar::time_cn(until)
    ))
}
