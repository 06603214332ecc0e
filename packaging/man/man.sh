#!/bin/sh
# man.sh - what `make man` does: the man pages, from the same text as
# --help (help2man), plus the sections in packaging/man/*.h2m.
#
#   packaging/man/man.sh BUILD_DIR VERSION
#
# rmmhunt(1) also gets a COMMANDS section: each command's --help.
set -eu

build=${1:?usage: $0 BUILD_DIR VERSION}
version=${2:?usage: $0 BUILD_DIR VERSION}
out="$build/man"
mkdir -p "$out"

# help text as roff: backslashes escaped, a leading '.' or "'" made literal
as_roff() {
	sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
}

page() { # program section include output
	help2man --no-info --no-discard-stderr --section "$2" \
		--version-string "$version" --include "$3" \
		--output "$4.tmp" "$build/$1"
	mv "$4.tmp" "$4"
}

page rmmhunt-agent 8 packaging/man/rmmhunt-agent.h2m "$out/rmmhunt-agent.8"
page rmmhunt-collector 8 packaging/man/rmmhunt-collector.h2m "$out/rmmhunt-collector.8"
{
	cat packaging/man/rmmhunt.h2m
	echo "[COMMANDS]"
	for command in query devices status rules inspect; do
		echo ".SS rmmhunt $command"
		echo ".nf"
		"$build/rmmhunt" "$command" --help 2>&1 | as_roff
		echo ".fi"
	done
} >"$out/rmmhunt.h2m"
page rmmhunt 1 "$out/rmmhunt.h2m" "$out/rmmhunt.1"
