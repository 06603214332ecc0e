/*
 * test_cache_outbox.c - the cache as the shipper's outbox (lib/store).
 *
 * Numbers are never handed out twice, even when retention removed the last
 * row (SQLite's own rowid would reuse it) or the cache was reopened; they
 * are dense, so a removed row shows as a gap; the outbox reads rows after a
 * cursor in order; a summary gets a new number only when it changed; size
 * retention removes the records no rule hit before those a rule hit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/timefmt.h"
#include "model/record.h"
#include "store/cache.h"
#include "store/cache_outbox.h"

struct fixture {
	char directory[64];
	char path[128];
	struct cache *cache;
	struct record record;
	int64_t now;
};

static struct cache *open_cache(struct fixture *fixture, int64_t max_age_ticks,
				int64_t max_bytes)
{
	struct cache_options options;
	struct cache *cache = NULL;
	char message[256];

	cache_default_options(&options);
	options.max_age_ticks = max_age_ticks;
	options.max_bytes = max_bytes;
	assert_int_equal(cache_open_writer(&cache, fixture->path, &options, message,
					   sizeof(message)),
			 0);
	return cache;
}

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));

	assert_non_null(fixture);
	snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/rmmhunt-outbox-XXXXXX");
	assert_non_null(mkdtemp(fixture->directory));
	snprintf(fixture->path, sizeof(fixture->path), "%s/cache.db", fixture->directory);
	record_init(&fixture->record);
	fixture->now = timefmt_now_ticks();
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	char command[128];

	cache_close(fixture->cache);
	record_free(&fixture->record);
	snprintf(command, sizeof(command), "rm -rf '%s'", fixture->directory);
	assert_int_equal(system(command), 0);
	free(fixture);
	return 0;
}

/* A record at `age` ticks before now, with its ReportId. */
static void add_record(struct fixture *fixture, int64_t report_id, int64_t age, bool hit)
{
	char text[64];

	record_reset(&fixture->record);
	record_set_datetime(&fixture->record, DPE_TIMESTAMP, fixture->now - age);
	record_set_long(&fixture->record, DPE_REPORT_ID, report_id);
	snprintf(text, sizeof(text), "/bin/true %lld", (long long)report_id);
	record_set_cstring(&fixture->record, DPE_PROCESS_COMMAND_LINE, text);
	record_set_cstring(&fixture->record, DPE_DEVICE_ID, "device");
	assert_int_equal(cache_add_record(fixture->cache, &fixture->record), 0);
	if (hit)
		assert_int_equal(cache_add_hit(fixture->cache, "rule", "Rule", "", "",
					       &fixture->record),
				 0);
}

struct collected {
	int64_t sequences[64];
	int64_t report_ids[64];
	size_t count, stop_after;
};

static int collect(void *context, const struct cache_outbox_row *row)
{
	struct collected *collected = context;

	if (collected->stop_after && collected->count == collected->stop_after)
		return 1;
	assert_true(collected->count < 64);
	collected->sequences[collected->count] = row->sequence;
	collected->report_ids[collected->count] = row->record.values[DPE_REPORT_ID].l;
	collected->count++;
	return 0;
}

static struct cache_outbox *open_outbox(struct fixture *fixture)
{
	struct cache_outbox *outbox = NULL;
	char message[256];

	assert_int_equal(cache_outbox_open(fixture->path, &outbox, message, sizeof(message)), 0);
	return outbox;
}

