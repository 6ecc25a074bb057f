//! Pub/sub: who listens to which channel, pattern or shard channel, and delivery.
//!
//! # One code path for three kinds
//! Channels, patterns and shard channels differ only in their frame words, in how a
//! published channel finds its subscribers (by name, or by glob for patterns) and in
//! which count a confirmation carries; [`Kind`] holds those differences as data, as
//! Valkey's `pubsubtype` does, and everything else is shared.
//!
//! # Where the state lives
//! The server-wide side ([`PubSub`]) maps each name to its subscribers' handles, one
//! registry per kind behind a read-write lock: publishers only read and run in
//! parallel, subscribing writes briefly. The connection-side ([`Subscriptions`]) is
//! owned by the connection's task and answers counts without any lock.
//!
//! # Delivery
//! A message is encoded at most once per protocol (`*` for RESP2, `>` for RESP3, the
//! only difference) and the same [`Bytes`] is queued on every subscriber's outbox.
//! Publishers never wait: the outbox refuses a frame past the subscriber's output
//! limit and the caller then closes that subscriber (see [`crate::server::Server::push_to`]).
//! Lock order: a publisher may hold shard locks (keyspace notifications), then a
//! registry lock, then an outbox lock; nothing takes them the other way round.

pub mod notify;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use parking_lot::RwLock;

use crate::protocol::{Protocol, ReplyWriter};
use crate::server::client::ClientHandle;
use crate::store::value::FastHasher;
use crate::util::glob::glob_match;

/// A kind of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Channel, Kind::Pattern, Kind::Shard];

    fn index(self) -> usize {
        self as usize
    }

    /// First word of a subscription confirmation.
    pub fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }

    /// First word of an unsubscription confirmation.
    pub fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }

    /// First word of a delivered message.
    fn message_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"message",
            Kind::Pattern => b"pmessage",
            Kind::Shard => b"smessage",
        }
    }
}

/// One connection's subscriptions, in the order they were made.
#[derive(Debug, Default)]
pub struct Subscriptions {
    names: [IndexSet<Bytes, FastHasher>; 3],
}

impl Subscriptions {
    /// Subscriptions of one kind.
    pub fn count(&self, kind: Kind) -> usize {
        self.names[kind.index()].len()
    }

    /// The count a confirmation carries: channels plus patterns, or shard channels
    /// alone.
    pub fn confirmation_count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Channel | Kind::Pattern => self.count(Kind::Channel) + self.count(Kind::Pattern),
            Kind::Shard => self.count(Kind::Shard),
        }
    }

    /// Every subscription of every kind (RESP2 subscribed mode when non-zero).
    pub fn total(&self) -> usize {
        self.names.iter().map(IndexSet::len).sum()
    }

    /// Counts per kind, in [`Kind::ALL`] order.
    pub fn counts(&self) -> [usize; 3] {
        Kind::ALL.map(|kind| self.count(kind))
    }

    /// The names of one kind, in subscription order.
    pub fn names(&self, kind: Kind) -> Vec<Bytes> {
        self.names[kind.index()].iter().cloned().collect()
    }
}

/// Subscribers of one name, by client id.
type Subscribers = IndexMap<u64, Arc<ClientHandle>, FastHasher>;

/// The subscribers of every name of one kind.
#[derive(Default)]
struct Registry {
    names: RwLock<HashMap<Bytes, Subscribers, FastHasher>>,
}

/// Every subscription on the server.
#[derive(Default)]
pub struct PubSub {
    registries: [Registry; 3],
}

impl PubSub {
    fn registry(&self, kind: Kind) -> &Registry {
        &self.registries[kind.index()]
    }

    /// Subscribes `handle` to `name`.
    ///
    /// # Returns
    /// Whether this is a new subscription (subscribing twice changes nothing).
    pub fn subscribe(
        &self,
        mine: &mut Subscriptions,
        handle: &Arc<ClientHandle>,
        kind: Kind,
        name: &[u8],
    ) -> bool {
        let set = &mut mine.names[kind.index()];
        if set.contains(name) {
            return false;
        }
        let name = Bytes::copy_from_slice(name);
        set.insert(name.clone());
        self.registry(kind)
            .names
            .write()
            .entry(name)
            .or_default()
            .insert(handle.id, handle.clone());
        true
    }

    /// Removes the subscription of client `id` to `name`, if it has one.
    ///
    /// # Returns
    /// Whether there was one.
    pub fn unsubscribe(&self, mine: &mut Subscriptions, id: u64, kind: Kind, name: &[u8]) -> bool {
        if !mine.names[kind.index()].shift_remove(name) {
            return false;
        }
        let mut names = self.registry(kind).names.write();
        if let Some(subscribers) = names.get_mut(name) {
            subscribers.swap_remove(&id);
            // An empty entry is dropped so that churning names cannot grow the map.
            if subscribers.is_empty() {
                names.remove(name);
            }
        }
        true
    }

