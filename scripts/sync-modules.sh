#!/usr/bin/env bash
# scripts/sync-modules.sh vX.Y.Z: makes every module's go.mod require each
# sessionkit module it imports (tests included) at release vX.Y.Z (a module
# with a major suffix vN at vN.Y.Z) and replace every sessionkit module in its
# build list with its in-repo path, so that each module builds alone with
# GOWORK=off. It only edits go.mod files; scripts/release.sh calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/modules.sh
v0=${1:?usage: scripts/sync-modules.sh vX.Y.Z}
case "$v0" in v0.[0-9]*.[0-9]*) ;; *)
	echo "sync-modules: $v0 is not a v0.X.Y version" >&2
	exit 2
	;;
esac

mapfile -t dirs < <(all_modules)
declare -A direct # dir -> space-separated sibling dirs it imports

# The sessionkit modules whose packages a module imports, from the workspace.
for d in "${dirs[@]}"; do
	deps=$(cd "$d" && go list -deps -test -f '{{with .Module}}{{.Path}}{{end}}' ./... | sort -u |
		grep "^$sk/" | sed "s#^$sk/##" | grep -vx "$d" || true)
	direct[$d]=$(echo $deps)
done

# closure DIR: every sibling in DIR's build list (the siblings it requires,
# theirs, and so on).
closure() {
	local seen=" " queue=(${direct[$1]}) x
	while [ ${#queue[@]} -gt 0 ]; do
		x=${queue[0]}
		queue=("${queue[@]:1}")
		case "$seen" in *" $x "*) continue ;; esac
		seen+="$x "
		queue+=(${direct[$x]})
	done
	echo $seen
}

rel() { # rel FROM TO: the relative path from directory FROM to directory TO
	local up="" f=$1
	case "$2" in "$1"/*) echo "./${2#"$1"/}"; return ;; esac
	while [ "$f" != "." ]; do up+="../"; f=$(dirname "$f"); done
	echo "${up}$2"
}

for d in "${dirs[@]}"; do
	args=()
	# Drop every sessionkit require and replace, then write them anew.
	for old in $(cd "$d" && go mod edit -json | grep -o "\"$sk/[^\"]*\"" | tr -d '"' | sort -u); do
		args+=(-droprequire="$old" -dropreplace="$old")
	done
	for x in ${direct[$d]}; do
		args+=(-require="$sk/$x@$(module_version "$x" "$v0")")
	done
	for x in $(closure "$d"); do
		args+=(-replace="$sk/$x=$(rel "$d" "$x")")
	done
	[ ${#args[@]} -gt 0 ] && (cd "$d" && go mod edit "${args[@]}")
done
