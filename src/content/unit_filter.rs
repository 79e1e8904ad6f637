//! Rules a text out of a wording list by its UTF-16 units: one look-up a
//! character, where the UTF-8 searchers look at three bytes a Chinese one;
//! a pair of units that starts a word is checked against those words.

use std::sync::Arc;

/// Bits of the first-unit table: one per UTF-16 unit.
const FIRST_BITS: usize = 1 << 16;
/// Bits of the two-unit table, hashed: 128 KB, so that a list of a few
/// hundred words leaves it almost empty (a false candidate is rare).
const PAIR_BITS: usize = 1 << 20;
/// Longer lists set too many bits to rule much out: the UTF-8 searchers
/// alone are used for them.
pub const MAX_WORDS: usize = 2_048;

/// One bit per UTF-16 unit (fixed in size, so a unit's look-up needs no
/// bounds check).
type UnitBits = [u64; FIRST_BITS / 64];
/// The two-unit table.
type PairBits = [u64; PAIR_BITS / 64];

/// Which units start a word, and which pairs of units do.
#[derive(Debug, Clone)]
pub struct UnitFilter {
    /// Bit `u`: a word starts with unit `u`.
    first: Arc<UnitBits>,
    /// Bit `u`: a word is the one unit `u`.
    single: Arc<UnitBits>,
    /// Bit `pair_bit(u, v)`: a word starts with units `u`, `v`.
    pair: Arc<PairBits>,
    /// The words of two units or more, as units, sorted: a candidate pair
    /// is checked against the words it starts ("社会" of 社会主义核心价值观念
    /// is common in the very texts the list is for).
    words: Arc<[Vec<u16>]>,
}

impl UnitFilter {
    /// The filter of `words`; None for an empty list or one longer than
    /// [`MAX_WORDS`].
    pub fn new<'a>(words: impl Iterator<Item = &'a str>) -> Option<UnitFilter> {
        let mut first: Box<UnitBits> = Box::new([0; FIRST_BITS / 64]);
        let mut single: Box<UnitBits> = Box::new([0; FIRST_BITS / 64]);
        // 128 KB: built on the heap, not on the stack first.
        let mut pair: Box<PairBits> = vec![0u64; PAIR_BITS / 64]
            .into_boxed_slice()
            .try_into()
            .ok()?;
        let mut count = 0usize;
        let mut long = Vec::new();
        for word in words {
            let mut units = word.encode_utf16();
            let Some(u) = units.next() else { continue };
            count += 1;
            if count > MAX_WORDS {
                return None;
            }
            set(&mut first[..], usize::from(u));
            match units.next() {
                Some(v) => {
                    set(&mut pair[..], pair_bit(u, v));
                    long.push(word.encode_utf16().collect::<Vec<u16>>());
                }
                None => set(&mut single[..], usize::from(u)),
            }
        }
        long.sort_unstable();
        (count > 0).then(|| UnitFilter {
            first: Arc::from(first),
            single: Arc::from(single),
            pair: Arc::from(pair),
            words: long.into(),
        })
    }

    /// Whether a word occurs in the text whose UTF-16 units these are (a
    /// word's units occur in a text's units wherever the word occurs in its
    /// UTF-8, and only there).
    pub fn may_match(&self, units: &[u16]) -> bool {
        // A unit that starts no word, most of them, costs one look-up.
        // (Ruling out eight units at a time without a branch cost more:
        // one in ten characters of the seeds' prose starts a word.)
        units.iter().enumerate().any(|(at, &u)| {
            unit_is_set(&self.first, u) && self.starts_here(units.get(at..).unwrap_or_default())
        })
    }

    /// Whether a word starts `text`, whose first unit starts one.
    fn starts_here(&self, text: &[u16]) -> bool {
        match *text {
            [u] => unit_is_set(&self.single, u),
            [u, v, ..] => {
                unit_is_set(&self.single, u)
                    || (is_set(&self.pair[..], pair_bit(u, v)) && self.starts_a_word(text))
            }
            [] => false,
        }
    }

    /// Whether a word of two units or more starts `text`.
    fn starts_a_word(&self, text: &[u16]) -> bool {
        let head = text.get(..2).unwrap_or_default();
        // The words starting with the same two units, one after another.
        let from = self
            .words
            .partition_point(|w| w.get(..2).unwrap_or(w) < head);
        self.words
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|w| w.get(..2) == Some(head))
            .any(|w| text.starts_with(w))
    }
}

fn pair_bit(u: u16, v: u16) -> usize {
    let both = (u32::from(u) << 16) | u32::from(v);
    // Fibonacci hashing: the top 20 bits of the product.
    (both.wrapping_mul(0x9E37_79B1) >> (32 - 20)) as usize
}

fn set(bits: &mut [u64], bit: usize) {
    if let Some(word) = bits.get_mut(bit / 64) {
        *word |= 1 << (bit % 64);
    }
}

fn unit_is_set(bits: &UnitBits, unit: u16) -> bool {
    // `unit >> 6` is below 1,024: no bounds check.
    bits[usize::from(unit >> 6)] & (1 << (unit & 63)) != 0
}

fn is_set(bits: &[u64], bit: usize) -> bool {
    bits.get(bit / 64)
        .is_some_and(|word| word & (1 << (bit % 64)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(text: &str) -> Vec<u16> {
        text.encode_utf16().collect()
    }

    #[test]
    fn a_text_holding_a_word_is_never_ruled_out() {
        let words = ["截止目前", "残", "a😀", "中港", "x"];
        let filter = UnitFilter::new(words.into_iter()).expect("a short list");
        for text in [
            "全区截止目前已完成",
            "残",
            "末尾是中港",
            "a😀b",
            "ax",
            "表情😀后a😀",
        ] {
            assert!(filter.may_match(&units(text)), "{text}");
        }
        // The first two units of a word are not enough ("截止" is common).
        for text in [
            "",
            "政务公开",
            "截止到",
            "中",
            "a",
            "😀a",
            "截止日前",
            "中国港口",
        ] {
            assert!(!filter.may_match(&units(text)), "{text}");
        }
    }

    /// A word is found at every place in a long text.
    #[test]
    fn a_word_is_found_wherever_it_falls() {
        let filter = UnitFilter::new(["截止目前", "残"].into_iter()).expect("a short list");
        for word in ["截止目前", "残"] {
            for at in 0..30 {
                let text = format!("{}{word}{}", "政".repeat(at), "务".repeat(30 - at));
                assert!(filter.may_match(&units(&text)), "{text}");
            }
        }
        let text = format!("{}截止日前", "政".repeat(13));
        assert!(!filter.may_match(&units(&text)));
    }

    #[test]
    fn empty_and_long_lists_have_no_filter() {
        assert!(UnitFilter::new(std::iter::empty()).is_none());
        assert!(UnitFilter::new([""].into_iter()).is_none());
        let many: Vec<String> = (0..=MAX_WORDS).map(|i| format!("词{i}")).collect();
        assert!(UnitFilter::new(many.iter().map(String::as_str)).is_none());
    }
}
