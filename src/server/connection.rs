//! The per-client task: read, decode every complete request, execute each through the
//! gate, and write all their replies in one go.
//!
//! One task per connection, and no task per command: a read fills the buffer, every
//! complete request in it runs in order, and the replies (plus any frames pushed to
//! the client meanwhile) leave in a single write. Pipelines therefore cost one read
//! and one write per batch, not per command. Output is flushed early only when it
//! passes [`FLUSH_THRESHOLD`], which bounds memory for long pipelines of big replies.
//!
//! After a protocol error the replies owed so far are written, then the error, then
//! the write side is shut and the input drained briefly, so the client reads the
//! reason instead of a reset.
//!
//! A blocking command that has to wait (BRPOP...) parks the connection: the requests
//! behind it stay unexecuted in the buffer, and `wait_blocked` waits for the
//! hand-off, the timeout, `CLIENT UNBLOCK`, a disconnect, a kill or shutdown, all in
//! one `select!` of this task (see [`crate::commands::blocking`]). A request held by
//! `CLIENT PAUSE` stays in the buffer the same way, unexecuted, while
//! `wait_unpaused` waits for the pause to end (see [`crate::server::pause`]).
//!
//! Durability: replies leave only once the append-only log covers every write
//! appended before them (see [`crate::persist`]): the client's own writes, and any
//! write whose effect a reply could show. Many connections wait on the same log
//! write (and fsync), which is what makes group commit pay.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::commands::blocking::{Waiting, timed_out, until_timed_out};
use crate::commands::gate::{Outcome, dispatch};
use crate::protocol::decode::DecodeLimits;
use crate::protocol::{ProtocolError, ReplyWriter, RequestDecoder};
use crate::server::Server;
use crate::server::client::{Client, ClientHandle};
use crate::server::send_batch::{self, Ticket};
use crate::util::clock::now_ms;

/// Initial read buffer size; reads ask for at least this much room.
const READ_CHUNK: usize = 16 * 1024;
/// Write out replies once this much is pending, even mid-batch.
const FLUSH_THRESHOLD: usize = 64 * 1024;
/// A read buffer that grew past this is released once empty.
const SHRINK_ABOVE: usize = 1024 * 1024;
/// How long to drain input after a protocol error before closing.
const DRAIN_AFTER_ERROR: Duration = Duration::from_millis(500);

/// Why a connection ended, for the log.
enum Ending {
    ClientClosed,
    Quit,
    Killed,
    Shutdown,
    Protocol(ProtocolError),
    Attack,
    QueryBufferLimit,
    IdleTimeout,
    Io(std::io::Error),
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::ClientClosed => f.write_str("client closed the connection"),
            Ending::Quit => f.write_str("closed after reply"),
            Ending::Killed => f.write_str("killed"),
            Ending::Shutdown => f.write_str("server shutting down"),
            Ending::Protocol(error) => write!(f, "{error}"),
            Ending::Attack => f.write_str("cross-protocol attack"),
            Ending::QueryBufferLimit => f.write_str("query buffer limit reached"),
            Ending::IdleTimeout => f.write_str("idle timeout"),
            Ending::Io(error) => write!(f, "I/O error: {error}"),
        }
    }
}

/// Serves one client until it leaves, errs, is killed, or the server shuts down.
pub async fn serve_client(server: Arc<Server>, mut stream: TcpStream, handle: Arc<ClientHandle>) {
    let mut client = Client::new(handle.clone(), !server.auth_required());
    let mut socket = Socket {
        stream: &mut stream,
        sending: None,
        spare: Vec::new(),
    };
    let ending = run(&server, &mut socket, &mut client).await;
    // Replies still queued in a batch go out (as far as the socket takes them)
    // before the socket closes.
    socket.send_queued();
    match &ending {
        Ending::ClientClosed | Ending::Quit | Ending::Shutdown => {
            tracing::debug!(id = client.id, addr = %handle.addr, %ending, "client closed")
        }
        _ => tracing::info!(id = client.id, addr = %handle.addr, %ending, "closing client"),
    }
    server.remove_monitor(client.id);
    server.pubsub.leave(&mut client.pubsub, client.id);
    client.watched.clear(&server.keyspace, None);
    server.clients.remove(&client.id);
}