    /// Removes every subscription of client `id`, without confirmations (RESET,
    /// disconnection).
    pub fn leave(&self, mine: &mut Subscriptions, id: u64) {
        for kind in Kind::ALL {
            for name in mine.names(kind) {
                self.unsubscribe(mine, id, kind, &name);
            }
        }
    }

    /// Delivers `message` published on `channel` (a [`Kind::Channel`] publish also
    /// reaches matching patterns; a [`Kind::Shard`] publish reaches shard channels only).
    /// `deliver` queues one frame on one subscriber.
    ///
    /// # Returns
    /// The number of receivers: subscribers of the channel, plus one per matching
    /// pattern per subscriber of that pattern.
    pub fn publish(
        &self,
        kind: Kind,
        channel: &[u8],
        message: &[u8],
        mut deliver: impl FnMut(&ClientHandle, Bytes),
    ) -> usize {
        debug_assert!(kind != Kind::Pattern, "messages are published on channels");
        let mut receivers = 0;
        {
            let names = self.registry(kind).names.read();
            if let Some(subscribers) = names.get(channel) {
                let mut frame = Frame::new([kind.message_word(), channel, message]);
                for handle in subscribers.values() {
                    deliver(handle, frame.encoded(handle.protocol()));
                }
                receivers += subscribers.len();
            }
        }
        if kind == Kind::Channel {
            let patterns = self.registry(Kind::Pattern).names.read();
            for (pattern, subscribers) in patterns.iter() {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let mut frame =
                    Frame::new([Kind::Pattern.message_word(), pattern, channel, message]);
                for handle in subscribers.values() {
                    deliver(handle, frame.encoded(handle.protocol()));
                }
                receivers += subscribers.len();
            }
        }
        receivers
    }

