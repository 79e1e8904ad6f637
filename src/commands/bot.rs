//! The Telegram side of the commands: long polling with teloxide, replies
//! sent directly (split under Telegram's limit), the command list registered
//! with `set_my_commands`.
//!
//! The bot's start (getMe, setMyCommands, webhook check) retries with
//! backoff until Telegram answers, so an unreachable Bot API at start only
//! delays the commands. A panicking command is answered with an error and
//! logged; it never takes the dispatcher down.

use super::{COMMANDS, Caller, CommandContext, UserId, split_reply};
use crate::health::{Health, Part};
use futures_util::FutureExt as _;
use std::sync::Arc;
use std::time::Duration;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::prelude::*;
use teloxide::types::{BotCommand, ChatId, Me};
use tokio_util::sync::CancellationToken;

/// First wait between start attempts; doubles up to [`MAX_START_WAIT`].
pub const FIRST_START_WAIT: Duration = Duration::from_secs(1);
pub const MAX_START_WAIT: Duration = Duration::from_secs(30);
/// How often the bot checks it still reaches Telegram (getMe).
pub const HEARTBEAT: Duration = Duration::from_secs(60);

/// Runs the bot until `shutdown` is cancelled. Returns an error when the
/// dispatcher stops by itself (the supervisor then restarts it).
pub async fn run_bot(
    bot: Bot,
    context: Arc<CommandContext>,
    health: Health,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Some(me) = start(&bot, &health, &shutdown).await else {
        return Ok(());
    };
    tracing::info!(username = me.username(), "Telegram bot started");
    health.succeeded(Part::Telegram, chrono::Utc::now());
    let limits = if context.settings.telegram.is_throttled {
        Limits::default()
    } else {
        Limits {
            messages_per_sec_chat: 1000,
            messages_per_min_chat: 100_000,
            messages_per_min_channel_or_supergroup: 100_000,
            messages_per_sec_overall: 1000,
        }
    };
    // Replies respect Telegram's rate limits (per chat and overall).
    let throttled = bot.clone().throttle(limits);
    let handler = Update::filter_message().endpoint(answer);
    let replies = Arc::new(Replies::new(throttled.clone()));
    let mut dispatcher = Dispatcher::builder(throttled, handler)
        .dependencies(dptree::deps![context, replies])
        .default_handler(|_| async {})
        .error_handler(LoggingErrors::new())
        .build();
    let stop = dispatcher.shutdown_token();
    let listener = teloxide::update_listeners::Polling::builder(bot.clone())
        .timeout(Duration::from_secs(25))
        .build();
    let listener_errors = Arc::new(ListenerErrors {
        health: health.clone(),
    });
    let heartbeat = heartbeat(bot, health.clone());
    tokio::pin!(heartbeat);
    let dispatching = dispatcher.try_dispatch_with_listener(listener, listener_errors);
    tokio::pin!(dispatching);
    let mut is_stopping = false;
    loop {
        tokio::select! {
            result = &mut dispatching => {
                result.map_err(|e| anyhow::anyhow!("the Telegram dispatcher could not start: {e}"))?;
                if is_stopping || shutdown.is_cancelled() {
                    return Ok(());
                }
                anyhow::bail!("the Telegram dispatcher stopped");
            }
            _ = shutdown.cancelled(), if !is_stopping => {
                is_stopping = true;
                // Starts the shutdown; `dispatching` then finishes.
                if stop.shutdown().is_err() {
                    return Ok(());
                }
            }
            _ = &mut heartbeat => {}
        }
    }
}

