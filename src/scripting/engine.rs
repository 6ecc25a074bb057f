//! The Lua interpreter behind `EVAL` and `SCRIPT`, reproducing what Redis 7.0
//! (checked against redis-server 7.0.15) does.
//!
//! The engine owns one Lua 5.1 interpreter (the `mlua-sys` crate's vendored Lua 5.1,
//! driven through its raw C API). Each script body is compiled once, as the chunk
//! `@user_script`, and kept in the Lua registry under `f_<sha1>`; the cache maps the
//! lowercase hex SHA1 of the exact body bytes to that function. Commands a script
//! runs go to a [`ScriptHost`], which checks and executes them and returns their
//! [`Reply`]; the engine knows no command table of its own.
//!
//! # What a script sees
//! * `KEYS` and `ARGV`: fresh 1-based tables of strings for every call.
//! * `redis.call`, `redis.pcall`, `redis.error_reply`, `redis.status_reply`,
//!   `redis.sha1hex`, `redis.log` with `redis.LOG_DEBUG/LOG_VERBOSE/LOG_NOTICE/LOG_WARNING`,
//!   `redis.setresp(2|3)`, `redis.set_repl` with `redis.REPL_NONE/AOF/SLAVE/REPLICA/ALL`
//!   (checked, otherwise a no-op), `redis.replicate_commands` (returns true),
//!   `redis.breakpoint` (false), `redis.debug` (nothing), `redis.acl_check_cmd`
//!   (asks [`ScriptHost::acl_check`]), `redis.REDIS_VERSION` = `"7.0.15"`,
//!   `redis.REDIS_VERSION_NUM`.
//! * Libraries: the Lua 5.1 base library (without `print`, `dofile`, `loadfile`,
//!   `getfenv`, `setfenv`, `newproxy`, as in redis-server 7.0.15), `coroutine`, `table`,
//!   `string`, `math` (with Redis's own deterministic `math.random`/`math.randomseed`),
//!   `bit` (LuaBitOp) and `cjson` (`encode`, `decode`, `null`; the tuning functions are
//!   accepted and ignored). There is no `os`, `io`, `package`/`require`, `debug`.
//! * **Missing**: `struct` and `cmsgpack`; reading them raises the usual
//!   "nonexistent global variable" error. Celery never uses them.
//! * `pcall` is Redis's variant: an error raised as a `{err=...}` table comes back
//!   as its `err` string.
//! * Globals are read-only: assigning any global (new or existing) raises
//!   `Attempt to modify a readonly table`, reading an undefined one raises
//!   `Script attempted to access nonexistent global variable 'x'`, and the library
//!   tables (`redis`, `string`, `math`, ...) and the strings' metatable are read-only
//!   too. Stock Lua 5.1 has no read-only tables, so these are empty proxy tables
//!   whose `__index` is the real table; `rawset`, `rawget`, `next`, `pairs`,
//!   `setmetatable`, `getmetatable` and `table.insert` see through them. Known
//!   difference: `#t`, `ipairs`, `unpack`, `table.concat` on a library table see an
//!   empty table.
//! * Chunks starting with ESC are never loaded as bytecode (by `EVAL`, `loadstring` or
//!   `load`): they fail to compile as Redis's patched Lua makes them.
//!
//! # Conversions
//! Replies become Lua values by the RESP2 rules while the script is in RESP2 mode
//! (the default) and by the RESP3 rules after `redis.setresp(3)`; a protocol-neutral
//! [`Reply`] is first shaped as the RESP2 encoder would render it (maps flattened,
//! doubles as bulk strings, ...). Lua return values become [`Reply`] exactly as
//! Redis's `luaReplyToRedisReply` does.
//!
//! # Errors
//! Error texts are Redis's: `redis.call` errors end with
//! `script: <sha>, on @user_script:<line>.`, runtime errors start with
//! `ERR user_script:<line>: ...`, compile errors are
//! `ERR Error compiling script (new function): user_script:<line>: ...`. The checks
//! Redis makes before a script's command runs (unknown command, arity, `noscript`,
//! writes from read-only scripts) are the host's: it answers them as error replies,
//! which reach the script like any other command error. Where 7.0.15 crashes
//! (`error({})`) the reply is `ERR unknown error script: <sha>, on @user_script:<line>.`,
//! as later versions answer. Newlines inside error texts are turned into spaces (Redis
//! would send them raw and break the protocol).
//!
//! # Unsafe code
//! The Lua C API raises errors with `longjmp`. Every C function here raises only
//! after its Rust values with destructors are gone (work is done in a helper that
//! returns first), host calls run under `catch_unwind`, and results are converted
//! outside protected calls only with raw accessors that cannot raise.
//!
//! # SCRIPT KILL
//! [`KillSwitch`] is what the running script and `SCRIPT KILL` agree on, without a
//! lock: a script that has written can no longer be killed, and one that was killed
//! can no longer write. A count hook runs every 100 000 Lua instructions and every
//! `redis.call` checks the switch too; once killed, the script stops with
//! `ERR Script killed by user with SCRIPT KILL...`, and that error is raised again on
//! every line so `pcall` cannot swallow it. Deciding when other clients see `-BUSY`
//! is the server's job.
#![allow(unsafe_op_in_unsafe_fn)]

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use bytes::Bytes;
use mlua_sys as ffi;

use crate::protocol::{Args, OwnedArgs, Reply};

type State = *mut ffi::lua_State;

/// Log levels of `redis.log` (the values of `redis.LOG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

/// What a running script calls back into: the server checks and executes one
/// command and returns its reply.
pub trait ScriptHost {
    /// Runs one command for `redis.call`/`redis.pcall` (`args[0]` is the name), in
    /// the protocol the script selected with `redis.setresp` (2 unless changed).
    /// A command the script may not run is answered with its error reply.
    fn call(&mut self, args: Args<'_>, resp: u8) -> Reply;
    /// `redis.log`.
    fn log(&mut self, level: LogLevel, message: &[u8]);
    /// `redis.acl_check_cmd`: `None` when `args` name no known command, otherwise
    /// whether the current user may run it.
    fn acl_check(&mut self, args: Args<'_>) -> Option<bool>;
}

/// Flags from a script's `#!lua flags=...` shebang line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptFlags {
    /// The body starts with a `#!lua` line (otherwise Redis runs it in compatibility mode).
    pub shebang: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

/// What `SCRIPT KILL` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillOutcome {
    /// No script is running.
    NotBusy,
    /// The running script has written: stopping it would break its atomicity.
    Unkillable,
    /// The running script will stop at its next check.
    Killed,
}

/// The running script's state, shared lock-free between the script and `SCRIPT KILL`
/// (which runs on another thread while the script holds every shard).
#[derive(Debug, Default)]
pub struct KillSwitch {
    state: AtomicU8,
}

const IDLE: u8 = 0;
const RUNNING: u8 = 1;
/// Running, and has run a write command: SCRIPT KILL refuses.
const WROTE: u8 = 2;
const KILLED: u8 = 3;

impl KillSwitch {
    /// `SCRIPT KILL`: stops a running script unless it has written.
    pub fn kill(&self) -> KillOutcome {
        match self
            .state
            .compare_exchange(RUNNING, KILLED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) | Err(KILLED) => KillOutcome::Killed,
            Err(WROTE) => KillOutcome::Unkillable,
            Err(_) => KillOutcome::NotBusy,
        }
    }

    /// Stops a running script even if it has written (`SHUTDOWN`).
    pub fn force_kill(&self) {
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s == RUNNING || s == WROTE).then_some(KILLED)
            });
    }

    /// Called before a write command runs: false if the script was killed, in which
    /// case the write must not happen.
    pub fn note_write(&self) -> bool {
        match self
            .state
            .compare_exchange(RUNNING, WROTE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) | Err(WROTE) => true,
            Err(_) => false,
        }
    }

    /// Whether the running script has already written (it can then neither be
    /// killed nor refused a later write for lack of memory).
    pub fn has_written(&self) -> bool {
        self.state.load(Ordering::Acquire) == WROTE
    }

    /// Whether a script is running.
    pub fn is_running(&self) -> bool {
        self.state.load(Ordering::Acquire) != IDLE
    }

    fn is_killed(&self) -> bool {
        self.state.load(Ordering::Acquire) == KILLED
    }

    fn start(&self) {
        self.state.store(RUNNING, Ordering::Release);
    }

    fn finish(&self) {
        self.state.store(IDLE, Ordering::Release);
    }
}

const KILLED_MSG: &[u8] = b"Script killed by user with SCRIPT KILL...";
const READONLY_MSG: &[u8] = b"Attempt to modify a readonly table";
/// Lua instructions between two checks of the kill switch.
const HOOK_EVERY: c_int = 100_000;
/// Scripts run between two incremental garbage-collection steps.
const GC_PERIOD: u64 = 50;

const REG_SHARED: &CStr = c"redis_engine_shared";
const REG_HANDLER: &CStr = c"redis_engine_err_handler";
const REG_TOSTRING: &CStr = c"redis_engine_tostring";
const REG_GLOBALS: &CStr = c"redis_engine_globals";
const REG_GLOBALS_PROXY: &CStr = c"redis_engine_globals_proxy";
const REG_GLOBALS_MT: &CStr = c"redis_engine_globals_mt";
const REG_CJSON_NULL: &CStr = c"redis_engine_cjson_null";
const REG_MT_PROXIES: &CStr = c"redis_engine_metatable_proxies";

/// State the Lua C functions reach through the registry; boxed so its address is stable.
struct Shared {
    kill: Arc<KillSwitch>,
    /// drand48 state (48 bits), as Redis's `redisLrand48`.
    rand: u64,
    /// The running script's context, null between scripts.
    run: *mut c_void,
}

struct RunCtx<'h> {
    host: &'h mut dyn ScriptHost,
    /// The protocol selected with `redis.setresp`.
    resp: u8,
    /// Set once the kill error has been raised, so it is raised on every line.
    killed: bool,
}

struct CachedScript {
    body: Bytes,
    flags: ScriptFlags,
}

/// The script cache and its Lua interpreter.
pub struct ScriptEngine {
    lua: State,
    shared: *mut Shared,
    scripts: HashMap<String, CachedScript>,
    scripts_mem: usize,
    runs: u64,
}

// SAFETY: the interpreter is only touched through `&mut self` (one thread at a time);
// nothing in it is tied to the thread that created it. The kill switch is atomic.
unsafe impl Send for ScriptEngine {}

impl Default for ScriptEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ScriptEngine {
    fn drop(&mut self) {
        // SAFETY: both were created in `new` and are released exactly once here.
        unsafe {
            ffi::lua_close(self.lua);
            drop(Box::from_raw(self.shared));
        }
    }
}

impl ScriptEngine {
    pub fn new() -> Self {
        let shared = Box::into_raw(Box::new(Shared {
            kill: Arc::new(KillSwitch::default()),
            rand: RAND_INITIAL,
            run: ptr::null_mut(),
        }));
        // SAFETY: `shared` outlives the state (freed after lua_close in Drop).
        let lua = unsafe { new_state(shared) };
        ScriptEngine {
            lua,
            shared,
            scripts: HashMap::new(),
            scripts_mem: 0,
            runs: 0,
        }
    }

    /// SCRIPT LOAD / EVAL: compile and cache; returns the 40-char lowercase hex SHA1 of
    /// the exact body bytes. A compile error returns Err(Reply::Error(...)) with Redis's
    /// text ("ERR Error compiling script (new function): user_script:1: ...").
    pub fn load(&mut self, body: &[u8]) -> Result<String, Reply> {
        let sha = sha1hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, shebang_len) = parse_shebang(body)?;
        // The shebang line is skipped but its newline kept, so line numbers match.
        let code = &body[shebang_len..];
        let l = self.lua;
        // SAFETY: plain stack operations on our own state; nothing here raises
        // outside of luaL_loadbuffer's own protection.
        unsafe {
            let name = func_name(&sha);
            // Never load bytecode: compile it as text, which fails like Redis does.
            let text: std::borrow::Cow<'_, [u8]> = if code.first() == Some(&0x1b) {
                [b" ", code].concat().into()
            } else {
                code.into()
            };
            let status = ffi::luaL_loadbuffer(
                l,
                text.as_ptr().cast(),
                text.len(),
                c"@user_script".as_ptr(),
            );
            if status != 0 {
                let msg = to_bytes(l, -1).unwrap_or(b"").to_vec();
                ffi::lua_pop(l, 1);
                let mut text = b"Error compiling script (new function): ".to_vec();
                text.extend_from_slice(&msg);
                return Err(error_from_format(&text));
            }
            ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, name.as_ptr().cast());
        }
        self.scripts_mem += sha.len() + body.len();
        self.scripts.insert(
            sha.clone(),
            CachedScript {
                body: Bytes::copy_from_slice(body),
                flags,
            },
        );
        Ok(sha)
    }

    /// The cached script with this SHA1 (hex, any case): its lowercase id and flags.
    pub fn find(&self, sha: &[u8]) -> Option<(String, ScriptFlags)> {
        let sha = lower_sha(sha)?;
        let flags = self.scripts.get(&sha)?.flags;
        Some((sha, flags))
    }

    /// SCRIPT EXISTS: is a script with this SHA1 (hex, any case) cached?
    pub fn exists(&self, sha: &[u8]) -> bool {
        self.find(sha).is_some()
    }

    /// SCRIPT FLUSH: forget every script and start a fresh interpreter, as Redis does.
    /// `math.random`'s state and the kill switch survive (they are process-wide in Redis).
    pub fn flush(&mut self) {
        // SAFETY: no script runs (we hold &mut self); the old state is not used again.
        unsafe {
            ffi::lua_close(self.lua);
            self.lua = new_state(self.shared);
        }
        self.scripts.clear();
        self.scripts_mem = 0;
    }

    /// Loads (caching) then runs a body.
    pub fn eval(
        &mut self,
        body: &[u8],
        keys: &[impl AsRef<[u8]>],
        argv: &[impl AsRef<[u8]>],
        host: &mut dyn ScriptHost,
    ) -> Reply {
        match self.load(body) {
            Ok(sha) => self.run(&sha, keys, argv, host),
            Err(e) => e,
        }
    }

    /// Runs a cached script by SHA1 (any case); `None` if it is not cached.
    pub fn evalsha(
        &mut self,
        sha: &[u8],
        keys: &[impl AsRef<[u8]>],
        argv: &[impl AsRef<[u8]>],
        host: &mut dyn ScriptHost,
    ) -> Option<Reply> {
        let (sha, _) = self.find(sha)?;
        Some(self.run(&sha, keys, argv, host))
    }

    /// The switch `SCRIPT KILL` uses, from any thread.
    pub fn kill_switch(&self) -> Arc<KillSwitch> {
        // SAFETY: `shared` is valid for the engine's lifetime.
        unsafe { Arc::clone(&(*self.shared).kill) }
    }

    /// Number of cached scripts (INFO `number_of_cached_scripts`).
    pub fn script_count(&self) -> usize {
        self.scripts.len()
    }

    /// Memory of the Lua interpreter in bytes (INFO `used_memory_lua` / `used_memory_vm_eval`).
    pub fn memory_bytes(&self) -> usize {
        // SAFETY: a query on our own state.
        unsafe {
            let kb = ffi::lua_gc(self.lua, ffi::LUA_GCCOUNT, 0).max(0) as usize;
            let b = ffi::lua_gc(self.lua, ffi::LUA_GCCOUNTB, 0).max(0) as usize;
            kb * 1024 + b
        }
    }

    /// Bytes held by the cached script bodies and their SHA1s (INFO `used_memory_scripts_eval`).
    pub fn scripts_memory_bytes(&self) -> usize {
        self.scripts_mem
    }

    /// The body cached under `sha` (for logging EVALSHA as EVAL).
    pub fn body(&self, sha: &[u8]) -> Option<&Bytes> {
        self.scripts.get(&lower_sha(sha)?).map(|s| &s.body)
    }

    /// Runs the cached script `sha` (a lowercase id from [`ScriptEngine::load`] or
    /// [`ScriptEngine::find`]) with fresh `KEYS` and `ARGV`.
    pub fn run(
        &mut self,
        sha: &str,
        keys: &[impl AsRef<[u8]>],
        argv: &[impl AsRef<[u8]>],
        host: &mut dyn ScriptHost,
    ) -> Reply {
        assert!(self.scripts.contains_key(sha), "script {sha} is not cached");
        let l = self.lua;
        let mut ctx = RunCtx {
            host,
            resp: 2,
            killed: false,
        };
        // SAFETY: stack discipline is restored with lua_settop before returning; the
        // run context pointer is only used while lua_pcall runs and is cleared after.
        unsafe {
            let top = ffi::lua_gettop(l);
            ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, REG_HANDLER.as_ptr());
            let name = func_name(sha);
            ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, name.as_ptr().cast());
            debug_assert_eq!(ffi::lua_type(l, -1), ffi::LUA_TFUNCTION);
            ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, REG_GLOBALS.as_ptr());
            ffi::lua_pushliteral(l, c"KEYS");
            push_string_array(l, keys);
            ffi::lua_rawset(l, -3);
            ffi::lua_pushliteral(l, c"ARGV");
            push_string_array(l, argv);
            ffi::lua_rawset(l, -3);
            ffi::lua_pop(l, 1);

            let kill = Arc::clone(&(*self.shared).kill);
            kill.start();
            (*self.shared).run = (&mut ctx as *mut RunCtx<'_>).cast();
            ffi::lua_sethook(l, Some(count_hook), ffi::LUA_MASKCOUNT, HOOK_EVERY);
            let status = ffi::lua_pcall(l, 0, 1, -2);
            ffi::lua_sethook(l, None, 0, 0);
            (*self.shared).run = ptr::null_mut();
            kill.finish();

            self.runs += 1;
            if self.runs % GC_PERIOD == 0 {
                ffi::lua_gc(l, ffi::LUA_GCSTEP, GC_PERIOD as c_int);
            }
            let reply = if status != 0 {
                run_error_reply(l, sha)
            } else {
                lua_to_reply(l, ctx.resp)
            };
            ffi::lua_settop(l, top);
            reply
        }
    }
}
/// `f_<sha>\0`, the registry name of a compiled script.
fn func_name(sha: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(43);
    v.extend_from_slice(b"f_");
    v.extend_from_slice(sha.as_bytes());
    v.push(0);
    v
}

