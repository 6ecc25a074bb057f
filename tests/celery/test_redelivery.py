"""acks_late: a worker SIGKILLed mid-task loses nothing; the task is redelivered
once the visibility timeout has passed, and runs to completion elsewhere."""

import json

import pytest

from harness.helpers import open_gate, unique, wait_gate_runs
from harness.waiting import wait_for

VISIBILITY_TIMEOUT = 3

CONFIG = {
    "task_acks_late": True,
    "worker_prefetch_multiplier": 1,
    "broker_transport_options": {
        "visibility_timeout": VISIBILITY_TIMEOUT,
        # Sweep for overdue reservations every second instead of every 100 s.
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    },
}


@pytest.fixture
def stack(make_stack):
    return make_stack(CONFIG, name="acks-late")


def test_killed_worker_task_is_redelivered(stack):
    redis = stack.redis()
    stack.start_worker("doomed", pool="prefork", concurrency=1)
    name = unique("redeliver")
    result = stack.app.tasks["suite.gate"].delay(name)
    try:
        wait_gate_runs(stack, name, 1)
        # Delivered, running, not acknowledged: kombu holds it in `unacked`.
        assert redis.hlen("unacked") == 1
        assert redis.zcard("unacked_index") == 1
        payload = json.loads(redis.hvals("unacked")[0])
        assert payload[0]["headers"]["id"] == result.id

        stack.workers["doomed"].kill()  # SIGKILL to the worker and its pool

        stack.start_worker("rescuer", pool="prefork", concurrency=1)
        wait_gate_runs(stack, name, 2, timeout=VISIBILITY_TIMEOUT + 30)
    finally:
        open_gate(stack, name)
    outcome = result.get(timeout=30)
    assert outcome["runs"] == 2
    assert outcome["hostname"] == "rescuer@suite"
    assert outcome["redelivered"] is True
    # Acknowledged at last: nothing is left reserved.
    wait_for(lambda: redis.hlen("unacked") == 0, 10, "the ack of the redelivered task")
    assert redis.zcard("unacked_index") == 0
