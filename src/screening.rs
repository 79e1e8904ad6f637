//! Content inspection as the CLI, the chat and the daemon run it: rescans of
//! stored posts, 误报 and 已整改, 转载任务 (added, matched against stored
//! posts, reminded one workday before they are due) and text retention.
//!
//! In: the store, the settings, the compiled [`Checker`], `now`. The pure
//! parts are in [`crate::content`] and [`crate::rules`].

use crate::calendar::{Calendar, local_date};
use crate::config::Settings;
use crate::content::{
    Checker, ContentFinding, FindingState, RepostTask, TaskProgress, is_closing_notice,
    is_targeted, matches_task, unpack, unpack_units,
};
use crate::registry::Register;
use crate::storage::{NewTask, Store};
use anyhow::Context as _;
use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc};

/// Stored posts read per page of a rescan.
const PAGE: i64 = 2_000;

/// What a rescan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rescan {
    pub posts: u64,
    pub new_findings: u64,
    pub notices: u64,
    pub task_matches: u64,
}

/// Scans every stored text published since `since` again (after the lists
/// changed): new findings are added, kept ones stay as they are.
pub async fn rescan(
    store: &Store,
    checker: &Checker,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Rescan> {
    let allow = store.allow_list().await?;
    let tasks = store.tasks(false).await?;
    let register = store.load_register().await?;
    let accounts = register.accounts_by_id();
    let year = local_date(now).year();
    let mut done = Rescan::default();
    let mut after = 0;
    // The units of the text being scanned (one buffer for the whole rescan).
    let mut units = Vec::new();
    loop {
        let page = store.stored_texts(since, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let mut checked = Vec::with_capacity(page.len());
        for mut stored in page {
            // A row that does not unpack is scanned as empty. The text and
            // its units are dropped once scanned, the kept bytes too: what
            // is saved below needs none of them.
            let text =
                unpack_units(&std::mem::take(&mut stored.packed), &mut units).unwrap_or_default();
            let title = stored.title.clone().unwrap_or_default();
            let allowed: Vec<String> = [stored.account_id.as_str(), ""]
                .iter()
                .filter_map(|k| allow.get(*k))
                .flatten()
                .cloned()
                .collect();
            let account = accounts.get(stored.account_id.as_str());
            let post = crate::parse::Post {
                dedup_key: stored.dedup_key.clone(),
                published_at: stored.published_at,
                is_date_estimated: false,
                title: stored.title.clone(),
                link: stored.link.clone(),
                author: None,
                kind: crate::parse::PostKind::Unknown,
                evidence: String::new(),
                is_notice: is_closing_notice(&title, &text),
                hits: checker.scan_with_units(&title, &text, Some(&units), &allowed, year),
                tasks: tasks
                    .iter()
                    .filter(|t| account.is_some_and(|a| is_targeted(t, a)))
                    .filter(|t| stored.published_at >= t.starts_at)
                    .filter(|t| matches_task(t, &title, &text, stored.link.as_deref()))
                    .map(|t| t.id)
                    .collect(),
                text: String::new(),
                packed: Vec::new(),
            };
            done.notices += u64::from(post.is_notice);
            done.task_matches += post.tasks.len() as u64;
            checked.push((stored, post));
        }
        done.posts += checked.len() as u64;
        done.new_findings += store.save_rescan(&checked, now).await?;
        progress(done.posts);
    }
    Ok(done)
}

/// A task as typed by a clerk, checked: title, phrases, due date, units
/// (ids or names) and platforms.
pub struct TaskRequest {
    pub title: String,
    pub matches: Vec<String>,
    pub url: Option<String>,
    pub due_on: NaiveDate,
    /// Posts published from this day count (default: from now).
    pub starts_on: Option<NaiveDate>,
    pub units: Vec<String>,
    pub platforms: Vec<crate::registry::Platform>,
}

/// Adds a task, then records the stored posts published since its start
/// that already carry it. Returns (number, progress).
pub async fn add_task(
    store: &Store,
    request: TaskRequest,
    actor: &str,
    source: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(i64, TaskProgress)> {
    let title = request.title.trim().to_string();
    if title.chars().count() < 4 || title.chars().count() > 200 {
        anyhow::bail!("转载任务的标题应为 4 至 200 个字（用于在转载的文章中查找）");
    }
    if let Some(short) = request
        .matches
        .iter()
        .find(|m| m.trim().chars().count() < 4)
    {
        anyhow::bail!("匹配短语「{short}」太短：至少 4 个字，否则会误认其他文章");
    }
    if request.due_on < local_date(now) {
        anyhow::bail!("截止日期 {} 已过：请写今天或以后的日期", request.due_on);
    }
    let starts_at = match request.starts_on {
        Some(day) if day > request.due_on => {
            anyhow::bail!("开始日期 {day} 晚于截止日期 {}", request.due_on)
        }
        Some(day) => crate::calendar::start_of_day(day).min(now),
        None => now,
    };
    let register = store.load_register().await?;
    let mut units = Vec::new();
    for text in &request.units {
        let unit = register.find_unit(text).map_err(|candidates| {
            if candidates.is_empty() {
                anyhow::anyhow!("未找到单位「{text}」：请写单位ID或名称")
            } else {
                anyhow::anyhow!("「{text}」可指多个单位，请写单位ID")
            }
        })?;
        units.push(unit.id.clone());
    }
    let task = NewTask {
        title,
        matches: request
            .matches
            .iter()
            .map(|m| m.trim().to_string())
            .collect(),
        url: request.url.filter(|u| !u.trim().is_empty()),
        starts_at,
        due_on: request.due_on,
        units,
        platforms: request.platforms,
    };
    let id = store.add_task(&task, actor, source, now).await?;
    let stored = store
        .tasks(true)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .context("the task just added")?;
    if starts_at < now {
        // Looked up once per stored post: by id, not down the register.
        let accounts = register.accounts_by_id();
        let mut after = 0;
        loop {
            let page = store.stored_texts(starts_at, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let done: Vec<(String, i64, DateTime<Utc>)> = page
                .iter()
                .filter(|p| {
                    accounts
                        .get(p.account_id.as_str())
                        .is_some_and(|a| is_targeted(&stored, a))
                })
                .filter(|p| {
                    let title = p.title.as_deref().unwrap_or_default();
                    let text = unpack(&p.packed).unwrap_or_default();
                    matches_task(&stored, title, &text, p.link.as_deref())
                })
                .map(|p| (p.account_id.clone(), p.id, p.published_at))
                .collect();
            store.record_task_done(id, &done).await?;
        }
    }
    Ok((id, progress_of(store, &register, &stored).await?))
}

async fn progress_of(
    store: &Store,
    register: &Register,
    task: &RepostTask,
) -> anyhow::Result<TaskProgress> {
    Ok(TaskProgress::new(
        task,
        register,
        &store.tasks_done().await?,
    ))
}

/// Every task (closed ones too when asked) with its progress, newest first.
pub async fn task_progress(
    store: &Store,
    is_closed_too: bool,
) -> anyhow::Result<Vec<TaskProgress>> {
    let register = store.load_register().await?;
    let done = store.tasks_done().await?;
    Ok(store
        .tasks(is_closed_too)
        .await?
        .iter()
        .map(|t| TaskProgress::new(t, &register, &done))
        .collect())
}

/// The tasks due in `from..=to` with their progress (for the 通报).
pub async fn tasks_due_in(
    store: &Store,
    register: &Register,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<TaskProgress>> {
    let done = store.tasks_done().await?;
    let mut out: Vec<TaskProgress> = store
        .tasks(true)
        .await?
        .iter()
        .filter(|t| t.due_on >= from && t.due_on <= to)
        .map(|t| TaskProgress::new(t, register, &done))
        .collect();
    out.sort_by_key(|p| p.id);
    Ok(out)
}

/// Closes a finding as 误报 (`Dismissed`) or 已整改 (`Fixed`); the reply.
pub async fn close_finding(
    store: &Store,
    id: i64,
    state: FindingState,
    actor: &str,
    source: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let Some(finding) = store.content_finding(id).await? else {
        anyhow::bail!("没有编号为 {id} 的错敏信息（见 xunjian content list 或 xunjian check）");
    };
    if finding.state != FindingState::Open {
        anyhow::bail!(
            "错敏信息 #{id} 已是「{}」（{}）",
            finding.state.label(),
            finding.closed_by.as_deref().unwrap_or("?")
        );
    }
    store
        .close_content_finding(&finding, state, actor, source, reason, now)
        .await?;
    Ok(match state {
        FindingState::Dismissed => format!(
            "已将 #{id}「{}」标记为误报：此账号今后不再提示「{}」，下次巡检起不再计入。",
            finding.matched, finding.matched
        ),
        _ => format!(
            "已确认 #{id}「{}」整改完成，下次巡检起不再计入。",
            finding.matched
        ),
    })
}

/// Reminds the units whose accounts have not reposted, once per task, on
/// the last workday before its due date (or the due date itself when the
/// task was set later). Returns how many tasks were reminded.
pub async fn remind_tasks(
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let today = local_date(now);
    let tasks: Vec<RepostTask> = store
        .tasks(false)
        .await?
        .into_iter()
        .filter(|t| t.reminded_at.is_none() && t.due_on >= today)
        .filter(|t| today >= reminder_day(calendar, t.due_on))
        .collect();
    if tasks.is_empty() {
        return Ok(0);
    }
    let register = store.load_register().await?;
    let done = store.tasks_done().await?;
    let mut reminded = 0;
    for task in tasks {
        let progress = TaskProgress::new(&task, &register, &done);
        let mut by_unit: Vec<(String, Vec<String>)> = Vec::new();
        for id in &progress.missing {
            let Some(account) = register.account(id) else {
                continue;
            };
            let line = format!("「{}」({})", account.name, account.platform.label());
            match by_unit.iter_mut().find(|(u, _)| *u == account.unit) {
                Some((_, lines)) => lines.push(line),
                None => by_unit.push((account.unit.clone(), vec![line])),
            }
        }
        let mut messages = Vec::new();
        for (unit, lines) in &by_unit {
            let body = format!(
                "【转载任务提醒】「{}」须于{}前转载，以下账号尚未转载：{}。请尽快转载（标题或正文含任务标题，或链接原文）。",
                task.title,
                crate::calendar::date_cn(task.due_on),
                lines.join("、")
            );
            messages.extend(crate::rectification::to_unit(
                unit, &body, &register, settings,
            ));
        }
        if store.remind_task(task.id, &messages, now).await? {
            reminded += 1;
        }
    }
    Ok(reminded)
}

/// The last workday before `due` (the due day when none is in the week before).
pub fn reminder_day(calendar: &Calendar, due: NaiveDate) -> NaiveDate {
    (1..=7)
        .map(|n| due - Duration::days(n))
        .find(|d| calendar.is_workday(*d))
        .unwrap_or(due)
}

/// Forgets texts older than `content.retention_days`.
pub async fn prune_texts(
    store: &Store,
    settings: &Settings,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let before = now - Duration::days(i64::from(settings.content.retention_days));
    Ok(store.prune_post_texts(before).await?)
}

/// The findings as lines for people, grouped by account.
pub fn render_findings(findings: &[ContentFinding], register: &Register) -> String {
    if findings.is_empty() {
        return "没有错敏信息。\n".to_string();
    }
    let mut out = String::new();
    let mut last = "";
    for f in findings {
        if f.account_id != last {
            let who = register.account(&f.account_id).map_or_else(
                || f.account_id.clone(),
                |a| {
                    let unit = register
                        .unit(&a.unit)
                        .map_or(a.unit.as_str(), |u| u.name.as_str());
                    format!("{unit}「{}」({})", a.name, a.platform.label())
                },
            );
            out.push_str(&format!("{who}\n"));
            last = &f.account_id;
        }
        out.push_str(&format!("  {} [{}]\n", f.line(), f.state.label()));
        out.push_str(&format!("    {}\n", f.context));
        if let Some(link) = &f.post_link {
            out.push_str(&format!("    {link}\n"));
        }
    }
    out
}

/// The 错敏信息 of a check, one item per line with its post's time, title,
/// the text around the match, the suggestion and the link (masked).
pub fn check_details(result: &crate::rules::CheckResult) -> String {
    use crate::domain::Rule;
    let mut out = String::new();
    let mut count = 0;
    for account in &result.accounts {
        for f in account
            .findings
            .iter()
            .filter(|f| matches!(f.rule, Rule::Wording | Rule::PersonalData))
        {
            for item in f.evidence["findings"].as_array().into_iter().flatten() {
                count += 1;
                let text = |key: &str| item[key].as_str().unwrap_or_default().to_string();
                let published = chrono::DateTime::parse_from_rfc3339(&text("published_at"))
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default();
                out.push_str(&format!(
                    "  #{} 「{}」({}) {published} 《{}》\n    问题：「{}」（{}，{}）{}\n    原文：{}\n",
                    item["id"].as_i64().unwrap_or(0),
                    account.name,
                    crate::registry::Platform::from_id(&account.platform)
                        .map_or(account.platform.as_str(), |p| p.label()),
                    text("title"),
                    text("matched"),
                    text("category"),
                    text("level"),
                    match text("suggestion") {
                        s if s.is_empty() => String::new(),
                        s => format!("，建议：{s}"),
                    },
                    text("context"),
                ));
                if !text("link").is_empty() {
                    out.push_str(&format!("    链接：{}\n", text("link")));
                }
            }
        }
    }
    if count == 0 {
        return String::new();
    }
    format!(
        "\n错敏信息明细（{count}）：误报请管理员发送 /误报 编号 理由，或运行 xunjian content dismiss 编号\n{out}"
    )
}
