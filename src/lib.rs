//! broker-server: a Redis-protocol server built to be Celery's broker and result
//! backend.
//!
//! # Module map
//! * [`protocol`]: reading requests (multibulk and inline) and writing replies; the
//!   only code that knows RESP2 from RESP3.
//! * [`commands`]: every command declared as data, the gate each request passes
//!   through, and the handlers by family.
//! * [`store`]: the sharded keyspace, value types and expiry; synchronous and
//!   socket-free.
//! * [`pubsub`]: channel, pattern and shard-channel subscriptions, message
//!   delivery, and keyspace notifications.
//! * [`scripting`]: the Lua engine behind `EVAL`, and how scripts run atomically.
//! * [`server`]: shared state, listening, the per-client task, shutdown.
//! * [`config`]: every option, its default, and redis.conf parsing.
//! * [`persist`]: durability: the append-only log (group commit), snapshots,
//!   rewrites, recovery and `check-aof`.
//! * [`util`]: glob matching and Redis's number formats.

pub mod commands;
pub mod config;
pub mod persist;
pub mod protocol;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod store;
pub mod util;

/// jemalloc, as Redis uses: compact size classes for many small values, and an
/// exact `stats.allocated` figure for `INFO used_memory`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
