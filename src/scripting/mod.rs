//! Lua scripting: the engine behind `EVAL`.
//!
//! * [`engine`] is the Lua 5.1 interpreter, its sandbox and Redis's conversions
//!   between replies and Lua values. It knows nothing of the server.

pub mod engine;

pub use engine::{KillOutcome, KillSwitch, LogLevel, ScriptEngine, ScriptFlags, ScriptHost};
