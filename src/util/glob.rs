//! Glob-style pattern matching with the exact semantics of Redis/Valkey's
//! `stringmatchlen`, the matcher behind `KEYS`, `SCAN ... MATCH`,
//! `PSUBSCRIBE`, `CONFIG GET` and friends.
//!
//! Supported syntax:
//!
//! * `*` matches any run of bytes, `?` matches exactly one byte;
//! * `[abc]`, `[^abc]` (negation), `[a-z]` ranges (a reversed range such as
//!   `[z-a]` is accepted and means the same as `[a-z]`);
//! * `\x` escapes `x`, both outside and inside brackets; a trailing lone `\`
//!   is an ordinary byte.
//!
//! Quirks that are faithfully reproduced because clients can observe them:
//!
//! * A pattern never matches the empty subject unless the pattern itself is
//!   empty: `*` does **not** match `""` (commands such as `KEYS *` avoid this
//!   by short-circuiting the all-keys pattern before calling the matcher).
//! * An unterminated bracket (`[abc`) behaves as if the end of the pattern
//!   closed it; `[` alone matches nothing and `[^` matches any single byte.
//! * In `[a-]` the `-` forms a range whose upper end is the closing `]`, so
//!   the bracket is then unterminated.
//! * Inside brackets an escaped byte is compared case-sensitively even in
//!   `nocase` mode.
//! * Range ends are compared as C `char` values, which are *signed* on the
//!   x86-64 builds Redis ships; bytes >= 0x80 therefore sort below ASCII
//!   (`[a-\xff]` is the range -1..=97 and matches `\xff` and `\x00`..=`a`).
//! * Case folding (`nocase`) is ASCII-only, like `tolower` in the C locale.
//! * Recursion through `*` is capped at a nesting depth of 1000; a pattern
//!   that needs deeper nesting simply fails to match.
//! * Once the tail after some `*` has failed to match at every position of
//!   the remaining subject, no earlier `*` is retried with a longer match
//!   (Valkey's `skipLongerMatches`). This cannot change the answer, but it
//!   keeps patterns like `a*a*a*a*...b` polynomial instead of exponential.

/// Deepest `*` recursion Redis allows before declaring "no match".
const MAX_NESTING: u32 = 1000;

/// Matches `subject` against the glob `pattern`, byte for byte, as Redis's
/// `stringmatchlen` does.
///
/// When `nocase` is true, ASCII letters are compared case-insensitively
/// (except for escaped bytes inside `[...]`, which Redis compares exactly).
///
/// # Returns
///
/// `true` if the whole of `subject` matches the whole of `pattern`, `false`
/// otherwise (including when the pattern is too deeply nested in `*`).
pub fn glob_match(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    let mut give_up = false;
    match_at(pattern, subject, nocase, &mut give_up, 0)
}

/// Reads a pattern byte, yielding 0 past the end: the C matcher reads the
/// NUL terminator that every Redis string carries there.
fn byte_at(pattern: &[u8], idx: usize) -> u8 {
    pattern.get(idx).copied().unwrap_or(0)
}

