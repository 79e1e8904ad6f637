//! Content inspection (what accounts post): 错敏词, leaders' names and
//! titles, personal data, 停更公告 and 转载任务. Pure: a post's title and
//! text (plus the lists, the allow list and the open tasks) in, hits out.
//!
//! Reading the list files is the only I/O here, done once at start
//! ([`Checker::from_settings`]).

mod finding;
mod lists;
mod names;
mod packed;
mod personal;
mod progress;
mod tasks;
mod text;
mod unit_filter;
mod wording;

pub use finding::{ContentFinding, FindingState};
pub use lists::{DEFAULT_LIST, default_entries, read_list};
pub use names::{NameList, Person};
pub use packed::{pack, pack_units, unpack, unpack_units, utf16_into};
pub use personal::{PersonalKind, is_id_number, mask, mask_all};
pub use progress::{TaskProgress, render_tasks, tasks_sentence};
pub use tasks::{
    ClosingState, RepostTask, is_closing_notice, is_targeted, matches_task, normalize,
};
pub use text::{MAX_TEXT_BYTES, cut, plain_text};
pub use wording::{Entry, Level, WordList};

use crate::config::ContentSettings;
use crate::domain::Rule;
use sha2::Digest as _;
use wording::{ceil_boundary, covers, floor_boundary};

/// Characters of context shown on each side of a match.
const CONTEXT_CHARS: usize = 20;

/// One problem found in a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// `wording` or `personal_data`.
    pub rule: Rule,
    pub level: Level,
    /// 类别: the list's category, 领导姓名职务, or the kind of personal data.
    pub category: String,
    /// What was written, as shown (personal data masked).
    pub matched: String,
    /// 建议: the right wording or what to do.
    pub suggestion: String,
    /// The match in its sentence: "…前文【匹配】后文…", personal data masked.
    pub context: String,
    /// What the allow list and the dedup know it by: the wrong wording, the
    /// name, or a hash of the number (never the number).
    pub key: String,
    pub is_in_title: bool,
}

/// The lists, compiled once.
#[derive(Debug, Clone)]
pub struct Checker {
    pub words: WordList,
    pub names: NameList,
    pub is_enabled: bool,
}

impl Checker {
    /// The lists the settings name (office lists first), then the built-in one.
    pub fn from_settings(settings: &ContentSettings) -> Result<Checker, String> {
        let mut entries = Vec::new();
        if settings.is_enabled {
            for path in &settings.lists {
                entries.extend(read_list(path)?);
            }
            if settings.default_list {
                entries.extend(default_entries());
            }
        }
        if entries.len() > lists::MAX_ENTRIES {
            return Err(format!("错敏词表合计超过 {} 条", lists::MAX_ENTRIES));
        }
        let people = if settings.is_enabled {
            settings.names.clone()
        } else {
            Vec::new()
        };
        Ok(Checker {
            words: WordList::new(entries)?,
            names: NameList::new(people)?,
            is_enabled: settings.is_enabled,
        })
    }

    /// A checker with nothing to look for.
    pub fn disabled() -> Checker {
        Checker {
            words: WordList::new(Vec::new()).expect("an empty list compiles"),
            names: NameList::new(Vec::new()).expect("an empty list compiles"),
            is_enabled: false,
        }
    }

    /// Every problem in a post's title and text; `allowed` are the phrases
    /// (or keys) the office allowed for this account.
    pub fn scan(&self, title: &str, text: &str, allowed: &[String], this_year: i32) -> Vec<Hit> {
        self.scan_with_units(title, text, None, allowed, this_year)
    }

    /// [`Checker::scan`], given the text's UTF-16 units when the caller has
    /// them (see [`utf16_into`]): the wording list rules most texts out on
    /// them.
    pub fn scan_with_units(
        &self,
        title: &str,
        text: &str,
        text_units: Option<&[u16]>,
        allowed: &[String],
        this_year: i32,
    ) -> Vec<Hit> {
        if !self.is_enabled {
            return Vec::new();
        }
        let mut hits = Vec::new();
        // A caller with the text's units gets the title scanned by units as
        // well: a title's own short search cost more than its conversion.
        let mut title_units = Vec::new();
        if text_units.is_some() && !title.is_empty() {
            utf16_into(title, &mut title_units);
        }
        let title_units = text_units.map(|_| title_units.as_slice());
        for (part, units, is_in_title) in [(title, title_units, true), (text, text_units, false)] {
            if part.is_empty() {
                continue;
            }
            self.scan_part(part, units, is_in_title, this_year, &mut hits);
            hits.retain(|h: &(Hit, usize, usize)| {
                h.0.is_in_title != is_in_title || !is_allowed(part, h, allowed)
            });
        }
        let mut seen = std::collections::HashSet::new();
        hits.into_iter()
            .map(|(hit, _, _)| hit)
            .filter(|hit| seen.insert((hit.rule, hit.key.clone())))
            .collect()
    }

