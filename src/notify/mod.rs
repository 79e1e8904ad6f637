//! Delivery: the outbox → Telegram, group robots or the console.
//!
//! In: outbox rows. Out: sent messages, marked sent only after the channel
//! accepted them (a crash in between duplicates at most that one message).
//! Failures retry with backoff; a permanent one marks the channel broken and
//! tells the admins on another channel.

mod apps;
mod delivery;
mod dingtalk_app;
pub mod feishu;
mod robots;
mod split;
mod telegram;

pub use delivery::{CLAIM_BATCH, CLAIM_LEASE, DeliveryReport, MAX_ATTEMPTS, MAX_PER_PASS};
pub use dingtalk_app::DingtalkApp;
pub use split::{MAX_REPLY_UTF16, split_reply};

pub use robots::{Robot, RobotKind, dingtalk_sign, feishu_sign};
pub use telegram::{MAX_MESSAGE_UTF16, Telegram, escape_html, message_parts, split_message};

use crate::alerts::compose::{Mention, Message};
use crate::config::{Redactor, Settings};
use crate::domain::{Channel, ChatTarget, FileKind};
use crate::storage::{ChannelState, OutboxItem, Store};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// Why a send failed, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later (network, rate limit, server error).
    Transient {
        message: String,
        retry_after: Option<std::time::Duration>,
    },
    /// The channel cannot deliver until someone fixes it (bot blocked, chat not found, bad webhook).
    Broken(String),
    /// The Telegram group became a supergroup with a new id.
    Migrated { new_chat: String },
}

impl SendError {
    /// The same error with every configured secret hidden from its text.
    pub fn redacted(self, redactor: &Redactor) -> SendError {
        match self {
            SendError::Transient {
                message,
                retry_after,
            } => SendError::Transient {
                message: redactor.redact(&message),
                retry_after,
            },
            SendError::Broken(reason) => SendError::Broken(redactor.redact(&reason)),
            migrated @ SendError::Migrated { .. } => migrated,
        }
    }
}

/// One delivery step of a message: a text part or a file.
enum Step {
    Text(String),
    File(crate::storage::Attachment),
}

/// How long an announcement to one admin may take.
const ANNOUNCE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// All configured channels.
pub struct Notifier {
    store: Store,
    telegram: Option<Telegram>,
    robots: BTreeMap<String, Robot>,
    /// The DingTalk app's robot, when `[dingtalk]` and its secret are set.
    dingtalk: Option<DingtalkApp>,
    /// The Feishu app's bot, when `[feishu]` and its secret are set.
    feishu: Option<feishu::FeishuApi>,
    /// Each admin on each chat that can reach them.
    admins: Vec<ChatTarget>,
    /// The shared contacts groups: where a unit's message goes when the
    /// contact it was for cannot be reached privately.
    contacts: Vec<ChatTarget>,
    /// Failure texts are logged and stored: no configured secret may remain.
    redactor: Redactor,
    /// Who claims outbox rows (host and process).
    owner: String,
    /// How long a claim holds without renewal.
    claim_lease: Duration,
}

impl Notifier {
    pub fn new(settings: &Settings, store: Store) -> anyhow::Result<Notifier> {
        let telegram = match &settings.telegram.token {
            Some(token) => Some(Telegram::new(&settings.telegram, token)?),
            None => None,
        };
        let mut robots = BTreeMap::new();
        for (name, robot) in &settings.robots {
            robots.insert(name.clone(), Robot::new(name, robot)?);
        }
        Ok(Notifier {
            store,
            telegram,
            robots,
            dingtalk: DingtalkApp::new(&settings.dingtalk)?,
            feishu: match settings.feishu.credentials() {
                Some((app_id, secret)) => Some(feishu::FeishuApi::new(
                    &settings.feishu.base_url,
                    app_id,
                    secret.clone(),
                )?),
                None => None,
            },
            admins: settings.admin_chats(),
            contacts: settings.contacts_chats(),
            redactor: Redactor::from_settings(settings),
            owner: crate::process::owner(),
            claim_lease: CLAIM_LEASE,
        })
    }

    /// The same notifier claiming outbox rows as `owner` (one per daemon).
    pub fn with_owner(mut self, owner: &str) -> Notifier {
        self.owner = owner.to_string();
        self
    }

    pub fn telegram(&self) -> Option<&Telegram> {
        self.telegram.as_ref()
    }

