"""The wine64 PE corpus and the reference readers, shared by the e2e tests
and bench/bench_inspect.sh.

The corpus is every PE file that Debian's wine64 package installs (dpkg -L
wine64) plus the Windows-side DLLs and programs of Wine 8 in
/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/ (shipped by libwine, which
wine64 depends on).  The reference is python3-pefile, read with
/usr/bin/python3.
"""
import os
import re
import subprocess

WINE_WINDOWS_DIR = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows"


def is_pe(path):
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"MZ"
    except OSError:
        return False


def corpus():
    """Sorted list of the PE files of the corpus (empty if Wine is absent)."""
    files = set()
    try:
        listed = subprocess.run(["dpkg", "-L", "wine64"], capture_output=True,
                                text=True, check=False).stdout.split("\n")
    except FileNotFoundError:
        listed = []
    for path in listed:
        if os.path.isfile(path) and not os.path.islink(path) and is_pe(path):
            files.add(path)
    if os.path.isdir(WINE_WINDOWS_DIR):
        for name in os.listdir(WINE_WINDOWS_DIR):
            path = os.path.join(WINE_WINDOWS_DIR, name)
            if os.path.isfile(path) and is_pe(path):
                files.add(path)
    return sorted(files)


SURROGATE_ESCAPE = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u(d[89a-f][0-9a-f]{2})")


def undo_pefile_surrogates(text):
    """pefile turns each UTF-16 unit into a character on its own, so a
    surrogate pair comes out as the text "\\ud83d\\ude80".  Put the pair back
    together (and an unpaired one becomes U+FFFD, as rmmhunt documents)."""
    def join(match):
        if match.group(3):
            return "\ufffd"
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    return SURROGATE_ESCAPE.sub(join, text)


def pefile_tables(path):
    """[(leaf index, table key, {string key: value})] as pefile reads them,
    leaves in the order pefile meets them."""
    import pefile

    pe = pefile.PE(path, fast_load=True)
    pe.parse_data_directories(directories=[
        pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    tables = []
    for leaf, file_info in enumerate(getattr(pe, "FileInfo", [])):
        for block in file_info:
            for table in getattr(block, "StringTable", []):
                strings = {undo_pefile_surrogates(key.decode("utf-8")):
                           undo_pefile_surrogates(value.decode("utf-8"))
                           for key, value in table.entries.items()}
                tables.append((leaf, table.LangID.decode("utf-8"), strings))
    pe.close()
    return tables


def rmmhunt_tables(record):
    """The same shape from one `rmmhunt inspect --json` object."""
    tables = []
    pe = record.get("pe") or {}
    for leaf, resource in enumerate(pe.get("version_resources", [])):
        for table in resource.get("tables", []):
            tables.append((leaf, table["key"], table["strings"]))
    return tables
