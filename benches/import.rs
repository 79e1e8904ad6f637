//! Register-import benchmark (run by hand, not a test):
//!
//!     cargo bench --bench import -- 100000
//!
//! Writes `accounts.toml` with N accounts (default 100,000) over N/1,000
//! units, then imports it as `xunjian import` does into a new SQLite file:
//! first into the empty database, then the same file again (nothing to
//! change), then with every account renamed (N updates). Prints each
//! import's wall time and the process's peak RSS after the first.
//! `XUNJIAN_BENCH_PG_URL=postgres://…` imports into that PostgreSQL
//! database instead (it must be empty).

mod common;

use common::peak_rss_mb;
use std::fmt::Write as _;
use std::time::Instant;
use xunjian::app::App;
use xunjian::config::Settings;

fn main() -> anyhow::Result<()> {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(100_000);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench(n))
}

/// The register file: `[[unit]]` and `[[account]]` entries as clerks write
/// them, each account named `{prefix}{i}`.
fn register_text(n: usize, prefix: &str) -> String {
    let units = n.div_ceil(1_000).max(1);
    let mut text = String::from("# 台账（基准测试）\n\n");
    for u in 0..units {
        let _ = write!(
            text,
            "[[unit]]\nid = \"u{u}\"\nname = \"单位{u}\"\nkind = \"department\"\n\
             contacts = [{{ name = \"联系人{u}\", telegram_id = {} }}]\n\n",
            100_000 + u
        );
    }
    for i in 0..n {
        let _ = write!(
            text,
            "[[account]]\nid = \"a{i}\"\nunit = \"u{}\"\nname = \"{prefix}{i}\"\nplatform = \"website\"\n\
             feed = \"https://www{}.example.gov.cn/rss.xml\"\nstate = \"active\"\n\n",
            i % units,
            i % 997
        );
    }
    text
}

async fn bench(n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = std::env::var("XUNJIAN_BENCH_PG_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let settings = Settings::parse("bench", &format!("[database]\nurl = \"{url}\"\n"))?;
    let path = dir.path().join("accounts.toml");
    std::fs::write(&path, register_text(n, "账号"))?;
    let app = App::open(settings, path.clone()).await?;
    app.store.migrate().await?;
    let backend = app.store.backend();
    let started = Instant::now();
    let plan = app.import(false, false, chrono::Utc::now()).await?;
    println!(
        "import, {backend}, N = {n}: new {:.2} s ({} changes), peak RSS {:.1} MB",
        started.elapsed().as_secs_f64(),
        plan.changes.len(),
        peak_rss_mb()
    );
    let started = Instant::now();
    let plan = app.import(false, false, chrono::Utc::now()).await?;
    println!(
        "import, {backend}, N = {n}: unchanged {:.2} s ({} changes)",
        started.elapsed().as_secs_f64(),
        plan.changes.len()
    );
    std::fs::write(&path, register_text(n, "更名账号"))?;
    let started = Instant::now();
    let plan = app.import(false, false, chrono::Utc::now()).await?;
    println!(
        "import, {backend}, N = {n}: every account renamed {:.2} s ({} changes), peak RSS {:.1} MB",
        started.elapsed().as_secs_f64(),
        plan.changes.len(),
        peak_rss_mb()
    );
    Ok(())
}
