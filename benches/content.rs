//! Content-check benchmark (run by hand, not a test):
//!
//!     cargo bench --bench content -- 10000 1000000
//!
//! 1. The cold poll cycle of N feeds (20 posts of about 2 KB of text each)
//!    from a local server, into a fresh SQLite file, with content checks off
//!    and then on (a 20,000-entry wording list plus the built-in one, and
//!    leaders' names): wall time, CPU seconds and the ratio.
//! 2. Rescanning M stored posts of about 2 KB with the same lists
//!    (`xunjian content scan`): posts per second.

mod common;
#[path = "common/feeds.rs"]
mod feeds;

use common::peak_rss_mb;
use feeds::{account_id, cpu_seconds, synthetic_register};
use std::time::Instant;
use xunjian::config::Settings;
use xunjian::fetch::{FetchState, Outcome};
use xunjian::poll::Poller;
use xunjian::registry::Register;
use xunjian::registry::diff::plan;
use xunjian::storage::Store;

/// Sentences the synthetic posts are made of (one planted error in some).
const SENTENCES: [&str; 5] = [
    "兰山区持续深化政务公开工作，围绕群众关切及时发布权威信息，推动政务新媒体规范运维。",
    "今年以来，全区新增城镇就业岗位三千余个，城乡居民人均可支配收入稳步增长。",
    "区市场监管局开展冬季食品安全专项检查，覆盖学校食堂、农贸市场和大型商超。",
    "各街道组织志愿者走访独居老人，检查取暖设施，宣传冬季用电用气安全常识。",
    "区交通运输局对辖区道路桥梁开展隐患排查，确保群众冬季出行安全顺畅。",
];

/// Every this many posts one carries a planted 一般 error (截止目前).
const ERROR_EVERY: usize = 200;

fn text_of(i: usize) -> String {
    let mut out = String::with_capacity(2100);
    if i % ERROR_EVERY == 0 {
        out.push_str("截止目前，全区已完成老旧小区改造项目十二个，惠及居民四千余户。");
    }
    let mut k = i;
    while out.len() < 2000 {
        out.push_str(
            SENTENCES
                .get(k % SENTENCES.len())
                .copied()
                .unwrap_or_default(),
        );
        k = k.wrapping_mul(31).wrapping_add(7);
    }
    out
}

fn feed(i: usize) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>账号{i}</title>"
    );
    for item in 0..20 {
        let day = 1 + item % 28;
        out.push_str(&format!(
            "<item><title>账号{i} 第{item}条 政务动态</title><description><![CDATA[<p>{}</p>]]></description>\
             <pubDate>Mon, {day:02} Nov 2026 08:00:00 GMT</pubDate><guid>g-{i}-{item}</guid>\
             <link>https://example.gov.cn/{i}/{item}</link></item>",
            text_of(i * 20 + item)
        ));
    }
    out.push_str("</channel></rss>");
    out
}

/// A 20,000-entry list of 3–5 character phrases that do not occur in the posts.
fn write_list(path: &std::path::Path) -> anyhow::Result<()> {
    let mut out = String::new();
    for k in 0..20_000u32 {
        let len = 3 + k % 3;
        let phrase: String = (0..len)
            .filter_map(|j| {
                char::from_u32(0x5000 + (k.wrapping_mul(7919).wrapping_add(j * 104_729)) % 8000)
            })
            .collect();
        let level = if k % 10 == 0 { "严重" } else { "一般" };
        out.push_str(&format!(
            "[[entry]]\nwrong = \"{phrase}\"\nright = \"正确{k}\"\ncategory = \"测试\"\nlevel = \"{level}\"\n\n"
        ));
    }
    std::fs::write(path, out)?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.first().map(String::as_str) == Some("serve") {
        return runtime.block_on(feeds::serve(|i, _| feed(i)));
    }
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let m: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    runtime.block_on(bench(n, m))
}

