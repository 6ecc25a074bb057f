#!/usr/bin/env python3
"""Side-by-side performance comparison of broker-server with redis-server.

Standard library only. `scripts/bench-compare.sh` installs the tools, builds the
release binary and calls this driver; PERFORMANCE.md explains the method.

Subcommands:

  compare    A = redis-server, B = broker-server, fresh on loopback, alternating
             A/B per test (order reversed in even rounds), medians over rounds:
             redis-benchmark grid, single-client latency, a Celery-shaped mix,
             server CPU per op, syscalls per op (strace), memory per item.
  threads    broker-server at several `threads` settings on independent keys and
             queues, Redis as the reference.
  runtime    broker-server's runtime flavours (current_thread, multi_thread with 1
             and 2 workers): CPU per op and syscalls per op.
  callgrind  user-space instructions per SET (P1 and P16) under valgrind, idle run
             subtracted, for both servers, plus the hottest functions.

A test whose command the server under test does not implement is skipped with an
"unsupported by the server under test" line (detected from its error reply); no
figure is ever made up for it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BROKER_BIN = os.path.join(ROOT, "target", "release", "broker-server")
CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"

# Celery's priority queue names: q, q\x06\x163, q\x06\x166, q\x06\x169.
SEP = b"\x06\x16"
PRIORITY_KEYS = [b"q", b"q" + SEP + b"3", b"q" + SEP + b"6", b"q" + SEP + b"9"]
RESULT_CHANNEL = b"celery-task-meta-chan"
# Wait after loading a memory dataset: longer than jemalloc's dirty_decay_ms (10 s).
SETTLE_SECONDS = 12


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------
# A minimal RESP client, for probes, INFO, prefill and the pub/sub subscriber.
# --------------------------------------------------------------------------------


class RespError(Exception):
    pass


class Resp:
    def __init__(self, port: int, timeout: float = 30.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self) -> None:
        self.sock.close()

    @staticmethod
    def encode(*args) -> bytes:
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            if isinstance(arg, str):
                arg = arg.encode()
            elif isinstance(arg, int):
                arg = str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
        return b"".join(out)

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 2]
                return line
            self._fill()

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+",):
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data = bytes(self.buf[:n])
            del self.buf[: n + 2]
            return data
        if kind in (b"*", b">"):
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        if kind == b"_":
            return None
        raise ValueError(f"unexpected reply {line!r}")

    def call(self, *args):
        self.sock.sendall(self.encode(*args))
        return self.read()

    def pipeline(self, commands, batch: int = 1000) -> int:
        """Sends commands in batches; returns the number of error replies."""
        errors = 0
        for start in range(0, len(commands), batch):
            part = commands[start : start + batch]
            self.sock.sendall(b"".join(self.encode(*c) for c in part))
            for _ in part:
                if isinstance(self.read(), RespError):
                    errors += 1
        return errors


def unsupported(port: int, *command) -> str | None:
    """Sends `command`; returns the error text when the server does not know it."""
    conn = Resp(port, timeout=5)
    try:
        reply = conn.call(*command)
    finally:
        conn.close()
    if isinstance(reply, RespError) and "unknown command" in str(reply).lower():
        return str(reply).split(",")[0]
    return None


def info(port: int, section: str = "") -> dict[str, str]:
    conn = Resp(port)
    try:
        text = conn.call("INFO", section) if section else conn.call("INFO")
    finally:
        conn.close()
    out = {}
    for line in text.decode().splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            out[key] = value
    return out


# --------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------


@dataclass
class Target:
    """A server to measure: how to start it and what to call it."""

    name: str
    kind: str  # "redis" or "broker"
    port: int
    extra: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    workdir: str | None = None

    def argv(self) -> list[str]:
        if self.kind == "redis":
            return [
                "redis-server", "--port", str(self.port), "--bind", HOST,
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--loglevel", "warning", "--dir", self.workdir,
            ] + self.extra
        # Like for like with A: no persistence. broker-server logs every write by
        # default; its durable throughput is scripts/bench-durability.sh's job.
        return [
            BROKER_BIN, "--port", str(self.port), "--bind", HOST,
            "--appendonly", "no", "--loglevel", "warning", "--dir", self.workdir,
        ] + self.extra

    def start(self, wrapper: list[str] | None = None, ready_timeout: float = 20) -> None:
        self.stop()
        self.workdir = tempfile.mkdtemp(prefix=f"bench-{self.name}-")
        env = dict(os.environ, **self.env)
        self.proc = subprocess.Popen(
            (wrapper or []) + self.argv(), env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + ready_timeout
        while True:
            try:
                conn = Resp(self.port, timeout=2)
                ok = conn.call("PING")
                conn.close()
                if ok == "PONG":
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at start")
            if time.time() > deadline:
                raise RuntimeError(f"{self.name} did not answer PING on port {self.port}")
            time.sleep(0.05)

    def stop(self, timeout: float = 60) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_ticks(self) -> int:
        """utime + stime of every thread, in clock ticks (/proc/PID/stat 14 + 15)."""
        with open(f"/proc/{self.pid}/stat") as f:
            text = f.read()
        fields = text[text.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12])

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def flushall(self) -> None:
        conn = Resp(self.port)
        conn.call("FLUSHALL")
        conn.close()


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) != 0


# --------------------------------------------------------------------------------
# redis-benchmark
# --------------------------------------------------------------------------------


@dataclass
class BenchResult:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_op: float | None = None


def redis_benchmark(port: int, args: list, timeout: float = 900) -> BenchResult:
    argv = ["redis-benchmark", "-h", HOST, "-p", str(port), "--csv"] + args
    out = subprocess.run(argv, capture_output=True, timeout=timeout, check=True).stdout
    rows = [line for line in out.decode(errors="replace").splitlines() if line.startswith('"')]
    if len(rows) < 2:
        raise RuntimeError(f"no CSV from redis-benchmark {args}: {out[-300:]!r}")
    header = [h.strip('"') for h in rows[0].split('","')]
    values = [v.strip('"') for v in rows[-1].split('","')]
    row = dict(zip(header, values))
    return BenchResult(
        rps=float(row["rps"]),
        p50_ms=float(row.get("p50_latency_ms", "nan")),
        p99_ms=float(row.get("p99_latency_ms", "nan")),
    )


def timed_benchmark(target: Target, args: list, ops: int) -> BenchResult:
    before = target.cpu_ticks()
    result = redis_benchmark(target.port, args)
    spent = target.cpu_ticks() - before
    result.cpu_us_per_op = spent * 1e6 / CLK_TCK / ops
    return result


# --------------------------------------------------------------------------------
# Tests of the comparison. Each returns a dict of metrics, or raises Unsupported.
# --------------------------------------------------------------------------------


class Unsupported(Exception):
    pass


def require(target: Target, *command) -> None:
    error = unsupported(target.port, *command)
    if error:
        raise Unsupported(f"{target.name}: {command[0]} unsupported by the server under test ({error})")


def prefill_keys(target: Target, count: int, size: int) -> None:
    """The keys redis-benchmark -r draws from: key:%012d."""
    conn = Resp(target.port)
    value = b"v" * size
    errors = conn.pipeline([(b"SET", b"key:%012d" % i, value) for i in range(count)])
    conn.close()
    if errors:
        raise RuntimeError(f"{errors} errors while prefilling {target.name}")


@dataclass
class GridTest:
    name: str
    command: str  # redis-benchmark -t name
    pipeline: int
    clients: int
    requests: int
    key_args: bool  # -r 100000 -d 100 for set/get, -d 100 for lists

    def args(self) -> list[str]:
        args = ["-c", str(self.clients), "-P", str(self.pipeline), "-n", str(self.requests),
                "-t", self.command, "-d", "100"]
        if self.command in ("set", "get"):
            args += ["-r", "100000"]
        return args

    def prepare(self, target: Target) -> None:
        if self.command in ("lpush", "rpush", "lpop", "rpop"):
            require(target, self.command.upper(), "__bench_probe__", "x")
            target.flushall()
        if self.command == "get":
            target.flushall()
            prefill_keys(target, 100_000, 100)
        if self.command in ("rpop", "lpop"):
            # Something to pop: as many 100 B elements as the test pops.
            redis_benchmark(target.port, ["-c", "50", "-P", "64", "-n", str(self.requests),
                                          "-t", "lpush", "-d", "100"])

    def run(self, target: Target) -> dict:
        self.prepare(target)
        r = timed_benchmark(target, self.args(), self.requests)
        return {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "cpu_us": r.cpu_us_per_op}


def grid_tests(scale: float) -> list[GridTest]:
    tests = []
    for command in ("set", "get", "lpush", "rpop"):
        for pipeline, n in ((1, 300_000), (16, 2_000_000)):
            tests.append(GridTest(f"{command.upper()} c50 P{pipeline}", command, pipeline, 50,
                                  max(1000, int(n * scale)), True))
    return tests


def latency_tests(scale: float) -> list[GridTest]:
    return [GridTest(f"{c.upper()} c1 P1 (latency)", c, 1, 1, max(1000, int(100_000 * scale)), True)
            for c in ("set", "get")]


# --- The Celery-shaped mix -------------------------------------------------------


def celery_message(size: int) -> bytes:
    body = {
        "body": "W1tdLCB7fSwgeyJjYWxsYmFja3MiOiBudWxsfV0=", "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {"lang": "py", "task": "tasks.add", "id": str(uuid.UUID(int=1))},
        "properties": {"delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "celery"},
                       "priority": 0, "body_encoding": "base64", "delivery_tag": str(uuid.UUID(int=2))},
        "pad": "",
    }
    text = json.dumps(body).encode()
    body["pad"] = "x" * (size - len(text))
    text = json.dumps(body).encode()
    assert len(text) == size, len(text)
    return text


def result_json(task_id: str, size: int = 152) -> bytes:
    """A Celery result document for `task_id`, padded to `size` bytes through the
    digits of its result (152 B with a one-digit result and a uuid4 task id)."""

    def build(result: int) -> bytes:
        return json.dumps({"status": "SUCCESS", "result": result, "traceback": None,
                           "children": [], "date_done": "2024-05-01T12:00:00.000000",
                           "task_id": task_id}, separators=(",", ":")).encode()

    pad = size - len(build(4))
    assert pad >= 0, f"a result document is at least {size - pad} bytes"
    text = build(int("4" * (pad + 1)))
    assert len(text) == size
    return text


class Subscriber(threading.Thread):
    """A live subscriber that counts every message published to RESULT_CHANNEL."""

    def __init__(self, port: int, expected: int, timeout: float):
        super().__init__(daemon=True)
        self.conn = Resp(port, timeout=timeout)
        self.expected = expected
        self.received = 0
        self.error: str | None = None
        reply = self.conn.call("SUBSCRIBE", RESULT_CHANNEL)
        if isinstance(reply, RespError):
            raise Unsupported(f"SUBSCRIBE unsupported by the server under test ({reply})")

    def run(self) -> None:
        try:
            while self.received < self.expected:
                frame = self.conn.read()
                if isinstance(frame, list) and frame and frame[0] == b"message":
                    self.received += 1
        except Exception as exc:  # timeout or closed: reported as missing messages
            self.error = repr(exc)
        finally:
            self.conn.close()


def celery_mix(target: Target, n: int) -> dict:
    """LPUSH 1 KiB (4 conns) + BRPOP on 4 priority keys (8 conns) + SETEX results (4
    conns) + PUBLISH to a live subscriber (4 conns), n of each, all at once."""
    for command in (("LPUSH", "__bench_probe__", "x"), ("BRPOP", "__bench_probe__", "1"),
                    ("SETEX", "__bench_probe__", "10", "x"), ("PUBLISH", "__bench_probe__", "x")):
        require(target, *command)
    target.flushall()
    message = celery_message(1024)
    result = result_json(str(uuid.UUID(int=3)))
    subscriber = Subscriber(target.port, n, timeout=120)
    subscriber.start()
    base = ["redis-benchmark", "-h", HOST, "-p", str(target.port), "--csv"]
    consumers = subprocess.Popen(base + ["-c", "8", "-n", str(n), "brpop"] + PRIORITY_KEYS + [b"1"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.2)  # let the consumers block first, as idle workers do
    before = target.cpu_ticks()
    started = time.perf_counter()
    loads = [
        subprocess.Popen(base + ["-c", "4", "-n", str(n), "lpush", "q", message],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        subprocess.Popen(base + ["-c", "4", "-n", str(n), "-r", "1000000", "setex",
                                 "celery-task-meta-__rand_int__", "86400", result],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        subprocess.Popen(base + ["-c", "4", "-n", str(n), "publish", RESULT_CHANNEL, result],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE),
    ]
    for proc in loads + [consumers]:
        proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"redis-benchmark failed on {target.name}")
    subscriber.join(timeout=60)
    elapsed = time.perf_counter() - started
    spent = target.cpu_ticks() - before
    # Account for every message: BRPOPs that timed out left messages behind.
    conn = Resp(target.port)
    leftover = sum(conn.call("LLEN", key) for key in PRIORITY_KEYS)
    drained = 0
    while conn.call("RPOP", "q") is not None:
        drained += 1
    conn.close()
    if drained != leftover:
        raise RuntimeError(f"{target.name}: LLEN said {leftover} left, drained {drained}")
    if subscriber.received != n:
        raise RuntimeError(f"{target.name}: subscriber got {subscriber.received} of {n} "
                           f"published messages ({subscriber.error})")
    return {
        "rps": n / elapsed,  # tasks per second
        "cpu_us": spent * 1e6 / CLK_TCK / (4 * n),
        "brpop_timeouts": leftover,
        "published_received": subscriber.received,
    }


# --- Syscalls per op --------------------------------------------------------------


def strace_counts(target: Target, bench_args: list, ops: int) -> dict:
    out = tempfile.mktemp(prefix="strace-", suffix=".txt")
    tracer = subprocess.Popen(["strace", "-c", "-f", "-p", str(target.pid), "-o", out],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:  # wait until every thread is traced
        tasks = os.listdir(f"/proc/{target.pid}/task")
        traced = 0
        for task in tasks:
            with open(f"/proc/{target.pid}/task/{task}/status") as f:
                traced += any(l.startswith("TracerPid:") and l.split()[1] != "0" for l in f)
        if traced == len(tasks):
            break
        time.sleep(0.05)
    time.sleep(0.2)
    redis_benchmark(target.port, bench_args)
    tracer.send_signal(signal.SIGINT)
    tracer.wait(timeout=30)
    calls = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and re.match(r"^\d+\.\d+$", parts[0]):
                calls[parts[-1]] = int(parts[3])
    os.unlink(out)
    total = calls.pop("total", sum(calls.values()))
    return {"per_op": total / ops, "total": total,
            "by_call": {k: v / ops for k, v in sorted(calls.items(), key=lambda kv: -kv[1])}}


def syscall_tests(scale: float) -> list[tuple[str, list, int]]:
    n = max(1000, int(200_000 * scale))
    return [(f"SET c50 P{p}", ["-c", "50", "-P", str(p), "-n", str(n), "-t", "set",
                               "-r", "100000", "-d", "100"], n) for p in (1, 16)]


# --- Memory per item --------------------------------------------------------------


def dataset(name: str, n: int):
    """Yields RESP-encoded commands for one memory dataset."""
    rng = random.Random(7)
    if name == "strings 100 B":
        for i in range(n):
            yield Resp.encode(b"SET", b"key:%08d" % i, (b"%08d" % i) + b"v" * 92)
    elif name == "list 100 B elements":
        for i in range(n):
            yield Resp.encode(b"LPUSH", b"biglist", (b"%08d" % i) + b"e" * 92)
    elif name == "celery results (SETEX)":
        for _ in range(n):
            task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            yield Resp.encode(b"SETEX", b"celery-task-meta-" + task_id.encode(), b"86400",
                              result_json(task_id))
    else:
        raise KeyError(name)


DATASET_PROBES = {
    "strings 100 B": ("SET", "__bench_probe__", "x"),
    "list 100 B elements": ("LPUSH", "__bench_probe__", "x"),
    "celery results (SETEX)": ("SETEX", "__bench_probe__", "10", "x"),
}


def memory_per_item(target: Target, name: str, n: int) -> dict:
    target.start()
    try:
        require(target, *DATASET_PROBES[name])
        target.flushall()
        time.sleep(0.3)
        used0, rss0 = int(info(target.port, "memory")["used_memory"]), target.rss_bytes()
        pipe = subprocess.Popen(["redis-cli", "-h", HOST, "-p", str(target.port), "--pipe"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        batch = []
        for command in dataset(name, n):
            batch.append(command)
            if len(batch) == 10_000:
                pipe.stdin.write(b"".join(batch))
                batch = []
        pipe.stdin.write(b"".join(batch))
        pipe.stdin.close()
        report = pipe.stdout.read().decode(errors="replace")
        pipe.wait()
        match = re.search(r"errors: (\d+), replies: (\d+)", report)
        if not match or int(match.group(1)) != 0 or int(match.group(2)) != n:
            raise RuntimeError(f"{target.name}: redis-cli --pipe said: {report.strip()[-200:]}")
        # Let each allocator return the pages the load freed (jemalloc purges dirty
        # pages gradually over its 10 s decay time, from a background thread in
        # both servers), so RSS is what the data really holds.
        time.sleep(SETTLE_SECONDS)
        used1, rss1 = int(info(target.port, "memory")["used_memory"]), target.rss_bytes()
        conn = Resp(target.port)
        count = conn.call("LLEN", "biglist") if name.startswith("list") else conn.call("DBSIZE")
        conn.close()
        if count != n:
            raise RuntimeError(f"{target.name}: {count} items stored, expected {n}")
        return {"used_per_item": (used1 - used0) / n, "rss_per_item": (rss1 - rss0) / n}
    finally:
        target.stop()


# --------------------------------------------------------------------------------
# Alternating runner and reporting
# --------------------------------------------------------------------------------


def machine_load() -> str:
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return f"load average {' '.join(load)} on {os.cpu_count()} CPUs"


def alternate(targets: list[Target], rounds: int, run) -> dict[str, list]:
    """Runs `run(target)` for every target in every round, the order reversed in even
    rounds; returns each target's list of results (or an Unsupported text)."""
    results: dict[str, list] = {t.name: [] for t in targets}
    skipped: set[str] = set()
    for r in range(rounds):
        order = targets if r % 2 == 0 else list(reversed(targets))
        for target in order:
            if target.name in skipped:
                continue  # a skipped test stays skipped in every round
            try:
                results[target.name].append(run(target))
            except Unsupported as exc:
                results[target.name] = [str(exc)]
                skipped.add(target.name)
    return results


