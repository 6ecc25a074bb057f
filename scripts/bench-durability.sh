#!/usr/bin/env bash
# Durable write throughput: broker-server under each appendfsync policy, side by side
# with Debian's redis-server (appendonly yes, appendfsync always / everysec), in one
# run; then how fast broker-server loads a large log.
#
#   ./scripts/bench-durability.sh            # 3 rounds
#   ROUNDS=5 ./scripts/bench-durability.sh
#
# Needs redis-server and redis-benchmark (./scripts/test.sh installs them) and a
# release build. Every server runs on loopback in a fresh temporary directory and is
# stopped at the end of its test; configurations alternate within a round and the
# order is reversed every other round (PERF.md §2). Not a test: numbers vary a lot
# on a shared 2-vCPU machine, so read the medians and the CPU figures.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
BIN=${BIN:-./target/release/broker-server}
CLIENTS=${CLIENTS:-50}
N_P1=${N_P1:-40000}
N_P16=${N_P16:-300000}
LOAD_KEYS=${LOAD_KEYS:-1000000}

[ -x "$BIN" ] || cargo build --release --locked
command -v redis-benchmark >/dev/null || { echo "redis-benchmark is missing (./scripts/test.sh installs it)"; exit 1; }

WORK=$(mktemp -d /tmp/bench-durability.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
CLK_TCK=$(getconf CLK_TCK)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start CONFIG [extra server options] -> sets PID PORT
start() {
    local config=$1 dir="$WORK/$1"
    shift
    rm -rf "$dir"; mkdir -p "$dir"
    case $config in
        redis-*)
            PORT=$(free_port)
            redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save '' \
                --appendonly yes --appendfsync "${config#redis-}" --daemonize no "$@" \
                >"$dir/log" 2>&1 &
            PID=$!
            until redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; do sleep 0.05; done
            ;;
        ours-*)
            # ours-POLICY, or ours-POLICY-1w for a single runtime worker.
            local policy=${config#ours-} threads=()
            if [ "${policy%-1w}" != "$policy" ]; then policy=${policy%-1w}; threads=(--threads 1); fi
            "$BIN" --port 0 --bind 127.0.0.1 --dir "$dir" --appendfsync "$policy" "${threads[@]}" "$@" \
                >"$dir/log" 2>&1 &
            PID=$!
            until grep -qs "Ready to accept" "$dir/log"; do sleep 0.05; done
            PORT=$(grep "Ready to accept" "$dir/log" | sed 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/')
            ;;
    esac
    PIDS+=("$PID")
}

stop() {
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    wait "$PID" 2>/dev/null || true
}

# bench CONFIG PIPELINE N -> "rps cpu_us_per_op"
bench() {
    local config=$1 pipeline=$2 n=$3
    start "$config"
    local before after rps
    before=$(ticks "$PID")
    rps=$(redis-benchmark -h 127.0.0.1 -p "$PORT" -c "$CLIENTS" -P "$pipeline" -n "$n" \
        -t set -r 100000 -d 100 --csv | awk -F, 'NR==2 {gsub(/"/,"",$2); print $2}')
    after=$(ticks "$PID")
    stop
    echo "$rps $(awk -v t=$((after - before)) -v n="$n" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}')"
}

CONFIGS=(ours-always ours-always-1w redis-always ours-everysec redis-everysec ours-no)
RESULTS="$WORK/results"
: >"$RESULTS"
echo "== $ROUNDS rounds; SET, 100-byte values, 100k keys, $CLIENTS clients"
for round in $(seq 1 "$ROUNDS"); do
    order=("${CONFIGS[@]}")
    if [ $((round % 2)) -eq 0 ]; then
        order=(); for ((i=${#CONFIGS[@]}-1; i>=0; i--)); do order+=("${CONFIGS[$i]}"); done
    fi
    for config in "${order[@]}"; do
        for pipeline in 1 16; do
            n=$N_P1; [ "$pipeline" = 16 ] && n=$N_P16
            read -r rps cpu < <(bench "$config" "$pipeline" "$n")
            echo "$config P$pipeline $rps $cpu" >>"$RESULTS"
            echo "round $round: $config -P $pipeline: $rps rps, $cpu µs CPU/op"
        done
    done
done

echo
echo "== medians (rps; server CPU µs per op)"
printf "%-16s %12s %8s %12s %8s\n" config "P1 rps" "µs/op" "P16 rps" "µs/op"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for config in "${CONFIGS[@]}"; do
    row=()
    for pipeline in 1 16; do
        row+=("$(awk -v c="$config" -v p="P$pipeline" '$1==c && $2==p {print $3}' "$RESULTS" | median)")
        row+=("$(awk -v c="$config" -v p="P$pipeline" '$1==c && $2==p {print $4}' "$RESULTS" | median)")
    done
    printf "%-16s %12s %8s %12s %8s\n" "$config" "${row[@]}"
done

echo
echo "== loading: $LOAD_KEYS SETs of 100 bytes (no automatic rewrite while writing)"
start ours-no --auto-aof-rewrite-percentage 0
redis-benchmark -h 127.0.0.1 -p "$PORT" -c 50 -P 64 -n "$LOAD_KEYS" -t set -r "$LOAD_KEYS" -d 100 -q >/dev/null
stop
dir="$WORK/ours-no"
echo "log of commands: $(stat -c %s "$dir/appendonly.aof") bytes"
"$BIN" --port 0 --bind 127.0.0.1 --dir "$dir" >"$dir/log2" 2>&1 &
PID=$!; PIDS+=("$PID")
until grep -q "Ready to accept" "$dir/log2"; do sleep 0.05; done
grep "DB loaded" "$dir/log2" | sed 's/\x1b\[[0-9;]*m//g'
PORT=$(grep "Ready to accept" "$dir/log2" | sed 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/')
redis-cli -p "$PORT" bgrewriteaof >/dev/null
until redis-cli -p "$PORT" info persistence | grep -q "aof_rewrites:1"; do sleep 0.1; done
stop
echo "after a rewrite (snapshot base): $(stat -c %s "$dir/appendonly.aof") bytes"
"$BIN" --port 0 --bind 127.0.0.1 --dir "$dir" >"$dir/log3" 2>&1 &
PID=$!; PIDS+=("$PID")
until grep -q "Ready to accept" "$dir/log3"; do sleep 0.05; done
grep "DB loaded" "$dir/log3" | sed 's/\x1b\[[0-9;]*m//g'
PORT=$(grep "Ready to accept" "$dir/log3" | sed 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/')
stop

echo
echo "== redis-server loading the same dataset from its AOF"
start redis-everysec --auto-aof-rewrite-percentage 0
redis-benchmark -h 127.0.0.1 -p "$PORT" -c 50 -P 64 -n "$LOAD_KEYS" -t set -r "$LOAD_KEYS" -d 100 -q >/dev/null
stop
dir="$WORK/redis-everysec"
du -sb "$dir/appendonlydir" | awk '{print "redis AOF (commands): " $1 " bytes"}'
PORT=$(free_port)
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes >"$dir/log2" 2>&1 &
PID=$!; PIDS+=("$PID")
until redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; do sleep 0.05; done
grep -i "loaded" "$dir/log2" | tail -2
stop
