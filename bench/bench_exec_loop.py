"""Exec sensors side by side on a shell loop (run by `make bench` through
bench_exec_loop.sh): the issue's comparison with Debian's execsnoop.

ROUNDS rounds (stats.py); in each round three runs, in an order that
rotates from round to round: no sensor, execsnoop (libbpf-tools) alone,
rmmhunt-agent alone.  Each run starts its sensor, waits until it watches,
runs `for i in 1..LOOP_EXECS: /bin/true` in bash (LOOP_EXECS, default
1,000), waits a moment for the sensor to drain, and stops it.

Sensor CPU is utime + stime as the scheduler counts it: the sum of
/proc/PID/task/*/schedstat's first field (ns, every thread), read before
and after the loop.  /proc/PID/stat has the same time in clock ticks
(10 ms), too coarse for 1,000 execs; it is printed as a check.  The loop's
execs are divided out: CPU per exec.  Printed: each sensor's CPU per exec,
the ratio agent/execsnoop (target <= 2x), the loop's wall time with each
(the cost the host sees) and the agent's losses (its status.json).

BASELINE_AGENT=PATH adds a fourth run a round: that rmmhunt-agent binary
(another build, e.g. main's), same options, and the ratio agent/baseline:
a change's effect measured in the same rounds.
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
AGENT = ROOT / "build" / "rmmhunt-agent"
BASELINE_AGENT = os.environ.get("BASELINE_AGENT", "")
EXECSNOOP = Path("/usr/sbin/execsnoop")
TRACEFS = Path("/sys/kernel/tracing")
LOOP_EXECS = int(os.environ.get("LOOP_EXECS", "1000"))
START_TIMEOUT = 30
DRAIN_SECONDS = 1.0
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks_ns(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e9 / CLOCK_TICK


def run_loop():
    """The shell loop; its wall time in seconds."""
    script = f"for ((i = 0; i < {LOOP_EXECS}; i++)); do /bin/true; done"
    started = time.monotonic()
    subprocess.run(["/bin/bash", "-c", script], check=True)
    return time.monotonic() - started


def wait_for(path, text, process, what):
    deadline = time.monotonic() + START_TIMEOUT
    while text not in path.read_bytes():
        if process.poll() is not None:
            raise SystemExit(f"bench_exec_loop: {what} stopped: {path.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_exec_loop: {what} did not start in {START_TIMEOUT} s")
        time.sleep(0.05)


def measured(process, result):
    """Run the loop with process watching; CPU figures into result."""
    time.sleep(0.5)  # start-up work (the agent's scan, rules) is over
    before, ticks_before = stats.process_cpu_ns(process.pid), cpu_ticks_ns(process.pid)
    result["wall"] = run_loop()
    time.sleep(DRAIN_SECONDS)
    after, ticks_after = stats.process_cpu_ns(process.pid), cpu_ticks_ns(process.pid)
    result["cpu_us_per_exec"] = (after - before) / 1000 / LOOP_EXECS
    result["tick_us_per_exec"] = (ticks_after - ticks_before) / 1000 / LOOP_EXECS


def watched(command, log, ready, what):
    """Start command (its output in log), wait for ready in log, run the
    loop under it, stop it; the CPU figures."""
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    result = {}
    try:
        wait_for(log, ready, process, what)
        measured(process, result)
    finally:
        stats.stop(process, START_TIMEOUT)
    return result


def with_execsnoop(workdir):
    # a line at a time, as on a terminal (and its header says it is up)
    return watched(["stdbuf", "-oL", str(EXECSNOOP)], Path(workdir) / "execsnoop.out",
                   b"PCOMM", "execsnoop")


def with_agent(workdir, agent=AGENT):
    state = Path(workdir) / "state"
    result = watched([str(agent), "--state-dir", str(state), "--rules", str(ROOT / "rules"),
                      "--events", str(Path(workdir) / "events.ndjson"),
                      "--stats-interval", "1"],
                     Path(workdir) / "agent.log", b"watching execs", "rmmhunt-agent")
    status = json.loads((state / "status.json").read_text())
    result["lost"] = sum(status["probe"][k] for k in ("exec_lost", "fork_lost", "exit_lost"))
    return result


def prepare():
    if os.geteuid() != 0:
        raise SystemExit("bench_exec_loop: needs root (loads BPF programs)")
    if not EXECSNOOP.exists():
        raise SystemExit("bench_exec_loop: /usr/sbin/execsnoop is missing: make test-deps "
                         "(Debian package libbpf-tools)")
    if not (TRACEFS / "events").exists():
        # execsnoop attaches through tracefs
        subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACEFS)], check=True)


def main():
    prepare()
    round_count = stats.rounds()
    sides = ("none", "execsnoop", "agent") + (("baseline",) if BASELINE_AGENT else ())
    runs = {side: [] for side in sides}
    for round_index in range(round_count):
        for side in stats.rotated(sides, round_index):
            with tempfile.TemporaryDirectory(prefix="rmmhunt-loop-") as workdir:
                if side == "none":
                    result = {"wall": run_loop()}
                elif side == "execsnoop":
                    result = with_execsnoop(workdir)
                elif side == "baseline":
                    result = with_agent(workdir, Path(BASELINE_AGENT))
                else:
                    result = with_agent(workdir)
            runs[side].append(result)
            extra = "" if side == "none" else (
                f"  CPU {result['cpu_us_per_exec']:6.1f} us/exec"
                f" (ticks {result['tick_us_per_exec']:6.1f})")
            print(f"round {round_index + 1} {side:>9}: loop {result['wall']:6.3f} s{extra}",
                  flush=True)
    agent = [r["cpu_us_per_exec"] for r in runs["agent"]]
    snoop = [r["cpu_us_per_exec"] for r in runs["execsnoop"]]
    stats.header(f"\nbash loop of {LOOP_EXECS} /bin/true: no sensor, execsnoop, rmmhunt-agent",
                 round_count)
    stats.show("loop wall time, no sensor", [r["wall"] for r in runs["none"]], "s")
    stats.show("loop wall time, execsnoop", [r["wall"] for r in runs["execsnoop"]], "s")
    stats.show("loop wall time, rmmhunt-agent", [r["wall"] for r in runs["agent"]], "s")
    stats.show("execsnoop CPU per exec", snoop, "us")
    stats.show("rmmhunt-agent CPU per exec", agent, "us")
    stats.show_ratio("ratio agent/execsnoop CPU per exec", agent, snoop)
    if BASELINE_AGENT:
        baseline = [r["cpu_us_per_exec"] for r in runs["baseline"]]
        stats.show(f"baseline agent CPU per exec ({BASELINE_AGENT})", baseline, "us")
        stats.show_ratio("ratio agent/baseline CPU per exec", agent, baseline)
        stats.show_count("baseline lost events, all rounds",
                         sum(r["lost"] for r in runs["baseline"]))
    stats.show_count("agent lost events, all rounds", sum(r["lost"] for r in runs["agent"]))
    print("target: agent <= 2x execsnoop CPU per exec, 0 lost")
    stats.footer()


if __name__ == "__main__":
    sys.exit(main())