async fn run(server: &Server, socket: &mut Socket<'_>, client: &mut Client) -> Ending {
    let handle = client.handle.clone();
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let mut output: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut decoder = RequestDecoder::new();
    // The futures that end or wake the connection are created once and polled again
    // on every turn, not rebuilt per batch: each one registers a waiter in a
    // `Notify` when first polled and unregisters when dropped. Shutdown is not
    // watched here: `kill` is a child of the server's shutdown token, so this
    // connection only ever locks its own token, never one every connection shares.
    let mut killed = pin!(handle.kill.cancelled());
    let mut pushed = pin!(handle.outbox.ready());
    loop {
        // Execute every complete request already buffered.
        let mut consumed = 0;
        let mut ending = None;
        let mut held = false;
        let max_bulk_len = server.config.read().proto_max_bulk_len as usize;
        loop {
            let limits = DecodeLimits {
                max_bulk_len,
                unauthenticated: !client.authenticated,
            };
            match decoder.decode(&input[consumed..], &limits) {
                Ok(Some(length)) => {
                    let args = decoder.args(&input[consumed..]);
                    let outcome = if args.is_empty() {
                        Outcome::Continue
                    } else {
                        dispatch(server, client, &mut output, args)
                    };
                    if outcome == Outcome::Held {
                        // Left in the buffer, to go through the gate again.
                        held = true;
                        break;
                    }
                    consumed += length;
                    match outcome {
                        Outcome::Continue | Outcome::Held => {}
                        Outcome::Close => {
                            ending = Some(Ending::Quit);
                            break;
                        }
                        Outcome::Abort => return Ending::Attack,
                    }
                    // A parked command holds back everything pipelined behind it.
                    if client.blocked.is_some() {
                        break;
                    }
                    if output.len() >= FLUSH_THRESHOLD {
                        if let Err(ending) = write_out(server, &handle, socket, &mut output).await {
                            return ending;
                        }
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    log_protocol_error(client, &error, &input[consumed..]);
                    ReplyWriter::new(&mut output, client.protocol).error(&error.reply_text());
                    ending = Some(Ending::Protocol(error));
                    break;
                }
            }
        }
        input.advance(consumed);
        // Every turn follows a read, a served blocking command or a push, and its
        // replies leave below: each counts as interaction for the idle timeout, as
        // reads and writes do in Redis. One clock read per turn covers both.
        handle.touch();
        send_batch::on_connection_turn();
        // Guard a parked command at once, so that even an error path below takes it
        // out of the waiter queues.
        let parked = client
            .blocked
            .take()
            .map(|blocked| Waiting::new(server, handle.clone(), blocked));
        handle.outbox.drain_into(&mut output);
        if !output.is_empty() || socket.sending.is_some() {
            if let Err(ending) = write_out(server, &handle, socket, &mut output).await {
                return ending;
            }
        }
        if let Some(ending) = ending {
            // The last replies go out in full before the close.
            if let Err(ending) = socket.settle(&handle).await {
                return ending;
            }
            if matches!(ending, Ending::Protocol(_)) {
                drain_and_close(socket.stream).await;
            }
            return ending;
        }
        if let Some(waiting) = parked {
            if let Err(ending) =
                wait_blocked(server, socket, &mut input, &mut output, client, waiting).await
            {
                return ending;
            }
            // The reply is in `output`; run what was pipelined behind, then write.
            continue;
        }
        if held {
            if let Err(ending) = wait_unpaused(server, socket, &mut input, client).await {
                return ending;
            }
            // Bring the held request (first in `input`) through the gate again.
            continue;
        }
        // Read after the batch, which may have changed it.
        if input.len() as u64 > server.query_buffer_limit() {
            tracing::warn!(
                id = client.id,
                "Closing client that reached max query buffer length"
            );
            return Ending::QueryBufferLimit;
        }
        // Make room for the next read: at least a chunk, or the rest of a large
        // argument in one step.
        if input.is_empty() && input.capacity() > SHRINK_ABOVE {
            input = BytesMut::with_capacity(READ_CHUNK);
        }
        let wanted = decoder.bytes_wanted(input.len()).max(READ_CHUNK);
        if input.capacity() - input.len() < wanted / 2 {
            input.reserve(wanted);
        }
        let ended = || {
            if server.shutdown.is_cancelled() {
                Ending::Shutdown
            } else if handle.closed_idle() {
                Ending::IdleTimeout
            } else {
                Ending::Killed
            }
        };
        // A killed client reads nothing more, even one that never stops sending.
        if handle.kill.is_cancelled() {
            return ended();
        }
        // The read comes first: when a request wakes the task, the select returns
        // without polling the other arms (each poll takes their `Notify` locks).
        // The outbox is drained on every turn whatever wakes it.
        //
        // Every arm is cancel-safe: `read_buf` reads nothing if cancelled, and the
        // token and notification futures are kept (by reference) across turns, so
        // no wake-up is lost; a fired `ready` is replaced by a fresh one.
        tokio::select! {
            biased;
            read = socket.stream.read_buf(&mut input) => match read {
                Ok(0) => return Ending::ClientClosed,
                Ok(n) => {
                    server.stats.add_net_input(n);
                }
                Err(error) => return Ending::Io(error),
            },
            _ = &mut killed => return ended(),
            _ = &mut pushed => pushed.set(handle.outbox.ready()),
        }
    }
}

/// Waits out a blocking command: until it is served, times out, or is unblocked,
/// then appends its reply to `output`. Meanwhile the socket is still read (into
/// `input`, executing nothing), so a client that goes away leaves the waiter queues at
/// once; dropping the wait on any error path gives back what was handed to it.
async fn wait_blocked(
    server: &Server,
    socket: &mut Socket<'_>,
    input: &mut BytesMut,
    output: &mut Vec<u8>,
    client: &mut Client,
    mut waiting: Waiting<'_>,
) -> Result<(), Ending> {
    let handle = client.handle.clone();
    let deadline = waiting.deadline_ms();
    let wake = loop {
        let expiry = async {
            match deadline {
                // Tokio caps very long sleeps; the loop re-arms until the real deadline.
                Some(at) => tokio::time::sleep(until_timed_out(at, now_ms())).await,
                None => std::future::pending::<()>().await,
            }
        };
        // Every arm is cancel-safe: the one-shot receiver keeps an unreceived wake,
        // `read_buf` reads nothing if cancelled, and the others can be recreated.
        tokio::select! {
            biased;
            _ = handle.kill.cancelled() => return Err(Ending::Killed),
            _ = server.shutdown.cancelled() => return Err(Ending::Shutdown),
            wake = waiting.woken() => break wake,
            _ = expiry => {
                if deadline.is_some_and(|at| timed_out(at, now_ms())) {
                    break None;
                }
            }
            _ = handle.outbox.ready() => {
                handle.outbox.drain_into(output);
                write_out(server, &handle, socket, output).await?;
            }
            read = socket.stream.read_buf(input) => took_input(server, read, input)?,
        }
    };
    waiting.finish(wake, output, client.protocol);
    Ok(())
}

/// Accounts for a read made while the client waits (blocked, or held by a pause):
/// nothing is executed, but the query buffer limit still applies.
fn took_input(server: &Server, read: io::Result<usize>, input: &BytesMut) -> Result<(), Ending> {
    match read {
        Ok(0) => Err(Ending::ClientClosed),
        Ok(n) => {
            server.stats.add_net_input(n);
            if input.len() as u64 > server.query_buffer_limit() {
                return Err(Ending::QueryBufferLimit);
            }
            Ok(())
        }
        Err(error) => Err(Ending::Io(error)),
    }
}

/// Waits while `CLIENT PAUSE` holds the client's next request (first in `input`):
/// until the pause is lifted or reaches its end, whichever comes first; the request
/// then goes through the gate again, and may be held again by a newer pause.
/// Meanwhile the client counts as held (`INFO blocked_clients`), frames pushed to it
/// still go out, and the socket is still read (executing nothing), so a client that
/// leaves or is killed, or a shutdown, ends the wait at once.
async fn wait_unpaused(
    server: &Server,
    socket: &mut Socket<'_>,
    input: &mut BytesMut,
    client: &mut Client,
) -> Result<(), Ending> {
    let handle = client.handle.clone();
    let _held = server.pause.hold(&handle);
    let mut output = Vec::new();
    loop {
        // Created before the state is read, so an unpause in between still wakes it.
        let lifted = server.pause.lifted();
        let Some(end) = server.pause.end(now_ms()) else {
            return Ok(());
        };
        // Tokio caps very long sleeps; the loop re-arms until the real end.
        let until_end = tokio::time::sleep(Duration::from_millis(end.saturating_sub(now_ms())));
        // Every arm is cancel-safe: `read_buf` reads nothing if cancelled, and the
        // others are recreated on the next turn after the state is read again. The
        // kill token is a child of the shutdown token, so it covers both.
        tokio::select! {
            biased;
            _ = handle.kill.cancelled() => {
                return Err(if server.shutdown.is_cancelled() {
                    Ending::Shutdown
                } else {
                    Ending::Killed
                });
            }
            _ = lifted => {}
            _ = until_end => {}
            _ = handle.outbox.ready() => {
                handle.outbox.drain_into(&mut output);
                write_out(server, &handle, socket, &mut output).await?;
            }
            read = socket.stream.read_buf(input) => took_input(server, read, input)?,
        }
    }
}

/// The client's socket, and the batched send of its last replies until it is
/// settled (see [`crate::server::send_batch`]).
struct Socket<'s> {
    stream: &'s mut TcpStream,
    /// Replies queued in this worker's batch: sent with the others of the pass,
    /// and taken back (with whatever the socket did not take) before the next.
    sending: Option<Ticket>,
    /// The buffer the next replies are built in while the last ones are queued.
    spare: Vec<u8>,
}

