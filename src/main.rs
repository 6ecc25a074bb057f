//! The `broker-server` binary: command line → configuration → logging → load the
//! dataset while serving (`-LOADING` meanwhile) → serve.
//!
//! `broker-server check-aof FILE [--fix]` checks an append-only log instead (see
//! [`broker_server::persist::check`]).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use broker_server::config::file::apply_file;
use broker_server::config::{Config, LogLevel, OPTIONS};
use broker_server::persist::LoadError;
use broker_server::persist::log::LogWriter;
use broker_server::server::{self, Server, VERSION};
use clap::{Arg, ArgAction, Command};

/// Options shown in `--help`, with their one-line descriptions; every other
/// redis.conf option is accepted as `--name value` too, without being listed.
const DOCUMENTED: &[(&str, &str)] = &[
    ("port", "TCP port to listen on (6379; 0 picks a free port)"),
    (
        "bind",
        "addresses to listen on (127.0.0.1 -::1; '-' marks optional)",
    ),
    ("dir", "working directory for data files (.)"),
    ("databases", "number of databases (16)"),
    ("maxclients", "maximum simultaneous clients (10000)"),
    (
        "timeout",
        "close clients idle this many seconds (0 = never)",
    ),
    ("requirepass", "password clients must send with AUTH"),
    (
        "protected-mode",
        "refuse non-loopback clients while no password is set (yes)",
    ),
    ("loglevel", "debug, verbose, notice or warning (notice)"),
    ("logfile", "log file path (standard output when empty)"),
    ("threads", "worker threads (0 = one per core)"),
];

fn cli() -> Command {
    let mut command = Command::new("broker-server")
        .version(VERSION)
        .about("A Redis-protocol server built to be Celery's broker and result backend")
        .arg(
            Arg::new("config-file")
                .value_name("CONFIG_FILE")
                .help("configuration file in redis.conf syntax"),
        )
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .help("configuration file in redis.conf syntax"),
        );
    for spec in OPTIONS {
        let help = DOCUMENTED.iter().find(|(name, _)| *name == spec.name);
        let mut arg = Arg::new(spec.name)
            .long(spec.name)
            .value_name("VALUE")
            .num_args(1)
            .allow_hyphen_values(true)
            .action(ArgAction::Append);
        arg = match help {
            Some((_, text)) => arg.help(*text),
            None => arg.hide(true),
        };
        for alias in spec.aliases {
            arg = arg.alias(*alias);
        }
        command = command.arg(arg);
    }
    command
}

/// Groups the words after each `--option` into one value, as redis-server reads its
/// command line: `--bind 127.0.0.1 -::1 --port 7000` sets bind to "127.0.0.1 -::1".
fn group_option_values(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut grouped: Vec<String> = Vec::new();
    let mut pending: Option<Vec<String>> = None;
    for arg in args {
        if arg.starts_with("--") {
            if let Some(values) = pending.take() {
                grouped.push(values.join(" "));
            }
            let takes_values = !matches!(arg.as_str(), "--help" | "--version");
            grouped.push(arg);
            if takes_values {
                pending = Some(Vec::new());
            }
        } else if let Some(values) = pending.as_mut() {
            values.push(arg);
        } else {
            grouped.push(arg);
        }
    }
    if let Some(values) = pending {
        grouped.push(values.join(" "));
    }
    grouped
}

/// Turns the command line into a configuration, or a one-line error.
fn configure() -> Result<Config, String> {
    let args = group_option_values(std::env::args());
    let matches = match cli().try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(error) => match error.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                let _ = error.print();
                std::process::exit(0);
            }
            _ => {
                let detail = error
                    .get(clap::error::ContextKind::InvalidArg)
                    .map(|arg| format!("unknown option '{arg}'"))
                    .unwrap_or_else(|| error.to_string().lines().next().unwrap_or("").to_string());
                return Err(detail.trim_start_matches("error: ").to_string());
            }
        },
    };
    let mut config = Config::default();
    let file = matches
        .get_one::<String>("config")
        .or(matches.get_one::<String>("config-file"))
        .map(PathBuf::from);
    if let Some(path) = &file {
        apply_file(&mut config, path)?;
        config.config_file = Some(std::fs::canonicalize(path).unwrap_or(path.clone()));
    }
    for spec in OPTIONS {
        if let Some(values) = matches.get_many::<String>(spec.name) {
            let value = values.map(String::as_str).collect::<Vec<_>>().join(" ");
            config.set(spec.name, &value)?;
        }
    }
    Ok(config)
}

fn init_logging(config: &Config) -> Result<(), String> {
    let level = match config.loglevel {
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Verbose => tracing::Level::INFO,
        LogLevel::Notice => tracing::Level::INFO,
        LogLevel::Warning | LogLevel::Nothing => tracing::Level::WARN,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false);
    if config.logfile.is_empty() {
        // Colours only for a person at a terminal: Docker, systemd and log files
        // get plain text. NO_COLOR (no-color.org) turns them off everywhere.
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        builder.with_ansi(colour).init();
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.logfile)
            .map_err(|e| format!("can't open the log file '{}': {e}", config.logfile))?;
        builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init();
    }
    Ok(())
}

/// `broker-server check-aof [--fix] FILE`, if that is what the command line asks.
fn check_aof_command() -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("check-aof") {
        return None;
    }
    let fix = args.iter().skip(1).any(|a| a == "--fix");
    let files: Vec<&String> = args.iter().skip(1).filter(|a| *a != "--fix").collect();
    let [file] = files[..] else {
        eprintln!("Usage: broker-server check-aof [--fix] FILE");
        return Some(ExitCode::from(1));
    };
    Some(ExitCode::from(broker_server::persist::check::run(
        std::path::Path::new(file),
        fix,
    )))
}