static void test_numbers_are_never_reused(void **state)
{
	struct fixture *fixture = *state;
	struct cache_sequences committed;
	struct cache_outbox_state before, after;
	struct cache_outbox *outbox;
	struct collected rows = {0};

	fixture->cache = open_cache(fixture, TICKS_PER_HOUR, 512LL << 20);
	for (int i = 1; i <= 5; i++)
		add_record(fixture, i, 2 * TICKS_PER_HOUR, i == 5);
	assert_int_equal(cache_commit(fixture->cache), 0);
	cache_committed_sequences(fixture->cache, &committed);
	assert_int_equal(committed.records, 5);
	assert_int_equal(committed.hits, 1);
	outbox = open_outbox(fixture);
	assert_int_equal(cache_outbox_read_state(outbox, &before), 0);
	assert_true(before.cache_id > 0);
	/* every record (and the hit) is too old: retention removes them all,
	 * the last row too */
	while (cache_retention_step(fixture->cache, fixture->now) > 0)
		;
	assert_int_equal(cache_outbox_read(outbox, CACHE_OUTBOX_RECORDS, 0, 100, collect, &rows),
			 0);
	assert_int_equal(rows.count, 0);
	add_record(fixture, 6, 0, false);
	assert_int_equal(cache_commit(fixture->cache), 0);
	assert_int_equal(cache_outbox_read(outbox, CACHE_OUTBOX_RECORDS, 0, 100, collect, &rows),
			 0);
	assert_int_equal(rows.count, 1);
	assert_int_equal(rows.sequences[0], 6);
	/* reopened, empty of old rows: still past every number handed out */
	cache_close(fixture->cache);
	fixture->cache = open_cache(fixture, TICKS_PER_HOUR, 512LL << 20);
	add_record(fixture, 7, 0, true);
	assert_int_equal(cache_commit(fixture->cache), 0);
	cache_committed_sequences(fixture->cache, &committed);
	assert_int_equal(committed.records, 7);
	assert_int_equal(committed.hits, 2);
	assert_int_equal(cache_outbox_read_state(outbox, &after), 0);
	assert_int_equal(after.cache_id, before.cache_id);
	assert_int_equal(after.high_water.records, 7);
	assert_int_equal(after.high_water.hits, 2);
	cache_outbox_close(outbox);
}

static void test_rows_after_a_cursor_with_gaps(void **state)
{
	struct fixture *fixture = *state;
	struct cache_outbox *outbox;
	struct collected rows = {0};
	int64_t first, timestamp, count;

	fixture->cache = open_cache(fixture, TICKS_PER_HOUR, 512LL << 20);
	/* 1..10, 4 and 5 old enough for retention */
	for (int i = 1; i <= 10; i++)
		add_record(fixture, 100 + i, i == 4 || i == 5 ? 2 * TICKS_PER_HOUR : 0, false);
	assert_int_equal(cache_commit(fixture->cache), 0);
	while (cache_retention_step(fixture->cache, fixture->now) > 0)
		;
	outbox = open_outbox(fixture);
	assert_int_equal(cache_outbox_read(outbox, CACHE_OUTBOX_RECORDS, 2, 100, collect, &rows),
			 0);
	int64_t expected[] = {3, 6, 7, 8, 9, 10};

	assert_int_equal(rows.count, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(rows.sequences[i], expected[i]);
		assert_int_equal(rows.report_ids[i], 100 + expected[i]);
	}
	/* a visit that says "full" ends the read there */
	memset(&rows, 0, sizeof(rows));
	rows.stop_after = 2;
	assert_int_equal(cache_outbox_read(outbox, CACHE_OUTBOX_RECORDS, 0, 100, collect, &rows),
			 0);
	assert_int_equal(rows.count, 2);
	assert_int_equal(cache_outbox_first_after(outbox, CACHE_OUTBOX_RECORDS, 3, &first,
						  &timestamp),
			 0);
	assert_int_equal(first, 6);
	assert_int_equal(timestamp, fixture->now);
	assert_int_equal(cache_outbox_count_after(outbox, CACHE_OUTBOX_RECORDS, 3, &count), 0);
	assert_int_equal(count, 5);
	assert_int_equal(cache_outbox_first_after(outbox, CACHE_OUTBOX_RECORDS, 10, &first,
						  &timestamp),
			 0);
	assert_int_equal(first, 0);
	cache_outbox_close(outbox);
}

