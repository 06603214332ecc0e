"""Wine check benchmark (run by `make bench` through bench_wine_check.sh).

Two measurements in one run:
  - build/bench/agent_wine_check: wine_classify() over this machine's
    processes taken as execs (plain and as scripts), nanoseconds per call;
  - bench_exec.with_agent(): the agent's CPU time per exec for /bin/true
    flat out (decode, process table, cached hash, row, NDJSON), the baseline.
Prints both and the ratio: the share of the agent's work per exec that the
Wine test takes for an exec that is not Wine's.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_exec  # noqa: E402  (the agent run, shared with bench_exec.sh)

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "build" / "bench" / "agent_wine_check"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))


def median(values):
    return sorted(values)[len(values) // 2]


def main():
    if os.geteuid() != 0:
        raise SystemExit("bench_wine_check: needs root (loads the BPF probe)")
    checks, agents = [], []
    for _ in range(ROUNDS):
        checks.append(json.loads(subprocess.run([str(CHECK)], check=True,
                                                capture_output=True, text=True).stdout))
        with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-") as workdir:
            agents.append(bench_exec.with_agent(0, workdir))
    plain = median([c["ns_per_exec"] for c in checks])
    script = median([c["ns_per_script_exec"] for c in checks])
    wine = median([c["ns_per_wine_exec"] for c in checks])
    agent_ns = median([a["agent_cpu_us_per_exec"] for a in agents]) * 1000
    print(f"execs sampled from /proc: {checks[0]['execs']} "
          f"(taken for Wine: {checks[0]['taken_for_wine']}), median of {ROUNDS} runs")
    print(f"  wine_classify, ELF exec          {plain:8.1f} ns")
    print(f"  wine_classify, script exec       {script:8.1f} ns")
    print(f"  wine_classify, Wine loader exec  {wine:8.1f} ns (then resolution)")
    print(f"  agent CPU per exec (/bin/true)   {agent_ns:8.1f} ns")
    print(f"ratio: the test is {100 * plain / agent_ns:.3f}% of the agent's work "
          f"per exec ({100 * script / agent_ns:.3f}% for a script)")


if __name__ == "__main__":
    sys.exit(main())
