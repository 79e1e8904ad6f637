//! [`Register`] → the 台账 workbook that [`super::read`] reads back unchanged.

use super::{
    ACCOUNT_COLUMNS, ACCOUNT_SHEET, CONTACT_COLUMN_COUNT, THRESHOLD_COLUMNS, THRESHOLD_ID_COLUMN,
    THRESHOLD_SHEET, UNIT_COLUMNS, UNIT_SHEET, bool_label, contact_columns, contact_summary,
};
use crate::registry::{AccountState, Platform, Register, Source, UnitKind};
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet, XlsxError,
};

/// Contact column groups written even when no unit has that many contacts,
/// so a clerk has room to add one.
const MIN_CONTACT_GROUPS: usize = 2;

/// Renders the register as an `.xlsx` workbook.
pub fn workbook(register: &Register) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color("D9E1F2")
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    accounts_sheet(book.add_worksheet(), register, &header, &text, &date)?;
    units_sheet(book.add_worksheet(), register, &header, &text)?;
    thresholds_sheet(book.add_worksheet(), register, &header, &text)?;
    book.save_to_buffer()
}

fn accounts_sheet(
    sheet: &mut Worksheet,
    register: &Register,
    header: &Format,
    text: &Format,
    date: &Format,
) -> Result<(), XlsxError> {
    sheet.set_name(ACCOUNT_SHEET)?;
    write_header(sheet, &ACCOUNT_COLUMNS, header)?;
    for (i, account) in register.accounts.iter().enumerate() {
        let row = 1 + u32::try_from(i).map_err(|_| too_many())?;
        let unit = register.unit(&account.unit);
        let (proxy, address) = match &account.source {
            Source::Proxy { proxy, route } => (proxy.as_str(), route.as_str()),
            Source::Feed { feed } => ("", feed.as_str()),
            Source::Manual {} => ("", ""),
        };
        let (contacts, phones) = contact_summary(register, &account.unit);
        let cells: [(u16, &str); 12] = [
            (0, &account.id),
            (1, &account.name),
            (2, &account.unit),
            (3, unit.map_or("", |u| u.name.as_str())),
            (4, unit.map_or("", |u| u.kind.label())),
            (5, account.platform.label()),
            (6, proxy),
            (7, address),
            (8, account.state.label()),
            (10, account.filing_ref.as_deref().unwrap_or("")),
            (11, bool_label(account.is_interactive)),
            (12, &contacts),
        ];
        for (col, value) in cells {
            if !value.is_empty() {
                sheet.write_string(row, col, value)?;
            }
        }
        if !phones.is_empty() {
            sheet.write_string(row, 13, &phones)?;
        }
        if let Some(note) = &account.note {
            sheet.write_string(row, 14, note)?;
        }
        if let Some(day) = account.deregistered_on {
            sheet.write_datetime_with_format(row, 9, day, date)?;
        }
    }
    let widths = [
        20.0, 20.0, 18.0, 18.0, 9.0, 12.0, 9.0, 40.0, 10.0, 12.0, 24.0, 9.0, 16.0, 16.0, 24.0,
    ];
    for (col, width) in (0u16..).zip(widths) {
        sheet.set_column_width(col, width)?;
    }
    // Ids and phone numbers stay text when a clerk types digits into them.
    for col in [0, 2, 10, 13] {
        sheet.set_column_format(col, text)?;
    }
    let last = 1 + u32::try_from(register.accounts.len()).map_err(|_| too_many())? + 500;
    let labels: Vec<&str> = Platform::ALL.iter().map(|p| p.label()).collect();
    choices(sheet, last, 5, &labels)?;
    let labels: Vec<&str> = AccountState::ALL.iter().map(|s| s.label()).collect();
    choices(sheet, last, 8, &labels)?;
    choices(sheet, last, 11, &["是", "否"])?;
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn units_sheet(
    sheet: &mut Worksheet,
    register: &Register,
    header: &Format,
    text: &Format,
) -> Result<(), XlsxError> {
    sheet.set_name(UNIT_SHEET)?;
    let groups = register
        .units
        .iter()
        .map(|u| u.contacts.len())
        .max()
        .unwrap_or(0)
        .max(MIN_CONTACT_GROUPS);
    let mut columns: Vec<String> = UNIT_COLUMNS.iter().map(|c| c.to_string()).collect();
    for n in 1..=groups {
        columns.extend(contact_columns(n));
    }
    columns.push(super::UNIT_CHAT_COLUMN.to_string());
    let chat_col = u16::try_from(3 + CONTACT_COLUMN_COUNT * groups).map_err(|_| too_many())?;
    write_header(sheet, &columns, header)?;
    for (i, unit) in register.units.iter().enumerate() {
        let row = 1 + u32::try_from(i).map_err(|_| too_many())?;
        sheet.write_string(row, 0, &unit.id)?;
        sheet.write_string(row, 1, &unit.name)?;
        sheet.write_string(row, 2, unit.kind.label())?;
        if let Some(chat) = &unit.chat {
            sheet.write_string(row, chat_col, chat)?;
        }
        for (n, contact) in unit.contacts.iter().enumerate() {
            let col = u16::try_from(3 + CONTACT_COLUMN_COUNT * n).map_err(|_| too_many())?;
            sheet.write_string(row, col, &contact.name)?;
            if let Some(phone) = &contact.phone {
                sheet.write_string(row, col + 1, phone)?;
            }
            if let Some(id) = contact.telegram_id {
                // Telegram ids exceed Excel's 15 significant digits in
                // principle: written as text, they never lose a digit.
                sheet.write_string(row, col + 2, id.to_string())?;
            }
            if let Some(id) = &contact.dingtalk_id {
                sheet.write_string(row, col + 3, id)?;
            }
            if let Some(id) = &contact.feishu_open_id {
                sheet.write_string(row, col + 4, id)?;
            }
        }
    }
    sheet.set_column_width(0, 18.0)?;
    sheet.set_column_width(1, 20.0)?;
    sheet.set_column_width(2, 9.0)?;
    sheet.set_column_format(0, text)?;
    for n in 0..groups {
        let col = u16::try_from(3 + CONTACT_COLUMN_COUNT * n).map_err(|_| too_many())?;
        sheet.set_column_width(col, 12.0)?;
        sheet.set_column_width(col + 1, 16.0)?;
        sheet.set_column_width(col + 2, 20.0)?;
        sheet.set_column_width(col + 3, 16.0)?;
        sheet.set_column_width(col + 4, 24.0)?;
        sheet.set_column_format(col + 1, text)?;
        sheet.set_column_format(col + 2, text)?;
        sheet.set_column_format(col + 3, text)?;
        sheet.set_column_format(col + 4, text)?;
    }
    sheet.set_column_width(chat_col, 28.0)?;
    sheet.set_column_format(chat_col, text)?;
    let last = 1 + u32::try_from(register.units.len()).map_err(|_| too_many())? + 200;
    let kinds = [UnitKind::Department.label(), UnitKind::Town.label()];
    choices(sheet, last, 2, &kinds)?;
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn thresholds_sheet(
    sheet: &mut Worksheet,
    register: &Register,
    header: &Format,
    text: &Format,
) -> Result<(), XlsxError> {
    sheet.set_name(THRESHOLD_SHEET)?;
    let mut columns = vec![THRESHOLD_ID_COLUMN];
    columns.extend(THRESHOLD_COLUMNS.iter().map(|(_, header)| *header));
    write_header(sheet, &columns, header)?;
    let overridden = register
        .accounts
        .iter()
        .filter(|a| !a.thresholds.is_empty());
    for (row, account) in (1u32..).zip(overridden) {
        sheet.write_string(row, 0, &account.id)?;
        for (col, (key, _)) in (1u16..).zip(THRESHOLD_COLUMNS) {
            if let Some(days) = account.thresholds.get(key) {
                sheet.write_number(row, col, f64::from(days))?;
            }
        }
    }
    sheet.set_column_width(0, 20.0)?;
    sheet.set_column_format(0, text)?;
    for col in 1..=5 {
        sheet.set_column_width(col, 18.0)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn write_header<S: AsRef<str>>(
    sheet: &mut Worksheet,
    columns: &[S],
    format: &Format,
) -> Result<(), XlsxError> {
    for (col, name) in (0u16..).zip(columns) {
        sheet.write_string_with_format(0, col, name.as_ref(), format)?;
    }
    Ok(())
}

/// A drop-down of the display values under a header, for `rows` rows.
fn choices(
    sheet: &mut Worksheet,
    last_row: u32,
    col: u16,
    labels: &[&str],
) -> Result<(), XlsxError> {
    // Information only: the import also accepts ids (weibo) and common names (公众号).
    let rule = DataValidation::new()
        .allow_list_strings(labels)?
        .ignore_blank(true)
        .set_error_style(DataValidationErrorStyle::Information);
    sheet.add_data_validation(1, col, last_row, col, &rule)?;
    Ok(())
}

fn too_many() -> XlsxError {
    XlsxError::RowColumnLimitError
}
