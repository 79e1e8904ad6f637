//! Leaders' names and titles (`[content] names`): a listed name next to a
//! title it does not hold, or a name one character off next to a title.

pub use crate::config::Person;
use aho_corasick::{AhoCorasick, MatchKind};

/// A problem with a name: what was written and what it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameProblem {
    pub start: usize,
    pub end: usize,
    /// "副县长王明"
    pub matched: String,
    pub suggestion: String,
    /// The name as listed (the allow key).
    pub key: String,
}

/// Words that commonly follow a name in news copy: a near-miss name must be
/// followed by one (or by punctuation) to count, so "县长王晓明" is not read
/// as a misspelt "王晓".
const AFTER_NAME: &[&str] = &[
    "同志", "指出", "强调", "表示", "主持", "出席", "参加", "调研", "讲话", "带队", "率", "在",
    "一行", "等", "到", "来", "深入", "走访", "检查", "督导", "会见", "听取", "提出", "要求", "说",
    "对", "与", "和", "及", "为", "作", "代表", "致辞", "宣布",
];

/// Titles looked for besides the listed people's own, so that "副县长" is
/// read as itself and not as "县长".
const COMMON_TITLES: &[&str] = &[
    "书记",
    "副书记",
    "县委书记",
    "市委书记",
    "区委书记",
    "党委书记",
    "党工委书记",
    "县长",
    "副县长",
    "市长",
    "副市长",
    "区长",
    "副区长",
    "镇长",
    "副镇长",
    "乡长",
    "副乡长",
    "主任",
    "副主任",
    "局长",
    "副局长",
    "主席",
    "副主席",
    "部长",
    "副部长",
    "省长",
    "副省长",
    "厅长",
    "副厅长",
    "处长",
    "副处长",
    "科长",
    "副科长",
    "秘书长",
    "副秘书长",
    "院长",
    "副院长",
    "检察长",
    "副检察长",
    "常务副县长",
    "常务副市长",
    "常务副区长",
];

/// The people, compiled for scanning.
#[derive(Debug, Clone)]
pub struct NameList {
    people: Vec<Person>,
    titles: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl NameList {
    pub fn new(people: Vec<Person>) -> Result<NameList, String> {
        let mut titles: Vec<String> = people.iter().flat_map(|p| p.titles.clone()).collect();
        if !titles.is_empty() {
            titles.extend(COMMON_TITLES.iter().map(|t| t.to_string()));
        }
        titles.retain(|t| !t.trim().is_empty());
        titles.sort();
        titles.dedup();
        let matcher = if titles.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&titles)
                    .map_err(|e| format!("姓名职务表无法编译：{e}"))?,
            )
        };
        Ok(NameList {
            people,
            titles,
            matcher,
        })
    }

    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    /// Every name problem in `text`.
    pub fn find(&self, text: &str) -> Vec<NameProblem> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for m in matcher.find_iter(text) {
            let Some(title) = self.titles.get(m.pattern().as_usize()) else {
                continue;
            };
            let before = text.get(..m.start()).unwrap_or_default();
            let after = text.get(m.end()..).unwrap_or_default();
            for person in &self.people {
                let len = person.name.chars().count();
                // Title then name ("县长王明"), or name then title ("王明县长").
                let next = first_chars(after, len);
                let prev = last_chars(before, len);
                let sides = [
                    (
                        next,
                        m.start(),
                        m.end() + next.len(),
                        is_name_end(after.get(next.len()..)),
                    ),
                    (
                        prev,
                        m.start() - prev.len(),
                        m.end(),
                        is_name_start(before.get(..before.len() - prev.len())),
                    ),
                ];
                for (candidate, start, end, is_bounded) in sides {
                    if candidate.chars().count() != len || !candidate.chars().all(is_ideograph) {
                        continue;
                    }
                    let written = text.get(start..end).unwrap_or_default().to_string();
                    if candidate == person.name {
                        if !person.titles.iter().any(|t| t == title) {
                            out.push(NameProblem {
                                start,
                                end,
                                matched: written,
                                suggestion: format!(
                                    "{}的职务为{}，不是「{title}」",
                                    person.name,
                                    if person.titles.is_empty() {
                                        "（未登记）".to_string()
                                    } else {
                                        format!("「{}」", person.titles.join("、"))
                                    }
                                ),
                                key: format!("{}{title}", person.name),
                            });
                        }
                    } else if is_bounded
                        && one_off(candidate, &person.name)
                        && !self.people.iter().any(|p| p.name == candidate)
                        && person.titles.iter().any(|t| t == title)
                    {
                        out.push(NameProblem {
                            start,
                            end,
                            matched: written,
                            suggestion: format!("疑似姓名错误，应为「{}」", person.name),
                            key: candidate.to_string(),
                        });
                    }
                }
            }
        }
        out.sort_by_key(|p| p.start);
        out.dedup_by(|a, b| a.start == b.start && a.end == b.end);
        out
    }
}

fn first_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((at, _)) => text.get(..at).unwrap_or_default(),
        None => text,
    }
}

fn last_chars(text: &str, n: usize) -> &str {
    let count = text.chars().count();
    if count <= n {
        return text;
    }
    match text.char_indices().nth(count - n) {
        Some((at, _)) => text.get(at..).unwrap_or_default(),
        None => "",
    }
}

fn is_ideograph(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

fn is_name_end(rest: Option<&str>) -> bool {
    let rest = rest.unwrap_or_default();
    rest.chars().next().is_none_or(|c| !is_ideograph(c))
        || AFTER_NAME.iter().any(|w| rest.starts_with(w))
}

fn is_name_start(before: Option<&str>) -> bool {
    before
        .unwrap_or_default()
        .chars()
        .next_back()
        .is_none_or(|c| !is_ideograph(c))
}

/// Same length, exactly one character different.
fn one_off(a: &str, b: &str) -> bool {
    a.chars().count() == b.chars().count()
        && a.chars().zip(b.chars()).filter(|(x, y)| x != y).count() == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> NameList {
        NameList::new(vec![
            Person {
                name: "王明".into(),
                titles: vec!["县长".into()],
            },
            Person {
                name: "李华".into(),
                titles: vec!["副县长".into()],
            },
        ])
        .expect("compiles")
    }

    #[test]
    fn a_name_with_a_title_it_does_not_hold_is_found() {
        let found = list().find("会上，副县长王明指出");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].matched, "副县长王明");
        assert!(found[0].suggestion.contains("「县长」"));
        assert!(list().find("县长王明指出，副县长李华主持").is_empty());
    }

    #[test]
    fn a_name_one_character_off_next_to_its_title_is_found_but_a_longer_name_is_not() {
        let found = list().find("县长王名强调");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].suggestion, "疑似姓名错误，应为「王明」");
        assert!(list().find("县长王晓明强调").is_empty());
        assert!(
            list()
                .find("县长李华强调")
                .iter()
                .any(|p| p.matched == "县长李华")
        );
    }
}
