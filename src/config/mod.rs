//! Configuration: every option the server knows, its default, how it is parsed and
//! printed, and whether `CONFIG SET` may change it at run time.
//!
//! One table ([`OPTIONS`]) serves the config file, the command line and `CONFIG
//! GET/SET`, so an option is declared once. Redis options that do not apply to
//! broker-server (`list-max-listpack-size`, `save`, ...) are in the table too: they are
//! accepted, stored and reported, so existing redis.conf files and client libraries
//! keep working.

pub mod file;
pub mod rewrite;

use std::path::PathBuf;

use crate::config::rewrite::Rewrite;
use crate::util::numbers::parse_i64;

/// Limits on a class of client's pending output (`client-output-buffer-limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    /// Close at once above this many bytes (0 = no limit).
    pub hard: u64,
    /// Close when above this many bytes for `soft_seconds` in a row (0 = no limit).
    pub soft: u64,
    pub soft_seconds: u64,
}

/// Where log lines go and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
    Nothing,
}

impl LogLevel {
    const NAMES: [(&'static str, LogLevel); 5] = [
        ("debug", LogLevel::Debug),
        ("verbose", LogLevel::Verbose),
        ("notice", LogLevel::Notice),
        ("warning", LogLevel::Warning),
        ("nothing", LogLevel::Nothing),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, l)| *l == self)
            .map(|(n, _)| *n)
            .unwrap_or("notice")
    }
}

/// The server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    /// Addresses to listen on; a leading `-` marks one that may be unavailable.
    pub bind: Vec<String>,
    pub dir: PathBuf,
    pub databases: usize,
    pub maxclients: usize,
    /// Idle seconds before a client is closed (0 = never).
    pub timeout: u64,
    pub requirepass: Option<String>,
    pub protected_mode: bool,
    pub loglevel: LogLevel,
    /// Empty for standard output.
    pub logfile: String,
    /// Runtime worker threads (0 = one per core).
    pub threads: usize,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub pubsub_output_limit: OutputLimit,
    pub tcp_keepalive: u64,
    pub tcp_backlog: u32,
    pub hz: u64,
    /// Milliseconds a script may run before other clients get `-BUSY`.
    pub lua_time_limit: u64,
    /// Commands that run for at least this many microseconds go to the slow log;
    /// negative logs nothing, 0 logs every command.
    pub slowlog_log_slower_than: i64,
    /// How many entries the slow log keeps (the oldest leave first).
    pub slowlog_max_len: u64,
    /// Latency events of at least this many milliseconds are recorded by the
    /// latency monitor; 0 turns it off.
    pub latency_monitor_threshold: u64,
    /// Whether each command's durations are counted for `LATENCY HISTOGRAM`.
    pub latency_tracking: bool,
    /// Whether replies are sent in batches through io_uring where the kernel allows.
    pub io_uring: bool,
    pub notify_keyspace_events: String,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub appendonly: bool,
    pub appendfsync: String,
    pub appendfilename: String,
    pub dbfilename: String,
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: u64,
    /// Microseconds to pause after each record while loading (for tests that need a
    /// slow load; 0 in production). Redis has the same knob.
    pub key_load_delay: u64,
    /// The config file the server was started with, if any.
    pub config_file: Option<PathBuf>,
    /// Values of accepted Redis options that broker-server does not act on, by name.
    pub tolerated: Vec<(&'static str, String)>,
}

/// How one option is parsed, printed and changed.
pub struct OptionSpec {
    pub name: &'static str,
    /// Other names accepted for it (Redis renamed some options).
    pub aliases: &'static [&'static str],
    pub default: &'static str,
    /// Whether `CONFIG SET` may change it.
    pub mutable: bool,
    /// Whether its value is a secret: `CONFIG SET` keeps it out of the slow log.
    pub sensitive: bool,
    set: fn(&mut Config, &str) -> Result<(), String>,
    get: fn(&Config) -> String,
    /// How `CONFIG REWRITE` writes it.
    rewrite: Rewrite,
}

impl OptionSpec {
    /// Declares how `CONFIG REWRITE` writes the option (plain `name value` unless
    /// said otherwise).
    const fn rewrite_as(mut self, rewrite: Rewrite) -> Self {
        self.rewrite = rewrite;
        self
    }

    /// Whether `name` (lower-case) names this option.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }

