#!/usr/bin/env bash
# scripts/check-modules.sh: checks that sessionkit can be used as a
# dependency. For every published module: GOWORK=off go build, go vet and
# go mod tidy -diff. Then a throwaway user module outside the repository,
# holding every README program, with replace lines for sessionkit modules
# only (standing in for the module proxy), must pass plain go mod tidy,
# go build and go vet; and a net/http + Redis app's module graph must hold
# no web framework, ORM, SQLite driver or browser driver. A failure names
# the module and the command. scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/modules.sh

fail() {
	echo "check-modules: $*" >&2
	exit 1
}

# run DIR CMD...: runs CMD in DIR without the workspace; on failure, prints
# its output and names the module and the command.
run() {
	local d=$1 out
	shift
	if ! out=$(cd "$d" && GOWORK=off GOFLAGS= "$@" 2>&1); then
		echo "$out" >&2
		fail "$d: '$*' failed"
	fi
}

for d in $(all_modules); do
	published "$d" || continue
	run "$d" go build ./...
	run "$d" go vet ./...
	run "$d" go mod tidy -diff
done
echo "check-modules: every published module builds, vets and is tidy alone"

tmp=$(mktemp -d /tmp/sessionkit-usermod.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# user_module DIR: a module example.com/myapp in DIR that replaces every
# published sessionkit module with its path in this clone, as a user's does
# before the first tag. Its requires come from go mod tidy alone.
user_module() {
	mkdir -p "$1"
	(cd "$1" && GOWORK=off go mod init example.com/myapp >/dev/null 2>&1)
	local d args=()
	for d in $(all_modules); do
		published "$d" || continue
		args+=(-replace="$sk/$d=$root/$d")
	done
	(cd "$1" && go mod edit "${args[@]}")
}

# Every README program, each its own main package.
user_module "$tmp/all"
for f in examples/readme/*/main.go; do
	name=$(basename "$(dirname "$f")")
	mkdir -p "$tmp/all/$name"
	cp "$f" "$tmp/all/$name/main.go"
done
run "$tmp/all" go mod tidy
run "$tmp/all" go build ./...
run "$tmp/all" go vet ./...
echo "check-modules: a user module with every README program tidies, builds and vets"

# A net/http + Redis app holds go-redis and sessionkit, nothing else.
user_module "$tmp/redis"
cp examples/readme/redis/main.go "$tmp/redis/main.go"
run "$tmp/redis" go mod tidy
run "$tmp/redis" go build ./...
graph=$(cd "$tmp/redis" && GOWORK=off go list -m all)
unwanted=$(echo "$graph" | grep -E 'gin-gonic|labstack|gofiber|valyala|gorm|sqlite|chromedp|glebarez|modernc|gomemcache' || true)
[ -z "$unwanted" ] || fail "the net/http + Redis app's module graph holds $(echo $unwanted)"
others=$(echo "$graph" | grep "^$sk/" | awk '{print $1}' | sed "s#^$sk/##" | grep -vx 'core\|stores/redisstore' || true)
[ -z "$others" ] || fail "the net/http + Redis app's module graph holds sessionkit modules beyond core and redisstore: $(echo $others)"
echo "check-modules: a net/http + Redis app's module graph: $(echo "$graph" | awk 'NR>1{print $1}' | tr '\n' ' ')"
