//! Keyspace notifications (`notify-keyspace-events`): which classes are on, and the
//! two messages each event becomes.
//!
//! An event is published, when its class is enabled, as
//! `__keyspace@<db>__:<key>` carrying the event name (flag `K`) and as
//! `__keyevent@<db>__:<event>` carrying the key (flag `E`); with neither flag nothing
//! is sent. Classes are Redis's letters: `g` generic, `$` string, `l` list, `s` set,
//! `h` hash, `z` sorted set, `x` expired, `e` evicted, `t` stream, `m` key miss,
//! `d` module, `n` new key, and `A` for `g$lshzxetd`.
//!
//! # Adding events to a command family
//! Call [`crate::commands::Ctx::notify`] once per change, after making it, with the
//! class and Redis's event name, exactly where Redis calls `notifyKeyspaceEvent`:
//! `ctx.notify(class::LIST, "lpush", key)`, `ctx.notify(class::HASH, "hset", key)`,
//! `ctx.notify(class::GENERIC, "del", key)` when a collection becomes empty and is
//! removed, and so on. For elements taken from a collection,
//! [`crate::commands::Ctx::notify_removal`] sends the event and then that `del` when
//! the collection emptied. The store reports the events it causes itself (`expired`
//! on lazy and active expiry, `new` when a key is created, `keymiss` on a read miss),
//! so handlers never send those. Work done outside a handler, serving a blocked
//! client, records its events with [`crate::store::DbView::report`], and they are
//! published as soon as the serve is done. A disabled class costs one atomic load.

use bytes::Bytes;

use crate::pubsub::Kind;
use crate::server::Server;

/// Notification classes, as Redis numbers them.
pub mod class {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: DEL, EXPIRE, RENAME, ... (type-independent commands).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`
    pub const STRING: u32 = 1 << 3;
    /// `l`
    pub const LIST: u32 = 1 << 4;
    /// `s`
    pub const SET: u32 = 1 << 5;
    /// `h`
    pub const HASH: u32 = 1 << 6;
    /// `z`
    pub const ZSET: u32 = 1 << 7;
    /// `x`: a key expired (lazily or by the background sweep).
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: a key was evicted (broker-server never evicts).
    pub const EVICTED: u32 = 1 << 9;
    /// `t`
    pub const STREAM: u32 = 1 << 10;
    /// `m`: a read found no key. Not part of `A`.
    pub const KEY_MISS: u32 = 1 << 11;
    /// `d`: module events (none here).
    pub const MODULE: u32 = 1 << 13;
    /// `n`: a key was created. Not part of `A`.
    pub const NEW: u32 = 1 << 14;
    /// `A`
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Letters for the classes other than `A`, `K`, `E` and `m`, in the order Redis
/// prints them.
const LETTERS: [(char, u32); 11] = [
    ('g', class::GENERIC),
    ('$', class::STRING),
    ('l', class::LIST),
    ('s', class::SET),
    ('h', class::HASH),
    ('z', class::ZSET),
    ('x', class::EXPIRED),
    ('e', class::EVICTED),
    ('t', class::STREAM),
    ('d', class::MODULE),
    ('n', class::NEW),
];

/// Parses a `notify-keyspace-events` value; `None` if a letter is unknown.
pub fn parse_flags(text: &str) -> Option<u32> {
    text.chars().try_fold(0, |flags, letter| {
        let bit = match letter {
            'A' => class::ALL,
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            'm' => class::KEY_MISS,
            _ => LETTERS.iter().find(|(l, _)| *l == letter)?.1,
        };
        Some(flags | bit)
    })
}

/// The canonical text of a set of classes, as `CONFIG GET` shows it. Like Redis 7.0,
/// `A` stands for every class it covers and hides `n` when present.
pub fn flags_to_string(flags: u32) -> String {
    let mut text = String::new();
    if flags & class::ALL == class::ALL {
        text.push('A');
    } else {
        text.extend(
            LETTERS
                .iter()
                .filter(|(_, bit)| flags & bit != 0)
                .map(|(letter, _)| letter),
        );
    }
    for (letter, bit) in [
        ('K', class::KEYSPACE),
        ('E', class::KEYEVENT),
        ('m', class::KEY_MISS),
    ] {
        if flags & bit != 0 {
            text.push(letter);
        }
    }
    text
}

/// The classes worth generating at all: none unless `K` or `E` says where to publish.
pub fn effective(flags: u32) -> u32 {
    if flags & (class::KEYSPACE | class::KEYEVENT) == 0 {
        0
    } else {
        flags
    }
}

/// One event on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    pub class: u32,
    /// Redis's event name: `set`, `del`, `expired`, `rename_from`, ...
    pub event: &'static str,
    pub db: usize,
    pub key: Box<[u8]>,
}

/// Publishes `event` on the channels the enabled classes ask for.
pub fn publish(server: &Server, event: &KeyEvent) {
    let flags = server.notify_flags();
    if flags & event.class == 0 {
        return;
    }
    if flags & class::KEYSPACE != 0 {
        let channel = channel("__keyspace@", event.db, &event.key);
        server.publish(Kind::Channel, &channel, event.event.as_bytes());
    }
    if flags & class::KEYEVENT != 0 {
        let channel = channel("__keyevent@", event.db, event.event.as_bytes());
        server.publish(Kind::Channel, &channel, &event.key);
    }
}

/// `<prefix><db>__:<suffix>`.
fn channel(prefix: &str, db: usize, suffix: &[u8]) -> Bytes {
    let mut name = Vec::with_capacity(prefix.len() + 8 + suffix.len());
    name.extend_from_slice(prefix.as_bytes());
    name.extend_from_slice(itoa::Buffer::new().format(db).as_bytes());
    name.extend_from_slice(b"__:");
    name.extend_from_slice(suffix);
    Bytes::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_like_redis() {
        // Every pair checked against redis-server 7.0.15's CONFIG GET.
        let cases = [
            ("KEA", "AKE"),
            ("KEnmg$", "g$nKEm"),
            ("Kx", "xK"),
            ("AKEnm", "AKEm"),
            ("g$lshzxet", "g$lshzxet"),
            ("g$lshzxetd", "A"),
            ("Ad", "A"),
            ("", ""),
        ];
        for (input, shown) in cases {
            let flags = parse_flags(input).expect(input);
            assert_eq!(flags_to_string(flags), shown, "{input}");
        }
        assert_eq!(parse_flags("Q"), None);
        assert_eq!(parse_flags("K\"\""), None);
    }

    #[test]
    fn nothing_is_generated_without_k_or_e() {
        assert_eq!(effective(class::ALL), 0);
        assert_eq!(
            effective(class::ALL | class::KEYEVENT),
            class::ALL | class::KEYEVENT
        );
    }

    #[test]
    fn channel_names() {
        assert_eq!(&channel("__keyspace@", 3, b"k")[..], b"__keyspace@3__:k");
        assert_eq!(
            &channel("__keyevent@", 0, b"set")[..],
            b"__keyevent@0__:set"
        );
    }
}
