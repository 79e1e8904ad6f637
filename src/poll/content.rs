//! The content checks of a cycle: each fetched post is scanned (错敏词,
//! names, personal data) and matched against the open 转载任务 before it is
//! stored, so its findings are written with it.

use super::Prepared;
use crate::content::{Checker, RepostTask, is_targeted, matches_task};
use crate::registry::Account;
use crate::storage::Store;
use chrono::{DateTime, Datelike as _, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// What one cycle checks posts against.
pub struct CycleContent {
    checker: Arc<Checker>,
    allow: HashMap<String, Vec<String>>,
    tasks: Vec<RepostTask>,
    accounts: HashMap<String, Account>,
    year: i32,
}

impl CycleContent {
    /// The allow list and the open tasks as stored now.
    pub async fn load(
        checker: Arc<Checker>,
        store: &Store,
        accounts: &[Account],
        now: DateTime<Utc>,
    ) -> anyhow::Result<CycleContent> {
        let (allow, tasks) = if checker.is_enabled {
            (store.allow_list().await?, store.tasks(false).await?)
        } else {
            (HashMap::new(), Vec::new())
        };
        Ok(CycleContent {
            checker,
            allow,
            tasks,
            accounts: accounts.iter().map(|a| (a.id.clone(), a.clone())).collect(),
            year: crate::calendar::local_date(now).year(),
        })
    }

    /// Fills in each post's hits and tasks; drops the text when content
    /// checks are off.
    pub fn check(&self, batch: &mut [Prepared]) {
        for prepared in batch {
            let Some((state, posts)) = prepared.save.as_mut() else {
                continue;
            };
            let account = self.accounts.get(&state.account_id);
            let no_phrases = Vec::new();
            let own = self.allow.get(&state.account_id).unwrap_or(&no_phrases);
            let everyone = self.allow.get("").unwrap_or(&no_phrases);
            let allowed: Vec<String> = own.iter().chain(everyone).cloned().collect();
            for post in posts.iter_mut() {
                if !self.checker.is_enabled {
                    post.text = String::new();
                    continue;
                }
                let title = post.title.as_deref().unwrap_or_default();
                post.hits = self.checker.scan(title, &post.text, &allowed, self.year);
                post.tasks = self
                    .tasks
                    .iter()
                    .filter(|t| account.is_some_and(|a| is_targeted(t, a)))
                    .filter(|t| post.published_at >= t.starts_at)
                    .filter(|t| matches_task(t, title, &post.text, post.link.as_deref()))
                    .map(|t| t.id)
                    .collect();
            }
        }
    }
}
