//! The register (台账): units, their contacts and their accounts.
//!
//! In: `accounts.toml` text (see [`load`]) or rows from storage.
//! Out: a validated [`Register`], the changes between two registers ([`diff`]),
//! and `accounts.toml` text again ([`export`]); the same as an Excel
//! workbook both ways ([`workbook`]).

pub mod audit;
pub mod check;
pub mod diff;
pub mod export;
pub mod history;
pub mod load;
mod toml_walk;
pub mod workbook;

use chrono::NaiveDate;
use serde::Serialize;
use std::fmt;

/// A platform an account lives on; the ids are part of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    WechatSubscription,
    WechatService,
    Weibo,
    Douyin,
    Toutiao,
    Kuaishou,
    Bilibili,
    Website,
    /// 微信视频号.
    WechatChannels,
    Xiaohongshu,
    Baijiahao,
    /// 人民号 (人民日报客户端).
    Renminhao,
    /// 学习强国号.
    Xuexi,
    /// Any other platform, kept in the register as the 台账 lists it.
    Other,
}

impl Platform {
    pub const ALL: [Platform; 14] = [
        Platform::WechatSubscription,
        Platform::WechatService,
        Platform::Weibo,
        Platform::Douyin,
        Platform::Toutiao,
        Platform::Kuaishou,
        Platform::Bilibili,
        Platform::Website,
        Platform::WechatChannels,
        Platform::Xiaohongshu,
        Platform::Baijiahao,
        Platform::Renminhao,
        Platform::Xuexi,
        Platform::Other,
    ];

    /// The id used in `accounts.toml`, JSON and the database.
    pub fn id(self) -> &'static str {
        match self {
            Platform::WechatSubscription => "wechat_subscription",
            Platform::WechatService => "wechat_service",
            Platform::Weibo => "weibo",
            Platform::Douyin => "douyin",
            Platform::Toutiao => "toutiao",
            Platform::Kuaishou => "kuaishou",
            Platform::Bilibili => "bilibili",
            Platform::Website => "website",
            Platform::WechatChannels => "wechat_channels",
            Platform::Xiaohongshu => "xiaohongshu",
            Platform::Baijiahao => "baijiahao",
            Platform::Renminhao => "renminhao",
            Platform::Xuexi => "xuexi",
            Platform::Other => "other",
        }
    }

    /// The label the 通报 use for this platform.
    pub fn label(self) -> &'static str {
        match self {
            Platform::WechatSubscription => "微信订阅号",
            Platform::WechatService => "微信服务号",
            Platform::Weibo => "微博",
            Platform::Douyin => "抖音",
            Platform::Toutiao => "今日头条",
            Platform::Kuaishou => "快手",
            Platform::Bilibili => "哔哩哔哩",
            Platform::Website => "网站/RSS",
            Platform::WechatChannels => "微信视频号",
            Platform::Xiaohongshu => "小红书",
            Platform::Baijiahao => "百家号",
            Platform::Renminhao => "人民号",
            Platform::Xuexi => "学习强国号",
            Platform::Other => "其他",
        }
    }

    pub fn from_id(id: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.id() == id)
    }

    /// Platforms no feed proxy reads: their accounts may be registered
    /// without a source and are then checked by hand (人工检查).
    pub fn is_without_route(self) -> bool {
        matches!(
            self,
            Platform::WechatChannels
                | Platform::Baijiahao
                | Platform::Renminhao
                | Platform::Xuexi
                | Platform::Other
        )
    }

    /// A platform by its id, its label or a name clerks use ("公众号",
    /// "服务号", "头条", "B站", "网站"); ASCII in any case.
    pub fn from_name(name: &str) -> Option<Platform> {
        let name = name.trim();
        let lower = name.to_ascii_lowercase();
        if let Some(p) = Platform::ALL
            .into_iter()
            .find(|p| p.id() == lower || p.label() == name)
        {
            return Some(p);
        }
        Some(match lower.as_str() {
            "公众号" | "订阅号" | "微信公众号" | "微信订阅号" => {
                Platform::WechatSubscription
            }
            "服务号" | "微信服务号" => Platform::WechatService,
            "新浪微博" | "政务微博" => Platform::Weibo,
            "抖音号" => Platform::Douyin,
            "快手号" => Platform::Kuaishou,
            "头条" | "今日头条" | "头条号" => Platform::Toutiao,
            "b站" | "哔哩哔哩" => Platform::Bilibili,
            "网站" | "rss" | "网站/rss" => Platform::Website,
            "视频号" | "微信视频号" => Platform::WechatChannels,
            "红书" => Platform::Xiaohongshu,
            "百度百家号" | "百家" => Platform::Baijiahao,
            "人民日报人民号" => Platform::Renminhao,
            "学习强国" | "强国号" => Platform::Xuexi,
            "其它" | "其他平台" => Platform::Other,
            _ => return None,
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// 部门 or 镇街/园区: the scoring sheet splits units this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Department,
    Town,
}

impl UnitKind {
    pub fn id(self) -> &'static str {
        match self {
            UnitKind::Department => "department",
            UnitKind::Town => "town",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UnitKind::Department => "部门",
            UnitKind::Town => "镇街",
        }
    }

    pub fn from_id(id: &str) -> Option<UnitKind> {
        [UnitKind::Department, UnitKind::Town]
            .into_iter()
            .find(|k| k.id() == id)
    }
}

/// The filing state of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    Active,
    Closing,
    Deregistered,
}

