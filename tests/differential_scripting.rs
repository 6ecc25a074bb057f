//! Differential tests for Lua scripting: the same `EVAL`, `EVALSHA` and `SCRIPT`
//! requests sent to Debian's redis-server 7.0.15 and to broker-server must get
//! byte-identical replies, in RESP2 and in RESP3. The script list covers the
//! conversions both ways (replies to Lua values, Lua values to replies), every error
//! path of `redis.call`, the sandbox (missing libraries, read-only globals), the
//! `redis.*` API, `bit` and `cjson`, and the three scripts Celery runs.

mod common;

use std::time::{Duration, Instant};

use broker_server::commands::table::CommandTable;
use common::celery_scripts::{LOCK_RELEASE, REFRESH_BINDING, SWEEP_BINDINGS};
use common::{Differential, Oracle, RawClient, TestServer, encode_command};

/// Whether broker-server knows every command in `names` (other families arrive on
/// other branches; checks that need them run once they exist).
fn known(names: &[&str]) -> bool {
    names
        .iter()
        .all(|name| CommandTable::get().lookup(name.as_bytes()).is_some())
}

/// Data every script starts from; a line is used only if broker-server knows its
/// command, and then on both servers.
const SETUP: &[&[&str]] = &[
    &["set", "s", "foo"],
    &["set", "n", "10"],
    &["hset", "h", "a", "1"],
    &["zadd", "z", "1.5", "m", "2", "m2"],
    &["rpush", "l", "x", "y"],
    &["sadd", "st", "only"],
];

