//! The content checks of a cycle: each fetched post is scanned (错敏词,
//! names, personal data) and matched against the open 转载任务 before it is
//! stored, so its findings are written with it.

use super::Prepared;
use crate::content::{Checker, ContentFinding, RepostTask, is_targeted, matches_task};
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
    /// Open findings by account: a fetch may show their posts corrected or deleted.
    open: HashMap<String, Vec<ContentFinding>>,
    year: i32,
}

impl CycleContent {
    /// The allow list and the open tasks as stored now.
    pub async fn load(
        checker: Arc<Checker>,
        store: &Store,
        now: DateTime<Utc>,
    ) -> anyhow::Result<CycleContent> {
        let (allow, tasks) = if checker.is_enabled {
            (store.allow_list().await?, store.tasks(false).await?)
        } else {
            (HashMap::new(), Vec::new())
        };
        let mut open: HashMap<String, Vec<ContentFinding>> = HashMap::new();
        if checker.is_enabled {
            for f in store.content_findings(true, None).await? {
                open.entry(f.account_id.clone()).or_default().push(f);
            }
        }
        Ok(CycleContent {
            checker,
            allow,
            tasks,
            open,
            year: crate::calendar::local_date(now).year(),
        })
    }

    /// Whether `account_id` has an open finding of the post `dedup_key`.
    pub fn is_open(&self, account_id: &str, dedup_key: &str) -> bool {
        self.open
            .get(account_id)
            .is_some_and(|open| open.iter().any(|f| f.dedup_key == dedup_key))
    }

    /// Fills in each new post's hits and tasks (the text is dropped when
    /// content checks are off) and leaves out the posts stored already;
    /// returns the open findings this fetch shows fixed: their post is in
    /// the feed without the problem (已更正), or gone from a feed that still
    /// lists older posts (已删除).
    pub fn check(&self, account: &Account, batch: &mut [Prepared]) -> Vec<(i64, String)> {
        let mut fixed = Vec::new();
        // The UTF-16 units of a text: scanned, then kept (one buffer for
        // the whole batch).
        let mut units = Vec::new();
        for prepared in batch.iter_mut() {
            let Some((state, posts)) = prepared.save.as_mut() else {
                continue;
            };
            let open = self.open.get(&state.account_id);
            let no_phrases = Vec::new();
            let own = self.allow.get(&state.account_id).unwrap_or(&no_phrases);
            let everyone = self.allow.get("").unwrap_or(&no_phrases);
            let allowed: Vec<String> = own.iter().chain(everyone).cloned().collect();
            for (index, post) in posts.iter_mut().enumerate() {
                // A post stored already keeps what it was found to hold when
                // first seen; it is checked again only to see an open finding
                // of it fixed.
                let is_stored = prepared.stored.get(index).copied().unwrap_or(false);
                // (`Preparer::prepare` asked the same of the parser, which
                // then left such a post without its text.)
                if is_stored && !self.is_open(&state.account_id, &post.dedup_key) {
                    continue;
                }
                if !self.checker.is_enabled {
                    post.text = String::new();
                    continue;
                }
                let title = post.title.as_deref().unwrap_or_default();
                crate::content::utf16_into(&post.text, &mut units);
                post.hits = self.checker.scan_with_units(
                    title,
                    &post.text,
                    Some(&units),
                    &allowed,
                    self.year,
                );
                post.tasks = self
                    .tasks
                    .iter()
                    .filter(|t| is_targeted(t, account))
                    .filter(|t| post.published_at >= t.starts_at)
                    .filter(|t| matches_task(t, title, &post.text, post.link.as_deref()))
                    .map(|t| t.id)
                    .collect();
                // Kept packed only: the batches waiting for the writer hold
                // half the bytes.
                post.packed = crate::content::pack_units(&post.text, &units);
                post.text = String::new();
            }
            if let Some(open) = open {
                fixed.extend(shown_fixed(open, posts));
            }
            // Nothing of a stored post is saved again.
            if prepared.stored.contains(&true) {
                let mut is_stored = prepared.stored.iter();
                posts.retain(|_| !is_stored.next().copied().unwrap_or(false));
            }
            prepared.stored = Vec::new();
        }
        fixed
    }
}

/// The open findings a successful fetch of `posts` shows fixed.
fn shown_fixed(open: &[ContentFinding], posts: &[crate::parse::Post]) -> Vec<(i64, String)> {
    let Some(oldest) = posts.iter().map(|p| p.published_at).min() else {
        return Vec::new();
    };
    open.iter()
        .filter_map(
            |f| match posts.iter().find(|p| p.dedup_key == f.dedup_key) {
                Some(post) if !post.hits.iter().any(|h| h.rule == f.rule && h.key == f.key) => {
                    Some((f.id, "复查时原文已更正".to_string()))
                }
                Some(_) => None,
                None if f.published_at > oldest => Some((f.id, "复查时原文已删除".to_string())),
                None => None,
            },
        )
        .collect()
}
