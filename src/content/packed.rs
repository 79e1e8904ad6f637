//! How a post's plain text is kept: a mark byte, then the text in UTF-16
//! or as written. Rows of earlier releases (LZ4 blocks, raw deflate
//! streams) still read.

use super::MAX_TEXT_BYTES;

/// The first byte of a text kept as UTF-16 (little-endian). Rows written
/// before it hold LZ4 blocks (below) or raw deflate streams, and no deflate
/// stream can start with this byte: its bits 1–2 (the first block's BTYPE)
/// are 11, which deflate reserves. So are those of the two marks below.
const UTF16_MARK: u8 = 0xFF;
/// The first byte of a text kept as written (UTF-8).
const UTF8_MARK: u8 = 0xF7;
/// The first byte of a text kept as an LZ4 block by earlier releases.
const LZ4_MARK: u8 = 0xFE;

/// `text` as kept: Chinese in UTF-16, two bytes a character where UTF-8
/// takes three, else as written; a mark byte before it says which. On the
/// user path's Chinese posts this keeps 0.72 of the bytes where LZ4 kept
/// 0.75 (the seeds' own text in 3 KB pieces: 0.73 against 0.72), at 1.8 µs
/// a post against LZ4's 4.1: LZ4 had become the largest single cost of a
/// cold cycle (17 % of its samples).
pub fn pack(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let wide = utf16_units(bytes).saturating_mul(2);
    if wide >= bytes.len() {
        let mut out = Vec::with_capacity(bytes.len().saturating_add(1));
        out.push(UTF8_MARK);
        out.extend_from_slice(bytes);
        return out;
    }
    let mut out = Vec::with_capacity(wide.saturating_add(1));
    out.push(UTF16_MARK);
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// How many UTF-16 units the UTF-8 `bytes` make: one per character (every
/// byte but the continuation ones, 10xxxxxx) and one more for a character
/// beyond the BMP (lead byte 11110xxx). Counted eight bytes at a time.
fn utf16_units(bytes: &[u8]) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let count = |word: u64| {
        // Bit 7 of each byte, against its bits 6, 5, 4, 3.
        let continuation = word & !(word << 1) & HIGH;
        let four = word & (word << 1) & (word << 2) & (word << 3) & !(word << 4) & HIGH;
        8 - continuation.count_ones() + four.count_ones()
    };
    let mut words = bytes.chunks_exact(8);
    let mut units: usize = 0;
    for word in words.by_ref() {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(word).unwrap_or_default());
        units = units.saturating_add(count(word) as usize);
    }
    let tail = words.remainder();
    let mut last = [0u8; 8];
    if let Some(into) = last.get_mut(..tail.len()) {
        into.copy_from_slice(tail);
    }
    // The zero padding counts as characters: taken off again.
    let padding = 8 - tail.len();
    units
        .saturating_add(count(u64::from_le_bytes(last)) as usize)
        .saturating_sub(padding)
}

