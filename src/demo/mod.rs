//! `xunjian demo`: the whole pipeline offline. Serves sample feeds in the
//! RSSHub / wewe-rss shapes from 127.0.0.1 (dates relative to now, so every
//! rule fires), uses a fresh SQLite file and the console channel, polls,
//! inspects, prints the alerts and a monthly report, and writes the XLSX and
//! PNG.

use crate::app::App;
use crate::config::Settings;
use crate::inspection::Inspector;
use crate::notify::Notifier;
use crate::poll::Poller;
use crate::publish::{self, Format};
use crate::reports::ReportKind;
use chrono::Datelike as _;
use chrono::{DateTime, Duration, Utc};
use std::path::PathBuf;

/// Items of a sample feed: (days ago, repost?).
type Items = &'static [(i64, bool)];

struct Sample {
    route: &'static str,
    title: &'static str,
    items: Items,
    /// RSSHub's answer for an account that no longer exists, or a WAF block.
    error: Option<(u16, &'static str)>,
}

const SAMPLES: &[Sample] = &[
    Sample {
        route: "/weibo/user/1001",
        title: "兰山发布的微博",
        items: &[
            (0, false),
            (1, true),
            (2, false),
            (3, false),
            (5, true),
            (8, false),
        ],
        error: None,
    },
    Sample {
        route: "/weibo/user/1002",
        title: "兰山教体的微博",
        items: &[
            (1, true),
            (3, true),
            (5, true),
            (7, true),
            (9, true),
            (12, true),
            (20, true),
            (35, true),
            (45, true),
        ],
        error: None,
    },
    Sample {
        route: "/weibo/user/1003",
        title: "兰山区政府办的微博",
        items: &[(2, false), (6, false)],
        error: None,
    },
    Sample {
        route: "/wewe/feeds/MP_WXS_1.atom",
        title: "市政兰山",
        items: &[(187, false), (200, false)],
        error: None,
    },
    Sample {
        route: "/wewe/feeds/MP_WXS_2.atom",
        title: "义堂发布",
        items: &[(40, false), (44, true)],
        error: None,
    },
    Sample {
        route: "/douyin/user/2001",
        title: "柳青街道的抖音",
        items: &[(100, false)],
        error: None,
    },
    Sample {
        route: "/toutiao/user/token/3001",
        title: "市政兰山 - 今日头条",
        items: &[(16, false), (30, false)],
        error: None,
    },
    Sample {
        route: "/bilibili/user/dynamic/4001",
        title: "兰山教体 的 bilibili 动态",
        items: &[(11, false), (15, false)],
        error: None,
    },
    Sample {
        route: "/kuaishou/profile/5001",
        title: "",
        items: &[],
        error: Some((
            503,
            "{\"error\":{\"message\":\"TypeError: Cannot read properties of undefined (reading 'userInfo')\"}}",
        )),
    },
    Sample {
        route: "/kuaishou/profile/5002",
        title: "兰山城管的快手",
        items: &[(3, false), (20, false)],
        error: None,
    },
    Sample {
        route: "/douyin/user/2002",
        title: "",
        items: &[],
        error: Some((
            503,
            "{\"error\":{\"message\":\"Error: Empty post data. The request may be filtered by WAF.\"}}",
        )),
    },
    Sample {
        route: "/douyin/user/2003",
        title: "兰山融媒的抖音",
        items: &[(1, false), (4, false)],
        error: None,
    },
    Sample {
        route: "/weibo/user/1004",
        title: "兰山城管执法的微博",
        items: &[(1, false), (6, false)],
        error: None,
    },
];

/// The demo's register: one account per situation, so every rule fires.
const REGISTER: &str = include_str!("accounts.toml");

/// Runs the demo as of `now` (the clock, or `--now`); returns where the
/// files were written.
pub async fn run(now: DateTime<Utc>) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "xunjian-demo-{}-{}",
        std::process::id(),
        now.timestamp()
    ));
    std::fs::create_dir_all(&dir)?;
    // The sample server shows only items published by `clock` (a virtual
    // "now"), so the demo can inspect as of two and one weeks ago too.
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(now.timestamp()));
    let base = serve(now, clock.clone()).await?;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        format!("http://{}", listener.local_addr()?)
    };
    let settings_text = format!(
        "[database]\nurl = \"sqlite://{}\"\n\n[proxies.rsshub]\nurl = \"{base}\"\nhealth_path = \"/healthz\"\n\n\
         [proxies.wewe]\nurl = \"{base}/wewe\"\n\n[proxies.backup]\nurl = \"{closed}\"\nhealth_path = \"/healthz\"\n\n\
         [poll]\ntimeout_seconds = 5\nconnect_timeout_seconds = 2\n\n[alerts]\nis_quiet_enabled = false\n",
        dir.join("demo.db").display()
    );
    std::fs::write(dir.join("xunjian.toml"), &settings_text)?;
    std::fs::write(dir.join("accounts.toml"), REGISTER)?;
    let settings = Settings::parse("demo settings", &settings_text)?;
    let app = App::open(settings.clone(), dir.join("accounts.toml")).await?;

    println!(
        "== xunjian 演示 / demo ==\n示例订阅源：{base}（RSSHub / wewe-rss 格式，日期相对于现在）\n工作目录：{}\n",
        dir.display()
    );
    let plan = app.import(false, false, now - Duration::days(400)).await?;
    println!(
        "1. 导入台账：{} 项变更（{} 个账号）",
        plan.changes.len(),
        app.read_register()?.accounts.len()
    );

    let poller = Poller::new(&settings, app.store.clone())?;
    let inspector = Inspector::new(app.store.clone(), settings.clone())?;
    let all: Vec<String> = app
        .store
        .load_register()
        .await?
        .accounts
        .iter()
        .map(|a| a.id.clone())
        .collect();
    // Two inspections in the last complete month (its last day and a week
    // before), so the demo's 月度通报 is a whole month, as clerks issue it.
    let today = crate::calendar::local_date(now);
    let month_start = today.with_day(1).expect("day 1 exists");
    let to_month_end = Duration::days((today - month_start).num_days() + 1);
    for back in [to_month_end + Duration::days(7), to_month_end] {
        let then = now - back;
        clock.store(then.timestamp(), std::sync::atomic::Ordering::Relaxed);
        poller.poll_accounts(&all, then, &|_, _| {}).await?;
        let earlier = inspector.evaluate(then).await?;
        app.store.save_inspection(&earlier, then).await?;
    }
    clock.store(now.timestamp(), std::sync::atomic::Ordering::Relaxed);
    let troubled = vec!["szgl-kuaishou".to_string(), "yitang-douyin".to_string()];
    for hours in [48, 24] {
        poller
            .poll_accounts(&troubled, now - Duration::hours(hours), &|_, _| {})
            .await?;
    }
    let reports = poller.poll_accounts(&all, now, &|_, _| {}).await?;
    println!(
        "2. 抓取（上月末、上月末前一周与现在各一次）：\n{}",
        crate::app::poll_table(&reports)
    );

    let check = inspector.run_once(now, false).await?;
    println!("3. 巡检：\n{}", crate::inspection::render_text(&check));

    println!("4. 告警（控制台通道；配置 Telegram 或群机器人后发往群聊）：\n");
    Notifier::new(&settings, app.store.clone())?
        .deliver_pending(now)
        .await?;

    // The last complete calendar month (a 月度通报 is never a rolling 30 days).
    let (from, to) = ReportKind::Monthly.previous_period(today);
    let report = publish::load_report(
        &app.store,
        &inspector.calendar,
        ReportKind::Monthly,
        from,
        to,
        now,
    )
    .await?;
    println!("5. 月度通报：\n{}\n", crate::reports::render::text(&report));
    let xlsx = dir.join("report.xlsx");
    std::fs::write(
        &xlsx,
        publish::render_bytes(&report, Format::Xlsx, &settings, &inspector.calendar)?,
    )?;
    println!("通报表格已写入 {}", xlsx.display());
    match publish::render_bytes(&report, Format::Png, &settings, &inspector.calendar) {
        Ok(png) => {
            let path = dir.join("report.png");
            std::fs::write(&path, png)?;
            println!("通报图表已写入 {}", path.display());
        }
        Err(err) => println!("未生成图表：{err:#}"),
    }
    let docx = dir.join("report.docx");
    std::fs::write(
        &docx,
        publish::render_bytes(&report, Format::Docx, &settings, &inspector.calendar)?,
    )?;
    println!("通报文档（Word）已写入 {}", docx.display());
    std::fs::write(
        dir.join("report.md"),
        crate::reports::render::markdown(&report),
    )?;
    println!(
        "完整通报（Markdown）已写入 {}",
        dir.join("report.md").display()
    );
    app.store.close().await;
    Ok(dir)
}

