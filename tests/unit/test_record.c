/*
 * test_record.c - records, datetimes, device ids, ReportIds, hash maps.
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
#include <jansson.h>

#include "model/device.h"
#include "binident/filehash.h"
#include "base/hashmap.h"
#include "model/record.h"
#include "model/reportid.h"
#include "base/strbuf.h"
#include "base/timefmt.h"

static void test_iso_round_trip(void **state)
{
	char text[TIMEFMT_ISO_SIZE];
	int64_t ticks;

	(void)state;
	assert_int_equal(timefmt_parse_iso("2026-11-28T16:14:40.1234567Z", 28, &ticks), 0);
	assert_string_equal(timefmt_iso(ticks, text), "2026-11-28T16:14:40.1234567Z");
	assert_int_equal(timefmt_parse_iso("1970-01-01", 10, &ticks), 0);
	assert_int_equal(ticks, 0);
	assert_string_equal(timefmt_iso(-1, text), "1969-12-31T23:59:59.9999999Z");
	assert_int_equal(timefmt_parse_iso("2024-02-29 01:02", 16, &ticks), 0);
	assert_string_equal(timefmt_iso(ticks, text), "2024-02-29T01:02:00.0000000Z");
	assert_int_equal(timefmt_parse_iso("2026-11-28T00:00:00.123456789Z", 30, &ticks), 0);
	assert_int_equal(ticks % TICKS_PER_SECOND, 1234567);
}

static void test_iso_rejects(void **state)
{
	int64_t ticks;

	(void)state;
	assert_int_equal(timefmt_parse_iso("2026-02-30", 10, &ticks), -EINVAL);
	assert_int_equal(timefmt_parse_iso("2026-13-01", 10, &ticks), -EINVAL);
	assert_int_equal(timefmt_parse_iso("2026-11-28T25:00", 16, &ticks), -EINVAL);
	assert_int_equal(timefmt_parse_iso("2026-11-28x", 11, &ticks), -EINVAL);
	assert_int_equal(timefmt_parse_iso("", 0, &ticks), -EINVAL);
}

static void test_record_json_has_every_column(void **state)
{
	struct record record;
	struct strbuf line;
	json_t *parsed;
	const char *key;
	json_t *value;
	int index = 0;

	(void)state;
	record_init(&record);
	record_set_datetime(&record, DPE_TIMESTAMP, 0);
	record_set_cstring(&record, DPE_FILE_NAME, "rport.exe");
	record_set_long(&record, DPE_REPORT_ID, 42);
	record_set_bool(&record, DPE_IS_PROCESS_REMOTE_SESSION, false);
	strbuf_init(&line);
	assert_int_equal(record_append_json_line(&record, &line), 0);
	assert_int_equal(line.data[line.length - 1], '\n');
	parsed = json_loads(line.data, 0, NULL);
	assert_non_null(parsed);
	assert_int_equal(json_object_size(parsed), DPE_COLUMN_COUNT);
	json_object_foreach(parsed, key, value) {
		assert_string_equal(key, dpe_columns[index].name);
		if (dpe_columns[index].type == VALUE_STRING)
			assert_true(json_is_string(value));
		index++;
	}
	assert_string_equal(json_string_value(json_object_get(parsed, "Timestamp")),
			    "1970-01-01T00:00:00.0000000Z");
	assert_int_equal(json_integer_value(json_object_get(parsed, "ReportId")), 42);
	assert_true(json_is_null(json_object_get(parsed, "ProcessId")));
	assert_true(json_is_false(json_object_get(parsed, "IsProcessRemoteSession")));
	json_decref(parsed);
	strbuf_free(&line);
	record_free(&record);
}

static void test_device_id(void **state)
{
	char first[DEVICE_ID_SIZE], again[DEVICE_ID_SIZE], other[DEVICE_ID_SIZE];

	(void)state;
	assert_int_equal(device_id_from_machine_id("0123456789abcdef0123456789abcdef", 32, first), 0);
	assert_int_equal(device_id_from_machine_id("0123456789abcdef0123456789abcdef", 32, again), 0);
	assert_int_equal(device_id_from_machine_id("0123456789abcdef0123456789abcdee", 32, other), 0);
	assert_int_equal(strlen(first), 40);
	assert_string_equal(first, again);
	assert_string_not_equal(first, other);
	assert_null(strstr(first, "0123456789abcdef"));
}

static void test_process_unique_id(void **state)
{
	struct device_identity identity;
	char a[24], b[24], c[24];

	(void)state;
	memset(&identity, 0, sizeof(identity));
	strcpy(identity.boot_id, "5f2f2b3e-1111-2222-3333-444455556666");
	device_identity_hash_boot_id(&identity);
	device_process_unique_id(&identity, 100, 123456789, a);
	device_process_unique_id(&identity, 100, 123456789, b);
	device_process_unique_id(&identity, 100, 123456790, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	strcpy(identity.boot_id, "5f2f2b3e-1111-2222-3333-444455556667");
	device_identity_hash_boot_id(&identity);
	device_process_unique_id(&identity, 100, 123456789, b);
	assert_string_not_equal(a, b);
}

static void test_report_ids_survive_restart(void **state)
{
	char directory[] = "/tmp/rmmhunt-reportid-XXXXXX";
	struct report_ids ids;
	int64_t last = 0;

	(void)state;
	assert_non_null(mkdtemp(directory));
	for (int round = 0; round < 3; round++) {
		assert_int_equal(report_ids_open(&ids, directory, 4), 0);
		/* use part of a block, then "crash" (no clean close needed) */
		for (int i = 0; i < 6; i++) {
			int64_t id = report_ids_next(&ids);

			assert_true(id > last);
			last = id;
		}
		report_ids_close(&ids);
	}
	char path[256];
	snprintf(path, sizeof(path), "%s/reportid", directory);
	unlink(path);
	rmdir(directory);
}

