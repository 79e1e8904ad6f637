//! Near misses: the word a typo most likely meant.

/// The candidate a typo most likely meant: one (two for longer words)
/// character edits away, the closest first; `None` when nothing is that near.
pub fn suggest<'a>(text: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let text: Vec<char> = text.trim().to_lowercase().chars().collect();
    if text.is_empty() {
        return None;
    }
    let limit = if text.len() >= 6 { 2 } else { 1 };
    candidates
        .into_iter()
        .map(|c| {
            (
                distance(&text, &c.to_lowercase().chars().collect::<Vec<_>>()),
                c,
            )
        })
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance between two character strings.
fn distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let value = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
            current.push(value);
        }
        previous = current;
    }
    previous[b.len()]
}
