//! Delivery: the outbox → Telegram, group robots or the console.
//!
//! In: outbox rows. Out: sent messages, marked sent only after the channel
//! accepted them (a crash in between duplicates at most that one message).
//! Failures retry with backoff; a permanent one marks the channel broken and
//! tells the admins on another channel.

mod dingtalk_app;
mod robots;
mod telegram;

pub use dingtalk_app::DingtalkApp;

pub use robots::{Robot, RobotKind, dingtalk_sign, feishu_sign};
pub use telegram::{MAX_MESSAGE_CHARS, Telegram, escape_html, message_parts, split_message};

use crate::alerts::compose::{Mention, Message};
use crate::config::{ChatTarget, Redactor, Settings};
use crate::storage::{ChannelState, OutboxItem, Store};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use tokio_util::sync::CancellationToken;

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

/// How long a claimed message is this daemon's to send without renewal.
/// It is renewed before each step, and a step ends within its channel's
/// HTTP timeout (70 s at most), far within the lease.
pub const CLAIM_LEASE: Duration = Duration::minutes(5);
/// Messages claimed at a time: few, so the others' claims run while this
/// daemon sends, and another daemon takes its share.
pub const CLAIM_BATCH: i64 = 10;
/// Messages handled in one delivery pass at most.
pub const MAX_PER_PASS: usize = 200;

/// How sending one message ended, when the channel did not fail.
enum Delivery {
    Done,
    /// Another daemon holds the claim now: it sends the rest.
    Lost,
    /// Shutdown: the claim is handed back.
    Stopped,
}

/// The pass's clock: the `now` it was given plus the time since, so leases
/// are renewed in real time while tests keep a fixed start.
struct Clock {
    start: DateTime<Utc>,
    started: std::time::Instant,
}

