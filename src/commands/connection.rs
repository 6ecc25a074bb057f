//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, HELLO, AUTH and CLIENT.

use crate::commands::blocking;
use crate::commands::flags::*;
use crate::commands::table::CommandTable;
use crate::commands::{
    CmdResult, CommandError, CommandSpec, Ctx, Flow, container_handler, int32_arg,
};
use crate::protocol::{Args, Protocol};
use crate::server::REDIS_COMPAT_VERSION;
use crate::server::client::{ClientHandle, ReplyMode};
use crate::server::pause::{PauseMode, end_of};
use crate::util::numbers::parse_i64;

const NOKEYS: (i32, i32, i32) = (0, 0, 0);

/// The handshake (HELLO, AUTH) must get through before authentication, while the
/// data loads and while a script keeps the server busy.
const HANDSHAKE_FLAGS: u32 = NO_AUTH | FAST | LOADING | STALE | NOSCRIPT | ALLOW_BUSY;

/// QUIT and RESET also leave a session from any state it is in: subscribed, or
/// inside MULTI.
const SESSION_END_FLAGS: u32 = HANDSHAKE_FLAGS | SUBSCRIBED_OK | TRANSACTION_CONTROL;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "ping",
        -1,
        FAST | SUBSCRIBED_OK | LOADING | STALE,
        NOKEYS,
        ping,
    )
    .doc(
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
    )
    .syntax("[message]"),
    CommandSpec::new("echo", 2, FAST | LOADING | STALE, NOKEYS, echo)
        .doc("connection", "1.0.0", "Returns the given string.")
        .syntax("message"),
    CommandSpec::new("quit", -1, SESSION_END_FLAGS, NOKEYS, quit).doc(
        "connection",
        "1.0.0",
        "Closes the connection.",
    ),
    CommandSpec::new("reset", 1, SESSION_END_FLAGS, NOKEYS, reset).doc(
        "connection",
        "6.2.0",
        "Resets the connection.",
    ),
    CommandSpec::new("select", 2, FAST | LOADING | STALE, NOKEYS, select)
        .doc("connection", "1.0.0", "Changes the selected database.")
        .syntax("index"),
    CommandSpec::new("hello", -1, HANDSHAKE_FLAGS, NOKEYS, hello)
        .doc("connection", "6.0.0", "Handshakes with the server.")
        .syntax(
            "[protover [AUTH username password]:username_password [SETNAME clientname]]:arguments",
        ),
    CommandSpec::new("auth", -2, HANDSHAKE_FLAGS, NOKEYS, auth)
        .doc("connection", "1.0.0", "Authenticates the connection.")
        .syntax("[username] password"),
    CommandSpec::new("client", -2, 0, NOKEYS, container_handler)
        .doc(
            "connection",
            "2.4.0",
            "A container for client connection commands.",
        )
        .subs(CLIENT_SUBCOMMANDS),
];

const CLIENT_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

static CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("id", 2, NOSCRIPT | LOADING | STALE, NOKEYS, client_id).doc(
        "connection",
        "5.0.0",
        "Returns the unique client ID of the connection.",
    ),
    CommandSpec::new(
        "setname",
        3,
        NOSCRIPT | LOADING | STALE,
        NOKEYS,
        client_setname,
    )
    .doc("connection", "2.6.9", "Sets the connection name.")
        .syntax("connection-name"),
    CommandSpec::new(
        "getname",
        2,
        NOSCRIPT | LOADING | STALE,
        NOKEYS,
        client_getname,
    )
    .doc("connection", "2.6.9", "Returns the name of the connection."),
    CommandSpec::new(
        "setinfo",
        4,
        NOSCRIPT | LOADING | STALE,
        NOKEYS,
        client_setinfo,
    )
    .doc(
        "connection",
        "7.2.0",
        "Sets information specific to the client or connection.",
    )
        .syntax("<LIB-NAME libname | LIB-VER libver>:attr"),
    CommandSpec::new("list", -2, CLIENT_FLAGS, NOKEYS, client_list).doc(
        "connection",
        "2.4.0",
        "Lists open connections.",
    )
        .syntax("[TYPE <NORMAL | MASTER | REPLICA | PUBSUB>:normal_master_replica_pubsub] [ID client-id [client-id ...]]"),
    CommandSpec::new("info", 2, NOSCRIPT | LOADING | STALE, NOKEYS, client_info).doc(
        "connection",
        "6.2.0",
        "Returns information about the connection.",
    ),
    CommandSpec::new("kill", -3, CLIENT_FLAGS, NOKEYS, client_kill).doc(
        "connection",
        "2.4.0",
        "Terminates open connections.",
    )
        .syntax("<ip:port | <[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>:normal_master_slave_pubsub] | [USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME yes/no] | [MAXAGE maxage]>:new-format [<[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>:normal_master_slave_pubsub] | [USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME yes/no] | [MAXAGE maxage]>:new-format ...]>:filter"),
    CommandSpec::new(
        "unblock",
        -3,
        CLIENT_FLAGS,
        NOKEYS,
        blocking::client_unblock,
    )
    .doc(
        "connection",
        "5.0.0",
        "Unblocks a client blocked by a blocking command from a different connection.",
    )
        .syntax("client-id [TIMEOUT | ERROR]:timeout_error"),
    CommandSpec::new("pause", -3, CLIENT_FLAGS, NOKEYS, client_pause)
        .doc("connection", "3.0.0", "Suspends commands processing.")
        .syntax("timeout:integer [WRITE | ALL]:mode"),
    CommandSpec::new("unpause", 2, CLIENT_FLAGS, NOKEYS, client_unpause).doc(
        "connection",
        "6.2.0",
        "Resumes processing commands from paused clients.",
    ),
    CommandSpec::new("reply", 3, NOSCRIPT | LOADING | STALE, NOKEYS, client_reply).doc(
        "connection",
        "3.2.0",
        "Instructs the server whether to reply to commands.",
    )
        .syntax("<ON | OFF | SKIP>:on_off_skip"),
    CommandSpec::new("no-evict", 3, CLIENT_FLAGS, NOKEYS, client_no_evict).doc(
        "connection",
        "7.0.0",
        "Sets the client eviction mode of the connection.",
    )
        .syntax("<ON | OFF>:enabled"),
    CommandSpec::new(
        "no-touch",
        3,
        NOSCRIPT | LOADING | STALE,
        NOKEYS,
        client_no_touch,
    )
    .doc(
        "connection",
        "7.2.0",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
    )
        .syntax("<ON | OFF>:enabled"),
    CommandSpec::new("help", 2, LOADING | STALE, NOKEYS, client_help).doc(
        "connection",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

fn ping(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if args.len() > 2 {
        return Err(CommandError::WrongArity("ping".into()));
    }
    if ctx.client.subscriptions > 0 && ctx.client.protocol == Protocol::Resp2 {
        ctx.out.array_len(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).unwrap_or(b""));
    } else {
        match args.get(1) {
            Some(message) => ctx.out.bulk(message),
            None => ctx.out.simple(b"PONG"),
        }
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

fn quit(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.out.ok();
    ctx.flow = Flow::Close;
    Ok(())
}

fn reset(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    crate::commands::transactions::forget_watches(ctx);
    crate::commands::pubsub::leave_all(ctx);
    let client = &mut *ctx.client;
    client.transaction = None;
    client.reply_mode = ReplyMode::On;
    client.select(0);
    client.set_protocol(Protocol::Resp2);
    client.authenticated = !ctx.server.auth_required();
    client.handle.info.lock().name.clear();
    ctx.server.remove_monitor(client.id);
    ctx.out.set_protocol(Protocol::Resp2);
    ctx.out.simple(b"RESET");
    Ok(())
}

fn select(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let index = int32_arg(&args[1])?;
    if index < 0 || index as usize >= ctx.server.keyspace.databases() {
        return Err(CommandError::DbIndexOutOfRange);
    }
    ctx.client.select(index as usize);
    ctx.out.ok();
    Ok(())
}

/// Checks credentials for the default user (the only user).
fn credentials_ok(ctx: &Ctx<'_, '_>, user: &[u8], password: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    !ctx.server.auth_required() || ctx.server.password_matches(password)
}

fn auth(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CommandError::Syntax);
    }
    // The password (and the user) never reach the slow log or MONITOR, even when
    // the command fails; Redis redacts before anything else but the syntax check.
    ctx.redact(1);
    if args.len() == 3 {
        ctx.redact(2);
    }
    let (user, password) = match args.len() {
        2 if !ctx.server.auth_required() => return Err(CommandError::AuthNotConfigured),
        2 => (&b"default"[..], &args[1]),
        _ => (&args[1], &args[2]),
    };
    if !credentials_ok(ctx, user, password) {
        return Err(CommandError::WrongPass);
    }
    ctx.client.authenticated = true;
    ctx.out.ok();
    Ok(())
}