fn lower_sha(sha: &[u8]) -> Option<String> {
    if sha.len() != 40 {
        return None;
    }
    String::from_utf8(sha.to_ascii_lowercase()).ok()
}

/// Lowercase hex SHA1, as `redis.sha1hex` and the script cache use.
pub fn sha1hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

pub(crate) fn parse_shebang(body: &[u8]) -> Result<(ScriptFlags, usize), Reply> {
    let mut flags = ScriptFlags::default();
    if !body.starts_with(b"#!") {
        return Ok((flags, 0));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err(error_from_format(b"Invalid script shebang"));
    };
    let parts: Vec<&[u8]> = body[..end]
        .split(|c| c.is_ascii_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    let Some(engine) = parts.first() else {
        return Err(error_from_format(b"Invalid engine in script shebang"));
    };
    if *engine != b"#!lua" {
        let mut m = b"Unexpected engine in script shebang: ".to_vec();
        m.extend_from_slice(engine);
        return Err(error_from_format(&m));
    }
    flags.shebang = true;
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            let mut m = b"Unknown lua shebang option: ".to_vec();
            m.extend_from_slice(part);
            return Err(error_from_format(&m));
        };
        if list.is_empty() {
            continue;
        }
        for f in list.split(|&c| c == b',') {
            match f {
                b"no-writes" => flags.no_writes = true,
                b"allow-oom" => flags.allow_oom = true,
                b"allow-stale" => flags.allow_stale = true,
                b"no-cluster" => flags.no_cluster = true,
                b"allow-cross-slot-keys" => flags.allow_cross_slot_keys = true,
                _ => {
                    let mut m = b"Unexpected flag in script shebang: ".to_vec();
                    m.extend_from_slice(f);
                    return Err(error_from_format(&m));
                }
            }
        }
    }
    Ok((flags, end))
}

// ---------------------------------------------------------------------------
// Error text helpers
// ---------------------------------------------------------------------------

/// Trim trailing CR/LF, then turn the remaining CR/LF into spaces.
fn sanitize_error(text: &[u8]) -> Vec<u8> {
    let mut end = text.len();
    while end > 0 && matches!(text[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    text[..end]
        .iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect()
}

/// What `addReplyErrorFormat` sends: sanitized, with `ERR ` unless it starts with '-'.
fn error_from_format(text: &[u8]) -> Reply {
    let mut start = 0;
    while start < text.len() && matches!(text[start], b'\r' | b'\n') {
        start += 1;
    }
    let clean = sanitize_error(&text[start..]);
    if let Some(rest) = clean.strip_prefix(b"-") {
        return Reply::Error(Bytes::copy_from_slice(rest));
    }
    let mut v = b"ERR ".to_vec();
    v.extend_from_slice(&clean);
    Reply::Error(Bytes::from(v))
}

/// The C string view of `s`: the bytes before the first NUL.
fn c_str_part(s: &[u8]) -> &[u8] {
    match s.iter().position(|&c| c == 0) {
        Some(p) => &s[..p],
        None => s,
    }
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

unsafe extern "C" {
    fn snprintf(buf: *mut c_char, size: usize, fmt: *const c_char, ...) -> c_int;
}

/// C's `%.17g`, used for numbers passed to `redis.call` and RESP2 doubles.
fn fmt_g17(n: f64) -> Vec<u8> {
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is large enough for any %.17g output and NUL-terminated by snprintf.
    let len = unsafe { snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.17g".as_ptr(), n) };
    let len = (len.max(0) as usize).min(buf.len() - 1);
    buf[..len].to_vec()
}

/// C's `(long long)n` on x86-64: out of range and NaN give i64::MIN.
fn c_ll(n: f64) -> i64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if n.is_nan() || !(-TWO_POW_63..TWO_POW_63).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// `(int)n` for the small numbers `redis.log`, `redis.setresp`, ... take.
fn c_int_of(n: f64) -> i64 {
    if n.is_nan() { i64::MIN } else { n as i64 }
}

const RAND_INITIAL: u64 = 0x1234_ABCD_330E;
const RAND_MASK: u64 = (1 << 48) - 1;

fn lrand48(state: &mut u64) -> i32 {
    *state = (state.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & RAND_MASK;
    (*state >> 17) as i32
}

fn srand48(state: &mut u64, seed: i32) {
    *state = (((seed as u32) as u64) << 16) | 0x330E;
}

// ---------------------------------------------------------------------------
// Small Lua helpers
// ---------------------------------------------------------------------------

unsafe fn push_bytes(l: State, b: &[u8]) {
    ffi::lua_pushlstring_(l, b.as_ptr().cast(), b.len());
}

/// The string at `idx` (numbers are converted in place, as lua_tolstring does).
unsafe fn to_bytes<'a>(l: State, idx: c_int) -> Option<&'a [u8]> {
    let mut len = 0usize;
    let p = ffi::lua_tolstring(l, idx, &mut len);
    if p.is_null() {
        None
    } else {
        Some(std::slice::from_raw_parts(p.cast(), len))
    }
}

unsafe fn push_string_array(l: State, items: &[impl AsRef<[u8]>]) {
    ffi::lua_createtable(l, items.len().min(i32::MAX as usize) as c_int, 0);
    for (i, it) in items.iter().enumerate() {
        push_bytes(l, it.as_ref());
        ffi::lua_rawseti_(l, -2, (i + 1) as c_int);
    }
}

unsafe fn shared<'a>(l: State) -> &'a mut Shared {
    ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, REG_SHARED.as_ptr());
    let p = ffi::lua_touserdata(l, -1) as *mut Shared;
    ffi::lua_pop(l, 1);
    &mut *p
}

unsafe fn run_ctx<'a>(l: State) -> Option<&'a mut RunCtx<'a>> {
    let p = shared(l).run as *mut RunCtx<'a>;
    if p.is_null() { None } else { Some(&mut *p) }
}

/// Push the `{err=...}` table Redis's `luaPushErrorBuff` builds: a buffer starting
/// with '-' carries its own error code, otherwise `ERR` is prepended.
unsafe fn push_error_buff(l: State, buf: &[u8]) {
    let (code, msg): (&[u8], &[u8]) = match buf.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&c| c == b' ') {
            Some(p) => (&rest[..p], &rest[p + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", buf),
    };
    let msg = trim_crlf(msg);
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_pushliteral(l, c"err");
    let mut text = Vec::with_capacity(code.len() + 1 + msg.len());
    text.extend_from_slice(code);
    text.push(b' ');
    text.extend_from_slice(msg);
    push_bytes(l, c_str_part(&text));
    ffi::lua_rawset(l, -3);
}

fn trim_crlf(mut s: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b'\r' | b'\n'] = s {
        s = rest;
    }
    s
}

/// `luaPushError`: `{err="ERR <msg>"}`.
unsafe fn push_error(l: State, msg: &[u8]) {
    push_error_buff(l, msg);
}

unsafe fn set_ignore_stats(l: State) {
    ffi::lua_pushliteral(l, c"ignore_error_stats_update");
    ffi::lua_pushboolean(l, 1);
    ffi::lua_rawset(l, -3);
}

/// Push `where` (the position of the Lua code calling the current C function) and `msg`.
unsafe fn push_positioned(l: State, msg: &[u8]) {
    ffi::luaL_where(l, 1);
    push_bytes(l, msg);
    ffi::lua_concat(l, 2);
}

/// Raises `msg` with the script position, as `luaL_error` does.
unsafe fn raise_positioned(l: State, msg: &'static [u8]) -> ! {
    push_positioned(l, msg);
    ffi::lua_error(l)
}

unsafe fn set_fn(l: State, name: &CStr, f: ffi::lua_CFunction) {
    ffi::lua_pushcfunction(l, f);
    ffi::lua_setfield(l, -2, name.as_ptr());
}

unsafe fn set_num(l: State, name: &CStr, n: f64) {
    ffi::lua_pushnumber(l, n);
    ffi::lua_setfield(l, -2, name.as_ptr());
}

// ---------------------------------------------------------------------------
// Interpreter setup
// ---------------------------------------------------------------------------

unsafe fn new_state(shared: *mut Shared) -> State {
    let l = ffi::luaL_newstate();
    assert!(!l.is_null(), "cannot allocate the Lua interpreter");
    let status = ffi::lua_cpcall(l, init_state, shared.cast());
    assert_eq!(status, 0, "Lua interpreter setup failed");
    l
}

unsafe fn open_lib(l: State, name: &CStr, f: ffi::lua_CFunction) {
    ffi::lua_pushcfunction(l, f);
    ffi::lua_pushstring_(l, name.as_ptr());
    ffi::lua_call(l, 1, 0);
}

unsafe extern "C-unwind" fn init_state(l: State) -> c_int {
    let shared = ffi::lua_touserdata(l, 1);
    ffi::lua_settop(l, 0);
    ffi::lua_pushlightuserdata(l, shared);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_SHARED.as_ptr());

    open_lib(l, c"", ffi::luaopen_base);
    open_lib(l, c"table", ffi::luaopen_table);
    open_lib(l, c"string", ffi::luaopen_string);
    open_lib(l, c"math", ffi::luaopen_math);

    // The real globals table; scripts only ever see a read-only proxy of it.
    ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
    let g = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, g);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_GLOBALS.as_ptr());

    for name in [
        c"print",
        c"dofile",
        c"loadfile",
        c"getfenv",
        c"setfenv",
        c"newproxy",
    ] {
        ffi::lua_pushnil(l);
        ffi::lua_setfield(l, g, name.as_ptr());
    }
    ffi::lua_getfield_(l, g, c"tostring".as_ptr());
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_TOSTRING.as_ptr());

    // proxy -> real table, the upvalue of every function that sees through proxies.
    ffi::lua_newtable(l);
    let ro = ffi::lua_gettop(l);

    ffi::lua_pushcfunction(l, redis_pcall_builtin);
    ffi::lua_setfield(l, g, c"pcall".as_ptr());
    ffi::lua_pushcfunction(l, safe_loadstring);
    ffi::lua_setfield(l, g, c"loadstring".as_ptr());
    ffi::lua_pushcfunction(l, safe_load);
    ffi::lua_setfield(l, g, c"load".as_ptr());
    for (name, f) in [
        (c"rawset", ro_rawset as ffi::lua_CFunction),
        (c"rawget", ro_rawget),
        (c"next", ro_next),
        (c"setmetatable", ro_setmetatable),
        (c"getmetatable", ro_getmetatable),
    ] {
        ffi::lua_pushvalue(l, ro);
        ffi::lua_pushcclosure(l, f, 1);
        ffi::lua_setfield(l, g, name.as_ptr());
    }
    ffi::lua_pushvalue(l, ro);
    ffi::lua_getfield_(l, g, c"next".as_ptr());
    ffi::lua_pushcclosure(l, ro_pairs, 2);
    ffi::lua_setfield(l, g, c"pairs".as_ptr());

    ffi::lua_getfield_(l, g, c"table".as_ptr());
    ffi::lua_pushvalue(l, ro);
    ffi::lua_pushcclosure(l, ro_tinsert, 1);
    ffi::lua_setfield(l, -2, c"insert".as_ptr());
    ffi::lua_pop(l, 1);

    ffi::lua_getfield_(l, g, c"math".as_ptr());
    set_fn(l, c"random", math_random);
    set_fn(l, c"randomseed", math_randomseed);
    ffi::lua_pop(l, 1);

    open_bit(l, g);
    open_cjson(l, g);
    register_redis_api(l, g);

    ffi::lua_pushcfunction(l, err_handler);
    ffi::lua_pushvalue(l, -1);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_HANDLER.as_ptr());
    ffi::lua_setfield(l, g, c"__redis__err__handler".as_ptr());

    protect_globals(l, g, ro);
    0
}

unsafe fn register_redis_api(l: State, g: c_int) {
    ffi::lua_newtable(l);
    set_fn(l, c"call", redis_call);
    set_fn(l, c"pcall", redis_pcall);
    set_fn(l, c"log", redis_log);
    set_num(l, c"LOG_DEBUG", LogLevel::Debug as i32 as f64);
    set_num(l, c"LOG_VERBOSE", LogLevel::Verbose as i32 as f64);
    set_num(l, c"LOG_NOTICE", LogLevel::Notice as i32 as f64);
    set_num(l, c"LOG_WARNING", LogLevel::Warning as i32 as f64);
    set_num(l, c"REDIS_VERSION_NUM", 0x0007_000f as f64);
    ffi::lua_pushliteral(l, c"7.0.15");
    ffi::lua_setfield(l, -2, c"REDIS_VERSION".as_ptr());
    set_fn(l, c"setresp", redis_setresp);
    set_fn(l, c"sha1hex", redis_sha1hex);
    set_fn(l, c"error_reply", redis_error_reply);
    set_fn(l, c"status_reply", redis_status_reply);
    set_fn(l, c"set_repl", redis_set_repl);
    set_num(l, c"REPL_NONE", 0.0);
    set_num(l, c"REPL_AOF", 1.0);
    set_num(l, c"REPL_SLAVE", 2.0);
    set_num(l, c"REPL_REPLICA", 2.0);
    set_num(l, c"REPL_ALL", 3.0);
    set_fn(l, c"acl_check_cmd", redis_acl_check_cmd);
    set_fn(l, c"breakpoint", redis_breakpoint);
    set_fn(l, c"debug", redis_debug);
    set_fn(l, c"replicate_commands", redis_replicate_commands);
    ffi::lua_setfield(l, g, c"redis".as_ptr());
}

