"""Wine check benchmark (run by `make bench` through bench_wine_check.sh).

ROUNDS rounds (stats.py), each with two measurements, the order alternating:
  - build/bench/agent_wine_check: wine_classify() over this machine's
    processes taken as execs (plain and as scripts; Wine's own processes
    left out), nanoseconds per call, each timing at least MIN_SECONDS;
  - bench_exec.with_agent(): the agent's CPU time per exec for /bin/true
    flat out (decode, process table, cached hash, row, NDJSON), the baseline.
Prints both, the per-round ratio (the share of the agent's work per exec that
the Wine test takes for an exec that is not Wine's), and the instructions
per wine_classify call (callgrind).
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_exec  # noqa: E402  (the agent run, shared with bench_exec.sh)
import stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHECK = str(ROOT / "build" / "bench" / "agent_wine_check")
INSTRUCTION_ROUNDS = 1000


def check():
    return json.loads(subprocess.run([CHECK, "--min-seconds", str(stats.MIN_SECONDS)],
                                     check=True, capture_output=True, text=True).stdout)


def agent():
    with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-") as workdir:
        return bench_exec.with_agent(0, workdir)


def show_instructions():
    skipped = stats.instructions_skipped()
    if skipped:
        print(f"  instructions: skipped ({skipped})")
        return
    print(f"instructions (callgrind, {INSTRUCTION_ROUNDS} rounds over the sampled execs)")
    for kind, name in (("plain", "ELF exec"), ("script", "script exec")):
        count, output = stats.instructions(
            [CHECK, "--only", kind, "--rounds", str(INSTRUCTION_ROUNDS)],
            toggle_collect="wine_classify")
        stats.show_count(f"wine_classify per call, {name}", count / json.loads(output)["calls"])


def main():
    if os.geteuid() != 0:
        raise SystemExit("bench_wine_check: needs root (loads the BPF probe)")
    round_count = stats.rounds()
    checks, agents = [], []
    for round_index in range(round_count):
        for step in stats.rotated((check, agent), round_index):
            (checks if step is check else agents).append(step())
    agent_ns = [a["agent_cpu_us_per_exec"] * 1000 for a in agents]
    plain = [c["ns_per_exec"] for c in checks]
    script = [c["ns_per_script_exec"] for c in checks]
    stats.header(f"execs sampled from /proc: {checks[0]['execs']} (Wine's own, left out:"
                 f" {checks[0]['wine_left_out']})", round_count)
    stats.show("wine_classify, ELF exec", plain, "ns")
    stats.show("wine_classify, script exec", script, "ns")
    stats.show("wine_classify, Wine loader exec",
               [c["ns_per_wine_exec"] for c in checks], "ns")
    stats.show("agent CPU per exec (/bin/true flat out)", agent_ns, "ns")
    stats.show("share of the agent's work, ELF exec", [100 * r for r in
                                                        stats.ratios(plain, agent_ns)], "%")
    stats.show("share of the agent's work, script exec", [100 * r for r in
                                                          stats.ratios(script, agent_ns)], "%")
    show_instructions()
    stats.footer()


if __name__ == "__main__":
    sys.exit(main())