    /// The same notifier with a shorter claim lease (tests of slow channels).
    pub fn with_claim_lease(mut self, lease: Duration) -> Notifier {
        self.claim_lease = lease;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Who claims outbox rows for this notifier.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    async fn attachments(
        &self,
        outbox_id: i64,
    ) -> Result<Vec<crate::storage::Attachment>, SendError> {
        self.store
            .attachments(outbox_id)
            .await
            .map_err(|e| SendError::Transient {
                message: e.to_string(),
                retry_after: None,
            })
    }

    /// The delivery steps of a message on its channel.
    async fn steps(&self, item: &OutboxItem) -> Result<Vec<Step>, SendError> {
        match &item.channel {
            Channel::Telegram => {
                // A private message is for the one person it names.
                let is_private =
                    ChatTarget::new(Channel::Telegram, item.recipient.clone()).is_private();
                let mentions = if is_private {
                    &[][..]
                } else {
                    &item.mentions[..]
                };
                let mut steps: Vec<Step> = message_parts(&item.body, mentions)
                    .into_iter()
                    .map(Step::Text)
                    .collect();
                steps.extend(self.attachments(item.id).await?.into_iter().map(Step::File));
                Ok(steps)
            }
            Channel::Dingtalk | Channel::Feishu => {
                let mut steps: Vec<Step> = self
                    .app_parts(&item.channel, &item.recipient, &item.body, &item.mentions)?
                    .into_iter()
                    .map(Step::Text)
                    .collect();
                steps.extend(self.attachments(item.id).await?.into_iter().map(Step::File));
                Ok(steps)
            }
            Channel::Robot(name) => {
                let Some(robot) = self.robots.get(name) else {
                    return Err(SendError::Broken(format!(
                        "robot \"{name}\" is not configured"
                    )));
                };
                let mut steps: Vec<Step> = robot
                    .parts(&item.body)
                    .into_iter()
                    .map(Step::Text)
                    .collect();
                if robot.takes_files() {
                    let files = self.attachments(item.id).await?;
                    steps.extend(
                        files
                            .into_iter()
                            .filter(|f| f.kind == FileKind::Document)
                            .map(Step::File),
                    );
                }
                Ok(steps)
            }
            // Files are written to disk by whoever queued a console message (demo, CLI).
            Channel::Console => Ok(vec![Step::Text(item.body.clone())]),
            Channel::Unknown(key) => Err(SendError::Broken(format!(
                "unknown channel \"{key}\" (written by a newer xunjian?)"
            ))),
        }
    }

    async fn send_step(
        &self,
        item: &OutboxItem,
        recipient: &str,
        step: &Step,
        index: usize,
    ) -> Result<(), SendError> {
        match &item.channel {
            Channel::Telegram => {
                let Some(telegram) = &self.telegram else {
                    return Err(SendError::Broken(
                        "Telegram is not configured (XUNJIAN_TELEGRAM_TOKEN)".into(),
                    ));
                };
                let chat: i64 = recipient.parse().map_err(|_| {
                    SendError::Broken(format!("\"{recipient}\" is not a Telegram chat id"))
                })?;
                match step {
                    Step::Text(html) => telegram.send_part(chat, html).await,
                    Step::File(file) => telegram.send_file(chat, file).await,
                }
            }
            Channel::Dingtalk | Channel::Feishu => match step {
                Step::Text(part) => {
                    // Feishu sends one message per uuid: a retry after a
                    // lost answer does not post the step twice.
                    let uuid = format!("xunjian-{}-{index}", item.id);
                    self.send_app_part(&item.channel, recipient, part, Some(&uuid))
                        .await
                }
                Step::File(file) => {
                    let uuid = format!("xunjian-{}-{index}", item.id);
                    match self
                        .send_app_file(&item.channel, recipient, file, &uuid)
                        .await
                    {
                        // A file the app may not send (no upload permission,
                        // too large) does not break the chat: the reader is
                        // told in its place.
                        Err(SendError::Broken(reason)) => {
                            let reason = self.redactor.redact(&reason);
                            tracing::error!(channel = %item.channel, file = %file.name, %reason, "a file could not be sent; a note goes in its place");
                            let note = format!(
                                "（文件「{}」未能发送：{reason}。请管理员检查应用的文件上传权限；也可用命令行 xunjian report --format docx|xlsx|png 生成。）",
                                file.name
                            );
                            let part = self.app_parts(&item.channel, recipient, &note, &[])?;
                            for text in part {
                                self.send_app_part(&item.channel, recipient, &text, Some(&uuid))
                                    .await?;
                            }
                            Ok(())
                        }
                        other => other,
                    }
                }
            },
            Channel::Robot(name) => {
                let Some(robot) = self.robots.get(name) else {
                    return Err(SendError::Broken(format!(
                        "robot \"{name}\" is not configured"
                    )));
                };
                match step {
                    Step::Text(part) => robot.send_part(part, &item.mentions).await,
                    Step::File(file) => robot.send_file(file).await,
                }
            }
            Channel::Console => {
                if let Step::Text(body) = step {
                    print_console(body, &item.mentions);
                }
                Ok(())
            }
            Channel::Unknown(key) => Err(SendError::Broken(format!(
                "unknown channel \"{key}\" (written by a newer xunjian?)"
            ))),
        }
    }

    /// A broken channel is reported to the admins on their other chats, or
    /// on the console when none works.
    async fn tell_admins_elsewhere(
        &self,
        broken: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let body = format!(
            "【xunjian 运行告警】消息通道 {broken} 无法送达：{reason}。请检查配置或机器人权限，修复后重启 xunjian。"
        );
        let mut targets: Vec<ChatTarget> = Vec::new();
        for admin in &self.admins {
            let key = admin.key();
            if key != broken && !self.store.channel_state(&key).await?.is_broken {
                targets.push(admin.clone());
            }
        }
        if targets.is_empty() {
            targets.push(ChatTarget::console());
        }
        for target in targets {
            let message = Message::plain(&target, &body);
            self.store.enqueue(&message, now).await?;
        }
        Ok(())
    }

    /// Tells the admins at once, bypassing the outbox (the database may be
    /// what failed): Telegram admins, else the robots, else the console.
    /// Returns the channel that took it.
    pub async fn announce_to_admins(&self, body: &str) -> &'static str {
        let mut is_sent = false;
        for admin in &self.admins {
            // One unreachable chat does not hold up the watchdog for long.
            let sending = self.announce_to(admin, body);
            let sent = match tokio::time::timeout(ANNOUNCE_TIMEOUT, sending).await {
                Ok(Some(sent)) => sent,
                Ok(None) => continue,
                Err(_) => Err(SendError::Transient {
                    message: format!("no answer within {ANNOUNCE_TIMEOUT:?}"),
                    retry_after: None,
                }),
            };
            match sent {
                Ok(()) => is_sent = true,
                Err(err) => {
                    let error = err.redacted(&self.redactor);
                    tracing::warn!(admin = %admin.key(), error = ?error, "cannot tell an admin");
                }
            }
        }
        if is_sent {
            return "chat";
        }
        let mut is_sent = false;
        for (name, robot) in &self.robots {
            match robot.send(body, &[]).await {
                Ok(()) => is_sent = true,
                Err(err) => {
                    tracing::warn!(robot = %name, error = ?err, "cannot tell the admins through a robot")
                }
            }
        }
        if is_sent {
            return "robot";
        }
        print_console(body, &[]);
        tracing::error!(message = %body, "no chat channel works: told the console only");
        "console"
    }

