//! /bind, /approve and /refuse: anyone may ask to become a unit's contact;
//! the admins get one digest of pending requests and decide; the applicant
//! is told either way. An approval changes the register through the same
//! plan → apply path as the other chat changes.

use super::register::save;
use super::{Caller, CommandContext, Request, UserId, actor};
use crate::registry::check::is_hidden_control;
use crate::storage::{BindOutcome, PendingBind};
use chrono::{DateTime, Utc};

/// /bind UNIT [姓名] — anyone may ask; the admins are told and approve with
/// /approve. The name is the one the chat gives, unless one is written (Feishu
/// gives none).
pub async fn bind(req: &Request<'_>) -> anyhow::Result<String> {
    let Request {
        ctx,
        caller,
        args,
        register,
        now,
    } = *req;
    let Some(text) = args.first() else {
        return Ok(
            "用法：/bind 单位ID或名称 [您的姓名]，例：/bind 义堂镇 张新（发送 /units 查看单位ID）"
                .to_string(),
        );
    };
    let unit = match super::find_unit(register, text) {
        Ok(unit) => unit,
        Err(why) => return Ok(why),
    };
    if unit.contacts.iter().any(|c| caller.user.is(c)) {
        return Ok(format!("您已是{}的联系人。", unit.name));
    }
    let given = args[1..].join(" ");
    let name = display_name(
        if given.trim().is_empty() {
            &caller.name
        } else {
            &given
        },
        caller,
    );
    let outcome = ctx
        .store
        .add_bind_request_limited(&caller.user.to_string(), &name, &unit.id, now)
        .await?;
    let id = match outcome {
        BindOutcome::Added { id } => id,
        BindOutcome::AlreadyPending { id } => {
            return Ok(format!("您的申请 #{id} 正在等待管理员批准，无需重复提交。"));
        }
        BindOutcome::TooManyFromUser => {
            return Ok("您今天提交的申请已达上限，请明天再试，或直接联系管理员。".to_string());
        }
        BindOutcome::TooManyOverall => {
            return Ok("今天待处理的申请过多，请明天再试，或直接联系管理员。".to_string());
        }
    };
    // One digest per admin, rewritten while it waits, instead of a message
    // per request per admin.
    let units: Vec<(String, String)> = register
        .units
        .iter()
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect();
    let compose = move |pending: &[PendingBind]| bind_digest(pending, &units);
    ctx.store
        .refresh_bind_digest(&ctx.settings.admin_chats_or_console(), &compose, now)
        .await?;
    Ok(format!(
        "已提交申请 #{id}，管理员批准或拒绝后会通知您；批准后您将收到{}的告警。",
        unit.name
    ))
}

/// A contact name: control characters dropped, at most 64 characters,
/// never empty (the caller's id when nothing is left).
fn display_name(name: &str, caller: &Caller) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if is_hidden_control(c) { ' ' } else { c })
        .take(crate::registry::check::MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        format!("用户 {}", caller.user)
    } else {
        cleaned.to_string()
    }
}

/// The admins' digest of pending /bind requests (the newest 30 listed).
fn bind_digest(pending: &[PendingBind], units: &[(String, String)]) -> String {
    const LISTED: usize = 30;
    let mut out = format!("【联系人申请】待批准 {} 件：\n", pending.len());
    let skipped = pending.len().saturating_sub(LISTED);
    for request in pending.iter().skip(skipped) {
        let unit = units
            .iter()
            .find(|(id, _)| *id == request.unit_id)
            .map_or(request.unit_id.as_str(), |(_, name)| name.as_str());
        out.push_str(&format!(
            "#{} {}（{}）申请成为{unit}的联系人\n",
            request.id,
            request.name,
            UserId::parse(&request.applicant)
                .map_or_else(|| request.applicant.clone(), |user| user.label())
        ));
    }
    if skipped > 0 {
        out.push_str(&format!("另有较早的 {skipped} 件未列出。\n"));
    }
    out.push_str("批准请发送 /approve 申请号，拒绝请发送 /refuse 申请号 [理由]。");
    out
}

/// /approve REQUEST
pub async fn approve(req: &Request<'_>) -> anyhow::Result<String> {
    let Request {
        ctx,
        caller,
        args,
        register: current,
        now,
    } = *req;
    let Some(id) = args
        .first()
        .and_then(|a| a.trim_start_matches('#').parse::<i64>().ok())
    else {
        return Ok("用法：/approve 申请号".to_string());
    };
    let Some((applicant, name, unit_id)) = ctx.store.bind_request(id).await? else {
        return Ok(format!("没有待处理的申请 #{id}。"));
    };
    let Some(user) = UserId::parse(&applicant) else {
        return Ok(format!(
            "申请 #{id} 的申请人「{applicant}」无法识别，请拒绝后让其重新申请。"
        ));
    };
    let mut wanted = current.clone();
    let Some(unit) = wanted.units.iter_mut().find(|u| u.id == unit_id) else {
        return Ok(format!("单位「{unit_id}」已不在台账中。"));
    };
    if unit.contacts.iter().any(|c| user.is(c)) {
        ctx.store
            .close_bind_request(id, true, &actor(caller), now)
            .await?;
        return Ok(format!(
            "{name} 已是{}的联系人，申请 #{id} 已关闭。",
            unit.name
        ));
    }
    unit.contacts.push(user.contact(&name));
    let unit_name = unit.name.clone();
    save(ctx, caller, current, &wanted, now).await?;
    ctx.store
        .close_bind_request(id, true, &actor(caller), now)
        .await?;
    tell_applicant(
        ctx,
        &user,
        &format!(
            "您的申请 #{id} 已获批准：您已成为{unit_name}的联系人，将收到本单位的告警。发送 /help 查看可用命令。"
        ),
        now,
    )
    .await?;
    Ok(format!(
        "已批准：{name} 成为{unit_name}的联系人，已通知申请人。"
    ))
}

/// /refuse REQUEST [REASON]
pub async fn refuse(req: &Request<'_>) -> anyhow::Result<String> {
    let Request {
        ctx,
        caller,
        args,
        register,
        now,
    } = *req;
    let Some(id) = args
        .first()
        .and_then(|a| a.trim_start_matches('#').parse::<i64>().ok())
    else {
        return Ok("用法：/refuse 申请号 [理由]，例：/refuse 1 非本单位人员".to_string());
    };
    let Some((applicant, name, unit_id)) = ctx.store.bind_request(id).await? else {
        return Ok(format!("没有待处理的申请 #{id}。"));
    };
    let unit_name = register
        .unit(&unit_id)
        .map_or(unit_id.as_str(), |u| u.name.as_str());
    let reason = crate::parse::truncate(args[1..].join(" ").trim(), 200);
    ctx.store
        .close_bind_request(id, false, &actor(caller), now)
        .await?;
    let why = if reason.is_empty() {
        String::new()
    } else {
        format!("理由：{reason}。")
    };
    if let Some(user) = UserId::parse(&applicant) {
        tell_applicant(
            ctx,
            &user,
            &format!("您成为{unit_name}联系人的申请 #{id} 未获批准。{why}如有疑问请联系管理员。"),
            now,
        )
        .await?;
    }
    Ok(format!("已拒绝 {name} 的申请 #{id}，已通知申请人。"))
}

/// Queues a private message to a /bind applicant, on the chat they asked from.
async fn tell_applicant(
    ctx: &CommandContext,
    user: &UserId,
    text: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let chat = user.direct_chat();
    let message = crate::alerts::compose::Message::plain(&chat, text);
    ctx.store.enqueue(&message, now).await?;
    Ok(())
}