/// getMe, setMyCommands and the webhook check, retried with backoff until
/// Telegram answers; None when shut down first.
async fn start(bot: &Bot, health: &Health, shutdown: &CancellationToken) -> Option<Me> {
    let mut wait = FIRST_START_WAIT;
    loop {
        match start_once(bot).await {
            Ok(me) => return Some(me),
            Err(err) => {
                let error = health.redact(&err);
                tracing::warn!(error = %error, retry_in_s = wait.as_secs(), "cannot reach the Telegram Bot API; retrying");
                health.failed(Part::Telegram, &error, chrono::Utc::now());
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = wait.saturating_mul(2).min(MAX_START_WAIT);
    }
}

async fn start_once(bot: &Bot) -> Result<Me, String> {
    let me = bot
        .get_me()
        .await
        .map_err(|e| format!("getMe failed: {}", describe(&e)))?;
    let commands: Vec<BotCommand> = COMMANDS
        .iter()
        .map(|c| BotCommand::new(c.name, c.about))
        .collect();
    bot.set_my_commands(commands)
        .await
        .map_err(|e| format!("setMyCommands failed: {}", describe(&e)))?;
    let webhook = bot
        .get_webhook_info()
        .await
        .map_err(|e| format!("getWebhookInfo failed: {}", describe(&e)))?;
    if webhook.url.is_some() {
        // A webhook and long polling exclude each other.
        bot.delete_webhook()
            .await
            .map_err(|e| format!("deleteWebhook failed: {}", describe(&e)))?;
        tracing::warn!("a webhook was set for this bot; removed it to long-poll");
    }
    Ok(me)
}

/// A request error without the URL (which holds the bot token).
fn describe(err: &teloxide::RequestError) -> String {
    match err {
        teloxide::RequestError::Network(e) => {
            format!("network error: {}", crate::fetch::http_error_text(e))
        }
        other => other.to_string(),
    }
}

/// Checks every [`HEARTBEAT`] that Telegram still answers.
async fn heartbeat(bot: Bot, health: Health) {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        match bot.get_me().await {
            Ok(_) => health.succeeded(Part::Telegram, chrono::Utc::now()),
            Err(err) => {
                let error = health.redact(&describe(&err));
                health.failed(Part::Telegram, &error, chrono::Utc::now());
            }
        }
    }
}

/// Answers one message; a panicking command is answered and logged, never
/// propagated into the dispatcher. The reply is queued for its chat and
/// sent off the dispatcher's path, so a chat waiting on Telegram's rate
/// limits never holds up the updates of another.
async fn answer(
    replies: Arc<Replies>,
    me: Me,
    context: Arc<CommandContext>,
    message: teloxide::types::Message,
) -> ResponseResult<()> {
    let (Some(text), Some(user)) = (message.text(), message.from.as_ref()) else {
        return Ok(());
    };
    let caller = Caller {
        user: UserId::Telegram(i64::try_from(user.id.0).unwrap_or_default()),
        name: user.full_name(),
        is_private_chat: message.chat.is_private(),
        chat: Some(message.chat.id.0.to_string()),
        // `/cmd@other_bot` in a group is for another bot, and a group
        // message not naming us is not for us: neither is answered.
        bot_username: me.user.username.clone(),
        is_addressed_to_bot: false,
    };
    let handled = std::panic::AssertUnwindSafe(context.handle(&caller, text, chrono::Utc::now()))
        .catch_unwind()
        .await;
    let reply = match handled {
        Ok(Some(reply)) => reply,
        Ok(None) => return Ok(()),
        Err(payload) => {
            let cause = crate::process::panic_text(payload);
            metrics::counter!("xunjian_command_panics_total").increment(1);
            tracing::error!(user = %caller.user, cause = %cause, "a command panicked");
            "处理命令时出错，请稍后再试或联系管理员。".to_string()
        }
    };
    replies.queue(message.chat.id, split_reply(&reply));
    Ok(())
}

/// Replies waiting per chat before each chat's own queue, so at most this
/// many pile up for one chat (the chat budget keeps it far lower).
const REPLIES_PER_CHAT: usize = 64;
/// A chat's sender stops after this long without replies.
const REPLY_SENDER_IDLE: Duration = Duration::from_secs(60);

/// One sender task per chat with replies to send: in order within a
/// chat, independent across chats.
struct Replies {
    bot: Throttle<Bot>,
    chats:
        std::sync::Mutex<std::collections::HashMap<ChatId, tokio::sync::mpsc::Sender<Vec<String>>>>,
}

impl Replies {
    fn new(bot: Throttle<Bot>) -> Replies {
        Replies {
            bot,
            chats: std::sync::Mutex::default(),
        }
    }

    /// Queues the parts of one reply for `chat`; never waits.
    fn queue(self: &Arc<Self>, chat: ChatId, parts: Vec<String>) {
        if parts.is_empty() {
            return;
        }
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        let sender = chats
            .entry(chat)
            .and_modify(|sender| {
                if sender.is_closed() {
                    *sender = self.start_sender(chat);
                }
            })
            .or_insert_with(|| self.start_sender(chat));
        if let Err(err) = sender.try_send(parts) {
            metrics::counter!("xunjian_command_replies_dropped_total").increment(1);
            tracing::warn!(chat = chat.0, error = %err, "too many replies waiting for this chat; one dropped");
        }
    }

    fn start_sender(self: &Arc<Self>, chat: ChatId) -> tokio::sync::mpsc::Sender<Vec<String>> {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<String>>(REPLIES_PER_CHAT);
        let replies = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                match tokio::time::timeout(REPLY_SENDER_IDLE, receiver.recv()).await {
                    Ok(Some(parts)) => replies.send(chat, parts).await,
                    Ok(None) => return,
                    Err(_) => {
                        // Idle: hand the chat back, unless a reply came in meanwhile.
                        let mut chats = replies.chats.lock().unwrap_or_else(|e| e.into_inner());
                        if receiver.is_empty() {
                            chats.remove(&chat);
                            return;
                        }
                    }
                }
            }
        });
        sender
    }

    async fn send(&self, chat: ChatId, parts: Vec<String>) {
        for part in parts {
            if let Err(err) = self.bot.send_message(chat, part).await {
                tracing::warn!(error = %describe(&err), "cannot send a command reply");
                break;
            }
        }
    }
}

