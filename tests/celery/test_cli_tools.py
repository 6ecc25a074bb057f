"""redis-cli (one-shot, interactive on a terminal, --pipe) and redis-benchmark."""

import os
import pty
import re
import select
import subprocess
import time

import pytest

from harness.waiting import Timeout


def cli(server, *args, stdin=None, timeout=30):
    done = subprocess.run(
        ["redis-cli", "-p", str(server.port), *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode()


def test_one_shot_commands(server):
    assert cli(server, "ping")[1] == "PONG\n"
    assert cli(server, "set", "greeting", "hello world")[1] == "OK\n"
    assert cli(server, "get", "greeting")[1] == "hello world\n"
    assert cli(server, "get", "missing")[1] == "\n"  # nil prints as an empty line when piped
    assert cli(server, "incrby", "counter", 41)[1] == "41\n"
    assert cli(server, "--no-raw", "get", "missing")[1] == "(nil)\n"
    # -x takes the last argument from standard input.
    assert cli(server, "-x", "set", "fromstdin", stdin=b"abc")[1] == "OK\n"
    assert cli(server, "strlen", "fromstdin")[1] == "3\n"


class Terminal:
    """redis-cli in a pseudo-terminal, driven like a person would."""

    def __init__(self, argv):
        self.master, slave = pty.openpty()
        self.child = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            env=dict(os.environ, TERM="dumb"),
        )
        os.close(slave)
        self.screen = b""

    def expect(self, pattern, timeout=10):
        regex = re.compile(pattern.encode())
        deadline = time.monotonic() + timeout
        while not regex.search(self.screen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"no /{pattern}/ on the terminal:\n{self.screen.decode(errors='replace')}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.screen += os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    raise Timeout(f"terminal closed before /{pattern}/:\n{self.screen.decode(errors='replace')}")
        match = regex.search(self.screen)
        self.screen = self.screen[match.end():]
        return match

    def type(self, line):
        os.write(self.master, line.encode() + b"\r")

    def close(self):
        if self.child.poll() is None:
            self.child.kill()
        self.child.wait(10)
        os.close(self.master)


def test_interactive_session(server):
    term = Terminal(["redis-cli", "-p", str(server.port)])
    try:
        prompt = rf"127\.0\.0\.1:{server.port}> "
        term.expect(prompt)
        term.type("ping")
        term.expect("PONG")
        term.expect(prompt)
        term.type("set fruit banana")
        term.expect("OK")
        term.expect(prompt)
        term.type("get fruit")
        term.expect('"banana"')
        term.expect(prompt)
        term.type("get nothing")
        term.expect(r"\(nil\)")
        term.expect(prompt)
        term.type("nosuchcommand")
        term.expect(r"\(error\) ERR unknown command")
        term.expect(prompt)
        term.type("quit")
        assert term.child.wait(10) == 0
    finally:
        term.close()


def test_pipe_mode_mass_insert(server):
    count = 10_000
    stream = b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
        % (len(k), k, len(v), v)
        for k, v in ((b"mass:%d" % i, b"value-%d" % i) for i in range(count))
    )
    code, out, err = cli(server, "--pipe", stdin=stream, timeout=60)
    assert code == 0, out + err
    assert re.search(rf"errors: 0, replies: {count}", out), out
    assert cli(server, "dbsize")[1] == f"{count}\n"
    assert cli(server, "get", f"mass:{count - 1}")[1] == f"value-{count - 1}\n"


# The tests redis-benchmark runs by default, by the name `-t` selects them with, and
# the result lines each one prints.
BENCHMARK_TESTS = {
    "ping_inline": ["PING_INLINE"],
    "ping_mbulk": ["PING_MBULK"],
    "set": ["SET"],
    "get": ["GET"],
    "incr": ["INCR"],
    "lpush": ["LPUSH"],
    "rpush": ["RPUSH"],
    "lpop": ["LPOP"],
    "rpop": ["RPOP"],
    "sadd": ["SADD"],
    "hset": ["HSET"],
    "spop": ["SPOP"],
    "zadd": ["ZADD"],
    "zpopmin": ["ZPOPMIN"],
    "lrange": [
        "LPUSH (needed to benchmark LRANGE)",
        "LRANGE_100 (first 100 elements)",
        "LRANGE_300 (first 300 elements)",
        "LRANGE_500 (first 500 elements)",
        "LRANGE_600 (first 600 elements)",
    ],
    "mset": ["MSET (10 keys)"],
}


def benchmark(server, *args):
    done = subprocess.run(
        ["redis-benchmark", "-p", str(server.port), "-q", "-n", "1000", *args],
        capture_output=True,
        timeout=120,
    )
    # Progress is redrawn with carriage returns; keep the final text of each line.
    text = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
    lines = [part for line in text.splitlines() for part in line.split("\r")]
    return done.returncode, text, lines


def finished(lines, name):
    pattern = re.compile(rf"^\s*{re.escape(name)}: [\d.]+ requests per second")
    return any(pattern.match(line) for line in lines)


@pytest.mark.parametrize("test", list(BENCHMARK_TESTS))
def test_benchmark(server, test):
    """`redis-benchmark -q -n 1000 -t <test>`: each default test, one by one, so a
    failure names the command behind it."""
    code, text, lines = benchmark(server, "-t", test)
    assert "Error" not in text, text
    assert code == 0, text
    for name in BENCHMARK_TESTS[test]:
        assert finished(lines, name), f"{name} did not finish:\n{text}"


def test_benchmark_default_run(server):
    """The whole default run, as a person types it."""
    code, text, lines = benchmark(server)
    assert "Error" not in text, text
    assert code == 0, text
    for names in BENCHMARK_TESTS.values():
        for name in names:
            assert finished(lines, name), f"{name} did not finish:\n{text}"
