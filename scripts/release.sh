#!/usr/bin/env bash
# scripts/release.sh vX.Y.Z: prepares release vX.Y.Z of every published
# module. It sets each sibling require to that version (vN.Y.Z for a module
# with a major suffix vN), runs scripts/check-modules.sh, and prints the
# commit to make and the tags to push. It commits and pushes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/modules.sh
v=${1:?usage: scripts/release.sh vX.Y.Z}
case "$v" in v0.[0-9]*.[0-9]*) ;; *)
	echo "release: $v is not a v0.X.Y version; the v0 modules share it, a module with a major suffix vN gets vN.X.Y" >&2
	exit 2
	;;
esac

bash scripts/sync-modules.sh "$v"
bash scripts/check-modules.sh

echo
echo "Commit the go.mod changes, then tag that commit and push the tags:"
echo
echo "  git commit -am 'release $v'"
tags=()
for d in $(all_modules); do
	published "$d" || continue
	tags+=("$(tag "$d" "$v")")
done
echo "  git tag ${tags[*]}"
echo "  git push origin ${tags[*]}"
