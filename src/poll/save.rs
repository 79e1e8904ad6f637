//! Saving a cycle's results: a batch in one transaction, each account
//! alone when the batch fails.

use super::job::Checked;
use super::{PollReport, Poller, Prepared};
use crate::storage::StorageError;
use chrono::{DateTime, Utc};

impl Poller {
    /// Saves a batch of checked results and records the findings they show
    /// fixed.
    pub(super) async fn save_checked(
        &self,
        batch: Vec<Checked>,
        now: DateTime<Utc>,
    ) -> Vec<PollReport> {
        let mut fixed = Vec::new();
        let prepared: Vec<Prepared> = batch
            .into_iter()
            .map(|checked| {
                fixed.extend(checked.fixed);
                checked.prepared
            })
            .collect();
        tracing::debug!(accounts = prepared.len(), "saving a batch");
        let reports = self.save(prepared, now).await;
        if !fixed.is_empty() {
            if let Err(err) = self.store.fix_content_findings(&fixed, now).await {
                tracing::error!(error = %err, "cannot record corrected posts");
            }
        }
        reports
    }

    /// Saves a batch of prepared results in one transaction, filling in
    /// each report's new posts. When the batch fails, each account is tried
    /// alone, so one bad row cannot cost the others their results.
    async fn save(&self, batch: Vec<Prepared>, now: DateTime<Utc>) -> Vec<PollReport> {
        let mut reports = Vec::with_capacity(batch.len());
        let mut results = Vec::new();
        // Per result, the place of its report.
        let mut owners: Vec<usize> = Vec::new();
        for prepared in batch {
            if let Some(save) = prepared.save {
                owners.push(reports.len());
                results.push(save);
            }
            reports.push(prepared.report);
        }
        if results.is_empty() {
            return reports;
        }
        let tried = results.len();
        let (results, saved) = self.store.save_fetches(results, now).await;
        match saved {
            Ok(counts) => {
                for (owner, count) in owners.iter().zip(counts) {
                    if let Some(report) = reports.get_mut(*owner) {
                        report.new_posts = count;
                    }
                }
            }
            // Alone already, or not handed back (the writer is gone).
            Err(err) if tried == 1 || results.len() != tried => {
                for owner in &owners {
                    if let Some(report) = reports.get_mut(*owner) {
                        self.unsaved(report, &err, now);
                    }
                }
            }
            Err(_) => {
                for (owner, result) in owners.iter().zip(results) {
                    let (_, saved) = self.store.save_fetches(vec![result], now).await;
                    let Some(report) = reports.get_mut(*owner) else {
                        continue;
                    };
                    match saved {
                        Ok(counts) => report.new_posts = counts.first().copied().unwrap_or(0),
                        Err(err) => self.unsaved(report, &err, now),
                    }
                }
            }
        }
        reports
    }

    /// Marks a report whose results could not be saved: it is tried again
    /// at the next cycle.
    fn unsaved(&self, report: &mut PollReport, err: &StorageError, now: DateTime<Utc>) {
        let err = self.work.prep.redactor.redact(&err.to_string());
        tracing::error!(account = %report.account_id, error = %err, "cannot save the fetch result");
        report.new_posts = 0;
        report.message = Some(format!("抓取结果未能保存，下次巡检重试（{err}）"));
        report.next_check_at = now;
        report.is_unsaved = true;
    }
}
