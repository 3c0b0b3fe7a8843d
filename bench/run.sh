#!/usr/bin/env bash
# Runs sessionkit's benchmarks against the libraries users would otherwise
# pick, prints one markdown table and writes it, with the date, the machine
# and the checks of the performance targets, to bench/RESULTS.md.
#
#   1. TestRedisRoundTrips: round trips per request through the middleware.
#   2. In-process: go test -bench 'BenchmarkApps|BenchmarkStoreLoad'
#      -benchmem, $BENCH_COUNT rounds, summarised with benchstat. Each app
#      runs in a test process of its own (no other app's sessions in its
#      heap); a round runs every app once, so rounds are interleaved.
#   3. Loopback: each app served alone on 127.0.0.1 by cmd/server, loaded
#      by wrk (2 threads, 50 connections, $BENCH_WRK_SECONDS s, --latency)
#      sending a fixed cookie (steady) or cycling through 10k cookies;
#      $BENCH_WRK_ROUNDS interleaved rounds, of which the report takes
#      the median, and the server's CPU time per request over each run
#      (from /proc/PID/stat).
#
# It installs wrk and redis-server with apt-get when absent, starts its own
# throwaway redis-server on a free port (never the machine's 6379) and stops
# everything it started.
#
# Environment (all optional):
#   BENCH_COUNT        in-process rounds (go test -count) (default 6)
#   BENCH_TIME         go test -benchtime                (default 1s)
#   BENCH_WRK_SECONDS  seconds per wrk run               (default 10)
#   BENCH_WRK_WARMUP   seconds of wrk before each run    (default 2; 0: none)
#   BENCH_WRK_ROUNDS   loopback rounds per app           (default 3)
#   BENCH_SESSIONS     sessions of the spread variant    (default 10000)
#   BENCH_SKIP         "go" or "wrk" to skip that part
#   BENCH_OUT          where to write the report         (default bench/RESULTS.md)
# A quick run: BENCH_COUNT=1 BENCH_TIME=2000x BENCH_WRK_SECONDS=1 BENCH_WRK_WARMUP=0 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")"
bench=$PWD
count=${BENCH_COUNT:-6}
benchtime=${BENCH_TIME:-1s}
wrk_seconds=${BENCH_WRK_SECONDS:-10}
wrk_warmup=${BENCH_WRK_WARMUP:-2}
wrk_rounds=${BENCH_WRK_ROUNDS:-3}
sessions=${BENCH_SESSIONS:-10000}
skip=${BENCH_SKIP:-}
out=${BENCH_OUT:-$bench/RESULTS.md}
benchstat_version=v0.0.0-20260908200009-22c9c6c9d4da
export BENCH_SESSIONS=$sessions

