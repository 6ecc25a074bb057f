//! The positions that the random-sampling commands (HRANDFIELD, SRANDMEMBER,
//! ZRANDMEMBER, SPOP) return, following Redis's count rules: a positive count asks
//! for that many *distinct* elements (the whole collection, in its own order, when
//! the count reaches its size); a negative count asks for `|count|` elements drawn
//! independently, so repeats are possible.

use std::collections::HashSet;

use crate::util::random;

/// A sample of positions in a collection of `len` elements, produced lazily so
/// that a large negative count does not allocate up front.
#[derive(Debug)]
pub enum Sample {
    /// Every position, in order: the whole collection, which callers may list in
    /// their own order instead.
    All(std::ops::Range<usize>),
    /// Distinct positions, in random order.
    Distinct(std::vec::IntoIter<usize>),
    /// `left` independent draws below `len`.
    Repeated { len: usize, left: usize },
}

impl Sample {
    /// The sample for `count` over `len` elements (see the module documentation).
    pub fn new(len: usize, count: i64) -> Sample {
        if len == 0 || count == 0 {
            return Sample::Distinct(Vec::new().into_iter());
        }
        if count < 0 {
            let left = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
            return Sample::Repeated { len, left };
        }
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count >= len {
            return Sample::All(0..len);
        }
        Sample::Distinct(distinct_positions(len, count).into_iter())
    }
}

impl Iterator for Sample {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            Sample::All(range) => range.next(),
            Sample::Distinct(positions) => positions.next(),
            Sample::Repeated { len, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                Some(random::below(*len))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            Sample::All(range) => range.len(),
            Sample::Distinct(positions) => positions.len(),
            Sample::Repeated { left, .. } => *left,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Sample {}

/// `count` distinct positions below `len` (`count < len`), in random order.
///
/// A partial shuffle costs O(len), so it is used only when the sample is a large
/// share of the collection; otherwise draws are retried on collision, which costs
/// O(count) expected.
pub fn distinct_positions(len: usize, count: usize) -> Vec<usize> {
    if count.saturating_mul(4) >= len {
        let mut all: Vec<usize> = (0..len).collect();
        for i in 0..count {
            let j = i + random::below(len - i);
            all.swap(i, j);
        }
        all.truncate(count);
        return all;
    }
    let mut seen = HashSet::with_capacity(count);
    let mut picked = Vec::with_capacity(count);
    while picked.len() < count {
        let position = random::below(len);
        if seen.insert(position) {
            picked.push(position);
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_counts_are_distinct_and_capped_at_the_size() {
        assert_eq!(Sample::new(3, 10).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(Sample::new(3, 3).collect::<Vec<_>>(), [0, 1, 2]);
        for (len, count) in [(10, 9), (1000, 5), (100, 30)] {
            let mut got: Vec<usize> = Sample::new(len, count as i64).collect();
            assert_eq!(got.len(), count);
            got.sort_unstable();
            got.dedup();
            assert_eq!(got.len(), count, "positions repeat");
            assert!(got.iter().all(|&p| p < len));
        }
    }

    #[test]
    fn negative_counts_draw_with_repeats() {
        let got: Vec<usize> = Sample::new(2, -50).collect();
        assert_eq!(got.len(), 50);
        assert!(got.iter().all(|&p| p < 2));
        assert_eq!(Sample::new(0, -5).count(), 0);
        assert_eq!(Sample::new(5, 0).count(), 0);
        assert_eq!(Sample::new(5, -i64::MAX).len(), i64::MAX as usize);
    }
}