impl Socket<'_> {
    /// Sees the batched send through: takes back its buffer and writes what the
    /// socket did not take, unless the client is killed meanwhile.
    async fn settle(&mut self, handle: &ClientHandle) -> Result<(), Ending> {
        let Some(ticket) = self.sending.take() else {
            return Ok(());
        };
        let (mut data, result) = ticket.finish();
        let sent = match result {
            Ok(count) => count,
            // The socket's buffer was full: the rest waits for room below.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => 0,
            Err(error) => return Err(Ending::Io(error)),
        };
        if sent < data.len() {
            write_all(handle, self.stream, &data[sent..]).await?;
        }
        recycle(&mut data);
        self.spare = data;
        Ok(())
    }

    /// Sends a batched send still queued, as far as the socket takes it, before
    /// the connection closes.
    fn send_queued(&mut self) {
        if let Some(ticket) = self.sending.take() {
            let _ = ticket.finish();
        }
    }
}

/// Sends `output`, unless the client is killed meanwhile: a subscriber that stopped
/// reading is closed by its output limit, and must not stay parked here.
///
/// Replies leave once the append-only log covers them. With batched sends they
/// are queued with the replies of every connection the worker serves in the pass,
/// and sent with them when the worker is done; the previous batched send is
/// settled first, so replies stay in order. Otherwise they are written here and
/// now.
async fn write_out(
    server: &Server,
    handle: &Arc<ClientHandle>,
    socket: &mut Socket<'_>,
    output: &mut Vec<u8>,
) -> Result<(), Ending> {
    if !server.batches_sends() && server.replies_after_pass() && !output.is_empty() {
        // Let every other ready connection run first: the replies of the pass then
        // go out together, and a client woken by one reply finds the others
        // already there (see `Server::run_as_event_loop`).
        tokio::task::yield_now().await;
    }
    server.persistence.wait_durable().await;
    socket.settle(handle).await?;
    if output.is_empty() {
        return Ok(());
    }
    server.stats.add_net_output(output.len());
    // The batch of the thread this runs on now, after the waits above: only that
    // thread's worker submits it when it runs out of work.
    let Some(batch) = server.send_batch() else {
        write_all(handle, socket.stream, output).await?;
        recycle(output);
        return Ok(());
    };
    let replies = std::mem::replace(output, std::mem::take(&mut socket.spare));
    socket.sending = Some(batch.queue(socket.stream.as_raw_fd(), replies, handle.clone()));
    Ok(())
}

