#!/usr/bin/env bash
# Helpers shared by scripts/check-modules.sh and scripts/release.sh: the list
# of sessionkit modules, which are published, and each one's version.
# Source it; it defines functions only.

sk=github.com/sessionkit/sessionkit

# all_modules prints the directory of every module of the repository,
# relative to its root, one a line.
all_modules() {
	git -C "$root" ls-files '*go.mod' | xargs -n1 dirname | sort
}

# published DIR succeeds if the module in DIR is one users import.
published() {
	case "$1" in bench | bench/* | examples | examples/* | hardening | hardening/*) return 1 ;; esac
	return 0
}

# major DIR prints the major-version suffix a module path carries ("" for v0).
major() {
	case "$1" in */v[0-9]*) echo "${1##*/}" ;; *) echo "" ;; esac
}

# module_version DIR V0 prints the version the module in DIR is released at
# when the v0 modules are at V0 (v0.X.Y): a module with a major suffix vN
# carries vN.X.Y instead.
module_version() {
	local m
	m=$(major "$1")
	if [ -n "$m" ]; then echo "$m.${2#v0.}"; else echo "$2"; fi
}

# tag DIR V0 prints the git tag of the module in DIR at release V0: the
# directory then the version, with a major suffix in the version only
# (echosession/v5 at v0.2.0 is tagged echosession/v5.2.0).
tag() {
	local m
	m=$(major "$1")
	if [ -n "$m" ]; then echo "${1%/*}/$(module_version "$1" "$2")"; else echo "$1/$2"; fi
}