work=$(mktemp -d /tmp/sessionkit-bench.XXXXXX)
pids=()
server_pid=
cleanup() {
	local p
	[ -n "$server_pid" ] && pids+=("$server_pid")
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

log() { printf '== %s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "bench/run.sh: need root to apt-get install ${missing[*]}" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log "installing benchstat"
mkdir -p "$work/bin"
(cd "$work" && GOWORK=off GOFLAGS= GOBIN="$work/bin" go install "golang.org/x/perf/cmd/benchstat@$benchstat_version")
benchstat=$work/bin/benchstat

# --- redis -----------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		if ! port_busy "$p"; then
			echo "$p"
			return
		fi
	done
}
wait_port() {
	local i
	for i in $(seq 1 100); do
		port_busy "$1" && return 0
		sleep 0.1
	done
	echo "bench/run.sh: nothing listens on 127.0.0.1:$1" >&2
	return 1
}

rport=$(free_port)
mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no \
	--dir "$work/redis" --logfile "$work/redis/log" &
pids+=($!)
wait_port "$rport"
export SESSIONKIT_REDIS_ADDR="127.0.0.1:$rport"
log "redis-server on $SESSIONKIT_REDIS_ADDR"

# --- round trips -----------------------------------------------------------
log "TestRedisRoundTrips"
roundtrips=FAIL
if go test -count=1 -run '^TestRedisRoundTrips$' -v . >"$work/roundtrips.log" 2>&1; then
	roundtrips=PASS
else
	cat "$work/roundtrips.log" >&2
fi

go build -o "$work/server" ./cmd/server
mapfile -t all_apps < <("$work/server" -list | cut -d' ' -f1)

# --- in-process ------------------------------------------------------------
stats=
if [ "$skip" != go ]; then
	log "go test -bench ($count rounds, benchtime $benchtime, one process per app)"
	go test -c -o "$work/bench.test" .
	: >"$work/bench.txt"
	for round in $(seq 1 "$count"); do
		for app in "${all_apps[@]}"; do
			# "gin/sessionkit-memory" -> ^BenchmarkApps$/^(steady|spread10k)$/^gin$/^sessionkit-memory$
			pattern="^BenchmarkApps\$/^(steady|spread10k)\$/^${app%%/*}\$/^${app#*/}\$"
			log "round $round/$count: $app"
			"$work/bench.test" -test.run '^$' -test.bench "$pattern" -test.benchmem \
				-test.count 1 -test.benchtime "$benchtime" -test.timeout 1h >"$work/one.txt" 2>&1 || {
				cat "$work/one.txt" >&2
				exit 1
			}
			cat "$work/one.txt" >>"$work/bench.txt"
		done
		"$work/bench.test" -test.run '^$' -test.bench '^BenchmarkStoreLoad$' -test.benchmem \
			-test.count 1 -test.benchtime "$benchtime" >"$work/one.txt" 2>&1 || {
			cat "$work/one.txt" >&2
			exit 1
		}
		cat "$work/one.txt" >>"$work/bench.txt"
	done
	"$benchstat" -format csv "$work/bench.txt" >"$work/stats.csv" 2>/dev/null
	"$benchstat" "$work/bench.txt" >"$work/benchstat.txt" 2>/dev/null
	stats=$work/stats.csv
fi

# --- loopback --------------------------------------------------------------
: >"$work/wrk.tsv"
clk_tck=$(getconf CLK_TCK)
if [ "$skip" != wrk ]; then
	for round in $(seq 1 "$wrk_rounds"); do
	for variant in steady spread10k; do
		n=1
		[ "$variant" = spread10k ] && n=$sessions
		for app in "${all_apps[@]}"; do
			log "wrk round $round/$wrk_rounds: $variant $app"
			rm -f "$work/server.out" "$work/cookies.txt"
			: >"$work/server.out"
			"$work/server" -app "$app" -sessions "$n" -cookies "$work/cookies.txt" >>"$work/server.out" 2>&1 &
			server_pid=$!
			addr=
			for _ in $(seq 1 3000); do
				addr=$(awk '/^listening /{print $2}' "$work/server.out")
				[ -n "$addr" ] && break
				kill -0 "$server_pid" 2>/dev/null || break
				sleep 0.1
			done
			if [ -z "$addr" ]; then
				cat "$work/server.out" >&2
				echo "$app $variant failed" >>"$work/wrk.tsv"
				kill "$server_pid" 2>/dev/null || true
				wait "$server_pid" 2>/dev/null || true
				server_pid=
				continue
			fi
			if [ "$wrk_warmup" != 0 ]; then
				wrk -t2 -c50 -d"${wrk_warmup}s" -s wrk/cookies.lua "http://$addr/" -- "$work/cookies.txt" 2 >/dev/null 2>&1 || true
			fi
			# The server's CPU time (user + system, in clock ticks) over the
			# measured run: the cost of a request in a running server.
			cpu0=$(awk '{print $14 + $15}' "/proc/$server_pid/stat" 2>/dev/null || true)
			if wrk -t2 -c50 -d"${wrk_seconds}s" --latency -s wrk/cookies.lua "http://$addr/" -- "$work/cookies.txt" 2 >"$work/wrk.out" 2>&1; then
				cpu1=$(awk '{print $14 + $15}' "/proc/$server_pid/stat" 2>/dev/null || true)
				result=$(awk '/^RESULT /{print $2, $3, $4, $5, $6}' "$work/wrk.out")
				if [ -n "$result" ] && [ -n "$cpu0" ] && [ -n "$cpu1" ]; then
					result="$result $(awk -v a="$cpu0" -v b="$cpu1" -v hz="$clk_tck" 'BEGIN{printf "%.4f", (b - a) / hz}')"
				fi
				echo "$app $variant ${result:-failed}" >>"$work/wrk.tsv"
				{
					echo "### round $round: $variant $app"
					cat "$work/wrk.out"
				} >>"$work/wrk.log"
			else
				cat "$work/wrk.out" >&2
				echo "$app $variant failed" >>"$work/wrk.tsv"
			fi
			kill "$server_pid" 2>/dev/null || true
			wait "$server_pid" 2>/dev/null || true
			server_pid=
		done
	done
	done
fi

# --- report ----------------------------------------------------------------
rev=$(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C .. status --porcelain -- core ginsession echosession fibersession stores 2>/dev/null | wc -l)
if [ "$dirty" -gt 0 ]; then
	rev="commit $rev with $dirty uncommitted changes under core, the middleware and the stores"
else
	rev="commit $rev"
fi
go run ./cmd/report -rev "$rev" -benchstat "$stats" -wrk "$work/wrk.tsv" -roundtrips "$roundtrips" \
	-count "$count" -wrk-seconds "$wrk_seconds" -wrk-rounds "$wrk_rounds" >"$work/report.md"
cat "$work/report.md"
{
	cat "$work/report.md"
	if [ -s "$work/benchstat.txt" ]; then
		printf '<details><summary>benchstat (in-process)</summary>\n\n```\n'
		cat "$work/benchstat.txt"
		printf '```\n</details>\n\n'
	fi
	if [ -s "$work/wrk.log" ]; then
		printf '<details><summary>wrk (loopback)</summary>\n\n```\n'
		grep -v '^RESULT ' "$work/wrk.log"
		printf '```\n</details>\n'
	fi
} >"$out"
log "wrote $out"
