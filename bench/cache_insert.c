/*
 * cache_insert.c - sustained insert rate of the local cache.
 *
 *   cache_insert cache|sqlite|build COUNT DIRECTORY [by-count] [--records FILE]
 *                [--commit-records N]
 *
 * Builds COUNT records and stores them in a fresh file in DIRECTORY.  The
 * records are either
 *   - made up (no --records): every one of the 68 columns filled, every
 *     number new in each record (varied paths, command lines of 60-300
 *     bytes, hashes, a 900-byte AdditionalFields): the worst case of a
 *     layout that stores what repeats once, as nothing a number is part of
 *     repeats;
 *   - or a stream's (--records FILE, NDJSON, e.g. tests/tools/gen_records.py),
 *     read into memory before the clock starts, record i of the run built
 *     from record i of the file (cycling when it has fewer);
 * and stored either
 *   - cache: through the cache (lib/store: batched transactions, WAL,
 *     checkpointer thread, the Timestamp index), committing as the agent does;
 *   - sqlite: the baseline, the same rows with plain SQLite, one prepared
 *     INSERT, 4096 rows per transaction, into one flat 68-column table (the
 *     first cache layout) with its Timestamp index, WAL, no checkpointer.
 *   - build: the records built and stored nowhere: what the other two spend
 *     building them, subtracted by bench_cache_insert.py for the stores'
 *     own rates.
 * --commit-records N: the cache commits every N records (default
 * commit_max_records, 4096), e.g. 25 as the agent does at 100 execs/s.
 * by-count: the cache commits every commit_max_records records only, not
 * also every commit_interval_ms, so that a run under callgrind (many times
 * slower) makes the batches a real run at the target rate makes and its
 * instruction count does not depend on the speed.
 * Prints one JSON line: {"store", "records", "seconds"} (building the records
 * is inside the time, the same on both sides).  bench/bench_cache_insert.py
 * runs both, interleaved, over several rounds.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/cache.h"
#include "store/cache_schema.h"
#include "kql/kql_format.h"
#include "model/record.h"
#include "base/arena.h"
#include "base/strbuf.h"
#include "base/timefmt.h"

/* Where the records come from: a stream read into memory (values of count
 * records, their strings in strings), or made up (count 0). */
struct source {
	struct value *values;
	size_t count;
	struct arena strings;
	int64_t base; /* made-up records' first Timestamp */
};

static double now_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void make_up(struct record *record, long index, int64_t base)
{
	static const char *const programs[] = {"/usr/bin/curl", "/usr/bin/bash",
		"/usr/sbin/cron", "/usr/bin/python3.11", "/usr/lib/wine/wine64",
		"/usr/bin/systemctl", "/usr/bin/apt-get", "/usr/bin/ssh"};
	const char *program = programs[index % 8];
	char text[1024], hex[65];

	record_reset(record);
	for (int column = 0; column < DPE_COLUMN_COUNT; column++) {
		switch (dpe_columns[column].type) {
		case VALUE_STRING:
			snprintf(text, sizeof(text), "%s-%ld", dpe_columns[column].name,
				 index % 977);
			record_set_cstring(record, column, text);
			break;
		case VALUE_DATETIME:
			record_set_datetime(record, column, base + index * 10000);
			break;
		case VALUE_BOOL:
			record_set_bool(record, column, index & 1);
			break;
		default:
			record_set_long(record, column, index * 7 + column);
		}
	}
	snprintf(hex, sizeof(hex), "%064lx", (unsigned long)(index % 4099) * 2654435761UL);
	record_set_cstring(record, DPE_SHA256, hex);
	record_set_cstring(record, DPE_FOLDER_PATH, program);
	record_set_cstring(record, DPE_FILE_NAME, strrchr(program, '/') + 1);
	snprintf(text, sizeof(text), "%s --option-%ld https://example.%ld.test/path/%ld "
		 "--header 'X-Request: %ld' --output /tmp/file-%ld.bin", program,
		 index % 31, index % 97, index, index * 3, index % 1000);
	record_set_cstring(record, DPE_PROCESS_COMMAND_LINE, text);
	memset(text, 'a', 900);
	text[0] = '{';
	text[899] = '}';
	text[900] = '\0';
	record_set_cstring(record, DPE_ADDITIONAL_FIELDS, text);
}

/* Record index of the run, from the stream or made up. */
static void fill(struct record *record, long index, const struct source *source)
{
	const struct value *values;

	if (source->count == 0) {
		make_up(record, index, source->base);
		return;
	}
	values = &source->values[((size_t)index % source->count) * DPE_COLUMN_COUNT];
	record_reset(record);
	for (int column = 0; column < DPE_COLUMN_COUNT; column++)
		record_set_value(record, (enum dpe_column)column, &values[column]);
}

/* Up to count records of an NDJSON file into source; 0 or -1 (said). */
static int read_stream(const char *path, long count, struct source *source)
{
	FILE *in = fopen(path, "r");
	struct kql_ndjson_source *ndjson;
	const struct value *row;
	int status = 0;

	if (!in || kql_ndjson_open(in, &dpe_schema, &ndjson) != 0) {
		perror(path);
		if (in)
			fclose(in);
		return -1;
	}
	const struct kql_source *rows = kql_ndjson_source(ndjson);

	source->values = calloc((size_t)count * DPE_COLUMN_COUNT, sizeof(*source->values));
	while (source->values && source->count < (size_t)count &&
	       (status = rows->next(rows->context, &row)) == 1) {
		struct value *values = &source->values[source->count++ * DPE_COLUMN_COUNT];

		for (int column = 0; column < DPE_COLUMN_COUNT; column++) {
			values[column] = row[column];
			if (row[column].type == VALUE_STRING)
				values[column].str =
					arena_strndup(&source->strings, row[column].str, row[column].len);
		}
	}
	kql_ndjson_close(ndjson);
	fclose(in);
	if (!source->values || status < 0 || source->count == 0) {
		fprintf(stderr, "cache_insert: %s: no records read\n", path);
		return -1;
	}
	return 0;
}

