//! Every command error the server can answer, and the one place that turns each into
//! Redis's exact wire text.
//!
//! Clients choose their exception class from the first word (`WRONGTYPE`, `NOSCRIPT`,
//! `EXECABORT`, ...), and test suites compare whole lines, so texts here are copied
//! from Redis 7.0's behaviour exactly, including trailing spaces and missing periods.

use std::borrow::Cow;

use crate::store::StoreError;

/// A command error; the connection stays open.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandError {
    /// The command name is not known; carries the name and arguments as sent.
    UnknownCommand {
        name: Vec<u8>,
        args: Vec<Vec<u8>>,
    },
    /// `container` is the command (upper-cased in the text), `sub` as sent.
    UnknownSubcommand {
        container: String,
        sub: Vec<u8>,
    },
    /// A subcommand whose own argument count is wrong (PUBSUB CHANNELS a b):
    /// `container` upper-cased in the text, `sub` as sent.
    SubcommandSyntax {
        container: String,
        sub: Vec<u8>,
    },
    /// Carries the command's lower-case full name (`get`, `client|setname`).
    WrongArity(String),
    WrongType,
    Syntax,
    NotInteger,
    NotFloat,
    Overflow,
    NanOrInfinity,
    /// `invalid expire time in '<command>' command`
    InvalidExpireTime(String),
    DbIndexOutOfRange,
    NoAuth,
    WrongPass,
    AuthNotConfigured,
    HelloNeedsAuth,
    NoProto,
    ProtocolVersion,
    /// `Syntax error in HELLO option '<option>'`
    HelloOption(Vec<u8>),
    ExecWithoutMulti,
    DiscardWithoutMulti,
    NestedMulti,
    WatchInMulti,
    /// A command flagged `no_multi` (SAVE, SHUTDOWN) sent inside MULTI.
    NotInMulti,
    /// A command refused because memory use is past `maxmemory`.
    OutOfMemory,
    ExecAbort,
    /// A subscribing command run where a reply per command is expected (SSUBSCRIBE
    /// inside EXEC); carries the upper-case command name.
    DenyBlocking(&'static str),
    NoScript,
    Loading,
    MaxClients,
    /// A command refused in RESP2 subscribed mode; carries the lower-case name.
    SubscribedContext(String),
    TimeoutNotFloat,
    /// A timeout in milliseconds that is not an integer (`CLIENT PAUSE`, `WAIT`).
    TimeoutNotInteger,
    TimeoutNegative,
    /// `CLIENT PAUSE` with a mode other than WRITE or ALL.
    PauseMode,
    /// `CONFIG REWRITE` on a server started without a config file.
    NoConfigFile,
    /// `CONFIG REWRITE` failed; carries the system's description of the error.
    ConfigRewrite(String),
    TimeoutOutOfRange,
    /// The reply of a client woken by `CLIENT UNBLOCK id ERROR`.
    Unblocked,
    UnblockReason,
    /// A count that must be zero or more (LPOP/RPOP count).
    MustBePositive,
    /// An integer outside `min..=max` (LPOS RANK).
    OutOfRangeBetween(i64, i64),
    LposRankZero,
    LposCountNegative,
    LposMaxlenNegative,
    NumkeysNotPositive,
    CountNotPositive,
    /// A count outside ±`LONG_MAX` (`SRANDMEMBER`, `HRANDFIELD`, `ZRANDMEMBER`).
    CountOutOfRange,
    /// A count whose pairs would not fit (`HRANDFIELD ... WITHVALUES`).
    ValueOutOfRange,
    /// An increment that is itself NaN or infinite (`HINCRBYFLOAT`).
    ValueNanOrInfinity,
    ScoreNan,
    MinMaxNotFloat,
    MinMaxNotLex,
    ZaddXxAndNx,
    ZaddGtLtNx,
    ZaddIncrPairs,
    /// `LIMIT` given to a rank range.
    LimitNeedsScoreOrLex,
    WithscoresByLex,
    /// `at least 1 input key is needed for '<command>' command`
    NoInputKeys(String),
    WeightNotFloat,
    NumkeysExceedArgs,
    LimitNegative,
    InvalidCursor,
    /// A script has run past `lua-time-limit`; only `ALLOW_BUSY` commands run.
    Busy,
    /// `SCRIPT KILL` with no script running.
    NotBusy,
    /// `SCRIPT KILL` of a script that has written.
    Unkillable,
    /// `redis.call` of a command or subcommand the server does not know.
    ScriptUnknownCommand,
    /// `redis.call` with the wrong number of arguments.
    ScriptWrongArity,
    /// `redis.call` of a command flagged `noscript`.
    ScriptNotAllowed,
    /// A write command from `EVAL_RO` or a `no-writes` script.
    ScriptWriteReadOnly,
    /// `EVAL_RO` of a script whose shebang does not declare `no-writes`.
    ScriptWriteFlagRo,
    NumKeysNegative,
    ScriptFlushMode,
    ScriptDebugMode,
    /// `SCRIPT DEBUG YES|SYNC`: the Lua debugger is not implemented.
    ScriptDebugUnsupported,
    /// `REPLICAOF host port`: broker-server keeps no replicas and follows no master.
    ReplicationUnsupported,
    /// A SETBIT/GETBIT/BITFIELD offset that is no integer, negative, or past
    /// `proto-max-bulk-len` bytes.
    BitOffset,
    /// A SETBIT value other than 0 or 1.
    BitValue,
    /// A BITPOS bit other than 0 or 1.
    BitposBit,
    BitopNotOneKey,
    BitfieldType,
    BitfieldOverflowType,
    /// A write subcommand sent to `BITFIELD_RO`.
    BitfieldReadOnly,
    /// LCS of a key that holds no string.
    LcsWrongType,
    LcsLenAndIdx,
    LcsTooLong,
    /// LCS whose table would exceed `proto-max-bulk-len`.
    LcsTableOverLimit,
    LcsOutOfMemory,
    /// `SLOWLOG GET` with a count that is not an integer of at least -1.
    SlowlogCount,
    /// `LATENCY GRAPH` of an event with no samples; carries the event as sent.
    NoLatencySamples(Vec<u8>),
    /// An ACL subcommand that manages users (or the ACL log), which a server with
    /// one user configured by `requirepass` does not have; carries the upper-case
    /// subcommand name.
    AclSingleUser(String),
    /// `ACL CAT` of a category that does not exist; carries the name as sent.
    AclUnknownCategory(Vec<u8>),
    /// `ACL DRYRUN` for a user that does not exist; carries the name as sent.
    AclNoSuchUser(Vec<u8>),
    /// `ACL DRYRUN` of an unknown command or subcommand; carries the command as sent.
    AclNoSuchCommand(Vec<u8>),
    /// `ACL GENPASS` with a bit count outside 1 to 4096.
    AclGenpassBits,
    /// The system's random source could not be read (`ACL GENPASS`).
    NoRandomSource,
    /// `MEMORY PURGE` that jemalloc refused.
    PurgeRefused,
    /// Any other text, already starting with its error code (`ERR ...`, `BUSY ...`).
    Text(Cow<'static, str>),
    /// An error text quoting bytes the client sent, as built by
    /// [`CommandError::echo`].
    Echo(Vec<u8>),
}

/// `<head><sent><tail>`, with `sent` as C's `%.*s` prints it: cut at `limit` bytes
/// and at the first NUL byte.
fn quoting(head: &str, sent: &[u8], limit: usize, tail: &str) -> Vec<u8> {
    let mut text = head.as_bytes().to_vec();
    text.extend_from_slice(c_string_cut(sent, limit));
    text.extend_from_slice(tail.as_bytes());
    text
}

/// Command names and arguments echoed with `%.128s` are cut to this many bytes.
const ECHO_LIMIT: usize = 128;

impl CommandError {
    /// `ERR <before><sent><after>`, with `sent` as Redis's `%s` prints it: the bytes
    /// as sent, up to the first NUL byte.
    pub fn echo(before: &str, sent: &[u8], after: &str) -> CommandError {
        CommandError::Echo(quoting(&format!("ERR {before}"), sent, usize::MAX, after))
    }

    /// An `ERR` error with free text.
    pub fn err(message: impl Into<String>) -> CommandError {
        CommandError::Text(Cow::Owned(format!("ERR {}", message.into())))
    }

    /// The error line without the leading `-` and the CRLF, as the client reads it.
    /// Texts that echo what the client sent keep its bytes, as Redis's `%.128s`
    /// prints them: cut at 128 bytes or at a NUL byte, whatever their encoding.
    pub fn reply_bytes(&self) -> Cow<'static, [u8]> {
        use CommandError::*;
        // `%.*s`: the bytes sent, cut at `limit` bytes and at the first NUL byte.
        let echo_cut = |head: &str, sent: &[u8], limit: usize, tail: &str| {
            Cow::Owned(quoting(head, sent, limit, tail))
        };
        let echo = |head: &str, sent: &[u8], tail: String| echo_cut(head, sent, ECHO_LIMIT, &tail);
        match self {
            UnknownCommand { name, args } => Cow::Owned(unknown_command_text(name, args)),
            Echo(text) => Cow::Owned(text.clone()),
            HelloOption(option) => echo_cut(
                "ERR Syntax error in HELLO option '",
                option,
                usize::MAX,
                "'",
            ),
            NoLatencySamples(event) => echo_cut(
                "ERR No samples available for event '",
                event,
                usize::MAX,
                "'",
            ),
            AclUnknownCategory(name) => echo_cut("ERR Unknown category '", name, ECHO_LIMIT, "'"),
            AclNoSuchUser(name) => echo_cut("ERR User '", name, usize::MAX, "' not found"),
            AclNoSuchCommand(name) => echo_cut("ERR Command '", name, usize::MAX, "' not found"),
            UnknownSubcommand { container, sub } => echo(
                "ERR unknown subcommand '",
                sub,
                format!("'. Try {} HELP.", container.to_ascii_uppercase()),
            ),
            SubcommandSyntax { container, sub } => echo(
                "ERR unknown subcommand or wrong number of arguments for '",
                sub,
                format!("'. Try {} HELP.", container.to_ascii_uppercase()),
            ),
            _ => match self.reply_text() {
                Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
                Cow::Owned(text) => Cow::Owned(text.into_bytes()),
            },
        }
    }

    /// [`reply_bytes`](Self::reply_bytes) as text, for logs and the places that
    /// carry errors as strings (bytes that are not UTF-8 become U+FFFD).
    pub fn reply_text(&self) -> Cow<'static, str> {
        use CommandError::*;
        Cow::Borrowed(match self {
            UnknownCommand { .. }
            | UnknownSubcommand { .. }
            | SubcommandSyntax { .. }
            | Echo(_)
            | HelloOption(_)
            | NoLatencySamples(_)
            | AclUnknownCategory(_)
            | AclNoSuchUser(_)
            | AclNoSuchCommand(_) => {
                return Cow::Owned(String::from_utf8_lossy(&self.reply_bytes()).into_owned());
            }
            DenyBlocking(name) => {
                return Cow::Owned(format!(
                    "ERR {name} isn't allowed for a DENY BLOCKING client"
                ));
            }
            WrongArity(name) => {
                return Cow::Owned(format!(
                    "ERR wrong number of arguments for '{name}' command"
                ));
            }
            InvalidExpireTime(name) => {
                return Cow::Owned(format!("ERR invalid expire time in '{name}' command"));
            }
            SubscribedContext(name) => {
                return Cow::Owned(format!(
                    "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
                ));
            }
            OutOfRangeBetween(min, max) => {
                return Cow::Owned(format!(
                    "ERR value is out of range, value must between {min} and {max}"
                ));
            }
            NoInputKeys(name) => {
                return Cow::Owned(format!(
                    "ERR at least 1 input key is needed for '{name}' command"
                ));
            }
            ConfigRewrite(cause) => {
                return Cow::Owned(format!("ERR Rewriting config file: {cause}"));
            }
            AclSingleUser(sub) if sub == "LOG" => {
                "ERR ACL LOG is not supported: broker-server keeps no ACL log (it has one user, 'default', configured by requirepass)"
            }
            AclSingleUser(sub) => {
                return Cow::Owned(format!(
                    "ERR ACL {sub} is not supported: broker-server has one user, 'default', configured by requirepass"
                ));
            }
            Text(text) => return text.clone(),
            WrongType => "WRONGTYPE Operation against a key holding the wrong kind of value",
            Syntax => "ERR syntax error",
            NotInteger => "ERR value is not an integer or out of range",
            NotFloat => "ERR value is not a valid float",
            Overflow => "ERR increment or decrement would overflow",
            NanOrInfinity => "ERR increment would produce NaN or Infinity",
            DbIndexOutOfRange => "ERR DB index is out of range",
            NoAuth => "NOAUTH Authentication required.",
            WrongPass => "WRONGPASS invalid username-password pair or user is disabled.",
            AuthNotConfigured => {
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
            }
            HelloNeedsAuth => {
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
            }
            NoProto => "NOPROTO unsupported protocol version",
            ProtocolVersion => "ERR Protocol version is not an integer or out of range",
            ExecWithoutMulti => "ERR EXEC without MULTI",
            DiscardWithoutMulti => "ERR DISCARD without MULTI",
            NestedMulti => "ERR MULTI calls can not be nested",
            WatchInMulti => "ERR WATCH inside MULTI is not allowed",
            NotInMulti => "ERR Command not allowed inside a transaction",
            OutOfMemory => "OOM command not allowed when used memory > 'maxmemory'.",
            ExecAbort => "EXECABORT Transaction discarded because of previous errors.",
            NoScript => "NOSCRIPT No matching script. Please use EVAL.",
            Loading => "LOADING Redis is loading the dataset in memory",
            MaxClients => "ERR max number of clients reached",
            TimeoutNotFloat => "ERR timeout is not a float or out of range",
            TimeoutNotInteger => "ERR timeout is not an integer or out of range",
            TimeoutNegative => "ERR timeout is negative",
            PauseMode => "ERR CLIENT PAUSE mode must be WRITE or ALL",
            NoConfigFile => "ERR The server is running without a config file",
            TimeoutOutOfRange => "ERR timeout is out of range",
            Unblocked => "UNBLOCKED client unblocked via CLIENT UNBLOCK",
            UnblockReason => "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            MustBePositive => "ERR value is out of range, must be positive",
            LposRankZero => {
                "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
            }
            LposCountNegative => "ERR COUNT can't be negative",
            LposMaxlenNegative => "ERR MAXLEN can't be negative",
            NumkeysNotPositive => "ERR numkeys should be greater than 0",
            CountNotPositive => "ERR count should be greater than 0",
            CountOutOfRange => {
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
            }
            ValueOutOfRange => "ERR value is out of range",
            ValueNanOrInfinity => "ERR value is NaN or Infinity",
            ScoreNan => "ERR resulting score is not a number (NaN)",
            MinMaxNotFloat => "ERR min or max is not a float",
            MinMaxNotLex => "ERR min or max not valid string range item",
            ZaddXxAndNx => "ERR XX and NX options at the same time are not compatible",
            ZaddGtLtNx => "ERR GT, LT, and/or NX options at the same time are not compatible",
            ZaddIncrPairs => "ERR INCR option supports a single increment-element pair",
            LimitNeedsScoreOrLex => {
                "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
            }
            WithscoresByLex => {
                "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
            }
            WeightNotFloat => "ERR weight value is not a float",
            NumkeysExceedArgs => "ERR Number of keys can't be greater than number of args",
            LimitNegative => "ERR LIMIT can't be negative",
            InvalidCursor => "ERR invalid cursor",
            Busy => {
                "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
            }
            NotBusy => "NOTBUSY No scripts in execution right now.",
            Unkillable => {
                "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
            }
            ScriptUnknownCommand => "ERR Unknown Redis command called from script",
            ScriptWrongArity => "ERR Wrong number of args calling Redis command from script",
            ScriptNotAllowed => "ERR This Redis command is not allowed from script",
            ScriptWriteReadOnly => "ERR Write commands are not allowed from read-only scripts.",
            ScriptWriteFlagRo => "ERR Can not execute a script with write flag using *_ro command.",
            NumKeysNegative => "ERR Number of keys can't be negative",
            ScriptFlushMode => "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
            ScriptDebugMode => "ERR Use SCRIPT DEBUG YES/SYNC/NO",
            BitOffset => "ERR bit offset is not an integer or out of range",
            BitValue => "ERR bit is not an integer or out of range",
            BitposBit => "ERR The bit argument must be 1 or 0.",
            BitopNotOneKey => "ERR BITOP NOT must be called with a single source key.",
            BitfieldType => {
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
            }
            BitfieldOverflowType => "ERR Invalid OVERFLOW type specified",
            BitfieldReadOnly => "ERR BITFIELD_RO only supports the GET subcommand",
            LcsWrongType => "ERR The specified keys must contain string values",
            LcsLenAndIdx => "ERR If you want both the length and indexes, please just use IDX.",
            LcsTooLong => "ERR String too long for LCS",
            LcsTableOverLimit => {
                "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
            }
            LcsOutOfMemory => "ERR Insufficient memory, failed allocating transient memory for LCS",
            SlowlogCount => "ERR count should be greater than or equal to -1",
            ScriptDebugUnsupported => {
                "ERR SCRIPT DEBUG is not supported by broker-server: the Lua debugger is not implemented"
            }
            AclGenpassBits => {
                "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"
            }
            NoRandomSource => "ERR the system's random source (/dev/urandom) could not be read",
            PurgeRefused => "ERR the allocator refused to purge its arenas",
            ReplicationUnsupported => {
                "ERR broker-server does not replicate: only REPLICAOF NO ONE is accepted (it is always a master)"
            }
        })
    }
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::WrongType => CommandError::WrongType,
            StoreError::NotInteger => CommandError::NotInteger,
            StoreError::NotFloat => CommandError::NotFloat,
            StoreError::Overflow => CommandError::Overflow,
            StoreError::NanOrInfinity => CommandError::NanOrInfinity,
            StoreError::IndexOutOfRange => CommandError::err("index out of range"),
            StoreError::NoSuchKey => CommandError::err("no such key"),
            StoreError::StringTooLong => {
                CommandError::err("string exceeds maximum allowed size (proto-max-bulk-len)")
            }
            StoreError::HashValueNotInteger => CommandError::err("hash value is not an integer"),
            StoreError::HashValueNotFloat => CommandError::err("hash value is not a float"),
            StoreError::ScoreNan => CommandError::ScoreNan,
            StoreError::Busy => CommandError::Busy,
        }
    }
}

