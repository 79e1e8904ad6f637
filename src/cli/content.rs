//! `xunjian content …` and `xunjian task …`.

use super::{App, ItemsFormat, parse_platform};
use crate::content::{Checker, FindingState, render_tasks};
use crate::screening::{self, TaskRequest};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;

/// `xunjian content …`
#[derive(Debug, Subcommand)]
pub enum ContentAction {
    /// 重新扫描：按当前词表再查已保存的文章（词表、姓名或允许的表述改过之后）(rescan stored posts)
    Scan {
        /// 只扫描此日（含）之后发布的文章（YYYY-MM-DD；默认全部保存的文章）(since this day)
        #[arg(long, value_name = "DATE")]
        since: Option<NaiveDate>,
    },
    /// 查看错敏信息：默认只看待整改的 (list findings)
    List {
        /// 也列出已标为误报或已整改的 (all findings)
        #[arg(long)]
        all: bool,
        /// text 或 json (format)
        #[arg(long, value_enum, default_value = "text")]
        format: ItemsFormat,
    },
    /// 标记误报：此条不再计入，此账号今后不再提示同一表述（记入变更记录）(dismiss a false positive)
    Dismiss {
        /// 错敏信息编号（check、content list 中的 #N）(finding number)
        #[arg(value_name = "N")]
        id: i64,
        /// 理由 (reason)
        #[arg(value_name = "REASON", num_args = 0..)]
        reason: Vec<String>,
    },
    /// 确认已整改：平台不能修改、删除时，单位说明处理情况后由管理员确认 (confirm it was fixed)
    Resolve {
        /// 错敏信息编号 (finding number)
        #[arg(value_name = "N")]
        id: i64,
        /// 说明 (note)
        #[arg(value_name = "NOTE", num_args = 0..)]
        note: Vec<String>,
    },
    /// 允许表述：某账号（或全部账号）可使用此表述，不再提示 (allow a phrase)
    Allow {
        /// 只对此账号（默认全部账号）(only this account)
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// 允许的表述（可包含错敏词的更长说法）(the phrase)
        #[arg(value_name = "PHRASE")]
        phrase: String,
    },
}

/// `xunjian task …`
#[derive(Debug, Subcommand)]
pub enum TaskAction {
    /// 新增转载任务：各账号须在截止日前发布标题或正文含任务标题（或匹配短语、或链接原文）的文章 (add a task)
    Add {
        /// 要转载的文章标题 (title)
        #[arg(long, value_name = "TEXT")]
        title: String,
        /// 另一可匹配的短语（可重复）(another phrase a repost may carry)
        #[arg(long = "match", value_name = "PHRASE")]
        matches: Vec<String>,
        /// 原文链接 (the article's URL)
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// 截止日期（含，YYYY-MM-DD）(due date)
        #[arg(long, value_name = "DATE")]
        due: NaiveDate,
        /// 开始日期：此日起发布的文章计入（默认现在）(counted from this day)
        #[arg(long, value_name = "DATE")]
        from: Option<NaiveDate>,
        /// 只要求此单位（ID或名称，可重复；默认全部单位）(only this unit)
        #[arg(long, value_name = "UNIT")]
        unit: Vec<String>,
        /// 只要求此平台的账号（可重复；默认全部平台）(only this platform)
        #[arg(long, value_parser = parse_platform)]
        platform: Vec<crate::registry::Platform>,
    },
    /// 查看转载任务及完成情况 (list tasks)
    List {
        /// 也列出已关闭的任务 (closed ones too)
        #[arg(long)]
        all: bool,
    },
    /// 关闭转载任务：不再提醒、不再计入问题 (close a task)
    Close {
        #[arg(value_name = "N")]
        id: i64,
    },
}

