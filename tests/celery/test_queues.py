"""Routing to named queues, priority queues, and `celery purge`."""

import pytest

SEP = "\x06\x16"

CONFIG = {
    "queues": [
        {"name": "celery"},
        {"name": "special"},
        {"name": "prio", "max_priority": 9},
        {"name": "purgeme"},
    ],
    "task_default_queue": "celery",
    "task_routes": {"suite.where": {"queue": "special"}},
    "worker_prefetch_multiplier": 1,
    "broker_transport_options": {
        # One sub-queue per priority value; 0 is served first on Redis.
        "priority_steps": list(range(10)),
        "queue_order_strategy": "priority",
    },
}


@pytest.fixture(scope="module")
def stack(make_module_stack):
    stack = make_module_stack(CONFIG, name="queues")
    stack.start_worker("general", concurrency=1, queues=["celery"])
    stack.start_worker("special", concurrency=1, queues=["special"])
    return stack


def queue_lengths(redis, queue):
    """Length of the queue's list for each priority step that has messages."""
    lengths = {}
    for step in range(10):
        key = queue if step == 0 else f"{queue}{SEP}{step}"
        length = redis.llen(key)
        if length:
            lengths[step] = length
    return lengths


def test_routes_send_tasks_to_named_queues(stack):
    tasks = stack.app.tasks
    routed = tasks["suite.where"].delay().get(timeout=30)
    assert routed["hostname"] == "special@suite"
    assert routed["routing_key"] == "special"
    explicit = tasks["suite.where"].apply_async(queue="celery").get(timeout=30)
    assert explicit["hostname"] == "general@suite"


def test_priorities_are_served_highest_first(stack):
    redis = stack.redis()
    sequence = stack.app.tasks["suite.sequence"]
    # Nobody consumes "prio" yet: the messages wait in their priority lists.
    low = [sequence.apply_async((f"low{i}",), queue="prio", priority=9) for i in range(4)]
    mid = [sequence.apply_async((f"mid{i}",), queue="prio", priority=5) for i in range(4)]
    high = [sequence.apply_async((f"high{i}",), queue="prio", priority=0) for i in range(4)]
    assert queue_lengths(redis, "prio") == {0: 4, 5: 4, 9: 4}

    stack.start_worker("prio", pool="solo", concurrency=1, queues=["prio"])
    order = {}
    for result in high + mid + low:
        info = result.get(timeout=60)
        order[info["label"]] = info["seq"]
    assert max(order[f"high{i}"] for i in range(4)) < min(order[f"mid{i}"] for i in range(4))
    assert max(order[f"mid{i}"] for i in range(4)) < min(order[f"low{i}"] for i in range(4))
    assert queue_lengths(redis, "prio") == {}


def test_purge(stack):
    redis = stack.redis()
    add = stack.app.tasks["suite.add"]
    for i in range(5):
        add.apply_async((i, i), queue="purgeme")
    for i in range(2):
        add.apply_async((i, i), queue="purgeme", priority=7)
    assert queue_lengths(redis, "purgeme") == {0: 5, 7: 2}

    code, out = stack.celery("purge", "-f", "-Q", "purgeme")
    assert code == 0, out
    assert "Purged 7 messages from 1 known task queue" in out, out
    assert queue_lengths(redis, "purgeme") == {}
    # The other queues keep working.
    assert add.delay(1, 1).get(timeout=30) == 2