/// HELLO: the options take effect one by one, in order, as in Redis: an `AUTH`
/// authenticates (and is redacted) when it is reached, a `SETNAME` names the client,
/// and the first bad option ends the command with what came before applied.
fn hello(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let mut version = None;
    if let Some(text) = args.get(1) {
        let number = parse_i64(text).ok_or(CommandError::ProtocolVersion)?;
        version = Some(match number {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CommandError::NoProto),
        });
    }
    let mut index = 2;
    while index < args.len() {
        let option = &args[index];
        let more = args.len() - 1 - index;
        if option.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            ctx.redact(index + 1);
            ctx.redact(index + 2);
            if !credentials_ok(ctx, &args[index + 1], &args[index + 2]) {
                return Err(CommandError::WrongPass);
            }
            ctx.client.authenticated = true;
            index += 3;
        } else if option.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            validate_name(&args[index + 1])?;
            ctx.client.handle.info.lock().name = args[index + 1].to_vec();
            index += 2;
        } else {
            return Err(CommandError::HelloOption(option.to_vec()));
        }
    }
    if !ctx.client.authenticated {
        return Err(CommandError::HelloNeedsAuth);
    }
    if let Some(protocol) = version {
        ctx.client.set_protocol(protocol);
        ctx.out.set_protocol(protocol);
    }
    let out = &mut ctx.out;
    out.map_len(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_COMPAT_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(ctx.client.protocol.version());
    out.bulk(b"id");
    out.int(ctx.client.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array_len(0);
    Ok(())
}

/// Client names may not contain spaces, newlines or other special characters.
fn validate_name(name: &[u8]) -> CmdResult {
    if name.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        Ok(())
    } else {
        Err(CommandError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ))
    }
}

fn client_id(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.out.int(ctx.client.id as i64);
    Ok(())
}

fn client_setname(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    validate_name(&args[2])?;
    ctx.client.handle.info.lock().name = args[2].to_vec();
    ctx.out.ok();
    Ok(())
}

fn client_getname(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let name = ctx.client.handle.info.lock().name.clone();
    if name.is_empty() {
        ctx.out.null();
    } else {
        ctx.out.bulk(&name);
    }
    Ok(())
}

fn client_setinfo(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let (attribute, value) = (&args[2], &args[3]);
    let label = if attribute.eq_ignore_ascii_case(b"lib-name") {
        "lib-name"
    } else if attribute.eq_ignore_ascii_case(b"lib-ver") {
        "lib-ver"
    } else {
        return Err(CommandError::echo("Unrecognized option '", attribute, "'"));
    };
    if !value.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        return Err(CommandError::err(format!(
            "{label} cannot contain spaces, newlines or special characters."
        )));
    }
    let mut info = ctx.client.handle.info.lock();
    if label == "lib-name" {
        info.lib_name = value.to_vec();
    } else {
        info.lib_ver = value.to_vec();
    }
    drop(info);
    ctx.out.ok();
    Ok(())
}