impl Clock {
    fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock {
            start,
            started: std::time::Instant::now(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.start + Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retried: usize,
    pub broken: Vec<String>,
    /// Messages given up after [`MAX_ATTEMPTS`].
    pub dead: usize,
    /// Messages another daemon took over while this one was busy.
    pub lost: usize,
}

/// How long an announcement to one admin may take.
const ANNOUNCE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Gives up on a message after this many attempts.
pub const MAX_ATTEMPTS: u32 = 20;

/// All configured channels.
pub struct Notifier {
    store: Store,
    telegram: Option<Telegram>,
    robots: BTreeMap<String, Robot>,
    /// The DingTalk app's robot, when `[dingtalk]` and its secret are set.
    dingtalk: Option<DingtalkApp>,
    /// The Feishu app's bot, when `[feishu]` and its secret are set.
    feishu: Option<crate::commands::feishu::FeishuApi>,
    /// Each admin on each chat that can reach them.
    admins: Vec<ChatTarget>,
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
                Some((app_id, secret)) => Some(crate::commands::feishu::FeishuApi::new(
                    &settings.feishu.base_url,
                    app_id,
                    secret.clone(),
                )?),
                None => None,
            },
            admins: settings.admin_chats(),
            redactor: Redactor::from_settings(settings),
            owner: crate::scheduler::owner(),
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

    /// Sends everything due at `now`, oldest first.
    pub async fn deliver_pending(&self, now: DateTime<Utc>) -> anyhow::Result<DeliveryReport> {
        self.deliver_until(now, &CancellationToken::new()).await
    }

    /// Sends what is due at `now` in small claimed batches until none is
    /// left, [`MAX_PER_PASS`] were handled, or `stop` is cancelled (then it
    /// returns after the step in flight; the rest of its claims are handed
    /// back with [`Store::release_claims`]). Each message's claim is renewed
    /// before each of its steps, and a message whose claim another daemon
    /// took over is left to that daemon.
    pub async fn deliver_until(
        &self,
        now: DateTime<Utc>,
        stop: &CancellationToken,
    ) -> anyhow::Result<DeliveryReport> {
        let clock = Clock::starting_at(now);
        let mut report = DeliveryReport::default();
        let mut handled = 0;
        while handled < MAX_PER_PASS && !stop.is_cancelled() {
            let claimed = self
                .store
                .claim_messages(&self.owner, clock.now(), self.claim_lease, CLAIM_BATCH)
                .await?;
            // A short batch was the last of what was due.
            let is_last = claimed.len() < usize::try_from(CLAIM_BATCH).unwrap_or(usize::MAX);
            for item in claimed {
                if stop.is_cancelled() {
                    break;
                }
                handled += 1;
                self.deliver_one(item, &clock, stop, &mut report).await?;
            }
            if is_last {
                break;
            }
        }
        if stop.is_cancelled() {
            self.store.release_claims(&self.owner).await?;
        }
        Ok(report)
    }

    /// Sends one claimed message and records the outcome, each record only
    /// while this daemon still holds the claim.
    async fn deliver_one(
        &self,
        item: OutboxItem,
        clock: &Clock,
        stop: &CancellationToken,
        report: &mut DeliveryReport,
    ) -> anyhow::Result<()> {
        let key = format!("{}:{}", item.channel, item.recipient);
        let state = self.store.channel_state(&key).await?;
        if state.is_broken {
            return Ok(());
        }
        let recipient = state
            .chat_override
            .clone()
            .unwrap_or_else(|| item.recipient.clone());
        let sent = match self.send(&item, &recipient, clock, stop).await {
            Ok(Delivery::Done) => Ok(()),
            Ok(Delivery::Lost) => {
                tracing::info!(id = item.id, channel = %key, "another daemon took this message over; left to it");
                report.lost += 1;
                return Ok(());
            }
            Ok(Delivery::Stopped) => return Ok(()),
            Err(err) => Err(err),
        };
        let result = match &sent {
            Ok(()) => "sent",
            Err(SendError::Transient { .. }) => "retry",
            Err(SendError::Broken(_)) => "broken",
            Err(SendError::Migrated { .. }) => "migrated",
        };
        metrics::counter!("xunjian_sends_total", "channel" => item.channel.clone(), "result" => result)
            .increment(1);
        let now = clock.now();
        let owner = self.owner.as_str();
        match sent.map_err(|e| e.redacted(&self.redactor)) {
            Ok(()) => {
                if self.store.mark_sent(item.id, owner, now).await? {
                    report.sent += 1;
                } else {
                    // Only when a step outlasted the lease.
                    tracing::warn!(id = item.id, channel = %key, "sent, but the claim had passed to another daemon");
                    report.lost += 1;
                }
            }
            Err(SendError::Migrated { new_chat }) => {
                tracing::warn!(channel = %key, %new_chat, "the chat migrated; following it");
                let moved = ChannelState {
                    chat_override: Some(new_chat),
                    ..state
                };
                self.store.set_channel_state(&key, &moved, now).await?;
                self.store
                    .mark_failed(item.id, owner, "chat migrated; resending", now)
                    .await?;
                report.retried += 1;
            }
            Err(SendError::Transient {
                message,
                retry_after,
            }) => {
                let backoff = Duration::seconds(30 * 2_i64.pow(item.attempts.min(10)));
                let wait = retry_after
                    .and_then(|r| Duration::from_std(r).ok())
                    .unwrap_or(backoff)
                    .min(Duration::hours(6));
                if item.attempts.saturating_add(1) >= MAX_ATTEMPTS {
                    tracing::error!(channel = %key, error = %message, id = item.id, "message given up after its attempts");
                    if self.store.mark_dead(item.id, owner, &message, now).await? {
                        let reason = format!(
                            "消息 #{} 已尝试发送 {MAX_ATTEMPTS} 次仍失败，已放弃（最近的错误：{message}）",
                            item.id
                        );
                        self.tell_admins_elsewhere(&key, &reason, now).await?;
                        report.dead += 1;
                    }
                } else {
                    tracing::warn!(channel = %key, error = %message, attempts = item.attempts + 1, "send failed; will retry");
                    self.store
                        .mark_failed(item.id, owner, &message, now + wait)
                        .await?;
                    report.retried += 1;
                }
            }
            Err(SendError::Broken(reason)) => {
                tracing::error!(channel = %key, %reason, "channel broken");
                let broken = ChannelState {
                    is_broken: true,
                    reason: Some(reason.clone()),
                    ..state
                };
                self.store.set_channel_state(&key, &broken, now).await?;
                self.store.mark_failed(item.id, owner, &reason, now).await?;
                self.tell_admins_elsewhere(&key, &reason, now).await?;
                report.broken.push(key);
            }
        }
        Ok(())
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

    /// Sends what is left of a message: each text part and each file is a
    /// step, recorded as done when the channel took it, so a retry resends
    /// only the steps that did not go out. The claim is renewed before each
    /// step; a lost claim or a stop ends the message there.
    async fn send(
        &self,
        item: &OutboxItem,
        recipient: &str,
        clock: &Clock,
        stop: &CancellationToken,
    ) -> Result<Delivery, SendError> {
        let steps = self.steps(item).await?;
        let done = usize::try_from(item.steps_done).unwrap_or(usize::MAX);
        for (index, step) in steps.iter().enumerate().skip(done) {
            if stop.is_cancelled() {
                return Ok(Delivery::Stopped);
            }
            let renewed = self
                .store
                .renew_claim(item.id, &self.owner, clock.now(), self.claim_lease)
                .await
                .map_err(|err| SendError::Transient {
                    message: format!("cannot renew the claim: {err}"),
                    retry_after: None,
                })?;
            if !renewed {
                return Ok(Delivery::Lost);
            }
            self.send_step(item, recipient, step, index).await?;
            let finished = u32::try_from(index + 1).unwrap_or(u32::MAX);
            match self
                .store
                .mark_steps_done(item.id, &self.owner, finished)
                .await
            {
                Ok(true) => {}
                Ok(false) => return Ok(Delivery::Lost),
                // That step went out but is not recorded: it may go out once more.
                Err(err) => {
                    return Err(SendError::Transient {
                        message: format!("cannot record the delivery step: {err}"),
                        retry_after: None,
                    });
                }
            }
        }
        Ok(Delivery::Done)
    }

    /// The delivery steps of a message on its channel.
    async fn steps(&self, item: &OutboxItem) -> Result<Vec<Step>, SendError> {
        if item.channel == "telegram" {
            let mut steps: Vec<Step> = message_parts(&item.body, &item.mentions)
                .into_iter()
                .map(Step::Text)
                .collect();
            steps.extend(self.attachments(item.id).await?.into_iter().map(Step::File));
            Ok(steps)
        } else if is_app_bot(&item.channel) {
            // Text only: files go to Telegram and WeCom robots.
            Ok(self
                .app_parts(&item.channel, &item.recipient, &item.body, &item.mentions)?
                .into_iter()
                .map(Step::Text)
                .collect())
        } else if let Some(name) = item.channel.strip_prefix("robot:") {
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
                        .filter(|f| f.kind == "document")
                        .map(Step::File),
                );
            }
            Ok(steps)
        } else {
            // Files are written to disk by whoever queued a console message (demo, CLI).
            Ok(vec![Step::Text(item.body.clone())])
        }
    }

