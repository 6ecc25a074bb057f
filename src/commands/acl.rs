//! ACL: the access-control commands, for a server with one user.
//!
//! broker-server has a single user, `default`, allowed everything (`+@all` on every
//! key and channel) and protected by `requirepass` when one is set. The commands that
//! describe users answer for it as Redis 7.0 does for its default user: WHOAMI,
//! USERS, LIST (`user default on nopass ~* &* +@all`, or `#<sha256 of the password>`
//! instead of `nopass`), GETUSER, CAT (the categories of [`categories`]), DRYRUN (the
//! default user may run any command that exists, with valid arity), GENPASS and
//! HELP. Those that would create, change, delete, load or save users, and LOG (no
//! ACL log is kept), answer an error saying so.

use std::io::Read as _;

use crate::commands::categories;
use crate::commands::connection::help_reply;
use crate::commands::flags::*;
use crate::commands::table::CommandTable;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, container_handler, int_arg};
use crate::protocol::Args;

const NOKEYS: (i32, i32, i32) = (0, 0, 0);

/// The only user.
const USER: &str = "default";

/// Subcommands that only report.
const INFO_FLAGS: u32 = NOSCRIPT | LOADING | STALE;
/// Subcommands Redis reserves to administrators.
const ADMIN_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::new("acl", -2, 0, NOKEYS, container_handler)
    .doc(
        "server",
        "6.0.0",
        "Access control: users, their rules, and command categories.",
    )
    .subs(ACL_SUBCOMMANDS)];

static ACL_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("cat", -2, INFO_FLAGS, NOKEYS, acl_cat)
        .doc(
            "server",
            "6.0.0",
            "Lists the ACL categories, or the commands in one.",
        )
        .syntax("[categoryname]"),
    CommandSpec::new("deluser", -3, ADMIN_FLAGS, NOKEYS, single_user)
        .doc("server", "6.0.0", "Deletes users.")
        .syntax("username [username ...]"),
    CommandSpec::new("dryrun", -4, ADMIN_FLAGS, NOKEYS, acl_dryrun)
        .doc(
            "server",
            "7.0.0",
            "Tells whether a user may run a command, without running it.",
        )
        .syntax("username command [arg [arg ...]]"),
    CommandSpec::new("genpass", -2, INFO_FLAGS, NOKEYS, acl_genpass)
        .doc(
            "server",
            "6.0.0",
            "Returns a random password of the given number of bits (256 by default).",
        )
        .syntax("[bits:integer]"),
    CommandSpec::new("getuser", 3, ADMIN_FLAGS, NOKEYS, acl_getuser)
        .doc("server", "6.0.0", "Returns a user's rules.")
        .syntax("username"),
    CommandSpec::new("list", 2, ADMIN_FLAGS, NOKEYS, acl_list).doc(
        "server",
        "6.0.0",
        "Lists every user's rules, in ACL file format.",
    ),
    CommandSpec::new("load", 2, ADMIN_FLAGS, NOKEYS, single_user).doc(
        "server",
        "6.0.0",
        "Reloads the users from the ACL file.",
    ),
    CommandSpec::new("log", -2, ADMIN_FLAGS, NOKEYS, single_user)
        .doc("server", "6.0.0", "Lists recent refusals by the ACL rules.")
        .syntax("[count | RESET]:operation"),
    CommandSpec::new("save", 2, ADMIN_FLAGS, NOKEYS, single_user).doc(
        "server",
        "6.0.0",
        "Saves the users to the ACL file.",
    ),
    CommandSpec::new("setuser", -3, ADMIN_FLAGS, NOKEYS, single_user)
        .doc("server", "6.0.0", "Creates a user or changes its rules.")
        .syntax("username [rule [rule ...]]"),
    CommandSpec::new("users", 2, ADMIN_FLAGS, NOKEYS, acl_users).doc(
        "server",
        "6.0.0",
        "Lists the user names.",
    ),
    CommandSpec::new("whoami", 2, INFO_FLAGS, NOKEYS, acl_whoami).doc(
        "server",
        "6.0.0",
        "Returns the connection's user name.",
    ),
    CommandSpec::new("help", 2, LOADING | STALE, NOKEYS, acl_help).doc(
        "server",
        "6.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

/// The default user's password rule: `nopass`, or the password's SHA-256 in hex
/// (shown after `#` in ACL LIST).
enum Password {
    None,
    Hash(String),
}

fn password(ctx: &Ctx<'_, '_>) -> Password {
    match &ctx.server.config.read().requirepass {
        Some(password) => Password::Hash(crate::util::sha256::hex_digest(password.as_bytes())),
        None => Password::None,
    }
}

/// The default user's rules in ACL file format.
fn describe_user(password: &Password) -> String {
    let password = match password {
        Password::None => "nopass".to_string(),
        Password::Hash(hash) => format!("#{hash}"),
    };
    format!("user {USER} on {password} ~* &* +@all")
}

fn acl_whoami(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.out.bulk(USER.as_bytes());
    Ok(())
}

fn acl_users(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.out.array_len(1);
    ctx.out.bulk(USER.as_bytes());
    Ok(())
}

fn acl_list(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let line = describe_user(&password(ctx));
    ctx.out.array_len(1);
    ctx.out.bulk(line.as_bytes());
    Ok(())
}

/// `ACL GETUSER username`: Redis 7.0's map for the default user, null for anyone
/// else.
fn acl_getuser(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if args[2] != *USER.as_bytes() {
        ctx.out.null();
        return Ok(());
    }
    let password = password(ctx);
    let out = &mut ctx.out;
    out.map_len(6);
    out.bulk(b"flags");
    match &password {
        Password::None => {
            out.set_len(2);
            out.bulk(b"on");
            out.bulk(b"nopass");
        }
        Password::Hash(_) => {
            out.set_len(1);
            out.bulk(b"on");
        }
    }
    out.bulk(b"passwords");
    match &password {
        Password::None => out.array_len(0),
        Password::Hash(hash) => {
            out.array_len(1);
            out.bulk(hash.as_bytes());
        }
    }
    for (field, rule) in [("commands", "+@all"), ("keys", "~*"), ("channels", "&*")] {
        out.bulk(field.as_bytes());
        out.bulk(rule.as_bytes());
    }
    out.bulk(b"selectors");
    out.array_len(0);
    Ok(())
}

/// `ACL CAT [category]`: every category, or every command and subcommand in one.
fn acl_cat(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    match args.len() {
        2 => {
            ctx.out.array_len(categories::NAMES.len());
            for (_, name) in categories::NAMES {
                ctx.out.bulk(name.as_bytes());
            }
        }
        3 => {
            let Some(category) = categories::by_name(&args[2]) else {
                return Err(CommandError::AclUnknownCategory(args[2].to_vec()));
            };
            let names = commands_in(category);
            ctx.out.array_len(names.len());
            names.iter().for_each(|name| ctx.out.bulk(name.as_bytes()));
        }
        _ => return Err(subcommand_syntax(&args)),
    }
    Ok(())
}

/// The full names of the commands and subcommands in `category`, sorted.
fn commands_in(category: u32) -> Vec<&'static str> {
    let mut names: Vec<&str> = CommandTable::get()
        .all
        .iter()
        .filter(|(_, spec)| categories::of(spec) & category != 0)
        .map(|(name, _)| name.as_str())
        .collect();
    names.sort_unstable();
    names
}

