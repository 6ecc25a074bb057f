"""Small helpers the test modules share."""

import uuid

from .waiting import wait_for


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_state(result, state, timeout=30):
    """Waits until an AsyncResult reports ``state``."""
    return wait_for(
        lambda: result.state == state,
        timeout,
        f"task {result.id} to reach {state}",
        detail=lambda: f"last state seen: {result.state}",
    )


def gate_runs(stack, name):
    """How many times the ``suite.gate`` task named ``name`` has started."""
    value = stack.redis().get(f"suite:runs:{name}")
    return int(value) if value else 0


def wait_gate_runs(stack, name, runs, timeout=30):
    return wait_for(
        lambda: gate_runs(stack, name) >= runs,
        timeout,
        f"gate task {name} to have started {runs} time(s)",
        detail=stack.logs,
    )


def open_gate(stack, name):
    stack.redis().set(f"suite:gate:{name}", 1)
