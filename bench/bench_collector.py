"""bench_collector.py - the collector's ingestion rate against the SQLite
ceiling measured in the same run (run by `make bench` through
bench_collector.sh).

    bench_collector.py RECORDS.ndjson BATCH

Cases: the ceiling (build/bench/collector_load sqlite: the same rows, parsed
beforehand, inserted by one prepared INSERT in transactions of BATCH rows
into a fresh collector store's DeviceProcessEvents) and a real
rmmhunt-collector on loopback (TLS, one enrolled device per agent, gzip'd
NDJSON batches of BATCH records) fed by 1, 4 and 16 concurrent agents
(build/bench/collector_load agents; the clock runs from the first post to
the last acknowledgement, the batches are built and compressed before).

Each case runs once untimed (warm-up and calibration: how many runs, one
after the other, each on a fresh store, make at least MIN_SECONDS); then
ROUNDS rounds, every case in every round, the order rotated from round to
round.  Printed: records per second of each case, and per round the ratio
of each collector case to the ceiling of the same round.  Targets
(issue 8): at least 50% of the ceiling and 30,000 records/s.
"""
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOAD = str(ROOT / "build" / "bench" / "collector_load")
COLLECTOR = str(ROOT / "build" / "rmmhunt-collector")
AGENT_COUNTS = (1, 4, 16)
TARGET_RATIO = 0.5
TARGET_RATE = 30000


class Credentials:
    """A P-256 certificate for 127.0.0.1, an enrollment secret, analyst tokens."""

    def __init__(self, directory):
        self.directory = directory
        self.cert = directory / "cert.pem"
        self.key = directory / "key.pem"
        self.secret = directory / "secret"
        self.tokens = directory / "tokens"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-keyout",
                        str(self.key), "-out", str(self.cert), "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        self.secret.write_text(secrets.token_urlsafe(24) + "\n")
        self.tokens.write_text(secrets.token_urlsafe(24) + "\n")


def remove_store(path):
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def seconds_of(output):
    """collector_load prints "records SECONDS RATE"."""
    return float(output.split()[1])


def ceiling_once(directory, records, batch):
    store = directory / "ceiling.db"
    remove_store(store)
    output = subprocess.run([LOAD, "sqlite", str(store), str(records), str(batch)],
                            check=True, capture_output=True, text=True).stdout
    remove_store(store)
    return seconds_of(output)


def collector_once(directory, credentials, records, batch, agents):
    """Seconds for agents to post all records into a fresh collector."""
    store = directory / "collector.db"
    port_file = directory / "port"
    remove_store(store)
    port_file.unlink(missing_ok=True)
    collector = subprocess.Popen(
        [COLLECTOR, "--listen", "127.0.0.1:0", "--db", str(store), "--tls-cert",
         str(credentials.cert), "--tls-key", str(credentials.key), "--enroll-secret-file",
         str(credentials.secret), "--analyst-token-file", str(credentials.tokens),
         "--port-file", str(port_file), "--log-level", "warning"],
        stdout=subprocess.DEVNULL)
    try:
        while not port_file.exists() or not port_file.read_text().strip():
            if collector.poll() is not None:
                raise SystemExit("bench_collector: the collector did not start")
            time.sleep(0.05)
        url = f"https://127.0.0.1:{port_file.read_text().strip()}"
        output = subprocess.run([LOAD, "agents", url, str(credentials.cert),
                                 str(credentials.secret), str(records), str(agents),
                                 str(batch)],
                                check=True, capture_output=True, text=True).stdout
    finally:
        collector.send_signal(signal.SIGTERM)
        collector.wait()
        remove_store(store)
    return seconds_of(output)


def main():
    records, batch = Path(sys.argv[1]), int(sys.argv[2])
    with open(records, "rb") as lines:
        count = sum(1 for _ in lines)
    round_count = stats.rounds()
    with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-collector-") as name:
        directory = Path(name)
        credentials = Credentials(directory)
        cases = {"ceiling": lambda: ceiling_once(directory, records, batch)}
        for agents in AGENT_COUNTS:
            cases[agents] = (lambda agents=agents:
                             collector_once(directory, credentials, records, batch, agents))
        runs = {key: stats.repeats_for(run()) for key, run in cases.items()}
        rates = {key: [] for key in cases}
        for round_index in range(round_count):
            for key in stats.rotated(list(cases), round_index):
                seconds = sum(cases[key]() for _ in range(runs[key]))
                rates[key].append(count * runs[key] / seconds)
    stats.header(f"collector ingestion: {count} records per run, batches of {batch},"
                 f" TLS on loopback; records per second (runs per round:"
                 f" {', '.join(str(runs[key]) for key in cases)})", round_count)
    stats.show("SQLite batched insert (ceiling)", rates["ceiling"], "rec/s")
    notes = []
    for agents in AGENT_COUNTS:
        figure = stats.show(f"collector, {agents} agent(s)", rates[agents], "rec/s")
        ratio = stats.show_ratio(f"  ratio to the ceiling, {agents} agent(s)", rates[agents],
                                 rates["ceiling"])
        if figure.median < TARGET_RATE or ratio.median < TARGET_RATIO:
            notes.append(f"{agents} agent(s)")
    if notes:
        print(f"  NOTE: below the targets ({TARGET_RATE:,} records/s and"
              f" {TARGET_RATIO:.0%} of the ceiling): {', '.join(notes)}")
    stats.footer()
    return 0


if __name__ == "__main__":
    sys.exit(main())