/// Serves the samples on 127.0.0.1; returns the base URL.
async fn serve(
    now: DateTime<Utc>,
    clock: std::sync::Arc<std::sync::atomic::AtomicI64>,
) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let shown_until = clock.load(std::sync::atomic::Ordering::Relaxed);
        let (status, body) = answer(uri.path(), now, shown_until);
        let status = axum::http::StatusCode::from_u16(status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        std::future::ready((
            status,
            [(
                axum::http::header::CONTENT_TYPE,
                "application/xml; charset=utf-8",
            )],
            body,
        ))
    });
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::warn!(error = %err, "the demo's feed server stopped");
        }
    });
    Ok(base)
}

fn answer(path: &str, now: DateTime<Utc>, shown_until: i64) -> (u16, String) {
    if path == "/healthz" {
        return (200, "ok".into());
    }
    let Some(sample) = SAMPLES.iter().find(|s| s.route == path) else {
        return (404, "{\"error\":{\"message\":\"NotFoundError\"}}".into());
    };
    if let Some((status, body)) = sample.error {
        return (status, body.into());
    }
    if path.ends_with(".atom") {
        return (200, atom(sample, now, shown_until));
    }
    (200, rss(sample, now, shown_until))
}

/// Items older than `days` before `now`, published by `shown_until`.
fn items(
    sample: &Sample,
    now: DateTime<Utc>,
    shown_until: i64,
) -> impl Iterator<Item = (usize, DateTime<Utc>, bool)> + '_ {
    sample
        .items
        .iter()
        .enumerate()
        .map(move |(i, (days, is_repost))| {
            (
                i,
                now - Duration::days(*days) - Duration::hours(1),
                *is_repost,
            )
        })
        .filter(move |(_, at, _)| at.timestamp() <= shown_until)
}

