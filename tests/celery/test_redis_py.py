"""Plain redis-py clients, RESP2 and RESP3, hiredis and the pure-Python parser.

Every test uses a 10 s socket timeout: a reply the parser cannot frame (a RESP2
``$-1`` null on a RESP3 connection read by the pure-Python parser) shows up as a
timeout instead of a hang.
"""

import pytest
import redis
from redis._parsers import _HiredisParser, _RESP2Parser
from redis.utils import HIREDIS_AVAILABLE

from harness.waiting import wait_for

PARSERS = {"hiredis": _HiredisParser, "python": _RESP2Parser}  # RESP2Parser → RESP3Parser under protocol 3


def clients():
    """Both protocols with both parsers (only the pure-Python one in a run that
    disabled hiredis: the hiredis run covers both)."""
    parsers = ("hiredis", "python") if HIREDIS_AVAILABLE else ("python",)
    for protocol in (2, 3):
        for parser in parsers:
            yield pytest.param((protocol, parser), id=f"resp{protocol}-{parser}")


@pytest.fixture(params=list(clients()))
def client(request, server):
    protocol, parser = request.param
    pool = redis.ConnectionPool(
        host="127.0.0.1",
        port=server.port,
        protocol=protocol,
        parser_class=PARSERS[parser],
        socket_timeout=10,
    )
    r = redis.Redis(connection_pool=pool)
    yield r
    r.close()
    pool.disconnect()


def test_handshake_speaks_the_requested_protocol(client):
    assert client.ping() is True
    requested = client.get_connection_kwargs()["protocol"]
    connection = client.connection_pool.get_connection()
    try:
        assert int(connection.protocol) == requested
    finally:
        client.connection_pool.release(connection)
    info = client.execute_command("HELLO", requested)
    if isinstance(info, list):  # RESP2 answers HELLO with a flat array
        info = dict(zip(info[::2], info[1::2]))
    assert info[b"proto"] == requested


def test_get_set_and_nulls(client):
    key = b"celery\x06\x163-binary-key"
    assert client.set(key, b"\x00\xffvalue") is True
    assert client.get(key) == b"\x00\xffvalue"
    # Nulls: the pure-Python RESP3 parser hangs on a RESP2 `$-1` here.
    assert client.get(b"missing") is None
    assert client.mget([key, b"missing", key]) == [b"\x00\xffvalue", None, b"\x00\xffvalue"]
    assert client.set(key, b"other", nx=True) is None
    assert client.set(b"lock", b"token", nx=True, px=300000) is True
    assert 0 < client.pttl(b"lock") <= 300000
    assert client.setex(b"result", 600, b"{}") is True
    assert 590 <= client.ttl(b"result") <= 600
    assert client.delete(key, b"lock", b"result", b"missing") == 3
    assert client.exists(key) == 0


def test_plain_pipeline(client):
    with client.pipeline(transaction=False) as pipe:
        pipe.set(b"p:a", b"1").incr(b"p:a").incrby(b"p:a", 40).get(b"p:a").get(b"p:none")
        assert pipe.execute() == [True, 2, 42, b"42", None]


def test_transactional_pipeline(client):
    with client.pipeline() as pipe:  # MULTI ... EXEC
        pipe.set(b"t:a", b"x").expire(b"t:a", 100).get(b"t:a").exists(b"t:none")
        assert pipe.execute() == [True, True, b"x", 0]


def test_pubsub_channels_patterns_and_health_check(client):
    p = client.pubsub(ignore_subscribe_messages=True)
    p.subscribe("celery-task-meta-1")
    p.psubscribe("/0.celeryev/worker.*", "/0.celery.pidbox")

    def next_message():
        return p.get_message(timeout=0.2)

    # Wait until the server confirmed the three subscriptions.
    wait_for(
        lambda: client.publish("/0.celery.pidbox", "probe") >= 1
        and client.publish("celery-task-meta-1", "probe") >= 1,
        10,
        "subscriptions to take effect",
    )
    seen = []
    wait_for(lambda: (m := next_message()) and seen.append(m) or len(seen) >= 2, 10, "probes")
    assert {m["type"] for m in seen} == {"message", "pmessage"}

    assert client.publish("/0.celeryev/worker.heartbeat", b"hb") == 1
    message = wait_for(next_message, 10, "the pmessage")
    assert message["type"] == "pmessage"
    assert message["pattern"] == b"/0.celeryev/worker.*"
    assert message["channel"] == b"/0.celeryev/worker.heartbeat"
    assert message["data"] == b"hb"

    # A health check on the subscribed connection must be answered and swallowed.
    p.connection.health_check_interval = 1
    p.connection.next_health_check = 0
    p.check_health()
    assert p.health_check_response_counter == 1
    wait_for(
        lambda: next_message() is None and p.health_check_response_counter == 0,
        10,
        "the health-check reply",
    )

    # Celery unsubscribes from channels it never subscribed to.
    p.unsubscribe("never-subscribed")
    p.unsubscribe("celery-task-meta-1")
    p.punsubscribe()
    def unsubscribed():
        next_message()  # reads (and swallows) the confirmations
        return not p.subscribed

    wait_for(unsubscribed, 10, "the unsubscribe confirmations")
    assert client.publish("celery-task-meta-1", "gone") == 0
    p.close()
