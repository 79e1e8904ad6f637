//! The bytes of a 台账 workbook → cells by sheet → tables with located headers.
//!
//! Hostile files are expected: the size of the file and of what it unpacks
//! to are checked before calamine reads it, sheets are read cell by cell
//! (never as a whole rectangle), and rows, columns and cells are capped.

use super::build;
use super::{CellProblem, MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS, MAX_UNPACKED_BYTES};
use super::{WorkbookError, column_letters};
use crate::registry::Register;
use crate::registry::load::Context;
use calamine::{DataRef, Reader, Xlsx};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

/// The most cells read from one sheet, empty ones included.
const MAX_CELLS: u64 = 5_000_000;
/// The most bytes merged blocks may copy into a sheet's cells.
const MAX_MERGED_BYTES: u64 = 64 * 1024 * 1024;
/// The header row is looked for in this many rows from the top (titles above it).
const HEADER_SEARCH_ROWS: u32 = 10;

/// One cell's value, as the register reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date cell; `None` when Excel's number is no calendar date.
    Date(Option<NaiveDate>),
    /// An error value such as `#N/A`.
    Error(String),
}

impl Value {
    /// True for text that is only spaces.
    fn is_blank(&self) -> bool {
        matches!(self, Value::Text(t) if t.trim().is_empty())
    }
}

/// The non-empty cells of one sheet by 0-based (row, column).
pub type Grid = BTreeMap<(u32, u32), Value>;

/// Collects the problems of one workbook.
pub struct Problems {
    pub file: String,
    pub list: Vec<CellProblem>,
}

impl Problems {
    pub fn at(&mut self, sheet: &str, cell: (u32, u32), column: Option<&str>, message: String) {
        self.list.push(CellProblem {
            file: self.file.clone(),
            sheet: Some(sheet.to_string()),
            cell: Some(cell),
            column: column.map(str::to_string),
            message,
        });
    }

    pub fn sheet(&mut self, sheet: &str, message: String) {
        self.list.push(CellProblem {
            file: self.file.clone(),
            sheet: Some(sheet.to_string()),
            cell: None,
            column: None,
            message,
        });
    }

    fn file(&mut self, message: String) {
        self.list.push(CellProblem {
            file: self.file.clone(),
            sheet: None,
            cell: None,
            column: None,
            message,
        });
    }

    fn fail(mut self, message: String) -> WorkbookError {
        self.file(message);
        WorkbookError {
            problems: self.list,
        }
    }
}

/// Reads and validates a register workbook.
pub fn read_file(path: &Path, ctx: &Context<'_>) -> Result<Register, WorkbookError> {
    let name = path.display().to_string();
    let p = Problems {
        file: name.clone(),
        list: Vec::new(),
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > MAX_FILE_BYTES => {
            return Err(p.fail(format!(
                "文件过大（{} MB），台账文件最大 {} MB",
                meta.len() / 1024 / 1024,
                MAX_FILE_BYTES / 1024 / 1024
            )));
        }
        Ok(_) => {}
        Err(err) => return Err(p.fail(format!("无法读取台账文件：{err}"))),
    }
    match std::fs::read(path) {
        Ok(bytes) => read_bytes(&name, &bytes, ctx),
        Err(err) => Err(p.fail(format!("无法读取台账文件：{err}"))),
    }
}

/// Reads and validates workbook bytes; `file` names it in messages.
pub fn read_bytes(file: &str, bytes: &[u8], ctx: &Context<'_>) -> Result<Register, WorkbookError> {
    let mut p = Problems {
        file: file.to_string(),
        list: Vec::new(),
    };
    if let Err(why) = check_unpacked_size(bytes) {
        return Err(p.fail(why));
    }
    // calamine is not expected to panic, but this file may have been made to
    // find out: a panic here is one refused file, not a dead daemon.
    let grids = std::panic::catch_unwind(|| read_grids(bytes));
    let grids = match grids {
        Ok(Ok(grids)) => grids,
        Ok(Err(why)) => return Err(p.fail(why)),
        Err(_) => return Err(p.fail("文件结构异常，无法读取（不是有效的 xlsx 文件）".to_string())),
    };
    let register = build::register(&mut p, &grids, ctx);
    if p.list.is_empty() {
        Ok(register)
    } else {
        let order = |sheet: &Option<String>| {
            [
                super::ACCOUNT_SHEET,
                super::UNIT_SHEET,
                super::THRESHOLD_SHEET,
            ]
            .iter()
            .position(|s| Some(*s) == sheet.as_deref())
        };
        p.list.sort_by_key(|c| (order(&c.sheet), c.cell));
        Err(WorkbookError { problems: p.list })
    }
}