async fn bench(n: usize, m: usize) -> anyhow::Result<()> {
    let (mut server, base) = feeds::spawn_server()?;
    let dir = tempfile::tempdir()?;
    let list = dir.path().join("list.toml");
    write_list(&list)?;
    let names = "names = [{ name = \"王明\", titles = [\"县长\"] }, { name = \"李华\", titles = [\"副县长\"] }]";
    let mut off = 0.0;
    for (label, content) in [
        ("off ", "is_enabled = false".to_string()),
        ("text", "default_list = false".to_string()),
        ("on  ", format!("lists = [\"{}\"]\n{names}", list.display())),
        ("off ", "is_enabled = false".to_string()),
        ("text", "default_list = false".to_string()),
        ("on  ", format!("lists = [\"{}\"]\n{names}", list.display())),
    ] {
        let db = dir.path().join(format!("poll-{}.db", label.trim()));
        let _ = std::fs::remove_file(&db);
        let text = format!(
            "[database]\nurl = \"sqlite://{}\"\n\n[proxies.rsshub]\nurl = \"{base}\"\nmax_concurrency = 64\n\n[poll]\nmax_concurrency = 64\n\n[content]\n{content}\n",
            db.display()
        );
        let settings = Settings::parse("bench", &text)?;
        let store = Store::connect(&settings.database).await?;
        store.migrate().await?;
        store
            .apply_plan(
                &plan(&Register::default(), &synthetic_register(n), false),
                "bench",
                "cli",
                chrono::Utc::now(),
            )
            .await?;
        let built = Instant::now();
        let poller = Poller::new(&settings, store.clone())?;
        let compile = built.elapsed().as_secs_f64();
        let ids: Vec<String> = (0..n).map(account_id).collect();
        let cpu = cpu_seconds();
        let started = Instant::now();
        let reports = poller
            .poll_accounts(&ids, chrono::Utc::now(), &|_, _| {})
            .await?;
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        let posts: u64 = reports.iter().map(|r| r.new_posts).sum();
        let findings = store.content_findings(true, None).await?.len();
        let ratio = if label.trim() != "off" && off > 0.0 {
            format!(", {:+.1}% against off", (secs / off - 1.0) * 100.0)
        } else {
            off = secs;
            String::new()
        };
        println!(
            "content {label}: N = {n}: cold cycle {secs:6.2} s, {:5.2} CPU s per 1,000 feeds, {posts} posts, \
             {findings} findings (lists compiled in {compile:.2} s){ratio}",
            cpu * 1000.0 / n as f64
        );
        store.close().await;
    }
    server.kill()?;

    // Rescan M stored posts.
    let url = format!("sqlite://{}", dir.path().join("rescan.db").display());
    let settings = Settings::parse(
        "bench",
        &format!(
            "[database]\nurl = \"{url}\"\n\n[content]\nlists = [\"{}\"]\n{names}\n",
            list.display()
        ),
    )?;
    let store = Store::connect(&settings.database).await?;
    store.migrate().await?;
    let per_account = 20;
    let accounts = synthetic_register(m.div_ceil(per_account));
    store
        .apply_plan(
            &plan(&Register::default(), &accounts, false),
            "bench",
            "cli",
            chrono::Utc::now(),
        )
        .await?;
    drop(accounts);
    let started = Instant::now();
    let now = chrono::Utc::now();
    for chunk in (0..m.div_ceil(per_account)).collect::<Vec<_>>().chunks(500) {
        let rows: Vec<(FetchState, Vec<xunjian::parse::Post>)> = chunk
            .iter()
            .map(|a| {
                let state = FetchState {
                    account_id: account_id(*a),
                    outcome: Some(Outcome::Ok),
                    ..FetchState::default()
                };
                let posts = (0..per_account)
                    .map(|j| xunjian::parse::Post {
                        dedup_key: format!("k{j}"),
                        published_at: now
                            - chrono::Duration::minutes((a * per_account + j) as i64 % 100_000),
                        is_date_estimated: false,
                        title: Some(format!("第{j}条 政务动态")),
                        link: None,
                        author: None,
                        kind: xunjian::parse::PostKind::Original,
                        evidence: String::new(),
                        text: text_of(a * per_account + j),
                        is_notice: false,
                        hits: Vec::new(),
                        tasks: Vec::new(),
                        packed: Vec::new(),
                    })
                    .collect();
                (state, posts)
            })
            .collect();
        let refs: Vec<(&FetchState, &[xunjian::parse::Post])> =
            rows.iter().map(|(s, p)| (s, p.as_slice())).collect();
        store.record_fetches(&refs, now).await?;
    }
    let stored = started.elapsed().as_secs_f64();
    let checker =
        xunjian::content::Checker::from_settings(&settings.content).map_err(anyhow::Error::msg)?;
    let cpu = cpu_seconds();
    let started = Instant::now();
    let done = xunjian::screening::rescan(
        &store,
        &checker,
        chrono::DateTime::<chrono::Utc>::MIN_UTC,
        now,
        &|_| {},
    )
    .await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rescan: {} posts in {secs:.1} s ({:.0} posts/s, {:.1} CPU s), {} new findings; storing them took {stored:.1} s; peak RSS {:.0} MB",
        done.posts,
        done.posts as f64 / secs,
        cpu_seconds() - cpu,
        done.new_findings,
        peak_rss_mb()
    );
    Ok(())
}
