//! `COMMAND DOCS` against Debian's redis-server: the argument trees that redis-cli
//! turns into its interactive hints.
//!
//! redis-cli 7 asks `COMMAND DOCS` once at start-up and builds each command's hint
//! from the `arguments` tree (`cliAddArgument` in redis-cli.c). These tests rebuild
//! the hints the same way from both servers' replies and compare them, and compare
//! the whole tree of SET and GET field by field.

mod common;

use std::collections::BTreeMap;

use broker_server::protocol::Reply;
use common::{Differential, Oracle, RawClient, TestServer};

/// The entries of a map reply: a RESP3 map, or a RESP2 flat array of pairs.
fn entries(reply: &Reply) -> Vec<(String, Reply)> {
    match reply {
        Reply::Map(pairs) => pairs.iter().map(|(k, v)| (text(k), v.clone())).collect(),
        Reply::Array(items) => items
            .chunks(2)
            .map(|pair| (text(&pair[0]), pair[1].clone()))
            .collect(),
        other => panic!("not a map: {other:?}"),
    }
}

fn text(reply: &Reply) -> String {
    match reply {
        Reply::Bulk(b) | Reply::Simple(b) => String::from_utf8_lossy(b).into_owned(),
        Reply::Ok => "OK".into(),
        other => panic!("not a string: {other:?}"),
    }
}

fn items(reply: &Reply) -> Vec<Reply> {
    match reply {
        Reply::Array(items) | Reply::Set(items) => items.clone(),
        other => panic!("not an array: {other:?}"),
    }
}

/// The hint text redis-cli derives from one argument.
fn hint_of(arg: &Reply) -> String {
    let fields: BTreeMap<String, Reply> = entries(arg).into_iter().collect();
    let name = fields.get("name").map(text).unwrap_or_default();
    let kind = fields
        .get("type")
        .map(text)
        .expect("every argument has a type");
    let flags: Vec<String> = fields
        .get("flags")
        .map(items)
        .unwrap_or_default()
        .iter()
        .map(text)
        .collect();
    let has = |flag: &str| flags.iter().any(|f| f == flag);
    let members = || fields.get("arguments").map(items).unwrap_or_default();
    let repeated = match kind.as_str() {
        "oneof" => members().iter().map(hint_of).collect::<Vec<_>>().join("|"),
        "block" => members().iter().map(hint_of).collect::<Vec<_>>().join(" "),
        "pure-token" => String::new(),
        _ => name,
    };
    let mut token = fields.get("token").map(text).unwrap_or_default();
    if !token.is_empty() && kind != "pure-token" {
        token.push(' ');
    }
    let mut hint = String::new();
    if has("optional") {
        hint.push('[');
    }
    hint.push_str(&token);
    hint.push_str(&repeated);
    if has("multiple") {
        hint.push_str(" [");
        if has("multiple_token") {
            hint.push_str(&token);
        }
        hint.push_str(&repeated);
        hint.push_str(" ...]");
    }
    if has("optional") {
        hint.push(']');
    }
    hint
}

/// Every command's and subcommand's hint in a `COMMAND DOCS` reply.
fn hints(docs: &Reply) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, spec) in entries(docs) {
        collect_hints(name, &spec, &mut out);
    }
    out
}

fn collect_hints(name: String, spec: &Reply, out: &mut BTreeMap<String, String>) {
    let fields = entries(spec);
    let hint = fields
        .iter()
        .find(|(k, _)| k == "arguments")
        .map(|(_, args)| {
            items(args)
                .iter()
                .map(hint_of)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    out.insert(name, hint);
    if let Some((_, subs)) = fields.iter().find(|(k, _)| k == "subcommands") {
        for (sub, spec) in entries(subs) {
            collect_hints(sub, &spec, out);
        }
    }
}

fn docs(client: &mut RawClient, names: &[String]) -> Reply {
    let mut args: Vec<&[u8]> = vec![b"COMMAND", b"DOCS"];
    args.extend(names.iter().map(|n| n.as_bytes()));
    client.send_command(&args);
    client.read_reply()
}

/// Where broker-server documents more than Redis 7.0 on purpose.
const KNOWN_DIFFERENCES: &[&str] = &[
    // CLIENT KILL MAXAGE arrived in Redis 7.4; broker-server accepts it.
    "client|kill",
];

fn hints_match(resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let Differential {
        mut redis,
        mut ours,
    } = Differential::with_protocol(&oracle, &server, resp3);
    let our_hints = hints(&docs(&mut ours, &[]));
    let names: Vec<String> = our_hints
        .keys()
        .filter(|n| !n.contains('|'))
        .cloned()
        .collect();
    let their_hints = hints(&docs(&mut redis, &names));
    let mut compared = 0;
    for (name, hint) in &our_hints {
        if KNOWN_DIFFERENCES.contains(&name.as_str()) {
            continue;
        }
        if let Some(theirs) = their_hints.get(name) {
            assert_eq!(hint, theirs, "hint for {name}");
            compared += 1;
        }
    }
    assert!(compared > 60, "only {compared} commands compared");
    assert_eq!(
        our_hints["set"],
        "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"
    );
}

#[test]
fn redis_cli_hints_match_redis_resp2() {
    hints_match(false);
}

#[test]
fn redis_cli_hints_match_redis_resp3() {
    hints_match(true);
}

/// Drops the fields broker-server does not carry (prose and version history), at
/// every level of a docs reply, keeping the order of the rest.
fn structure(reply: &Reply) -> Reply {
    const PROSE: &[&str] = &[
        "summary",
        "since",
        "complexity",
        "history",
        "doc_flags",
        "deprecated_since",
        "replaced_by",
    ];
    let keep = |(key, value): (String, Reply)| {
        (!PROSE.contains(&key.as_str())).then(|| (Reply::bulk(key.as_bytes()), structure(&value)))
    };
    match reply {
        Reply::Map(_) => Reply::Map(entries(reply).into_iter().filter_map(keep).collect()),
        Reply::Array(items)
            if items
                .iter()
                .all(|i| matches!(i, Reply::Map(_) | Reply::Array(_))) =>
        {
            Reply::Array(items.iter().map(structure).collect())
        }
        Reply::Array(items)
            if !items.is_empty() && items.len() % 2 == 0 && matches!(items[0], Reply::Bulk(_)) =>
        {
            // A RESP2 map: a flat array whose even elements are field names.
            let flat = entries(reply)
                .into_iter()
                .filter_map(keep)
                .flat_map(|(k, v)| [k, v])
                .collect();
            Reply::Array(flat)
        }
        other => other.clone(),
    }
}

fn shape_matches(resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let Differential {
        mut redis,
        mut ours,
    } = Differential::with_protocol(&oracle, &server, resp3);
    // LCS is left out: Redis gives its two keys one key specification (both have
    // `key_spec_index` 0), while the syntax notation numbers keys in order.
    for name in [
        "set",
        "get",
        "getex",
        "mset",
        "copy",
        "scan",
        "expire",
        "setbit",
        "getbit",
        "bitcount",
        "bitpos",
        "bitop",
        "bitfield",
        "bitfield_ro",
    ] {
        let names = [name.to_string()];
        let expected = structure(&docs(&mut redis, &names));
        let actual = structure(&docs(&mut ours, &names));
        assert_eq!(actual, expected, "COMMAND DOCS {name}");
    }
}

#[test]
fn set_and_get_docs_have_redis_shape_resp2() {
    shape_matches(false);
}

#[test]
fn set_and_get_docs_have_redis_shape_resp3() {
    shape_matches(true);
}