static void test_report_ids_reject_garbage(void **state)
{
	char directory[] = "/tmp/rmmhunt-reportid-XXXXXX", path[256];
	struct report_ids ids;
	FILE *file;

	(void)state;
	assert_non_null(mkdtemp(directory));
	snprintf(path, sizeof(path), "%s/reportid", directory);
	file = fopen(path, "w");
	fputs("banana\n", file);
	fclose(file);
	assert_int_equal(report_ids_open(&ids, directory, 4), -EINVAL);
	unlink(path);
	rmdir(directory);
}

struct entry {
	uint64_t key;
};

static uint64_t entry_hash_key(const void *key)
{
	/* deliberately poor: many collisions exercise probing and shifting */
	return *(const uint64_t *)key % 7;
}

static uint64_t entry_hash_entry(const void *entry)
{
	return ((const struct entry *)entry)->key % 7;
}

static bool entry_has_key(const void *entry, const void *key)
{
	return ((const struct entry *)entry)->key == *(const uint64_t *)key;
}

static const struct hashmap_type entry_type = {
	.hash_key = entry_hash_key,
	.hash_entry = entry_hash_entry,
	.entry_has_key = entry_has_key,
};

static void test_hashmap_against_a_model(void **state)
{
	enum { KEYS = 500 };
	static struct entry entries[KEYS];
	bool present[KEYS] = {false};
	struct hashmap map;
	unsigned int seed = 12345;

	(void)state;
	hashmap_init(&map, &entry_type);
	for (uint64_t i = 0; i < KEYS; i++)
		entries[i].key = i;
	for (int step = 0; step < 20000; step++) {
		uint64_t key = (uint64_t)rand_r(&seed) % KEYS;

		if (present[key]) {
			assert_ptr_equal(hashmap_remove(&map, &key), &entries[key]);
			present[key] = false;
		} else {
			assert_null(hashmap_get(&map, &key));
			assert_int_equal(hashmap_insert(&map, &entries[key]), 0);
			present[key] = true;
		}
		uint64_t probe = (uint64_t)rand_r(&seed) % KEYS;
		assert_true((hashmap_get(&map, &probe) != NULL) == present[probe]);
	}
	size_t count = 0;
	void *entry;
	for (size_t position = 0; hashmap_next(&map, &position, &entry);)
		count++;
	assert_int_equal(count, map.count);
	hashmap_free(&map);
}

static void test_filehash_known_vectors(void **state)
{
	struct file_hashes hashes;

	(void)state;
	assert_int_equal(filehash_buffer("abc", 3, &hashes), 0);
	assert_string_equal(hashes.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
	assert_string_equal(hashes.sha256,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_string_equal(hashes.md5, "900150983cd24fb0d6963f7d28e17f72");
	assert_int_equal(hashes.bytes, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso_round_trip),
		cmocka_unit_test(test_iso_rejects),
		cmocka_unit_test(test_record_json_has_every_column),
		cmocka_unit_test(test_device_id),
		cmocka_unit_test(test_process_unique_id),
		cmocka_unit_test(test_report_ids_survive_restart),
		cmocka_unit_test(test_report_ids_reject_garbage),
		cmocka_unit_test(test_hashmap_against_a_model),
		cmocka_unit_test(test_filehash_known_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
