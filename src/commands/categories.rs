//! ACL categories: Redis 7.0's 21 category names, and the set each command belongs to,
//! derived from the command table the way Redis derives it from its own.
//!
//! Redis gives a command the categories its declaration lists (`@string` for the
//! string family, `@keyspace` and `@dangerous` for `FLUSHALL`, ...) plus those its
//! flags imply: `write` → `@write`, `readonly` → `@read` (not for scripting
//! commands), `admin` → `@admin` and `@dangerous`, `pubsub` → `@pubsub`, `fast` →
//! `@fast`, `blocking` → `@blocking`, and `@slow` for whatever is not `@fast`.
//! Here the listed categories default to the one named by the command's group
//! ([`group_category`]), and a declaration overrides them with
//! [`CommandSpec::acl`] where Redis lists something else (`DBSIZE` is `@keyspace`
//! although documented in the server group). Container commands (`CLIENT`,
//! `OBJECT`...) list none unless declared (`COMMAND` is `@connection`), as in Redis.
//!
//! `COMMAND INFO`, `COMMAND LIST FILTERBY ACLCAT` and `ACL CAT` read them; with a
//! single user allowed everything (`+@all`) they grant or deny nothing.

use crate::commands::{CommandSpec, flags};

pub const KEYSPACE: u32 = 1 << 0;
pub const READ: u32 = 1 << 1;
pub const WRITE: u32 = 1 << 2;
pub const SET: u32 = 1 << 3;
pub const SORTEDSET: u32 = 1 << 4;
pub const LIST: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const STRING: u32 = 1 << 7;
pub const BITMAP: u32 = 1 << 8;
pub const HYPERLOGLOG: u32 = 1 << 9;
pub const GEO: u32 = 1 << 10;
pub const STREAM: u32 = 1 << 11;
pub const PUBSUB: u32 = 1 << 12;
pub const ADMIN: u32 = 1 << 13;
pub const FAST: u32 = 1 << 14;
pub const SLOW: u32 = 1 << 15;
pub const BLOCKING: u32 = 1 << 16;
pub const DANGEROUS: u32 = 1 << 17;
pub const CONNECTION: u32 = 1 << 18;
pub const TRANSACTION: u32 = 1 << 19;
pub const SCRIPTING: u32 = 1 << 20;

/// Every category with its name, in the order Redis lists them (`ACL CAT`, and the
/// categories of `COMMAND INFO`).
pub const NAMES: [(u32, &str); 21] = [
    (KEYSPACE, "keyspace"),
    (READ, "read"),
    (WRITE, "write"),
    (SET, "set"),
    (SORTEDSET, "sortedset"),
    (LIST, "list"),
    (HASH, "hash"),
    (STRING, "string"),
    (BITMAP, "bitmap"),
    (HYPERLOGLOG, "hyperloglog"),
    (GEO, "geo"),
    (STREAM, "stream"),
    (PUBSUB, "pubsub"),
    (ADMIN, "admin"),
    (FAST, "fast"),
    (SLOW, "slow"),
    (BLOCKING, "blocking"),
    (DANGEROUS, "dangerous"),
    (CONNECTION, "connection"),
    (TRANSACTION, "transaction"),
    (SCRIPTING, "scripting"),
];

/// The category named `name`, case-insensitively.
pub fn by_name(name: &[u8]) -> Option<u32> {
    NAMES
        .iter()
        .find(|(_, known)| known.as_bytes().eq_ignore_ascii_case(name))
        .map(|(bit, _)| *bit)
}

/// The category a command documented in `group` is listed under unless its
/// declaration says otherwise: the data type for the type families, and the
/// family itself for connection, pub/sub, transaction and scripting commands.
/// The server group has none.
pub fn group_category(group: &str) -> u32 {
    match group {
        "generic" => KEYSPACE,
        "string" => STRING,
        "list" => LIST,
        "hash" => HASH,
        "set" => SET,
        "sorted-set" => SORTEDSET,
        "bitmap" => BITMAP,
        "hyperloglog" => HYPERLOGLOG,
        "geo" => GEO,
        "stream" => STREAM,
        "pubsub" => PUBSUB,
        "connection" => CONNECTION,
        "transactions" => TRANSACTION,
        "scripting" => SCRIPTING,
        _ => 0,
    }
}

/// The categories of a command or subcommand.
pub fn of(spec: &CommandSpec) -> u32 {
    let container = !spec.subcommands.is_empty();
    let listed = spec.acl.unwrap_or_else(|| {
        if container {
            0
        } else {
            group_category(spec.group)
        }
    });
    let mut categories = listed;
    if spec.has(flags::WRITE) {
        categories |= WRITE;
    }
    if spec.has(flags::READONLY) && listed & SCRIPTING == 0 {
        categories |= READ;
    }
    if spec.has(flags::ADMIN) {
        categories |= ADMIN | DANGEROUS;
    }
    if spec.has(flags::PUBSUB) {
        categories |= PUBSUB;
    }
    if spec.has(flags::FAST) {
        categories |= FAST;
    }
    if spec.has(flags::BLOCKING) {
        categories |= BLOCKING;
    }
    if categories & FAST == 0 {
        categories |= SLOW;
    }
    categories
}

/// The names of the categories in `set`, in Redis's order.
pub fn names(set: u32) -> impl Iterator<Item = &'static str> {
    NAMES
        .iter()
        .filter(move |(bit, _)| set & bit != 0)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::table::CommandTable;

    fn categories_of(full_name: &str) -> Vec<&'static str> {
        let (_, spec) = CommandTable::get()
            .all
            .iter()
            .find(|(name, _)| name == full_name)
            .unwrap_or_else(|| panic!("no command {full_name}"));
        names(of(spec)).collect()
    }

    #[test]
    fn flags_and_groups_give_redis_categories() {
        assert_eq!(categories_of("get"), ["read", "string", "fast"]);
        assert_eq!(
            categories_of("brpop"),
            ["write", "list", "slow", "blocking"]
        );
        assert_eq!(
            categories_of("client|kill"),
            ["admin", "slow", "dangerous", "connection"]
        );
        // Read-only scripting commands are not @read.
        assert_eq!(categories_of("eval_ro"), ["slow", "scripting"]);
        // Containers have what their flags imply, nothing from their group.
        assert_eq!(categories_of("client"), ["slow"]);
        // Declared where Redis lists another category than the group's.
        assert_eq!(
            categories_of("flushall"),
            ["keyspace", "write", "slow", "dangerous"]
        );
        assert_eq!(categories_of("command|info"), ["slow", "connection"]);
    }

    #[test]
    fn names_are_found_in_any_case() {
        assert_eq!(by_name(b"SortedSet"), Some(SORTEDSET));
        assert_eq!(by_name(b"all"), None);
        assert_eq!(
            NAMES.iter().fold(0, |all, (bit, _)| all | bit),
            (1 << 21) - 1
        );
    }
}
