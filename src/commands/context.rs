//! The context a handler runs in: the server, the calling client, the locked shards
//! and the reply writer.

use crate::commands::CommandSpec;
use crate::protocol::ReplyWriter;
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

    /// Notes that `key` in the selected database received elements.
    pub fn signal_ready(&mut self, key: &[u8]) {
        let db = self.client.db;
        if !self
            .effects
            .ready_keys
            .iter()
            .any(|(d, k)| *d == db && k == key)
        {
            self.effects.ready_keys.push((db, key.to_vec()));
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

    /// The locked shards.
    pub fn locked(&mut self) -> &mut Locked<'a> {
        self.store
            .as_mut()
            .expect("the gate locks shards for commands with keys")
    }
}
