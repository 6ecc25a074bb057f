//! The context a handler runs in: the server, the calling client, the locked shards
//! and the reply writer.

use crate::commands::CommandSpec;
use crate::protocol::ReplyWriter;
use crate::pubsub::notify::{self, KeyEvent};
use crate::server::Server;
use crate::server::client::Client;
use crate::store::{DbView, Locked};

/// What the connection does once the command has replied.
#[derive(Debug, Default, PartialEq, Eq)]
pub enum Flow {
    /// Carry on with the next request.
    #[default]
    Continue,
    /// Send what is owed, then close (QUIT, CLIENT KILL of oneself).
    Close,
}

/// What a command leaves to be done once its locks are released. `EXEC` and scripts
/// collect the effects of every command they run and apply them once, at the end,
/// so that blocked clients are served only after the whole transaction or script.
#[derive(Debug, Default)]
pub struct Effects {
    /// `(db, key)` of lists and sorted sets that received elements: clients blocked on
    /// them may now be served.
    pub ready_keys: Vec<(usize, Vec<u8>)>,
    /// What goes to the append-only log (see [`crate::persist::hook`]).
    pub log: crate::persist::LogEffects,
}

/// Everything a handler may use.
pub struct Ctx<'c, 'a> {
    pub server: &'a Server,
    pub client: &'c mut Client,
    pub out: ReplyWriter<'c>,
    /// The shards the gate locked for this command; `None` for commands without keys.
    pub store: Option<Locked<'a>>,
    /// The command's clock, in Unix milliseconds: one instant for the whole command
    /// (and for a whole script), as Redis does.
    pub now_ms: u64,
    pub spec: &'static CommandSpec,
    pub flow: Flow,
    pub effects: &'c mut Effects,
    /// True while running inside `EXEC` or a script: blocking commands must answer at
    /// once instead of waiting.
    pub nested: bool,
}

impl<'c, 'a> Ctx<'c, 'a> {
    /// The client's selected database.
    pub fn db(&mut self) -> DbView<'_, 'a> {
        let (db, now) = (self.client.db, self.now_ms);
        self.locked().db(db, now)
    }

    /// The selected database and the reply writer, borrowed together.
    pub fn db_and_out(&mut self) -> (DbView<'_, 'a>, &mut ReplyWriter<'c>) {
        let (db, now) = (self.client.db, self.now_ms);
        let locked = self
            .store
            .as_mut()
            .expect("the gate locks shards for commands with keys");
        (locked.db(db, now), &mut self.out)
    }

    /// Notes that `key` in the selected database received elements. Only keys that
    /// clients wait on are kept: a client that blocks later sees the elements itself.
    pub fn signal_ready(&mut self, key: &[u8]) {
        self.signal_ready_in(self.client.db, key);
    }

    /// [`signal_ready`](Self::signal_ready) for a key of database `db` (MOVE, COPY DB).
    pub fn signal_ready_in(&mut self, db: usize, key: &[u8]) {
        let now = self.now_ms;
        let Some(locked) = self.store.as_mut() else {
            return;
        };
        locked
            .db(db, now)
            .note_ready(key, &mut self.effects.ready_keys);
    }

    /// Publishes a keyspace notification: event `event` of class `class` (see
    /// [`notify::class`]) on `key` in the selected database. Call it once per change,
    /// after making it, where Redis calls `notifyKeyspaceEvent`; see [`notify`] for
    /// the conventions. Costs one atomic load when the class is off.
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        let db = self.client.db;
        self.notify_in(db, class, event, key);
    }

    /// [`Ctx::notify`] for elements just taken from the collection under `key`
    /// (`lpop`, `hdel`, `srem`, `zrem`, ...), followed by `del` when that emptied it:
    /// the store removes an empty collection, as Redis does, and Redis reports the
    /// removal after the command's own event.
    pub fn notify_removal(&mut self, class: u32, event: &'static str, key: &[u8]) {
        self.notify(class, event, key);
        if self.server.notify_flags() & notify::class::GENERIC != 0 && !self.db().exists(key) {
            self.notify(notify::class::GENERIC, "del", key);
        }
    }

    /// [`Ctx::notify`] for a key in database `db` (MOVE, COPY ... DB).
    pub fn notify_in(&mut self, db: usize, class: u32, event: &'static str, key: &[u8]) {
        if self.server.notify_flags() & class == 0 {
            return;
        }
        // Events the store recorded so far (`expired`, `new`) happened first.
        self.publish_store_events();
        let event = KeyEvent {
            class,
            event,
            db,
            key: key.into(),
        };
        notify::publish(self.server, &event);
    }

    /// Publishes the keyspace events the store recorded (lazy expiry, new keys,
    /// misses), in order.
    pub fn publish_store_events(&mut self) {
        if let Some(locked) = self.store.as_mut() {
            for event in locked.take_events() {
                notify::publish(self.server, &event);
            }
        }
    }

    /// Logs `args` (run in the selected database) for this command instead of the
    /// request as sent. Call it once per command the request amounts to; several are
    /// logged as one `MULTI`/`EXEC` unit. Needed when the request would not replay to
    /// the same result: relative deadlines, floating point, randomness, blocking
    /// hand-offs (see [`crate::persist::hook`]).
    pub fn propagate(&mut self, args: &[&[u8]]) {
        let db = self.client.db;
        self.effects.log.propagate(db, args.iter().copied());
    }

    /// Logs nothing for this command (unless `propagate` is also called).
    pub fn propagate_none(&mut self) {
        self.effects.log.propagate_none();
    }

    /// Records that this command changed data without going through
    /// [`crate::store::DbView`], so that it is logged.
    pub fn mark_changed(&mut self) {
        self.effects.log.mark_changed();
    }

    /// Marks argument `index` of the running command as sensitive (a password): the
    /// slow log and MONITOR show `(redacted)` in its place. Call it where Redis's
    /// handler redacts, before any error it could return after that point.
    pub fn redact(&mut self, index: usize) {
        if !self.client.redacted.contains(&index) {
            self.client.redacted.push(index);
        }
    }

    /// The locked shards.
    pub fn locked(&mut self) -> &mut Locked<'a> {
        self.store
            .as_mut()
            .expect("the gate locks shards for commands with keys")
    }
}
