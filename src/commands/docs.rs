//! Argument documentation for `COMMAND DOCS`, declared as one syntax string per
//! command.
//!
//! Each [`CommandSpec`] carries its arguments the way redis.io prints a command's
//! syntax, for example SET's
//! `key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]`.
//! [`arguments`] parses every string once, into the tree Redis reports under
//! `arguments` in `COMMAND DOCS`: each node has a name, a type (`key`, `string`,
//! `integer`, `double`, `pattern`, `unix-time`, `pure-token`, `oneof`, `block`), an
//! optional token and the flags `optional`, `multiple` and `multiple_token`.
//! redis-cli builds its interactive hints from that tree, and tools such as
//! RedisInsight read it for completion.
//!
//! # Notation
//! * `name`: an argument. Its type comes from its name (`key`, `newkey`, `source` and
//!   `destination` are keys; `pattern` is a pattern; `unix-time-…` is a Unix time;
//!   `seconds`, `count`, `offset` and similar counts are integers; anything else is a
//!   string), or is written after a colon: `increment:double`. A colon not followed
//!   by a type name is part of the name (`ip:port`).
//! * `TOKEN`: an upper-case word is a literal token. Followed by an argument or by a
//!   required group, it introduces it (`EX seconds`, `SKIPME <YES | NO>`); otherwise
//!   it stands alone (a pure token).
//! * `[ … ]` is optional and `< … >` required; `a | b` inside either is a choice
//!   (`oneof`). A group holding several arguments is a `block`; one that starts
//!   with a token and has several arguments after it is a block introduced by that
//!   token (`[LIMIT offset count]`).
//! * `x [x ...]` repeats `x` (the `multiple` flag). When `x` is several arguments,
//!   they become one repeated block; when `x` starts with its token, the token
//!   repeats too (`multiple_token`).
//! * `]:name` or `>:name` names a group (`[NX | XX]:condition`); unnamed groups are
//!   named after their members.
//!
//! `key_spec_index` is given to key arguments in order of appearance.

use std::sync::LazyLock;

use crate::commands::CommandSpec;
use crate::commands::table::CommandTable;

/// The type of a documented argument, as `COMMAND DOCS` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    Key,
    String,
    Integer,
    Double,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
}

impl ArgType {
    pub fn name(self) -> &'static str {
        match self {
            ArgType::Key => "key",
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf => "oneof",
            ArgType::Block => "block",
        }
    }

    fn from_name(name: &str) -> Option<ArgType> {
        Some(match name {
            "key" => ArgType::Key,
            "string" => ArgType::String,
            "integer" => ArgType::Integer,
            "double" => ArgType::Double,
            "pattern" => ArgType::Pattern,
            "unix-time" => ArgType::UnixTime,
            _ => return None,
        })
    }

    /// The type an argument gets from its name alone.
    fn infer(name: &str) -> ArgType {
        match name {
            "key" | "newkey" | "source" | "destination" => ArgType::Key,
            "pattern" => ArgType::Pattern,
            _ if name.starts_with("unix-time") => ArgType::UnixTime,
            "seconds" | "milliseconds" | "count" | "offset" | "start" | "end" | "increment"
            | "decrement" | "cursor" | "numkeys" | "index" | "index1" | "index2" | "db"
            | "destination-db" | "client-id" | "protover" | "maxage" => ArgType::Integer,
            _ => ArgType::String,
        }
    }
}

/// One node of a command's argument tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocArg {
    pub name: String,
    pub kind: ArgType,
    /// The literal word that introduces the argument (`EX` for `EX seconds`).
    pub token: Option<String>,
    pub optional: bool,
    pub multiple: bool,
    /// With `multiple`: the token is repeated before each repetition.
    pub multiple_token: bool,
    /// For keys: the index of the key specification, counting keys in order.
    pub key_spec_index: Option<usize>,
    /// The members of a `oneof` or `block`.
    pub args: Vec<DocArg>,
}

impl DocArg {
    fn new(name: impl Into<String>, kind: ArgType) -> DocArg {
        DocArg {
            name: name.into(),
            kind,
            token: None,
            optional: false,
            multiple: false,
            multiple_token: false,
            key_spec_index: None,
            args: Vec::new(),
        }
    }

    /// The flags `COMMAND DOCS` lists, in Redis's order.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.optional {
            flags.push("optional");
        }
        if self.multiple {
            flags.push("multiple");
        }
        if self.multiple_token {
            flags.push("multiple_token");
        }
        flags
    }
}

