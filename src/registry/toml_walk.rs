//! Reading a spanned TOML table field by field, collecting every problem
//! with its position instead of stopping at the first.

use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One problem in a file, at a line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Collects problems for one file and turns byte offsets into line/column.
pub struct Problems<'t> {
    file: String,
    text: &'t str,
    /// Byte offset where each line starts: a position is found by binary
    /// search, not by counting from the top (a register of 30,000 accounts
    /// asks for tens of thousands of positions).
    line_starts: Vec<usize>,
    /// Where the piece being read starts in the text: its spans count
    /// from there (see `load::pieces`).
    pub base: usize,
    pub list: Vec<Problem>,
}

impl<'t> Problems<'t> {
    pub fn new(file: &str, text: &'t str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Problems {
            file: file.to_string(),
            text,
            line_starts,
            base: 0,
            list: Vec::new(),
        }
    }

    pub fn push(&mut self, offset: usize, message: impl Into<String>) {
        let (line, column) = self.line_column(offset);
        self.list.push(Problem {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        });
    }

    /// 1-based line and column (in characters) of a byte offset in the
    /// piece being read.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.saturating_add(self.base).min(self.text.len());
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1);
        let line_start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count());
        (line, column + 1)
    }

    pub fn line_of(&self, offset: usize) -> usize {
        self.line_column(offset).0
    }
}

/// Describes a TOML value's type the way error messages name it.
pub fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "文本",
        DeValue::Integer(_) => "整数",
        DeValue::Float(_) => "小数",
        DeValue::Boolean(_) => "true/false",
        DeValue::Datetime(_) => "日期",
        DeValue::Array(_) => "数组",
        DeValue::Table(_) => "表",
    }
}

/// The integer value of a TOML integer, if it fits in i64.
pub fn integer(value: &DeValue<'_>) -> Option<i64> {
    let int = value.as_integer()?;
    i64::from_str_radix(int.as_str(), int.radix()).ok()
}

/// A table being read: remembers which keys were used so the rest can be
/// reported as unknown.
pub struct Entry<'a, 'i> {
    table: &'a DeTable<'i>,
    pub span: Range<usize>,
    pub label: String,
    used: Vec<&'static str>,
}

impl<'a, 'i> Entry<'a, 'i> {
    pub fn new(table: &'a DeTable<'i>, span: Range<usize>, label: String) -> Self {
        Entry {
            table,
            span,
            label,
            used: Vec::new(),
        }
    }

    pub fn get(&mut self, key: &'static str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.used.push(key);
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    /// A string field; reports a missing required field or a wrong type.
    pub fn string(
        &mut self,
        p: &mut Problems<'_>,
        key: &'static str,
        is_required: bool,
    ) -> Option<(String, Range<usize>)> {
        match self.get(key) {
            None => {
                if is_required {
                    p.push(self.span.start, format!("{}：缺少 `{key}`", self.label));
                }
                None
            }
            Some(v) => match v.get_ref().as_str() {
                Some(s) => Some((s.to_string(), v.span())),
                None => {
                    self.wrong_type(p, key, v, "文本（用引号括起）");
                    None
                }
            },
        }
    }

    pub fn wrong_type(
        &self,
        p: &mut Problems<'_>,
        key: &str,
        v: &Spanned<DeValue<'_>>,
        expected: &str,
    ) {
        p.push(
            v.span().start,
            format!(
                "{}：`{key}` 应为{expected}，实际为{}",
                self.label,
                type_name(v.get_ref())
            ),
        );
    }

    /// Reports every key that no getter asked for.
    pub fn finish(self, p: &mut Problems<'_>) {
        for (key, _) in self.table.iter() {
            let name = key.get_ref().as_ref();
            if !self.used.contains(&name) {
                p.push(
                    key.span().start,
                    format!(
                        "{}：未知的键 `{name}`{}",
                        self.label,
                        super::check::suggest(name, self.used.iter().copied())
                            .map(|near| format!("，是否为 `{near}`？"))
                            .unwrap_or_default()
                    ),
                );
            }
        }
    }
}