static int64_t summary_sequence(struct cache_outbox *outbox)
{
	int64_t sequence = 0, updated;

	assert_int_equal(cache_outbox_first_after(outbox, CACHE_OUTBOX_SUMMARIES, 0, &sequence,
						  &updated),
			 0);
	return sequence;
}

static void test_summaries_numbered_when_they_change(void **state)
{
	static const char columns[] = "[{\"name\":\"Count\",\"type\":\"long\"}]";
	struct fixture *fixture = *state;
	struct cache_outbox *outbox;
	int64_t first, second;

	fixture->cache = open_cache(fixture, TICKS_PER_DAY, 512LL << 20);
	assert_int_equal(cache_put_summary(fixture->cache, "rule", "Rule", "[{\"Count\":1}]",
					   columns, fixture->now),
			 0);
	assert_int_equal(cache_commit(fixture->cache), 0);
	outbox = open_outbox(fixture);
	first = summary_sequence(outbox);
	assert_true(first > 0);
	/* republished unchanged (its window moves on): the same number */
	assert_int_equal(cache_put_summary(fixture->cache, "rule", "Rule", "[{\"Count\":1}]",
					   columns, fixture->now + TICKS_PER_SECOND),
			 0);
	assert_int_equal(cache_commit(fixture->cache), 0);
	assert_int_equal(summary_sequence(outbox), first);
	assert_int_equal(cache_put_summary(fixture->cache, "rule", "Rule", "[{\"Count\":2}]",
					   columns, fixture->now + 2 * TICKS_PER_SECOND),
			 0);
	assert_int_equal(cache_commit(fixture->cache), 0);
	second = summary_sequence(outbox);
	assert_true(second > first);
	cache_outbox_close(outbox);
}

static void test_size_retention_keeps_hit_records_longest(void **state)
{
	struct fixture *fixture = *state;
	struct cache_outbox *outbox;
	struct collected rows = {0};
	char padding[3000];

	memset(padding, 'x', sizeof(padding) - 1);
	padding[sizeof(padding) - 1] = '\0';
	fixture->cache = open_cache(fixture, 30 * TICKS_PER_DAY, 1LL << 20);
	/* the oldest records are the hit ones; then many more than 1 MiB holds
	 * (each command line its own: the cache keeps a repeated one once) */
	for (int i = 1; i <= 1000; i++) {
		snprintf(padding, 8, "%06d", i);
		padding[6] = 'x';
		record_reset(&fixture->record);
		record_set_datetime(&fixture->record, DPE_TIMESTAMP,
				    fixture->now - (2000 - i) * TICKS_PER_SECOND);
		record_set_long(&fixture->record, DPE_REPORT_ID, i);
		record_set_cstring(&fixture->record, DPE_PROCESS_COMMAND_LINE, padding);
		assert_int_equal(cache_add_record(fixture->cache, &fixture->record), 0);
		if (i <= 3)
			assert_int_equal(cache_add_hit(fixture->cache, "rule", "Rule", "", "",
						       &fixture->record),
					 0);
	}
	assert_int_equal(cache_commit(fixture->cache), 0);
	while (cache_retention_step(fixture->cache, fixture->now) > 0)
		;
	outbox = open_outbox(fixture);
	assert_int_equal(cache_outbox_read(outbox, CACHE_OUTBOX_RECORDS, 0, 3, collect, &rows), 0);
	assert_int_equal(rows.count, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rows.report_ids[i], i + 1);
	int64_t first, timestamp;

	assert_int_equal(cache_outbox_first_after(outbox, CACHE_OUTBOX_RECORDS, 3, &first,
						  &timestamp),
			 0);
	assert_true(first > 100); /* the oldest records no rule hit went */
	struct cache_stats stats;

	cache_read_stats(fixture->cache, &stats);
	assert_true(stats.retention_records > 0);
	assert_true(stats.data_bytes <= (1LL << 20) + 65536);
	cache_outbox_close(outbox);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numbers_are_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows_after_a_cursor_with_gaps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_summaries_numbered_when_they_change, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_size_retention_keeps_hit_records_longest,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
