//! Differential checks for replies whose order Redis leaves undefined (sets and
//! large hashes live in hash tables there): the same kind of reply, the same
//! elements.

use broker_server::protocol::Reply;

use super::Differential;

/// Sorts the elements of an aggregate reply, keeping its kind (array, set or map),
/// so that two replies with the same elements in any order compare equal.
pub fn normalized(reply: Reply) -> Reply {
    let key = |item: &Reply| format!("{item:?}");
    match reply {
        Reply::Array(mut items) => {
            items.sort_by_key(key);
            Reply::Array(items)
        }
        Reply::Set(mut items) => {
            items.sort_by_key(key);
            Reply::Set(items)
        }
        Reply::Map(mut pairs) => {
            pairs.sort_by_key(|(k, _)| key(k));
            Reply::Map(pairs)
        }
        other => other,
    }
}

impl Differential {
    /// Sends one command to both servers and asserts the replies match once their
    /// elements are sorted.
    pub fn check_unordered(&mut self, args: &[&[u8]]) {
        let (expected, actual) = self.both(args);
        assert_eq!(
            normalized(actual),
            normalized(expected),
            "reply differs from redis-server (order aside) for {:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
    }

    /// Like [`Differential::script`], but a line starting with `~` is compared
    /// with [`check_unordered`](Self::check_unordered).
    pub fn script_mixed(&mut self, text: &str) {
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (unordered, line) = match line.strip_prefix('~') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
            if unordered {
                self.check_unordered(&words);
            } else {
                self.check(&words);
            }
        }
    }
}
