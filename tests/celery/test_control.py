"""Remote control and monitoring on the shared default stack (worker started with -E):
inspect, control commands, revoke, events, and the celery CLI."""

import threading

import pytest

from harness.helpers import open_gate, unique, wait_gate_runs, wait_state
from harness.waiting import wait_for

WORKER = "w1@suite"


@pytest.fixture(scope="module")
def stack(default_stack):
    return default_stack


def test_ping(stack):
    replies = stack.app.control.ping(destination=[WORKER], timeout=5)
    assert replies == [{WORKER: {"ok": "pong"}}]


def test_inspect_cli_ping(stack):
    code, out = stack.celery("inspect", "ping", "-d", WORKER, "--timeout", "5")
    assert code == 0, out
    assert "pong" in out and WORKER in out, out


def test_inspect(stack):
    inspect = stack.app.control.inspect(destination=[WORKER], timeout=5)
    stats = inspect.stats()[WORKER]
    assert stats["pool"]["max-concurrency"] == 2
    assert "suite.add" in inspect.registered()[WORKER]
    queues = inspect.active_queues()[WORKER]
    assert [q["name"] for q in queues] == ["celery"]
    assert inspect.active()[WORKER] == []


def test_add_and_cancel_consumer(stack):
    control = stack.app.control
    reply = control.add_consumer("extra", destination=[WORKER], reply=True, timeout=5)
    assert "ok" in reply[0][WORKER], reply

    def consuming():
        queues = stack.app.control.inspect(destination=[WORKER], timeout=5).active_queues()
        return sorted(q["name"] for q in queues[WORKER])

    # The reply comes first; the worker starts consuming just after.
    wait_for(lambda: consuming() == ["celery", "extra"], 30, "the worker to consume 'extra'")
    result = stack.app.tasks["suite.where"].apply_async(queue="extra")
    assert result.get(timeout=30)["routing_key"] == "extra"
    reply = control.cancel_consumer("extra", destination=[WORKER], reply=True, timeout=5)
    assert "ok" in reply[0][WORKER], reply
    wait_for(lambda: consuming() == ["celery"], 30, "the worker to stop consuming 'extra'")


def test_rate_limit_and_time_limit_commands(stack):
    control = stack.app.control
    reply = control.rate_limit("suite.mul", "600/m", destination=[WORKER], reply=True, timeout=5)
    assert "ok" in reply[0][WORKER], reply
    reply = control.time_limit("suite.mul", soft=30, hard=60, destination=[WORKER], reply=True, timeout=5)
    assert "ok" in reply[0][WORKER], reply
    assert stack.app.tasks["suite.mul"].delay(6, 7).get(timeout=30) == 42
    control.rate_limit("suite.mul", None, destination=[WORKER], reply=True, timeout=5)


def test_revoke_before_it_runs(stack):
    result = stack.app.tasks["suite.add"].apply_async((1, 1), countdown=2)
    stack.app.control.revoke(result.id)
    wait_state(result, "REVOKED", timeout=30)
    revoked = stack.app.control.inspect(destination=[WORKER], timeout=5).revoked()[WORKER]
    assert result.id in revoked


def test_revoke_terminates_a_running_task(stack):
    name = unique("terminate")
    result = stack.app.tasks["suite.gate"].delay(name)
    try:
        wait_gate_runs(stack, name, 1)
        wait_state(result, "STARTED")
        stack.app.control.revoke(result.id, terminate=True, signal="SIGKILL")
        wait_state(result, "REVOKED", timeout=30)
    finally:
        open_gate(stack, name)
    # The pool replaced the killed process and goes on working.
    assert stack.app.tasks["suite.add"].delay(20, 22).get(timeout=30) == 42


class EventLog:
    """``app.events.Receiver`` in a thread, collecting every event it sees."""

    def __init__(self, app):
        self.app = app
        self.events = []
        self.ready = threading.Event()
        self.receiver = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(30), "the event receiver did not start"

    def _run(self):
        with self.app.connection_for_read() as connection:
            self.receiver = self.app.events.Receiver(
                connection, handlers={"*": self.events.append}
            )
            self.ready.set()
            self.receiver.capture(limit=None, timeout=None, wakeup=True)

    def of(self, event_type, **match):
        return [
            e for e in self.events
            if e["type"] == event_type and all(e.get(k) == v for k, v in match.items())
        ]

    def close(self):
        if self.receiver is not None:
            self.receiver.should_stop = True
        self.thread.join(10)


def test_task_and_worker_events(stack):
    log = EventLog(stack.app)
    try:
        # The receiver is consuming once it sees the worker's heartbeat (every 2 s).
        wait_for(lambda: log.of("worker-heartbeat", hostname=WORKER), 30, "a worker heartbeat")
        result = stack.app.tasks["suite.add"].delay(3, 4)
        assert result.get(timeout=30) == 7
        for kind in ("task-received", "task-started", "task-succeeded"):
            wait_for(lambda: log.of(kind, uuid=result.id), 30, f"{kind} for {result.id}")
        succeeded = log.of("task-succeeded", uuid=result.id)[0]
        assert succeeded["hostname"] == WORKER
        assert succeeded["result"] == "7"
    finally:
        log.close()


def test_events_cli_is_served(stack):
    """`celery control enable_events` / `disable_events` round trip."""
    for command in ("disable_events", "enable_events"):
        code, out = stack.celery("control", command, "-d", WORKER, "--timeout", "5")
        assert code == 0, out
        assert f"{WORKER}: OK" in out and "task events" in out, out


def test_status_cli(stack):
    code, out = stack.celery("status", "--timeout", "2")
    assert code == 0, out
    assert f"{WORKER}: OK" in out, out