/// `ACL DRYRUN username command [arg ...]`: the default user may run any command
/// that exists, given a valid number of arguments.
fn acl_dryrun(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if args[2] != *USER.as_bytes() {
        return Err(CommandError::AclNoSuchUser(args[2].to_vec()));
    }
    let not_found = || CommandError::AclNoSuchCommand(args[3].to_vec());
    let table = CommandTable::get();
    let command = table.lookup(&args[3]).ok_or_else(not_found)?;
    let argc = args.len() - 3;
    let spec = match args.get(4) {
        Some(sub) if !command.subcommands.is_empty() => {
            CommandTable::lookup_sub(command, sub).ok_or_else(not_found)?
        }
        _ => command,
    };
    if !spec.arity_ok(argc) {
        return Err(CommandError::WrongArity(
            table.full_name(table.index(spec)).to_string(),
        ));
    }
    ctx.out.ok();
    Ok(())
}

/// The most bits ACL GENPASS hands out (the bound its error names).
const GENPASS_MAX_BITS: i64 = 4096;

/// `ACL GENPASS [bits]`: a password from the system's random source, in hex, of
/// `bits` bits rounded up to whole hex digits.
fn acl_genpass(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let bits = match args.len() {
        2 => 256,
        3 => int_arg(&args[2])?,
        _ => return Err(subcommand_syntax(&args)),
    };
    if !(1..=GENPASS_MAX_BITS).contains(&bits) {
        return Err(CommandError::AclGenpassBits);
    }
    let digits = (bits as usize).div_ceil(4);
    let password = random_hex(digits).map_err(|error| {
        tracing::warn!(%error, "ACL GENPASS could not read /dev/urandom");
        CommandError::NoRandomSource
    })?;
    ctx.out.bulk(password.as_bytes());
    Ok(())
}

/// `digits` lower-case hex digits read from the system's random source.
fn random_hex(digits: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; digits.div_ceil(2)];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let mut hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(digits);
    Ok(hex)
}

/// SETUSER, DELUSER, LOAD, SAVE and LOG: there is one user, configured by
/// `requirepass`, and no ACL log.
fn single_user(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let index = CommandTable::get().index(ctx.spec);
    let name = CommandTable::get().full_name(index);
    let sub = name.trim_start_matches("acl|").to_ascii_uppercase();
    Err(CommandError::AclSingleUser(sub))
}

/// Redis's error for a subcommand given too many arguments.
fn subcommand_syntax(args: &Args<'_>) -> CommandError {
    CommandError::SubcommandSyntax {
        container: "acl".into(),
        sub: args[1].to_vec(),
    }
}

fn acl_help(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    // Redis's text, line for line, including the subcommands answered with an error.
    help_reply(
        ctx,
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_user_in_acl_file_format() {
        assert_eq!(
            describe_user(&Password::None),
            "user default on nopass ~* &* +@all"
        );
        let hash = crate::util::sha256::hex_digest(b"s3cret");
        assert_eq!(
            describe_user(&Password::Hash(hash)),
            "user default on #1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0 ~* &* +@all"
        );
    }

    #[test]
    fn categories_list_commands_and_subcommands() {
        let connection = commands_in(categories::CONNECTION);
        for name in ["auth", "client", "client|kill", "command|info", "wait"] {
            assert_eq!(connection.contains(&name), name != "client", "{name}");
        }
        assert!(commands_in(categories::STREAM).is_empty());
        let dangerous = commands_in(categories::DANGEROUS);
        assert!(dangerous.contains(&"acl|setuser") && dangerous.contains(&"flushall"));
        assert!(!dangerous.contains(&"acl|whoami"));
    }

    #[test]
    fn generated_passwords_are_random_hex_of_the_length_asked() {
        let first = random_hex(64).unwrap();
        assert_eq!(first.len(), 64);
        assert!(
            first
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(first, random_hex(64).unwrap());
        assert_eq!(random_hex(1).unwrap().len(), 1);
        assert_eq!(random_hex(3).unwrap().len(), 3);
    }
}
