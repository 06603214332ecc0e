/*
 * test_collector_group.c - group commit (collector/group_commit.c, the
 * SQLite backend's put_batches) on real files: batches stored in one
 * transaction are each all or nothing (one that fails in the store is
 * undone, the others are kept and counted right); a transaction that
 * cannot commit (the file cannot grow) stores none of its batches and
 * reports the failure for each; many writers at once through
 * store_put_batch all get their own counts and every record is there once.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/strbuf.h"
#include "model/record.h"
#include "layout_checks.h"
#include "store/cache_layout.h"
#include "store.h"
#include "store_backend.h"
#include "wire/batch_reader.h"

#define NOW 17648316000000000LL
#define WRITERS 8

struct fixture {
	char directory[64];
	char path[128];
};

/* A decoded batch of count records of device, ReportIds from first on. */
static void make_batch(struct batch *batch, const char *device, long first, int count)
{
	struct strbuf text;
	struct batch_error error;
	struct record record;

	strbuf_init(&text);
	strbuf_appendf(&text, "{\"schema\":1,\"batch\":\"b%ld\",\"device_id\":\"%s\","
			      "\"device_name\":\"%s.example\",\"sent\":\"2026-12-05T10:00:00Z\"}\n",
		       first, device, device);
	for (int i = 0; i < count; i++) {
		record_init(&record);
		record_set_datetime(&record, DPE_TIMESTAMP, NOW + i);
		record_set_cstring(&record, DPE_DEVICE_ID, device);
		record_set_cstring(&record, DPE_PROCESS_COMMAND_LINE,
				   "a command line long enough to fill pages quickly, again and again");
		record_set_long(&record, DPE_REPORT_ID, first + i);
		strbuf_append_string(&text, "{\"kind\":\"record\",\"row\":");
		record_append_json_line(&record, &text);
		text.length--;
		strbuf_append_string(&text, "}\n");
		record_free(&record);
	}
	assert_int_equal(batch_decode(text.data, text.length, batch, &error), 0);
	strbuf_free(&text);
}

static long long count_rows(const char *path, const char *device)
{
	sqlite3 *db;
	sqlite3_stmt *query;
	long long count = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM DeviceProcessEvents"
						" WHERE DeviceId = ?",
					    -1, &query, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(query, 1, device, -1, SQLITE_STATIC);
	if (sqlite3_step(query) == SQLITE_ROW)
		count = sqlite3_column_int64(query, 0);
	sqlite3_finalize(query);
	sqlite3_close(db);
	return count;
}

static void *open_backend(struct fixture *fixture)
{
	struct store_options options;
	char message[256];
	void *state = NULL;

	store_default_options(&options);
	assert_int_equal(store_sqlite_backend.open(fixture->path, &options, &state, message,
						   sizeof(message)),
			 0);
	return state;
}

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));

	assert_non_null(fixture);
	snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/rmmhunt-group-XXXXXX");
	assert_non_null(mkdtemp(fixture->directory));
	snprintf(fixture->path, sizeof(fixture->path), "%s/collector.db", fixture->directory);
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	char path[160];

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", fixture->path,
			 i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(path);
	}
	rmdir(fixture->directory);
	free(fixture);
	return 0;
}