/// Replace every table reachable from the globals by a read-only proxy, make the
/// globals themselves a proxy (reads of missing names raise), and install it as the
/// environment of everything compiled from now on.
unsafe fn protect_globals(l: State, g: c_int, ro: c_int) {
    // real -> proxy, so shared tables get one proxy and cycles end.
    ffi::lua_newtable(l);
    let seen = ffi::lua_gettop(l);

    // The globals' own metatable: missing names raise.
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_pushcfunction(l, missing_global);
    ffi::lua_setfield(l, -2, c"__index".as_ptr());
    let gmt = ffi::lua_gettop(l);
    new_proxy(l, gmt, ro);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_GLOBALS_MT.as_ptr());
    ffi::lua_pushvalue(l, gmt);
    ffi::lua_setmetatable(l, g);

    new_proxy(l, g, ro);
    let gp = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, g);
    ffi::lua_pushvalue(l, gp);
    ffi::lua_rawset(l, seen);
    ffi::lua_pushvalue(l, gp);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_GLOBALS_PROXY.as_ptr());

    protect_fields(l, g, ro, seen);

    // Method calls on strings go through the read-only string library, and
    // getmetatable('') hands out a read-only view of the strings' metatable.
    ffi::lua_newtable(l);
    let mt_proxies = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, mt_proxies);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_MT_PROXIES.as_ptr());
    ffi::lua_pushliteral(l, c"");
    if ffi::lua_getmetatable(l, -1) != 0 {
        let smt = ffi::lua_gettop(l);
        ffi::lua_getfield_(l, g, c"string".as_ptr());
        ffi::lua_setfield(l, smt, c"__index".as_ptr());
        ffi::lua_pushvalue(l, smt);
        new_proxy(l, smt, ro);
        ffi::lua_rawset(l, mt_proxies);
        ffi::lua_pop(l, 1);
    }
    ffi::lua_pop(l, 2);

    ffi::lua_pushvalue(l, gp);
    ffi::lua_replace(l, ffi::LUA_GLOBALSINDEX);
    ffi::lua_settop(l, seen - 1);
}

/// Push a new proxy of the table at `real` and register it in `ro`.
unsafe fn new_proxy(l: State, real: c_int, ro: c_int) {
    ffi::lua_newtable(l);
    ffi::lua_createtable(l, 0, 2);
    ffi::lua_pushvalue(l, real);
    ffi::lua_setfield(l, -2, c"__index".as_ptr());
    ffi::lua_pushcfunction(l, readonly_newindex);
    ffi::lua_setfield(l, -2, c"__newindex".as_ptr());
    ffi::lua_setmetatable(l, -2);
    ffi::lua_pushvalue(l, -1);
    ffi::lua_pushvalue(l, real);
    ffi::lua_rawset(l, ro);
}

unsafe fn protect_fields(l: State, t: c_int, ro: c_int, seen: c_int) {
    ffi::luaL_checkstack_(l, 6, ptr::null());
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, t) != 0 {
        // stack: key, value
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            let v = ffi::lua_gettop(l);
            ffi::lua_pushvalue(l, v);
            ffi::lua_rawget_(l, seen);
            if ffi::lua_isnil(l, -1) != 0 {
                ffi::lua_pop(l, 1);
                new_proxy(l, v, ro);
                ffi::lua_pushvalue(l, v);
                ffi::lua_pushvalue(l, -2);
                ffi::lua_rawset(l, seen);
                protect_fields(l, v, ro, seen);
            }
            // stack: key, value, proxy; t[key] = proxy (allowed while traversing).
            ffi::lua_pushvalue(l, v - 1);
            ffi::lua_insert(l, -2);
            ffi::lua_rawset(l, t);
        }
        ffi::lua_pop(l, 1);
    }
}

/// If the value at `idx` is a read-only proxy, replace it (in place) by its real table.
/// `ro` is the proxy -> real table (an upvalue).
unsafe fn unproxy(l: State, idx: c_int, ro: c_int) -> bool {
    if ffi::lua_type(l, idx) != ffi::LUA_TTABLE {
        return false;
    }
    ffi::lua_pushvalue(l, idx);
    ffi::lua_rawget_(l, ro);
    if ffi::lua_isnil(l, -1) != 0 {
        ffi::lua_pop(l, 1);
        false
    } else {
        ffi::lua_replace(l, idx);
        true
    }
}

unsafe fn is_proxy(l: State, idx: c_int, ro: c_int) -> bool {
    if ffi::lua_type(l, idx) != ffi::LUA_TTABLE {
        return false;
    }
    ffi::lua_pushvalue(l, idx);
    ffi::lua_rawget_(l, ro);
    let yes = ffi::lua_isnil(l, -1) == 0;
    ffi::lua_pop(l, 1);
    yes
}

// ---------------------------------------------------------------------------
// Read-only tables
// ---------------------------------------------------------------------------

unsafe extern "C-unwind" fn readonly_newindex(l: State) -> c_int {
    raise_positioned(l, READONLY_MSG)
}

unsafe extern "C-unwind" fn missing_global(l: State) -> c_int {
    if ffi::lua_gettop(l) != 2 {
        raise_positioned(l, b"Wrong number of arguments to luaProtectedTableError");
    }
    if ffi::lua_isstring(l, -1) == 0 {
        raise_positioned(
            l,
            b"Second argument to luaProtectedTableError must be a string or number",
        );
    }
    ffi::luaL_where(l, 1);
    ffi::lua_pushliteral(
        l,
        c"Script attempted to access nonexistent global variable '",
    );
    ffi::lua_pushvalue(l, 2);
    ffi::lua_pushliteral(l, c"'");
    ffi::lua_concat(l, 4);
    ffi::lua_error(l)
}

/// Raise "Attempt to modify a readonly table" without position, as Lua's own C
/// functions do when they hit a read-only table.
unsafe fn raise_readonly(l: State) -> ! {
    push_bytes(l, READONLY_MSG);
    ffi::lua_error(l)
}

const RO: c_int = ffi::lua_upvalueindex(1);

unsafe extern "C-unwind" fn ro_rawset(l: State) -> c_int {
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    ffi::luaL_checkany(l, 2);
    ffi::luaL_checkany(l, 3);
    if is_proxy(l, 1, RO) {
        raise_readonly(l);
    }
    ffi::lua_settop(l, 3);
    ffi::lua_rawset(l, 1);
    1
}

unsafe extern "C-unwind" fn ro_rawget(l: State) -> c_int {
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    ffi::luaL_checkany(l, 2);
    ffi::lua_settop(l, 2);
    unproxy(l, 1, RO);
    ffi::lua_rawget_(l, 1);
    1
}

unsafe extern "C-unwind" fn ro_next(l: State) -> c_int {
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    ffi::lua_settop(l, 2);
    unproxy(l, 1, RO);
    if ffi::lua_next(l, 1) != 0 {
        2
    } else {
        ffi::lua_pushnil(l);
        1
    }
}

unsafe extern "C-unwind" fn ro_pairs(l: State) -> c_int {
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(2));
    ffi::lua_pushvalue(l, 1);
    ffi::lua_pushnil(l);
    3
}

unsafe extern "C-unwind" fn ro_setmetatable(l: State) -> c_int {
    let t = ffi::lua_type(l, 2);
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    if t != ffi::LUA_TNIL && t != ffi::LUA_TTABLE {
        ffi::luaL_argerror(l, 2, c"nil or table expected".as_ptr());
    }
    if is_proxy(l, 1, RO) {
        raise_readonly(l);
    }
    if ffi::luaL_getmetafield_(l, 1, c"__metatable".as_ptr()) != 0 {
        raise_positioned(l, b"cannot change a protected metatable");
    }
    ffi::lua_settop(l, 2);
    ffi::lua_setmetatable(l, 1);
    1
}

unsafe extern "C-unwind" fn ro_getmetatable(l: State) -> c_int {
    ffi::luaL_checkany(l, 1);
    if is_proxy(l, 1, RO) {
        ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, REG_GLOBALS_PROXY.as_ptr());
        if ffi::lua_rawequal(l, 1, -1) != 0 {
            ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, REG_GLOBALS_MT.as_ptr());
        } else {
            ffi::lua_pushnil(l);
        }
        return 1;
    }
    if ffi::lua_getmetatable(l, 1) == 0 {
        ffi::lua_pushnil(l);
        return 1;
    }
    ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, REG_MT_PROXIES.as_ptr());
    ffi::lua_pushvalue(l, -2);
    ffi::lua_rawget_(l, -2);
    if ffi::lua_isnil(l, -1) == 0 {
        return 1;
    }
    ffi::lua_pop(l, 3);
    ffi::luaL_getmetafield_(l, 1, c"__metatable".as_ptr());
    1
}

/// `table.insert`, refusing read-only tables.
unsafe extern "C-unwind" fn ro_tinsert(l: State) -> c_int {
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    let mut e = ffi::lua_objlen(l, 1) as i64 + 1;
    let pos;
    match ffi::lua_gettop(l) {
        2 => pos = e,
        3 => {
            pos = ffi::luaL_checkinteger(l, 2) as c_int as i64;
            if pos > e {
                e = pos;
            }
            if is_proxy(l, 1, RO) {
                raise_readonly(l);
            }
            let mut i = e;
            while i > pos {
                ffi::lua_rawgeti_(l, 1, (i - 1) as c_int);
                ffi::lua_rawseti_(l, 1, i as c_int);
                i -= 1;
            }
        }
        _ => {
            raise_positioned(l, b"wrong number of arguments to 'insert'");
        }
    }
    if is_proxy(l, 1, RO) {
        raise_readonly(l);
    }
    ffi::lua_rawseti_(l, 1, pos as c_int);
    0
}

// ---------------------------------------------------------------------------
// pcall, load, loadstring
// ---------------------------------------------------------------------------

/// Redis's global `pcall`: a table error with an `err` field is returned as that string.
unsafe extern "C-unwind" fn redis_pcall_builtin(l: State) -> c_int {
    let argc = ffi::lua_gettop(l);
    if argc == 0 {
        // What Redis's version ends up doing when called without a function.
        ffi::lua_pushboolean(l, 0);
        ffi::lua_pushliteral(l, c"attempt to call a boolean value");
        return 2;
    }
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1);
    if ffi::lua_pcall(l, argc - 1, ffi::LUA_MULTRET, 0) != 0 {
        ffi::lua_remove(l, 1);
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            ffi::lua_getfield_(l, -1, c"err".as_ptr());
            if ffi::lua_isstring(l, -1) != 0 {
                ffi::lua_replace(l, -2);
            }
        }
        ffi::lua_pushboolean(l, 0);
        ffi::lua_insert(l, 1);
    }
    ffi::lua_gettop(l)
}

/// Compile the string at `idx` as text (a leading ESC is not taken as bytecode) and
/// return like Lua's `load_aux`: the function, or nil and the message.
unsafe fn load_text(l: State, idx: c_int, chunkname: *const c_char) -> c_int {
    let mut len = 0usize;
    let mut p = ffi::lua_tolstring(l, idx, &mut len);
    if len > 0 && *p.cast::<u8>() == 0x1b {
        ffi::lua_pushliteral(l, c" ");
        ffi::lua_pushvalue(l, idx);
        ffi::lua_concat(l, 2);
        p = ffi::lua_tolstring(l, -1, &mut len);
    }
    if ffi::luaL_loadbuffer(l, p, len, chunkname) == 0 {
        1
    } else {
        ffi::lua_pushnil(l);
        ffi::lua_insert(l, -2);
        2
    }
}

unsafe extern "C-unwind" fn safe_loadstring(l: State) -> c_int {
    let mut len = 0usize;
    let s = ffi::luaL_checklstring(l, 1, &mut len);
    let name = ffi::luaL_optlstring(l, 2, s, ptr::null_mut());
    load_text(l, 1, name)
}

unsafe extern "C-unwind" fn safe_load(l: State) -> c_int {
    let name = ffi::luaL_optlstring(l, 2, c"=(load)".as_ptr(), ptr::null_mut());
    ffi::luaL_checktype(l, 1, ffi::LUA_TFUNCTION);
    ffi::lua_settop(l, 3);
    ffi::lua_pushliteral(l, c"");
    ffi::lua_replace(l, 3);
    loop {
        ffi::lua_pushvalue(l, 1);
        if ffi::lua_pcall(l, 0, 1, 0) != 0 {
            ffi::lua_pushnil(l);
            ffi::lua_insert(l, -2);
            return 2;
        }
        if ffi::lua_isnil(l, -1) != 0 {
            ffi::lua_pop(l, 1);
            break;
        }
        if ffi::lua_isstring(l, -1) == 0 {
            ffi::lua_pop(l, 1);
            ffi::lua_pushnil(l);
            push_positioned(l, b"reader function must return a string");
            return 2;
        }
        if ffi::lua_objlen(l, -1) == 0 {
            ffi::lua_pop(l, 1);
            break;
        }
        ffi::lua_concat(l, 2);
    }
    load_text(l, 3, name)
}

// ---------------------------------------------------------------------------
// The redis.* API
// ---------------------------------------------------------------------------

unsafe extern "C-unwind" fn redis_call(l: State) -> c_int {
    if call_command(l) {
        ffi::lua_error(l);
    }
    1
}

unsafe extern "C-unwind" fn redis_pcall(l: State) -> c_int {
    call_command(l);
    1
}

/// Collect `redis.call` arguments: strings as they are, numbers as `%.17g`.
unsafe fn collect_args(l: State, argc: c_int) -> Option<OwnedArgs> {
    let mut args = OwnedArgs::default();
    for j in 1..=argc {
        match ffi::lua_type(l, j) {
            ffi::LUA_TNUMBER => args.push(&fmt_g17(ffi::lua_tonumber(l, j))),
            ffi::LUA_TSTRING => args.push(to_bytes(l, j)?),
            _ => return None,
        }
    }
    Some(args)
}

/// Run one `redis.call`/`redis.pcall`; leaves the result on the stack and tells
/// whether it is an error table. Every Rust value is dropped before returning, so
/// the caller may raise.
unsafe fn call_command(l: State) -> bool {
    let argc = ffi::lua_gettop(l);
    if argc == 0 {
        push_error(
            l,
            b"Please specify at least one argument for this redis lib call",
        );
        return true;
    }
    let Some(args) = collect_args(l, argc) else {
        ffi::lua_settop(l, 0);
        push_error(
            l,
            b"Lua redis lib command arguments must be strings or integers",
        );
        return true;
    };
    ffi::lua_settop(l, 0);
    let Some(run) = run_ctx(l) else {
        push_error(
            l,
            b"redis.call/pcall can only be called inside a script invocation",
        );
        return true;
    };
    // A killed script runs no further command; the host refuses writes to a killed
    // script too, which is checked again below.
    if !shared(l).kill.is_killed() {
        let resp = run.resp;
        let reply = match catch_unwind(AssertUnwindSafe(|| run.host.call(args.args(), resp))) {
            Ok(r) => r,
            Err(_) => Reply::Error(Bytes::from_static(b"ERR command failed inside the server")),
        };
        drop(args);
        if !shared(l).kill.is_killed() {
            let is_err = matches!(reply, Reply::Error(_));
            push_reply(l, &reply, resp);
            return is_err;
        }
    }
    start_killed(l, run);
    true
}

/// Stops a killed script: from now on every line raises the kill error, so `pcall`
/// cannot keep it alive. Leaves the error on the stack.
unsafe fn start_killed(l: State, run: &mut RunCtx<'_>) {
    run.killed = true;
    ffi::lua_sethook(l, Some(count_hook), ffi::LUA_MASKLINE, 0);
    push_error(l, KILLED_MSG);
}

unsafe extern "C-unwind" fn redis_sha1hex(l: State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        push_error(l, b"wrong number of arguments");
        ffi::lua_error(l);
    }
    let data = to_bytes(l, 1).unwrap_or(b"");
    let digest = sha1_smol::Sha1::from(data).digest().bytes();
    let mut hex = [0u8; 40];
    for (i, b) in digest.iter().enumerate() {
        hex[2 * i] = b"0123456789abcdef"[(b >> 4) as usize];
        hex[2 * i + 1] = b"0123456789abcdef"[(b & 15) as usize];
    }
    push_bytes(l, &hex);
    1
}

