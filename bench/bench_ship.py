"""Shipping never slows capture (run by `make bench` through bench_ship.sh).

/bin/true at 200 execs/s (BENCH_RATE; 0: flat out; bench/exec_launcher)
under the agent, four ways,
interleaved round by round so drift of this VM hits all alike:

  none    no --collector (the baseline)
  dead    --collector to a loopback port nobody listens on (refused at once)
  hung    --collector to a socket that accepts and never answers (each try
          waits for the connect timeout)
  live    a real rmmhunt-collector over TLS, taking everything (when built)

Per run, from the agent: the exec path's CPU (the main thread's time on a
CPU, /proc/PID/task/PID/schedstat) per exec, the whole process's CPU per exec
(the sender thread included), kernel time per exec, the probe's loss
counters, records written.  Output: every run, then per way the median and
spread over ROUNDS rounds (environment, default 3; BENCH_ROUNDS is the older
name) and the per-round ratio to none's, in bench/stats.py's format.
"""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_exec import AGENT, kernel_totals, launch, wait_for_status  # noqa: E402
import stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLLECTOR = ROOT / "build" / "rmmhunt-collector"
WAYS = os.environ.get("BENCH_WAYS", "none,dead,hung,live").split(",")
RATE = int(os.environ.get("BENCH_RATE", "200"))  # execs/s; 0: flat out


def thread_cpu_seconds(pid, tid):
    """Time on a CPU, in ns precision (schedstat), not clock ticks."""
    return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0]) / 1e9


