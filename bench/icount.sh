#!/usr/bin/env bash
# Counts the instructions one request costs, under valgrind's callgrind:
# a measure this 2-core VM repeats to under 1%, where wall-clock ratios
# over loopback swing ±15% from one round to the next.
#
# Each program serves N requests of one steady user in-process
# (cmd/server -requests, cmd/calibrate -requests) with
#
#   GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1
#
# (Go's preemption signals crash callgrind, and the collector makes counts
# swing 20%), once with N=$ICOUNT_LOW and once with N=$ICOUNT_HIGH; the
# difference of the two totals over the difference of N is the cost of a
# request, free of start-up and seeding. Rows:
#
#   net/http  bare, sessionkit (memory store), scs (memory store), and the
#             floor: cmd/calibrate -floor, the least work any server-side
#             session with hashed IDs can do (see its doc), beside its own
#             bare twin
#   Fiber     bare, sessionkit (memory store), Fiber's own session
#             middleware (memory store)
#   Fiber v3  the same three on Fiber v3 (fibersession/v3, Fiber v3's
#             middleware/session)
#   Echo      bare and sessionkit (memory store) on Echo v4 and on Echo v5
#
# It prints a markdown table: instructions a request, and the overhead over
# the framework's bare app. Environment (optional):
#   ICOUNT_LOW, ICOUNT_HIGH  request counts (default 10000, 30000)
#   ICOUNT_ONLY              a regexp: only rows whose name matches
set -euo pipefail
cd "$(dirname "$0")"
low=${ICOUNT_LOW:-10000}
high=${ICOUNT_HIGH:-30000}
only=${ICOUNT_ONLY:-.}

if ! command -v valgrind >/dev/null; then
	echo "== installing valgrind" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi

work=$(mktemp -d /tmp/sessionkit-icount.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "== building" >&2
go build -o "$work/server" ./cmd/server
go build -o "$work/calibrate" ./cmd/calibrate

# count N CMD...: the instructions CMD -requests N executes.
count() {
	local n=$1 out="$work/callgrind.out"
	shift
	rm -f "$out"
	GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 \
		valgrind --tool=callgrind --callgrind-out-file="$out" "$@" -requests "$n" >/dev/null 2>"$work/valgrind.log" || {
		cat "$work/valgrind.log" >&2
		return 1
	}
	awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

# per_request CMD...: instructions a request.
per_request() {
	local a b
	a=$(count "$low" "$@")
	b=$(count "$high" "$@")
	echo $(((b - a) / (high - low)))
}

declare -A cost
rows=(
	"nethttp/bare|$work/server -app nethttp/bare"
	"nethttp/sessionkit-memory|$work/server -app nethttp/sessionkit-memory"
	"nethttp/scs-memory|$work/server -app nethttp/scs-memory"
	"calibrate|$work/calibrate"
	"calibrate -floor|$work/calibrate -floor"
	"fiber/bare|$work/server -app fiber/bare"
	"fiber/sessionkit-memory|$work/server -app fiber/sessionkit-memory"
	"fiber/fiber-session-memory|$work/server -app fiber/fiber-session-memory"
	"fiber3/bare|$work/server -app fiber3/bare"
	"fiber3/sessionkit-memory|$work/server -app fiber3/sessionkit-memory"
	"fiber3/fiber-session-memory|$work/server -app fiber3/fiber-session-memory"
	"echo/bare|$work/server -app echo/bare"
	"echo/sessionkit-memory|$work/server -app echo/sessionkit-memory"
	"echo5/bare|$work/server -app echo5/bare"
	"echo5/sessionkit-memory|$work/server -app echo5/sessionkit-memory"
)
for row in "${rows[@]}"; do
	name=${row%%|*}
	[[ $name =~ $only ]] || continue
	echo "== $name" >&2
	# shellcheck disable=SC2086 # the command is split on purpose
	cost[$name]=$(per_request ${row#*|})
done

# over NAME BASE: NAME's instructions beyond BASE's, or "" when either is
# not measured.
over() {
	[ -n "${cost[$1]:-}" ] && [ -n "${cost[$2]:-}" ] && echo $((cost[$1] - cost[$2]))
	return 0
}

echo
echo "Instructions a request (callgrind; $high minus $low requests of one steady user, GOGC=off GOMAXPROCS=1):"
echo
echo "| app | instructions / request | over the bare app |"
echo "|---|---:|---:|"
for row in "${rows[@]}"; do
	name=${row%%|*}
	[ -n "${cost[$name]:-}" ] || continue
	case $name in
	nethttp/bare | fiber/bare | fiber3/bare | echo/bare | echo5/bare | calibrate) base="" ;;
	nethttp/*) base=nethttp/bare ;;
	fiber/*) base=fiber/bare ;;
	fiber3/*) base=fiber3/bare ;;
	echo/*) base=echo/bare ;;
	echo5/*) base=echo5/bare ;;
	"calibrate -floor") base=calibrate ;;
	esac
	extra=""
	[ -n "$base" ] && extra=$(over "$name" "$base")
	echo "| $name | ${cost[$name]} | $extra |"
done
printed=
if [ -n "$(over nethttp/sessionkit-memory nethttp/bare)" ] && [ -n "$(over "calibrate -floor" calibrate)" ]; then
	sk=$(over nethttp/sessionkit-memory nethttp/bare)
	fl=$(over "calibrate -floor" calibrate)
	echo
	printed=1
	awk -v sk="$sk" -v fl="$fl" 'BEGIN { printf "sessionkit over net/http: %d instructions a request, %.2f× the floor'"'"'s %d.\n", sk, sk / fl, fl }'
fi
for fw in fiber fiber3; do
	sk=$(over "$fw/sessionkit-memory" "$fw/bare")
	fs=$(over "$fw/fiber-session-memory" "$fw/bare")
	if [ -n "$sk" ] && [ -n "$fs" ]; then
		[ -n "$printed" ] || echo
		printed=1
		awk -v fw="$fw" -v sk="$sk" -v fs="$fs" 'BEGIN { printf "sessionkit over %s: %d instructions a request, %.3f of Fiber'"'"'s session middleware'"'"'s %d.\n", fw, sk, sk / fs, fs }'
	fi
done
