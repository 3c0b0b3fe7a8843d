#!/usr/bin/env bash
# The long load run: hardening/load's TestLoad through every middleware
# (net/http, Gin, Echo v4 and v5, Fiber v2 and v3) and store (memory,
# SQLite, Redis, PostgreSQL, MariaDB) on loopback, without the race
# detector, printing requests per second and p99 latency per case. It
# starts its own redis-server, PostgreSQL and MariaDB (scripts/sqlservers.sh)
# on free ports of 127.0.0.1 and stops them at the end.
#
#   scripts/load.sh [seconds per case] [connections]
#
# Defaults: 20 seconds, 50 connections (one sequential counter client and
# four concurrent key setters per session). SESSIONKIT_LOAD_SECONDS and
# SESSIONKIT_LOAD_CONNS set them too.
set -euo pipefail
cd "$(dirname "$0")/.."
export SESSIONKIT_LOAD_SECONDS=${1:-${SESSIONKIT_LOAD_SECONDS:-20}}
export SESSIONKIT_LOAD_CONNS=${2:-${SESSIONKIT_LOAD_CONNS:-50}}
work=$(mktemp -d /tmp/sessionkit-load.XXXXXX)
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

log() { printf '== %s\n' "$*"; }

. scripts/sqlservers.sh
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
mapfile -t -O "${#missing[@]}" missing < <(sql_missing)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "scripts/load.sh: need root to apt-get install ${missing[*]}" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server NAME CMD...: starts CMD with {PORT} replaced by a free port,
# waits until it listens and sets $port (scripts/test.sh has the same, with
# retries).
start_server() {
	local name=$1 pid
	shift
	while :; do
		port=$((20000 + RANDOM % 30000))
		port_busy "$port" || break
	done
	"${@//\{PORT\}/$port}" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 1 300); do
		port_busy "$port" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "scripts/load.sh: $name did not start" >&2
	return 1
}

start_server redis-server redis-server --bind 127.0.0.1 --port "{PORT}" --save "" --appendonly no \
	--dir "$work" --logfile "$work/redis.log"
export SESSIONKIT_REDIS_ADDR="127.0.0.1:$port"
start_sql_servers

echo "== load: ${SESSIONKIT_LOAD_SECONDS}s per case, ${SESSIONKIT_LOAD_CONNS} connections, redis on $SESSIONKIT_REDIS_ADDR"
status=0
go test -count=1 -timeout 60m -run '^TestLoad$' -v ./hardening/load/ >"$work/out.log" 2>&1 || status=$?
printf '%-9s %-7s %10s %10s %10s %10s\n' framework store requests req/s p50 p99
grep -o 'LOAD .*' "$work/out.log" | while read -r _ fw st rest; do
	get() { sed -n "s|.*[[:space:]]$1=\([^[:space:]]*\).*|\1|p" <<<" $rest"; }
	printf '%-9s %-7s %10s %10s %10s %10s\n' "$fw" "$st" "$(get requests)" "$(get req/s)" "$(get p50)" "$(get p99)"
done
if [ "$status" != 0 ]; then
	echo "scripts/load.sh: the load test failed:" >&2
	grep -v '^=== ' "$work/out.log" | tail -50 >&2
	exit "$status"
fi
grep -E '^(ok|PASS)' "$work/out.log" | tail -1
