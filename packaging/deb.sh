#!/bin/sh
# deb.sh - what `make deb` does: rmmhunt's Debian packages, rmmhunt-agent
# and rmmhunt-collector, made with debhelper (packaging/debian/).
#
#   packaging/deb.sh BUILD_DIR VERSION
#
# The programs and man pages come from the Makefile, built in BUILD_DIR as
# `make` builds them (debian/rules calls `make all man` in this tree); the
# packages land in BUILD_DIR/deb/, with the .changes lintian reads.  The
# Debian changelog is made here for VERSION (a native package: no
# revision), so a higher VERSION is an upgrade.
set -eu

build=${1:?usage: $0 BUILD_DIR VERSION}
version=${2:?usage: $0 BUILD_DIR VERSION}
source=$(pwd)
case "$build" in
/*) ;;
*) build="$source/$build" ;;
esac
out="$build/deb"
stage="$out/rmmhunt-$version"

rm -rf "$stage"
mkdir -p "$stage"
cp -r packaging/debian "$stage/debian"
revision=$(git -C "$source" describe --always --dirty 2>/dev/null || echo unknown)
cat >"$stage/debian/changelog" <<CHANGELOG
rmmhunt ($version) unstable; urgency=medium

  * Built by make deb from $revision.

 -- rmmhunt developers <rmmhunt-dev@example.org>  $(date -R)
CHANGELOG
rm -f "$out"/rmmhunt*_"$version"_*.deb "$out"/rmmhunt_"$version"_*.changes
cd "$stage"
RMMHUNT_SOURCE="$source" RMMHUNT_BUILD="$build" dpkg-buildpackage -b -us -uc
cd "$source"
rm -rf "$stage"
ls "$out"/rmmhunt-agent_"$version"_*.deb "$out"/rmmhunt-collector_"$version"_*.deb
