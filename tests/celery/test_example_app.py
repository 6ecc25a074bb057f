"""examples/celery runs: its web producer enqueues, its worker computes, and the
result comes back through the producer's GET."""

import json
import subprocess
import sys
import urllib.request

import pytest

from harness.environment import PARSER, SUITE, child_env
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


@pytest.mark.skipif(PARSER == "python", reason="independent of the parser; runs once")
def test_example_requirements_alone_run_the_example(tmp_path):
    """A user installs the example's requirements.txt into a fresh environment (its
    Dockerfile does, and so does its README): every module the worker, the producer
    and Flower import must come with it. (kombu's Redis transport needs `packaging`,
    which only the `redis` extra brings.)"""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-input",
                    "--disable-pip-version-check", "-r", EXAMPLE / "requirements.txt"],
                   check=True, timeout=600)
    imports = "import tasks, web, kombu.transport.redis, celery.backends.redis, flower.command"
    result = subprocess.run([venv / "bin" / "python", "-c", imports], cwd=EXAMPLE,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