/// A kept text back; None when the bytes are none of the forms [`pack`]
/// writes or wrote (UTF-16, UTF-8, an LZ4 block, a raw deflate stream) of a
/// valid text. At most [`MAX_TEXT_BYTES`] are produced, so a hostile row
/// cannot balloon.
pub fn unpack(bytes: &[u8]) -> Option<String> {
    use std::io::Read as _;
    match bytes.split_first() {
        Some((&UTF16_MARK, rest)) => {
            // No more units than a kept text has bytes of UTF-8.
            if rest.len() % 2 != 0 || rest.len() > MAX_TEXT_BYTES * 2 {
                return None;
            }
            let units = rest
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes(<[u8; 2]>::try_from(pair).unwrap_or_default()));
            let text = char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()?;
            (text.len() <= MAX_TEXT_BYTES).then_some(text)
        }
        Some((&UTF8_MARK, rest)) => {
            if rest.len() > MAX_TEXT_BYTES {
                return None;
            }
            String::from_utf8(rest.to_vec()).ok()
        }
        Some((&LZ4_MARK, rest)) => {
            let (len, block) = rest.split_first_chunk::<4>()?;
            let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
            if len > MAX_TEXT_BYTES {
                return None;
            }
            let out = lz4_flex::block::decompress(block, len).ok()?;
            String::from_utf8(out).ok()
        }
        _ => {
            let mut out = Vec::with_capacity(bytes.len().saturating_mul(2));
            flate2::read::DeflateDecoder::new(bytes)
                .take(MAX_TEXT_BYTES as u64)
                .read_to_end(&mut out)
                .ok()?;
            String::from_utf8(out).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The LZ4 mark and the text's length (u32, little-endian) before the block.
    const LZ4_HEADER: usize = 5;

    #[test]
    fn texts_pack_one_after_another_each_unpacking_to_itself() {
        let long = "政务新媒体".repeat(4_000);
        for text in [
            "",
            "短",
            long.as_str(),
            "兰山发布：今日召开工作会议。",
            "plain ASCII, kept as written",
            "2026年12月7日 10:00 发布 https://www.lanshan.gov.cn/a.html",
            "表情😀与𠀀（BMP 以外的字）",
            long.as_str(),
        ] {
            assert_eq!(unpack(&pack(text)).as_deref(), Some(text), "{text}");
        }
    }

    #[test]
    fn chinese_is_kept_in_two_bytes_a_character_and_ascii_as_written() {
        let chinese = "兰山区持续深化政务公开工作，围绕群众关切及时发布权威信息。".repeat(20);
        let packed = pack(&chinese);
        assert_eq!(packed.first(), Some(&UTF16_MARK));
        assert_eq!(packed.len(), 1 + chinese.chars().count() * 2);
        assert_eq!(packed.len(), chinese.len() * 2 / 3 + 1);
        let ascii = "Press release 2026-12-07, see https://example.gov.cn/";
        let packed = pack(ascii);
        assert_eq!(packed.first(), Some(&UTF8_MARK));
        assert_eq!(packed.get(1..), Some(ascii.as_bytes()));
        // Beyond the BMP a character is two units: counted as such.
        let wide = "𠀀𠀁𠀂";
        assert_eq!(pack(wide).len(), 1 + 4 * 3);
        assert_eq!(unpack(&pack(wide)).as_deref(), Some(wide));
    }

    /// Texts as earlier releases kept them.
    fn old_texts() -> [String; 3] {
        [
            String::new(),
            "兰山发布：今日召开工作会议。".to_string(),
            "政务公开".repeat(3_000),
        ]
    }

    /// Rows written by the releases that kept LZ4 blocks still read.
    #[test]
    fn texts_kept_as_lz4_blocks_by_earlier_releases_still_unpack() {
        for text in old_texts() {
            assert_eq!(unpack(&lz4_row(&text)).as_deref(), Some(text.as_str()));
        }
    }

    fn lz4_row(text: &str) -> Vec<u8> {
        let len = u32::try_from(text.len()).expect("a short text");
        let mut row = vec![LZ4_MARK];
        row.extend_from_slice(&len.to_le_bytes());
        row.extend(lz4_flex::block::compress(text.as_bytes()));
        row
    }

    /// Rows written before LZ4 hold raw deflate streams: they still read.
    #[test]
    fn texts_kept_deflated_by_earlier_releases_still_unpack() {
        use std::io::Write as _;
        for text in old_texts() {
            let mut deflated =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            deflated
                .write_all(text.as_bytes())
                .expect("deflating into memory");
            let deflated = deflated.finish().expect("deflating into memory");
            for mark in [UTF16_MARK, UTF8_MARK, LZ4_MARK] {
                assert_ne!(deflated.first(), Some(&mark), "{text}");
            }
            assert_eq!(unpack(&deflated).as_deref(), Some(text.as_str()));
        }
        // A deflate stream may start with none of the marks (BTYPE 11 is reserved).
        for mark in [UTF16_MARK, UTF8_MARK, LZ4_MARK] {
            let mut raw = Vec::new();
            let mark_as_deflate = {
                use std::io::Read as _;
                flate2::read::DeflateDecoder::new(&[mark, 0, 0, 0, 0][..]).read_to_end(&mut raw)
            };
            assert!(mark_as_deflate.is_err(), "{mark:#x}");
        }
    }

    #[test]
    fn hostile_rows_unpack_to_nothing_without_ballooning() {
        let packed = lz4_row(&"网信办通报".repeat(100));
        // Valid UTF-16 whose UTF-8 is one character longer than a post keeps.
        let too_long_utf16 = pack(&"中".repeat(MAX_TEXT_BYTES / 3 + 1));
        assert_eq!(too_long_utf16.first(), Some(&UTF16_MARK));
        let cases: Vec<Vec<u8>> = vec![
            vec![LZ4_MARK],
            vec![LZ4_MARK, 1, 0],
            // A length beyond what a post keeps.
            [
                &[LZ4_MARK, 0xff, 0xff, 0xff, 0xff][..],
                packed.get(LZ4_HEADER..).unwrap_or_default(),
            ]
            .concat(),
            // A length that does not match the block.
            [
                &[LZ4_MARK, 9, 0, 0, 0][..],
                packed.get(LZ4_HEADER..).unwrap_or_default(),
            ]
            .concat(),
            // A cut block.
            packed.get(..packed.len() / 2).unwrap_or_default().to_vec(),
            // Not UTF-8 inside.
            {
                let mut bytes = vec![LZ4_MARK, 2, 0, 0, 0];
                bytes.extend(lz4_flex::block::compress(&[0xff, 0xfe]));
                bytes
            },
            // UTF-16 cut in the middle of a unit.
            vec![UTF16_MARK, 0x2d, 0x4e, 0x87],
            // An unpaired surrogate.
            vec![UTF16_MARK, 0x00, 0xd8, 0x41, 0x00],
            // More text than a post keeps.
            too_long_utf16,
            // Raw bytes that are not UTF-8, and too many of them.
            vec![UTF8_MARK, 0xff, 0xfe],
            [vec![UTF8_MARK], vec![b'a'; MAX_TEXT_BYTES + 1]].concat(),
        ];
        for bytes in cases {
            assert_eq!(unpack(&bytes), None, "{:?}", bytes.get(..8));
        }
    }
}
