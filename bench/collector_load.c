/*
 * collector_load.c - replay batches into rmmhunt-collector as N agents, or
 * measure the plain SQLite ceiling, or fill a collector store directly.
 *
 *   collector_load agents URL[,URL...] CA_FILE SECRET_FILE RECORDS.ndjson N [BATCH]
 *       N threads, one enrolled device each (agent i posts to the i-th URL
 *       of the list, round robin: several collectors), post the records (split
 *       evenly, BATCH records a batch, default 1000) as gzip'd NDJSON over
 *       HTTPS keep-alive connections (libcurl), as agents do.  Batches are
 *       built and compressed before the clock starts: the agents' work is
 *       not the collector's.  Prints "records SECONDS RATE".
 *   collector_load sqlite DB RECORDS.ndjson [BATCH]
 *       the ceiling: the same rows, parsed before the clock starts,
 *       inserted with one prepared INSERT in transactions of BATCH rows
 *       into a fresh collector store file whose DeviceProcessEvents is the
 *       flat 68-column table of schema 1 with its indexes (unique DeviceId,
 *       ReportId; Timestamp): plain SQLite, no dictionaries.  Prints
 *       "records SECONDS RATE".
 *   collector_load fill DB[,DB...] RECORDS.ndjson|-
 *       stores the records through the collector's store (store_put_batch)
 *       into each DB (a SQLite file or a postgresql:// URL), for the fleet
 *       query benchmarks: read FILL_CHUNK_LINES lines at a time (a pipe
 *       from gen_records.py streams; 5 M records are 18.5 GB of NDJSON),
 *       each chunk one batch per device and run of 2000 records, records of
 *       a device in file order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <zlib.h>

#include "base/strbuf.h"
#include "base/timefmt.h"
#include "kql/kql_format.h"
#include "store/cache_schema.h"
#include "store.h"
#include "wire/batch_reader.h"

#define DEFAULT_BATCH 1000
#define FILL_CHUNK_LINES 500000 /* about 2 GB of records in memory */
#define FILL_MAX_STORES 4

struct line {
	char *text;
	char device[64];
};

struct agent {
	pthread_t thread;
	const char *url, *ca_file, *secret;
	char device[64];
	struct strbuf *bodies; /* gzip'd batches */
	size_t body_count;
	size_t records;
	int failed;
};

static double seconds_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Up to limit lines of NDJSON from in, each with its DeviceId; NULL at the end. */
static struct line *read_chunk(FILE *in, size_t limit, size_t *count)
{
	struct line *lines = NULL;
	size_t capacity = 0, length = 0;
	char *text = NULL;
	size_t text_capacity = 0;
	ssize_t got;

	while (length < limit && (got = getline(&text, &text_capacity, in)) > 0) {
		char *device = strstr(text, "\"DeviceId\":\"");

		if (length == capacity) {
			capacity = capacity ? capacity * 2 : 4096;
			lines = realloc(lines, capacity * sizeof(*lines));
			if (!lines)
				exit(1);
		}
		if (text[got - 1] == '\n')
			text[got - 1] = '\0';
		lines[length].text = strdup(text);
		lines[length].device[0] = '\0';
		if (device)
			sscanf(device + 12, "%63[^\"]", lines[length].device);
		length++;
	}
	free(text);
	*count = length;
	return lines;
}

static FILE *open_records(const char *path)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");

	if (!in) {
		perror(path);
		exit(1);
	}
	return in;
}

/* The NDJSON file as lines, each with its DeviceId. */
static struct line *read_lines(const char *path, size_t *count)
{
	FILE *in = open_records(path);
	struct line *lines = read_chunk(in, SIZE_MAX, count);

	fclose(in);
	return lines;
}

static void free_lines(struct line *lines, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(lines[i].text);
	free(lines);
}

