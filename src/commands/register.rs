//! Commands that read or change the register. Every change goes through the
//! same plan → apply path as `xunjian import`, so it is in the audit trail
//! (source "chat") and in `xunjian export`.

use super::{Caller, CommandContext, Request, actor};
use crate::config::Redactor;
use crate::registry::check::{check_feed_url, check_name, check_route};
use crate::registry::diff::plan;
use crate::registry::{Account, AccountState, Platform, Register, Source, is_valid_id};
use chrono::{DateTime, NaiveDate, Utc};

/// Routes a platform may use on a proxy (RSSHub, wewe-rss).
fn route_prefixes(platform: Platform) -> &'static [&'static str] {
    match platform {
        Platform::Weibo => &["/weibo/"],
        Platform::Douyin => &["/douyin/"],
        Platform::Toutiao => &["/toutiao/"],
        Platform::Kuaishou => &["/kuaishou/"],
        Platform::Bilibili => &["/bilibili/"],
        Platform::WechatSubscription | Platform::WechatService => &["/wechat/", "/feeds/"],
        Platform::Xiaohongshu => &["/xiaohongshu/"],
        Platform::Baijiahao => &["/baijiahao/", "/baidu/"],
        // No proxy route of their own: any route an office runs, or a feed.
        Platform::WechatChannels | Platform::Renminhao | Platform::Xuexi | Platform::Other => {
            &["/"]
        }
        Platform::Website => &[],
    }
}

fn host_allowed(host: &str, allowed: &[String]) -> bool {
    allowed
        .iter()
        .any(|pattern| match pattern.strip_prefix("*.") {
            Some(domain) => host == domain || host.ends_with(&format!(".{domain}")),
            None => host == pattern,
        })
}

pub(super) async fn save(
    ctx: &CommandContext,
    caller: &Caller,
    current: &Register,
    wanted: &Register,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let changes = plan(current, wanted, false);
    ctx.store
        .apply_plan(&changes, &actor(caller), "chat", now)
        .await?;
    Ok(())
}

/// How a successful /register reply starts.
pub const REGISTERED: &str = "已登记：";

pub const USAGE: &str = "用法：/register 平台 代理:路由|URL 名称 单位（单位ID或名称）\n例：/register 微博 rsshub:/weibo/user/1234567 义堂发布 义堂镇\n只发送 /register 可按步骤登记。";

/// "微信订阅号(wechat_subscription)、…": what a platform may be written as.
pub fn platform_names() -> String {
    let names: Vec<String> = Platform::ALL
        .iter()
        .map(|p| format!("{}（{}）", p.label(), p.id()))
        .collect();
    names.join("、")
}

/// The account that already reads this source, if any.
fn holder<'a>(register: &'a Register, source: &Source) -> Option<&'a Account> {
    let key = |s: &Source| match s {
        Source::Proxy { proxy, route } => format!("{proxy}:{}", route.trim_end_matches('/')),
        Source::Feed { feed } => feed.trim_end_matches('/').to_ascii_lowercase(),
        // Checked by hand: no source to share.
        Source::Manual {} => "\u{0}manual".to_string(),
    };
    let wanted = key(source);
    register.accounts.iter().find(|a| key(&a.source) == wanted)
}

