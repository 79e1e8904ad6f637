//! `[content]`: what the posts are checked for (错敏信息, personal data,
//! 停更公告) and how long their text is kept.

use serde::Deserialize;
use std::path::PathBuf;

/// One leader and the titles they hold (`[content] names`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    #[serde(default)]
    pub titles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContentSettings {
    /// Check what accounts post; false keeps no text and finds nothing.
    pub is_enabled: bool,
    /// Wording lists (错敏词): `.xlsx` (错误表述, 正确表述/说明, 类别, 级别)
    /// or `.toml` (`[[entry]]` wrong, right, category, level, exceptions);
    /// earlier files win over later ones and over the built-in list.
    pub lists: Vec<PathBuf>,
    /// Also use the built-in list (its sources are in the file).
    pub default_list: bool,
    /// Leaders and the titles they hold.
    pub names: Vec<Person>,
    /// Days a post's text is kept for rescanning (findings are kept for good).
    pub retention_days: u32,
    /// Days an account in 拟关停 has to publish its 停更公告.
    pub closing_notice_days: u32,
}

impl Default for ContentSettings {
    fn default() -> Self {
        ContentSettings {
            is_enabled: true,
            lists: Vec::new(),
            default_list: true,
            names: Vec::new(),
            retention_days: 90,
            closing_notice_days: 7,
        }
    }
}

impl ContentSettings {
    /// Problems with the settings, each naming its key.
    pub fn check(&self) -> Result<(), String> {
        if self.retention_days == 0 {
            return Err("content.retention_days：至少为 1 天".to_string());
        }
        if self.closing_notice_days == 0 {
            return Err("content.closing_notice_days：至少为 1 天".to_string());
        }
        for (n, person) in self.names.iter().enumerate() {
            let count = person.name.chars().count();
            if !(2..=6).contains(&count) {
                return Err(format!(
                    "content.names 第{}项：姓名「{}」应为 2 至 6 个字",
                    n + 1,
                    person.name
                ));
            }
            if person.titles.iter().any(|t| t.trim().is_empty()) {
                return Err(format!(
                    "content.names 第{}项（{}）：职务不能为空",
                    n + 1,
                    person.name
                ));
            }
        }
        Ok(())
    }
}
