"""kombu's health checks on its pub/sub connection (and redis-py's on the result
backend's): with a 1 s interval, every PING is answered and nothing reconnects."""

import re

import pytest

from harness.waiting import wait_for

CONFIG = {
    "broker_transport_options": {"health_check_interval": 1},
    "redis_backend_health_check_interval": 1,
    # Logs each health-check PING kombu sends on its pub/sub connection (suite_app).
    "suite_trace_health": True,
}

SENT = re.compile(r"suite: health check PING sent; unanswered before it: (\d+)")
TROUBLE = re.compile(
    r"missed \d+ health check|dropping stale connection|Connection to broker lost"
    r"|Bad response from PING health check|ConnectionError",
    re.I,
)


@pytest.fixture(scope="module")
def stack(make_module_stack):
    stack = make_module_stack(CONFIG, name="health")
    stack.start_worker("hw", concurrency=1)
    return stack


def test_pubsub_health_checks_are_answered(stack):
    worker = stack.workers["hw"]
    # Several intervals' worth of PINGs on the worker's PSUBSCRIBEd connection.
    wait_for(lambda: len(SENT.findall(worker.log())) >= 5, 30,
             "five health-check PINGs", detail=worker.log_tail)
    log = worker.log()
    # A reply can still be in flight when the next PING goes (1 s apart), but kombu
    # drops the connection once two are missing; a server that answers the PING
    # wrongly (say `+PONG` to `PING <msg>` on RESP3) gets there within 3 intervals.
    unanswered = [int(n) for n in SENT.findall(log)]
    assert max(unanswered) <= 1, unanswered
    assert not TROUBLE.search(log), TROUBLE.search(log).group(0) + "\n" + worker.log_tail()
    # Broadcasts still reach the worker over that connection.
    assert stack.app.control.ping(destination=["hw@suite"], timeout=5) == [
        {"hw@suite": {"ok": "pong"}}
    ]
    assert stack.app.tasks["suite.add"].delay(2, 2).get(timeout=30) == 4
