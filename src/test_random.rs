//! A fixed pseudo-random sequence for the randomized tests (xorshift64), so
//! that a failure repeats.

pub struct Xorshift(u64);

impl Xorshift {
    pub fn new(seed: u64) -> Xorshift {
        Xorshift(seed.max(1))
    }

    /// The next number below `bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let bound = u64::try_from(bound.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.0 % bound).unwrap_or(0)
    }

    /// Fewer than `most` of `pieces`, picked at random, joined.
    pub fn text(&mut self, pieces: &[&str], most: usize) -> String {
        let count = self.below(most);
        (0..count)
            .map(|_| {
                pieces
                    .get(self.below(pieces.len()))
                    .copied()
                    .unwrap_or_default()
            })
            .collect()
    }
}
