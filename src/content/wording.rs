//! 错敏词: a wording list matched in one Aho–Corasick pass.

use super::unit_filter::UnitFilter;
use aho_corasick::{AhoCorasick, MatchKind};

/// How grave a wrong wording is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// 一般: counted and listed; does not fail the account.
    General,
    /// 严重: fails the account (单项否决).
    Severe,
}

impl Level {
    pub fn id(self) -> &'static str {
        match self {
            Level::General => "general",
            Level::Severe => "severe",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::General => "一般",
            Level::Severe => "严重",
        }
    }

    /// `严重`/`一般` as lists write them, or the ids.
    pub fn from_text(text: &str) -> Option<Level> {
        match text.trim() {
            "严重" | "severe" | "Severe" | "SEVERE" => Some(Level::Severe),
            "一般" | "general" | "General" | "GENERAL" => Some(Level::General),
            _ => None,
        }
    }

    pub fn from_id(id: &str) -> Option<Level> {
        Level::from_text(id)
    }
}

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub wrong: String,
    /// The right wording, or what to do (说明) when there is none.
    pub right: String,
    pub category: String,
    pub level: Level,
    /// Longer correct phrases that contain `wrong` ("中华人民共和国" is no
    /// "中华民国" error).
    pub exceptions: Vec<String>,
    /// The list file it came from.
    pub source: String,
}

/// A match of an entry: byte range in the text and the entry's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordMatch {
    pub start: usize,
    pub end: usize,
    pub entry: usize,
}

/// Every entry of the lists, compiled.
#[derive(Debug, Clone)]
pub struct WordList {
    pub entries: Vec<Entry>,
    matcher: Option<AhoCorasick>,
    /// For a list longer than one prefilter group, the same words sorted
    /// and split into a few groups: a text with none of them, most posts, is
    /// ruled out group by group at about twice the speed of the whole list's
    /// automaton. Sorted, a group's words share their leading bytes, so the
    /// SIMD searcher's fingerprints of Chinese words match fewer places: over
    /// 8,000 distinct post texts of the seeds' prose, the default list of 80
    /// as groups of 64 and 16 in file order ran at 1,045 MB/s, as two sorted
    /// groups of 40 at 1,230 MB/s. Empty for other lists.
    groups: Vec<AhoCorasick>,
    /// Rules a text out by its UTF-16 units when the caller has them (a
    /// fetched post's text, converted for keeping anyway): a third of the
    /// look-ups of the groups above on Chinese text.
    units: Option<UnitFilter>,
}

/// Words in one prefilter group, at most.
const PREFILTER_GROUP: usize = 40;
/// Up to this many groups are worth a pass each (five passes cost about
/// what the whole list's automaton does).
const MAX_GROUPS: usize = 5;

impl WordList {
    /// Compiles `entries`; the same wrong wording twice keeps the first
    /// (the office's own list comes before the default one).
    pub fn new(entries: Vec<Entry>) -> Result<WordList, String> {
        let mut seen = std::collections::HashSet::new();
        let entries: Vec<Entry> = entries
            .into_iter()
            .filter(|e| !e.wrong.is_empty() && seen.insert(e.wrong.clone()))
            .collect();
        let matcher = if entries.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(entries.iter().map(|e| e.wrong.as_str()))
                    .map_err(|e| format!("错敏词表无法编译：{e}"))?,
            )
        };
        let group_count = entries.len().div_ceil(PREFILTER_GROUP);
        let groups = if (2..=MAX_GROUPS).contains(&group_count) {
            let mut words: Vec<&str> = entries.iter().map(|e| e.wrong.as_str()).collect();
            words.sort_unstable();
            words
                .chunks(words.len().div_ceil(group_count))
                .map(|group| {
                    AhoCorasick::builder()
                        .match_kind(MatchKind::LeftmostLongest)
                        .build(group)
                        .map_err(|e| format!("错敏词表无法编译：{e}"))
                })
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        let units = UnitFilter::new(entries.iter().map(|e| e.wrong.as_str()));
        Ok(WordList {
            entries,
            matcher,
            groups,
            units,
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every match in `text`, one pass; a match inside one of its entry's
    /// exceptions is left out.
    pub fn find(&self, text: &str) -> Vec<WordMatch> {
        self.find_with_units(text, None)
    }

    /// [`WordList::find`], given the text's UTF-16 units when the caller
    /// has them (see [`super::utf16_into`]).
    pub fn find_with_units(&self, text: &str, units: Option<&[u16]>) -> Vec<WordMatch> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        match (&self.units, units) {
            (Some(filter), Some(units)) => {
                if !filter.may_match(units) {
                    return Vec::new();
                }
            }
            // Whether any word occurs at all is exact per group; which
            // ones, leftmost-longest across the groups, only the whole list
            // says.
            _ => {
                if !self.groups.is_empty() && !self.groups.iter().any(|g| g.is_match(text)) {
                    return Vec::new();
                }
            }
        }
        matcher
            .find_iter(text)
            .filter_map(|m| {
                let entry = self.entries.get(m.pattern().as_usize())?;
                let is_excepted = entry
                    .exceptions
                    .iter()
                    .any(|x| covers(text, x, m.start(), m.end()));
                (!is_excepted).then_some(WordMatch {
                    start: m.start(),
                    end: m.end(),
                    entry: m.pattern().as_usize(),
                })
            })
            .collect()
    }
}

/// True when an occurrence of `phrase` in `text` covers `start..end`.
pub fn covers(text: &str, phrase: &str, start: usize, end: usize) -> bool {
    if phrase.is_empty() || phrase.len() < end.saturating_sub(start) {
        return false;
    }
    let from = floor_boundary(text, start.saturating_sub(phrase.len()));
    let to = ceil_boundary(text, end.saturating_add(phrase.len()).min(text.len()));
    let Some(window) = text.get(from..to) else {
        return false;
    };
    window.match_indices(phrase).any(|(at, _)| {
        let s = from + at;
        s <= start && s + phrase.len() >= end
    })
}

pub fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at = at.saturating_sub(1);
    }
    at
}