/// `ERR unknown command 'FOO', with args beginning with: 'a' 'b' `: the name cut to
/// 128 bytes, then arguments appended (each cut to fit) while the list is shorter
/// than 128 bytes; every argument is followed by a space.
fn unknown_command_text(name: &[u8], args: &[Vec<u8>]) -> Vec<u8> {
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(c_string_cut(name, ECHO_LIMIT));
    text.extend_from_slice(b"', with args beginning with: ");
    let listed_from = text.len();
    for arg in args {
        let room = ECHO_LIMIT.saturating_sub(text.len() - listed_from);
        if room == 0 {
            break;
        }
        text.push(b'\'');
        text.extend_from_slice(c_string_cut(arg, room));
        text.extend_from_slice(b"' ");
    }
    text
}

/// What C's `%.*s` prints of `bytes`: at most `limit` bytes, and nothing from the
/// first NUL byte on.
fn c_string_cut(bytes: &[u8], limit: usize) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end.min(limit)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_keeps_the_trailing_space() {
        let error = CommandError::UnknownCommand {
            name: b"FOO".to_vec(),
            args: vec![b"a".to_vec(), b"b".to_vec()],
        };
        assert_eq!(
            error.reply_text(),
            "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
        );
        let bare = CommandError::UnknownCommand {
            name: b"FOO".to_vec(),
            args: vec![],
        };
        assert_eq!(
            bare.reply_text(),
            "ERR unknown command 'FOO', with args beginning with: "
        );
    }

    #[test]
    fn subcommand_texts() {
        let error = CommandError::UnknownSubcommand {
            container: "client".into(),
            sub: b"MAINT_NOTIFICATIONS".to_vec(),
        };
        assert_eq!(
            error.reply_text(),
            "ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP."
        );
        assert_eq!(
            CommandError::WrongArity("client|setname".into()).reply_text(),
            "ERR wrong number of arguments for 'client|setname' command"
        );
    }

    #[test]
    fn acl_management_is_refused_with_the_reason() {
        assert_eq!(
            CommandError::AclSingleUser("SETUSER".into()).reply_text(),
            "ERR ACL SETUSER is not supported: broker-server has one user, 'default', configured by requirepass"
        );
        assert!(
            CommandError::AclSingleUser("LOG".into())
                .reply_text()
                .starts_with("ERR ACL LOG is not supported: broker-server keeps no ACL log")
        );
    }
}