/// /register PLATFORM PROXY:ROUTE|URL NAME UNIT
pub async fn register(req: &Request<'_>) -> anyhow::Result<String> {
    let Request {
        ctx,
        caller,
        args,
        register: current,
        now,
    } = *req;
    if args.len() < 4 {
        return Ok(USAGE.to_string());
    }
    let (platform, source, unit) = (args[0], args[1], args[args.len() - 1]);
    let name = args[2..args.len() - 1].join(" ");
    let Some(platform) = Platform::from_name(platform) else {
        return Ok(format!(
            "未知平台「{}」，可用：{}",
            super::quoted(platform),
            platform_names()
        ));
    };
    let unit = match super::find_unit(current, unit) {
        Ok(unit) => unit.id.as_str(),
        Err(why) => return Ok(why),
    };
    if let Err(why) = check_name(&name) {
        return Ok(format!("名称无效：{why}。"));
    }
    let source = if source.contains("://") {
        if let Err(why) = check_feed_url(source) {
            return Ok(format!("地址「{source}」无效：{why}。"));
        }
        let host = url::Url::parse(source)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        if !host_allowed(&host, &ctx.settings.commands.allowed_feed_hosts) {
            return Ok(format!(
                "地址的主机「{host}」不在允许范围内（commands.allowed_feed_hosts），不能通过聊天登记。"
            ));
        }
        Source::Feed {
            feed: source.to_string(),
        }
    } else {
        let Some((proxy, route)) = source.split_once(':') else {
            return Ok(format!(
                "来源「{source}」应写作 代理:路由（如 rsshub:/weibo/user/123）或完整 URL。"
            ));
        };
        if !ctx.settings.proxies.contains_key(proxy) {
            return Ok(format!(
                "未配置的代理「{proxy}」，可用：{}",
                ctx.settings.proxy_names().join("、")
            ));
        }
        let prefixes = route_prefixes(platform);
        if !prefixes.iter().any(|p| route.starts_with(p)) {
            return Ok(format!(
                "路由「{route}」不适用于{}（应以 {} 开头）",
                platform.label(),
                if prefixes.is_empty() {
                    "完整的 RSS 地址代替".to_string()
                } else {
                    prefixes.join(" 或 ")
                }
            ));
        }
        if let Err(why) = check_route(route) {
            return Ok(format!("路由「{route}」无效：{why}。"));
        }
        Source::Proxy {
            proxy: proxy.to_string(),
            route: route.to_string(),
        }
    };
    if let Some(other) = holder(current, &source) {
        return Ok(format!(
            "该来源已登记为账号 {}「{}」（{}），不能重复登记。",
            other.id,
            other.name,
            other.state.label()
        ));
    }
    let base_id = format!("{unit}-{}", platform.id().replace('_', "-"));
    if !is_valid_id(&base_id) {
        return Ok(format!("无法生成账号ID「{base_id}」"));
    }
    let account = Account {
        id: base_id,
        unit: unit.to_string(),
        name: name.clone(),
        platform,
        source,
        state: AccountState::Active,
        deregistered_on: None,
        filing_ref: None,
        is_interactive: true,
        thresholds: Default::default(),
        note: None,
    };
    // The id is chosen inside the insert's transaction: two admins
    // registering at once get two accounts, never one overwriting the other.
    let id = ctx
        .store
        .insert_new_account(&account, &actor(caller), "chat", now)
        .await?;
    Ok(format!(
        "{REGISTERED}{id}「{name}」（{}），下次巡检起开始监测。",
        platform.label()
    ))
}