pub fn ceil_boundary(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at.min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(wrong: &str, right: &str, exceptions: &[&str]) -> Entry {
        Entry {
            wrong: wrong.into(),
            right: right.into(),
            category: "测试".into(),
            level: Level::General,
            exceptions: exceptions.iter().map(|x| x.to_string()).collect(),
            source: "test".into(),
        }
    }

    /// The wrong wordings `list` finds in `text`, in order.
    fn found(list: &WordList, text: &str) -> Vec<String> {
        list.find(text)
            .iter()
            .map(|m| list.entries[m.entry].wrong.clone())
            .collect()
    }

    #[test]
    fn the_longest_entry_wins_and_exceptions_are_left_out() {
        let list = WordList::new(vec![
            entry("台湾总统", "台湾地区领导人", &[]),
            entry("总统", "—", &["美国总统"]),
            entry("中华民国", "—", &[]),
        ])
        .expect("compiles");
        let words = |text: &str| found(&list, text);
        assert_eq!(words("台湾总统讲话"), ["台湾总统"]);
        assert_eq!(words("美国总统访华"), Vec::<String>::new());
        assert_eq!(words("某国总统、美国总统"), ["总统"]);
    }

    /// A list of more than 40 words is ruled out group by group first: the
    /// matches are those of the whole list, wherever the words fall.
    #[test]
    fn a_list_in_prefilter_groups_finds_what_the_whole_list_finds() {
        let mut entries: Vec<Entry> = (0..100)
            .map(|i| entry(&format!("词{i:03}错"), "—", &[]))
            .collect();
        // Overlapping words in different groups: the longest leftmost wins.
        entries.push(entry("台湾总统", "台湾地区领导人", &[]));
        entries.insert(3, entry("总统", "—", &["美国总统"]));
        let list = WordList::new(entries).expect("compiles");
        assert_eq!(list.groups.len(), 3);
        let words = |text: &str| found(&list, text);
        assert_eq!(words("台湾总统讲话"), ["台湾总统"]);
        assert_eq!(words("某国总统、美国总统"), ["总统"]);
        assert_eq!(words("通知：词001错与词099错"), ["词001错", "词099错"]);
        assert_eq!(words("词0"), Vec::<String>::new());
        assert!(words("政务公开").is_empty());
        // A short list needs no groups: its automaton has the prefilter.
        let short = WordList::new(vec![entry("总统", "—", &[])]).expect("compiles");
        assert!(short.groups.is_empty());
    }

    /// With a text's UTF-16 units, the list finds what it finds without
    /// them: the same matches, whatever words and exceptions, in texts
    /// made of the words' own characters and others.
    #[test]
    fn the_units_rule_out_only_texts_without_a_match() {
        let mut entries: Vec<Entry> = crate::content::default_entries();
        entries.push(entry("残", "—", &[]));
        entries.push(entry("a😀", "—", &[]));
        entries.push(entry("总统", "—", &["美国总统"]));
        let list = WordList::new(entries).expect("compiles");
        assert!(list.units.is_some());
        let mut pieces: Vec<String> = list
            .entries
            .iter()
            .flat_map(|e| {
                let chars: Vec<char> = e.wrong.chars().collect();
                let half = chars.len() / 2;
                [
                    e.wrong.clone(),
                    chars.iter().take(half.max(1)).collect(),
                    chars.iter().skip(half).collect(),
                ]
            })
            .collect();
        pieces.extend(["政务", "美国", "。", " ", "a", "😀", "中"].map(String::from));
        // A fixed pseudo-random sequence (xorshift), so a failure repeats.
        let mut random = crate::test_random::Xorshift::new(0x2545_f491_4f6c_dd1d);
        let mut next = |bound: usize| random.below(bound);
        let mut units = Vec::new();
        let mut matched = 0;
        for _ in 0..3_000 {
            let text: String = (0..1 + next(12))
                .map(|_| pieces[next(pieces.len())].as_str())
                .collect();
            crate::content::utf16_into(&text, &mut units);
            let with = list.find_with_units(&text, Some(&units));
            assert_eq!(with, list.find(&text), "{text}");
            matched += usize::from(!with.is_empty());
        }
        // Both kinds of text were tried.
        assert!((100..2_900).contains(&matched), "{matched}");
    }

    #[test]
    fn levels_are_read_in_chinese_and_english() {
        assert_eq!(Level::from_text("严重"), Some(Level::Severe));
        assert_eq!(Level::from_text(" general "), Some(Level::General));
        assert_eq!(Level::from_text("中"), None);
    }
}
