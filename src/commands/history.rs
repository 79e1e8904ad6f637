//! /history ID [YYYY-MM-DD]: the register's audit trail of one account or
//! unit, as `xunjian history` prints it (admins only).

use super::Request;
use crate::registry::history::{self, HistoryFilter};

/// The most lines one answer holds; the CLI shows everything.
const MAX_LINES: usize = 300;

pub async fn history(req: &Request<'_>) -> anyhow::Result<String> {
    let Request {
        ctx,
        caller,
        args,
        register,
        ..
    } = *req;
    const USAGE: &str = "用法：/history 账号ID或单位ID [起始日期 YYYY-MM-DD]";
    let Some(id) = args.first().copied() else {
        return Ok(USAGE.to_string());
    };
    let since = match args.get(1) {
        None => None,
        Some(text) => match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) => Some(crate::calendar::start_of_day(day)),
            Err(_) => {
                return Ok(format!(
                    "日期「{}」无效，应写作 YYYY-MM-DD。\n{USAGE}",
                    super::quoted(text)
                ));
            }
        },
    };
    // A unit id names the unit and its accounts; anything else is an
    // account id, which may be gone from the register but not from its history.
    let filter = if register.unit(id).is_some() {
        HistoryFilter {
            unit: Some(id.to_string()),
            since,
            ..HistoryFilter::default()
        }
    } else {
        HistoryFilter {
            account: Some(id.to_string()),
            since,
            ..HistoryFilter::default()
        }
    };
    let events = ctx.store.register_events_since(since).await?;
    let shown: Vec<_> = events
        .iter()
        .filter(|e| filter.matches(e, register))
        .collect();
    if shown.is_empty() {
        return Ok(format!("「{}」没有变更记录。", super::quoted(id)));
    }
    let skipped = shown.len().saturating_sub(MAX_LINES);
    // Phone numbers never go into a group chat.
    let mut out = history::render(&shown[skipped..], register, caller.is_private_chat);
    if skipped > 0 {
        out = format!(
            "共 {} 条，只列出最近 {MAX_LINES} 条；完整记录请用 xunjian history。\n{out}",
            shown.len()
        );
    }
    Ok(format!("「{id}」的变更记录：\n{}", out.trim_end()))
}