/// Scripts that need only the command families on this branch.
const SCRIPTS: &[&str] = &[
    "return redis.call('get', 's')",
    "return redis.call('get', 'missing')",
    "return {type(redis.call('get','missing')), tostring(redis.call('get','missing'))}",
    "return redis.call('incr', 'n')",
    "return redis.call('incr', 's')",
    "return redis.pcall('incr', 's')",
    "return redis.pcall('incr', 's')['err']",
    "local ok, e = pcall(redis.call, 'incr', 's'); return {tostring(ok), e}",
    "local t = redis.pcall('incr','s'); local r = {} for k,v in pairs(t) do table.insert(r, k..'='..tostring(v)) end table.sort(r) return r",
    "return redis.call('nosuch')",
    "return redis.pcall('nosuch', 'a')",
    "return redis.call()",
    "return redis.pcall()",
    "return redis.call('GET')",
    "return redis.call('get', 'a', 'b')",
    "return redis.call('ping', 'a', 'b')",
    "return redis.call('set', 'k', 'v', 'xx', 'nx')",
    "return redis.call('eval')",
    "return redis.call('client')",
    "return redis.call('client', 'nosuch')",
    "return redis.call('client', 'id')",
    "return redis.call('config', 'get')",
    "return redis.call('object', 'nosuch')",
    "return redis.call('object', 'help', 'x')",
    "return redis.call('script', 'load', 'x')",
    "return redis.call('set', 'a', {})",
    "return redis.call('set', 'a', nil)",
    "return redis.call('set', 'a', true)",
    "redis.call('set', 'x', 0.1) return redis.call('get', 'x')",
    "redis.call('set', 'x', 1795475386548 * 1000) return redis.call('get', 'x')",
    "redis.call('set', 'x', 2^53) return redis.call('get', 'x')",
    "redis.call('set', 'x', 1e20) return redis.call('get', 'x')",
    "redis.call('set', 'x', 0/0) return redis.call('get', 'x')",
    "redis.call('set', 'x', -1/0) return redis.call('get', 'x')",
    "redis.setresp(3) return redis.call('get', 'missing') == nil",
    "redis.setresp(3) return redis.call('get', 'missing')",
    "return redis.call('ping')",
    "return redis.call('ping')['ok']",
    "return redis.call('set', 'q', 'r')",
    "return 3.7",
    "return -3.7",
    "return 1e20",
    "return 0/0",
    "return {1, 2, nil, 4}",
    "return {1, {2, {3, 'x'}}, true, false}",
    "return {ok='x', err='y'}",
    "return {err=5}",
    "return {1, {err='e'}, {ok='s'}}",
    "return {ok='a\\r\\nb'}",
    "return {err='My Error\\nline2'}",
    "return {double=3.5}",
    "return {map={a=1}}",
    "return {set={a=true}}",
    "return {big_number='123'}",
    "return {verbatim_string={format='txt', string='hi'}}",
    "redis.setresp(3) return false",
    "redis.setresp(3) return true",
    "return redis.error_reply('My Error')",
    "return redis.error_reply('-My Error')",
    "return redis.error_reply('')",
    "return redis.error_reply(1)",
    "return redis.error_reply('x y')['err']",
    "return redis.status_reply('FOO')",
    "return redis.status_reply()",
    "\n\nerror('x')",
    "local t = {}\nt.x.y = 1",
    "error('x', 0)",
    "error(42)",
    "error(nil)",
    "error(true)",
    "error({err='boom'})",
    "error({err='ERR boom'})",
    "error({err=5})",
    "local function f()\n  return redis.call('incr','s')\nend\nreturn f()",
    "x = 1",
    "rawset(_G, 'x', 1)",
    "setmetatable(_G, nil)",
    "string.x = 1",
    "redis.call = nil",
    "KEYS = 1",
    "KEYS[1] = 'z' return KEYS[1]",
    "table.insert(string, 1)",
    "return y",
    "return print",
    "return os",
    "return getfenv",
    "return loadstring('return 1+1')()",
    "return loadstring('x = 1')()",
    "return loadstring('return zz')()",
    "local f, e = loadstring('bad code here') return e",
    "local ok, e = loadstring(string.char(27)..'LuaQ') return {tostring(ok), e}",
    "return {pcall()}",
    "return {pcall(error)}",
    "return {load(function() return {} end)}",
    "return _VERSION",
    "local r = {} for k,v in pairs(redis) do r[#r+1] = k end table.sort(r) return r",
    // Every global but the two libraries broker-server lacks (struct, cmsgpack).
    "local r = {} for k,v in pairs(_G) do if k ~= 'struct' and k ~= 'cmsgpack' then r[#r+1] = k end end table.sort(r) return r",
    "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL, redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING, redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}",
    "redis.setresp(4)",
    "redis.setresp()",
    "return redis.setresp(3)",
    "redis.log(redis.LOG_WARNING)",
    "redis.log('x', 'y')",
    "redis.log(99, 'y')",
    "return redis.log(redis.LOG_DEBUG, 'hello')",
    "return redis.sha1hex()",
    "return redis.sha1hex('')",
    "return redis.sha1hex(12)",
    "return redis.set_repl()",
    "return redis.set_repl(99)",
    "return redis.set_repl(redis.REPL_ALL)",
    "return redis.replicate_commands()",
    "return redis.breakpoint()",
    "return redis.debug('x')",
    "return redis.acl_check_cmd('get', 'x')",
    "return math.random(1, 2, 3)",
    "return math.random(0)",
    "return math.random('x')",
    "return {bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(3, 1), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.rol(1, 33), bit.tobit(2^32 + 5), bit.bswap(0x12345678)}",
    "return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 2)}",
    "return bit.band('x')",
    "return cjson.encode({1, 2, 'x/y', true, {a=0.5}})",
    "return cjson.encode({})",
    "return cjson.encode({a={b={c=1}}})",
    "return cjson.encode(cjson.null)",
    "return cjson.encode('\\1\\t\\b')",
    "return cjson.encode(function() end)",
    "return cjson.encode({[1]=1, [20]=2})",
    "return cjson.encode(0/0)",
    "local t = cjson.decode('{\"a\":[1,2,{\"b\":null}],\"c\":\"\\\\u00e9\"}') return {t.a[2], t.a[3].b == cjson.null, t.c}",
    "return cjson.decode('[1,')",
    "return cjson.decode('')",
    "return cjson.decode('[1] x')",
    "return cjson.decode('{1:2}')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('\"abc')",
    "return cjson.decode()",
    "return cjson.encode()",
    "return cjson.encode(1, 2)",
    "return cjson.decode({})",
    "return cjson.decode('[1]', 2)",
    "return cjson.decode(12)",
    "#!lua flags=no-writes\nreturn 1",
    "#!lua\nreturn error('x')",
    "#!lua",
    "#!py\nreturn 1",
    "#!lua flags=bad\nreturn 1",
    "#!lua x=1\nreturn 1",
    "return 1 +",
    "return {err='a\\0b'}",
    "return {ok='a\\0b'}",
    "redis.call('set', 'bin', 'v\\0x') return redis.call('get', 'bin')",
    "return 2^53 + 1",
    "return -2^63",
    "return 2^63",
    "return redis.call('exists', 's', 'n', 'missing')",
    "local co = coroutine.create(function() return redis.call('get', 's') end) return {coroutine.resume(co)}",
    "local co = coroutine.wrap(function() error('inside') end) co()",
    "return {xpcall(function() error({err='T'}) end, function(e) return type(e) end)}",
    "return tostring(nil) .. tostring(1.5)",
    "return string.format('%d %s %5.2f', 3, 'x', 1.234)",
    "return table.concat({1, 2, 3}, ',')",
    "return #ARGV",
    "return redis.call('del', 's', 'n')",
    "return {redis.call('incrbyfloat', 'n', '0.1')}",
    "local t = {} for i = 1, 5 do t[i] = i * i end return t",
    "return {math.floor(3.7), math.max(1, 9, 2), math.huge > 0}",
    "return unpack({1, 2, 3})",
    "return select('#', 1, 2, 3)",
    "return tonumber('0x10')",
    "return ('x'):rep(3, ',')",
    "local s = 0 for w in string.gmatch('a b c', '%a') do s = s + 1 end return s",
    "return redis.error_reply('ERR\\r\\nx')",
    "error('multi\\nline')",
    "return {1, 2, 3, n = 4}",
    "return {[1] = 'a', [3] = 'c'}",
    "local a = {} a[1.5] = 1 return a",
    "return setmetatable({}, {__index = function(t, k) return k end})[5]",
    "return rawequal(_G, _G)",
    "return type(_G.redis)",
    "return _G.nosuchglobal",
    "return rawget(_G, 'nosuchglobal')",
    "getmetatable('').__index = nil",
    "return getmetatable('').__index == string",
    "return gcinfo() > 0",
    "return collectgarbage('count') > 0",
    "return string.dump(function() end) ~= nil",
    "local t = {} t[1] = t return t",
    "local t = {} t[1] = t return {map={a=t}}",
    "return redis.call('get', 'missing', 'x', 1.5)",
    // Redis's checks before a script's command runs, and SELECT inside a script.
    "return redis.call('eval', 'return 1', 0)",
    "return redis.call('evalsha', 'x', 0)",
    "return redis.call('script', 'kill')",
    "return redis.call('hello')",
    "return redis.call('quit')",
    "return redis.call('reset')",
    "return redis.call('client', 'setname', 'x')",
    "return redis.call('echo')",
    "return redis.pcall('echo', 'a', 'b')",
    "return redis.call('ECHO', 'x')",
    "return redis.call('select', 3)",
    "redis.call('select', 3) redis.call('set', 'db3', 'v') return redis.call('dbsize')",
    "redis.call('select', 99)",
    "return redis.call('time')[3]",
    "return type(redis.call('time')[1])",
    "return redis.call('setex', 'k', 0, 'v')",
    "return redis.call('set', 'k', 'v', 'ex', 100)",
    "return redis.call('ttl', 's')",
    "return redis.call('expire', 's', 100)",
    "return redis.call('del', 'undeclared1', 'undeclared2')",
    "return redis.call('mget', 's', 'n', 'missing')",
    "redis.setresp(3) return redis.call('mget', 's', 'missing')",
    "return redis.call('object', 'encoding', 's')",
    "return redis.call('ping', 'hello')",
    "redis.setresp(3) return redis.call('ping')",
    "return redis.call('exists')",
    "return redis.call('script', 'load', 'return 1')",
    "return redis.call('flushall')",
    // The sandbox.
    "return loadfile",
    "return dofile",
    "return require",
    "return io",
    "return package",
    "return debug",
    "return module",
    // Known difference: redis-server has the `struct` and `cmsgpack` libraries,
    // broker-server does not (Celery never uses them); reading them is an error.
    "os.exit(1)",
    "io.write('x')",
    "newglobal = 1",
    "_G.newglobal = 1",
    "_G['x'] = 1",
    "setmetatable(_G, {})",
    "rawset(redis, 'call', nil)",
    "redis.call.x = 1",
    "local t = redis t.call = nil",
    "cjson.encode = nil",
    "math.random = nil",
    "string.rep = nil",
    "table.insert(_G, 1)",
    "return pcall(function() x = 1 end)",
    "return {pcall(function() x = 1 end)}",
    "local t = {} t.x = 1 return t.x",
    "local ok, e = pcall(function() return undefined_thing end) return e",
    "return tostring(getmetatable(_G).__index ~= nil)",
];

