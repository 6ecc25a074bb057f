"""Waiting on conditions with deadlines: the suite's only way to synchronise.

A bare ``time.sleep`` never stands in for "the other side is ready". Everything waits
for an observable condition (a result, a key, a log line) and fails with a message
naming what it waited for once its deadline passes.
"""

import time


class Timeout(AssertionError):
    """A condition did not hold before its deadline."""


def wait_for(predicate, timeout, what, interval=0.05, detail=None):
    """Polls ``predicate`` until it returns a truthy value, which is returned.

    Fails with ``Timeout`` after ``timeout`` seconds. ``detail`` is an optional
    callable whose text is appended to the failure (a log tail, a queue length).
    Exceptions raised by ``predicate`` propagate at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:.0f}s waiting for {what}"
            if detail is not None:
                message += "\n" + str(detail())
            raise Timeout(message)
        time.sleep(interval)