/// Long-polling errors: counted in the health of `telegram`.
struct ListenerErrors {
    health: Health,
}

impl teloxide::error_handlers::ErrorHandler<teloxide::RequestError> for ListenerErrors {
    fn handle_error(
        self: Arc<Self>,
        error: teloxide::RequestError,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        let text = self.health.redact(&describe(&error));
        tracing::warn!(error = %text, "Telegram long polling failed");
        self.health
            .failed(Part::Telegram, &text, chrono::Utc::now());
        Box::pin(async {})
    }
}

/// Handler errors are logged without URLs.
struct LoggingErrors;

impl LoggingErrors {
    fn new() -> Arc<LoggingErrors> {
        Arc::new(LoggingErrors)
    }
}

impl teloxide::error_handlers::ErrorHandler<teloxide::RequestError> for LoggingErrors {
    fn handle_error(
        self: Arc<Self>,
        error: teloxide::RequestError,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        tracing::warn!(error = %describe(&error), "a command handler failed");
        Box::pin(async {})
    }
}

/// The lease that lets one daemon at a time long-poll the bot token
/// (Telegram answers 409 Conflict to a second poller).
pub const BOT_LEASE_NAME: &str = "telegram_bot";
/// How long the lease lasts without renewal: a dead holder's bot is taken
/// over within this plus [`BOT_LEASE_RENEW`].
pub const BOT_LEASE: chrono::Duration = chrono::Duration::seconds(40);
pub const BOT_LEASE_RENEW: Duration = Duration::from_secs(15);

/// Runs the bot while this daemon holds the bot lease; the other daemons
/// stand by (and deliver) and take over when the holder stops renewing.
pub async fn run_bot_leased(
    bot: Bot,
    context: Arc<CommandContext>,
    health: Health,
    owner: String,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let store = context.store.clone();
    let mut is_standing_by = false;
    loop {
        let now = chrono::Utc::now();
        if !store
            .acquire_lease(BOT_LEASE_NAME, &owner, now, BOT_LEASE)
            .await?
        {
            if !is_standing_by {
                tracing::info!("another daemon holds the bot lease: standing by");
                is_standing_by = true;
            }
            // Standing by is this part working as it should.
            health.succeeded(Part::Telegram, now);
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(BOT_LEASE_RENEW) => continue,
            }
        }
        is_standing_by = false;
        tracing::info!("this daemon holds the bot lease: long-polling Telegram");
        let stop = shutdown.child_token();
        let renew = renew_lease(&store, &owner);
        tokio::pin!(renew);
        let running = run_bot(bot.clone(), context.clone(), health.clone(), stop.clone());
        tokio::pin!(running);
        tokio::select! {
            result = &mut running => {
                if let Err(err) = store.release_lease(BOT_LEASE_NAME, &owner).await {
                    tracing::warn!(error = %err, "cannot release the bot lease");
                }
                return result;
            }
            lost = &mut renew => {
                tracing::warn!(reason = %lost, "lost the bot lease: no longer long-polling");
                stop.cancel();
                let _ = tokio::time::timeout(Duration::from_secs(30), &mut running).await;
            }
        }
    }
}

/// Renews the bot lease until it cannot; returns why.
async fn renew_lease(store: &crate::storage::Store, owner: &str) -> String {
    loop {
        tokio::time::sleep(BOT_LEASE_RENEW).await;
        match store
            .acquire_lease(BOT_LEASE_NAME, owner, chrono::Utc::now(), BOT_LEASE)
            .await
        {
            Ok(true) => {}
            Ok(false) => return "another daemon took it".to_string(),
            Err(err) => return format!("cannot renew it: {err}"),
        }
    }
}
