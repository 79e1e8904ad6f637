//! Telegram through teloxide: HTML parse mode, escaped, split under the limit.

use super::SendError;
use crate::alerts::compose::Mention;
use crate::config::{Secret, TelegramSettings};
use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::payloads::SendMessageSetters;
use teloxide::prelude::Requester;
use teloxide::types::{ChatId, ParseMode};

/// Telegram's limit on one message, in UTF-16 code units (an emoji counts two).
pub const MAX_MESSAGE_UTF16: usize = 4096;

/// The bot, pointed at the configured Bot API server.
#[derive(Clone)]
pub struct Telegram {
    pub bot: teloxide::Bot,
}

impl Telegram {
    pub fn new(settings: &TelegramSettings, token: &Secret) -> anyhow::Result<Telegram> {
        let mut client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(70));
        if let Some(proxy) = &settings.proxy {
            client = client.proxy(reqwest::Proxy::all(proxy)?);
        }
        let mut bot = teloxide::Bot::with_client(token.expose(), client.build()?);
        if let Some(url) = &settings.api_url {
            bot = bot.set_api_url(reqwest::Url::parse(url)?);
        }
        Ok(Telegram { bot })
    }

    /// Sends `body` (plain text, escaped here) to a chat, naming the contacts.
    pub async fn send(&self, chat: i64, body: &str, mentions: &[Mention]) -> Result<(), SendError> {
        for part in message_parts(body, mentions) {
            self.send_part(chat, &part).await?;
        }
        Ok(())
    }

    /// Sends one part made by [`message_parts`].
    pub async fn send_part(&self, chat: i64, html: &str) -> Result<(), SendError> {
        self.bot
            .send_message(ChatId(chat), html)
            .parse_mode(ParseMode::Html)
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// A message as the HTML parts it goes out in, each under the limit, the
/// contacts tagged at the end.
pub fn message_parts(body: &str, mentions: &[Mention]) -> Vec<String> {
    let mut html = escape_html(body);
    let tagged: Vec<String> = mentions
        .iter()
        .filter_map(|m| {
            m.telegram_id
                .map(|id| format!("<a href=\"tg://user?id={id}\">{}</a>", escape_html(&m.name)))
        })
        .collect();
    if !tagged.is_empty() {
        html.push_str(&format!("\n{}", tagged.join(" ")));
    }
    split_message(&html, MAX_MESSAGE_UTF16)
}

impl Telegram {
    /// Sends a report file: a photo (the chart) or a document (the spreadsheet).
    pub async fn send_file(
        &self,
        chat: i64,
        file: &crate::storage::Attachment,
    ) -> Result<(), SendError> {
        let input =
            teloxide::types::InputFile::memory(file.data.clone()).file_name(file.name.clone());
        let sent = if file.kind == crate::domain::FileKind::Photo {
            self.bot.send_photo(ChatId(chat), input).await.map(|_| ())
        } else {
            self.bot
                .send_document(ChatId(chat), input)
                .await
                .map(|_| ())
        };
        sent.map_err(classify)
    }
}

fn classify(err: RequestError) -> SendError {
    match err {
        RequestError::RetryAfter(seconds) => SendError::Transient {
            message: format!("Telegram asked to retry after {} s", seconds.seconds()),
            retry_after: Some(seconds.duration()),
        },
        RequestError::MigrateToChatId(chat) => SendError::Migrated {
            new_chat: chat.0.to_string(),
        },
        RequestError::Api(
            api @ (ApiError::BotBlocked
            | ApiError::ChatNotFound
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::UserDeactivated
            | ApiError::InvalidToken
            | ApiError::CantInitiateConversation
            | ApiError::NotEnoughRightsToPostMessages),
        ) => SendError::Broken(format!("Telegram: {api}")),
        // Telegram words some refusals differently from what teloxide knows
        // ("Forbidden: bot can't initiate conversation with a user"): every
        // "Forbidden" is a chat the bot may not write to.
        RequestError::Api(ApiError::Unknown(text)) if text.starts_with("Forbidden:") => {
            SendError::Broken(format!("Telegram: {text}"))
        }
        // reqwest names the URL, and the URL holds the bot token.
        RequestError::Network(err) => SendError::Transient {
            message: format!(
                "Telegram: network error: {}",
                crate::fetch::http_error_text(&err)
            ),
            retry_after: None,
        },
        other => SendError::Transient {
            message: format!("Telegram: {other}"),
            retry_after: None,
        },
    }
}

/// Escapes text for Telegram's HTML parse mode.
pub fn escape_html(text: &str) -> String {
    crate::escape::html(text)
}

/// Splits at line ends so each part has at most `max` UTF-16 code units, as
/// Telegram counts them (a line longer than that is cut, never inside an
/// HTML entity or tag).
pub fn split_message(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    for line in text.split_inclusive('\n') {
        let n = line.encode_utf16().count();
        if count + n > max && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
            count = 0;
        }
        if n > max {
            let mut piece = String::new();
            let mut piece_count = 0;
            let mut in_markup = false;
            for ch in line.chars() {
                in_markup = match ch {
                    '&' | '<' => true,
                    ';' | '>' => false,
                    _ => in_markup,
                };
                piece.push(ch);
                piece_count += ch.len_utf16();
                if piece_count >= max - 16 && !in_markup {
                    parts.push(std::mem::take(&mut piece));
                    piece_count = 0;
                }
            }
            current = piece;
            count = piece_count;
        } else {
            current.push_str(line);
            count += n;
        }
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_is_escaped() {
        assert_eq!(
            escape_html("<b>&\"x\"</b>"),
            "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;"
        );
    }

    #[test]
    fn long_messages_are_split_under_the_limit_without_breaking_entities() {
        let line = "区市政管理局「市政兰山」&amp; 已 187 天未更新\n";
        let text = line.repeat(400);
        let parts = split_message(&text, MAX_MESSAGE_UTF16);
        assert!(parts.len() > 1);
        assert!(
            parts
                .iter()
                .all(|p| p.encode_utf16().count() <= MAX_MESSAGE_UTF16)
        );
        assert_eq!(parts.concat(), text);
        let one_line = "&amp;".repeat(2000);
        let parts = split_message(&one_line, 100);
        assert!(
            parts
                .iter()
                .all(|p| p.ends_with(';') && p.chars().count() <= 100)
        );
        assert_eq!(parts.concat(), one_line);
    }

    #[test]
    fn emoji_count_two_units_as_telegram_counts_them() {
        // 3,000 emoji are 3,000 chars but 6,000 UTF-16 units.
        let text = format!("「{}」已 15 天未更新\n", "😀".repeat(3_000));
        assert!(text.chars().count() < MAX_MESSAGE_UTF16);
        let parts = message_parts(&text, &[]);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(
            parts
                .iter()
                .all(|p| p.encode_utf16().count() <= MAX_MESSAGE_UTF16)
        );
        assert_eq!(parts.concat(), text);
    }
}