    /// Applies a value.
    pub fn apply(&self, config: &mut Config, value: &str) -> Result<(), String> {
        (self.set)(config, value)
    }

    /// The current value, as `CONFIG GET` prints it.
    pub fn current(&self, config: &Config) -> String {
        (self.get)(config)
    }
}

/// Parses `yes`/`no`.
fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.into()
}

/// Parses a whole number within bounds.
fn parse_bounded(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let number =
        parse_i64(value.as_bytes()).ok_or("argument couldn't be parsed into an integer")?;
    if number < min || number > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(number)
}

/// Parses a memory size such as `512mb`, `1gb`, `64k` or a plain byte count.
pub fn parse_memory(value: &str) -> Result<u64, String> {
    let lower = value.to_ascii_lowercase();
    let units: [(&str, u64); 8] = [
        ("kb", 1024),
        ("mb", 1024 * 1024),
        ("gb", 1024 * 1024 * 1024),
        ("k", 1000),
        ("m", 1000 * 1000),
        ("g", 1000 * 1000 * 1000),
        ("b", 1),
        ("", 1),
    ];
    for (suffix, factor) in units {
        if let Some(digits) = lower.strip_suffix(suffix) {
            if let Some(number) = parse_i64(digits.as_bytes()).filter(|n| *n >= 0) {
                return (number as u64)
                    .checked_mul(factor)
                    .ok_or_else(|| "argument must be a memory value".into());
            }
        }
    }
    Err("argument must be a memory value".into())
}

fn parse_output_limit(value: &str, config: &mut Config) -> Result<(), String> {
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.is_empty() || words.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    for class in words.chunks(4) {
        let hard = parse_memory(class[1])?;
        let soft = parse_memory(class[2])?;
        let soft_seconds = parse_bounded(class[3], 0, i64::MAX)? as u64;
        match class[0].to_ascii_lowercase().as_str() {
            "pubsub" => {
                config.pubsub_output_limit = OutputLimit {
                    hard,
                    soft,
                    soft_seconds,
                }
            }
            "normal" | "replica" | "slave" => {}
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into());
            }
        }
    }
    Ok(())
}

macro_rules! option {
    ($name:literal, $default:literal, $mutable:expr, |$c:ident, $v:ident| $set:expr, |$g:ident| $get:expr) => {
        OptionSpec {
            name: $name,
            aliases: &[],
            default: $default,
            mutable: $mutable,
            sensitive: false,
            set: |$c: &mut Config, $v: &str| $set,
            get: |$g: &Config| $get,
            rewrite: Rewrite::Plain,
        }
    };
}

macro_rules! tolerated {
    ($name:literal, $default:literal) => {
        OptionSpec {
            name: $name,
            aliases: &[],
            default: $default,
            mutable: true,
            sensitive: false,
            set: |c: &mut Config, v: &str| {
                set_tolerated(c, $name, v);
                Ok(())
            },
            get: |c: &Config| tolerated_value(c, $name, $default),
            rewrite: Rewrite::Plain,
        }
    };
}

fn set_tolerated(config: &mut Config, name: &'static str, value: &str) {
    match config.tolerated.iter_mut().find(|(n, _)| *n == name) {
        Some((_, slot)) => *slot = value.to_string(),
        None => config.tolerated.push((name, value.to_string())),
    }
}

fn tolerated_value(config: &Config, name: &str, default: &str) -> String {
    config
        .tolerated
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| default.to_string())
}

fn memory_text(bytes: u64) -> String {
    bytes.to_string()
}