    /// Names with at least one subscriber, matching `pattern` if given (PUBSUB
    /// CHANNELS, SHARDCHANNELS).
    pub fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.registry(kind)
            .names
            .read()
            .keys()
            .filter(|name| pattern.is_none_or(|p| glob_match(p, name, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of one name (PUBSUB NUMSUB, SHARDNUMSUB).
    pub fn subscriber_count(&self, kind: Kind, name: &[u8]) -> usize {
        self.registry(kind)
            .names
            .read()
            .get(name)
            .map_or(0, IndexMap::len)
    }

    /// Names with at least one subscriber (PUBSUB NUMPAT, INFO).
    pub fn len(&self, kind: Kind) -> usize {
        self.registry(kind).names.read().len()
    }

    pub fn is_empty(&self) -> bool {
        Kind::ALL.iter().all(|&kind| self.len(kind) == 0)
    }
}

/// A message frame, encoded lazily and at most once per protocol.
struct Frame<'m, const N: usize> {
    parts: [&'m [u8]; N],
    resp2: Option<Bytes>,
    resp3: Option<Bytes>,
}

impl<'m, const N: usize> Frame<'m, N> {
    fn new(parts: [&'m [u8]; N]) -> Self {
        Frame {
            parts,
            resp2: None,
            resp3: None,
        }
    }

    fn encoded(&mut self, protocol: Protocol) -> Bytes {
        let parts = &self.parts;
        let slot = match protocol {
            Protocol::Resp2 => &mut self.resp2,
            Protocol::Resp3 => &mut self.resp3,
        };
        slot.get_or_insert_with(|| encode_push(protocol, parts))
            .clone()
    }
}

/// A push frame of bulk strings: `>` in RESP3, `*` in RESP2.
pub fn encode_push(protocol: Protocol, parts: &[&[u8]]) -> Bytes {
    let size = parts.iter().map(|p| p.len() + 16).sum::<usize>() + 8;
    let mut buf = Vec::with_capacity(size);
    let mut out = ReplyWriter::new(&mut buf, protocol);
    out.push_len(parts.len());
    for part in parts {
        out.bulk(part);
    }
    Bytes::from(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(id: u64) -> Arc<ClientHandle> {
        let addr = "127.0.0.1:1".parse().unwrap();
        Arc::new(ClientHandle::new(id, addr, addr))
    }

    /// Publishes and returns (receivers, frames queued per client id).
    fn publish(pubsub: &PubSub, kind: Kind, channel: &[u8]) -> (usize, Vec<(u64, Bytes)>) {
        let mut delivered = Vec::new();
        let receivers = pubsub.publish(kind, channel, b"hi", |handle, frame| {
            delivered.push((handle.id, frame))
        });
        (receivers, delivered)
    }

    #[test]
    fn channel_and_matching_pattern_both_deliver() {
        let pubsub = PubSub::default();
        let (a, b) = (handle(1), handle(2));
        let (mut subs_a, mut subs_b) = (Subscriptions::default(), Subscriptions::default());
        assert!(pubsub.subscribe(&mut subs_a, &a, Kind::Channel, b"news"));
        assert!(!pubsub.subscribe(&mut subs_a, &a, Kind::Channel, b"news"));
        assert!(pubsub.subscribe(&mut subs_a, &a, Kind::Pattern, b"n*"));
        assert!(pubsub.subscribe(&mut subs_b, &b, Kind::Pattern, b"n*"));
        assert!(pubsub.subscribe(&mut subs_b, &b, Kind::Pattern, b"other"));
        assert_eq!(subs_a.confirmation_count(Kind::Channel), 2);
        let (receivers, frames) = publish(&pubsub, Kind::Channel, b"news");
        assert_eq!(receivers, 3);
        assert_eq!(
            frames[0],
            (
                1,
                Bytes::from_static(b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n")
            )
        );
        let pmessage =
            Bytes::from_static(b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
        assert_eq!(&frames[1..], &[(1, pmessage.clone()), (2, pmessage)]);
        assert_eq!(pubsub.len(Kind::Pattern), 2);
        assert_eq!(pubsub.subscriber_count(Kind::Pattern, b"n*"), 2);
    }

    #[test]
    fn shard_channels_ignore_patterns_and_count_apart() {
        let pubsub = PubSub::default();
        let a = handle(1);
        let mut subs = Subscriptions::default();
        pubsub.subscribe(&mut subs, &a, Kind::Pattern, b"*");
        pubsub.subscribe(&mut subs, &a, Kind::Shard, b"s");
        assert_eq!(subs.confirmation_count(Kind::Shard), 1);
        assert_eq!(subs.confirmation_count(Kind::Pattern), 1);
        assert_eq!(subs.total(), 2);
        let (receivers, frames) = publish(&pubsub, Kind::Shard, b"s");
        assert_eq!(receivers, 1);
        assert!(frames[0].1.starts_with(b"*3\r\n$8\r\nsmessage\r\n"));
        assert_eq!(publish(&pubsub, Kind::Channel, b"nobody-here").0, 1);
    }

    #[test]
    fn unsubscribing_removes_empty_entries() {
        let pubsub = PubSub::default();
        let a = handle(7);
        let mut subs = Subscriptions::default();
        pubsub.subscribe(&mut subs, &a, Kind::Channel, b"x");
        pubsub.subscribe(&mut subs, &a, Kind::Pattern, b"p*");
        assert!(!pubsub.unsubscribe(&mut subs, 7, Kind::Channel, b"never"));
        assert!(pubsub.unsubscribe(&mut subs, 7, Kind::Channel, b"x"));
        assert_eq!(pubsub.len(Kind::Channel), 0);
        pubsub.leave(&mut subs, 7);
        assert_eq!(subs.total(), 0);
        assert!(pubsub.is_empty());
        assert_eq!(publish(&pubsub, Kind::Channel, b"pp").0, 0);
    }

    #[test]
    fn one_encoding_per_protocol_is_shared() {
        let pubsub = PubSub::default();
        let (a, b, c) = (handle(1), handle(2), handle(3));
        c.set_protocol(Protocol::Resp3);
        for h in [&a, &b, &c] {
            pubsub.subscribe(&mut Subscriptions::default(), h, Kind::Channel, b"c");
        }
        let (_, frames) = publish(&pubsub, Kind::Channel, b"c");
        let by_id = |id| frames.iter().find(|(i, _)| *i == id).unwrap().1.clone();
        assert_eq!(by_id(1).as_ptr(), by_id(2).as_ptr());
        assert!(by_id(3).starts_with(b">3\r\n"));
    }

    #[test]
    fn active_names_filter_by_glob() {
        let pubsub = PubSub::default();
        let a = handle(1);
        let mut subs = Subscriptions::default();
        for name in [&b"user:1"[..], b"user:2", b"order:1"] {
            pubsub.subscribe(&mut subs, &a, Kind::Channel, name);
        }
        let mut users = pubsub.active(Kind::Channel, Some(b"user:*"));
        users.sort();
        assert_eq!(users, [&b"user:1"[..], b"user:2"]);
        assert_eq!(pubsub.active(Kind::Channel, None).len(), 3);
    }
}
