"""examples/celery runs: its web producer enqueues, its worker computes, and the
result comes back through the producer's GET."""

import json
import sys
import urllib.request

import pytest

from harness.environment import SUITE, child_env
from harness.processes import Process
from harness.servers import free_port
from harness.waiting import wait_for

EXAMPLE = SUITE.parents[1] / "examples" / "celery"


@pytest.fixture
def example(server, tmp_path):
    env = child_env(
        {"BROKER_URL": server.url(), "HOST": "127.0.0.1", "PORT": str(free_port())},
        paths=[EXAMPLE],
    )
    worker = Process(
        "example worker",
        [sys.executable, "-m", "celery", "-A", "tasks", "worker", "-l", "INFO", "-c", "1",
         "-n", "example@suite"],
        tmp_path / "worker.log", env=env, cwd=EXAMPLE,
    )
    web = Process("example web", [sys.executable, "web.py"], tmp_path / "web.log", env=env,
                  cwd=EXAMPLE)
    try:
        worker.wait_for_log(r"example@suite ready\.", timeout=60)
        match = web.wait_for_log(r"listening on (http://\S+)", timeout=30)
        yield match.group(1)
    finally:
        web.begin_stop()
        worker.begin_stop()
        web.stop()
        worker.stop()


def call(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=30) as reply:
        return reply.status, json.loads(reply.read())


def test_order_round_trip(example):
    order = {"id": "A1", "items": [{"price": 2.5, "quantity": 2}, {"price": 1}],
             "work_seconds": 0}
    status, reply = call(example + "/orders", order)
    assert status == 202
    task_url = f"{example}/tasks/{reply['task_id']}"
    state = wait_for(lambda: (r := call(task_url)[1])["state"] == "SUCCESS" and r, 30,
                     "the order to be processed")
    assert state["result"] == {"order": "A1", "total": 6.0}