def all_threads_cpu_seconds(pid):
    return sum(thread_cpu_seconds(pid, tid) for tid in os.listdir(f"/proc/{pid}/task"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class LiveCollector:
    """A real collector with a certificate for 127.0.0.1 made here."""

    def __init__(self, directory):
        self.directory = Path(directory)
        d = self.directory
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=bench CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign", cwd=d)
        (d / "server.ext").write_text("basicConstraints=CA:FALSE\n"
                                      "subjectAltName=IP:127.0.0.1\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=d)
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile",
                "server.ext", cwd=d)
        (d / "secret").write_text(secrets.token_urlsafe(24) + "\n")
        (d / "tokens").write_text(secrets.token_urlsafe(24) + "\n")
        os.chmod(d / "secret", 0o600)
        os.chmod(d / "tokens", 0o600)
        self.ca = d / "ca.pem"
        self.secret = d / "secret"
        self.process = subprocess.Popen(
            [str(COLLECTOR), "--listen", "127.0.0.1:0", "--db", str(d / "collector.db"),
             "--tls-cert", str(d / "server.pem"), "--tls-key", str(d / "server.key"),
             "--enroll-secret-file", str(self.secret), "--analyst-token-file",
             str(d / "tokens"), "--port-file", str(d / "port"), "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not (d / "port").exists() or not (d / "port").read_text().strip():
            if self.process.poll() is not None:
                raise SystemExit("bench_ship: the collector did not start")
            time.sleep(0.05)
        self.url = f"https://127.0.0.1:{(d / 'port').read_text().strip()}"

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait()


def run_agent(workdir, shipping_args):
    state = Path(workdir) / "state"
    stderr_path = Path(workdir) / "agent.stderr"
    with open(stderr_path, "wb") as stderr:
        agent = subprocess.Popen([str(AGENT), "--state-dir", str(state), "--rules",
                                  str(ROOT / "rules"), "--stats-interval", "1",
                                  *shipping_args],
                                 stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            while b"watching execs" not in stderr_path.read_bytes():
                if agent.poll() is not None:
                    raise SystemExit("agent failed: " + stderr_path.read_text())
                time.sleep(0.05)
            time.sleep(2)  # start-up scan, enrollment or the first failures
            before = wait_for_status(state, time.time_ns())
            main_before = thread_cpu_seconds(agent.pid, agent.pid)
            all_before = all_threads_cpu_seconds(agent.pid)
            result = launch(RATE)
            time.sleep(1.5)
            after = wait_for_status(state, time.time_ns())
            main_after = thread_cpu_seconds(agent.pid, agent.pid)
            all_after = all_threads_cpu_seconds(agent.pid)
        finally:
            agent.send_signal(signal.SIGINT)
            agent.wait()
    kernel_before, _, runs_before = kernel_totals(before)
    kernel_after, _, runs_after = kernel_totals(after)
    execs = max(runs_after - runs_before, 1)
    lost = sum(after["probe"][k] - before["probe"][k]
               for k in ("exec_lost", "fork_lost", "exit_lost"))
    return {
        "rate": result["achieved_rate"],
        "main_us": (main_after - main_before) * 1e6 / execs,
        "process_us": (all_after - all_before) * 1e6 / execs,
        "kernel_us": (kernel_after - kernel_before) / 1000 / execs,
        "lost": lost,
        "records": after["records"]["written"] - before["records"]["written"],
        "outbox": after["outbox"],
    }


def ways(directory, live):
    dummy_secret = Path(directory) / "not-the-fleet-secret"
    dummy_secret.write_text("not-a-fleet-secret\n")
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)  # the kernel accepts; nobody ever answers
    dead_url = f"https://127.0.0.1:{free_port()}"
    hung_url = f"https://127.0.0.1:{hung.getsockname()[1]}"
    result = {
        "none": [],
        "dead": ["--collector", dead_url, "--enroll-secret-file", str(dummy_secret)],
        "hung": ["--collector", hung_url, "--enroll-secret-file", str(dummy_secret)],
    }
    if live:
        result["live"] = ["--collector", live.url, "--ca-file", str(live.ca),
                          "--enroll-secret-file", str(live.secret)]
    return result, hung


def main():
    if os.geteuid() != 0:
        raise SystemExit("bench_ship: needs root (loads the BPF probe)")
    with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-ship-") as directory:
        live = LiveCollector(Path(directory)) if COLLECTOR.exists() else None
        configurations, hung = ways(directory, live)
        configurations = {name: configurations[name] for name in WAYS
                          if name in configurations}
        runs = {name: [] for name in configurations}
        round_count = stats.rounds()
        try:
            for round_number in range(round_count):
                for name in stats.rotated(list(configurations), round_number):
                    with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-") as workdir:
                        measured = run_agent(workdir, configurations[name])
                    runs[name].append(measured)
                    print(f"round {round_number + 1} {name:>4}: {measured['rate']:7.1f} execs/s"
                          f"  exec path {measured['main_us']:6.1f} us/exec"
                          f"  process {measured['process_us']:6.1f} us/exec"
                          f"  kernel {measured['kernel_us']:5.2f} us/exec"
                          f"  lost {measured['lost']}"
                          f"  outbox {measured['outbox'].get('state', '-')}"
                          f" acked {measured['outbox'].get('acknowledged_records', '-')}"
                          f" {measured['outbox'].get('last_error', '')[:100]}",
                          flush=True)
        finally:
            hung.close()
            if live:
                live.stop()
    return show_summary(runs, round_count)


def show_summary(runs, round_count):
    baseline = runs.get("none") or next(iter(runs.values()))
    print()
    stats.header("CPU per exec: the exec path (main thread) and the whole process;"
                 " ratio per round to none", round_count)
    for name, measured in runs.items():
        main_us = [r["main_us"] for r in measured]
        stats.show(f"{name}: exec path", main_us, "us/exec")
        if measured is not baseline:
            stats.show_ratio(f"{name}: exec path / none's", main_us,
                             [r["main_us"] for r in baseline])
        stats.show(f"{name}: process", [r["process_us"] for r in measured], "us/exec")
        stats.show(f"{name}: execs launched", [r["rate"] for r in measured], "execs/s")
        print(f"  {name}: lost in all rounds: {sum(r['lost'] for r in measured)}")
    print("  expected: dead and hung within the spread of none, 0 lost everywhere")
    stats.footer()
    return 0


if __name__ == "__main__":
    sys.exit(main())
