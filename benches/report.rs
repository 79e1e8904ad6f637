//! Monthly-report benchmark (run by hand, not a test):
//!
//!     cargo bench --bench report -- 10000
//!
//! N accounts with three months of posts (one a day) and eight inspections in
//! the month, in a SQLite file; prints the time to load and build the monthly
//! report, and to render it as text, XLSX and PNG.

use chrono::{DateTime, Duration, Utc};
use std::time::Instant;
use xunjian::calendar::Calendar;
use xunjian::config::Settings;
use xunjian::fetch::{FetchState, Outcome};
use xunjian::parse::{Post, PostKind};
use xunjian::publish::{Format, load_report, render_bytes};
use xunjian::registry::{Account, AccountState, Platform, Register, Source, Unit, UnitKind};
use xunjian::reports::ReportKind;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(n))
}

async fn run(n: usize) -> anyhow::Result<()> {
    let now = DateTime::parse_from_rfc3339("2026-11-03T09:00:00+08:00")?.with_timezone(&Utc);
    let dir = tempfile::tempdir()?;
    let settings = Settings::parse(
        "bench",
        &format!(
            "[database]\nurl = \"sqlite://{}/report.db\"\n",
            dir.path().display()
        ),
    )?;
    let store = xunjian::storage::Store::connect(&settings.database).await?;
    store.migrate().await?;
    let register = Register {
        units: (0..n.div_ceil(10))
            .map(|u| Unit {
                id: format!("u{u}"),
                name: format!("单位{u}"),
                kind: if u % 4 == 0 {
                    UnitKind::Town
                } else {
                    UnitKind::Department
                },
                contacts: Vec::new(),
                chat: None,
            })
            .collect(),
        accounts: (0..n)
            .map(|i| Account {
                id: format!("a{i}"),
                unit: format!("u{}", i / 10),
                name: format!("账号{i}"),
                platform: Platform::ALL[i % 8],
                source: Source::Feed {
                    feed: format!("https://example.gov.cn/{i}.xml"),
                },
                state: AccountState::Active,
                deregistered_on: None,
                filing_ref: None,
                is_interactive: true,
                thresholds: Default::default(),
                note: None,
            })
            .collect(),
    };
    let plan = xunjian::registry::diff::plan(&Register::default(), &register, false);
    store
        .apply_plan(&plan, "bench", "cli", now - Duration::days(120))
        .await?;
    let started = Instant::now();
    for (i, account) in register.accounts.iter().enumerate() {
        let quiet = if i % 20 == 0 { 25 } else { 0 };
        let posts: Vec<Post> = (quiet..92)
            .map(|d| Post {
                dedup_key: format!("{i}-{d}"),
                published_at: now - Duration::days(d) - Duration::hours(2),
                is_date_estimated: false,
                title: None,
                link: None,
                author: None,
                kind: if d % 4 == 0 {
                    PostKind::Repost
                } else {
                    PostKind::Original
                },
                evidence: String::new(),
                text: String::new(),
                is_notice: false,
                hits: Vec::new(),
                tasks: Vec::new(),
                packed: Vec::new(),
            })
            .collect();
        let state = FetchState {
            account_id: account.id.clone(),
            next_check_at: Some(now),
            outcome: Some(Outcome::Ok),
            ..FetchState::default()
        };
        store
            .record_fetch(&state, &posts, now - Duration::days(100))
            .await?;
    }
    let inspector = xunjian::inspection::Inspector::new(store.clone(), settings.clone())?;
    for week in 0..8 {
        let at = now - Duration::days(3 + 4 * week);
        let result = inspector.evaluate(at).await?;
        store.save_inspection(&result, at).await?;
    }
    let loading = started.elapsed().as_secs_f64();
    let calendar = Calendar::builtin();
    let (from, to) = ReportKind::Monthly.previous_period(xunjian::calendar::local_date(now));
    let started = Instant::now();
    let report = load_report(&store, &calendar, ReportKind::Monthly, from, to, now).await?;
    let building = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let text = render_bytes(&report, Format::Text, &settings, &calendar)?;
    let xlsx = render_bytes(&report, Format::Xlsx, &settings, &calendar)?;
    let docx = render_bytes(&report, Format::Docx, &settings, &calendar)?;
    let png = render_bytes(&report, Format::Png, &settings, &calendar)
        .map(|p| p.len())
        .unwrap_or(0);
    let rendering = started.elapsed().as_secs_f64();
    println!(
        "monthly report over {n} accounts × 3 months of posts, {} inspections in the month (setup {loading:.0} s): \
         load + build {building:.2} s, render text+xlsx+docx+png {rendering:.2} s (text {} B, xlsx {} KB, docx {} KB, png {} KB)",
        report.inspections,
        text.len(),
        xlsx.len() / 1024,
        docx.len() / 1024,
        png / 1024
    );
    Ok(())
}
