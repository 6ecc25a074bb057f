//! Differential tests for the administration commands, in RESP2 and RESP3: ACL
//! categories in `COMMAND INFO` and `COMMAND LIST`, MEMORY, WAIT and ACL.
//!
//! broker-server's command set is a subset of Redis 7.0's (plus two CLIENT
//! subcommands from 7.2), so lists of commands are compared on the commands both
//! servers have. MEMORY's figures are broker-server's own by design (see
//! tests/memory.rs); here its texts, errors and reply shapes are compared.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use broker_server::protocol::Reply;
use common::{
    Differential, Oracle, RawClient, TestServer, block_then_unblock, client_id,
    differential_script_tests, in_both_protocols,
};

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

const MEMORY: &str = "
MEMORY HELP
MEMORY
MEMORY NOSUCH
MEMORY HELP extra
MEMORY USAGE
MEMORY STATS extra
MEMORY DOCTOR extra
MEMORY PURGE extra
MEMORY MALLOC-STATS extra
MEMORY PURGE
MEMORY USAGE missing
MEMORY USAGE missing SAMPLES 3
MEMORY USAGE missing SAMPLES 0
MEMORY USAGE missing SAMPLES -1
MEMORY USAGE missing SAMPLES x
MEMORY USAGE missing SAMPLES
MEMORY USAGE missing FOO 1
SET k v
MEMORY USAGE k SAMPLES -1
MEMORY USAGE k SAMPLES 99999999999999999999
MEMORY USAGE k samples 1 FOO
MULTI
MEMORY USAGE missing
MEMORY USAGE k SAMPLES
EXEC
";

differential_script_tests! {
    memory_texts_and_errors_resp2, memory_texts_and_errors_resp3 => MEMORY;
}

/// The field names of a map reply (a RESP3 map or a RESP2 flat array).
fn field_names(reply: &Reply) -> Vec<String> {
    match reply {
        Reply::Map(pairs) => pairs.iter().map(|(k, _)| text(k)).collect(),
        Reply::Array(items) => items.iter().step_by(2).map(text).collect(),
        other => panic!("not a map: {other:?}"),
    }
}

