/*
 * test_cache_compact.c - the compact cache layout (lib/store/cache_layout.c,
 * cache_compact.c) through the cache writer.
 *
 * - Every record comes back from the DeviceProcessEvents view exactly as it
 *   went in (type and bytes of each of the 68 columns), AdditionalFields
 *   texts of every odd shape included.
 * - A schema-1 cache (tests/fixtures/cache-v1, made by the first layout's
 *   writer), a schema-2 cache (tests/fixtures/cache-v2, the compact
 *   layout with its Timestamp index) and a schema-3 cache
 *   (tests/fixtures/cache-v3, the block summary, the session facts in
 *   Events), a schema-4 cache (tests/fixtures/cache-v4, the file's
 *   facts in Shapes) and a schema-5 cache (tests/fixtures/cache-v5, no
 *   linked Processes rows) are converted on open: same rows,
 *   rowids, hits, summaries, sequences, answers; the block summary covers
 *   every record.
 * - Retention by size removes the oldest records first, keeps hit records,
 *   hits and summaries, and leaves no dictionary row unreferenced nor a
 *   reference count wrong; PRAGMA integrity_check ok.
 * - kill -9 of a writer in a storm: what it saw committed is there, no
 *   orphans, counts right, no ReportId twice.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <zlib.h>

#include "base/strbuf.h"
#include "model/record.h"
#include "store/cache.h"
#include "store/cache_layout.h"
#include "store/cache_schema.h"
#include "layout_checks.h"

#define FIXTURE_V1 "tests/fixtures/cache-v1/cache.db.gz"
#define FIXTURE_V2 "tests/fixtures/cache-v2/cache.db.gz"
#define FIXTURE_V3 "tests/fixtures/cache-v3/cache.db.gz"
#define FIXTURE_V4 "tests/fixtures/cache-v4/cache.db.gz"
#define FIXTURE_V5 "tests/fixtures/cache-v5/cache.db.gz"

struct fixture {
	char directory[64];
	char path[128];
	struct record record;
};

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));

	assert_non_null(fixture);
	snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/rmmhunt-cc-XXXXXX");
	assert_non_null(mkdtemp(fixture->directory));
	snprintf(fixture->path, sizeof(fixture->path), "%s/cache.db", fixture->directory);
	record_init(&fixture->record);
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	char command[160];

	record_free(&fixture->record);
	snprintf(command, sizeof(command), "rm -rf %s", fixture->directory);
	assert_int_equal(system(command), 0);
	free(fixture);
	return 0;
}

static struct cache *open_cache(const struct fixture *fixture, int64_t max_bytes)
{
	struct cache_options options;
	struct cache *cache = NULL;
	char message[512];

	cache_default_options(&options);
	options.max_age_ticks = 3650 * TICKS_PER_DAY;
	options.max_bytes = max_bytes;
	options.retention_chunk = 500;
	int result = cache_open_writer(&cache, fixture->path, &options, message, sizeof(message));

	if (result)
		fail_msg("%s", message);
	return cache;
}

static int64_t number(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *statement = NULL;
	int64_t value = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &statement, NULL), SQLITE_OK);
	if (sqlite3_step(statement) == SQLITE_ROW)
		value = sqlite3_column_int64(statement, 0);
	sqlite3_finalize(statement);
	return value;
}

/* integrity_check ok, no unreferenced dictionary row, every Refs right. */
static void check_sound(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *statement = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &statement, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(statement), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(statement, 0), "ok");
	sqlite3_finalize(statement);
	sqlite3_close(db);
	assert_int_equal(layout_check_count(path, cache_layout_orphans_sql), 0);
	assert_int_equal(layout_check_count(path, cache_layout_bad_refs_sql), 0);
}

/* Every row of a query as text: "type:bytes|..." per row, rows joined. */
static void dump_rows(sqlite3 *db, const char *sql, struct strbuf *out)
{
	sqlite3_stmt *statement = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &statement, NULL), SQLITE_OK);
	while (sqlite3_step(statement) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(statement); i++) {
			int type = sqlite3_column_type(statement, i);
			const char *text = (const char *)sqlite3_column_text(statement, i);

			strbuf_appendf(out, "%d:", type);
			if (text)
				strbuf_append(out, text, (size_t)sqlite3_column_bytes(statement, i));
			strbuf_append_char(out, '|');
		}
		strbuf_append_char(out, '\n');
	}
	sqlite3_finalize(statement);
	assert_false(out->failed);
}

