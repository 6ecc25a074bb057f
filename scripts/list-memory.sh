#!/usr/bin/env bash
# Measures what a list element costs: 1M RPUSHes of 100-byte elements into one list,
# on broker-server and on redis-server, reading INFO used_memory and the process RSS
# before and after. A measurement, not a test.
#
#   ./scripts/list-memory.sh [elements] [element-bytes]
#
# Needs redis-server and redis-benchmark (./scripts/test.sh installs them) and builds
# broker-server in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."

elements=${1:-1000000}
size=${2:-100}
port_ours=${PORT_OURS:-17301}
port_redis=${PORT_REDIS:-17302}

cargo build --release --quiet --bin broker-server
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

target/release/broker-server --port "$port_ours" >"$work/ours.log" 2>&1 &
pids+=($!)
redis-server --port "$port_redis" --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)

info_field() { # port field
    redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}
rss_bytes() { # pid
    awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"
}
wait_up() { # port
    for _ in $(seq 100); do redis-cli -p "$1" PING >/dev/null 2>&1 && return; sleep 0.1; done
    echo "server on port $1 did not start" >&2; exit 1
}

measure() { # name port pid
    local name=$1 port=$2 pid=$3
    wait_up "$port"
    redis-cli -p "$port" DEL mylist >/dev/null
    local used0 rss0 used1 rss1
    used0=$(info_field "$port" used_memory)
    rss0=$(rss_bytes "$pid")
    # redis-benchmark's rpush test: RPUSH mylist <size bytes>, pipelined.
    redis-benchmark -p "$port" -n "$elements" -d "$size" -t rpush -P 64 -c 4 -q >/dev/null
    local length
    length=$(redis-cli -p "$port" LLEN mylist)
    used1=$(info_field "$port" used_memory)
    rss1=$(rss_bytes "$pid")
    awk -v n="$name" -v len="$length" -v u0="$used0" -v u1="$used1" -v r0="$rss0" -v r1="$rss1" 'BEGIN {
        printf "%-14s LLEN %d  used_memory +%.1f MB (%.1f B/element)  RSS +%.1f MB (%.1f B/element)\n",
            n, len, (u1 - u0) / 1e6, (u1 - u0) / len, (r1 - r0) / 1e6, (r1 - r0) / len
    }'
}

echo "$elements RPUSHes of $size-byte elements into one list"
measure broker-server "$port_ours" "${pids[0]}"
measure redis-server "$port_redis" "${pids[1]}"
