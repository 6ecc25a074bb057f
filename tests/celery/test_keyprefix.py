"""global_keyprefix: every key Celery and kombu write carries the prefix."""

import pytest
from celery import chord

PREFIX = "pfx_"

CONFIG = {
    "broker_transport_options": {"global_keyprefix": PREFIX},
    "result_backend_transport_options": {"global_keyprefix": PREFIX},
}


@pytest.fixture(scope="module")
def stack(make_module_stack):
    stack = make_module_stack(CONFIG, name="keyprefix")
    stack.start_worker("pw", concurrency=2)
    return stack


def test_round_trip_and_canvas_under_a_prefix(stack):
    app = stack.app
    result = app.tasks["suite.add"].delay(20, 22)
    assert result.get(timeout=30) == 42
    body = chord(app.signature("suite.add", (i, i)) for i in range(5))(
        app.signature("suite.tsum")
    )
    assert body.get(timeout=60) == 20
    redis = stack.redis()
    key = f"{PREFIX}celery-task-meta-{result.id}"
    assert redis.exists(key) == 1
    assert 590 <= redis.ttl(key) <= 600
    assert redis.exists(f"celery-task-meta-{result.id}") == 0


def test_remote_control_under_a_prefix(stack):
    assert stack.app.control.ping(destination=["pw@suite"], timeout=5) == [
        {"pw@suite": {"ok": "pong"}}
    ]


def test_every_key_carries_the_prefix(stack):
    redis = stack.redis()
    keys = [k.decode("latin-1") for k in redis.scan_iter(count=1000)]
    assert keys, "no keys at all"
    assert f"{PREFIX}_kombu.binding.celery" in keys
    assert redis.type(f"{PREFIX}_kombu.binding.celery") == b"set"
    unprefixed = [k for k in keys if not k.startswith(PREFIX)]
    assert unprefixed == []