/// Every command's parsed arguments, by command-table index.
static PARSED: LazyLock<Vec<Vec<DocArg>>> = LazyLock::new(|| {
    CommandTable::get()
        .all
        .iter()
        .map(|(name, spec)| {
            parse(spec.syntax)
                .unwrap_or_else(|problem| panic!("bad syntax for '{name}' command: {problem}"))
        })
        .collect()
});

/// The documented arguments of a command or subcommand.
pub fn arguments(spec: &'static CommandSpec) -> &'static [DocArg] {
    &PARSED[CommandTable::get().index(spec)]
}

/// A lexical piece of a syntax string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lexeme {
    Word(String, Option<ArgType>),
    Token(String),
    Ellipsis,
    Open { optional: bool },
    Close { label: Option<String> },
    Pipe,
}

fn lex(syntax: &str) -> Result<Vec<Lexeme>, String> {
    let bytes = syntax.as_bytes();
    let mut lexemes = Vec::new();
    let mut pos = 0;
    let is_word_byte = |b: u8| !b.is_ascii_whitespace() && !b"[]<>|".contains(&b);
    let word_at = |from: usize| {
        let mut end = from;
        while end < bytes.len() && is_word_byte(bytes[end]) {
            end += 1;
        }
        end
    };
    while pos < bytes.len() {
        match bytes[pos] {
            b if b.is_ascii_whitespace() => pos += 1,
            b'[' | b'<' => {
                lexemes.push(Lexeme::Open {
                    optional: bytes[pos] == b'[',
                });
                pos += 1;
            }
            b']' | b'>' => {
                pos += 1;
                let mut label = None;
                if bytes.get(pos) == Some(&b':') {
                    let end = word_at(pos + 1);
                    if end == pos + 1 {
                        return Err(format!("empty group name at byte {pos}"));
                    }
                    label = Some(syntax[pos + 1..end].to_string());
                    pos = end;
                }
                lexemes.push(Lexeme::Close { label });
            }
            b'|' => {
                lexemes.push(Lexeme::Pipe);
                pos += 1;
            }
            _ => {
                let end = word_at(pos);
                let word = &syntax[pos..end];
                pos = end;
                if word == "..." {
                    lexemes.push(Lexeme::Ellipsis);
                } else if word.bytes().any(|b| b.is_ascii_lowercase()) {
                    // A type after the last colon; other colons belong to the name
                    // (`ip:port`).
                    let (name, kind) = match word.rsplit_once(':') {
                        Some((name, kind)) => match ArgType::from_name(kind) {
                            Some(kind) => (name, Some(kind)),
                            None => (word, None),
                        },
                        None => (word, None),
                    };
                    lexemes.push(Lexeme::Word(name.to_string(), kind));
                } else if word.bytes().any(|b| b.is_ascii_uppercase()) {
                    lexemes.push(Lexeme::Token(word.to_string()));
                } else {
                    return Err(format!("cannot read '{word}'"));
                }
            }
        }
    }
    Ok(lexemes)
}

/// A syntax element before tokens are bound and repetitions folded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Raw {
    Word(String, Option<ArgType>),
    Token(String),
    Ellipsis,
    Group {
        optional: bool,
        alternatives: Vec<Vec<Raw>>,
        label: Option<String>,
    },
}