static double run_cache(long count, const char *directory, struct record *record,
			const struct source *source, bool by_count, int commit_records)
{
	struct cache_options options;
	struct cache *cache;
	char path[4096], message[4200];
	long done = 0;
	double start;

	snprintf(path, sizeof(path), "%s/cache-bench.db", directory);
	unlink(path);
	cache_default_options(&options);
	if (by_count)
		options.commit_interval_ms = INT_MAX;
	if (commit_records > 0)
		options.commit_max_records = commit_records;
	if (cache_open_writer(&cache, path, &options, message, sizeof(message))) {
		fprintf(stderr, "%s\n", message);
		exit(1);
	}
	start = now_seconds();
	for (; done < count; done++) {
		fill(record, done, source);
		cache_add_record(cache, record);
		cache_commit_if_due(cache, (int64_t)(now_seconds() * 1000));
	}
	cache_commit(cache);
	double elapsed = now_seconds() - start;
	cache_close(cache);
	return (double)count / elapsed;
}

static double run_baseline(long count, const char *directory, struct record *record,
			   const struct source *source)
{
	struct strbuf sql;
	sqlite3 *db;
	sqlite3_stmt *insert;
	char path[4096];
	double start;

	snprintf(path, sizeof(path), "%s/baseline-bench.db", directory);
	unlink(path);
	sqlite3_open(path, &db);
	sqlite3_exec(db, "PRAGMA page_size=65536; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
		     NULL, NULL, NULL);
	strbuf_init(&sql);
	/* the flat table of the first cache layout: one row, 68 columns */
	strbuf_append_string(&sql, "CREATE TABLE DeviceProcessEvents (rowid INTEGER PRIMARY KEY");
	cache_schema_append_columns(&sql, dpe_columns, DPE_COLUMN_COUNT);
	strbuf_append_string(&sql, ");\nCREATE INDEX DeviceProcessEvents_time ON"
				   " DeviceProcessEvents(Timestamp);");
	sqlite3_exec(db, strbuf_text(&sql), NULL, NULL, NULL);
	strbuf_clear(&sql);
	strbuf_append_string(&sql, "INSERT INTO DeviceProcessEvents VALUES (NULL");
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		strbuf_append_string(&sql, ",?");
	strbuf_append_char(&sql, ')');
	sqlite3_prepare_v2(db, strbuf_text(&sql), -1, &insert, NULL);
	start = now_seconds();
	for (long done = 0; done < count; done++) {
		if (done % 4096 == 0)
			sqlite3_exec(db, done ? "COMMIT; BEGIN" : "BEGIN", NULL, NULL, NULL);
		fill(record, done, source);
		for (int i = 0; i < DPE_COLUMN_COUNT; i++) {
			const struct value *value = &record->values[i];

			if (value->type == VALUE_STRING)
				sqlite3_bind_text(insert, i + 1, value->str, (int)value->len,
						  SQLITE_STATIC);
			else if (value->is_null)
				sqlite3_bind_null(insert, i + 1);
			else
				sqlite3_bind_int64(insert, i + 1,
						   value->type == VALUE_BOOL ? value->b : value->l);
		}
		sqlite3_step(insert);
		sqlite3_reset(insert);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	double elapsed = now_seconds() - start;
	sqlite3_finalize(insert);
	sqlite3_close(db);
	strbuf_free(&sql);
	return (double)count / elapsed;
}

/* The records alone (DIRECTORY unused): the building both stores pay. */
static double run_build(long count, struct record *record, const struct source *source)
{
	double start = now_seconds();

	for (long done = 0; done < count; done++)
		fill(record, done, source);
	return (double)count / (now_seconds() - start);
}

int main(int argc, char **argv)
{
	struct record record;
	struct source source = {.base = timefmt_now_ticks() - TICKS_PER_DAY};
	const char *records = NULL;
	bool by_count = false, usage = argc < 4;
	long count = 0;
	int commit_records = 0;
	double rate;

	arena_init(&source.strings, SIZE_MAX);
	for (int i = 4; i < argc && !usage; i++) {
		if (strcmp(argv[i], "by-count") == 0)
			by_count = true;
		else if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
			records = argv[++i];
		else if (strcmp(argv[i], "--commit-records") == 0 && i + 1 < argc)
			commit_records = atoi(argv[++i]);
		else
			usage = true;
	}
	if (usage ||
	    (strcmp(argv[1], "cache") != 0 && strcmp(argv[1], "sqlite") != 0 &&
	     strcmp(argv[1], "build") != 0) ||
	    (count = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: cache_insert cache|sqlite|build COUNT DIRECTORY [by-count]"
				" [--records FILE] [--commit-records N]\n");
		return 2;
	}
	if (records && read_stream(records, count, &source) != 0)
		return 1;
	record_init(&record);
	if (strcmp(argv[1], "cache") == 0)
		rate = run_cache(count, argv[3], &record, &source, by_count, commit_records);
	else if (strcmp(argv[1], "build") == 0)
		rate = run_build(count, &record, &source);
	else
		rate = run_baseline(count, argv[3], &record, &source);
	printf("{\"store\": \"%s\", \"records\": %ld, \"seconds\": %.6f}\n", argv[1], count,
	       (double)count / rate);
	record_free(&record);
	free(source.values);
	arena_release(&source.strings);
	return 0;
}
