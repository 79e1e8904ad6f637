//! `/login` (also `/登录`): a one-time link to the web console for the
//! asker's role, sent privately (in a group, by private message).

use super::{Request, Role, UserId, actor};
use crate::domain::{Channel, ChatTarget, Grant, Message, Signin};
use crate::web::links::{LINK_MINUTES, issue_link};

/// Where the asker is reached privately.
fn private_target(user: &UserId) -> ChatTarget {
    match user {
        UserId::Telegram(id) => ChatTarget::new(Channel::Telegram, id.to_string()),
        UserId::Dingtalk(staff) => ChatTarget::new(Channel::Dingtalk, format!("user:{staff}")),
        UserId::Feishu(open_id) => ChatTarget::new(Channel::Feishu, format!("user:{open_id}")),
    }
}

pub async fn login(req: &Request<'_>, role: &Role) -> anyhow::Result<String> {
    let grant = match role {
        Role::Admin => Grant::Admin,
        Role::Contact(units) => Grant::Units(units.clone()),
        Role::Stranger => return Ok(super::REFUSAL.to_string()),
    };
    let settings = &req.ctx.settings;
    if settings.server.listen.trim().is_empty() {
        return Ok("网页工作台未开启（设置中 server.listen 为空），请联系管理员。".to_string());
    }
    let name = req.caller.name.trim();
    let person = if name.is_empty() {
        req.caller.user.to_string()
    } else {
        name.to_string()
    };
    let signin = Signin { grant, person };
    let link = issue_link(
        &req.ctx.store,
        settings,
        &signin,
        &actor(req.caller),
        LINK_MINUTES,
        req.now,
    )
    .await?;
    let text = format!(
        "网页工作台的一次性登录链接（{LINK_MINUTES} 分钟内有效，只能使用一次，请勿转发）：\n{link}"
    );
    if req.caller.is_private_chat {
        return Ok(text);
    }
    let message = Message::plain(&private_target(&req.caller.user), &text);
    req.ctx.store.enqueue(&message, req.now).await?;
    tracing::info!(user = %req.caller.user, "web sign-in link sent privately");
    Ok("登录链接已私信发送给您。如未收到，请先私聊机器人发送 /start，再发送 /登录。".to_string())
}