static void test_one_failing_batch_is_undone_alone(void **state)
{
	struct fixture *fixture = *state;
	void *backend = open_backend(fixture);
	struct batch batches[3];
	struct store_group_job jobs[3];
	void *prepared[3];
	const char *devices[3] = {"good-a", "bad-b", "good-c"};
	sqlite3 *db;

	/* the store refuses bad-b's records with a real SQLite error (records
	 * are Events rows of the compact layout, their device known from
	 * Reports, written first; new dictionary rows are written at the end
	 * of the batch) */
	assert_int_equal(sqlite3_open(fixture->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON Events"
					  " WHEN new.ReportId = 105 AND (SELECT n.DeviceId FROM Reports"
					  " AS r JOIN DeviceNumbers AS n ON n.Number = r.Device"
					  " WHERE r.Id = new.Id) = 'bad-b'"
					  " BEGIN SELECT RAISE(ABORT, 'refused'); END",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	/* prepared as store_put_batch prepares them (on the decoding thread) */
	for (int i = 0; i < 3; i++) {
		make_batch(&batches[i], devices[i], 100, 10);
		assert_int_equal(store_sqlite_backend.prepare_batch(backend, &batches[i], &prepared[i]),
				 0);
		assert_non_null(prepared[i]);
		jobs[i] = (struct store_group_job){&batches[i], "127.0.0.1", {0}, 0, prepared[i]};
	}
	store_sqlite_backend.put_batches(backend, jobs, 3, NOW);
	for (int i = 0; i < 3; i++)
		store_sqlite_backend.free_prepared(prepared[i]);
	assert_int_equal(jobs[0].status, 0);
	assert_int_equal(jobs[0].result.records, 10);
	assert_int_not_equal(jobs[1].status, 0);
	assert_int_equal(jobs[2].status, 0);
	assert_int_equal(jobs[2].result.records, 10);
	store_sqlite_backend.close(backend);
	assert_int_equal(count_rows(fixture->path, "good-a"), 10);
	assert_int_equal(count_rows(fixture->path, "bad-b"), 0); /* not the 5 before 105 */
	assert_int_equal(count_rows(fixture->path, "good-c"), 10);
	/* the undone batch's dictionary rows and references went with it */
	assert_int_equal(layout_check_count(fixture->path, cache_layout_orphans_sql), 0);
	assert_int_equal(layout_check_count(fixture->path, cache_layout_bad_refs_sql), 0);
	for (int i = 0; i < 3; i++)
		batch_free(&batches[i]);
}

static void test_failed_commit_stores_nothing(void **state)
{
	struct fixture *fixture = *state;
	void *backend = open_backend(fixture);
	struct batch first, big[2];
	struct store_group_job job, jobs[2];
	struct rlimit limit, saved;
	struct stat wal;
	char wal_path[160];

	make_batch(&first, "warm", 1, 5);
	job = (struct store_group_job){&first, "127.0.0.1", {0}, 0, NULL};
	store_sqlite_backend.put_batches(backend, &job, 1, NOW);
	assert_int_equal(job.status, 0);
	make_batch(&big[0], "big-a", 1, 2000);
	make_batch(&big[1], "big-b", 1, 2000);
	/* no file may grow past the WAL's size now: the commit cannot write */
	snprintf(wal_path, sizeof(wal_path), "%s-wal", fixture->path);
	assert_int_equal(stat(wal_path, &wal), 0);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	limit = saved;
	limit.rlim_cur = (rlim_t)wal.st_size + 4096;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
	for (int i = 0; i < 2; i++)
		jobs[i] = (struct store_group_job){&big[i], "127.0.0.1", {0}, 0, NULL};
	store_sqlite_backend.put_batches(backend, jobs, 2, NOW);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	assert_int_not_equal(jobs[0].status, 0);
	assert_int_not_equal(jobs[1].status, 0);
	/* the store still works, and holds nothing of the failed group */
	job = (struct store_group_job){&first, "127.0.0.1", {0}, 0, NULL};
	store_sqlite_backend.put_batches(backend, &job, 1, NOW);
	assert_int_equal(job.status, 0);
	assert_int_equal(job.result.duplicates, 5);
	store_sqlite_backend.close(backend);
	assert_int_equal(count_rows(fixture->path, "big-a"), 0);
	assert_int_equal(count_rows(fixture->path, "big-b"), 0);
	assert_int_equal(count_rows(fixture->path, "warm"), 5);
	batch_free(&first);
	batch_free(&big[0]);
	batch_free(&big[1]);
}

struct writer {
	pthread_t thread;
	struct store *store;
	struct batch batch;
	struct store_batch_result result;
	int status;
};

static void *write_one(void *argument)
{
	struct writer *writer = argument;

	writer->status = store_put_batch(writer->store, &writer->batch, "127.0.0.1", NOW,
					 &writer->result);
	return NULL;
}

static void test_many_writers_at_once(void **state)
{
	struct fixture *fixture = *state;
	struct store_options options;
	struct store *store;
	struct writer writers[WRITERS];
	char message[256], device[32];

	store_default_options(&options);
	assert_int_equal(store_open(fixture->path, &options, &store, message, sizeof(message)), 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < WRITERS; i++) {
			snprintf(device, sizeof(device), "writer-%d", i);
			writers[i] = (struct writer){.store = store};
			/* the second round replays the first: all duplicates */
			make_batch(&writers[i].batch, device, 1, 50 + i);
		}
		for (int i = 0; i < WRITERS; i++)
			assert_int_equal(pthread_create(&writers[i].thread, NULL, write_one,
							&writers[i]),
					 0);
		for (int i = 0; i < WRITERS; i++) {
			pthread_join(writers[i].thread, NULL);
			assert_int_equal(writers[i].status, 0);
			assert_int_equal(writers[i].result.records, round == 0 ? 50 + i : 0);
			assert_int_equal(writers[i].result.duplicates, round == 0 ? 0 : 50 + i);
			batch_free(&writers[i].batch);
		}
	}
	store_close(store);
	for (int i = 0; i < WRITERS; i++) {
		snprintf(device, sizeof(device), "writer-%d", i);
		assert_int_equal(count_rows(fixture->path, device), 50 + i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_failing_batch_is_undone_alone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_stores_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_writers_at_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