static void dump_records(const char *path, struct strbuf *out)
{
	struct strbuf sql;
	sqlite3 *db = NULL;

	strbuf_init(&sql);
	strbuf_append_string(&sql, "SELECT rowid");
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		strbuf_appendf(&sql, ", \"%s\"", dpe_columns[i].name);
	strbuf_append_string(&sql, " FROM DeviceProcessEvents ORDER BY rowid");
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	dump_rows(db, strbuf_text(&sql), out);
	dump_rows(db, "SELECT * FROM RuleHits ORDER BY HitId", out);
	dump_rows(db, "SELECT * FROM RuleSummaries ORDER BY RuleId", out);
	dump_rows(db, "SELECT * FROM CacheMeta WHERE Key NOT IN ('schema_version')"
		      " ORDER BY Key", out);
	sqlite3_close(db);
	strbuf_free(&sql);
}

/* ---- records come back as they went in ------------------------------------- */

static const char *const odd_fields[] = {
	"",
	"{}",
	"{\"Tid\":42,\"NamespacePid\":42,\"Cwd\":\"/root\",\"Tty\":\"\",\"Cgroup\":\"a.scope\"}",
	"{\"Tid\":43,\"NamespacePid\":1,\"ArgvCapturedBytes\":7,\"ArgvTotalBytes\":9}",
	"{ \"Tid\" : 42 , \"Cwd\" : \"/a b\\\"c\" }",
	"{\"Tid\":\"42\",\"AuditSessionId\":null,\"CgroupId\":-0,\"ArgvTotalBytes\":007}",
	"{\"CgroupId\":18446744073709551616,\"AuditSessionId\":-9223372036854775808}",
	"{\"Tid\":1.5e3,\"Cwd\":{\"x\":[1,{\"y\":\"}\"}]},\"Tty\":[\"pts1\"]}",
	"{\"Tid\":42,\"Tid\":43}",
	"{\"Tid\":42,\n\"Cwd\":\"x\"}",
	"{\"Tid\":\x01}",
	"not json at all",
	"{\"Tid\":42",
	"[1,2,3]",
	"{\"Cwd\":\"\\u0001\",\"ExeInode\":5}",
	/* the executed file's facts: runs of them, more runs than are cut out */
	"{\"ExeInode\":5,\"ExeCtime\":\"x\" , \"Filename\":\"/bin/a\",\"Tid\":7,\"ElfBuildId\":\"ab\","
	"\"Uid\":1,\"DebPackage\":\"p\",\"Uid\":0,\"WineLinuxPath\":\"\",\"PeMachine\":1,"
	"\"PidNamespace\":4,\"MountNamespace\":5,\"Cwd\":\"/\",\"ContainerId\":\"c\",\"Gid\":0,"
	"\"NetNamespace\":6}",
	"{\"Comm\":\"a\",\"ContainerId\":\"\",\"Comm\":\"b\"}",
	"{\"ExecSequence\":1,\"Exec\":2,\"Exe\":3,\"ExeX\":{\"a\":[1,\"}\"]},\"Pe\":1,\"Pex\":2}",
	"{ \"Filename\" : \"a\" ,\"Deleted\":false }",
	"{\"Filename\":\"a\",\"Filename\":\"b\",\"Tid\":1,\"Filename\":\"c\"}",
	"{\"Memfd\":true}",
};

