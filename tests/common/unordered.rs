//! Differential checks for replies whose order Redis leaves undefined (sets and
//! large hashes live in hash tables there): the same kind of reply, the same
//! elements.

use broker_server::protocol::Reply;

use super::Differential;

/// Sorts the elements of an aggregate reply, and of the aggregates inside it
/// (such as the page of a SCAN reply), keeping each one's kind (array, set or map),
/// so that two replies with the same elements in any order compare equal.
pub fn normalized(reply: Reply) -> Reply {
    let key = |item: &Reply| format!("{item:?}");
    let sorted = |items: Vec<Reply>| {
        let mut items: Vec<Reply> = items.into_iter().map(normalized).collect();
        items.sort_by_key(key);
        items
    };
    match reply {
        Reply::Array(items) => Reply::Array(sorted(items)),
        Reply::Set(items) => Reply::Set(sorted(items)),
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
}
