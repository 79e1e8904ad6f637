//! The guided /register: when arguments are missing, the bot asks for the
//! platform, then the unit (each a numbered choice, or a name), then the
//! source and name, in a private chat. The state is kept per admin in the
//! database (`meta`), so it survives a restart and a change of the daemon
//! holding the bot, and it expires after [`DIALOGUE_MINUTES`].

use super::{Request, UserId};
use crate::registry::{Platform, Register};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A dialogue left alone this long is forgotten.
pub const DIALOGUE_MINUTES: i64 = 15;

/// What a guided /register knows so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RegisterDialogue {
    platform: Option<String>,
    unit: Option<String>,
    /// Seconds since the epoch of the last step.
    updated_at: i64,
}

fn key(user: &UserId) -> String {
    // Telegram keys keep their old form, so a dialogue survives an upgrade.
    match user {
        UserId::Telegram(id) => format!("dialogue:register:{id}"),
        UserId::Dingtalk(_) | UserId::Feishu(_) => format!("dialogue:register:{user}"),
    }
}

async fn load(req: &Request<'_>) -> anyhow::Result<Option<RegisterDialogue>> {
    let key = key(&req.caller.user);
    let Some(text) = req.ctx.store.meta(&key).await? else {
        return Ok(None);
    };
    let dialogue: Option<RegisterDialogue> = serde_json::from_str(&text).ok();
    let is_fresh = dialogue.as_ref().is_some_and(|d| {
        DateTime::<Utc>::from_timestamp(d.updated_at, 0)
            .is_some_and(|at| req.now - at < Duration::minutes(DIALOGUE_MINUTES))
    });
    if !is_fresh {
        req.ctx.store.delete_meta(&key).await?;
        return Ok(None);
    }
    Ok(dialogue)
}

async fn save(req: &Request<'_>, dialogue: &mut RegisterDialogue) -> anyhow::Result<()> {
    dialogue.updated_at = req.now.timestamp();
    let text = serde_json::to_string(dialogue)?;
    req.ctx
        .store
        .set_meta(&key(&req.caller.user), &text)
        .await?;
    Ok(())
}

/// /register with fewer than four arguments: starts the dialogue (in a
/// private chat), taking a platform and a unit given as arguments.
pub async fn start_register(req: &Request<'_>) -> anyhow::Result<String> {
    if !req.caller.is_private_chat {
        return Ok(format!(
            "{}\n按步骤登记请私聊本机器人发送 /register。",
            super::register::USAGE
        ));
    }
    let mut dialogue = RegisterDialogue::default();
    for arg in req.args {
        if let Some(platform) = Platform::from_name(arg) {
            dialogue.platform = Some(platform.id().to_string());
        } else if let Ok(unit) = req.register.find_unit(arg) {
            dialogue.unit = Some(unit.id.clone());
        }
    }
    save(req, &mut dialogue).await?;
    Ok(prompt(&dialogue, req.register))
}

/// /cancel: forgets the caller's dialogue.
pub async fn cancel(req: &Request<'_>) -> anyhow::Result<String> {
    let had = load(req).await?.is_some();
    req.ctx.store.delete_meta(&key(&req.caller.user)).await?;
    Ok(if had {
        "已取消登记。".to_string()
    } else {
        "没有进行中的登记。".to_string()
    })
}

/// A reply that is not a command: the next step of the caller's dialogue,
/// or `None` when there is none.
pub async fn continue_register(req: &Request<'_>, text: &str) -> anyhow::Result<Option<String>> {
    let Some(mut dialogue) = load(req).await? else {
        return Ok(None);
    };
    let text = text.trim();
    if matches!(text, "取消" | "0") {
        return cancel(req).await.map(Some);
    }
    if dialogue.platform.is_none() {
        let chosen = choice(text, Platform::ALL.len())
            .and_then(|i| Platform::ALL.get(i).copied())
            .or_else(|| Platform::from_name(text));
        let Some(platform) = chosen else {
            return Ok(Some(format!(
                "无法识别「{}」。\n{}",
                super::quoted(text),
                prompt(&dialogue, req.register)
            )));
        };
        dialogue.platform = Some(platform.id().to_string());
    } else if dialogue.unit.is_none() {
        let chosen = match choice(text, req.register.units.len()) {
            Some(i) => req.register.units.get(i).ok_or_else(String::new),
            None => super::find_unit(req.register, text),
        };
        let unit = match chosen {
            Ok(unit) => unit,
            Err(why) => {
                return Ok(Some(format!("{why}\n{}", prompt(&dialogue, req.register))));
            }
        };
        dialogue.unit = Some(unit.id.clone());
    } else {
        return finish(req, &dialogue, text).await.map(Some);
    }
    save(req, &mut dialogue).await?;
    Ok(Some(prompt(&dialogue, req.register)))
}