    async fn send_step(
        &self,
        item: &OutboxItem,
        recipient: &str,
        step: &Step,
        index: usize,
    ) -> Result<(), SendError> {
        if item.channel == "telegram" {
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
        } else if is_app_bot(&item.channel) {
            match step {
                Step::Text(part) => {
                    // Feishu sends one message per uuid: a retry after a
                    // lost answer does not post the step twice.
                    let uuid = format!("xunjian-{}-{index}", item.id);
                    self.send_app_part(&item.channel, recipient, part, Some(&uuid))
                        .await
                }
                Step::File(_) => Ok(()),
            }
        } else if let Some(name) = item.channel.strip_prefix("robot:") {
            let Some(robot) = self.robots.get(name) else {
                return Err(SendError::Broken(format!(
                    "robot \"{name}\" is not configured"
                )));
            };
            match step {
                Step::Text(part) => robot.send_part(part, &item.mentions).await,
                Step::File(file) => robot.send_file(file).await,
            }
        } else {
            if let Step::Text(body) = step {
                print_console(body, &item.mentions);
            }
            Ok(())
        }
    }

    /// A text message to a DingTalk or Feishu recipient as the parts it goes
    /// out in; `Broken` when that app is not configured.
    fn app_parts(
        &self,
        channel: &str,
        recipient: &str,
        body: &str,
        mentions: &[Mention],
    ) -> Result<Vec<String>, SendError> {
        if channel == "feishu" {
            self.feishu_api()?;
            Ok(feishu_parts(body, recipient, mentions))
        } else {
            Ok(self.dingtalk_app()?.parts(body))
        }
    }