/// Every option, in the order `config/broker-server.conf` documents them.
pub static OPTIONS: &[OptionSpec] = &[
    option!(
        "port",
        "6379",
        false,
        |c, v| {
            c.port = parse_bounded(v, 0, 65535)? as u16;
            Ok(())
        },
        |c| c.port.to_string()
    ),
    option!(
        "bind",
        "127.0.0.1 -::1",
        false,
        |c, v| {
            c.bind = v.split_whitespace().map(str::to_string).collect();
            Ok(())
        },
        |c| c.bind.join(" ")
    )
    .rewrite_as(Rewrite::Bind),
    option!(
        "protected-mode",
        "yes",
        true,
        |c, v| {
            c.protected_mode = parse_bool(v)?;
            Ok(())
        },
        |c| yes_no(c.protected_mode)
    ),
    OptionSpec {
        name: "requirepass",
        aliases: &[],
        default: "",
        mutable: true,
        sensitive: true,
        set: |c, v| {
            c.requirepass = (!v.is_empty()).then(|| v.to_string());
            Ok(())
        },
        get: |c| c.requirepass.clone().unwrap_or_default(),
        rewrite: Rewrite::Password,
    },
    option!(
        "dir",
        ".",
        true,
        |c, v| {
            c.dir = PathBuf::from(v);
            Ok(())
        },
        |c| c.dir.display().to_string()
    )
    .rewrite_as(Rewrite::Dir),
    option!(
        "databases",
        "16",
        false,
        |c, v| {
            c.databases = parse_bounded(v, 1, i32::MAX as i64)? as usize;
            Ok(())
        },
        |c| c.databases.to_string()
    ),
    option!(
        "maxclients",
        "10000",
        true,
        |c, v| {
            c.maxclients = parse_bounded(v, 1, u32::MAX as i64)? as usize;
            Ok(())
        },
        |c| c.maxclients.to_string()
    ),
    option!(
        "timeout",
        "0",
        true,
        |c, v| {
            c.timeout = parse_bounded(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        },
        |c| c.timeout.to_string()
    ),
    option!(
        "tcp-keepalive",
        "300",
        true,
        |c, v| {
            c.tcp_keepalive = parse_bounded(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        },
        |c| c.tcp_keepalive.to_string()
    ),
    option!(
        "tcp-backlog",
        "511",
        false,
        |c, v| {
            c.tcp_backlog = parse_bounded(v, 0, i32::MAX as i64)? as u32;
            Ok(())
        },
        |c| c.tcp_backlog.to_string()
    ),
    option!(
        "loglevel",
        "notice",
        true,
        |c, v| {
            c.loglevel = LogLevel::NAMES.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(v))
                .map(|(_, l)| *l)
                .ok_or("argument(s) must be one of the following: debug, verbose, notice, warning, nothing")?;
            Ok(())
        },
        |c| c.loglevel.name().to_string()
    ),
    option!(
        "logfile",
        "",
        false,
        |c, v| {
            c.logfile = v.to_string();
            Ok(())
        },
        |c| c.logfile.clone()
    )
    .rewrite_as(Rewrite::Quoted),
    option!(
        "threads",
        "0",
        false,
        |c, v| {
            c.threads = parse_bounded(v, 0, 1024)? as usize;
            Ok(())
        },
        |c| c.threads.to_string()
    ),
    option!(
        "hz",
        "10",
        true,
        |c, v| {
            // Like Redis: any int is accepted and clamped to 1..=500.
            c.hz = parse_bounded(v, 0, i32::MAX as i64)?.clamp(1, 500) as u64;
            Ok(())
        },
        |c| c.hz.to_string()
    ),
    option!(
        "proto-max-bulk-len",
        "536870912",
        true,
        |c, v| {
            let bytes = parse_memory(v)?;
            if bytes < 1024 * 1024 {
                return Err(format!(
                    "argument must be between {} and {} inclusive",
                    1024 * 1024,
                    i64::MAX
                ));
            }
            c.proto_max_bulk_len = bytes;
            Ok(())
        },
        |c| memory_text(c.proto_max_bulk_len)
    )
    .rewrite_as(Rewrite::Memory),
    option!(
        "client-query-buffer-limit",
        "1073741824",
        true,
        |c, v| {
            c.client_query_buffer_limit = parse_memory(v)?.max(1024 * 1024);
            Ok(())
        },
        |c| memory_text(c.client_query_buffer_limit)
    )
    .rewrite_as(Rewrite::Memory),
    option!(
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        true,
        |c, v| parse_output_limit(v, c),
        |c| format!(
            "normal 0 0 0 slave 268435456 67108864 60 pubsub {} {} {}",
            c.pubsub_output_limit.hard,
            c.pubsub_output_limit.soft,
            c.pubsub_output_limit.soft_seconds
        )
    )
    .rewrite_as(Rewrite::OutputLimits),
    OptionSpec {
        name: "lua-time-limit",
        aliases: &["busy-reply-threshold"],
        default: "5000",
        mutable: true,
        sensitive: false,
        set: |c, v| {
            c.lua_time_limit = parse_bounded(v, 0, i64::MAX)? as u64;
            Ok(())
        },
        get: |c| c.lua_time_limit.to_string(),
        rewrite: Rewrite::Plain,
    },
    option!(
        "slowlog-log-slower-than",
        "10000",
        true,
        |c, v| {
            c.slowlog_log_slower_than = parse_bounded(v, -1, i64::MAX)?;
            Ok(())
        },
        |c| c.slowlog_log_slower_than.to_string()
    ),
    option!(
        "slowlog-max-len",
        "128",
        true,
        |c, v| {
            c.slowlog_max_len = parse_bounded(v, 0, i64::MAX)? as u64;
            Ok(())
        },
        |c| c.slowlog_max_len.to_string()
    ),
    option!(
        "latency-monitor-threshold",
        "0",
        true,
        |c, v| {
            c.latency_monitor_threshold = parse_bounded(v, 0, i64::MAX)? as u64;
            Ok(())
        },
        |c| c.latency_monitor_threshold.to_string()
    ),
    option!(
        "latency-tracking",
        "yes",
        true,
        |c, v| {
            c.latency_tracking = parse_bool(v)?;
            Ok(())
        },
        |c| yes_no(c.latency_tracking)
    ),
    option!(
        "io-uring",
        "yes",
        true,
        |c, v| {
            c.io_uring = parse_bool(v)?;
            Ok(())
        },
        |c| yes_no(c.io_uring)
    ),
    option!(
        "notify-keyspace-events",
        "",
        true,
        |c, v| {
            crate::pubsub::notify::parse_flags(v)
                .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
            c.notify_keyspace_events = v.to_string();
            Ok(())
        },
        // Shown in Redis's canonical spelling, which can hide a class (`n` under `A`):
        // the value as set is kept, so no class is lost.
        |c| crate::pubsub::notify::parse_flags(&c.notify_keyspace_events)
            .map(crate::pubsub::notify::flags_to_string)
            .unwrap_or_default()
    )
    .rewrite_as(Rewrite::Events),
    option!(
        "maxmemory",
        "0",
        true,
        |c, v| {
            c.maxmemory = parse_memory(v)?;
            Ok(())
        },
        |c| memory_text(c.maxmemory)
    )
    .rewrite_as(Rewrite::Memory),
    option!(
        "maxmemory-policy",
        "noeviction",
        true,
        |c, v| {
            const POLICIES: [&str; 8] = [
                "volatile-lru",
                "allkeys-lru",
                "volatile-lfu",
                "allkeys-lfu",
                "volatile-random",
                "allkeys-random",
                "volatile-ttl",
                "noeviction",
            ];
            let lower = v.to_ascii_lowercase();
            if !POLICIES.contains(&lower.as_str()) {
                return Err("argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction".into());
            }
            c.maxmemory_policy = lower;
            Ok(())
        },
        |c| c.maxmemory_policy.clone()
    ),
    option!(
        "appendonly",
        "yes",
        true,
        |c, v| {
            c.appendonly = parse_bool(v)?;
            Ok(())
        },
        |c| yes_no(c.appendonly)
    ),
    option!(
        "appendfsync",
        "always",
        true,
        |c, v| {
            let lower = v.to_ascii_lowercase();
            if !["always", "everysec", "no"].contains(&lower.as_str()) {
                return Err(
                    "argument(s) must be one of the following: always, everysec, no".into(),
                );
            }
            c.appendfsync = lower;
            Ok(())
        },
        |c| c.appendfsync.clone()
    ),
    option!(
        "appendfilename",
        "appendonly.aof",
        false,
        |c, v| {
            if v.is_empty() || v.contains('/') {
                return Err("appendfilename can't be a path, just a filename".into());
            }
            c.appendfilename = v.to_string();
            Ok(())
        },
        |c| c.appendfilename.clone()
    )
    .rewrite_as(Rewrite::Quoted),
    option!(
        "dbfilename",
        "dump.snap",
        true,
        |c, v| {
            if v.is_empty() || v.contains('/') {
                return Err("dbfilename can't be a path, just a filename".into());
            }
            c.dbfilename = v.to_string();
            Ok(())
        },
        |c| c.dbfilename.clone()
    )
    .rewrite_as(Rewrite::Quoted),
    option!(
        "auto-aof-rewrite-percentage",
        "100",
        true,
        |c, v| {
            c.auto_aof_rewrite_percentage = parse_bounded(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        },
        |c| c.auto_aof_rewrite_percentage.to_string()
    ),
    option!(
        "auto-aof-rewrite-min-size",
        "67108864",
        true,
        |c, v| {
            c.auto_aof_rewrite_min_size = parse_memory(v)?;
            Ok(())
        },
        |c| memory_text(c.auto_aof_rewrite_min_size)
    )
    .rewrite_as(Rewrite::Memory),
    option!(
        "key-load-delay",
        "0",
        true,
        |c, v| {
            c.key_load_delay = parse_bounded(v, 0, 1_000_000)? as u64;
            Ok(())
        },
        |c| c.key_load_delay.to_string()
    ),
    tolerated!("save", "").rewrite_as(Rewrite::Save),
    tolerated!("daemonize", "no"),
    tolerated!("supervised", "no"),
    tolerated!("pidfile", "").rewrite_as(Rewrite::Quoted),
    tolerated!("io-threads", "1"),
    tolerated!("io-threads-do-reads", "no"),
    tolerated!("stop-writes-on-bgsave-error", "yes"),
    tolerated!("rdbcompression", "yes"),
    tolerated!("rdbchecksum", "yes"),
    tolerated!("activerehashing", "yes"),
    tolerated!("lazyfree-lazy-eviction", "no"),
    tolerated!("lazyfree-lazy-expire", "no"),
    tolerated!("lazyfree-lazy-server-del", "no"),
    tolerated!("lazyfree-lazy-user-del", "no"),
    tolerated!("lazyfree-lazy-user-flush", "no"),
    tolerated!("list-max-listpack-size", "-2"),
    tolerated!("list-max-ziplist-size", "-2"),
    tolerated!("list-compress-depth", "0"),
    tolerated!("hash-max-listpack-entries", "512"),
    tolerated!("hash-max-listpack-value", "64"),
    tolerated!("hash-max-ziplist-entries", "512"),
    tolerated!("hash-max-ziplist-value", "64"),
    tolerated!("set-max-intset-entries", "512"),
    tolerated!("zset-max-listpack-entries", "128"),
    tolerated!("zset-max-listpack-value", "64"),
    tolerated!("zset-max-ziplist-entries", "128"),
    tolerated!("zset-max-ziplist-value", "64"),
    tolerated!("stream-node-max-bytes", "4096"),
    tolerated!("stream-node-max-entries", "100"),
    tolerated!("maxmemory-samples", "5"),
    tolerated!("aof-use-rdb-preamble", "yes"),
    tolerated!("aof-load-truncated", "yes"),
    tolerated!("no-appendfsync-on-rewrite", "no"),
    tolerated!("repl-diskless-sync", "yes"),
    tolerated!("replica-read-only", "yes"),
    tolerated!("unixsocket", "").rewrite_as(Rewrite::Quoted),
    tolerated!("unixsocketperm", "0"),
    tolerated!("always-show-logo", "no"),
    tolerated!("set-proc-title", "yes"),
    tolerated!("enable-debug-command", "no"),
    tolerated!("enable-module-command", "no"),
    tolerated!("close-on-replica-write", "yes"),
    tolerated!("appenddirname", "appendonlydir").rewrite_as(Rewrite::Quoted),
];

/// Finds an option by name (case-insensitive).
pub fn find_option(name: &str) -> Option<&'static OptionSpec> {
    let lower = name.to_ascii_lowercase();
    OPTIONS.iter().find(|spec| spec.is_named(&lower))
}

impl Default for Config {
    /// Every option at its default.
    fn default() -> Self {
        let mut config = Config {
            port: 0,
            bind: Vec::new(),
            dir: PathBuf::new(),
            databases: 0,
            maxclients: 0,
            timeout: 0,
            requirepass: None,
            protected_mode: true,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            threads: 0,
            proto_max_bulk_len: 0,
            client_query_buffer_limit: 0,
            pubsub_output_limit: OutputLimit {
                hard: 0,
                soft: 0,
                soft_seconds: 0,
            },
            tcp_keepalive: 0,
            tcp_backlog: 0,
            hz: 0,
            lua_time_limit: 0,
            slowlog_log_slower_than: 0,
            slowlog_max_len: 0,
            latency_monitor_threshold: 0,
            latency_tracking: false,
            io_uring: false,
            notify_keyspace_events: String::new(),
            maxmemory: 0,
            maxmemory_policy: String::new(),
            appendonly: false,
            appendfsync: String::new(),
            appendfilename: String::new(),
            dbfilename: String::new(),
            auto_aof_rewrite_percentage: 0,
            auto_aof_rewrite_min_size: 0,
            key_load_delay: 0,
            config_file: None,
            tolerated: Vec::new(),
        };
        for spec in OPTIONS {
            spec.apply(&mut config, spec.default)
                .unwrap_or_else(|e| panic!("default of {} is invalid: {e}", spec.name));
        }
        config
    }
}

impl Config {
    /// Sets one option by name, as the config file, the command line and `CONFIG SET`
    /// do.
    ///
    /// # Returns
    /// An error naming the option and the problem.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let spec = find_option(name).ok_or_else(|| format!("unknown option '{name}'"))?;
        spec.apply(self, value)
            .map_err(|problem| format!("invalid value '{value}' for '{}': {problem}", spec.name))
    }

    /// The current value of an option, if it exists.
    pub fn get(&self, name: &str) -> Option<String> {
        find_option(name).map(|spec| spec.current(self))
    }

    /// Whether clients must authenticate.
    pub fn auth_required(&self) -> bool {
        self.requirepass.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_redis() {
        let config = Config::default();
        assert_eq!(config.port, 6379);
        assert_eq!(config.databases, 16);
        assert_eq!(config.maxclients, 10000);
        assert_eq!(config.proto_max_bulk_len, 512 * 1024 * 1024);
        assert_eq!(config.pubsub_output_limit.hard, 32 * 1024 * 1024);
        assert_eq!(config.get("save").as_deref(), Some(""));
        assert_eq!(config.get("busy-reply-threshold").as_deref(), Some("5000"));
    }

    #[test]
    fn durable_by_default() {
        let config = Config::default();
        assert!(config.appendonly);
        assert_eq!(config.appendfsync, "always");
    }

    #[test]
    fn set_validates_and_names_the_option() {
        let mut config = Config::default();
        assert!(config.set("PORT", "7000").is_ok());
        assert_eq!(config.port, 7000);
        let error = config.set("port", "seventy").unwrap_err();
        assert!(error.contains("'port'"), "{error}");
        assert!(
            config
                .set("no-such-thing", "1")
                .unwrap_err()
                .contains("no-such-thing")
        );
        assert!(config.set("list-max-listpack-size", "128").is_ok());
        assert_eq!(config.get("list-max-listpack-size").as_deref(), Some("128"));
    }

    #[test]
    fn slowlog_and_latency_options_are_validated_like_redis() {
        let mut config = Config::default();
        assert_eq!(config.slowlog_log_slower_than, 10000);
        assert_eq!(config.slowlog_max_len, 128);
        assert_eq!(config.latency_monitor_threshold, 0);
        let spec = find_option("slowlog-log-slower-than").unwrap();
        assert_eq!(
            spec.apply(&mut config, "-2"),
            Err("argument must be between -1 and 9223372036854775807 inclusive".into())
        );
        for bad in ["abc", "10k", "+5", "05", "1.5", "9223372036854775808"] {
            assert_eq!(
                spec.apply(&mut config, bad),
                Err("argument couldn't be parsed into an integer".into()),
                "{bad}"
            );
        }
        config.set("slowlog-log-slower-than", "-1").unwrap();
        assert_eq!(config.get("slowlog-log-slower-than").as_deref(), Some("-1"));
        assert_eq!(
            find_option("slowlog-max-len")
                .unwrap()
                .apply(&mut config, "-1"),
            Err("argument must be between 0 and 9223372036854775807 inclusive".into())
        );
        assert_eq!(
            find_option("latency-monitor-threshold")
                .unwrap()
                .apply(&mut config, "-1"),
            Err("argument must be between 0 and 9223372036854775807 inclusive".into())
        );
        config.set("latency-monitor-threshold", "100").unwrap();
        assert_eq!(config.latency_monitor_threshold, 100);
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("512mb"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_memory("1GB"), Ok(1024 * 1024 * 1024));
        assert_eq!(parse_memory("100"), Ok(100));
        assert_eq!(parse_memory("2k"), Ok(2000));
        assert!(parse_memory("lots").is_err());
    }

    #[test]
    fn output_limits() {
        let mut config = Config::default();
        config
            .set("client-output-buffer-limit", "pubsub 1mb 512kb 5")
            .unwrap();
        assert_eq!(
            config.pubsub_output_limit,
            OutputLimit {
                hard: 1024 * 1024,
                soft: 512 * 1024,
                soft_seconds: 5
            }
        );
    }
}