/* A record line with its DeviceId replaced by device. */
static void append_as(struct strbuf *out, const struct line *line, const char *device)
{
	const char *at = strstr(line->text, "\"DeviceId\":\"");
	const char *end = at ? strchr(at + 12, '"') : NULL;

	strbuf_append_string(out, "{\"kind\":\"record\",\"row\":");
	if (!at || !end) {
		strbuf_append_string(out, line->text);
	} else {
		strbuf_append(out, line->text, (size_t)(at + 12 - line->text));
		strbuf_append_string(out, device);
		strbuf_append_string(out, end);
	}
	strbuf_append_string(out, "}\n");
}

static void gzip_into(const struct strbuf *text, struct strbuf *out)
{
	z_stream stream = {0};
	size_t room = compressBound((uLong)text->length) + 64;

	strbuf_init(out);
	strbuf_reserve(out, room);
	deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	stream.next_in = (Bytef *)text->data;
	stream.avail_in = (uInt)text->length;
	stream.next_out = (Bytef *)out->data;
	stream.avail_out = (uInt)room;
	deflate(&stream, Z_FINISH);
	out->length = room - stream.avail_out;
	deflateEnd(&stream);
}

static void build_batches(struct agent *agent, const struct line *lines, size_t first,
			  size_t count, size_t batch)
{
	char sent[TIMEFMT_ISO_SIZE];

	agent->body_count = (count + batch - 1) / batch;
	agent->bodies = calloc(agent->body_count + 1, sizeof(*agent->bodies));
	agent->records = count;
	timefmt_iso(timefmt_now_ticks(), sent);
	for (size_t b = 0; b < agent->body_count; b++) {
		struct strbuf text;

		strbuf_init(&text);
		strbuf_appendf(&text, "{\"schema\":1,\"batch\":\"%s-E%zu\",\"device_id\":\"%s\","
				      "\"device_name\":\"%s.bench\",\"sent\":\"%s\"}\n",
			       agent->device, b, agent->device, agent->device, sent);
		for (size_t i = b * batch; i < (b + 1) * batch && i < count; i++)
			append_as(&text, &lines[first + i], agent->device);
		gzip_into(&text, &agent->bodies[b]);
		strbuf_free(&text);
	}
}

static size_t collect(char *data, size_t size, size_t count, void *context)
{
	strbuf_append(context, data, size * count);
	return size * count;
}

static long post(CURL *curl, const char *url, const char *path, const char *data, size_t length,
		 struct curl_slist *headers, struct strbuf *answer)
{
	char full[1024];
	long status = 0;

	snprintf(full, sizeof(full), "%s%s", url, path);
	strbuf_clear(answer);
	curl_easy_setopt(curl, CURLOPT_URL, full);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)length);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
	if (curl_easy_perform(curl) != CURLE_OK)
		return -1;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static int enroll(struct agent *agent, CURL *curl, char *key, size_t key_size)
{
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	struct strbuf body, answer;
	json_t *json;
	long status;

	strbuf_init(&body);
	strbuf_init(&answer);
	strbuf_appendf(&body, "{\"schema\":1,\"enroll_secret\":\"%s\",\"device_id\":\"%s\","
			      "\"device_name\":\"%s.bench\",\"agent_version\":\"bench\"}",
		       agent->secret, agent->device, agent->device);
	status = post(curl, agent->url, "/v1/enroll", body.data, body.length, headers, &answer);
	json = status == 200 ? json_loadb(answer.data, answer.length, 0, NULL) : NULL;
	snprintf(key, key_size, "%s",
		 json ? json_string_value(json_object_get(json, "device_key")) : "");
	json_decref(json);
	strbuf_free(&body);
	strbuf_free(&answer);
	curl_slist_free_all(headers);
	return key[0] ? 0 : -1;
}