/// Compares two bytes for the literal (non-range) cases.
fn same_byte(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// A byte as a signed C `char`, lowered if requested, for range tests.
fn range_key(b: u8, nocase: bool) -> i32 {
    let b = if nocase { b.to_ascii_lowercase() } else { b };
    i32::from(b as i8)
}

/// Tests whether `c` falls in the range written as `first-last`.
fn in_range(first: u8, last: u8, c: u8, nocase: bool) -> bool {
    // The ends are ordered on their raw (signed) values first and only then
    // case-folded, exactly as Redis does; the fold can therefore leave the
    // interval "reversed" (e.g. `[A-z]` in nocase mode becomes `a..=z`).
    let (raw_lo, raw_hi) = {
        let (a, b) = (i32::from(first as i8), i32::from(last as i8));
        if a > b { (last, first) } else { (first, last) }
    };
    let lo = range_key(raw_lo, nocase);
    let hi = range_key(raw_hi, nocase);
    let c = range_key(c, nocase);
    lo <= c && c <= hi
}

/// The matcher proper. `give_up` is shared by every level of one top-level
/// call and becomes true as soon as some `*` has exhausted its subject
/// without success; `depth` counts the enclosing `*` expansions.
fn match_at(pattern: &[u8], subject: &[u8], nocase: bool, give_up: &mut bool, depth: u32) -> bool {
    if depth > MAX_NESTING {
        return false;
    }
    let mut p = 0usize;
    let mut s = 0usize;

    while p < pattern.len() && s < subject.len() {
        match pattern[p] {
            b'*' => {
                // A run of stars behaves like a single one.
                while p + 1 < pattern.len() && pattern[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pattern.len() {
                    return true;
                }
                let rest = &pattern[p + 1..];
                // Try the tail against every non-empty suffix of the subject.
                while s < subject.len() {
                    if match_at(rest, &subject[s..], nocase, give_up, depth + 1) {
                        return true;
                    }
                    if *give_up {
                        return false;
                    }
                    s += 1;
                }
                // The tail matches no suffix at all, so letting an outer `*`
                // swallow more bytes cannot help either.
                *give_up = true;
                return false;
            }
            b'?' => {
                s += 1;
            }
            b'[' => {
                let c = subject[s];
                p += 1;
                let negate = byte_at(pattern, p) == b'^';
                if negate {
                    p += 1;
                }
                let mut hit = false;
                loop {
                    let left = pattern.len() - p;
                    let b = byte_at(pattern, p);
                    if b == b'\\' && left >= 2 {
                        p += 1;
                        // Escaped bytes ignore `nocase`.
                        if pattern[p] == c {
                            hit = true;
                        }
                    } else if b == b']' {
                        break;
                    } else if left == 0 {
                        // Unterminated: step back so the shared advance
                        // below lands exactly at the end of the pattern.
                        p -= 1;
                        break;
                    } else if left >= 3 && pattern[p + 1] == b'-' {
                        if in_range(pattern[p], pattern[p + 2], c, nocase) {
                            hit = true;
                        }
                        p += 2;
                    } else if same_byte(b, c, nocase) {
                        hit = true;
                    }
                    p += 1;
                }
                if hit == negate {
                    return false;
                }
                s += 1;
            }
            first => {
                let mut lit = first;
                if first == b'\\' && pattern.len() - p >= 2 {
                    p += 1;
                    lit = pattern[p];
                }
                if !same_byte(lit, subject[s], nocase) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == subject.len() {
            // Trailing stars may match the empty remainder.
            while byte_at(pattern, p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p == pattern.len() && s == subject.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;
    use std::time::{Duration, Instant};

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    fn mi(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), true)
    }

    #[test]
    fn literals() {
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("a", ""));
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(!m("hello", "Hello"));
        assert!(m("a.b", "a.b"));
        assert!(!m("a.b", "axb"));
    }

    #[test]
    fn celery_pubsub_patterns() {
        let p = "/0.celery.pidbox";
        assert!(m(p, "/0.celery.pidbox"));
        assert!(!m(p, "/0.celery.pidbox2"));
        assert!(!m(p, "/0.celery.pidbo"));
        assert!(!m(p, "/0xcelery.pidbox"));
        assert!(!m(p, "/1.celery.pidbox"));
        assert!(!m(p, "/0.celeryev/worker.heartbeat"));
        assert!(!m(p, ""));

        let p = "/0.celeryev/worker.*";
        assert!(m(p, "/0.celeryev/worker.heartbeat"));
        assert!(m(p, "/0.celeryev/worker.online"));
        assert!(m(p, "/0.celeryev/worker.a.b.c"));
        assert!(m(p, "/0.celeryev/worker."));
        assert!(!m(p, "/0.celeryev/worker"));
        assert!(!m(p, "/0.celeryev/task.sent"));
        assert!(!m(p, "/0.celery.pidbox"));
        assert!(!m(p, "/1.celeryev/worker.heartbeat"));
    }

    #[test]
    fn star() {
        assert!(m("*", "a"));
        assert!(m("*", "anything at all"));
        assert!(m("**", "x"));
        assert!(m("a*", "a"));
        assert!(m("a*", "abc"));
        assert!(m("a**", "a"));
        assert!(m("*a", "a"));
        assert!(m("*a", "bba"));
        assert!(!m("*a", "ab"));
        assert!(m("a*b", "ab"));
        assert!(m("a*b", "axxxb"));
        assert!(!m("a*b", "axxxc"));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "aXbYc"));
        assert!(m("a*b*c", "abbbcbc"));
        assert!(!m("a*b*c", "acb"));
        assert!(m("*.*", "a.b"));
        assert!(m("h*llo", "hello"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h*llo", "hllo"));
        assert!(m("user:*:name", "user:1000:name"));
        assert!(!m("user:*:name", "user:1000:age"));
    }

    #[test]
    fn empty_subject_quirk() {
        // Redis only lets the empty pattern match the empty subject.
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("?", ""));
        assert!(!m("[a]", ""));
        assert!(!m("[^a]", ""));
        assert!(m("", ""));
    }

    #[test]
    fn question_mark() {
        assert!(m("?", "a"));
        assert!(!m("?", "ab"));
        assert!(m("h?llo", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(!m("h?llo", "heello"));
        assert!(m("??", "ab"));
        assert!(m("*?", "a"));
        assert!(m("?*", "abc"));
        assert!(!m("?*?", "a"));
    }

    #[test]
    fn brackets() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(!m("h[ae]llo", "hllo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(m("h[^e]llo", "hbllo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hallo"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("[a-z]", "m"));
        assert!(m("[z-a]", "m"));
        assert!(m("[z-a]", "a"));
        assert!(m("[z-a]", "z"));
        assert!(!m("[z-a]", "A"));
        assert!(m("[^z-a]", "A"));
        assert!(!m("[^z-a]", "q"));
        assert!(m("[0-9a-f]", "c"));
        assert!(m("[0-9a-f]", "7"));
        assert!(!m("[0-9a-f]", "g"));
        assert!(m("[-a]", "-"));
        // `]` right after `[` closes an empty set, which matches nothing.
        assert!(!m("[]", "x"));
        assert!(!m("[]a]", "]"));
        assert!(!m("[]a]", "xa]"));
        assert!(!m("[]a]", "a"));
        // `[^]` is an empty negated set: matches any one byte.
        assert!(m("[^]", "x"));
        assert!(!m("[^]", "xy"));
        assert!(m("[*]", "*"));
        assert!(!m("[*]", "a"));
        assert!(m("[?]", "?"));
        assert!(!m("[?]", "a"));
        assert!(m("[[]", "["));
        assert!(m("[^^]", "a"));
        assert!(!m("[^^]", "^"));
        assert!(m("[a^]", "^"));
    }

    #[test]
    fn dash_edge_cases() {
        // `[a-]`: range from `a` to `]` (reordered to `]`..=`a`), and the
        // bracket is then unterminated, so nothing follows it.
        assert!(m("[a-]", "a"));
        assert!(m("[a-]", "^"));
        assert!(m("[a-]", "_"));
        assert!(m("[a-]", "]"));
        assert!(!m("[a-]", "-"));
        assert!(!m("[a-]", "b"));
        assert!(!m("[a-]x", "ax"));
        assert!(m("[a-]x", "x"));
        // A leading `-` is literal.
        assert!(m("[-z]", "-"));
        assert!(m("[-z]", "z"));
        assert!(!m("[-z]", "m"));
        // `-` at the very end before `]` with only one char before it.
        assert!(m("[ab-]", "a"));
        assert!(m("[ab-]", "b"));
        assert!(m("[ab-]", "]"));
        assert!(!m("[ab-]", "-"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\?", "?"));
        assert!(!m("\\?", "a"));
        assert!(m("\\[a]", "[a]"));
        assert!(m("a\\\\b", "a\\b"));
        assert!(m("\\a", "a"));
        assert!(m("foo\\*bar", "foo*bar"));
        assert!(!m("foo\\*bar", "fooxbar"));
        assert!(m("*\\*", "abc*"));
        assert!(!m("*\\*", "abc"));
        // Escapes inside brackets.
        assert!(m("[\\]]", "]"));
        assert!(!m("[\\]]", "\\"));
        assert!(m("[\\^a]", "^"));
        assert!(m("[\\-]", "-"));
        assert!(m("[a\\-z]", "-"));
        assert!(!m("[a\\-z]", "m"));
        assert!(m("[\\\\]", "\\"));
    }

    #[test]
    fn trailing_backslash() {
        // A lone trailing backslash is an ordinary byte.
        assert!(m("\\", "\\"));
        assert!(!m("\\", "a"));
        assert!(m("a\\", "a\\"));
        assert!(!m("a\\", "a"));
        assert!(m("*\\", "xyz\\"));
        // Inside an unterminated bracket it is a member of the set.
        assert!(m("[\\", "\\"));
        assert!(!m("[\\", "a"));
        assert!(m("[a\\", "\\"));
        assert!(m("[a\\", "a"));
    }

    #[test]
    fn unterminated_brackets() {
        assert!(m("[abc", "a"));
        assert!(m("[abc", "c"));
        assert!(!m("[abc", "d"));
        assert!(!m("[abc", "ab"));
        assert!(m("x[abc", "xb"));
        assert!(m("[^abc", "d"));
        assert!(!m("[^abc", "a"));
        assert!(m("[a-c", "b"));
        assert!(!m("[", "["));
        assert!(!m("[", "a"));
        assert!(!m("x[", "x"));
        assert!(!m("x[", "x["));
        // `[^` is an unterminated, empty, negated set: any single byte.
        assert!(m("[^", "a"));
        assert!(m("[^", "^"));
        assert!(!m("[^", "ab"));
        assert!(m("*[^", "abc"));
    }

    #[test]
    fn nocase() {
        assert!(mi("HeLLo", "hello"));
        assert!(mi("hello", "HELLO"));
        assert!(!m("HeLLo", "hello"));
        assert!(mi("h?LLO", "Hello"));
        assert!(mi("h*O", "HELLO"));
        assert!(mi("[A-C]", "b"));
        assert!(mi("[a-c]", "B"));
        assert!(!m("[a-c]", "B"));
        assert!(mi("[ABC]", "b"));
        assert!(mi("[^ABC]", "d"));
        assert!(!mi("[^ABC]", "c"));
        assert!(mi("\\A", "a"));
        // Escapes inside brackets are compared exactly, even in nocase mode.
        assert!(!mi("[\\A]", "a"));
        assert!(mi("[\\A]", "A"));
        // Folding applies to the range ends after ordering: `[A-z]` keeps
        // `_` (0x5f) case-sensitively but becomes `a..=z` with nocase.
        assert!(m("[A-z]", "_"));
        assert!(!mi("[A-z]", "_"));
        assert!(mi("[A-z]", "Q"));
        // Only ASCII letters fold.
        assert!(!mi("\u{c4}", "\u{e4}"));
        assert!(mi("\u{c4}", "\u{c4}"));
        assert!(mi("/0.CELERYEV/worker.*", "/0.celeryev/WORKER.heartbeat"));
    }

    #[test]
    fn binary_bytes() {
        assert!(glob_match(b"\x00", b"\x00", false));
        assert!(!glob_match(b"\x00", b"\x01", false));
        assert!(glob_match(b"a\x00*", b"a\x00bc", false));
        assert!(!glob_match(b"a\x00*", b"a", false));
        assert!(glob_match(b"*\xff", b"\x01\x02\xff", false));
        assert!(glob_match(b"?", b"\x80", false));
        assert!(glob_match(b"[\x80\x81]", b"\x81", false));
        assert!(!glob_match(b"[\x80\x81]", b"\x82", false));
        assert!(glob_match(b"[\x80-\xff]", b"\xc0", false));
        assert!(!glob_match(b"[\x80-\xff]", b"a", false));
        assert!(glob_match(b"[\xff-\x80]", b"\x90", true));
        assert!(glob_match(b"\xe9", b"\xe9", true));
        // A NUL byte in a set, and an escaped NUL.
        assert!(glob_match(b"[\x00]", b"\x00", false));
        assert!(glob_match(b"\\\x00", b"\x00", false));
        // Signed-char ranges: `[a-\xff]` is -1..=97 on x86-64 Redis.
        assert!(glob_match(b"[a-\xff]", b"\xff", false));
        assert!(glob_match(b"[a-\xff]", b"\x00", false));
        assert!(glob_match(b"[a-\xff]", b"a", false));
        assert!(!glob_match(b"[a-\xff]", b"b", false));
        assert!(!glob_match(b"[a-\xff]", b"\xfe", false));
        assert!(glob_match(b"[\x7f-\x80]", b"\x7f", false));
        assert!(glob_match(b"[\x7f-\x80]", b"\xa0", false));
        assert!(glob_match(b"[\x7f-\x80]", b"a", false));
        assert!(glob_match(b"[\x7f-\x80]", b"\x00", false));
    }

    #[test]
    fn exponential_patterns_are_fast() {
        let start = Instant::now();
        let subject = "a".repeat(40);
        let pattern = format!("{}b", "a*".repeat(20));
        assert!(!m(&pattern, &subject));
        let subject: String = "a".repeat(5000);
        let pattern = format!("{}b", "*a".repeat(200));
        assert!(!m(&pattern, &subject));
        assert!(m(&format!("{}a", "*a".repeat(200)), &subject));
        assert!(!m(&"*?*".repeat(300), &"x".repeat(200)));
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn nesting_limit() {
        // Up to 1000 nested stars are fine...
        let s = "a".repeat(1000);
        assert!(m(&"*a".repeat(1000), &s));
        // ...but the 1001st level gives up, even though this would match.
        let s = "a".repeat(1001);
        assert!(!m(&"*a".repeat(1001), &s));
        // Trailing stars do not recurse.
        assert!(m(&format!("{}*", "a*".repeat(999)), &s));
        // Valkey's regression test: a very long pattern does not match and
        // does not take forever.
        let start = Instant::now();
        assert!(!m(&"*?".repeat(50_000), &"a".repeat(50_000)));
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn backtracking_still_finds_matches() {
        assert!(m("*ab*cd", "xxabyyabzzcd"));
        assert!(m("*a*a*b", "aaaab"));
        assert!(!m("*a*a*b", "aaaa"));
        assert!(m("a*a*a*a*b", "aaaaaaaab"));
        assert!(m("*x*y*z", "zyxzyxzyxyz"));
        assert!(m("*?b", "ab"));
        assert!(!m("*?b", "b"));
        assert!(m("*[0-9]", "abc7"));
        assert!(!m("*[0-9]", "7abc"));
        assert!(m("*[0-9]*", "abc7def"));
    }

    /// A direct, obviously-correct glob matcher (minus Redis's bracket and
    /// nesting quirks) used to cross-check the main implementation on
    /// patterns made of literals, `?` and `*` only.
    fn reference(p: &[u8], s: &[u8]) -> bool {
        let mut dp = vec![vec![false; s.len() + 1]; p.len() + 1];
        dp[p.len()][s.len()] = true;
        for i in (0..p.len()).rev() {
            for j in (0..=s.len()).rev() {
                dp[i][j] = match p[i] {
                    b'*' => dp[i + 1][j] || (j < s.len() && dp[i][j + 1]),
                    b'?' => j < s.len() && dp[i + 1][j + 1],
                    c => j < s.len() && s[j] == c && dp[i + 1][j + 1],
                };
            }
        }
        dp[0][0]
    }

    #[test]
    fn random_against_reference() {
        let mut rng = crate::util::random::SeededRng::new(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let plen = rng.below(8);
            let slen = rng.below(8);
            let p: Vec<u8> = (0..plen).map(|_| b"ab*?"[rng.below(4)]).collect();
            let s: Vec<u8> = (0..slen).map(|_| b"ab"[rng.below(2)]).collect();
            let expected = if s.is_empty() {
                p.is_empty()
            } else {
                reference(&p, &s)
            };
            assert_eq!(
                glob_match(&p, &s, false),
                expected,
                "pattern {:?} subject {:?}",
                String::from_utf8_lossy(&p),
                String::from_utf8_lossy(&s)
            );
        }
    }
}
