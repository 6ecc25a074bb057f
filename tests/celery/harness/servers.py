"""The server under test: broker-server (the default) or Debian's redis-server.

``BROKER_UNDER_TEST=redis`` selects redis-server, the oracle every test is validated
against; anything else (or nothing) selects ``target/release/broker-server``, or the
binary named by ``BROKER_SERVER_BIN``.

Both are started on a free port bound to 127.0.0.1 and stopped by their fixture.
broker-server picks its own port (``--port 0``) and the port is read from its
"Ready to accept connections ... 127.0.0.1:PORT" log line. redis-server cannot do
that (port 0 turns TCP off), so the suite asks the kernel for a free port and
retries on the rare collision.
"""

import os
import signal
import socket
from pathlib import Path

import redis

from .processes import Process

REPO = Path(__file__).resolve().parents[3]


def kind():
    """``redis`` or ``broker-server``."""
    return "redis" if os.environ.get("BROKER_UNDER_TEST") == "redis" else "broker-server"


def broker_server_bin():
    return Path(
        os.environ.get("BROKER_SERVER_BIN", REPO / "target" / "release" / "broker-server")
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process; ``restart()`` brings it back on the same port and dir."""

    def __init__(self, workdir, durable=False, name="server"):
        self.kind = kind()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.durable = durable
        self.name = name
        self.port = None
        self.process = None
        self.starts = 0

    # -- life cycle ---------------------------------------------------------------

    def start(self):
        if self.kind == "redis":
            self._start_redis()
        else:
            self._start_broker_server()
        self.starts += 1
        return self

    def _log_path(self):
        return self.workdir / f"{self.name}.{self.starts}.log"

    def _start_redis(self):
        for attempt in range(5):
            port = self.port or free_port()
            argv = [
                "redis-server",
                "--port", port,
                "--bind", "127.0.0.1",
                "--dir", self.workdir,
                "--save", "",
                "--logfile", "",
                "--daemonize", "no",
                "--protected-mode", "yes",
            ]
            if self.durable:
                argv += ["--appendonly", "yes", "--appendfsync", "always"]
            else:
                argv += ["--appendonly", "no"]
            process = Process(f"redis-server:{port}", argv, self._log_path())
            try:
                process.wait_for_log(r"Ready to accept connections", timeout=20)
            except AssertionError:
                text = process.log()
                process.stop()
                if self.port is None and "Address already in use" in text and attempt < 4:
                    continue
                raise
            self.port = port
            self.process = process
            return
        raise AssertionError("could not find a free port for redis-server")

    def _start_broker_server(self):
        binary = broker_server_bin()
        if not binary.exists():
            raise AssertionError(
                f"{binary} does not exist: run `cargo build --release` first "
                "(scripts/test.sh does), or set BROKER_UNDER_TEST=redis"
            )
        # Port 0 the first time; the same port again on a restart, as clients expect.
        argv = [
            binary,
            "--port", self.port or 0,
            "--bind", "127.0.0.1",
            "--dir", self.workdir,
        ]
        env = dict(os.environ, NO_COLOR="1")
        process = Process(f"broker-server:{self.port or 'new'}", argv, self._log_path(), env=env)
        match = process.wait_for_log(
            r"Ready to accept connections.*?127\.0\.0\.1:(\d+)", timeout=20
        )
        self.port = int(match.group(1))
        self.process = process

    def stop(self, sig=signal.SIGTERM):
        """Stops the server (SIGTERM: a clean shutdown that keeps what it persisted)."""
        if self.process is not None:
            self.process.stop(sig=sig, timeout=20)
            self.process = None

    def restart(self):
        self.stop()
        return self.start()

    # -- access ---------------------------------------------------------------------

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, **kwargs):
        """A plain redis-py client (RESP3 unless ``protocol=2``), bytes in and out."""
        kwargs.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def appendonly(self):
        """What the server reports for ``CONFIG GET appendonly`` (``yes``/``no``),
        or None when it cannot tell."""
        try:
            reply = self.client().config_get("appendonly")
        except redis.ResponseError:
            return None
        value = reply.get("appendonly") or reply.get(b"appendonly")
        return value.decode() if isinstance(value, bytes) else value

    def log_tail(self):
        return self.process.log_tail() if self.process else "(server not running)"
