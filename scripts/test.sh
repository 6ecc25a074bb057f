#!/usr/bin/env bash
# Installs everything the tests need, then runs every test.
#
#   ./scripts/test.sh
#
# Installs (when missing): Debian's redis-server and redis-tools (the oracle for the
# differential tests, redis-cli and redis-benchmark), Python 3 with venv, and the
# pinned Python packages of the Celery suite (tests/celery/requirements.txt) in .venv.
# Then builds and runs the Rust test suite, and runs the Celery end-to-end suite
# twice: with hiredis, and with redis-py's pure-Python parser.
#
# BROKER_UNDER_TEST=redis runs the Celery suite against redis-server instead of
# broker-server (the oracle every Celery test is validated against).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/debian-packages.sh
# python3-venv: `python3 -m venv` needs it, and no command shows whether it is there.
venv_package=()
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || venv_package=(python3-venv)
install_missing redis-server:redis-server redis-cli:redis-tools python3:python3 -- "${venv_package[@]}"

# The Celery suite's virtualenv, reinstalled only when the pinned list changes.
venv=.venv
requirements=tests/celery/requirements.txt
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1 \
    || ! cmp -s "$requirements" "$venv/.requirements.txt"; then
    echo "== installing the Celery suite's Python packages into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-input -r "$requirements"
    cp "$requirements" "$venv/.requirements.txt"
fi

echo "== redis-server: $(redis-server --version)"
echo "== building"
cargo build --release --locked --all-targets
echo "== running the Rust tests"
cargo test --release --locked --no-fail-fast

status=0
target=${BROKER_UNDER_TEST:-broker-server}
echo "== running the Celery suite against $target (hiredis parser)"
"$venv/bin/python" -m pytest tests/celery || status=1
echo "== running the Celery suite against $target (pure-Python parser)"
BROKER_TEST_PARSER=python "$venv/bin/python" -m pytest tests/celery || status=1
exit $status