unsafe extern "C-unwind" fn redis_error_reply(l: State) -> c_int {
    if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
        push_error(l, b"wrong number or type of arguments");
        return 1;
    }
    let s = c_str_part(to_bytes(l, -1).unwrap_or(b""));
    if s.first() == Some(&b'-') {
        push_error_buff(l, s);
    } else {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.push(b'-');
        v.extend_from_slice(s);
        push_error_buff(l, &v);
    }
    1
}

unsafe extern "C-unwind" fn redis_status_reply(l: State) -> c_int {
    if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
        push_error(l, b"wrong number or type of arguments");
        return 1;
    }
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_pushliteral(l, c"ok");
    ffi::lua_pushvalue(l, -3);
    ffi::lua_rawset(l, -3);
    1
}

unsafe extern "C-unwind" fn redis_log(l: State) -> c_int {
    match do_log(l) {
        Ok(()) => 0,
        Err(msg) => {
            push_error(l, msg);
            ffi::lua_error(l)
        }
    }
}

unsafe fn do_log(l: State) -> Result<(), &'static [u8]> {
    let argc = ffi::lua_gettop(l);
    if argc < 2 {
        return Err(b"redis.log() requires two arguments or more.");
    }
    if ffi::lua_isnumber(l, 1) == 0 {
        return Err(b"First argument must be a number (log level).");
    }
    let level = match c_int_of(ffi::lua_tonumber(l, 1)) {
        0 => LogLevel::Debug,
        1 => LogLevel::Verbose,
        2 => LogLevel::Notice,
        3 => LogLevel::Warning,
        _ => return Err(b"Invalid debug level."),
    };
    let mut msg = Vec::new();
    for j in 2..=argc {
        if let Some(s) = to_bytes(l, j) {
            if j != 2 {
                msg.push(b' ');
            }
            msg.extend_from_slice(s);
        }
    }
    if let Some(run) = run_ctx(l) {
        let _ = catch_unwind(AssertUnwindSafe(|| run.host.log(level, &msg)));
    }
    Ok(())
}

unsafe extern "C-unwind" fn redis_setresp(l: State) -> c_int {
    let err: &[u8] = if ffi::lua_gettop(l) != 1 {
        b"redis.setresp() requires one argument."
    } else {
        let resp = c_int_of(ffi::lua_tonumber(l, 1));
        if resp == 2 || resp == 3 {
            if let Some(run) = run_ctx(l) {
                run.resp = resp as u8;
            }
            return 0;
        }
        b"RESP version must be 2 or 3."
    };
    push_error(l, err);
    ffi::lua_error(l)
}

unsafe extern "C-unwind" fn redis_set_repl(l: State) -> c_int {
    let err: &[u8] = if ffi::lua_gettop(l) != 1 {
        b"redis.set_repl() requires two arguments."
    } else if c_int_of(ffi::lua_tonumber(l, -1)) as i32 & !3 != 0 {
        b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."
    } else {
        return 0;
    };
    push_error(l, err);
    ffi::lua_error(l)
}

unsafe extern "C-unwind" fn redis_acl_check_cmd(l: State) -> c_int {
    match acl_check(l) {
        Ok(allowed) => {
            ffi::lua_pushboolean(l, allowed as c_int);
            1
        }
        Err(msg) => {
            push_error(l, msg);
            ffi::lua_error(l)
        }
    }
}

unsafe fn acl_check(l: State) -> Result<bool, &'static [u8]> {
    let argc = ffi::lua_gettop(l);
    if argc == 0 {
        return Err(b"Please specify at least one argument for this redis lib call");
    }
    let Some(args) = collect_args(l, argc) else {
        return Err(b"Lua redis lib command arguments must be strings or integers");
    };
    ffi::lua_settop(l, 0);
    let Some(run) = run_ctx(l) else {
        return Ok(true);
    };
    match catch_unwind(AssertUnwindSafe(|| run.host.acl_check(args.args()))) {
        Ok(Some(allowed)) => Ok(allowed),
        Ok(None) => Err(b"Invalid command passed to redis.acl_check_cmd()"),
        Err(_) => Ok(false),
    }
}

unsafe extern "C-unwind" fn redis_breakpoint(l: State) -> c_int {
    ffi::lua_pushboolean(l, 0);
    1
}

unsafe extern "C-unwind" fn redis_debug(_l: State) -> c_int {
    0
}

unsafe extern "C-unwind" fn redis_replicate_commands(l: State) -> c_int {
    ffi::lua_pushboolean(l, 1);
    1
}

unsafe extern "C-unwind" fn math_random(l: State) -> c_int {
    let sh = shared(l);
    let r = (lrand48(&mut sh.rand) % i32::MAX) as f64 / i32::MAX as f64;
    match ffi::lua_gettop(l) {
        0 => ffi::lua_pushnumber(l, r),
        1 => {
            let u = ffi::luaL_checkinteger(l, 1) as c_int;
            if u < 1 {
                ffi::luaL_argerror(l, 1, c"interval is empty".as_ptr());
            }
            ffi::lua_pushnumber(l, (r * u as f64).floor() + 1.0);
        }
        2 => {
            let lo = ffi::luaL_checkinteger(l, 1) as c_int;
            let up = ffi::luaL_checkinteger(l, 2) as c_int;
            if lo > up {
                ffi::luaL_argerror(l, 2, c"interval is empty".as_ptr());
            }
            ffi::lua_pushnumber(l, (r * (up as f64 - lo as f64 + 1.0)).floor() + lo as f64);
        }
        _ => {
            raise_positioned(l, b"wrong number of arguments");
        }
    }
    1
}

unsafe extern "C-unwind" fn math_randomseed(l: State) -> c_int {
    let seed = ffi::luaL_checkinteger(l, 1) as c_int;
    srand48(&mut shared(l).rand, seed);
    0
}

// ---------------------------------------------------------------------------
// Error handler, time-limit hook, results
// ---------------------------------------------------------------------------

/// The script's error handler (`__redis__err__handler`): turns the error into
/// `{err=..., source=..., line=...}`; a non-table error becomes `ERR <tostring(e)>`.
/// The position is that of the function that raised, or of its caller when that
/// was a C function (so `redis.call` errors point at the script line).
unsafe extern "C-unwind" fn err_handler(l: State) -> c_int {
    ffi::lua_settop(l, 1);
    let mut ar: ffi::lua_Debug = std::mem::zeroed();
    let mut have = false;
    if ffi::lua_getstack(l, 1, &mut ar) != 0 {
        ffi::lua_getinfo(l, c"nSl".as_ptr(), &mut ar);
        have = true;
        if !ar.what.is_null() && CStr::from_ptr(ar.what) == c"C" {
            have = ffi::lua_getstack(l, 2, &mut ar) != 0;
            if have {
                ffi::lua_getinfo(l, c"nSl".as_ptr(), &mut ar);
            }
        }
    }
    if ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
        ffi::lua_createtable(l, 0, 3);
        ffi::lua_pushliteral(l, c"ERR ");
        ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, REG_TOSTRING.as_ptr());
        ffi::lua_pushvalue(l, 1);
        ffi::lua_call(l, 1, 1);
        ffi::lua_concat(l, 2);
        ffi::lua_setfield(l, -2, c"err".as_ptr());
        ffi::lua_replace(l, 1);
    }
    if have {
        ffi::lua_pushstring_(l, ar.source);
        ffi::lua_setfield(l, 1, c"source".as_ptr());
        ffi::lua_pushnumber(l, ar.currentline as f64);
        ffi::lua_setfield(l, 1, c"line".as_ptr());
    }
    1
}

unsafe extern "C-unwind" fn count_hook(l: State, _ar: *mut ffi::lua_Debug) {
    let sh = shared(l);
    if sh.run.is_null() {
        return;
    }
    let run = &mut *(sh.run as *mut RunCtx<'_>);
    if !run.killed && !sh.kill.is_killed() {
        return;
    }
    start_killed(l, run);
    ffi::lua_error(l)
}

/// Field `name` of the table at `idx` (raw), as a string if it is a string or number.
unsafe fn field_string(l: State, idx: c_int, name: &CStr) -> Option<Vec<u8>> {
    ffi::lua_pushstring_(l, name.as_ptr());
    ffi::lua_rawget_(l, if idx < 0 { idx - 1 } else { idx });
    let v = if ffi::lua_isstring(l, -1) != 0 {
        to_bytes(l, -1).map(|b| c_str_part(b).to_vec())
    } else {
        None
    };
    ffi::lua_pop(l, 1);
    v
}

/// The reply for a script that failed (error object on the top of the stack).
unsafe fn run_error_reply(l: State, sha: &str) -> Reply {
    if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
        let msg = if ffi::lua_isstring(l, -1) != 0 {
            c_str_part(to_bytes(l, -1).unwrap_or(b"")).to_vec()
        } else {
            b"execution failure".to_vec()
        };
        let mut text = format!("Error running script {sha}, ").into_bytes();
        text.extend_from_slice(&msg[..msg.len().min(100)]);
        return error_from_format(&text);
    }
    let mut text = field_string(l, -1, c"err").unwrap_or_else(|| b"ERR unknown error".to_vec());
    let source = field_string(l, -1, c"source");
    let line = field_string(l, -1, c"line");
    if let (Some(line), Some(source)) = (line, source) {
        text.extend_from_slice(format!(" script: {sha}, on ").as_bytes());
        text.extend_from_slice(&source);
        text.push(b':');
        text.extend_from_slice(&line);
        text.push(b'.');
    }
    Reply::Error(Bytes::from(sanitize_error(&text)))
}

/// A table being converted by [`lua_to_reply`].
enum Frame {
    Array {
        items: Vec<Reply>,
        next: c_int,
    },
    Map {
        pairs: Vec<(Reply, Reply)>,
        key: Option<Reply>,
    },
    Set {
        items: Vec<Reply>,
    },
}

/// Convert the Lua value on the top of the stack into a reply (`luaReplyToRedisReply`).
/// `resp` is the protocol the script selected; the stack is left unchanged.
///
/// Iterative, so a self-referential table cannot overflow the Rust stack; the Lua
/// stack is used exactly as Redis uses it, so nesting ends where Redis's does, with
/// `ERR reached lua stack limit`.
unsafe fn lua_to_reply(l: State, resp: u8) -> Reply {
    let mut frames: Vec<Frame> = Vec::new();
    let mut child: Option<Reply> = None;
    let mut descend = true;
    loop {
        if descend {
            match start_value(l, resp) {
                Ok(r) => child = Some(r),
                Err(f) => {
                    frames.push(f);
                    child = None;
                }
            }
        }
        let Some(frame) = frames.last_mut() else {
            return child.unwrap_or(Reply::Null);
        };
        match step(l, frame, child.take()) {
            None => descend = true,
            Some(done) => {
                frames.pop();
                child = Some(done);
                descend = false;
            }
        }
    }
}

/// The value on the top: a finished reply, or a table to walk (whose iteration
/// state is then pushed above it).
unsafe fn start_value(l: State, resp: u8) -> Result<Reply, Frame> {
    if ffi::lua_checkstack(l, 4) == 0 {
        return Ok(Reply::Error(Bytes::from_static(
            b"ERR reached lua stack limit",
        )));
    }
    Ok(match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => Reply::Bulk(Bytes::copy_from_slice(to_bytes(l, -1).unwrap_or(b""))),
        ffi::LUA_TBOOLEAN => {
            let b = ffi::lua_toboolean(l, -1) != 0;
            if resp == 2 {
                if b { Reply::Int(1) } else { Reply::Null }
            } else {
                Reply::Bool(b)
            }
        }
        ffi::LUA_TNUMBER => Reply::Int(c_ll(ffi::lua_tonumber(l, -1))),
        ffi::LUA_TTABLE => return table_start(l),
        _ => Reply::Null,
    })
}

/// Walk a table one step: take the converted child (None on the first step), then
/// either leave the next value to convert on the top (None) or finish (Some).
unsafe fn step(l: State, frame: &mut Frame, child: Option<Reply>) -> Option<Reply> {
    match frame {
        Frame::Array { items, next } => {
            if let Some(c) = child {
                items.push(c);
                ffi::lua_pop(l, 1);
            }
            ffi::lua_rawgeti_(l, -1, *next);
            if ffi::lua_isnil(l, -1) != 0 {
                ffi::lua_pop(l, 1);
                return Some(Reply::Array(std::mem::take(items)));
            }
            *next = next.wrapping_add(1);
            None
        }
        Frame::Map { pairs, key } => {
            // Stack: table, map, key-copy/value/nil.
            match child {
                Some(k) if key.is_none() => {
                    ffi::lua_pop(l, 1);
                    *key = Some(k);
                    return None;
                }
                Some(v) => {
                    ffi::lua_pop(l, 1);
                    pairs.push((key.take().unwrap_or(Reply::Null), v));
                }
                None => {}
            }
            if ffi::lua_next(l, -2) != 0 {
                ffi::lua_pushvalue(l, -2);
                return None;
            }
            ffi::lua_pop(l, 1);
            Some(Reply::Map(std::mem::take(pairs)))
        }
        Frame::Set { items } => {
            if let Some(c) = child {
                ffi::lua_pop(l, 1);
                items.push(c);
            }
            if ffi::lua_next(l, -2) != 0 {
                ffi::lua_pop(l, 1);
                ffi::lua_pushvalue(l, -1);
                return None;
            }
            ffi::lua_pop(l, 1);
            Some(Reply::Set(std::mem::take(items)))
        }
    }
}

/// The type of raw field `name` of the table on the top, left pushed.
unsafe fn raw_field(l: State, name: &CStr) -> c_int {
    ffi::lua_pushstring_(l, name.as_ptr());
    ffi::lua_rawget_(l, -2);
    ffi::lua_type(l, -1)
}

fn map_crlf(s: &[u8]) -> Bytes {
    s.iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect::<Vec<u8>>()
        .into()
}

/// The special tables (`err`, `ok`, `double`, `big_number`, `verbatim_string`) are
/// replies of their own; `map`, `set` and plain arrays are walked.
unsafe fn table_start(l: State) -> Result<Reply, Frame> {
    if raw_field(l, c"err") == ffi::LUA_TSTRING {
        ffi::lua_pop(l, 1);
        let msg = field_string(l, -1, c"err").unwrap_or_default();
        return Ok(Reply::Error(Bytes::from(sanitize_error(&msg))));
    }
    ffi::lua_pop(l, 1);

    if raw_field(l, c"ok") == ffi::LUA_TSTRING {
        let r = Reply::Simple(map_crlf(c_str_part(to_bytes(l, -1).unwrap_or(b""))));
        ffi::lua_pop(l, 1);
        return Ok(r);
    }
    ffi::lua_pop(l, 1);

    if raw_field(l, c"double") == ffi::LUA_TNUMBER {
        let r = Reply::Double(ffi::lua_tonumber(l, -1));
        ffi::lua_pop(l, 1);
        return Ok(r);
    }
    ffi::lua_pop(l, 1);

    if raw_field(l, c"big_number") == ffi::LUA_TSTRING {
        let r = Reply::BigNumber(map_crlf(to_bytes(l, -1).unwrap_or(b"")));
        ffi::lua_pop(l, 1);
        return Ok(r);
    }
    ffi::lua_pop(l, 1);

    if raw_field(l, c"verbatim_string") == ffi::LUA_TTABLE {
        if raw_field(l, c"format") == ffi::LUA_TSTRING {
            let format = c_str_part(to_bytes(l, -1).unwrap_or(b""));
            let format = Bytes::copy_from_slice(&format[..format.len().min(3)]);
            ffi::lua_pop(l, 1);
            if raw_field(l, c"string") == ffi::LUA_TSTRING {
                let text = Bytes::copy_from_slice(to_bytes(l, -1).unwrap_or(b""));
                ffi::lua_pop(l, 2);
                return Ok(Reply::Verbatim(format, text));
            }
        }
        ffi::lua_pop(l, 1);
    }
    ffi::lua_pop(l, 1);

    if raw_field(l, c"map") == ffi::LUA_TTABLE {
        ffi::lua_pushnil(l);
        return Err(Frame::Map {
            pairs: Vec::new(),
            key: None,
        });
    }
    ffi::lua_pop(l, 1);

    if raw_field(l, c"set") == ffi::LUA_TTABLE {
        ffi::lua_pushnil(l);
        return Err(Frame::Set { items: Vec::new() });
    }
    ffi::lua_pop(l, 1);

    Err(Frame::Array {
        items: Vec::new(),
        next: 1,
    })
}

