#!/usr/bin/env bash
# Sustained insert rate of the local cache against plain SQLite, same rows,
# same run.  COUNT records (default 200000).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build/bench/cache_insert "${COUNT:-200000}" "$work"