#[test]
fn memory_stats_uses_redis_names_in_redis_order() {
    in_both_protocols(|pair| {
        pair.both(&[b"SET", b"k", b"v"]);
        let (theirs, ours) = pair.both(&[b"MEMORY", b"STATS"]);
        let (theirs, ours) = (field_names(&theirs), field_names(&ours));
        // Every field we report is one of Redis's, and they come in its order.
        let positions: Vec<usize> = ours
            .iter()
            .map(|name| {
                theirs
                    .iter()
                    .position(|n| n == name)
                    .unwrap_or_else(|| panic!("{name} is not a field of Redis's MEMORY STATS"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{ours:?}");
        for name in [
            "peak.allocated",
            "total.allocated",
            "db.0",
            "keys.count",
            "fragmentation",
        ] {
            assert!(
                ours.iter().any(|n| n == name),
                "{name} missing from {ours:?}"
            );
        }
    });
}

#[test]
fn memory_reports_are_text_like_redis() {
    in_both_protocols(|pair| {
        for sub in [&b"DOCTOR"[..], b"MALLOC-STATS"] {
            let (theirs, ours) = pair.both(&[b"MEMORY", sub]);
            let kind = |reply: &Reply| match reply {
                Reply::Verbatim(format, _) => format!("verbatim {format:?}"),
                Reply::Bulk(_) => "bulk".to_string(),
                other => panic!("{other:?}"),
            };
            assert_eq!(kind(&ours), kind(&theirs));
        }
        let (_, ours) = pair.both(&[b"MEMORY", b"MALLOC-STATS"]);
        let (Reply::Verbatim(_, report) | Reply::Bulk(report)) = ours else {
            panic!("{ours:?}")
        };
        assert!(report.starts_with(b"___ Begin jemalloc statistics ___"));
    });
}

// Without replicas, WAIT answers 0: at once for 0 replicas or inside MULTI, after
// its timeout otherwise (tests/blocking.rs times it).
const WAIT: &str = "
WAIT 0 0
WAIT -1 0
WAIT 0 100
WAIT x 0
WAIT 99999999999999999999 0
WAIT 1 x
WAIT 1 1.5
WAIT 1 0.0
WAIT 1 -1
WAIT 0 -1
WAIT x -1
WAIT 1 99999999999999999999
WAIT 1
WAIT 1 2 3
WAIT
MULTI
WAIT 1 0
WAIT 5 100000
WAIT x 0
WAIT 1 x
EXEC
MULTI
WAIT 1
EXEC
";

differential_script_tests! {
    wait_resp2, wait_resp3 => WAIT;
}

#[test]
fn wait_is_not_allowed_in_scripts() {
    in_both_protocols(|pair| {
        pair.check(&[b"EVAL", b"return redis.call('wait', 0, 0)", b"0"]);
    });
}

#[test]
fn a_wait_ended_by_client_unblock_answers_as_redis() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    for resp3 in [false, true] {
        let mut waiters = Differential::with_protocol(&oracle, &server, resp3);
        let mut observers = Differential::new(&oracle, &server);
        let redis_id = client_id(&mut waiters.redis);
        let our_id = client_id(&mut waiters.ours);
        for mode in [None, Some("TIMEOUT"), Some("ERROR")] {
            let wait: &[&[u8]] = &[b"WAIT", b"1", b"0"];
            let theirs = block_then_unblock(
                &mut observers.redis,
                &mut waiters.redis,
                &redis_id,
                wait,
                mode,
            );
            let ours =
                block_then_unblock(&mut observers.ours, &mut waiters.ours, &our_id, wait, mode);
            assert_eq!(ours, theirs, "CLIENT UNBLOCK {mode:?}");
        }
    }
}

const ACL: &str = "
ACL HELP
ACL
ACL NOSUCH
ACL HELP extra
ACL WHOAMI
ACL WHOAMI extra
ACL USERS
ACL USERS extra
ACL LIST
ACL LIST extra
ACL GETUSER default
ACL GETUSER nobody
ACL GETUSER Default
ACL GETUSER
ACL GETUSER default extra
ACL CAT
ACL CAT nosuch
ACL CAT a b
ACL GENPASS 0
ACL GENPASS -5
ACL GENPASS 4097
ACL GENPASS x
ACL GENPASS 1 2
ACL DRYRUN default get x
ACL DRYRUN default GET x
ACL DRYRUN default get
ACL DRYRUN default get a b
ACL DRYRUN default nosuch
ACL DRYRUN default client
ACL DRYRUN default client nosuch
ACL DRYRUN default client kill
ACL DRYRUN default client id
ACL DRYRUN default config get maxmemory
ACL DRYRUN nobody get x
ACL DRYRUN default
ACL SETUSER
ACL DELUSER
ACL LOAD extra
ACL SAVE extra
MULTI
ACL WHOAMI
ACL LIST
EXEC
";

differential_script_tests! {
    acl_resp2, acl_resp3 => ACL;
}

#[test]
fn acl_cat_lists_redis_categories_and_their_commands() {
    in_both_protocols(|pair| {
        let categories = names(&pair.both(&[b"ACL", b"CAT"]).0);
        let ours_all = names(&call(&mut pair.ours, &["COMMAND", "LIST"]));
        let theirs_all = names(&call(&mut pair.redis, &["COMMAND", "LIST"]));
        for category in &categories {
            let request = ["ACL", "CAT", category.as_str()];
            let ours: BTreeSet<String> = names(&call(&mut pair.ours, &request))
                .intersection(&theirs_all)
                .cloned()
                .collect();
            let theirs: BTreeSet<String> = names(&call(&mut pair.redis, &request))
                .intersection(&ours_all)
                .cloned()
                .collect();
            assert_eq!(ours, theirs, "ACL CAT {category}");
        }
        // A category with no command here lists nothing, and names any case.
        assert_eq!(
            call(&mut pair.ours, &["ACL", "CAT", "stream"]),
            Reply::Array(vec![])
        );
        let upper = call(&mut pair.ours, &["ACL", "CAT", "CONNECTION"]);
        assert_eq!(upper, call(&mut pair.ours, &["ACL", "CAT", "connection"]));
    });
}

#[test]
fn acl_genpass_gives_hex_of_the_bits_asked() {
    in_both_protocols(|pair| {
        for bits in [None, Some("1"), Some("5"), Some("255"), Some("4096")] {
            let mut request = vec![&b"ACL"[..], b"GENPASS"];
            request.extend(bits.map(str::as_bytes));
            let (theirs, ours) = pair.both(&request);
            let (theirs, ours) = (text(&theirs), text(&ours));
            assert_eq!(ours.len(), theirs.len(), "ACL GENPASS {bits:?}");
            assert!(
                ours.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
    });
}

#[test]
fn acl_with_requirepass_shows_the_password_hash() {
    let oracle = Oracle::start(&["--requirepass", "s3cret"]);
    let server = TestServer::with_config(|config| config.requirepass = Some("s3cret".into()));
    for resp3 in [false, true] {
        let mut pair = Differential::new(&oracle, &server);
        pair.check(&[b"ACL", b"WHOAMI"]);
        pair.check(&[b"ACL", b"LIST"]);
        pair.check(&[b"AUTH", b"default", b"wrong"]);
        pair.check(&[b"AUTH", b"nobody", b"s3cret"]);
        if resp3 {
            pair.both(&[b"HELLO", b"3", b"AUTH", b"default", b"s3cret"]);
        } else {
            pair.check(&[b"AUTH", b"default", b"s3cret"]);
        }
        let list = pair.check(&[b"ACL", b"LIST"]);
        let hash = b"1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0";
        assert!(list.windows(hash.len()).any(|w| w == hash));
        pair.check(&[b"ACL", b"GETUSER", b"default"]);
        pair.check(&[b"ACL", b"WHOAMI"]);
        pair.check(&[b"ACL", b"USERS"]);
        pair.check(&[b"ACL", b"DRYRUN", b"default", b"get", b"k"]);
    }
}

#[test]
fn acl_user_management_is_refused_with_the_reason() {
    let server = TestServer::start();
    let mut client = server.raw();
    for request in [
        &["ACL", "SETUSER", "alice", "on"][..],
        &["ACL", "DELUSER", "alice"],
        &["ACL", "LOAD"],
        &["ACL", "SAVE"],
        &["ACL", "LOG"],
        &["ACL", "LOG", "RESET"],
    ] {
        let Reply::Error(text) = client.call(request) else {
            panic!("{request:?} was not refused")
        };
        let sub = request[1].to_string();
        let expected = format!("ERR ACL {sub} is not supported: broker-server ");
        assert!(
            text.starts_with(expected.as_bytes()),
            "{request:?}: {text:?}"
        );
    }
    assert_eq!(
        client.call(&["ACL", "USERS"]),
        Reply::Array(vec![bulk(b"default")])
    );
}

fn bulk(bytes: &[u8]) -> Reply {
    Reply::bulk(bytes)
}
