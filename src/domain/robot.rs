//! The group robots offices add to their chats: which platform's, and the
//! limits that platform sets.

use std::fmt;

/// A group robot's platform (`kind` in `[robots.NAME]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RobotKind {
    /// 企业微信群机器人.
    WeCom,
    /// 钉钉自定义机器人.
    DingTalk,
    /// 飞书自定义机器人.
    Feishu,
}

impl RobotKind {
    pub const ALL: [RobotKind; 3] = [RobotKind::WeCom, RobotKind::DingTalk, RobotKind::Feishu];

    /// As written in the settings.
    pub fn id(self) -> &'static str {
        match self {
            RobotKind::WeCom => "wecom",
            RobotKind::DingTalk => "dingtalk",
            RobotKind::Feishu => "feishu",
        }
    }

    pub fn from_id(id: &str) -> Option<RobotKind> {
        RobotKind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// Bytes of text one message may carry.
    pub fn max_bytes(self) -> usize {
        match self {
            RobotKind::WeCom => 2000,
            RobotKind::DingTalk | RobotKind::Feishu => 18_000,
        }
    }

    /// Messages allowed per minute by the platform.
    pub fn per_minute(self) -> usize {
        match self {
            RobotKind::WeCom | RobotKind::DingTalk => 20,
            RobotKind::Feishu => 100,
        }
    }

    /// Only WeCom robots can post files (the .docx and XLSX).
    pub fn takes_files(self) -> bool {
        self == RobotKind::WeCom
    }
}

impl fmt::Display for RobotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl<'de> serde::Deserialize<'de> for RobotKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RobotKind, D::Error> {
        let id = String::deserialize(deserializer)?;
        RobotKind::from_id(&id).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "未知的机器人类型「{id}」（应为 wecom、dingtalk 或 feishu）"
            ))
        })
    }
}

/// What a file attached to a message is: Telegram sends a chart as a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A .docx or XLSX file.
    Document,
    /// A PNG chart.
    Photo,
}

impl FileKind {
    /// As stored with the outbox.
    pub fn id(self) -> &'static str {
        match self {
            FileKind::Document => "document",
            FileKind::Photo => "photo",
        }
    }

    /// A stored kind; anything unknown is sent as a document.
    pub fn from_id(id: &str) -> FileKind {
        if id == "photo" {
            FileKind::Photo
        } else {
            FileKind::Document
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robot_kinds_read_back_from_their_ids_and_a_typo_is_refused_in_chinese() {
        for kind in RobotKind::ALL {
            assert_eq!(RobotKind::from_id(kind.id()), Some(kind));
        }
        #[derive(serde::Deserialize)]
        struct R {
            #[allow(dead_code)]
            kind: RobotKind,
        }
        let err = toml::from_str::<R>("kind = \"wechat\"")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("未知的机器人类型「wechat」")));
        assert_eq!(FileKind::from_id(FileKind::Photo.id()), FileKind::Photo);
        assert_eq!(FileKind::from_id("document"), FileKind::Document);
    }
}
