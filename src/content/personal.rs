//! Personal data in a post: 身份证号 (GB 11643), mobile numbers and bank
//! card numbers (Luhn), each standing alone; and how they are masked.

use chrono::NaiveDate;

/// Which kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonalKind {
    IdNumber,
    Mobile,
    BankCard,
}

impl PersonalKind {
    pub fn id(self) -> &'static str {
        match self {
            PersonalKind::IdNumber => "id_number",
            PersonalKind::Mobile => "mobile",
            PersonalKind::BankCard => "bank_card",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PersonalKind::IdNumber => "身份证号",
            PersonalKind::Mobile => "手机号码",
            PersonalKind::BankCard => "银行卡号",
        }
    }
}

/// One number found: where it is (bytes) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub kind: PersonalKind,
}

/// The fewest digits a personal number has (a mobile number's eleven).
const SHORTEST: usize = 11;

/// Every standalone personal number in `text`: runs of ASCII digits (an ID
/// may end in X) not touching another digit or letter, checked as the
/// issue of each kind says. Masked forms (`138****1234`) are runs of a few
/// digits and never match.
///
/// Only runs of [`SHORTEST`] digits or more can be one, and such a run
/// holds one of every [`SHORTEST`]th byte: those bytes alone are looked
/// at, and a digit among them is widened to its whole run. Digits are
/// common in government prose (dates, tables), and walking every run of
/// them was 6 % of a cold cycle's instructions.
pub fn find(text: &str, this_year: i32) -> Vec<Found> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut probe = SHORTEST - 1;
    while let Some(&b) = bytes.get(probe) {
        if !b.is_ascii_digit() {
            probe += SHORTEST;
            continue;
        }
        // The whole run around the probe: every earlier run ended before
        // a byte that is no digit, so this one starts after it.
        let mut start = probe;
        while start > 0 && bytes.get(start - 1).is_some_and(u8::is_ascii_digit) {
            start -= 1;
        }
        let mut end = probe + 1;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end - start == 17 && bytes.get(end).is_some_and(|c| *c == b'X' || *c == b'x') {
            end += 1;
        }
        // A later run of SHORTEST digits holds a byte of this new grid.
        probe = end + SHORTEST - 1;
        if let Some(kind) = kind_of(text, start, end, this_year) {
            found.push(Found { start, end, kind });
        }
    }
    found
}

/// What the run `start..end` of `text` is, when it stands alone.
fn kind_of(text: &str, start: usize, end: usize, this_year: i32) -> Option<PersonalKind> {
    let bytes = text.as_bytes();
    let is_alone = |at: Option<&u8>| at.is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'*');
    if !is_alone(start.checked_sub(1).and_then(|p| bytes.get(p))) || !is_alone(bytes.get(end)) {
        return None;
    }
    let run = text.get(start..end).unwrap_or_default();
    if run.len() == 18 && is_id_number(run, this_year) {
        Some(PersonalKind::IdNumber)
    } else if run.len() == 11 && is_mobile(run) {
        Some(PersonalKind::Mobile)
    } else if (16..=19).contains(&run.len())
        && run.bytes().all(|c| c.is_ascii_digit())
        && is_luhn(run)
    {
        Some(PersonalKind::BankCard)
    } else {
        None
    }
}

/// GB 11643: 17 digits, a check character, a real birth date between 1900
/// and this year.
pub fn is_id_number(text: &str, this_year: i32) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [u8; 11] = *b"10X98765432";
    let bytes = text.as_bytes();
    if bytes.len() != 18 || !bytes.iter().take(17).all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = bytes
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let expected = CHECK.get((sum % 11) as usize).copied();
    let last = bytes.get(17).map(u8::to_ascii_uppercase);
    if expected != last {
        return false;
    }
    let number =
        |range: std::ops::Range<usize>| text.get(range).and_then(|t| t.parse::<u32>().ok());
    match (number(6..10), number(10..12), number(12..14)) {
        (Some(year), Some(month), Some(day)) => {
            let year = i32::try_from(year).unwrap_or(0);
            (1900..=this_year).contains(&year)
                && NaiveDate::from_ymd_opt(year, month, day).is_some()
        }
        _ => false,
    }
}

/// 11 digits, 1[3-9]…
fn is_mobile(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 11
        && b.first() == Some(&b'1')
        && b.get(1).is_some_and(|c| (b'3'..=b'9').contains(c))
        && b.iter().all(u8::is_ascii_digit)
}