/// One `CLIENT LIST` line, in Redis 7.0's field order.
pub fn describe_client(ctx: &Ctx<'_, '_>, handle: &ClientHandle) -> String {
    let info = handle.info.lock().clone();
    let is_self = handle.id == ctx.client.id;
    let [sub, psub, ssub] = handle.subscription_counts();
    let in_multi = if is_self {
        ctx.client
            .transaction
            .as_ref()
            .map(|t| t.queued.len() as i64)
    } else {
        None
    };
    let mut flags = String::new();
    if info.monitor {
        flags.push('O');
    }
    if sub + psub + ssub > 0 {
        flags.push('P');
    }
    if in_multi.is_some() {
        flags.push('x');
    }
    if handle.is_blocked() {
        flags.push('b');
    }
    if info.no_evict {
        flags.push('e');
    }
    if info.no_touch {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let table = CommandTable::get();
    let command = match handle.last_command() {
        Some(index) => table.full_name(index).to_string(),
        None => "NULL".to_string(),
    };
    let command = if is_self {
        current_command_name(ctx)
    } else {
        command
    };
    let omem = handle.outbox.pending_bytes();
    format!(
        "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        handle.id,
        handle.addr,
        handle.laddr,
        String::from_utf8_lossy(&info.name),
        handle.created.elapsed().as_secs(),
        handle.idle_seconds(),
        flags,
        info.db,
        sub,
        psub,
        ssub,
        in_multi.unwrap_or(-1),
        omem,
        omem + 16384,
        command,
        info.protocol.version(),
        String::from_utf8_lossy(&info.lib_name),
        String::from_utf8_lossy(&info.lib_ver),
    )
}

fn current_command_name(ctx: &Ctx<'_, '_>) -> String {
    let table = CommandTable::get();
    table.full_name(table.index(ctx.spec)).to_string()
}

/// A client type named by CLIENT LIST or CLIENT KILL's TYPE filter.
#[derive(Clone, Copy)]
enum ClientType {
    Normal,
    PubSub,
    /// Master or replica: no client of this server is one.
    Replication,
}

fn client_type(name: &[u8]) -> Result<ClientType, CommandError> {
    match &name.to_ascii_lowercase()[..] {
        b"normal" => Ok(ClientType::Normal),
        b"pubsub" => Ok(ClientType::PubSub),
        b"master" | b"replica" | b"slave" => Ok(ClientType::Replication),
        _ => Err(CommandError::echo("Unknown client type '", name, "'")),
    }
}

/// Whether `handle` is of type `kind`: as in Redis, a client with a subscription
/// is a pub/sub client, any other a normal one.
fn is_of_type(handle: &ClientHandle, kind: ClientType) -> bool {
    match kind {
        ClientType::Normal => handle.subscriptions() == 0,
        ClientType::PubSub => handle.subscriptions() > 0,
        ClientType::Replication => false,
    }
}

fn client_list(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let mut ids: Option<Vec<i64>> = None;
    let mut kind = None;
    let mut index = 2;
    while index < args.len() {
        let option = &args[index];
        if option.eq_ignore_ascii_case(b"TYPE") && index + 1 < args.len() {
            kind = Some(client_type(&args[index + 1])?);
            index += 2;
        } else if option.eq_ignore_ascii_case(b"ID") && index + 1 < args.len() {
            let mut wanted = Vec::new();
            // Any integer is accepted, as in Redis; ids start at 1, so 0 or a
            // negative id simply matches nobody.
            for text in args.iter().skip(index + 1) {
                let id = parse_i64(text).ok_or_else(|| CommandError::err("Invalid client ID"))?;
                wanted.push(id);
            }
            ids = Some(wanted);
            index = args.len();
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let mut handles: Vec<_> = ctx
        .server
        .clients
        .iter()
        .map(|e| e.value().clone())
        .collect();
    handles.sort_by_key(|h| h.id);
    let mut text = String::new();
    for handle in handles {
        if ids
            .as_ref()
            .is_some_and(|ids| !ids.contains(&(handle.id as i64)))
            || kind.is_some_and(|kind| !is_of_type(&handle, kind))
        {
            continue;
        }
        text.push_str(&describe_client(ctx, &handle));
        text.push('\n');
    }
    ctx.out.verbatim(b"txt", text.as_bytes());
    Ok(())
}

fn client_info(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let handle = ctx.client.handle.clone();
    let mut text = describe_client(ctx, &handle);
    text.push('\n');
    ctx.out.verbatim(b"txt", text.as_bytes());
    Ok(())
}

fn client_kill(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if args.len() == 3 {
        // The old form: CLIENT KILL addr:port.
        let target = String::from_utf8_lossy(&args[2]).into_owned();
        let found = ctx
            .server
            .clients
            .iter()
            .find(|e| e.value().addr.to_string() == target)
            .map(|e| e.value().clone());
        let Some(handle) = found else {
            return Err(CommandError::err("No such client"));
        };
        kill(ctx, &handle);
        ctx.out.ok();
        return Ok(());
    }
    let mut filter_id = None;
    let mut filter_addr = None;
    let mut filter_laddr = None;
    let mut skip_me = true;
    let mut filter_type = None;
    let mut index = 2;
    while index < args.len() {
        let Some(value) = args.get(index + 1) else {
            return Err(CommandError::Syntax);
        };
        let option = args[index].to_ascii_lowercase();
        match &option[..] {
            b"id" => {
                let id = parse_i64(value)
                    .filter(|id| *id > 0)
                    .ok_or_else(|| CommandError::err("client-id should be greater than 0"))?;
                filter_id = Some(id as u64);
            }
            b"addr" => filter_addr = Some(String::from_utf8_lossy(value).into_owned()),
            b"laddr" => filter_laddr = Some(String::from_utf8_lossy(value).into_owned()),
            b"skipme" => {
                skip_me = match value.to_ascii_lowercase().as_slice() {
                    b"yes" => true,
                    b"no" => false,
                    _ => return Err(CommandError::Syntax),
                }
            }
            b"type" => filter_type = Some(client_type(value)?),
            // Every client is the default user, the only one there is.
            b"user" if value[..] == b"default"[..] => {}
            b"user" => {
                return Err(CommandError::echo("No such user '", value, "'"));
            }
            _ => return Err(CommandError::Syntax),
        }
        index += 2;
    }
    let targets: Vec<_> = ctx
        .server
        .clients
        .iter()
        .map(|e| e.value().clone())
        .filter(|h| filter_id.is_none_or(|id| h.id == id))
        .filter(|h| {
            filter_addr
                .as_ref()
                .is_none_or(|a| h.addr.to_string() == *a)
        })
        .filter(|h| {
            filter_laddr
                .as_ref()
                .is_none_or(|a| h.laddr.to_string() == *a)
        })
        .filter(|h| filter_type.is_none_or(|kind| is_of_type(h, kind)))
        .filter(|h| !(skip_me && h.id == ctx.client.id))
        .collect();
    for handle in &targets {
        kill(ctx, handle);
    }
    ctx.out.int(targets.len() as i64);
    Ok(())
}

/// Closes a client; the caller itself is closed once its reply is sent.
fn kill(ctx: &mut Ctx<'_, '_>, handle: &ClientHandle) {
    if handle.id == ctx.client.id {
        ctx.flow = Flow::Close;
    } else {
        handle.kill.cancel();
    }
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`: the mode is checked before the timeout, as
/// in Redis; see [`crate::server::pause`] for what a pause does.
fn client_pause(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if args.len() > 4 {
        return Err(CommandError::SubcommandSyntax {
            container: "client".into(),
            sub: args[1].to_vec(),
        });
    }
    let mode = match args.get(3) {
        None => PauseMode::All,
        Some(word) => PauseMode::parse(word).ok_or(CommandError::PauseMode)?,
    };
    let timeout = parse_i64(&args[2]).ok_or(CommandError::TimeoutNotInteger)?;
    if timeout < 0 {
        return Err(CommandError::TimeoutNegative);
    }
    let now = ctx.now_ms;
    ctx.server.pause_clients(mode, end_of(timeout, now), now);
    ctx.out.ok();
    Ok(())
}

fn client_unpause(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.server.unpause_clients();
    ctx.out.ok();
    Ok(())
}

fn on_off(value: &[u8]) -> Result<bool, CommandError> {
    if value.eq_ignore_ascii_case(b"on") {
        Ok(true)
    } else if value.eq_ignore_ascii_case(b"off") {
        Ok(false)
    } else {
        Err(CommandError::Syntax)
    }
}

fn client_reply(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let mode = &args[2];
    if mode.eq_ignore_ascii_case(b"on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if mode.eq_ignore_ascii_case(b"off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if mode.eq_ignore_ascii_case(b"skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CommandError::Syntax);
    }
    Ok(())
}

fn client_no_evict(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    ctx.client.handle.info.lock().no_evict = on_off(&args[2])?;
    ctx.out.ok();
    Ok(())
}

fn client_no_touch(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    ctx.client.handle.info.lock().no_touch = on_off(&args[2])?;
    ctx.out.ok();
    Ok(())
}

/// Writes a HELP reply as Redis lays it out: the heading line, one line per entry,
/// then the `HELP` entry itself.
pub fn help_reply(ctx: &mut Ctx<'_, '_>, container: &str, lines: &[&str]) {
    ctx.out.array_len(lines.len() + 3);
    ctx.out.simple(
        format!("{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").as_bytes(),
    );
    for line in lines {
        ctx.out.simple(line.as_bytes());
    }
    ctx.out.simple(b"HELP");
    ctx.out.simple(b"    Prints this help.");
}

fn client_help(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    // Redis's text, line for line, for the subcommands served here (CACHING,
    // GETREDIR, TRACKING and TRACKINGINFO are not); SETINFO and NO-TOUCH, which
    // Redis 7.0 lacks, have Redis 7.2's lines.
    help_reply(
        ctx,
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
    Ok(())
}
