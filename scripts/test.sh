#!/usr/bin/env bash
# The one test command. It installs (apt-get) and starts what the tests need
# on 127.0.0.1 and free ports — its own throwaway redis-server, a three-master
# Redis Cluster, memcached — tells the tests where they are through
# SESSIONKIT_* environment variables, runs the gofmt check, go vet and
# go test -race over every module of the workspace, and stops what it started.
#
# The SQL servers it starts (PostgreSQL run as the unprivileged user nobody,
# MariaDB), each in a temporary directory with its unix socket there, on a free
# TCP port of 127.0.0.1 (never the machine's own 5432/3306), with a database
# "sessionkit" owned by a user "sessionkit" who logs in over TCP with a
# password:
#   SESSIONKIT_POSTGRES_URL  postgres://sessionkit:…@127.0.0.1:PORT/sessionkit?sslmode=disable
#   SESSIONKIT_MYSQL_DSN     sessionkit:…@tcp(127.0.0.1:PORT)/sessionkit (go-sql-driver/mysql)
# and, for fault tests that start their own, SESSIONKIT_POSTGRES_BIN (the
# directory of initdb and postgres) and SESSIONKIT_MARIADB_BIN (mariadbd).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d /tmp/sessionkit-test.XXXXXX)
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

log() { printf '== %s\n' "$*"; }

# --- tools -----------------------------------------------------------------
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v memcached >/dev/null || missing+=(memcached)
command -v chromium >/dev/null || missing+=(chromium)
mapfile -t -O "${#missing[@]}" missing < <(. scripts/sqlservers.sh && sql_missing)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "scripts/test.sh: need root to apt-get install ${missing[*]}" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- free ports ------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
taken=" "
free_port() {
	# Ports below 50000 so that a cluster node's bus port (+10000) fits too.
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		case "$taken" in *" $p "*) continue ;; esac
		if ! port_busy "$p" && ! port_busy $((p + 10000)); then
			taken+="$p "
			echo "$p"
			return
		fi
	done
}

# --- servers ---------------------------------------------------------------
wait_port() { # port pid: waits until port listens, fails if pid exits
	local i
	for i in $(seq 1 200); do
		port_busy "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# start_server NAME CMD...: starts CMD with {PORT} replaced by a free port,
# retrying on another port if it does not come up (a port taken meanwhile),
# and sets $port.
start_server() {
	local name=$1 attempt
	shift
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		mkdir -p "$work/$name-$port"
		"${@//\{PORT\}/$port}" &
		local pid=$!
		if wait_port "$port" "$pid"; then
			pids+=("$pid")
			return 0
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		echo "scripts/test.sh: $name did not start on port $port (attempt $attempt)" >&2
		tail -5 "$work/$name-$port/log" 2>/dev/null >&2 || true
	done
	echo "scripts/test.sh: could not start $name" >&2
	return 1
}

redis_args=(--bind 127.0.0.1 --port "{PORT}" --save "" --appendonly no --dir "$work/redis-{PORT}" --logfile "$work/redis-{PORT}/log")

start_server redis redis-server "${redis_args[@]}"
export SESSIONKIT_REDIS_ADDR="127.0.0.1:$port"
log "redis-server on $SESSIONKIT_REDIS_ADDR"

cluster=()
for _ in 1 2 3; do
	start_server redis redis-server "${redis_args[@]}" --cluster-enabled yes \
		--cluster-config-file "$work/redis-{PORT}/nodes.conf" --cluster-node-timeout 2000
	cluster+=("127.0.0.1:$port")
done
redis-cli --cluster create "${cluster[@]}" --cluster-replicas 0 --cluster-yes >"$work/cluster-create.log" 2>&1 || {
	cat "$work/cluster-create.log" >&2
	exit 1
}
for i in $(seq 1 101); do
	redis-cli -p "${cluster[0]#*:}" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
	if [ "$i" = 101 ]; then
		echo "scripts/test.sh: the redis cluster did not reach cluster_state:ok" >&2
		exit 1
	fi
	sleep 0.1
done
export SESSIONKIT_REDIS_CLUSTER_ADDRS
SESSIONKIT_REDIS_CLUSTER_ADDRS=$(IFS=,; echo "${cluster[*]}")
log "redis cluster on $SESSIONKIT_REDIS_CLUSTER_ADDRS"

start_server memcached memcached -l 127.0.0.1 -p "{PORT}" -U 0 -m 64 -u root
export SESSIONKIT_MEMCACHE_ADDR="127.0.0.1:$port"
log "memcached on $SESSIONKIT_MEMCACHE_ADDR"

# PostgreSQL and MariaDB (scripts/sqlservers.sh): exports
# SESSIONKIT_POSTGRES_URL, SESSIONKIT_MYSQL_DSN, SESSIONKIT_POSTGRES_BIN and
# SESSIONKIT_MARIADB_BIN.
. scripts/sqlservers.sh
start_sql_servers

# Fault tests start and kill their own servers with these binaries.
export SESSIONKIT_REDIS_SERVER_BIN SESSIONKIT_MEMCACHED_BIN SESSIONKIT_CHROMIUM_BIN
SESSIONKIT_REDIS_SERVER_BIN=$(command -v redis-server)
SESSIONKIT_MEMCACHED_BIN=$(command -v memcached)
SESSIONKIT_CHROMIUM_BIN=$(command -v chromium)

# --- checks ----------------------------------------------------------------
mapfile -t mods < <(go list -m -f '{{.Dir}}')
pkgs=()
for m in "${mods[@]}"; do pkgs+=("$m/..."); done

log "gofmt"
unformatted=$(gofmt -l "${mods[@]}")
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

log "go vet"
go vet "${pkgs[@]}"

log "go test -race"
go test -race -count=1 -timeout 15m "${pkgs[@]}"

if [ -d stores/sqlitestore ]; then
	log "go test (CGO_ENABLED=0) stores/sqlitestore"
	CGO_ENABLED=0 go test -count=1 -timeout 5m ./stores/sqlitestore/...
fi

if [ -d bench ]; then
	log "benchmark smoke run"
	(cd bench && go test -run '^$' -bench . -benchtime 1x ./... >"$work/bench-smoke.log" 2>&1) || {
		cat "$work/bench-smoke.log" >&2
		exit 1
	}
fi
log "module checks (each module alone, a user's module)"
bash scripts/check-modules.sh

log "all green"