fn rss(sample: &Sample, now: DateTime<Utc>, shown_until: i64) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss xmlns:atom=\"http://www.w3.org/2005/Atom\" version=\"2.0\"><channel>\
         <title><![CDATA[{}]]></title><link>https://example.com{}</link><generator>RSSHub</generator><ttl>5</ttl>",
        sample.title, sample.route
    );
    for (i, at, is_repost) in items(sample, now, shown_until) {
        let (title, description) = if is_repost {
            ("转发微博 - 转发 @临沂发布: 全市冬季安全生产工作会议召开".to_string(), "<blockquote> - 转发 <a href=\"https://weibo.com/2011\">@临沂发布</a>: 会议召开</blockquote>".to_string())
        } else {
            (
                format!("兰山区政务动态 第{}条", i + 1),
                "<p>区里召开工作会议，部署冬季重点工作。</p>".to_string(),
            )
        };
        out.push_str(&format!(
            "<item><title><![CDATA[{title}]]></title><description><![CDATA[{description}]]></description>\
             <pubDate>{}</pubDate><guid isPermaLink=\"false\">https://example.com{}/{i}</guid><link>https://example.com{}/{i}</link></item>",
            at.to_rfc2822(),
            sample.route,
            sample.route
        ));
    }
    out.push_str("</channel></rss>");
    out
}

fn atom(sample: &Sample, now: DateTime<Utc>, shown_until: i64) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><id>{}</id><title>{}</title>\
         <updated>{}</updated><generator>WeWe-RSS</generator>",
        sample.route,
        sample.title,
        now.to_rfc3339()
    );
    for (i, at, is_repost) in items(sample, now, shown_until) {
        let content = if is_repost {
            "<p>以下文章来源于人民日报</p><p>国务院部署今冬明春能源保供。</p>"
        } else {
            "<p>区市政管理局完成道路冬季维修。</p>"
        };
        out.push_str(&format!(
            "<entry><title type=\"html\"><![CDATA[政务信息 第{}条]]></title><id>{}-{i}</id>\
             <link href=\"https://mp.weixin.qq.com/s?__biz=MzA{i}&amp;mid=22{i}&amp;idx=1&amp;sn=ab{i}\"/>\
             <updated>{}</updated><content type=\"html\"><![CDATA[{content}]]></content></entry>",
            i + 1,
            sample.route,
            at.to_rfc3339()
        ));
    }
    out.push_str("</feed>");
    out
}
