//! /误报 N [理由] (an admin marks a 错敏信息 a false positive) and
//! /转载任务 (list, add and close repost tasks), as the CLI does them.

use super::Request;
use crate::content::{FindingState, render_tasks};
use crate::screening::{self, TaskRequest};

/// `/dismiss N [理由]`
pub async fn dismiss(req: &Request<'_>) -> anyhow::Result<String> {
    const USAGE: &str = "用法：/误报 错敏信息编号 [理由]（编号见告警或 /status 中的 #N）";
    let Some(id) = req
        .args
        .first()
        .and_then(|a| a.trim_start_matches('#').parse::<i64>().ok())
    else {
        return Ok(USAGE.to_string());
    };
    let reason = req.args.get(1..).map(|r| r.join(" ")).unwrap_or_default();
    let actor = super::actor(req.caller);
    Ok(
        match screening::close_finding(
            &req.ctx.store,
            id,
            FindingState::Dismissed,
            &actor,
            "chat",
            &reason,
            req.now,
        )
        .await
        {
            Ok(reply) => reply,
            Err(err) => err.to_string(),
        },
    )
}

/// `/tasks` lists; `/tasks 新增 YYYY-MM-DD 标题` adds; `/tasks 关闭 N` closes.
pub async fn tasks(req: &Request<'_>) -> anyhow::Result<String> {
    const USAGE: &str =
        "用法：/转载任务（查看）；/转载任务 新增 截止日期 标题；/转载任务 关闭 编号";
    let actor = super::actor(req.caller);
    let store = &req.ctx.store;
    match req.args.first().copied() {
        None | Some("查看" | "list") => {
            let progress = screening::task_progress(store, false).await?;
            Ok(render_tasks(
                &progress,
                req.register,
                crate::calendar::local_date(req.now),
            ))
        }
        Some("新增" | "add") => {
            let (Some(due), Some(_)) = (req.args.get(1), req.args.get(2)) else {
                return Ok(USAGE.to_string());
            };
            let Ok(due_on) = chrono::NaiveDate::parse_from_str(due, "%Y-%m-%d") else {
                return Ok(format!(
                    "截止日期「{}」无效，应写作 YYYY-MM-DD。\n{USAGE}",
                    super::quoted(due)
                ));
            };
            let request = TaskRequest {
                title: req.args.get(2..).map(|t| t.join(" ")).unwrap_or_default(),
                matches: Vec::new(),
                url: None,
                due_on,
                starts_on: None,
                units: Vec::new(),
                platforms: Vec::new(),
            };
            Ok(
                match screening::add_task(store, request, &actor, "chat", req.now).await {
                    Ok((id, p)) => format!(
                        "已新增转载任务 #{id}：全部单位 {} 个账号须于{}前转载；截止前一个工作日提醒未完成的单位。",
                        p.targeted,
                        crate::calendar::date_cn(due_on)
                    ),
                    Err(err) => err.to_string(),
                },
            )
        }
        Some("关闭" | "close") => {
            let Some(id) = req
                .args
                .get(1)
                .and_then(|a| a.trim_start_matches('#').parse::<i64>().ok())
            else {
                return Ok(USAGE.to_string());
            };
            Ok(if store.close_task(id, &actor, "chat", req.now).await? {
                format!("已关闭转载任务 #{id}：不再提醒，不再计入问题。")
            } else {
                format!("没有未关闭的转载任务 #{id}。")
            })
        }
        Some(_) => Ok(USAGE.to_string()),
    }
}