/// Refuses files that are not zip archives or unpack to too much.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| "不是有效的 xlsx 文件（请在 Excel 或 WPS 中另存为 .xlsx 格式）".to_string())?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| format!("xlsx 文件已损坏：{e}"))?;
        total = total.saturating_add(entry.size());
    }
    if total > MAX_UNPACKED_BYTES {
        return Err(format!(
            "文件解压后过大（{} MB），台账最多 {} MB",
            total / 1024 / 1024,
            MAX_UNPACKED_BYTES / 1024 / 1024
        ));
    }
    Ok(())
}

/// The sheets of the workbook by name: cells, or why the sheet cannot be read.
pub type Grids = BTreeMap<String, Result<Grid, String>>;

fn read_grids(bytes: &[u8]) -> Result<Grids, String> {
    let mut book: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| format!("无法打开 xlsx 文件：{e}"))?;
    let mut grids = BTreeMap::new();
    for name in book.sheet_names() {
        let grid = read_grid(&mut book, &name).map(|mut grid| {
            fill_merged(&mut book, &name, &mut grid);
            grid
        });
        grids.insert(name, grid);
    }
    Ok(grids)
}

fn read_grid(book: &mut Xlsx<Cursor<&[u8]>>, name: &str) -> Result<Grid, String> {
    let mut reader = book
        .worksheet_cells_reader(name)
        .map_err(|e| format!("无法读取：{e}"))?;
    let mut grid = Grid::new();
    let mut cells: u64 = 0;
    let mut beyond: Option<(u32, u32)> = None;
    while let Some(cell) = reader.next_cell().map_err(|e| format!("无法读取：{e}"))? {
        cells += 1;
        if cells > MAX_CELLS {
            return Err(format!("单元格过多（超过 {MAX_CELLS} 个），请删除多余内容"));
        }
        let (row, col) = cell.get_position();
        let Some(value) = value_of(cell.get_value()) else {
            continue;
        };
        if row >= MAX_ROWS + HEADER_SEARCH_ROWS {
            return Err(format!("行数过多（超过 {MAX_ROWS} 行），请删除多余内容"));
        }
        if col >= MAX_COLUMNS {
            beyond.get_or_insert((row, col));
            continue;
        }
        grid.insert((row, col), value);
    }
    if let Some((row, col)) = beyond {
        return Err(format!(
            "第 {} 列之后还有内容（如 {}{}），台账最多 {MAX_COLUMNS} 列",
            column_letters(MAX_COLUMNS - 1),
            column_letters(col),
            row + 1
        ));
    }
    Ok(grid)
}

/// Merged cells read as the value of their block: a unit's rows merged in
/// 主办单位 (how most county 台账 look) each carry the unit. Blocks within
/// one row (a title across the columns) are left alone; a block is clipped
/// to the sheet's limits.
fn fill_merged(book: &mut Xlsx<Cursor<&[u8]>>, name: &str, grid: &mut Grid) {
    let Some(Ok(regions)) = book.worksheet_merge_cells(name) else {
        return;
    };
    // Only rows that hold something else: a block reaching past the data
    // (or a hostile one over a million rows) fills nothing there; and the
    // copies are capped in bytes as well as in cells.
    let rows: std::collections::BTreeSet<u32> = grid.keys().map(|(r, _)| *r).collect();
    let (mut cells, mut bytes): (u64, u64) = (0, 0);
    for region in regions {
        let ((top, left), (bottom, right)) = (region.start, region.end);
        if bottom <= top {
            continue;
        }
        let Some(value) = grid.get(&(top, left)).cloned() else {
            continue;
        };
        let size = match &value {
            Value::Text(text) | Value::Error(text) => text.len() as u64,
            _ => 8,
        };
        let right = right.min(MAX_COLUMNS - 1);
        for &row in rows.range(top..=bottom) {
            for col in left..=right {
                cells += 1;
                bytes += size;
                if cells > MAX_CELLS || bytes > MAX_MERGED_BYTES {
                    return;
                }
                grid.entry((row, col)).or_insert_with(|| value.clone());
            }
        }
    }
}

