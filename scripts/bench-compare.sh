#!/usr/bin/env bash
# Side-by-side performance comparison of broker-server with Debian's redis-server.
#
#   ./scripts/bench-compare.sh                     # the full comparison (about 25 minutes)
#   ./scripts/bench-compare.sh compare --scale 0.05 --rounds 3   # a quick end-to-end check
#   ./scripts/bench-compare.sh threads             # thread-count sweep
#   ./scripts/bench-compare.sh runtime             # runtime flavours (CPU/op, syscalls/op)
#   ./scripts/bench-compare.sh writes              # io_uring batched sends vs direct, and Redis
#   ./scripts/bench-compare.sh callgrind           # instructions per SET, both servers
#
# Installs (when missing) redis-server, redis-tools, strace and valgrind, builds
# broker-server in release, and runs scripts/bench_compare.py (Python 3, standard
# library only). Servers listen on 127.0.0.1:7380 (Redis) and 7381+ (broker-server),
# never 6379. Results are printed as markdown tables and saved under
# target/bench-compare/. Timings are only meaningful on a quiet machine: check
# `uptime` first (see PERFORMANCE.md).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/debian-packages.sh
install_missing redis-server:redis-server redis-benchmark:redis-tools strace:strace valgrind:valgrind
# Debian starts a redis-server on 6379 after installing it; the comparison starts
# its own servers and leaves that one alone.

echo "== building broker-server (release)" >&2
cargo build --release --locked --bin broker-server >&2

if [ $# -eq 0 ]; then
    set -- compare
fi
exec python3 scripts/bench_compare.py "$@"