/// Scripts whose data or commands come from other families: `(commands, script)`.
const SCRIPTS_NEEDING: &[(&[&str], &str)] = &[
    (&["multi"], "return redis.call('multi')"),
    (&["blpop", "rpush"], "return redis.call('blpop', 'l', 0)"),
    (&["hset", "hgetall"], "return redis.call('hgetall', 'h')"),
    (
        &["hset", "hgetall"],
        "redis.setresp(3) return redis.call('hgetall', 'h')",
    ),
    (
        &["hset", "hgetall"],
        "redis.setresp(3) local t = redis.call('hgetall', 'h') return {type(t.map), t.map.a}",
    ),
    (&["zadd", "zscore"], "return redis.call('zscore', 'z', 'm')"),
    (
        &["zadd", "zscore"],
        "redis.setresp(3) return redis.call('zscore', 'z', 'm')",
    ),
    (
        &["zadd", "zscore"],
        "redis.setresp(3) return redis.call('zscore', 'z', 'm').double",
    ),
    (
        &["sadd", "smembers"],
        "redis.setresp(3) return redis.call('smembers', 'st')",
    ),
    (&["sadd", "smembers"], "return redis.call('smembers', 'st')"),
    (
        &["zadd", "zrange"],
        "return redis.call('zrange', 'z', 0, -1, 'withscores')",
    ),
    (
        &["zadd", "zrange"],
        "redis.setresp(3) return redis.call('zrange', 'z', 0, -1, 'withscores')",
    ),
    (
        &["rpush", "lrange"],
        "return redis.call('lrange', 'l', 0, -1)",
    ),
    (&["hgetall"], "return redis.call('hgetall', 'nokey')"),
    (
        &["hgetall"],
        "redis.setresp(3) return redis.call('hgetall', 'nokey')",
    ),
    (
        &["lrange"],
        "redis.setresp(3) return redis.call('lrange', 'nokey', 0, -1)",
    ),
    (&["hset"], "return redis.call('type', 'h')"),
    (&["hset"], "return redis.pcall('get', 'h')"),
    (&["hset"], "return redis.call('get', 'h')"),
    (&["publish"], "return redis.call('publish', 'ch', 'msg')"),
];

