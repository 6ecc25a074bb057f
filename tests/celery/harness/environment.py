"""Where the suite lives, which parser the run uses, and the children's environment."""

import os
from pathlib import Path

SUITE = Path(__file__).resolve().parents[1]

# BROKER_TEST_PARSER=python: every process of the run uses redis-py's pure-Python
# parser (conftest blocks hiredis in pytest itself; children get no_hiredis/).
PARSER = os.environ.get("BROKER_TEST_PARSER", "hiredis")


def child_env(extra=None, paths=()):
    """The environment of every child: the suite (and ``paths``) on PYTHONPATH,
    hiredis blocked in a pure-Python-parser run, unbuffered output."""
    entries = [str(p) for p in paths] + [str(SUITE)]
    if PARSER == "python":
        entries.insert(0, str(SUITE / "no_hiredis"))
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        entries.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(entries)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env
