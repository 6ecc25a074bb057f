"""The Celery application and tasks that the suite's workers run.

A worker started by the suite runs ``celery -A suite_app worker``; it builds its app
from the JSON in ``SUITE_CELERY_CONFIG``. The tests build the producer side with
``make_app(config)`` from the same dictionary, so both ends agree.

Tasks that need to coordinate with the test (a gate to open, a count of runs) use
plain string keys (``suite:*``) on the server under test, through ``SUITE_SIDE_URL``,
without any key prefix.
"""

import json
import logging
import os
import sys
import time

import redis
from celery import Celery
from kombu import Exchange, Queue

log = logging.getLogger("suite")


def side():
    """A plain redis-py client on the server under test, for coordination keys."""
    client = getattr(side, "client", None)
    if client is None:
        client = redis.Redis.from_url(os.environ["SUITE_SIDE_URL"], socket_timeout=10)
        side.client = client
    return client


def _queues(specs):
    """``[{"name", "routing_key", "max_priority"}]`` → kombu Queues."""
    queues = []
    for spec in specs:
        arguments = {}
        if spec.get("max_priority") is not None:
            arguments["x-max-priority"] = spec["max_priority"]
        queues.append(
            Queue(
                spec["name"],
                Exchange(spec.get("exchange", spec["name"])),
                routing_key=spec.get("routing_key", spec["name"]),
                queue_arguments=arguments or None,
            )
        )
    return queues


def _trace_health_checks():
    """Logs every pub/sub health-check PING redis-py sends, with the number of
    earlier PINGs still unanswered at that moment (0 when the server answered)."""
    from redis.client import PubSub

    original = PubSub.check_health

    def check_health(self):
        before = self.health_check_response_counter
        original(self)
        if self.health_check_response_counter > before:
            log.warning("suite: health check PING sent; unanswered before it: %d", before)

    PubSub.check_health = check_health


def make_app(config):
    """A Celery app from the suite's config dictionary (JSON-friendly values)."""
    config = dict(config)
    queues = config.pop("queues", None)
    trace_health = config.pop("suite_trace_health", False)
    app = Celery("suite")
    app.conf.update(
        broker_connection_retry_on_startup=True,
        task_track_started=True,
        result_expires=600,
        worker_hijack_root_logger=True,
        worker_redirect_stdouts=False,
        # Fail fast instead of retrying for minutes when something is broken.
        broker_connection_timeout=5,
        result_backend_transport_options={},
    )
    app.conf.update(config)
    if queues:
        app.conf.task_queues = _queues(queues)
    if trace_health:
        _trace_health_checks()
    _register_tasks(app)
    return app


def _register_tasks(app):
    @app.task(name="suite.add")
    def add(x, y):
        return x + y

    @app.task(name="suite.tsum")
    def tsum(numbers):
        return sum(numbers)

    @app.task(name="suite.mul")
    def mul(x, y):
        return x * y

    @app.task(name="suite.fail")
    def fail(message):
        raise ValueError(message)

    @app.task(name="suite.retry_then_succeed", bind=True, max_retries=5)
    def retry_then_succeed(self, failures, countdown=1):
        """Retries ``failures`` times, ``countdown`` s apart, then returns the count."""
        if self.request.retries < failures:
            raise self.retry(exc=RuntimeError("not yet"), countdown=countdown)
        return self.request.retries

    @app.task(name="suite.always_retry", bind=True, max_retries=2)
    def always_retry(self):
        raise self.retry(exc=RuntimeError("never works"), countdown=0.2)

    @app.task(name="suite.when", bind=True)
    def when(self):
        """When it ran (epoch seconds) and whether the message carried an ETA."""
        return {"ran_at": time.time(), "eta": self.request.eta}

    @app.task(name="suite.gate", bind=True)
    def gate(self, name, timeout=60):
        """Counts its runs in ``suite:runs:<name>``, then waits for ``suite:gate:<name>``.

        Returns the number of runs so far, the worker and the redelivery flag."""
        runs = side().incr(f"suite:runs:{name}")
        deadline = time.monotonic() + timeout
        while not side().exists(f"suite:gate:{name}"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {name} never opened")
            time.sleep(0.05)
        return {
            "runs": runs,
            "hostname": self.request.hostname,
            "redelivered": bool((self.request.delivery_info or {}).get("redelivered")),
        }

    @app.task(name="suite.sequence", bind=True)
    def sequence(self, label):
        """Takes the next number from ``suite:seq``: the order tasks ran in."""
        return {"label": label, "seq": side().incr("suite:seq")}

    @app.task(name="suite.where", bind=True)
    def where(self):
        """Which worker and queue ran it."""
        info = self.request.delivery_info or {}
        return {
            "hostname": self.request.hostname,
            "routing_key": info.get("routing_key"),
            "exchange": info.get("exchange"),
        }

    @app.task(name="suite.nap")
    def nap(i, seconds):
        """Works for ``seconds``: keeps a worker busy for a while."""
        time.sleep(seconds)
        return i

    @app.task(name="suite.parser")
    def parser():
        """The redis-py parser this worker process uses."""
        from redis.connection import DefaultParser

        hiredis = sys.modules.get("hiredis")
        return {"parser": DefaultParser.__name__, "hiredis_loaded": hiredis is not None}


if "SUITE_CELERY_CONFIG" in os.environ:
    app = make_app(json.loads(os.environ["SUITE_CELERY_CONFIG"]))