impl AccountState {
    pub const ALL: [AccountState; 3] = [
        AccountState::Active,
        AccountState::Closing,
        AccountState::Deregistered,
    ];

    pub fn id(self) -> &'static str {
        match self {
            AccountState::Active => "active",
            AccountState::Closing => "closing",
            AccountState::Deregistered => "deregistered",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AccountState::Active => "正常运维",
            AccountState::Closing => "正在注销",
            AccountState::Deregistered => "已注销",
        }
    }

    pub fn from_id(id: &str) -> Option<AccountState> {
        AccountState::ALL.into_iter().find(|s| s.id() == id)
    }

    /// A state by its id, its label or "拟关停"/"正常"/"注销".
    pub fn from_name(name: &str) -> Option<AccountState> {
        let name = name.trim();
        if let Some(s) = AccountState::ALL
            .into_iter()
            .find(|s| s.id() == name || s.label() == name)
        {
            return Some(s);
        }
        Some(match name {
            "正常" => AccountState::Active,
            "拟关停" | "关停" => AccountState::Closing,
            "注销" => AccountState::Deregistered,
            _ => return None,
        })
    }
}

impl fmt::Display for AccountState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A person who runs a unit's accounts and receives its alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub name: String,
    pub telegram_id: Option<i64>,
    /// Their DingTalk staffId (钉钉 userid), for the Stream bot.
    pub dingtalk_id: Option<String>,
    /// Their Feishu open_id (`ou_…`, as our app sees them), for the long-connection bot.
    pub feishu_open_id: Option<String>,
    pub phone: Option<String>,
}

/// A 主办单位: a department or a town that owns accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub id: String,
    pub name: String,
    pub kind: UnitKind,
    pub contacts: Vec<Contact>,
    /// The unit's own group, where its alerts and 整改通知 go instead of the
    /// shared contacts group: `telegram:-100…`, `dingtalk:cid…` (an
    /// openConversationId) or `feishu:oc_…` (a chat_id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
}

impl Unit {
    /// Where the unit's own group is, as an outbox target.
    pub fn chat_target(&self) -> Option<crate::domain::ChatTarget> {
        parse_unit_chat(self.chat.as_deref()?).ok()
    }
}

/// A unit's `chat` ("telegram:-1001234", "dingtalk:cid…", "feishu:oc_…") as
/// an outbox target; `Err` says, in Chinese, what is wrong with it.
pub fn parse_unit_chat(text: &str) -> Result<crate::domain::ChatTarget, String> {
    use crate::domain::{Channel, ChatTarget};
    let bad = || {
        format!(
            "单位群聊「{text}」无效：应为 telegram:群ID（如 telegram:-1001234567890）、dingtalk:openConversationId 或 feishu:oc_开头的 chat_id"
        )
    };
    let (platform, id) = text.trim().split_once(':').ok_or_else(bad)?;
    let id = id.trim();
    let is_plain = !id.is_empty()
        && id.chars().count() <= 128
        && !id.chars().any(|c| c.is_whitespace() || c.is_control());
    if !is_plain {
        return Err(bad());
    }
    match platform {
        "telegram" => id
            .parse::<i64>()
            .map(|chat| ChatTarget::new(Channel::Telegram, chat.to_string()))
            .map_err(|_| bad()),
        "dingtalk" => Ok(ChatTarget::new(Channel::Dingtalk, format!("group:{id}"))),
        "feishu" if id.starts_with("oc_") => {
            Ok(ChatTarget::new(Channel::Feishu, format!("chat:{id}")))
        }
        _ => Err(bad()),
    }
}