static void fill_record(struct record *record, int i)
{
	char text[128];

	record_reset(record);
	record_set_datetime(record, DPE_TIMESTAMP, 17000000000000000LL + i * TICKS_PER_SECOND);
	record_set_long(record, DPE_REPORT_ID, 1000 + i);
	record_set_long(record, DPE_PROCESS_ID, 42);
	if (i % 3)
		record_set_datetime(record, DPE_PROCESS_CREATION_TIME, 17000000000000000LL - i);
	/* the initiating process's times: each, both or none known */
	if (i % 4)
		record_set_datetime(record, DPE_INITIATING_PROCESS_CREATION_TIME,
				    16000000000000000LL + i);
	if (i % 5 > 1)
		record_set_datetime(record, DPE_INITIATING_PROCESS_PARENT_CREATION_TIME,
				    15000000000000000LL - 7 * i);
	/* its context (ProcessContexts): mostly none, sometimes some */
	if (i % 7 == 3) {
		record_set_cstring(record, DPE_INITIATING_PROCESS_INTEGRITY_LEVEL, "High");
		record_set_bool(record, DPE_IS_INITIATING_PROCESS_REMOTE_SESSION, i % 2);
	}
	snprintf(text, sizeof(text), "/usr/bin/tool-%d --flag", i % 5);
	record_set_cstring(record, DPE_PROCESS_COMMAND_LINE, text);
	/* the same file as the record's and as its initiating process's */
	record_set_cstring(record, DPE_FILE_NAME, i % 2 ? "tool" : "bash");
	record_set_cstring(record, DPE_INITIATING_PROCESS_FILE_NAME, "bash");
	record_set_cstring(record, DPE_ACCOUNT_NAME, i % 4 ? "root" : "alice");
	/* unique ids: canonical decimals are kept as numbers, others as text */
	static const char *const ids[] = {"705091367193778608", "0", "007", "-1",
					  "9223372036854775808", "", "abc", "-0"};
	record_set_cstring(record, DPE_PROCESS_UNIQUE_ID, ids[i % 8]);
	record_set_cstring(record, DPE_INITIATING_PROCESS_UNIQUE_ID, ids[(i + 3) % 8]);
	const char *fields = odd_fields[i % (sizeof(odd_fields) / sizeof(odd_fields[0]))];

	record_set_cstring(record, DPE_ADDITIONAL_FIELDS, fields);
}

/* Every record of the view, in rowid order, as record JSON lines (the
 * 68 columns read back as their types). */
static void view_as_json(sqlite3 *db, struct record *record, struct strbuf *out)
{
	struct strbuf sql;
	sqlite3_stmt *statement = NULL;

	strbuf_init(&sql);
	strbuf_append_string(&sql, "SELECT 0");
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		strbuf_appendf(&sql, ", \"%s\"", dpe_columns[i].name);
	strbuf_append_string(&sql, " FROM DeviceProcessEvents ORDER BY rowid");
	assert_int_equal(sqlite3_prepare_v2(db, strbuf_text(&sql), -1, &statement, NULL),
			 SQLITE_OK);
	while (sqlite3_step(statement) == SQLITE_ROW) {
		record_reset(record);
		for (int i = 0; i < DPE_COLUMN_COUNT; i++) {
			int column = i + 1;

			if (dpe_columns[i].type == VALUE_STRING) {
				assert_int_equal(sqlite3_column_type(statement, column), SQLITE_TEXT);
				record_set_string(record, i,
						  (const char *)sqlite3_column_text(statement, column),
						  (size_t)sqlite3_column_bytes(statement, column));
			} else if (sqlite3_column_type(statement, column) == SQLITE_NULL) {
				record_set_null(record, i);
			} else if (dpe_columns[i].type == VALUE_DATETIME) {
				record_set_datetime(record, i, sqlite3_column_int64(statement, column));
			} else if (dpe_columns[i].type == VALUE_BOOL) {
				record_set_bool(record, i, sqlite3_column_int64(statement, column) != 0);
			} else {
				record_set_long(record, i, sqlite3_column_int64(statement, column));
			}
		}
		assert_int_equal(record_append_json_line(record, out), 0);
	}
	sqlite3_finalize(statement);
	strbuf_free(&sql);
}

