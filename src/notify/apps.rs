//! The DingTalk and Feishu apps as outbox channels: a message as the parts
//! each app sends (Feishu's with its `<at>` mentions), and each part or file
//! sent through the app's API.

use super::{DingtalkApp, Notifier, SendError, feishu, split_reply};
use crate::domain::{Channel, Mention};

impl Notifier {
    /// A text message to a DingTalk or Feishu recipient as the parts it goes
    /// out in; `Broken` when that app is not configured.
    pub(super) fn app_parts(
        &self,
        channel: &Channel,
        recipient: &str,
        body: &str,
        mentions: &[Mention],
    ) -> Result<Vec<String>, SendError> {
        if *channel == Channel::Feishu {
            self.feishu_api()?;
            Ok(feishu_parts(body, recipient, mentions))
        } else {
            Ok(self.dingtalk_app()?.parts(body))
        }
    }

    /// Sends one part made by [`Notifier::app_parts`].
    pub(super) async fn send_app_part(
        &self,
        channel: &Channel,
        recipient: &str,
        part: &str,
        uuid: Option<&str>,
    ) -> Result<(), SendError> {
        if *channel == Channel::Feishu {
            send_feishu(self.feishu_api()?, recipient, part, uuid).await
        } else {
            self.dingtalk_app()?.send_part(recipient, part).await
        }
    }

    /// Sends a file (the .docx, XLSX or chart) through the DingTalk or
    /// Feishu app.
    pub(super) async fn send_app_file(
        &self,
        channel: &Channel,
        recipient: &str,
        file: &crate::storage::Attachment,
        uuid: &str,
    ) -> Result<(), SendError> {
        if *channel == Channel::Feishu {
            let (kind, id) = feishu_receiver(recipient)?;
            self.feishu_api()?
                .send_file(kind, id, file, Some(uuid))
                .await
                .map_err(feishu_error)
        } else {
            self.dingtalk_app()?.send_file(recipient, file).await
        }
    }

    pub(super) fn feishu_api(&self) -> Result<&feishu::FeishuApi, SendError> {
        self.feishu.as_ref().ok_or_else(|| {
            SendError::Broken(
                "the Feishu app is not configured ([feishu] app_id, XUNJIAN_FEISHU_APP_SECRET)"
                    .into(),
            )
        })
    }

    pub(super) fn dingtalk_app(&self) -> Result<&DingtalkApp, SendError> {
        self.dingtalk.as_ref().ok_or_else(|| {
            SendError::Broken(
                "the DingTalk app is not configured ([dingtalk] client_id, XUNJIAN_DINGTALK_CLIENT_SECRET)"
                    .into(),
            )
        })
    }
}

/// Mentions per message, so a tag is never cut.
const FEISHU_MENTIONS_PER_PART: usize = 40;

/// A message to Feishu as the messages it goes out in: the text, made
/// [`plain`](feishu::plain), in parts; in a group, the
/// contacts known by open_id mentioned after it (40 to a message).
fn feishu_parts(body: &str, recipient: &str, mentions: &[Mention]) -> Vec<String> {
    use feishu::{at_tag, plain};
    let mut parts: Vec<String> = split_reply(body).iter().map(|part| plain(part)).collect();
    if !recipient.starts_with("chat:") {
        return parts;
    }
    let tags: Vec<String> = mentions
        .iter()
        .filter_map(|m| at_tag(m.feishu_open_id.as_deref()?, &m.name))
        .collect();
    for (i, chunk) in tags.chunks(FEISHU_MENTIONS_PER_PART).enumerate() {
        match parts.last_mut() {
            Some(last) if i == 0 => {
                last.push('\n');
                last.push_str(&chunk.join(" "));
            }
            _ => parts.push(chunk.join(" ")),
        }
    }
    parts
}

/// Sends text to `chat:oc_…` or `user:ou_…` through the Feishu app's bot.
async fn send_feishu(
    api: &feishu::FeishuApi,
    recipient: &str,
    text: &str,
    uuid: Option<&str>,
) -> Result<(), SendError> {
    let (kind, id) = feishu_receiver(recipient)?;
    api.send_one(kind, id, text, uuid)
        .await
        .map_err(feishu_error)
}

/// `chat:oc_…` or `user:ou_…` as Feishu's receive_id_type and receive_id.
fn feishu_receiver(recipient: &str) -> Result<(&'static str, &str), SendError> {
    match recipient.split_once(':') {
        Some(("chat", id)) if !id.is_empty() => Ok(("chat_id", id)),
        Some(("user", id)) if !id.is_empty() => Ok(("open_id", id)),
        _ => Err(SendError::Broken(format!(
            "\"{recipient}\" is not a Feishu recipient (chat:oc_… or user:ou_…)"
        ))),
    }
}

fn feishu_error(err: feishu::FeishuSendError) -> SendError {
    if err.is_transient() {
        SendError::Transient {
            message: err.to_string(),
            retry_after: None,
        }
    } else {
        SendError::Broken(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(n: usize) -> Mention {
        Mention {
            name: format!("联系人<{n}>"),
            telegram_id: None,
            phone: None,
            feishu_open_id: Some(format!("ou_{n:060}")),
        }
    }

    #[test]
    fn feishu_text_cannot_mention_and_contacts_are_mentioned_whole_forty_to_a_message() {
        let body = "未找到「<at user_id=\"all\">所有人</at>」";
        let mentions: Vec<Mention> = (0..90).map(contact).collect();
        let parts = feishu_parts(body, "chat:oc_group", &mentions);
        assert!(parts[0].starts_with("未找到「＜at user_id"), "{}", parts[0]);
        let tags: Vec<usize> = parts
            .iter()
            .map(|p| p.matches("<at user_id=").count())
            .collect();
        assert_eq!(tags, vec![40, 40, 10], "{parts:#?}");
        for part in &parts {
            let line = part.lines().last().unwrap_or_default();
            assert_eq!(
                line.matches("<at user_id=\"ou_").count(),
                line.matches("</at>").count(),
                "a tag is never cut: {part}"
            );
            assert!(
                !part.contains("<0") && !part.contains("<1"),
                "names are cleaned: {part}"
            );
        }
        assert_eq!(
            feishu_parts(body, "user:ou_admin", &mentions),
            vec![feishu::plain(body)],
            "a private message mentions nobody"
        );
        let bad = Mention {
            feishu_open_id: Some("ou_x\" onclick=\"".into()),
            ..contact(1)
        };
        assert_eq!(
            feishu_parts("x", "chat:oc_group", &[bad]),
            vec!["x".to_string()]
        );
    }
}
