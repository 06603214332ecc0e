"""stats.py - the statistics and the output format shared by the bench drivers.

Every benchmark of bench/ measures rmmhunt and its baseline ROUNDS times
(environment ROUNDS, default 3), both within each round, so that drift of a
shared VM hits both alike.  A figure is one quantity with one value per
round; it is printed as

    name                              median unit    min..max      spread  [flag]

where spread is (max - min) as a percentage of the median.  A figure whose
spread exceeds UNSTABLE_PERCENT (environment, default 10) is flagged
UNSTABLE: it is shown, not hidden, and must not be quoted.  With fewer than
3 rounds every figure is flagged FEW-ROUNDS.  Ratios are computed per round
(rmmhunt and the baseline of the same round), then summarised like any
figure.

Also here: timing a command repeated enough times to last MIN_SECONDS
(environment, default 1.5) per timed run, and instruction counts under
valgrind's callgrind, which do not depend on what else the machine does
(`perf stat -e instructions` is not supported on this VM).
"""
import math
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

UNSTABLE_PERCENT = float(os.environ.get("UNSTABLE_PERCENT", "10"))
MIN_SECONDS = float(os.environ.get("MIN_SECONDS", "1.5"))
NAME_WIDTH = 46
STARTED = time.monotonic()


def rounds():
    """ROUNDS from the environment (BENCH_ROUNDS is the older name)."""
    text = os.environ.get("ROUNDS") or os.environ.get("BENCH_ROUNDS") or "3"
    count = int(text)
    if count < 1:
        raise SystemExit(f"ROUNDS must be at least 1, not {text}")
    return count


def rotated(items, round_index):
    """items in the order of this round: each round starts one further on, so
    that no one of them always runs first (or always right after another)."""
    shift = round_index % len(items)
    return list(items[shift:]) + list(items[:shift])


class Figure:
    """One quantity measured once per round."""

    def __init__(self, values):
        if not values:
            raise ValueError("a figure needs at least one value")
        self.values = list(values)
        self.median = statistics.median(self.values)
        self.low = min(self.values)
        self.high = max(self.values)
        if self.median:
            self.spread = 100.0 * (self.high - self.low) / abs(self.median)
        else:
            self.spread = 0.0 if self.high == self.low else math.inf

    def flag(self):
        if len(self.values) < 3:
            return "FEW-ROUNDS"
        return "UNSTABLE" if self.spread > UNSTABLE_PERCENT else ""


def number(value):
    """A value with about four significant digits, never in exponent form."""
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.1f}"
    if size >= 10:
        return f"{value:.2f}"
    if size >= 1:
        return f"{value:.3f}"
    if size == 0:
        return "0"
    return f"{value:.{3 - int(math.floor(math.log10(size)))}f}"


def ratios(numerators, denominators):
    """The ratio of each round: numerators[i] / denominators[i]."""
    return [a / b for a, b in zip(numerators, denominators)]


def header(title, round_count):
    print(title)
    print(f"  median of {round_count} rounds; min..max over the rounds; spread ="
          f" (max - min) / median; UNSTABLE: spread > {UNSTABLE_PERCENT:g}%")
    print(f"  {'figure':{NAME_WIDTH}} {'median':>12} {'':8} {'min..max':>23} {'spread':>7}")


def show(name, values, unit=""):
    """Print one figure's line; returns the Figure."""
    figure = Figure(values)
    span = f"{number(figure.low)}..{number(figure.high)}"
    print(f"  {name:{NAME_WIDTH}} {number(figure.median):>12} {unit:8} {span:>23}"
          f" {figure.spread:6.1f}%  {figure.flag()}".rstrip(), flush=True)
    return figure


def show_ratio(name, numerators, denominators):
    """Print the per-round ratio numerators / denominators; returns the Figure."""
    return show(name, ratios(numerators, denominators), "x")


def show_count(name, count, unit=""):
    """Print a figure measured once because it does not vary (an instruction
    count): no range, no spread."""
    print(f"  {name:{NAME_WIDTH}} {number(count):>12} {unit:8} {'(exact count)':>23}",
          flush=True)


def footer():
    print(f"  (bench ran {time.monotonic() - STARTED:.0f} s)", flush=True)


# --- timed runs ------------------------------------------------------------

def process_cpu_ns(pid):
    """On-CPU time of every live thread of pid, ns (utime + stime as the
    scheduler counts it, /proc/PID/task/*/schedstat): /proc/PID/stat's clock
    ticks (10 ms) are too coarse for a few hundred execs."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended: its time is gone with it
    return total


def stop(process, timeout):
    """SIGINT (a clean stop: the sensors flush and write their status),
    SIGKILL if it takes longer than timeout seconds."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def timed(command, repeat=1, stdout_path=None):
    """Run command repeat times one after the other; returns (seconds in all,
    stdout of the last run as text, or None when stdout_path was given, in
    which case every run writes that file)."""
    output = None
    started = time.perf_counter()
    for _ in range(repeat):
        if stdout_path:
            with open(stdout_path, "wb") as sink:
                subprocess.run(command, stdout=sink, stderr=subprocess.DEVNULL, check=True)
        else:
            output = subprocess.run(command, capture_output=True, text=True,
                                    check=True).stdout
    return time.perf_counter() - started, output


def repeats_for(seconds_once):
    """How many runs of something that took seconds_once make one timed run
    of at least MIN_SECONDS."""
    if seconds_once <= 0:
        return 1
    return max(1, math.ceil(MIN_SECONDS / seconds_once))


def interleaved(jobs, round_count):
    """Time commands against each other.  jobs: {key: (command, stdout_path
    or None)}.  Each command runs twice untimed: once to warm caches, once
    to find how many runs, one after the other, make one timed run of at
    least MIN_SECONDS; then every job runs in every round, the order rotated
    from round to round.  Returns ({key: seconds per run of the command, one
    per round}, {key: runs per timed run}, {key: stdout of its last run, or
    None when it went to stdout_path})."""
    runs = {}
    for key, (command, path) in jobs.items():
        timed(command, 1, path)
        runs[key] = repeats_for(timed(command, 1, path)[0])
    seconds = {key: [] for key in jobs}
    outputs = {}
    for round_index in range(round_count):
        for key in rotated(list(jobs), round_index):
            command, path = jobs[key]
            elapsed, outputs[key] = timed(command, runs[key], path)
            seconds[key].append(elapsed / runs[key])
    return seconds, runs, outputs


# --- instruction counts ----------------------------------------------------

def instructions_skipped():
    """None when instruction counts can be taken, else why not."""
    if os.environ.get("INSTRUCTIONS", "1") == "0":
        return "INSTRUCTIONS=0"
    if not shutil.which("valgrind"):
        return "valgrind is not installed (apt-get install valgrind)"
    return None


def instructions(command, toggle_collect=None):
    """Instructions executed by command under callgrind: every instruction of
    the process (all threads), or only those inside the function named
    toggle_collect and what it calls.  Returns (count, the command's standard
    output as text).  Raises on failure."""
    with tempfile.TemporaryDirectory(prefix="rmmhunt-callgrind-") as directory:
        output = os.path.join(directory, "callgrind.out")
        arguments = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={output}"]
        if toggle_collect:
            arguments.append(f"--toggle-collect={toggle_collect}")
        result = subprocess.run(arguments + list(command), capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"callgrind {' '.join(command[:2])}...: "
                               f"{result.stderr.strip()[-500:]}")
        with open(output, encoding="utf-8") as counts:
            for line in counts:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1]), result.stdout
    raise RuntimeError(f"callgrind wrote no totals for {command[0]}")