pub async fn content(app: &App, action: ContentAction, now: DateTime<Utc>) -> anyhow::Result<()> {
    match action {
        ContentAction::Scan { since } => {
            let checker =
                Checker::from_settings(&app.settings.content).map_err(anyhow::Error::msg)?;
            let since = since.map_or(DateTime::<Utc>::MIN_UTC, crate::calendar::start_of_day);
            let done = screening::rescan(&app.store, &checker, since, now, &|n| {
                if n % 100_000 == 0 {
                    eprintln!("已扫描 {n} 篇…");
                }
            })
            .await?;
            println!(
                "已重新扫描 {} 篇文章（词表 {} 条，姓名 {} 人）：新增错敏信息 {} 条，停更公告 {} 篇，转载任务匹配 {} 篇。下次巡检起计入。",
                done.posts,
                checker.words.len(),
                checker.names.len(),
                done.new_findings,
                done.notices,
                done.task_matches
            );
        }
        ContentAction::List { all, format } => {
            let findings = app.store.content_findings(!all, None).await?;
            match format {
                ItemsFormat::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
                ItemsFormat::Text => {
                    let register = app.store.load_register().await?;
                    print!("{}", screening::render_findings(&findings, &register));
                }
            }
        }
        ContentAction::Dismiss { id, reason } => {
            let reply = screening::close_finding(
                &app.store,
                id,
                FindingState::Dismissed,
                &app.actor,
                "cli",
                &reason.join(" "),
                now,
            )
            .await?;
            println!("{reply}");
        }
        ContentAction::Resolve { id, note } => {
            let reply = screening::close_finding(
                &app.store,
                id,
                FindingState::Fixed,
                &app.actor,
                "cli",
                &note.join(" "),
                now,
            )
            .await?;
            println!("{reply}");
        }
        ContentAction::Allow { account, phrase } => {
            let phrase = phrase.trim();
            if phrase.chars().count() < 2 || phrase.chars().count() > 100 {
                anyhow::bail!("允许的表述应为 2 至 100 个字");
            }
            if let Some(id) = &account {
                if app.store.load_register().await?.account(id).is_none() {
                    anyhow::bail!(
                        "content allow --account {id}：数据库中没有这个账号（见 xunjian accounts）"
                    );
                }
            }
            app.store
                .allow_phrase(account.as_deref(), phrase, &app.actor, "cli", now)
                .await?;
            println!(
                "已允许{}使用「{phrase}」：今后不再提示（已有的错敏信息请用 content dismiss 标记误报）。",
                account
                    .as_deref()
                    .map_or("全部账号".to_string(), |a| format!("账号 {a} "))
            );
        }
    }
    Ok(())
}

pub async fn task(app: &App, action: TaskAction, now: DateTime<Utc>) -> anyhow::Result<()> {
    let register = || app.store.load_register();
    match action {
        TaskAction::Add {
            title,
            matches,
            url,
            due,
            from,
            unit,
            platform,
        } => {
            let request = TaskRequest {
                title,
                matches,
                url,
                due_on: due,
                starts_on: from,
                units: unit,
                platforms: platform,
            };
            let (id, progress) =
                screening::add_task(&app.store, request, &app.actor, "cli", now).await?;
            if progress.targeted == 0 {
                println!(
                    "已新增转载任务 #{id}，但没有符合条件的正常运维账号：请检查 --unit、--platform。"
                );
            } else {
                println!(
                    "已新增转载任务 #{id}：应转载 {} 个账号，已完成 {} 个；截止前一个工作日提醒未完成的单位。",
                    progress.targeted,
                    progress.on_time.len() + progress.late.len()
                );
            }
        }
        TaskAction::List { all } => {
            let progress = screening::task_progress(&app.store, all).await?;
            let today = crate::calendar::local_date(now);
            print!("{}", render_tasks(&progress, &register().await?, today));
        }
        TaskAction::Close { id } => {
            if !app.store.close_task(id, &app.actor, "cli", now).await? {
                anyhow::bail!("没有未关闭的转载任务 #{id}（见 xunjian task list --all）");
            }
            println!("已关闭转载任务 #{id}：不再提醒，不再计入问题。");
        }
    }
    Ok(())
}