static void test_records_come_back_exactly(void **state)
{
	struct fixture *fixture = *state;
	struct cache *cache = open_cache(fixture, 1LL << 30);
	struct strbuf expected, got, line;
	sqlite3 *db = NULL;

	strbuf_init(&expected);
	strbuf_init(&line);
	for (int i = 0; i < 60; i++) {
		fill_record(&fixture->record, i);
		assert_int_equal(cache_add_record(cache, &fixture->record), 0);
		strbuf_clear(&line);
		/* the record's own JSON: what the view must give back */
		assert_int_equal(record_append_json_line(&fixture->record, &line), 0);
		strbuf_append(&expected, strbuf_text(&line), line.length);
	}
	cache_close(cache);
	check_sound(fixture->path);
	/* read back every column through the view, as JSON lines */
	strbuf_init(&got);
	assert_int_equal(sqlite3_open_v2(fixture->path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	view_as_json(db, &fixture->record, &got);
	/* what records rarely have (a Tid not the pid, a text kept whole) has
	 * rows of its own */
	assert_true(number(db, "SELECT count(*) FROM EventExtras WHERE Raw IS NOT NULL") > 0);
	assert_true(number(db, "SELECT count(*) FROM EventExtras WHERE X1 IS NOT NULL") > 0);
	assert_true(number(db, "SELECT count(*) FROM EventExtras WHERE X4 IS NOT NULL") > 0);
	/* the file's and the container's facts went to the record's Files and
	 * Contexts rows, in runs; runs past the last stayed in the shape */
	assert_true(number(db, "SELECT count(*) FROM Files AS f JOIN Facts AS x ON x.Id = f.FactsRef"
			       " WHERE Run1 = '\"ExeInode\":5,\"ExeCtime\":\"x\" , \"Filename\":"
			       "\"/bin/a\"' AND Run2 = '\"ElfBuildId\":\"ab\"' AND Run3 ="
			       " '\"DebPackage\":\"p\"'") > 0);
	assert_true(number(db, "SELECT count(*) FROM Contexts AS c JOIN Facts AS x ON"
			       " x.Id = c.FactsRef WHERE Run1 = '\"PidNamespace\":4,"
			       "\"MountNamespace\":5' AND Run2 = '\"ContainerId\":\"c\"'"
			       " AND Run3 IS NULL") > 0);
	/* a record without such runs makes no Facts row */
	assert_int_equal(number(db, "SELECT count(*) FROM Facts WHERE Run1 IS NULL"), 0);
	assert_int_equal(number(db, "SELECT count(*) FROM Shapes WHERE instr(Template,"
				    " '\"Uid\":0,\"WineLinuxPath\":\"\",\"PeMachine\":1,') AND"
				    " instr(Template, '\"Gid\":0,\"NetNamespace\":6}')"),
			 1);
	sqlite3_close(db);
	assert_string_equal(strbuf_text(&got), strbuf_text(&expected));
	strbuf_free(&got);
	strbuf_free(&expected);
	strbuf_free(&line);
}

/* ---- schema 1 converted ------------------------------------------------------ */

/*
 * `rmmhunt query` over the cache in directory gives, for every query of the
 * fixture, the answer main's rmmhunt gave over the schema-1 file.
 */
static void check_fixture_answers(const char *directory)
{
	char command[1024];

	if (access("build/rmmhunt", X_OK) != 0) {
		if (getenv("CI"))
			fail_msg("build/rmmhunt is missing (make all first)");
		print_message("skipped: build/rmmhunt is missing (make all first)\n");
		return;
	}
	for (int i = 1; i <= 6; i++) {
		snprintf(command, sizeof(command),
			 "build/rmmhunt query --state-dir %s --format json"
			 " \"$(cat tests/fixtures/cache-v1/query%d.kql)\" > %s/answer.json &&"
			 " zcat tests/fixtures/cache-v1/query%d.json.gz | cmp -s - %s/answer.json",
			 directory, i, directory, i, directory);
		if (system(command) != 0)
			fail_msg("query%d.kql over %s: not the answer main gave", i, directory);
	}
}

/* An older file (both fixtures hold the same records) opens converted to
 * the current schema, with the same records and the same answers. */
static void check_converted(struct fixture *fixture, const char *gz)
{
	struct strbuf before, after;
	sqlite3 *db = NULL;

	layout_check_gunzip(gz, fixture->path);
	strbuf_init(&before);
	strbuf_init(&after);
	dump_records(fixture->path, &before);
	assert_true(before.length > 100000);
	check_fixture_answers(fixture->directory);
	struct cache *cache = open_cache(fixture, 1LL << 30);
	struct cache_sequences sequences;

	cache_committed_sequences(cache, &sequences);
	assert_int_equal(sequences.records, 150);
	assert_int_equal(sequences.hits, 1);
	cache_close(cache);
	dump_records(fixture->path, &after);
	assert_string_equal(strbuf_text(&after), strbuf_text(&before));
	assert_int_equal(sqlite3_open_v2(fixture->path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(number(db, "SELECT Value FROM CacheMeta WHERE Key = 'schema_version'"),
			 CACHE_SCHEMA_VERSION);
	assert_int_equal(number(db, "SELECT count(*) FROM sqlite_master WHERE"
				    " name = 'DeviceProcessEvents' AND type = 'view'"),
			 1);
	/* the block summary took the Timestamp index's place, and covers
	 * every record */
	assert_int_equal(number(db, "SELECT count(*) FROM sqlite_master WHERE name = 'Events_time'"),
			 0);
	assert_int_equal(number(db, "SELECT count(*) FROM Events AS e WHERE NOT EXISTS (SELECT 1"
				    " FROM EventBlocks AS b WHERE b.Block = e.Id >> 8 AND"
				    " e.Timestamp BETWEEN b.Low AND b.High)"),
			 0);
	sqlite3_close(db);
	check_sound(fixture->path);
	check_fixture_answers(fixture->directory);
	/* opening it again changes nothing */
	cache_close(open_cache(fixture, 1LL << 30));
	strbuf_clear(&after);
	dump_records(fixture->path, &after);
	assert_string_equal(strbuf_text(&after), strbuf_text(&before));
	strbuf_free(&before);
	strbuf_free(&after);
}

static void test_schema_1_is_converted(void **state)
{
	check_converted(*state, FIXTURE_V1);
}

static void test_schema_2_is_converted(void **state)
{
	check_converted(*state, FIXTURE_V2);
}

static void test_schema_3_is_converted(void **state)
{
	check_converted(*state, FIXTURE_V3);
}

static void test_schema_4_is_converted(void **state)
{
	check_converted(*state, FIXTURE_V4);
}

static void test_schema_5_is_converted(void **state)
{
	check_converted(*state, FIXTURE_V5);
}

/* ---- retention ----------------------------------------------------------------- */

/* Varied records: files, parents, command lines come and go with age. */
static void varied_record(struct record *record, int i)
{
	char text[600];

	record_reset(record);
	record_set_datetime(record, DPE_TIMESTAMP, 17000000000000000LL + (int64_t)i * TICKS_PER_SECOND);
	record_set_long(record, DPE_REPORT_ID, i);
	record_set_long(record, DPE_PROCESS_ID, 1000 + i);
	snprintf(text, sizeof(text), "/opt/app-%d/bin/run", i / 50);
	record_set_cstring(record, DPE_FOLDER_PATH, text);
	snprintf(text, sizeof(text), "%064d", i / 50);
	record_set_cstring(record, DPE_SHA256, text);
	snprintf(text, sizeof(text), "run --job %d --payload %0400d", i, i);
	record_set_cstring(record, DPE_PROCESS_COMMAND_LINE, text);
	record_set_long(record, DPE_INITIATING_PROCESS_ID, 500 + i / 7);
	snprintf(text, sizeof(text), "/opt/parent-%d", i / 7);
	record_set_cstring(record, DPE_INITIATING_PROCESS_FOLDER_PATH, text);
	/* a third with a Tid that is not the pid: an EventExtras row each */
	snprintf(text, sizeof(text), "{\"Uid\":0,\"Tid\":%d,\"Cwd\":\"/srv/%d\",\"Comm\":\"run\","
		 "\"ExeInode\":%d}", 1000 + i + (i % 3 == 0), i / 20, i / 50);
	record_set_cstring(record, DPE_ADDITIONAL_FIELDS, text);
}

static void test_retention_by_size(void **state)
{
	struct fixture *fixture = *state;
	const int64_t limit = 1LL << 20;
	struct cache *cache = open_cache(fixture, limit);
	struct cache_stats stats;
	sqlite3 *db = NULL;

	for (int i = 1; i <= 6000; i++) {
		varied_record(&fixture->record, i);
		assert_int_equal(cache_add_record(cache, &fixture->record), 0);
		if (i == 10 || i == 20)
			assert_int_equal(cache_add_hit(cache, "rule", "Rule", "", "", &fixture->record),
					 0);
	}
	assert_int_equal(cache_put_summary(cache, "rule", "Rule", "[{\"n\":2}]", "[]",
					   17000000000000000LL),
			 0);
	assert_int_equal(cache_commit(cache), 0);
	cache_read_stats(cache, &stats);
	assert_true(stats.data_bytes > 2 * limit);
	while (cache_retention_step(cache, 17000000000000000LL) > 0)
		;
	cache_read_stats(cache, &stats);
	assert_true(stats.retention_records > 0);
	assert_true(stats.data_bytes <= limit + 65536);
	cache_close(cache);
	check_sound(fixture->path);
	assert_int_equal(sqlite3_open_v2(fixture->path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	/* the hit records stay; of the others, the newest are left, in one run */
	assert_int_equal(number(db, "SELECT count(*) FROM DeviceProcessEvents WHERE ReportId"
				    " IN (10, 20)"), 2);
	assert_int_equal(number(db, "SELECT count(*) FROM RuleHits"), 2);
	assert_int_equal(number(db, "SELECT count(*) FROM RuleSummaries"), 1);
	int64_t oldest = number(db, "SELECT min(ReportId) FROM DeviceProcessEvents WHERE ReportId"
				    " NOT IN (10, 20)");
	int64_t kept = number(db, "SELECT count(*) FROM DeviceProcessEvents WHERE ReportId"
				  " NOT IN (10, 20)");

	assert_true(oldest > 20);
	assert_int_equal(kept, 6000 - oldest + 1);
	assert_int_equal(number(db, "SELECT max(ReportId) FROM DeviceProcessEvents"), 6000);
	/* the EventExtras rows went with their records, the others' stayed */
	assert_true(number(db, "SELECT count(*) FROM EventExtras") > 0);
	assert_int_equal(number(db, "SELECT count(*) FROM EventExtras"),
			 number(db, "SELECT count(*) FROM DeviceProcessEvents WHERE ReportId % 3 = 0"));
	sqlite3_close(db);
}

/* ---- linked Processes rows ------------------------------------------------------- */

#define TREE_BASE 17000000000000000LL

/* A process's columns, as its exec's record has them (own) or as a
 * record it started has them (its snapshot as the initiating process). */
struct process_columns {
	enum dpe_column id, creation, unique_id, file_name, folder, sha256, command_line,
		account_name, account_domain, logon_id, session_id;
};

static const struct process_columns own_columns = {
	DPE_PROCESS_ID,	      DPE_PROCESS_CREATION_TIME, DPE_PROCESS_UNIQUE_ID,
	DPE_FILE_NAME,	      DPE_FOLDER_PATH,		 DPE_SHA256,
	DPE_PROCESS_COMMAND_LINE, DPE_ACCOUNT_NAME,	 DPE_ACCOUNT_DOMAIN,
	DPE_LOGON_ID,	      DPE_CREATED_PROCESS_SESSION_ID};
static const struct process_columns initiating_columns = {
	DPE_INITIATING_PROCESS_ID,	     DPE_INITIATING_PROCESS_CREATION_TIME,
	DPE_INITIATING_PROCESS_UNIQUE_ID,    DPE_INITIATING_PROCESS_FILE_NAME,
	DPE_INITIATING_PROCESS_FOLDER_PATH,  DPE_INITIATING_PROCESS_SHA256,
	DPE_INITIATING_PROCESS_COMMAND_LINE, DPE_INITIATING_PROCESS_ACCOUNT_NAME,
	DPE_INITIATING_PROCESS_ACCOUNT_DOMAIN, DPE_INITIATING_PROCESS_LOGON_ID,
	DPE_INITIATING_PROCESS_SESSION_ID};

/* Process n; a snapshot of every 4th says another command line (the
 * process rewrote it): not its exec's, so not linked. */
static void set_process(struct record *record, const struct process_columns *columns, int n,
			bool snapshot)
{
	char text[600];

	record_set_long(record, columns->id, 2000 + n);
	record_set_datetime(record, columns->creation, TREE_BASE - 1000 + n * TICKS_PER_SECOND);
	/* canonical decimals are kept as numbers, others as text */
	snprintf(text, sizeof(text), n % 10 ? "%d" : "u%d", 900000000 + 7 * n);
	record_set_cstring(record, columns->unique_id, text);
	snprintf(text, sizeof(text), "tool-%d", n % 4);
	record_set_cstring(record, columns->file_name, text);
	snprintf(text, sizeof(text), "/opt/t%d", n % 4);
	record_set_cstring(record, columns->folder, text);
	snprintf(text, sizeof(text), "%064d", n % 4);
	record_set_cstring(record, columns->sha256, text);
	snprintf(text, sizeof(text), "tool-%d --n %d --payload %0300d%s", n % 4, n, n,
		 snapshot && n % 4 == 3 ? " (rewritten)" : "");
	record_set_cstring(record, columns->command_line, text);
	record_set_cstring(record, columns->account_name, n % 2 ? "root" : "alice");
	record_set_cstring(record, columns->account_domain, "host");
	record_set_long(record, columns->logon_id, n % 3);
	/* ... and another session (it called setsid) */
	record_set_long(record, columns->session_id, n % 5 + (snapshot && n % 4 == 3 ? 100 : 0));
}

/*
 * A tree of processes: record i is the exec of process i, started by
 * process i / 3, whose snapshot says what its exec's record said (a row
 * linked to that record, made whole when retention deletes it) but for
 * every 4th.
 */
static void tree_record(struct record *record, int i)
{
	char text[64];
	int parent = i / 3;

	record_reset(record);
	record_set_datetime(record, DPE_TIMESTAMP, TREE_BASE + (int64_t)i * TICKS_PER_SECOND);
	record_set_long(record, DPE_REPORT_ID, i);
	set_process(record, &own_columns, i, false);
	set_process(record, &initiating_columns, parent, true);
	record_set_long(record, DPE_INITIATING_PROCESS_PARENT_ID, 2000 + parent / 3);
	record_set_cstring(record, DPE_INITIATING_PROCESS_PARENT_FILE_NAME, "init");
	record_set_datetime(record, DPE_INITIATING_PROCESS_PARENT_CREATION_TIME,
			    TREE_BASE - 1000 + (parent / 3) * TICKS_PER_SECOND);
	snprintf(text, sizeof(text), "{\"Uid\":0,\"Cwd\":\"/srv/%d\"}", i / 20);
	record_set_cstring(record, DPE_ADDITIONAL_FIELDS, text);
}

/* The records left (by ReportId) as the JSON lines they went in as. */
static void expected_left(sqlite3 *db, char *const *lines, struct strbuf *out)
{
	sqlite3_stmt *statement = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT ReportId FROM DeviceProcessEvents"
						" ORDER BY rowid", -1, &statement, NULL),
			 SQLITE_OK);
	while (sqlite3_step(statement) == SQLITE_ROW)
		strbuf_append_string(out, lines[sqlite3_column_int64(statement, 0)]);
	sqlite3_finalize(statement);
}

/* The view gives back every record left as it went in; sound. */
static void check_left_records(struct fixture *fixture, char *const *lines)
{
	struct strbuf expected, got;
	sqlite3 *db = NULL;

	check_sound(fixture->path);
	strbuf_init(&expected);
	strbuf_init(&got);
	assert_int_equal(sqlite3_open_v2(fixture->path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	expected_left(db, lines, &expected);
	view_as_json(db, &fixture->record, &got);
	sqlite3_close(db);
	assert_true(got.length > 0);
	assert_string_equal(strbuf_text(&got), strbuf_text(&expected));
	strbuf_free(&expected);
	strbuf_free(&got);
}

static int64_t path_number(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int64_t value;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	value = number(db, sql);
	sqlite3_close(db);
	return value;
}

/*
 * Linked rows give back what their snapshots said; retention by size,
 * then by age, deletes execs whose linked rows are still used: those are
 * made whole (none points at a deleted record: check_sound), and every
 * record left still comes back as it went in.
 */
static void test_linked_rows_outlive_their_execs(void **state)
{
	struct fixture *fixture = *state;
	const int count = 3000;
	const int64_t limit = 1LL << 20;
	struct cache *cache = open_cache(fixture, limit);
	char **lines = calloc((size_t)count + 1, sizeof(*lines));
	struct strbuf line;

	assert_non_null(lines);
	strbuf_init(&line);
	for (int i = 1; i <= count; i++) {
		tree_record(&fixture->record, i);
		assert_int_equal(cache_add_record(cache, &fixture->record), 0);
		strbuf_clear(&line);
		assert_int_equal(record_append_json_line(&fixture->record, &line), 0);
		lines[i] = strdup(strbuf_text(&line));
		assert_non_null(lines[i]);
	}
	assert_int_equal(cache_commit(cache), 0);
	/* a row per parent (of 3 records each): most linked, every 4th not */
	assert_true(path_number(fixture->path, "SELECT count(*) FROM Processes WHERE"
					       " ProcessId IS NULL") > count / 5);
	assert_true(path_number(fixture->path, "SELECT count(*) FROM Processes WHERE"
					       " ProcessId IS NOT NULL") > count / 20);
	check_left_records(fixture, lines);
	while (cache_retention_step(cache, TREE_BASE) > 0)
		;
	assert_true(path_number(fixture->path, "SELECT min(Id) FROM Events") > 100);
	/* linked rows whose exec went were made whole */
	assert_true(path_number(fixture->path, "SELECT count(*) FROM Processes WHERE"
					       " Id % 2 = 0 AND ProcessId IS NOT NULL") > 0);
	check_left_records(fixture, lines);
	/* by age: everything before record count - 200 */
	while (cache_retention_step(cache, TREE_BASE + 3650 * TICKS_PER_DAY +
						   (count - 200) * TICKS_PER_SECOND) > 0)
		;
	assert_int_equal(path_number(fixture->path, "SELECT count(*) FROM Events"), 201);
	check_left_records(fixture, lines);
	cache_close(cache);
	check_left_records(fixture, lines);
	for (int i = 1; i <= count; i++)
		free(lines[i]);
	free(lines);
	strbuf_free(&line);
}

/* ---- kill -9 in a storm -------------------------------------------------------------- */

typedef void record_filler(struct record *record, int i);

static void storm(const struct fixture *fixture, int report, record_filler *fill)
{
	struct cache *cache = open_cache(fixture, 1LL << 20);
	struct record record;

	record_init(&record);
	for (int i = 1;; i++) {
		fill(&record, i);
		if (cache_add_record(cache, &record) != 0)
			_exit(2);
		if (i % 97 == 0 && cache_add_hit(cache, "rule", "Rule", "", "", &record) != 0)
			_exit(3);
		if (i % 200 == 0) {
			struct cache_sequences sequences;

			if (cache_commit(cache) != 0)
				_exit(4);
			cache_committed_sequences(cache, &sequences);
			/* what is committed now: the parent checks it is there */
			if (write(report, &sequences.records, sizeof(sequences.records)) < 0)
				_exit(5);
		}
		if (i % 1000 == 0 && cache_retention_step(cache, 17000000000000000LL) < 0)
			_exit(6);
	}
}

static void check_kill_in_a_storm(struct fixture *fixture, record_filler *fill)
{
	int pipes[2];
	int64_t committed = 0, value;
	pid_t child;

	assert_int_equal(pipe(pipes), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(pipes[0]);
		storm(fixture, pipes[1], fill);
	}
	close(pipes[1]);
	/* let it write for a while: retention runs, hits are kept */
	while (committed < 8000 && read(pipes[0], &value, sizeof(value)) == sizeof(value))
		committed = value;
	assert_int_equal(kill(child, SIGKILL), 0);
	while (read(pipes[0], &value, sizeof(value)) == sizeof(value))
		committed = value;
	close(pipes[0]);
	waitpid(child, NULL, 0);

	check_sound(fixture->path);
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(fixture->path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	/* nothing committed is lost: numbered up to there, the newest kept */
	assert_true(number(db, "SELECT max(rowid) FROM DeviceProcessEvents") >= committed);
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM DeviceProcessEvents WHERE rowid > %lld"
		 " AND rowid <= %lld", (long long)committed - 100, (long long)committed);
	assert_int_equal(number(db, sql), 100);
	assert_int_equal(number(db, "SELECT count(*) - count(DISTINCT ReportId) FROM"
				    " DeviceProcessEvents"), 0);
	sqlite3_close(db);
	/* the writer opens it again and goes on numbering after it */
	struct cache *cache = open_cache(fixture, 1LL << 20);
	struct cache_sequences sequences;

	cache_committed_sequences(cache, &sequences);
	assert_true(sequences.records >= committed);
	fill(&fixture->record, 999999);
	assert_int_equal(cache_add_record(cache, &fixture->record), 0);
	cache_close(cache);
	check_sound(fixture->path);
}

static void test_kill_in_a_storm(void **state)
{
	check_kill_in_a_storm(*state, varied_record);
}

/* The same with Processes rows linked to their execs' records, which
 * retention makes whole as it deletes those records. */
static void test_kill_in_a_storm_with_links(void **state)
{
	check_kill_in_a_storm(*state, tree_record);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records_come_back_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_1_is_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_2_is_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_3_is_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_4_is_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_5_is_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_in_a_storm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linked_rows_outlive_their_execs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_in_a_storm_with_links, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
