//! Reading wording lists: the built-in one, TOML files and workbooks.

use super::wording::{Entry, Level};
use calamine::{Data, Reader, Xlsx};
use serde::Deserialize;
use std::io::Cursor;
use std::path::Path;

/// The built-in list (its sources are written at its top).
pub const DEFAULT_LIST: &str = include_str!("default_list.toml");
/// The largest list file read.
const MAX_LIST_BYTES: u64 = 20 * 1024 * 1024;
/// The most entries all lists together may hold.
pub const MAX_ENTRIES: usize = 200_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlList {
    #[serde(default)]
    entry: Vec<TomlEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlEntry {
    wrong: String,
    #[serde(default)]
    right: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    category: String,
    level: String,
    #[serde(default)]
    exceptions: Vec<String>,
}

/// The built-in list's entries.
pub fn default_entries() -> Vec<Entry> {
    toml_entries(DEFAULT_LIST, "内置词表").expect("the built-in list is valid (tested)")
}

/// Entries of a list file, by its extension.
pub fn read_list(path: &Path) -> Result<Vec<Entry>, String> {
    let shown = path.display().to_string();
    let meta =
        std::fs::metadata(path).map_err(|e| format!("无法读取词表 {shown}：{}", io_cn(&e)))?;
    if !meta.is_file() {
        return Err(format!("词表 {shown} 不是文件"));
    }
    if meta.len() > MAX_LIST_BYTES {
        return Err(format!("词表 {shown} 超过 20 MB"));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("无法读取词表 {shown}：{}", io_cn(&e)))?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "toml" => {
            let text =
                String::from_utf8(bytes).map_err(|_| format!("词表 {shown} 不是 UTF-8 文本"))?;
            toml_entries(&text, &shown)
        }
        "xlsx" => xlsx_entries(&bytes, &shown),
        _ => Err(format!(
            "词表 {shown}：只支持 .xlsx（错误表述、正确表述、类别、级别）或 .toml（[[entry]]）"
        )),
    }
}

fn io_cn(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => {
            "文件不存在（content.lists 中的路径相对于运行目录）".to_string()
        }
        std::io::ErrorKind::PermissionDenied => "没有读取权限".to_string(),
        _ => err.to_string(),
    }
}

fn toml_entries(text: &str, shown: &str) -> Result<Vec<Entry>, String> {
    let list: TomlList = toml::from_str(text)
        .map_err(|e| crate::domain::toml_error::explain(&format!("词表 {shown}"), text, &e))?;
    list.entry
        .into_iter()
        .enumerate()
        .map(|(n, e)| {
            let at = || format!("词表 {shown} 第{}个 [[entry]]（{}）", n + 1, e.wrong);
            let level = Level::from_text(&e.level)
                .ok_or_else(|| format!("{}：级别「{}」应为 严重 或 一般", at(), e.level))?;
            entry(
                e.wrong.clone(),
                pick(e.right, e.note),
                e.category,
                level,
                e.exceptions,
                shown,
            )
            .map_err(|why| format!("{}：{why}", at()))
        })
        .collect()
}

fn pick(right: String, note: String) -> String {
    if right.trim().is_empty() { note } else { right }
}

fn entry(
    wrong: String,
    right: String,
    category: String,
    level: Level,
    exceptions: Vec<String>,
    source: &str,
) -> Result<Entry, String> {
    let wrong = wrong.trim().to_string();
    if wrong.is_empty() {
        return Err("错误表述不能为空".to_string());
    }
    if wrong.chars().count() > 100 || wrong.chars().any(crate::domain::is_hidden_control) {
        return Err("错误表述应为 100 字以内、不含控制字符".to_string());
    }
    let exceptions: Vec<String> = exceptions
        .into_iter()
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect();
    if let Some(bad) = exceptions.iter().find(|x| !x.contains(&wrong)) {
        return Err(format!("例外「{bad}」应包含错误表述「{wrong}」"));
    }
    Ok(Entry {
        wrong,
        right: right.trim().to_string(),
        category: match category.trim() {
            "" => "其他".to_string(),
            c => c.to_string(),
        },
        level,
        exceptions,
        source: source.to_string(),
    })
}