/// /closing, /deregister, /reactivate
pub async fn set_state(req: &Request<'_>, state: AccountState) -> anyhow::Result<String> {
    let Request {
        ctx,
        caller,
        args,
        register: current,
        now,
    } = *req;
    let Some(id) = args.first() else {
        return Ok(match state {
            AccountState::Deregistered => {
                "用法：/deregister 账号ID 日期(YYYY-MM-DD) 备案文号".to_string()
            }
            AccountState::Closing => "用法：/closing 账号ID".to_string(),
            AccountState::Active => "用法：/reactivate 账号ID".to_string(),
        });
    };
    let Some(account) = current.account(id) else {
        return Ok(format!(
            "未找到账号「{}」。发送 /list 查看账号ID。",
            super::quoted(id)
        ));
    };
    if state == AccountState::Deregistered && account.state == AccountState::Deregistered {
        return Ok(format!(
            "「{id}」{}已于 {} 注销备案（{}），不能重复注销。",
            account.name,
            account
                .deregistered_on
                .map_or_else(|| "—".to_string(), |d| d.to_string()),
            account.filing_ref.as_deref().unwrap_or("无文号")
        ));
    }
    let mut changed = account.clone();
    changed.state = state;
    changed.deregistered_on = None;
    changed.filing_ref = None;
    if state == AccountState::Deregistered {
        let (Some(date), true) = (args.get(1), args.len() >= 3) else {
            return Ok("用法：/deregister 账号ID 日期(YYYY-MM-DD) 备案文号".to_string());
        };
        let Ok(date) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            return Ok(format!("日期「{date}」无效，应写作 YYYY-MM-DD。"));
        };
        let today = crate::calendar::local_date(now);
        if date > today {
            return Ok(format!(
                "注销日期 {date} 晚于今天（{today}）：请在注销完成并备案后再登记。"
            ));
        }
        changed.deregistered_on = Some(date);
        changed.filing_ref = Some(args[2..].join(" "));
    }
    if &changed == account {
        return Ok(format!("「{id}」已是{}，无需变更。", state.label()));
    }
    let mut wanted = current.clone();
    if let Some(slot) = wanted.accounts.iter_mut().find(|a| a.id == *id) {
        *slot = changed;
    }
    save(ctx, caller, current, &wanted, now).await?;
    let filing = match (state, args.get(1)) {
        (AccountState::Deregistered, Some(date)) => {
            format!("（注销日期 {date}，备案文号 {}）", args[2..].join(" "))
        }
        _ => String::new(),
    };
    Ok(format!(
        "已将「{id}」{}标记为{}{filing}。",
        account.name,
        state.label()
    ))
}

/// /status ACCOUNT
pub async fn status(req: &Request<'_>, id: &str) -> anyhow::Result<String> {
    let Request { ctx, register, .. } = *req;
    let Some(account) = register.account(id) else {
        return Ok(format!("未找到账号「{}」。", super::quoted(id)));
    };
    let unit = register
        .unit(&account.unit)
        .map_or(account.unit.as_str(), |u| u.name.as_str());
    let mut out = format!(
        "{id}\n{unit}「{}」({})，{}\n",
        account.name,
        account.platform.label(),
        account.state.label()
    );
    if let Some(fetch) = ctx.store.fetch_states().await?.get(id) {
        let checked = fetch.last_checked_at.map(|t| {
            crate::calendar::to_local(t)
                .format("%m-%d %H:%M")
                .to_string()
        });
        // Contacts read what a failure means; admins also the technical detail.
        let detail = match (fetch.outcome, ctx.is_admin(&req.caller.user)) {
            (Some(o), _) if !o.is_failure() => String::new(),
            (Some(o), false) => format!("：{}", o.explain()),
            (_, true) => fetch
                .message
                .as_deref()
                // Stored before secrets were redacted at the source, perhaps.
                .map(|m| format!("：{}", Redactor::from_settings(&ctx.settings).redact(m)))
                .unwrap_or_default(),
            (None, false) => String::new(),
        };
        out.push_str(&format!(
            "最近抓取：{}（{}）{detail}\n",
            checked.as_deref().unwrap_or("—"),
            fetch.outcome.map_or("—", |o| o.label()),
        ));
    } else {
        out.push_str("尚未抓取\n");
    }
    let alerts: Vec<String> = ctx
        .store
        .open_alerts()
        .await?
        .into_iter()
        .filter(|a| a.subject == id)
        .map(|a| {
            let to_do = if matches!(
                a.severity,
                crate::rules::Severity::Operator | crate::rules::Severity::Unknown
            ) {
                String::new()
            } else {
                format!("\n  整改：{}", crate::rules::guidance(a.rule, &a.evidence))
            };
            format!(
                "#{} [{}] {}{}{to_do}",
                a.id,
                crate::rules::label_of(a.rule, &a.evidence),
                a.message_at(req.now),
                if a.is_acked { "（已确认）" } else { "" }
            )
        })
        .collect();
    if alerts.is_empty() {
        out.push_str("无未解决的告警");
    } else {
        out.push_str(&format!("未解决的告警：\n{}", alerts.join("\n")));
    }
    Ok(out)
}