    /// Sends one part made by [`Notifier::app_parts`].
    async fn send_app_part(
        &self,
        channel: &str,
        recipient: &str,
        part: &str,
        uuid: Option<&str>,
    ) -> Result<(), SendError> {
        if channel == "feishu" {
            send_feishu(self.feishu_api()?, recipient, part, uuid).await
        } else {
            self.dingtalk_app()?.send_part(recipient, part).await
        }
    }

    fn feishu_api(&self) -> Result<&crate::commands::feishu::FeishuApi, SendError> {
        self.feishu.as_ref().ok_or_else(|| {
            SendError::Broken(
                "the Feishu app is not configured ([feishu] app_id, XUNJIAN_FEISHU_APP_SECRET)"
                    .into(),
            )
        })
    }

    fn dingtalk_app(&self) -> Result<&DingtalkApp, SendError> {
        self.dingtalk.as_ref().ok_or_else(|| {
            SendError::Broken(
                "the DingTalk app is not configured ([dingtalk] client_id, XUNJIAN_DINGTALK_CLIENT_SECRET)"
                    .into(),
            )
        })
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
            let message = Message::plain(&target.channel, &target.recipient, &body);
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
        let sent = match admin.channel.as_str() {
            "telegram" => {
                let telegram = self.telegram.as_ref()?;
                let chat = admin.recipient.parse().ok()?;
                telegram.send(chat, body, &[]).await
            }
            channel if is_app_bot(channel) => {
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

/// The channels of the DingTalk and Feishu apps' bots.
fn is_app_bot(channel: &str) -> bool {
    matches!(channel, "dingtalk" | "feishu")
}

/// Mentions per message, so a tag is never cut.
const FEISHU_MENTIONS_PER_PART: usize = 40;

/// A message to Feishu as the messages it goes out in: the text, made
/// [`plain`](crate::commands::feishu::plain), in parts; in a group, the
/// contacts known by open_id mentioned after it (40 to a message).
fn feishu_parts(body: &str, recipient: &str, mentions: &[Mention]) -> Vec<String> {
    use crate::commands::feishu::{at_tag, plain};
    let mut parts: Vec<String> = crate::commands::split_reply(body)
        .iter()
        .map(|part| plain(part))
        .collect();
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
    api: &crate::commands::feishu::FeishuApi,
    recipient: &str,
    text: &str,
    uuid: Option<&str>,
) -> Result<(), SendError> {
    let (kind, id) = match recipient.split_once(':') {
        Some(("chat", id)) if !id.is_empty() => ("chat_id", id),
        Some(("user", id)) if !id.is_empty() => ("open_id", id),
        _ => {
            return Err(SendError::Broken(format!(
                "\"{recipient}\" is not a Feishu recipient (chat:oc_… or user:ou_…)"
            )));
        }
    };
    api.send_one(kind, id, text, uuid).await.map_err(|err| {
        if err.is_transient() {
            SendError::Transient {
                message: err.to_string(),
                retry_after: None,
            }
        } else {
            SendError::Broken(err.to_string())
        }
    })
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
            vec![crate::commands::feishu::plain(body)],
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