/// Empties a sent reply buffer for reuse, giving back what a large reply grew it to.
fn recycle(buffer: &mut Vec<u8>) {
    buffer.clear();
    if buffer.capacity() > SHRINK_ABOVE {
        buffer.shrink_to(READ_CHUNK);
    }
}

/// Writes `bytes` in full, unless the client is killed meanwhile. A write cut short
/// by the kill leaves the stream mid-reply, which is fine: the connection is being
/// closed.
async fn write_all(
    handle: &ClientHandle,
    stream: &mut TcpStream,
    bytes: &[u8],
) -> Result<(), Ending> {
    tokio::select! {
        biased;
        _ = handle.kill.cancelled() => Err(Ending::Killed),
        written = stream.write_all(bytes) => written.map_err(Ending::Io),
    }
}

/// Shuts the write side and reads until the peer closes (briefly), so a client that
/// is still sending can read the error before the socket goes away.
async fn drain_and_close(stream: &mut TcpStream) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(DRAIN_AFTER_ERROR, async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Logs a protocol error with a sample of the offending bytes, non-printables masked.
fn log_protocol_error(client: &Client, error: &ProtocolError, buffer: &[u8]) {
    let sample: String = buffer
        .iter()
        .take(128)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    tracing::info!(id = client.id, addr = %client.handle.addr, %error, sample = %sample, "Protocol error from client");
}
