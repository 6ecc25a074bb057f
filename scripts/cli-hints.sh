#!/usr/bin/env bash
# Checks redis-cli's interactive hints against a running broker-server, the way a
# user sees them: redis-cli runs in a tmux session, the script types a command
# prefix and reads the hint redis-cli prints after the cursor.
#
#   ./scripts/cli-hints.sh [path/to/broker-server]
#
# Needs tmux and redis-cli (redis-tools). redis-cli builds its hints from
# COMMAND DOCS at start-up, so this exercises the argument trees end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/debug/broker-server}
[ -x "$binary" ] || cargo build --quiet
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$binary" --port "$port" --bind 127.0.0.1 >/dev/null 2>&1 &
server=$!
session=cli-hints-$$
home=$(mktemp -d)
cleanup() {
    tmux kill-session -t "$session" 2>/dev/null || true
    kill "$server" 2>/dev/null || true
    rm -rf "$home"
}
trap cleanup EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" PING >/dev/null 2>&1 && break
    sleep 0.1
done
tmux new-session -d -s "$session" -x 250 -y 20 "HOME=$home redis-cli -p $port"
for _ in $(seq 100); do
    tmux capture-pane -p -t "$session" | grep -q "127.0.0.1:$port>" && break
    sleep 0.1
done
failures=0
check() {
    local typed=$1 expected=$2 line=""
    tmux send-keys -t "$session" C-u "$typed"
    for _ in $(seq 50); do
        line=$(tmux capture-pane -p -t "$session" | grep -F "> $typed" | tail -1 || true)
        [[ "$line" == *"$expected"* ]] && break
        sleep 0.1
    done
    if [[ "$line" == *"$expected"* ]]; then
        echo "ok   '$typed' -> ${line#*> }"
    else
        echo "FAIL '$typed': expected '$expected', screen shows '${line}'"
        failures=$((failures + 1))
    fi
}
check "SET k v " "SET k v [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"
check "GETEX k " "[EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]"
check "MSET " "key value [key value ...]"
check "EXPIRE k 10 " "[NX|XX|GT|LT]"
check "SCAN 0 " "[MATCH pattern] [COUNT count] [TYPE type]"
check "HELLO " "[protover [AUTH username password] [SETNAME clientname]]"
check "COPY a b " "[DB destination-db] [REPLACE]"
exit "$failures"
