//! `accounts.toml` → [`Register`], reporting every problem at once.

pub use super::toml_walk::Problem;
use super::toml_walk::{Entry, Problems, integer};
use super::{Account, AccountState, Platform, Register, Source, ThresholdOverrides, is_valid_id};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Everything wrong with a register file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "台账有 {} 处问题（the register has {} problem(s)）：",
            self.problems.len(),
            self.problems.len()
        )?;
        for problem in &self.problems {
            writeln!(f, "  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RegisterError {}

/// What the register is checked against: the proxies the settings name.
pub struct Context<'a> {
    pub proxies: &'a [String],
}

/// "单位" or "账号": how messages name an entry kind.
fn noun(kind: &str) -> &'static str {
    if kind == "unit" { "单位" } else { "账号" }
}

/// Reads and validates a register file.
pub fn load_file(path: &Path, ctx: &Context<'_>) -> Result<Register, RegisterError> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&name, &text, ctx),
        Err(err) => Err(RegisterError {
            problems: vec![Problem {
                file: name,
                line: 0,
                column: 0,
                message: format!("无法读取台账文件：{err}"),
            }],
        }),
    }
}

/// Parses and validates register text; `file` names it in messages.
///
/// A plain file (see [`pieces`]) is parsed a thousand entries at a time:
/// TOML's syntax tree of a whole file of 100,000 accounts, with its tokens,
/// took 300 MB. Any other file, or one whose piece does not parse alone,
/// is parsed whole, and its problems are found the same way.
pub fn parse(file: &str, text: &str, ctx: &Context<'_>) -> Result<Register, RegisterError> {
    match pieces(text).and_then(|pieces| parse_pieces(file, text, &pieces, ctx)) {
        Some(result) => result,
        None => parse_whole(file, text, ctx),
    }
}

/// [`parse`] of the whole text at once.
fn parse_whole(file: &str, text: &str, ctx: &Context<'_>) -> Result<Register, RegisterError> {
    let mut p = Problems::new(file, text);
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(err) => {
            let offset = err.span().map_or(0, |s| s.start);
            p.push(offset, format!("TOML 格式有误：{}", err.message().trim()));
            return Err(RegisterError { problems: p.list });
        }
    };
    let mut read = Read::default();
    for kind in ["unit", "account"] {
        read.entries(&mut p, ctx, root.get_ref(), kind);
    }
    read.finish(p)
}

/// [`parse`] of a plain file's pieces: the units first (accounts name
/// them), then the accounts, each in file order; None when a piece does not
/// parse alone.
fn parse_pieces(
    file: &str,
    text: &str,
    pieces: &[Piece],
    ctx: &Context<'_>,
) -> Option<Result<Register, RegisterError>> {
    let mut p = Problems::new(file, text);
    let mut read = Read::default();
    for kind in ["unit", "account"] {
        for piece in pieces.iter().filter(|piece| piece.kind == kind) {
            let root = DeTable::parse(text.get(piece.range.clone())?).ok()?;
            p.base = piece.range.start;
            read.entries(&mut p, ctx, root.get_ref(), kind);
        }
    }
    p.base = 0;
    Some(read.finish(p))
}

/// The register read so far, and the ids seen with their lines.
#[derive(Default)]
struct Read {
    register: Register,
    unit_lines: HashMap<String, usize>,
    account_lines: HashMap<String, usize>,
    units: usize,
    accounts: usize,
}

impl Read {
    /// The `kind` entries of a parsed file or piece; other keys than the
    /// two kinds are reported once, with the units.
    fn entries(&mut self, p: &mut Problems<'_>, ctx: &Context<'_>, root: &DeTable<'_>, kind: &str) {
        for (key, value) in root.iter() {
            match key.get_ref().as_ref() {
                "unit" if kind == "unit" => {
                    for (table, span) in tables_of(p, "unit", value) {
                        let index = self.units;
                        self.units += 1;
                        let is_first = check_duplicate(p, "unit", table, &mut self.unit_lines);
                        if let Some((unit, _)) = read_unit(p, index, table, span) {
                            if is_first {
                                self.register.units.push(unit);
                            }
                        }
                    }
                }
                "account" if kind == "account" => {
                    for (table, span) in tables_of(p, "account", value) {
                        let index = self.accounts;
                        self.accounts += 1;
                        let is_first =
                            check_duplicate(p, "account", table, &mut self.account_lines);
                        let account = read_account(p, ctx, &self.unit_lines, index, table, span);
                        if let Some((account, _)) = account {
                            if is_first {
                                self.register.accounts.push(account);
                            }
                        }
                    }
                }
                "unit" | "account" => {}
                other if kind == "unit" => p.push(
                    key.span().start,
                    format!("未知的键 `{other}`（台账只有 `[[unit]]` 和 `[[account]]` 两种条目）"),
                ),
                _ => {}
            }
        }
    }

