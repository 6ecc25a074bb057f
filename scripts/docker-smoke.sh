#!/usr/bin/env bash
# The Docker image, end to end: build it with the repository's Dockerfile, run it
# as the README says (a published port, a named volume on /data), and check what a
# user relies on:
#   - the HEALTHCHECK reports healthy;
#   - redis-cli works against it (PING, SET/GET, HELLO 3, INFO);
#   - it runs as the non-root user, with its data in /data;
#   - acknowledged writes survive `docker kill` (SIGKILL) and a restart on the same
#     volume, and `docker stop` (SIGTERM) ends it cleanly with exit code 0;
#   - where a seccomp profile forbids io_uring (Docker 25 and later do by default),
#     the server writes its replies directly and says so (INFO server:
#     io_uring_writes:no); a second container runs under such a profile.
#
#   ./scripts/docker-smoke.sh             # builds broker-server:smoke, then checks
#   IMAGE=broker-server ./scripts/docker-smoke.sh --no-build
#
# Needs a running Docker engine and redis-cli. Not part of ./scripts/test.sh: CI
# machines have no Docker engine. The host port is chosen by Docker (never 6379);
# every container and the volume are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-broker-server:smoke}
NAME=broker-smoke-$$
VOLUME=broker-smoke-data-$$
DOCKER=${DOCKER:-docker}

cleanup() {
    "$DOCKER" rm -f -v "$NAME" >/dev/null 2>&1 || true
    "$DOCKER" volume rm -f "$VOLUME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; "$DOCKER" logs "$NAME" 2>&1 | tail -20 >&2 || true; exit 1; }
pass() { echo "ok: $*"; }

# Waits up to $2 seconds for the command in $1 to succeed.
wait_for() {
    local deadline=$((SECONDS + $2))
    until eval "$1"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

if [ "${1:-}" != "--no-build" ]; then
    "$DOCKER" build -t "$IMAGE" .
fi

start() {
    "$DOCKER" run -d --name "$NAME" -p 127.0.0.1::6379 -v "$VOLUME":/data "$IMAGE" >/dev/null
    PORT=$("$DOCKER" port "$NAME" 6379/tcp | head -1 | sed 's/.*://')
    wait_for 'redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG' 30 || fail "no PONG on port $PORT"
}
cli() { redis-cli -p "$PORT" "$@"; }
health() { "$DOCKER" inspect -f '{{.State.Health.Status}}' "$NAME"; }

start
pass "container answers PING on 127.0.0.1:$PORT"
wait_for '[ "$(health)" = healthy ]' 60 || fail "health check: $(health)"
pass "HEALTHCHECK reports healthy"

[ "$(cli set greeting hello)" = OK ] || fail "SET"
[ "$(cli get greeting)" = hello ] || fail "GET"
cli hello 3 | tr -d '\r' | grep -qx 'proto 3' || fail "HELLO 3 does not answer proto 3"
pass "SET, GET and HELLO 3"

user=$("$DOCKER" exec "$NAME" id -un)
[ "$user" = broker ] || fail "runs as $user, not broker"
"$DOCKER" exec "$NAME" test -s /data/appendonly.aof || fail "no append-only log in /data"
pass "runs as '$user'; the log is in /data"

io_uring_writes() { cli info server | tr -d '\r' | sed -n 's/^io_uring_writes://p'; }
uring=$(io_uring_writes)
case $uring in
    yes) "$DOCKER" logs "$NAME" 2>&1 | grep -q "Replies are sent in io_uring batches" ;;
    no) "$DOCKER" logs "$NAME" 2>&1 | grep -q "io_uring is unavailable here" ;;
    *) false ;;
esac || fail "io_uring_writes:$uring does not match the start log"
pass "io_uring_writes:$uring under this engine's default seccomp profile, as the start log says"

# Acknowledged writes survive SIGKILL: every reply came after its fsync.
for i in $(seq 1 200); do echo "RPUSH celery task-$i"; done | cli >/dev/null
cli hset result:1 status SUCCESS >/dev/null
"$DOCKER" kill "$NAME" >/dev/null
"$DOCKER" rm -v "$NAME" >/dev/null
start
[ "$(cli llen celery)" = 200 ] || fail "after SIGKILL: LLEN celery is $(cli llen celery)"
[ "$(cli lindex celery 199)" = task-200 ] || fail "after SIGKILL: the last task is missing"
[ "$(cli hget result:1 status)" = SUCCESS ] || fail "after SIGKILL: the result hash is missing"
[ "$(cli get greeting)" = hello ] || fail "after SIGKILL: greeting is missing"
pass "every acknowledged write survived docker kill and a restart on the volume"

"$DOCKER" stop -t 20 "$NAME" >/dev/null
code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$NAME")
[ "$code" = 0 ] || fail "docker stop: exit code $code"
pass "docker stop ends it with exit code 0"

# A profile that forbids io_uring, as Docker 25 and later do by default.
"$DOCKER" rm -f -v "$NAME" >/dev/null
profile=$(mktemp)
trap 'cleanup; rm -f "$profile"' EXIT
cat >"$profile" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["io_uring_setup", "io_uring_enter", "io_uring_register"],
               "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
JSON
"$DOCKER" run -d --name "$NAME" --security-opt seccomp="$profile" -p 127.0.0.1::6379 "$IMAGE" >/dev/null
PORT=$("$DOCKER" port "$NAME" 6379/tcp | head -1 | sed 's/.*://')
wait_for 'redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG' 30 || fail "no PONG without io_uring"
[ "$(io_uring_writes)" = no ] || fail "io_uring_writes:$(io_uring_writes) where io_uring is forbidden"
for i in $(seq 1 500); do echo "SET key:$i value-$i"; done | cli >/dev/null
[ "$(cli get key:500)" = value-500 ] || fail "GET after 500 SETs without io_uring"
[ "$(cli dbsize)" = 500 ] || fail "DBSIZE without io_uring"
pass "where io_uring is forbidden, replies are written directly (io_uring_writes:no)"

echo "docker smoke test passed ($IMAGE)"