/// Empties both servers and loads [`SETUP`].
fn reset(pair: &mut Differential) {
    for client in [&mut pair.redis, &mut pair.ours] {
        client.call(&["SELECT", "0"]);
        client.call(&["FLUSHALL"]);
        for line in SETUP.iter().filter(|line| known(&line[..1])) {
            client.call(line);
        }
    }
}

/// Sends `args` to both servers and records any difference in `failures`.
fn compare(pair: &mut Differential, args: &[&[u8]], failures: &mut Vec<String>) -> Vec<u8> {
    let expected = pair.redis.call_raw(args);
    let actual = pair.ours.call_raw(args);
    if actual != expected {
        failures.push(format!(
            "{:?}\n  redis-server:  {:?}\n  broker-server: {:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(&actual)
        ));
    }
    actual
}

fn assert_no_failures(failures: Vec<String>, compared: usize) {
    assert!(
        failures.is_empty(),
        "{} of {compared} replies differ from redis-server:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs `body` on a thread with a big stack: the test client parses replies
/// recursively, and a self-referential table comes back ~8000 arrays deep.
fn with_big_stack(body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(body)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn eval_replies_match_redis_in_resp2_and_resp3() {
    with_big_stack(|| {
        let oracle = Oracle::start(&[]);
        let server = TestServer::start();
        let mut failures = Vec::new();
        let mut compared = 0;
        let needing = SCRIPTS_NEEDING
            .iter()
            .filter(|(commands, _)| known(commands))
            .map(|(_, script)| script);
        let scripts: Vec<&str> = SCRIPTS.iter().chain(needing).copied().collect();
        for resp3 in [false, true] {
            let mut pair = Differential::with_protocol(&oracle, &server, resp3);
            for script in &scripts {
                reset(&mut pair);
                compare(
                    &mut pair,
                    &[b"EVAL", script.as_bytes(), b"0"],
                    &mut failures,
                );
                compared += 1;
            }
        }
        let skipped = SCRIPTS.len() + SCRIPTS_NEEDING.len() - scripts.len();
        if skipped > 0 {
            eprintln!("{skipped} scripts skipped: their commands are not on this branch yet");
        }
        assert_no_failures(failures, compared);
    });
}

/// Argument checks, EVALSHA, the `_RO` forms, shebang flags and every SCRIPT
/// subcommand, as one sequence per protocol.
const REQUESTS: &[&[&str]] = &[
    &["EVAL"],
    &["EVAL", "return 1"],
    &["EVAL", "return 1", "-1"],
    &["EVAL", "return 1", "2", "a"],
    &["EVAL", "return 1", "x"],
    &["EVAL", "return 1 +", "x"],
    &["EVAL", "return 1 +", "0"],
    &["EVAL", "return 1 +", "-1"],
    &[
        "EVAL",
        "return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}",
        "2",
        "a",
        "b",
        "c",
    ],
    &["EVAL", "return {#KEYS, #ARGV}", "0", "a", "b"],
    &["EVAL", "return {#KEYS, #ARGV}", "2", "a", "b"],
    &["eval", "return ARGV", "0", "a\x00b", ""],
    &["EVALSHA", "abc", "0"],
    &["EVALSHA", "abc", "x"],
    &["EVALSHA", "0000000000000000000000000000000000000000", "x"],
    &["EVALSHA", "0000000000000000000000000000000000000000", "-1"],
    &["EVALSHA", "0000000000000000000000000000000000000000", "0"],
    // NOSCRIPT, then SCRIPT LOAD, then EVALSHA, as redis-py does.
    &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &[
        "SCRIPT",
        "EXISTS",
        "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
    ],
    &["SCRIPT", "LOAD", "return 1"],
    &[
        "SCRIPT",
        "EXISTS",
        "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
        "nope",
        "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB",
    ],
    &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"],
    &[
        "EVALSHA_RO",
        "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
        "0",
    ],
    &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "1"],
    &[
        "EVALSHA",
        "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
        "0",
        "extra",
        "args",
    ],
    &["SCRIPT", "FLUSH"],
    &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &[
        "SCRIPT",
        "EXISTS",
        "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
    ],
    // EVAL caches what it runs.
    &["EVAL", "return 1", "0"],
    &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &["SCRIPT", "FLUSH", "ASYNC"],
    &["SCRIPT", "FLUSH", "sync"],
    &["SCRIPT", "FLUSH", "now"],
    &["SCRIPT", "FLUSH", "ASYNC", "SYNC"],
    &["SCRIPT", "LOAD", "return 1 +"],
    &["SCRIPT", "LOAD", "#!lua flags=bogus\nreturn 1"],
    &["SCRIPT", "LOAD"],
    &["SCRIPT", "LOAD", "a", "b"],
    &["SCRIPT", "EXISTS"],
    &["SCRIPT", "KILL"],
    &["SCRIPT", "KILL", "now"],
    &["SCRIPT", "DEBUG", "NO"],
    &["SCRIPT", "DEBUG", "maybe"],
    &["SCRIPT", "DEBUG"],
    &["SCRIPT", "NOSUCH"],
    &["SCRIPT"],
    // Read-only scripts.
    &["EVAL_RO", "return redis.call('get', 's')", "0"],
    &["EVAL_RO", "return redis.call('set', 's', 'x')", "0"],
    &["EVAL_RO", "return redis.pcall('del', 's')", "0"],
    &["EVAL_RO", "#!lua\nreturn 1", "0"],
    &[
        "EVAL_RO",
        "#!lua flags=no-writes\nreturn redis.call('get', 's')",
        "0",
    ],
    &[
        "EVAL",
        "#!lua flags=no-writes\nreturn redis.call('set', 's', 'x')",
        "0",
    ],
    &[
        "EVAL",
        "#!lua flags=no-writes,allow-oom\nreturn redis.call('incr', 'n')",
        "0",
    ],
    &["EVAL", "#!lua\nreturn redis.call('incr', 'n')", "0"],
    &[
        "EVAL",
        "#!lua flags=allow-stale\nreturn redis.call('incr', 'n')",
        "0",
    ],
    &["GET", "s"],
    &["GET", "n"],
    // A script's SELECT stays in the script.
    &[
        "EVAL",
        "redis.call('select', 3) redis.call('set', 'x', '1') return redis.call('dbsize')",
        "0",
    ],
    &["DBSIZE"],
    &["SELECT", "3"],
    &["DBSIZE"],
    &["EVAL", "return redis.call('get', 'x')", "0"],
    &["SELECT", "0"],
    // Keys a script did not declare.
    &[
        "EVAL",
        "redis.call('set', ARGV[1] .. 'suffix', 'v') return redis.call('get', ARGV[1] .. 'suffix')",
        "0",
        "prefix:",
    ],
    &["GET", "prefix:suffix"],
    // Past maxmemory a script's first write that may grow the dataset is refused;
    // once it has written, later ones are not.
    &["SET", "oom", "1"],
    &["CONFIG", "SET", "maxmemory", "1"],
    &["EVAL", "return redis.call('set', 'oom', 'b')", "0"],
    &["EVAL", "return redis.pcall('set', 'oom', 'b')", "0"],
    &["EVAL", "return redis.call('get', 'oom')", "0"],
    &[
        "EVAL",
        "redis.call('del', 'oom') return redis.call('set', 'oom', 'b')",
        "0",
    ],
    &["EVAL", "return redis.pcall('lpush', 'oomq', 'x')", "0"],
    &["CONFIG", "SET", "maxmemory", "0"],
    &["EVAL", "return redis.call('set', 'oom', 'c')", "0"],
    &["GET", "oom"],
];

#[test]
fn eval_and_script_commands_match_redis() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut failures = Vec::new();
    for resp3 in [false, true] {
        let mut pair = Differential::with_protocol(&oracle, &server, resp3);
        reset(&mut pair);
        for request in REQUESTS {
            let args: Vec<&[u8]> = request.iter().map(|a| a.as_bytes()).collect();
            compare(&mut pair, &args, &mut failures);
        }
    }
    assert_no_failures(failures, 2 * REQUESTS.len());
}

#[test]
fn script_load_returns_the_sha1_of_the_celery_scripts() {
    let server = TestServer::start();
    let mut client = server.raw();
    for (body, sha) in [
        (LOCK_RELEASE, "c3f8721cbb97f72bc19e972846bd7aaf91901658"),
        (REFRESH_BINDING, "ef7a9e205fbaf46bf959e1522ff796622fc676c7"),
        (SWEEP_BINDINGS, "9a2b966a0a2d2d0e36ec32bc30fc89342b94a4bf"),
    ] {
        let expected = format!("$40\r\n{sha}\r\n").into_bytes();
        assert_eq!(client.call_raw(&[b"SCRIPT", b"LOAD", body]), expected);
        assert_eq!(
            client.call_raw(&[b"SCRIPT", b"EXISTS", sha.as_bytes()]),
            b"*1\r\n:1\r\n"
        );
    }
}

/// The Celery scripts as the clients send them: EVALSHA first, SCRIPT LOAD on
/// NOSCRIPT, EVALSHA again; then queued inside MULTI.
#[test]
fn celery_scripts_match_redis() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let lock = "c3f8721cbb97f72bc19e972846bd7aaf91901658";
    let refresh = "ef7a9e205fbaf46bf959e1522ff796622fc676c7";
    let sweep = "9a2b966a0a2d2d0e36ec32bc30fc89342b94a4bf";
    let mut failures = Vec::new();
    let mut compared = 0;
    for resp3 in [false, true] {
        let mut pair = Differential::with_protocol(&oracle, &server, resp3);
        reset(&mut pair);
        let mut check = |pair: &mut Differential, args: &[&[u8]]| {
            compared += 1;
            compare(pair, args, &mut failures);
        };
        check(&mut pair, &[b"SCRIPT", b"FLUSH"]);
        check(
            &mut pair,
            &[
                b"SCRIPT",
                b"EXISTS",
                lock.as_bytes(),
                refresh.as_bytes(),
                sweep.as_bytes(),
            ],
        );

        // redis-py's Lock.release, as kombu's Mutex calls it.
        let release = |token: &'static [u8]| -> Vec<&'static [u8]> {
            vec![b"EVALSHA", lock.as_bytes(), b"1", b"unacked_mutex", token]
        };
        check(&mut pair, &release(b"tok"));
        check(&mut pair, &[b"SCRIPT", b"LOAD", LOCK_RELEASE]);
        check(&mut pair, &release(b"tok"));
        check(
            &mut pair,
            &[b"SET", b"unacked_mutex", b"tok", b"NX", b"PX", b"300000"],
        );
        check(&mut pair, &release(b"other"));
        check(&mut pair, &[b"GET", b"unacked_mutex"]);
        check(&mut pair, &release(b"tok"));
        check(&mut pair, &[b"GET", b"unacked_mutex"]);
        check(
            &mut pair,
            &[b"EVAL", LOCK_RELEASE, b"1", b"unacked_mutex", b"tok"],
        );

        if known(&[
            "sadd",
            "smembers",
            "zadd",
            "zrange",
            "zrangebyscore",
            "zrem",
        ]) {
            // kombu's REFRESH_BINDING: the deadline depends on the clock, so only the
            // members are compared.
            let binding: &[u8] = b"_kombu.binding.celery";
            let member: &[u8] = b"celery\x06\x16\x06\x16celery";
            let refresh_args: [&[u8]; 8] = [
                b"EVALSHA",
                refresh.as_bytes(),
                b"2",
                binding,
                b"_kombu.binding_deadlines",
                member,
                b"celery",
                b"3600000",
            ];
            check(&mut pair, &refresh_args);
            check(&mut pair, &[b"SCRIPT", b"LOAD", REFRESH_BINDING]);
            check(&mut pair, &refresh_args);
            check(&mut pair, &[b"SMEMBERS", binding]);
            check(
                &mut pair,
                &[b"ZRANGE", b"_kombu.binding_deadlines", b"0", b"-1"],
            );

            // kombu's SWEEP_BINDINGS, with deadlines far in the past and future.
            check(
                &mut pair,
                &[
                    b"ZADD",
                    b"_kombu.binding_deadlines",
                    b"1",
                    b"old",
                    b"2",
                    b"kept",
                    b"99999999999999",
                    b"fresh",
                ],
            );
            check(&mut pair, &[b"SADD", b"_kombu.binding.old", b"q"]);
            check(&mut pair, &[b"SADD", b"_kombu.binding.kept", b"q"]);
            check(
                &mut pair,
                &[b"SADD", b"_kombu.binding_permanent.kept", b"q"],
            );
            let sweep_args: [&[u8]; 7] = [
                b"EVALSHA",
                sweep.as_bytes(),
                b"1",
                b"_kombu.binding_deadlines",
                b"_kombu.binding.",
                b"_kombu.binding_permanent.",
                b"100",
            ];
            check(&mut pair, &sweep_args);
            check(&mut pair, &[b"SCRIPT", b"LOAD", SWEEP_BINDINGS]);
            check(&mut pair, &sweep_args);
            check(
                &mut pair,
                &[b"EXISTS", b"_kombu.binding.old", b"_kombu.binding.kept"],
            );
            check(
                &mut pair,
                &[b"ZRANGE", b"_kombu.binding_deadlines", b"0", b"-1"],
            );
            check(&mut pair, &sweep_args);
        } else {
            eprintln!(
                "REFRESH_BINDING and SWEEP_BINDINGS skipped: sets and sorted sets are not on this branch yet"
            );
        }

        if known(&["multi", "exec"]) {
            check(&mut pair, &[b"SET", b"unacked_mutex", b"tok"]);
            check(&mut pair, &[b"MULTI"]);
            check(&mut pair, &release(b"tok"));
            check(
                &mut pair,
                &[
                    b"EVALSHA",
                    b"0000000000000000000000000000000000000000",
                    b"0",
                ],
            );
            check(&mut pair, &[b"EXEC"]);
        } else {
            eprintln!("scripts inside MULTI skipped: MULTI is not on this branch yet");
        }
    }
    assert_no_failures(failures, compared);
}