    fn finish(self, mut p: Problems<'_>) -> Result<Register, RegisterError> {
        if p.list.is_empty() {
            Ok(self.register)
        } else {
            p.list.sort_by_key(|problem| (problem.line, problem.column));
            Err(RegisterError { problems: p.list })
        }
    }
}

/// Reports a second use of an id; true when this is its first use.
fn check_duplicate(
    p: &mut Problems<'_>,
    kind: &str,
    table: &DeTable<'_>,
    lines: &mut HashMap<String, usize>,
) -> bool {
    let Some((_, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == "id") else {
        return true;
    };
    let Some(id) = value.get_ref().as_str() else {
        return true;
    };
    if let Some(first) = lines.get(id) {
        p.push(
            value.span().start,
            format!("{}「{id}」：ID 重复（第 {first} 行已有）", noun(kind)),
        );
        return false;
    }
    lines.insert(id.to_string(), p.line_of(value.span().start));
    true
}

type SpannedTable<'a, 'i> = (&'a DeTable<'i>, Range<usize>);

fn tables_of<'a, 'i>(
    p: &mut Problems<'_>,
    key: &str,
    value: &'a Spanned<DeValue<'i>>,
) -> Vec<SpannedTable<'a, 'i>> {
    let Some(items) = value.get_ref().as_array() else {
        p.push(
            value.span().start,
            format!("`{key}` 应写作 `[[{key}]]` 条目"),
        );
        return Vec::new();
    };
    let mut tables = Vec::new();
    for item in items.iter() {
        match item.get_ref().as_table() {
            Some(table) => tables.push((table, item.span())),
            None => p.push(
                item.span().start,
                format!("每个 `{key}` 条目都应写作 `[[{key}]]`"),
            ),
        }
    }
    tables
}

/// Reads the `id` field and makes the label used in every other message.
fn read_id(
    p: &mut Problems<'_>,
    kind: &str,
    index: usize,
    table: &DeTable<'_>,
    span: Range<usize>,
) -> (Option<(String, Range<usize>)>, String) {
    let mut probe = Entry::new(table, span, format!("第 {} 个{}", index + 1, noun(kind)));
    let id = probe.string(p, "id", true);
    match id {
        Some((id, id_span)) if is_valid_id(&id) => {
            let label = format!("{}「{id}」", noun(kind));
            (Some((id, id_span)), label)
        }
        Some((id, id_span)) => {
            p.push(
                id_span.start,
                format!(
                    "第 {} 个{}：`id` 只能由英文字母、数字、- 和 _ 组成（实际为「{id}」）",
                    index + 1,
                    noun(kind)
                ),
            );
            (None, format!("第 {} 个{}", index + 1, noun(kind)))
        }
        None => (None, format!("第 {} 个{}", index + 1, noun(kind))),
    }
}

fn read_account(
    p: &mut Problems<'_>,
    ctx: &Context<'_>,
    units: &HashMap<String, usize>,
    index: usize,
    table: &DeTable<'_>,
    span: Range<usize>,
) -> Option<(Account, Range<usize>)> {
    let before = p.list.len();
    let (id, label) = read_id(p, "account", index, table, span.clone());
    let mut e = Entry::new(table, span.clone(), label.clone());
    e.get("id");
    let unit = e.string(p, "unit", true);
    if let Some((unit, at)) = &unit {
        if !units.contains_key(unit) {
            // In file order: of two as near, the first is named (the map's
            // own order changed from run to run).
            let mut known: Vec<(&String, &usize)> = units.iter().collect();
            known.sort_by_key(|&(id, line)| (*line, id));
            let hint =
                super::check::unit_hint(unit, known.iter().map(|(k, _)| (k.as_str(), k.as_str())));
            p.push(
                at.start,
                format!("{label}：`unit` 未知单位「{unit}」{hint}（文件中没有此单位ID）"),
            );
        }
    }
    let name = e.string(p, "name", true);
    let name = checked_name(p, &label, name);
    // The same names as the workbook, the CLI and chat: weibo, 微博, 公众号 …
    let platform = e.string(p, "platform", true).and_then(|(id, at)| {
        let parsed = Platform::from_name(&id);
        if parsed.is_none() {
            let known: Vec<String> = Platform::ALL
                .iter()
                .map(|p| format!("{}（{}）", p.id(), p.label()))
                .collect();
            let hint = super::check::platform_hint(&id);
            p.push(
                at.start,
                format!(
                    "{label}：platform 未知平台「{id}」{hint}（可选：{}）",
                    known.join("、")
                ),
            );
        }
        parsed
    });
    let source = read_source(p, ctx, &mut e, span.start, platform);
    let state = e.string(p, "state", false).map_or(Some(AccountState::Active), |(s, at)| {
        let parsed = AccountState::from_id(&s);
        if parsed.is_none() {
            p.push(
                at.start,
                format!(
                    "{label}：`state` 未知状态「{s}」（可选：active 正常运维、closing 正在注销、deregistered 已注销）"
                ),
            );
        }
        parsed
    });
    let deregistered_on = read_date(p, &mut e, "deregistered_on");
    let filing_ref = e.string(p, "filing_ref", false);
    let is_interactive = match e.get("interactive") {
        None => true,
        Some(v) => v.get_ref().as_bool().unwrap_or_else(|| {
            e.wrong_type(p, "interactive", v, "true 或 false");
            true
        }),
    };
    let thresholds = read_thresholds(p, &mut e);
    let note =
        e.string(p, "note", false)
            .and_then(|(text, at)| match super::check::checked_note(&text) {
                Ok(note) => note,
                Err(why) => {
                    p.push(at.start, format!("{label}：`note` {why}"));
                    None
                }
            });
    check_filing(p, &label, span.start, state, &deregistered_on, &filing_ref);
    e.finish(p);
    if p.list.len() != before {
        return None;
    }
    let (id, id_span) = id?;
    Some((
        Account {
            id,
            unit: unit?.0,
            name: name?.0,
            platform: platform?,
            source: source?,
            state: state?,
            deregistered_on: deregistered_on.map(|(d, _)| d),
            filing_ref: filing_ref.map(|(s, _)| s),
            is_interactive,
            thresholds,
            note,
        },
        id_span,
    ))
}

fn read_source(
    p: &mut Problems<'_>,
    ctx: &Context<'_>,
    e: &mut Entry<'_, '_>,
    at: usize,
    platform: Option<Platform>,
) -> Option<Source> {
    let proxy = e.string(p, "proxy", false);
    let route = e.string(p, "route", false);
    let feed = e.string(p, "feed", false);
    let label = e.label.clone();
    match (proxy, route, feed) {
        (Some(_), _, Some((_, at))) | (_, Some(_), Some((_, at))) => {
            p.push(
                at.start,
                format!("{label}：`proxy` + `route` 与 `feed` 只能写一种"),
            );
            None
        }
        (None, None, Some((url, at))) => match super::check::check_feed_url(&url) {
            Ok(()) => Some(Source::Feed { feed: url }),
            Err(why) => {
                p.push(
                    at.start,
                    format!("{label}：`feed` 地址「{url}」无效：{why}"),
                );
                None
            }
        },
        (Some((proxy, proxy_at)), Some((route, route_at)), None) => {
            let mut is_ok = true;
            if !ctx.proxies.contains(&proxy) {
                let known = if ctx.proxies.is_empty() {
                    "设置文件的 [proxies] 中还没有配置代理".to_string()
                } else {
                    format!("已配置：{}", ctx.proxies.join("、"))
                };
                p.push(
                    proxy_at.start,
                    format!("{label}：`proxy` 未配置的代理「{proxy}」（{known}）"),
                );
                is_ok = false;
            }
            if let Err(why) = super::check::check_route(&route) {
                p.push(
                    route_at.start,
                    format!("{label}：`route` {why}（实际为「{route}」）"),
                );
                is_ok = false;
            }
            is_ok.then_some(Source::Proxy { proxy, route })
        }
        (Some((_, at)), None, None) => {
            p.push(at.start, format!("{label}：写了 `proxy` 还需写 `route`"));
            None
        }
        (None, Some((_, at)), None) => {
            p.push(at.start, format!("{label}：写了 `route` 还需写 `proxy`"));
            None
        }
        (None, None, None) if platform.is_some_and(Platform::is_without_route) => {
            Some(Source::Manual {})
        }
        (None, None, None) => {
            p.push(
                at,
                format!("{label}：缺少来源：请写 `proxy` + `route`，或 `feed`"),
            );
            None
        }
    }
}

/// Refuses a name (see [`check_name`](super::check::check_name)) with a problem at its position.
fn checked_name(
    p: &mut Problems<'_>,
    label: &str,
    name: Option<(String, Range<usize>)>,
) -> Option<(String, Range<usize>)> {
    let (text, at) = name?;
    match super::check::check_name(&text) {
        Ok(()) => Some((text, at)),
        Err(why) => {
            p.push(at.start, format!("{label}：`name` {why}"));
            None
        }
    }
}

/// Checks that a URL is an absolute http(s) URL with a host.
pub fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("协议必须是 http 或 https，而不是 {}", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("缺少主机名".to_string());
    }
    Ok(())
}