    fn scan_part(
        &self,
        part: &str,
        units: Option<&[u16]>,
        is_in_title: bool,
        year: i32,
        hits: &mut Vec<(Hit, usize, usize)>,
    ) {
        // Masking keeps every byte offset (a number is ASCII and its mask
        // as long), so contexts are cut from the masked text: a number cut
        // in half at a context's edge cannot slip through unmasked.
        // Only a part with a match is copied.
        let masked = std::cell::OnceCell::new();
        let context = |start: usize, end: usize| {
            context(masked.get_or_init(|| mask_all(part, year)), start, end)
        };
        for m in self.words.find_with_units(part, units) {
            let Some(entry) = self.words.entries.get(m.entry) else {
                continue;
            };
            hits.push((
                Hit {
                    rule: Rule::Wording,
                    level: entry.level,
                    category: entry.category.clone(),
                    matched: entry.wrong.clone(),
                    suggestion: suggestion(&entry.right),
                    context: context(m.start, m.end),
                    key: entry.wrong.clone(),
                    is_in_title,
                },
                m.start,
                m.end,
            ));
        }
        for p in self.names.find(part) {
            hits.push((
                Hit {
                    rule: Rule::Wording,
                    level: Level::Severe,
                    category: "领导姓名职务".to_string(),
                    matched: p.matched,
                    suggestion: p.suggestion,
                    context: context(p.start, p.end),
                    key: p.key,
                    is_in_title,
                },
                p.start,
                p.end,
            ));
        }
        for f in personal::find(part, year) {
            let number = part.get(f.start..f.end).unwrap_or_default();
            hits.push((
                Hit {
                    rule: Rule::PersonalData,
                    level: Level::Severe,
                    category: f.kind.label().to_string(),
                    matched: mask(number, f.kind),
                    suggestion: format!(
                        "{}未去标识化：删除或改为部分隐藏后重新发布",
                        f.kind.label()
                    ),
                    context: context(f.start, f.end),
                    key: number_key(number),
                    is_in_title,
                },
                f.start,
                f.end,
            ));
        }
    }
}

/// "应为「…」", or the note as written when it is an instruction.
fn suggestion(right: &str) -> String {
    let right = right.trim();
    if right.is_empty() {
        "请核实并修改".to_string()
    } else if right.starts_with("不") || right.contains('；') || right.contains('（') {
        right.to_string()
    } else {
        format!("应为「{right}」")
    }
}

/// What the allow list knows a number by: a hash, never the number.
pub fn number_key(number: &str) -> String {
    let digest = sha2::Sha256::digest(number.to_ascii_uppercase().as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn is_allowed(part: &str, (hit, start, end): &(Hit, usize, usize), allowed: &[String]) -> bool {
    allowed
        .iter()
        .any(|phrase| *phrase == hit.key || covers(part, phrase, *start, *end))
}

/// "…前文【匹配】后文…" from a text whose personal data is masked already.
fn context(masked: &str, start: usize, end: usize) -> String {
    let start = floor_boundary(masked, start);
    let end = ceil_boundary(masked, end.max(start));
    let before = masked.get(..start).unwrap_or_default();
    let after = masked.get(end..).unwrap_or_default();
    let from = before
        .char_indices()
        .rev()
        .nth(CONTEXT_CHARS.saturating_sub(1))
        .map_or(0, |(at, _)| at);
    let to = after
        .char_indices()
        .nth(CONTEXT_CHARS)
        .map_or(after.len(), |(at, _)| at);
    let one_line = |s: &str| s.replace(['\n', '\r'], " ");
    format!(
        "{}{}【{}】{}{}",
        if from > 0 { "…" } else { "" },
        one_line(before.get(from..).unwrap_or_default()),
        one_line(masked.get(start..end).unwrap_or_default()),
        one_line(after.get(..to).unwrap_or_default()),
        if to < after.len() { "…" } else { "" },
    )
}

#[cfg(test)]
mod tests;