    /// Sends an announcement to one admin at once; `None` when no
    /// configured channel reaches them.
    async fn announce_to(&self, admin: &ChatTarget, body: &str) -> Option<Result<(), SendError>> {
        let sent = match &admin.channel {
            Channel::Telegram => {
                let telegram = self.telegram.as_ref()?;
                let chat = admin.recipient.parse().ok()?;
                telegram.send(chat, body, &[]).await
            }
            channel if channel.is_app_bot() => {
                let parts = match self.app_parts(channel, &admin.recipient, body, &[]) {
                    Ok(parts) => parts,
                    // Not configured: this admin is not reachable here.
                    Err(_) => return None,
                };
                let mut sent = Ok(());
                for part in parts {
                    sent = self
                        .send_app_part(channel, &admin.recipient, &part, None)
                        .await;
                    if sent.is_err() {
                        break;
                    }
                }
                sent
            }
            _ => return None,
        };
        Some(sent)
    }

    /// Forgets broken states at start: the configuration may have been fixed.
    pub async fn reset_broken(&self, keys: &[String], now: DateTime<Utc>) -> anyhow::Result<()> {
        for key in keys {
            let state = self.store.channel_state(key).await?;
            if state.is_broken {
                self.store
                    .set_channel_state(
                        key,
                        &ChannelState {
                            is_broken: false,
                            reason: None,
                            ..state
                        },
                        now,
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

fn print_console(body: &str, mentions: &[Mention]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{body}");
    if mentions.iter().any(|m| m.telegram_id.is_some()) {
        let ids: Vec<String> = mentions
            .iter()
            .filter_map(|m| m.telegram_id.map(|id| format!("{}({id})", m.name)))
            .collect();
        let _ = writeln!(out, "（联系人 Telegram：{}）", ids.join("、"));
    }
    let _ = writeln!(out);
}