/// The Luhn check bank card numbers carry.
pub fn is_luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (n, c) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(c.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if n % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// The masked form shown anywhere: `110105********002X`, `138****1234`,
/// `6222********1234`.
pub fn mask(number: &str, kind: PersonalKind) -> String {
    let (head, tail) = match kind {
        PersonalKind::IdNumber => (6, 4),
        PersonalKind::Mobile => (3, 4),
        PersonalKind::BankCard => (4, 4),
    };
    let len = number.len();
    if len <= head + tail || !number.is_ascii() {
        return "*".repeat(len);
    }
    format!(
        "{}{}{}",
        number.get(..head).unwrap_or_default(),
        "*".repeat(len - head - tail),
        number.get(len - tail..).unwrap_or_default()
    )
}

/// `text` with every personal number in it masked; as long as `text`, byte
/// for byte (a number and its mask are ASCII of the same length).
pub fn mask_all(text: &str, this_year: i32) -> String {
    let found = find(text, this_year);
    if found.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        out.push_str(text.get(at..f.start).unwrap_or_default());
        out.push_str(&mask(text.get(f.start..f.end).unwrap_or_default(), f.kind));
        at = f.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // A valid test number (check digit computed by GB 11643): 11010519491231002X.
    const ID: &str = "11010519491231002X";

    #[test]
    fn a_valid_id_number_is_found_and_an_invalid_check_digit_or_date_is_not() {
        assert!(is_id_number(ID, 2026));
        assert!(!is_id_number("110105194912310021", 2026), "check digit");
        assert!(!is_id_number("110105194913310023", 2026), "month 13");
        assert!(
            !is_id_number("11010520991231002X", 2026),
            "born in the future"
        );
        let kinds = |text: &str| -> Vec<PersonalKind> {
            find(text, 2026).into_iter().map(|f| f.kind).collect()
        };
        assert_eq!(
            kinds(&format!("身份证号：{ID}，")),
            [PersonalKind::IdNumber]
        );
        assert_eq!(kinds("身份证号：110105194912310021"), []);
        assert_eq!(kinds("身份证号：110105********002X"), []);
        assert_eq!(kinds(&format!("编号9{ID}")), [], "inside a longer run");
    }

    #[test]
    fn mobiles_and_bank_cards_stand_alone_and_masked_forms_pass() {
        let kinds = |text: &str| -> Vec<PersonalKind> {
            find(text, 2026).into_iter().map(|f| f.kind).collect()
        };
        assert_eq!(kinds("电话13812345678。"), [PersonalKind::Mobile]);
        assert_eq!(kinds("电话138****5678"), []);
        assert_eq!(kinds("座机053912345678"), [], "12 digits");
        assert_eq!(kinds("电话12812345678"), [], "12x is no mobile");
        assert_eq!(kinds("卡号6222020200112233445"), [], "Luhn fails");
        assert!(is_luhn("4111111111111111"));
        assert_eq!(kinds("卡号 4111111111111111 请"), [PersonalKind::BankCard]);
        assert_eq!(kinds("订单号A13812345678"), [], "letters touch it");
    }

    /// `find` as it was written before it probed: every run of digits
    /// walked, byte by byte.
    fn find_walking(text: &str, this_year: i32) -> Vec<Found> {
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        let mut i = 0;
        while let Some(at) = bytes
            .get(i..)
            .and_then(|rest| rest.iter().position(u8::is_ascii_digit))
        {
            let start = i + at;
            i = start;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let mut end = i;
            if end - start == 17 && bytes.get(end).is_some_and(|c| *c == b'X' || *c == b'x') {
                end += 1;
                i = end;
            }
            if let Some(kind) = kind_of(text, start, end, this_year) {
                found.push(Found { start, end, kind });
            }
        }
        found
    }

    #[test]
    fn probing_finds_what_walking_every_run_finds() {
        // Numbers of each kind, near misses one digit longer or shorter,
        // masked forms and runs touching letters, X and '*', at every
        // offset from the probes, in a text of numbers and prose.
        let pieces = [
            ID,
            "13812345678",
            "4111111111111111",
            "6222021234567890123",
            "11010519491231002",
            "1381234567",
            "138123456789",
            "138****5678",
            "政",
            "务",
            "a",
            "X",
            "x",
            "*",
            " ",
            "。",
            "7",
            "0",
            "2024",
            "05",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut found_any = 0;
        for _ in 0..3_000 {
            let mut text = String::new();
            for _ in 0..(next() % 40) {
                let at = usize::try_from(next() % 20).unwrap_or(0);
                text.push_str(pieces.get(at).copied().unwrap_or(""));
            }
            let want = find_walking(&text, 2026);
            found_any += want.len();
            assert_eq!(find(&text, 2026), want, "{text}");
        }
        assert!(found_any > 300, "the texts hold numbers: {found_any}");
        for text in ["", "1", "13812345678", "x13812345678", &"9".repeat(40)] {
            assert_eq!(find(text, 2026), find_walking(text, 2026), "{text}");
        }
    }

    #[test]
    fn masking_keeps_only_the_ends() {
        assert_eq!(mask(ID, PersonalKind::IdNumber), "110105********002X");
        assert_eq!(mask("13812345678", PersonalKind::Mobile), "138****5678");
        assert_eq!(
            mask("4111111111111111", PersonalKind::BankCard),
            "4111********1111"
        );
        assert_eq!(
            mask_all(&format!("张三 {ID} 13812345678"), 2026),
            "张三 110105********002X 138****5678"
        );
    }
}
