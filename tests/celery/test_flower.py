"""Flower against the server under test: its API and its broker page."""

import json
import re
import urllib.request

import pytest

from harness.helpers import open_gate, unique, wait_gate_runs
from harness.waiting import wait_for

WORKER = "fw@suite"


@pytest.fixture(scope="module")
def stack(make_module_stack):
    stack = make_module_stack({"worker_prefetch_multiplier": 1}, name="flower")
    stack.start_worker("fw", concurrency=1, events=True)
    stack.flower = stack.start_flower()
    return stack


def get(stack, path):
    with urllib.request.urlopen(stack.flower + path, timeout=30) as reply:
        assert reply.status == 200
        return reply.read().decode()


def test_api_workers(stack):
    workers = json.loads(get(stack, "/api/workers?refresh=1"))
    assert WORKER in workers, workers
    info = workers[WORKER]
    assert [q["name"] for q in info["active_queues"]] == ["celery"]
    assert "suite.add" in info["registered"]
    assert info["stats"]["pool"]["max-concurrency"] == 1


def flower_lengths(stack):
    reply = json.loads(get(stack, "/api/queues/length"))
    return {q["name"]: q["messages"] for q in reply["active_queues"]}


def test_queue_lengths_and_broker_page(stack):
    redis = stack.redis()
    name = unique("flower")
    blocker = stack.app.tasks["suite.gate"].delay(name)
    try:
        wait_gate_runs(stack, name, 1)
        # The single pool process is busy: these wait in the queue.
        waiting = [stack.app.tasks["suite.add"].delay(i, i) for i in range(5)]

        def agree():
            queued = redis.llen("celery")
            return queued >= 4 and flower_lengths(stack).get("celery") == queued and queued

        queued = wait_for(agree, 30, "Flower's queue length to match LLEN celery")
        page = get(stack, "/broker")
        row = re.search(r'<tr id="celery">(.*?)</tr>', page, re.S)
        assert row, page
        cells = re.findall(r"<td[^>]*>\s*(.*?)\s*</td>", row.group(1), re.S)
        assert cells[0] == "celery" and cells[1] == str(queued), cells
    finally:
        open_gate(stack, name)
    assert blocker.get(timeout=30)["runs"] == 1
    assert [r.get(timeout=30) for r in waiting] == [0, 2, 4, 6, 8]
    wait_for(lambda: flower_lengths(stack).get("celery") == 0, 30, "an empty queue in Flower")


def test_api_task_info_from_events(stack):
    result = stack.app.tasks["suite.add"].delay(5, 5)
    assert result.get(timeout=30) == 10

    def seen():
        try:
            return json.loads(get(stack, f"/api/task/info/{result.id}"))
        except urllib.error.HTTPError:
            return None

    info = wait_for(lambda: (i := seen()) and i.get("state") == "SUCCESS" and i, 30,
                    "Flower to record the task from events")
    assert info["worker"] == WORKER
    assert info["result"] == "10"