/// The first sheet: a header row (within the first 10 rows) naming 错误表述,
/// 正确表述 or 说明, 类别, 级别 and optionally 例外 (several separated by 、 or ；).
fn xlsx_entries(bytes: &[u8], shown: &str) -> Result<Vec<Entry>, String> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|_| {
        format!("词表 {shown} 不是有效的 .xlsx 文件（请用 Excel 或 WPS 另存为 .xlsx）")
    })?;
    let sheet = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| format!("词表 {shown} 没有工作表"))?;
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| format!("词表 {shown} 的工作表「{sheet}」无法读取：{e}"))?;
    let text = |cell: Option<&Data>| match cell {
        Some(Data::String(s)) => s.trim().to_string(),
        Some(Data::Float(f)) => f.to_string(),
        Some(Data::Int(i)) => i.to_string(),
        _ => String::new(),
    };
    let rows: Vec<&[Data]> = range.rows().collect();
    let header = rows
        .iter()
        .take(10)
        .position(|r| r.iter().any(|c| text(Some(c)) == "错误表述"))
        .ok_or_else(|| format!("词表 {shown}「{sheet}」：前 10 行中没有“错误表述”列"))?;
    let names: Vec<String> = rows
        .get(header)
        .map(|r| r.iter().map(|c| text(Some(c))).collect())
        .unwrap_or_default();
    let column = |name: &str| names.iter().position(|n| n == name);
    let wrong_at = column("错误表述");
    let right_at = column("正确表述").or_else(|| column("说明"));
    let (category_at, level_at, except_at) = (column("类别"), column("级别"), column("例外"));
    if level_at.is_none() {
        return Err(format!(
            "词表 {shown}「{sheet}」：缺少“级别”列（严重 或 一般）"
        ));
    }
    let mut out = Vec::new();
    for (n, row) in rows.iter().enumerate().skip(header + 1) {
        let cell = |at: Option<usize>| text(at.and_then(|i| row.get(i)));
        let wrong = cell(wrong_at);
        if wrong.is_empty() {
            continue;
        }
        let at = || format!("词表 {shown}「{sheet}」第{}行（{wrong}）", n + 1);
        let level_text = cell(level_at);
        let level = Level::from_text(&level_text)
            .ok_or_else(|| format!("{}：级别「{level_text}」应为 严重 或 一般", at()))?;
        let exceptions = cell(except_at)
            .split(['、', '；', ';', '\n'])
            .map(str::to_string)
            .collect();
        out.push(
            entry(
                wrong.clone(),
                cell(right_at),
                cell(category_at),
                level,
                exceptions,
                shown,
            )
            .map_err(|why| format!("{}：{why}", at()))?,
        );
        if out.len() > MAX_ENTRIES {
            return Err(format!("词表 {shown} 超过 {MAX_ENTRIES} 条"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_list_reads_and_names_its_sources() {
        let entries = default_entries();
        assert!(entries.len() >= 60, "{}", entries.len());
        assert!(DEFAULT_LIST.contains("新华社") && DEFAULT_LIST.contains("国办秘函〔2019〕19号"));
        assert!(entries.iter().any(|e| e.level == Level::Severe));
        for e in &entries {
            assert_ne!(e.wrong, e.right, "{}", e.wrong);
        }
    }

    #[test]
    fn a_bad_toml_entry_is_named_in_chinese() {
        let err = toml_entries("[[entry]]\nwrong = \"甲\"\nlevel = \"中\"\n", "本地.toml")
            .expect_err("bad level");
        assert!(
            err.contains("本地.toml 第1个 [[entry]]（甲）") && err.contains("严重 或 一般"),
            "{err}"
        );
        let err = toml_entries(
            "[[entry]]\nwrong = \"总统\"\nlevel = \"一般\"\nexceptions = [\"主席\"]\n",
            "x.toml",
        )
        .expect_err("exception must contain");
        assert!(err.contains("应包含"), "{err}");
    }
}