/// Redis 7 freezes time during a script: a key cannot expire halfway through it.
#[test]
fn time_is_frozen_inside_a_script() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let script: &[u8] = b"redis.call('set', KEYS[1], 'v', 'px', 50)
local t = redis.call('time')
local start = t[1] * 1000000 + t[2]
repeat
  t = redis.call('time')
until t[1] * 1000000 + t[2] - start > 100000
return {redis.call('exists', KEYS[1]), redis.call('get', KEYS[1])}";
    let mut pair = Differential::new(&oracle, &server);
    assert_eq!(
        pair.check(&[b"EVAL", script, b"1", b"k"]),
        b"*2\r\n:1\r\n$1\r\nv\r\n"
    );
}

/// MONITOR shows the EVAL first, then each command the script ran as
/// `[<db> lua]`, with the database the script had selected.
#[test]
fn monitor_shows_script_commands_like_redis() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let feeds = [oracle.raw(), server.raw()].map(|mut monitor| {
        assert_eq!(monitor.call_raw(&[b"MONITOR"]), b"+OK\r\n");
        monitor
    });
    let mut pair = Differential::new(&oracle, &server);
    pair.check(&[b"SELECT", b"2"]);
    pair.check(&[
        b"EVAL",
        b"redis.call('set', KEYS[1], 'v') redis.call('select', 5) return redis.call('get', KEYS[1])",
        b"1",
        b"k",
    ]);
    pair.check(&[b"EVAL", b"return redis.call('nosuch')", b"0"]);
    pair.check(&[b"EVALSHA", b"nope", b"0"]);
    pair.check(&[b"PING"]);
    let lines: Vec<Vec<String>> = feeds
        .into_iter()
        .map(|mut monitor| {
            let mut lines = Vec::new();
            loop {
                let raw = monitor.read_raw();
                let line = String::from_utf8_lossy(&raw).into_owned();
                // Drop the timestamp and the client address: `[2 lua] "get" "k"`.
                let (_, rest) = line.split_once(' ').expect("timestamp");
                let (origin, command) = rest.split_once("] ").expect("origin");
                let db = origin.trim_start_matches('[').split(' ').next().unwrap();
                let who = if origin.ends_with(" lua") {
                    "lua"
                } else {
                    "client"
                };
                lines.push(format!("[{db} {who}] {}", command.trim_end()));
                if command.starts_with("\"ping\"") || command.starts_with("\"PING\"") {
                    return lines;
                }
            }
        })
        .collect();
    assert_eq!(lines[1], lines[0]);
    assert!(
        lines[1].iter().any(|l| l == "[5 lua] \"select\" \"5\""),
        "{:?}",
        lines[1]
    );
}