/// The last step: "SOURCE NAME" completes the registration.
async fn finish(
    req: &Request<'_>,
    dialogue: &RegisterDialogue,
    text: &str,
) -> anyhow::Result<String> {
    let (Some(platform), Some(unit)) = (&dialogue.platform, &dialogue.unit) else {
        return Ok(prompt(dialogue, req.register));
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < 2 {
        return Ok(format!(
            "请在一行内写来源和账号名称。\n{}",
            prompt(dialogue, req.register)
        ));
    }
    let mut args: Vec<&str> = vec![platform.as_str()];
    args.extend(&words);
    args.push(unit.as_str());
    let full = Request {
        args: &args,
        ..*req
    };
    let reply = super::register::register(&full).await?;
    if reply.starts_with(super::register::REGISTERED) {
        req.ctx.store.delete_meta(&key(&req.caller.user)).await?;
        return Ok(reply);
    }
    Ok(format!(
        "{reply}\n请重新发送来源和名称，或回复 取消 结束登记。"
    ))
}

/// A numbered choice "1".."n" as an index.
fn choice(text: &str, count: usize) -> Option<usize> {
    let n: usize = text.trim_start_matches('#').parse().ok()?;
    (1..=count).contains(&n).then(|| n - 1)
}

/// A source of the kind this platform uses, for the prompt.
fn example_source(platform: Platform) -> &'static str {
    match platform {
        Platform::WechatSubscription | Platform::WechatService => {
            "wewe:/feeds/MP_WXS_3071234567.atom"
        }
        Platform::Weibo => "rsshub:/weibo/user/1234567",
        Platform::Douyin => "rsshub:/douyin/user/MS4wLjABAAAA",
        Platform::Toutiao => "rsshub:/toutiao/user/token/MS4wLjABAAAA",
        Platform::Kuaishou => "rsshub:/kuaishou/profile/3xabcdefg",
        Platform::Bilibili => "rsshub:/bilibili/user/dynamic/12345678",
        Platform::Website => "https://www.example.gov.cn/rss.xml",
        Platform::Xiaohongshu => "rsshub:/xiaohongshu/user/5a1b2c3d4e5f/notes",
        Platform::WechatChannels
        | Platform::Baijiahao
        | Platform::Renminhao
        | Platform::Xuexi
        | Platform::Other => "https://www.example.gov.cn/rss.xml",
    }
}

/// The question of the next step.
fn prompt(dialogue: &RegisterDialogue, register: &Register) -> String {
    let mut out = String::new();
    match (&dialogue.platform, &dialogue.unit) {
        (None, _) => {
            out.push_str("登记账号 第 1 步（共 3 步）：选择平台，回复序号或平台名称：\n");
            for (i, p) in Platform::ALL.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", i + 1, p.label());
            }
        }
        (Some(_), None) => {
            out.push_str("登记账号 第 2 步（共 3 步）：选择单位，回复序号、单位名称或单位ID：\n");
            for (i, u) in register.units.iter().enumerate() {
                let _ = writeln!(out, "{}. {}（{}）", i + 1, u.name, u.id);
            }
        }
        (Some(platform), Some(unit)) => {
            let platform = Platform::from_id(platform);
            let label = platform.map_or("", |p| p.label());
            let unit = register
                .unit(unit)
                .map_or(unit.as_str(), |u| u.name.as_str());
            let _ = writeln!(
                out,
                "登记账号 第 3 步（共 3 步）：{unit}的{label}账号。请回复 来源 名称，如：\n{} {unit}发布\n（来源写作 代理:路由 或完整 RSS 地址）",
                platform.map_or("rsshub:/weibo/user/1234567", example_source)
            );
        }
    }
    out.push_str("回复 取消 结束登记。");
    out
}
