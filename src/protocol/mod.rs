//! The wire protocol: reading requests and writing replies.
//!
//! * [`decode`] turns the bytes a client sends into requests (multibulk or inline),
//!   enforcing Redis's limits and producing its exact protocol-error texts.
//! * [`inline`] splits an inline request line with Redis's quoting rules.
//! * [`reply`] holds the reply vocabulary and the only encoder in the server: handlers
//!   say *what* to answer (a null, a map, a double), and the encoder decides how that
//!   looks in RESP2 or RESP3.
//! * [`parse`] reads RESP replies back into values, for scripts and tests.

pub mod decode;
pub mod inline;
pub mod parse;
pub mod reply;

pub use decode::{Args, OwnedArgs, ProtocolError, RequestDecoder};
pub use reply::{Protocol, Reply, ReplyWriter};
