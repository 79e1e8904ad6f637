//! Importing the register file: the plan, the guard against undoing
//! changes made elsewhere (in chat, or by another file imported last), and
//! the file the database remembers so `run` imports that one.

use super::App;
use crate::registry::audit::{self, Conflict, ConflictError};
use crate::registry::diff::{Change, Plan, plan};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

impl App {
    /// Reconciles the register file into the database; refuses (with a
    /// [`ConflictError`]) to undo changes made in chat since the last import.
    pub async fn import(
        &self,
        is_pruning: bool,
        is_dry_run: bool,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Plan> {
        let options = ImportOptions {
            is_pruning,
            is_dry_run,
            is_forced: false,
        };
        Ok(self.import_checked(&options, now).await?.plan)
    }

    /// Reconciles the register file into the database and records the
    /// import in the audit trail. Changes made in chat since the last import
    /// that the file would undo are conflicts: the import is refused unless
    /// forced (a dry run only reports them).
    pub async fn import_checked(
        &self,
        options: &ImportOptions,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Import> {
        // The newest audit entry now: a change after it voids this import.
        let seen = self.store.last_register_event_id().await?;
        // A workbook of 200,000 rows takes a while: off the async workers.
        let (settings, path) = (self.settings.clone(), self.accounts_path.clone());
        let wanted = tokio::task::spawn_blocking(move || super::read_register(&settings, &path))
            .await
            .context("while reading the register file")??;
        let current = self.store.load_register().await?;
        let plan = plan(&current, &wanted, options.is_pruning);
        let recent = self.store.changes_since_file_import().await?;
        // Another file than the one imported last: whatever it would
        // change or remove undoes that file's (or chat's) work.
        let previous = self.remembered_file().await?;
        let previous_file = previous
            .filter(|p| *p != absolute(&self.accounts_path))
            .map(|p| p.display().to_string());
        let is_undoing = |change: &Change| match change {
            Change::RemoveAccount(_) | Change::RemoveUnit(_) => true,
            Change::UpdateAccount { .. } | Change::UpdateUnit { .. } => previous_file.is_some(),
            Change::InsertAccount(_) | Change::InsertUnit(_) => false,
        };
        // The newest audit entry of each entry the plan would undo: read at
        // once (one query an entry took 10 s for 100,000), only when any.
        let latest: HashMap<(String, String), _> = if plan.changes.iter().any(is_undoing) {
            let mut every = self.store.latest_register_events().await?;
            plan.changes
                .iter()
                .filter(|change| is_undoing(change))
                .filter_map(|change| {
                    let (entity, id, _) = change.describe();
                    let key = (entity.to_string(), id.to_string());
                    every.remove(&key).map(|event| (key, event))
                })
                .collect()
        } else {
            HashMap::new()
        };
        let lookup =
            |entity: &str, id: &str| latest.get(&(entity.to_string(), id.to_string())).cloned();
        // Chat changes since the last import, and (from another file) what
        // that file or chat set after this file was saved.
        let mut conflicts = audit::conflicts(&plan, &recent, &lookup);
        if previous_file.is_some() {
            // Looked up, not searched: 100,000 accounts renamed by another
            // file took 76 s comparing every conflict with every other.
            let mut known: std::collections::HashSet<(String, String, Option<String>)> = conflicts
                .iter()
                .map(|c| (c.entity.clone(), c.entity_id.clone(), c.field.clone()))
                .collect();
            for found in audit::undone(&plan, &lookup, modified_at(&self.accounts_path)) {
                let key = (
                    found.entity.clone(),
                    found.entity_id.clone(),
                    found.field.clone(),
                );
                if known.insert(key) {
                    conflicts.push(found);
                }
            }
        }
        // The other file is named when something it set would be undone.
        let previous_file =
            previous_file.filter(|_| conflicts.iter().any(|c| c.by.source == "file"));
        let file = file_name(&self.accounts_path);
        if !conflicts.is_empty() && !options.is_forced && !options.is_dry_run {
            return Err(ConflictError {
                file,
                conflicts,
                previous_file,
            }
            .into());
        }
        if !options.is_dry_run {
            let import = serde_json::json!({
                "file": file,
                "changes": plan.changes.len(),
                "overridden": conflicts.len(),
            });
            self.store
                .apply_import(&plan, &self.actor, &import, seen, now)
                .await
                .context("while saving the register")?;
            remember_import(self).await?;
        }
        Ok(Import {
            plan,
            conflicts,
            previous_file,
        })
    }

    /// Imports the register file only when it changed since the last import,
    /// so changes made in chat survive a restart; a file that would undo a
    /// chat change is not imported, and the admins are told.
    pub async fn import_if_changed(&self, now: DateTime<Utc>) -> anyhow::Result<FileImport> {
        // Daemons starting together on one database import one at a time;
        // the others then find the file already imported.
        let owner = crate::process::owner();
        let lease = chrono::Duration::minutes(2);
        let mut waited = 0;
        while !self
            .store
            .acquire_lease("register_import", &owner, Utc::now(), lease)
            .await?
        {
            waited += 1;
            if waited > 150 {
                anyhow::bail!("another daemon has been importing the register for 2.5 minutes");
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        let imported = self.import_unless_imported(now).await;
        if let Err(err) = self.store.release_lease("register_import", &owner).await {
            tracing::warn!(error = %err, "cannot release the import lease");
        }
        imported
    }

    async fn import_unless_imported(&self, now: DateTime<Utc>) -> anyhow::Result<FileImport> {
        let hash = file_hash(&self.accounts_path)?;
        if self.store.meta("register_file_sha256").await?.as_deref() == Some(hash.as_str()) {
            return Ok(FileImport::Unchanged);
        }
        let plan = match self.import(false, false, now).await {
            Ok(plan) => plan,
            Err(err) => match err.downcast::<ConflictError>() {
                Ok(conflict) => {
                    self.tell_admins(&conflict.to_string(), now).await?;
                    return Ok(FileImport::Refused(conflict));
                }
                Err(err) => return Err(err),
            },
        };
        Ok(FileImport::Imported(plan))
    }

    /// Queues a message to every admin on every chat that reaches them.
    async fn tell_admins(&self, text: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        for admin in self.settings.admin_chats() {
            let message =
                crate::alerts::compose::Message::plain(&admin, &format!("【台账】{text}"));
            self.store.enqueue(&message, now).await?;
        }
        Ok(())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// What to do on import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Remove accounts and units the file no longer holds.
    pub is_pruning: bool,
    pub is_dry_run: bool,
    /// Apply the file even over changes made in chat since the last import.
    pub is_forced: bool,
}

/// An import's plan and the chat changes it undoes (forced) or would undo (dry run).
#[derive(Debug, Clone)]
pub struct Import {
    pub plan: Plan,
    pub conflicts: Vec<Conflict>,
    /// The file imported last, when this one is another.
    pub previous_file: Option<String>,
}

/// What `run` did with the register file.
#[derive(Debug)]
pub enum FileImport {
    /// Imported since it changed.
    Imported(Plan),
    /// Unchanged since the last import: nothing read.
    Unchanged,
    /// Not imported: it would undo changes made in chat.
    Refused(ConflictError),
}

fn file_hash(path: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path).with_context(|| format!("while reading {}", path.display()))?;
    Ok(sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Remembers the imported file (where it is and what it held), so `run`
/// imports that file and does not import it again over chat changes.
pub async fn remember_import(app: &App) -> anyhow::Result<()> {
    let hash = file_hash(&app.accounts_path)?;
    app.store.set_meta("register_file_sha256", &hash).await?;
    let path = absolute(&app.accounts_path);
    app.store
        .set_meta("register_file_path", &path.display().to_string())
        .await?;
    Ok(())
}

/// When a file was last saved; the epoch when that cannot be read.
fn modified_at(path: &Path) -> DateTime<Utc> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(DateTime::<Utc>::from)
        .unwrap_or_default()
}

/// A path as the database remembers it: absolute, links resolved.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|dir| dir.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

impl App {
    /// The register file imported last (CLI or daemon), as remembered.
    pub async fn remembered_file(&self) -> anyhow::Result<Option<PathBuf>> {
        Ok(self
            .store
            .meta("register_file_path")
            .await?
            .filter(|p| !p.is_empty())
            .map(PathBuf::from))
    }
}
