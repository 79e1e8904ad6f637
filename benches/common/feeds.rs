//! A local feed server in a child process, and CPU time: what the poll-cycle
//! benchmarks share.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use xunjian::registry::{Account, AccountState, Platform, Register, Source, Unit, UnitKind};

/// Starts `current_exe serve` and returns it with the base URL it printed.
pub fn spawn_server() -> anyhow::Result<(std::process::Child, String)> {
    use std::io::BufRead;
    let mut server = std::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    let stdout = server
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no server stdout"))?;
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    Ok((server, line.trim().to_string()))
}

/// The feeds' version: `GET /next` moves every feed to the next one.
static VERSION: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Serves `/feed/{i}` as `body(i, version)` with an ETag per version (304 to
/// a matching If-None-Match) until killed; prints its base URL first.
pub async fn serve(body: fn(usize, u32) -> String) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("http://{}", listener.local_addr()?);
    use std::io::Write;
    std::io::stdout().flush()?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| async move {
                    use std::sync::atomic::Ordering;
                    if req.uri().path() == "/next" {
                        VERSION.fetch_add(1, Ordering::SeqCst);
                        return Ok(Response::new(Full::new(Bytes::new())));
                    }
                    let version = VERSION.load(Ordering::SeqCst);
                    let id = req.uri().path().trim_start_matches("/feed/").to_string();
                    let etag = format!("\"{id}-{version}\"");
                    let is_fresh = req
                        .headers()
                        .get("if-none-match")
                        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
                    let response = Response::builder()
                        .header("Content-Type", "application/rss+xml; charset=utf-8")
                        .header("Cache-Control", "public, max-age=300")
                        .header("ETag", etag.as_str());
                    let response = if is_fresh {
                        response.status(304).body(Full::new(Bytes::new()))
                    } else {
                        let text = body(id.parse().unwrap_or(0), version);
                        response.body(Full::new(Bytes::from(text)))
                    };
                    Ok::<_, std::convert::Infallible>(response.expect("a valid response"))
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// CPU seconds (user + system) this process has used.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 here); 100 ticks per second.
    (ticks(11) + ticks(12)) / 100.0
}

/// The benchmark accounts' ids.
pub fn account_id(i: usize) -> String {
    format!("acct-{i:06}")
}

/// N active Douyin accounts on the `rsshub` proxy (`/feed/{i}`), 20 to a unit.
pub fn synthetic_register(n: usize) -> Register {
    let units = (0..n.div_ceil(20).max(1))
        .map(|u| Unit {
            id: format!("unit-{u:05}"),
            name: format!("单位{u}"),
            kind: if u % 3 == 0 {
                UnitKind::Town
            } else {
                UnitKind::Department
            },
            contacts: Vec::new(),
            chat: None,
        })
        .collect();
    let accounts = (0..n)
        .map(|i| Account {
            id: account_id(i),
            unit: format!("unit-{:05}", i / 20),
            name: format!("账号{i}"),
            platform: Platform::Douyin,
            source: Source::Proxy {
                proxy: "rsshub".to_string(),
                route: format!("/feed/{i}"),
            },
            state: AccountState::Active,
            deregistered_on: None,
            filing_ref: None,
            is_interactive: true,
            thresholds: Default::default(),
            note: None,
        })
        .collect();
    Register { units, accounts }
}