/// Where an account's posts are read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Source {
    /// A route on a proxy named in the settings (RSSHub, wewe-rss …).
    Proxy { proxy: String, route: String },
    /// A plain RSS/Atom/JSON feed URL.
    Feed { feed: String },
    /// None: an account on a platform with no proxy route of its own (视频号,
    /// 人民号 …), kept in the register and checked by hand (人工检查).
    Manual {},
}

/// Per-account overrides of the rule thresholds (days).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_1m_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zombie_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_6m_days: Option<u32>,
}

impl ThresholdOverrides {
    /// The `accounts.toml` keys, in the order they are written.
    pub const KEYS: [&'static str; 5] = [
        "warning_days",
        "stale_days",
        "stale_1m_days",
        "zombie_days",
        "stale_6m_days",
    ];

    pub fn get(&self, key: &str) -> Option<u32> {
        match key {
            "warning_days" => self.warning_days,
            "stale_days" => self.stale_days,
            "stale_1m_days" => self.stale_1m_days,
            "zombie_days" => self.zombie_days,
            "stale_6m_days" => self.stale_6m_days,
            _ => None,
        }
    }

    /// Sets one key; returns false for a key that is not a threshold.
    pub fn set(&mut self, key: &str, days: u32) -> bool {
        let slot = match key {
            "warning_days" => &mut self.warning_days,
            "stale_days" => &mut self.stale_days,
            "stale_1m_days" => &mut self.stale_1m_days,
            "zombie_days" => &mut self.zombie_days,
            "stale_6m_days" => &mut self.stale_6m_days,
            _ => return false,
        };
        *slot = Some(days);
        true
    }

    pub fn is_empty(&self) -> bool {
        Self::KEYS.iter().all(|k| self.get(k).is_none())
    }
}

/// One registered government account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: String,
    pub unit: String,
    pub name: String,
    pub platform: Platform,
    pub source: Source,
    pub state: AccountState,
    pub deregistered_on: Option<NaiveDate>,
    pub filing_ref: Option<String>,
    pub is_interactive: bool,
    pub thresholds: ThresholdOverrides,
    /// 备注: the clerk's note (the workbook's 备注 column), kept as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The whole register, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Register {
    pub units: Vec<Unit>,
    pub accounts: Vec<Account>,
}

impl Register {
    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.id == id)
    }

    /// One account by id, searched down the register: for a few look-ups.
    /// Many go through [`Register::accounts_by_id`].
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// The accounts by id, for looking up many (a rescan's or a new task's
    /// stored posts, a register compared with another).
    pub fn accounts_by_id(&self) -> std::collections::HashMap<&str, &Account> {
        self.accounts.iter().map(|a| (a.id.as_str(), a)).collect()
    }

    /// A unit by id, by its full name ("义堂镇"), or by a part of its name
    /// that only one unit has ("义堂"). `Err` lists the units it could be.
    pub fn find_unit(&self, text: &str) -> Result<&Unit, Vec<&Unit>> {
        let text = text.trim();
        if let Some(unit) = self
            .unit(text)
            .or_else(|| self.units.iter().find(|u| u.name == text))
        {
            return Ok(unit);
        }
        let partial: Vec<&Unit> = if text.chars().count() >= 2 {
            self.units
                .iter()
                .filter(|u| u.name.contains(text))
                .collect()
        } else {
            Vec::new()
        };
        match partial[..] {
            [one] => Ok(one),
            _ => Err(partial),
        }
    }
}

/// True for ids made of ASCII letters, digits, `-` and `_`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
