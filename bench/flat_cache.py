#!/usr/bin/env python3
"""flat_cache.py CACHE.db FLAT.db: the same cache in the first layout.

Copies the records, hits, summaries and CacheMeta of a cache (any schema)
into a new file in the first, flat layout (schema 1: one 68-column
DeviceProcessEvents table and its Timestamp index, made before the rows go
in, as the first writer did; 64 KiB pages, WAL, incremental auto-vacuum).
rmmhunt still reads that layout, so the benches compare the two on the same
records in the same run (bench_cache_size.sh, bench_query.sh).
"""
import sqlite3
import sys


def column_types(db):
    """RuleHits is flat in both layouts: its declared types are the first
    layout's types of the record columns."""
    return {row[1]: row[2] + (" NOT NULL DEFAULT ''" if row[2] == "TEXT" else "")
            for row in db.execute("PRAGMA new.table_info(RuleHits)")}


def main(source, target):
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA page_size = 65536")
    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("ATTACH ? AS new", (source,))
    types = column_types(db)
    columns = [row[1] for row in db.execute("PRAGMA new.table_info(DeviceProcessEvents)")
               if row[1] != "rowid"]
    quoted = ", ".join(f'"{name}"' for name in columns)
    db.execute("BEGIN")
    db.execute("CREATE TABLE main.DeviceProcessEvents (rowid INTEGER PRIMARY KEY, "
               + ", ".join(f'"{name}" {types[name]}' for name in columns) + ")")
    db.execute("CREATE INDEX main.DeviceProcessEvents_time ON DeviceProcessEvents(Timestamp)")
    for table in ("RuleHits", "RuleSummaries", "CacheMeta"):
        for (sql,) in db.execute("SELECT sql FROM new.sqlite_master WHERE tbl_name = ? AND"
                                 " sql IS NOT NULL ORDER BY type DESC", (table,)).fetchall():
            db.execute(sql)
        db.execute(f"INSERT INTO main.{table} SELECT * FROM new.{table}")
    db.execute(f"INSERT INTO main.DeviceProcessEvents (rowid, {quoted})"
               f" SELECT rowid, {quoted} FROM new.DeviceProcessEvents ORDER BY rowid")
    db.execute("UPDATE main.CacheMeta SET Value = 1 WHERE Key = 'schema_version'")
    db.execute("COMMIT")
    db.execute("DETACH new")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
