//! Splitting an inline request line into arguments, with Redis's quoting rules
//! (`sdssplitargs`): blanks separate arguments; `"double quotes"` take the escapes
//! `\n \r \t \b \a \\ \"` and `\xHH`; `'single quotes'` are literal except for `\'`;
//! a quote may start mid-argument; a closing quote must be followed by a blank or the
//! end of the line.

/// Whitespace as C's `isspace` sees it.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

/// Splits `line` into arguments, appending their bytes to `out` and their ranges (into
/// `out`) to `ranges`.
///
/// # Returns
/// `false` for unbalanced quotes (a quote never closed, or closed and followed by
/// something other than a blank).
pub fn split_inline(line: &[u8], out: &mut Vec<u8>, ranges: &mut Vec<(usize, usize)>) -> bool {
    let mut pos = 0;
    loop {
        while pos < line.len() && is_space(line[pos]) {
            pos += 1;
        }
        if pos == line.len() {
            return true;
        }
        let start = out.len();
        match split_one(line, &mut pos, out) {
            Some(()) => ranges.push((start, out.len())),
            None => return false,
        }
    }
}

/// Reads one argument starting at `line[*pos]`, leaving `*pos` after it.
fn split_one(line: &[u8], pos: &mut usize, out: &mut Vec<u8>) -> Option<()> {
    #[derive(PartialEq)]
    enum Quote {
        None,
        Double,
        Single,
    }
    let mut quote = Quote::None;
    let at = |i: usize| line.get(i).copied();
    loop {
        let Some(byte) = at(*pos) else {
            // The end of the line: fine outside quotes, unbalanced inside.
            return (quote == Quote::None).then_some(());
        };
        match quote {
            Quote::Double => {
                if byte == b'\\' && at(*pos + 1) == Some(b'x') {
                    if let (Some(hi), Some(lo)) = (
                        at(*pos + 2).and_then(hex_value),
                        at(*pos + 3).and_then(hex_value),
                    ) {
                        out.push(hi * 16 + lo);
                        *pos += 4;
                        continue;
                    }
                }
                if byte == b'\\' && *pos + 1 < line.len() {
                    out.push(match line[*pos + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    *pos += 2;
                    continue;
                }
                if byte == b'"' {
                    return closing_quote(line, pos);
                }
                out.push(byte);
            }
            Quote::Single => {
                if byte == b'\\' && at(*pos + 1) == Some(b'\'') {
                    out.push(b'\'');
                    *pos += 2;
                    continue;
                }
                if byte == b'\'' {
                    return closing_quote(line, pos);
                }
                out.push(byte);
            }
            Quote::None => match byte {
                b' ' | b'\n' | b'\r' | b'\t' => return Some(()),
                b'"' => quote = Quote::Double,
                b'\'' => quote = Quote::Single,
                _ => out.push(byte),
            },
        }
        *pos += 1;
    }
}

/// A closing quote ends the argument; it must be followed by a blank or the end.
fn closing_quote(line: &[u8], pos: &mut usize) -> Option<()> {
    *pos += 1;
    match line.get(*pos) {
        Some(&next) if !is_space(next) => None,
        _ => Some(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut ranges = Vec::new();
        split_inline(line.as_bytes(), &mut out, &mut ranges).then(|| {
            ranges
                .iter()
                .map(|&(s, e)| String::from_utf8_lossy(&out[s..e]).into_owned())
                .collect()
        })
    }

    #[test]
    fn plain_words() {
        assert_eq!(split("set  a\tb").unwrap(), ["set", "a", "b"]);
        assert_eq!(split("   ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn double_quotes_and_escapes() {
        assert_eq!(
            split(r#"set "a b" "\x41\n\q""#).unwrap(),
            ["set", "a b", "A\nq"]
        );
        assert_eq!(split(r#"x"y z""#).unwrap(), ["xy z"]);
        assert_eq!(split(r#""""#).unwrap(), [""]);
    }

    #[test]
    fn single_quotes() {
        assert_eq!(split(r#"'it\'s' '\n'"#).unwrap(), ["it's", "\\n"]);
    }

    #[test]
    fn unbalanced() {
        assert!(split(r#"SET "a b"#).is_none());
        assert!(split(r#"RPUSH l "ab"c"#).is_none());
        assert!(split(r#"set """test-key""" test-value"#).is_none());
        assert!(split("'abc").is_none());
    }
}
