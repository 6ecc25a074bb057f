//! The command table: every family's declarations gathered into one lookup.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::commands::{
    CommandSpec, acl, bits, connection, diagnostics, hashes, keys, lists, memory, persistence,
    pubsub, scripting, server, sets, strings, transactions, wait, zsets,
};

/// Every command family, in the order `COMMAND` lists them.
fn families() -> [&'static [CommandSpec]; 17] {
    [
        connection::COMMANDS,
        strings::COMMANDS,
        bits::COMMANDS,
        keys::COMMANDS,
        lists::COMMANDS,
        server::COMMANDS,
        hashes::COMMANDS,
        sets::COMMANDS,
        zsets::COMMANDS,
        transactions::COMMANDS,
        pubsub::COMMANDS,
        scripting::COMMANDS,
        persistence::COMMANDS,
        diagnostics::COMMANDS,
        memory::COMMANDS,
        wait::COMMANDS,
        acl::COMMANDS,
    ]
}

/// The lookup from lower-case name to declaration, with a stable index per command
/// and subcommand for statistics.
pub struct CommandTable {
    by_name: HashMap<&'static [u8], &'static CommandSpec, foldhash::fast::RandomState>,
    /// Every command and subcommand with its full name (`get`, `client|list`).
    pub all: Vec<(String, &'static CommandSpec)>,
    /// Spec address → index. Looked up once per executed command (statistics), so it
    /// uses the fast hasher rather than SipHash: the keys are our own pointers.
    index_of: HashMap<usize, usize, foldhash::fast::FixedState>,
}

static TABLE: LazyLock<CommandTable> = LazyLock::new(|| {
    let mut table = CommandTable {
        by_name: HashMap::default(),
        all: Vec::new(),
        index_of: HashMap::default(),
    };
    for spec in families().into_iter().flatten() {
        table.by_name.insert(spec.name.as_bytes(), spec);
        table.register(spec.name.to_string(), spec);
        for sub in spec.subcommands {
            table.register(format!("{}|{}", spec.name, sub.name), sub);
        }
    }
    table
});

/// Longest command name the lookup considers; longer names are unknown.
const MAX_NAME: usize = 32;

impl CommandTable {
    fn register(&mut self, full_name: String, spec: &'static CommandSpec) {
        self.index_of
            .insert(spec as *const CommandSpec as usize, self.all.len());
        self.all.push((full_name, spec));
    }

    /// The table.
    pub fn get() -> &'static CommandTable {
        &TABLE
    }

    /// Finds a top-level command by name, case-insensitively, without allocating.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        if name.len() > MAX_NAME {
            return None;
        }
        let mut lower = [0u8; MAX_NAME];
        let lower = &mut lower[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        self.by_name.get(&*lower).copied()
    }

    /// Finds a subcommand of a container.
    pub fn lookup_sub(
        container: &'static CommandSpec,
        name: &[u8],
    ) -> Option<&'static CommandSpec> {
        container
            .subcommands
            .iter()
            .find(|sub| sub.name.as_bytes().eq_ignore_ascii_case(name))
    }

    /// The stable index of a command or subcommand (for statistics).
    pub fn index(&self, spec: &'static CommandSpec) -> usize {
        self.index_of[&(spec as *const CommandSpec as usize)]
    }

    /// The full name of a command or subcommand by index.
    pub fn full_name(&self, index: usize) -> &str {
        &self.all[index].0
    }

    /// Number of commands and subcommands.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Top-level commands.
    pub fn top_level(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.by_name.values().copied()
    }
}
