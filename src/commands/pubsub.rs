//! Pub/sub commands: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBE
//! counterparts, PUBLISH, SPUBLISH and PUBSUB.
//!
//! Every (un)subscription is confirmed by its own frame carrying the running count
//! (channels plus patterns, or shard channels alone), written as a reply: `>` in
//! RESP3, an array in RESP2. Unsubscribing from a name never subscribed still
//! confirms it; unsubscribing from everything with nothing subscribed sends one frame
//! with a null name. The three kinds share one code path through [`Kind`]; the
//! registry itself is [`crate::pubsub`].

use crate::commands::connection::help_reply;
use crate::commands::flags::*;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, container_handler};
use crate::protocol::Args;
use crate::pubsub::Kind;

const NOKEYS: (i32, i32, i32) = (0, 0, 0);
/// Shard channels are declared where Redis declares them (for COMMAND INFO), but
/// they are not keys: `NO_KEYS` keeps the gate from locking shards for them.
const SHARD_CHANNELS: (i32, i32, i32) = (1, -1, 1);
const SUBSCRIBING: u32 = PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK | NO_KEYS;
const INTROSPECTION: u32 = PUBSUB | LOADING | STALE | NO_KEYS;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("subscribe", -2, SUBSCRIBING, NOKEYS, subscribe)
        .doc(
            "pubsub",
            "2.0.0",
            "Listens for messages published to channels.",
        )
        .syntax("channel [channel ...]"),
    CommandSpec::new("unsubscribe", -1, SUBSCRIBING, NOKEYS, unsubscribe)
        .doc(
            "pubsub",
            "2.0.0",
            "Stops listening to messages posted to channels.",
        )
        .syntax("[channel [channel ...]]"),
    CommandSpec::new("psubscribe", -2, SUBSCRIBING, NOKEYS, psubscribe)
        .doc(
            "pubsub",
            "2.0.0",
            "Listens for messages published to channels that match one or more patterns.",
        )
        .syntax("pattern [pattern ...]"),
    CommandSpec::new("punsubscribe", -1, SUBSCRIBING, NOKEYS, punsubscribe)
        .doc(
            "pubsub",
            "2.0.0",
            "Stops listening to messages published to channels that match one or more patterns.",
        )
        .syntax("[pattern [pattern ...]]"),
    CommandSpec::new("ssubscribe", -2, SUBSCRIBING, SHARD_CHANNELS, ssubscribe)
        .doc(
            "pubsub",
            "7.0.0",
            "Listens for messages published to shard channels.",
        )
        .syntax("shardchannel [shardchannel ...]"),
    CommandSpec::new(
        "sunsubscribe",
        -1,
        SUBSCRIBING,
        SHARD_CHANNELS,
        sunsubscribe,
    )
    .doc(
        "pubsub",
        "7.0.0",
        "Stops listening to messages posted to shard channels.",
    )
    .syntax("[shardchannel [shardchannel ...]]"),
    CommandSpec::new(
        "publish",
        3,
        INTROSPECTION | FAST | MAY_REPLICATE,
        NOKEYS,
        publish,
    )
    .doc("pubsub", "2.0.0", "Posts a message to a channel.")
    .syntax("channel message"),
    CommandSpec::new(
        "spublish",
        3,
        INTROSPECTION | FAST | MAY_REPLICATE,
        (1, 1, 1),
        spublish,
    )
    .doc("pubsub", "7.0.0", "Post a message to a shard channel")
    .syntax("shardchannel message"),
    CommandSpec::new("pubsub", -2, 0, NOKEYS, container_handler)
        .doc("pubsub", "2.8.0", "A container for Pub/Sub commands.")
        .subs(PUBSUB_SUBCOMMANDS),
];

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("channels", -2, INTROSPECTION, NOKEYS, pubsub_channels)
        .doc("pubsub", "2.8.0", "Returns the active channels.")
        .syntax("[pattern]"),
    CommandSpec::new("numpat", 2, INTROSPECTION, NOKEYS, pubsub_numpat).doc(
        "pubsub",
        "2.8.0",
        "Returns a count of unique pattern subscriptions.",
    ),
    CommandSpec::new("numsub", -2, INTROSPECTION, NOKEYS, pubsub_numsub)
        .doc(
            "pubsub",
            "2.8.0",
            "Returns a count of subscribers to channels.",
        )
        .syntax("[channel [channel ...]]"),
    CommandSpec::new(
        "shardchannels",
        -2,
        INTROSPECTION,
        NOKEYS,
        pubsub_shardchannels,
    )
    .doc("pubsub", "7.0.0", "Returns the active shard channels.")
    .syntax("[pattern]"),
    CommandSpec::new("shardnumsub", -2, INTROSPECTION, NOKEYS, pubsub_shardnumsub)
        .doc(
            "pubsub",
            "7.0.0",
            "Returns the count of subscribers of shard channels.",
        )
        .syntax("[shardchannel [shardchannel ...]]"),
    // Redis lists no category of its own for it, unlike the other subcommands.
    CommandSpec::new("help", 2, LOADING | STALE | NO_KEYS, NOKEYS, pubsub_help)
        .doc(
            "pubsub",
            "6.2.0",
            "Returns helpful text about the different subcommands.",
        )
        .acl(0),
];