impl Raw {
    /// Whether this group is the `[x ...]` of a repetition.
    fn repeated_part(&self) -> Option<&[Raw]> {
        match self {
            Raw::Group {
                optional: true,
                alternatives,
                label: None,
            } if alternatives.len() == 1 => match alternatives[0].split_last() {
                Some((Raw::Ellipsis, repeated)) if !repeated.is_empty() => Some(repeated),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Reads a sequence up to the end of the input, a `|` or a group's end.
fn read_sequence(lexemes: &[Lexeme], pos: &mut usize) -> Result<Vec<Raw>, String> {
    let mut sequence = Vec::new();
    while let Some(lexeme) = lexemes.get(*pos) {
        match lexeme {
            Lexeme::Pipe | Lexeme::Close { .. } => break,
            Lexeme::Word(name, kind) => sequence.push(Raw::Word(name.clone(), *kind)),
            Lexeme::Token(token) => sequence.push(Raw::Token(token.clone())),
            Lexeme::Ellipsis => sequence.push(Raw::Ellipsis),
            Lexeme::Open { optional } => {
                *pos += 1;
                let mut alternatives = vec![read_sequence(lexemes, pos)?];
                while lexemes.get(*pos) == Some(&Lexeme::Pipe) {
                    *pos += 1;
                    alternatives.push(read_sequence(lexemes, pos)?);
                }
                let Some(Lexeme::Close { label }) = lexemes.get(*pos) else {
                    return Err("a group is never closed".into());
                };
                if alternatives.iter().any(Vec::is_empty) {
                    return Err("empty group or alternative".into());
                }
                sequence.push(Raw::Group {
                    optional: *optional,
                    alternatives,
                    label: label.clone(),
                });
            }
        }
        *pos += 1;
    }
    Ok(sequence)
}

/// Parses a syntax string into its argument tree.
///
/// # Returns
/// The top-level arguments, or what is wrong with the string.
pub fn parse(syntax: &str) -> Result<Vec<DocArg>, String> {
    let lexemes = lex(syntax)?;
    let mut pos = 0;
    let raws = read_sequence(&lexemes, &mut pos)?;
    if pos != lexemes.len() {
        return Err("unbalanced '|' or group end".into());
    }
    let mut args = build_sequence(&raws)?;
    let mut next_key = 0;
    number_keys(&mut args, &mut next_key);
    Ok(args)
}

fn number_keys(args: &mut [DocArg], next: &mut usize) {
    for arg in args {
        if arg.kind == ArgType::Key {
            arg.key_spec_index = Some(*next);
            *next += 1;
        }
        number_keys(&mut arg.args, next);
    }
}

/// Builds a sequence of arguments: binds tokens to what they introduce and folds
/// repetitions.
fn build_sequence(raws: &[Raw]) -> Result<Vec<DocArg>, String> {
    // Each built argument with the number of raw elements it came from.
    let mut built: Vec<(DocArg, usize)> = Vec::new();
    let mut index = 0;
    while index < raws.len() {
        let raw = &raws[index];
        if let Some(repeated) = raw.repeated_part() {
            fold_repetition(&mut built, &raws[..index], repeated)?;
            index += 1;
            continue;
        }
        match raw {
            Raw::Token(token) => {
                let next = raws.get(index + 1);
                let binds = match next {
                    Some(Raw::Word(..)) => true,
                    Some(group @ Raw::Group { optional, .. }) => {
                        !optional && group.repeated_part().is_none()
                    }
                    _ => false,
                };
                if binds {
                    let mut arg = build_one(&raws[index + 1])?;
                    arg.token = Some(token.clone());
                    built.push((arg, 2));
                    index += 2;
                } else {
                    built.push((pure_token(token), 1));
                    index += 1;
                }
            }
            Raw::Ellipsis => return Err("'...' outside a repetition".into()),
            other => {
                built.push((build_one(other)?, 1));
                index += 1;
            }
        }
    }
    Ok(built.into_iter().map(|(arg, _)| arg).collect())
}

fn pure_token(token: &str) -> DocArg {
    let mut arg = DocArg::new(token.to_ascii_lowercase(), ArgType::PureToken);
    arg.token = Some(token.to_string());
    arg
}

/// Marks the arguments built from the raw elements just before a `[x ...]` as
/// repeated, after checking that they are the same `x`.
fn fold_repetition(
    built: &mut Vec<(DocArg, usize)>,
    before: &[Raw],
    repeated: &[Raw],
) -> Result<(), String> {
    if before.len() < repeated.len() || before[before.len() - repeated.len()..] != *repeated {
        return Err(format!(
            "a repetition must follow what it repeats: {repeated:?}"
        ));
    }
    let mut taken = Vec::new();
    let mut covered = 0;
    while covered < repeated.len() {
        let Some((arg, raws)) = built.pop() else {
            return Err("a repetition reaches before the start".into());
        };
        covered += raws;
        taken.push(arg);
    }
    // `TOKEN x [x ...]`: the token introduces only the first repetition.
    let token_once = covered == repeated.len() + 1
        && taken.len() == 1
        && taken[0].token.is_some()
        && !matches!(repeated.first(), Some(Raw::Token(_)));
    if covered != repeated.len() && !token_once {
        return Err("a repetition splits an argument from its token".into());
    }
    taken.reverse();
    let mut arg = if taken.len() == 1 {
        let mut arg = taken.pop().expect("one argument");
        arg.multiple_token = arg.token.is_some() && repeats_token(repeated);
        arg
    } else {
        block(None, taken)
    };
    arg.multiple = true;
    built.push((arg, covered));
    Ok(())
}

/// Whether each repetition of `repeated` starts with its token: `GET pattern
/// [GET pattern ...]`, or one group led by its token, `<GET encoding offset>
/// [<GET encoding offset> ...]`.
fn repeats_token(repeated: &[Raw]) -> bool {
    match repeated {
        [Raw::Token(_), ..] => true,
        [Raw::Group { alternatives, .. }] if alternatives.len() == 1 => {
            matches!(alternatives[0].first(), Some(Raw::Token(_)))
        }
        _ => false,
    }
}

fn block(name: Option<String>, args: Vec<DocArg>) -> DocArg {
    let name = name.unwrap_or_else(|| {
        args.iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("_")
    });
    let mut block = DocArg::new(name, ArgType::Block);
    block.args = args;
    block
}

/// Builds the argument a word or a group stands for.
fn build_one(raw: &Raw) -> Result<DocArg, String> {
    match raw {
        Raw::Word(name, kind) => Ok(DocArg::new(
            name.clone(),
            kind.unwrap_or_else(|| ArgType::infer(name)),
        )),
        Raw::Group {
            optional,
            alternatives,
            label,
        } => {
            let mut arg = if alternatives.len() == 1 {
                build_alternative(&alternatives[0], label.clone())?
            } else {
                let members = alternatives
                    .iter()
                    .map(|alt| build_alternative(alt, None))
                    .collect::<Result<Vec<_>, _>>()?;
                let name = label.clone().unwrap_or_else(|| {
                    members
                        .iter()
                        .map(|a| a.name.as_str())
                        .collect::<Vec<_>>()
                        .join("-")
                });
                let mut oneof = DocArg::new(name, ArgType::OneOf);
                oneof.args = members;
                oneof
            };
            arg.optional |= *optional;
            Ok(arg)
        }
        Raw::Token(token) => Ok(pure_token(token)),
        Raw::Ellipsis => Err("'...' outside a repetition".into()),
    }
}

/// One alternative of a group: a single argument, a token-led block, or a block.
fn build_alternative(raws: &[Raw], label: Option<String>) -> Result<DocArg, String> {
    if let [Raw::Token(token), rest @ ..] = raws {
        if rest.len() >= 2 && rest.iter().all(|r| r.repeated_part().is_none()) {
            let mut arg = block(
                Some(label.unwrap_or_else(|| token.to_ascii_lowercase())),
                build_sequence(rest)?,
            );
            arg.token = Some(token.clone());
            return Ok(arg);
        }
    }
    let mut members = build_sequence(raws)?;
    let mut arg = if members.len() == 1 {
        members.pop().expect("one member")
    } else {
        block(None, members)
    };
    if let Some(label) = label {
        arg.name = label;
    }
    Ok(arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(name: &str, kind: ArgType) -> DocArg {
        DocArg::new(name, kind)
    }

    fn token(mut arg: DocArg, token: &str) -> DocArg {
        arg.token = Some(token.into());
        arg
    }

    fn optional(mut arg: DocArg) -> DocArg {
        arg.optional = true;
        arg
    }

    fn multiple(mut arg: DocArg) -> DocArg {
        arg.multiple = true;
        arg
    }

    fn key(index: usize) -> DocArg {
        let mut key = arg("key", ArgType::Key);
        key.key_spec_index = Some(index);
        key
    }

    fn group(name: &str, kind: ArgType, members: Vec<DocArg>) -> DocArg {
        let mut group = arg(name, kind);
        group.args = members;
        group
    }

    #[test]
    fn set_matches_redis() {
        let parsed = parse(
            "key value [NX | XX]:condition [GET] [EX seconds | PX milliseconds | \
             EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]:expiration",
        )
        .unwrap();
        let expected = vec![
            key(0),
            arg("value", ArgType::String),
            optional(group(
                "condition",
                ArgType::OneOf,
                vec![pure_token("NX"), pure_token("XX")],
            )),
            optional(pure_token("GET")),
            optional(group(
                "expiration",
                ArgType::OneOf,
                vec![
                    token(arg("seconds", ArgType::Integer), "EX"),
                    token(arg("milliseconds", ArgType::Integer), "PX"),
                    token(arg("unix-time-seconds", ArgType::UnixTime), "EXAT"),
                    token(arg("unix-time-milliseconds", ArgType::UnixTime), "PXAT"),
                    pure_token("KEEPTTL"),
                ],
            )),
        ];
        assert_eq!(parsed, expected);
    }

    #[test]
    fn repetitions() {
        assert_eq!(parse("key [key ...]").unwrap(), vec![multiple(key(0))]);
        let mset = parse("key value [key value ...]").unwrap();
        assert_eq!(
            mset,
            vec![multiple(group(
                "key_value",
                ArgType::Block,
                vec![key(0), arg("value", ArgType::String)]
            ))]
        );
        let ids = parse("[ID client-id [client-id ...]]").unwrap();
        assert_eq!(
            ids,
            vec![optional(multiple(token(
                arg("client-id", ArgType::Integer),
                "ID"
            )))]
        );
        let mut repeated_token = multiple(token(arg("pattern", ArgType::Pattern), "GET"));
        repeated_token.multiple_token = true;
        assert_eq!(
            parse("GET pattern [GET pattern ...]").unwrap(),
            vec![repeated_token]
        );
        // A block led by its token, repeated with it (BITFIELD_RO).
        let mut repeated_block = multiple(token(
            group(
                "encoding_offset",
                ArgType::Block,
                vec![
                    arg("encoding", ArgType::String),
                    arg("offset", ArgType::Integer),
                ],
            ),
            "GET",
        ));
        repeated_block.multiple_token = true;
        assert_eq!(
            parse(
                "<GET encoding offset>:encoding_offset \
                 [<GET encoding offset>:encoding_offset ...]"
            )
            .unwrap(),
            vec![repeated_block]
        );
    }

    #[test]
    fn token_blocks_and_required_choices() {
        assert_eq!(
            parse("[LIMIT offset count]").unwrap(),
            vec![optional(token(
                group(
                    "limit",
                    ArgType::Block,
                    vec![
                        arg("offset", ArgType::Integer),
                        arg("count", ArgType::Integer)
                    ]
                ),
                "LIMIT"
            ))]
        );
        assert_eq!(
            parse("SKIPME <YES | NO>:yes-no").unwrap(),
            vec![token(
                group(
                    "yes-no",
                    ArgType::OneOf,
                    vec![pure_token("YES"), pure_token("NO")]
                ),
                "SKIPME"
            )]
        );
        assert_eq!(
            parse("increment:double").unwrap(),
            vec![arg("increment", ArgType::Double)]
        );
        assert_eq!(
            parse("ip:port").unwrap(),
            vec![arg("ip:port", ArgType::String)]
        );
    }

    #[test]
    fn keys_are_numbered_in_order() {
        let parsed = parse("source destination [DB destination-db] [REPLACE]").unwrap();
        assert_eq!(parsed[0].key_spec_index, Some(0));
        assert_eq!(parsed[1].key_spec_index, Some(1));
        assert_eq!(parsed[2].key_spec_index, None);
    }

    #[test]
    fn mistakes_are_reported() {
        for bad in [
            "[key",
            "key]",
            "key ...",
            "[a | ]",
            "[x ...]",
            "a [b ...]",
            "123",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("").unwrap(), vec![]);
    }

    /// Every command and subcommand of every family that takes arguments documents
    /// them (QUIT's are deprecated and DEBUG's undocumented, as in Redis).
    #[test]
    fn every_command_documents_its_arguments() {
        let mut missing = Vec::new();
        for (name, spec) in &CommandTable::get().all {
            // A container's arguments are its subcommands, listed on their own.
            let bare = if name.contains('|') { 2 } else { 1 };
            let takes_arguments = spec.arity != bare && spec.subcommands.is_empty();
            let exempt = ["quit", "debug"].contains(&name.as_str());
            if takes_arguments && !exempt && spec.syntax.is_empty() {
                missing.push(name.as_str());
            }
        }
        assert!(missing.is_empty(), "no syntax for {missing:?}");
    }

    #[test]
    fn every_command_has_valid_syntax() {
        for (index, (name, spec)) in CommandTable::get().all.iter().enumerate() {
            if let Err(problem) = parse(spec.syntax) {
                panic!("command {index} '{name}': {problem}");
            }
        }
    }
}
