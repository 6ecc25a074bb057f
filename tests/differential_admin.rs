//! Differential tests for the administration commands: ACL categories in `COMMAND
//! INFO` and `COMMAND LIST`, in RESP2 and RESP3.
//!
//! broker-server's command set is a subset of Redis 7.0's (plus two CLIENT
//! subcommands from 7.2), so lists of commands are compared on the commands both
//! servers have.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use broker_server::protocol::Reply;
use common::{Differential, RawClient, in_both_protocols};

fn text(reply: &Reply) -> String {
    match reply {
        Reply::Bulk(b) | Reply::Simple(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a string: {other:?}"),
    }
}

fn items(reply: &Reply) -> &[Reply] {
    match reply {
        Reply::Array(items) | Reply::Set(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

fn names(reply: &Reply) -> BTreeSet<String> {
    items(reply).iter().map(text).collect()
}

fn call(client: &mut RawClient, words: &[&str]) -> Reply {
    client.call(words)
}

/// Every command and subcommand in a `COMMAND INFO` reply, with its ACL categories.
fn categories(reply: &Reply) -> BTreeMap<String, BTreeSet<String>> {
    fn walk(entry: &Reply, out: &mut BTreeMap<String, BTreeSet<String>>) {
        if matches!(entry, Reply::Null) {
            return;
        }
        let fields = items(entry);
        out.insert(text(&fields[0]), names(&fields[6]));
        for sub in items(&fields[9]) {
            walk(sub, out);
        }
    }
    let mut out = BTreeMap::new();
    for entry in items(reply) {
        walk(entry, &mut out);
    }
    out
}

/// The categories of every command we have, from both servers.
fn both_categories(
    pair: &mut Differential,
) -> (
    BTreeMap<String, BTreeSet<String>>,
    BTreeMap<String, BTreeSet<String>>,
) {
    let ours = categories(&call(&mut pair.ours, &["COMMAND", "INFO"]));
    let mut request = vec!["COMMAND", "INFO"];
    request.extend(ours.keys().filter(|n| !n.contains('|')).map(String::as_str));
    let theirs = categories(&call(&mut pair.redis, &request));
    (ours, theirs)
}

#[test]
fn command_info_lists_redis_acl_categories() {
    in_both_protocols(|pair| {
        let (ours, theirs) = both_categories(pair);
        let mut compared = 0;
        for (name, ours) in &ours {
            if let Some(theirs) = theirs.get(name) {
                assert_eq!(ours, theirs, "ACL categories of {name}");
                compared += 1;
            }
        }
        assert!(compared > 200, "only {compared} commands compared");
        assert!(ours["flushall"].contains("@dangerous"));
    });
}

#[test]
fn command_list_filters_by_acl_category_and_lists_subcommands() {
    in_both_protocols(|pair| {
        let ours_all = names(&call(&mut pair.ours, &["COMMAND", "LIST"]));
        let theirs_all = names(&call(&mut pair.redis, &["COMMAND", "LIST"]));
        assert!(ours_all.contains("client|kill"));
        // Ours are Redis's, but for the two CLIENT subcommands of Redis 7.2.
        let extra: Vec<_> = ours_all.difference(&theirs_all).collect();
        assert_eq!(extra, ["client|no-touch", "client|setinfo"]);
        let all_categories = call(&mut pair.redis, &["ACL", "CAT"]);
        assert_eq!(items(&all_categories).len(), 21);
        for category in names(&all_categories) {
            let upper = category.to_uppercase();
            let filter = ["COMMAND", "LIST", "FILTERBY", "ACLCAT", upper.as_str()];
            let ours = names(&call(&mut pair.ours, &filter));
            let theirs: BTreeSet<String> = names(&call(&mut pair.redis, &filter))
                .intersection(&ours_all)
                .cloned()
                .collect();
            let ours: BTreeSet<String> = ours.intersection(&theirs_all).cloned().collect();
            assert_eq!(ours, theirs, "COMMAND LIST FILTERBY ACLCAT {category}");
        }
        pair.check(&[b"COMMAND", b"LIST", b"FILTERBY", b"ACLCAT", b"nosuch"]);
        pair.check(&[b"COMMAND", b"LIST", b"FILTERBY", b"MODULE", b"json"]);
        let pattern = [
            &b"COMMAND"[..],
            b"LIST",
            b"FILTERBY",
            b"PATTERN",
            b"OBJECT|*",
        ];
        let (theirs, ours) = pair.both(&pattern);
        assert_eq!(names(&ours), names(&theirs));
    });
}