/// Push a command's reply as the Lua value a script sees (RESP2 rules when `resp`
/// is 2, RESP3 rules when 3).
unsafe fn push_reply(l: State, r: &Reply, resp: u8) {
    if ffi::lua_checkstack(l, 5) == 0 {
        ffi::lua_pushnil(l);
        return;
    }
    let resp3 = resp == 3;
    match r {
        Reply::Ok => push_single_field(l, c"ok", b"OK"),
        Reply::Simple(s) => push_single_field(l, c"ok", s),
        Reply::Error(e) => {
            let mut v = Vec::with_capacity(e.len() + 1);
            v.push(b'-');
            v.extend_from_slice(e);
            push_error_buff(l, &v);
            set_ignore_stats(l);
        }
        Reply::Int(i) => ffi::lua_pushnumber(l, *i as f64),
        Reply::Bulk(b) => push_bytes(l, b),
        Reply::Null | Reply::NullArray => {
            if resp3 {
                ffi::lua_pushnil(l)
            } else {
                ffi::lua_pushboolean(l, 0)
            }
        }
        Reply::Array(items) | Reply::Push(items) => push_array(l, items.iter(), resp),
        Reply::Map(pairs) if !resp3 => push_array(l, pairs.iter().flat_map(|(k, v)| [k, v]), resp),
        Reply::Map(pairs) => {
            ffi::lua_createtable(l, 0, 1);
            ffi::lua_pushliteral(l, c"map");
            ffi::lua_createtable(l, 0, pairs.len().min(1 << 20) as c_int);
            for (k, v) in pairs {
                push_reply(l, k, resp);
                push_reply(l, v, resp);
                set_if_key(l);
            }
            ffi::lua_rawset(l, -3);
        }
        Reply::Set(items) if !resp3 => push_array(l, items.iter(), resp),
        Reply::Set(items) => {
            ffi::lua_createtable(l, 0, 1);
            ffi::lua_pushliteral(l, c"set");
            ffi::lua_createtable(l, 0, items.len().min(1 << 20) as c_int);
            for it in items {
                push_reply(l, it, resp);
                ffi::lua_pushboolean(l, 1);
                set_if_key(l);
            }
            ffi::lua_rawset(l, -3);
        }
        Reply::Double(d) if !resp3 => {
            if d.is_infinite() {
                push_bytes(l, if *d > 0.0 { b"inf" } else { b"-inf" });
            } else {
                push_bytes(l, &fmt_g17(*d));
            }
        }
        Reply::Double(d) => {
            ffi::lua_createtable(l, 0, 1);
            ffi::lua_pushnumber(l, *d);
            ffi::lua_setfield(l, -2, c"double".as_ptr());
        }
        Reply::Bool(b) if !resp3 => ffi::lua_pushnumber(l, if *b { 1.0 } else { 0.0 }),
        Reply::Bool(b) => ffi::lua_pushboolean(l, *b as c_int),
        Reply::BigNumber(s) if !resp3 => push_bytes(l, s),
        Reply::BigNumber(s) => push_single_field(l, c"big_number", s),
        Reply::Verbatim(_, s) if !resp3 => push_bytes(l, s),
        Reply::Verbatim(f, s) => {
            ffi::lua_createtable(l, 0, 1);
            ffi::lua_createtable(l, 0, 2);
            push_bytes(l, s);
            ffi::lua_setfield(l, -2, c"string".as_ptr());
            push_bytes(l, &f[..f.len().min(3)]);
            ffi::lua_setfield(l, -2, c"format".as_ptr());
            ffi::lua_setfield(l, -2, c"verbatim_string".as_ptr());
        }
    }
}

unsafe fn push_single_field(l: State, name: &CStr, value: &[u8]) {
    ffi::lua_createtable(l, 0, 1);
    push_bytes(l, value);
    ffi::lua_setfield(l, -2, name.as_ptr());
}

unsafe fn push_array<'a>(l: State, items: impl Iterator<Item = &'a Reply>, resp: u8) {
    ffi::lua_newtable(l);
    for (i, it) in items.enumerate() {
        push_reply(l, it, resp);
        ffi::lua_rawseti_(l, -2, (i + 1) as c_int);
    }
}

/// `t[k] = v` for the key and value on the top (table below them), skipping keys
/// Lua cannot store (nil).
unsafe fn set_if_key(l: State) {
    if ffi::lua_isnil(l, -2) != 0 {
        ffi::lua_pop(l, 2);
    } else {
        ffi::lua_rawset(l, -3);
    }
}

// ---------------------------------------------------------------------------
// bit (LuaBitOp semantics)
// ---------------------------------------------------------------------------

/// LuaBitOp's argument normalisation: round to an integer and keep the low 32 bits.
unsafe fn bit_arg(l: State, idx: c_int) -> u32 {
    let n = ffi::lua_tonumber(l, idx) + 6_755_399_441_055_744.0;
    let b = n.to_bits() as u32;
    if b == 0 && ffi::lua_isnumber(l, idx) == 0 {
        ffi::luaL_typerror(l, idx, c"number".as_ptr());
    }
    b
}

unsafe fn bit_ret(l: State, b: u32) -> c_int {
    ffi::lua_pushnumber(l, b as i32 as f64);
    1
}

unsafe extern "C-unwind" fn bit_tobit(l: State) -> c_int {
    bit_ret(l, bit_arg(l, 1))
}

unsafe extern "C-unwind" fn bit_bnot(l: State) -> c_int {
    bit_ret(l, !bit_arg(l, 1))
}

unsafe fn bit_fold(l: State, op: fn(u32, u32) -> u32) -> c_int {
    let mut b = bit_arg(l, 1);
    let mut i = ffi::lua_gettop(l);
    while i > 1 {
        b = op(b, bit_arg(l, i));
        i -= 1;
    }
    bit_ret(l, b)
}

unsafe extern "C-unwind" fn bit_band(l: State) -> c_int {
    bit_fold(l, |a, b| a & b)
}

unsafe extern "C-unwind" fn bit_bor(l: State) -> c_int {
    bit_fold(l, |a, b| a | b)
}

unsafe extern "C-unwind" fn bit_bxor(l: State) -> c_int {
    bit_fold(l, |a, b| a ^ b)
}

unsafe fn bit_shift(l: State, op: fn(u32, u32) -> u32) -> c_int {
    let b = bit_arg(l, 1);
    let n = bit_arg(l, 2) & 31;
    bit_ret(l, op(b, n))
}

unsafe extern "C-unwind" fn bit_lshift(l: State) -> c_int {
    bit_shift(l, |b, n| b << n)
}

unsafe extern "C-unwind" fn bit_rshift(l: State) -> c_int {
    bit_shift(l, |b, n| b >> n)
}

unsafe extern "C-unwind" fn bit_arshift(l: State) -> c_int {
    bit_shift(l, |b, n| ((b as i32) >> n) as u32)
}

unsafe extern "C-unwind" fn bit_rol(l: State) -> c_int {
    bit_shift(l, |b, n| b.rotate_left(n))
}

unsafe extern "C-unwind" fn bit_ror(l: State) -> c_int {
    bit_shift(l, |b, n| b.rotate_right(n))
}

unsafe extern "C-unwind" fn bit_bswap(l: State) -> c_int {
    bit_ret(l, bit_arg(l, 1).swap_bytes())
}

unsafe extern "C-unwind" fn bit_tohex(l: State) -> c_int {
    let mut b = bit_arg(l, 1);
    let mut n: i64 = if ffi::lua_isnone(l, 2) != 0 {
        8
    } else {
        bit_arg(l, 2) as i32 as i64
    };
    let digits: &[u8; 16] = if n < 0 {
        n = -n;
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let n = n.min(8) as usize;
    let mut buf = [0u8; 8];
    for i in (0..n).rev() {
        buf[i] = digits[(b & 15) as usize];
        b >>= 4;
    }
    push_bytes(l, &buf[..n]);
    1
}

unsafe fn open_bit(l: State, g: c_int) {
    ffi::lua_newtable(l);
    set_fn(l, c"tobit", bit_tobit);
    set_fn(l, c"bnot", bit_bnot);
    set_fn(l, c"band", bit_band);
    set_fn(l, c"bor", bit_bor);
    set_fn(l, c"bxor", bit_bxor);
    set_fn(l, c"lshift", bit_lshift);
    set_fn(l, c"rshift", bit_rshift);
    set_fn(l, c"arshift", bit_arshift);
    set_fn(l, c"rol", bit_rol);
    set_fn(l, c"ror", bit_ror);
    set_fn(l, c"bswap", bit_bswap);
    set_fn(l, c"tohex", bit_tohex);
    ffi::lua_setfield(l, g, c"bit".as_ptr());
}

// ---------------------------------------------------------------------------
// cjson (encode / decode with lua-cjson's defaults as Redis ships them)
// ---------------------------------------------------------------------------

const JSON_MAX_DEPTH: usize = 1000;

unsafe fn open_cjson(l: State, g: c_int) {
    ffi::lua_newtable(l);
    set_fn(l, c"encode", cjson_encode);
    set_fn(l, c"decode", cjson_decode);
    for name in [
        c"encode_sparse_array",
        c"encode_max_depth",
        c"decode_max_depth",
        c"encode_number_precision",
        c"encode_keep_buffer",
        c"encode_invalid_numbers",
        c"decode_invalid_numbers",
    ] {
        set_fn(l, name, cjson_setting);
    }
    ffi::lua_pushlightuserdata(l, ptr::null_mut());
    ffi::lua_pushvalue(l, -1);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_CJSON_NULL.as_ptr());
    ffi::lua_setfield(l, -2, c"null".as_ptr());
    ffi::lua_pushliteral(l, c"cjson");
    ffi::lua_setfield(l, -2, c"_NAME".as_ptr());
    ffi::lua_pushliteral(l, c"2.1.0");
    ffi::lua_setfield(l, -2, c"_VERSION".as_ptr());
    ffi::lua_setfield(l, g, c"cjson".as_ptr());
}

/// The tuning functions: accepted, settings stay at their defaults.
unsafe extern "C-unwind" fn cjson_setting(l: State) -> c_int {
    ffi::lua_gettop(l)
}

unsafe extern "C-unwind" fn cjson_encode(l: State) -> c_int {
    require_one_argument(l, b"bad argument #1 to 'encode' (expected 1 argument)");
    let result = {
        let mut out = Vec::new();
        json_encode_value(l, &mut out, 0).map(|()| push_bytes(l, &out))
    };
    one_result_or_raise(l, result)
}

/// Raises `message` unless the function got exactly one argument.
unsafe fn require_one_argument(l: State, message: &'static [u8]) {
    if ffi::lua_gettop(l) != 1 {
        raise_positioned(l, message);
    }
}

/// Ends a C function with its one pushed result, or raises the error with the
/// script position. Every Rust value must be dropped before the raise, which
/// unwinds past this frame without running destructors: `result` is by value, and
/// the message is dropped once pushed.
unsafe fn one_result_or_raise(l: State, result: Result<(), String>) -> c_int {
    match result {
        Ok(()) => 1,
        Err(msg) => {
            push_positioned(l, msg.as_bytes());
            drop(msg);
            ffi::lua_error(l)
        }
    }
}

fn json_number(out: &mut Vec<u8>, n: f64) {
    let mut buf = [0u8; 64];
    // SAFETY: buffer large enough for %.14g, NUL-terminated by snprintf.
    let len = unsafe { snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.14g".as_ptr(), n) };
    out.extend_from_slice(&buf[..(len.max(0) as usize).min(63)]);
}

fn json_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

unsafe fn type_name(l: State, idx: c_int) -> String {
    CStr::from_ptr(ffi::lua_typename(l, ffi::lua_type(l, idx)))
        .to_string_lossy()
        .into_owned()
}

/// Encode the value on the top of the stack (left in place).
unsafe fn json_encode_value(l: State, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => json_string(out, to_bytes(l, -1).unwrap_or(b"")),
        ffi::LUA_TNUMBER => {
            let n = ffi::lua_tonumber(l, -1);
            if !n.is_finite() {
                return Err("Cannot serialise number: must not be NaN or Inf".into());
            }
            json_number(out, n);
        }
        ffi::LUA_TBOOLEAN => out.extend_from_slice(if ffi::lua_toboolean(l, -1) != 0 {
            b"true"
        } else {
            b"false"
        }),
        ffi::LUA_TNIL => out.extend_from_slice(b"null"),
        ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(l, -1).is_null() => {
            out.extend_from_slice(b"null")
        }
        ffi::LUA_TTABLE => {
            let depth = depth + 1;
            if depth > JSON_MAX_DEPTH {
                return Err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            if ffi::lua_checkstack(l, 3) == 0 {
                return Err("Cannot serialise, excessive nesting".into());
            }
            match json_array_length(l)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        ffi::lua_rawgeti_(l, -1, i as c_int);
                        let r = json_encode_value(l, out, depth);
                        ffi::lua_pop(l, 1);
                        r?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    ffi::lua_pushnil(l);
                    while ffi::lua_next(l, -2) != 0 {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match ffi::lua_type(l, -2) {
                            ffi::LUA_TSTRING => json_string(out, to_bytes(l, -2).unwrap_or(b"")),
                            ffi::LUA_TNUMBER => {
                                out.push(b'"');
                                json_number(out, ffi::lua_tonumber(l, -2));
                                out.push(b'"');
                            }
                            _ => {
                                let t = type_name(l, -2);
                                ffi::lua_pop(l, 2);
                                return Err(format!(
                                    "Cannot serialise {t}: table key must be a number or string"
                                ));
                            }
                        }
                        out.push(b':');
                        let r = json_encode_value(l, out, depth);
                        ffi::lua_pop(l, 1);
                        if let Err(e) = r {
                            ffi::lua_pop(l, 1);
                            return Err(e);
                        }
                    }
                    out.push(b'}');
                }
            }
        }
        _ => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                type_name(l, -1)
            ));
        }
    }
    Ok(())
}

/// lua-cjson's array test: Some(max index) when every key is a positive integer and
/// the array is not excessively sparse, None for an object.
unsafe fn json_array_length(l: State) -> Result<Option<usize>, String> {
    let mut max = 0f64;
    let mut items = 0usize;
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        let is_index = ffi::lua_type(l, -2) == ffi::LUA_TNUMBER && {
            let k = ffi::lua_tonumber(l, -2);
            k >= 1.0 && k.floor() == k
        };
        if !is_index {
            ffi::lua_pop(l, 2);
            return Ok(None);
        }
        max = max.max(ffi::lua_tonumber(l, -2));
        items += 1;
        ffi::lua_pop(l, 1);
    }
    if max > 10.0 && max > (items * 2) as f64 {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    Ok(Some(max as usize))
}

enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(Vec<u8>),
    Arr(Vec<Json>),
    Obj(Vec<(Vec<u8>, Json)>),
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn found(&self) -> &'static str {
        let rest = &self.s[self.i..];
        match rest.first() {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b',') => "T_COMMA",
            Some(b':') => "T_COLON",
            Some(b'"') => "T_STRING",
            Some(c) if *c == b'-' || c.is_ascii_digit() => "T_NUMBER",
            _ if rest.starts_with(b"true") || rest.starts_with(b"false") => "T_BOOLEAN",
            _ if rest.starts_with(b"null") => "T_NULL",
            _ => "invalid token",
        }
    }

    fn expected(&self, what: &str) -> String {
        format!(
            "Expected {what} but found {} at character {}",
            self.found(),
            self.i + 1
        )
    }

    /// An error inside a string token, reported at the current position.
    fn bad_string(&self, what: &str, problem: &str) -> String {
        format!(
            "Expected {what} but found {problem} at character {}",
            self.i + 1
        )
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        self.ws();
        let rest = &self.s[self.i..];
        match rest.first() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Json::Str(self.string("value")?)),
            Some(b't') if rest.starts_with(b"true") => {
                self.i += 4;
                Ok(Json::Bool(true))
            }
            Some(b'f') if rest.starts_with(b"false") => {
                self.i += 5;
                Ok(Json::Bool(false))
            }
            Some(b'n') if rest.starts_with(b"null") => {
                self.i += 4;
                Ok(Json::Null)
            }
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
            _ => Err(self.expected("value")),
        }
    }

    fn nesting(&self, depth: usize) -> Result<(), String> {
        if depth > JSON_MAX_DEPTH {
            Err(format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.i + 1
            ))
        } else {
            Ok(())
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, String> {
        self.nesting(depth)?;
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Obj(items));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.expected("object key string"));
            }
            let k = self.string("object key string")?;
            self.ws();
            if self.s.get(self.i) != Some(&b':') {
                return Err(self.expected("colon"));
            }
            self.i += 1;
            let v = self.value(depth)?;
            items.push((k, v));
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Obj(items));
                }
                _ => return Err(self.expected("comma or object end")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, String> {
        self.nesting(depth)?;
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json::Arr(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                _ => return Err(self.expected("comma or array end")),
            }
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        while self.i < self.s.len()
            && matches!(
                self.s[self.i],
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
            )
        {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .map(Json::Num)
            .ok_or_else(|| {
                self.i = start;
                self.expected("value")
            })
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }

    fn string(&mut self, what: &str) -> Result<Vec<u8>, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return Err(self.bad_string(what, "unexpected end of string"));
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let Some(&e) = self.s.get(self.i + 1) else {
                        return Err(self.bad_string(what, "unexpected end of string"));
                    };
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let Some(mut cp) = self.hex4(self.i + 2) else {
                                return Err(self.bad_string(what, "invalid unicode escape code"));
                            };
                            self.i += 4;
                            // A high surrogate followed by an escaped low one is one
                            // character.
                            let low = if (0xD800..0xDC00).contains(&cp)
                                && self.s.get(self.i + 2..self.i + 4) == Some(b"\\u")
                            {
                                self.hex4(self.i + 4)
                                    .filter(|lo| (0xDC00..0xE000).contains(lo))
                            } else {
                                None
                            };
                            if let Some(lo) = low {
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                self.i += 6;
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.bad_string(what, "invalid escape code")),
                    }
                    self.i += 2;
                }
                c => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

unsafe fn push_json(l: State, v: &Json) {
    if ffi::lua_checkstack(l, 3) == 0 {
        ffi::lua_pushnil(l);
        return;
    }
    match v {
        Json::Null => ffi::lua_getfield_(l, ffi::LUA_REGISTRYINDEX, REG_CJSON_NULL.as_ptr()),
        Json::Bool(b) => ffi::lua_pushboolean(l, *b as c_int),
        Json::Num(n) => ffi::lua_pushnumber(l, *n),
        Json::Str(s) => push_bytes(l, s),
        Json::Arr(items) => {
            ffi::lua_createtable(l, items.len().min(1 << 20) as c_int, 0);
            for (i, it) in items.iter().enumerate() {
                push_json(l, it);
                ffi::lua_rawseti_(l, -2, (i + 1) as c_int);
            }
        }
        Json::Obj(items) => {
            ffi::lua_createtable(l, 0, items.len().min(1 << 20) as c_int);
            for (k, v) in items {
                push_bytes(l, k);
                push_json(l, v);
                ffi::lua_rawset(l, -3);
            }
        }
    }
}

