//! Poll-cycle benchmark (run by hand, not a test):
//!
//!     cargo bench --bench poll -- 1000 10000 100000
//!
//! Serves N synthetic feeds (20 items, about 30 KB each) from a local HTTP
//! server in a child process, registers N accounts in a fresh SQLite file,
//! runs one complete poll cycle (cold), a second one in which the server
//! answers 304 to the conditional GETs (warm) and a third in which every feed
//! has one new post and has lost its oldest (changed), and prints feeds per second,
//! CPU seconds per 1,000 feeds (the poller's process only) and the poller's
//! peak memory. When `python3 ../shared/bench/peer_poller.py` (or
//! `XUNJIAN_PEER_POLLER`) and its modules are available, the peer polls the
//! same server in the same run and its line is printed beside ours.

mod common;
#[path = "common/feeds.rs"]
mod feeds;

use common::peak_rss_mb;
use feeds::{account_id, cpu_seconds, synthetic_register};
use std::time::Instant;
use xunjian::config::Settings;
use xunjian::poll::Poller;
use xunjian::registry::Register;
use xunjian::registry::diff::plan;
use xunjian::storage::Store;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.first().map(String::as_str) == Some("serve") {
        return runtime.block_on(feeds::serve(|i, version| {
            synthetic_feed(&account_id(i), version)
        }));
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![1_000, 10_000]
    } else {
        args.iter().filter_map(|a| a.parse().ok()).collect()
    };
    // One child process per size keeps each peak-memory reading honest.
    if let [n] = sizes[..] {
        return runtime.block_on(bench(n));
    }
    for n in sizes {
        let status = std::process::Command::new(std::env::current_exe()?)
            .arg(n.to_string())
            .status()?;
        anyhow::ensure!(status.success(), "the run for N = {n} failed");
    }
    Ok(())
}

async fn bench(n: usize) -> anyhow::Result<()> {
    let (mut server, base) = feeds::spawn_server()?;
    let dir = tempfile::tempdir()?;
    let text = format!(
        "[database]\nurl = \"sqlite://{}/bench.db\"\n\n[proxies.rsshub]\nurl = \"{base}\"\nmax_concurrency = 64\n\n[poll]\nmax_concurrency = 64\n",
        dir.path().display()
    );
    let settings = Settings::parse("bench", &text)?;
    let store = Store::connect(&settings.database).await?;
    store.migrate().await?;
    let started = Instant::now();
    let register = synthetic_register(n);
    store
        .apply_plan(
            &plan(&Register::default(), &register, false),
            "bench",
            "cli",
            chrono::Utc::now(),
        )
        .await?;
    let register_secs = started.elapsed().as_secs_f64();
    drop(register);

    let poller = Poller::new(&settings, store.clone())?;
    let ids: Vec<String> = (0..n).map(account_id).collect();
    let cold = Cycle::run(&poller, &ids).await?;
    println!(
        "N = {n:>6}: cold cycle {}, peak RSS {:6.1} MB, {} ok, {} posts stored (register import {register_secs:.2} s)",
        cold.rates(n),
        peak_rss_mb(),
        cold.ok,
        cold.new_posts
    );

    // Warm: every account again, the server answering 304 to each ETag.
    let warm = Cycle::run(&poller, &ids).await?;
    println!(
        "N = {n:>6}: warm cycle {}, {} not modified",
        warm.rates(n),
        warm.not_modified
    );

    // Changed: every feed has one new post at the top and has lost its
    // oldest, as between two cycles of a day's work; 19 of 20 are stored.
    next_version(&base)?;
    let changed = Cycle::run(&poller, &ids).await?;
    println!(
        "N = {n:>6}: changed cycle {}, {} ok, {} new posts stored (the peer keeps no state: its cycle is always the cold one)",
        changed.rates(n),
        changed.ok,
        changed.new_posts
    );
    run_peer(&base, n);
    server.kill()?;
    Ok(())
}

/// One timed cycle over every account.
struct Cycle {
    secs: f64,
    cpu: f64,
    ok: usize,
    not_modified: usize,
    new_posts: u64,
}

impl Cycle {
    async fn run(poller: &Poller, ids: &[String]) -> anyhow::Result<Cycle> {
        let cpu_before = cpu_seconds();
        let started = Instant::now();
        let reports = poller
            .poll_accounts(ids, chrono::Utc::now(), &|_, _| {})
            .await?;
        Ok(Cycle {
            secs: started.elapsed().as_secs_f64(),
            cpu: cpu_seconds() - cpu_before,
            ok: reports.iter().filter(|r| !r.outcome.is_failure()).count(),
            not_modified: reports
                .iter()
                .filter(|r| r.outcome == xunjian::fetch::Outcome::NotModified)
                .count(),
            new_posts: reports.iter().map(|r| r.new_posts).sum(),
        })
    }

    /// Wall time, feeds per second and CPU seconds per 1,000 feeds.
    fn rates(&self, n: usize) -> String {
        format!(
            "{:6.2} s, {:7.0} feeds/s, {:5.2} CPU s per 1,000 feeds",
            self.secs,
            n as f64 / self.secs,
            self.cpu * 1000.0 / n as f64
        )
    }
}

/// Moves the server at `base` (`http://host:port`) to the feeds' next version.
pub fn next_version(base: &str) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.write_all(b"GET /next HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    anyhow::ensure!(
        answer.starts_with(b"HTTP/1.1 200"),
        "the feed server did not move on"
    );
    Ok(())
}

/// The peer poller on the same server, if its script and modules are here.
fn run_peer(base: &str, n: usize) {
    let script = std::env::var("XUNJIAN_PEER_POLLER").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/bench/peer_poller.py"
        )
        .to_string()
    });
    if !std::path::Path::new(&script).exists() {
        println!("peer: {script} not found; skipped");
        return;
    }
    let output = std::process::Command::new("python3")
        .arg(&script)
        .arg(base)
        .arg(n.to_string())
        .args(["--parser", "fastfeedparser"])
        .output();
    match output {
        Ok(out) if out.status.success() => print!("{}", String::from_utf8_lossy(&out.stdout)),
        Ok(out) => println!(
            "peer: failed ({}); `pip install aiohttp fastfeedparser`?",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(err) => println!("peer: cannot run python3: {err}"),
    }
}

/// A ~30 KB RSSHub-shaped feed with 20 items, unique per account, newest
/// first; each `version` adds one item and drops the oldest.
fn synthetic_feed(account: &str, version: u32) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss xmlns:atom=\"http://www.w3.org/2005/Atom\" version=\"2.0\"><channel>\
         <title><![CDATA[{account}的抖音]]></title><link>https://www.douyin.com/user/{account}</link>\
         <description><![CDATA[{account} - Powered by RSSHub]]></description><generator>RSSHub</generator><ttl>5</ttl>"
    );
    let paragraph =
        "兰山区持续深化政务公开工作，围绕群众关切及时发布权威信息，推动政务新媒体规范运维。"
            .repeat(9);
    let first = version as usize;
    for item in (first..first + 20).rev() {
        let day = 1 + item % 28;
        out.push_str(&format!(
            "<item><title><![CDATA[{account} 第{item}条 政务动态]]></title>\
             <description><![CDATA[<p>{paragraph}</p>]]></description>\
             <pubDate>Mon, {day:02} Nov 2026 08:00:00 GMT</pubDate>\
             <guid isPermaLink=\"false\">https://www.douyin.com/video/{account}-{item}</guid>\
             <link>https://www.douyin.com/video/{account}-{item}</link></item>"
        ));
    }
    out.push_str("</channel></rss>");
    out
}
