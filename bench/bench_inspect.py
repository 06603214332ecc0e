#!/usr/bin/python3
"""bench_inspect.py - `rmmhunt inspect` against python3-pefile and exiftool on
the wine64 PE corpus (tests/e2e/pecorpus.py), in the same run (run by
bench_inspect.sh).

A pass is one process reading every file of the corpus, start-up included.
Each reader's timed run is as many passes, one after the other, as make it
last MIN_SECONDS (calibrated on a first, untimed pass that also warms the
page cache); the figure is seconds per pass.  ROUNDS rounds, every reader in
every round, the order rotated from round to round; the ratios are per round.
  rmmhunt (version info)  --no-hashes --no-packages: the same work as the
                          baselines (find and decode the version resource)
  rmmhunt (everything)    what `rmmhunt inspect --json` does by default: also
                          SHA-1/SHA-256/MD5 of every byte and the dpkg lookup
                          (no baseline does that work)
  python3-pefile          resource directory only (fast_load), the least work
                          pefile can do for version info
  exiftool                -EXE:all
Then the instructions (callgrind) of rmmhunt (version info) and pefile over
every 7th file of the corpus, and whether all readers saw identical strings.
Target: rmmhunt (version info) at least 50x faster than either baseline.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
import pecorpus  # noqa: E402
import stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
RMMHUNT = str(ROOT / "build" / "rmmhunt")
PEFILE = [PYTHON, str(ROOT / "bench" / "pefile_tables.py")]
READERS = [
    ("rmmhunt (version info)", [RMMHUNT, "inspect", "--json", "--no-hashes", "--no-packages"],
     "rmmhunt.json"),
    ("rmmhunt (everything)", [RMMHUNT, "inspect", "--json"], "rmmhunt-full.json"),
    ("python3-pefile", PEFILE, "pefile.json"),
    ("exiftool", ["exiftool", "-j", "-q", "-EXE:all"], "exiftool.json"),
]
INSTRUCTION_SAMPLE_STEP = 7
TARGET = 50.0


def show_instructions(files):
    skipped = stats.instructions_skipped()
    if skipped:
        print(f"  instructions: skipped ({skipped})")
        return
    sample = files[::INSTRUCTION_SAMPLE_STEP]
    ours, _ = stats.instructions(READERS[0][1] + sample)
    theirs, _ = stats.instructions(PEFILE + sample)
    print(f"instructions (callgrind, every {INSTRUCTION_SAMPLE_STEP}th file: {len(sample)}"
          " files, start-up included)")
    stats.show_count("rmmhunt (version info) per file", ours / len(sample))
    stats.show_count("python3-pefile per file", theirs / len(sample))
    stats.show_count("ratio pefile/rmmhunt", theirs / ours, "x")


def main():
    files = pecorpus.corpus()
    if len(files) < 100:
        raise SystemExit(f"bench_inspect: the wine64 PE corpus is not installed ({len(files)}"
                         " files); run make test-deps")
    size = sum(os.path.getsize(path) for path in files)
    with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-") as directory:
        work = Path(directory)
        round_count = stats.rounds()
        jobs = {name: (command + files, work / output) for name, command, output in READERS}
        per_pass, passes, _ = stats.interleaved(jobs, round_count)
        stats.header(f"corpus: {len(files)} PE files, {size // 1048576} MiB (wine64);"
                     " seconds per pass over the corpus", round_count)
        for name, _, _ in READERS:
            figure = stats.show(f"{name}, {passes[name]} passes/run", per_pass[name], "s")
            print(f"  {'':{stats.NAME_WIDTH}} {len(files) / figure.median:12,.0f} files/s")
        version = per_pass["rmmhunt (version info)"]
        full = per_pass["rmmhunt (everything)"]
        worst = min(stats.show_ratio("ratio pefile/rmmhunt (version info)",
                                     per_pass["python3-pefile"], version).median,
                    stats.show_ratio("ratio exiftool/rmmhunt (version info)",
                                     per_pass["exiftool"], version).median)
        stats.show_ratio("ratio pefile/rmmhunt (everything)", per_pass["python3-pefile"], full)
        stats.show_ratio("ratio exiftool/rmmhunt (everything)", per_pass["exiftool"], full)
        if worst < TARGET:
            print(f"  NOTE: version info below the {TARGET:g}x target")
        show_instructions(files)
        compared = subprocess.run([PYTHON, str(ROOT / "bench" / "compare_inspect.py")]
                                  + [str(work / output) for output in
                                     ("rmmhunt.json", "pefile.json", "exiftool.json",
                                      "rmmhunt-full.json")])
    stats.footer()
    return compared.returncode


if __name__ == "__main__":
    sys.exit(main())
