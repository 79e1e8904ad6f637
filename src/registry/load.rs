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
                message: format!("cannot read the register: {err}"),
            }],
        }),
    }
}

/// Parses and validates register text; `file` names it in messages.
pub fn parse(file: &str, text: &str, ctx: &Context<'_>) -> Result<Register, RegisterError> {
    let mut p = Problems::new(file, text);
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(err) => {
            let offset = err.span().map_or(0, |s| s.start);
            p.push(offset, format!("invalid TOML: {}", err.message().trim()));
            return Err(RegisterError { problems: p.list });
        }
    };
    let mut register = Register::default();
    let mut unit_tables = Vec::new();
    let mut account_tables = Vec::new();
    for (key, value) in root.get_ref().iter() {
        match key.get_ref().as_ref() {
            "unit" => unit_tables = tables_of(&mut p, "unit", value),
            "account" => account_tables = tables_of(&mut p, "account", value),
            other => p.push(
                key.span().start,
                format!("unknown key `{other}` (expected `[[unit]]` or `[[account]]`)"),
            ),
        }
    }
    let mut unit_lines: HashMap<String, usize> = HashMap::new();
    for (i, (table, span)) in unit_tables.into_iter().enumerate() {
        let is_first = check_duplicate(&mut p, "unit", table, &mut unit_lines);
        if let Some((unit, _)) = read_unit(&mut p, i, table, span) {
            if is_first {
                register.units.push(unit);
            }
        }
    }
    let mut account_lines: HashMap<String, usize> = HashMap::new();
    for (i, (table, span)) in account_tables.into_iter().enumerate() {
        let is_first = check_duplicate(&mut p, "account", table, &mut account_lines);
        if let Some((account, _)) = read_account(&mut p, ctx, &unit_lines, i, table, span) {
            if is_first {
                register.accounts.push(account);
            }
        }
    }
    if p.list.is_empty() {
        Ok(register)
    } else {
        p.list.sort_by_key(|problem| (problem.line, problem.column));
        Err(RegisterError { problems: p.list })
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
            format!("{kind} \"{id}\": duplicate id (first defined at line {first})"),
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
            format!("`{key}` must be an array of tables: write `[[{key}]]`"),
        );
        return Vec::new();
    };
    let mut tables = Vec::new();
    for item in items.iter() {
        match item.get_ref().as_table() {
            Some(table) => tables.push((table, item.span())),
            None => p.push(
                item.span().start,
                format!("every `{key}` entry must be a table: write `[[{key}]]`"),
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
    let mut probe = Entry::new(table, span, format!("{kind} #{}", index + 1));
    let id = probe.string(p, "id", true);
    match id {
        Some((id, id_span)) if is_valid_id(&id) => {
            let label = format!("{kind} \"{id}\"");
            (Some((id, id_span)), label)
        }
        Some((id, id_span)) => {
            p.push(
                id_span.start,
                format!(
                    "{kind} #{}: field `id`: must be ASCII letters, digits, '-' or '_' (got \"{id}\")",
                    index + 1
                ),
            );
            (None, format!("{kind} #{}", index + 1))
        }
        None => (None, format!("{kind} #{}", index + 1)),
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
            p.push(
                at.start,
                format!("{label}: field `unit`: unknown unit \"{unit}\""),
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
    let source = read_source(p, ctx, &mut e, span.start);
    let state = e.string(p, "state", false).map_or(Some(AccountState::Active), |(s, at)| {
        let parsed = AccountState::from_id(&s);
        if parsed.is_none() {
            p.push(
                at.start,
                format!(
                    "{label}: field `state`: unknown state \"{s}\" (expected active, closing or deregistered)"
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
            e.wrong_type(p, "interactive", v, "true or false");
            true
        }),
    };
    let thresholds = read_thresholds(p, &mut e);
    let note = e
        .string(p, "note", false)
        .map(|(s, _)| s.trim().to_string())
        .filter(|s| !s.is_empty());
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
) -> Option<Source> {
    let proxy = e.string(p, "proxy", false);
    let route = e.string(p, "route", false);
    let feed = e.string(p, "feed", false);
    let label = e.label.clone();
    match (proxy, route, feed) {
        (Some(_), _, Some((_, at))) | (_, Some(_), Some((_, at))) => {
            p.push(
                at.start,
                format!("{label}: give either `proxy` + `route` or `feed`, not both"),
            );
            None
        }
        (None, None, Some((url, at))) => match super::check::check_feed_url(&url) {
            Ok(()) => Some(Source::Feed { feed: url }),
            Err(why) => {
                p.push(
                    at.start,
                    format!("{label}: field `feed`: invalid URL \"{url}\": {why}"),
                );
                None
            }
        },
        (Some((proxy, proxy_at)), Some((route, route_at)), None) => {
            let mut is_ok = true;
            if !ctx.proxies.contains(&proxy) {
                let known = if ctx.proxies.is_empty() {
                    "none are configured in [proxies]".to_string()
                } else {
                    format!("configured: {}", ctx.proxies.join(", "))
                };
                p.push(
                    proxy_at.start,
                    format!("{label}: field `proxy`: unknown proxy \"{proxy}\" ({known})"),
                );
                is_ok = false;
            }
            if let Err(why) = super::check::check_route(&route) {
                p.push(
                    route_at.start,
                    format!("{label}: field `route`: {why} (got \"{route}\")"),
                );
                is_ok = false;
            }
            is_ok.then_some(Source::Proxy { proxy, route })
        }
        (Some((_, at)), None, None) => {
            p.push(at.start, format!("{label}: `proxy` needs a `route`"));
            None
        }
        (None, Some((_, at)), None) => {
            p.push(at.start, format!("{label}: `route` needs a `proxy`"));
            None
        }
        (None, None, None) => {
            p.push(
                at,
                format!("{label}: missing source: give `proxy` + `route`, or `feed`"),
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
            p.push(at.start, format!("{label}: field `name`: {why}"));
            None
        }
    }
}

/// Checks that a URL is an absolute http(s) URL with a host.
pub fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "scheme must be http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".to_string());
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
            e.wrong_type(p, key, v, "a date like \"2026-03-01\"");
            return None;
        }
    };
    match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        Ok(date) => Some((date, v.span())),
        Err(_) => {
            p.push(
                v.span().start,
                format!(
                    "{}: field `{key}`: invalid date \"{text}\" (expected YYYY-MM-DD)",
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
            _ => e.wrong_type(p, key, v, "a positive number of days"),
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
                format!("{label}: state is \"deregistered\" but `deregistered_on` is missing"),
            );
        }
        match filing_ref {
            None => p.push(
                at,
                format!("{label}: state is \"deregistered\" but `filing_ref` is missing"),
            ),
            Some((text, span)) if text.trim().is_empty() => p.push(
                span.start,
                format!("{label}: field `filing_ref`: must not be empty"),
            ),
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
                    format!("{label}: field `{key}`: only allowed when state is \"deregistered\""),
                );
            }
        }
    }
}

mod unit;
use unit::read_unit;

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
