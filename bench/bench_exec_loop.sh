#!/usr/bin/env bash
# Agent CPU per exec beside Debian's execsnoop (libbpf-tools) on a bash loop
# of LOOP_EXECS (1,000) /bin/true: no sensor, execsnoop alone, the agent
# alone, ROUNDS rounds (default 3).  Needs root; mounts tracefs if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/bench_exec_loop.py "$@"