fn main() -> ExitCode {
    if let Some(code) = check_aof_command() {
        return code;
    }
    let mut config = match configure() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("broker-server: {message}");
            return ExitCode::from(1);
        }
    };
    if let Err(message) = init_logging(&config) {
        eprintln!("broker-server: {message}");
        return ExitCode::from(1);
    }
    // As Redis's default `jemalloc-bg-thread yes`: a background thread returns freed
    // pages to the OS after jemalloc's decay time even while the server allocates
    // nothing. Without it, pages freed by a burst (a map's old table after it grew,
    // a drained queue) stay in RSS until some later allocation triggers a purge.
    if let Err(error) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!(%error, "could not start jemalloc's background thread");
    }
    if let Err(error) = std::env::set_current_dir(&config.dir) {
        eprintln!(
            "broker-server: can't chdir to '{}': {error}",
            config.dir.display()
        );
        return ExitCode::from(1);
    }
    // Data files are found through `dir`; make it independent of the chdir above.
    if let Ok(cwd) = std::env::current_dir() {
        config.dir = cwd;
    }
    let mut threads = match config.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    // The runtime flavour is chosen by measurement (PERFORMANCE.md): tokio's
    // multi-thread scheduler with `threads` workers. `BROKER_SERVER_RUNTIME=
    // current_thread` runs everything on the main thread instead; it exists so
    // that the choice can be re-measured (`scripts/bench-compare.sh runtime`).
    let mut builder = if std::env::var("BROKER_SERVER_RUNTIME").as_deref() == Ok("current_thread") {
        threads = 1;
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    // A worker busy with ready connections checks for new I/O events every
    // `EVENT_INTERVAL` task polls. tokio's default (61) costs one `epoll_wait` per
    // 30 pipelined batches on a 50-client load; at 200 a worker takes in nearly
    // every ready connection per call, as an event loop does (PERFORMANCE.md,
    // "Syscalls per op").
    builder.event_interval(EVENT_INTERVAL);
    // A worker about to sleep sends the replies its pass queued, in one submission
    // (`server::send_batch`). With one worker, it then makes the log durable too
    // (PERFORMANCE.md, "Durable throughput"): one round covers every request that
    // arrived during the previous one, as in an event loop.
    let idle_log: IdleLog = Arc::new(OnceLock::new());
    let park_log = (threads == 1).then(|| idle_log.clone());
    builder.on_thread_park(move || {
        server::send_batch::on_worker_park();
        if let Some(log) = park_log.as_ref().and_then(|log| log.get()) {
            log.round_when_idle();
        }
    });
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("broker-server: can't start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(config, threads, idle_log))
}

/// Task polls between two checks for I/O events on a busy worker.
const EVENT_INTERVAL: u32 = 200;

/// Where the runtime's idle hook finds the log writer, once the server exists.
type IdleLog = Arc<OnceLock<Arc<LogWriter>>>;

async fn run(config: Config, threads: usize, idle_log: IdleLog) -> ExitCode {
    let listeners = match server::bind(&config) {
        Ok(listeners) => listeners,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("broker-server: {error}");
            return ExitCode::from(1);
        }
    };
    let addresses: Vec<String> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| a.to_string())
        .collect();
    let config_file = config
        .config_file
        .as_ref()
        .map_or("none".to_string(), |p| p.display().to_string());
    tracing::info!(
        version = VERSION,
        pid = std::process::id(),
        port = listeners[0].local_addr().map(|a| a.port()).unwrap_or(0),
        threads,
        config_file = %config_file,
        "broker-server starting"
    );
    let io_uring_wanted = config.io_uring;
    let server = std::sync::Arc::new(Server::new(config));
    if io_uring_wanted {
        match server::send_batch::SendBatch::supported() {
            Ok(()) => tracing::info!("Replies are sent in io_uring batches"),
            Err(reason) => tracing::warn!(
                %reason,
                "io_uring is unavailable here; replies are sent one write per connection"
            ),
        }
    }
    if threads == 1 {
        let _ = idle_log.set(server.run_as_event_loop());
    }
    tokio::spawn(watch_signals(server.clone()));
    // Clients may connect while the dataset loads: they get -LOADING, and PING and
    // INFO work.
    server.set_loading(true);
    let serving = tokio::spawn(server::serve(server.clone(), listeners));
    tracing::info!(addresses = %addresses.join(" "), "Loading the dataset; clients get -LOADING until it is done");
    let loading = server.clone();
    let recovered = tokio::task::spawn_blocking(move || loading.persistence.recover(&loading))
        .await
        .unwrap_or_else(|error| {
            Err(LoadError::Io {
                path: Default::default(),
                error: std::io::Error::other(error),
            })
        });
    if let Err(LoadError::Interrupted) = recovered {
        tracing::warn!("Shutdown requested while loading the dataset");
        let _ = serving.await;
        return ExitCode::SUCCESS;
    }
    if let Err(error) = recovered {
        tracing::error!("{error}");
        eprintln!("broker-server: {error}");
        server.shutdown.cancel();
        let _ = serving.await;
        return ExitCode::from(1);
    }
    server.set_loading(false);
    tracing::info!(addresses = %addresses.join(" "), "Ready to accept connections");
    let _ = serving.await;
    tracing::info!("broker-server is now ready to exit, bye bye...");
    ExitCode::SUCCESS
}

/// SIGINT and SIGTERM start a graceful shutdown.
async fn watch_signals(server: std::sync::Arc<Server>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::warn!("could not install signal handlers");
        return;
    };
    let name = tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
        _ = server.shutdown.cancelled() => return,
    };
    tracing::warn!(signal = name, "Received signal, scheduling shutdown...");
    server.shutdown.cancel();
}
