//! The Telegram side of the commands: long polling with teloxide, replies
//! sent directly, the command list registered with `set_my_commands`.

use super::{COMMANDS, Caller, CommandContext, split_reply};
use std::sync::Arc;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::prelude::*;
use teloxide::types::BotCommand;
use tokio_util::sync::CancellationToken;

/// Runs the bot until `shutdown` is cancelled.
pub async fn run_bot(bot: Bot, context: Arc<CommandContext>, shutdown: CancellationToken) {
    let commands: Vec<BotCommand> = COMMANDS
        .iter()
        .map(|(name, about)| BotCommand::new(*name, *about))
        .collect();
    if let Err(err) = bot.set_my_commands(commands).await {
        tracing::warn!(error = %err, "cannot register the command list with Telegram");
    }
    // Replies respect Telegram's rate limits (per chat and overall).
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
    let bot = bot.throttle(limits);
    let handler =
        Update::filter_message().endpoint(
            |bot: Throttle<Bot>,
             context: Arc<CommandContext>,
             message: teloxide::types::Message| async move {
                let (Some(text), Some(user)) = (message.text(), message.from.as_ref()) else {
                    return respond(());
                };
                if !text.starts_with('/') {
                    return respond(());
                }
                let caller = Caller {
                    user_id: i64::try_from(user.id.0).unwrap_or_default(),
                    name: user.full_name(),
                    is_private_chat: message.chat.is_private(),
                    // Unknown here: `/cmd@name` is ignored until `Me.username` is passed.
                    bot_username: None,
                };
                let Some(reply) = context.handle(&caller, text, chrono::Utc::now()).await else {
                    return respond(());
                };
                for part in split_reply(&reply) {
                    if let Err(err) = bot.send_message(message.chat.id, part).await {
                        tracing::warn!(error = %err, "cannot send a command reply");
                    }
                }
                respond(())
            },
        );
    let mut dispatcher = Dispatcher::builder(bot, handler)
        .dependencies(dptree::deps![context])
        .default_handler(|_| async {})
        .build();
    let token = dispatcher.shutdown_token();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        if let Ok(done) = token.shutdown() {
            done.await;
        }
    });
    dispatcher.dispatch().await;
}
