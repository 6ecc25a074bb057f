//! LCS: the longest common subsequence of two strings, socket-free.
//!
//! The classic dynamic-programming table: cell `(i, j)` holds the length of the LCS
//! of the first `i` bytes of `a` and the first `j` bytes of `b`. Walking back from
//! the last cell spells the subsequence out backwards and yields the matched
//! ranges (for `IDX`) from the end of the strings towards their start, which is the
//! order Redis 7.0 reports them in. Ties are broken the way Redis breaks them
//! (step back in `b` unless stepping back in `a` keeps a strictly longer LCS), so
//! the subsequence and the ranges are the ones Redis picks among equally long ones.
//!
//! The table takes `4 × (len(a) + 1) × (len(b) + 1)` bytes; like Redis, the command
//! refuses to build one larger than `proto-max-bulk-len`.

/// Why an LCS cannot be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LcsError {
    /// A string of 2^32 − 2 bytes or more.
    TooLong,
    /// The table would exceed the limit given.
    TableOverLimit,
    /// The allocator refused the table.
    OutOfMemory,
}

/// One matched range: the same bytes at `a[a.0..=a.1]` and `b[b.0..=b.1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcsMatch {
    pub a: (u32, u32),
    pub b: (u32, u32),
    pub len: u32,
}

/// The answer to LCS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lcs {
    /// The subsequence itself.
    pub text: Vec<u8>,
    /// Its matched ranges of at least the minimum length asked for, last first.
    pub matches: Vec<LcsMatch>,
}

/// The LCS of `a` and `b`, keeping only matched ranges of at least
/// `min_match_len` bytes (0 keeps all), with a table of at most `max_table_bytes`.
pub fn lcs(a: &[u8], b: &[u8], min_match_len: u64, max_table_bytes: u64) -> Result<Lcs, LcsError> {
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(LcsError::TooLong);
    }
    let width = b.len() + 1;
    let cells = (a.len() as u64 + 1) * width as u64;
    if cells * 4 > max_table_bytes {
        return Err(LcsError::TableOverLimit);
    }
    let mut table: Vec<u32> = Vec::new();
    table
        .try_reserve_exact(cells as usize)
        .map_err(|_| LcsError::OutOfMemory)?;
    table.resize(cells as usize, 0);
    for i in 1..=a.len() {
        let (above, row) = table[(i - 1) * width..(i + 1) * width].split_at_mut(width);
        for j in 1..=b.len() {
            row[j] = if a[i - 1] == b[j - 1] {
                above[j - 1] + 1
            } else {
                above[j].max(row[j - 1])
            };
        }
    }
    let cell = |i: usize, j: usize| table[i * width + j];
    let length = cell(a.len(), b.len()) as usize;
    let mut text = vec![0u8; length];
    let mut matches = Vec::new();
    // The range being extended backwards: (a start, a end, b start, b end).
    let mut current: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j, mut left) = (a.len(), b.len(), length);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            text[left - 1] = a[i - 1];
            match &mut current {
                None => current = Some((i - 1, i - 1, j - 1, j - 1)),
                Some((a_start, _, b_start, _)) if *a_start == i && *b_start == j => {
                    *a_start -= 1;
                    *b_start -= 1;
                }
                Some(_) => emit = true,
            }
            // A range that reached the start of either string is complete.
            emit |= current.is_some_and(|(a_start, _, b_start, _)| a_start == 0 || b_start == 0);
            left -= 1;
            i -= 1;
            j -= 1;
        } else {
            if cell(i - 1, j) > cell(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = current.is_some();
        }
        let emitted = if emit { current.take() } else { None };
        if let Some((a_start, a_end, b_start, b_end)) = emitted {
            let len = (a_end - a_start + 1) as u32;
            if min_match_len == 0 || u64::from(len) >= min_match_len {
                matches.push(LcsMatch {
                    a: (a_start as u32, a_end as u32),
                    b: (b_start as u32, b_end as u32),
                    len,
                });
            }
        }
    }
    Ok(Lcs { text, matches })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::random::SeededRng;

    const NO_LIMIT: u64 = u64::MAX;

    fn m(a: (u32, u32), b: (u32, u32)) -> LcsMatch {
        LcsMatch {
            a,
            b,
            len: a.1 - a.0 + 1,
        }
    }

    #[test]
    fn the_documented_example() {
        let found = lcs(b"ohmytext", b"mynewtext", 0, NO_LIMIT).unwrap();
        assert_eq!(found.text, b"mytext");
        assert_eq!(found.matches, [m((4, 7), (5, 8)), m((2, 3), (0, 1))]);
        let long = lcs(b"ohmytext", b"mynewtext", 4, NO_LIMIT).unwrap();
        assert_eq!(long.matches, [m((4, 7), (5, 8))]);
    }

    #[test]
    fn empty_and_disjoint_strings() {
        for (a, b) in [
            (&b""[..], &b""[..]),
            (b"abc", b""),
            (b"", b"abc"),
            (b"abc", b"xyz"),
        ] {
            let found = lcs(a, b, 0, NO_LIMIT).unwrap();
            assert!(found.text.is_empty() && found.matches.is_empty());
        }
        let same = lcs(b"abc", b"abc", 0, NO_LIMIT).unwrap();
        assert_eq!(same.matches, [m((0, 2), (0, 2))]);
    }

    #[test]
    fn the_table_respects_its_limit() {
        // (3 + 1) × (2 + 1) cells of 4 bytes.
        assert!(lcs(b"abc", b"ab", 0, 48).is_ok());
        assert_eq!(lcs(b"abc", b"ab", 0, 47), Err(LcsError::TableOverLimit));
    }

    /// Checks that `text` is a subsequence of `s`.
    fn is_subsequence(text: &[u8], s: &[u8]) -> bool {
        let mut rest = s.iter();
        text.iter().all(|c| rest.any(|d| d == c))
    }

    #[test]
    fn random_strings_give_a_common_subsequence_of_optimal_length() {
        let mut random = SeededRng::new(0x1c5);
        for _ in 0..200 {
            let gen_string = |random: &mut SeededRng| -> Vec<u8> {
                let len = random.below(30);
                (0..len).map(|_| b"abcd"[random.below(4)]).collect()
            };
            let (a, b) = (gen_string(&mut random), gen_string(&mut random));
            let found = lcs(&a, &b, 0, NO_LIMIT).unwrap();
            assert!(is_subsequence(&found.text, &a) && is_subsequence(&found.text, &b));
            // The optimal length by a separate, two-row computation.
            let mut previous = vec![0usize; b.len() + 1];
            for &x in &a {
                let mut row = vec![0usize; b.len() + 1];
                for (j, &y) in b.iter().enumerate() {
                    row[j + 1] = if x == y {
                        previous[j] + 1
                    } else {
                        previous[j + 1].max(row[j])
                    };
                }
                previous = row;
            }
            assert_eq!(found.text.len(), previous[b.len()]);
            // The ranges spell the subsequence, last first, and match in both.
            let mut spelled = Vec::new();
            for range in found.matches.iter().rev() {
                let (ra, rb) = (range.a, range.b);
                assert_eq!(
                    a[ra.0 as usize..=ra.1 as usize],
                    b[rb.0 as usize..=rb.1 as usize]
                );
                spelled.extend_from_slice(&a[ra.0 as usize..=ra.1 as usize]);
            }
            assert_eq!(spelled, found.text);
        }
    }
}
