"""Exec sensor benchmark (run by `make bench` through bench_exec.sh).

ROUNDS rounds (stats.py); in each round, for each rate (100, 200, 400
execs/s and flat out), one run without the agent and one with it (the order
alternating from round to round), BENCH_SECONDS (5) each, so drift of this
VM hits both alike.  With the agent we read, before and after the run:
  - the kernel's BPF run statistics of the exec, fork and exit programs
    (run_time_ns / run_cnt, from the agent's status.json): kernel time per exec;
  - the agent's CPU time (utime + stime of every thread, ns, from
    /proc/PID/task/*/schedstat): agent CPU per exec;
  - the probe's loss counters and the records written.
Output: one line per run, then per rate every figure's median and spread
over the rounds, and the per-round ratios against the run without the
agent (its throughput and the launcher's CPU per exec: posix_spawn, exec of
/bin/true and waitpid, user and system time).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# AGENT: another build's agent (e.g. main's, to compare); RATES: e.g. "100"
AGENT = Path(os.environ.get("AGENT", ROOT / "build" / "rmmhunt-agent"))
LAUNCHER = ROOT / "build" / "bench" / "exec_launcher"
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
RATES = [int(rate) for rate in os.environ.get("RATES", "100,200,400,0").split(",")]
STATUS_TIMEOUT = 30  # seconds without a new status.json: the agent is stuck


def launch(rate):
    out = subprocess.run([str(LAUNCHER), str(rate), str(SECONDS), "/bin/true"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def wait_for_status(state_dir, after_ns):
    """The agent's next status.json (it writes one a second); a clear error,
    not a hang, when it stops writing them."""
    path = state_dir / "status.json"
    deadline = time.monotonic() + STATUS_TIMEOUT
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime_ns > after_ns:
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                pass
        time.sleep(0.05)
    raise SystemExit(f"bench_exec: the agent wrote no status.json for {STATUS_TIMEOUT} s:"
                     " it is stuck (its main loop blocked); the run is void")


def kernel_totals(status):
    total_ns = sum(p["run_time_ns"] for p in status["kernel_time"].values())
    return total_ns, status["kernel_time"]["exec"]["run_time_ns"], \
        status["kernel_time"]["exec"]["runs"]


def with_agent(rate, workdir):
    state = Path(workdir) / "state"
    events = Path(workdir) / "events.ndjson"
    stderr = open(Path(workdir) / "agent.stderr", "wb")
    agent = subprocess.Popen([str(AGENT), "--state-dir", str(state), "--events",
                              str(events), "--stats-interval", "1"],
                             stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + STATUS_TIMEOUT
        while b"watching execs" not in (Path(workdir) / "agent.stderr").read_bytes():
            if agent.poll() is not None:
                raise SystemExit("agent failed: " + (Path(workdir) / "agent.stderr").read_text())
            if time.monotonic() > deadline:
                raise SystemExit(f"bench_exec: the agent did not start in {STATUS_TIMEOUT} s")
            time.sleep(0.05)
        before = wait_for_status(state, time.time_ns())
        cpu_before = stats.process_cpu_ns(agent.pid)
        result = launch(rate)
        time.sleep(1.5)  # let the agent drain and write its status
        after = wait_for_status(state, time.time_ns())
        cpu_after = stats.process_cpu_ns(agent.pid)
    finally:
        stats.stop(agent, STATUS_TIMEOUT)
        stderr.close()
    all_before, exec_before, runs_before = kernel_totals(before)
    all_after, exec_after, runs_after = kernel_totals(after)
    execs = runs_after - runs_before
    lost = sum(after["probe"][k] for k in ("exec_lost", "fork_lost", "exit_lost"))
    result.update({
        "kernel_us_per_exec": (all_after - all_before) / 1000 / max(execs, 1),
        "kernel_exec_program_us": (exec_after - exec_before) / 1000 / max(execs, 1),
        "agent_cpu_us_per_exec": (cpu_after - cpu_before) / 1000 / max(execs, 1),
        "probe_execs": execs,
        "lost": lost,
        "records": after["records"]["written"] - before["records"]["written"],
    })
    return result


def run_pair(rate, round_index):
    """One round at one rate: (the run without the agent, the run with it),
    in an order that alternates from round to round."""
    results = {}
    for side in stats.rotated(("without", "with"), round_index):
        if side == "without":
            results[side] = launch(rate)
        else:
            with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-") as workdir:
                results[side] = with_agent(rate, workdir)
    return results["without"], results["with"]


def show_rate(rate, pairs):
    without = [w for w, _ in pairs]
    measured = [m for _, m in pairs]
    launcher_us = [w["cpu_seconds"] * 1e6 / max(w["execs"], 1) for w in without]
    kernel_us = [m["kernel_us_per_exec"] for m in measured]
    agent_us = [m["agent_cpu_us_per_exec"] for m in measured]
    print(f"rate {rate or 'max'}{'/s' if rate else ''}:")
    stats.show("throughput without the agent", [w["achieved_rate"] for w in without], "execs/s")
    stats.show("throughput with the agent", [m["achieved_rate"] for m in measured], "execs/s")
    stats.show_ratio("ratio throughput with/without", [m["achieved_rate"] for m in measured],
                     [w["achieved_rate"] for w in without])
    stats.show("launcher CPU per exec (without, baseline)", launcher_us, "us")
    stats.show("kernel: BPF programs per exec", kernel_us, "us")
    stats.show("  exec program alone", [m["kernel_exec_program_us"] for m in measured], "us")
    stats.show("agent CPU per exec", agent_us, "us")
    stats.show_ratio("ratio kernel/launcher CPU", kernel_us, launcher_us)
    stats.show_ratio("ratio agent/launcher CPU", agent_us, launcher_us)
    print(f"  {'lost events, all rounds':{stats.NAME_WIDTH}} {sum(m['lost'] for m in measured):12d}")


def main():
    if os.geteuid() != 0:
        raise SystemExit("bench_exec: needs root (loads the BPF probe)")
    round_count = stats.rounds()
    pairs = {rate: [] for rate in RATES}
    for round_index in range(round_count):
        for rate in RATES:
            without, measured = run_pair(rate, round_index)
            pairs[rate].append((without, measured))
            print(f"round {round_index + 1} rate {rate or 'max':>4}: without"
                  f" {without['achieved_rate']:7.1f}/s  with {measured['achieved_rate']:7.1f}/s"
                  f"  kernel {measured['kernel_us_per_exec']:5.2f} us/exec"
                  f"  agent {measured['agent_cpu_us_per_exec']:6.1f} us/exec"
                  f"  lost {measured['lost']}", flush=True)
    stats.header(f"\n/bin/true at each rate, {SECONDS:g} s per run, with and without the agent",
                 round_count)
    for rate in RATES:
        show_rate(rate, pairs[rate])
    print("targets: kernel <= 3 us/exec, agent <= 20 us CPU/exec (cached hash), 0 lost")
    stats.footer()


if __name__ == "__main__":
    sys.exit(main())
