"""Fixtures of the Celery end-to-end suite.

Environment:

* ``BROKER_UNDER_TEST=redis`` runs everything against Debian's redis-server (the
  oracle); otherwise against ``target/release/broker-server``.
* ``BROKER_TEST_PARSER=python`` makes every process of the run (pytest, workers,
  Flower, the celery CLI) use redis-py's pure-Python parser instead of hiredis.

A *stack* is one server under test plus the Celery processes started on it. Every
process belongs to a fixture whose finalizer stops it (process group, SIGTERM, then
SIGKILL), so nothing outlives its test or module.
"""

import os
import sys
from pathlib import Path

from harness.environment import PARSER, SUITE, child_env

if PARSER == "python":
    # Before anything imports redis; children get the same through sitecustomize.
    sys.modules["hiredis"] = None

import gc  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import urllib.request  # noqa: E402

import pytest  # noqa: E402

from harness import servers  # noqa: E402
from harness.processes import Process  # noqa: E402
from harness.servers import Server, free_port  # noqa: E402
from harness.waiting import wait_for  # noqa: E402
from suite_app import make_app  # noqa: E402


def pytest_report_header(config):
    target = servers.kind()
    if target == "broker-server":
        target += f" ({servers.broker_server_bin()})"
    return [f"server under test: {target}", f"redis-py parser: {PARSER}"]


class Stack:
    """A server under test, a producer app, and the Celery processes around them."""

    def __init__(self, workdir, config, durable=False):
        self.workdir = Path(workdir)
        self.processes = []
        self.workers = {}
        self.server = Server(self.workdir, durable=durable).start()
        try:
            self.config = {
                "broker_url": self.server.url(),
                "result_backend": self.server.url(),
                **config,
            }
            self.app = make_app(self.config)
        except BaseException:
            self.server.stop()
            raise

    # -- the side channel -------------------------------------------------------------

    def redis(self, **kwargs):
        """A plain client on the server under test (no key prefix)."""
        return self.server.client(**kwargs)

    def env(self, extra=None):
        return child_env(
            {
                "SUITE_CELERY_CONFIG": json.dumps(self.config),
                "SUITE_SIDE_URL": self.server.url(),
                **(extra or {}),
            }
        )

    # -- processes --------------------------------------------------------------------

    def start_worker(
        self, name, pool="prefork", concurrency=2, queues=None, events=False, extra=()
    ):
        """Starts ``celery worker -n <name>@suite`` and waits for its "ready." line."""
        argv = [
            sys.executable, "-m", "celery", "-A", "suite_app", "worker",
            "-n", f"{name}@suite", "-l", "INFO", "-P", pool, "-c", concurrency,
        ]
        if queues:
            argv += ["-Q", ",".join(queues)]
        if events:
            argv.append("-E")
        argv += list(extra)
        process = Process(
            f"worker {name}", argv, self.workdir / f"worker-{name}.log",
            env=self.env(), cwd=SUITE,
        )
        self.processes.append(process)
        self.workers[name] = process
        process.wait_for_log(r"@suite ready\.", timeout=60)
        return process

    def start_flower(self):
        """Starts Flower on a free port; returns its base URL once it answers."""
        port = free_port()
        argv = [
            sys.executable, "-m", "celery", "-A", "suite_app", "flower",
            "--address=127.0.0.1", f"--port={port}",
        ]
        process = Process(
            "flower", argv, self.workdir / "flower.log",
            env=self.env({"FLOWER_UNAUTHENTICATED_API": "true"}), cwd=SUITE,
        )
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"

        def answers():
            if not process.alive():
                raise AssertionError(f"flower exited\n{process.log_tail()}")
            try:
                with urllib.request.urlopen(base + "/healthcheck", timeout=2) as reply:
                    return reply.status == 200
            except OSError:
                return False

        wait_for(answers, 60, "Flower to answer /healthcheck", detail=process.log_tail)
        return base

    def celery(self, *args, timeout=60):
        """Runs a ``celery -A suite_app ...`` command; returns (exit code, output)."""
        argv = [sys.executable, "-m", "celery", "-A", "suite_app", *map(str, args)]
        child = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=self.env(), cwd=SUITE,
            start_new_session=True,
        )
        try:
            out, _ = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            out, _ = child.communicate()
            raise AssertionError(
                f"`celery {' '.join(map(str, args))}` ran over {timeout}s:\n"
                + out.decode("utf-8", "replace")
            )
        return child.returncode, out.decode("utf-8", "replace")

    def logs(self):
        return "\n".join(p.log_tail() for p in self.processes) + "\n" + self.server.log_tail()

    def close(self):
        for process in self.processes:
            process.begin_stop()
        for process in reversed(self.processes):
            process.stop(timeout=10)
        # AsyncResults unsubscribe when collected; collect them while the server is
        # still up, or their finalizers retry against a dead server at exit.
        gc.collect()
        try:
            self.app.close()
        finally:
            self.server.stop()


def _stack_factory(request, tmp_path_factory):
    stacks = []

    def make(config=None, durable=False, name="stack"):
        workdir = tmp_path_factory.mktemp(name)
        stack = Stack(workdir, config or {}, durable=durable)
        stacks.append(stack)
        return stack

    def close_all():
        for stack in reversed(stacks):
            stack.close()

    request.addfinalizer(close_all)
    return make


@pytest.fixture
def make_stack(request, tmp_path_factory):
    """Stacks that live for one test."""
    return _stack_factory(request, tmp_path_factory)


@pytest.fixture(scope="module")
def make_module_stack(request, tmp_path_factory):
    """Stacks shared by the tests of one module."""
    return _stack_factory(request, tmp_path_factory)


@pytest.fixture(scope="session")
def default_stack(request, tmp_path_factory):
    """The stack most tests share: one prefork worker (2 processes) sending events,
    ``task_track_started`` on, ``result_expires`` 600 s."""
    make = _stack_factory(request, tmp_path_factory)
    stack = make({}, name="default")
    stack.start_worker("w1", concurrency=2, events=True)
    return stack


@pytest.fixture
def server(tmp_path):
    """A bare server under test for client tests, stopped after the test."""
    srv = Server(tmp_path).start()
    yield srv
    srv.stop()
