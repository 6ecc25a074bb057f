"""Task round trips on the shared default stack: results, states, retries, timing.

The worker is a prefork worker with two processes, ``task_track_started`` on and
``result_expires`` 600 s (see ``default_stack``).
"""

import datetime
import json
import os
import time

import pytest
from celery.result import AsyncResult

from harness.helpers import open_gate, unique, wait_gate_runs, wait_state


@pytest.fixture(scope="module")
def stack(default_stack):
    return default_stack


def task(stack, name):
    return stack.app.tasks[name]


def stored_meta(stack, task_id, prefix=""):
    raw = stack.redis().get(f"{prefix}celery-task-meta-{task_id}")
    return json.loads(raw) if raw else None


def test_workers_use_the_parser_of_this_run(stack):
    info = task(stack, "suite.parser").delay().get(timeout=30)
    expected = "_RESP2Parser" if os.environ.get("BROKER_TEST_PARSER") == "python" else "_HiredisParser"
    assert info["parser"] == expected, info
    assert info["hiredis_loaded"] == (expected == "_HiredisParser")


def test_delay_get(stack):
    result = task(stack, "suite.add").delay(2, 3)
    assert result.get(timeout=30) == 5
    assert result.state == "SUCCESS"
    assert stored_meta(stack, result.id)["status"] == "SUCCESS"


def test_unknown_task_id_is_pending(stack):
    assert AsyncResult(unique("never-sent"), app=stack.app).state == "PENDING"


def test_fan_out_200_tasks(stack):
    add = task(stack, "suite.add")
    started = time.monotonic()
    results = [add.delay(i, i) for i in range(200)]
    assert [r.get(timeout=60) for r in results] == [2 * i for i in range(200)]
    print(f"200 tasks round trip: {time.monotonic() - started:.2f}s")


def test_failure_state_and_traceback(stack):
    result = task(stack, "suite.fail").delay("boom")
    with pytest.raises(ValueError, match="boom"):
        result.get(timeout=30)
    assert result.state == "FAILURE"
    assert "ValueError" in result.traceback
    meta = stored_meta(stack, result.id)
    assert meta["status"] == "FAILURE"
    assert meta["result"]["exc_type"] == "ValueError"


def test_retry_then_success(stack):
    result = task(stack, "suite.retry_then_succeed").delay(2, countdown=1)
    wait_state(result, "RETRY", timeout=30)
    assert stored_meta(stack, result.id)["status"] == "RETRY"
    assert result.get(timeout=30) == 2
    assert result.state == "SUCCESS"


def test_retries_exhausted_is_a_failure(stack):
    result = task(stack, "suite.always_retry").delay()
    with pytest.raises(RuntimeError, match="never works"):
        result.get(timeout=30)
    assert result.state == "FAILURE"


def test_started_state_is_tracked(stack):
    name = unique("started")
    result = task(stack, "suite.gate").delay(name)
    try:
        wait_gate_runs(stack, name, 1)
        wait_state(result, "STARTED")
        meta = stored_meta(stack, result.id)
        assert meta["status"] == "STARTED"
        assert meta["result"]["hostname"] == "w1@suite"
    finally:
        open_gate(stack, name)
    assert result.get(timeout=30)["runs"] == 1
    assert result.state == "SUCCESS"


def test_countdown(stack):
    sent = time.time()
    result = task(stack, "suite.when").apply_async(countdown=2)
    # Not run early: the state stays PENDING while the worker holds it.
    assert result.state == "PENDING"
    info = result.get(timeout=30)
    assert info["eta"] is not None
    assert info["ran_at"] >= sent + 2 - 0.05, info


def test_eta(stack):
    eta = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
    result = task(stack, "suite.when").apply_async(eta=eta)
    info = result.get(timeout=30)
    assert info["ran_at"] >= eta.timestamp() - 0.05, info


def test_result_expires_sets_a_ttl_on_the_result_key(stack):
    result = task(stack, "suite.add").delay(1, 1)
    result.get(timeout=30)
    ttl = stack.redis().ttl(f"celery-task-meta-{result.id}")
    assert 590 <= ttl <= 600, ttl


def test_forget_deletes_the_result(stack):
    result = task(stack, "suite.add").delay(1, 2)
    assert result.get(timeout=30) == 3
    result.forget()
    assert stack.redis().exists(f"celery-task-meta-{result.id}") == 0
    assert result.state == "PENDING"
