//! Running one parsed command: the daemon, imports and exports, checks,
//! reports and the operator's tools.

use super::*;

/// Runs one parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if matches!(cli.command, Command::Demo) {
        crate::demo::run(cli.now.unwrap_or_else(Utc::now)).await?;
        return Ok(());
    }
    let env = |key: &str| std::env::var(key).ok();
    let settings = Settings::load(cli.config.as_deref(), &env)?;
    let now = cli.now.unwrap_or_else(Utc::now);
    // `run` without --accounts reads the file the database imported last.
    let is_given = cli.accounts.is_some();
    let is_read = matches!(cli.command, Command::Import { .. })
        || (is_given && matches!(cli.command, Command::Run { .. }));
    let register_file = accounts_path(cli.accounts, is_read)?;
    let by = cli.by.as_deref();
    match cli.command {
        Command::Holidays { action } => {
            let app = App::open(settings, register_file).await?.by(by);
            match action {
                HolidaysAction::Import { file } => {
                    let name = file.display().to_string();
                    // A notice's dates fit in a few KB: no device, pipe or huge file.
                    match std::fs::metadata(&file) {
                        Ok(meta) if !meta.is_file() => {
                            anyhow::bail!("节假日文件 {name} 不是普通文件")
                        }
                        Ok(meta) if meta.len() > 1024 * 1024 => {
                            anyhow::bail!("节假日文件 {name} 过大（最多 1 MB）")
                        }
                        _ => {}
                    }
                    let text = std::fs::read_to_string(&file)
                        .map_err(|e| anyhow::anyhow!("无法读取节假日文件 {name}：{}", io_cn(&e)))?;
                    let year =
                        crate::calendar::read_holidays(&name, &text).map_err(anyhow::Error::msg)?;
                    app.store
                        .save_holiday_year(year.year, &year.json, &name, &app.actor, now)
                        .await?;
                    println!(
                        "已导入 {} 年法定节假日安排：放假 {} 天，调休上班 {} 天（{}），存入数据库 {}。正在运行的 xunjian run 需重启后生效。",
                        year.year,
                        year.off_days,
                        year.work_days,
                        year.names.join("、"),
                        crate::config::redact_url(&app.settings.database.url)
                    );
                }
                HolidaysAction::List => {
                    print!("{}", holidays_table(&app, now).await?);
                }
            }
        }
        Command::Backup { file } => {
            let app = App::open(settings, register_file).await?.by(by);
            if file.exists() {
                anyhow::bail!("备份文件 {} 已存在：请换一个文件名", file.display());
            }
            let parent = file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            if !parent.is_dir() {
                anyhow::bail!(
                    "无法备份到 {}：目录 {} 不存在",
                    file.display(),
                    parent.display()
                );
            }
            app.store.backup_to(&file).await.map_err(|e| {
                anyhow::anyhow!(
                    "无法备份到 {}：{e:#}（请检查目录的写权限与磁盘空间）",
                    file.display()
                )
            })?;
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            // Which database: a command run outside the service's directory
            // without its settings would back up another one.
            println!(
                "已备份数据库 {} 到 {}（{:.1} MB）。恢复：停止 xunjian，把此文件复制为 database.url 指向的文件后再启动。",
                crate::config::redact_url(&app.settings.database.url),
                file.display(),
                size as f64 / 1024.0 / 1024.0
            );
        }
        Command::Migrate => {
            let app = App::open(settings, register_file).await?.by(by);
            // Opening applied whatever had not run yet (a new database: all).
            println!(
                "数据库结构已是最新：{} 项迁移均已应用（{}）",
                app.store.migration_count(),
                app.store.backend()
            );
        }
        Command::Import {
            prune,
            dry_run,
            force,
        } => {
            // Validate before touching the database, so a bad file changes nothing.
            app::read_register(&settings, &register_file)?;
            let app = App::open(settings, register_file).await?.by(by);
            let options = app::ImportOptions {
                is_pruning: prune,
                is_dry_run: dry_run,
                is_forced: force,
            };
            let import = app.import_checked(&options, now).await?;
            print!("{}", app::describe_plan(&import.plan, dry_run));
            print!(
                "{}",
                app::describe_conflicts(
                    &import.conflicts,
                    dry_run,
                    import.previous_file.as_deref()
                )
            );
        }
        Command::Export { format, out } => {
            let format = format.unwrap_or(match out.as_deref().map(app::extension).as_deref() {
                Some("xlsx") => ExportFormat::Xlsx,
                _ => ExportFormat::Toml,
            });
            let app = App::open(settings, register_file).await?.by(by);
            let bytes = match format {
                ExportFormat::Toml => app.export().await?.into_bytes(),
                ExportFormat::Xlsx => app.export_xlsx().await?,
            };
            match out {
                Some(path) => std::fs::write(&path, bytes)
                    .with_context(|| format!("while writing {}", path.display()))?,
                None if format == ExportFormat::Xlsx => {
                    anyhow::bail!("export --format xlsx：工作簿须写入文件，请加 --out 台账.xlsx")
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
        }
        Command::History {
            account,
            unit,
            since,
        } => {
            let app = App::open(settings, register_file).await?.by(by);
            let unit = match unit {
                Some(text) => Some(unit_id(&app.store.load_register().await?, &text)?),
                None => None,
            };
            let filter = crate::registry::history::HistoryFilter {
                account,
                unit,
                since: since.map(crate::calendar::start_of_day),
            };
            print!("{}", app.history(&filter, true).await?);
        }
        Command::Rectification { unit, open, format } => {
            let app = App::open(settings, register_file).await?.by(by);
            let register = app.store.load_register().await?;
            let unit = match unit {
                Some(text) => Some(unit_id(&register, &text)?),
                None => None,
            };
            let items = app.store.rectification_items(unit.as_deref(), open).await?;
            match format {
                ItemsFormat::Text => {
                    println!("{}", crate::rectification::render_items(&items, &register));
                }
                ItemsFormat::Json => {
                    let json = crate::rectification::items_json(&items, &register);
                    println!("{}", serde_json::to_string_pretty(&json)?);
                }
            }
        }
        Command::Content { action } => {
            let app = App::open(settings, register_file).await?.by(by);
            super::content::content(&app, action, now).await?;
        }
        Command::Task { action } => {
            let app = App::open(settings, register_file).await?.by(by);
            super::content::task(&app, action, now).await?;
        }
        Command::LoginLink { unit, minutes } => {
            if settings.server.listen.trim().is_empty() {
                anyhow::bail!(
                    "设置中 server.listen 为空，守护进程不提供工作台：请设置 server.listen（如 127.0.0.1:9464）并重启 xunjian run 后再取登录链接"
                );
            }
            let app = App::open(settings, register_file).await?.by(by);
            let register = app.store.load_register().await?;
            // The person the console names: --by, else the unit's contact or the operator.
            let given = by.map(str::trim).filter(|b| !b.is_empty());
            let (grant, scope, person) = match unit {
                Some(text) => {
                    let id = unit_id(&register, &text)?;
                    let name = register.unit(&id).map_or(id.clone(), |u| u.name.clone());
                    let person = given.map_or_else(|| format!("{name}联系人"), str::to_string);
                    let scope = format!("只能查看和处理「{name}」");
                    (crate::domain::Grant::Units(vec![id]), scope, person)
                }
                None => {
                    let person = match app.actor.as_str() {
                        "命令行" => "管理员".to_string(),
                        actor => actor.to_string(),
                    };
                    (crate::domain::Grant::Admin, "管理员".to_string(), person)
                }
            };
            let signin = crate::domain::Signin { grant, person };
            let link = crate::web::links::issue_link(
                &app.store,
                &app.settings,
                &signin,
                &format!("命令行 {}", app.actor),
                minutes,
                now,
            )
            .await?;
            println!("{link}");
            eprintln!(
                "一次性登录链接（{scope}，操作记录署名「{}」）：{minutes} 分钟内有效，只能使用一次。工作台由运行中的 xunjian run 提供（server.listen = {}）。",
                signin.actor(),
                app.settings.server.listen
            );
        }
        Command::Accounts {
            unit,
            platform,
            state,
        } => {
            let app = App::open(settings, register_file).await?.by(by);
            let register = app.store.load_register().await?;
            require_register(&register)?;
            let unit = match unit {
                Some(text) => Some(unit_id(&register, &text)?),
                None => None,
            };
            let filter = AccountFilter {
                unit,
                platform,
                state,
            };
            print!("{}", app::accounts_table(&register, &filter));
        }
        Command::Poll {
            account_ids: accounts,
            all,
        } => {
            let app = App::open(settings, register_file).await?.by(by);
            // Only ids: the poller reads the accounts it polls a chunk at a
            // time, and a register of 100,000 is not held through the cycle.
            let known: std::collections::HashSet<String> = app
                .store
                .accounts_by_id(&accounts)
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect();
            if let Some(id) = accounts.iter().find(|id| !known.contains(*id)) {
                anyhow::bail!(
                    "poll --account {id}：数据库中没有这个账号（见 xunjian accounts；台账改过请先运行 xunjian import）"
                );
            }
            let ids = if all {
                app.store.account_ids().await?
            } else if accounts.is_empty() {
                app.store
                    .claim_due_accounts(now, crate::poll::CLAIM_LEASE)
                    .await?
            } else {
                accounts
            };
            let poller = crate::poll::Poller::new(&app.settings, app.store.clone())?;
            let bar = crate::app::ProgressBar::new_on_terminal();
            let reports = poller
                .poll_accounts(&ids, now, &|done, total| bar.show(done, total))
                .await;
            bar.finish();
            // Closed first, whatever the outcome: the last checkpoint then
            // copies what the cycle wrote into the database file itself (with
            // no other process reading it, the log is then removed).
            app.store.close().await;
            let reports = reports?;
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            app::write_poll_table(&mut stdout, &reports)?;
            std::io::Write::flush(&mut stdout)?;
        }
        Command::Check { format, no_poll } => {
            let app = App::open(settings, register_file).await?.by(by);
            require_register(&app.store.load_register().await?)?;
            let calendar =
                crate::inspection::stored_calendar(&app.settings, &app.store, now).await?;
            let inspector =
                crate::inspection::Inspector::new(app.store.clone(), app.settings.clone())?
                    .with_calendar(calendar);
            let result = inspector.run_once(now, !no_poll).await?;
            match format {
                CheckFormat::Text => print!("{}", crate::inspection::render_text(&result)),
                CheckFormat::Json => println!("{}", serde_json::to_string_pretty(&result)?),
            }
        }
        Command::Report {
            kind,
            period,
            from,
            to,
            format,
            out,
            issue,
            doc_number,
        } => {
            use crate::publish::Format;
            if matches!(format, Format::Xlsx | Format::Png | Format::Docx) && out.is_none() {
                anyhow::bail!(
                    "report --format {}：此格式须写入文件，请加 --out 文件名",
                    format!("{format:?}").to_lowercase()
                );
            }
            let today = crate::calendar::local_date(now);
            let (from, to) = crate::reports::parse_period(kind, period.as_deref(), from, to, today)
                .map_err(anyhow::Error::msg)?;
            let app = App::open(settings, register_file).await?.by(by);
            let calendar =
                crate::inspection::stored_calendar(&app.settings, &app.store, now).await?;
            let report =
                crate::publish::load_report(&app.store, &calendar, kind, from, to, now).await?;
            // Issued first, so what is written is the 通报 as issued.
            let (report, said) = if issue {
                let issued = crate::publish::issue_report(
                    &app.store,
                    &app.settings,
                    &calendar,
                    &report,
                    &match app.actor.as_str() {
                        "命令行" => "命令行".to_string(),
                        actor => format!("命令行 {actor}"),
                    },
                    doc_number.as_deref(),
                    now,
                )
                .await?;
                let said = match &issued {
                    crate::publish::Issued::Now {
                        report,
                        units_notified,
                        new_items,
                    } => {
                        crate::publish::queue_report(
                            &app.store,
                            &app.settings,
                            &calendar,
                            report,
                            now,
                        )
                        .await?;
                        format!(
                            "已下发《{}》{}：新增整改事项{new_items}项，整改通知{units_notified}个单位；通报与整改通知已排队发送（由运行中的守护进程投递）",
                            report.title,
                            report.number_in_brackets()
                        )
                    }
                    crate::publish::Issued::Before(report) => format!(
                        "《{}》此前已下发，未重复下发；以下为下发时的通报",
                        report.title
                    ),
                };
                (issued.report().clone(), Some(said))
            } else {
                (report, None)
            };
            let bytes = crate::publish::render_bytes(&report, format, &app.settings, &calendar)?;
            let is_report_on_stdout = out.is_none();
            match out {
                Some(path) => {
                    std::fs::write(&path, bytes)
                        .with_context(|| format!("while writing {}", path.display()))?;
                    eprintln!("已写入 {}", path.display());
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                    if !matches!(format, Format::Json) {
                        println!();
                    }
                }
            }
            if let Some(said) = said {
                // On stdout, unless stdout carries a file's bytes or JSON.
                if is_report_on_stdout && !matches!(format, Format::Text | Format::Md) {
                    eprintln!("{said}");
                } else {
                    println!("{said}");
                }
            }
        }
        // Handled above: the demo brings its own settings.
        Command::Demo => {}
        Command::Run { no_wait } => {
            // Only the daemon sends: the robots' secrets are needed here.
            settings.check_robot_webhooks()?;
            if is_given {
                app::read_register(&settings, &register_file)?;
            }
            let shutdown = tokio_util::sync::CancellationToken::new();
            app::spawn_signal_handler(shutdown.clone());
            let Some(app) = App::open_waiting(settings, register_file, no_wait, &shutdown).await?
            else {
                return Ok(());
            };
            let app = app.by(by);
            app.release_gone_holders().await?;
            // The file imported last (by `import` or a daemon) is the register's
            // source: a workbook imported by hand is not undone by the
            // default accounts.toml.
            let file = if is_given {
                Some(app.accounts_path.clone())
            } else {
                match app.remembered_file().await? {
                    Some(last) if last.is_file() => Some(last),
                    Some(last) => {
                        tracing::warn!(file = %last.display(), "上次导入的台账文件已不存在：按数据库中的台账巡检，不导入");
                        None
                    }
                    None if app.accounts_path.is_file() => Some(app.accounts_path.clone()),
                    None => anyhow::bail!(
                        "找不到台账文件 {}，数据库中也没有导入过台账：请用 --accounts 指定台账文件，或先运行 xunjian import",
                        app.accounts_path.display()
                    ),
                }
            };
            let app = match file {
                Some(file) => {
                    app::read_register(&app.settings, &file)?;
                    let app = app.reading(file);
                    tracing::info!(file = %app.accounts_path.display(), "register file");
                    match app.import_if_changed(now).await? {
                        app::FileImport::Imported(plan) => {
                            tracing::info!(changes = plan.changes.len(), "register imported")
                        }
                        app::FileImport::Unchanged => tracing::info!(
                            "register file unchanged since the last import; chat changes kept"
                        ),
                        // The daemon runs on the stored register; the admins were told.
                        app::FileImport::Refused(conflict) => tracing::warn!(
                            conflicts = conflict.conflicts.len(),
                            "register file not imported: {conflict}"
                        ),
                    }
                    app
                }
                None => app,
            };
            crate::daemon::run(app, shutdown).await?;
        }
    }
    Ok(())
}

/// `holidays list`: each known year, where its data comes from, its days.
async fn holidays_table(app: &App, now: DateTime<Utc>) -> anyhow::Result<String> {
    let calendar = crate::inspection::stored_calendar_quiet(&app.settings, &app.store).await?;
    let stored = app.store.holiday_years().await?;
    let mut rows = vec![[
        "年份".to_string(),
        "来源".to_string(),
        "放假".to_string(),
        "调休上班".to_string(),
    ]];
    for year in calendar.years() {
        let source = match stored.iter().find(|(y, _, _)| *y == year) {
            Some((_, _, file)) => format!("导入（{file}）"),
            None => "内置".to_string(),
        };
        let (off, work) = calendar.exception_counts(year);
        rows.push([
            year.to_string(),
            source,
            format!("{off} 天"),
            format!("{work} 天"),
        ]);
    }
    let mut out = app::render_table(&rows);
    if let Some(warning) = calendar.missing_data_warning(crate::calendar::local_date(now)) {
        out.push_str(&format!("{warning}\n"));
    }
    Ok(out)
}