/// Writes one (un)subscription confirmation; `name` is `None` for "nothing was
/// subscribed".
fn confirm(ctx: &mut Ctx<'_, '_>, word: &[u8], name: Option<&[u8]>, kind: Kind) {
    ctx.out.push_len(3);
    ctx.out.bulk(word);
    match name {
        Some(name) => ctx.out.bulk(name),
        None => ctx.out.null(),
    }
    ctx.out
        .int(ctx.client.pubsub.confirmation_count(kind) as i64);
}

fn subscribe_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: Kind) -> CmdResult {
    // Redis lets SUBSCRIBE and PSUBSCRIBE through inside EXEC for compatibility, but
    // not SSUBSCRIBE: a nested command must answer with exactly one reply.
    if kind == Kind::Shard && ctx.nested {
        return Err(CommandError::DenyBlocking("SSUBSCRIBE"));
    }
    for name in args.iter().skip(1) {
        let client = &mut *ctx.client;
        ctx.server
            .pubsub
            .subscribe(&mut client.pubsub, &client.handle, kind, name);
        client.subscriptions_changed();
        confirm(ctx, kind.subscribe_word(), Some(name), kind);
    }
    Ok(())
}

fn unsubscribe_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: Kind) -> CmdResult {
    let every = args.len() == 1;
    let names = if every {
        ctx.client.pubsub.names(kind)
    } else {
        args.iter()
            .skip(1)
            .map(bytes::Bytes::copy_from_slice)
            .collect()
    };
    for name in &names {
        let client = &mut *ctx.client;
        ctx.server
            .pubsub
            .unsubscribe(&mut client.pubsub, client.id, kind, name);
        client.subscriptions_changed();
        confirm(ctx, kind.unsubscribe_word(), Some(name), kind);
    }
    if every && names.is_empty() {
        confirm(ctx, kind.unsubscribe_word(), None, kind);
    }
    Ok(())
}

/// Removes every subscription without confirmations (RESET).
pub fn leave_all(ctx: &mut Ctx<'_, '_>) {
    let client = &mut *ctx.client;
    ctx.server.pubsub.leave(&mut client.pubsub, client.id);
    client.subscriptions_changed();
}

fn subscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Shard)
}

fn publish_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: Kind) -> CmdResult {
    let receivers = ctx.server.publish(kind, &args[1], &args[2]);
    ctx.out.int(receivers as i64);
    Ok(())
}

fn publish(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    publish_generic(ctx, args, Kind::Channel)
}

fn spublish(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    publish_generic(ctx, args, Kind::Shard)
}

/// PUBSUB CHANNELS and SHARDCHANNELS take at most one pattern.
fn channels_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: Kind) -> CmdResult {
    if args.len() > 3 {
        return Err(CommandError::SubcommandSyntax {
            container: "pubsub".into(),
            sub: args[1].to_vec(),
        });
    }
    let names = ctx.server.pubsub.active(kind, args.get(2));
    ctx.out.array_len(names.len());
    names.iter().for_each(|name| ctx.out.bulk(name));
    Ok(())
}

fn numsub_generic(ctx: &mut Ctx<'_, '_>, args: Args<'_>, kind: Kind) -> CmdResult {
    ctx.out.array_len(2 * (args.len() - 2));
    for name in args.iter().skip(2) {
        let count = ctx.server.pubsub.subscriber_count(kind, name);
        ctx.out.bulk(name);
        ctx.out.int(count as i64);
    }
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    channels_generic(ctx, args, Kind::Channel)
}

fn pubsub_shardchannels(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    channels_generic(ctx, args, Kind::Shard)
}

fn pubsub_numsub(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    numsub_generic(ctx, args, Kind::Channel)
}

fn pubsub_shardnumsub(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    numsub_generic(ctx, args, Kind::Shard)
}

fn pubsub_numpat(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.out.int(ctx.server.pubsub.len(Kind::Pattern) as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    help_reply(
        ctx,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}
