/*
 * cache_load.c - load NDJSON records into a cache file, as the agent would.
 *
 *   cache_load RECORDS.ndjson CACHE.db
 *
 * Reads DeviceProcessEvents records (tests/tools/gen_records.py output, or
 * the agent's --events stream) with lib/kql's NDJSON source and stores each
 * through lib/store (cache_open_writer, cache_add_record, batched commits),
 * so the file is exactly what the agent writes.  Retention is off (the
 * records may be days old).  Used by bench/bench_query.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/cache.h"
#include "kql/kql_format.h"
#include "model/record.h"

#define COMMIT_RECORDS 4096

static int load(FILE *in, struct cache *cache, unsigned long *count)
{
	struct kql_ndjson_source *ndjson;
	struct record record;
	const struct value *row;
	int status;

	if (kql_ndjson_open(in, &dpe_schema, &ndjson) != 0)
		return -1;
	const struct kql_source *source = kql_ndjson_source(ndjson);

	record_init(&record);
	while ((status = source->next(source->context, &row)) == 1) {
		record_reset(&record);
		for (int column = 0; column < DPE_COLUMN_COUNT && status == 1; column++)
			if (record_set_value(&record, (enum dpe_column)column, &row[column]) != 0)
				status = -1;
		if (status == 1 && cache_add_record(cache, &record) != 0)
			status = -1;
		if (status != 1)
			break;
		if (++*count % COMMIT_RECORDS == 0 && cache_commit(cache) != 0) {
			status = -1;
			break;
		}
	}
	if (status < 0)
		fprintf(stderr, "cache_load: record %lu: %s\n", *count + 1,
			source->error_message ? source->error_message(source->context) : "failed");
	record_free(&record);
	kql_ndjson_close(ndjson);
	return status < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct cache_options options;
	struct cache *cache;
	char message[512];
	unsigned long count = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: cache_load RECORDS.ndjson CACHE.db\n");
		return 2;
	}
	FILE *in = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "r");

	if (!in) {
		perror(argv[1]);
		return 1;
	}
	cache_default_options(&options);
	options.max_age_ticks = INT64_MAX / 2; /* keep everything */
	options.max_bytes = INT64_MAX / 2;
	options.commit_max_records = COMMIT_RECORDS;
	if (cache_open_writer(&cache, argv[2], &options, message, sizeof(message)) != 0) {
		fprintf(stderr, "cache_load: %s\n", message);
		return 1;
	}
	int result = load(in, cache, &count);

	if (result == 0)
		result = cache_commit(cache);
	cache_close(cache);
	if (in != stdin)
		fclose(in);
	if (result == 0)
		fprintf(stderr, "cache_load: %lu records into %s\n", count, argv[2]);
	return result == 0 ? 0 : 1;
}
