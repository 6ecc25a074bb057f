#!/usr/bin/env bash
# Installs everything the tests need, then runs every test.
#
#   ./scripts/test.sh
#
# Installs (when missing): Debian's redis-server and redis-tools (the oracle for the
# differential tests, redis-cli and redis-benchmark). Then builds and runs the Rust
# test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

need_packages=()
command -v redis-server >/dev/null 2>&1 || need_packages+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_packages+=(redis-tools)
if [ ${#need_packages[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${need_packages[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

echo "== redis-server: $(redis-server --version)"
echo "== building"
cargo build --release --locked --all-targets
echo "== running the Rust tests"
cargo test --release --locked --no-fail-fast