def median_of(runs: list, key: str):
    values = [r[key] for r in runs if isinstance(r, dict) and r.get(key) is not None]
    return statistics.median(values) if values else None


def spread(runs: list, key: str) -> float | None:
    values = [r[key] for r in runs if isinstance(r, dict) and r.get(key)]
    if len(values) < 2:
        return None
    return max(values) / min(values) - 1


def fmt(value, digits: int = 0, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}{suffix}"


def ratio(b, a) -> float | None:
    if a in (None, 0) or b is None:
        return None
    return b / a


class Report:
    def __init__(self, title: str):
        self.lines = [f"# {title}", "", f"{datetime.datetime.now().isoformat(timespec='minutes')}, "
                      f"{machine_load()} at start", ""]
        self.data: dict = {}

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)
        for line in lines:
            print(line, flush=True)

    def save(self, stem: str) -> None:
        outdir = os.path.join(ROOT, "target", "bench-compare")
        os.makedirs(outdir, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        with open(os.path.join(outdir, f"{stem}-{stamp}.md"), "w") as f:
            f.write("\n".join(self.lines) + "\n")
        with open(os.path.join(outdir, f"{stem}-{stamp}.json"), "w") as f:
            json.dump(self.data, f, indent=1, default=str)
        log(f"saved target/bench-compare/{stem}-{stamp}.md and .json")


def table_for(report: Report, a: Target, b: Target, named: list[tuple[str, dict]],
              rps_label: str = "rps") -> list[float]:
    """Writes one row per test; returns the rps ratios that went into the geomean."""
    report.add(
        f"| test | {a.name} {rps_label} | {b.name} {rps_label} | B/A {rps_label} | spread A / B "
        f"| p50 ms A / B | p99 ms A / B | CPU µs/op A | CPU µs/op B | B/A CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    )
    ratios = []
    for name, results in named:
        ra, rb = results[a.name], results[b.name]
        skipped = [r for r in ra + rb if isinstance(r, str)]
        if skipped:
            # Still show the side that ran, so the reference figure is on record.
            cell = lambda runs, key, d: fmt(median_of(runs, key), d)
            report.add(f"| {name} | {cell(ra, 'rps', 0)} | {cell(rb, 'rps', 0)} | {skipped[0]} | | "
                       f"{cell(ra, 'p50_ms', 3)} / {cell(rb, 'p50_ms', 3)} | "
                       f"{cell(ra, 'p99_ms', 3)} / {cell(rb, 'p99_ms', 3)} | "
                       f"{cell(ra, 'cpu_us', 2)} | {cell(rb, 'cpu_us', 2)} | |")
            continue
        rps_a, rps_b = median_of(ra, "rps"), median_of(rb, "rps")
        cpu_a, cpu_b = median_of(ra, "cpu_us"), median_of(rb, "cpu_us")
        rr = ratio(rps_b, rps_a)
        if rr:
            ratios.append(rr)
        sa, sb = spread(ra, "rps"), spread(rb, "rps")
        report.add(
            f"| {name} | {fmt(rps_a)} | {fmt(rps_b)} | **{fmt(rr, 2)}** | "
            f"{fmt(sa and sa * 100, 0, '%')} / {fmt(sb and sb * 100, 0, '%')} | "
            f"{fmt(median_of(ra, 'p50_ms'), 3)} / {fmt(median_of(rb, 'p50_ms'), 3)} | "
            f"{fmt(median_of(ra, 'p99_ms'), 3)} / {fmt(median_of(rb, 'p99_ms'), 3)} | "
            f"{fmt(cpu_a, 2)} | {fmt(cpu_b, 2)} | {fmt(ratio(cpu_b, cpu_a), 2)} |"
        )
    return ratios


def geomean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


# --------------------------------------------------------------------------------
# Subcommands
# --------------------------------------------------------------------------------


def make_pair(opts) -> tuple[Target, Target]:
    a = Target("redis", "redis", opts.port_a)
    if opts.aa:  # an A/A run: the noise floor, and a check of every code path
        return a, Target("redis-2", "redis", opts.port_b)
    b = Target("broker", "broker", opts.port_b, extra=(["--threads", str(opts.threads)] if opts.threads else []))
    return a, b


def cmd_compare(opts) -> None:
    a, b = make_pair(opts)
    scale = opts.scale
    report = Report(f"broker-server (B) vs redis-server (A), {opts.rounds} rounds, medians")
    report.data["meta"] = {"redis": subprocess.run(["redis-server", "--version"], capture_output=True,
                                                   text=True).stdout.strip(),
                           "rounds": opts.rounds, "scale": scale}
    parts = set(opts.only.split(",")) if opts.only else {"grid", "latency", "celery", "syscalls", "memory"}
    ratios: list[float] = []
    try:
        if parts & {"grid", "latency", "celery"}:
            a.start()
            b.start()
            named = []
            tests = (grid_tests(scale) if "grid" in parts else []) + \
                    (latency_tests(scale) if "latency" in parts else [])
            for test in tests:
                log(f"== {test.name}")
                named.append((test.name, alternate([a, b], opts.rounds, test.run)))
            if tests:
                report.add("", "## Throughput, latency and server CPU (redis-benchmark, 100 B values)", "")
                ratios += table_for(report, a, b, named)
            report.data["grid"] = named
            if "celery" in parts:
                n = max(1000, int(30_000 * scale))
                log(f"== Celery mix, {n} tasks")
                results = alternate([a, b], opts.rounds, lambda t: celery_mix(t, n))
                report.add("", f"## Celery-shaped mix ({n} tasks: LPUSH 1 KiB ×4 conns, BRPOP on 4 "
                           "priority keys ×8, SETEX 152 B ×4, PUBLISH ×4 to 1 live subscriber)", "",
                           "rps = tasks/s; CPU per command (4 per task). Every run: queues drained to 0, "
                           "every publish received; BRPOP timeouts (messages drained after) are counted.", "")
                ratios += table_for(report, a, b, [("Celery mix", results)], "tasks/s")
                for t in (a, b):
                    runs = [r for r in results[t.name] if isinstance(r, dict)]
                    if runs:
                        report.add("", f"{t.name}: BRPOP timeouts per run "
                                   f"{[r['brpop_timeouts'] for r in runs]}, published messages received "
                                   f"{[r['published_received'] for r in runs]} of {n}.")
                report.data["celery"] = results
            a.stop()
            b.stop()
            report.add("", f"**Geomean of rps ratios B/A: {fmt(geomean(ratios), 3)}** "
                       f"over {len(ratios)} tests (noise: ±5 % on the geomean, ±25 % per test).", "")
        if "syscalls" in parts:
            a.start()
            b.start()
            report.add("", "## Syscalls per op (strace -c -f, SET 100 B, 50 clients)", "",
                       f"| test | {a.name} | {b.name} | B/A | {b.name} by call |", "|---|---|---|---|---|")
            for name, args, n in syscall_tests(scale):
                log(f"== strace {name}")
                ca, cb = strace_counts(a, args, n), strace_counts(b, args, n)
                top = ", ".join(f"{k} {v:.3f}" for k, v in list(cb["by_call"].items())[:6])
                report.add(f"| {name} | {ca['per_op']:.3f} | {cb['per_op']:.3f} | "
                           f"{fmt(ratio(cb['per_op'], ca['per_op']), 2)} | {top} |")
                report.data[f"syscalls {name}"] = {a.name: ca, b.name: cb}
            a.stop()
            b.stop()
        if "memory" in parts:
            n = max(10_000, int(1_000_000 * scale))
            report.add("", f"## Memory per item ({n:,} items, fresh server per dataset, redis-cli --pipe)", "",
                       "| dataset | used_memory B/item A | B | B/A | RSS B/item A | B | B/A |",
                       "|---|---|---|---|---|---|---|")
            for name in DATASET_PROBES:
                log(f"== memory {name}")
                row = {}
                for target in (a, b):
                    try:
                        row[target.name] = memory_per_item(target, name, n)
                    except Unsupported as exc:
                        row[target.name] = str(exc)
                ma, mb = row[a.name], row[b.name]
                if isinstance(mb, str) or isinstance(ma, str):
                    # Still show the side that ran, so the reference figure is on record.
                    cell = lambda m, key: m if isinstance(m, str) else f"{m[key]:.1f}"
                    report.add(f"| {name} | {cell(ma, 'used_per_item')} | {cell(mb, 'used_per_item')} | | "
                               f"{cell(ma, 'rss_per_item')} | {cell(mb, 'rss_per_item')} | |")
                else:
                    report.add(
                        f"| {name} | {ma['used_per_item']:.1f} | {mb['used_per_item']:.1f} | "
                        f"{fmt(ratio(mb['used_per_item'], ma['used_per_item']), 2)} | "
                        f"{ma['rss_per_item']:.1f} | {mb['rss_per_item']:.1f} | "
                        f"{fmt(ratio(mb['rss_per_item'], ma['rss_per_item']), 2)} |")
                report.data[f"memory {name}"] = row
        report.add("", f"Machine at the end: {machine_load()}.")
    finally:
        a.stop()
        b.stop()
        report.save("compare")


def cmd_threads(opts) -> None:
    """Throughput against the number of runtime workers on independent keys/queues."""
    scale = opts.scale
    settings = [int(x) for x in opts.threads_list.split(",")]
    n = max(10_000, int(2_000_000 * scale))
    report = Report("broker-server thread sweep on independent keys and queues")
    base = ["-c", "50", "-P", "16", "-n", str(n)]
    # Each workload is two redis-benchmark runs of n requests; rps is their combined
    # rate (2n over the summed time).
    workloads = [
        ("SET+GET on 100k random keys c50 P16",
         (base + ["-r", "100000", "-d", "100", "-t", "set"], base + ["-r", "100000", "-d", "100", "-t", "get"]),
         2 * n, None),
        ("LPUSH+RPOP on 1000 queues c50 P16",
         (base + ["-r", "1000", "lpush", "q:__rand_int__", "x" * 100], base + ["-r", "1000", "rpop", "q:__rand_int__"]),
         2 * n, ("LPUSH", "__bench_probe__", "x")),
    ]
    targets = [Target("redis", "redis", opts.port_a)] + [
        Target(f"broker threads={t}", "broker", opts.port_b + i, extra=["--threads", str(t)])
        for i, t in enumerate(settings)]
    report.add("", f"Client: redis-benchmark --threads {opts.client_threads}.", "",
               "| workload | server | rps (median) | CPU µs/op | spread |", "|---|---|---|---|---|")
    for wname, args, ops, probe in workloads:
        for target in targets:
            target.start()
            try:
                if probe:
                    require(target, *probe)

                def once(t=target):
                    t.flushall()
                    before = t.cpu_ticks()
                    # Options go before a custom command, whose arguments run to the end.
                    first, second = (redis_benchmark(t.port, ["--threads", str(opts.client_threads)] + a).rps
                                     for a in args)
                    rps = 2 / (1 / first + 1 / second)
                    return {"rps": rps, "cpu_us": (t.cpu_ticks() - before) * 1e6 / CLK_TCK / ops}

                runs = [once() for _ in range(opts.rounds)]
                report.add(f"| {wname} | {target.name} | {fmt(median_of(runs, 'rps'))} | "
                           f"{fmt(median_of(runs, 'cpu_us'), 2)} | {fmt((spread(runs, 'rps') or 0) * 100, 0, '%')} |")
                report.data[f"{wname} {target.name}"] = runs
            except Unsupported as exc:
                report.add(f"| {wname} | {target.name} | {exc} | | |")
            finally:
                target.stop()
    report.add("", f"Machine at the end: {machine_load()}.")
    report.save("threads")


def cmd_runtime(opts) -> None:
    """current_thread vs multi_thread(1) vs multi_thread(2): CPU/op and syscalls/op."""
    compare_variants(opts, "broker-server runtime flavours", "runtime", [
        Target("multi_thread×2", "broker", opts.port_b, extra=["--threads", "2"]),
        Target("multi_thread×1", "broker", opts.port_b + 1, extra=["--threads", "1"]),
        Target("current_thread", "broker", opts.port_b + 2, env={"BROKER_SERVER_RUNTIME": "current_thread"}),
    ])


def cmd_writes(opts) -> None:
    """Replies sent in io_uring batches vs one send per connection, next to Redis."""
    compare_variants(opts, "reply writes: io_uring batches vs direct sends", "writes", [
        Target("redis-server", "redis", opts.port_a),
        Target("io-uring yes", "broker", opts.port_b, extra=["--io-uring", "yes"]),
        Target("io-uring no", "broker", opts.port_b + 1, extra=["--io-uring", "no"]),
    ], celery=True)


def compare_variants(opts, title: str, save_as: str, targets: list[Target], celery: bool = False) -> None:
    """Runs the same SET tests (and the Celery mix) on every target, alternating, and
    reports throughput, CPU per op and syscalls per op side by side."""
    scale = opts.scale
    report = Report(title)
    for t in targets:
        t.start()
    try:
        tests = [GridTest(f"SET c50 P{p}", "set", p, 50, max(1000, int(n * scale)), True)
                 for p, n in ((1, 300_000), (16, 2_000_000))] + \
                [GridTest("SET c1 P1", "set", 1, 1, max(1000, int(100_000 * scale)), True)]
        report.add("", "| test | " + " | ".join(f"{t.name} rps / CPU µs/op" for t in targets) + " |",
                   "|---|" + "---|" * len(targets))
        runs = [(test.name, test.run) for test in tests]
        if celery:
            n = max(1000, int(30_000 * scale))
            runs.append((f"Celery mix ({n} tasks; tasks/s)", lambda t: celery_mix(t, n)))
        for name, run in runs:
            log(f"== {name}")
            results = alternate(targets, opts.rounds, run)
            cells = [f"{fmt(median_of(results[t.name], 'rps'))} / {fmt(median_of(results[t.name], 'cpu_us'), 2)}"
                     for t in targets]
            report.add(f"| {name} | " + " | ".join(cells) + " |")
            report.data[name] = results
        report.add("", "| syscalls per op | " + " | ".join(t.name for t in targets) + " |",
                   "|---|" + "---|" * len(targets))
        for name, args, n in syscall_tests(scale):
            counts = [strace_counts(t, args, n) for t in targets]
            report.add(f"| {name} | " + " | ".join(
                f"{c['per_op']:.3f} ({', '.join(f'{k} {v:.2f}' for k, v in list(c['by_call'].items())[:4])})"
                for c in counts) + " |")
            report.data[f"syscalls {name}"] = counts
    finally:
        for t in targets:
            t.stop()
    report.add("", f"Machine at the end: {machine_load()}.")
    report.save(save_as)


def callgrind_total(path: str) -> int:
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def cmd_callgrind(opts) -> None:
    n = opts.callgrind_ops
    outdir = os.path.join(ROOT, "target", "bench-compare", "callgrind")
    os.makedirs(outdir, exist_ok=True)
    report = Report(f"User-space instructions per SET under callgrind ({n:,} SETs, 100 B, 50 clients)")
    kinds = opts.callgrind_servers.split(",")
    report.add("", "| server | P1 Ir/op | P16 Ir/op |", "|---|---|---|")
    for kind in kinds:
        target = Target(kind, kind, opts.port_b if kind == "broker" else opts.port_a)
        totals = {}
        for label, pipeline in (("idle", None), ("P1", 1), ("P16", 16)):
            out = os.path.join(outdir, f"{kind}-{label}.out")
            wrapper = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
            target.start(wrapper=wrapper, ready_timeout=120)
            if pipeline:
                redis_benchmark(target.port, ["-c", "50", "-P", str(pipeline), "-n", str(n),
                                              "-t", "set", "-r", "100000", "-d", "100"], timeout=1800)
            target.stop(timeout=300)
            totals[label] = callgrind_total(out)
            log(f"   {kind} {label}: {totals[label]:,} Ir")
        per = {k: (totals[k] - totals["idle"]) / n for k in ("P1", "P16")}
        report.add(f"| {kind} | {per['P1']:,.0f} | {per['P16']:,.0f} |")
        report.data[kind] = {"totals": totals, "per_op": per}
        for label in ("P1", "P16"):
            annotate = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no",
                                       os.path.join(outdir, f"{kind}-{label}.out")],
                                      capture_output=True, text=True).stdout
            with open(os.path.join(outdir, f"{kind}-{label}.annotate.txt"), "w") as f:
                f.write(annotate)
    report.add("", "Idle start/stop run subtracted. Annotations: target/bench-compare/callgrind/*.annotate.txt")
    report.save("callgrind")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["compare", "threads", "runtime", "writes", "callgrind"])
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds (≥3; 5 when a decision hangs on it)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply request counts (0.05 for a quick end-to-end check)")
    parser.add_argument("--only", help="comma list of: grid,latency,celery,syscalls,memory")
    parser.add_argument("--threads", type=int, default=0, help="broker-server threads (0: its default)")
    parser.add_argument("--aa", action="store_true", help="compare: B is a second redis-server (A/A noise floor)")
    parser.add_argument("--threads-list", default="1,2,4", help="settings for the threads sweep")
    parser.add_argument("--client-threads", type=int, default=1, help="redis-benchmark --threads in the sweep")
    parser.add_argument("--port-a", type=int, default=7380, help="redis-server's port")
    parser.add_argument("--port-b", type=int, default=7381, help="broker-server's port (sweeps use the next ones)")
    parser.add_argument("--callgrind-ops", type=int, default=100_000)
    parser.add_argument("--callgrind-servers", default="broker,redis")
    opts = parser.parse_args()
    if 6379 in (opts.port_a, opts.port_b):
        sys.exit("never port 6379: a developer's real Redis may be there")
    for port in (opts.port_a, opts.port_b, opts.port_b + 1, opts.port_b + 2):
        if not port_free(port):
            sys.exit(f"port {port} is in use")
    if not os.access(BROKER_BIN, os.X_OK):
        sys.exit(f"{BROKER_BIN} is missing: cargo build --release")
    log(f"machine: {machine_load()}")
    {"compare": cmd_compare, "threads": cmd_threads, "runtime": cmd_runtime,
     "writes": cmd_writes, "callgrind": cmd_callgrind}[opts.command](opts)


if __name__ == "__main__":
    main()