static void *agent_main(void *argument)
{
	struct agent *agent = argument;
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	struct strbuf answer;
	char key[128], authorization[200];

	strbuf_init(&answer);
	curl_easy_setopt(curl, CURLOPT_CAINFO, agent->ca_file);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
	if (enroll(agent, curl, key, sizeof(key)) != 0) {
		agent->failed = 1;
		curl_easy_cleanup(curl);
		return NULL;
	}
	snprintf(authorization, sizeof(authorization), "Authorization: Bearer %s", key);
	headers = curl_slist_append(headers, authorization);
	headers = curl_slist_append(headers, "Content-Type: application/x-ndjson");
	headers = curl_slist_append(headers, "Content-Encoding: gzip");
	for (size_t b = 0; b < agent->body_count; b++) {
		long status;

		while ((status = post(curl, agent->url, "/v1/events", agent->bodies[b].data,
				      agent->bodies[b].length, headers, &answer)) == 503)
			;
		if (status != 200) {
			fprintf(stderr, "batch %zu: status %ld: %.*s\n", b, status, (int)answer.length,
				answer.data ? answer.data : "");
			agent->failed = 1;
			break;
		}
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	strbuf_free(&answer);
	return NULL;
}

static int run_agents(int argc, char **argv)
{
	size_t count, batch = argc > 7 ? strtoul(argv[7], NULL, 10) : DEFAULT_BATCH;
	struct line *lines = read_lines(argv[5], &count);
	int agents = atoi(argv[6]);
	struct agent *all = calloc((size_t)agents, sizeof(*all));
	char secret[256] = "";
	FILE *in = fopen(argv[4], "r");
	double started;
	int failed = 0;

	char *urls[8];
	int url_count = 0;

	if (!in || !fgets(secret, sizeof(secret), in))
		return 1;
	fclose(in);
	secret[strcspn(secret, "\r\n")] = '\0';
	for (char *rest = argv[2], *url; url_count < 8 && (url = strsep(&rest, ","));)
		urls[url_count++] = url;
	curl_global_init(CURL_GLOBAL_ALL);
	for (int i = 0; i < agents; i++) {
		size_t first = count * (size_t)i / (size_t)agents;
		size_t last = count * (size_t)(i + 1) / (size_t)agents;

		all[i] = (struct agent){.url = urls[i % url_count], .ca_file = argv[3],
					.secret = secret};
		snprintf(all[i].device, sizeof(all[i].device), "bench%08x%032d", (unsigned)rand(), i);
		build_batches(&all[i], lines, first, last - first, batch);
	}
	started = seconds_now();
	for (int i = 0; i < agents; i++)
		pthread_create(&all[i].thread, NULL, agent_main, &all[i]);
	for (int i = 0; i < agents; i++) {
		pthread_join(all[i].thread, NULL);
		failed |= all[i].failed;
	}
	double elapsed = seconds_now() - started;

	printf("%zu %.3f %.0f\n", count, elapsed, (double)count / elapsed);
	return failed;
}

/* ---- the SQLite ceiling -------------------------------------------------- */

static int run_sqlite(int argc, char **argv)
{
	size_t batch = argc > 4 ? strtoul(argv[4], NULL, 10) : DEFAULT_BATCH;
	FILE *in = fopen(argv[3], "r");
	struct kql_ndjson_source *source;
	const struct value *row;
	struct store_options options;
	struct store *store;
	struct strbuf sql;
	sqlite3 *db;
	sqlite3_stmt *insert;
	char message[256];
	struct value *rows = NULL;
	struct strbuf strings;
	size_t count = 0, capacity = 0;

	if (!in || kql_ndjson_open(in, &dpe_schema, &source) != 0)
		return 1;
	/* parse first: strings kept in one buffer, offsets fixed up below */
	strbuf_init(&strings);
	while (kql_ndjson_source(source)->next(source, &row) == 1) {
		if (count == capacity) {
			capacity = capacity ? capacity * 2 : 4096;
			rows = realloc(rows, capacity * DPE_COLUMN_COUNT * sizeof(*rows));
		}
		for (int c = 0; c < DPE_COLUMN_COUNT; c++) {
			struct value value = row[c];

			if (value.type == VALUE_STRING) {
				size_t offset = strings.length;

				strbuf_append(&strings, value.str, value.len);
				strbuf_append_char(&strings, '\0');
				value.str = (const char *)(uintptr_t)offset;
			}
			rows[count * DPE_COLUMN_COUNT + c] = value;
		}
		count++;
	}
	kql_ndjson_close(source);
	fclose(in);
	for (size_t i = 0; i < count * DPE_COLUMN_COUNT; i++) {
		if (rows[i].type == VALUE_STRING)
			rows[i].str = strings.data + (uintptr_t)rows[i].str;
	}
	store_default_options(&options);
	if (store_open(argv[2], &options, &store, message, sizeof(message)) != 0) {
		fprintf(stderr, "%s\n", message);
		return 1;
	}
	store_close(store); /* the file is set up as the store sets it up */
	sqlite3_open(argv[2], &db);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
	/* the ceiling: the flat 68-column table of schema 1, its two indexes */
	strbuf_init(&sql);
	strbuf_append_string(&sql, "DROP VIEW DeviceProcessEvents;"
				   " CREATE TABLE DeviceProcessEvents (rowid INTEGER PRIMARY KEY");
	cache_schema_append_columns(&sql, dpe_columns, DPE_COLUMN_COUNT);
	strbuf_append_string(&sql, "); CREATE UNIQUE INDEX DeviceProcessEvents_report ON"
				   " DeviceProcessEvents(DeviceId, ReportId);"
				   " CREATE INDEX DeviceProcessEvents_time ON DeviceProcessEvents(Timestamp);");
	if (sqlite3_exec(db, sql.data, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s\n", sqlite3_errmsg(db));
		return 1;
	}
	strbuf_clear(&sql);
	strbuf_append_string(&sql, "INSERT INTO DeviceProcessEvents (");
	for (int c = 0; c < DPE_COLUMN_COUNT; c++)
		strbuf_appendf(&sql, "%s\"%s\"", c ? "," : "", dpe_columns[c].name);
	strbuf_append_string(&sql, ") VALUES (");
	for (int c = 0; c < DPE_COLUMN_COUNT; c++)
		strbuf_append_string(&sql, c ? ",?" : "?");
	strbuf_append_string(&sql, ") ON CONFLICT DO NOTHING");
	if (sqlite3_prepare_v2(db, sql.data, -1, &insert, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s\n", sqlite3_errmsg(db));
		return 1;
	}
	double started = seconds_now();

	for (size_t i = 0; i < count; i++) {
		const struct value *values = &rows[i * DPE_COLUMN_COUNT];

		if (i % batch == 0)
			sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		for (int c = 0; c < DPE_COLUMN_COUNT; c++) {
			const struct value *value = &values[c];

			if (value->type == VALUE_STRING)
				sqlite3_bind_text(insert, c + 1, value->str, (int)value->len, SQLITE_STATIC);
			else if (value->is_null)
				sqlite3_bind_null(insert, c + 1);
			else
				sqlite3_bind_int64(insert, c + 1, value->type == VALUE_BOOL ? value->b : value->l);
		}
		sqlite3_step(insert);
		sqlite3_reset(insert);
		if (i % batch == batch - 1 || i + 1 == count)
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	double elapsed = seconds_now() - started;

	printf("%zu %.3f %.0f\n", count, elapsed, (double)count / elapsed);
	sqlite3_finalize(insert);
	sqlite3_close(db);
	strbuf_free(&sql);
	strbuf_free(&strings);
	free(rows);
	return 0;
}

/* ---- filling a store for the query benchmark ------------------------------- */

static int put_run(struct store *store, const struct line *lines, size_t first, size_t last)
{
	struct strbuf text;
	struct batch batch = {0};
	struct batch_error error = {0};
	struct store_batch_result result;
	unsigned char hash[STORE_KEY_HASH_BYTES] = {0};
	int status;

	strbuf_init(&text);
	strbuf_appendf(&text, "{\"schema\":1,\"batch\":\"fill\",\"device_id\":\"%s\","
			      "\"device_name\":\"fill\",\"sent\":\"2026-01-01T00:00:00Z\"}\n",
		       lines[first].device);
	for (size_t i = first; i < last; i++)
		append_as(&text, &lines[i], lines[i].device);
	memcpy(hash, lines[first].device, strlen(lines[first].device) < sizeof(hash)
						  ? strlen(lines[first].device)
						  : sizeof(hash));
	store_enroll(store, lines[first].device, "fill", "bench", hash, timefmt_now_ticks());
	status = batch_decode(text.data, text.length, &batch, &error);
	if (status == 0)
		status = store_put_batch(store, &batch, "127.0.0.1", timefmt_now_ticks(), &result);
	else
		fprintf(stderr, "%s\n", error.message);
	batch_free(&batch);
	strbuf_free(&text);
	return status;
}

/* Lines by device, in their order within a device (qsort is not stable). */
struct ordered_line {
	struct line line;
	size_t order;
};

static int by_device(const void *a, const void *b)
{
	const struct ordered_line *left = a, *right = b;
	int order = strcmp(left->line.device, right->line.device);

	return order ? order : (left->order > right->order) - (left->order < right->order);
}

static void group_by_device(struct line *lines, size_t count)
{
	struct ordered_line *ordered = calloc(count ? count : 1, sizeof(*ordered));

	if (!ordered)
		return; /* runs stay as they come: slower, same rows */
	for (size_t i = 0; i < count; i++)
		ordered[i] = (struct ordered_line){lines[i], i};
	qsort(ordered, count, sizeof(*ordered), by_device);
	for (size_t i = 0; i < count; i++)
		lines[i] = ordered[i].line;
	free(ordered);
}

/* Stores lines (one chunk) through store, one batch per device and run of 2000. */
static int fill_chunk(struct store *store, struct line *lines, size_t count)
{
	size_t first = 0;

	group_by_device(lines, count);
	for (size_t i = 1; i <= count; i++) {
		if (i == count || strcmp(lines[i].device, lines[first].device) != 0 || i - first >= 2000) {
			if (put_run(store, lines, first, i) != 0)
				return 1;
			first = i;
		}
	}
	return 0;
}

static int run_fill(char **argv)
{
	struct store *stores[FILL_MAX_STORES];
	size_t store_count = 0, total = 0, count;
	char *locations = strdup(argv[2]), *cursor = locations, *location;
	FILE *in = open_records(argv[3]);
	struct line *lines;
	int status = 0;

	while (status == 0 && (location = strsep(&cursor, ",")) != NULL) {
		struct store_options options;
		char message[256];

		store_default_options(&options);
		options.max_age_ticks = 3650LL * TICKS_PER_DAY;
		if (store_count == FILL_MAX_STORES ||
		    store_open(location, &options, &stores[store_count], message, sizeof(message))) {
			fprintf(stderr, "%s: %s\n", location,
				store_count == FILL_MAX_STORES ? "too many stores" : message);
			status = 1;
		} else {
			store_count++;
		}
	}
	/* a chunk at a time: the whole of a large fill need not fit in memory */
	while (status == 0 && (lines = read_chunk(in, FILL_CHUNK_LINES, &count)) != NULL) {
		for (size_t i = 0; i < store_count && status == 0; i++)
			status = fill_chunk(stores[i], lines, count);
		free_lines(lines, count);
		total += count;
	}
	for (size_t i = 0; i < store_count; i++)
		store_close(stores[i]);
	if (in != stdin)
		fclose(in);
	free(locations);
	if (status == 0)
		printf("%zu records stored\n", total);
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 7 && strcmp(argv[1], "agents") == 0)
		return run_agents(argc, argv);
	if (argc >= 4 && strcmp(argv[1], "sqlite") == 0)
		return run_sqlite(argc, argv);
	if (argc == 4 && strcmp(argv[1], "fill") == 0)
		return run_fill(argv);
	fprintf(stderr, "usage: collector_load agents URL CA SECRET RECORDS N [BATCH]\n"
			"       collector_load sqlite DB RECORDS [BATCH]\n"
			"       collector_load fill DB[,DB...] RECORDS|-\n");
	return 2;
}
