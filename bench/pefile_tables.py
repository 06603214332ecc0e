#!/usr/bin/python3
"""pefile_tables.py FILE... - the pefile baseline of bench_inspect.sh: read
every file's version tables with python3-pefile (resource directory only,
the least work pefile can do for it) and print one JSON line per file."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import pecorpus  # noqa: E402

for path in sys.argv[1:]:
    try:
        tables = pecorpus.pefile_tables(path)
    except Exception as error:  # pefile raises PEFormatError and others
        tables = [("error", str(error), {})]
    print(json.dumps({"path": path, "tables": tables}, ensure_ascii=False))