/// A script running past `lua-time-limit`: other clients get `-BUSY` (commands
/// flagged `allow-busy` still run), `SCRIPT KILL` stops it while it has not written,
/// and answers `-UNKILLABLE` once it has. The same story is played against
/// redis-server and broker-server and the transcripts compared.
#[test]
fn busy_scripts_and_script_kill_match_redis() {
    let oracle = Oracle::start(&["--busy-reply-threshold", "200"]);
    let server = TestServer::with_config(|config| config.lua_time_limit = 200);
    let ours = busy_story(&|| server.raw());
    let redis = busy_story(&|| oracle.raw());
    assert_eq!(ours, redis);
}

/// Plays the BUSY story; returns every reply seen, as text.
fn busy_story(connect: &dyn Fn() -> RawClient) -> Vec<String> {
    let text = |raw: Vec<u8>| String::from_utf8_lossy(&raw).into_owned();
    let mut transcript = Vec::new();
    let mut runner = connect();
    let mut other = connect();
    transcript.push(text(other.call_raw(&[b"SCRIPT", b"KILL"])));
    // A script that loops until killed.
    runner.send(&encode_command(&[
        b"EVAL",
        b"local i = 0 while true do i = i + 1 end",
        b"0",
    ]));
    transcript.push(text(wait_for_busy(&mut other)));
    transcript.push(text(other.call_raw(&[b"GET", b"k"])));
    transcript.push(text(other.call_raw(&[b"EVAL", b"return 1", b"0"])));
    transcript.push(text(other.call_raw(&[b"SHUTDOWN"])));
    transcript.push(text(other.call_raw(&[b"SCRIPT", b"KILL"])));
    let killed = text(runner.read_raw());
    // The line number the kill hit depends on timing; the rest must match.
    transcript.push(
        killed
            .split(" on @user_script:")
            .next()
            .unwrap()
            .to_string(),
    );
    transcript.push(text(other.call_raw(&[b"PING"])));
    transcript.push(text(runner.call_raw(&[b"GET", b"k"])));
    // A script that writes, then runs for a second and a half of real time.
    runner.send(&encode_command(&[
        b"EVAL",
        b"redis.call('set', KEYS[1], 'v')
local t = redis.call('time')
local start = t[1] * 1000000 + t[2]
repeat
  t = redis.call('time')
until t[1] * 1000000 + t[2] - start > 1500000
return redis.call('get', KEYS[1])",
        b"1",
        b"k",
    ]));
    transcript.push(text(wait_for_busy(&mut other)));
    transcript.push(text(other.call_raw(&[b"SCRIPT", b"KILL"])));
    transcript.push(text(runner.read_raw()));
    transcript.push(text(other.call_raw(&[b"SCRIPT", b"KILL"])));
    transcript.push(text(other.call_raw(&[b"GET", b"k"])));
    transcript
}

/// Pings until the server answers `-BUSY`; returns that answer.
fn wait_for_busy(client: &mut RawClient) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = client.call_raw(&[b"PING"]);
        if reply.starts_with(b"-BUSY") {
            return reply;
        }
        assert_eq!(reply, b"+PONG\r\n");
        assert!(Instant::now() < deadline, "the server never answered -BUSY");
        std::thread::sleep(Duration::from_millis(20));
    }
}
