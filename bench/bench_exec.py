"""Exec sensor benchmark (run by `make bench` through bench_exec.sh).

For each rate (100, 200, 400 execs/s and flat out) and each round, one run
without the agent and one with it, interleaved, so drift of this VM hits both
alike.  With the agent we read, before and after the run:
  - the kernel's BPF run statistics of the exec, fork and exit programs
    (run_time_ns / run_cnt, from the agent's status.json): kernel time per exec;
  - the agent's CPU time (utime + stime from /proc/PID/stat): agent CPU per exec;
  - the probe's loss counters and the records written.
Output: one table, and ratios against the run without the agent.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENT = ROOT / "build" / "rmmhunt-agent"
LAUNCHER = ROOT / "build" / "bench" / "exec_launcher"
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
RATES = [100, 200, 400, 0]
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def launch(rate):
    out = subprocess.run([str(LAUNCHER), str(rate), str(SECONDS), "/bin/true"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def process_cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def wait_for_status(state_dir, after_ns):
    path = state_dir / "status.json"
    while True:
        if path.exists() and path.stat().st_mtime_ns > after_ns:
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                pass
        time.sleep(0.05)


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
        while b"watching execs" not in (Path(workdir) / "agent.stderr").read_bytes():
            if agent.poll() is not None:
                raise SystemExit("agent failed: " + (Path(workdir) / "agent.stderr").read_text())
            time.sleep(0.05)
        before = wait_for_status(state, time.time_ns())
        cpu_before = process_cpu_seconds(agent.pid)
        result = launch(rate)
        time.sleep(1.5)  # let the agent drain and write its status
        after = wait_for_status(state, time.time_ns())
        cpu_after = process_cpu_seconds(agent.pid)
    finally:
        agent.send_signal(signal.SIGINT)
        agent.wait()
        stderr.close()
    all_before, exec_before, runs_before = kernel_totals(before)
    all_after, exec_after, runs_after = kernel_totals(after)
    execs = runs_after - runs_before
    lost = sum(after["probe"][k] for k in ("exec_lost", "fork_lost", "exit_lost"))
    result.update({
        "kernel_us_per_exec": (all_after - all_before) / 1000 / max(execs, 1),
        "kernel_exec_program_us": (exec_after - exec_before) / 1000 / max(execs, 1),
        "agent_cpu_us_per_exec": (cpu_after - cpu_before) * 1e6 / max(execs, 1),
        "probe_execs": execs,
        "lost": lost,
        "records": after["records"]["written"] - before["records"]["written"],
    })
    return result


def main():
    if os.geteuid() != 0:
        raise SystemExit("bench_exec: needs root (loads the BPF probe)")
    rows = []
    for rate in RATES:
        for _ in range(ROUNDS):
            without = launch(rate)
            with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-") as workdir:
                measured = with_agent(rate, workdir)
            rows.append((rate, without, measured))
            print(f"rate {rate or 'max':>4}: without {without['achieved_rate']:7.1f}/s"
                  f"  with {measured['achieved_rate']:7.1f}/s"
                  f"  kernel {measured['kernel_us_per_exec']:5.2f} us/exec"
                  f" (exec prog {measured['kernel_exec_program_us']:5.2f})"
                  f"  agent {measured['agent_cpu_us_per_exec']:6.1f} us/exec"
                  f"  lost {measured['lost']}", flush=True)
    print("\nsummary (medians over rounds)")
    print(f"{'rate':>6} {'thru w/o':>9} {'thru with':>9} {'ratio':>6} {'kernel us':>9}"
          f" {'agent us':>9} {'agent/launcher cpu':>18} {'lost':>5}")
    for rate in RATES:
        picked = [r for r in rows if r[0] == rate]
        median = lambda values: sorted(values)[len(values) // 2]
        thru_without = median([w["achieved_rate"] for _, w, _ in picked])
        thru_with = median([m["achieved_rate"] for _, _, m in picked])
        kernel = median([m["kernel_us_per_exec"] for _, _, m in picked])
        agent = median([m["agent_cpu_us_per_exec"] for _, _, m in picked])
        launcher_cpu = median([w["cpu_seconds"] * 1e6 / max(w["execs"], 1) for _, w, _ in picked])
        lost = sum(m["lost"] for _, _, m in picked)
        print(f"{rate or 'max':>6} {thru_without:9.1f} {thru_with:9.1f} "
              f"{thru_with / thru_without:6.3f} {kernel:9.2f} {agent:9.1f} "
              f"{agent / launcher_cpu:18.3f} {lost:5d}")
    print("\ntargets: kernel <= 3 us/exec, agent <= 20 us CPU/exec (cached hash), 0 lost")


if __name__ == "__main__":
    sys.exit(main())