/// A calamine value as a register value; `None` for an empty cell.
fn value_of(data: &DataRef<'_>) -> Option<Value> {
    let value = match data {
        DataRef::Empty => return None,
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            Value::Text(s.clone())
        }
        DataRef::SharedString(s) => Value::Text((*s).to_string()),
        DataRef::Int(n) => Value::Number(*n as f64),
        DataRef::Float(f) => Value::Number(*f),
        DataRef::Bool(b) => Value::Bool(*b),
        DataRef::DateTime(d) => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            Value::Date(NaiveDate::from_ymd_opt(
                i32::from(y),
                u32::from(m),
                u32::from(day),
            ))
        }
        DataRef::Error(e) => Value::Error(e.to_string()),
    };
    Some(value)
}

/// A sheet read as a table: its header row, the known columns, the data rows.
pub struct Table<'g> {
    pub sheet: &'static str,
    pub grid: &'g Grid,
    /// 0-based row of the headers.
    pub header_row: u32,
    /// Header text → 0-based column.
    pub columns: BTreeMap<String, u32>,
    /// 0-based rows below the header with any content.
    pub rows: Vec<u32>,
}

impl Table<'_> {
    pub fn get(&self, row: u32, column: &str) -> Option<(u32, &Value)> {
        let col = *self.columns.get(column)?;
        self.grid.get(&(row, col)).map(|v| (col, v))
    }
}

/// Finds the header row (the first of the top rows holding `key`), maps the
/// headers `is_known` accepts, and reports missing, unknown and repeated ones.
pub fn table<'g>(
    p: &mut Problems,
    sheet: &'static str,
    grid: &'g Grid,
    key: &str,
    required: &[&str],
    is_known: &dyn Fn(&str) -> bool,
) -> Option<Table<'g>> {
    let header_row = (0..HEADER_SEARCH_ROWS).find(|row| {
        grid.range((*row, 0)..(*row + 1, 0))
            .any(|(_, v)| matches!(v, Value::Text(t) if t.trim() == key))
    });
    let Some(header_row) = header_row else {
        p.sheet(
            sheet,
            format!("找不到标题行：前 {HEADER_SEARCH_ROWS} 行中没有「{key}」列"),
        );
        return None;
    };
    let mut columns = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut headed = std::collections::BTreeSet::new();
    for (&(_, col), value) in grid.range((header_row, 0)..(header_row + 1, 0)) {
        let header = match value {
            Value::Text(t) => t.trim().to_string(),
            _ => String::new(),
        };
        if header.is_empty() {
            continue;
        }
        headed.insert(col);
        if !is_known(&header) {
            unknown.push((col, header));
        } else if let Some(first) = columns.get(&header) {
            p.at(
                sheet,
                (header_row, col),
                Some(&header),
                format!("列标题重复（第 {} 列已有此列）", column_letters(*first)),
            );
        } else {
            columns.insert(header, col);
        }
    }
    let unheaded: std::collections::BTreeSet<u32> = grid
        .iter()
        .filter(|((r, c), v)| *r > header_row && !headed.contains(c) && !v.is_blank())
        .map(|(&(_, c), _)| c)
        .collect();
    for col in unheaded {
        p.at(
            sheet,
            (header_row, col),
            None,
            "此列有内容但没有列标题：请补上列标题或删除此列".to_string(),
        );
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !columns.contains_key(*c))
        .collect();
    for (col, header) in unknown {
        let hint = if missing.is_empty() {
            "，导入时不会保存此列：请删除此列，或把备注写在其他工作表".to_string()
        } else {
            format!("；缺少的列有：{}，是否改过列名？", missing.join("、"))
        };
        p.at(
            sheet,
            (header_row, col),
            None,
            format!("列标题「{header}」不是台账的列{hint}"),
        );
    }
    if !missing.is_empty() {
        p.sheet(
            sheet,
            format!(
                "第 {} 行缺少列：{}（列标题须与导出的台账一致）",
                header_row + 1,
                missing.join("、")
            ),
        );
    }
    let mut rows: Vec<u32> = grid
        .iter()
        .filter(|((r, _), v)| *r > header_row && !v.is_blank())
        .map(|(&(r, _), _)| r)
        .collect();
    rows.dedup();
    Some(Table {
        sheet,
        grid,
        header_row,
        columns,
        rows,
    })
}