unsafe extern "C-unwind" fn cjson_decode(l: State) -> c_int {
    require_one_argument(l, b"bad argument #1 to 'decode' (expected 1 argument)");
    // Raises Lua's own type error for an argument that is not a string.
    ffi::luaL_checklstring(l, 1, ptr::null_mut());
    let result = {
        let text = to_bytes(l, 1).unwrap_or(b"");
        let mut p = JsonParser { s: text, i: 0 };
        p.value(0).and_then(|v| {
            p.ws();
            if p.i < text.len() {
                Err(p.expected("the end"))
            } else {
                push_json(l, &v);
                Ok(())
            }
        })
    };
    one_result_or_raise(l, result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    // The Celery scripts, shared with the integration tests.
    const NONE: &[&[u8]] = &[];

    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/common/celery_scripts.rs"
    ));

    /// A tiny in-memory server: strings, sets and sorted sets, and a fixed clock.
    #[derive(Default)]
    struct FakeHost {
        strings: HashMap<Vec<u8>, Vec<u8>>,
        sets: HashMap<Vec<u8>, HashSet<Vec<u8>>>,
        zsets: HashMap<Vec<u8>, BTreeMap<Vec<u8>, f64>>,
        time: (u64, u64),
        calls: Vec<Vec<Vec<u8>>>,
        logs: Vec<(LogLevel, Vec<u8>)>,
        kill_on_call: Option<Arc<KillSwitch>>,
    }

    fn bulk(s: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s))
    }

    fn err(s: &str) -> Reply {
        Reply::Error(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn parse_score(s: &[u8]) -> Option<f64> {
        match s {
            b"-inf" => Some(f64::NEG_INFINITY),
            b"+inf" | b"inf" => Some(f64::INFINITY),
            _ => std::str::from_utf8(s).ok()?.parse().ok(),
        }
    }

    impl FakeHost {
        fn with_time(secs: u64, micros: u64) -> Self {
            FakeHost {
                time: (secs, micros),
                ..Default::default()
            }
        }

        fn exists(&self, k: &[u8]) -> bool {
            self.strings.contains_key(k) || self.sets.contains_key(k) || self.zsets.contains_key(k)
        }
    }

    impl ScriptHost for FakeHost {
        fn call(&mut self, args: Args<'_>, _resp: u8) -> Reply {
            let args: Vec<Bytes> = args.iter().map(Bytes::copy_from_slice).collect();
            self.calls.push(args.iter().map(|a| a.to_vec()).collect());
            if let Some(k) = &self.kill_on_call {
                k.kill();
            }
            let name = args[0].to_ascii_lowercase();
            let a: Vec<&[u8]> = args[1..].iter().map(|b| b.as_ref()).collect();
            match (name.as_slice(), a.as_slice()) {
                (b"ping", []) => Reply::Simple(Bytes::from_static(b"PONG")),
                (b"get", [k]) => match self.strings.get(*k) {
                    Some(v) => bulk(v),
                    None => Reply::Null,
                },
                (b"set", [k, v]) => {
                    self.strings.insert(k.to_vec(), v.to_vec());
                    Reply::Ok
                }
                (b"incr", [k]) => {
                    let cur = self.strings.get(*k).cloned().unwrap_or(b"0".to_vec());
                    match std::str::from_utf8(&cur)
                        .ok()
                        .and_then(|s| s.parse::<i64>().ok())
                    {
                        Some(n) => {
                            self.strings
                                .insert(k.to_vec(), (n + 1).to_string().into_bytes());
                            Reply::Int(n + 1)
                        }
                        None => err("ERR value is not an integer or out of range"),
                    }
                }
                (b"del", keys) => {
                    let mut n = 0;
                    for k in keys {
                        let had = self.exists(k);
                        self.strings.remove(*k);
                        self.sets.remove(*k);
                        self.zsets.remove(*k);
                        n += had as i64;
                    }
                    Reply::Int(n)
                }
                (b"exists", keys) => {
                    Reply::Int(keys.iter().filter(|k| self.exists(k)).count() as i64)
                }
                (b"sadd", [k, members @ ..]) => {
                    let s = self.sets.entry(k.to_vec()).or_default();
                    Reply::Int(members.iter().filter(|m| s.insert(m.to_vec())).count() as i64)
                }
                (b"zadd", [k, rest @ ..]) => {
                    let (gt, rest) = match rest {
                        [opt, tail @ ..] if opt.eq_ignore_ascii_case(b"GT") => (true, tail),
                        _ => (false, rest),
                    };
                    let z = self.zsets.entry(k.to_vec()).or_default();
                    let mut added = 0;
                    for pair in rest.chunks(2) {
                        let Some(score) = parse_score(pair[0]) else {
                            return err("ERR value is not a valid float");
                        };
                        match z.get(pair[1]) {
                            Some(old) if gt && score <= *old => {}
                            Some(_) => {
                                z.insert(pair[1].to_vec(), score);
                            }
                            None => {
                                z.insert(pair[1].to_vec(), score);
                                added += 1;
                            }
                        }
                    }
                    Reply::Int(added)
                }
                (b"zrangebyscore", [k, min, max, b"LIMIT", off, count]) => {
                    let (min, max) = (parse_score(min).unwrap(), parse_score(max).unwrap());
                    let off: usize = std::str::from_utf8(off).unwrap().parse().unwrap();
                    let count: usize = std::str::from_utf8(count).unwrap().parse().unwrap();
                    let mut items: Vec<(f64, Vec<u8>)> = self
                        .zsets
                        .get(*k)
                        .map(|z| z.iter().map(|(m, s)| (*s, m.clone())).collect())
                        .unwrap_or_default();
                    items.sort_by(|x, y| x.partial_cmp(y).unwrap());
                    Reply::Array(
                        items
                            .into_iter()
                            .filter(|(s, _)| *s >= min && *s <= max)
                            .skip(off)
                            .take(count)
                            .map(|(_, m)| bulk(&m))
                            .collect(),
                    )
                }
                (b"zrem", [k, members @ ..]) => {
                    let z = self.zsets.entry(k.to_vec()).or_default();
                    let n = members.iter().filter(|m| z.remove(**m).is_some()).count();
                    if z.is_empty() {
                        self.zsets.remove(*k);
                    }
                    Reply::Int(n as i64)
                }
                (b"zscore", [k, m]) => match self.zsets.get(*k).and_then(|z| z.get(*m)) {
                    Some(s) => Reply::Double(*s),
                    None => Reply::Null,
                },
                (b"hgetall", [_]) => Reply::Map(vec![(bulk(b"a"), bulk(b"1"))]),
                (b"smembers", [_]) => Reply::Set(vec![bulk(b"x")]),
                (b"time", []) => Reply::Array(vec![
                    bulk(self.time.0.to_string().as_bytes()),
                    bulk(self.time.1.to_string().as_bytes()),
                ]),
                (b"wrongtype", _) => {
                    err("WRONGTYPE Operation against a key holding the wrong kind of value")
                }
                (b"echo", [v]) => bulk(v),
                (b"fancy", []) => Reply::Array(vec![
                    Reply::Bool(true),
                    Reply::BigNumber(Bytes::from_static(b"12345678901234567890")),
                    Reply::Verbatim(Bytes::from_static(b"txt"), Bytes::from_static(b"hi")),
                    Reply::Double(f64::INFINITY),
                    Reply::NullArray,
                ]),
                // What the server's checks answer for a command it does not know.
                _ => err("ERR Unknown Redis command called from script"),
            }
        }

        fn log(&mut self, level: LogLevel, message: &[u8]) {
            self.logs.push((level, message.to_vec()));
        }

        fn acl_check(&mut self, args: Args<'_>) -> Option<bool> {
            (args[0].eq_ignore_ascii_case(b"get")).then_some(true)
        }
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn eval(e: &mut ScriptEngine, h: &mut FakeHost, body: &str) -> Reply {
        e.eval(body.as_bytes(), NONE, NONE, h)
    }

    fn eval1(body: &str) -> Reply {
        eval(
            &mut ScriptEngine::new(),
            &mut FakeHost::with_time(1, 2),
            body,
        )
    }

    fn err_text(r: Reply) -> String {
        match r {
            Reply::Error(e) => String::from_utf8(e.to_vec()).unwrap(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn celery_script_sha1s() {
        let mut e = ScriptEngine::new();
        assert_eq!(
            e.load(LOCK_RELEASE).unwrap(),
            "c3f8721cbb97f72bc19e972846bd7aaf91901658"
        );
        assert_eq!(
            e.load(REFRESH_BINDING).unwrap(),
            "ef7a9e205fbaf46bf959e1522ff796622fc676c7"
        );
        assert_eq!(
            e.load(SWEEP_BINDINGS).unwrap(),
            "9a2b966a0a2d2d0e36ec32bc30fc89342b94a4bf"
        );
        assert_eq!(e.script_count(), 3);
        assert!(e.exists(b"C3F8721CBB97F72BC19E972846BD7AAF91901658"));
        assert!(!e.exists(b"c3f8721cbb97f72bc19e972846bd7aaf9190165"));
        assert_eq!(
            e.body(b"c3f8721cbb97f72bc19e972846bd7aaf91901658")
                .unwrap()
                .as_ref(),
            LOCK_RELEASE
        );
        // Loading again is a cache hit.
        e.load(LOCK_RELEASE).unwrap();
        assert_eq!(e.script_count(), 3);
    }

    #[test]
    fn lock_release() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::default();
        let sha = e.load(LOCK_RELEASE).unwrap();
        h.strings.insert(b"lock".to_vec(), b"tok".to_vec());
        let keys = [b("lock")];
        // Wrong token: nothing deleted.
        assert_eq!(
            e.evalsha(sha.as_bytes(), &keys, &[b("other")], &mut h),
            Some(Reply::Int(0))
        );
        assert_eq!(h.calls, vec![vec![b"get".to_vec(), b"lock".to_vec()]]);
        // Right token: deleted.
        assert_eq!(
            e.evalsha(sha.as_bytes(), &keys, &[b("tok")], &mut h),
            Some(Reply::Int(1))
        );
        assert_eq!(h.calls[2], vec![b"del".to_vec(), b"lock".to_vec()]);
        assert!(!h.strings.contains_key(&b"lock"[..]));
        // Missing key: GET gives false in Lua.
        assert_eq!(
            e.eval(LOCK_RELEASE, &keys, &[b("tok")], &mut h),
            Reply::Int(0)
        );
        assert_eq!(h.calls.len(), 4);
    }

    #[test]
    fn kombu_refresh_binding() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::with_time(1_795_475_386, 548_123);
        let keys = [b("_kombu.binding.celery"), b("_kombu.binding.celery.ttl")];
        let argv = [b("celery\x06\x16\x06\x16celery"), b("celery"), b("10000")];
        let r = e.eval(REFRESH_BINDING, &keys, &argv, &mut h);
        assert_eq!(r, Reply::Null);
        let expect: Vec<Vec<Vec<u8>>> = vec![
            vec![b"SADD".to_vec(), keys[0].to_vec(), argv[0].to_vec()],
            vec![b"TIME".to_vec()],
            vec![
                b"ZADD".to_vec(),
                keys[1].to_vec(),
                b"GT".to_vec(),
                b"1795475396548".to_vec(),
                b"celery".to_vec(),
            ],
        ];
        assert_eq!(h.calls, expect);
        assert_eq!(
            h.zsets[&keys[1].to_vec()][&b"celery".to_vec()],
            1_795_475_396_548.0
        );
    }

    #[test]
    fn kombu_sweep_bindings() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::with_time(1_795_475_386, 548_999);
        let ttl = b"_kombu.binding.ttl".to_vec();
        let z = h.zsets.entry(ttl.clone()).or_default();
        z.insert(b"old1".to_vec(), 1_795_475_000_000.0);
        z.insert(b"old2".to_vec(), 1_795_475_386_548.0);
        z.insert(b"fresh".to_vec(), 1_795_475_386_549.0);
        h.strings
            .insert(b"_kombu.exchange.old1".to_vec(), b"x".to_vec());
        h.sets.insert(
            b"_kombu.binding.old1".to_vec(),
            HashSet::from([b"q".to_vec()]),
        );
        h.sets.insert(
            b"_kombu.binding.old2".to_vec(),
            HashSet::from([b"q".to_vec()]),
        );
        let argv = [b("_kombu.binding."), b("_kombu.exchange."), b("1000")];
        let r = e.eval(SWEEP_BINDINGS, &[b("_kombu.binding.ttl")], &argv, &mut h);
        assert_eq!(r, Reply::Int(2));
        let calls: Vec<Vec<u8>> = h.calls.iter().map(|c| c.join(&b' ')).collect();
        let expect: Vec<&[u8]> = vec![
            b"TIME",
            b"ZRANGEBYSCORE _kombu.binding.ttl -inf 1795475386548 LIMIT 0 1000",
            b"EXISTS _kombu.exchange.old1",
            b"ZREM _kombu.binding.ttl old1",
            b"EXISTS _kombu.exchange.old2",
            b"DEL _kombu.binding.old2",
            b"ZREM _kombu.binding.ttl old2",
        ];
        assert_eq!(calls, expect);
        assert!(h.sets.contains_key(&b"_kombu.binding.old1"[..]));
        assert!(!h.sets.contains_key(&b"_kombu.binding.old2"[..]));
        assert_eq!(h.zsets[&ttl].len(), 1);
        // Nothing overdue any more.
        assert_eq!(
            e.eval(SWEEP_BINDINGS, &[b("_kombu.binding.ttl")], &argv, &mut h),
            Reply::Int(0)
        );
    }

    #[test]
    fn number_arguments_use_percent_17g() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::default();
        let script = "redis.call('echo', 0.1) redis.call('echo', 1795475386548 * 1000) \
                      redis.call('echo', 2^53) redis.call('echo', 1e20)";
        assert_eq!(eval(&mut e, &mut h, script), Reply::Null);
        // Separate chunks: Lua 5.1 folds the constants 0 and -0 into one.
        for s in [
            "redis.call('echo', -0)",
            "redis.call('echo', 1/0)",
            "redis.call('echo', -1/0)",
            "redis.call('echo', 3)",
        ] {
            assert_eq!(eval(&mut e, &mut h, s), Reply::Null);
        }
        let got: Vec<&[u8]> = h.calls.iter().map(|c| c[1].as_slice()).collect();
        let expect: Vec<&[u8]> = vec![
            b"0.10000000000000001",
            b"1795475386548000",
            b"9007199254740992",
            b"1e+20",
            b"-0",
            b"inf",
            b"-inf",
            b"3",
        ];
        assert_eq!(got, expect);
    }

    #[test]
    fn lua_to_reply_conversions() {
        assert_eq!(eval1("return 3.7"), Reply::Int(3));
        assert_eq!(eval1("return -3.7"), Reply::Int(-3));
        assert_eq!(eval1("return 1e20"), Reply::Int(i64::MIN));
        assert_eq!(eval1("return 0/0"), Reply::Int(i64::MIN));
        assert_eq!(eval1("return 'x'"), bulk(b"x"));
        assert_eq!(eval1("return true"), Reply::Int(1));
        assert_eq!(eval1("return false"), Reply::Null);
        assert_eq!(eval1("return nil"), Reply::Null);
        assert_eq!(eval1("local x = 1"), Reply::Null);
        assert_eq!(
            eval1("return {1,2,nil,4}"),
            Reply::Array(vec![Reply::Int(1), Reply::Int(2)])
        );
        assert_eq!(
            eval1("return {1,{2,{3,'x'}},true,false}"),
            Reply::Array(vec![
                Reply::Int(1),
                Reply::Array(vec![
                    Reply::Int(2),
                    Reply::Array(vec![Reply::Int(3), bulk(b"x")])
                ]),
                Reply::Int(1),
                Reply::Null,
            ])
        );
        assert_eq!(eval1("return {ok='x', err='y'}"), err("y"));
        assert_eq!(eval1("return {err=5}"), Reply::Array(vec![]));
        assert_eq!(eval1("return {ok='a\\r\\nb'}"), Reply::Simple(b("a  b")));
        assert_eq!(
            eval1("return {err='My Error\\nline2'}"),
            err("My Error line2")
        );
        assert_eq!(
            eval1("return {1, {err='e'}, {ok='s'}}"),
            Reply::Array(vec![Reply::Int(1), err("e"), Reply::Simple(b("s"))])
        );
        assert_eq!(eval1("return {double=3.5}"), Reply::Double(3.5));
        assert_eq!(
            eval1("return {big_number='123'}"),
            Reply::BigNumber(b("123"))
        );
        assert_eq!(
            eval1("return {verbatim_string={format='txt', string='hi'}}"),
            Reply::Verbatim(b("txt"), b("hi"))
        );
        assert_eq!(
            eval1("return {map={a=1}}"),
            Reply::Map(vec![(bulk(b"a"), Reply::Int(1))])
        );
        assert_eq!(eval1("return {set={a=true}}"), Reply::Set(vec![bulk(b"a")]));
        assert_eq!(eval1("redis.setresp(3) return false"), Reply::Bool(false));
        assert_eq!(eval1("redis.setresp(3) return true"), Reply::Bool(true));
        assert_eq!(
            eval1("return redis.status_reply('FOO')"),
            Reply::Simple(b("FOO"))
        );
        assert_eq!(
            eval1("return redis.error_reply('My Error')"),
            err("My Error")
        );
        assert_eq!(
            eval1("return redis.error_reply('-My Error')"),
            err("My Error")
        );
        assert_eq!(eval1("return redis.error_reply('')"), err("ERR "));
        assert_eq!(
            eval1("return redis.error_reply(1)"),
            err("ERR wrong number or type of arguments")
        );
        assert_eq!(
            eval1("return redis.error_reply('x y')['err']"),
            bulk(b"x y")
        );
        assert_eq!(
            eval1("return redis.error_reply('MYERR foo').err"),
            bulk(b"MYERR foo")
        );
        assert_eq!(
            eval1("return redis.status_reply()"),
            err("ERR wrong number or type of arguments")
        );
        assert_eq!(eval1("local t = {} t[1] = t return #t"), Reply::Int(1));
    }

    #[test]
    fn reply_to_lua_resp2_and_resp3() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::with_time(1_795_479_975, 816_159);
        assert_eq!(
            eval(&mut e, &mut h, "return redis.call('time')"),
            Reply::Array(vec![bulk(b"1795479975"), bulk(b"816159")])
        );
        assert_eq!(
            eval(&mut e, &mut h, "return type(redis.call('time')[1])"),
            bulk(b"string")
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "local v = redis.call('get','nokey') return {type(v), tostring(v)}"
            ),
            Reply::Array(vec![bulk(b"boolean"), bulk(b"false")])
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "redis.setresp(3) return redis.call('get','nokey') == nil"
            ),
            Reply::Bool(true)
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.call('ping')['ok']"),
            bulk(b"PONG")
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.call('ping')"),
            Reply::Simple(b("PONG"))
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.call('set','a','b')"),
            Reply::Simple(b("OK"))
        );
        // RESP2: a map is a flat array, a double a string.
        assert_eq!(
            eval(&mut e, &mut h, "return redis.call('hgetall','h')"),
            Reply::Array(vec![bulk(b"a"), bulk(b"1")])
        );
        h.zsets
            .entry(b"z".to_vec())
            .or_default()
            .insert(b"m".to_vec(), 1.5);
        assert_eq!(
            eval(&mut e, &mut h, "return redis.call('zscore','z','m')"),
            bulk(b"1.5")
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.call('fancy')"),
            Reply::Array(vec![
                Reply::Int(1),
                bulk(b"12345678901234567890"),
                bulk(b"hi"),
                bulk(b"inf"),
                Reply::Null
            ])
        );
        // RESP3.
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "redis.setresp(3) return redis.call('hgetall','h')"
            ),
            Reply::Map(vec![(bulk(b"a"), bulk(b"1"))])
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "redis.setresp(3) local t = redis.call('hgetall','h') return {type(t.map), t.map.a}"
            ),
            Reply::Array(vec![bulk(b"table"), bulk(b"1")])
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "redis.setresp(3) return redis.call('zscore','z','m')"
            ),
            Reply::Double(1.5)
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "redis.setresp(3) return redis.call('zscore','z','m').double"
            ),
            Reply::Int(1)
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "redis.setresp(3) return redis.call('smembers','s')"
            ),
            Reply::Set(vec![bulk(b"x")])
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "redis.setresp(3) return redis.call('fancy')"
            ),
            Reply::Array(vec![
                Reply::Bool(true),
                Reply::BigNumber(b("12345678901234567890")),
                Reply::Verbatim(b("txt"), b("hi")),
                Reply::Double(f64::INFINITY)
            ])
        );
        // The protocol goes back to 2 for the next script.
        assert_eq!(eval(&mut e, &mut h, "return false"), Reply::Null);
    }

    #[test]
    fn call_errors() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::default();
        let sha = |s: &str| sha1hex(s.as_bytes());
        let s = "return redis.call('nosuch')";
        assert_eq!(
            err_text(eval(&mut e, &mut h, s)),
            format!(
                "ERR Unknown Redis command called from script script: {}, on @user_script:1.",
                sha(s)
            )
        );
        let s = "return redis.call()";
        assert_eq!(
            err_text(eval(&mut e, &mut h, s)),
            format!(
                "ERR Please specify at least one argument for this redis lib call script: {}, on @user_script:1.",
                sha(s)
            )
        );
        assert_eq!(
            err_text(eval(&mut e, &mut h, "return redis.pcall()")),
            "ERR Please specify at least one argument for this redis lib call"
        );
        // Redis's checks (arity, noscript, ...) are the host's; its refusals reach
        // the script as command errors.
        assert_eq!(h.calls, vec![vec![b"nosuch".to_vec()]]);

        h.strings.insert(b"s".to_vec(), b"foo".to_vec());
        let s = "local function f()\n  return redis.call('incr','s')\nend\nreturn f()";
        assert_eq!(
            err_text(eval(&mut e, &mut h, s)),
            format!(
                "ERR value is not an integer or out of range script: {}, on @user_script:2.",
                sha(s)
            )
        );
        assert_eq!(
            err_text(eval(&mut e, &mut h, "return redis.pcall('incr','s')")),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.pcall('incr','s')['err']"),
            bulk(b"ERR value is not an integer or out of range")
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "local t = redis.pcall('incr','s'); local r = {} for k,v in pairs(t) do table.insert(r, k..'='..tostring(v)) end table.sort(r) return r"
            ),
            Reply::Array(vec![
                bulk(b"err=ERR value is not an integer or out of range"),
                bulk(b"ignore_error_stats_update=true")
            ])
        );
        assert_eq!(
            err_text(eval(&mut e, &mut h, "return redis.pcall('wrongtype')")),
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        // Lua's pcall gets the message string, not the table.
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "local ok, e = pcall(redis.call, 'incr', 's'); return {tostring(ok), e}"
            ),
            Reply::Array(vec![
                bulk(b"false"),
                bulk(b"ERR value is not an integer or out of range")
            ])
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "local ok, e = pcall(redis.call, 'set', 'a', {}); return e"
            ),
            bulk(b"ERR Lua redis lib command arguments must be strings or integers")
        );
        for arg in ["{}", "nil", "true"] {
            let s = format!("return redis.call('set', 'a', {arg})");
            assert_eq!(
                err_text(eval(&mut e, &mut h, &s)),
                format!(
                    "ERR Lua redis lib command arguments must be strings or integers script: {}, on @user_script:1.",
                    sha(&s)
                )
            );
        }
        assert_eq!(
            eval(&mut e, &mut h, "return {pcall()}"),
            Reply::Array(vec![Reply::Null, bulk(b"attempt to call a boolean value")])
        );
        assert_eq!(
            eval(&mut e, &mut h, "return {pcall(error)}"),
            Reply::Array(vec![Reply::Null])
        );
    }

    #[test]
    fn runtime_and_compile_errors() {
        let sha = |s: &str| sha1hex(s.as_bytes());
        let cases: Vec<(&str, String)> = vec![
            ("\n\nerror('x')", "ERR user_script:3: x".into()),
            (
                "local t = {} \nt.x.y = 1",
                "ERR user_script:2: attempt to index field 'x' (a nil value)".into(),
            ),
            ("error('x', 0)", "ERR x".into()),
            ("error(42)", "ERR user_script:1: 42".into()),
            ("error(nil)", "ERR nil".into()),
            ("error(true)", "ERR true".into()),
            ("error({err='boom'})", "boom".into()),
            ("error({err=5})", "5".into()),
            ("error({err='x', source='S', line=7})", "x".into()),
            (
                "x = 1",
                "ERR user_script:1: Attempt to modify a readonly table".into(),
            ),
            (
                "rawset(_G, 'x', 1)",
                "ERR Attempt to modify a readonly table".into(),
            ),
            (
                "setmetatable(_G, nil)",
                "ERR Attempt to modify a readonly table".into(),
            ),
            (
                "string.x = 1",
                "ERR user_script:1: Attempt to modify a readonly table".into(),
            ),
            (
                "redis.call = nil",
                "ERR user_script:1: Attempt to modify a readonly table".into(),
            ),
            (
                "KEYS = 1",
                "ERR user_script:1: Attempt to modify a readonly table".into(),
            ),
            (
                "table.insert(string, 1)",
                "ERR Attempt to modify a readonly table".into(),
            ),
            (
                "return y",
                "ERR user_script:1: Script attempted to access nonexistent global variable 'y'"
                    .into(),
            ),
            (
                "return print",
                "ERR user_script:1: Script attempted to access nonexistent global variable 'print'"
                    .into(),
            ),
            (
                "redis.setresp(4)",
                "ERR RESP version must be 2 or 3.".into(),
            ),
            (
                "redis.setresp()",
                "ERR redis.setresp() requires one argument.".into(),
            ),
            (
                "redis.log(redis.LOG_WARNING)",
                "ERR redis.log() requires two arguments or more.".into(),
            ),
            (
                "redis.log('x', 'y')",
                "ERR First argument must be a number (log level).".into(),
            ),
            ("redis.log(99, 'y')", "ERR Invalid debug level.".into()),
            (
                "return redis.sha1hex()",
                "ERR wrong number of arguments".into(),
            ),
            (
                "return redis.set_repl()",
                "ERR redis.set_repl() requires two arguments.".into(),
            ),
            (
                "return redis.set_repl(99)",
                "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."
                    .into(),
            ),
            (
                "return math.random(1,2,3)",
                "ERR user_script:1: wrong number of arguments".into(),
            ),
            (
                "return math.random(0)",
                "ERR user_script:1: bad argument #1 to 'random' (interval is empty)".into(),
            ),
            (
                "return math.random('x')",
                "ERR user_script:1: bad argument #1 to 'random' (number expected, got string)"
                    .into(),
            ),
        ];
        for (body, msg) in cases {
            let line = body.matches('\n').count() + 1;
            assert_eq!(
                err_text(eval1(body)),
                format!("{msg} script: {}, on @user_script:{line}.", sha(body)),
                "script {body:?}"
            );
        }
        // Where redis-server 7.0.15 crashes, answer as later versions do.
        assert_eq!(
            err_text(eval1("error({})")),
            format!(
                "ERR unknown error script: {}, on @user_script:1.",
                sha("error({})")
            )
        );
        assert_eq!(
            err_text(eval1("return loadstring('x = 1')()")),
            format!(
                "ERR [string \"x = 1\"]:1: Attempt to modify a readonly table script: {}, on x = 1:1.",
                sha("return loadstring('x = 1')()")
            )
        );
        // Compile errors.
        let mut e = ScriptEngine::new();
        assert_eq!(
            err_text(e.load(b"return 1 +").unwrap_err()),
            "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
        );
        assert_eq!(
            err_text(e.load(b"\x1bLuaQ\x00").unwrap_err()),
            "ERR Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'"
        );
        assert_eq!(e.script_count(), 0);
        assert_eq!(
            eval1("local ok, e = loadstring(string.char(27)..'LuaQ') return {tostring(ok), e}"),
            Reply::Array(vec![
                bulk(b"nil"),
                bulk(b"[string \"\x1bLuaQ\"]:1: unexpected symbol near 'char(27)'")
            ])
        );
        assert_eq!(
            eval1(
                "local s = string.char(27)..'LuaQ'; local i = 0; return {load(function() i = i + 1; if i == 1 then return s end end)}"
            ),
            Reply::Array(vec![])
        );
        assert_eq!(eval1("return loadstring('return 1+1')()"), Reply::Int(2));
        assert_eq!(
            eval1(
                "local i = 0 return load(function() i = i + 1 if i == 1 then return 'return ' elseif i == 2 then return '7' end end)()"
            ),
            Reply::Int(7)
        );
        assert_eq!(
            eval1("local f, e = loadstring('bad code here') return e"),
            bulk(b"[string \"bad code here\"]:1: '=' expected near 'code'")
        );
    }

    #[test]
    fn evalsha_noscript_and_flush() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::default();
        assert_eq!(
            e.evalsha(
                b"0000000000000000000000000000000000000000",
                NONE,
                NONE,
                &mut h
            ),
            None
        );
        assert_eq!(e.evalsha(b"abc", NONE, NONE, &mut h), None);
        let sha = e.load(b"return ARGV[1]").unwrap();
        assert_eq!(
            e.evalsha(sha.to_uppercase().as_bytes(), NONE, &[b("v")], &mut h),
            Some(bulk(b"v"))
        );
        assert!(e.memory_bytes() > 0);
        assert!(e.scripts_memory_bytes() >= 40 + 14);
        e.flush();
        assert_eq!(e.script_count(), 0);
        assert_eq!(e.scripts_memory_bytes(), 0);
        assert!(!e.exists(sha.as_bytes()));
        assert_eq!(e.evalsha(sha.as_bytes(), NONE, NONE, &mut h), None);
        assert_eq!(
            e.eval(b"return ARGV[1]", NONE, &[b("w")], &mut h),
            bulk(b"w")
        );
    }

    #[test]
    fn keys_argv_and_sandbox() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::default();
        let r = e.eval(
            b"return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}",
            &[b("k1"), b("k2")],
            &[b("a1")],
            &mut h,
        );
        assert_eq!(
            r,
            Reply::Array(vec![
                bulk(b"k1"),
                bulk(b"k2"),
                bulk(b"a1"),
                Reply::Int(2),
                Reply::Int(1)
            ])
        );
        assert_eq!(e.eval(b"return #KEYS", NONE, NONE, &mut h), Reply::Int(0));
        assert_eq!(
            e.eval(b"KEYS[1] = 'z' return KEYS[1]", &[b("k")], NONE, &mut h),
            bulk(b"z")
        );
        let globals = "local r = {} for k,v in pairs(_G) do r[#r+1] = k end table.sort(r) return r";
        let names: Vec<Reply> = [
            "ARGV",
            "KEYS",
            "_G",
            "_VERSION",
            "__redis__err__handler",
            "assert",
            "bit",
            "cjson",
            "collectgarbage",
            "coroutine",
            "error",
            "gcinfo",
            "getmetatable",
            "ipairs",
            "load",
            "loadstring",
            "math",
            "next",
            "pairs",
            "pcall",
            "rawequal",
            "rawget",
            "rawset",
            "redis",
            "select",
            "setmetatable",
            "string",
            "table",
            "tonumber",
            "tostring",
            "type",
            "unpack",
            "xpcall",
        ]
        .iter()
        .map(|n| bulk(n.as_bytes()))
        .collect();
        assert_eq!(eval(&mut e, &mut h, globals), Reply::Array(names));
        let redis_fields =
            "local r = {} for k,v in pairs(redis) do r[#r+1] = k end table.sort(r) return r";
        let names: Vec<Reply> = [
            "LOG_DEBUG",
            "LOG_NOTICE",
            "LOG_VERBOSE",
            "LOG_WARNING",
            "REDIS_VERSION",
            "REDIS_VERSION_NUM",
            "REPL_ALL",
            "REPL_AOF",
            "REPL_NONE",
            "REPL_REPLICA",
            "REPL_SLAVE",
            "acl_check_cmd",
            "breakpoint",
            "call",
            "debug",
            "error_reply",
            "log",
            "pcall",
            "replicate_commands",
            "set_repl",
            "setresp",
            "sha1hex",
            "status_reply",
        ]
        .iter()
        .map(|n| bulk(n.as_bytes()))
        .collect();
        assert_eq!(eval(&mut e, &mut h, redis_fields), Reply::Array(names));
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL, redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING, redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}"
            ),
            Reply::Array(vec![
                Reply::Int(0),
                Reply::Int(1),
                Reply::Int(2),
                Reply::Int(2),
                Reply::Int(3),
                Reply::Int(0),
                Reply::Int(1),
                Reply::Int(2),
                Reply::Int(3),
                bulk(b"7.0.15"),
                Reply::Int(458767),
            ])
        );
        for g in [
            "os", "io", "require", "dofile", "loadfile", "getfenv", "setfenv", "newproxy", "debug",
            "module", "struct", "cmsgpack",
        ] {
            assert!(
                matches!(
                    eval(&mut e, &mut h, &format!("return {g}")),
                    Reply::Error(_)
                ),
                "{g}"
            );
        }
        assert_eq!(eval(&mut e, &mut h, "return _VERSION"), bulk(b"Lua 5.1"));
        assert_eq!(eval(&mut e, &mut h, "return ('abc'):upper()"), bulk(b"ABC"));
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "return rawget(string, 'upper') == string.upper"
            ),
            Reply::Int(1)
        );
        assert_eq!(
            eval(&mut e, &mut h, "return tostring(getmetatable(_G) ~= nil)"),
            bulk(b"true")
        );
        assert_eq!(
            eval(&mut e, &mut h, "return getmetatable(string)"),
            Reply::Null
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "local t = setmetatable({}, {__index = function() return 5 end}) return t.x"
            ),
            Reply::Int(5)
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "local t = {} rawset(t, 'a', 1) table.insert(t, 'x') return {t.a, t[1]}"
            ),
            Reply::Array(vec![Reply::Int(1), bulk(b"x")])
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.replicate_commands()"),
            Reply::Int(1)
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.breakpoint()"),
            Reply::Null
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.set_repl(redis.REPL_ALL)"),
            Reply::Null
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.acl_check_cmd('get','x')"),
            Reply::Int(1)
        );
        assert!(matches!(
            eval(&mut e, &mut h, "return redis.acl_check_cmd('nosuch')"),
            Reply::Error(_)
        ));
        // Nothing a script does leaks into the next one.
        assert!(matches!(
            eval(&mut e, &mut h, "rawset(_G, 'leak', 1)"),
            Reply::Error(_)
        ));
        assert!(matches!(
            eval(&mut e, &mut h, "table.insert(string, 'x')"),
            Reply::Error(_)
        ));
        assert_eq!(eval(&mut e, &mut h, "return #string"), Reply::Int(0));
        assert!(matches!(
            eval(&mut e, &mut h, "getmetatable('').__index = nil"),
            Reply::Error(_)
        ));
        assert!(matches!(
            eval(&mut e, &mut h, "rawset(getmetatable(''), '__index', nil)"),
            Reply::Error(_)
        ));
        assert_eq!(
            eval(&mut e, &mut h, "return getmetatable('').__index == string"),
            Reply::Int(1)
        );
        assert_eq!(eval(&mut e, &mut h, "return ('x'):rep(2)"), bulk(b"xx"));
        assert!(matches!(
            eval(&mut e, &mut h, "return leak"),
            Reply::Error(_)
        ));
    }

    #[test]
    fn sha1hex_log_and_random() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::default();
        assert_eq!(
            eval(&mut e, &mut h, "return redis.sha1hex('')"),
            bulk(b"da39a3ee5e6b4b0d3255bfef95601890afd80709")
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.sha1hex(12)"),
            bulk(b"7b52009b64fd0a2a49e6d8a939753077792b0554")
        );
        assert_eq!(
            eval(&mut e, &mut h, "return redis.sha1hex({})"),
            bulk(b"da39a3ee5e6b4b0d3255bfef95601890afd80709")
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "return redis.log(redis.LOG_WARNING, 'hello', 'world', 3, {})"
            ),
            Reply::Null
        );
        assert_eq!(h.logs, vec![(LogLevel::Warning, b"hello world 3".to_vec())]);
        // Same sequence as a fresh redis-server.
        assert_eq!(
            eval(&mut e, &mut h, "return math.random(1000)"),
            Reply::Int(397)
        );
        assert_eq!(
            eval(&mut e, &mut h, "return tostring(math.random())"),
            bulk(b"0.84048536971234")
        );
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "math.randomseed(42); return {math.random(1,100), math.random(1,100)}"
            ),
            Reply::Array(vec![Reply::Int(75), Reply::Int(35)])
        );
    }

    #[test]
    fn script_kill() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::default();
        let kill = e.kill_switch();
        assert_eq!(kill.kill(), KillOutcome::NotBusy);
        let body = "local i = 0\nwhile true do\n  i = i + 1\nend";
        let k = Arc::clone(&kill);
        let t = std::thread::spawn(move || {
            while k.kill() == KillOutcome::NotBusy {
                std::thread::yield_now();
            }
        });
        let r = eval(&mut e, &mut h, body);
        t.join().unwrap();
        let text = err_text(r);
        assert!(
            text.starts_with(&format!(
                "ERR Script killed by user with SCRIPT KILL... script: {}, on @user_script:",
                sha1hex(body.as_bytes())
            )),
            "{text}"
        );
        assert!(!kill.is_running());
        // pcall cannot keep a killed script alive.
        h.kill_on_call = Some(Arc::clone(&kill));
        let body =
            "redis.pcall('ping')\nwhile true do\n  pcall(function() while true do end end)\nend";
        let text = err_text(eval(&mut e, &mut h, body));
        assert!(
            text.starts_with("ERR Script killed by user with SCRIPT KILL... script: "),
            "{text}"
        );
        // A kill between scripts hits nothing.
        h.kill_on_call = None;
        assert_eq!(kill.kill(), KillOutcome::NotBusy);
        assert_eq!(
            eval(
                &mut e,
                &mut h,
                "local n = 0 for i = 1, 300000 do n = n + 1 end return n"
            ),
            Reply::Int(300000)
        );
    }

    #[test]
    fn a_script_that_wrote_cannot_be_killed_and_a_killed_one_cannot_write() {
        let switch = KillSwitch::default();
        switch.start();
        assert!(switch.note_write());
        assert_eq!(switch.kill(), KillOutcome::Unkillable);
        assert!(switch.note_write());
        switch.force_kill();
        assert!(!switch.note_write());
        switch.finish();
        switch.start();
        assert_eq!(switch.kill(), KillOutcome::Killed);
        assert!(!switch.note_write());
        assert_eq!(switch.kill(), KillOutcome::Killed);
        switch.finish();
        assert_eq!(switch.kill(), KillOutcome::NotBusy);
    }

    #[test]
    fn shebang_flags() {
        let mut e = ScriptEngine::new();
        let mut h = FakeHost::default();
        let sha = e
            .load(b"#!lua flags=no-writes,allow-stale\nreturn 1")
            .unwrap();
        let flags = e.find(sha.as_bytes()).unwrap().1;
        assert!(flags.shebang && flags.no_writes && flags.allow_stale && !flags.allow_oom);
        assert_eq!(e.eval(b"#!lua\nreturn error('x')", NONE, NONE, &mut h), {
            let s = sha1hex(b"#!lua\nreturn error('x')");
            err(&format!(
                "ERR user_script:2: x script: {s}, on @user_script:2."
            ))
        });
        assert_eq!(
            err_text(e.load(b"#!lua").unwrap_err()),
            "ERR Invalid script shebang"
        );
        assert_eq!(
            err_text(e.load(b"#!py\n").unwrap_err()),
            "ERR Unexpected engine in script shebang: #!py"
        );
        assert_eq!(
            err_text(e.load(b"#!lua flags=bad\n").unwrap_err()),
            "ERR Unexpected flag in script shebang: bad"
        );
        assert_eq!(
            err_text(e.load(b"#!lua x=1\n").unwrap_err()),
            "ERR Unknown lua shebang option: x=1"
        );
        let plain = e.load(b"return 1").unwrap();
        assert!(!e.find(plain.as_bytes()).unwrap().1.shebang);
    }

    #[test]
    fn bit_and_cjson() {
        assert_eq!(
            eval1(
                "return {bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(3, 1), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.rol(1, 33), bit.tobit(2^32 + 5), bit.bswap(0x12345678)}"
            ),
            Reply::Array(vec![
                Reply::Int(15),
                Reply::Int(7),
                Reply::Int(2),
                Reply::Int(-1),
                Reply::Int(-2147483648),
                Reply::Int(15),
                Reply::Int(-4),
                Reply::Int(2),
                Reply::Int(5),
                Reply::Int(0x78563412),
            ])
        );
        assert_eq!(
            eval1("return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 2)}"),
            Reply::Array(vec![bulk(b"000000ff"), bulk(b"FFFF"), bulk(b"34")])
        );
        assert_eq!(
            eval1("return cjson.encode({1, 2, 'x/y', true})"),
            bulk(b"[1,2,\"x\\/y\",true]")
        );
        assert_eq!(eval1("return cjson.encode({})"), bulk(b"{}"));
        assert_eq!(
            eval1("return cjson.encode({a={b=0.5}})"),
            bulk(b"{\"a\":{\"b\":0.5}}")
        );
        assert_eq!(eval1("return cjson.encode(cjson.null)"), bulk(b"null"));
        assert_eq!(
            eval1(
                "local t = cjson.decode('{\"a\":[1,2,{\"b\":null}],\"c\":\"\\\\u00e9\"}') return {t.a[2], t.a[3].b == cjson.null, t.c}"
            ),
            Reply::Array(vec![Reply::Int(2), Reply::Int(1), bulk("é".as_bytes())])
        );
        assert!(
            err_text(eval1("return cjson.encode(function() end)"))
                .contains("Cannot serialise function: type not supported")
        );
        assert!(
            err_text(eval1("return cjson.decode('[1,')"))
                .contains("Expected value but found T_END at character 4")
        );
    }

    #[test]
    fn self_referential_tables_nest_like_redis() {
        // redis-server 7.0.15 nests 7995 arrays (7992 inside a map) before
        // answering "reached lua stack limit"; this runs on a 2 MB test thread.
        let depth = |mut r: Reply| {
            let mut d = 0;
            loop {
                r = match r {
                    Reply::Array(mut v) => v.pop().unwrap(),
                    Reply::Map(mut m) => m.pop().unwrap().1,
                    last => return (d, last),
                };
                d += 1;
            }
        };
        let limit = err("ERR reached lua stack limit");
        assert_eq!(
            depth(eval1("local t = {} t[1] = t return t")),
            (7995, limit.clone())
        );
        assert_eq!(
            depth(eval1("local t = {} t[1] = t return {map={a=t}}")),
            (7993, limit)
        );
    }

    #[test]
    fn engine_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<ScriptEngine>();
        let mut e = ScriptEngine::new();
        e.load(b"return 1").unwrap();
        let e = std::thread::spawn(move || {
            let mut h = FakeHost::default();
            assert_eq!(e.eval(b"return 1", NONE, NONE, &mut h), Reply::Int(1));
            e
        })
        .join()
        .unwrap();
        assert_eq!(e.script_count(), 1);
    }
}