fn read_date(
    p: &mut Problems<'_>,
    e: &mut Entry<'_, '_>,
    key: &'static str,
) -> Option<(NaiveDate, Range<usize>)> {
    let v = e.get(key)?;
    let text = match v.get_ref() {
        DeValue::String(s) => s.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        _ => {
            e.wrong_type(p, key, v, "日期，如 \"2026-03-01\"");
            return None;
        }
    };
    match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        Ok(date) => Some((date, v.span())),
        Err(_) => {
            p.push(
                v.span().start,
                format!(
                    "{}：`{key}` 日期「{text}」无效（应写作 2026-03-01）",
                    e.label
                ),
            );
            None
        }
    }
}

fn read_thresholds(p: &mut Problems<'_>, e: &mut Entry<'_, '_>) -> ThresholdOverrides {
    let mut thresholds = ThresholdOverrides::default();
    for key in ThresholdOverrides::KEYS {
        let Some(v) = e.get(key) else { continue };
        match integer(v.get_ref()).and_then(|n| u32::try_from(n).ok()) {
            Some(days) if days > 0 => {
                thresholds.set(key, days);
            }
            _ => e.wrong_type(p, key, v, "正整数天数"),
        }
    }
    thresholds
}

fn check_filing(
    p: &mut Problems<'_>,
    label: &str,
    at: usize,
    state: Option<AccountState>,
    deregistered_on: &Option<(NaiveDate, Range<usize>)>,
    filing_ref: &Option<(String, Range<usize>)>,
) {
    if state == Some(AccountState::Deregistered) {
        if deregistered_on.is_none() {
            p.push(
                at,
                format!("{label}：状态为已注销（deregistered），须填写 `deregistered_on` 注销日期"),
            );
        }
        match filing_ref {
            None => p.push(
                at,
                format!("{label}：状态为已注销（deregistered），须填写 `filing_ref` 备案文号"),
            ),
            Some((text, span)) if text.trim().is_empty() => {
                p.push(span.start, format!("{label}：`filing_ref` 不能为空"))
            }
            Some(_) => {}
        }
    } else if state.is_some() {
        for (key, span) in [
            ("deregistered_on", deregistered_on.as_ref().map(|d| &d.1)),
            ("filing_ref", filing_ref.as_ref().map(|f| &f.1)),
        ] {
            if let Some(span) = span {
                p.push(
                    span.start,
                    format!("{label}：`{key}` 只在状态为已注销（deregistered）时填写"),
                );
            }
        }
    }
}

mod pieces;
mod unit;
use pieces::{Piece, pieces};
use unit::read_unit;

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
