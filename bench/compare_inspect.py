#!/usr/bin/python3
"""compare_inspect.py RMMHUNT_JSON PEFILE_JSON EXIFTOOL_JSON RMMHUNT_FULL_JSON -
check that bench_inspect.sh's readers saw the same strings.

rmmhunt (version info only) vs rmmhunt (everything): the same tables.
rmmhunt vs pefile: every StringTable of every language leaf, key and value.
rmmhunt vs exiftool: exiftool shows the first table of the first language
leaf only, with OriginalFilename spelt OriginalFileName; its JSON is read
with numbers kept as written.  Prints the counts; exits 1 on a difference.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import pecorpus  # noqa: E402

STANDARD_KEYS = ["CompanyName", "FileDescription", "FileVersion", "InternalName",
                 "LegalCopyright", "OriginalFilename", "ProductName", "ProductVersion"]


def load_lines(path):
    with open(path, encoding="utf-8") as f:
        return {record["path"]: record for record in map(json.loads, f)}


def main():
    ours = load_lines(sys.argv[1])
    theirs = load_lines(sys.argv[2])
    full = load_lines(sys.argv[4])
    full_differences = sum(pecorpus.rmmhunt_tables(full[path]) != pecorpus.rmmhunt_tables(record)
                           for path, record in ours.items())
    with open(sys.argv[3], encoding="utf-8") as f:
        exif = {r["SourceFile"]: r for r in json.load(f, parse_float=str, parse_int=str)}
    pefile_differences = exif_differences = strings = exif_strings = 0
    for path, record in ours.items():
        got = [list(t) for t in pecorpus.rmmhunt_tables(record)]
        expected = [list(t) for t in theirs[path]["tables"]]
        strings += sum(len(t[2]) for t in got)
        if got != expected:
            pefile_differences += 1
            print("pefile differs: %s" % path, file=sys.stderr)
        if not got:
            continue
        first = got[0][2]
        for key in STANDARD_KEYS:
            if key not in first:
                continue
            tag = "OriginalFileName" if key == "OriginalFilename" else key
            exif_strings += 1
            if str(exif.get(path, {}).get(tag)) != first[key]:
                exif_differences += 1
                print("exiftool differs: %s %s: %r != %r" % (
                    path, key, exif.get(path, {}).get(tag), first[key]), file=sys.stderr)
    print("strings compared: %d with pefile (%d files differ), %d with exiftool (%d differ);"
          " full run: %d files differ" % (strings, pefile_differences, exif_strings,
                                          exif_differences, full_differences))
    return 1 if pefile_differences or exif_differences or full_differences else 0


if __name__ == "__main__":
    sys.exit(main())
